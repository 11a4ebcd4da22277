//! Luxembourg Smarty P1 frames (Luxembourg Smarty P1 specification v1.1.3 §3.2.5).
//!
//! The Smarty meter wraps each DSMR telegram in a DLMS general-glo-ciphering APDU, raw on the
//! 115200 8N1 line (no HDLC):
//!
//! ```text
//! DB 08 <system title, 8> <length: 82 hh ll> 30 <frame counter, 4> <ciphertext> <GCM tag, 12>
//! ```
//!
//! The length counts SC, frame counter, ciphertext and tag: 17 + plaintext length. The cipher is
//! AES-128-GCM with IV = system title ‖ frame counter and AAD = 0x30 ‖ AK, where AK is the same
//! fixed key for every Smarty meter ([`SMARTY_AUTHENTICATION_KEY`]). The plaintext is a complete
//! DSMR telegram with its own CRC. The APDU itself is handled by
//! [`crate::dlms::ciphering`]; this module adds what is Smarty-specific.

use crate::dlms::ciphering::{self, CipherError, GeneralGloCiphering, Header};
use crate::keys::{Key, Keys};
use crate::reading::Message;

use super::{decode_telegram_with, CrcPolicy, CrcRule, ErrorKind, MAX_TELEGRAM_LEN};

/// The authentication key every Smarty meter uses (Smarty P1 spec v1.1.3 §3.2.5); used when
/// the reader was given no authentication key. Published in the specification, not a secret.
pub const SMARTY_AUTHENTICATION_KEY: Key = Key::new([
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
]);

/// The security control byte of every Smarty frame: authenticated and encrypted, suite 0.
pub const SECURITY_CONTROL: u8 = 0x30;

/// The smallest possible length field: SC, frame counter and tag around an empty plaintext.
pub const MIN_BODY_LEN: usize = 17;

/// Why the first bytes after `DB 08` are not the start of a Smarty frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The APDU header cannot be read.
    #[error("encrypted frame header: {0}")]
    Header(#[from] ciphering::Error),
    /// The length field is impossible for a Smarty frame.
    #[error("encrypted frame length {len} is impossible: a Smarty frame holds 17 to {max} bytes after its length field")]
    Length {
        /// The length field.
        len: usize,
        /// The largest length accepted.
        max: usize,
    },
    /// The security control byte is not 0x30.
    #[error("encrypted frame has security control 0x{0:02X}; Smarty frames are authenticated and encrypted (0x30)")]
    SecurityControl(u8),
}

impl FrameError {
    /// The error kind to report.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FrameError::Header(ciphering::Error::Truncated { .. }) => ErrorKind::Truncated,
            FrameError::Header(_) | FrameError::Length { .. } => ErrorKind::FrameLength,
            FrameError::SecurityControl(_) => ErrorKind::Malformed,
        }
    }
}

/// What the first bytes of a frame (starting at `DB`) say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameStart {
    /// More bytes are needed to know the frame's length.
    NeedMore,
    /// A frame of this many bytes in all.
    Frame {
        /// Length from `DB` through the tag.
        len: usize,
    },
    /// Not a usable frame start.
    Invalid(FrameError),
}

/// Reads the header of a Smarty frame from its first bytes: tag, system title length, length
/// field (17 to 16 KiB) and security control byte.
pub fn frame_start(prefix: &[u8]) -> FrameStart {
    let header = match Header::parse(prefix) {
        Ok(Some(header)) => header,
        Ok(None) => return FrameStart::NeedMore,
        Err(e) => return FrameStart::Invalid(e.into()),
    };
    if !(MIN_BODY_LEN..=MAX_TELEGRAM_LEN).contains(&header.body_len) {
        return FrameStart::Invalid(FrameError::Length {
            len: header.body_len,
            max: MAX_TELEGRAM_LEN,
        });
    }
    match prefix.get(header.header_len) {
        None => FrameStart::NeedMore,
        Some(&SECURITY_CONTROL) => FrameStart::Frame {
            len: header.frame_len(),
        },
        Some(&sc) => FrameStart::Invalid(FrameError::SecurityControl(sc)),
    }
}

/// Deciphers a complete Smarty frame with `keys` (the fixed Smarty AK when
/// `keys.authentication` is `None`) and decodes the telegram inside it. Errors: `frame_length`
/// or `truncated` for a bad header, `malformed` for a security control other than 0x30 or a
/// plaintext that is not a telegram, `missing_key`, `gcm_tag_mismatch`, and whatever the inner
/// telegram has (`crc_mismatch`…).
pub fn decode_frame(frame: &[u8], keys: &Keys, offset: Option<u64>) -> Message {
    let glo = match GeneralGloCiphering::new_checked(frame) {
        Ok(glo) => glo,
        Err(e) => {
            let e = FrameError::from(e);
            return e.kind().error(e.to_string(), offset);
        }
    };
    let sc = glo.security_control();
    if sc.0 != SECURITY_CONTROL {
        return ErrorKind::Malformed.error(FrameError::SecurityControl(sc.0).to_string(), offset);
    }
    let who = format!(
        "system title {}, frame counter {}",
        hex_upper(glo.system_title()),
        glo.invocation_counter()
    );
    if keys.encryption.is_none() {
        return ErrorKind::MissingKey.error(
            format!("encrypted Smarty frame ({who}) and no encryption key was given"),
            offset,
        );
    }
    let keys = Keys {
        encryption: keys.encryption.clone(),
        authentication: Some(
            keys.authentication
                .clone()
                .unwrap_or(SMARTY_AUTHENTICATION_KEY),
        ),
    };
    let plaintext = match glo.decrypt(&keys) {
        Ok(p) => p,
        Err(CipherError::TagMismatch) => {
            return ErrorKind::GcmTagMismatch.error(
                format!("GCM tag check failed ({who}): wrong key or corrupted frame"),
                offset,
            )
        }
        Err(e @ CipherError::MissingKey) => {
            return ErrorKind::MissingKey.error(format!("{e} ({who})"), offset)
        }
        Err(e) => return ErrorKind::Malformed.error(format!("{e} ({who})"), offset),
    };
    if plaintext.first() != Some(&b'/') {
        return ErrorKind::Malformed.error(
            format!(
                "decrypted frame ({who}) does not start with '/': {}",
                super::telegram::quote(&plaintext[..plaintext.len().min(16)])
            ),
            offset,
        );
    }
    decode_telegram_with(&plaintext, offset, CrcRule::Required, CrcPolicy::Strict)
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::reading::Scalar;

    /// The real Smarty frame of NEXXTLAB/go-smarty-reader `smarty/Smarty_test.go` (Sagemcom,
    /// system title `SAGgp…`), published with its key; inner CRC CFDE. Read from the corpus copy
    /// in `tests/data/dsmr/` (647 bytes of hex are better kept with their source note).
    fn frame() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/dsmr/smarty-real-encrypted-nexxtlab.yaml"
        );
        let text = std::fs::read_to_string(path).expect("corpus vector present");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
        let hex_text: String = doc["hex"]
            .as_str()
            .expect("hex field")
            .split_whitespace()
            .collect();
        hex::decode(hex_text).expect("valid hex")
    }

    fn nexxtlab_keys() -> Keys {
        Keys {
            encryption: Some("D491470F47126332B07D1923B3504188".parse().expect("key")),
            authentication: None,
        }
    }

    #[test]
    fn test_frame_start() {
        let frame = frame();
        assert_eq!(frame_start(&frame[..13]), FrameStart::NeedMore);
        assert_eq!(frame_start(&frame), FrameStart::Frame { len: 647 });
        assert_eq!(frame.len(), 647);
        let mut bad = frame.clone();
        bad[13] = 0x20;
        assert_eq!(
            frame_start(&bad),
            FrameStart::Invalid(FrameError::SecurityControl(0x20))
        );
        let tiny = [0xDB, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x30];
        assert_eq!(
            frame_start(&tiny),
            FrameStart::Invalid(FrameError::Length {
                len: 16,
                max: 16384
            })
        );
        let huge = [0xDB, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x82, 0x40, 0x01];
        assert_eq!(
            frame_start(&huge),
            FrameStart::Invalid(FrameError::Length {
                len: 16385,
                max: 16384
            })
        );
    }

    #[test]
    fn test_decode_real_frame() {
        let frame = frame();
        let message = decode_frame(&frame, &nexxtlab_keys(), Some(0));
        let reading = message.reading().expect("decrypts and decodes");
        assert_eq!(reading.meter_id.as_deref(), Some("SAG1030700114004"));
        assert_eq!(reading.time.as_deref(), Some("2018-01-30T10:21:22+01:00"));
        assert_eq!(
            reading.value("1-0:1.8.0*255").map(|v| &v.value),
            Some(&Scalar::Number("6.695".parse().expect("decimal")))
        );
        assert!(reading.warnings.is_empty());
    }

    #[test]
    fn test_key_errors() {
        let frame = frame();
        let kind = |keys: &Keys| {
            decode_frame(&frame, keys, Some(0))
                .error_report()
                .map(|e| (e.kind.clone(), e.message.clone()))
        };
        let (k, message) = kind(&Keys::default()).expect("error");
        assert_eq!(k, "missing_key");
        assert!(message.contains("534147677001BD54"), "{message}");
        let wrong = Keys {
            encryption: Some("D491470F47126332B07D1923B3504189".parse().expect("key")),
            authentication: None,
        };
        let (k, message) = kind(&wrong).expect("error");
        assert_eq!(k, "gcm_tag_mismatch");
        assert!(!message.to_lowercase().contains("d491470f"), "{message}");
        let wrong_ak = Keys {
            authentication: Some("FFEEDDCCBBAA99887766554433221100".parse().expect("key")),
            ..nexxtlab_keys()
        };
        assert_eq!(
            kind(&wrong_ak).map(|e| e.0).as_deref(),
            Some("gcm_tag_mismatch")
        );
        let mut corrupted = frame.clone();
        corrupted[300] ^= 0x04;
        assert_eq!(
            decode_frame(&corrupted, &nexxtlab_keys(), None)
                .error_report()
                .map(|e| e.kind.as_str()),
            Some("gcm_tag_mismatch")
        );
    }
}
