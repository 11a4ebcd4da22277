//! The wireless M-Bus data link layer (EN 13757-4 §5/§9, as quoted in `wmbus.md` §1): the
//! `L C M A` header and frame formats A and B with their block CRCs (CRC-16/EN-13757).
//!
//! - Format A: block 1 = `L C M(2) A(6)` + CRC; then blocks of 16 bytes (the last may be
//!   shorter), each followed by its CRC. L counts the bytes after L *without* the CRCs.
//! - Format B (C mode only): block 1 (10 bytes) has no CRC of its own; block 2 = CI and at most
//!   115 more bytes, then one CRC over blocks 1 and 2; an optional block 3 carries the rest and
//!   its own CRC. L counts the bytes after L *with* the CRCs.
//!
//! [`FrameRepr`] emits a frame as it goes on the air (with CRCs) or as the dongles that remove the
//! CRCs deliver it ([`FrameRepr::emit_without_crc`]); [`strip_crcs`] is a receiver's CRC check.

use thiserror::Error;

use crate::crc::CRC_EN13757;
use crate::mbus::SecondaryAddress;

/// C field `SND_NR`: periodic meter data, no reply expected.
pub const C_SND_NR: u8 = 0x44;
/// C field `SND_IR`: installation request.
pub const C_SND_IR: u8 = 0x46;
/// C field `ACC_NR`: access demand, no reply.
pub const C_ACC_NR: u8 = 0x47;
/// C field `ACC_DMD`: access demand.
pub const C_ACC_DMD: u8 = 0x48;
/// Bytes of block 1 (`L C M A`).
pub const BLOCK1_LEN: usize = 10;
/// Data bytes of a format A block after block 1.
pub const BLOCK_A_LEN: usize = 16;
/// Data bytes of format B block 2 (CI + 115).
pub const BLOCK2_B_LEN: usize = 116;

/// A frame that cannot be built or received.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum LinkError {
    /// More bytes than L can count.
    #[error("{len} bytes after the link header do not fit a format {format:?} frame")]
    TooLong {
        /// Bytes after `L C M A`.
        len: usize,
        /// The frame format.
        format: FrameFormat,
    },
    /// A block CRC did not match.
    #[error("block {block} CRC failed")]
    Crc {
        /// 1-based block number.
        block: usize,
    },
    /// Fewer bytes than L announces, or an impossible L.
    #[error("L field {l} does not match {len} received bytes")]
    Length {
        /// The L field.
        l: u8,
        /// Bytes received.
        len: usize,
    },
}

/// The two frame formats of EN 13757-4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FrameFormat {
    /// Format A: a CRC after block 1 and after every 16 bytes (S, T and C modes).
    A,
    /// Format B: one CRC over blocks 1 and 2, one over block 3 (C mode only).
    B,
}

/// The link header after L: `C M(2) ID(4) VER TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkRepr {
    /// C field (`0x44` SND_NR for periodic data).
    pub control: u8,
    /// Manufacturer, identification number, version and device type.
    pub address: SecondaryAddress,
}

impl LinkRepr {
    /// Bytes of `C M A`.
    pub const LEN: usize = 9;

    /// `M(2) ‖ A(6)` as sent: the first half of a mode 5 IV or an ELL counter block.
    pub fn m_a(&self) -> [u8; 8] {
        address_m_a(&self.address)
    }

    /// Appends `C M A`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.control);
        out.extend_from_slice(&self.m_a());
    }
}

/// `M(2) ‖ ID(4) ‖ VER ‖ TYPE` of an address in link-layer order.
pub fn address_m_a(address: &SecondaryAddress) -> [u8; 8] {
    // SecondaryAddress::bytes is ID(4) M(2) VER TYPE (the wired order).
    let b = address.bytes();
    [b[4], b[5], b[0], b[1], b[2], b[3], b[6], b[7]]
}

/// A whole frame: link header and the bytes from the first CI on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRepr<'a> {
    /// Format A or B.
    pub format: FrameFormat,
    /// `C M A`.
    pub link: LinkRepr,
    /// The bytes after the link header (CI …), without CRCs.
    pub payload: &'a [u8],
}

impl<'a> FrameRepr<'a> {
    /// A frame, if its payload fits the format.
    pub fn new(format: FrameFormat, link: LinkRepr, payload: &'a [u8]) -> Result<Self, LinkError> {
        let frame = FrameRepr {
            format,
            link,
            payload,
        };
        if frame.l_field_value() > 255 {
            return Err(LinkError::TooLong {
                len: payload.len(),
                format,
            });
        }
        Ok(frame)
    }

    /// The CRC bytes the frame carries on the air.
    fn crc_bytes(&self) -> usize {
        let n = self.payload.len();
        match self.format {
            FrameFormat::A => 2 + 2 * n.div_ceil(BLOCK_A_LEN),
            FrameFormat::B if n <= BLOCK2_B_LEN => 2,
            FrameFormat::B => 4,
        }
    }

    fn l_field_value(&self) -> usize {
        let bare = LinkRepr::LEN + self.payload.len();
        match self.format {
            FrameFormat::A => bare,
            FrameFormat::B => bare + self.crc_bytes(),
        }
    }

    /// The L field on the air (format B counts the CRCs).
    pub fn l_field(&self) -> u8 {
        u8::try_from(self.l_field_value()).unwrap_or(u8::MAX)
    }

    /// Bytes on the air.
    pub fn buffer_len(&self) -> usize {
        1 + LinkRepr::LEN + self.payload.len() + self.crc_bytes()
    }

    /// Appends the frame as it goes on the air, block CRCs included (MSB first).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(self.l_field());
        self.link.emit(out);
        let crc = |out: &mut Vec<u8>, from: usize| {
            let c = CRC_EN13757.checksum(&out[from..]);
            out.extend_from_slice(&c.to_be_bytes());
        };
        match self.format {
            FrameFormat::A => {
                crc(out, start);
                for block in self.payload.chunks(BLOCK_A_LEN) {
                    let from = out.len();
                    out.extend_from_slice(block);
                    crc(out, from);
                }
            }
            FrameFormat::B => {
                let split = self.payload.len().min(BLOCK2_B_LEN);
                out.extend_from_slice(&self.payload[..split]);
                crc(out, start);
                if split < self.payload.len() {
                    let from = out.len();
                    out.extend_from_slice(&self.payload[split..]);
                    crc(out, from);
                }
            }
        }
    }

    /// Appends the frame as a dongle that removes the CRCs delivers it: L = the bytes after L.
    pub fn emit_without_crc(&self, out: &mut Vec<u8>) {
        out.push(u8::try_from(LinkRepr::LEN + self.payload.len()).unwrap_or(u8::MAX));
        self.link.emit(out);
        out.extend_from_slice(self.payload);
    }
}

/// A receiver's CRC check: the frame without its CRCs, L rewritten to the byte count (what the
/// iM871A, AMB8465 and rtl_wmbus hand to the host), or the first failed block.
pub fn strip_crcs(format: FrameFormat, on_air: &[u8]) -> Result<Vec<u8>, LinkError> {
    let Some(&l) = on_air.first() else {
        return Err(LinkError::Length { l: 0, len: 0 });
    };
    let total = usize::from(l) + 1;
    let length_error = LinkError::Length {
        l,
        len: on_air.len(),
    };
    let check = |block: usize, data: &[u8], crc: &[u8]| {
        if crc.len() == 2 && CRC_EN13757.checksum(data).to_be_bytes() == crc {
            Ok(())
        } else {
            Err(LinkError::Crc { block })
        }
    };
    let mut out = Vec::with_capacity(total);
    match format {
        FrameFormat::A => {
            if on_air.len() < BLOCK1_LEN + 2 || usize::from(l) < LinkRepr::LEN {
                return Err(length_error);
            }
            let data_len = usize::from(l).saturating_sub(LinkRepr::LEN);
            let wire_len = BLOCK1_LEN + 2 + data_len + 2 * data_len.div_ceil(BLOCK_A_LEN);
            if on_air.len() < wire_len {
                return Err(length_error);
            }
            check(
                1,
                &on_air[..BLOCK1_LEN],
                &on_air[BLOCK1_LEN..BLOCK1_LEN + 2],
            )?;
            out.extend_from_slice(&on_air[..BLOCK1_LEN]);
            let mut at = BLOCK1_LEN + 2;
            let mut left = data_len;
            let mut block = 2;
            while left > 0 {
                let n = left.min(BLOCK_A_LEN);
                check(block, &on_air[at..at + n], &on_air[at + n..at + n + 2])?;
                out.extend_from_slice(&on_air[at..at + n]);
                at += n + 2;
                left -= n;
                block += 1;
            }
        }
        FrameFormat::B => {
            if on_air.len() < total || total < BLOCK1_LEN + 3 {
                return Err(length_error);
            }
            let frame = &on_air[..total];
            if total <= BLOCK1_LEN + BLOCK2_B_LEN + 2 {
                check(2, &frame[..total - 2], &frame[total - 2..])?;
                out.extend_from_slice(&frame[..total - 2]);
            } else {
                let end2 = BLOCK1_LEN + BLOCK2_B_LEN;
                check(2, &frame[..end2], &frame[end2..end2 + 2])?;
                if total < end2 + 2 + 3 {
                    return Err(length_error);
                }
                check(3, &frame[end2 + 2..total - 2], &frame[total - 2..])?;
                out.extend_from_slice(&frame[..end2]);
                out.extend_from_slice(&frame[end2 + 2..total - 2]);
            }
        }
    }
    out[0] = u8::try_from(out.len() - 1).unwrap_or(u8::MAX);
    Ok(out)
}

/// The data bytes of a frame whose CRCs failed, CRC positions removed without checking (what
/// a receiver that reports CRC failures prints); as many blocks as there are bytes.
pub fn remove_crcs_unchecked(format: FrameFormat, on_air: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(on_air.len());
    let mut push_block = |data: &[u8]| out.extend_from_slice(data);
    let first = on_air.len().min(BLOCK1_LEN);
    match format {
        FrameFormat::A => {
            push_block(&on_air[..first]);
            let mut at = BLOCK1_LEN + 2;
            while at < on_air.len() {
                let end = (at + BLOCK_A_LEN).min(on_air.len());
                push_block(&on_air[at..end]);
                at = end + 2;
            }
        }
        FrameFormat::B => {
            let end2 = on_air.len().min(BLOCK1_LEN + BLOCK2_B_LEN);
            if on_air.len() < BLOCK1_LEN + BLOCK2_B_LEN + 4 {
                push_block(&on_air[..on_air.len().saturating_sub(2).max(first)]);
            } else {
                push_block(&on_air[..end2]);
                push_block(&on_air[end2 + 2..on_air.len() - 2]);
            }
        }
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wmbus::test_vectors::{hex, SENSOSTAR_B};

    fn link_of(bytes: &[u8]) -> LinkRepr {
        // Test helper over known-good corpus bytes.
        let m = u16::from_le_bytes([bytes[2], bytes[3]]);
        let id_bcd = [bytes[4], bytes[5], bytes[6], bytes[7]];
        let id = id_bcd.iter().rev().fold(0u32, |acc, b| {
            acc * 100 + u32::from(b >> 4) * 10 + u32::from(b & 0xF)
        });
        LinkRepr {
            control: bytes[1],
            address: SecondaryAddress {
                id,
                manufacturer: m,
                version: bytes[8],
                medium: bytes[9],
            },
        }
    }

    /// The SensoStar C1 frame of wmbusmeters `tests/test_frame_b_trim.sh` (corpus
    /// `wireless/wmbusmeters/frame_b_trim-sensostar-mode7.yaml`): format B, two CRCs, rebuilt byte
    /// for byte from its CRC-free content.
    #[test]
    fn test_format_b_rebuilds_the_sensostar_frame() {
        let air = hex(SENSOSTAR_B);
        let bare = strip_crcs(FrameFormat::B, &air).expect("CRCs of the real frame");
        assert_eq!(bare[0], 0xBE);
        assert_eq!(bare.len(), 191);
        let frame = FrameRepr::new(FrameFormat::B, link_of(&bare), &bare[10..]).expect("fits");
        let mut out = Vec::new();
        frame.emit(&mut out);
        assert_eq!(out, air);
        assert_eq!(frame.buffer_len(), air.len());
        let mut plain = Vec::new();
        frame.emit_without_crc(&mut plain);
        assert_eq!(plain, bare);
        assert_eq!(remove_crcs_unchecked(FrameFormat::B, &air)[1..], bare[1..]);
    }

    #[test]
    fn test_format_a_round_trip_and_crc_failure() {
        // wmbus.md example 1 (Sensus iPerl, T1, CRC-free) in format A.
        let bare = hex("1844AE4C4455223368077A55000000041389E20100023B0000");
        let frame = FrameRepr::new(FrameFormat::A, link_of(&bare), &bare[10..]).expect("fits");
        let mut air = Vec::new();
        frame.emit(&mut air);
        // 10 + 2, then 15 bytes + 2.
        assert_eq!(air.len(), 10 + 2 + 15 + 2);
        // The CUL line of wmbus.md §3.3 carries exactly these bytes.
        assert_eq!(
            air,
            hex("1844AE4C4455223368075F787A55000000041389E20100023B0000D0C6")
        );
        assert_eq!(strip_crcs(FrameFormat::A, &air), Ok(bare.clone()));
        let mut bad = air.clone();
        bad[14] ^= 0x01;
        assert_eq!(
            strip_crcs(FrameFormat::A, &bad),
            Err(LinkError::Crc { block: 2 })
        );
        assert!(matches!(
            strip_crcs(FrameFormat::A, &air[..20]),
            Err(LinkError::Length { .. })
        ));
        assert!(strip_crcs(FrameFormat::B, &[]).is_err());
        assert_eq!(
            remove_crcs_unchecked(FrameFormat::A, &bad)[..12],
            bare[..12]
        );
        assert_eq!(
            remove_crcs_unchecked(FrameFormat::A, &air[..20]),
            bare[..18]
        );
        assert_eq!(remove_crcs_unchecked(FrameFormat::A, &[]), Vec::<u8>::new());
    }

    #[test]
    fn test_no_length_makes_a_receiver_panic() {
        let mut air = Vec::new();
        let payload: Vec<u8> = (0..200u8).collect();
        FrameRepr::new(FrameFormat::B, link_of(&hex(SENSOSTAR_B)), &payload)
            .expect("fits")
            .emit(&mut air);
        for format in [FrameFormat::A, FrameFormat::B] {
            for len in 0..air.len() {
                let cut = &air[..len];
                assert!(strip_crcs(format, cut).is_err() || len == air.len());
                assert!(remove_crcs_unchecked(format, cut).len() <= len);
                let mut wrong_l = cut.to_vec();
                if let Some(l) = wrong_l.first_mut() {
                    *l = (len as u8).wrapping_mul(7);
                }
                let _ = strip_crcs(format, &wrong_l);
            }
        }
    }

    #[test]
    fn test_too_long_is_an_error() {
        let link = LinkRepr {
            control: C_SND_NR,
            address: SecondaryAddress {
                id: 1,
                manufacturer: 0x2C2D,
                version: 1,
                medium: 7,
            },
        };
        let payload = vec![0u8; 247];
        assert!(FrameRepr::new(FrameFormat::A, link, &payload).is_err());
        assert!(FrameRepr::new(FrameFormat::A, link, &payload[..246]).is_ok());
        assert!(FrameRepr::new(FrameFormat::B, link, &payload[..243]).is_err());
        assert!(FrameRepr::new(FrameFormat::B, link, &payload[..242]).is_ok());
    }
}
