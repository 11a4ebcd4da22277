//! HDLC frames of the DLMS/COSEM connection-oriented profile (IEC 62056-46, DLMS UA 1000-2
//! "Green Book", HDLC-based data link layer: frame format type 3, addressing, HCS and FCS,
//! segmentation), as meters push them on the Nordic HAN port and the Austrian IR/P1
//! interfaces.
//!
//! ```text
//! 7E | 1010 S LLL  LLLLLLLL | destination (1-4) | source (1-4) | control | HCS (2) | information | FCS (2) | 7E
//! ```
//!
//! The 11-bit length L counts the bytes between the flags. Each address byte carries 7 bits
//! shifted left; a set low bit marks the address's last byte. HCS covers the format field
//! through the control byte, FCS the format field through the information; both are
//! CRC-16/X.25, low byte first. A frame without information has no HCS. The segmentation bit S
//! marks every frame but the last of a segmented push; the information fields are concatenated,
//! and only the first starts with the LLC header `E6 E7 00`.
//!
//! Push frames are not byte-stuffed, so `7E` may appear inside the data or the FCS (u9n/
//! dlms-cosem#97): a frame is delimited by its length field, never by scanning for flags. A real
//! Wiener Netze capture lacks the closing flag; [`Frame::new_checked`] does not require it
//! ([`Frame::has_closing_flag`] tells).

use crate::crc::crc16_x25;

/// The flag opening and closing every frame.
pub const FLAG: u8 = 0x7E;
/// LLC header of a response or push (destination LSAP E6, source LSAP E7, quality 00).
pub const LLC_RESPONSE: [u8; 3] = [0xE6, 0xE7, 0x00];
/// LLC header of a command (E6 E6 00), accepted as well.
pub const LLC_COMMAND: [u8; 3] = [0xE6, 0xE6, 0x00];
/// The longest address (bytes).
pub const MAX_ADDRESS_LEN: usize = 4;
/// The smallest L: format (2), destination (1), source (1), control (1), FCS (2).
pub const MIN_FRAME_LEN: usize = 7;
/// The largest L the 11-bit length field can state.
pub const MAX_FRAME_LEN: usize = 0x7FF;
/// Format type 3 in the high nibble of the first format byte.
const FORMAT_TYPE_3: u8 = 0xA0;
/// The segmentation bit in the first format byte.
const SEGMENTATION: u8 = 0x08;

/// Why bytes are not one HDLC frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The first byte is not the flag.
    #[error("a frame starts with the flag 0x7E, not 0x{0:02X}")]
    NoFlag(u8),
    /// The format field is not type 3.
    #[error("format byte 0x{0:02X} is not frame format type 3 (0xA_)")]
    FormatType(u8),
    /// An address runs over four bytes without a byte whose low bit is set.
    #[error("{0} address longer than 4 bytes")]
    Address(&'static str),
    /// L is too small for the header it announces.
    #[error("frame length {0} cannot hold the header")]
    FrameLength(usize),
    /// The buffer ends before the frame does.
    #[error("the frame needs {needed} bytes, the buffer holds {got}")]
    Truncated {
        /// Bytes needed (from the opening flag).
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The header check sequence does not match (from [`FrameRepr::parse`]).
    #[error("HCS 0x{stated:04X}, computed 0x{computed:04X}")]
    Hcs {
        /// The HCS sent.
        stated: u16,
        /// The HCS computed.
        computed: u16,
    },
    /// The frame check sequence does not match (from [`FrameRepr::parse`]).
    #[error("FCS 0x{stated:04X}, computed 0x{computed:04X}")]
    Fcs {
        /// The FCS sent.
        stated: u16,
        /// The FCS computed.
        computed: u16,
    },
}

/// What the first bytes of a frame say about it: its length and where its parts are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// L: bytes between the flags.
    pub frame_len: usize,
    /// The segmentation bit: more segments follow.
    pub segmented: bool,
    /// Destination address length.
    pub destination_len: usize,
    /// Source address length.
    pub source_len: usize,
}

mod field {
    /// From the opening flag: the two format bytes, then the destination address.
    pub const FORMAT: usize = 1;
    pub const DESTINATION: usize = 3;
}

impl Header {
    /// Reads the header from the first bytes of a frame (starting at the opening flag):
    /// `Ok(None)` if more bytes are needed. Checks the flag, the format type, the addresses and
    /// that L can hold the header; not the HCS.
    pub fn parse(prefix: &[u8]) -> Result<Option<Header>, Error> {
        match prefix.first() {
            None => return Ok(None),
            Some(&FLAG) => {}
            Some(&b) => return Err(Error::NoFlag(b)),
        }
        let Some(format) = prefix.get(field::FORMAT..field::FORMAT + 2) else {
            if let Some(&f) = prefix.get(field::FORMAT) {
                if f & 0xF0 != FORMAT_TYPE_3 {
                    return Err(Error::FormatType(f));
                }
            }
            return Ok(None);
        };
        if format[0] & 0xF0 != FORMAT_TYPE_3 {
            return Err(Error::FormatType(format[0]));
        }
        let frame_len = (usize::from(format[0] & 0x07) << 8) | usize::from(format[1]);
        let segmented = format[0] & SEGMENTATION != 0;
        let Some(destination_len) = address_len(prefix, field::DESTINATION, "destination")? else {
            return Ok(None);
        };
        let Some(source_len) = address_len(prefix, field::DESTINATION + destination_len, "source")?
        else {
            return Ok(None);
        };
        let header = Header {
            frame_len,
            segmented,
            destination_len,
            source_len,
        };
        // Without information: header and FCS. With: header, HCS, information, FCS.
        let bare = header.header_len() + 2;
        if frame_len != bare && frame_len < bare + 2 {
            return Err(Error::FrameLength(frame_len));
        }
        Ok(Some(header))
    }

    /// Format, addresses and control: what the HCS covers.
    pub fn header_len(&self) -> usize {
        2 + self.destination_len + self.source_len + 1
    }

    /// Whether the frame has an information field (and so an HCS).
    pub fn has_info(&self) -> bool {
        self.frame_len > self.header_len() + 2
    }

    /// The frame's length from the opening flag through the FCS (the closing flag excluded).
    pub fn len(&self) -> usize {
        1 + self.frame_len
    }

    /// Never true: a frame has at least its flag and header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// How many bytes from the opening flag the header check needs: through the HCS, or the
    /// whole frame when there is no information field.
    pub fn checked_header_len(&self) -> usize {
        if self.has_info() {
            1 + self.header_len() + 2
        } else {
            self.len()
        }
    }

    /// Checks the HCS (or, without information, the FCS) against `prefix`, which starts at the
    /// opening flag: `None` if `prefix` is too short to tell.
    pub fn header_ok(&self, prefix: &[u8]) -> Option<bool> {
        let end = self.checked_header_len();
        let covered = prefix.get(field::FORMAT..end - 2)?;
        let stated = prefix.get(end - 2..end)?;
        Some(crc16_x25(covered) == u16::from_le_bytes([stated[0], stated[1]]))
    }
}

/// The length of the address starting at `at`: `Ok(None)` if the prefix ends inside it.
fn address_len(prefix: &[u8], at: usize, which: &'static str) -> Result<Option<usize>, Error> {
    for n in 0..MAX_ADDRESS_LEN {
        match prefix.get(at + n) {
            None => return Ok(None),
            Some(b) if b & 1 == 1 => return Ok(Some(n + 1)),
            Some(_) => {}
        }
    }
    Err(Error::Address(which))
}

/// The value of an HDLC address: 7 bits per byte, most significant first.
pub fn address_value(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0u32, |acc, &b| (acc << 7) | u32::from(b >> 1))
}

/// A read-only view of one HDLC frame, from its opening flag through its FCS; a closing flag
/// and any bytes after it are allowed and ignored.
#[derive(Clone, Debug)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
    header: Header,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks the flag, the format, the addresses, L and that the buffer holds the frame. The
    /// check sequences are not checked ([`Frame::hcs_ok`], [`Frame::fcs_ok`]).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let bytes = buffer.as_ref();
        let got = bytes.len();
        let header = Header::parse(bytes)?.ok_or(Error::Truncated {
            needed: got + 1,
            got,
        })?;
        if got < header.len() {
            return Err(Error::Truncated {
                needed: header.len(),
                got,
            });
        }
        Ok(Frame { buffer, header })
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The segmentation bit: more segments of this push follow.
    pub fn segmented(&self) -> bool {
        self.header.segmented
    }

    /// Length from the opening flag through the FCS.
    pub fn len(&self) -> usize {
        self.header.len()
    }

    /// Never true.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The destination address bytes as sent.
    pub fn destination(&self) -> &[u8] {
        let at = field::DESTINATION;
        &self.buffer.as_ref()[at..at + self.header.destination_len]
    }

    /// The source address bytes as sent.
    pub fn source(&self) -> &[u8] {
        let at = field::DESTINATION + self.header.destination_len;
        &self.buffer.as_ref()[at..at + self.header.source_len]
    }

    /// The control byte (`13` UI with P/F, `03` UI, `10` I-frame on Kaifa).
    pub fn control(&self) -> u8 {
        self.buffer.as_ref()[self.header.header_len()]
    }

    /// The HCS as sent, when the frame has information.
    pub fn stated_hcs(&self) -> Option<u16> {
        let at = 1 + self.header.header_len();
        self.header
            .has_info()
            .then(|| u16::from_le_bytes([self.buffer.as_ref()[at], self.buffer.as_ref()[at + 1]]))
    }

    /// The HCS computed over format through control, when the frame has information.
    pub fn computed_hcs(&self) -> Option<u16> {
        self.header
            .has_info()
            .then(|| crc16_x25(&self.buffer.as_ref()[field::FORMAT..1 + self.header.header_len()]))
    }

    /// Whether the HCS matches (true without information).
    pub fn hcs_ok(&self) -> bool {
        self.stated_hcs() == self.computed_hcs()
    }

    /// The information field (empty without one).
    pub fn info(&self) -> &[u8] {
        if !self.header.has_info() {
            return &[];
        }
        &self.buffer.as_ref()[1 + self.header.header_len() + 2..self.len() - 2]
    }

    /// The FCS as sent.
    pub fn stated_fcs(&self) -> u16 {
        let b = self.buffer.as_ref();
        let at = self.len() - 2;
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    /// The FCS computed over format through information.
    pub fn computed_fcs(&self) -> u16 {
        crc16_x25(&self.buffer.as_ref()[field::FORMAT..self.len() - 2])
    }

    /// Whether the FCS matches.
    pub fn fcs_ok(&self) -> bool {
        self.stated_fcs() == self.computed_fcs()
    }

    /// Whether the buffer holds the closing flag after the FCS.
    pub fn has_closing_flag(&self) -> bool {
        self.buffer.as_ref().get(self.len()) == Some(&FLAG)
    }
}

/// The parsed value of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRepr {
    /// The segmentation bit.
    pub segmented: bool,
    /// Destination address bytes as sent.
    pub destination: Vec<u8>,
    /// Source address bytes as sent.
    pub source: Vec<u8>,
    /// Control byte.
    pub control: u8,
    /// Information field.
    pub info: Vec<u8>,
}

impl FrameRepr {
    /// Parses a checked frame, verifying HCS and FCS.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<FrameRepr, Error> {
        if let (Some(stated), Some(computed)) = (frame.stated_hcs(), frame.computed_hcs()) {
            if stated != computed {
                return Err(Error::Hcs { stated, computed });
            }
        }
        if !frame.fcs_ok() {
            return Err(Error::Fcs {
                stated: frame.stated_fcs(),
                computed: frame.computed_fcs(),
            });
        }
        Ok(FrameRepr {
            segmented: frame.segmented(),
            destination: frame.destination().to_vec(),
            source: frame.source().to_vec(),
            control: frame.control(),
            info: frame.info().to_vec(),
        })
    }

    /// The frame's length with both flags.
    pub fn buffer_len(&self) -> usize {
        let header = 2 + self.destination.len() + self.source.len() + 1;
        let body = if self.info.is_empty() {
            0
        } else {
            2 + self.info.len()
        };
        2 + header + body + 2
    }
}

/// Splits the LLC header (`E6 E7 00` or `E6 E6 00`) off an information field: whether it was
/// there, and the rest.
pub fn strip_llc(info: &[u8]) -> (bool, &[u8]) {
    match info.get(..3) {
        Some(llc) if llc == LLC_RESPONSE || llc == LLC_COMMAND => (true, &info[3..]),
        _ => (false, info),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    /// Kaifa MA304H3E list 1 (roarfred/AmsToMqttBridge Samples/Kaifa/readme.md, corpus
    /// `kaifa_ma304h3e_norway_list1_short`): I-frame, destination 01, source 02 01.
    static KAIFA: &str =
        "7EA027010201105A87E6E7000F40000000090C07E1090C0217122AFF80000002010600000528B80C7E";

    /// Frame 3 of 3 of an Iskra segmented push (esphome-libs/dlms_parser
    /// tests/dumps/hdlc_iskra550.log, corpus `iskra_hdlc_segmented_3frames_plain`).
    static ISKRA_LAST: &str = "7EA02DCF022313717C0801FF060000C5D702020F00161E020309060100020802FF060000338102020F00161E58C07E";

    #[test]
    fn test_parse() {
        let bytes = unhex(KAIFA);
        let frame = Frame::new_checked(&bytes[..]).expect("valid frame");
        assert_eq!(frame.len(), bytes.len() - 1);
        assert!(!frame.segmented());
        assert_eq!(frame.destination(), &[0x01]);
        assert_eq!(frame.source(), &[0x02, 0x01]);
        assert_eq!(address_value(frame.source()), 0x80);
        assert_eq!(frame.control(), 0x10);
        assert!(frame.hcs_ok() && frame.fcs_ok() && frame.has_closing_flag());
        let (llc, apdu) = strip_llc(frame.info());
        assert!(llc);
        assert_eq!(apdu[0], 0x0F);
        let repr = FrameRepr::parse(&frame).expect("checks pass");
        assert_eq!(repr.buffer_len(), bytes.len());
        let header = Header::parse(&bytes[..6])
            .expect("valid")
            .expect("complete");
        assert_eq!(header.header_ok(&bytes), Some(true));
        assert_eq!(header.header_ok(&bytes[..8]), None);
    }

    #[test]
    fn test_last_segment_without_llc() {
        let bytes = unhex(ISKRA_LAST);
        let frame = Frame::new_checked(&bytes[..]).expect("valid frame");
        assert_eq!(frame.destination(), &[0xCF]);
        assert_eq!(frame.source(), &[0x02, 0x23]);
        assert!(frame.hcs_ok() && frame.fcs_ok());
        assert!(!strip_llc(frame.info()).0);
    }

    #[test]
    fn test_check_sequences() {
        let mut bytes = unhex(KAIFA);
        bytes[6] ^= 0x01; // the HCS
        let frame = Frame::new_checked(&bytes[..]).expect("structure fine");
        assert!(!frame.hcs_ok());
        assert!(matches!(FrameRepr::parse(&frame), Err(Error::Hcs { .. })));
        let mut bytes = unhex(KAIFA);
        bytes[20] ^= 0x01; // information
        let frame = Frame::new_checked(&bytes[..]).expect("structure fine");
        assert!(frame.hcs_ok() && !frame.fcs_ok());
        assert!(matches!(FrameRepr::parse(&frame), Err(Error::Fcs { .. })));
    }

    #[test]
    fn test_impossible_len() {
        let bytes = unhex(KAIFA);
        for cut in 0..bytes.len() - 1 {
            assert!(
                matches!(
                    Frame::new_checked(&bytes[..cut]),
                    Err(Error::Truncated { .. })
                ),
                "cut at {cut}"
            );
        }
        // Without the closing flag the frame is complete.
        let frame = Frame::new_checked(&bytes[..bytes.len() - 1]).expect("no closing flag");
        assert!(!frame.has_closing_flag());
        assert_eq!(
            Header::parse(&[FLAG, 0x80]).err(),
            Some(Error::FormatType(0x80))
        );
        assert_eq!(
            Header::parse(&[FLAG, 0xA0, 0x20, 0x02, 0x04, 0x06, 0x08]).err(),
            Some(Error::Address("destination"))
        );
        // L = 6 cannot hold format, two addresses, control and FCS.
        assert_eq!(
            Header::parse(&[FLAG, 0xA0, 0x06, 0x03, 0x05, 0x13]).err(),
            Some(Error::FrameLength(6))
        );
        // Header and one byte: neither "no information" nor HCS + information.
        assert_eq!(
            Header::parse(&[FLAG, 0xA0, 0x08, 0x03, 0x05, 0x13]).err(),
            Some(Error::FrameLength(8))
        );
    }
}
