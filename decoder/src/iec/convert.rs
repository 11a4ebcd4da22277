//! From a data block to a [`Reading`] (IEC 62056-21:2002 §6.6 data sets, addresses per
//! IEC 62056-61 §4.5; the mapping itself is meterlab's contract, `docs/reading-format.md`
//! section "IEC 62056-21 data readout", followed to the letter).
//!
//! - `values`: one per data set in block order. The id is the address as an OBIS code
//!   ([`Address`]); an address that is neither EDIS nor OBIS keeps its text as the id, with a
//!   warning. One group `(v)` or `(v*unit)`: `v` without surrounding blanks, a number if it is
//!   `[+-]digits[.digits]`, else text; the unit if one was sent (an empty unit `(v*)` is none).
//!   Several groups: the text of all groups as sent, `"(a)(b)"`, no unit.
//! - `meter_id`: the first non-empty value of the registers in [`METER_ID_SOURCES`], as text
//!   (as sent, blanks removed); else the identification after `/XXXZ` without `\W`; else none.
//! - `time`: `0.9.1` (time) with `0.9.2` (date), both present, as `20YY-MM-DDThh:mm:ss` without
//!   offset; they stay values as well.

use crate::dsmr::convert::parse_number;
use crate::obis::Obis;
use crate::reading::{Protocol, Reading, Scalar, Value};

use super::dataset::{Address, AddressForm, DataBlock, DataSet};
use super::message::Identification;

/// Where the meter id comes from, in order of preference: `C.1.0`, `0.0.0` (or `0.0`), then
/// the full addresses `1-0:0.0.0*255`, `0-0:96.1.0*255`, `1-0:96.1.0*255`. The contract names
/// the first two by their EDIS form and the others by their OBIS form, so the form counts:
/// an EDIS `C.1.0` comes before a full `1-0:0.0.0*255`, a full `1-0:96.1.0*255` after it.
pub const METER_ID_SOURCES: [(AddressForm, Obis); 5] = [
    (AddressForm::Reduced, Obis::new(1, 0, 96, 1, 0, 255)),
    (AddressForm::Reduced, Obis::new(1, 0, 0, 0, 0, 255)),
    (AddressForm::Full, Obis::new(1, 0, 0, 0, 0, 255)),
    (AddressForm::Full, Obis::new(0, 0, 96, 1, 0, 255)),
    (AddressForm::Full, Obis::new(1, 0, 96, 1, 0, 255)),
];

/// `0.9.1`: the meter's time of day.
pub const TIME: Obis = Obis::new(1, 0, 0, 9, 1, 255);
/// `0.9.2`: the meter's date.
pub const DATE: Obis = Obis::new(1, 0, 0, 9, 2, 255);

/// Converts a data block to a reading. `identification` is the identification message that
/// came with it (the first line of a push, or the one before a mode A/B/C readout), used for the
/// meter id when no register names the meter.
pub fn to_reading(block: &DataBlock, identification: Option<&Identification>) -> Reading {
    let mut reading = Reading::new(Protocol::Iec62056_21);
    let sets: Vec<(&DataSet, Option<Address>)> = block
        .data_sets()
        .map(|set| (set, set.parse_address().ok()))
        .collect();
    for (set, address) in &sets {
        let id = match address {
            Some(address) => address.obis.to_string(),
            None => {
                reading.warnings.push(format!(
                    "address {:?} is not an EDIS or OBIS address; kept as the id",
                    set.address
                ));
                set.address.clone()
            }
        };
        reading.values.push(value(id, set));
    }
    reading.meter_id = METER_ID_SOURCES
        .iter()
        .find_map(|&(form, obis)| {
            sets.iter()
                .filter(|(_, a)| *a == Some(Address { obis, form }))
                .map(|(set, _)| value_text(set))
                .find(|text| !text.is_empty())
        })
        .or_else(|| identification.map(|id| id.ident.clone()));
    let first = |obis: Obis| {
        sets.iter()
            .find(|(_, a)| a.is_some_and(|a| a.obis == obis))
            .map(|(set, _)| value_text(set))
    };
    if let (Some(time), Some(date)) = (first(TIME), first(DATE)) {
        match (parse_time(&time), parse_date(&date)) {
            (Some((h, m, s)), Some((y, mo, d))) => {
                reading.time = Some(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}"));
            }
            _ => reading.warnings.push(format!(
                "0.9.1 {time:?} with 0.9.2 {date:?} is not a time and a date; the reading has no time"
            )),
        }
    }
    reading
}

/// The value of one data set with the id `id`.
pub fn value(id: String, set: &DataSet) -> Value {
    match (set.value(), set.groups.len()) {
        (Some(v), 1) => {
            let unit = set.unit().map(str::to_string);
            let value = match parse_number(v) {
                Some(number) => Scalar::Number(number),
                None => Scalar::Text(v.to_string()),
            };
            Value::new(id, value, unit)
        }
        _ => Value::text(id, set.groups_text()),
    }
}

/// A data set's value as text: the value of one group as sent (blanks removed), or all groups.
fn value_text(set: &DataSet) -> String {
    match set.value() {
        Some(v) => v.to_string(),
        None => set.groups_text(),
    }
}

/// `hh:mm:ss` or `hhmmss`.
pub fn parse_time(text: &str) -> Option<(u32, u32, u32)> {
    let [h, m, s] = fields(text, b':')?;
    (h < 24 && m < 60 && s < 60).then_some((h, m, s))
}

/// `YY-MM-DD` or `YYMMDD`, as a year 20YY, month and day.
pub fn parse_date(text: &str) -> Option<(u32, u32, u32)> {
    let [y, m, d] = fields(text, b'-')?;
    let year = 2000 + y;
    let days = match m {
        2 if year % 4 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((year, m, d))
}

/// Three two-digit fields, either run together or separated by `separator`.
fn fields(text: &str, separator: u8) -> Option<[u32; 3]> {
    let bytes = text.as_bytes();
    let digits: Vec<u8> = match bytes.len() {
        6 => bytes.to_vec(),
        8 if bytes[2] == separator && bytes[5] == separator => {
            [&bytes[..2], &bytes[3..5], &bytes[6..]].concat()
        }
        _ => return None,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pair = |i: usize| u32::from(digits[i] - b'0') * 10 + u32::from(digits[i + 1] - b'0');
    Some([pair(0), pair(2), pair(4)])
}

#[cfg(test)]
mod test {
    use super::*;

    fn reading(text: &str, identification: Option<&Identification>) -> Reading {
        let block = DataBlock::parse(text.as_bytes()).expect("block parses");
        to_reading(&block, identification)
    }

    fn number(reading: &Reading, id: &str) -> Option<String> {
        match &reading.value(id)?.value {
            Scalar::Number(d) => Some(d.to_string()),
            Scalar::Text(t) => Some(format!("text {t:?}")),
        }
    }

    #[test]
    fn test_values() {
        // Lines from the corpus: Landis+Gyr E350, Hager eHZ, EasyMeter Q3DA, ACE3000.
        let r = reading(
            "0.0(          120858)\r\nC.1.1(        )\r\n32.7(241*V)\r\n\
1-0:41.7.0*255(+00026*W)\r\n1-0:21.7.255*255(-000073.69*W)\r\n1-0:96.50.0*1(07D0)\r\n\
1.8.0(013925.5*)\r\n1.6.0(3.45*kW)(2301011200)\r\n12(12*kWh)13(13*kWh)\r\n!\r\n",
            None,
        );
        assert_eq!(number(&r, "1-0:0.0.0*255").as_deref(), Some("120858"));
        assert_eq!(number(&r, "1-0:96.1.1*255").as_deref(), Some("text \"\""));
        assert_eq!(number(&r, "1-0:32.7.0*255").as_deref(), Some("241"));
        assert_eq!(
            r.value("1-0:32.7.0*255").and_then(|v| v.unit.as_deref()),
            Some("V")
        );
        assert_eq!(number(&r, "1-0:41.7.0*255").as_deref(), Some("26"));
        assert_eq!(number(&r, "1-0:21.7.255*255").as_deref(), Some("-73.69"));
        assert_eq!(
            number(&r, "1-0:96.50.0*1").as_deref(),
            Some("text \"07D0\"")
        );
        let empty_unit = r.value("1-0:1.8.0*255").expect("1.8.0");
        assert_eq!(empty_unit.unit, None);
        assert_eq!(
            number(&r, "1-0:1.6.0*255").as_deref(),
            Some("text \"(3.45*kW)(2301011200)\"")
        );
        assert_eq!(r.value("1-0:1.6.0*255").and_then(|v| v.unit.as_ref()), None);
        assert_eq!(
            r.warnings,
            vec![
                "address \"12\" is not an EDIS or OBIS address; kept as the id",
                "address \"13\" is not an EDIS or OBIS address; kept as the id"
            ]
        );
        assert_eq!(number(&r, "13").as_deref(), Some("13"));
        assert_eq!(r.values.len(), 10);
        assert_eq!(r.meter_id.as_deref(), Some("120858"));
        assert_eq!(r.protocol, Protocol::Iec62056_21);
    }

    #[test]
    fn test_meter_id() {
        let id = Identification::parse_line(b"/ISK5ME162-0033").expect("identification");
        // C.1.0 first, as sent (leading zeros kept).
        let r = reading("0.0.0(1)\r\nC.1.0(0028342193)\r\n!", Some(&id));
        assert_eq!(r.meter_id.as_deref(), Some("0028342193"));
        // Empty C.1.0: the next source.
        let r = reading("C.1.0()\r\n0.0( 20000)\r\n!", Some(&id));
        assert_eq!(r.meter_id.as_deref(), Some("20000"));
        // A reduced 0.0.0 before a full 1-0:96.1.0, a full 1-0:0.0.0 before it too.
        let r = reading("1-0:96.1.0*255(B)\r\n1-0:0.0.0*255(A)\r\n!", None);
        assert_eq!(r.meter_id.as_deref(), Some("A"));
        let r = reading("1-0:96.1.0*255(B)\r\n0-0:96.1.0*255(C)\r\n!", None);
        assert_eq!(r.meter_id.as_deref(), Some("C"));
        // A billing-period copy is not the meter id; then the identification.
        let r = reading("C.1.0*01(7)\r\n1.8.0(1)\r\n!", Some(&id));
        assert_eq!(r.meter_id.as_deref(), Some("ME162-0033"));
        let ace = Identification::parse_line(b"/ACE0\\3k260V01.19").expect("identification");
        let r = reading("1.8.0(1)\r\n!", Some(&ace));
        assert_eq!(r.meter_id.as_deref(), Some("k260V01.19"));
        assert_eq!(reading("1.8.0(1)\r\n!", None).meter_id, None);
    }

    #[test]
    fn test_time() {
        let r = reading("0.9.1(12:34:56)\r\n0.9.2(23-10-05)\r\n!", None);
        assert_eq!(r.time.as_deref(), Some("2023-10-05T12:34:56"));
        assert_eq!(r.values.len(), 2);
        let r = reading("0.9.2(240229)\r\n0.9.1(235959)\r\n!", None);
        assert_eq!(r.time.as_deref(), Some("2024-02-29T23:59:59"));
        assert_eq!(number(&r, "1-0:0.9.1*255").as_deref(), Some("235959"));
        // Only one of them: no time, no warning.
        let r = reading("0.9.1(12:34:56)\r\n!", None);
        assert_eq!((r.time, r.warnings.len()), (None, 0));
        // Not a date: no time, a warning.
        let r = reading("0.9.1(12:34:56)\r\n0.9.2(230230)\r\n!", None);
        assert_eq!(r.time, None);
        assert_eq!(r.warnings.len(), 1);
        for bad in [
            "24:00:00", "12:60:00", "1234567", "12-34-56", "ab:cd:ef", "",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        for bad in ["230001", "231301", "230931", "23/10/05", "1231005"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
