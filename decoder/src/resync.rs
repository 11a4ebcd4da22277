//! The plumbing every resynchronising stream decoder shares.
//!
//! Each protocol's decoder is a [`Framer`]: given the bytes not yet consumed, it decides what it
//! can and says how many bytes it has consumed. [`Resync`] turns a framer into a
//! [`StreamDecoder`]: it keeps the unconsumed bytes and the stream offset of the first, so the
//! framer sees the same bytes however the stream is chunked.
//!
//! Bytes that belong to no message are collected in a [`Skipped`] span and reported as one
//! `skipped_bytes` error per contiguous span, at the offset of its first byte. The span counts
//! what it holds ([`SkippedSpan`]) so that the report can guess why: a 7E1 meter read as 8N1,
//! inverted or wrong-baud data, an idle line, a stream that began mid-message
//! ([`SkippedSpan::diagnose`] for the text protocols).
//!
//! What counts as junk (CR and LF are not junk for DSMR, bytes inside a frame already reported
//! are not junk for M-Bus) stays with each protocol: it decides which bytes it adds to the span.

use crate::reading::Message;
use crate::stream::StreamDecoder;

/// One protocol's framing of a byte stream, run by [`Resync`].
pub trait Framer {
    /// Decodes as much of `data` as can be decided, appending messages to `out`; returns how
    /// many bytes are consumed. The rest (an unfinished message, or a start candidate waiting for
    /// its next bytes) begins the next call's `data`. `data[0]` is at stream offset `base`. With
    /// `at_end` the stream has ended and everything must be consumed.
    fn process(&mut self, data: &[u8], base: u64, at_end: bool, out: &mut Vec<Message>) -> usize;

    /// Called once the last bytes are processed: reports whatever is still open (the skipped
    /// span, a message being reassembled) and returns to the state at the start of a stream.
    fn finish(&mut self, out: &mut Vec<Message>) {
        let _ = out;
    }
}

/// A [`StreamDecoder`] over a [`Framer`]: keeps the bytes the framer has not consumed yet and
/// the stream offset of the first of them.
#[derive(Debug, Default)]
pub struct Resync<F> {
    framer: F,
    /// Bytes received and not yet consumed; `pending[0]` is at stream offset `base`.
    pending: Vec<u8>,
    base: u64,
}

impl<F: Framer> Resync<F> {
    /// A decoder at the start of a stream, framing with `framer`.
    pub fn with_framer(framer: F) -> Self {
        Resync {
            framer,
            pending: Vec::new(),
            base: 0,
        }
    }
}

impl<F: Framer> StreamDecoder for Resync<F> {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Message>) {
        if self.pending.is_empty() {
            let consumed = self.framer.process(bytes, self.base, false, out);
            self.base += consumed as u64;
            self.pending.extend_from_slice(&bytes[consumed..]);
        } else {
            let mut data = std::mem::take(&mut self.pending);
            data.extend_from_slice(bytes);
            let consumed = self.framer.process(&data, self.base, false, out);
            self.base += consumed as u64;
            data.drain(..consumed);
            self.pending = data;
        }
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        let data = std::mem::take(&mut self.pending);
        let consumed = self.framer.process(&data, self.base, true, out);
        debug_assert_eq!(consumed, data.len());
        self.base += data.len() as u64;
        self.framer.finish(out);
    }
}

/// Statistics of a span of bytes that belong to no message, enough to guess why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedSpan {
    /// Stream offset of the first byte.
    pub start: u64,
    /// Bytes in the span.
    pub count: u64,
    /// Bytes with bit 7 set.
    pub high: u64,
    /// Bytes with an even number of one bits (bit 7 is an even-parity bit over bits 0-6).
    pub even_parity: u64,
    /// Printable ASCII bytes.
    pub printable: u64,
    /// Bytes 0x00, 0x7F and 0xFF: an idle line, a wake-up, an optical head switching on.
    pub idle: u64,
    /// `(` bytes.
    pub paren: u64,
    /// `!` bytes.
    pub bang: u64,
    /// Bytes that are printable ASCII, CR or LF once bit 7 is cleared.
    pub masked_text: u64,
    /// Bytes that are SOH, STX, ETX, EOT or ACK once bit 7 is cleared.
    pub masked_control: u64,
    /// Bytes that are `/` once bit 7 is cleared.
    pub masked_slash: u64,
    /// Bytes that are STX once bit 7 is cleared.
    pub masked_stx: u64,
    /// Bytes that are `!` once bit 7 is cleared.
    pub masked_bang: u64,
}

impl SkippedSpan {
    /// An empty span starting at stream offset `start`.
    pub fn new(start: u64) -> Self {
        SkippedSpan {
            start,
            count: 0,
            high: 0,
            even_parity: 0,
            printable: 0,
            idle: 0,
            paren: 0,
            bang: 0,
            masked_text: 0,
            masked_control: 0,
            masked_slash: 0,
            masked_stx: 0,
            masked_bang: 0,
        }
    }

    /// Counts one more byte.
    pub fn add(&mut self, b: u8) {
        let printable = |c: u8| (0x20..=0x7E).contains(&c);
        let masked = b & 0x7F;
        self.count += 1;
        self.high += u64::from(b & 0x80 != 0);
        self.even_parity += u64::from(b.count_ones() % 2 == 0);
        self.printable += u64::from(printable(b));
        self.idle += u64::from(matches!(b, 0x00 | 0x7F | 0xFF));
        self.paren += u64::from(b == b'(');
        self.bang += u64::from(b == b'!');
        self.masked_text += u64::from(printable(masked) || masked == b'\r' || masked == b'\n');
        // SOH, STX, ETX, EOT, ACK.
        self.masked_control += u64::from(matches!(masked, 0x01 | 0x02 | 0x03 | 0x04 | 0x06));
        self.masked_slash += u64::from(masked == b'/');
        self.masked_stx += u64::from(masked == 0x02);
        self.masked_bang += u64::from(masked == b'!');
    }

    /// The report of a text protocol (DSMR, IEC 62056-21): how many bytes and, where the
    /// statistics tell, why.
    pub fn diagnose(&self, text: &TextDiagnosis) -> String {
        let n = self.count;
        let unit = text.unit;
        let mut masked_text = self.masked_text;
        let mut masked_start = self.masked_slash;
        if text.controls {
            masked_text += self.masked_control;
            masked_start += self.masked_stx;
        }
        let looks_7e1 = self.high * 10 >= n
            && self.even_parity * 100 >= n * 95
            && masked_text * 100 >= n * text.text_percent
            && masked_start > 0
            && self.masked_bang > 0;
        if looks_7e1 {
            return format!(
                "skipped {n} bytes outside any {unit}: bit 7 set on {} of {n} bytes; with bit 7 cleared the data looks like {} text: a 7E1 meter read as 8N1",
                self.high, text.protocol
            );
        }
        if text.idle_line && self.idle == n {
            return format!(
                "skipped {n} bytes of line noise outside any {unit} (0x00, 0x7F or 0xFF: an idle line, a wake-up sequence, an optical head switching on)"
            );
        }
        if text.idle_line && self.idle * 2 >= n {
            return format!(
                "skipped {n} bytes outside any {unit}, {} of them 0x00, 0x7F or 0xFF (an idle line, a wake-up sequence, padding added by a gateway)",
                self.idle
            );
        }
        if self.high * 10 > n * 3 || self.printable * 2 < n {
            return format!(
                "skipped {n} bytes outside any {unit} with no {} structure: bit 7 set on {} of {n} bytes, {} printable; looks like {}",
                text.protocol, self.high, self.printable, text.garbled
            );
        }
        if let Some(lost) = (text.lost_start)(self) {
            return lost;
        }
        format!("skipped {n} bytes outside any {unit}")
    }
}

/// How a text protocol words and decides the report of a skipped span
/// ([`SkippedSpan::diagnose`]).
#[derive(Clone, Copy, Debug)]
pub struct TextDiagnosis {
    /// What the protocol calls a message: "telegram", "message".
    pub unit: &'static str,
    /// The protocol's name in the report.
    pub protocol: &'static str,
    /// Whether SOH, STX, ETX, EOT and ACK are protocol text and STX a start (besides `/`).
    pub controls: bool,
    /// The share of bytes (in percent) that must be text once bit 7 is cleared for a 7E1 guess.
    pub text_percent: u64,
    /// Whether spans of 0x00, 0x7F and 0xFF are reported as an idle line.
    pub idle_line: bool,
    /// The guess for bytes with no structure at all.
    pub garbled: &'static str,
    /// The report for protocol text without a start, when the span looks like it.
    pub lost_start: fn(&SkippedSpan) -> Option<String>,
}

/// The span of skipped bytes being collected, reported as one `skipped_bytes` error.
#[derive(Clone, Debug)]
pub struct Skipped {
    span: Option<SkippedSpan>,
    describe: fn(&SkippedSpan) -> String,
}

impl Skipped {
    /// No span yet; a span is reported with the message `describe` gives.
    pub fn new(describe: fn(&SkippedSpan) -> String) -> Self {
        Skipped {
            span: None,
            describe,
        }
    }

    /// Whether no byte has been skipped since the last report.
    pub fn is_empty(&self) -> bool {
        self.span.is_none()
    }

    /// Adds byte `b` at stream offset `offset` to the span (which starts there if there is
    /// none).
    pub fn add(&mut self, offset: u64, b: u8) {
        self.span
            .get_or_insert_with(|| SkippedSpan::new(offset))
            .add(b);
    }

    /// The current span, if any, to be reported by the caller; starts afresh.
    pub fn take(&mut self) -> Option<SkippedSpan> {
        self.span.take()
    }

    /// Reports the current span, if any, and starts afresh.
    pub fn flush(&mut self, out: &mut Vec<Message>) {
        if let Some(span) = self.span.take() {
            out.push(Message::error(
                "skipped_bytes",
                (self.describe)(&span),
                Some(span.start),
            ));
        }
    }
}
