//! Finding DLMS/COSEM pushes in a byte stream: M-Bus long frames (EN 13757-2, Austrian P1),
//! HDLC frames (IEC 62056-46, Nordic HAN and Austrian IR), and bare APDUs — a
//! general-glo-ciphering `DB 08 …` or a data-notification `0F …` as gateways forward them.
//!
//! [`DlmsDecoder`] scans for a start (`68 L L 68`, `7E A_`, `DB 08` / `DC 08`, a plausible
//! `0F` header), takes the frame by its length field, checks it, puts segments and blocks back
//! together ([`super::transport`]), deciphers and converts. Whatever lies between is reported as
//! `skipped_bytes`. One push gives one message: the reading, or the error that stopped it (the
//! remaining pieces of a push whose earlier piece failed its check are swallowed into that
//! error).
//!
//! How frames are delimited, and what real meters get wrong:
//!
//! - M-Bus: by L. When there is no stop byte where L puts it, L may have overflowed — the
//!   Sagemcom T210-D sends `68 01 01 68` with 257 bytes — so L + 256, L + 512 and L + 768 are
//!   tried, and the first that ends in a matching checksum and the stop byte `16` is the frame
//!   (with a warning). The APDU length cannot decide it: a first segment holds only part of the
//!   APDU, and how much depends on the meter.
//! - HDLC: by the 11-bit length, never by scanning for `7E` (it occurs in FCS and data). The
//!   HCS is checked as soon as the header is in, so a false start costs a few bytes. A missing
//!   closing flag is accepted with a warning (a real Wiener Netze capture); flags between frames
//!   (`7E 7E`, a shared flag) are not junk.
//! - A frame whose check fails and inside which a valid frame start lies was cut off
//!   (`truncated`); the scan resumes at that start.
//!
//! Every decision waits until the bytes that decide it have arrived (or the stream has ended),
//! so the messages do not depend on how the stream is cut into pieces.
//!
//! The decoder keeps the last invocation counter per system title and reports
//! `invocation_counter` when one does not increase (then still gives the reading).

use std::collections::HashMap;

use crate::keys::Keys;
use crate::mbus::frame::{self as mbus, Frame as MbusFrame, LONG_FRAME_OVERHEAD, MIN_DATA_LEN};
use crate::reading::Message;
use crate::resync::{Framer, Resync, Skipped, SkippedSpan};

use super::apdu::{self, DataNotification, Plausible};
use super::axdr;
use super::ciphering::{self, CipherError, GeneralGloCiphering};
use super::gbt;
use super::hdlc::{self, Header as HdlcHeader};
use super::transport::{self, Assembler, Event, Piece};
use super::{convert, hex_upper, ErrorKind, MAX_PUSH_LEN};

/// How many times 256 is added to an M-Bus L byte that did not end the frame.
const MAX_L_OVERFLOW: usize = 3;
/// How many system titles the invocation-counter check remembers.
const MAX_SYSTEM_TITLES: usize = 1024;
/// How far after the evidence of a broken frame a bare APDU still lies inside that frame: the
/// longest M-Bus header before an APDU (C, A, CI, a 12-byte long TPL header, segment bytes) or
/// an HDLC header with two 4-byte addresses, its HCS and the LLC bytes.
const DAMAGE_REACH: u64 = 32;

/// The streaming DLMS/COSEM push decoder.
///
/// ```
/// use meterlab_decoder::{DlmsDecoder, Keys, StreamDecoder};
///
/// // Kaifa MA304H3E list 1 (roarfred/AmsToMqttBridge Samples/Kaifa): one HDLC frame, plain.
/// let frame = [
///     0x7E, 0xA0, 0x27, 0x01, 0x02, 0x01, 0x10, 0x5A, 0x87, 0xE6, 0xE7, 0x00, 0x0F, 0x40,
///     0x00, 0x00, 0x00, 0x09, 0x0C, 0x07, 0xE1, 0x09, 0x0C, 0x02, 0x17, 0x12, 0x2A, 0xFF,
///     0x80, 0x00, 0x00, 0x02, 0x01, 0x06, 0x00, 0x00, 0x05, 0x28, 0xB8, 0x0C, 0x7E,
/// ];
/// let messages = DlmsDecoder::new(Keys::default()).decode_all(&frame);
/// let reading = messages[0].reading().expect("a reading");
/// assert_eq!(reading.time.as_deref(), Some("2017-09-12T23:18:42"));
/// assert_eq!(reading.values[0].id, "1-0:1.7.0*255");
/// ```
pub type DlmsDecoder = Resync<DlmsFramer>;

/// The DLMS/COSEM framing behind [`DlmsDecoder`].
#[derive(Debug)]
pub struct DlmsFramer {
    keys: Keys,
    /// The start candidate at `pending[0]` needs this many bytes before it is looked at again.
    wait_for: usize,
    /// The span of skipped bytes being collected.
    skipped: Skipped,
    /// Stream offset where a `7E` is the closing flag of the frame before (or idle fill).
    flag_at: Option<u64>,
    mbus: Assembler,
    hdlc: Assembler,
    gbt: Assembler,
    /// The last invocation counter per system title.
    counters: HashMap<[u8; 8], u32>,
    /// The last skipped bytes (at most 4, contiguous), to recognise a frame header with a
    /// changed byte.
    recent: Recent,
    /// Stream offset just after the last evidence of a broken frame (a frame that failed its
    /// checks, a header with a changed byte): a bare APDU within [`DAMAGE_REACH`] of it was
    /// inside that frame.
    damage_at: Option<u64>,
    /// The plaintext of the last deciphered APDU: one buffer for every push.
    plaintext: Vec<u8>,
}

/// The last skipped bytes, contiguous in the stream.
#[derive(Clone, Copy, Debug, Default)]
struct Recent {
    /// Up to 4 bytes, the newest last.
    bytes: [u8; 4],
    len: usize,
    /// Stream offset after the newest byte.
    end: u64,
}

impl Recent {
    /// Adds the byte skipped at `offset`; returns whether the last 4 bytes look like the header
    /// of an M-Bus long frame with one byte changed (`68 L L 68` with exactly one of its three
    /// conditions broken), or end in the LLC header `E6 E7 00` of an HDLC information field.
    fn push(&mut self, offset: u64, b: u8) -> bool {
        if self.len > 0 && offset != self.end {
            self.len = 0;
        }
        self.bytes.rotate_left(1);
        self.bytes[3] = b;
        self.len = (self.len + 1).min(4);
        self.end = offset + 1;
        let [b0, b1, b2, b3] = self.bytes;
        let llc = self.len >= 3 && [b1, b2, b3] == [0xE6, 0xE7, 0x00];
        let header = self.len == 4 && {
            let broken = [b0 != mbus::LONG_START, b1 != b2, b3 != mbus::LONG_START];
            broken.iter().filter(|&&x| x).count() == 1
        };
        llc || header
    }
}

/// What the bytes at a start candidate are.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Look {
    /// Not a start: the byte is skipped.
    NotAStart,
    /// More bytes are needed: this many from the candidate.
    Wait(usize),
    /// A frame or bare APDU.
    Unit(Unit),
    /// A frame that fails: report, consume `consume` bytes.
    Error {
        kind: ErrorKind,
        message: String,
        consume: usize,
        reject: Reject,
        /// A `7E` right after the consumed bytes is this frame's closing flag.
        flag_after: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Unit {
    /// An M-Bus long frame of `len` bytes with `data_len` bytes from C to the last data byte.
    Mbus {
        len: usize,
        data_len: usize,
        warning: Option<String>,
    },
    /// An HDLC frame of `len` bytes through its FCS.
    Hdlc { len: usize, closing_flag: bool },
    /// A bare APDU.
    Apdu { len: usize },
}

/// Which push a failed frame takes down with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reject {
    Nothing,
    Mbus {
        last: bool,
    },
    Hdlc {
        last: bool,
        /// When the frame seems to carry a GBT block: whether it was the last block.
        gbt_last: Option<bool>,
    },
}

/// Where an APDU's bytes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// One frame, numbered segments, or a bare APDU.
    Frame,
    /// Several HDLC segments, which carry no numbers.
    Segments,
    /// A reassembled General Block Transfer.
    Gbt,
}

/// Bytes that start a candidate.
fn is_start_byte(b: u8) -> bool {
    matches!(
        b,
        mbus::LONG_START
            | hdlc::FLAG
            | ciphering::GENERAL_GLO_CIPHERING
            | ciphering::GENERAL_DED_CIPHERING
            | apdu::DATA_NOTIFICATION
    )
}

impl DlmsDecoder {
    /// A decoder that deciphers with `keys` (EK for SC 0x20/0x21/0x30, AK for SC 0x30).
    pub fn new(keys: Keys) -> Self {
        Resync::with_framer(DlmsFramer::new(keys))
    }
}

impl Default for DlmsFramer {
    /// Framing without keys.
    fn default() -> Self {
        DlmsFramer::new(Keys::default())
    }
}

impl Framer for DlmsFramer {
    /// Decodes as much of `data` as can be decided; returns how many bytes are consumed.
    fn process(&mut self, data: &[u8], base: u64, eof: bool, out: &mut Vec<Message>) -> usize {
        let mut pos = 0;
        while pos < data.len() {
            let offset = base + pos as u64;
            let b = data[pos];
            if b == hdlc::FLAG && self.flag_at == Some(offset) {
                match data.get(pos + 1) {
                    None if !eof => return pos,
                    Some(&next) if next & 0xF0 == 0xA0 => {}
                    _ => {
                        // A closing flag, or idle fill after it.
                        pos += 1;
                        self.flag_at = Some(offset + 1);
                        continue;
                    }
                }
            }
            if !is_start_byte(b) {
                self.skip(offset, b);
                pos += 1;
                continue;
            }
            let rest = &data[pos..];
            if !eof && rest.len() < self.wait_for {
                return pos;
            }
            let look = look(rest, eof);
            self.wait_for = 0;
            match look {
                Look::NotAStart => {
                    self.skip(offset, b);
                    pos += 1;
                }
                Look::Wait(needed) => {
                    self.wait_for = needed;
                    return pos;
                }
                Look::Error {
                    kind,
                    message,
                    consume,
                    reject,
                    flag_after,
                } => {
                    self.skipped.flush(out);
                    let push = self.reject(reject);
                    let message = match push {
                        Some(start) if start != offset => {
                            format!("{message} (frame at offset {offset} of the push starting at offset {start})")
                        }
                        _ => message,
                    };
                    out.push(kind.error(message, Some(push.unwrap_or(offset))));
                    pos += consume.max(1);
                    if reject != Reject::Nothing {
                        self.damage_at = Some(base + pos as u64);
                    }
                    if flag_after {
                        self.flag_at = Some(base + pos as u64);
                    }
                }
                Look::Unit(Unit::Apdu { len }) if self.inside_damage(offset) => {
                    self.skipped.flush(out);
                    out.push(ErrorKind::DamagedFrame.error(
                        format!(
                            "an APDU of {len} bytes right after a broken frame (at offset {}): it lay inside that frame, whose checks could not be made, so it is not trusted",
                            self.damage_at.unwrap_or(offset)
                        ),
                        Some(offset),
                    ));
                    pos += len.max(1);
                }
                Look::Unit(unit) => {
                    self.skipped.flush(out);
                    pos += self.unit(unit, rest, offset, out);
                }
            }
        }
        data.len()
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        let mut events = Vec::new();
        self.mbus.interrupt("the stream ended", &mut events);
        self.hdlc.interrupt("the stream ended", &mut events);
        self.handle(events, false, out);
        self.interrupt_gbt("the stream ended", out);
        self.skipped.flush(out);
        self.wait_for = 0;
        self.flag_at = None;
        self.recent = Recent::default();
        self.damage_at = None;
    }
}

impl DlmsFramer {
    fn new(keys: Keys) -> Self {
        DlmsFramer {
            keys,
            wait_for: 0,
            skipped: Skipped::new(describe_skipped),
            flag_at: None,
            mbus: Assembler::new("M-Bus segment", MAX_PUSH_LEN),
            hdlc: Assembler::new("HDLC segment", MAX_PUSH_LEN),
            gbt: Assembler::new("GBT block", MAX_PUSH_LEN),
            counters: HashMap::new(),
            recent: Recent::default(),
            damage_at: None,
            plaintext: Vec::new(),
        }
    }

    /// Adds a byte to the skipped span, watching for a broken frame header.
    fn skip(&mut self, offset: u64, b: u8) {
        self.skipped.add(offset, b);
        if self.recent.push(offset, b) {
            self.damage_at = Some(offset + 1);
        }
    }

    /// Whether a bare APDU at stream offset `offset` lies inside a broken frame.
    fn inside_damage(&self, offset: u64) -> bool {
        self.damage_at
            .is_some_and(|at| offset >= at && offset - at <= DAMAGE_REACH)
    }

    /// A failed frame: the push it belongs to is lost. Returns that push's offset.
    fn reject(&mut self, reject: Reject) -> Option<u64> {
        match reject {
            Reject::Nothing => None,
            Reject::Mbus { last } => self.mbus.reject(last),
            Reject::Hdlc { last, gbt_last } => {
                let segment = self.hdlc.reject(last);
                let block = gbt_last.and_then(|last| self.gbt.reject(last));
                segment.or(block)
            }
        }
    }

    /// Handles a complete frame or bare APDU at `d[..]` (stream offset `offset`); returns its
    /// length.
    fn unit(&mut self, unit: Unit, d: &[u8], offset: u64, out: &mut Vec<Message>) -> usize {
        match unit {
            Unit::Mbus {
                len,
                data_len,
                warning,
            } => {
                self.mbus_frame(&d[..len], data_len, warning, offset, out);
                len
            }
            Unit::Hdlc { len, closing_flag } => {
                self.hdlc_frame(&d[..len], closing_flag, offset, out);
                if closing_flag {
                    self.flag_at = Some(offset + len as u64);
                }
                len
            }
            Unit::Apdu { len } => {
                self.interrupt_frames("an unframed APDU started", out);
                self.container(&d[..len], offset, &[], Source::Frame, out);
                len
            }
        }
    }

    fn mbus_frame(
        &mut self,
        bytes: &[u8],
        data_len: usize,
        warning: Option<String>,
        offset: u64,
        out: &mut Vec<Message>,
    ) {
        let mut events = Vec::new();
        self.hdlc.interrupt("an M-Bus frame came", &mut events);
        self.handle(events, false, out);
        let frame = match MbusFrame::new_checked_with_data_len(bytes, data_len) {
            Ok(frame) => frame,
            Err(e) => {
                out.push(ErrorKind::Malformed.error(format!("M-Bus frame: {e}"), Some(offset)));
                return;
            }
        };
        let mut events = Vec::new();
        match transport::segment(&frame) {
            Err(e) => {
                self.mbus
                    .interrupt("a non-DLMS M-Bus frame came", &mut events);
                self.handle(events, false, out);
                out.push(ErrorKind::Unsupported.error(e.to_string(), Some(offset)));
            }
            Ok((segment, apdu)) => {
                let piece = Piece {
                    offset,
                    first: segment.number == 0,
                    last: segment.last,
                    number: Some(u32::from(segment.number)),
                    data: apdu,
                    warnings: warning.into_iter().collect(),
                };
                self.mbus.push(piece, &mut events);
                self.handle(events, false, out);
            }
        }
    }

    fn hdlc_frame(
        &mut self,
        bytes: &[u8],
        closing_flag: bool,
        offset: u64,
        out: &mut Vec<Message>,
    ) {
        let mut events = Vec::new();
        self.mbus.interrupt("an HDLC frame came", &mut events);
        self.handle(events, false, out);
        let frame = match hdlc::Frame::new_checked(bytes) {
            Ok(frame) => frame,
            Err(e) => {
                out.push(ErrorKind::Malformed.error(format!("HDLC frame: {e}"), Some(offset)));
                return;
            }
        };
        let mut warnings = Vec::new();
        if !closing_flag {
            warnings.push(
                "HDLC frame without its closing flag 0x7E (as in a real Wiener Netze capture)"
                    .to_string(),
            );
        }
        let info = frame.info();
        if info.is_empty() {
            let mut events = Vec::new();
            self.hdlc
                .interrupt("a frame without information came", &mut events);
            self.handle(events, false, out);
            out.push(ErrorKind::Unsupported.error(
                format!(
                    "HDLC frame without information field (control 0x{:02X}): not a push",
                    frame.control()
                ),
                Some(offset),
            ));
            return;
        }
        let (llc, rest) = hdlc::strip_llc(info);
        let apdu_start = matches!(
            rest.first(),
            Some(
                &(apdu::DATA_NOTIFICATION
                    | ciphering::GENERAL_GLO_CIPHERING
                    | ciphering::GENERAL_DED_CIPHERING
                    | gbt::GENERAL_BLOCK_TRANSFER)
            )
        );
        let first = llc || (self.hdlc.is_idle() && apdu_start);
        if first && !llc && rest.first() != Some(&gbt::GENERAL_BLOCK_TRANSFER) {
            warnings.push("HDLC information field without the LLC header E6 E7 00".to_string());
        }
        let piece = Piece {
            offset,
            first,
            last: !frame.segmented(),
            number: None,
            data: rest,
            warnings,
        };
        let mut events = Vec::new();
        self.hdlc.push(piece, &mut events);
        self.handle(events, false, out);
    }

    /// A bare APDU ends any framed push being collected.
    fn interrupt_frames(&mut self, why: &str, out: &mut Vec<Message>) {
        let mut events = Vec::new();
        self.mbus.interrupt(why, &mut events);
        self.hdlc.interrupt(why, &mut events);
        self.handle(events, false, out);
    }

    /// Reports or decodes what reassembly produced.
    fn handle(&mut self, events: Vec<Event>, from_gbt: bool, out: &mut Vec<Message>) {
        for event in events {
            match event {
                Event::Complete {
                    offset,
                    data,
                    warnings,
                    unnumbered,
                } => {
                    let from = if from_gbt {
                        Source::Gbt
                    } else if unnumbered {
                        Source::Segments
                    } else {
                        Source::Frame
                    };
                    self.container(&data, offset, &warnings, from, out);
                }
                Event::Incomplete { offset, message } => {
                    out.push(ErrorKind::Incomplete.error(message, Some(offset)));
                }
                Event::TooLong { offset, len } => out.push(ErrorKind::Length.error(
                    format!("push longer than {MAX_PUSH_LEN} bytes ({len} so far): given up"),
                    Some(offset),
                )),
                Event::Overflow {
                    offset,
                    pieces,
                    bytes,
                } => out.push(ErrorKind::SkippedBytes.error(
                    format!(
                        "skipped {bytes} bytes in {pieces} further pieces of the push at offset {offset}, given up as too long"
                    ),
                    Some(offset),
                )),
            }
        }
    }

    /// Decodes the APDUs of a frame's (or a reassembled push's) payload: normally one, but a
    /// frame may carry several back to back, each after its own LLC header (scs/
    /// smartmeter-datacollector#74).
    fn container(
        &mut self,
        bytes: &[u8],
        offset: u64,
        warnings: &[String],
        from: Source,
        out: &mut Vec<Message>,
    ) {
        let mut rest = bytes;
        let mut first = true;
        while !rest.is_empty() {
            if !first {
                rest = hdlc::strip_llc(rest).1;
                if rest.is_empty() {
                    break;
                }
            }
            match self.apdu(rest, first, offset, warnings, from, out) {
                Ok(used) => rest = &rest[used..],
                Err((kind, message)) => {
                    // Every segment passed its FCS: an APDU that does not fit the bytes most
                    // likely lost a segment on the way.
                    let message = match kind {
                        ErrorKind::Length | ErrorKind::Malformed
                            if first && from == Source::Segments =>
                        {
                            out.push(ErrorKind::Incomplete.error(
                                format!(
                                    "{message}: an HDLC segment of the push is probably missing"
                                ),
                                Some(offset),
                            ));
                            return;
                        }
                        _ => message,
                    };
                    out.push(kind.error(message, Some(offset)));
                    return;
                }
            }
            first = false;
        }
    }

    /// Decodes the APDU at the start of `rest`; returns how many bytes it used, or the error
    /// that stops the payload.
    fn apdu(
        &mut self,
        rest: &[u8],
        first: bool,
        offset: u64,
        warnings: &[String],
        from: Source,
        out: &mut Vec<Message>,
    ) -> Result<usize, (ErrorKind, String)> {
        let in_gbt = from == Source::Gbt;
        let tag = rest.first().copied().unwrap_or_default();
        match tag {
            apdu::DATA_NOTIFICATION => {
                if !in_gbt {
                    self.interrupt_gbt("a data-notification came", out);
                }
                let (dn, used) = DataNotification::parse(rest)
                    .map_err(|e| (notification_error(&e), format!("data-notification: {e}")))?;
                self.reading(&dn, None, warnings, out);
                Ok(used)
            }
            ciphering::GENERAL_GLO_CIPHERING | ciphering::GENERAL_DED_CIPHERING => {
                if !in_gbt {
                    self.interrupt_gbt("a ciphered APDU came", out);
                }
                match ciphering::Header::parse_ciphered(rest) {
                    Ok(Some(h)) if h.frame_len() <= rest.len() => {
                        let len = h.frame_len();
                        self.ciphered(&rest[..len], offset, warnings, out);
                        Ok(len)
                    }
                    Ok(Some(h)) => Err((
                        ErrorKind::Length,
                        format!(
                            "the ciphered APDU's length field says {} bytes, the push holds {}",
                            h.frame_len(),
                            rest.len()
                        ),
                    )),
                    Ok(None) => Err((
                        ErrorKind::Length,
                        format!(
                            "the push ends inside the ciphered APDU's header ({} bytes)",
                            rest.len()
                        ),
                    )),
                    Err(e) => Err((ErrorKind::Malformed, format!("ciphered APDU: {e}"))),
                }
            }
            gbt::GENERAL_BLOCK_TRANSFER if !in_gbt => {
                let (block, used) = gbt::BlockRepr::parse(rest).map_err(|e| match e {
                    gbt::Error::Incomplete { .. } => (ErrorKind::Length, e.to_string()),
                    _ => (ErrorKind::Malformed, e.to_string()),
                })?;
                let piece = Piece {
                    offset,
                    first: block.number == 1,
                    last: block.last(),
                    number: Some(u32::from(block.number)),
                    data: block.data,
                    warnings: warnings.to_vec(),
                };
                let mut events = Vec::new();
                self.gbt.push(piece, &mut events);
                self.handle(events, true, out);
                Ok(used)
            }
            _ if first => Err(unknown_apdu(tag, in_gbt)),
            _ => Err((
                ErrorKind::Length,
                format!(
                    "{} bytes after the APDU, starting 0x{tag:02X}: the length fields disagree with the frame",
                    rest.len()
                ),
            )),
        }
    }

    fn interrupt_gbt(&mut self, why: &str, out: &mut Vec<Message>) {
        let mut events = Vec::new();
        self.gbt.interrupt(why, &mut events);
        self.handle(events, true, out);
    }

    /// Deciphers and decodes a complete general-glo-ciphering (or -ded-ciphering) APDU.
    fn ciphered(&mut self, bytes: &[u8], offset: u64, warnings: &[String], out: &mut Vec<Message>) {
        let at = Some(offset);
        if bytes.first() == Some(&ciphering::GENERAL_DED_CIPHERING) {
            out.push(ErrorKind::Unsupported.error(
                "general-ded-ciphering (0xDC, dedicated key) is not supported",
                at,
            ));
            return;
        }
        let glo = match GeneralGloCiphering::new_checked(bytes) {
            Ok(glo) => glo,
            Err(e @ ciphering::Error::BodyTooShort { .. }) => {
                out.push(ErrorKind::Length.error(format!("ciphered APDU: {e}"), at));
                return;
            }
            Err(e) => {
                out.push(ErrorKind::Malformed.error(format!("ciphered APDU: {e}"), at));
                return;
            }
        };
        let sc = glo.security_control();
        let system_title = glo.system_title();
        let counter = glo.invocation_counter();
        // Only messages name the sender: built when one is.
        let who = || sender(system_title, counter);
        // Deciphered into the framer's buffer, reused from push to push.
        let mut plaintext = std::mem::take(&mut self.plaintext);
        match glo.decrypt_into(&self.keys, &mut plaintext) {
            Ok(()) => self.deciphered(&plaintext, &glo, offset, warnings, out),
            Err(e) => {
                let kind = match e {
                    CipherError::MissingKey => ErrorKind::MissingKey,
                    CipherError::MissingAuthenticationKey(_) => ErrorKind::MissingAuthKey,
                    CipherError::TagMismatch => ErrorKind::GcmTagMismatch,
                    CipherError::Unsupported(..) => ErrorKind::Unsupported,
                };
                let message = match e {
                    CipherError::MissingKey => format!(
                        "push with security control 0x{:02X} ({}) and no encryption key",
                        sc.0,
                        who()
                    ),
                    CipherError::TagMismatch => format!(
                        "GCM tag check failed ({}): wrong encryption or authentication key, or a corrupted frame",
                        who()
                    ),
                    e => format!("{e} ({})", who()),
                };
                out.push(kind.error(message, at));
            }
        }
        self.plaintext = plaintext;
    }

    /// Decodes the plaintext of a deciphered APDU `glo`.
    fn deciphered(
        &mut self,
        plaintext: &[u8],
        glo: &GeneralGloCiphering<&[u8]>,
        offset: u64,
        warnings: &[String],
        out: &mut Vec<Message>,
    ) {
        let at = Some(offset);
        let sc = glo.security_control();
        let system_title = glo.system_title();
        let counter = glo.invocation_counter();
        let who = || sender(system_title, counter);
        let verified = sc.authenticated() || !sc.encrypted();
        match DataNotification::parse_exact(plaintext) {
            Ok(dn) => {
                if let Ok(title) = <[u8; 8]>::try_from(system_title) {
                    self.check_counter(title, counter, at, out);
                }
                self.reading(&dn, Some(system_title), warnings, out);
            }
            Err(e) => {
                let dsmr = plaintext.first() == Some(&b'/')
                    && plaintext
                        .get(1..4)
                        .is_some_and(|f| f.iter().all(u8::is_ascii_alphabetic));
                if dsmr {
                    out.push(ErrorKind::Unsupported.error(
                        format!("the deciphered APDU ({}) is a DSMR telegram (Luxembourg Smarty): decode it as DSMR", who()),
                        at,
                    ));
                } else if !verified {
                    out.push(ErrorKind::WrongKey.error(
                        format!(
                            "deciphered bytes are not a data-notification ({e}; they start {}): wrong key or corrupted frame ({})",
                            hex_upper(&plaintext[..plaintext.len().min(6)]),
                            who()
                        ),
                        at,
                    ));
                } else {
                    out.push(
                        notification_error(&e)
                            .error(format!("deciphered data-notification ({}): {e}", who()), at),
                    );
                }
            }
        }
    }

    fn check_counter(
        &mut self,
        title: [u8; 8],
        counter: u32,
        at: Option<u64>,
        out: &mut Vec<Message>,
    ) {
        if let Some(&last) = self.counters.get(&title) {
            if counter <= last {
                out.push(ErrorKind::InvocationCounter.error(
                    format!(
                        "invocation counter {counter} of system title {} did not increase (last {last}): replayed or reset",
                        hex_upper(&title)
                    ),
                    at,
                ));
            }
        }
        if self.counters.len() < MAX_SYSTEM_TITLES || self.counters.contains_key(&title) {
            self.counters.insert(title, counter);
        }
    }

    fn reading(
        &mut self,
        dn: &DataNotification<'_>,
        system_title: Option<&[u8]>,
        warnings: &[String],
        out: &mut Vec<Message>,
    ) {
        let mut reading = convert::to_reading(dn, system_title);
        if !warnings.is_empty() {
            let mut all = warnings.to_vec();
            all.append(&mut reading.warnings);
            reading.warnings = all;
        }
        out.push(Message::Reading(reading));
    }
}

/// The sender of a ciphered APDU, for messages.
fn sender(system_title: &[u8], counter: u32) -> String {
    format!(
        "system title {}, invocation counter {counter}",
        hex_upper(system_title)
    )
}

/// The report of a span of bytes that belong to no push.
fn describe_skipped(span: &SkippedSpan) -> String {
    let n = span.count;
    if span.start == 0 {
        format!("skipped {n} bytes that belong to no push: the stream began mid-push or with noise")
    } else {
        format!("skipped {n} bytes that belong to no push")
    }
}

/// The kind for a data-notification that does not parse.
fn notification_error(e: &apdu::Error) -> ErrorKind {
    match e {
        apdu::Error::Incomplete { .. } | apdu::Error::Trailing { .. } => ErrorKind::Length,
        apdu::Error::Body(axdr::Error::Unsupported { .. }) => ErrorKind::Unsupported,
        _ => ErrorKind::Malformed,
    }
}

/// An APDU that is no push: a known xDLMS APDU is `unsupported`, anything else `malformed`.
fn unknown_apdu(tag: u8, in_gbt: bool) -> (ErrorKind, String) {
    let known = matches!(tag, 0x60..=0x63 | 0xC0..=0xCF | 0xD0..=0xDF | 0xE0);
    if known {
        let what = if tag == gbt::GENERAL_BLOCK_TRANSFER && in_gbt {
            "a block transfer inside a block transfer"
        } else {
            "an xDLMS APDU that is not a push"
        };
        (
            ErrorKind::Unsupported,
            format!("APDU tag 0x{tag:02X}: {what}"),
        )
    } else {
        (
            ErrorKind::Malformed,
            format!("APDU tag 0x{tag:02X} is no DLMS APDU"),
        )
    }
}

/// What the bytes at a candidate (`d[0]` is a start byte) are.
fn look(d: &[u8], eof: bool) -> Look {
    match d.first() {
        Some(&mbus::LONG_START) => look_mbus(d, eof),
        Some(&hdlc::FLAG) => look_hdlc(d, eof),
        Some(&ciphering::GENERAL_GLO_CIPHERING | &ciphering::GENERAL_DED_CIPHERING) => {
            look_ciphered(d, eof)
        }
        Some(&apdu::DATA_NOTIFICATION) => look_notification(d, eof),
        _ => Look::NotAStart,
    }
}

fn error(kind: ErrorKind, message: String, consume: usize, reject: Reject) -> Look {
    Look::Error {
        kind,
        message,
        consume,
        reject,
        flag_after: false,
    }
}

/// Whether the M-Bus long frame at the start of `d` with L = `data_len` is complete and right:
/// stop byte and checksum.
fn mbus_frame_ok(d: &[u8], data_len: usize) -> (bool, bool) {
    let end = data_len + LONG_FRAME_OVERHEAD;
    if data_len < MIN_DATA_LEN || d.len() < end {
        return (false, false);
    }
    let stop = d[end - 1] == mbus::STOP;
    let sum = mbus::checksum(&d[4..4 + data_len]) == d[4 + data_len];
    (stop, sum)
}

/// Whether `68 L L 68` lies at `p`, wholly inside `window`.
fn mbus_start_at(window: &[u8], p: usize) -> bool {
    window
        .get(p..p + 4)
        .is_some_and(|h| h[0] == mbus::LONG_START && h[1] == h[2] && h[3] == mbus::LONG_START)
}

/// How far past a failed frame a start inside it may reach to be recognised: an HDLC header
/// with two 4-byte addresses and its HCS.
const START_LOOKAHEAD: usize = 14;

/// The first frame start at a position in `from..end` of `d`: `68 L L 68`, or an HDLC header
/// whose HCS verifies (its header may reach [`START_LOOKAHEAD`] bytes past `end`). A frame that
/// fails its check with such a start inside was cut off; the scan resumes there.
/// `Err(n)`: wait until `d` holds `n` bytes.
fn inner_start(d: &[u8], from: usize, end: usize, eof: bool) -> Result<Option<usize>, usize> {
    let horizon = end + START_LOOKAHEAD;
    if d.len() < horizon && !eof {
        return Err(horizon);
    }
    let window = &d[..horizon.min(d.len())];
    Ok((from..end.min(window.len()))
        .find(|&p| mbus_start_at(window, p) || hdlc_start_at(window, p)))
}

fn look_mbus(d: &[u8], eof: bool) -> Look {
    let Some(header) = d.get(..4) else {
        return if eof { Look::NotAStart } else { Look::Wait(4) };
    };
    if header[1] != header[2] || header[3] != mbus::LONG_START {
        return Look::NotAStart;
    }
    let l = usize::from(header[1]);
    let end = l + LONG_FRAME_OVERHEAD;
    let ci_last = d.get(6).map_or(true, |&ci| transport::ci_says_last(ci));
    let reject = Reject::Mbus { last: ci_last };
    if d.len() < end {
        if !eof {
            return Look::Wait(end);
        }
        return match inner_start(d, 4, d.len(), true).ok().flatten() {
            Some(p) => error(
                ErrorKind::Truncated,
                format!("M-Bus frame cut off after {p} bytes: a frame starts there"),
                p,
                reject,
            ),
            None => error(
                ErrorKind::Truncated,
                format!(
                    "the stream ended {} bytes into an M-Bus frame of {end} bytes",
                    d.len()
                ),
                d.len(),
                reject,
            ),
        };
    }
    let (stop, sum) = mbus_frame_ok(d, l);
    if stop && sum {
        return Look::Unit(Unit::Mbus {
            len: end,
            data_len: l,
            warning: None,
        });
    }
    match inner_start(d, 4, end, eof) {
        Err(wait) => return Look::Wait(wait),
        Ok(None) => {}
        Ok(Some(p)) => {
            return error(
                ErrorKind::Truncated,
                format!("M-Bus frame cut off after {p} bytes: a frame starts there"),
                p,
                reject,
            )
        }
    }
    if stop && l >= MIN_DATA_LEN {
        return error(
            ErrorKind::Checksum,
            format!(
                "M-Bus checksum 0x{:02X}, computed 0x{:02X}",
                d[4 + l],
                mbus::checksum(&d[4..4 + l])
            ),
            end,
            reject,
        );
    }
    // No stop byte where L puts it: L may have overflowed (Sagemcom T210-D: 0x101 sent as 0x01).
    let mut fallback = None;
    for k in 1..=MAX_L_OVERFLOW {
        let real = l + 256 * k;
        let real_end = real + LONG_FRAME_OVERHEAD;
        if d.len() < real_end {
            if eof {
                break;
            }
            return Look::Wait(real_end);
        }
        match mbus_frame_ok(d, real) {
            (true, true) => {
                return Look::Unit(Unit::Mbus {
                    len: real_end,
                    data_len: real,
                    warning: Some(format!(
                        "M-Bus length byte 0x{l:02X} overflowed: the frame carries {real} bytes (Sagemcom T210-D quirk)"
                    )),
                })
            }
            (true, false) if fallback.is_none() => fallback = Some(real),
            _ => {}
        }
    }
    match fallback {
        // L below 3 cannot be right: a frame ending in a stop byte 256 further on is the real one.
        Some(real) if l < MIN_DATA_LEN => error(
            ErrorKind::Checksum,
            format!(
                "M-Bus checksum 0x{:02X}, computed 0x{:02X} (length byte 0x{l:02X} overflowed: the frame carries {real} bytes)",
                d[4 + real],
                mbus::checksum(&d[4..4 + real])
            ),
            real + LONG_FRAME_OVERHEAD,
            reject,
        ),
        _ => error(
            ErrorKind::Length,
            format!(
                "M-Bus frame with length byte 0x{l:02X} has no stop byte 0x16 at byte {} (0x{:02X})",
                end - 1,
                d[end - 1]
            ),
            end,
            reject,
        ),
    }
}

/// Whether a valid HDLC header (format, addresses, HCS) starts at `p` inside `window`.
fn hdlc_start_at(window: &[u8], p: usize) -> bool {
    let w = &window[p..];
    if w.first() != Some(&hdlc::FLAG) {
        return false;
    }
    match HdlcHeader::parse(w) {
        Ok(Some(h)) => h.has_info() && h.header_ok(w) == Some(true),
        _ => false,
    }
}

/// When an HDLC frame's information seems to hold a GBT block: whether it is the last one.
fn peek_gbt(info: &[u8]) -> Option<bool> {
    let (_, rest) = hdlc::strip_llc(info);
    match rest {
        [gbt::GENERAL_BLOCK_TRANSFER, control, ..] => Some(control & 0x80 != 0),
        _ => None,
    }
}

fn look_hdlc(d: &[u8], eof: bool) -> Look {
    let header = match HdlcHeader::parse(d) {
        Ok(Some(h)) => h,
        Ok(None) if !eof => return Look::Wait(d.len() + 1),
        Ok(None) if d.len() >= 2 => {
            return error(
                ErrorKind::Truncated,
                format!(
                    "the stream ended inside an HDLC frame header ({} bytes)",
                    d.len()
                ),
                d.len(),
                Reject::Nothing,
            )
        }
        Ok(None) | Err(_) => return Look::NotAStart,
    };
    let len = header.len();
    if header.has_info() {
        let checked = header.checked_header_len();
        if d.len() < checked {
            if !eof {
                return Look::Wait(checked);
            }
            return error(
                ErrorKind::Truncated,
                format!(
                    "the stream ended inside an HDLC frame header ({} bytes)",
                    d.len()
                ),
                d.len(),
                Reject::Nothing,
            );
        }
        if header.header_ok(d) == Some(false) {
            return hcs_failure(d, &header, eof);
        }
    }
    let segmented_reject = |info: &[u8]| Reject::Hdlc {
        last: !header.segmented,
        gbt_last: peek_gbt(info),
    };
    if d.len() < len {
        if !eof {
            return Look::Wait(len);
        }
        let info_at = (header.checked_header_len()).min(d.len());
        let reject = segmented_reject(&d[info_at..]);
        return match inner_start(d, 2, d.len(), true).ok().flatten() {
            Some(p) => error(
                ErrorKind::Truncated,
                format!("HDLC frame cut off after {p} bytes: a frame starts there"),
                p,
                reject,
            ),
            None => error(
                ErrorKind::Truncated,
                format!(
                    "the stream ended {} bytes into an HDLC frame of {len} bytes",
                    d.len()
                ),
                d.len(),
                reject,
            ),
        };
    }
    let frame = match hdlc::Frame::new_checked(&d[..len]) {
        Ok(frame) => frame,
        Err(_) => return Look::NotAStart,
    };
    if frame.fcs_ok() {
        let closing_flag = match d.get(len) {
            Some(&hdlc::FLAG) => true,
            Some(_) => false,
            None if eof => false,
            None => return Look::Wait(len + 1),
        };
        return Look::Unit(Unit::Hdlc { len, closing_flag });
    }
    let reject = segmented_reject(frame.info());
    match inner_start(d, 2, len, eof) {
        Err(wait) => return Look::Wait(wait),
        Ok(None) => {}
        Ok(Some(p)) => {
            return error(
                ErrorKind::Truncated,
                format!("HDLC frame cut off after {p} bytes: a frame starts there"),
                p,
                reject,
            )
        }
    }
    Look::Error {
        kind: ErrorKind::FcsMismatch,
        message: format!(
            "HDLC FCS 0x{:04X}, computed 0x{:04X}",
            frame.stated_fcs(),
            frame.computed_fcs()
        ),
        consume: len,
        reject,
        flag_after: true,
    }
}

/// A frame whose HCS fails. Nothing inside it may be decoded (a bare `0F …` in its information
/// would give a reading from unchecked bytes), so the whole span its length field states is
/// consumed — up to a valid frame start inside it, if there is one. When the FCS over that span
/// verifies, only the HCS bytes were hit and the header can be trusted for the segmentation bit.
fn hcs_failure(d: &[u8], header: &HdlcHeader, eof: bool) -> Look {
    let len = header.len();
    if d.len() < len && !eof {
        return Look::Wait(len);
    }
    let at = header.checked_header_len() - 2;
    let message = format!(
        "HDLC HCS 0x{:04X}, computed 0x{:04X}",
        u16::from_le_bytes([d[at], d[at + 1]]),
        crate::crc::crc16_x25(&d[1..at])
    );
    let fcs_ok = d.len() >= len
        && crate::crc::crc16_x25(&d[1..len - 2]) == u16::from_le_bytes([d[len - 2], d[len - 1]]);
    if fcs_ok {
        let info = &d[at + 2..len - 2];
        return Look::Error {
            kind: ErrorKind::HcsMismatch,
            message: format!("{message}; the FCS verifies"),
            consume: len,
            reject: Reject::Hdlc {
                last: !header.segmented,
                gbt_last: peek_gbt(info),
            },
            flag_after: true,
        };
    }
    let inner = match inner_start(d, 2, len, eof) {
        Err(wait) => return Look::Wait(wait),
        Ok(inner) => inner,
    };
    // The header is damaged somewhere: its segmentation bit and the information's place are the
    // best guesses at which push the frame belonged to.
    let info = d
        .get(at + 2..len.saturating_sub(2).min(d.len()))
        .unwrap_or_default();
    error(
        ErrorKind::HcsMismatch,
        message,
        inner.unwrap_or(len.min(d.len())),
        Reject::Hdlc {
            last: !header.segmented,
            gbt_last: peek_gbt(info),
        },
    )
}

fn look_ciphered(d: &[u8], eof: bool) -> Look {
    match d.get(1) {
        None if eof => return Look::NotAStart,
        None => return Look::Wait(2),
        Some(&8) => {}
        Some(_) => return Look::NotAStart,
    }
    let header = match ciphering::Header::parse_ciphered(d) {
        Ok(Some(h)) => h,
        Ok(None) if eof => {
            return error(
                ErrorKind::Truncated,
                format!(
                    "the stream ended inside a ciphered APDU's header ({} bytes)",
                    d.len()
                ),
                d.len(),
                Reject::Nothing,
            )
        }
        Ok(None) => return Look::Wait(d.len() + 1),
        Err(_) => return Look::NotAStart,
    };
    if !(5..=MAX_PUSH_LEN).contains(&header.body_len) {
        return Look::NotAStart;
    }
    match d.get(header.header_len) {
        None if eof => {
            return error(
                ErrorKind::Truncated,
                "the stream ended inside a ciphered APDU's header".to_string(),
                d.len(),
                Reject::Nothing,
            )
        }
        None => return Look::Wait(header.header_len + 1),
        // A ciphered APDU has authentication or encryption (or both).
        Some(sc) if sc & 0x30 == 0 => return Look::NotAStart,
        Some(_) => {}
    }
    let len = header.frame_len();
    if d.len() < len {
        if !eof {
            return Look::Wait(len);
        }
        return error(
            ErrorKind::Truncated,
            format!(
                "the stream ended {} bytes into a ciphered APDU of {len} bytes",
                d.len()
            ),
            d.len(),
            Reject::Nothing,
        );
    }
    Look::Unit(Unit::Apdu { len })
}

fn look_notification(d: &[u8], eof: bool) -> Look {
    match apdu::plausible_start(d) {
        Plausible::No => return Look::NotAStart,
        Plausible::NeedMore(_) if eof => return Look::NotAStart,
        Plausible::NeedMore(n) => return Look::Wait(n),
        Plausible::Yes => {}
    }
    match DataNotification::parse(d) {
        Ok((_, used)) => Look::Unit(Unit::Apdu { len: used }),
        Err(apdu::Error::Incomplete { needed, .. }) if needed > MAX_PUSH_LEN => error(
            ErrorKind::Length,
            format!(
                "unframed data-notification would need {needed} bytes, more than {MAX_PUSH_LEN}"
            ),
            1,
            Reject::Nothing,
        ),
        Err(apdu::Error::Incomplete { .. }) if eof => error(
            ErrorKind::Truncated,
            format!(
                "the stream ended {} bytes into an unframed data-notification",
                d.len()
            ),
            d.len(),
            Reject::Nothing,
        ),
        Err(apdu::Error::Incomplete { needed, .. }) => Look::Wait(needed),
        Err(e) => error(
            ErrorKind::Malformed,
            format!("unframed data-notification: {e}"),
            1,
            Reject::Nothing,
        ),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::stream::StreamDecoder;
    use crate::test_hex::unhex;

    fn kinds(messages: &[Message]) -> Vec<&str> {
        messages
            .iter()
            .map(|m| m.error_report().map_or("reading", |e| e.kind.as_str()))
            .collect()
    }

    /// Kaifa MA304H3E list 1 (roarfred/AmsToMqttBridge Samples/Kaifa/readme.md).
    static KAIFA: &str =
        "7EA027010201105A87E6E7000F40000000090C07E1090C0217122AFF80000002010600000528B80C7E";

    #[test]
    fn test_parse() {
        let bytes = unhex(KAIFA);
        let messages = DlmsDecoder::default().decode_all(&bytes);
        assert_eq!(kinds(&messages), vec!["reading"]);
        let mut bytewise = DlmsDecoder::default();
        let mut out = Vec::new();
        for b in &bytes {
            bytewise.feed(std::slice::from_ref(b), &mut out);
        }
        bytewise.finish(&mut out);
        assert_eq!(out, messages);
    }

    #[test]
    fn test_junk_flags_and_offsets() {
        let frame = unhex(KAIFA);
        let mut stream = b"xyz".to_vec();
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&[0x7E, 0x7E]); // idle flags: not junk
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(b"\x00\x01");
        let messages = DlmsDecoder::default().decode_all(&stream);
        assert_eq!(
            kinds(&messages),
            vec!["skipped_bytes", "reading", "reading", "skipped_bytes"]
        );
        let last = messages[3].error_report().expect("error");
        assert_eq!(last.offset, Some(3 + 2 * frame.len() as u64 + 2));
        assert!(last.message.starts_with("skipped 2 bytes"), "{last:?}");
        // A shared flag between frames.
        let mut shared = frame.clone();
        shared.extend_from_slice(&frame[1..]);
        assert_eq!(
            kinds(&DlmsDecoder::default().decode_all(&shared)),
            vec!["reading", "reading"]
        );
    }

    #[test]
    fn test_check_failures() {
        let frame = unhex(KAIFA);
        let mut bad = frame.clone();
        bad[7] ^= 0x01; // HCS
        let messages = DlmsDecoder::default().decode_all(&bad);
        assert_eq!(kinds(&messages)[0], "hcs_mismatch");
        let mut bad = frame.clone();
        bad[30] ^= 0x01; // information
        let messages = DlmsDecoder::default().decode_all(&bad);
        assert_eq!(kinds(&messages), vec!["fcs_mismatch"]);
        // Cut off and followed by a complete frame: truncated, then the reading.
        let mut cut = frame[..20].to_vec();
        cut.extend_from_slice(&frame);
        let messages = DlmsDecoder::default().decode_all(&cut);
        assert_eq!(kinds(&messages), vec!["truncated", "reading"]);
        // Without the closing flag: a reading with a warning.
        let messages = DlmsDecoder::default().decode_all(&frame[..frame.len() - 1]);
        let reading = messages[0].reading().expect("a reading");
        assert!(reading.warnings[0].contains("closing flag"), "{reading:?}");
    }

    #[test]
    fn test_bare_notification() {
        let frame = unhex(KAIFA);
        let apdu = &frame[12..frame.len() - 3];
        let mut stream = b"junk".to_vec();
        stream.extend_from_slice(apdu);
        stream.extend_from_slice(apdu);
        let messages = DlmsDecoder::default().decode_all(&stream);
        assert_eq!(
            kinds(&messages),
            vec!["skipped_bytes", "reading", "reading"]
        );
        let messages = DlmsDecoder::default().decode_all(&apdu[..apdu.len() - 1]);
        assert_eq!(kinds(&messages), vec!["truncated"]);
    }
}
