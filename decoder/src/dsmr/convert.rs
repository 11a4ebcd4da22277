//! From a parsed DSMR telegram to a [`Reading`] (DSMR P1 Companion Standard 5.0.2 §6, the data
//! objects of the P1 telegram and their value formats; the mapping itself is meterlab's
//! contract, `docs/reading-format.md` section "DSMR P1", followed to the letter).
//!
//! - `meter_id`: `0-0:96.1.1`, else `0-0:42.0.0` (Smarty), hex-decoded when that gives printable
//!   ASCII; else the identification line.
//! - `time`: `0-0:1.0.0` (TST `YYMMDDhhmmssX`, X = S → `+02:00`, W → `+01:00`, none → no
//!   offset).
//! - `values`: one per object line in telegram order, with the shapes: single value, text object,
//!   `(timestamp)(value)`, buffers `(n)(id…)(entries…)`, the DSMR 2.2 gas line
//!   `0-n:24.3.0(…)(unit)` + `(value)`, and anything else as text.
//!
//! Oddities that do not stop the conversion (a timestamp that is not a date) become warnings.

use crate::decimal::Decimal;
use crate::obis::Obis;
use crate::reading::{Protocol, Reading, Scalar, ShortStr, Value};

pub use super::object::parse_number;
use super::object::{GroupView, TimestampFields};
use super::telegram::ObjectList;
use crate::text::latin1;

/// `0-0:1.0.0`: the meter's clock.
pub const CLOCK: Obis = Obis::reduced(0, 0, 1, 0, 0);
/// `0-0:96.1.1`: equipment identifier.
pub const EQUIPMENT_ID: Obis = Obis::reduced(0, 0, 96, 1, 1);
/// `0-0:42.0.0`: COSEM logical device name (Luxembourg Smarty's meter id).
pub const LOGICAL_DEVICE_NAME: Obis = Obis::reduced(0, 0, 42, 0, 0);

/// A text that has the shape of a DSMR timestamp `YYMMDDhhmmss[X]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timestamp {
    /// A real date, as RFC 3339 (`2019-03-24T15:05:19+01:00`; without offset when the
    /// timestamp has no DST flag, as in DSMR 2.2).
    Date {
        /// The date in RFC 3339.
        rfc3339: String,
        /// The DST flag was sent in lower case (`s`, `w`), which the standard does not allow.
        lowercase_flag: bool,
    },
    /// Twelve digits and a flag that do not make a date: the placeholders `632525252525W`
    /// ("not available"), `000000000000W`.
    NotADate,
}

/// Reads a DSMR timestamp: 12 digits `YYMMDDhhmmss`, optionally followed by the DST flag `S`
/// (summer, UTC+2) or `W` (winter, UTC+1). `None` if `text` does not have that shape.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let ts = TimestampFields::parse(text)?;
    if !ts.is_date() {
        return Some(Timestamp::NotADate);
    }
    let offset = match ts.flag {
        None => "",
        Some(b'S' | b's') => "+02:00",
        _ => "+01:00",
    };
    // `YYYY-MM-DDThh:mm:ss` from the digits as sent (the year is 20YY), then the offset:
    // written into a buffer, then one copy.
    let d: &[u8; 12] = ts.digits.as_bytes().try_into().ok()?;
    let mut buf = *b"20YY-MM-DDThh:mm:ss+hh:mm";
    for (pair, at) in [2, 5, 8, 11, 14, 17].into_iter().enumerate() {
        buf[at] = d[pair * 2];
        buf[at + 1] = d[pair * 2 + 1];
    }
    let len = 19 + offset.len();
    buf[19..len].copy_from_slice(offset.as_bytes());
    // Digits, separators and the offset: ASCII.
    let rfc3339 = std::str::from_utf8(&buf[..len])
        .map(str::to_string)
        .unwrap_or_default();
    Some(Timestamp::Date {
        rfc3339,
        lowercase_flag: matches!(ts.flag, Some(b's' | b'w')),
    })
}

/// Objects whose value is always text, on any channel A-B: version `0.2.8`, equipment ids
/// `96.1.0`–`96.1.2`, e-MUCS version `96.1.4`, logical device name `42.0.0`, messages
/// `96.13.0`–`96.13.5`.
pub fn is_text_object(obis: &Obis) -> bool {
    matches!(
        (obis.c(), obis.d(), obis.e()),
        (0, 2, 8) | (96, 1, 0..=2) | (96, 1, 4) | (42, 0, 0) | (96, 13, 0..=5)
    )
}

/// The meter's identity: `0-0:96.1.1` if present and not empty, else `0-0:42.0.0`, hex-decoded
/// when that gives printable ASCII; without either, the identification line.
pub fn meter_id(identification: &[u8], objects: &ObjectList<'_>) -> String {
    for obis in [EQUIPMENT_ID, LOGICAL_DEVICE_NAME] {
        let value = objects
            .iter()
            .find(|&(o, _)| o == obis)
            .and_then(|(_, groups)| match groups {
                [g] if !g.as_str().is_empty() => Some(g.as_str()),
                _ => None,
            });
        if let Some(value) = value {
            return hex_text(value).unwrap_or_else(|| value.to_string());
        }
    }
    latin1(identification)
}

/// `text` hex-decoded, if it is an even number of hex digits that decode to printable ASCII.
fn hex_text(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = String::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let c = nibble(pair[0])? << 4 | nibble(pair[1])?;
        if !(0x20..=0x7E).contains(&c) {
            return None;
        }
        out.push(char::from(c));
    }
    Some(out)
}

/// The groups as sent: `(g1)(g2)…`.
fn groups_text(groups: &[GroupView<'_>]) -> String {
    let mut s = String::with_capacity(groups.iter().map(|g| g.as_str().len() + 2).sum());
    for g in groups {
        s.push('(');
        s.push_str(g.as_str());
        s.push(')');
    }
    s
}

/// Converts a telegram's objects to a reading (see the module documentation); the
/// identification line is the meter id when no object names one.
pub fn to_reading(identification: &[u8], objects: &ObjectList<'_>) -> Reading {
    let mut conv = Converter {
        warnings: Vec::new(),
    };
    let mut reading = Reading::new(Protocol::Dsmr);
    // Every value takes at least one group: room for all, never grown.
    reading.values.reserve(objects.group_count());
    reading.meter_id = Some(meter_id(identification, objects));
    let mut clocks = objects.iter().filter(|&(obis, _)| obis == CLOCK);
    if let Some((_, groups)) = clocks.next() {
        reading.time = match groups {
            [g] => conv.time(CLOCK, g.as_str()),
            _ => {
                conv.warn(format!(
                    "{}: {:?} is not a timestamp; the reading has no time",
                    CLOCK.to_reduced_string(),
                    groups_text(groups)
                ));
                None
            }
        };
    }
    let more = clocks.count();
    if more > 0 {
        conv.warn(format!(
            "{} appears {} times; the first one gives the time",
            CLOCK.to_reduced_string(),
            more + 1
        ));
    }
    for (obis, groups) in objects.iter().filter(|&(obis, _)| obis != CLOCK) {
        conv.values(obis, groups, &mut reading.values);
    }
    reading.warnings = conv.warnings;
    reading
}

struct Converter {
    warnings: Vec<String>,
}

impl Converter {
    fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// The RFC 3339 time of a timestamp group, or `None` with a warning.
    fn time(&mut self, obis: Obis, text: &str) -> Option<String> {
        let id = || obis.to_reduced_string();
        match parse_timestamp(text) {
            Some(Timestamp::Date {
                rfc3339,
                lowercase_flag,
            }) => {
                if lowercase_flag {
                    self.warn(format!(
                        "{}: timestamp {text} has a lower-case DST flag; read as upper case",
                        id()
                    ));
                }
                Some(rfc3339)
            }
            Some(Timestamp::NotADate) => {
                self.warn(format!(
                    "{}: timestamp {text} is not a date; no time given",
                    id()
                ));
                None
            }
            None => {
                self.warn(format!(
                    "{}: {text:?} is not a timestamp; no time given",
                    id()
                ));
                None
            }
        }
    }

    /// The values of one object line.
    fn values(&mut self, obis: Obis, groups: &[GroupView<'_>], out: &mut Vec<Value>) {
        let id = obis.id();
        let text_object = is_text_object(&obis);
        match groups {
            [v] => out.push(scalar(id, v, text_object)),
            [ts, _, _, _, _, unit, v]
                if obis.a() == 0
                    && (obis.c(), obis.d(), obis.e()) == (24, 3, 0)
                    && ts.timestamp().is_some() =>
            {
                let mut value = match parse_number(v.as_str()) {
                    Some(d) if !unit.as_str().is_empty() && !text_object => {
                        Value::number(id, d, Some(unit.as_str()))
                    }
                    _ => scalar(id, v, text_object),
                };
                value.time = self.time(obis, ts.as_str());
                out.push(value);
            }
            [ts, v] if ts.timestamp().is_some() => {
                let mut value = scalar(id, v, text_object);
                value.time = self.time(obis, ts.as_str());
                out.push(value);
            }
            _ => match buffer_layout(groups) {
                Some(layout) => self.buffer(obis, groups, layout, out),
                None => out.push(Value::text(id, groups_text(groups))),
            },
        }
    }

    /// A buffer line: the count, then one value per entry with the last listed id.
    fn buffer(
        &mut self,
        obis: Obis,
        groups: &[GroupView<'_>],
        layout: BufferLayout,
        out: &mut Vec<Value>,
    ) {
        out.push(Value::number(obis.id(), layout.count, None));
        let entries = &groups[1 + layout.ids..];
        // Every entry has the same id: printed once.
        let (entry_id, text) = (layout.entry_id.id(), is_text_object(&layout.entry_id));
        for entry in entries.chunks_exact(layout.entry_len) {
            let (value, time) = match entry {
                [.., time, value] => (value, time),
                _ => continue,
            };
            let mut v = scalar(entry_id.clone(), value, text);
            v.time = self.time(layout.entry_id, time.as_str());
            out.push(v);
        }
    }
}

/// How a buffer line `(n)(id1)…(idk)(entry 1)…(entry n)` is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BufferLayout {
    /// `n` as sent.
    count: Decimal,
    /// Number of ids listed (k ≥ 1).
    ids: usize,
    /// The last listed id: the id of every entry's value.
    entry_id: Obis,
    /// Groups per entry (≥ 2: at least a time and a value).
    entry_len: usize,
}

fn buffer_layout(groups: &[GroupView<'_>]) -> Option<BufferLayout> {
    let (first, rest) = groups.split_first()?;
    let first = first.as_str();
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: usize = first.parse().ok()?;
    let count = parse_number(first)?;
    let ids = rest
        .iter()
        .take_while(|g| Obis::parse_ascii(g.as_str().as_bytes()).is_some())
        .count();
    let entry_id = Obis::parse_ascii(rest.get(ids.checked_sub(1)?)?.as_str().as_bytes())?;
    let remaining = rest.len() - ids;
    let entry_len = match n {
        0 if remaining == 0 => 2,
        0 => return None,
        n if remaining % n == 0 && remaining / n >= 2 => remaining / n,
        _ => return None,
    };
    Some(BufferLayout {
        count,
        ids,
        entry_id,
        entry_len,
    })
}

/// One group `(v)` or `(v*unit)`: a number (with its unit, if sent) when `v` is a number and the
/// object is not a text object; otherwise the group's text as sent.
fn scalar(id: ShortStr, group: &GroupView<'_>, text_object: bool) -> Value {
    if !text_object {
        if let (Some(d), unit) = group.number_and_unit() {
            return Value::number(id, d, unit);
        }
    }
    Value::new(id, Scalar::Text(group.as_str().to_string()), None)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::dsmr::telegram::Telegram;

    /// Fluvius e-MUCS 1.7.1 telegram (ndokter/dsmr_parser, test/example_telegrams.py
    /// TELEGRAM_FLUVIUS_V171_ALT), CRC C4B0.
    static TELEGRAM: &[u8] = b"/FLU5\\253769484_A\r\n\r\n\
0-0:96.1.4(50217)\r\n\
0-0:96.1.1(3153414733313030373231333236)\r\n\
0-0:1.0.0(231102121548W)\r\n\
1-0:1.8.1(000301.548*kWh)\r\n\
1-0:1.8.2(000270.014*kWh)\r\n\
1-0:2.8.1(000000.005*kWh)\r\n\
1-0:2.8.2(000000.000*kWh)\r\n\
0-0:96.14.0(0001)\r\n\
1-0:1.4.0(00.052*kW)\r\n\
1-0:1.6.0(231102114500W)(03.064*kW)\r\n\
0-0:98.1.0(4)(1-0:1.6.0)(1-0:1.6.0)(230801000000S)(632525252525W)(00.000*kW)(230901000000S)(230831181500S)(01.862*kW)(231001000000S)(230910183000S)(04.229*kW)(231101000000W)(231016130000S)(04.927*kW)\r\n\
1-0:1.7.0(00.338*kW)\r\n\
1-0:2.7.0(00.000*kW)\r\n\
1-0:21.7.0(00.047*kW)\r\n\
1-0:41.7.0(00.179*kW)\r\n\
1-0:61.7.0(00.111*kW)\r\n\
1-0:22.7.0(00.000*kW)\r\n\
1-0:42.7.0(00.000*kW)\r\n\
1-0:62.7.0(00.000*kW)\r\n\
1-0:32.7.0(232.9*V)\r\n\
1-0:52.7.0(228.1*V)\r\n\
1-0:72.7.0(228.1*V)\r\n\
1-0:31.7.0(000.27*A)\r\n\
1-0:51.7.0(000.88*A)\r\n\
1-0:71.7.0(000.52*A)\r\n\
0-0:96.3.10(1)\r\n\
0-0:17.0.0(999.9*kW)\r\n\
1-0:31.4.0(999*A)\r\n\
0-0:96.13.0()\r\n\
0-1:24.1.0(003)\r\n\
0-1:96.1.1(37464C4F32313233303838303237)\r\n\
0-1:24.4.0(1)\r\n\
0-1:24.2.3(231102121002W)(00092.287*m3)\r\n\
0-2:24.1.0(007)\r\n\
0-2:96.1.1(3853455430303030393631313733)\r\n\
0-2:24.2.1(231102121532W)(00008.579*m3)\r\n\
!C4B0\r\n";

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn reading(bytes: &[u8]) -> Reading {
        let telegram = Telegram::new_checked(bytes).expect("telegram");
        to_reading(
            telegram.identification(),
            &ObjectList::parse(&telegram).expect("parses"),
        )
    }

    #[test]
    fn test_timestamps() {
        let date = |s: &str| match parse_timestamp(s) {
            Some(Timestamp::Date { rfc3339, .. }) => Some(rfc3339),
            _ => None,
        };
        assert_eq!(
            date("190324150519W").as_deref(),
            Some("2019-03-24T15:05:19+01:00")
        );
        assert_eq!(
            date("220528151729S").as_deref(),
            Some("2022-05-28T15:17:29+02:00")
        );
        assert_eq!(date("090212160000").as_deref(), Some("2009-02-12T16:00:00"));
        assert_eq!(
            date("240229000000W").as_deref(),
            Some("2024-02-29T00:00:00+01:00")
        );
        assert_eq!(
            parse_timestamp("150701190000s"),
            Some(Timestamp::Date {
                rfc3339: "2015-07-01T19:00:00+02:00".into(),
                lowercase_flag: true
            })
        );
        for not_a_date in [
            "632525252525W",
            "000000000000W",
            "123412341234W",
            "230229000000W",
            "250000000000W",
        ] {
            assert_eq!(
                parse_timestamp(not_a_date),
                Some(Timestamp::NotADate),
                "{not_a_date}"
            );
        }
        for not_a_timestamp in ["", "2", "19032415051W", "190324150519X", "1903241505190"] {
            assert_eq!(parse_timestamp(not_a_timestamp), None, "{not_a_timestamp}");
        }
    }

    #[test]
    fn test_numbers() {
        assert_eq!(parse_number("000004.426"), Some(d("4.426")));
        assert_eq!(parse_number("-063"), Some(d("-63")));
        assert_eq!(parse_number("+1.5"), Some(d("1.5")));
        for text in ["", ".5", "5.", "1e3", "2C", "1.2.3", "-", "+.5"] {
            assert_eq!(parse_number(text), None, "{text}");
        }
    }

    #[test]
    fn test_fluvius() {
        let telegram = Telegram::new_checked(TELEGRAM).expect("telegram");
        assert_eq!(telegram.check_crc(), Some(crate::dsmr::crc::CrcCheck::Arc));
        let r = reading(TELEGRAM);
        assert_eq!(r.protocol, Protocol::Dsmr);
        assert_eq!(r.meter_id.as_deref(), Some("1SAG3100721326"));
        assert_eq!(r.time.as_deref(), Some("2023-11-02T12:15:48+01:00"));
        assert!(r.value(&CLOCK.to_string()).is_none());
        assert_eq!(
            r.value("0-0:96.1.4*255").map(|v| &v.value),
            Some(&Scalar::Text("50217".into()))
        );
        assert_eq!(
            r.value("0-0:96.14.0*255"),
            Some(&Value::number("0-0:96.14.0*255", d("1"), None))
        );
        assert_eq!(
            r.value("1-0:1.6.0*255"),
            Some(
                &Value::number("1-0:1.6.0*255", d("3.064"), Some("kW"))
                    .at("2023-11-02T11:45:00+01:00")
            )
        );
        assert_eq!(
            r.value("0-0:96.13.0*255"),
            Some(&Value::text("0-0:96.13.0*255", ""))
        );
        // The buffer: the count, then one value per entry under the last listed id.
        let at = r
            .values
            .iter()
            .position(|v| v.id == "0-0:98.1.0*255")
            .expect("98.1.0 present");
        assert_eq!(r.values[at], Value::number("0-0:98.1.0*255", d("4"), None));
        assert_eq!(
            r.values[at + 1],
            Value::number("1-0:1.6.0*255", d("0"), Some("kW"))
        );
        assert_eq!(
            r.values[at + 2],
            Value::number("1-0:1.6.0*255", d("1.862"), Some("kW")).at("2023-08-31T18:15:00+02:00")
        );
        assert_eq!(
            r.values[at + 4],
            Value::number("1-0:1.6.0*255", d("4.927"), Some("kW")).at("2023-10-16T13:00:00+02:00")
        );
        assert_eq!(r.values[at + 5].id, "1-0:1.7.0*255");
        assert_eq!(
            r.warnings,
            vec!["1-0:1.6.0: timestamp 632525252525W is not a date; no time given".to_string()]
        );
        // Every line but the clock gives one value, plus one per buffer entry.
        assert_eq!(r.values.len(), 36 - 1 + 4);
    }

    #[test]
    fn test_dsmr22_gas_and_identification() {
        let r = reading(
            b"/ISk5\\2MT382-1000\r\n\r\n\
0-0:96.1.1()\r\n\
0-1:24.3.0(090212160000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n\
(00001.001)\r\n\
1-0:99.97.0(0)(0-0:96.7.19)\r\n\
1-1:31.4.0(100*A)(-063*A)\r\n\
0-0:98.1.0(230701000000S)(000040.777*kWh)(000008.950*kWh)\r\n\
!\r\n",
        );
        assert_eq!(r.meter_id.as_deref(), Some("ISk5\\2MT382-1000"));
        assert_eq!(r.time, None);
        assert_eq!(
            r.values,
            vec![
                Value::text("0-0:96.1.1*255", ""),
                Value::number("0-1:24.3.0*255", d("1.001"), Some("m3")).at("2009-02-12T16:00:00"),
                Value::number("1-0:99.97.0*255", d("0"), None),
                Value::text("1-1:31.4.0*255", "(100*A)(-063*A)"),
                Value::text(
                    "0-0:98.1.0*255",
                    "(230701000000S)(000040.777*kWh)(000008.950*kWh)"
                ),
            ]
        );
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn test_meter_id_rules() {
        let id = |body: &str| {
            let bytes = format!("/ABC5 ident\r\n\r\n{body}!\r\n");
            reading(bytes.as_bytes()).meter_id.expect("always some")
        };
        assert_eq!(
            id("0-0:96.1.1(4530303434303037313331363530363138)\r\n"),
            "E0044007131650618"
        );
        // Not printable once decoded, odd length, not hex: as sent.
        assert_eq!(id("0-0:96.1.1(0000000000000000)\r\n"), "0000000000000000");
        assert_eq!(id("0-0:96.1.1(ADC3100000158491)\r\n"), "ADC3100000158491");
        assert_eq!(id("0-0:96.1.1(123)\r\n"), "123");
        assert_eq!(id("0-0:96.1.1(xxxx)\r\n"), "xxxx");
        // Empty 96.1.1 falls back to 42.0.0; a channel's 96.1.1 is not the meter's.
        assert_eq!(
            id("0-0:96.1.1()\r\n0-0:42.0.0(53414731303330373030313134303034)\r\n"),
            "SAG1030700114004"
        );
        assert_eq!(id("0-1:96.1.1(4142)\r\n"), "ABC5 ident");
    }

    #[test]
    fn test_clock_warnings() {
        let r = reading(b"/ABC5\r\n\r\n0-0:1.0.0(000000000000W)\r\n1-0:1.8.1(1)\r\n!");
        assert_eq!(r.time, None);
        assert_eq!(
            r.warnings,
            vec!["0-0:1.0.0: timestamp 000000000000W is not a date; no time given".to_string()]
        );
        assert_eq!(r.values.len(), 1);
        let r = reading(b"/ABC5\r\n\r\n0-0:1.0.0(1)(2)\r\n!");
        assert_eq!(r.time, None);
        assert_eq!(r.values.len(), 0);
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn test_units_and_text() {
        let r = reading(
            b"/ABC5\r\n\r\n1-0:13.7.0(4.556)\r\n1-0:1.8.1(abc*kWh)\r\n1-0:1.8.2(5*)\r\n1-3:0.2.8(50)\r\n0-0:96.1.0(09610)\r\n!",
        );
        assert_eq!(
            r.values,
            vec![
                Value::number("1-0:13.7.0*255", d("4.556"), None),
                Value::text("1-0:1.8.1*255", "abc*kWh"),
                Value::text("1-0:1.8.2*255", "5*"),
                Value::text("1-3:0.2.8*255", "50"),
                Value::text("0-0:96.1.0*255", "09610"),
            ]
        );
    }

    #[test]
    fn test_buffer_layouts() {
        let layout = |groups: &[&str]| {
            let text: String = groups.iter().map(|g| format!("({g})")).collect();
            let groups: Vec<GroupView<'_>> = crate::dsmr::object::check_groups(text.as_bytes())
                .expect("groups")
                .iter()
                .collect();
            buffer_layout(&groups).map(|l| (l.ids, l.entry_len))
        };
        assert_eq!(layout(&["0", "0-0:96.7.19"]), Some((1, 2)));
        assert_eq!(
            layout(&["1", "0-0:96.7.19", "000101000001W", "2147483647*s"]),
            Some((1, 2))
        );
        assert_eq!(layout(&["1", "a", "b", "c"]), None);
        assert_eq!(layout(&["2", "0-0:96.7.19", "t", "v", "t"]), None);
        assert_eq!(layout(&["3", "0-0:96.7.19"]), None);
        assert_eq!(layout(&["1", "0-0:96.7.19", "v"]), None);
        assert_eq!(layout(&["12"]), None);
        assert_eq!(
            layout(&["99999999999999999999999999", "0-0:96.7.19", "t", "v"]),
            None
        );
    }
}
