//! Faults of a serial line: what goes wrong between a meter's UART and a reader's, seeded.
//!
//! A [`Fault`] comes from the scenario file. Each one becomes a *layer* of the channel:
//!
//! - byte-level layers (drop, duplicate, garbage, truncate, drop_message, gap, junk) change the
//!   sequence of bytes handed to the transmitter, as a flaky meter firmware, a buffer overrun or
//!   a stalled USB adapter would;
//! - bit-level layers (noise, burst) change the bit cells of the characters on the wire, as
//!   electrical noise does. They act on the cells of transmitted characters only; an idle line
//!   stays clean.
//!
//! Layers apply in the order the faults are listed. Each layer draws from its own stream, named
//! by the fault itself: `seed.derive("fault").derive(text).index(n)`, where `text` is the fault's
//! canonical text (its [`Display`](fmt::Display) form: kind and parameters, e.g.
//! `drop rate=0.01`) and `n` counts the earlier faults with the same text (so two identical
//! faults still draw differently). A fault with an explicit `id:` ([`Fault::Named`]) draws from
//! `seed.derive("fault").derive("id:" + id)` instead, so its parameters can change without
//! changing its draws. What a layer selects depends only on that stream and on the
//! position in the traffic (the index of an original byte, of a bit cell), never on what another
//! layer did or where it stands in the list: adding, removing or moving a fault does not change
//! the choices of the others.
//! Offsets always index the original bytes of a message, whatever earlier layers did; a layer
//! that selects a byte an earlier layer removed does nothing (but still makes its draws).

use std::fmt;

use super::uart::LineError;
use crate::seed::{Seed, SimRng};

/// The longest fault `id`, characters.
pub const MAX_ID_LEN: usize = 64;

/// The most bytes a garbage or junk fault may insert at once.
pub const MAX_FAULT_BYTES: usize = 1 << 20;

/// The longest burst, in bit cells.
pub const MAX_BURST_BITS: u32 = 4096;

/// The longest gap, in milliseconds (one day).
pub const MAX_GAP_MS: f64 = 86_400_000.0;

/// Which original bytes a byte-level fault hits.
///
/// In a scenario: `{message: 2, offset: 100}`, `{rate: 0.001}` or `{every: 500}`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged, try_from = "RawWhere")]
pub enum Where {
    /// One byte: `offset` (0-based) in message `message` (0-based, in send order).
    At {
        /// The message, counted from 0 in send order.
        message: usize,
        /// The byte in the message as given to `send`, from 0.
        offset: usize,
    },
    /// Each byte independently with probability `rate`.
    Rate {
        /// Probability per byte, in [0, 1].
        rate: f64,
    },
    /// Every `every`-th byte of the traffic, counted over all messages (the `every`-th, the
    /// 2·`every`-th, ...).
    Every {
        /// The period in bytes, at least 1.
        every: usize,
    },
}

impl Where {
    fn validate(&self) -> Result<(), String> {
        match *self {
            Where::At { .. } => Ok(()),
            Where::Rate { rate } => check_probability("rate", rate),
            Where::Every { every } => {
                if every == 0 {
                    Err("every must be at least 1".into())
                } else {
                    Ok(())
                }
            }
        }
    }
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Where::At { message, offset } => write!(f, "message {message} offset {offset}"),
            Where::Rate { rate } => write!(f, "rate={}", Rate(*rate)),
            Where::Every { every } => write!(f, "every {every}"),
        }
    }
}

/// The fields a [`Where`] may be given with; exactly one form must be complete.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhere {
    message: Option<usize>,
    offset: Option<usize>,
    rate: Option<f64>,
    every: Option<usize>,
}

impl TryFrom<RawWhere> for Where {
    type Error = String;

    fn try_from(raw: RawWhere) -> Result<Where, String> {
        let place = match (raw.message, raw.offset, raw.rate, raw.every) {
            (Some(message), Some(offset), None, None) => Where::At { message, offset },
            (None, None, Some(rate), None) => Where::Rate { rate },
            (None, None, None, Some(every)) => Where::Every { every },
            _ => {
                return Err(
                    "expected either message and offset, or rate, or every (and nothing else)"
                        .into(),
                )
            }
        };
        place.validate()?;
        Ok(place)
    }
}

/// One thing that goes wrong on a line, as written in a scenario (a YAML list item like
/// `- noise: { ber: 1.0e-4 }` or `- drop: { message: 2, offset: 100 }`).
///
/// Serde form: a map with one key, the fault's snake_case name, whose value holds the fields
/// (unknown fields are errors, and the values are validated). Deserializing also accepts the
/// enum forms of self-describing formats, such as a YAML tag (`!noise { ber: 1.0e-4 }`).
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Each transmitted bit cell (start, data, parity, stop) is inverted with probability `ber`.
    Noise {
        /// Bit error rate, in [0, 1].
        ber: f64,
    },
    /// Per transmitted bit cell, probability `rate` that a burst starts there: that cell and the
    /// next `bits - 1` cells get random levels.
    Burst {
        /// Probability per bit cell that a burst starts, in [0, 1].
        rate: f64,
        /// Length of a burst in bit cells.
        bits: u32,
    },
    /// The selected bytes are never sent.
    Drop(Where),
    /// The selected bytes are sent twice in a row.
    Duplicate(Where),
    /// `len` random bytes are sent before each selected byte.
    Garbage {
        /// Which bytes.
        at: Where,
        /// How many random bytes.
        len: usize,
    },
    /// Message `message` is cut after `at` bytes: the rest is never sent.
    Truncate {
        /// The message, from 0 in send order.
        message: usize,
        /// How many original bytes are kept.
        at: usize,
    },
    /// Message `message` is never sent.
    DropMessage {
        /// The message, from 0 in send order.
        message: usize,
    },
    /// The line stays idle `ms` milliseconds before each selected byte (a stall).
    Gap {
        /// Which bytes.
        at: Where,
        /// Idle time in milliseconds.
        ms: f64,
    },
    /// Wake-up garbage: `len` random bytes sent from t = 0, before anything else, at the
    /// sender's settings.
    Junk {
        /// How many random bytes.
        len: usize,
    },
    /// The selected bytes are sent XORed with `xor` (bits changed where `xor` has ones): a
    /// targeted corruption, e.g. one bit of a checksum or a GCM tag.
    Corrupt {
        /// Which bytes.
        at: Where,
        /// The bits to flip (not 0).
        xor: u8,
    },
    /// A fault with an explicit `id:` (beside its name in its list item): it draws from the
    /// stream named by the id instead of by its canonical text, so changing its parameters
    /// keeps its draws. Build it with [`Fault::named`]; it never wraps another `Named`.
    Named {
        /// The id, unique among the faults of a scenario.
        id: String,
        /// The fault.
        fault: Box<Fault>,
    },
}

impl Fault {
    /// Checks the parameters: rates in [0, 1], lengths 1..=[`MAX_FAULT_BYTES`], burst bits
    /// 1..=[`MAX_BURST_BITS`], gaps 0..=[`MAX_GAP_MS`], `every` at least 1. Faults read with
    /// serde are always valid.
    pub fn validate(&self) -> Result<(), LineError> {
        self.check().map_err(|reason| LineError::Fault {
            fault: self.to_string(),
            reason,
        })
    }

    /// `fault` with the explicit id `id` (an id given to a fault that has one replaces it).
    pub fn named(id: impl Into<String>, fault: Fault) -> Fault {
        Fault::Named {
            id: id.into(),
            fault: Box::new(fault.kind().clone()),
        }
    }

    /// The fault itself, without its id.
    pub fn kind(&self) -> &Fault {
        match self {
            Fault::Named { fault, .. } => fault.kind(),
            other => other,
        }
    }

    /// The explicit id, if the fault has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Fault::Named { id, .. } => Some(id),
            _ => None,
        }
    }

    fn check(&self) -> Result<(), String> {
        match self {
            Fault::Named { id, fault } => {
                if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
                    return Err(format!(
                        "id must be 1 to {MAX_ID_LEN} characters, no control characters"
                    ));
                }
                fault.check()
            }
            Fault::Noise { ber } => check_probability("ber", *ber),
            Fault::Burst { rate, bits } => {
                check_probability("rate", *rate)?;
                if !(1..=MAX_BURST_BITS).contains(bits) {
                    return Err(format!("bits must be in 1..={MAX_BURST_BITS}"));
                }
                Ok(())
            }
            Fault::Drop(at) | Fault::Duplicate(at) => at.validate(),
            Fault::Garbage { at, len } => {
                at.validate()?;
                check_len(*len)
            }
            Fault::Junk { len } => check_len(*len),
            Fault::Gap { at, ms } => {
                at.validate()?;
                if !(0.0..=MAX_GAP_MS).contains(ms) {
                    return Err(format!("ms must be in 0..={MAX_GAP_MS}"));
                }
                Ok(())
            }
            Fault::Truncate { .. } | Fault::DropMessage { .. } => Ok(()),
            Fault::Corrupt { at, xor } => {
                at.validate()?;
                if *xor == 0 {
                    return Err("xor must flip at least one bit".into());
                }
                Ok(())
            }
        }
    }

    /// The fault's name in a scenario: `noise`, `drop_message`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Named { fault, .. } => fault.name(),
            Fault::Noise { .. } => "noise",
            Fault::Burst { .. } => "burst",
            Fault::Drop(_) => "drop",
            Fault::Duplicate(_) => "duplicate",
            Fault::Garbage { .. } => "garbage",
            Fault::Truncate { .. } => "truncate",
            Fault::DropMessage { .. } => "drop_message",
            Fault::Gap { .. } => "gap",
            Fault::Junk { .. } => "junk",
            Fault::Corrupt { .. } => "corrupt",
        }
    }

    /// Whether the fault acts on bit cells (noise, burst) rather than on bytes.
    pub fn is_bit_level(&self) -> bool {
        matches!(self.kind(), Fault::Noise { .. } | Fault::Burst { .. })
    }
}

fn check_probability(name: &str, p: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{name} must be in [0, 1], not {p}"))
    }
}

fn check_len(len: usize) -> Result<(), String> {
    if (1..=MAX_FAULT_BYTES).contains(&len) {
        Ok(())
    } else {
        Err(format!("len must be in 1..={MAX_FAULT_BYTES}"))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Noise { ber } => write!(f, "noise ber={}", Rate(*ber)),
            Fault::Burst { rate, bits } => write!(f, "burst rate={} bits={bits}", Rate(*rate)),
            Fault::Drop(at) => write!(f, "drop {at}"),
            Fault::Duplicate(at) => write!(f, "duplicate {at}"),
            Fault::Garbage { at, len } => write!(f, "garbage len={len} {at}"),
            Fault::Truncate { message, at } => write!(f, "truncate message {message} at {at}"),
            Fault::DropMessage { message } => write!(f, "drop whole message {message}"),
            Fault::Gap { at, ms } => write!(f, "gap {ms} ms {at}"),
            Fault::Junk { len } => write!(f, "junk len={len}"),
            Fault::Corrupt { at, xor } => write!(f, "corrupt xor={xor:#04x} {at}"),
            Fault::Named { id, fault } => write!(f, "{fault} id={id}"),
        }
    }
}

/// A probability as people write it: `1e-4`, `1.5e-5`, but `0`, `0.05`, `1`.
struct Rate(f64);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0.0 || self.0.abs() >= 0.01 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:e}", self.0)
        }
    }
}

/// The names of the faults in a scenario.
const FAULT_NAMES: &[&str] = &[
    "noise",
    "burst",
    "drop",
    "duplicate",
    "garbage",
    "truncate",
    "drop_message",
    "gap",
    "junk",
    "corrupt",
];

/// The value under a fault's name, for serializing.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Noise {
        ber: f64,
    },
    Burst {
        rate: f64,
        bits: u32,
    },
    Where(&'a Where),
    Garbage {
        #[serde(flatten)]
        at: &'a Where,
        len: usize,
    },
    Truncate {
        message: usize,
        at: usize,
    },
    Message {
        message: usize,
    },
    Gap {
        #[serde(flatten)]
        at: &'a Where,
        ms: f64,
    },
    Junk {
        len: usize,
    },
    Corrupt {
        #[serde(flatten)]
        at: &'a Where,
        xor: u8,
    },
}

impl serde::Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if let Fault::Named { id, fault } = self {
            let mut map = serializer.serialize_map(Some(2))?;
            map.serialize_entry(fault.name(), &Body::of(fault))?;
            map.serialize_entry("id", id)?;
            return map.end();
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.name(), &Body::of(self))?;
        map.end()
    }
}

impl<'a> Body<'a> {
    /// The value under the name of `fault` (not `Named`).
    fn of(fault: &'a Fault) -> Body<'a> {
        match fault {
            Fault::Noise { ber } => Body::Noise { ber: *ber },
            Fault::Burst { rate, bits } => Body::Burst {
                rate: *rate,
                bits: *bits,
            },
            Fault::Drop(at) | Fault::Duplicate(at) => Body::Where(at),
            Fault::Garbage { at, len } => Body::Garbage { at, len: *len },
            Fault::Truncate { message, at } => Body::Truncate {
                message: *message,
                at: *at,
            },
            Fault::DropMessage { message } => Body::Message { message: *message },
            Fault::Gap { at, ms } => Body::Gap { at, ms: *ms },
            Fault::Junk { len } => Body::Junk { len: *len },
            Fault::Corrupt { at, xor } => Body::Corrupt { at, xor: *xor },
            Fault::Named { fault, .. } => Body::of(fault),
        }
    }
}

/// Where the value under a fault's name comes from: a map entry or an enum variant.
trait FaultBody<'de> {
    type Error: serde::de::Error;
    fn value<T: serde::Deserialize<'de>>(self) -> Result<T, Self::Error>;
}

impl<'de, A: serde::de::MapAccess<'de>> FaultBody<'de> for &mut A {
    type Error = A::Error;
    fn value<T: serde::Deserialize<'de>>(self) -> Result<T, A::Error> {
        self.next_value()
    }
}

/// The value of an enum variant (a YAML tag).
struct Variant<V>(V);

impl<'de, V: serde::de::VariantAccess<'de>> FaultBody<'de> for Variant<V> {
    type Error = V::Error;
    fn value<T: serde::Deserialize<'de>>(self) -> Result<T, V::Error> {
        self.0.newtype_variant()
    }
}

/// Reads the fault named `name` from its value, strictly, and validates it.
fn fault_from<'de, B: FaultBody<'de>>(name: &str, body: B) -> Result<Fault, B::Error> {
    use serde::de::Error;
    let at = |raw: RawWhere| Where::try_from(raw).map_err(|reason| invalid(name, reason));
    let fault = match name {
        "noise" => {
            let raw: RawNoise = body.value()?;
            Fault::Noise { ber: raw.ber }
        }
        "burst" => {
            let raw: RawBurst = body.value()?;
            Fault::Burst {
                rate: raw.rate,
                bits: raw.bits,
            }
        }
        "drop" => Fault::Drop(at(body.value()?)?),
        "duplicate" => Fault::Duplicate(at(body.value()?)?),
        "garbage" => {
            let raw: RawGarbage = body.value()?;
            let place = at(RawWhere {
                message: raw.message,
                offset: raw.offset,
                rate: raw.rate,
                every: raw.every,
            })?;
            Fault::Garbage {
                at: place,
                len: raw.len,
            }
        }
        "truncate" => {
            let raw: RawTruncate = body.value()?;
            Fault::Truncate {
                message: raw.message,
                at: raw.at,
            }
        }
        "drop_message" => {
            let raw: RawMessage = body.value()?;
            Fault::DropMessage {
                message: raw.message,
            }
        }
        "gap" => {
            let raw: RawGap = body.value()?;
            let place = at(RawWhere {
                message: raw.message,
                offset: raw.offset,
                rate: raw.rate,
                every: raw.every,
            })?;
            Fault::Gap {
                at: place,
                ms: raw.ms,
            }
        }
        "junk" => {
            let raw: RawJunk = body.value()?;
            Fault::Junk { len: raw.len }
        }
        "corrupt" => {
            let raw: RawCorrupt = body.value()?;
            let place = at(RawWhere {
                message: raw.message,
                offset: raw.offset,
                rate: raw.rate,
                every: raw.every,
            })?;
            Fault::Corrupt {
                at: place,
                xor: raw.xor,
            }
        }
        other => return Err(B::Error::unknown_variant(other, FAULT_NAMES)),
    };
    fault.validate().map_err(B::Error::custom)?;
    Ok(fault)
}

fn invalid<E: serde::de::Error>(name: &str, reason: String) -> E {
    E::custom(LineError::Fault {
        fault: name.to_owned(),
        reason,
    })
}

impl<'de> serde::Deserialize<'de> for Fault {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Fault, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Fault;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fault: a map with one key naming it, like {noise: {ber: 1.0e-4}}")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fault, A::Error> {
                use serde::de::Error;
                let mut fault: Option<Fault> = None;
                let mut id: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "id" && id.is_none() {
                        id = Some(map.next_value()?);
                    } else if let Some(first) = &fault {
                        return Err(A::Error::custom(format!(
                            "a fault is a map with one key (and `id`); write each fault as its own list item (`{key}` after {})",
                            first.name()
                        )));
                    } else {
                        fault = Some(fault_from(&key, &mut map)?);
                    }
                }
                let fault = fault.ok_or_else(|| A::Error::invalid_length(0, &self))?;
                match id {
                    Some(id) => {
                        let named = Fault::named(id, fault);
                        named.validate().map_err(A::Error::custom)?;
                        Ok(named)
                    }
                    None => Ok(fault),
                }
            }

            fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Fault, A::Error> {
                let (name, variant): (String, _) = data.variant()?;
                fault_from(&name, Variant(variant))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNoise {
    ber: f64,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBurst {
    rate: f64,
    bits: u32,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTruncate {
    message: usize,
    at: usize,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    message: usize,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJunk {
    len: usize,
}

/// The scenario form of [`Fault::Garbage`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGarbage {
    message: Option<usize>,
    offset: Option<usize>,
    rate: Option<f64>,
    every: Option<usize>,
    len: usize,
}

/// The scenario form of [`Fault::Corrupt`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrupt {
    message: Option<usize>,
    offset: Option<usize>,
    rate: Option<f64>,
    every: Option<usize>,
    xor: u8,
}

/// The scenario form of [`Fault::Gap`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGap {
    message: Option<usize>,
    offset: Option<usize>,
    rate: Option<f64>,
    every: Option<usize>,
    ms: f64,
}

/// What one fault layer did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaultCounts {
    /// Bit cells whose level the layer changed (noise: every flip; burst: cells a burst set to
    /// the other level).
    pub bits_flipped: u64,
    /// Bursts started.
    pub bursts: u64,
    /// Bytes removed: dropped, truncated away, or in a dropped message.
    pub bytes_dropped: u64,
    /// Bytes sent a second time.
    pub bytes_duplicated: u64,
    /// Random bytes inserted (garbage, junk).
    pub bytes_inserted: u64,
    /// Messages cut short.
    pub messages_truncated: u64,
    /// Messages not sent at all.
    pub messages_dropped: u64,
    /// Gaps inserted.
    pub gaps: u64,
    /// Total idle time inserted, in ns.
    pub gap_ns: u64,
    /// Bytes changed by a corrupt fault.
    pub bytes_corrupted: u64,
}

impl FaultCounts {
    fn add(&mut self, other: &FaultCounts) {
        self.bits_flipped += other.bits_flipped;
        self.bursts += other.bursts;
        self.bytes_dropped += other.bytes_dropped;
        self.bytes_duplicated += other.bytes_duplicated;
        self.bytes_inserted += other.bytes_inserted;
        self.messages_truncated += other.messages_truncated;
        self.messages_dropped += other.messages_dropped;
        self.gaps += other.gaps;
        self.gap_ns += other.gap_ns;
        self.bytes_corrupted += other.bytes_corrupted;
    }
}

impl fmt::Display for FaultCounts {
    /// The non-zero counts, like `12 bits flipped, 1 byte dropped`, or `no effect`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = [
            (self.bits_flipped, "bit flipped", "bits flipped"),
            (self.bursts, "burst", "bursts"),
            (self.bytes_dropped, "byte dropped", "bytes dropped"),
            (self.bytes_duplicated, "byte duplicated", "bytes duplicated"),
            (self.bytes_inserted, "byte inserted", "bytes inserted"),
            (
                self.messages_truncated,
                "message truncated",
                "messages truncated",
            ),
            (self.messages_dropped, "message dropped", "messages dropped"),
            (self.gaps, "gap", "gaps"),
            (self.bytes_corrupted, "byte corrupted", "bytes corrupted"),
        ];
        let mut first = true;
        for (n, one, many) in items {
            if n == 0 {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n} {}", if n == 1 { one } else { many })?;
        }
        if self.gap_ns > 0 {
            write!(f, " ({} ms idle)", self.gap_ns as f64 / 1e6)?;
        }
        if first {
            f.write_str("no effect")?;
        }
        Ok(())
    }
}

/// One fault and what it did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FaultLogEntry {
    /// The fault, as configured.
    pub fault: Fault,
    /// What it did so far.
    pub counts: FaultCounts,
}

/// What the fault layers of a channel did so far, one entry per fault in configuration order.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct FaultLog {
    entries: Vec<FaultLogEntry>,
}

impl FaultLog {
    /// One entry per fault, in configuration order.
    pub fn entries(&self) -> &[FaultLogEntry] {
        &self.entries
    }

    /// The sum over all faults.
    pub fn total(&self) -> FaultCounts {
        let mut total = FaultCounts::default();
        for entry in &self.entries {
            total.add(&entry.counts);
        }
        total
    }
}

impl fmt::Display for FaultLog {
    /// One line, faults separated by `; `: `noise ber=1e-3: 1012 bits flipped; drop every 500:
    /// 2 bytes dropped`; empty without faults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", entry.fault, entry.counts)?;
        }
        Ok(())
    }
}

/// A byte on its way to the transmitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    /// The byte.
    pub byte: u8,
    /// Its offset in the message as given, `None` for bytes a fault added.
    pub origin: Option<usize>,
    /// Idle time before it, in ns.
    pub gap_ns: u64,
}

/// One fault with its random stream and position.
#[derive(Clone, Debug)]
struct Layer {
    fault: Fault,
    rng: SimRng,
    /// Rate-driven layers: the index (original byte or bit cell) of the next hit.
    next: u64,
    /// Burst: cells left in the current burst.
    burst_left: u32,
}

impl Layer {
    fn new(fault: Fault, seed: Seed) -> Layer {
        let fault = fault.kind().clone();
        let mut rng = seed.rng();
        let rate = match &fault {
            Fault::Noise { ber } => Some(*ber),
            Fault::Burst { rate, .. } => Some(*rate),
            Fault::Drop(Where::Rate { rate })
            | Fault::Duplicate(Where::Rate { rate })
            | Fault::Garbage {
                at: Where::Rate { rate },
                ..
            }
            | Fault::Gap {
                at: Where::Rate { rate },
                ..
            } => Some(*rate),
            _ => None,
        };
        // `geometric` counts trials to the first hit (≥ 1), so the first hit's 0-based index is
        // one less.
        let next = rate.map_or(0, |p| rng.geometric(p).saturating_sub(1));
        Layer {
            fault,
            rng,
            next,
            burst_left: 0,
        }
    }

    /// The offsets of a message's original bytes this layer's [`Where`] selects. `first` is the
    /// traffic index of the message's first byte.
    fn hits(&mut self, at: Where, message: usize, first: u64, len: usize) -> Vec<usize> {
        let end = first + len as u64;
        match at {
            Where::At { message: m, offset } => {
                if m == message && offset < len {
                    vec![offset]
                } else {
                    Vec::new()
                }
            }
            Where::Rate { rate } => {
                let mut hits = Vec::new();
                while self.next < end {
                    hits.push((self.next - first) as usize);
                    self.next = self.next.saturating_add(self.rng.geometric(rate));
                }
                hits
            }
            Where::Every { every } => {
                let every = every.max(1) as u64;
                // Traffic indices i with (i + 1) % every == 0.
                let mut index = first + (every - 1 - first % every);
                let mut hits = Vec::new();
                while index < end {
                    hits.push((index - first) as usize);
                    index += every;
                }
                hits
            }
        }
    }

    /// Applies a byte-level fault to one message's items.
    fn apply_bytes(
        &mut self,
        items: Vec<Item>,
        message: usize,
        first: u64,
        len: usize,
        counts: &mut FaultCounts,
    ) -> Vec<Item> {
        match self.fault.clone() {
            Fault::Truncate { message: m, at } => {
                if m != message || at >= len {
                    return items;
                }
                let mut items = items;
                let cut = items
                    .iter()
                    .position(|item| item.origin.is_some_and(|o| o >= at))
                    .unwrap_or(items.len());
                counts.messages_truncated += 1;
                counts.bytes_dropped += (items.len() - cut) as u64;
                items.truncate(cut);
                items
            }
            Fault::DropMessage { message: m } => {
                if m != message {
                    return items;
                }
                counts.messages_dropped += 1;
                counts.bytes_dropped += items.len() as u64;
                Vec::new()
            }
            Fault::Drop(at) => {
                let hits = self.hits(at, message, first, len);
                let mut out = Vec::with_capacity(items.len());
                let mut selected = Selected::new(&hits);
                for item in items {
                    if selected.hit(item.origin).is_some() {
                        counts.bytes_dropped += 1;
                    } else {
                        out.push(item);
                    }
                }
                out
            }
            Fault::Duplicate(at) => {
                let hits = self.hits(at, message, first, len);
                let mut out = Vec::with_capacity(items.len() + hits.len());
                let mut selected = Selected::new(&hits);
                for item in items {
                    out.push(item);
                    if selected.hit(item.origin).is_some() {
                        counts.bytes_duplicated += 1;
                        out.push(Item {
                            origin: None,
                            gap_ns: 0,
                            ..item
                        });
                    }
                }
                out
            }
            Fault::Garbage { at, len: n } => {
                let hits = self.hits(at, message, first, len);
                // Draw every hit's bytes, present or not, so later draws do not depend on
                // what other layers removed.
                let garbage: Vec<Vec<u8>> = hits
                    .iter()
                    .map(|_| (0..n).map(|_| self.rng.byte()).collect())
                    .collect();
                let mut out = Vec::with_capacity(items.len() + hits.len() * n);
                let mut selected = Selected::new(&hits);
                for item in items {
                    if let Some(h) = selected.hit(item.origin) {
                        counts.bytes_inserted += n as u64;
                        out.extend(garbage[h].iter().map(|&byte| Item {
                            byte,
                            origin: None,
                            gap_ns: 0,
                        }));
                    }
                    out.push(item);
                }
                out
            }
            Fault::Gap { at, ms } => {
                let hits = self.hits(at, message, first, len);
                let gap_ns = (ms * 1e6).round() as u64;
                let mut items = items;
                let mut selected = Selected::new(&hits);
                for item in &mut items {
                    if selected.hit(item.origin).is_some() {
                        counts.gaps += 1;
                        counts.gap_ns += gap_ns;
                        item.gap_ns = item.gap_ns.saturating_add(gap_ns);
                    }
                }
                items
            }
            Fault::Corrupt { at, xor } => {
                let hits = self.hits(at, message, first, len);
                let mut items = items;
                let mut selected = Selected::new(&hits);
                for item in &mut items {
                    if selected.hit(item.origin).is_some() {
                        counts.bytes_corrupted += 1;
                        item.byte ^= xor;
                    }
                }
                items
            }
            Fault::Noise { .. }
            | Fault::Burst { .. }
            | Fault::Junk { .. }
            | Fault::Named { .. } => items,
        }
    }

    /// Applies a bit-level fault to one character's cells; `first` is the traffic index of its
    /// first cell.
    fn apply_bits(&mut self, cells: &mut [bool], first: u64, counts: &mut FaultCounts) {
        match self.fault {
            Fault::Noise { ber } => {
                let end = first + cells.len() as u64;
                while self.next < end {
                    let cell = &mut cells[(self.next - first) as usize];
                    *cell = !*cell;
                    counts.bits_flipped += 1;
                    self.next = self.next.saturating_add(self.rng.geometric(ber));
                }
            }
            Fault::Burst { rate, bits } => {
                for (i, cell) in cells.iter_mut().enumerate() {
                    if first + i as u64 == self.next {
                        counts.bursts += 1;
                        self.burst_left = bits;
                        self.next = self.next.saturating_add(self.rng.geometric(rate));
                    }
                    if self.burst_left > 0 {
                        self.burst_left -= 1;
                        let level = self.rng.next_u64() >> 63 == 1;
                        if level != *cell {
                            counts.bits_flipped += 1;
                            *cell = level;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Walks the sorted hit offsets alongside a message's items (whose origins increase).
struct Selected<'a> {
    hits: &'a [usize],
    next: usize,
}

impl<'a> Selected<'a> {
    fn new(hits: &'a [usize]) -> Self {
        Selected { hits, next: 0 }
    }

    /// The index in `hits` of the hit on this item, if it is an original byte that is hit.
    fn hit(&mut self, origin: Option<usize>) -> Option<usize> {
        let origin = origin?;
        while self.hits.get(self.next).is_some_and(|&h| h < origin) {
            self.next += 1;
        }
        if self.hits.get(self.next) == Some(&origin) {
            self.next += 1;
            Some(self.next - 1)
        } else {
            None
        }
    }
}

/// All fault layers of one channel direction, with their log.
#[derive(Clone, Debug)]
pub(crate) struct FaultLayers {
    layers: Vec<Layer>,
    log: FaultLog,
}

impl FaultLayers {
    /// The layers for these faults; each draws from [`FaultLayers::seed_of`] its fault.
    pub fn new(faults: Vec<Fault>, seed: Seed) -> FaultLayers {
        let base = seed.derive("fault");
        let mut seen: Vec<String> = Vec::with_capacity(faults.len());
        let log = FaultLog {
            entries: faults
                .iter()
                .map(|fault| FaultLogEntry {
                    fault: fault.clone(),
                    counts: FaultCounts::default(),
                })
                .collect(),
        };
        let layers = faults
            .into_iter()
            .map(|fault| {
                // An explicit id names the stream; ids and canonical texts are kept apart.
                let text = match fault.id() {
                    Some(id) => format!("id:{id}"),
                    None => fault.to_string(),
                };
                let occurrence = seen.iter().filter(|t| **t == text).count();
                let layer = Layer::new(fault, Self::seed_of(base, &text, occurrence));
                seen.push(text);
                layer
            })
            .collect();
        FaultLayers { layers, log }
    }

    /// The sub-seed of a fault: from its canonical text (kind and parameters), or `id:` and its
    /// explicit id, and how many faults with the same text come before it in the list, never
    /// from its position.
    fn seed_of(base: Seed, text: &str, occurrence: usize) -> Seed {
        base.derive(text).index(occurrence as u64)
    }

    /// The wake-up junk to send from t = 0, over all junk faults in order.
    pub fn junk(&mut self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (layer, entry) in self.layers.iter_mut().zip(&mut self.log.entries) {
            if let Fault::Junk { len } = layer.fault {
                bytes.extend((0..len).map(|_| layer.rng.byte()));
                entry.counts.bytes_inserted += len as u64;
            }
        }
        bytes
    }

    /// The bytes to transmit for message number `message`, whose first byte has traffic index
    /// `first` (original bytes of all earlier messages).
    pub fn apply_bytes(&mut self, message: usize, first: u64, bytes: &[u8]) -> Vec<Item> {
        let mut items: Vec<Item> = bytes
            .iter()
            .enumerate()
            .map(|(offset, &byte)| Item {
                byte,
                origin: Some(offset),
                gap_ns: 0,
            })
            .collect();
        for (layer, entry) in self.layers.iter_mut().zip(&mut self.log.entries) {
            if !layer.fault.is_bit_level() {
                items = layer.apply_bytes(items, message, first, bytes.len(), &mut entry.counts);
            }
        }
        items
    }

    /// Applies the bit-level layers to one character's cells; `first` is the traffic index of
    /// its first cell (cells of all characters transmitted before).
    pub fn apply_bits(&mut self, first: u64, cells: &mut [bool]) {
        for (layer, entry) in self.layers.iter_mut().zip(&mut self.log.entries) {
            if layer.fault.is_bit_level() {
                layer.apply_bits(cells, first, &mut entry.counts);
            }
        }
    }

    /// Whether a bit-level layer would change or draw anything for the `len` cells from traffic
    /// index `first`: if not, [`FaultLayers::apply_bits`] on them is a no-op and may be skipped.
    pub fn touch_bits(&self, first: u64, len: usize) -> bool {
        let end = first + len as u64;
        self.layers.iter().any(|layer| match layer.fault {
            Fault::Noise { .. } => layer.next < end,
            Fault::Burst { .. } => layer.burst_left > 0 || layer.next < end,
            _ => false,
        })
    }

    /// What the layers did so far.
    pub fn log(&self) -> &FaultLog {
        &self.log
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn items(bytes: &[u8]) -> Vec<u8> {
        bytes.to_vec()
    }

    fn run(faults: Vec<Fault>, messages: &[&[u8]]) -> (Vec<Vec<u8>>, FaultLog) {
        let mut layers = FaultLayers::new(faults, Seed(1));
        let mut first = 0;
        let mut out = Vec::new();
        for (m, bytes) in messages.iter().enumerate() {
            let got = layers.apply_bytes(m, first, bytes);
            first += bytes.len() as u64;
            out.push(got.iter().map(|i| i.byte).collect());
        }
        (out, layers.log().clone())
    }

    #[test]
    fn at_selects_one_original_byte() {
        let msg = items(b"0123456789");
        let (out, log) = run(
            vec![
                Fault::Drop(Where::At {
                    message: 1,
                    offset: 3,
                }),
                // Offset 5 of the original message, not of what the drop left.
                Fault::Duplicate(Where::At {
                    message: 1,
                    offset: 5,
                }),
            ],
            &[&msg, &msg],
        );
        assert_eq!(out[0], msg);
        assert_eq!(out[1], b"0124556789".to_vec());
        assert_eq!(log.entries()[0].counts.bytes_dropped, 1);
        assert_eq!(log.entries()[1].counts.bytes_duplicated, 1);
    }

    #[test]
    fn every_counts_over_the_traffic() {
        let msg = items(b"abcde");
        let (out, log) = run(vec![Fault::Drop(Where::Every { every: 3 })], &[&msg, &msg]);
        // Traffic indices 2, 5, 8: 'c', then 'a' and 'd' of the second message.
        assert_eq!(out, vec![b"abde".to_vec(), b"bce".to_vec()]);
        assert_eq!(log.total().bytes_dropped, 3);
    }

    #[test]
    fn truncate_and_drop_message() {
        let msg = items(b"0123456789");
        let (out, log) = run(
            vec![
                Fault::Truncate { message: 0, at: 4 },
                Fault::DropMessage { message: 1 },
                Fault::Truncate { message: 2, at: 99 },
            ],
            &[&msg, &msg, &msg],
        );
        assert_eq!(out, vec![b"0123".to_vec(), vec![], msg.clone()]);
        let log: Vec<FaultCounts> = log.entries().iter().map(|e| e.counts).collect();
        assert_eq!((log[0].messages_truncated, log[0].bytes_dropped), (1, 6));
        assert_eq!((log[1].messages_dropped, log[1].bytes_dropped), (1, 10));
        assert_eq!(log[2], FaultCounts::default());
    }

    #[test]
    fn adding_a_fault_keeps_the_others_choices() {
        let msg: Vec<u8> = (0..=255).cycle().take(5000).collect();
        let drop = Fault::Drop(Where::Rate { rate: 0.01 });
        let (alone, _) = run(vec![drop.clone()], &[&msg]);
        let (with, log) = run(
            vec![
                drop,
                Fault::Gap {
                    at: Where::Rate { rate: 0.05 },
                    ms: 1.0,
                },
            ],
            &[&msg],
        );
        assert_eq!(alone, with);
        assert!(log.entries()[1].counts.gaps > 100);
        let dropped = log.entries()[0].counts.bytes_dropped;
        assert!((20..=90).contains(&dropped), "{dropped}");
    }

    #[test]
    fn inserting_a_fault_before_keeps_the_others_choices() {
        let msg: Vec<u8> = (0..=255).cycle().take(5000).collect();
        let drop = Fault::Drop(Where::Rate { rate: 0.01 });
        let garbage = Fault::Garbage {
            at: Where::Rate { rate: 0.002 },
            len: 3,
        };
        let (alone, log_alone) = run(vec![drop.clone(), garbage.clone()], &[&msg]);
        // A fault inserted first, acting on no byte of this traffic (every 10000th).
        let (with, log_with) = run(
            vec![
                Fault::Duplicate(Where::Every { every: 10_000 }),
                drop,
                garbage,
            ],
            &[&msg],
        );
        assert_eq!(alone, with);
        assert_eq!(log_alone.entries()[0].counts, log_with.entries()[1].counts);
        assert_eq!(log_alone.entries()[1].counts, log_with.entries()[2].counts);
        assert!(log_with.entries()[1].counts.bytes_dropped > 0);
        assert!(log_with.entries()[2].counts.bytes_inserted > 0);
    }

    #[test]
    fn identical_faults_draw_differently() {
        let msg: Vec<u8> = (0..=255).cycle().take(5000).collect();
        let drop = Fault::Drop(Where::Rate { rate: 0.01 });
        let (one, _) = run(vec![drop.clone()], &[&msg]);
        let (two, log) = run(vec![drop.clone(), drop], &[&msg]);
        let (a, b) = (log.entries()[0].counts, log.entries()[1].counts);
        assert!(a.bytes_dropped > 0 && b.bytes_dropped > 0);
        // The second drop selects other bytes: more are gone than with the first alone.
        assert!(
            two[0].len() < one[0].len(),
            "{} {}",
            two[0].len(),
            one[0].len()
        );
    }

    /// The original offsets of the bytes that got a gap before them.
    fn gapped(faults: Vec<Fault>, msg: &[u8]) -> Vec<usize> {
        let mut layers = FaultLayers::new(faults, Seed(1));
        layers
            .apply_bytes(0, 0, msg)
            .into_iter()
            .filter(|i| i.gap_ns > 0)
            .filter_map(|i| i.origin)
            .collect()
    }

    #[test]
    fn faults_with_different_ids_draw_differently() {
        let msg: Vec<u8> = (0..=255).cycle().take(5000).collect();
        let drop = Fault::Drop(Where::Rate { rate: 0.01 });
        let (a, _) = run(vec![Fault::named("a", drop.clone())], &[&msg]);
        let (b, _) = run(vec![Fault::named("b", drop.clone())], &[&msg]);
        let (a_again, _) = run(vec![Fault::named("a", drop.clone())], &[&msg]);
        let (plain, _) = run(vec![drop], &[&msg]);
        assert_eq!(a, a_again);
        assert_ne!(a, b, "ids a and b select the same bytes");
        assert_ne!(
            a, plain,
            "an id names another stream than the canonical text"
        );
    }

    #[test]
    fn changing_the_parameters_of_a_fault_with_an_id_keeps_its_draws() {
        let msg: Vec<u8> = (0..=255).cycle().take(5000).collect();
        let gap = |ms: f64| Fault::Gap {
            at: Where::Rate { rate: 0.01 },
            ms,
        };
        let short = gapped(vec![Fault::named("stall", gap(1.0))], &msg);
        let long = gapped(vec![Fault::named("stall", gap(250.0))], &msg);
        assert!(short.len() > 10, "{}", short.len());
        assert_eq!(short, long, "the same id, the same places");
        // Without an id, the parameters name the stream: other places.
        assert_ne!(gapped(vec![gap(1.0)], &msg), gapped(vec![gap(250.0)], &msg));
    }

    #[test]
    fn an_id_is_read_beside_the_fault_and_written_back() {
        let fault: Fault =
            serde_yaml::from_str("{ drop: { rate: 0.01 }, id: flaky }").expect("fault");
        assert_eq!(
            fault,
            Fault::named("flaky", Fault::Drop(Where::Rate { rate: 0.01 }))
        );
        assert_eq!(fault.name(), "drop");
        assert_eq!(fault.to_string(), "drop rate=0.01 id=flaky");
        let text = serde_yaml::to_string(&fault).expect("yaml");
        assert_eq!(serde_yaml::from_str::<Fault>(&text).expect("again"), fault);
        assert!(serde_yaml::from_str::<Fault>("{ drop: { rate: 0.01 }, id: '' }").is_err());
        assert!(serde_yaml::from_str::<Fault>("{ id: x }").is_err());
    }

    #[test]
    fn noise_flips_cells_at_the_rate() {
        let mut layers = FaultLayers::new(vec![Fault::Noise { ber: 0.01 }], Seed(3));
        let mut flipped = 0;
        for c in 0..100_000u64 {
            let mut cells = [true; 10];
            layers.apply_bits(c * 10, &mut cells);
            flipped += cells.iter().filter(|&&x| !x).count();
        }
        assert_eq!(layers.log().total().bits_flipped, flipped as u64);
        // 1e6 cells at 1 %: 10 000 ± 100 (one sigma).
        assert!((9_500..=10_500).contains(&flipped), "{flipped}");
    }

    #[test]
    fn bursts_randomise_runs_of_cells() {
        let mut layers = FaultLayers::new(
            vec![Fault::Burst {
                rate: 1e-3,
                bits: 12,
            }],
            Seed(3),
        );
        for c in 0..100_000u64 {
            let mut cells = [true; 10];
            layers.apply_bits(c * 10, &mut cells);
        }
        let counts = layers.log().total();
        assert!((850..=1150).contains(&counts.bursts), "{counts:?}");
        // Half of a burst's random levels differ from mark.
        let expected = counts.bursts * 6;
        assert!(
            counts.bits_flipped.abs_diff(expected) < expected / 5,
            "{counts:?}"
        );
    }

    #[test]
    fn display_is_short() {
        assert_eq!(Fault::Noise { ber: 1e-4 }.to_string(), "noise ber=1e-4");
        assert_eq!(
            Fault::Drop(Where::At {
                message: 2,
                offset: 100
            })
            .to_string(),
            "drop message 2 offset 100"
        );
        assert_eq!(
            Fault::Duplicate(Where::Every { every: 500 }).to_string(),
            "duplicate every 500"
        );
        assert_eq!(
            Fault::Gap {
                at: Where::Rate { rate: 0.001 },
                ms: 200.0
            }
            .to_string(),
            "gap 200 ms rate=1e-3"
        );
        let counts = FaultCounts {
            bits_flipped: 12,
            bytes_dropped: 1,
            ..FaultCounts::default()
        };
        assert_eq!(counts.to_string(), "12 bits flipped, 1 byte dropped");
        assert_eq!(FaultCounts::default().to_string(), "no effect");
    }

    #[test]
    fn validation() {
        assert!(Fault::Noise { ber: 1.5 }.validate().is_err());
        assert!(Fault::Noise { ber: f64::NAN }.validate().is_err());
        assert!(Fault::Burst { rate: 0.1, bits: 0 }.validate().is_err());
        assert!(Fault::Drop(Where::Every { every: 0 }).validate().is_err());
        assert!(Fault::Junk { len: 0 }.validate().is_err());
        assert!(Fault::Gap {
            at: Where::Every { every: 1 },
            ms: -1.0
        }
        .validate()
        .is_err());
        let err = Fault::Noise { ber: 2.0 }.validate().expect_err("ber 2");
        assert_eq!(
            err.to_string(),
            "invalid fault noise ber=2: ber must be in [0, 1], not 2"
        );
        assert!(Fault::Noise { ber: 0.0 }.validate().is_ok());
    }
}
