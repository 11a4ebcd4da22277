//! The 16-bit CRCs of the protocols, in one place: CRC-16/ARC (the DSMR telegram CRC, DSMR P1
//! Companion Standard 5.0.2 §6.2) and CRC-16/X-25 (the HCS/FCS of IEC 62056-46 HDLC frames,
//! ISO/IEC 13239 §4.2.2; also the CRC some DSMR meters send). Both come from the `crc` crate's
//! catalogue; the protocol modules only choose which bytes they cover.

use crc::{Crc as CrcAlgorithm, Table, CRC_16_ARC, CRC_16_EN_13757, CRC_16_IBM_SDLC};

/// CRC-16/ARC: polynomial 0x8005 reflected, initial 0, no final XOR (check value 0xBB3D).
/// Computed 16 bytes at a time (slicing-by-16 tables, built at compile time): a DSMR telegram is
/// about 1 KiB, and a byte-wise table costs a table look-up per byte in one dependency chain.
pub const ARC: CrcAlgorithm<u16, Table<16>> = CrcAlgorithm::<u16, Table<16>>::new(&CRC_16_ARC);

/// CRC-16/X-25 (CRC-16/IBM-SDLC): polynomial 0x1021 reflected, initial and final XOR 0xFFFF
/// (check value 0x906E). Slicing-by-16 as [`ARC`]: an HDLC frame's FCS covers the whole frame
/// (491 bytes of a Kamstrup push).
pub const X25: CrcAlgorithm<u16, Table<16>> = CrcAlgorithm::<u16, Table<16>>::new(&CRC_16_IBM_SDLC);

/// CRC-16/EN-13757: polynomial 0x3D65, initial 0, not reflected, final XOR 0xFFFF (check value
/// 0xC2B7); sent most significant byte first after each link-layer block.
pub const EN_13757: CrcAlgorithm<u16> = CrcAlgorithm::<u16>::new(&CRC_16_EN_13757);

/// CRC-16/EN-13757 of `bytes`.
pub fn crc16_en13757(bytes: &[u8]) -> u16 {
    EN_13757.checksum(bytes)
}

/// CRC-16/ARC of `bytes`.
pub fn crc16_arc(bytes: &[u8]) -> u16 {
    ARC.checksum(bytes)
}

/// CRC-16/X-25 of `bytes`.
pub fn crc16_x25(bytes: &[u8]) -> u16 {
    X25.checksum(bytes)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_check_values() {
        assert_eq!(crc16_arc(b"123456789"), 0xBB3D);
        assert_eq!(crc16_x25(b"123456789"), 0x906E);
        assert_ne!(crc16_arc(b"123456780"), 0xBB3D);
        assert_eq!(crc16_en13757(b"123456789"), 0xC2B7);
    }
}
