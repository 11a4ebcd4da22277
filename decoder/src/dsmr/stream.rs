//! Finding DSMR telegrams and Smarty frames in a byte stream (DSMR P1 Companion Standard 5.0.2
//! §6.2 telegram framing; Smarty P1 spec v1.1.3 §3.2.5 frame layout).
//!
//! A reader attaches to a meter that is already sending, so the stream starts anywhere; bytes
//! get lost, changed, or read with the wrong line settings. [`DsmrDecoder`] scans for a start —
//! `/` and three letters (the manufacturer flag), or `DB 08` (a Smarty frame) — collects the
//! telegram up to `!` and its CRC digits, or the frame up to its length, and reports whatever
//! is in between as `skipped_bytes`, with a guess at why.
//!
//! Every decision waits until the bytes that decide it have arrived, so the messages do not
//! depend on how the stream is cut into pieces.

use crate::keys::Keys;
use crate::reading::Message;
use crate::resync::{Framer, Resync, Skipped, SkippedSpan, TextDiagnosis};
use crate::text::find_any;

use super::smarty::{self, FrameStart};
use super::{decode_telegram_with, CrcPolicy, CrcRule, ErrorKind, MAX_TELEGRAM_LEN};

/// The streaming DSMR / Smarty decoder.
///
/// ```
/// use meterlab_decoder::{DsmrDecoder, Keys, StreamDecoder};
///
/// let mut decoder = DsmrDecoder::new(Keys::default());
/// let messages = decoder.decode_all(b"\r\n/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n0-0:0.0.0(101209113020W)\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n!8AF2\r\n");
/// assert_eq!(messages.len(), 1);
/// assert_eq!(messages[0].reading().and_then(|r| r.meter_id.as_deref()), Some("K8EG004046395507"));
/// ```
pub type DsmrDecoder = Resync<DsmrFramer>;

/// The DSMR / Smarty framing behind [`DsmrDecoder`].
#[derive(Debug)]
pub struct DsmrFramer {
    keys: Keys,
    state: State,
    /// The span of skipped bytes being collected (CR and LF not counted), reported when the
    /// next start is found.
    skipped: Skipped,
    /// A telegram of this stream ended in a CRC that verified: from then on a telegram without
    /// one is `crc_missing`, not DSMR 2.2 (a changed byte can make any line start with `!`).
    crc_seen: bool,
    /// Whether telegrams with a wrong or missing CRC are decoded anyway.
    policy: CrcPolicy,
}

/// Where the decoder is. Positions count from the start of the current telegram or frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Outside any telegram, looking for a start.
    Scan,
    /// In a plain telegram; the first `searched` bytes hold no `!` and no new start.
    Telegram { searched: usize },
    /// The telegram's `!` is at `bang`; collecting up to 4 CRC digits.
    Crc { bang: usize },
    /// A Smarty frame of `len` bytes.
    Frame { len: usize },
}

impl DsmrDecoder {
    /// A decoder that deciphers Smarty frames with `keys` (authentication key: the fixed Smarty
    /// key when `keys.authentication` is `None`).
    pub fn new(keys: Keys) -> Self {
        Resync::with_framer(DsmrFramer::new(keys))
    }

    /// A decoder with the given CRC policy ([`CrcPolicy::Ignore`] for `--ignore-crc`).
    pub fn with_crc_policy(keys: Keys, policy: CrcPolicy) -> Self {
        let mut framer = DsmrFramer::new(keys);
        framer.policy = policy;
        Resync::with_framer(framer)
    }
}

impl Default for DsmrFramer {
    /// Framing without keys.
    fn default() -> Self {
        DsmrFramer::new(Keys::default())
    }
}

impl Framer for DsmrFramer {
    /// Decodes as much of `data` as can be decided, returning how many bytes are consumed; the
    /// rest (the unfinished telegram or frame, or a start candidate) begins a later call's data.
    fn process(&mut self, data: &[u8], base: u64, eof: bool, out: &mut Vec<Message>) -> usize {
        let mut pos = 0;
        loop {
            let offset = base + pos as u64;
            let unit = &data[pos..];
            match self.state {
                State::Scan => match self.scan(data, base, pos, eof, out) {
                    Scan::Start(start) => pos = start,
                    Scan::Wait(at) => return at,
                    Scan::Done => return data.len(),
                },
                State::Telegram { searched } => {
                    match find_end(unit, searched, eof) {
                        End::Bang(bang) => self.state = State::Crc { bang },
                        End::NewStart(at) => {
                            let what = if unit[at] == b'/' {
                                "a new telegram"
                            } else {
                                "an encrypted frame"
                            };
                            out.push(ErrorKind::Truncated.error(
                                format!(
                                    "telegram cut off after {at} bytes: {what} starts at offset {}",
                                    offset + at as u64
                                ),
                                Some(offset),
                            ));
                            // The scan finds the start at `at` again and takes it.
                            pos += at;
                            self.state = State::Scan;
                        }
                        End::TooLong => {
                            out.push(ErrorKind::TooLong.error(
                                format!(
                                    "no '!' within {MAX_TELEGRAM_LEN} bytes of the telegram start; resynchronising"
                                ),
                                Some(offset),
                            ));
                            pos += MAX_TELEGRAM_LEN;
                            self.state = State::Scan;
                        }
                        End::Eof => {
                            out.push(ErrorKind::Truncated.error(
                                format!(
                                    "stream ended {} bytes into a telegram, before its '!'",
                                    unit.len()
                                ),
                                Some(offset),
                            ));
                            self.state = State::Scan;
                            return data.len();
                        }
                        End::Wait(searched) => {
                            self.state = State::Telegram { searched };
                            return pos;
                        }
                    }
                }
                State::Crc { bang } => {
                    let after = &unit[bang + 1..];
                    let digits = after
                        .iter()
                        .take(4)
                        .take_while(|b| b.is_ascii_hexdigit())
                        .count();
                    if digits < 4 && digits == after.len() && !eof {
                        return pos;
                    }
                    let end = bang + 1 + digits;
                    let rule = if self.crc_seen {
                        CrcRule::StreamHasCrc
                    } else {
                        CrcRule::Telegram
                    };
                    let message =
                        decode_telegram_with(&unit[..end], Some(offset), rule, self.policy);
                    let verified = message
                        .reading()
                        .is_some_and(|r| r.values.iter().all(|v| !v.unverified));
                    if digits > 0 && verified {
                        self.crc_seen = true;
                    }
                    out.push(message);
                    pos += end;
                    self.state = State::Scan;
                }
                State::Frame { len } => {
                    if unit.len() >= len {
                        out.push(smarty::decode_frame(&unit[..len], &self.keys, Some(offset)));
                        pos += len;
                        self.state = State::Scan;
                    } else if eof {
                        out.push(ErrorKind::Truncated.error(
                            format!(
                                "stream ended {} bytes into an encrypted frame of {len} bytes",
                                unit.len()
                            ),
                            Some(offset),
                        ));
                        self.state = State::Scan;
                        return data.len();
                    } else {
                        return pos;
                    }
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        self.skipped.flush(out);
        self.state = State::Scan;
    }
}

impl DsmrFramer {
    fn new(keys: Keys) -> Self {
        DsmrFramer {
            keys,
            state: State::Scan,
            skipped: Skipped::new(describe_skipped),
            crc_seen: false,
            policy: CrcPolicy::Strict,
        }
    }

    /// Scans `data[from..]` (`data[0]` at stream offset `base`) for a start, adding what it
    /// passes over to the skipped span.
    fn scan(
        &mut self,
        data: &[u8],
        base: u64,
        from: usize,
        eof: bool,
        out: &mut Vec<Message>,
    ) -> Scan {
        let mut i = from;
        let mut span_start = from;
        while let Some(&b) = data.get(i) {
            match b {
                b'/' => match data.get(i + 1..i + 4) {
                    None if !eof => {
                        self.skip(base, &data[span_start..i], span_start);
                        return Scan::Wait(i);
                    }
                    Some(flag) if flag.iter().all(u8::is_ascii_alphabetic) => {
                        self.skip(base, &data[span_start..i], span_start);
                        self.skipped.flush(out);
                        self.state = State::Telegram { searched: 4 };
                        return Scan::Start(i);
                    }
                    _ => i += 1,
                },
                0xDB => match data.get(i + 1) {
                    None if !eof => {
                        self.skip(base, &data[span_start..i], span_start);
                        return Scan::Wait(i);
                    }
                    Some(0x08) => match smarty::frame_start(&data[i..]) {
                        FrameStart::NeedMore if !eof => {
                            self.skip(base, &data[span_start..i], span_start);
                            return Scan::Wait(i);
                        }
                        FrameStart::NeedMore => {
                            self.skip(base, &data[span_start..i], span_start);
                            self.skipped.flush(out);
                            out.push(ErrorKind::Truncated.error(
                                format!(
                                    "stream ended inside the header of an encrypted frame ({} bytes)",
                                    data.len() - i
                                ),
                                Some(base + i as u64),
                            ));
                            return Scan::Done;
                        }
                        FrameStart::Frame { len } => {
                            self.skip(base, &data[span_start..i], span_start);
                            self.skipped.flush(out);
                            self.state = State::Frame { len };
                            return Scan::Start(i);
                        }
                        FrameStart::Invalid(e) => {
                            // Report, then look for a start again one byte after the DB.
                            self.skip(base, &data[span_start..i], span_start);
                            self.skipped.flush(out);
                            out.push(e.kind().error(
                                format!("{e}; resuming the scan one byte after 0xDB"),
                                Some(base + i as u64),
                            ));
                            i += 1;
                            span_start = i;
                        }
                    },
                    _ => i += 1,
                },
                _ => i += 1,
            }
        }
        self.skip(base, &data[span_start..], span_start);
        Scan::Done
    }

    /// Adds `bytes` (at `data` position `at`, `data[0]` at stream offset `base`) to the
    /// current span of skipped bytes; CR and LF are not junk.
    fn skip(&mut self, base: u64, bytes: &[u8], at: usize) {
        for (k, &b) in bytes.iter().enumerate() {
            if b == b'\r' || b == b'\n' {
                continue;
            }
            self.skipped.add(base + (at + k) as u64, b);
        }
    }
}

/// What a scan for a start found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// A telegram or frame starts at this position; the state is set.
    Start(usize),
    /// A start candidate at this position needs more bytes.
    Wait(usize),
    /// All bytes are consumed.
    Done,
}

/// How a plain telegram ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// At its `!` (at this position).
    Bang(usize),
    /// A new telegram or frame starts at this position: this one was cut off.
    NewStart(usize),
    /// No `!` within [`MAX_TELEGRAM_LEN`] bytes.
    TooLong,
    /// The stream ended first.
    Eof,
    /// Not decided yet; the first bytes (this many) are searched.
    Wait(usize),
}

/// Looks for the end of the telegram at the start of `unit`, from position `searched` on: its
/// `!`, or a new start that cuts it off (`/` and three letters, or the complete header of a
/// Smarty frame).
fn find_end(unit: &[u8], searched: usize, eof: bool) -> End {
    let limit = unit.len().min(MAX_TELEGRAM_LEN);
    let mut j = searched;
    while j < limit {
        let Some(k) = find_any([b'!', b'/', 0xDB], &unit[j..limit]) else {
            break;
        };
        let p = j + k;
        match unit[p] {
            b'!' => return End::Bang(p),
            b'/' => match unit.get(p + 1..p + 4) {
                None if !eof => return End::Wait(p),
                Some(flag) if flag.iter().all(u8::is_ascii_alphabetic) => return End::NewStart(p),
                _ => {}
            },
            _ => match unit.get(p + 1) {
                None if !eof => return End::Wait(p),
                Some(0x08) => match smarty::frame_start(&unit[p..]) {
                    FrameStart::NeedMore if !eof => return End::Wait(p),
                    FrameStart::Frame { .. } => return End::NewStart(p),
                    FrameStart::NeedMore | FrameStart::Invalid(_) => {}
                },
                _ => {}
            },
        }
        j = p + 1;
    }
    if limit == MAX_TELEGRAM_LEN {
        End::TooLong
    } else if eof {
        End::Eof
    } else {
        End::Wait(limit)
    }
}

/// How a span of skipped bytes is reported.
const DIAGNOSIS: TextDiagnosis = TextDiagnosis {
    unit: "telegram",
    protocol: "DSMR",
    controls: false,
    text_percent: 95,
    idle_line: false,
    garbled: "inverted or wrong-baud data",
    lost_start,
};

/// The report of a skipped span: how many bytes and, where the statistics tell, why.
fn describe_skipped(span: &SkippedSpan) -> String {
    span.diagnose(&DIAGNOSIS)
}

/// Printable text with a `!`: the tail of a telegram whose start was not seen.
fn lost_start(span: &SkippedSpan) -> Option<String> {
    let n = span.count;
    (span.printable == n && span.bang > 0).then(|| {
        format!(
            "skipped {n} bytes of DSMR text without a telegram start: the stream began mid-telegram or a header was lost"
        )
    })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::stream::StreamDecoder;

    /// Minimal DSMR 5 telegram preceded by CR LF (nielsbasjes/dsmr-tools,
    /// TestDsmrParserOnSpecification), CRC 8AF2.
    static TELEGRAM: &[u8] = b"\r\n/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n0-0:0.0.0(101209113020W)\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n!8AF2\r\n";

    fn kinds(messages: &[Message]) -> Vec<&str> {
        messages
            .iter()
            .map(|m| m.error_report().map_or("reading", |e| e.kind.as_str()))
            .collect()
    }

    fn decode(bytes: &[u8]) -> Vec<Message> {
        DsmrDecoder::default().decode_all(bytes)
    }

    #[test]
    fn test_parse() {
        let messages = decode(TELEGRAM);
        assert_eq!(kinds(&messages), vec!["reading"]);
        let mut bytewise = DsmrDecoder::default();
        let mut out = Vec::new();
        for b in TELEGRAM {
            bytewise.feed(std::slice::from_ref(b), &mut out);
        }
        bytewise.finish(&mut out);
        assert_eq!(out, messages);
    }

    #[test]
    fn test_bang_cannot_bypass_the_crc() {
        // A changed byte turned the version line's first character into `!` (issue #11).
        let flipped = b"/ISK5\\2M550E-1012\r\n\r\n!-3:0.2.8(50)\r\n0-0:1.0.0(191108145519W)\r\n1-0:1.8.1(001043.936*kWh)\r\n!BEA1\r\n";
        let messages = decode(flipped);
        assert!(
            messages.iter().all(|m| m.reading().is_none()),
            "{messages:?}"
        );
        assert_eq!(kinds(&messages)[0], "malformed");
        // Cut right after `!`: a DSMR 5 telegram is `crc_missing`, never DSMR 2.2.
        let bang = TELEGRAM.iter().position(|&b| b == b'!').expect("a '!'");
        assert_eq!(kinds(&decode(&TELEGRAM[..=bang])), vec!["crc_missing"]);
        // Without a version line, a DSMR 4 object gives it away.
        let no_version =
            b"/XYZ5 meter\r\n\r\n0-0:1.0.0(191108145519W)\r\n1-0:1.8.1(001043.936*kWh)\r\n!";
        let message = &decode(no_version)[0];
        assert_eq!(kinds(std::slice::from_ref(message)), vec!["crc_missing"]);
        assert!(
            message
                .error_report()
                .is_some_and(|e| e.message.contains("0-0:1.0.0")),
            "{message:?}"
        );
        // After a telegram with a verified CRC, a telegram without one is `crc_missing`.
        let dsmr22 = b"/XMX5XMXABCE100103855\r\n\r\n1-0:1.8.1(03687.771*kWh)\r\n!\r\n";
        let mut stream = TELEGRAM.to_vec();
        stream.extend_from_slice(dsmr22);
        assert_eq!(kinds(&decode(&stream)), vec!["reading", "crc_missing"]);
        // Alone, the same DSMR 2.2 telegram is a reading.
        assert_eq!(kinds(&decode(dsmr22)), vec!["reading"]);
    }

    #[test]
    fn test_junk_and_offsets() {
        let mut stream = b"xyz".to_vec();
        stream.extend_from_slice(TELEGRAM);
        stream.extend_from_slice(b"\r\n junk/ab/");
        let messages = decode(&stream);
        assert_eq!(
            kinds(&messages),
            vec!["skipped_bytes", "reading", "skipped_bytes"]
        );
        let first = messages[0].error_report().expect("error");
        assert_eq!(first.offset, Some(0));
        assert!(first.message.starts_with("skipped 3 bytes"), "{first:?}");
        let last = messages[2].error_report().expect("error");
        assert_eq!(last.offset, Some(3 + TELEGRAM.len() as u64 + 2));
        assert!(last.message.starts_with("skipped 9 bytes"), "{last:?}");
    }

    #[test]
    fn test_truncated() {
        let cut = &TELEGRAM[..60];
        let mut stream = cut.to_vec();
        stream.extend_from_slice(TELEGRAM);
        let messages = decode(&stream);
        assert_eq!(kinds(&messages), vec!["truncated", "reading"]);
        assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(2));
        assert_eq!(kinds(&decode(cut)), vec!["truncated"]);
    }

    #[test]
    fn test_crc_digits_at_end() {
        // No line ending after the CRC, and a DSMR 2.2 telegram ending at "!".
        let without_crlf = &TELEGRAM[..TELEGRAM.len() - 2];
        assert_eq!(kinds(&decode(without_crlf)), vec!["reading"]);
        let dsmr22 = b"/XMX5XMXABCE100103855\r\n\r\n1-0:1.8.1(03687.771*kWh)\r\n!";
        assert_eq!(kinds(&decode(dsmr22)), vec!["reading"]);
        // "!" directly followed by the next telegram.
        let mut two = dsmr22.to_vec();
        two.extend_from_slice(dsmr22);
        assert_eq!(kinds(&decode(&two)), vec!["reading", "reading"]);
    }

    #[test]
    fn test_impossible_len() {
        let mut stream = b"/ABC5\r\n".to_vec();
        stream.resize(MAX_TELEGRAM_LEN + 100, b'x');
        stream.extend_from_slice(TELEGRAM);
        let messages = decode(&stream);
        assert_eq!(
            kinds(&messages),
            vec!["too_long", "skipped_bytes", "reading"]
        );
        // A Smarty header with an impossible length: reported, and the scan goes on.
        let mut stream = vec![0xDB, 0x08, b'S', b'A', b'G', 1, 2, 3, 4, 5, 0x05];
        stream.extend_from_slice(TELEGRAM);
        let messages = decode(&stream);
        assert_eq!(
            kinds(&messages),
            vec!["frame_length", "skipped_bytes", "reading"]
        );
        assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(0));
        // A Smarty frame cut off.
        let frame_start = [
            0xDB, 0x08, b'S', b'A', b'G', 1, 2, 3, 4, 5, 0x82, 0x00, 0x40, 0x30,
        ];
        assert_eq!(kinds(&decode(&frame_start)), vec!["truncated"]);
        assert_eq!(kinds(&decode(&frame_start[..12])), vec!["truncated"]);
    }

    #[test]
    fn test_frame_cuts_telegram() {
        // A Smarty frame header (valid length, SC 0x30) inside a telegram is a new start.
        let mut frame = vec![
            0xDB, 0x08, b'S', b'A', b'G', 1, 2, 3, 4, 5, 0x82, 0x00, 0x20, 0x30,
        ];
        frame.resize(13 + 0x20, 0x55);
        let mut stream = b"/ABC5\r\n\r\n1-0:1.8.1(0001".to_vec();
        stream.extend_from_slice(&frame);
        let messages = decode(&stream);
        assert_eq!(kinds(&messages), vec!["truncated", "missing_key"]);
        let cut = messages[0].error_report().expect("error");
        assert!(
            cut.message
                .ends_with("an encrypted frame starts at offset 23"),
            "{cut:?}"
        );
        assert_eq!(messages[1].error_report().and_then(|e| e.offset), Some(23));
        // DB 08 without a plausible frame header is just a bad byte in the body.
        let stream = b"/ABC5\r\n\r\n1-0:1.8.1(1\xdb\x08)\r\n!";
        let messages = decode(stream);
        assert_eq!(kinds(&messages), vec!["malformed"]);
    }

    #[test]
    fn test_7e1_as_8n1() {
        let parity: Vec<u8> = TELEGRAM
            .iter()
            .map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b })
            .collect();
        let messages = decode(&parity);
        assert_eq!(kinds(&messages), vec!["skipped_bytes"]);
        let message = &messages[0].error_report().expect("error").message;
        assert!(
            message.contains("7E1") && message.contains("8N1"),
            "{message}"
        );
    }

    #[test]
    fn test_inverted() {
        let inverted: Vec<u8> = TELEGRAM.iter().map(|&b| !b).collect();
        let messages = decode(&inverted);
        assert_eq!(kinds(&messages), vec!["skipped_bytes"]);
        let message = &messages[0].error_report().expect("error").message;
        assert!(message.contains("inverted or wrong-baud"), "{message}");
    }
}
