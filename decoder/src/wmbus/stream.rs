//! The wireless M-Bus stream decoder: a capture of what a receiver stick handed its host, in
//! one of the framings of [`super::dongle`], auto-detected per message and then kept.
//!
//! Every telegram becomes a reading or a classified error ([`super::telegram`]); the stick's
//! other messages (the host's start-up commands and the stick's replies) become link messages
//! (`im871a`, `amb8465`); bytes that belong to nothing are one `skipped_bytes` error per run
//! (the line ends between text lines excepted). A message cut off by the end of the capture is
//! `truncated`. Decisions depend only on complete messages or the end of the stream, so the
//! output does not depend on how the stream is chunked.

use super::dongle::{self, raw::Crcs, Delivered, Framing, Unit};
use super::{link, telegram};
use crate::keys::Keys;
use crate::reading::Message;
use crate::resync::{Framer, Resync, Skipped, SkippedSpan};

/// The reference decoder of wireless M-Bus captures.
pub type WmbusDecoder = Resync<WmbusFramer>;

/// The framing behind [`WmbusDecoder`].
#[derive(Debug)]
pub struct WmbusFramer {
    keys: Keys,
    crcs: Crcs,
    /// The framing of the first message found; tried first from then on.
    framing: Option<Framing>,
    /// In [`Crcs::Auto`]: whether the first bare frame had CRCs (then every one must).
    raw_had_crcs: bool,
    /// Whether the next byte starts a line (the stream's start, or after CR or LF): text
    /// lines (CUL, rtl_wmbus) start only there, so hex inside a damaged line is not read as
    /// a line of its own.
    line_start: bool,
    skipped: Skipped,
}

impl WmbusDecoder {
    /// A decoder with the meter key in `keys.encryption`, bare frames with or without CRCs
    /// told apart per frame.
    pub fn new(keys: Keys) -> Self {
        Self::with_crcs(keys, Crcs::Auto)
    }

    /// A decoder that is told whether bare frames carry their CRCs.
    pub fn with_crcs(keys: Keys, crcs: Crcs) -> Self {
        Resync::with_framer(WmbusFramer {
            keys,
            crcs,
            framing: None,
            raw_had_crcs: false,
            line_start: true,
            skipped: Skipped::new(describe_skipped),
        })
    }
}

fn describe_skipped(span: &SkippedSpan) -> String {
    format!(
        "{} bytes that belong to no wireless M-Bus telegram or receiver message",
        span.count
    )
}

impl WmbusFramer {
    /// Whether bare frames at stream offset `at` may come without CRCs. In [`Crcs::Auto`] a
    /// frame without CRCs has no check at all, so it is only taken where bare frames are
    /// expected: at the start of the stream, or after a first bare frame that had none —
    /// never inside another stick's framing, where a damaged message could otherwise be
    /// read as one.
    fn raw_crcs(&self, at: u64) -> Crcs {
        match (self.crcs, self.framing) {
            (Crcs::Auto, Some(Framing::Raw)) if self.raw_had_crcs => Crcs::Present,
            (Crcs::Auto, Some(Framing::Raw)) => Crcs::Auto,
            (Crcs::Auto, None) if at == 0 => Crcs::Auto,
            (Crcs::Auto, _) => Crcs::Present,
            (crcs, _) => crcs,
        }
    }

    fn unit(&self, b: &[u8], at: u64, at_end: bool) -> (Unit, Option<Framing>) {
        // A framing that needs more bytes is waited for even when a later one could decide
        // now: with more bytes it might decide differently, and the output must not depend on
        // the chunking.
        let order = self.framing.into_iter().chain(
            Framing::ALL
                .into_iter()
                .filter(|f| Some(*f) != self.framing),
        );
        for framing in order {
            if framing.is_text() && !self.line_start {
                continue;
            }
            match dongle::unit(framing, b, at_end, self.raw_crcs(at)) {
                Unit::Junk => {}
                Unit::Need => return (Unit::Need, None),
                u => return (u, Some(framing)),
            }
        }
        (Unit::Junk, None)
    }

    fn telegram(&self, d: Delivered, at: u64, out: &mut Vec<Message>) {
        let frame = match d.frame {
            Ok(f) => f,
            Err(e) => {
                out.push(Message::error(e.kind.name(), e.message, Some(at)));
                return;
            }
        };
        match telegram::decode(&frame, self.keys.encryption.as_ref()) {
            Ok(mut r) => {
                r.warnings.extend(d.warnings);
                out.push(Message::Reading(r));
            }
            Err(e) => out.push(Message::error(e.kind.name(), e.message, Some(at))),
        }
    }
}

impl Framer for WmbusFramer {
    fn process(&mut self, data: &[u8], base: u64, at_end: bool, out: &mut Vec<Message>) -> usize {
        let mut pos = 0;
        while pos < data.len() {
            if pos > 0 {
                self.line_start = matches!(data[pos - 1], b'\r' | b'\n');
            }
            let at = base + pos as u64;
            let rest = &data[pos..];
            let text = self.framing.map_or(true, Framing::is_text);
            if text && matches!(rest[0], b'\r' | b'\n') {
                pos += 1;
                continue;
            }
            let (unit, framing) = self.unit(rest, at, at_end);
            match unit {
                Unit::Need if !at_end => break,
                Unit::Need => {
                    self.skipped.flush(out);
                    out.push(Message::error(
                        "truncated",
                        format!(
                            "the stream ends inside a telegram ({} bytes received)",
                            rest.len()
                        ),
                        Some(at),
                    ));
                    pos = data.len();
                }
                Unit::Junk => {
                    self.skipped.add(at, rest[0]);
                    pos += 1;
                }
                Unit::Telegrams { len, telegrams } => {
                    self.skipped.flush(out);
                    if self.framing.is_none() && framing == Some(Framing::Raw) {
                        self.raw_had_crcs = link::first_block_ok(rest) || link::format_b_ok(rest);
                    }
                    self.framing = self.framing.or(framing);
                    for t in telegrams {
                        self.telegram(t, at, out);
                    }
                    pos += len.max(1);
                }
                Unit::Link {
                    len,
                    kind,
                    direction,
                    detail,
                } => {
                    self.skipped.flush(out);
                    self.framing = self.framing.or(framing);
                    out.push(Message::link(kind, direction, None, Some(detail), Some(at)));
                    pos += len.max(1);
                }
                Unit::Error { len, error } => {
                    self.skipped.flush(out);
                    out.push(Message::error(error.kind.name(), error.message, Some(at)));
                    pos += len.max(1);
                }
            }
        }
        if pos > 0 {
            self.line_start = matches!(data[pos - 1], b'\r' | b'\n');
        }
        pos
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        self.skipped.flush(out);
        self.framing = None;
        self.raw_had_crcs = false;
        self.line_start = true;
    }
}
