//! HDLC frames as DLMS/COSEM meters push them (IEC 62056-46 / ISO 13239 frame format type 3).
//!
//! `7E | format (2) | destination | source | control | HCS (2) | information | FCS (2) | 7E`.
//! The format field is `1010 S LLL LLLLLLLL`: type 3, the segmentation bit S (more segments of
//! this information follow) and an 11-bit length counting every byte between the flags.
//! Addresses are 1, 2 or 4 bytes of 7 bits each, the last byte's low bit set. HCS covers format
//! through control, FCS format through the end of the information; both are CRC-16/X.25
//! ([`crate::crc::CRC_X25`]), sent low byte first. A frame without information has no HCS.
//! HAN meters send no byte stuffing: a `7E` may appear inside, readers frame by the length.
//! [`HdlcFrameRepr`] is the emit half of the decoder's frame of the same name.

use crate::crc::CRC_X25;

/// The flag that opens and closes a frame.
pub const FLAG: u8 = 0x7E;
/// The LLC header that starts the information of a push's first frame (destination LSAP `E6`,
/// source LSAP `E7` = response, quality `00`).
pub const LLC: [u8; 3] = [0xE6, 0xE7, 0x00];
/// Control field: UI frame with the poll/final bit (Aidon, Kamstrup, L+G, Iskra).
pub const CONTROL_UI: u8 = 0x13;
/// Control field of an I-frame with N(S) = N(R) = 0 and P/F set (Kaifa's Nordic push).
pub const CONTROL_I: u8 = 0x10;
/// The poll/final bit of the control field; a meter clears it in all but the last segment.
pub const CONTROL_PF: u8 = 0x10;
/// The largest value of the 11-bit length field.
pub const MAX_FRAME_LEN: usize = 0x7FF;

/// An HDLC address as it goes on the line (1, 2 or 4 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HdlcAddress {
    bytes: [u8; 4],
    len: usize,
}

impl HdlcAddress {
    /// A one-byte address (7 bits, e.g. client 0x20 → `41`).
    pub const fn one(addr: u8) -> Self {
        HdlcAddress {
            bytes: [(addr << 1) | 1, 0, 0, 0],
            len: 1,
        }
    }

    /// A two-byte server address: upper (logical device) and lower (physical) 7 bits each,
    /// e.g. upper 0x67, lower 0x7F → `CE FF`.
    pub const fn two(upper: u8, lower: u8) -> Self {
        HdlcAddress {
            bytes: [upper << 1, (lower << 1) | 1, 0, 0],
            len: 2,
        }
    }

    /// A four-byte server address: upper and lower 14 bits each.
    pub const fn four(upper: u16, lower: u16) -> Self {
        HdlcAddress {
            bytes: [
                ((upper >> 7) as u8 & 0x7F) << 1,
                (upper as u8 & 0x7F) << 1,
                ((lower >> 7) as u8 & 0x7F) << 1,
                ((lower as u8 & 0x7F) << 1) | 1,
            ],
            len: 4,
        }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// One HDLC frame before emission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HdlcFrameRepr<'a> {
    /// The S bit: more segments follow.
    pub segmented: bool,
    /// Destination address (the client, for a push).
    pub destination: HdlcAddress,
    /// Source address (the meter).
    pub source: HdlcAddress,
    /// Control field.
    pub control: u8,
    /// Information field (LLC header included where the frame has one).
    pub info: &'a [u8],
}

impl HdlcFrameRepr<'_> {
    /// The value of the 11-bit length field: bytes between the flags.
    pub fn frame_len(&self) -> usize {
        let header = 2 + self.destination.len + self.source.len + 1;
        if self.info.is_empty() {
            header + 2
        } else {
            header + 2 + self.info.len() + 2
        }
    }

    /// Bytes the frame takes on the line, both flags included.
    pub fn buffer_len(&self) -> usize {
        self.frame_len() + 2
    }

    /// Appends the frame from flag to flag to `out`. The length must fit 11 bits ([`MAX_FRAME_LEN`]); longer
    /// information must be segmented by the caller.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let len = self.frame_len();
        debug_assert!(len <= MAX_FRAME_LEN, "HDLC frame of {len} bytes");
        let format = 0xA000 | if self.segmented { 0x0800 } else { 0 } | (len as u16 & 0x07FF);
        out.reserve(self.buffer_len());
        out.push(FLAG);
        out.extend_from_slice(&format.to_be_bytes());
        out.extend_from_slice(self.destination.as_bytes());
        out.extend_from_slice(self.source.as_bytes());
        out.push(self.control);
        if !self.info.is_empty() {
            let hcs = CRC_X25.checksum(&out[start + 1..]);
            out.extend_from_slice(&hcs.to_le_bytes());
            out.extend_from_slice(self.info);
        }
        let fcs = CRC_X25.checksum(&out[start + 1..]);
        out.extend_from_slice(&fcs.to_le_bytes());
        out.push(FLAG);
    }
}

/// Splits an information field into HDLC segments of at most `max_info` bytes (IEC 62056-46
/// §6.4.4.4.3.3): every segment but the last has the S bit set and the poll/final bit cleared,
/// as the Iskra push in the corpus shows (`A8 … 03`, `A8 … 03`, `A0 … 13`).
pub fn segment<'a>(
    destination: HdlcAddress,
    source: HdlcAddress,
    control: u8,
    info: &'a [u8],
    max_info: usize,
) -> Vec<HdlcFrameRepr<'a>> {
    let max_info = max_info.max(1);
    let n = info.len().div_ceil(max_info).max(1);
    (0..n)
        .map(|k| {
            let last = k + 1 == n;
            let end = ((k + 1) * max_info).min(info.len());
            HdlcFrameRepr {
                segmented: !last,
                destination,
                source,
                control: if last { control } else { control & !CONTROL_PF },
                info: &info[k * max_info..end],
            }
        })
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;

    /// What a frame emits into an empty buffer.
    fn emitted(frame: &HdlcFrameRepr<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        frame.emit(&mut out);
        out
    }

    /// The Kaifa MA304H3E list-1 frame (roarfred/AmsToMqttBridge Samples/Kaifa/readme.md).
    static KAIFA_LIST1_FRAME: [u8; 41] = [
        0x7E, 0xA0, 0x27, 0x01, 0x02, 0x01, 0x10, 0x5A, 0x87, 0xE6, 0xE7, 0x00, 0x0F, 0x40, 0x00,
        0x00, 0x00, 0x09, 0x0C, 0x07, 0xE1, 0x09, 0x0C, 0x02, 0x17, 0x12, 0x2A, 0xFF, 0x80, 0x00,
        0x00, 0x02, 0x01, 0x06, 0x00, 0x00, 0x05, 0x28, 0xB8, 0x0C, 0x7E,
    ];

    /// The third frame of the Iskra segmented push (esphome-libs/dlms_parser
    /// tests/dumps/hdlc_iskra550.log): `7E A02D CF 0223 13 717C …`.
    static ISKRA_LAST_FRAME_HEAD: [u8; 9] = [0x7E, 0xA0, 0x2D, 0xCF, 0x02, 0x23, 0x13, 0x71, 0x7C];

    #[test]
    fn test_emit_kaifa() {
        let frame = HdlcFrameRepr {
            segmented: false,
            destination: HdlcAddress::one(0),
            source: HdlcAddress::two(1, 0),
            control: CONTROL_I,
            info: &KAIFA_LIST1_FRAME[9..38],
        };
        assert_eq!(frame.buffer_len(), KAIFA_LIST1_FRAME.len());
        assert_eq!(emitted(&frame), KAIFA_LIST1_FRAME);
    }

    #[test]
    fn test_addresses() {
        assert_eq!(HdlcAddress::one(0x20).as_bytes(), [0x41]);
        assert_eq!(HdlcAddress::one(0x67).as_bytes(), [0xCF]);
        assert_eq!(HdlcAddress::two(0x67, 0x7F).as_bytes(), [0xCE, 0xFF]);
        assert_eq!(HdlcAddress::two(0x04, 0x41).as_bytes(), [0x08, 0x83]);
        assert_eq!(HdlcAddress::two(0x01, 0x11).as_bytes(), [0x02, 0x23]);
        assert_eq!(
            HdlcAddress::four(1, 0x11).as_bytes(),
            [0x00, 0x02, 0x00, 0x23]
        );
    }

    #[test]
    fn test_segment_bits() {
        let info = [0x55u8; 300];
        let frames = segment(
            HdlcAddress::one(0x67),
            HdlcAddress::two(1, 0x11),
            CONTROL_UI,
            &info,
            128,
        );
        assert_eq!(frames.len(), 3);
        let bytes: Vec<Vec<u8>> = frames.iter().map(emitted).collect();
        assert_eq!(&bytes[0][..7], &[0x7E, 0xA8, 0x8A, 0xCF, 0x02, 0x23, 0x03]);
        assert_eq!(&bytes[1][..3], &[0x7E, 0xA8, 0x8A]);
        assert_eq!(frames[2].info.len(), 44);
        assert_eq!(bytes[2][6], 0x13);
        // The final frame's header and HCS are the Iskra capture's (same length, addresses).
        let last = HdlcFrameRepr {
            segmented: false,
            destination: HdlcAddress::one(0x67),
            source: HdlcAddress::two(1, 0x11),
            control: CONTROL_UI,
            info: &[0u8; 0x2D - 10],
        };
        assert_eq!(&emitted(&last)[..9], &ISKRA_LAST_FRAME_HEAD);
    }

    #[test]
    fn test_no_info_no_hcs() {
        let frame = HdlcFrameRepr {
            segmented: false,
            destination: HdlcAddress::one(0x10),
            source: HdlcAddress::one(0x01),
            control: 0x93,
            info: &[],
        };
        let bytes = emitted(&frame);
        assert_eq!(bytes.len(), 9);
        assert_eq!(&bytes[..3], &[0x7E, 0xA0, 0x07]);
        assert_eq!(
            u16::from_le_bytes([bytes[6], bytes[7]]),
            CRC_X25.checksum(&bytes[1..6])
        );
    }
}
