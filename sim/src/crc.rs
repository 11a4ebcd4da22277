//! The 16-bit CRCs the simulated meters send, in one place: CRC-16/ARC (the DSMR telegram CRC,
//! P1 Companion Standard 5.0.2 §6.2) and CRC-16/X-25 (HDLC HCS/FCS, IEC 62056-46 / ISO/IEC 13239;
//! also the CRC some DSMR meters send instead of ARC). From the `crc` crate's catalogue.

use crc::{Crc, CRC_16_ARC, CRC_16_IBM_SDLC};

/// CRC-16/ARC (check value 0xBB3D).
pub const CRC_ARC: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);
/// CRC-16/X-25, alias CRC-16/IBM-SDLC (check value 0x906E).
pub const CRC_X25: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(CRC_ARC.checksum(b"123456789"), 0xBB3D);
        assert_eq!(CRC_X25.checksum(b"123456789"), 0x906E);
    }
}
