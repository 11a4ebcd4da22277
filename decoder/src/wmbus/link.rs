//! The wireless M-Bus data link layer (EN 13757-4:2019 clause 12, frame formats A and B, and the
//! CRC of annex/clause 12.6 — CRC-16/EN-13757).
//!
//! ```text
//! L C M(2) A(6 = ID(4, BCD LSB first) VER TYPE) CI …
//! format A: block 1 = L C M A (10 bytes) + CRC, then blocks of 16 bytes + CRC (the last shorter);
//!           L does not count the CRCs
//! format B: block 1 (10) + block 2 (CI + ≤ 115 bytes) + CRC over blocks 1 and 2, optional
//!           block 3 + CRC; L counts the CRCs
//! ```
//!
//! [`Frame`] is a zero-copy view of a frame **without** CRCs (as most receiver sticks deliver
//! it), checked once by [`Frame::new_checked`]; [`LinkRepr`] is its parsed link header.
//! [`strip_crcs`] checks every block CRC of a frame as sent on the air and returns the CRC-free
//! frame with L recomputed.

use super::{Error, ErrorKind};
use crate::crc::crc16_en13757;
use crate::mbus::header::manufacturer_code;

/// Bytes of the link header: L C M(2) A(6).
pub const HEADER_LEN: usize = 10;
/// Offset of the CI field (the first byte after the link header).
pub const CI_OFFSET: usize = 10;
/// Format A: bytes of the blocks after the first.
const BLOCK_LEN: usize = 16;
/// Format B: bytes (CRC included) up to the end of block 2 when a block 3 follows.
const FORMAT_B_BLOCK2_END: usize = 128;

/// The frame formats of EN 13757-4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameFormat {
    /// Format A (modes S, T, C): a CRC after the first 10 bytes and after every 16 bytes.
    A,
    /// Format B (mode C): one CRC at the end of block 2, one at the end of an optional block 3.
    B,
}

/// A read-only view of one link-layer frame without CRCs: `L C M A CI …`, L = bytes after L.
#[derive(Clone, Debug)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks that the buffer holds a link header and a CI and that L counts exactly the bytes
    /// after it.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN + 1 {
            return Err(Error::new(
                ErrorKind::Length,
                format!(
                    "{} bytes are no wireless M-Bus frame (L C M A CI take 11)",
                    b.len()
                ),
            ));
        }
        if usize::from(b[0]) + 1 != b.len() {
            return Err(Error::new(
                ErrorKind::Length,
                format!(
                    "the L field says {} bytes follow it, {} do",
                    b[0],
                    b.len() - 1
                ),
            ));
        }
        Ok(Frame { buffer })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The C field (`44` SND_NR, `46` SND_IR, `47` ACC_NR, `48` ACC_DMD…).
    pub fn control(&self) -> u8 {
        self.bytes()[1]
    }

    /// The M field (manufacturer, little-endian).
    pub fn manufacturer(&self) -> u16 {
        u16::from_le_bytes([self.bytes()[2], self.bytes()[3]])
    }

    /// The A field as sent: ID(4, LSB first), version, device type.
    pub fn address(&self) -> &[u8] {
        &self.bytes()[4..10]
    }

    /// The M and A fields as sent (8 bytes): the start of the mode 5 IV and the ELL counter.
    pub fn m_and_a(&self) -> &[u8] {
        &self.bytes()[2..10]
    }

    /// The CI field.
    pub fn ci(&self) -> u8 {
        self.bytes()[CI_OFFSET]
    }

    /// CI and everything after it.
    pub fn payload(&self) -> &[u8] {
        &self.bytes()[CI_OFFSET..]
    }
}

/// The identification number's 8 digits from its 4 bytes as sent (LSB first); a nibble that is
/// not BCD shows as a hex digit.
pub fn id_text(id: &[u8]) -> String {
    id.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// The parsed link header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRepr {
    /// C field.
    pub control: u8,
    /// M field.
    pub manufacturer: u16,
    /// Identification number, 8 digits.
    pub id: String,
    /// Version.
    pub version: u8,
    /// Device type (medium).
    pub device_type: u8,
}

impl LinkRepr {
    /// Parses the link header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> LinkRepr {
        let a = frame.address();
        LinkRepr {
            control: frame.control(),
            manufacturer: frame.manufacturer(),
            id: id_text(&a[..4]),
            version: a[4],
            device_type: a[5],
        }
    }

    /// The three letters of the manufacturer.
    pub fn manufacturer_code(&self) -> String {
        manufacturer_code(self.manufacturer)
    }
}

/// How many bytes a frame whose first byte is `l` takes on the air in `format`, CRCs included.
pub fn framed_len(l: u8, format: FrameFormat) -> usize {
    let l = usize::from(l);
    match format {
        FrameFormat::A => {
            let rest = l.saturating_sub(HEADER_LEN - 1);
            HEADER_LEN + 2 + rest + 2 * rest.div_ceil(BLOCK_LEN)
        }
        FrameFormat::B => l + 1,
    }
}

/// Whether the first block's CRC is right: the first 10 bytes followed by their CRC (format A).
pub fn first_block_ok(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN + 2 && crc_ok(&bytes[..HEADER_LEN], &bytes[HEADER_LEN..])
}

/// Whether the format B CRC of block 2 (covering blocks 1 and 2) is right.
pub fn format_b_ok(bytes: &[u8]) -> bool {
    let Some(&l) = bytes.first() else {
        return false;
    };
    let end = (usize::from(l) + 1).min(FORMAT_B_BLOCK2_END);
    end >= HEADER_LEN + 3 && bytes.len() >= end && crc_ok(&bytes[..end - 2], &bytes[end - 2..])
}

fn crc_ok(block: &[u8], crc: &[u8]) -> bool {
    crc.len() >= 2 && crc16_en13757(block) == u16::from_be_bytes([crc[0], crc[1]])
}

/// Checks every block CRC of the frame at the start of `bytes` (as sent, in `format`) and
/// returns the frame without CRCs, L recomputed, and the number of bytes it took.
pub fn strip_crcs(bytes: &[u8], format: FrameFormat) -> Result<(Vec<u8>, usize), Error> {
    let Some(&l) = bytes.first() else {
        return Err(Error::new(ErrorKind::Truncated, "no bytes"));
    };
    let total = framed_len(l, format);
    let min = match format {
        FrameFormat::A => HEADER_LEN + 2 + 3,
        FrameFormat::B => HEADER_LEN + 3,
    };
    if total < min {
        return Err(Error::new(
            ErrorKind::Length,
            format!("L = {l} is too small for a frame with a CI field (format {format:?})"),
        ));
    }
    let frame = bytes.get(..total).ok_or_else(|| {
        Error::new(
            ErrorKind::Truncated,
            format!(
                "L = {l} gives a {total}-byte frame (format {format:?}, CRCs included); {} bytes \
                 were received",
                bytes.len()
            ),
        )
    })?;
    let mut out = Vec::with_capacity(total);
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    match format {
        FrameFormat::A => {
            blocks.push((0, HEADER_LEN));
            let mut at = HEADER_LEN + 2;
            while at < total {
                let n = (total - at - 2).min(BLOCK_LEN);
                blocks.push((at, n));
                at += n + 2;
            }
        }
        FrameFormat::B => {
            if total <= FORMAT_B_BLOCK2_END {
                blocks.push((0, total - 2));
            } else {
                blocks.push((0, FORMAT_B_BLOCK2_END - 2));
                if total < FORMAT_B_BLOCK2_END + 3 {
                    return Err(Error::new(
                        ErrorKind::Length,
                        format!("L = {l}: format B block 3 holds no data byte"),
                    ));
                }
                blocks.push((FORMAT_B_BLOCK2_END, total - FORMAT_B_BLOCK2_END - 2));
            }
        }
    }
    for (n, &(at, len)) in blocks.iter().enumerate() {
        let block = &frame[at..at + len];
        let stated = u16::from_be_bytes([frame[at + len], frame[at + len + 1]]);
        let computed = crc16_en13757(block);
        if stated != computed {
            return Err(Error::new(
                ErrorKind::CrcMismatch,
                format!(
                    "block {} CRC is 0x{stated:04X}, computed 0x{computed:04X} (format {format:?})",
                    n + 1
                ),
            ));
        }
        out.extend_from_slice(block);
    }
    out[0] = (out.len() - 1) as u8;
    Ok((out, total))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn format_a_crcs_are_checked_and_removed() {
        // The CUL line of wmbus.md §3.3 (iPerl, wmbusmeters tests/test_nc1.sh).
        let on_air = unhex("1844AE4C4455223368075F787A55000000041389E20100023B0000D0C6");
        assert!(first_block_ok(&on_air));
        assert_eq!(framed_len(0x18, FrameFormat::A), on_air.len());
        let (plain, used) = strip_crcs(&on_air, FrameFormat::A).expect("CRCs right");
        assert_eq!(used, on_air.len());
        assert_eq!(
            plain,
            unhex("1844AE4C4455223368077A55000000041389E20100023B0000")
        );
        let f = Frame::new_checked(&plain).expect("frame");
        let link = LinkRepr::parse(&f);
        assert_eq!(
            (
                link.id.as_str(),
                link.manufacturer_code().as_str(),
                link.version,
                link.device_type
            ),
            ("33225544", "SEN", 0x68, 0x07)
        );
        let mut bad = on_air.clone();
        bad[15] ^= 1;
        assert_eq!(
            strip_crcs(&bad, FrameFormat::A)
                .expect_err("bad CRC")
                .kind
                .name(),
            "crc_mismatch"
        );
        assert_eq!(
            strip_crcs(&on_air[..20], FrameFormat::A)
                .expect_err("cut")
                .kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn frame_length_is_checked() {
        assert!(Frame::new_checked(&unhex("0A44AE4C445522336807")).is_err());
        assert!(Frame::new_checked(&unhex("0B44AE4C44552233680778")).is_err());
        assert!(Frame::new_checked(&unhex("0A44AE4C4455223368077A")).is_ok());
    }
}
