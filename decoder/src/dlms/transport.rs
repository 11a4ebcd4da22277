//! Putting a push back together from its pieces: DLMS/COSEM over M-Bus (the wired M-Bus
//! communication profile of IEC 62056-7-6 on EN 13757-2 long frames, as specified for Austrian
//! P1 ports by TINETZ "Kundenschnittstelle" pp. 3-6 and the Netz NÖ brochure pp. 3-5), and the
//! same reassembly for HDLC segments and General Block Transfer blocks.
//!
//! ```text
//! 68 L L 68 | C (53) | A (FF) | CI | STSAP (01) | DTSAP (67) | APDU segment | CS | 16
//! ```
//!
//! CI is the transport field: bits 7-5 zero, bit 4 FIN (last segment), bits 3-0 the segment
//! number. A push in one frame has CI `10`; EVN and TINETZ split theirs in two, `00` then `11`.
//! The APDU continues in each frame after its five header bytes (C, A, CI, STSAP, DTSAP).
//!
//! [`Assembler`] collects numbered pieces (M-Bus segments by segment number, GBT blocks by
//! block number, HDLC segments in arrival order) and says when a push is complete, when a piece
//! is missing (`incomplete`), and swallows the rest of a push whose earlier piece was already
//! reported as corrupted, so that one push gives one message.

use crate::mbus::frame::Frame;

/// CI bits that must be zero in a transport CI.
const CI_RESERVED: u8 = 0xE0;
/// CI bit 4: the last segment.
const CI_FIN: u8 = 0x10;
/// CI bits 3-0: the segment number.
const CI_SEGMENT: u8 = 0x0F;

/// Why an M-Bus frame carries no DLMS segment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The CI is not a DLMS transport CI.
    #[error("CI 0x{0:02X} is not a DLMS transport field (0x00-0x1F): not a DLMS push frame")]
    NotTransport(u8),
    /// The frame has no room for STSAP and DTSAP.
    #[error("M-Bus frame without DLMS wrapper (L = {0})")]
    NoWrapper(usize),
}

/// The transport fields of one M-Bus frame carrying a DLMS segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Segment number (CI bits 3-0).
    pub number: u8,
    /// The last segment (CI bit 4).
    pub last: bool,
    /// Source transport SAP (`01`, the management logical device).
    pub stsap: u8,
    /// Destination transport SAP (`67`, client 103, the consumer push).
    pub dtsap: u8,
}

/// Reads the transport fields of a checked long frame: the segment and its APDU bytes.
pub fn segment<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<(Segment, &[u8]), Error> {
    let ci = frame.ci().unwrap_or(0xFF);
    if ci & CI_RESERVED != 0 {
        return Err(Error::NotTransport(ci));
    }
    let data = frame.data();
    let [stsap, dtsap, apdu @ ..] = data else {
        return Err(Error::NoWrapper(frame.data_len()));
    };
    Ok((
        Segment {
            number: ci & CI_SEGMENT,
            last: ci & CI_FIN != 0,
            stsap: *stsap,
            dtsap: *dtsap,
        },
        apdu,
    ))
}

/// Whether a CI byte is a transport CI that says "last segment" — for a frame whose checksum
/// failed, a best guess at whether more segments of its push will follow.
pub fn ci_says_last(ci: u8) -> bool {
    ci & CI_RESERVED != 0 || ci & CI_FIN != 0
}

/// One piece of a push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece<'a> {
    /// Stream offset of the frame that carried it.
    pub offset: u64,
    /// The first piece of a push (segment 0, block 1, an HDLC frame with LLC).
    pub first: bool,
    /// The last piece.
    pub last: bool,
    /// The piece's number, when the transport numbers them.
    pub number: Option<u32>,
    /// Its bytes.
    pub data: &'a [u8],
    /// Oddities of the frame that carried it, for the reading.
    pub warnings: Vec<String>,
}

/// What adding a piece led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A push is complete.
    Complete {
        /// Stream offset of its first piece.
        offset: u64,
        /// Its APDU bytes.
        data: Vec<u8>,
        /// The pieces' warnings.
        warnings: Vec<String>,
        /// Put together from several pieces without numbers (HDLC segments): a lost middle
        /// piece cannot be seen here, only when the APDU does not fit.
        unnumbered: bool,
    },
    /// A push lacks a piece: report `incomplete`.
    Incomplete {
        /// Stream offset of its first piece (or of the orphan piece).
        offset: u64,
        /// What is missing.
        message: String,
    },
    /// A push grew beyond the maximum: report `length`.
    TooLong {
        /// Stream offset of its first piece.
        offset: u64,
        /// Its size when given up.
        len: usize,
    },
    /// A push given up as too long went on: its further pieces were passed over, and this says
    /// how many, so that no byte goes unreported (`skipped_bytes`).
    Overflow {
        /// Stream offset of the push's first piece.
        offset: u64,
        /// Pieces passed over after it was given up.
        pieces: usize,
        /// Their bytes.
        bytes: usize,
    },
}

/// The pieces of a push given up as too long that were passed over since.
#[derive(Clone, Copy, Debug)]
struct Overflow {
    offset: u64,
    pieces: usize,
    bytes: usize,
}

#[derive(Clone, Debug)]
struct Pending {
    offset: u64,
    /// The number the next piece must have, when numbered.
    next: Option<u32>,
    pieces: usize,
    /// A piece came without a number.
    unnumbered: bool,
    data: Vec<u8>,
    warnings: Vec<String>,
}

/// Reassembly of one kind of piece (see the module documentation).
#[derive(Clone, Debug)]
pub struct Assembler {
    /// What a piece is called in messages: "M-Bus segment", "HDLC segment", "GBT block".
    what: &'static str,
    max_len: usize,
    pending: Option<Pending>,
    /// The current push was already reported: swallow its pieces up to its last.
    discarding: bool,
    /// When the push being swallowed was given up as too long: what was swallowed of it.
    overflow: Option<Overflow>,
}

impl Assembler {
    /// An idle assembler; pushes longer than `max_len` bytes are given up.
    pub fn new(what: &'static str, max_len: usize) -> Self {
        Assembler {
            what,
            max_len,
            pending: None,
            discarding: false,
            overflow: None,
        }
    }

    /// Reports what was passed over of a push given up as too long, once it is over.
    fn end_overflow(&mut self, out: &mut Vec<Event>) {
        if let Some(o) = self.overflow.take() {
            if o.pieces > 0 {
                out.push(Event::Overflow {
                    offset: o.offset,
                    pieces: o.pieces,
                    bytes: o.bytes,
                });
            }
        }
    }

    /// No push is being collected and none is being swallowed.
    pub fn is_idle(&self) -> bool {
        self.pending.is_none() && !self.discarding
    }

    /// Adds a piece.
    pub fn push(&mut self, piece: Piece<'_>, out: &mut Vec<Event>) {
        let what = self.what;
        let number = |n: Option<u32>| n.map(|n| format!(" {n}")).unwrap_or_default();
        if piece.first {
            if let Some(p) = self.pending.take() {
                out.push(Event::Incomplete {
                    offset: p.offset,
                    message: format!(
                        "push cut off after {} {what}s: a new push starts at offset {} before its last {what}",
                        p.pieces, piece.offset
                    ),
                });
            }
            self.discarding = false;
            self.end_overflow(out);
            self.pending = Some(Pending {
                offset: piece.offset,
                next: piece.number.map(|n| n.wrapping_add(1)),
                pieces: 0,
                unnumbered: false,
                data: Vec::new(),
                warnings: Vec::new(),
            });
        } else {
            match &self.pending {
                Some(p) if piece.number.is_none() || piece.number == p.next => {}
                Some(p) => {
                    out.push(Event::Incomplete {
                        offset: p.offset,
                        message: format!(
                            "{what}{} is missing: {what}{} at offset {} follows {} {what}s",
                            number(p.next),
                            number(piece.number),
                            piece.offset,
                            p.pieces
                        ),
                    });
                    self.pending = None;
                    self.discarding = !piece.last;
                    return;
                }
                None if self.discarding => {
                    self.discarding = !piece.last;
                    if let Some(o) = self.overflow.as_mut() {
                        o.pieces += 1;
                        o.bytes += piece.data.len();
                    }
                    if piece.last {
                        self.end_overflow(out);
                    }
                    return;
                }
                None => {
                    out.push(Event::Incomplete {
                        offset: piece.offset,
                        message: format!(
                            "{what}{} without the {what}s before it: the start of its push is missing",
                            number(piece.number)
                        ),
                    });
                    self.discarding = !piece.last;
                    return;
                }
            }
        }
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        p.pieces += 1;
        p.unnumbered |= piece.number.is_none();
        p.next = piece.number.map(|n| n.wrapping_add(1));
        p.data.extend_from_slice(piece.data);
        p.warnings.extend(piece.warnings);
        if p.data.len() > self.max_len {
            out.push(Event::TooLong {
                offset: p.offset,
                len: p.data.len(),
            });
            self.overflow = (!piece.last).then_some(Overflow {
                offset: p.offset,
                pieces: 0,
                bytes: 0,
            });
            self.pending = None;
            self.discarding = !piece.last;
            return;
        }
        if piece.last {
            if let Some(p) = self.pending.take() {
                out.push(Event::Complete {
                    offset: p.offset,
                    unnumbered: p.unnumbered && p.pieces > 1,
                    data: p.data,
                    warnings: p.warnings,
                });
            }
        }
    }

    /// No more pieces of the current push can come (another transport took over, or the
    /// stream ended): a push being collected is incomplete.
    pub fn interrupt(&mut self, why: &str, out: &mut Vec<Event>) {
        let what = self.what;
        if let Some(p) = self.pending.take() {
            out.push(Event::Incomplete {
                offset: p.offset,
                message: format!(
                    "push cut off after {} {what}s: {why} before its last {what}",
                    p.pieces
                ),
            });
        }
        self.end_overflow(out);
        self.discarding = false;
    }

    /// A piece was corrupted and is reported by the caller: the push it belongs to is lost.
    /// Returns the offset of the push being collected (the error is that push's message), and
    /// swallows the push's remaining pieces unless `last` says the corrupted piece was its last.
    pub fn reject(&mut self, last: bool) -> Option<u64> {
        self.discarding = !last;
        self.overflow = None;
        self.pending.take().map(|p| p.offset)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn piece(offset: u64, first: bool, last: bool, number: Option<u32>, data: &[u8]) -> Piece<'_> {
        Piece {
            offset,
            first,
            last,
            number,
            data,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn test_segment() {
        // The second frame of the Netz NÖ brochure example (corpus evn_netznoe_kaifa_ma309_doc_example).
        let bytes = [
            0x68, 0x14, 0x14, 0x68, 0x53, 0xFF, 0x11, 0x01, 0x67, 0x41, 0x9A, 0x3C, 0xFD, 0xA4,
            0x4B, 0xE4, 0x38, 0xC9, 0x6F, 0x0E, 0x38, 0xBF, 0x83, 0xD9, 0x83, 0x16,
        ];
        let frame = Frame::new_checked(&bytes[..]).expect("valid frame");
        let (seg, apdu) = segment(&frame).expect("transport frame");
        assert_eq!(
            seg,
            Segment {
                number: 1,
                last: true,
                stsap: 0x01,
                dtsap: 0x67
            }
        );
        assert_eq!(apdu.len(), 15);
        let mut wired = bytes;
        wired[6] = 0x72;
        wired[24] = wired[24].wrapping_add(0x72 - 0x11);
        let frame = Frame::new_checked(&wired[..]).expect("valid frame");
        assert_eq!(segment(&frame).err(), Some(Error::NotTransport(0x72)));
    }

    #[test]
    fn test_two_segments() {
        let mut a = Assembler::new("M-Bus segment", 100);
        let mut out = Vec::new();
        a.push(piece(0, true, false, Some(0), b"ab"), &mut out);
        assert!(out.is_empty() && !a.is_idle());
        a.push(piece(10, false, true, Some(1), b"cd"), &mut out);
        assert_eq!(
            out,
            vec![Event::Complete {
                offset: 0,
                data: b"abcd".to_vec(),
                warnings: vec![],
                unnumbered: false
            }]
        );
        assert!(a.is_idle());
    }

    #[test]
    fn test_missing_pieces() {
        let mut a = Assembler::new("M-Bus segment", 100);
        let mut out = Vec::new();
        // The second segment lost: the next push's first segment shows it.
        a.push(piece(0, true, false, Some(0), b"ab"), &mut out);
        a.push(piece(10, true, false, Some(0), b"ab"), &mut out);
        assert!(matches!(out[..], [Event::Incomplete { offset: 0, .. }]));
        // A gap in the numbers: one message, and the rest of that push is swallowed.
        out.clear();
        a.push(piece(20, false, false, Some(2), b"x"), &mut out);
        a.push(piece(30, false, true, Some(3), b"y"), &mut out);
        assert!(matches!(out[..], [Event::Incomplete { offset: 10, .. }]));
        assert!(a.is_idle());
        // An orphan last segment.
        out.clear();
        a.push(piece(40, false, true, Some(1), b"z"), &mut out);
        assert!(matches!(out[..], [Event::Incomplete { offset: 40, .. }]));
        // The stream ends inside a push.
        out.clear();
        a.push(piece(50, true, false, Some(0), b"ab"), &mut out);
        a.interrupt("the stream ended", &mut out);
        assert!(matches!(out[..], [Event::Incomplete { offset: 50, .. }]));
    }

    #[test]
    fn test_reject_and_limit() {
        let mut a = Assembler::new("HDLC segment", 4);
        let mut out = Vec::new();
        a.push(piece(0, true, false, None, b"ab"), &mut out);
        assert_eq!(a.reject(false), Some(0));
        a.push(piece(10, false, true, None, b"cd"), &mut out);
        assert!(out.is_empty(), "the rest of a rejected push is swallowed");
        a.push(piece(20, true, false, None, b"abc"), &mut out);
        a.push(piece(30, false, false, None, b"de"), &mut out);
        assert_eq!(out, vec![Event::TooLong { offset: 20, len: 5 }]);
        // The given-up push goes on: what is passed over is reported when it ends.
        out.clear();
        a.push(piece(40, false, false, None, b"fgh"), &mut out);
        a.push(piece(50, false, true, None, b"ij"), &mut out);
        assert_eq!(
            out,
            vec![Event::Overflow {
                offset: 20,
                pieces: 2,
                bytes: 5
            }]
        );
        // ... or when the stream ends in it.
        out.clear();
        a.push(piece(60, true, false, None, b"abcde"), &mut out);
        a.push(piece(70, false, false, None, b"xyz"), &mut out);
        a.interrupt("the stream ended", &mut out);
        assert_eq!(
            out,
            vec![
                Event::TooLong { offset: 60, len: 5 },
                Event::Overflow {
                    offset: 60,
                    pieces: 1,
                    bytes: 3
                }
            ]
        );
    }
}
