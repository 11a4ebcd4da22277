//! The extended link layer (EN 13757-4:2019 clause 13.2, table 39): CI `8C` (CC, ACC),
//! `8D` (CC, ACC, SN, payload CRC: encrypted), `8E` (CC, ACC, M2, A2), `8F` (CC, ACC, M2, A2,
//! SN, payload CRC).
//!
//! The session number SN (4 bytes, little-endian) holds the session (bits 0–3), the time
//! (bits 4–28) and the encryption (bits 29–31; 1 = AES-128-CTR, EN 13757-4 13.2.11). When it
//! says encrypted, everything after SN — the payload CRC (2 bytes, LSB first) and the payload —
//! is AES-CTR ciphertext; the CRC (CRC-16/EN-13757 over the payload) is the only check of the
//! key ([`super::security::decrypt_ell`]).

use super::{Error, ErrorKind};

/// CI of the short ELL (CC, ACC).
pub const CI_ELL_SHORT: u8 = 0x8C;
/// CI of the ELL with SN and payload CRC.
pub const CI_ELL_ENCRYPTED: u8 = 0x8D;
/// CI of the ELL with a second address.
pub const CI_ELL_ADDRESS: u8 = 0x8E;
/// CI of the ELL with a second address, SN and payload CRC.
pub const CI_ELL_ADDRESS_ENCRYPTED: u8 = 0x8F;

/// Whether `ci` is an extended link layer.
pub fn is_ell(ci: u8) -> bool {
    (CI_ELL_SHORT..=CI_ELL_ADDRESS_ENCRYPTED).contains(&ci)
}

/// A read-only view of an ELL: CI and its fields, then the rest of the telegram.
#[derive(Clone, Debug)]
pub struct Ell<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ell<T> {
    /// Checks that the buffer starts with an ELL CI and holds all its fields.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        let Some(&ci) = b.first() else {
            return Err(Error::new(
                ErrorKind::PrematureEnd,
                "no extended link layer",
            ));
        };
        if !is_ell(ci) {
            return Err(Error::new(
                ErrorKind::UnsupportedCi,
                format!("CI 0x{ci:02X} is no extended link layer"),
            ));
        }
        let ell = Ell { buffer };
        if ell.buffer.as_ref().len() < ell.header_len() {
            return Err(Error::new(
                ErrorKind::PrematureEnd,
                format!(
                    "extended link layer CI 0x{ci:02X} needs {} bytes, {} are left",
                    ell.header_len(),
                    ell.buffer.as_ref().len()
                ),
            ));
        }
        Ok(ell)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The CI (`8C`–`8F`).
    pub fn ci(&self) -> u8 {
        self.b()[0]
    }

    /// The communication control field.
    pub fn cc(&self) -> u8 {
        self.b()[1]
    }

    /// The access number.
    pub fn access_number(&self) -> u8 {
        self.b()[2]
    }

    fn has_address(&self) -> bool {
        matches!(self.ci(), CI_ELL_ADDRESS | CI_ELL_ADDRESS_ENCRYPTED)
    }

    fn has_session(&self) -> bool {
        matches!(self.ci(), CI_ELL_ENCRYPTED | CI_ELL_ADDRESS_ENCRYPTED)
    }

    /// The second address M2 A2 (8 bytes) of CI `8E`/`8F`.
    pub fn address2(&self) -> Option<&[u8]> {
        self.has_address().then(|| &self.b()[3..11])
    }

    /// The session number SN of CI `8D`/`8F`.
    pub fn session_number(&self) -> Option<u32> {
        let at = if self.has_address() { 11 } else { 3 };
        self.has_session().then(|| {
            let s = &self.b()[at..at + 4];
            u32::from_le_bytes([s[0], s[1], s[2], s[3]])
        })
    }

    /// The encryption method of SN bits 29–31 (0 none, 1 AES-128-CTR); 0 without SN.
    pub fn encryption(&self) -> u8 {
        self.session_number().map_or(0, |sn| (sn >> 29) as u8)
    }

    /// Bytes of the ELL up to the payload (CI included; the payload CRC of `8D`/`8F` counts
    /// as payload: it is encrypted with it).
    pub fn header_len(&self) -> usize {
        match self.ci() {
            CI_ELL_SHORT => 3,
            CI_ELL_ENCRYPTED => 7,
            CI_ELL_ADDRESS => 11,
            _ => 15,
        }
    }

    /// Everything after the ELL fields (for `8D`/`8F`: payload CRC and payload).
    pub fn rest(&self) -> &[u8] {
        &self.b()[self.header_len()..]
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn fields() {
        // Kamstrup multical21 ELL (wmbusmeters simulations/serial_aes.msg) after the link header.
        let b = unhex("8D2091D37CAC21E1D68CDAFFCD");
        let e = Ell::new_checked(&b).expect("ell");
        assert_eq!((e.cc(), e.access_number()), (0x20, 0x91));
        assert_eq!(e.session_number(), Some(0x21AC7CD3));
        assert_eq!(e.encryption(), 1);
        assert_eq!(e.rest(), &unhex("E1D68CDAFFCD")[..]);
        assert!(Ell::new_checked(&unhex("8D2091D37C")).is_err());
        let short = unhex("8C20757A");
        let e = Ell::new_checked(&short).expect("ell");
        assert_eq!((e.encryption(), e.rest()), (0, &[0x7A][..]));
    }
}
