//! Data information: the DIF and its DIFEs (EN 13757-3, clause 6.3).
//!
//! DIF bits 0–3 the data field coding, 4–5 the function, 6 the storage number's least
//! significant bit, 7 the extension bit; each DIFE adds 4 storage bits, 2 tariff
//! bits and 1 subunit (device) bit, most significant last. At most 10 DIFEs.

/// DIF `0F`: manufacturer specific data follow, last telegram.
pub const MANUFACTURER_DATA: u8 = 0x0F;
/// DIF `1F`: manufacturer specific data follow, more records in the next telegram.
pub const MORE_RECORDS_FOLLOW: u8 = 0x1F;
/// DIF `2F`: idle filler, skipped.
pub const IDLE_FILLER: u8 = 0x2F;
/// Most DIFEs one record may carry.
pub const MAX_DIFE: usize = 10;

/// A data field coding (DIF bits 0–3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `0`: no data.
    None,
    /// `1`–`4`, `6`, `7`: signed little-endian integer (type B) of that many bytes.
    Integer(usize),
    /// `5`: 32-bit IEEE 754 real (type H).
    Real,
    /// `8`: selection for readout (no data).
    Selection,
    /// `9`–`C`, `E`: BCD (type A) of that many bytes (2 digits each).
    Bcd(usize),
    /// `D`: variable length, announced by the LVAR byte.
    Variable,
    /// `F`: special function.
    Special,
}

impl Coding {
    /// The coding of a DIF.
    pub fn of(dif: u8) -> Coding {
        match dif & 0x0F {
            0x0 => Coding::None,
            0x1 => Coding::Integer(1),
            0x2 => Coding::Integer(2),
            0x3 => Coding::Integer(3),
            0x4 => Coding::Integer(4),
            0x5 => Coding::Real,
            0x6 => Coding::Integer(6),
            0x7 => Coding::Integer(8),
            0x8 => Coding::Selection,
            0x9 => Coding::Bcd(1),
            0xA => Coding::Bcd(2),
            0xB => Coding::Bcd(3),
            0xC => Coding::Bcd(4),
            0xD => Coding::Variable,
            0xE => Coding::Bcd(6),
            _ => Coding::Special,
        }
    }
}

/// The function field's name (DIF bits 4–5) as the reading format spells it.
pub fn function_name(dif: u8) -> &'static str {
    match (dif >> 4) & 3 {
        0 => "instantaneous",
        1 => "maximum",
        2 => "minimum",
        _ => "error",
    }
}

/// Storage number, tariff and subunit accumulated over the DIF and its DIFEs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// Storage number.
    pub storage: u64,
    /// Tariff.
    pub tariff: u32,
    /// Subunit (device).
    pub subunit: u32,
}

impl Address {
    /// Accumulates the DIF and DIFEs (at most [`MAX_DIFE`], which the caller checks).
    pub fn of(dif: u8, difes: &[u8]) -> Address {
        let mut a = Address {
            storage: u64::from((dif >> 6) & 1),
            ..Address::default()
        };
        for (i, &e) in difes.iter().enumerate().take(MAX_DIFE) {
            a.storage |= u64::from(e & 0x0F) << (1 + 4 * i);
            a.tariff |= u32::from((e >> 4) & 3) << (2 * i);
            a.subunit |= u32::from((e >> 6) & 1) << i;
        }
        a
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn address_accumulates() {
        assert_eq!(
            Address::of(0xC4, &[0x80 | 0x40 | 0x10 | 0x01, 0x02]),
            Address {
                storage: 1 | (1 << 1) | (2 << 5),
                tariff: 1,
                subunit: 1
            }
        );
    }
}
