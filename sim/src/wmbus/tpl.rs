//! The transport layer (TPL, EN 13757-7 §7 / OMS Vol. 2 §7.2, as quoted in `wmbus.md` §1–2):
//! CI `0x7A` short header (ACC, STS, CW), `0x72` long header (ID, M, VER, TYPE, ACC, STS, CW) and
//! `0x78` no header; the configuration word with the security mode and the number of encrypted
//! blocks, and the CW extension of mode 7.

use crate::mbus::SecondaryAddress;

use super::link::address_m_a;

/// CI of the long transport header.
pub const CI_TPL_LONG: u8 = 0x72;
/// CI of the short transport header.
pub const CI_TPL_SHORT: u8 = 0x7A;
/// CI of application data without a transport header.
pub const CI_TPL_NONE: u8 = 0x78;
/// Configuration-word flag: bidirectional communication.
pub const CW_BIDIRECTIONAL: u16 = 0x8000;
/// Configuration-word flag: accessibility.
pub const CW_ACCESSIBILITY: u16 = 0x4000;
/// Configuration-word flag: synchronous transmission.
pub const CW_SYNCHRONOUS: u16 = 0x2000;
/// CW extension of mode 7 with KDF selection 1 (the AES-CMAC key derivation).
pub const CW_EXT_KDF1: u8 = 0x10;

/// Which transport header a telegram carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TplHeader {
    /// CI `0x78`: records follow directly (no ACC, no CW: unencrypted only).
    None,
    /// CI `0x7A`: ACC, STS, CW.
    Short,
    /// CI `0x72`: the meter's own address (a radio module may send for it), then ACC, STS, CW.
    Long(SecondaryAddress),
}

/// The configuration word (little-endian on the air).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigWord(pub u16);

impl ConfigWord {
    /// A configuration word: the flag bits of `flags` (15–13 and 3–0) with this security mode
    /// and number of encrypted blocks.
    pub fn new(flags: u16, mode: u8, blocks: u8) -> Self {
        ConfigWord(
            (flags & 0xE00F) | (u16::from(mode & 0x1F) << 8) | (u16::from(blocks & 0x0F) << 4),
        )
    }

    /// The security mode (bits 12–8).
    pub fn mode(self) -> u8 {
        ((self.0 >> 8) & 0x1F) as u8
    }

    /// The number of encrypted 16-byte blocks (bits 7–4).
    pub fn blocks(self) -> u8 {
        ((self.0 >> 4) & 0x0F) as u8
    }
}

/// A transport-layer header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TplRepr {
    /// Short, long or none.
    pub header: TplHeader,
    /// Access number.
    pub access_number: u8,
    /// Status byte (`0x00` OK; bits 0–1 application errors, 2 power low, 3 permanent error, 4
    /// temporary error).
    pub status: u8,
    /// Configuration word.
    pub config: ConfigWord,
    /// The CW extension (mode 7 only).
    pub config_ext: Option<u8>,
}

impl TplRepr {
    /// The CI of this header.
    pub fn ci(&self) -> u8 {
        match self.header {
            TplHeader::None => CI_TPL_NONE,
            TplHeader::Short => CI_TPL_SHORT,
            TplHeader::Long(_) => CI_TPL_LONG,
        }
    }

    /// Bytes the header takes, CI included.
    pub fn buffer_len(&self) -> usize {
        let ext = usize::from(self.config_ext.is_some());
        match self.header {
            TplHeader::None => 1,
            TplHeader::Short => 5 + ext,
            TplHeader::Long(_) => 13 + ext,
        }
    }

    /// Appends CI and the header.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.ci());
        if let TplHeader::Long(address) = self.header {
            // ID(4) M(2) VER TYPE: the wired long header's order.
            out.extend_from_slice(&address.bytes());
        }
        if self.header != TplHeader::None {
            out.extend_from_slice(&[self.access_number, self.status]);
            out.extend_from_slice(&self.config.0.to_le_bytes());
            if let Some(ext) = self.config_ext {
                out.push(ext);
            }
        }
    }

    /// `M ‖ A` for the IV of mode 5 (the long header's address if there is one).
    pub fn iv_address(&self, link: &SecondaryAddress) -> [u8; 8] {
        match self.header {
            TplHeader::Long(address) => address_m_a(&address),
            _ => address_m_a(link),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_config_word_fields() {
        let cw = ConfigWord::new(CW_BIDIRECTIONAL, 5, 6);
        assert_eq!(cw, ConfigWord(0x8560));
        assert_eq!((cw.mode(), cw.blocks()), (5, 6));
        assert_eq!(ConfigWord::new(CW_SYNCHRONOUS, 5, 2), ConfigWord(0x2520));
        assert_eq!(ConfigWord::new(0, 7, 9), ConfigWord(0x0790));
    }

    #[test]
    fn test_long_header_of_aventies() {
        // Corpus aventieswm-0: 72 71000761 2104 25 07 B5 00 6005
        let address = SecondaryAddress {
            id: 61_070_071,
            manufacturer: 0x0421,
            version: 0x25,
            medium: 0x07,
        };
        let tpl = TplRepr {
            header: TplHeader::Long(address),
            access_number: 0xB5,
            status: 0,
            config: ConfigWord(0x0560),
            config_ext: None,
        };
        let mut out = Vec::new();
        tpl.emit(&mut out);
        assert_eq!(
            out,
            [0x72, 0x71, 0x00, 0x07, 0x61, 0x21, 0x04, 0x25, 0x07, 0xB5, 0x00, 0x60, 0x05]
        );
        assert_eq!(out.len(), tpl.buffer_len());
        assert_eq!(
            tpl.iv_address(&SecondaryAddress { id: 1, ..address }),
            [0x21, 0x04, 0x71, 0x00, 0x07, 0x61, 0x25, 0x07]
        );
    }
}
