//! EN 13757-2 §5 frame formats: the long frame and the single character.
//!
//! `68 L L 68 C A CI <data> CS 16`: L counts C, A, CI and the data (3…255); CS is the arithmetic
//! sum of C through the last data byte, modulo 256. [`LongFrameRepr`] is the emit half of the
//! decoder's frame of the same name.

/// Start byte of a long (or control) frame.
pub const START_LONG: u8 = 0x68;
/// Stop byte of every framed message.
pub const STOP: u8 = 0x16;
/// The single-character acknowledgement.
pub const ACK: u8 = 0xE5;
/// Control field SND_UD (send user data, master to slave; also the Austrian P1 push).
pub const CONTROL_SND_UD: u8 = 0x53;
/// Control field RSP_UD (respond user data, slave to master).
pub const CONTROL_RSP_UD: u8 = 0x08;

/// A long frame before emission.
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

impl LongFrameRepr<'_> {
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

    /// The frame, start to stop byte.
    pub fn emit(&self) -> Vec<u8> {
        let l = (self.length() & 0xFF) as u8;
        let mut out = Vec::with_capacity(self.buffer_len());
        out.extend_from_slice(&[START_LONG, l, l, START_LONG]);
        out.extend_from_slice(&[self.control, self.address, self.ci]);
        out.extend_from_slice(self.data);
        out.push(self.checksum());
        out.push(STOP);
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The second frame of the Netz NÖ customer-interface example (EVN Kaifa MA309): the last
    /// 15 APDU bytes after `01 67` (STSAP, DTSAP). Source: Netz NÖ brochure, also
    /// esphome-libs/dlms_parser tests/dumps/mbus_netz_noe_p1.log.
    static EVN_FRAME_2: [u8; 26] = [
        0x68, 0x14, 0x14, 0x68, 0x53, 0xFF, 0x11, 0x01, 0x67, 0x41, 0x9A, 0x3C, 0xFD, 0xA4, 0x4B,
        0xE4, 0x38, 0xC9, 0x6F, 0x0E, 0x38, 0xBF, 0x83, 0xD9, 0x83, 0x16,
    ];

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
        assert_eq!(frame.emit(), EVN_FRAME_2);
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
        let bytes = frame.emit();
        assert_eq!(&bytes[..4], &[0x68, 0x01, 0x01, 0x68]);
        assert_eq!(bytes.len(), 263);
        assert_eq!(bytes[261], 0x53u8.wrapping_add(0xFF));
    }
}
