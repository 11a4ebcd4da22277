//! The fixed data structure (EN 1434-3:1997, kept as a reference in the M-Bus application layer
//! documents; CI `73` least significant byte first, CI `77` most significant byte first): a
//! legacy RSP_UD of exactly 16 bytes after CI.
//!
//! ```text
//! ID(4, BCD) ACC STATUS UNIT1 UNIT2 COUNTER1(4) COUNTER2(4)
//! ```
//!
//! - STATUS bit 7: the counters are binary (1) or BCD (0); bit 6: they are stored values at a
//!   fixed date (1) or current values (0); bits 0–4 as in the variable data header.
//! - UNIT1/UNIT2 bits 0–5: each counter's physical unit ([`unit`]); bits 7–6 of both bytes make
//!   the 4-bit medium code (UNIT1 the low two bits, UNIT2 the high two).
//! - Unit code `3E` ("same but historic", counter 2 only): counter 1's unit, a historic value.
//!
//! OMS (EN 13757-7) reuses CI `73` for a compact frame with long header; a wired CI `73` frame
//! of any other length than 16 data bytes is reported as a `length` error naming both.

use super::record::{bcd, int_le, Error, ErrorKind, Field};
use crate::decimal::Decimal;
use crate::reading::{Protocol, Reading, Value};

/// Bytes after CI.
pub const FIXED_DATA_LEN: usize = 16;
/// CI of the fixed data structure, least significant byte first.
pub const CI_FIXED: u8 = 0x73;
/// CI of the fixed data structure, most significant byte first.
pub const CI_FIXED_MSB: u8 = 0x77;
/// Unit code of counter 2: the same unit as counter 1, a historic value.
pub const SAME_BUT_HISTORIC: u8 = 0x3E;

/// What a unit code (bits 0–5 of a unit byte) means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unit {
    /// The quantity, named like the variable data's (`Energy`, `Volume`…).
    pub quantity: &'static str,
    /// The normalized unit of the value (`Wh`, `J`, `W`, `J/h`, `m^3`, `m^3/h`, `°C`), if any.
    pub unit: Option<&'static str>,
    /// The power of ten from the counter to that unit.
    pub exponent: i32,
}

/// The unit table of the fixed data structure (codes `00`–`3F`). `3E` is resolved by the
/// caller (counter 1's unit).
pub fn unit(code: u8) -> Unit {
    let u = |quantity, unit, exponent| Unit {
        quantity,
        unit,
        exponent,
    };
    let code = code & 0x3F;
    let step = |first: u8, base: i32| base + i32::from(code - first);
    match code {
        0x00 => u("Time (h,m,s)", None, 0),
        0x01 => u("Date (D,M,Y)", None, 0),
        // Wh, 10 Wh, 100 Wh, kWh … 100 MWh.
        0x02..=0x0A => u("Energy", Some("Wh"), step(0x02, 0)),
        // kJ … 100 GJ.
        0x0B..=0x13 => u("Energy", Some("J"), step(0x0B, 3)),
        // W … 100 MW.
        0x14..=0x1C => u("Power", Some("W"), step(0x14, 0)),
        // kJ/h … 100 GJ/h.
        0x1D..=0x25 => u("Power", Some("J/h"), step(0x1D, 3)),
        // ml … 100 m3.
        0x26..=0x2E => u("Volume", Some("m^3"), step(0x26, -6)),
        // ml/h … 100 m3/h.
        0x2F..=0x37 => u("Volume flow", Some("m^3/h"), step(0x2F, -6)),
        0x38 => u("Temperature", Some("°C"), -3),
        0x39 => u("Units for H.C.A.", None, 0),
        0x3A..=0x3D => u("Reserved", None, 0),
        0x3E => u("Same but historic", None, 0),
        _ => u("Without units", None, 0),
    }
}

/// The 4-bit medium code from the two unit bytes.
pub fn medium(unit1: u8, unit2: u8) -> u8 {
    (unit1 >> 6) | ((unit2 >> 6) << 2)
}

/// The reading of a fixed data structure (`data` is everything after CI).
pub fn decode(ci: u8, data: &[u8]) -> Result<Reading, Error> {
    let Some(d) = data
        .get(..FIXED_DATA_LEN)
        .filter(|_| data.len() == FIXED_DATA_LEN)
    else {
        return Err(Error::new(
            ErrorKind::Length,
            format!(
                "CI 0x{ci:02X}: {} data bytes; the fixed data structure has {FIXED_DATA_LEN} \
                 (an OMS compact frame, which reuses CI 0x73, is not decoded on wired M-Bus)",
                data.len()
            ),
        ));
    };
    let msb_first = ci == CI_FIXED_MSB;
    let ordered = |b: &[u8]| -> Vec<u8> {
        let mut v = b.to_vec();
        if msb_first {
            v.reverse();
        }
        v
    };
    let id_le = ordered(&d[0..4]);
    let id: String = id_le.iter().rev().map(|b| format!("{b:02X}")).collect();
    let (access, status, unit1, unit2) = (d[4], d[5], d[6], d[7]);
    let binary = status & 0x80 != 0;
    let stored = status & 0x40 != 0;
    let mut r = Reading::new(Protocol::Mbus);
    r.meter_id = Some(id);
    let num = |v: u8| Decimal::from_int(i128::from(v));
    r.values.push(Value::number(
        "header.medium",
        num(medium(unit1, unit2)),
        None,
    ));
    r.values
        .push(Value::number("header.access_number", num(access), None));
    r.values
        .push(Value::number("header.status", num(status), None));
    let first = unit(unit1);
    for (n, (code, bytes)) in [(unit1, &d[8..12]), (unit2, &d[12..16])]
        .into_iter()
        .enumerate()
    {
        let historic = n == 1 && code & 0x3F == SAME_BUT_HISTORIC;
        let u = if historic { first } else { unit(code) };
        if matches!(code & 0x3F, 0x3A..=0x3D) || (n == 0 && code & 0x3F == SAME_BUT_HISTORIC) {
            r.warnings.push(format!(
                "counter {}: unit code 0x{:02X} is reserved here; the value is given without unit",
                n + 1,
                code & 0x3F
            ));
        }
        let raw = ordered(bytes);
        let field = if binary {
            Field::Number(Decimal::from_int(i128::from(int_le(&raw))))
        } else {
            bcd(&raw, false)
        };
        let id = format!("#{n}");
        let value = match field {
            Field::Number(v) => Value::number(id, v.scaled(u.exponent), u.unit),
            Field::InvalidBcd(t) => {
                r.warnings.push(format!(
                    "counter {}: invalid BCD digits {t} (a nibble A-F other than the sign)",
                    n + 1
                ));
                Value::text(id, t)
            }
            Field::Empty | Field::Text(_) | Field::Hex(_) | Field::InvalidTime(_) => {
                Value::text(id, "")
            }
        };
        let storage = u64::from(stored || historic);
        r.values
            .push(value.record(u.quantity, "instantaneous", storage, 0, 0));
    }
    Ok(r)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::reading::Scalar;

    fn number(r: &Reading, id: &str) -> Option<Decimal> {
        match r.value(id).map(|v| &v.value) {
            Some(Scalar::Number(d)) => Some(*d),
            _ => None,
        }
    }

    #[test]
    fn unit_table() {
        assert_eq!(
            unit(0x05),
            Unit {
                quantity: "Energy",
                unit: Some("Wh"),
                exponent: 3
            }
        );
        assert_eq!(unit(0x0E).exponent, 6);
        assert_eq!(
            unit(0x11),
            Unit {
                quantity: "Energy",
                unit: Some("J"),
                exponent: 9
            }
        );
        assert_eq!(unit(0x17).exponent, 3);
        assert_eq!(
            unit(0x29),
            Unit {
                quantity: "Volume",
                unit: Some("m^3"),
                exponent: -3
            }
        );
        assert_eq!(unit(0x2C).exponent, 0);
        assert_eq!(
            unit(0x35),
            Unit {
                quantity: "Volume flow",
                unit: Some("m^3/h"),
                exponent: 0
            }
        );
        assert_eq!(unit(0x38).unit, Some("°C"));
        // Bits 7-6 are the medium, not the unit.
        assert_eq!(unit(0xE9), unit(0x29));
        assert_eq!(medium(0xE9, 0x7E), 7);
        assert_eq!(medium(0x05, 0x69), 4);
    }

    /// libmbus test frame `manual_frame2` (water meter, counter 2 "same but historic").
    #[test]
    fn bcd_counters_and_historic_unit() {
        let data = [
            0x78, 0x56, 0x34, 0x12, 0x0A, 0x00, 0xE9, 0x7E, 0x01, 0, 0, 0, 0x35, 0x01, 0, 0,
        ];
        let r = decode(CI_FIXED, &data).expect("fixed data");
        assert_eq!(r.meter_id.as_deref(), Some("12345678"));
        assert_eq!(number(&r, "header.medium"), Some(Decimal::from_int(7)));
        assert_eq!(number(&r, "#0"), Some(Decimal::new(1, -3)));
        assert_eq!(number(&r, "#1"), Some(Decimal::new(135, -3)));
        let c2 = r.value("#1").expect("counter 2");
        assert_eq!((c2.unit.as_deref(), c2.storage()), (Some("m^3"), Some(1)));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn binary_counters_msb_first_and_bad_lengths() {
        // Status bit 7: binary; CI 77: every multi-byte field most significant byte first.
        let data = [
            0x12, 0x34, 0x56, 0x78, 1, 0x80, 0x05, 0x05, 0, 0, 0x01, 0x00, 0, 0, 0, 0x10,
        ];
        let r = decode(CI_FIXED_MSB, &data).expect("fixed data");
        assert_eq!(r.meter_id.as_deref(), Some("12345678"));
        assert_eq!(number(&r, "#0"), Some(Decimal::new(256, 3)));
        assert_eq!(number(&r, "#1"), Some(Decimal::new(16, 3)));
        let e = decode(CI_FIXED, &data[..15]).expect_err("short");
        assert_eq!(e.kind, ErrorKind::Length);
        assert!(e.message.contains("15 data bytes"), "{}", e.message);
        assert!(decode(CI_FIXED, &[0; 17]).is_err());
    }
}
