//! AES-128 keys for encrypted meters (DLMS security suite 0, Luxembourg Smarty).
//!
//! Keys are secrets: `Debug` and `Display` never show the bytes, so a key cannot leak into a log,
//! a report or a snapshot by accident. Use [`Key::expose`] where the bytes are really needed.

use std::fmt;
use std::str::FromStr;

/// A 128-bit AES key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 16]);

/// The text was not 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key is 32 hex digits (16 bytes); got {len} characters")]
pub struct KeyError {
    /// Length of the rejected text (the text itself is not kept: it may be a secret).
    pub len: usize,
}

impl Key {
    /// A key from its bytes.
    pub const fn new(bytes: [u8; 16]) -> Self {
        Key(bytes)
    }

    /// The key bytes. Never log them.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted key>")
    }
}

impl FromStr for Key {
    type Err = KeyError;

    /// 32 hex digits; spaces, colons and a `0x` prefix are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !matches!(b, b' ' | b':' | b'-'))
            .collect();
        let err = KeyError { len: s.len() };
        if digits.len() != 32 {
            return Err(err);
        }
        let mut out = [0u8; 16];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or(err.clone())?;
            let lo = (pair[1] as char).to_digit(16).ok_or(err.clone())?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Key(out))
    }
}

/// The keys a reader holds for one meter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    /// Global unicast encryption key (EK, "GUEK").
    pub encryption: Option<Key>,
    /// Authentication key (AK), used as additional authenticated data with security control 0x30.
    pub authentication: Option<Key>,
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn parses_and_never_prints() {
        let k: Key = "D491470F47126332B07D1923B3504188"
            .parse()
            .expect("valid key");
        assert_eq!(k.expose()[0], 0xD4);
        assert_eq!(format!("{k:?}"), "Key(<redacted>)");
        assert!(!format!("{k}").contains("D4"));
        let keys = Keys {
            encryption: Some(k.clone()),
            authentication: None,
        };
        assert!(!format!("{keys:?}").to_lowercase().contains("d491"));
        assert_eq!(
            "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
                .parse::<Key>()
                .map(|k| k.expose()[15]),
            Ok(0xff)
        );
        assert!("abcd".parse::<Key>().is_err());
        assert!("zz91470F47126332B07D1923B3504188".parse::<Key>().is_err());
    }
}
