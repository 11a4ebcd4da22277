//! The extended link layer (ELL, EN 13757-4 §13 / OMS Vol. 2 §7.1, as quoted in `wmbus.md` §1 and
//! `mbus.md` § wireless): CI `0x8C` (communication control, access number) and CI `0x8D` (also a
//! session number and a payload CRC; the rest of the telegram AES-128-CTR encrypted, as Kamstrup
//! C1 meters send it).
//!
//! The counter block of `0x8D` is `M(2) ‖ A(6) ‖ CC & !0x12 ‖ SN(4) ‖ FN(2) = 0 ‖ BC`, BC counting
//! the 16-byte blocks from 0; the first two plaintext bytes are the CRC-16/EN-13757 (LSB first) of
//! the rest.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use aes::Aes128;
use meterlab_decoder::Key;

use crate::crc::CRC_EN13757;

/// CI of the short ELL.
pub const CI_ELL_SHORT: u8 = 0x8C;
/// CI of the ELL with session number and payload CRC.
pub const CI_ELL_SESSION: u8 = 0x8D;
/// Communication control: bidirectional.
pub const CC_BIDIRECTIONAL: u8 = 0x80;
/// Communication control: response delay (the bit behind a fast-responding C1 meter).
pub const CC_RESPONSE_DELAY: u8 = 0x40;
/// Communication control: synchronised frame.
pub const CC_SYNCHRONISED: u8 = 0x20;
/// Communication control: hop counter (set by a repeater).
pub const CC_HOP: u8 = 0x10;
/// Communication control: priority.
pub const CC_PRIORITY: u8 = 0x08;
/// Communication control: accessibility.
pub const CC_ACCESSIBILITY: u8 = 0x04;
/// Communication control: repeated access.
pub const CC_REPEATED_ACCESS: u8 = 0x02;
/// Session-number bits 31–29: encryption 1 = AES-128-CTR.
pub const SN_ENC_AES_CTR: u32 = 1 << 29;

/// An extended link layer header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EllRepr {
    /// CI `0x8C`.
    Short {
        /// Communication control.
        cc: u8,
        /// Access number.
        access_number: u8,
    },
    /// CI `0x8D` (the payload CRC and the encryption are added by [`EllRepr::encrypt_ctr`]).
    Session {
        /// Communication control.
        cc: u8,
        /// Access number.
        access_number: u8,
        /// Session number (session bits 0–3, minutes 4–28, encryption 29–31).
        session: u32,
    },
}

impl EllRepr {
    /// Communication control.
    pub fn cc(&self) -> u8 {
        match *self {
            EllRepr::Short { cc, .. } | EllRepr::Session { cc, .. } => cc,
        }
    }

    /// The same header with other CC bits (a repeater sets the hop bit).
    pub fn with_cc(self, cc: u8) -> Self {
        match self {
            EllRepr::Short { access_number, .. } => EllRepr::Short { cc, access_number },
            EllRepr::Session {
                access_number,
                session,
                ..
            } => EllRepr::Session {
                cc,
                access_number,
                session,
            },
        }
    }

    /// Appends CI and the header (for `0x8D` without the payload CRC, which is encrypted).
    pub fn emit(&self, out: &mut Vec<u8>) {
        match *self {
            EllRepr::Short { cc, access_number } => {
                out.extend_from_slice(&[CI_ELL_SHORT, cc, access_number])
            }
            EllRepr::Session {
                cc,
                access_number,
                session,
            } => {
                out.extend_from_slice(&[CI_ELL_SESSION, cc, access_number]);
                out.extend_from_slice(&session.to_le_bytes());
            }
        }
    }

    /// For CI `0x8D`: appends payload CRC ‖ `rest`, AES-128-CTR encrypted with the counter block
    /// of the link address `m_a`. For CI `0x8C` appends `rest` unchanged.
    pub fn encrypt_ctr(&self, key: &Key, m_a: &[u8; 8], rest: &[u8], out: &mut Vec<u8>) {
        let EllRepr::Session { cc, session, .. } = *self else {
            out.extend_from_slice(rest);
            return;
        };
        let mut plain = CRC_EN13757.checksum(rest).to_le_bytes().to_vec();
        plain.extend_from_slice(rest);
        let cipher = Aes128::new(GenericArray::from_slice(key.expose()));
        let mut counter = [0u8; 16];
        counter[..8].copy_from_slice(m_a);
        counter[8] = cc & !(CC_HOP | CC_REPEATED_ACCESS);
        counter[9..13].copy_from_slice(&session.to_le_bytes());
        for (bc, chunk) in plain.chunks(16).enumerate() {
            counter[15] = (bc & 0xFF) as u8;
            let mut stream = GenericArray::clone_from_slice(&counter);
            cipher.encrypt_block(&mut stream);
            out.extend(chunk.iter().zip(stream.iter()).map(|(p, s)| p ^ s));
        }
    }
}
