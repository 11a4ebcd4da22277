//! EN 13757-3 §5 and §6.1: the CI field, the fixed header of variable data (CI `0x72`/`0x76`),
//! the manufacturer id and the secondary address a master selects a slave by (CI `0x52` to
//! address 253, wildcards `F` per BCD digit and `FF` per byte).
//!
//! The long header is 12 bytes: identification number (8 BCD digits, LSB first), manufacturer
//! (2 bytes, LSB first), version, device type (medium), access number, status, signature (2
//! bytes, `00 00` unencrypted). With CI `0x76` the identification, manufacturer and signature are
//! sent MSB first.

use meterlab_decoder::{Decimal, Value};

use super::record::ByteOrder;

/// CI: application reset (master to slave), optionally with one subcode byte.
pub const CI_APPLICATION_RESET: u8 = 0x50;
/// CI: data send (master to slave), e.g. `01 7A nn` = set primary address.
pub const CI_DATA_SEND: u8 = 0x51;
/// CI: select slave by secondary address (to address 253).
pub const CI_SELECT: u8 = 0x52;
/// CI: variable data respond with long header, LSB first (slave to master).
pub const CI_RESPONSE_LONG: u8 = 0x72;
/// CI: variable data respond with long header, MSB first ("mode 2").
pub const CI_RESPONSE_MSB: u8 = 0x76;
/// CI: variable data respond without header.
pub const CI_RESPONSE_NONE: u8 = 0x78;
/// CI of the first baud-rate switch (300 Bd); `B8`–`BF` = [`BAUD_RATES`].
pub const CI_BAUD_FIRST: u8 = 0xB8;
/// The baud rates of CI `B8`–`BF`.
pub const BAUD_RATES: [u32; 8] = [300, 600, 1200, 2400, 4800, 9600, 19_200, 38_400];

/// The baud rate a CI `B8`–`BF` switches to.
pub fn baud_of_ci(ci: u8) -> Option<u32> {
    BAUD_RATES
        .get(usize::from(ci.checked_sub(CI_BAUD_FIRST)?))
        .copied()
}

/// The manufacturer id of three letters: `(c1−64)·1024 + (c2−64)·32 + (c3−64)`, `A`–`Z` (and
/// `@` = 0, which real CI-0x76 heat meters send as `0x0000`).
pub fn manufacturer_id(letters: &str) -> Option<u16> {
    let b = letters.as_bytes();
    if b.len() != 3 || !b.iter().all(|c| (b'@'..=b'Z').contains(c)) {
        return None;
    }
    Some(b.iter().fold(0u16, |m, &c| (m << 5) | u16::from(c - 64)))
}

/// The three letters of a manufacturer id (`M & 0x7FFF`).
pub fn manufacturer_letters(id: u16) -> String {
    [10, 5, 0]
        .iter()
        .map(|s| char::from(((id >> s) & 0x1F) as u8 + 64))
        .collect()
}

/// An identification number of 8 decimal digits as BCD, LSB first.
pub fn bcd_id(id: u32) -> [u8; 4] {
    let mut v = id;
    let mut out = [0u8; 4];
    for b in out.iter_mut() {
        let lo = (v % 10) as u8;
        v /= 10;
        let hi = (v % 10) as u8;
        v /= 10;
        *b = lo | (hi << 4);
    }
    out
}

/// What a slave is selected by: identification number, manufacturer, version, medium.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecondaryAddress {
    /// Identification number, 0…99 999 999.
    pub id: u32,
    /// Manufacturer id.
    pub manufacturer: u16,
    /// Version (generation).
    pub version: u8,
    /// Device type (medium).
    pub medium: u8,
}

impl SecondaryAddress {
    /// The 8 bytes as a select frame carries them: ID (BCD, LSB first), manufacturer (LSB
    /// first), version, medium.
    pub fn bytes(&self) -> [u8; 8] {
        let id = bcd_id(self.id);
        let m = self.manufacturer.to_le_bytes();
        [
            id[0],
            id[1],
            id[2],
            id[3],
            m[0],
            m[1],
            self.version,
            self.medium,
        ]
    }

    /// The address as tools print it: `IIIIIIII` `MMMM` `VV` `DD` (hex, e.g. `000257762D480307`).
    pub fn text(&self) -> String {
        format!(
            "{:08}{:04X}{:02X}{:02X}",
            self.id, self.manufacturer, self.version, self.medium
        )
    }

    /// Whether a selection pattern (the 8 bytes after CI `0x52`) names this slave: each ID
    /// nibble equal or `F`, manufacturer, version and medium bytes equal or `FF`.
    pub fn matches(&self, pattern: &[u8]) -> bool {
        let Some(pattern) = pattern.get(..8) else {
            return false;
        };
        let own = self.bytes();
        let id_ok = (0..4).all(|i| nibbles_match(own[i], pattern[i]));
        let rest_ok = (4..8).all(|i| pattern[i] == 0xFF || pattern[i] == own[i]);
        id_ok && rest_ok
    }
}

/// Whether a BCD byte matches a pattern byte whose nibbles are digits or the wildcard `F`.
pub fn nibbles_match(own: u8, pattern: u8) -> bool {
    let lo = pattern & 0x0F == 0x0F || pattern & 0x0F == own & 0x0F;
    let hi = pattern & 0xF0 == 0xF0 || pattern & 0xF0 == own & 0xF0;
    lo && hi
}

/// The fixed part of a CI `0x72`/`0x76` telegram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRepr {
    /// Identification, manufacturer, version, medium.
    pub address: SecondaryAddress,
    /// Access number (counts the telegrams the slave sent).
    pub access_number: u8,
    /// Status byte (bits 0–1 application, 2 power low, 3 permanent, 4 temporary error).
    pub status: u8,
    /// Signature / configuration word (`0000`: not encrypted).
    pub signature: u16,
    /// The byte order of the CI: identification, manufacturer and signature are reversed for
    /// CI `0x76`.
    pub order: ByteOrder,
}

impl HeaderRepr {
    /// Bytes of the long header.
    pub const LEN: usize = 12;

    /// Bytes it takes.
    pub fn buffer_len(&self) -> usize {
        Self::LEN
    }

    /// Appends the header in its byte order.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut id = bcd_id(self.address.id);
        let mut man = self.address.manufacturer.to_le_bytes();
        let mut sig = self.signature.to_le_bytes();
        if self.order == ByteOrder::MsbFirst {
            id.reverse();
            man.reverse();
            sig.reverse();
        }
        out.extend_from_slice(&id);
        out.extend_from_slice(&man);
        out.extend_from_slice(&[
            self.address.version,
            self.address.medium,
            self.access_number,
            self.status,
        ]);
        out.extend_from_slice(&sig);
    }

    /// The meter id of the reading: the 8 digits, leading zeros kept.
    pub fn meter_id(&self) -> String {
        format!("{:08}", self.address.id)
    }

    /// The header values of the reading, in contract order: `header.manufacturer` (text),
    /// `header.version`, `header.medium`, `header.access_number`, `header.status` (numbers).
    pub fn values(&self) -> Vec<Value> {
        let n = |v: u8| Decimal::from_int(i128::from(v));
        vec![
            Value::text(
                "header.manufacturer",
                manufacturer_letters(self.address.manufacturer & 0x7FFF),
            ),
            Value::number("header.version", n(self.address.version), None),
            Value::number("header.medium", n(self.address.medium), None),
            Value::number("header.access_number", n(self.access_number), None),
            Value::number("header.status", n(self.status), None),
        ]
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The long header of the Kamstrup Multical 601 (libmbus
    /// test/test-frames/kamstrup_multical_601.hex): ID 06855817, KAM, version 08, heat (04),
    /// access number 04, status 00, signature 0000.
    #[test]
    fn test_kamstrup_header() {
        let h = HeaderRepr {
            address: SecondaryAddress {
                id: 6_855_817,
                manufacturer: manufacturer_id("KAM").expect("letters"),
                version: 0x08,
                medium: 0x04,
            },
            access_number: 0x04,
            status: 0x00,
            signature: 0x0000,
            order: ByteOrder::LsbFirst,
        };
        let mut out = Vec::new();
        h.emit(&mut out);
        assert_eq!(
            out,
            [0x17, 0x58, 0x85, 0x06, 0x2D, 0x2C, 0x08, 0x04, 0x04, 0x00, 0x00, 0x00]
        );
        assert_eq!(out.len(), h.buffer_len());
        assert_eq!(h.meter_id(), "06855817");
        assert_eq!(h.address.text(), "068558172C2D0804");
        let v = h.values();
        assert_eq!(v[0], Value::text("header.manufacturer", "KAM"));
        assert_eq!(v[3].id, "header.access_number");
    }

    /// pyMeterBus test_unknown_pl (CI 0x76): `15 53 11 11 00 00 52 04 0A 10 00 00` is ID
    /// 15531111 sent MSB first, manufacturer 0x0000 ("@@@").
    #[test]
    fn test_msb_first_header() {
        let h = HeaderRepr {
            address: SecondaryAddress {
                id: 15_531_111,
                manufacturer: manufacturer_id("@@@").expect("letters"),
                version: 0x52,
                medium: 0x04,
            },
            access_number: 0x0A,
            status: 0x10,
            signature: 0,
            order: ByteOrder::MsbFirst,
        };
        let mut out = Vec::new();
        h.emit(&mut out);
        assert_eq!(
            out,
            [0x15, 0x53, 0x11, 0x11, 0x00, 0x00, 0x52, 0x04, 0x0A, 0x10, 0x00, 0x00]
        );
        assert_eq!(h.values()[0], Value::text("header.manufacturer", "@@@"));
    }

    #[test]
    fn test_manufacturer_ids() {
        assert_eq!(manufacturer_id("AAA"), Some(0x0421));
        assert_eq!(manufacturer_id("ZZZ"), Some(0x6B5A));
        assert_eq!(manufacturer_id("KAM"), Some(0x2C2D));
        assert_eq!(manufacturer_id("kam"), None);
        assert_eq!(manufacturer_id("KA"), None);
        assert_eq!(manufacturer_letters(0x2C2D), "KAM");
        // Itron UltraMaXX: wire bytes 97 A6, bit 15 set; the letters come from M & 0x7FFF.
        assert_eq!(manufacturer_letters(0xA697 & 0x7FFF), "ITW");
    }

    #[test]
    fn test_select_wildcards() {
        let a = SecondaryAddress {
            id: 12_345_678,
            manufacturer: manufacturer_id("KAM").expect("letters"),
            version: 0x1A,
            medium: 0x04,
        };
        assert_eq!(a.bytes(), [0x78, 0x56, 0x34, 0x12, 0x2D, 0x2C, 0x1A, 0x04]);
        assert!(a.matches(&a.bytes()));
        assert!(a.matches(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]));
        // 1234567x: the lowest digit is a wildcard.
        assert!(a.matches(&[0x7F, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF]));
        assert!(!a.matches(&[0x79, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF]));
        assert!(!a.matches(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07]));
        assert!(!a.matches(&[0xFF; 7]));
        assert_eq!(baud_of_ci(0xBB), Some(2400));
        assert_eq!(baud_of_ci(0xBF), Some(38_400));
        assert_eq!(baud_of_ci(0xC0), None);
        assert_eq!(baud_of_ci(0x50), None);
    }
}
