//! EN 13757-2 §5 frame formats (IEC 60870-5-2 FT1.2): the single character, the short frame,
//! the control frame and the long frame.
//!
//! | frame | bytes |
//! |---|---|
//! | single character | `E5` |
//! | short | `10 C A CS 16`, CS = C + A |
//! | control | `68 03 03 68 C A CI CS 16` |
//! | long | `68 L L 68 C A CI <data> CS 16` |
//!
//! L counts C, A, CI and the data (3…255); CS is the arithmetic sum of C through the last data
//! byte, modulo 256. [`LongFrameRepr`] is the emit half of the decoder's frame of the same name
//! (a control frame is a long frame without data); [`ShortFrameRepr`] is what a master sends to
//! reset (`SND_NKE`) and poll (`REQ_UD2`) a slave. The simulated slave has to understand what a
//! master sends, so both also `parse`.

/// Start byte of a long (or control) frame.
pub const START_LONG: u8 = 0x68;
/// Start byte of a short frame.
pub const START_SHORT: u8 = 0x10;
/// Stop byte of every framed message.
pub const STOP: u8 = 0x16;
/// Offset in a long frame of the first byte after CI: `68 L L 68 C A CI`.
pub const LONG_DATA_OFFSET: usize = 7;
/// The single-character acknowledgement.
pub const ACK: u8 = 0xE5;
/// Control field SND_NKE (link reset, master to slave), §5.5.
pub const CONTROL_SND_NKE: u8 = 0x40;
/// Control field SND_UD (send user data, master to slave; also the Austrian P1 push), FCB
/// clear (`0x73` with FCB set).
pub const CONTROL_SND_UD: u8 = 0x53;
/// Control field REQ_UD2 (request class 2 data), FCB clear (`0x7B` with FCB set).
pub const CONTROL_REQ_UD2: u8 = 0x5B;
/// Control field REQ_UD1 (request class 1 data, alarms), FCB clear (`0x7A` with FCB set).
pub const CONTROL_REQ_UD1: u8 = 0x5A;
/// Control field RSP_UD (respond user data, slave to master).
pub const CONTROL_RSP_UD: u8 = 0x08;
/// Control field bit: frame count bit (master to slave).
pub const FCB: u8 = 0x20;
/// Control field bit: frame count bit valid (master to slave).
pub const FCV: u8 = 0x10;
/// Primary address of the slave(s) selected by secondary address (network layer).
pub const ADDRESS_SELECTED: u8 = 0xFD;
/// Primary address every slave answers (test and point-to-point use; collides on a bus).
pub const ADDRESS_ALL: u8 = 0xFE;
/// Primary address of a broadcast: every slave acts, none answers.
pub const ADDRESS_BROADCAST: u8 = 0xFF;

/// Why bytes are not one well-formed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The first byte is not `E5`, `10` or `68`, or a long frame's second `68` is missing.
    #[error("invalid frame start")]
    Start,
    /// The two L fields differ, L is below 3, or the bytes are not L + 6 long.
    #[error("invalid frame length")]
    Length,
    /// The checksum does not match.
    #[error("checksum mismatch")]
    Checksum,
    /// The last byte is not `16`.
    #[error("missing stop byte")]
    Stop,
}

/// A short frame before emission (or after parsing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortFrameRepr {
    /// Control field (C).
    pub control: u8,
    /// Primary address (A).
    pub address: u8,
}

impl ShortFrameRepr {
    /// Bytes a short frame takes on the line.
    pub const LEN: usize = 5;

    /// C + A, modulo 256.
    pub fn checksum(&self) -> u8 {
        self.control.wrapping_add(self.address)
    }

    /// Bytes the frame takes on the line.
    pub fn buffer_len(&self) -> usize {
        Self::LEN
    }

    /// Appends the frame, start to stop byte, to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            START_SHORT,
            self.control,
            self.address,
            self.checksum(),
            STOP,
        ]);
    }

    /// Reads exactly one short frame.
    pub fn parse(bytes: &[u8]) -> Result<Self, FrameError> {
        if bytes.first() != Some(&START_SHORT) {
            return Err(FrameError::Start);
        }
        if bytes.len() != Self::LEN {
            return Err(FrameError::Length);
        }
        let frame = ShortFrameRepr {
            control: bytes[1],
            address: bytes[2],
        };
        if bytes[3] != frame.checksum() {
            return Err(FrameError::Checksum);
        }
        if bytes[4] != STOP {
            return Err(FrameError::Stop);
        }
        Ok(frame)
    }
}

/// A long frame before emission (or after parsing); with no data it is a control frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongFrameRepr<'a> {
    /// Control field (C).
    pub control: u8,
    /// Primary address (A); `FF` is broadcast.
    pub address: u8,
    /// Control information field (CI).
    pub ci: u8,
    /// The bytes after CI.
    pub data: &'a [u8],
}

impl<'a> LongFrameRepr<'a> {
    /// A control frame: a long frame without data (`68 03 03 68 C A CI CS 16`).
    pub fn control_frame(control: u8, address: u8, ci: u8) -> Self {
        LongFrameRepr {
            control,
            address,
            ci,
            data: &[],
        }
    }

    /// The value of the L field: C + A + CI + data, in bytes.
    pub fn length(&self) -> usize {
        3 + self.data.len()
    }

    /// Whether [`length`](Self::length) fits the one-byte L field. A frame that does not is
    /// still emitted, with L holding the low byte of the length: the Sagemcom T210-D sends its
    /// first P1 frame that way (`68 01 01 68` for 257 bytes).
    pub fn length_fits(&self) -> bool {
        self.length() <= 0xFF
    }

    /// Whether this is a control frame (no data after CI).
    pub fn is_control(&self) -> bool {
        self.data.is_empty()
    }

    /// Sum of C, A, CI and the data, modulo 256.
    pub fn checksum(&self) -> u8 {
        self.data.iter().fold(
            self.control
                .wrapping_add(self.address)
                .wrapping_add(self.ci),
            |s, &b| s.wrapping_add(b),
        )
    }

    /// Bytes the frame takes on the line.
    pub fn buffer_len(&self) -> usize {
        4 + self.length() + 2
    }

    /// Appends the frame, start to stop byte, to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let l = (self.length() & 0xFF) as u8;
        out.reserve(self.buffer_len());
        out.extend_from_slice(&[START_LONG, l, l, START_LONG]);
        out.extend_from_slice(&[self.control, self.address, self.ci]);
        out.extend_from_slice(self.data);
        out.push(self.checksum());
        out.push(STOP);
    }

    /// Reads exactly one long or control frame (L fields equal, at least 3, and matching the
    /// number of bytes).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.first() != Some(&START_LONG) {
            return Err(FrameError::Start);
        }
        if bytes.len() < 9 {
            return Err(FrameError::Length);
        }
        if bytes[3] != START_LONG {
            return Err(FrameError::Start);
        }
        let l = usize::from(bytes[1]);
        if bytes[1] != bytes[2] || l < 3 || bytes.len() != l + 6 {
            return Err(FrameError::Length);
        }
        let frame = LongFrameRepr {
            control: bytes[4],
            address: bytes[5],
            ci: bytes[6],
            data: &bytes[7..4 + l],
        };
        if bytes[4 + l] != frame.checksum() {
            return Err(FrameError::Checksum);
        }
        if bytes[5 + l] != STOP {
            return Err(FrameError::Stop);
        }
        Ok(frame)
    }
}

/// Any frame, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameRepr<'a> {
    /// The single character `E5`.
    Ack,
    /// A short frame.
    Short(ShortFrameRepr),
    /// A long or control frame.
    Long(LongFrameRepr<'a>),
}

impl<'a> FrameRepr<'a> {
    /// Reads exactly one frame of any kind.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        match bytes.first() {
            Some(&ACK) if bytes.len() == 1 => Ok(FrameRepr::Ack),
            Some(&ACK) => Err(FrameError::Length),
            Some(&START_SHORT) => ShortFrameRepr::parse(bytes).map(FrameRepr::Short),
            Some(&START_LONG) => LongFrameRepr::parse(bytes).map(FrameRepr::Long),
            _ => Err(FrameError::Start),
        }
    }

    /// Appends the frame, start to stop byte, to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            FrameRepr::Ack => out.push(ACK),
            FrameRepr::Short(f) => f.emit(out),
            FrameRepr::Long(f) => f.emit(out),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// What a frame emits into an empty buffer.
    macro_rules! emitted {
        ($frame:expr) => {{
            let mut out = Vec::new();
            $frame.emit(&mut out);
            out
        }};
    }

    /// The second frame of the Netz NÖ customer-interface example (EVN Kaifa MA309): the last
    /// 15 APDU bytes after `01 67` (STSAP, DTSAP). Source: Netz NÖ brochure, also
    /// esphome-libs/dlms_parser tests/dumps/mbus_netz_noe_p1.log.
    static EVN_FRAME_2: [u8; 26] = [
        0x68, 0x14, 0x14, 0x68, 0x53, 0xFF, 0x11, 0x01, 0x67, 0x41, 0x9A, 0x3C, 0xFD, 0xA4, 0x4B,
        0xE4, 0x38, 0xC9, 0x6F, 0x0E, 0x38, 0xBF, 0x83, 0xD9, 0x83, 0x16,
    ];

    /// pyMeterBus tests/test_frametype.py (corpus pymeterbus/frametype-short_frame).
    static SHORT: [u8; 5] = [0x10, 0x08, 0x0B, 0x13, 0x16];

    /// pyMeterBus tests/test_frametype.py (corpus pymeterbus/frametype-control_frame).
    static CONTROL: [u8; 9] = [0x68, 0x03, 0x03, 0x68, 0x08, 0x0B, 0x72, 0x85, 0x16];

    #[test]
    fn test_emit() {
        let frame = LongFrameRepr {
            control: CONTROL_SND_UD,
            address: 0xFF,
            ci: 0x11,
            data: &EVN_FRAME_2[7..24],
        };
        assert!(frame.length_fits());
        assert_eq!(frame.buffer_len(), EVN_FRAME_2.len());
        assert_eq!(emitted!(frame), EVN_FRAME_2);
        assert_eq!(LongFrameRepr::parse(&EVN_FRAME_2), Ok(frame));
    }

    #[test]
    fn test_overlong_keeps_low_byte() {
        let data = [0u8; 254];
        let frame = LongFrameRepr {
            control: CONTROL_SND_UD,
            address: 0xFF,
            ci: 0x00,
            data: &data,
        };
        assert!(!frame.length_fits());
        let bytes = emitted!(frame);
        assert_eq!(&bytes[..4], &[0x68, 0x01, 0x01, 0x68]);
        assert_eq!(bytes.len(), 263);
        assert_eq!(bytes[261], 0x53u8.wrapping_add(0xFF));
    }

    #[test]
    fn test_short_frame() {
        let frame = ShortFrameRepr {
            control: 0x08,
            address: 0x0B,
        };
        assert_eq!(emitted!(frame), SHORT);
        assert_eq!(frame.buffer_len(), SHORT.len());
        assert_eq!(ShortFrameRepr::parse(&SHORT), Ok(frame));
        assert_eq!(FrameRepr::parse(&SHORT), Ok(FrameRepr::Short(frame)));
        // REQ_UD2 to address 1 and SND_NKE to 253, as libmbus sends them.
        let req = ShortFrameRepr {
            control: CONTROL_REQ_UD2,
            address: 0x01,
        };
        assert_eq!(emitted!(req), [0x10, 0x5B, 0x01, 0x5C, 0x16]);
        let nke = ShortFrameRepr {
            control: CONTROL_SND_NKE,
            address: ADDRESS_SELECTED,
        };
        assert_eq!(emitted!(nke), [0x10, 0x40, 0xFD, 0x3D, 0x16]);
    }

    #[test]
    fn test_control_frame() {
        let frame = LongFrameRepr::control_frame(0x08, 0x0B, 0x72);
        assert!(frame.is_control());
        assert_eq!(emitted!(frame), CONTROL);
        assert_eq!(LongFrameRepr::parse(&CONTROL), Ok(frame));
    }

    #[test]
    fn test_parse_rejects() {
        assert_eq!(FrameRepr::parse(&[ACK]), Ok(FrameRepr::Ack));
        assert_eq!(FrameRepr::parse(&[0x00]), Err(FrameError::Start));
        assert_eq!(
            ShortFrameRepr::parse(&[0x10, 0x08, 0x0B, 0x14, 0x16]),
            Err(FrameError::Checksum)
        );
        assert_eq!(
            ShortFrameRepr::parse(&[0x10, 0x08, 0x0B, 0x13, 0x17]),
            Err(FrameError::Stop)
        );
        let mut bad = CONTROL;
        bad[2] = 0x04;
        assert_eq!(LongFrameRepr::parse(&bad), Err(FrameError::Length));
        let mut bad = CONTROL;
        bad[3] = 0x67;
        assert_eq!(LongFrameRepr::parse(&bad), Err(FrameError::Start));
        assert_eq!(LongFrameRepr::parse(&CONTROL[..8]), Err(FrameError::Length));
    }
}
