//! The transport layer (EN 13757-7:2018 clause 7; OMS vol. 2 §7.2): which header a TPL CI
//! announces and the configuration word.
//!
//! ```text
//! 7A / 7B  short header  ACC STS CW(2)
//! 72 / 73  long header   ID(4) M(2) VER TYPE ACC STS CW(2)
//! 78 / 79  no header
//! ```
//!
//! `7B`, `73` and `79` carry a compact frame (format signature, data CRC, data without
//! DIF/VIF) instead of data records; it cannot be read without its format frame. The headers
//! themselves are EN 13757-3's and parsed by [`crate::mbus::header`].
//!
//! Configuration word (little-endian): bits 12–8 the security mode, bits 7–4 the number of
//! encrypted 16-byte blocks (modes 5 and 7); mode 7 adds one configuration-extension byte
//! after it (bits 5–4: the key derivation function, 1 = the AES-CMAC KDF).

use crate::mbus::header::HeaderKind;

/// What a TPL CI announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TplKind {
    /// The header.
    pub header: HeaderKind,
    /// Compact frame instead of data records.
    pub compact: bool,
    /// The CI of the same header with data records (what the records decoder reads).
    pub variable_ci: u8,
}

/// The TPL a CI announces, `None` for CIs of other layers.
pub fn tpl_kind(ci: u8) -> Option<TplKind> {
    let (header, compact, variable_ci) = match ci {
        0x72 => (HeaderKind::Long, false, 0x72),
        0x73 => (HeaderKind::Long, true, 0x72),
        0x7A => (HeaderKind::Short, false, 0x7A),
        0x7B => (HeaderKind::Short, true, 0x7A),
        0x78 => (HeaderKind::None, false, 0x78),
        0x79 => (HeaderKind::None, true, 0x78),
        _ => return None,
    };
    Some(TplKind {
        header,
        compact,
        variable_ci,
    })
}

/// The configuration word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigWord(pub u16);

impl ConfigWord {
    /// The security mode (0 none, 5 AES-CBC with IV, 7 AES-CBC with derived keys…).
    pub fn security_mode(self) -> u8 {
        ((self.0 >> 8) & 0x1F) as u8
    }

    /// The number of encrypted 16-byte blocks.
    pub fn encrypted_blocks(self) -> usize {
        usize::from((self.0 >> 4) & 0x0F)
    }

    /// Whether a configuration-extension byte follows (mode 7).
    pub fn has_extension(self) -> bool {
        self.security_mode() == 7
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn config_words() {
        let cw = ConfigWord(0x8560);
        assert_eq!((cw.security_mode(), cw.encrypted_blocks()), (5, 6));
        let cw = ConfigWord(0x0790);
        assert_eq!((cw.security_mode(), cw.encrypted_blocks()), (7, 9));
        assert!(cw.has_extension());
        assert_eq!(tpl_kind(0x73).map(|k| k.compact), Some(true));
        assert_eq!(tpl_kind(0x8C), None);
    }
}
