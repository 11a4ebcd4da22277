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
//!   by the layout), as RFC 3339 ([`super::apdu::DateTimeRepr::to_rfc3339`]).
//!
//! Choices where the contract is silent: a boolean is the number 0 or 1; a bit-string is its
//! bits as `0`/`1` text; date-time, date and time values that are not the clock, and nested
//! arrays or structures, are upper-case hex of their contents (of the A-XDR encoding for
//! arrays and structures); null-data is the text `""`; a float without an exact decimal form
//! (`NaN`, `inf`, beyond 38 digits) is its text with a warning.

use std::borrow::Cow;

use crate::decimal::Decimal;
use crate::obis::Obis;
use crate::reading::{Protocol, Reading, Scalar, ShortStr, Value};
use crate::units::dlms_unit_name;

use super::apdu::{DataNotification, DateTimeRepr};
use super::axdr::Data;
use super::hex_upper;
use super::layout::{self, Layout};
use super::push_setup::{CaptureObject, PushObjectList, VALUE_ATTRIBUTE};

/// The OBIS ids whose text is the meter id, in order of preference.
const METER_ID_OBJECTS: [(u8, u8, u8, u8, u8); 3] =
    [(0, 0, 96, 1, 0), (0, 0, 96, 1, 1), (0, 0, 42, 0, 0)];

/// A clock object: `0-b:1.0.0` (any B, any F).
pub fn is_clock(obis: Obis) -> bool {
    obis.a() == 0 && obis.c() == 1 && obis.d() == 0 && obis.e() == 0
}

/// The id of a value: its OBIS id in the full form `A-B:C.D.E*F`.
fn value_id(obis: Obis) -> ShortStr {
    obis.id()
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
fn date_time_of(data: &Data<'_>) -> Option<DateTimeRepr> {
    match data {
        Data::OctetString(b) | Data::DateTime(b) => DateTimeRepr::from_bytes(b),
        _ => None,
    }
}

/// Converts one element to a value with id `id`.
fn value(
    id: ShortStr,
    data: &Data<'_>,
    scaler_unit: Option<(i8, u8)>,
    warnings: &mut Vec<String>,
) -> Value {
    let number = match data {
        Data::Float32(f) => Some(Decimal::from_f64(f64::from(*f)).ok_or_else(|| f.to_string())),
        Data::Float64(f) => Some(Decimal::from_f64(*f).ok_or_else(|| f.to_string())),
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
        None if nul_padded(data).is_some() => {
            let text = nul_padded(data).unwrap_or_default();
            warnings.push(format!(
                "{id}: octet-string text padded with NUL bytes ({}), a firmware quirk; shown without them",
                text_of(data)
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

/// The text of an octet-string that is printable ASCII padded at the end with NUL bytes
/// (`RATE2\0\0\0`, the tariff name of a Landis+Gyr E450 in Cyprus, esphome-libs/dlms_parser
/// `tests/dumps/hdlc_landis_gyr_e450_cyprus_2.log`): the text without the padding.
fn nul_padded(data: &Data<'_>) -> Option<String> {
    let Data::OctetString(bytes) = data else {
        return None;
    };
    let end = bytes.iter().rposition(|&b| b != 0)? + 1;
    let (text, padding) = bytes.split_at(end);
    (!padding.is_empty() && text.iter().all(|b| (0x20..=0x7E).contains(b)))
        .then(|| text.iter().map(|&b| char::from(b)).collect())
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
        Data::BitString { bits, bytes } => (0..*bits as usize)
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

/// How a clock element is named in warnings (only written when one is given).
#[derive(Clone, Copy, Debug)]
enum ClockId {
    /// By its OBIS id.
    Obis(Obis),
    /// By its position, named by the layout: `#i (0-0:1.0.0*255)`.
    Slot(usize),
}

impl std::fmt::Display for ClockId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClockId::Obis(obis) => write!(f, "{obis}"),
            ClockId::Slot(i) => write!(f, "#{i} ({})", layout::CLOCK),
        }
    }
}

/// A clock element of the list: where it is, and its date-time.
struct Clock {
    id: ClockId,
    date_time: Option<DateTimeRepr>,
    type_name: &'static str,
}

/// Builds the reading of one data-notification; `system_title` is the sender's when the push
/// was ciphered.
pub fn to_reading(notification: &DataNotification<'_>, system_title: Option<&[u8]>) -> Reading {
    let mut reading = Reading::new(Protocol::Dlms);
    let mut warnings = Vec::new();
    if notification.date_time_typed {
        warnings.push(
            "data-notification date-time sent as a typed octet-string (09 0C …), a firmware quirk of Kaifa MA304 and early Kamstrup meters"
                .to_string(),
        );
    }
    if let Some(lead) = notification.descriptor_form {
        warnings.push(format!(
            "body sent as {{enum {lead}, array of {{attribute descriptor, value}}}} with untagged descriptors (Sagemcom XT211 firmware), not COSEM data; read as a self-describing push"
        ));
    }
    // The list, read once from its encoding; a body that is no list is a list of one.
    let elements = match notification.body.elements() {
        Some(elements) => elements.to_slice(),
        None => Cow::Borrowed(std::slice::from_ref(&notification.body)),
    };
    let elements = &elements[..];
    if let Some(list) = PushObjectList::parse(elements) {
        let ids = described_values(&list, elements, &mut reading, &mut warnings);
        return finish(reading, notification, &ids, system_title, warnings);
    }
    // The layout is looked up only when an element has no OBIS id of its own.
    let mut layout: Option<Option<&Layout>> = None;
    // A list id sent first without a code names the list's description (`Kamstrup_V0001`).
    let list_id = elements.first().and_then(Data::as_string_bytes);
    // Numbers sent without scaler-unit that no description scales: given as sent.
    let mut raw: Vec<Obis> = Vec::new();
    // At most one value per group of elements: one allocation for the values.
    let groups = group_count(elements);
    reading.values.reserve_exact(groups);
    let mut ids: Vec<Option<Obis>> = Vec::with_capacity(groups);
    let mut clocks: Vec<Clock> = Vec::new();
    let mut i = 0;
    while i < elements.len() {
        if let Some(used) = layout::keyed_group(elements, i) {
            // Values are copied out of the list (no element owns memory but a rewritten body).
            let (obis, data, extra) = match &elements[i] {
                Data::Structure(items) if used == 1 => {
                    let mut items = items.iter();
                    let obis = items.next().and_then(|d| d.as_obis());
                    let Some(data) = items.next() else {
                        i += used;
                        continue;
                    };
                    (obis, data, items.next())
                }
                _ => (
                    elements[i].as_obis(),
                    elements[i + 1].clone(),
                    elements.get(i + 2).cloned(),
                ),
            };
            let (data, extra) = (&data, extra.as_ref());
            i += used;
            let Some(obis) = obis else { continue };
            if is_clock(obis) {
                if obis.b() == 0 {
                    clocks.push(Clock {
                        id: ClockId::Obis(obis),
                        date_time: date_time_of(data),
                        type_name: data.type_name(),
                    });
                }
                continue;
            }
            let id = value_id(obis);
            let sent = extra.and_then(Data::as_scaler_unit);
            if let (Some(extra), None) = (extra, sent) {
                if used == 1 {
                    warnings.push(format!(
                        "{id}: third element is a {}, not a scaler-unit; ignored",
                        extra.type_name()
                    ));
                }
            }
            // The list's description is looked up only when the telegram sends no scaler-unit.
            let scaler_unit =
                sent.or_else(|| list_id.and_then(|list| layout::listed_scale(list, obis)));
            if scaler_unit.is_none() && data.as_integer().is_some() && is_quantity(obis) {
                raw.push(obis);
            }
            reading
                .values
                .push(value(id, data, scaler_unit, &mut warnings));
            ids.push(Some(obis));
            continue;
        }
        let data = &elements[i];
        let layout = *layout.get_or_insert_with(|| layout::identify(elements));
        match layout.and_then(|l| l.slot_at(i, elements.len())) {
            Some(slot) if slot.id == layout::CLOCK => clocks.push(Clock {
                id: ClockId::Slot(i),
                date_time: date_time_of(data),
                type_name: data.type_name(),
            }),
            Some(slot) => {
                let id = slot.id;
                if slot.scale.is_none() && data.as_integer().is_some() && is_quantity(id) {
                    raw.push(id);
                }
                reading
                    .values
                    .push(value(value_id(id), data, slot.scale, &mut warnings));
                ids.push(Some(id));
            }
            None => {
                warnings.push(unnamed(i, data, layout));
                reading
                    .values
                    .push(value(format!("#{i}").into(), data, None, &mut warnings));
                ids.push(None);
            }
        }
        i += 1;
    }
    no_scaler_warning(&raw, &mut warnings);
    let ids = Ids { ids, clocks };
    finish(reading, notification, &ids, system_title, warnings)
}

/// How many groups the elements of a list form: a keyed group ([`layout::keyed_group`]) or a
/// single element each.
fn group_count(elements: &[Data<'_>]) -> usize {
    let mut i = 0;
    let mut n = 0;
    while i < elements.len() {
        i += layout::keyed_group(elements, i).unwrap_or(1);
        n += 1;
    }
    n
}

/// What the conversion of a list found besides the values: the OBIS id of each value (for the
/// meter id) and the clock elements (for the time).
struct Ids {
    ids: Vec<Option<Obis>>,
    clocks: Vec<Clock>,
}

/// The meter id and time of a reading whose values are converted.
fn finish(
    mut reading: Reading,
    notification: &DataNotification<'_>,
    ids: &Ids,
    system_title: Option<&[u8]>,
    mut warnings: Vec<String>,
) -> Reading {
    reading.meter_id = meter_id(&reading.values, &ids.ids).or_else(|| system_title.map(hex_upper));
    reading.time = time(notification, &ids.clocks, &mut warnings);
    reading.warnings = warnings;
    reading
}

/// The one warning for numbers sent without scaler-unit that nothing scales.
fn no_scaler_warning(raw: &[Obis], warnings: &mut Vec<String>) {
    if raw.is_empty() {
        return;
    }
    let shown: Vec<ShortStr> = raw.iter().take(4).map(|&obis| value_id(obis)).collect();
    let more = if raw.len() > shown.len() { ", …" } else { "" };
    warnings.push(format!(
        "no scaler or unit in the telegram for {} value(s) ({}{more}) and no list description that gives them: raw values as sent",
        raw.len(),
        shown.join(", ")
    ));
}

/// The values of a self-describing push ([`super::push_setup`]): element k is the attribute
/// the list's entry names. A register's scaler_unit captured as its own element scales the
/// value of the same object and is no value itself; an extended register's capture_time is
/// the time of its value; the list itself is no value; any other attribute than 2 is a value
/// with its `attribute`.
fn described_values(
    list: &PushObjectList,
    elements: &[Data<'_>],
    reading: &mut Reading,
    warnings: &mut Vec<String>,
) -> Ids {
    if list.described_elements() != elements.len() {
        warnings.push(format!(
            "the push_object_list names {} element(s), the push has {}",
            list.described_elements(),
            elements.len()
        ));
    }
    let described: Vec<(usize, &CaptureObject, &Data<'_>)> = elements
        .iter()
        .enumerate()
        .filter_map(|(i, d)| list.entry_for(i).map(|co| (i, co, d)))
        .collect();
    // First the attributes that qualify others: scaler_units and capture times.
    let mut scales: Vec<(&CaptureObject, (i8, u8))> = Vec::new();
    let mut captured_at: Vec<(&CaptureObject, String)> = Vec::new();
    for &(i, co, data) in &described {
        let id = co.logical_name.to_string();
        if co.is_scaler_unit() {
            match data.as_scaler_unit() {
                Some(su) => scales.push((co, su)),
                None => warnings.push(format!(
                    "element #{i}: {id} attribute {} should be a scaler_unit, is a {}; ignored",
                    co.attribute,
                    data.type_name()
                )),
            }
        } else if co.is_capture_time() {
            match date_time_of(data).map(|dt| dt.to_rfc3339()) {
                Some(Ok(t)) => captured_at.push((co, t)),
                Some(Err(why)) => warnings.push(format!(
                    "element #{i}: capture time of {id} gives no time: {why}"
                )),
                None => warnings.push(format!(
                    "element #{i}: capture time of {id} is a {}, not a date-time",
                    data.type_name()
                )),
            }
        }
    }
    let scaled = |co: &CaptureObject| {
        scales
            .iter()
            .find(|(s, _)| s.same_object(co))
            .map(|(_, su)| *su)
    };
    for (s, _) in &scales {
        if !described
            .iter()
            .any(|(_, co, _)| co.is_scaled() && co.same_object(s))
        {
            warnings.push(format!(
                "{}: scaler_unit sent without the value it scales",
                s.logical_name
            ));
        }
    }
    let mut ids = Ids {
        ids: Vec::new(),
        clocks: Vec::new(),
    };
    let mut raw = Vec::new();
    for &(i, co, data) in &described {
        let obis = co.logical_name;
        if co.is_push_object_list() || co.is_scaler_unit() || co.is_capture_time() {
            continue;
        }
        if co.is_clock_time() || (co.attribute == VALUE_ATTRIBUTE && is_clock(obis)) {
            if obis.b() == 0 {
                ids.clocks.push(Clock {
                    id: ClockId::Obis(obis),
                    date_time: date_time_of(data),
                    type_name: data.type_name(),
                });
            }
            continue;
        }
        let id = value_id(obis);
        if co.data_index != 0 {
            warnings.push(format!(
                "element #{i}: {id} attribute {} data index {}: one entry of the attribute",
                co.attribute, co.data_index
            ));
        }
        let scaler_unit = if co.is_scaled() { scaled(co) } else { None };
        if co.is_scaled()
            && scaler_unit.is_none()
            && data.as_integer().is_some()
            && is_quantity(obis)
        {
            raw.push(obis);
        }
        let mut v = value(id, data, scaler_unit, warnings);
        if co.attribute != VALUE_ATTRIBUTE {
            v.attribute = Some(co.attribute);
            ids.ids.push(None);
        } else {
            ids.ids.push(Some(obis));
        }
        v.time = captured_at
            .iter()
            .find(|(c, _)| c.same_object(co))
            .map(|(_, t)| t.clone());
        reading.values.push(v);
    }
    for (c, t) in &captured_at {
        if !described
            .iter()
            .any(|(_, co, _)| co.is_scaled() && co.same_object(c))
        {
            warnings.push(format!(
                "{}: capture time {t} sent without the value it belongs to",
                c.logical_name
            ));
        }
    }
    no_scaler_warning(&raw, warnings);
    ids
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

    /// A self-describing push (the push setup names itself first): a register's value and its
    /// scaler_unit (attribute 3) as two elements, an extended register's value and capture
    /// time (attribute 5), a disconnect control's control_state (class 70, attribute 3).
    static DESCRIBED: &str = "0F00000001 00 0207 0107\
        020412002809060000190900FF0F02120000\
        020412000809060000010000FF0F02120000\
        020412000309060100010800FF0F02120000\
        020412000309060100010800FF0F03120000\
        020412000409060100010600FF0F02120000\
        020412000409060100010600FF0F05120000\
        0204120046090600006003 0AFF0F03120000\
        090C07EA060801122E04FF800080 060012D687 02020FFD161E 120BB8\
        090C07EA0608011200 00FF800000 1601";

    #[test]
    fn test_self_describing_attributes() {
        let bytes = unhex(DESCRIBED);
        let dn = DataNotification::parse_exact(&bytes).expect("valid");
        let r = to_reading(&dn, None);
        assert_eq!(r.time.as_deref(), Some("2026-06-08T18:46:04"));
        assert_eq!(r.values.len(), 3, "{:?}", r.values);
        let energy = &r.values[0];
        assert_eq!(energy.id, "1-0:1.8.0*255");
        assert_eq!(energy.value, number("1234.567"));
        assert_eq!(energy.unit.as_deref(), Some("Wh"));
        assert_eq!(energy.attribute, None);
        let demand = &r.values[1];
        assert_eq!(demand.id, "1-0:1.6.0*255");
        assert_eq!(demand.value, number("3000"));
        assert_eq!(demand.time.as_deref(), Some("2026-06-08T18:00:00"));
        let control = &r.values[2];
        assert_eq!(control.id, "0-0:96.3.10*255");
        assert_eq!(control.attribute, Some(3));
        assert_eq!(control.value, number("1"));
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("1-0:1.6.0*255"), "{:?}", r.warnings);
    }

    #[test]
    fn test_self_describing_mismatches() {
        // The list names one element more than is sent, a scaler_unit that is no structure,
        // and a scaler_unit whose value is not in the list.
        let bytes = unhex(
            "0F00000001 00 0203 0104\
             020412002809060000190900FF0F02120000\
             020412000309060100010800FF0F03120000\
             020412000309060100020800FF0F03120000\
             020412000309060100030800FF0F02120000\
             120000 02020F00161E",
        );
        let dn = DataNotification::parse_exact(&bytes).expect("valid");
        let r = to_reading(&dn, Some(b"LGZ12345"));
        assert!(r.values.is_empty(), "{:?}", r.values);
        assert_eq!(r.meter_id.as_deref(), Some("4C475A3132333435"));
        let w = r.warnings.join("\n");
        assert!(w.contains("names 4 element(s), the push has 3"), "{w}");
        assert!(
            w.contains("should be a scaler_unit, is a long-unsigned"),
            "{w}"
        );
        assert!(
            w.contains("1-0:2.8.0*255: scaler_unit sent without the value"),
            "{w}"
        );
    }

    #[test]
    fn test_nul_padded_text() {
        let mut w = Vec::new();
        let v = value("x".into(), &Data::OctetString(b"RATE2\0\0\0"), None, &mut w);
        assert_eq!(v.value, Scalar::Text("RATE2".into()));
        assert_eq!(w.len(), 1, "{w:?}");
        let v = value("x".into(), &Data::OctetString(&[0x01, 0x00]), None, &mut w);
        assert_eq!(v.value, Scalar::Text("0100".into()));
        let v = value("x".into(), &Data::OctetString(&[0, 0]), None, &mut w);
        assert_eq!(v.value, Scalar::Text("0000".into()));
        assert_eq!(w.len(), 1, "{w:?}");
    }
}
