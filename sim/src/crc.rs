//! The 16-bit CRCs the simulated meters send, in one place: CRC-16/ARC (the DSMR telegram CRC,
//! P1 Companion Standard 5.0.2 §6.2) and CRC-16/X-25 (HDLC HCS/FCS, IEC 62056-46 / ISO/IEC 13239;
//! also the CRC some DSMR meters send instead of ARC), and CRC-16/EN-13757 (the wireless M-Bus
//! block CRC, EN 13757-4 frame formats A and B: polynomial 0x3D65, initial value 0, result
//! inverted, sent MSB first). From the `crc` crate's catalogue.

use crc::{Crc, CRC_16_ARC, CRC_16_EN_13757, CRC_16_IBM_SDLC};

/// CRC-16/ARC (check value 0xBB3D).
pub const CRC_ARC: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);
/// CRC-16/X-25, alias CRC-16/IBM-SDLC (check value 0x906E).
pub const CRC_X25: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);
/// CRC-16/EN-13757 (check value 0xC2B7): the wireless M-Bus link-layer block CRC.
pub const CRC_EN13757: Crc<u16> = Crc::<u16>::new(&CRC_16_EN_13757);

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(CRC_ARC.checksum(b"123456789"), 0xBB3D);
        assert_eq!(CRC_X25.checksum(b"123456789"), 0x906E);
        assert_eq!(CRC_EN13757.checksum(b"123456789"), 0xC2B7);
    }
}
