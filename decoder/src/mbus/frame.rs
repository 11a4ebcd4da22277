//! The M-Bus link-layer frame (EN 13757-2, data link layer: the FT1.2 frame format of
//! IEC 60870-5-1/-2).
//!
//! ```text
//! single character      E5
//! short frame           10 | C | A | CS | 16
//! control / long frame  68 | L | L | 68 | C | A | CI | data … | CS | 16
//! ```
//!
//! L counts C, A, CI and the data (3 for a control frame, which has no data); CS is the sum of
//! C through the last data byte, modulo 256 (for a short frame: C + A). [`Frame`] is a zero-copy
//! view whose structure — start bytes, equal L bytes, length, stop byte — is checked once by
//! [`Frame::new_checked`], so no accessor can panic afterwards; the checksum is checked
//! separately ([`Frame::checksum_ok`]) so that a caller can tell a corrupted frame from bytes
//! that are no frame at all. [`FrameRepr`] is the parsed value.
//!
//! Real meters are not always right: the Sagemcom T210-D (Netz NÖ / EVN) sends a first frame
//! `68 01 01 68` that carries 257 bytes between the second `68` and the checksum — its L byte
//! overflowed (0x101 & 0xFF). [`Frame::new_checked_with_data_len`] views such a frame with its
//! real length; finding that length is the caller's business (the DLMS transport does it by the
//! checksum and stop byte, see `crate::dlms::stream`).

/// The single-character acknowledgement.
pub const SINGLE_CHARACTER: u8 = 0xE5;
/// Start byte of a short frame.
pub const SHORT_START: u8 = 0x10;
/// Start byte (first and fourth byte) of a control or long frame.
pub const LONG_START: u8 = 0x68;
/// The stop byte ending short, control and long frames.
pub const STOP: u8 = 0x16;
/// Length of a short frame.
pub const SHORT_FRAME_LEN: usize = 5;
/// Bytes of a control or long frame that L does not count: `68 L L 68` and `CS 16`.
pub const LONG_FRAME_OVERHEAD: usize = 6;
/// The smallest L: C, A and CI (a control frame).
pub const MIN_DATA_LEN: usize = 3;

/// Which of the EN 13757-2 frame formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// `E5`.
    SingleCharacter,
    /// `10 C A CS 16`.
    Short,
    /// `68 03 03 68 C A CI CS 16`: a long frame without data.
    Control,
    /// `68 L L 68 C A CI data CS 16`.
    Long,
}

/// Why bytes are not one M-Bus frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No bytes.
    #[error("no bytes")]
    Empty,
    /// The first byte starts no frame.
    #[error("byte 0x{0:02X} starts no M-Bus frame (E5, 10 or 68)")]
    Start(u8),
    /// The two L bytes of a long frame differ.
    #[error("the two length bytes differ: 0x{0:02X} and 0x{1:02X}")]
    LengthMismatch(u8, u8),
    /// The fourth byte of a long frame is not `68`.
    #[error("byte 3 is 0x{0:02X}, not the second start byte 0x68")]
    SecondStart(u8),
    /// L is smaller than C, A and CI.
    #[error("length field {0} is below 3 (C, A and CI)")]
    LengthTooSmall(usize),
    /// The buffer ends before the frame does.
    #[error("the frame needs {needed} bytes, the buffer holds {got}")]
    Truncated {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// No stop byte where the length puts it.
    #[error("byte {at} is 0x{byte:02X}, not the stop byte 0x16")]
    Stop {
        /// Offset in the frame.
        at: usize,
        /// The byte found there.
        byte: u8,
    },
    /// The checksum does not match (from [`FrameRepr::parse`]).
    #[error("checksum 0x{stated:02X}, computed 0x{computed:02X}")]
    Checksum {
        /// The frame's checksum byte.
        stated: u8,
        /// The sum of C through the last data byte.
        computed: u8,
    },
    /// A frame to emit whose fields do not fit its format (from [`FrameRepr::emit`]): more
    /// than 252 data bytes (L is one byte), a long frame without CI, a short frame without C
    /// and A.
    #[error("cannot emit this frame: {0}")]
    Unencodable(&'static str),
}

/// A read-only view of one M-Bus frame. Bytes after the frame are allowed and ignored.
#[derive(Clone, Debug)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
    kind: FrameKind,
    /// L as used: C, A, CI and data (0 for the single character, 2 for a short frame: C, A).
    data_len: usize,
}

mod field {
    /// Short frame: C, A, CS, stop.
    pub const SHORT_C: usize = 1;
    pub const SHORT_A: usize = 2;
    pub const SHORT_CS: usize = 3;
    pub const SHORT_STOP: usize = 4;
    /// Long frame: the two L bytes, the second start byte, then C, A, CI, data.
    pub const L1: usize = 1;
    pub const L2: usize = 2;
    pub const START2: usize = 3;
    pub const C: usize = 4;
    pub const A: usize = 5;
    pub const CI: usize = 6;
    pub const DATA: usize = 7;
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks the frame's structure: start byte(s), for a long frame two equal L bytes of at
    /// least 3, enough bytes, and the stop byte. The checksum is not checked.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let bytes = buffer.as_ref();
        let (kind, data_len) = match bytes.first() {
            None => return Err(Error::Empty),
            Some(&SINGLE_CHARACTER) => (FrameKind::SingleCharacter, 0),
            Some(&SHORT_START) => {
                if bytes.len() < SHORT_FRAME_LEN {
                    return Err(Error::Truncated {
                        needed: SHORT_FRAME_LEN,
                        got: bytes.len(),
                    });
                }
                if bytes[field::SHORT_STOP] != STOP {
                    return Err(Error::Stop {
                        at: field::SHORT_STOP,
                        byte: bytes[field::SHORT_STOP],
                    });
                }
                (FrameKind::Short, 2)
            }
            Some(&LONG_START) => {
                let l = Self::long_header(bytes)?;
                return Self::new_checked_with_data_len(buffer, usize::from(l));
            }
            Some(&b) => return Err(Error::Start(b)),
        };
        Ok(Frame {
            buffer,
            kind,
            data_len,
        })
    }

    /// Checks a long frame that holds `data_len` bytes from C through the last data byte, whose
    /// L bytes state `data_len` modulo 256 — for meters whose L overflowed (Sagemcom T210-D:
    /// 257 bytes, L = 0x01). Otherwise as [`Frame::new_checked`].
    pub fn new_checked_with_data_len(buffer: T, data_len: usize) -> Result<Self, Error> {
        let bytes = buffer.as_ref();
        let l = Self::long_header(bytes)?;
        if usize::from(l) != data_len % 256 {
            return Err(Error::LengthMismatch(l, (data_len % 256) as u8));
        }
        if data_len < MIN_DATA_LEN {
            return Err(Error::LengthTooSmall(data_len));
        }
        let needed = data_len + LONG_FRAME_OVERHEAD;
        if bytes.len() < needed {
            return Err(Error::Truncated {
                needed,
                got: bytes.len(),
            });
        }
        if bytes[needed - 1] != STOP {
            return Err(Error::Stop {
                at: needed - 1,
                byte: bytes[needed - 1],
            });
        }
        let kind = if data_len == MIN_DATA_LEN {
            FrameKind::Control
        } else {
            FrameKind::Long
        };
        Ok(Frame {
            buffer,
            kind,
            data_len,
        })
    }

    /// `68 L L 68`: the L byte.
    fn long_header(bytes: &[u8]) -> Result<u8, Error> {
        if bytes.first() != Some(&LONG_START) {
            return Err(bytes.first().map_or(Error::Empty, |&b| Error::Start(b)));
        }
        let Some(header) = bytes.get(..4) else {
            return Err(Error::Truncated {
                needed: 4,
                got: bytes.len(),
            });
        };
        if header[field::L1] != header[field::L2] {
            return Err(Error::LengthMismatch(header[field::L1], header[field::L2]));
        }
        if header[field::START2] != LONG_START {
            return Err(Error::SecondStart(header[field::START2]));
        }
        Ok(header[field::L1])
    }

    /// Which format.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The frame's length in bytes, start to stop byte.
    pub fn len(&self) -> usize {
        match self.kind {
            FrameKind::SingleCharacter => 1,
            FrameKind::Short => SHORT_FRAME_LEN,
            FrameKind::Control | FrameKind::Long => self.data_len + LONG_FRAME_OVERHEAD,
        }
    }

    /// Never true: a frame has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The L byte as sent (long and control frames); see [`Frame::data_len`] for the length used.
    pub fn stated_len(&self) -> Option<u8> {
        matches!(self.kind, FrameKind::Control | FrameKind::Long)
            .then(|| self.buffer.as_ref()[field::L1])
    }

    /// Bytes from C through the last data byte: what L counts (2 for a short frame: C, A).
    pub fn data_len(&self) -> usize {
        self.data_len
    }

    /// The C field (function: `53`/`73` SND_UD, `08` RSP_UD, `40` SND_NKE…).
    pub fn control(&self) -> Option<u8> {
        let b = self.buffer.as_ref();
        match self.kind {
            FrameKind::SingleCharacter => None,
            FrameKind::Short => Some(b[field::SHORT_C]),
            FrameKind::Control | FrameKind::Long => Some(b[field::C]),
        }
    }

    /// The A field (primary address; `FF` broadcast, `FD` secondary addressing).
    pub fn address(&self) -> Option<u8> {
        let b = self.buffer.as_ref();
        match self.kind {
            FrameKind::SingleCharacter => None,
            FrameKind::Short => Some(b[field::SHORT_A]),
            FrameKind::Control | FrameKind::Long => Some(b[field::A]),
        }
    }

    /// The CI field (control information) of a control or long frame.
    pub fn ci(&self) -> Option<u8> {
        matches!(self.kind, FrameKind::Control | FrameKind::Long)
            .then(|| self.buffer.as_ref()[field::CI])
    }

    /// The data after CI (empty for the other formats).
    pub fn data(&self) -> &[u8] {
        match self.kind {
            FrameKind::Control | FrameKind::Long => {
                &self.buffer.as_ref()[field::DATA..field::C + self.data_len]
            }
            FrameKind::SingleCharacter | FrameKind::Short => &[],
        }
    }

    /// What the checksum covers: C through the last data byte.
    pub fn covered(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        match self.kind {
            FrameKind::SingleCharacter => &[],
            FrameKind::Short => &b[field::SHORT_C..field::SHORT_CS],
            FrameKind::Control | FrameKind::Long => &b[field::C..field::C + self.data_len],
        }
    }

    /// The checksum byte as sent.
    pub fn checksum(&self) -> Option<u8> {
        let b = self.buffer.as_ref();
        match self.kind {
            FrameKind::SingleCharacter => None,
            FrameKind::Short => Some(b[field::SHORT_CS]),
            FrameKind::Control | FrameKind::Long => Some(b[field::C + self.data_len]),
        }
    }

    /// The checksum computed over [`Frame::covered`].
    pub fn computed_checksum(&self) -> Option<u8> {
        (self.kind != FrameKind::SingleCharacter).then(|| checksum(self.covered()))
    }

    /// Whether the checksum matches (always true for the single character).
    pub fn checksum_ok(&self) -> bool {
        self.checksum() == self.computed_checksum()
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// The M-Bus checksum: the arithmetic sum of the bytes modulo 256.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// The parsed value of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRepr {
    /// The format.
    pub kind: FrameKind,
    /// C field (absent for the single character).
    pub control: Option<u8>,
    /// A field (absent for the single character).
    pub address: Option<u8>,
    /// CI field (control and long frames).
    pub ci: Option<u8>,
    /// The data after CI.
    pub data: Vec<u8>,
}

impl FrameRepr {
    /// Parses a checked frame, verifying its checksum.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<FrameRepr, Error> {
        if let (Some(stated), Some(computed)) = (frame.checksum(), frame.computed_checksum()) {
            if stated != computed {
                return Err(Error::Checksum { stated, computed });
            }
        }
        Ok(FrameRepr {
            kind: frame.kind(),
            control: frame.control(),
            address: frame.address(),
            ci: frame.ci(),
            data: frame.data().to_vec(),
        })
    }

    /// Appends the frame to `out`, its length, checksum and stop byte computed (EN 13757-2
    /// §5): `E5`; `10 C A CS 16`; `68 L L 68 C A CI data CS 16` with L = 3 + data. The M-Bus
    /// master of the harness builds its requests with it. Nothing is appended on an error.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let header = |what| Error::Unencodable(what);
        match self.kind {
            FrameKind::SingleCharacter => out.push(SINGLE_CHARACTER),
            FrameKind::Short => {
                let (Some(c), Some(a)) = (self.control, self.address) else {
                    return Err(header("a short frame needs C and A"));
                };
                out.extend_from_slice(&[SHORT_START, c, a, c.wrapping_add(a), STOP]);
            }
            FrameKind::Control | FrameKind::Long => {
                let (Some(c), Some(a), Some(ci)) = (self.control, self.address, self.ci) else {
                    return Err(header("a long frame needs C, A and CI"));
                };
                let l = u8::try_from(MIN_DATA_LEN + self.data.len())
                    .map_err(|_| header("more than 252 data bytes"))?;
                out.extend_from_slice(&[LONG_START, l, l, LONG_START]);
                let start = out.len();
                out.extend_from_slice(&[c, a, ci]);
                out.extend_from_slice(&self.data);
                let sum = checksum(&out[start..]);
                out.extend_from_slice(&[sum, STOP]);
            }
        }
        Ok(())
    }

    /// The length of the frame this value is emitted as (L = 3 + data for a long frame).
    pub fn buffer_len(&self) -> usize {
        match self.kind {
            FrameKind::SingleCharacter => 1,
            FrameKind::Short => SHORT_FRAME_LEN,
            FrameKind::Control | FrameKind::Long => {
                MIN_DATA_LEN + self.data.len() + LONG_FRAME_OVERHEAD
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// Second frame of the Netz NÖ customer-interface brochure example (Kaifa MA309, via
    /// esphome-libs/dlms_parser tests/dumps/mbus_netz_noe_p1.log; corpus vector
    /// `evn_netznoe_kaifa_ma309_doc_example`): the last 15 ciphertext bytes, CI 0x11.
    static SECOND_FRAME: [u8; 26] = [
        0x68, 0x14, 0x14, 0x68, 0x53, 0xFF, 0x11, 0x01, 0x67, 0x41, 0x9A, 0x3C, 0xFD, 0xA4, 0x4B,
        0xE4, 0x38, 0xC9, 0x6F, 0x0E, 0x38, 0xBF, 0x83, 0xD9, 0x83, 0x16,
    ];

    #[test]
    fn test_emit_gives_the_parsed_bytes_back() {
        let frame = Frame::new_checked(&SECOND_FRAME[..]).expect("valid frame");
        let repr = FrameRepr::parse(&frame).expect("checksum ok");
        let mut out = vec![0xAA];
        repr.emit(&mut out).expect("encodable");
        assert_eq!(&out[1..], &SECOND_FRAME[..]);
        assert_eq!(out.len() - 1, repr.buffer_len());
        let short = FrameRepr {
            kind: FrameKind::Short,
            control: Some(0x40),
            address: Some(0xFD),
            ci: None,
            data: Vec::new(),
        };
        let mut out = Vec::new();
        short.emit(&mut out).expect("encodable");
        assert_eq!(out, [0x10, 0x40, 0xFD, 0x3D, 0x16]);
        let too_long = FrameRepr {
            kind: FrameKind::Long,
            control: Some(0x53),
            address: Some(1),
            ci: Some(0x51),
            data: vec![0; 253],
        };
        let mut out = Vec::new();
        assert!(matches!(
            too_long.emit(&mut out),
            Err(Error::Unencodable(_))
        ));
        assert!(out.is_empty(), "nothing appended on an error");
    }

    #[test]
    fn test_parse() {
        let frame = Frame::new_checked(&SECOND_FRAME[..]).expect("valid frame");
        assert_eq!(frame.kind(), FrameKind::Long);
        assert_eq!(frame.len(), 26);
        assert_eq!(frame.stated_len(), Some(0x14));
        assert_eq!(frame.control(), Some(0x53));
        assert_eq!(frame.address(), Some(0xFF));
        assert_eq!(frame.ci(), Some(0x11));
        assert_eq!(frame.data().len(), 0x14 - 3);
        assert_eq!(frame.data()[..2], [0x01, 0x67]);
        assert!(frame.checksum_ok());
        let repr = FrameRepr::parse(&frame).expect("checksum ok");
        assert_eq!(repr.buffer_len(), SECOND_FRAME.len());
        assert_eq!(repr.ci, Some(0x11));
    }

    #[test]
    fn test_short_and_single() {
        // SND_NKE to address 1 (EN 13757-2 example): 10 40 01 41 16.
        let short = [0x10, 0x40, 0x01, 0x41, 0x16];
        let frame = Frame::new_checked(&short[..]).expect("valid short frame");
        assert_eq!(frame.kind(), FrameKind::Short);
        assert_eq!((frame.control(), frame.address()), (Some(0x40), Some(0x01)));
        assert!(frame.checksum_ok());
        assert_eq!(frame.data(), &[] as &[u8]);
        let e5 = Frame::new_checked(&[0xE5][..]).expect("single character");
        assert_eq!((e5.kind(), e5.len()), (FrameKind::SingleCharacter, 1));
        assert!(e5.checksum_ok());
    }

    #[test]
    fn test_bad_checksum() {
        let mut bytes = SECOND_FRAME;
        bytes[24] ^= 0x01;
        let frame = Frame::new_checked(&bytes[..]).expect("structure still fine");
        assert!(!frame.checksum_ok());
        assert_eq!(
            FrameRepr::parse(&frame),
            Err(Error::Checksum {
                stated: 0x82,
                computed: 0x83
            })
        );
    }

    #[test]
    fn test_overflowed_length() {
        // A long frame of 257 data bytes whose L bytes say 0x01 (Sagemcom T210-D).
        let mut bytes = vec![0x68, 0x01, 0x01, 0x68, 0x53, 0xFF, 0x00];
        bytes.extend_from_slice(&[0xAA; 254]);
        let cs = checksum(&bytes[4..]);
        bytes.extend([cs, STOP]);
        assert_eq!(
            Frame::new_checked(&bytes[..]).err(),
            Some(Error::LengthTooSmall(1))
        );
        let frame = Frame::new_checked_with_data_len(&bytes[..], 257).expect("real length");
        assert_eq!((frame.len(), frame.data_len()), (263, 257));
        assert_eq!(frame.stated_len(), Some(1));
        assert!(frame.checksum_ok());
        assert_eq!(
            Frame::new_checked_with_data_len(&bytes[..], 258).err(),
            Some(Error::LengthMismatch(1, 2))
        );
    }

    #[test]
    fn test_impossible_len() {
        for cut in 0..SECOND_FRAME.len() {
            assert!(
                Frame::new_checked(&SECOND_FRAME[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut bytes = SECOND_FRAME;
        bytes[2] = 0x15;
        assert_eq!(
            Frame::new_checked(&bytes[..]).err(),
            Some(Error::LengthMismatch(0x14, 0x15))
        );
        let mut bytes = SECOND_FRAME;
        bytes[25] = 0x17;
        assert_eq!(
            Frame::new_checked(&bytes[..]).err(),
            Some(Error::Stop { at: 25, byte: 0x17 })
        );
        assert_eq!(
            Frame::new_checked(&[0x68, 0x02, 0x02, 0x68, 0, 0, 0, 0][..]).err(),
            Some(Error::LengthTooSmall(2))
        );
        assert_eq!(
            Frame::new_checked(&[0x55][..]).err(),
            Some(Error::Start(0x55))
        );
    }
}
