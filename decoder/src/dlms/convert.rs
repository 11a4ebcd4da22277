//! From a data-notification to a [`Reading`] (the mapping is meterlab's contract,
//! `docs/reading-format.md` section "DLMS/COSEM push", followed to the letter; units are the
//! IEC 62056-6-2 enumeration of the Register class's scaler_unit, DLMS UA 1000-1 "Blue Book",
//! named by [`crate::units::dlms_unit_name`]).
//!
//! - `values`: per register in list order. `{OBIS, value[, {scaler, unit}]}` and the flat
//!   `OBIS, value[, {scaler, unit}]` give id `A-B:C.D.E*F`, value × 10^scaler, the unit's name
//!   (none for 254, 255 or no scaler-unit); strings are text (an octet-string as text when every
//!   byte is printable ASCII, else upper-case hex). Elements without OBIS get their id from the
//!   layout catalogue ([`super::layout`]) or `#N` with a warning. Clock objects (`0-b:1.0.0`)
//!   are not values.
//! - `meter_id`: the first non-empty text of `0-0:96.1.0`, `0-0:96.1.1`, `0-0:42.0.0`; else the
//!   system title in hex; else none. (A meter number the layout names without OBIS is given
//!   `0-0:96.1.0`, so the first rule covers it.)
//! - `time`: the data-notification's date-time, else the list's `0-0:1.0.0` (with OBIS or named
//!   by the layout), as RFC 3339 ([`super::apdu::DateTime::to_rfc3339`]).
//!
//! Choices where the contract is silent: a boolean is the number 0 or 1; a bit-string is its
//! bits as `0`/`1` text; date-time, date and time values that are not the clock, and nested
//! arrays or structures, are upper-case hex of their contents (of the A-XDR encoding for
//! arrays and structures); null-data is the text `""`; a float without an exact decimal form
//! (`NaN`, `inf`, beyond 38 digits) is its text with a warning.

use crate::decimal::Decimal;
use crate::obis::Obis;
use crate::reading::{Protocol, Reading, Scalar, Value};
use crate::units::dlms_unit_name;

use super::apdu::{DataNotification, DateTime};
use super::axdr::Data;
use super::hex_upper;
use super::layout::{self, Layout};

/// The OBIS ids whose text is the meter id, in order of preference.
const METER_ID_OBJECTS: [(u8, u8, u8, u8, u8); 3] =
    [(0, 0, 96, 1, 0), (0, 0, 96, 1, 1), (0, 0, 42, 0, 0)];

/// If an element with its own OBIS id starts at `index`, how many elements of the list it uses:
/// 1 for an `{OBIS, value[, x]}` structure, 2 or 3 for the flat `OBIS, value[, scaler-unit]`.
pub fn keyed_group(elements: &[Data<'_>], index: usize) -> Option<usize> {
    let element = elements.get(index)?;
    if let Data::Structure(items) = element {
        if (2..=3).contains(&items.len()) && items[0].as_obis().is_some() {
            return Some(1);
        }
    }
    element.as_obis()?;
    elements.get(index + 1)?;
    let with_unit = elements
        .get(index + 2)
        .is_some_and(|d| d.as_scaler_unit().is_some());
    Some(if with_unit { 3 } else { 2 })
}

/// A clock object: `0-b:1.0.0` (any B, any F).
pub fn is_clock(obis: Obis) -> bool {
    obis.a() == 0 && obis.c() == 1 && obis.d() == 0 && obis.e() == 0
}

/// An octet-string as text when every byte is printable ASCII, else as upper-case hex.
pub fn octet_string_text(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| (0x20..=0x7E).contains(b)) {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        hex_upper(bytes)
    }
}

/// The date-time an element carries: a 12-byte octet-string or a date-time.
fn date_time_of(data: &Data<'_>) -> Option<DateTime> {
    match data {
        Data::OctetString(b) | Data::DateTime(b) => DateTime::from_bytes(b),
        _ => None,
    }
}

/// Converts one element to a value with id `id`.
fn value(
    id: String,
    data: &Data<'_>,
    scaler_unit: Option<(i8, u8)>,
    warnings: &mut Vec<String>,
) -> Value {
    let number = match data {
        Data::Float32(f) => Some(Decimal::from_f64(f64::from(*f)).ok_or(f.to_string())),
        Data::Float64(f) => Some(Decimal::from_f64(*f).ok_or(f.to_string())),
        Data::Boolean(b) => Some(Ok(Decimal::from_int(i128::from(*b)))),
        other => other.as_integer().map(|v| Ok(Decimal::from_int(v))),
    };
    match number {
        Some(Ok(n)) => {
            let (scaled, unit) = match scaler_unit {
                Some((scaler, unit)) => {
                    let name = dlms_unit_name(unit);
                    if name.is_none() && unit < 254 {
                        warnings.push(format!(
                            "{id}: unit code {unit} is not in the IEC 62056-6-2 table; sent without unit"
                        ));
                    }
                    (n.scaled(i32::from(scaler)), name)
                }
                None => (n, None),
            };
            Value::number(id, scaled, unit)
        }
        Some(Err(text)) => {
            warnings.push(format!(
                "{id}: the float value {text} has no exact decimal form; given as text"
            ));
            Value::text(id, text)
        }
        None => {
            if scaler_unit.is_some() {
                warnings.push(format!(
                    "{id}: a scaler-unit with a {} value; shown as sent",
                    data.type_name()
                ));
            }
            Value::text(id, text_of(data))
        }
    }
}

/// Whether an OBIS id names a physical quantity, which wants a scaler and a unit: not the
/// abstract and service objects (C = 0: identifiers, time and date, versions; C = 96, 97:
/// service and error registers).
fn is_quantity(obis: Obis) -> bool {
    !matches!(obis.c(), 0 | 96 | 97)
}

/// The text of a value that is not a number.
fn text_of(data: &Data<'_>) -> String {
    match data {
        Data::Null => String::new(),
        Data::OctetString(b) => octet_string_text(b),
        Data::VisibleString(b) => b.iter().map(|&b| char::from(b)).collect(),
        Data::Utf8String(b) => String::from_utf8_lossy(b).into_owned(),
        Data::BitString { bits, bytes } => (0..*bits)
            .map(|i| {
                let byte = bytes.get(i / 8).copied().unwrap_or(0);
                if byte & (0x80 >> (i % 8)) != 0 {
                    '1'
                } else {
                    '0'
                }
            })
            .collect(),
        Data::DateTime(b) | Data::Date(b) | Data::Time(b) => hex_upper(b),
        other => {
            let mut encoded = Vec::new();
            other.encode(&mut encoded);
            hex_upper(&encoded)
        }
    }
}

/// A clock element of the list: where it is, and its date-time.
struct Clock {
    id: String,
    date_time: Option<DateTime>,
    type_name: &'static str,
}

/// Builds the reading of one data-notification; `system_title` is the sender's when the push
/// was ciphered.
pub fn to_reading(notification: &DataNotification<'_>, system_title: Option<&[u8]>) -> Reading {
    let mut reading = Reading::new(Protocol::Dlms);
    let mut warnings = Vec::new();
    if notification.date_time_typed {
        warnings.push(
            "data-notification date-time sent as a typed octet-string (09 0C …), a Kaifa firmware quirk"
                .to_string(),
        );
    }
    let elements = match notification.body.elements() {
        Some(elements) => elements,
        None => std::slice::from_ref(&notification.body),
    };
    let layout = layout::identify(elements);
    // A list id sent first without a code names the list's description (`Kamstrup_V0001`).
    let list_id = elements.first().and_then(Data::as_string_bytes);
    // Numbers sent without scaler-unit that no description scales: given as sent.
    let mut raw: Vec<String> = Vec::new();
    let mut ids: Vec<Option<Obis>> = Vec::new();
    let mut clocks: Vec<Clock> = Vec::new();
    let mut i = 0;
    while i < elements.len() {
        if let Some(used) = keyed_group(elements, i) {
            let (obis, data, extra) = match &elements[i] {
                Data::Structure(items) if used == 1 => {
                    (items[0].as_obis(), &items[1], items.get(2))
                }
                _ => (elements[i].as_obis(), &elements[i + 1], elements.get(i + 2)),
            };
            i += used;
            let Some(obis) = obis else { continue };
            let id = obis.to_string();
            if is_clock(obis) {
                if obis.b() == 0 {
                    clocks.push(Clock {
                        id,
                        date_time: date_time_of(data),
                        type_name: data.type_name(),
                    });
                }
                continue;
            }
            let sent = extra.and_then(Data::as_scaler_unit);
            if let (Some(extra), None) = (extra, sent) {
                if used == 1 {
                    warnings.push(format!(
                        "{id}: third element is a {}, not a scaler-unit; ignored",
                        extra.type_name()
                    ));
                }
            }
            let listed = list_id.and_then(|list| layout::listed_scale(list, obis));
            let scaler_unit = sent.or(listed);
            if scaler_unit.is_none() && data.as_integer().is_some() && is_quantity(obis) {
                raw.push(id.clone());
            }
            reading
                .values
                .push(value(id, data, scaler_unit, &mut warnings));
            ids.push(Some(obis));
            continue;
        }
        let data = &elements[i];
        match layout.and_then(|l| l.slot_at(i, elements.len())) {
            Some(slot) if slot.id == layout::CLOCK => clocks.push(Clock {
                id: format!("#{i} ({})", layout::CLOCK),
                date_time: date_time_of(data),
                type_name: data.type_name(),
            }),
            Some(slot) => {
                let id = slot.id;
                if slot.scale.is_none() && data.as_integer().is_some() && is_quantity(id) {
                    raw.push(id.to_string());
                }
                reading
                    .values
                    .push(value(id.to_string(), data, slot.scale, &mut warnings));
                ids.push(Some(id));
            }
            None => {
                warnings.push(unnamed(i, data, layout));
                reading
                    .values
                    .push(value(format!("#{i}"), data, None, &mut warnings));
                ids.push(None);
            }
        }
        i += 1;
    }
    reading.meter_id = meter_id(&reading.values, &ids).or_else(|| system_title.map(hex_upper));
    if !raw.is_empty() {
        let shown: Vec<&str> = raw.iter().take(4).map(String::as_str).collect();
        let more = if raw.len() > shown.len() { ", …" } else { "" };
        warnings.push(format!(
            "no scaler or unit in the telegram for {} value(s) ({}{more}) and no list description that gives them: raw values as sent",
            raw.len(),
            shown.join(", ")
        ));
    }
    reading.time = time(notification, &clocks, &mut warnings);
    reading.warnings = warnings;
    reading
}

fn unnamed(index: usize, data: &Data<'_>, layout: Option<&Layout>) -> String {
    match layout {
        Some(l) => format!(
            "element #{index} ({}) has no OBIS id and the {} layout does not name it",
            data.type_name(),
            l.name
        ),
        None => format!(
            "element #{index} ({}) has no OBIS id and the list matches no known layout",
            data.type_name()
        ),
    }
}

fn meter_id(values: &[Value], ids: &[Option<Obis>]) -> Option<String> {
    METER_ID_OBJECTS.iter().find_map(|&(a, b, c, d, e)| {
        values.iter().zip(ids).find_map(|(v, id)| {
            let o = (*id)?;
            let text = match &v.value {
                Scalar::Text(t) if !t.is_empty() => t,
                _ => return None,
            };
            ((o.a(), o.b(), o.c(), o.d(), o.e()) == (a, b, c, d, e)).then(|| text.clone())
        })
    })
}

fn time(
    notification: &DataNotification<'_>,
    clocks: &[Clock],
    warnings: &mut Vec<String>,
) -> Option<String> {
    if let Some(bytes) = notification.date_time {
        match notification.date_time().map(|dt| dt.to_rfc3339()) {
            Some(Ok(time)) => return Some(time),
            Some(Err(why)) => warnings.push(format!(
                "data-notification date-time {} gives no time: {why}",
                hex_upper(bytes)
            )),
            None => {}
        }
    }
    for clock in clocks {
        match clock.date_time.map(|dt| dt.to_rfc3339()) {
            Some(Ok(time)) => return Some(time),
            Some(Err(why)) => warnings.push(format!("clock {} gives no time: {why}", clock.id)),
            None => warnings.push(format!(
                "clock {} is a {}, not a date-time",
                clock.id, clock.type_name
            )),
        }
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    fn number(s: &str) -> Scalar {
        Scalar::Number(s.parse().expect("decimal"))
    }

    /// The decrypted EVN list of a Sagemcom T210-D (UtilitechAS/amsreader-firmware
    /// test/payloads/sagemcom/gh867-2.hex, corpus `evn_sagemcom_t210d_decrypted_gh867`).
    static EVN: &str = "0F8070DD270C07E80B0F050E2D2D00FFC4020223090C07E80B0F050E2D2D00FFC40209060100010800FF060048829A02020F00161E09060100020800FF06004EB19902020F00161E09060100010700FF060000000002020F00161B09060100020700FF060000000902020F00161B09060100200700FF12091E02020FFF162309060100340700FF12091502020FFF162309060100480700FF12091102020FFF1623090601001F0700FF12000202020FFE162109060100330700FF12003002020FFE162109060100470700FF12005302020FFE1621090601000D0700FF12005E02020FFD16FF090C313738323130313238353032";

    #[test]
    fn test_evn_list() {
        let bytes = unhex(EVN);
        let dn = DataNotification::parse_exact(&bytes).expect("valid");
        let r = to_reading(&dn, None);
        assert_eq!(r.meter_id.as_deref(), Some("178210128502"));
        assert_eq!(r.time.as_deref(), Some("2024-11-15T14:45:45+01:00"));
        assert_eq!(r.values.len(), 12, "{:?}", r.values);
        let v = |id: &str| r.value(id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(v("1-0:1.8.0*255").value, number("4752026"));
        assert_eq!(v("1-0:1.8.0*255").unit.as_deref(), Some("Wh"));
        assert_eq!(v("1-0:32.7.0*255").value, number("233.4"));
        assert_eq!(v("1-0:31.7.0*255").value, number("0.02"));
        assert_eq!(v("1-0:13.7.0*255").value, number("0.094"));
        assert_eq!(v("1-0:13.7.0*255").unit, None);
        assert_eq!(
            v("0-0:96.1.0*255").value,
            Scalar::Text("178210128502".into())
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn test_unnamed_elements() {
        // A structure of a u16 and a non-printable octet-string: no layout, two #N values.
        let bytes = unhex("0F0000000100 0202 12 0102 0902 0001");
        let dn = DataNotification::parse_exact(&bytes).expect("valid");
        let r = to_reading(&dn, Some(&[0x4B, 0x46, 0x4D, 1, 2, 3, 4, 5]));
        assert_eq!(r.meter_id.as_deref(), Some("4B464D0102030405"));
        assert_eq!(r.time, None);
        assert_eq!(
            r.values[0],
            Value::number("#0", Decimal::from_int(258), None)
        );
        assert_eq!(r.values[1], Value::text("#1", "0001"));
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    }

    #[test]
    fn test_values_without_list() {
        assert_eq!(octet_string_text(b"1KFM0200070313"), "1KFM0200070313");
        assert_eq!(octet_string_text(&[0x15, 0x0B]), "150B");
        assert_eq!(octet_string_text(b""), "");
        let mut w = Vec::new();
        let bits = Data::BitString {
            bits: 3,
            bytes: &[0xA0],
        };
        assert_eq!(
            value("x".into(), &bits, None, &mut w).value,
            Scalar::Text("101".into())
        );
        let v = value("x".into(), &Data::Integer16(-5), Some((-1, 0x21)), &mut w);
        assert_eq!((v.value, v.unit.as_deref()), (number("-0.5"), Some("A")));
        let v = value("x".into(), &Data::Unsigned8(5), Some((3, 0x00)), &mut w);
        assert_eq!((v.value, v.unit), (number("5000"), None));
        assert_eq!(w.len(), 1, "unit 0 is unnamed: {w:?}");
    }
}
