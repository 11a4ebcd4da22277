//! The wired M-Bus stream decoder (EN 13757-2 link layer, EN 13757-3 application layer).
//!
//! A capture may hold both directions of a dialogue: the master's requests (short frames
//! `10 C A CS 16`, control frames, SND_UD long frames such as secondary selects), the slaves'
//! `E5` acknowledgements and their RSP_UD long frames. Requests and `E5` become link messages
//! ([`super::link`]); each RSP_UD becomes one reading or error (see [`super::convert`]).
//!
//! Resynchronisation: a byte that starts no plausible frame is junk, reported as one
//! `skipped_bytes` error per run. A run that comes right after a master's request, where the
//! slave's answer belongs, is named a collision (several slaves answering at once, their bits
//! ANDed on the bus, or a garbled answer), as libmbus calls a bad byte after SND_NKE. A long frame whose `68 L L 68` header is plausible but whose
//! stop byte is missing is reported as `stop_byte` and the scan resumes one byte after its
//! start (a collision or a cut-off frame followed by the next one); one whose checksum is
//! wrong is reported as `checksum` and consumed. A frame cut off by the end of the stream is
//! `truncated`. Decisions depend only on complete frames or the end of the stream, so the
//! output does not depend on how the stream is chunked.

use super::convert::{decode_checked, Decoded};
use super::frame::{
    self, Frame, LONG_FRAME_OVERHEAD, LONG_START, SHORT_START, SINGLE_CHARACTER, STOP,
};
use super::link::from_master;
use super::record::ErrorKind;
use crate::reading::Message;
use crate::resync::{Framer, Resync, Skipped, SkippedSpan};

/// The reference decoder of wired M-Bus captures.
pub type MbusDecoder = Resync<MbusFramer>;

/// The wired M-Bus framing behind [`MbusDecoder`].
#[derive(Debug)]
pub struct MbusFramer {
    /// Junk bytes not yet reported.
    skipped: Skipped,
    /// Stream offset up to which bytes belong to a frame already reported as an error.
    quiet_until: u64,
    /// The last master's request not yet followed by anything: (its offset, its end).
    request: Option<(u64, u64)>,
}

/// What the bytes at a position are.
enum Candidate {
    /// Not enough bytes to tell.
    Need,
    /// Starts no plausible frame.
    Junk,
    /// A complete frame of this length with a correct checksum.
    Frame(usize),
    /// A plausible long frame header without the stop byte where L puts it.
    BadStop(usize),
    /// A complete frame of this length with a wrong checksum.
    BadChecksum(usize),
    /// `68 L L 68` with L below 3 (C, A, CI): a frame of this many bytes is announced.
    BadLength(usize),
}

fn candidate(b: &[u8]) -> Candidate {
    match b.first() {
        None => Candidate::Need,
        Some(&SINGLE_CHARACTER) => Candidate::Frame(1),
        Some(&SHORT_START) => match b.get(..frame::SHORT_FRAME_LEN) {
            None => Candidate::Need,
            Some(f) if f[4] == STOP && f[1].wrapping_add(f[2]) == f[3] => {
                Candidate::Frame(frame::SHORT_FRAME_LEN)
            }
            Some(_) => Candidate::Junk,
        },
        Some(&LONG_START) => {
            let Some(h) = b.get(..4) else {
                return Candidate::Need;
            };
            if h[1] != h[2] || h[3] != LONG_START {
                return Candidate::Junk;
            }
            let n = usize::from(h[1]) + LONG_FRAME_OVERHEAD;
            if usize::from(h[1]) < frame::MIN_DATA_LEN {
                return Candidate::BadLength(n);
            }
            let Some(f) = b.get(..n) else {
                return Candidate::Need;
            };
            if f[n - 1] != STOP {
                return Candidate::BadStop(n);
            }
            if frame::checksum(&f[4..n - 2]) != f[n - 2] {
                return Candidate::BadChecksum(n);
            }
            Candidate::Frame(n)
        }
        Some(_) => Candidate::Junk,
    }
}

impl MbusDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        MbusDecoder::default()
    }
}

impl Default for MbusFramer {
    fn default() -> Self {
        MbusFramer {
            skipped: Skipped::new(describe_skipped),
            quiet_until: 0,
            request: None,
        }
    }
}

/// The report of a span of junk bytes.
fn describe_skipped(span: &SkippedSpan) -> String {
    format!("{} bytes that belong to no M-Bus frame", span.count)
}

/// The report of junk where the answer to the request at `request` belongs.
fn describe_collision(span: &SkippedSpan, request: u64) -> String {
    format!(
        "{} bytes that belong to no M-Bus frame where the answer to the request at offset \
         {request} belongs: a collision (several slaves answering at once) or a garbled answer",
        span.count
    )
}

impl MbusFramer {
    /// Counts the junk byte `b` at stream offset `at`, unless it lies in a frame already
    /// reported.
    fn junk(&mut self, at: u64, b: u8) {
        if at < self.quiet_until {
            return;
        }
        self.skipped.add(at, b);
    }

    /// Reports the skipped span, naming a collision when it starts right after a request.
    fn flush(&mut self, out: &mut Vec<Message>) {
        let request = self.request.take();
        match (self.skipped.take(), request) {
            (Some(span), Some((req, end))) if span.start == end => out.push(Message::error(
                "skipped_bytes",
                describe_collision(&span, req),
                Some(span.start),
            )),
            (Some(span), _) => out.push(Message::error(
                "skipped_bytes",
                describe_skipped(&span),
                Some(span.start),
            )),
            (None, _) => {}
        }
    }

    fn error(&mut self, kind: ErrorKind, message: String, at: u64, out: &mut Vec<Message>) {
        self.flush(out);
        out.push(Message::error(kind.name(), message, Some(at)));
    }
}

impl Framer for MbusFramer {
    fn process(&mut self, data: &[u8], base: u64, eof: bool, out: &mut Vec<Message>) -> usize {
        let mut pos = 0;
        while pos < data.len() {
            let at = base + pos as u64;
            let rest = &data[pos..];
            match candidate(rest) {
                Candidate::Need if !eof => break,
                Candidate::Need => {
                    if at >= self.quiet_until {
                        let message = format!(
                            "the stream ends inside a frame ({} bytes received)",
                            rest.len()
                        );
                        self.error(ErrorKind::Truncated, message, at, out);
                        self.quiet_until = base + data.len() as u64;
                    }
                    pos += 1;
                }
                Candidate::Junk => {
                    self.junk(at, rest[0]);
                    pos += 1;
                }
                Candidate::BadStop(n) => {
                    if at >= self.quiet_until {
                        let message = format!(
                            "byte {} of the frame is 0x{:02X}, not the stop byte 0x16",
                            n - 1,
                            rest[n - 1]
                        );
                        self.error(ErrorKind::StopByte, message, at, out);
                        self.quiet_until = at + n as u64;
                    }
                    pos += 1;
                }
                Candidate::BadLength(n) => {
                    if at >= self.quiet_until {
                        let message = format!(
                            "length field {} is below 3 (C, A and CI)",
                            n - LONG_FRAME_OVERHEAD
                        );
                        self.error(ErrorKind::Length, message, at, out);
                        self.quiet_until = at + n as u64;
                    }
                    pos += 1;
                }
                Candidate::BadChecksum(n) => {
                    let message = format!(
                        "checksum 0x{:02X}, computed 0x{:02X}",
                        rest[n - 2],
                        frame::checksum(&rest[4..n - 2])
                    );
                    self.error(ErrorKind::Checksum, message, at, out);
                    self.quiet_until = self.quiet_until.max(at + n as u64);
                    pos += n;
                }
                Candidate::Frame(n) => {
                    self.flush(out);
                    match Frame::new_checked(&rest[..n]) {
                        Ok(f) => {
                            if from_master(&f) {
                                self.request = Some((at, at + n as u64));
                            }
                            match decode_checked(&f) {
                                Decoded::Link(l) => out.push(Message::link(
                                    l.kind,
                                    l.direction,
                                    l.address,
                                    l.detail,
                                    Some(at),
                                )),
                                Decoded::Reading(r) => out.push(Message::Reading(r)),
                                Decoded::Error(e) => {
                                    out.push(Message::error(e.kind.name(), e.message, Some(at)));
                                }
                            }
                        }
                        // `candidate` checked the structure; never reached.
                        Err(e) => out.push(Message::error(
                            ErrorKind::FrameStart.name(),
                            e.to_string(),
                            Some(at),
                        )),
                    }
                    self.quiet_until = self.quiet_until.max(at + n as u64);
                    pos += n;
                }
            }
        }
        pos
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        self.flush(out);
        self.request = None;
    }
}
