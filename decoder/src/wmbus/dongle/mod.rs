//! How receiver sticks hand wireless M-Bus telegrams to the host, one module per framing
//! (wmbus.md §3, from wmbusmeters, jMBus and the vendors' manuals):
//!
//! - [`im871a`]: IMST iM871A HCI frames (`A5 …`, CRCs removed, optional FCS);
//! - [`amb8465`]: Amber/Würth AMB8465 command-mode frames (`FF 03 …`, CRCs removed, RSSI and
//!   XOR checksum);
//! - [`cul`]: CUL sticks with culfw, text lines `b…`/`bY…` with the CRCs kept;
//! - [`rtlwmbus`]: rtl_wmbus text lines `T1;1;1;…;0x…` (CRCs removed);
//! - [`raw`]: bare link-layer frames, with CRCs (format A or B) or without.
//!
//! Each module's `unit` tells what the bytes at a position are ([`Unit`]); the stream decoder
//! ([`super::stream`]) tries them in turn and keeps to the framing it found first.

pub mod amb8465;
pub mod cul;
pub mod im871a;
pub mod raw;
pub mod rtlwmbus;

use super::Error;
use crate::reading::Direction;

/// The framings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// IMST iM871A HCI.
    Im871a,
    /// Amber AMB8465 command mode.
    Amb8465,
    /// CUL `b…` lines.
    Cul,
    /// rtl_wmbus lines.
    RtlWmbus,
    /// Bare link-layer frames.
    Raw,
}

impl Framing {
    /// Every framing, in the order they are tried before one is found: the text lines, then
    /// the checked binary forms (the AMB8465's checksum, a bare frame's CRCs), the iM871A
    /// last, as its messages need not carry an FCS (a format B frame with L = `A5` would
    /// otherwise be taken for an HCI message).
    pub const ALL: [Framing; 5] = [
        Framing::Cul,
        Framing::RtlWmbus,
        Framing::Amb8465,
        Framing::Raw,
        Framing::Im871a,
    ];

    /// Whether the framing is text lines.
    pub fn is_text(self) -> bool {
        matches!(self, Framing::Cul | Framing::RtlWmbus)
    }
}

/// One telegram a stick delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The link-layer frame without CRCs (L recomputed), or why there is none.
    pub frame: Result<Vec<u8>, Error>,
    /// What the framing corrected (an rtl_wmbus L rewritten…).
    pub warnings: Vec<String>,
}

impl Delivered {
    /// A frame without warnings.
    pub fn frame(frame: Vec<u8>) -> Self {
        Delivered {
            frame: Ok(frame),
            warnings: Vec::new(),
        }
    }

    /// An error in place of a frame.
    pub fn error(e: Error) -> Self {
        Delivered {
            frame: Err(e),
            warnings: Vec::new(),
        }
    }
}

/// What the bytes at a position are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Not enough bytes to tell.
    Need,
    /// Not this framing.
    Junk,
    /// `len` bytes delivering telegrams (an rtl_wmbus line may chain several).
    Telegrams {
        /// Bytes taken.
        len: usize,
        /// The telegrams.
        telegrams: Vec<Delivered>,
    },
    /// `len` bytes of a message between host and stick that carries no telegram.
    Link {
        /// Bytes taken.
        len: usize,
        /// `im871a` or `amb8465`.
        kind: &'static str,
        /// `to_meter`: host to stick; `from_meter`: stick to host.
        direction: Direction,
        /// What it is.
        detail: String,
    },
    /// `len` bytes of this framing that are damaged.
    Error {
        /// Bytes taken.
        len: usize,
        /// What is wrong.
        error: Error,
    },
}

/// What the bytes at the start of `b` are in `framing`. `at_end`: no more bytes will come.
pub fn unit(framing: Framing, b: &[u8], at_end: bool, raw_crcs: raw::Crcs) -> Unit {
    match framing {
        Framing::Im871a => im871a::unit(b, at_end),
        Framing::Amb8465 => amb8465::unit(b, at_end),
        Framing::Cul => cul::unit(b, at_end),
        Framing::RtlWmbus => rtlwmbus::unit(b, at_end),
        Framing::Raw => raw::unit(b, at_end, raw_crcs),
    }
}

/// The longest text line looked at: a telegram of 256 bytes with CRCs in hex and the fields
/// around it take far less.
pub const MAX_LINE: usize = 2048;

/// The line at the start of `b` without its CR LF and the bytes it takes, `None` while its end
/// has not arrived (at the end of the stream the rest is the line). Only the first
/// [`MAX_LINE`] bytes are looked at: past them, they are the line.
pub(crate) fn line(b: &[u8], at_end: bool) -> Option<(&[u8], usize)> {
    let at_end = at_end || b.len() > MAX_LINE;
    let b = &b[..b.len().min(MAX_LINE)];
    match b.iter().position(|&c| c == b'\n') {
        Some(n) => {
            let l = &b[..n];
            Some((l.strip_suffix(b"\r").unwrap_or(l), n + 1))
        }
        None if at_end => Some((b.strip_suffix(b"\r").unwrap_or(b), b.len())),
        None => None,
    }
}

/// Hex digits to bytes; `None` for anything else or an odd count.
pub(crate) fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    text.chunks_exact(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            Some((d(p[0])? * 16 + d(p[1])?) as u8)
        })
        .collect()
}

/// Whether `b` starts with a wireless M-Bus telegram in one of the framings, checked so that
/// another protocol's bytes are not taken for one: a complete iM871A telegram frame
/// (with a right FCS when it has one) or device-management message, an AMB8465 frame with a
/// right checksum, a CUL or rtl_wmbus line, or a bare frame whose first block CRC (format A)
/// or block 2 CRC (format B) is right. A bare frame without CRCs is only taken at the start
/// of a capture (`at_start`) and when its manufacturer and CI are plausible; a text line only
/// at a line start (`line_start`: the start of the capture or after CR or LF).
///
/// `at_end`: `b` is all there is. Otherwise a message that `b` only begins is not taken (a
/// CUL `TMODE` may be the start of another line), so that what is detected on a prefix of a
/// stream is detected on every longer one.
pub fn detect(b: &[u8], at_start: bool, line_start: bool, at_end: bool) -> bool {
    let telegram = |u: Unit| match u {
        Unit::Telegrams { telegrams, .. } => telegrams.iter().all(|t| t.frame.is_ok()),
        Unit::Link { .. } => true,
        _ => false,
    };
    // An HCI message without FCS is too weak a sign; a telegram without one is taken.
    let hci = match im871a::unit(b, at_end) {
        Unit::Link { .. } => b.get(1).is_some_and(|c| c & 0x80 != 0),
        u => telegram(u),
    };
    let crcs = if at_start {
        raw::Crcs::Auto
    } else {
        raw::Crcs::Present
    };
    hci || telegram(amb8465::unit(b, at_end))
        || (line_start && telegram(cul::unit(b, at_end)))
        || (line_start && telegram(rtlwmbus::unit(b, at_end)))
        || telegram(raw::unit(b, at_end, crcs))
}
