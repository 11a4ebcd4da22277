//! A meter that replays a captured byte stream (a user's bug report) instead of modelling one.
//!
//! A scenario's `meter: { profile: P, capture: FILE }` names the profile whose line settings,
//! push cadence and keys the replayed meter has, and the file whose bytes it sends. The bytes go
//! out exactly as captured, through the same [`Channel`](crate::line::Channel) and faults as any
//! meter's; only their timing is made up, from two sources:
//!
//! - **a timestamped log**: every [`Span`] carries the time its bytes were logged, and each span
//!   is sent at that time (relative to the first);
//! - **the protocol's framing** otherwise: [`frames`] cuts the stream at message boundaries and
//!   says which message ends a push. DSMR P1 telegrams (`/` … `!CRC` CR LF) and Smarty
//!   general-glo-ciphering frames end a push each; M-Bus long frames carrying DLMS segments
//!   (`68 L L 68`, EN 13757-2) end one when the CI field's last-segment bit (`0x10`) is set; HDLC
//!   frames (`7E A_ …` `7E`, IEC 62056-46) when the format field's segmentation bit is clear;
//!   IEC 62056-21 data blocks (STX … ETX BCC) end one, identification and request lines
//!   (… CR LF) and ACK/NAK do not; wired M-Bus frames (`E5`, `10 C A CS 16`, `68 L L 68` … `16`)
//!   each end one. Frames of one push follow each other after the profile's segment gap
//!   (`segment_gap`), pushes come every `interval` (the profile's, or the scenario's), and a push
//!   never starts before the previous one has left the transmitter.
//!
//! Why the framing is here and not in the harness: the simulator may not call the decoder's
//! parsers (ARCHITECTURE.md), and a boundary is all the replay needs, not a parse: the start
//! byte and length field of a frame, or the end marker of a text message, which the simulator's
//! own emitters write. Bytes that belong to no frame (noise, a capture starting mid-frame) are
//! sent with the frame that follows them, or last, so that the reader receives the capture's
//! bytes exactly, in order.
//!
//! A replayed meter has no model behind its bytes, so its emissions carry no truth: what the
//! reader must make of them is the scenario's golden file and its `expect` section.

use std::ops::Range;

use meterlab_decoder::{Keys, Protocol};

use crate::clock::parse_duration;
use crate::line::UartConfig;
use crate::meter::{Emission, Meter};
use crate::seed::Seed;
use crate::spec::{MeterSpec, SpecError};

/// How a replayed meter's profile name starts (`replay:dsmr-5.0`).
pub const PROFILE_PREFIX: &str = "replay:";

/// Gap between frames of one push when neither the scenario nor the profile names one, ns.
const DEFAULT_FRAME_GAP_NS: u64 = 0;
/// Gap between the messages of a request/response capture (a dialogue replayed one way), ns.
const DIALOGUE_GAP_NS: u64 = 50_000_000;
/// The longest text message the framing looks for an end marker in (a DSMR telegram is a few
/// KiB): bounds the work on a large capture without one.
const MAX_TEXT_MESSAGE: usize = 64 * 1024;
/// The largest capture a meter replays: the line model works bit by bit, and a bug report's
/// problem shows in a few messages.
pub const MAX_CAPTURE_BYTES: usize = 1 << 20;
/// Push interval of a profile that does not push, ns.
const DEFAULT_INTERVAL_NS: u64 = 1_000_000_000;

/// A piece of a capture, with the time it was logged if the capture had timestamps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// When the piece was logged, ns from any origin (only differences count).
    pub at_ns: Option<u64>,
    /// Its bytes in [`Recording::bytes`].
    pub range: Range<usize>,
}

/// The bytes a meter sent, as a capture file holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// Every byte the meter sent, in order.
    pub bytes: Vec<u8>,
    /// The pieces as logged (empty: one piece without time). Timing comes from them only when
    /// every piece has a time.
    pub spans: Vec<Span>,
}

impl Recording {
    /// A capture without timestamps.
    pub fn untimed(bytes: Vec<u8>) -> Self {
        Recording {
            bytes,
            spans: Vec::new(),
        }
    }
}

/// One message of a captured stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Its bytes (with any unframed bytes before it).
    pub range: Range<usize>,
    /// Whether a push ends with it.
    pub ends_push: bool,
}

/// Cuts `bytes` into messages of `protocol` (see the module documentation). The frames cover
/// `bytes` exactly, in order.
pub fn frames(protocol: Protocol, bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut start = 0; // first byte not yet in a frame
    let mut i = 0;
    while i < bytes.len() {
        match frame_at(protocol, &bytes[i..]) {
            Some((len, ends_push)) => {
                out.push(Frame {
                    range: start..i + len,
                    ends_push,
                });
                i += len;
                start = i;
            }
            None => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(Frame {
            range: start..bytes.len(),
            ends_push: true,
        });
    }
    out
}

/// The length of the frame starting at `d[0]`, and whether it ends a push.
fn frame_at(protocol: Protocol, d: &[u8]) -> Option<(usize, bool)> {
    match protocol {
        Protocol::Dsmr => dsmr_telegram(d)
            .or_else(|| glo_ciphering(d))
            .map(|n| (n, true)),
        Protocol::Dlms => mbus_long(d)
            .map(|(n, ci)| (n, ci & 0x10 != 0))
            .or_else(|| hdlc(d))
            .or_else(|| glo_ciphering(d).map(|n| (n, true))),
        Protocol::Mbus => match d {
            [0xE5, ..] => Some((1, true)),
            [0x10, c, a, cs, 0x16, ..] if c.wrapping_add(*a) == *cs => Some((5, true)),
            _ => mbus_long(d).map(|(n, _)| (n, true)),
        },
        Protocol::Iec62056_21 => iec(d),
    }
}

/// `/XXX…` up to `!`, up to four CRC digits and the line end.
fn dsmr_telegram(d: &[u8]) -> Option<usize> {
    if d.first() != Some(&b'/') {
        return None;
    }
    let bang = d[..d.len().min(MAX_TEXT_MESSAGE)]
        .iter()
        .position(|&b| b == b'!')?;
    if d[1..bang].contains(&b'/') {
        return None; // a telegram cut off before its end: the next `/` starts another
    }
    let crc = d[bang + 1..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    let mut end = bang + 1 + crc;
    match d.get(end..) {
        Some([b'\r', b'\n', ..]) => end += 2,
        Some([b'\n', ..]) => end += 1,
        _ => {}
    }
    Some(end)
}

/// `DB 08` system title, a BER length and that many bytes (general-glo-ciphering).
fn glo_ciphering(d: &[u8]) -> Option<usize> {
    if d.len() < 11 || d[0] != 0xDB || d[1] != 0x08 {
        return None;
    }
    let (len, head) = match d[10] {
        n @ 0..=0x7F => (usize::from(n), 11),
        0x81 => (usize::from(*d.get(11)?), 12),
        0x82 => (usize::from(*d.get(11)?) << 8 | usize::from(*d.get(12)?), 13),
        _ => return None,
    };
    let total = head + len;
    (total <= d.len()).then_some(total)
}

/// `68 L L 68 … CS 16`: its length and its CI field.
fn mbus_long(d: &[u8]) -> Option<(usize, u8)> {
    match d {
        [0x68, l1, l2, 0x68, ..] if l1 == l2 && *l1 >= 3 => {
            let total = usize::from(*l1) + 6;
            (d.get(total - 1) == Some(&0x16)).then(|| (total, d[6]))
        }
        _ => None,
    }
}

/// `7E A_ L …` `7E` (HDLC frame format type 3): its length and whether no segment follows.
fn hdlc(d: &[u8]) -> Option<(usize, bool)> {
    match d {
        [0x7E, f, l, ..] if f & 0xF0 == 0xA0 => {
            let total = (usize::from(f & 0x07) << 8 | usize::from(*l)) + 2;
            if total < 9 || d.get(total - 1) != Some(&0x7E) {
                return None;
            }
            Some((total, f & 0x08 == 0 && !gbt_block_follows(&d[..total])))
        }
        _ => None,
    }
}

/// Whether an HDLC frame carries a General Block Transfer block that is not the last
/// (Green Book 9.1.4.5: `E0`, block control with bit 7 = last block): its push goes on.
fn gbt_block_follows(frame: &[u8]) -> bool {
    // 7E F F | destination, source (each up to its byte with bit 0 set) | control | HCS | info
    let mut i = 3;
    for _ in 0..2 {
        while frame.get(i).is_some_and(|b| b & 1 == 0) {
            i += 1;
        }
        i += 1;
    }
    let mut info = i + 3;
    if frame.get(info..info + 3) == Some(&[0xE6, 0xE7, 0x00]) {
        info += 3;
    }
    match frame.get(info..info + 2) {
        Some([0xE0, control]) => control & 0x80 == 0,
        _ => false,
    }
}

/// IEC 62056-21: a data block (STX or SOH … ETX/EOT BCC), a line ending in CR LF, or ACK/NAK.
fn iec(d: &[u8]) -> Option<(usize, bool)> {
    let head = &d[..d.len().min(MAX_TEXT_MESSAGE)];
    match d.first()? {
        0x01 | 0x02 => {
            let end = head.iter().position(|&b| b == 0x03 || b == 0x04)?;
            (end + 1 < d.len()).then_some((end + 2, true))
        }
        0x06 | 0x15 => Some((1, false)),
        b if b.is_ascii_graphic() => {
            let nl = head.iter().position(|&b| b == b'\n')?;
            Some((nl + 1, false))
        }
        _ => None,
    }
}

/// One push: frames, each with its delay after the push's start.
#[derive(Clone, Debug)]
struct Push {
    /// When, relative to the first push (timestamped captures), if known.
    logged_ns: Option<u64>,
    frames: Vec<Range<usize>>,
}

/// A meter that sends a captured byte stream (see the module documentation).
pub struct ReplayMeter {
    name: String,
    protocol: Protocol,
    uart: UartConfig,
    keys: Keys,
    bytes: Vec<u8>,
    pushes: Vec<Push>,
    interval_ns: u64,
    frame_gap_ns: u64,
    repeat: bool,
    /// The next push to send, counted over repetitions.
    next: usize,
    /// When it is due.
    next_at: u64,
    /// Start of the current repetition (timestamped captures).
    cycle_start: u64,
}

impl ReplayMeter {
    /// The meter `spec` describes, sending `recording`. The profile gives the protocol, line
    /// settings, keys and cadence; `interval`, `segment_gap` and `repeat` override them.
    pub fn new(spec: &MeterSpec, recording: Recording, seed: Seed) -> Result<Self, SpecError> {
        if recording.bytes.is_empty() {
            return Err(SpecError::bad("capture", "the capture holds no bytes"));
        }
        if recording.bytes.len() > MAX_CAPTURE_BYTES {
            return Err(SpecError::bad(
                "capture",
                format!(
                    "the capture holds {} bytes, more than the {MAX_CAPTURE_BYTES} a meter replays; \
                     keep the part that shows the problem",
                    recording.bytes.len()
                ),
            ));
        }
        if recording
            .spans
            .iter()
            .any(|s| s.range.start > s.range.end || s.range.end > recording.bytes.len())
        {
            return Err(SpecError::bad(
                "capture",
                "a piece lies outside the capture",
            ));
        }
        let model = MeterSpec {
            capture: None,
            repeat: None,
            ..spec.clone()
        };
        let mut base = model.build(seed)?;
        let first_push = base.next_push_ns();
        let profile_interval = first_push.and_then(|a| {
            base.push();
            base.next_push_ns().map(|b| b.saturating_sub(a))
        });
        let interval_ns = spec
            .interval_ns()?
            .or(profile_interval)
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_INTERVAL_NS);
        let frame_gap_ns = match &spec.options.text("segment_gap") {
            Some(s) => {
                parse_duration(s).map_err(|e| SpecError::bad("segment_gap", e.to_string()))?
            }
            None => crate::dlms::profile(&spec.profile).map_or(
                if first_push.is_some() {
                    DEFAULT_FRAME_GAP_NS
                } else {
                    DIALOGUE_GAP_NS
                },
                |p| p.segment_gap_ms * 1_000_000,
            ),
        };
        let protocol = base.protocol();
        let timed =
            !recording.spans.is_empty() && recording.spans.iter().all(|s| s.at_ns.is_some());
        let (bytes, pushes) = if timed {
            let origin = recording
                .spans
                .iter()
                .filter_map(|s| s.at_ns)
                .min()
                .unwrap_or(0);
            let pushes = recording
                .spans
                .iter()
                .filter(|s| !s.range.is_empty())
                .map(|s| Push {
                    logged_ns: s.at_ns.map(|t| t - origin),
                    frames: frames(protocol, &recording.bytes[s.range.clone()])
                        .into_iter()
                        .map(|f| f.range.start + s.range.start..f.range.end + s.range.start)
                        .collect(),
                })
                .collect();
            (recording.bytes, pushes)
        } else {
            let bytes: Vec<u8> = if recording.spans.is_empty() {
                recording.bytes
            } else {
                recording
                    .spans
                    .iter()
                    .flat_map(|s| recording.bytes[s.range.clone()].iter().copied())
                    .collect()
            };
            let pushes = group(protocol, &bytes, first_push.is_some());
            (bytes, pushes)
        };
        if pushes.is_empty() {
            return Err(SpecError::bad(
                "capture",
                "the capture's pieces hold no bytes",
            ));
        }
        let start = first_push.unwrap_or(0);
        Ok(ReplayMeter {
            name: format!("{PROFILE_PREFIX}{}", spec.profile),
            protocol,
            uart: base.uart(),
            keys: replay_keys(spec, base.as_ref())?,
            bytes,
            pushes,
            interval_ns,
            frame_gap_ns,
            repeat: spec.repeat.unwrap_or(false),
            next: 0,
            next_at: start,
            cycle_start: start,
        })
    }

    /// The bytes the meter replays (one repetition).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Pushes in one repetition of the capture.
    pub fn pushes_per_cycle(&self) -> usize {
        self.pushes.len()
    }

    fn transmit_ns(&self, push: &Push) -> u64 {
        let chars: usize = push.frames.iter().map(ExactSizeIterator::len).sum();
        let gaps = self.frame_gap_ns * push.frames.len().saturating_sub(1) as u64;
        (chars as f64 * self.uart.char_time_ns()).ceil() as u64 + gaps
    }
}

/// The keys of a replayed meter: the scenario's, else the profile's test keys (a redacted
/// capture is encrypted again with them).
fn replay_keys(spec: &MeterSpec, base: &dyn Meter) -> Result<Keys, SpecError> {
    let profile = base.keys();
    Ok(Keys {
        encryption: MeterSpec::parse_key("key", &spec.options.text("key"))?.or(profile.encryption),
        authentication: MeterSpec::parse_key("auth_key", &spec.options.text("auth_key"))?
            .or(profile.authentication),
    })
}

/// Frames grouped into pushes; a capture of a request/response meter is one push.
fn group(protocol: Protocol, bytes: &[u8], pushes: bool) -> Vec<Push> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for f in frames(protocol, bytes) {
        current.push(f.range);
        if f.ends_push && pushes {
            out.push(Push {
                logged_ns: None,
                frames: std::mem::take(&mut current),
            });
        }
    }
    if !current.is_empty() {
        out.push(Push {
            logged_ns: None,
            frames: current,
        });
    }
    out
}

impl Meter for ReplayMeter {
    fn profile(&self) -> &str {
        &self.name
    }

    fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn uart(&self) -> UartConfig {
        self.uart
    }

    fn keys(&self) -> Keys {
        self.keys.clone()
    }

    fn next_push_ns(&self) -> Option<u64> {
        (self.repeat || self.next < self.pushes.len()).then_some(self.next_at)
    }

    fn push(&mut self) -> Vec<Emission> {
        let cycle = self.pushes.len().max(1);
        let Some(push) = self.pushes.get(self.next % cycle).cloned() else {
            return Vec::new();
        };
        if !self.repeat && self.next >= self.pushes.len() {
            return Vec::new();
        }
        let start = self.next_at;
        let mut at = start;
        let mut out = Vec::with_capacity(push.frames.len());
        for (k, range) in push.frames.iter().enumerate() {
            if k > 0 {
                at = at.saturating_add(self.frame_gap_ns);
            }
            let bytes = self.bytes[range.clone()].to_vec();
            out.push(Emission {
                at_ns: at,
                bytes,
                truth: Vec::new(),
            });
            at = at.saturating_add((range.len() as f64 * self.uart.char_time_ns()) as u64);
        }
        let busy_until = start.saturating_add(self.transmit_ns(&push));
        self.next += 1;
        let wrapped = self.next % cycle == 0;
        let due = match self.pushes.get(self.next % cycle).and_then(|p| p.logged_ns) {
            Some(logged) if !wrapped => self.cycle_start.saturating_add(logged),
            Some(logged) => {
                self.cycle_start = busy_until.saturating_add(self.interval_ns);
                self.cycle_start.saturating_add(logged)
            }
            None => start.saturating_add(self.interval_ns),
        };
        // Never before the previous push has left the transmitter.
        self.next_at = due.max(
            busy_until
                .saturating_add(self.frame_gap_ns)
                .saturating_add(1),
        );
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn spec(profile: &str) -> MeterSpec {
        MeterSpec {
            capture: Some("capture.txt".into()),
            ..MeterSpec::new(profile)
        }
    }

    fn dsmr(n: u32) -> Vec<u8> {
        format!("/ISK5\\2M550T-1012\r\n\r\n1-0:1.8.1(00{n}.000*kWh)\r\n!ABCD\r\n").into_bytes()
    }

    #[test]
    fn dsmr_telegrams_are_pushes_and_noise_goes_with_the_next() {
        let mut bytes = b"12)\r\n!0000\r\n".to_vec(); // a capture starting mid-telegram
        bytes.extend(dsmr(1));
        bytes.extend(b"\x00\xff");
        bytes.extend(dsmr(2));
        bytes.extend(b"/ISK5 cut"); // cut off at the end
        let f = frames(Protocol::Dsmr, &bytes);
        assert_eq!(f.len(), 3, "{f:?}");
        assert_eq!(f[0].range, 0..12 + dsmr(1).len());
        assert!(f.iter().all(|f| f.ends_push));
        assert_eq!(f[2].range.end, bytes.len());
        let joined: Vec<u8> = f
            .iter()
            .flat_map(|f| bytes[f.range.clone()].to_vec())
            .collect();
        assert_eq!(joined, bytes);
    }

    #[test]
    fn mbus_segments_end_a_push_at_the_last_segment_bit() {
        let seg = |ci: u8| {
            let mut f = vec![0x68, 5, 5, 0x68, 0x53, 0xFF, ci, 0x01, 0x67];
            let cs = f[4..].iter().fold(0u8, |a, b| a.wrapping_add(*b));
            f.extend([cs, 0x16]);
            f
        };
        let mut bytes = seg(0x00);
        bytes.extend(seg(0x11));
        bytes.extend(seg(0x10));
        let f = frames(Protocol::Dlms, &bytes);
        assert_eq!(
            f.iter().map(|f| f.ends_push).collect::<Vec<_>>(),
            [false, true, true]
        );
    }

    #[test]
    fn hdlc_segmentation_bit() {
        let frame = |f: u8| {
            let mut v = vec![0x7E, f, 9, 0x02, 0x23, 0x13, 0, 0, 0x00, 0];
            v.push(0x7E);
            v[2] = (v.len() - 2) as u8;
            v
        };
        let mut bytes = frame(0xA8);
        bytes.extend(frame(0xA0));
        let f = frames(Protocol::Dlms, &bytes);
        assert_eq!(f.len(), 2);
        assert!(!f[0].ends_push && f[1].ends_push);
    }

    #[test]
    fn iec_blocks_lines_and_acks() {
        let bytes = b"/?!\r\n/ISK5ME162\r\n\x06050\r\n\x021.8.0(1*kWh)\r\n!\r\n\x03\x11";
        let f = frames(Protocol::Iec62056_21, bytes);
        let ends: Vec<bool> = f.iter().map(|f| f.ends_push).collect();
        assert_eq!(ends, [false, false, false, false, true], "{f:?}");
    }

    #[test]
    fn replays_every_byte_once_in_order_then_stops() {
        let mut bytes = dsmr(1);
        bytes.extend(dsmr(2));
        let mut m = ReplayMeter::new(
            &spec("dsmr-5.0"),
            Recording::untimed(bytes.clone()),
            Seed(1),
        )
        .expect("builds");
        assert_eq!(m.protocol(), Protocol::Dsmr);
        assert_eq!(m.uart(), UartConfig::new(115_200, "8N1").expect("valid"));
        let mut sent = Vec::new();
        let mut times = Vec::new();
        while let Some(at) = m.next_push_ns() {
            times.push(at);
            for e in m.push() {
                assert!(e.truth.is_empty());
                sent.extend(e.bytes);
            }
        }
        assert_eq!(sent, bytes);
        assert_eq!(times.len(), 2);
        assert_eq!(
            times[1] - times[0],
            1_000_000_000,
            "DSMR 5.0 pushes every second"
        );
    }

    #[test]
    fn repeat_and_interval() {
        let s = MeterSpec {
            repeat: Some(true),
            interval: Some("2s".into()),
            ..spec("dsmr-5.0")
        };
        let mut m = ReplayMeter::new(&s, Recording::untimed(dsmr(1)), Seed(1)).expect("builds");
        let t0 = m.next_push_ns().expect("pushes");
        for k in 0..3u64 {
            assert_eq!(m.next_push_ns(), Some(t0 + k * 2_000_000_000));
            assert_eq!(m.push().concat_bytes(), dsmr(1));
        }
    }

    #[test]
    fn timestamped_capture_keeps_its_gaps() {
        let mut bytes = dsmr(1);
        let n = bytes.len();
        bytes.extend(dsmr(2));
        let rec = Recording {
            bytes: bytes.clone(),
            spans: vec![
                Span {
                    at_ns: Some(5_000_000_000),
                    range: 0..n,
                },
                Span {
                    at_ns: Some(8_500_000_000),
                    range: n..bytes.len(),
                },
            ],
        };
        let mut m = ReplayMeter::new(&spec("dsmr-5.0"), rec, Seed(1)).expect("builds");
        let t0 = m.next_push_ns().expect("pushes");
        assert_eq!(m.push().concat_bytes(), dsmr(1));
        assert_eq!(m.next_push_ns(), Some(t0 + 3_500_000_000));
        assert_eq!(m.push().concat_bytes(), dsmr(2));
        assert_eq!(m.next_push_ns(), None);
    }

    proptest::proptest! {
        #[test]
        fn frames_cover_any_bytes_exactly(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), p in 0usize..4) {
            let protocol = [Protocol::Dsmr, Protocol::Dlms, Protocol::Mbus, Protocol::Iec62056_21][p];
            let f = frames(protocol, &bytes);
            let mut next = 0;
            for frame in &f {
                proptest::prop_assert_eq!(frame.range.start, next);
                proptest::prop_assert!(frame.range.end > frame.range.start);
                next = frame.range.end;
            }
            proptest::prop_assert_eq!(next, bytes.len());
        }
    }

    #[test]
    fn bad_captures_are_errors() {
        assert!(
            ReplayMeter::new(&spec("dsmr-5.0"), Recording::untimed(Vec::new()), Seed(1)).is_err()
        );
        assert!(ReplayMeter::new(&spec("no-such"), Recording::untimed(dsmr(1)), Seed(1)).is_err());
        let rec = Recording {
            bytes: dsmr(1),
            spans: vec![Span {
                at_ns: None,
                range: 0..1000,
            }],
        };
        assert!(ReplayMeter::new(&spec("dsmr-5.0"), rec, Seed(1)).is_err());
        let rec = Recording {
            bytes: dsmr(1),
            spans: vec![Span {
                at_ns: Some(1),
                range: 3..3,
            }],
        };
        assert!(
            ReplayMeter::new(&spec("dsmr-5.0"), rec, Seed(1)).is_err(),
            "only empty pieces"
        );
    }

    trait Concat {
        fn concat_bytes(&self) -> Vec<u8>;
    }
    impl Concat for Vec<Emission> {
        fn concat_bytes(&self) -> Vec<u8> {
            self.iter().flat_map(|e| e.bytes.clone()).collect()
        }
    }
}
