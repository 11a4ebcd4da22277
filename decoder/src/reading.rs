//! The common reading format: meterlab's contract with every decoder.
//!
//! A decoder turns a byte stream into a sequence of [`Message`]s, one per telegram (or reply)
//! it found. Serialised as JSON lines, this is what `meterlab decode` prints, what the simulator
//! records as its truth, and what an external decoder under test must print (see
//! `docs/reading-format.md`):
//!
//! ```json
//! {"protocol":"dsmr","meter_id":"E0044007131650618","time":"2019-03-24T15:05:19+01:00","values":[{"id":"1-0:1.8.1*255","value":3432.827,"unit":"kWh"}]}
//! {"error":{"kind":"crc_mismatch","message":"telegram CRC is 0x1234, computed 0xD4BA"}}
//! ```

use serde::{Deserialize, Serialize};

use crate::decimal::Decimal;

/// Which protocol family a reading came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// DSMR P1 telegrams (NL, BE e-MUCS, LU Smarty, SE, HU...).
    Dsmr,
    /// DLMS/COSEM push (data-notification), plain or general-glo-ciphering.
    Dlms,
    /// Wired M-Bus (EN 13757-2/-3).
    Mbus,
    /// IEC 62056-21 data readout.
    #[serde(rename = "iec62056-21")]
    Iec62056_21,
}

impl Protocol {
    /// The name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Dsmr => "dsmr",
            Protocol::Dlms => "dlms",
            Protocol::Mbus => "mbus",
            Protocol::Iec62056_21 => "iec62056-21",
        }
    }
}

/// A value: an exact number or a text (equipment ids, messages, versions, as transmitted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A number, exact.
    Number(Decimal),
    /// Anything that is not a number, as the meter sent it.
    Text(String),
}

impl From<Decimal> for Scalar {
    fn from(d: Decimal) -> Self {
        Scalar::Number(d)
    }
}

/// A text of a reading that is nearly always short: a value's id (an OBIS id is at most 23
/// bytes) or unit. Up to [`ShortStr::INLINE`] bytes are held in place, so a decoder builds one
/// without allocating (issue #15: a `String` per id and unit was most of the cost of a DSMR
/// reading); longer text is a `String`. It reads, compares, hashes and serialises as the `str`
/// it holds, so the JSON is the same as a `String`'s.
#[derive(Clone)]
pub struct ShortStr(ShortRepr);

#[derive(Clone)]
enum ShortRepr {
    /// `bytes[..len]` is the text: always whole UTF-8, copied from a `str`.
    Inline {
        len: u8,
        bytes: [u8; ShortStr::INLINE],
    },
    Heap(String),
}

impl ShortStr {
    /// The longest text held without an allocation.
    pub const INLINE: usize = 30;

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Copied whole from a `str` (or ASCII), so always UTF-8; the crate has no `unsafe`,
            // so this checks it again. Comparing, hashing and writing JSON use the bytes.
            ShortRepr::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            ShortRepr::Heap(s) => s,
        }
    }

    /// The text's bytes (UTF-8), without checking them again.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            ShortRepr::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            ShortRepr::Heap(s) => s.as_bytes(),
        }
    }

    /// The text of the first `len` bytes of `buffer` (an id a decoder has just printed into
    /// it), kept in place when they are ASCII; see [`ShortStr::from_ascii`].
    pub fn from_ascii_buffer(buffer: [u8; ShortStr::INLINE], len: usize) -> Self {
        match buffer.get(..len) {
            Some(text) if text.is_ascii() => ShortStr(ShortRepr::Inline {
                len: len as u8,
                bytes: buffer,
            }),
            _ => ShortStr::from_ascii(buffer.get(..len).unwrap_or(&buffer)),
        }
    }

    /// The text of ASCII `bytes` (an id a decoder has just printed), without a UTF-8 check;
    /// bytes outside ASCII are replaced as [`String::from_utf8_lossy`] does.
    pub fn from_ascii(bytes: &[u8]) -> Self {
        if bytes.len() <= ShortStr::INLINE && bytes.is_ascii() {
            let mut inline = [0u8; ShortStr::INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            ShortStr(ShortRepr::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            })
        } else {
            ShortStr::from(String::from_utf8_lossy(bytes).into_owned())
        }
    }
}

impl From<&str> for ShortStr {
    fn from(s: &str) -> Self {
        if s.len() <= ShortStr::INLINE {
            let mut bytes = [0u8; ShortStr::INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            ShortStr(ShortRepr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            ShortStr(ShortRepr::Heap(s.to_string()))
        }
    }
}

impl From<String> for ShortStr {
    fn from(s: String) -> Self {
        if s.len() <= ShortStr::INLINE {
            ShortStr::from(s.as_str())
        } else {
            ShortStr(ShortRepr::Heap(s))
        }
    }
}

impl From<&String> for ShortStr {
    fn from(s: &String) -> Self {
        ShortStr::from(s.as_str())
    }
}

impl From<ShortStr> for String {
    fn from(s: ShortStr) -> Self {
        match s.0 {
            ShortRepr::Heap(s) => s,
            ShortRepr::Inline { .. } => s.as_str().to_string(),
        }
    }
}

impl Default for ShortStr {
    fn default() -> Self {
        ShortStr::from("")
    }
}

impl std::ops::Deref for ShortStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ShortStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for ShortStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for ShortStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for ShortStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for ShortStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ShortStr {}

impl PartialOrd for ShortStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortStr {
    /// As `str` orders: byte by byte.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for ShortStr {
    /// As `str` hashes (its bytes, then 0xFF), so a `&str` finds it in a map.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xFF);
    }
}

impl PartialEq<str> for ShortStr {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for ShortStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for ShortStr {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ShortStr> for str {
    fn eq(&self, other: &ShortStr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ShortStr> for &str {
    fn eq(&self, other: &ShortStr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ShortStr> for String {
    fn eq(&self, other: &ShortStr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Serialize for ShortStr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShortStr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ShortStr::from)
    }
}

/// One register value of a reading.
///
/// Serialised flat (`docs/reading-format.md`): the M-Bus details held in [`Value::record`]
/// appear as the keys `quantity`, `function`, `storage`, `tariff` and `subunit` of the value.
/// They are held apart, behind one pointer, because DSMR, DLMS and IEC values never have them
/// and a decoder builds and moves a value per register (issue #15: a value of 224 bytes, most
/// of them M-Bus fields that were always empty elsewhere, was a large part of what a DSMR or
/// DLMS reading costs).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "ValueFields")]
pub struct Value {
    /// Full OBIS id `A-B:C.D.E*F` for DSMR, DLMS and IEC 62056-21.
    pub id: ShortStr,
    /// The value with any scaler applied.
    pub value: Scalar,
    /// Unit as the meter names it (`kWh`, `m3`, `V`); absent when the meter sent none.
    pub unit: Option<ShortStr>,
    /// The value's own capture time (RFC 3339), where the meter sends one: the gas reading
    /// of an M-Bus channel, an entry of a power-failure log, a monthly peak.
    pub time: Option<String>,
    /// M-Bus: the record's details; `None` when it has none (then no details are set: a
    /// [`RecordDetails`] with every field `None` is not kept).
    pub record: Option<Box<RecordDetails>>,
    /// The value comes from a message whose integrity check failed and that was decoded anyway
    /// on request (`meterlab decode --ignore-crc`): it may be wrong. Never set by default.
    pub unverified: bool,
    /// DLMS: the COSEM attribute the value is, when a self-describing push names one other
    /// than 2 (the value attribute of Data, Register and most classes).
    pub attribute: Option<i8>,
}

/// An M-Bus data record's details (EN 13757-3 §6.3: the DIF's function field and storage
/// number, the DIFEs' tariff and subunit), and its quantity as libmbus's normalized output
/// names it. The reference decoder sets all five; an external decoder's JSON may give some.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDetails {
    /// The record's quantity (`Energy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<ShortStr>,
    /// `instantaneous`, `maximum`, `minimum` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<ShortStr>,
    /// Storage number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<u64>,
    /// Tariff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff: Option<u32>,
    /// Subunit (device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subunit: Option<u32>,
}

impl RecordDetails {
    fn is_empty(&self) -> bool {
        *self == RecordDetails::default()
    }
}

/// A [`Value`] as its JSON has it: every key at one level.
#[derive(Deserialize)]
struct ValueFields {
    id: ShortStr,
    value: Scalar,
    #[serde(default)]
    unit: Option<ShortStr>,
    #[serde(default)]
    time: Option<String>,
    #[serde(flatten)]
    record: RecordDetails,
    #[serde(default)]
    unverified: bool,
    #[serde(default)]
    attribute: Option<i8>,
}

impl From<ValueFields> for Value {
    fn from(f: ValueFields) -> Self {
        Value {
            id: f.id,
            value: f.value,
            unit: f.unit,
            time: f.time,
            record: (!f.record.is_empty()).then(|| Box::new(f.record)),
            unverified: f.unverified,
            attribute: f.attribute,
        }
    }
}

impl Serialize for Value {
    /// The keys in the order of [`Value::write_json`], absent ones left out.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("value", &self.value)?;
        if let Some(unit) = &self.unit {
            map.serialize_entry("unit", unit)?;
        }
        if let Some(time) = &self.time {
            map.serialize_entry("time", time)?;
        }
        if let Some(record) = &self.record {
            if let Some(quantity) = &record.quantity {
                map.serialize_entry("quantity", quantity)?;
            }
            if let Some(function) = &record.function {
                map.serialize_entry("function", function)?;
            }
            if let Some(storage) = record.storage {
                map.serialize_entry("storage", &storage)?;
            }
            if let Some(tariff) = record.tariff {
                map.serialize_entry("tariff", &tariff)?;
            }
            if let Some(subunit) = record.subunit {
                map.serialize_entry("subunit", &subunit)?;
            }
        }
        if self.unverified {
            map.serialize_entry("unverified", &true)?;
        }
        if let Some(attribute) = self.attribute {
            map.serialize_entry("attribute", &attribute)?;
        }
        map.end()
    }
}

impl Value {
    /// A value with an optional unit and none of the optional details.
    pub fn new(id: impl Into<ShortStr>, value: Scalar, unit: Option<String>) -> Self {
        Value::bare(id.into(), value, unit.map(ShortStr::from))
    }

    /// A numeric value with a unit.
    pub fn number(id: impl Into<ShortStr>, value: Decimal, unit: Option<&str>) -> Self {
        Value::bare(id.into(), Scalar::Number(value), unit.map(ShortStr::from))
    }

    /// The value in one literal (decoders build one per register: no field set twice).
    #[inline]
    fn bare(id: ShortStr, value: Scalar, unit: Option<ShortStr>) -> Self {
        Value {
            id,
            value,
            unit,
            time: None,
            record: None,
            unverified: false,
            attribute: None,
        }
    }

    /// A text value.
    pub fn text(id: impl Into<ShortStr>, value: impl Into<String>) -> Self {
        Value::new(id, Scalar::Text(value.into()), None)
    }

    /// The same value with M-Bus record details.
    pub fn record(
        mut self,
        quantity: &str,
        function: &str,
        storage: u64,
        tariff: u32,
        subunit: u32,
    ) -> Self {
        self.record = Some(Box::new(RecordDetails {
            quantity: Some(quantity.into()),
            function: Some(function.into()),
            storage: Some(storage),
            tariff: Some(tariff),
            subunit: Some(subunit),
        }));
        self
    }

    /// M-Bus: the record's quantity (`Energy`).
    pub fn quantity(&self) -> Option<&str> {
        self.record.as_ref()?.quantity.as_deref()
    }

    /// M-Bus: the record's function (`instantaneous`, `maximum`, `minimum`, `error`).
    pub fn function(&self) -> Option<&str> {
        self.record.as_ref()?.function.as_deref()
    }

    /// M-Bus: the record's storage number.
    pub fn storage(&self) -> Option<u64> {
        self.record.as_ref()?.storage
    }

    /// M-Bus: the record's tariff.
    pub fn tariff(&self) -> Option<u32> {
        self.record.as_ref()?.tariff
    }

    /// M-Bus: the record's subunit.
    pub fn subunit(&self) -> Option<u32> {
        self.record.as_ref()?.subunit
    }

    /// The same value with a capture time.
    pub fn at(mut self, time: impl Into<String>) -> Self {
        self.time = Some(time.into());
        self
    }
}

/// Everything one telegram (or reply) said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// Protocol family.
    pub protocol: Protocol,
    /// The meter's identity: equipment id or meter number from the data, else the system title
    /// or the identification line; absent if the telegram names none.
    #[serde(default)]
    pub meter_id: Option<String>,
    /// The meter's clock at the telegram (RFC 3339 with offset), if it sent one.
    #[serde(default)]
    pub time: Option<String>,
    /// Register values, in the order the telegram carries them.
    pub values: Vec<Value>,
    /// Oddities the decoder accepted but wants a person to know about (placeholder timestamps,
    /// firmware quirks). Not part of the data: the harness ignores them when comparing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Reading {
    /// A reading with no values yet.
    pub fn new(protocol: Protocol) -> Self {
        Reading {
            protocol,
            meter_id: None,
            time: None,
            values: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The first value with this id.
    pub fn value(&self, id: &str) -> Option<&Value> {
        self.values.iter().find(|v| v.id == id)
    }

    /// Whether two readings carry the same data: protocol, meter id, time and the same values,
    /// in any order. Warnings are not data and are ignored.
    pub fn same_data(&self, other: &Reading) -> bool {
        if self.protocol != other.protocol
            || self.meter_id != other.meter_id
            || self.time != other.time
            || self.values.len() != other.values.len()
        {
            return false;
        }
        // Most often the values come in the same order: no sorting then.
        if self.values == other.values {
            return true;
        }
        let order = |x: &&Value, y: &&Value| {
            (&x.id, &x.time, x.attribute).cmp(&(&y.id, &y.time, y.attribute))
        };
        let mut a: Vec<&Value> = self.values.iter().collect();
        let mut b: Vec<&Value> = other.values.iter().collect();
        a.sort_by(order);
        b.sort_by(order);
        a == b
    }
}

/// A decode failure as reported in the JSON output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// Machine-readable class, snake_case (`crc_mismatch`, `gcm_tag_mismatch`, `truncated`...).
    pub kind: String,
    /// What exactly was wrong, for a person.
    pub message: String,
    /// Byte offset in the stream where the failed message started, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// Which way a link message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the master (reader, head-end) to the meter: a request or command.
    ToMeter,
    /// From the meter to the master: an acknowledgement.
    FromMeter,
}

/// A link-layer message of a dialogue that carries no readings: a master's request or command,
/// or a meter's acknowledgement (wired M-Bus `SND_NKE`, `REQ_UD2`, selects, `E5`…). Neither a
/// reading nor an error; `docs/reading-format.md` lists the kinds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    /// What it is, snake_case (`snd_nke`, `req_ud2`, `select`, `ack`…).
    pub kind: String,
    /// Which way it went.
    pub direction: Direction,
    /// The address it names (M-Bus primary address; 253 = the selected slave), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<u8>,
    /// What else it says, for a person (`FCB=1`, `secondary address 12345678…`, `9600 Bd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Byte offset in the stream where it started, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// One result of decoding a stream: a reading, a classified error, or a link message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Message {
    /// A message that could not be decoded.
    Error {
        /// What went wrong.
        error: ErrorReport,
    },
    /// A request or acknowledgement of a dialogue: no readings, no error.
    Link {
        /// What it was.
        link: LinkReport,
    },
    /// A decoded telegram.
    Reading(Reading),
}

impl Message {
    /// An error message.
    pub fn error(kind: impl Into<String>, message: impl Into<String>, offset: Option<u64>) -> Self {
        Message::Error {
            error: ErrorReport {
                kind: kind.into(),
                message: message.into(),
                offset,
            },
        }
    }

    /// A link message (request or acknowledgement).
    pub fn link(
        kind: impl Into<String>,
        direction: Direction,
        address: Option<u8>,
        detail: Option<String>,
        offset: Option<u64>,
    ) -> Self {
        Message::Link {
            link: LinkReport {
                kind: kind.into(),
                direction,
                address,
                detail,
                offset,
            },
        }
    }

    /// The reading, if this is one.
    pub fn reading(&self) -> Option<&Reading> {
        match self {
            Message::Reading(r) => Some(r),
            Message::Error { .. } | Message::Link { .. } => None,
        }
    }

    /// The error, if this is one.
    pub fn error_report(&self) -> Option<&ErrorReport> {
        match self {
            Message::Error { error } => Some(error),
            Message::Reading(_) | Message::Link { .. } => None,
        }
    }

    /// The link message, if this is one.
    pub fn link_report(&self) -> Option<&LinkReport> {
        match self {
            Message::Link { link } => Some(link),
            Message::Reading(_) | Message::Error { .. } => None,
        }
    }

    /// One line of JSON (the JSON-lines output format).
    pub fn to_json_line(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        // Only UTF-8 was written (strings are copied whole or escaped by serde_json).
        String::from_utf8(out).unwrap_or_else(|e| {
            format!(r#"{{"error":{{"kind":"internal","message":"cannot serialise: {e}"}}}}"#)
        })
    }

    /// Appends the message's JSON (no newline) to `out`: exactly the bytes `serde_json` gives
    /// for its `Serialize` derive (a test holds them equal), written field by field without
    /// serde's machinery, since `meterlab decode` writes one line per message (issue #15).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Message::Error { error } => {
                out.extend_from_slice(br#"{"error":{"kind":"#);
                json_str(out, &error.kind);
                out.extend_from_slice(br#","message":"#);
                json_str(out, &error.message);
                if let Some(offset) = error.offset {
                    out.extend_from_slice(br#","offset":"#);
                    crate::decimal::write_uint(out, offset);
                }
                out.extend_from_slice(b"}}");
            }
            Message::Link { link } => {
                out.extend_from_slice(br#"{"link":{"kind":"#);
                json_str(out, &link.kind);
                out.extend_from_slice(br#","direction":"#);
                json_serde(out, &link.direction);
                if let Some(address) = link.address {
                    out.extend_from_slice(br#","address":"#);
                    json_serde(out, &address);
                }
                if let Some(detail) = &link.detail {
                    out.extend_from_slice(br#","detail":"#);
                    json_str(out, detail);
                }
                if let Some(offset) = link.offset {
                    out.extend_from_slice(br#","offset":"#);
                    json_serde(out, &offset);
                }
                out.extend_from_slice(b"}}");
            }
            Message::Reading(r) => {
                out.extend_from_slice(br#"{"protocol":"#);
                json_str(out, r.protocol.name());
                out.extend_from_slice(br#","meter_id":"#);
                json_opt_str(out, r.meter_id.as_deref());
                out.extend_from_slice(br#","time":"#);
                json_opt_str(out, r.time.as_deref());
                out.extend_from_slice(br#","values":["#);
                for (i, v) in r.values.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write_json(out);
                }
                out.push(b']');
                if !r.warnings.is_empty() {
                    out.extend_from_slice(br#","warnings":["#);
                    for (i, w) in r.warnings.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        json_str(out, w);
                    }
                    out.push(b']');
                }
                out.push(b'}');
            }
        }
    }
}

impl Value {
    /// Appends the value's JSON object (see [`Message::write_json`]). The keys carry the quotes
    /// of the strings after them, so a string costs one copy of its bytes.
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"id":""#);
        json_str_body(out, &self.id);
        match &self.value {
            Scalar::Number(d) => {
                out.extend_from_slice(br#"","value":"#);
                json_decimal(out, d);
            }
            Scalar::Text(t) => {
                out.extend_from_slice(br#"","value":""#);
                json_str_body(out, t);
                out.push(b'"');
            }
        }
        let mut string = |key: &[u8], value: Option<&str>| {
            if let Some(v) = value {
                out.extend_from_slice(key);
                json_str_body(out, v);
                out.push(b'"');
            }
        };
        string(br#","unit":""#, self.unit.as_deref());
        string(br#","time":""#, self.time.as_deref());
        string(br#","quantity":""#, self.quantity());
        string(br#","function":""#, self.function());
        match (self.storage(), self.tariff(), self.subunit()) {
            // An M-Bus record's usual details, one digit each: one piece with the digits set.
            (Some(storage @ 0..=9), Some(tariff @ 0..=9), Some(subunit @ 0..=9)) => {
                let mut piece = *br#","storage":0,"tariff":0,"subunit":0"#;
                piece[11] = b'0' + storage as u8;
                piece[22] = b'0' + tariff as u8;
                piece[34] = b'0' + subunit as u8;
                out.extend_from_slice(&piece);
            }
            (storage, tariff, subunit) => {
                if let Some(storage) = storage {
                    out.extend_from_slice(br#","storage":"#);
                    crate::decimal::write_uint(out, storage);
                }
                if let Some(tariff) = tariff {
                    out.extend_from_slice(br#","tariff":"#);
                    crate::decimal::write_uint(out, u64::from(tariff));
                }
                if let Some(subunit) = subunit {
                    out.extend_from_slice(br#","subunit":"#);
                    crate::decimal::write_uint(out, u64::from(subunit));
                }
            }
        }
        if self.unverified {
            out.extend_from_slice(br#","unverified":true"#);
        }
        if let Some(attribute) = self.attribute {
            out.extend_from_slice(br#","attribute":"#);
            json_serde(out, &attribute);
        }
        out.push(b'}');
    }
}

/// A JSON string: copied whole when nothing in it needs escaping, else escaped by serde_json.
fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    json_str_body(out, s);
    out.push(b'"');
}

/// A JSON string without its quotes (see [`json_str`]): copied whole unless a byte needs
/// escaping (checked a word at a time). Strings of 8 to 16 bytes (most ids, quantities and
/// functions) are checked as two overlapping words and copied as one 16-byte piece put
/// together from them and cut to length: fixed-size copies, no call to `memcpy`.
#[inline]
fn json_str_body(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let n = b.len();
    if (8..=16).contains(&n) {
        let (first, last) = (word(&b[..8]), word(&b[n - 8..]));
        if (escape_lanes(first) | escape_lanes(last)) & TOP == 0 {
            let mut piece = [0u8; 16];
            piece[..8].copy_from_slice(&first.to_le_bytes());
            piece[n - 8..n].copy_from_slice(&last.to_le_bytes());
            let start = out.len();
            out.extend_from_slice(&piece);
            out.truncate(start + n);
            return;
        }
    } else {
        let lanes = if (4..8).contains(&n) {
            let (first, last) = (half_word(&b[..4]), half_word(&b[n - 4..]));
            escape_lanes(u64::from(first) | u64::from(last) << 32)
        } else if needs_escape(b) {
            TOP
        } else {
            0
        };
        if lanes & TOP == 0 {
            out.extend_from_slice(b);
            return;
        }
    }
    json_str_escaped(out, s);
}

/// A JSON string that needs escaping, without its quotes: escaped by serde_json.
#[cold]
fn json_str_escaped(out: &mut Vec<u8>, s: &str) {
    let start = out.len();
    json_serde(out, s);
    // serde_json wrote `"…"`: drop the quotes.
    if out.len() >= start + 2 && out[start] == b'"' && out.last() == Some(&b'"') {
        out.pop();
        out.remove(start);
    }
}

/// One in each byte of a word.
const LANES: u64 = 0x0101_0101_0101_0101;
/// The top bit of each byte of a word.
const TOP: u64 = 0x8080_8080_8080_8080;

/// The little-endian word of 8 bytes (any other length reads as zeros, which need escaping).
#[inline(always)]
fn word(b: &[u8]) -> u64 {
    u64::from_le_bytes(<[u8; 8]>::try_from(b).unwrap_or([0; 8]))
}

/// The little-endian word of 4 bytes (any other length reads as zeros, which need escaping).
#[inline(always)]
fn half_word(b: &[u8]) -> u32 {
    u32::from_le_bytes(<[u8; 4]>::try_from(b).unwrap_or([0; 4]))
}

/// A word whose byte lanes have their top bit set ([`TOP`]) somewhere if and only if a byte of
/// `w` is one JSON strings must escape ([`ESCAPED`]): a control character (below 0x20), `"`
/// or `\\`. Exact for "any", not per lane.
#[inline(always)]
fn escape_lanes(w: u64) -> u64 {
    // A zero byte in `x` sets the top bit of some byte of the result.
    let zero = |x: u64| x.wrapping_sub(LANES) & !x;
    (w.wrapping_sub(LANES * 0x20) & !w)
        | zero(w ^ (LANES * u64::from(b'"')))
        | zero(w ^ (LANES * u64::from(b'\\')))
}

/// Whether `s` holds a byte JSON strings must escape ([`ESCAPED`]): eight bytes at a time (the
/// last word may overlap the one before), short strings by table.
#[inline]
fn needs_escape(s: &[u8]) -> bool {
    if s.len() < 8 {
        return s
            .iter()
            .fold(false, |bad, &b| bad | ESCAPED[usize::from(b)]);
    }
    let mut hits = 0;
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        hits |= escape_lanes(word(w));
    }
    if !words.remainder().is_empty() {
        hits |= escape_lanes(word(&s[s.len() - 8..]));
    }
    hits & TOP != 0
}

/// The bytes JSON strings must escape: control characters, `"` and `\\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// A number as serde_json writes [`Decimal`]'s `Serialize`: the normalised integer when it
/// fits `i64`, else the nearest double in its shortest round-tripping form. Written directly
/// for such integers and for up to 15 significant digits in the range serde_json prints without
/// an exponent (such a decimal is exactly the shortest form of its nearest double, since two
/// decimals of up to 15 digits never share a double); anything else through serde_json.
fn json_decimal(out: &mut Vec<u8>, d: &Decimal) {
    if d.exponent() == 0 {
        if let Ok(m) = i64::try_from(d.mantissa()) {
            if m < 0 {
                out.push(b'-');
            }
            crate::decimal::write_uint(out, m.unsigned_abs());
            return;
        }
    }
    let n = d.normalized();
    if let Ok(m) = i64::try_from(n.mantissa()) {
        let e = n.exponent();
        let digits_max = 1_000_000_000_000_000; // 15 digits
        if e >= 0 {
            if let Some(v) = 10i64
                .checked_pow(e.unsigned_abs())
                .and_then(|p| m.checked_mul(p))
            {
                if v < 0 {
                    out.push(b'-');
                }
                crate::decimal::write_uint(out, v.unsigned_abs());
                return;
            }
        } else if m.unsigned_abs() < digits_max {
            let mut buf = [0u8; 20];
            let first = crate::decimal::uint_digits(m.unsigned_abs(), &mut buf);
            let digits = &buf[first..];
            // The power of ten of the first digit: serde_json prints -5..=15 without exponent.
            let lead = digits.len() as i32 - 1 + e;
            if (-5..=15).contains(&lead) {
                if m < 0 {
                    out.push(b'-');
                }
                if lead >= 0 {
                    // e < 0: at least one digit after the point.
                    let (int, frac) = digits.split_at(lead as usize + 1);
                    out.extend_from_slice(int);
                    out.push(b'.');
                    out.extend_from_slice(frac);
                } else {
                    out.extend_from_slice(b"0.");
                    out.extend_from_slice(&b"0000"[..(-lead - 1) as usize]);
                    out.extend_from_slice(digits);
                }
                return;
            }
        }
    }
    json_serde(out, d);
}

fn json_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A scalar as serde_json writes it (numbers, enums, escaped strings).
fn json_serde<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing these plain types into a Vec cannot fail; never panic on it either.
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn json_contract() {
        let mut r = Reading::new(Protocol::Dsmr);
        r.meter_id = Some("E0044007131650618".into());
        r.time = Some("2019-03-24T15:05:19+01:00".into());
        r.values.push(Value::number(
            "1-0:1.8.1*255",
            "003432.827".parse().expect("decimal"),
            Some("kWh"),
        ));
        r.values.push(Value::text("0-0:96.13.0*255", ""));
        let line = Message::Reading(r.clone()).to_json_line();
        assert_eq!(
            line,
            r#"{"protocol":"dsmr","meter_id":"E0044007131650618","time":"2019-03-24T15:05:19+01:00","values":[{"id":"1-0:1.8.1*255","value":3432.827,"unit":"kWh"},{"id":"0-0:96.13.0*255","value":""}]}"#
        );
        let back: Message = serde_json::from_str(&line).expect("parses back");
        assert_eq!(back, Message::Reading(r));
        let err = Message::error("crc_mismatch", "bad", Some(7));
        let line = err.to_json_line();
        assert_eq!(
            line,
            r#"{"error":{"kind":"crc_mismatch","message":"bad","offset":7}}"#
        );
        assert_eq!(
            serde_json::from_str::<Message>(&line).expect("parses back"),
            err
        );
    }

    /// Numbers are written exactly as serde_json writes `Decimal`: integers and fractions of
    /// every length and sign, around each edge of the direct path (15 digits, the exponents
    /// serde_json prints without `e`, `i64`).
    #[test]
    fn json_decimal_is_serde_json() {
        let mut mantissas: Vec<i128> = vec![0, 1, 5, 9, 10, 12, 100, 101, 1200, 54321];
        for k in 1..=38u32 {
            let p = 10i128.pow(k);
            mantissas.extend([p - 1, p, p + 1, p / 3, 7 * (p / 10) + 3]);
        }
        mantissas.extend([
            i128::from(i64::MAX),
            i128::from(i64::MIN),
            i128::MAX,
            i128::MIN,
        ]);
        // A fixed pseudo-random sequence (xorshift) for mantissas of every length.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 19) as u32 + 1;
            mantissas.push(i128::from(x % 10u64.pow(digits)));
        }
        let mut checked = 0;
        for &m in &mantissas {
            for e in -30..=30 {
                for sign in [1, -1] {
                    let Some(m) = m.checked_mul(sign) else {
                        continue;
                    };
                    let d = Decimal::new(m, e);
                    let mut out = Vec::new();
                    json_decimal(&mut out, &d);
                    let serde = serde_json::to_string(&d).expect("serialises");
                    assert_eq!(String::from_utf8_lossy(&out), serde, "{m}e{e}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 300_000);
    }

    /// Strings are copied as they are exactly when serde_json would not escape them, whatever
    /// their length and wherever the byte to escape lies (the word-wise test).
    #[test]
    fn json_str_is_serde_json() {
        let plain = "abcdefghijklmnopqrstuvwxyz0123456789 é°ÿ\u{7f}";
        for len in 0..=40 {
            let base: String = plain.chars().cycle().take(len).collect();
            let mut out = Vec::new();
            json_str(&mut out, &base);
            assert_eq!(
                out,
                serde_json::to_string(&base).expect("json").into_bytes()
            );
            for at in 0..len {
                for bad in ['"', '\\', '\u{0}', '\n', '\u{1f}'] {
                    let mut chars: Vec<char> = base.chars().collect();
                    chars[at] = bad;
                    let s: String = chars.into_iter().collect();
                    let mut out = Vec::new();
                    json_str(&mut out, &s);
                    assert_eq!(out, serde_json::to_string(&s).expect("json").into_bytes());
                    assert!(needs_escape(s.as_bytes()), "{s:?}");
                }
            }
            assert!(!needs_escape(base.as_bytes()), "{base:?}");
        }
    }

    /// `write_json` gives exactly serde_json's bytes, for every field present or absent and
    /// strings that need escaping.
    #[test]
    fn write_json_is_serde_json() {
        let mut r = Reading::new(Protocol::Mbus);
        r.values
            .push(Value::number("a", Decimal::new(-12345, -3), Some("m^3")));
        r.values.push(Value::number("b", Decimal::new(7, 30), None));
        r.values
            .push(Value::number("i", Decimal::from_int(-0), None));
        r.values.push(Value::number(
            "j",
            Decimal::from_int(i128::from(i64::MIN)),
            None,
        ));
        r.values
            .push(Value::number("k", Decimal::new(-1200, -2), None));
        r.values
            .push(Value::number("l", Decimal::from_int(-45).scaled(2), None));
        r.values
            .push(Value::number("c", Decimal::new(1, -400), Some("°C")));
        r.values.push(
            Value::text("d\"q\\", "tab\there\u{1}\u{7f}é\n")
                .record("Energy", "maximum", 3, 1, 2)
                .at("2019-03-24T15:05:19+01:00"),
        );
        r.values.push(Value {
            unverified: true,
            attribute: Some(-3),
            ..Value::number("e", Decimal::from_int(i128::from(i64::MAX) + 1), None)
        });
        r.values
            .push(Value::number("f", Decimal::from_int(0), None).record(
                "",
                "",
                u64::MAX,
                0,
                u32::MAX,
            ));
        for (storage, tariff, subunit) in [(0, 0, 0), (9, 5, 1), (1, 10, 0), (10, 0, 9), (3, 2, 11)]
        {
            r.values
                .push(Value::number("g", Decimal::from_int(1), Some("Wh")).record(
                    "Energy",
                    "instantaneous",
                    storage,
                    tariff,
                    subunit,
                ));
        }
        let mut with_all = r.clone();
        with_all.meter_id = Some("E004\"".into());
        with_all.time = Some("t".into());
        with_all.warnings = vec!["w1".into(), "\u{0}".into()];
        let messages = [
            Message::Reading(Reading::new(Protocol::Dsmr)),
            Message::Reading(r),
            Message::Reading(with_all),
            Message::error("crc_mismatch", "bad \"x\"", Some(7)),
            Message::error("k", "", None),
            Message::link(
                "req_ud2",
                Direction::ToMeter,
                Some(5),
                Some("FCB=1".into()),
                Some(12),
            ),
            Message::link("ack", Direction::FromMeter, None, None, None),
        ];
        for m in messages {
            let serde = serde_json::to_string(&m).expect("serialises");
            assert_eq!(m.to_json_line(), serde);
        }
    }

    /// A `ShortStr` is the `str` it holds, inline or not: equality, order, hash, JSON.
    #[test]
    fn short_str_is_its_str() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        let hash = |h: &dyn Fn(&mut DefaultHasher)| {
            let mut state = DefaultHasher::new();
            h(&mut state);
            state.finish()
        };
        let long = "x".repeat(ShortStr::INLINE + 1);
        let texts = ["", "kWh", "1-0:1.8.1*255", "°C", "a\"b", &long[1..], &long];
        for a in texts {
            let short = ShortStr::from(a);
            assert_eq!(short.as_str(), a);
            assert_eq!(short.as_bytes(), a.as_bytes());
            assert_eq!(ShortStr::from(a.to_string()), short);
            assert_eq!(String::from(short.clone()), a);
            assert_eq!(short, a);
            assert_eq!(a, short);
            assert_eq!(a.to_string(), short);
            assert_eq!(hash(&|s| short.hash(s)), hash(&|s| a.hash(s)), "{a:?}");
            assert_eq!(
                serde_json::to_string(&short).expect("serialises"),
                serde_json::to_string(a).expect("serialises")
            );
            let back: ShortStr = serde_json::from_str(&serde_json::to_string(a).expect("json"))
                .expect("deserialises");
            assert_eq!(back, a);
            for b in texts {
                assert_eq!(short.cmp(&ShortStr::from(b)), a.cmp(b), "{a:?} {b:?}");
            }
        }
        assert_eq!(ShortStr::from_ascii(b"1-0:1.8.1*255"), "1-0:1.8.1*255");
        let mut buffer = [b'x'; ShortStr::INLINE];
        buffer[..3].copy_from_slice(b"kWh");
        assert_eq!(ShortStr::from_ascii_buffer(buffer, 3), "kWh");
        let whole = format!("kWh{}", "x".repeat(ShortStr::INLINE - 3));
        assert_eq!(ShortStr::from_ascii_buffer(buffer, 99), whole);
        buffer[1] = 0xE9;
        assert_eq!(ShortStr::from_ascii_buffer(buffer, 3), "k\u{fffd}h");
        assert_eq!(ShortStr::from_ascii(b"a\xe9"), "a\u{fffd}");
    }

    /// The M-Bus details are flat keys of the value's JSON: any subset of them reads back into
    /// `record` (nothing else), none of them leaves it `None`, and what is read is written again
    /// byte for byte.
    #[test]
    fn record_details_are_flat_keys() {
        let cases = [
            (r#"{"id":"a","value":1}"#, None),
            (
                r#"{"id":"a","value":1,"unit":"Wh","storage":3}"#,
                Some(RecordDetails {
                    storage: Some(3),
                    ..RecordDetails::default()
                }),
            ),
            (
                r#"{"id":"a","value":"x","time":"t","quantity":"Energy","function":"maximum","storage":0,"tariff":1,"subunit":2,"unverified":true,"attribute":5}"#,
                Some(RecordDetails {
                    quantity: Some("Energy".into()),
                    function: Some("maximum".into()),
                    storage: Some(0),
                    tariff: Some(1),
                    subunit: Some(2),
                }),
            ),
        ];
        for (json, record) in cases {
            let v: Value = serde_json::from_str(json).expect(json);
            assert_eq!(v.record.as_deref(), record.as_ref(), "{json}");
            assert_eq!(serde_json::to_string(&v).expect("serialised"), json);
            let mut written = Vec::new();
            v.write_json(&mut written);
            assert_eq!(String::from_utf8_lossy(&written), json);
        }
        let v: Value =
            serde_json::from_str(r#"{"id":"a","value":2.5,"tariff":4}"#).expect("a value");
        assert_eq!(
            (v.quantity(), v.storage(), v.tariff(), v.subunit()),
            (None, None, Some(4), None)
        );
        assert_eq!(v.value, Scalar::Number(Decimal::new(25, -1)));
    }

    #[test]
    fn same_data_tells_attributes_apart() {
        let value = |attribute: Option<i8>| Value {
            attribute,
            ..Value::number("0-0:96.3.10*255", Decimal::from_int(1), None)
        };
        let mut a = Reading::new(Protocol::Dlms);
        a.values = vec![value(None), value(Some(3))];
        let mut b = a.clone();
        b.values.reverse();
        assert!(a.same_data(&b));
        b.values = vec![value(None), value(None)];
        assert!(!a.same_data(&b));
    }

    #[test]
    fn link_messages_round_trip_and_are_neither_reading_nor_error() {
        let m = Message::link(
            "req_ud2",
            Direction::ToMeter,
            Some(5),
            Some("FCB=1".into()),
            Some(12),
        );
        let line = m.to_json_line();
        assert_eq!(
            line,
            r#"{"link":{"kind":"req_ud2","direction":"to_meter","address":5,"detail":"FCB=1","offset":12}}"#
        );
        assert_eq!(serde_json::from_str::<Message>(&line).expect("parses"), m);
        assert!(m.reading().is_none() && m.error_report().is_none());
        assert_eq!(m.link_report().map(|l| l.kind.as_str()), Some("req_ud2"));
        let ack: Message =
            serde_json::from_str(r#"{"link":{"kind":"ack","direction":"from_meter"}}"#)
                .expect("minimal link line");
        assert_eq!(
            ack,
            Message::link("ack", Direction::FromMeter, None, None, None)
        );
        assert!(serde_json::from_str::<Message>(r#"{"link":{"kind":"ack"}}"#).is_err());
    }

    #[test]
    fn same_data_ignores_order_and_warnings() {
        let mut a = Reading::new(Protocol::Dsmr);
        a.values.push(Value::number(
            "1-0:1.8.1*255",
            "1.5".parse().expect("decimal"),
            Some("kWh"),
        ));
        a.values.push(Value::number(
            "1-0:1.8.2*255",
            "2".parse().expect("decimal"),
            Some("kWh"),
        ));
        let mut b = a.clone();
        b.values.reverse();
        b.warnings.push("odd".into());
        assert!(a.same_data(&b));
        b.values[0].value = Scalar::Number("2.0".parse().expect("decimal"));
        assert!(a.same_data(&b));
        b.values[1].unit = Some("Wh".into());
        assert!(!a.same_data(&b));
    }
}
