//! General Block Transfer (DLMS UA 1000-2 "Green Book", the general block transfer mechanism
//! and the general-block-transfer APDU): how an L+G E450 pushes a data-notification longer than
//! one HDLC frame, one block per UI frame.
//!
//! ```text
//! E0 | block-control | block-number (u16) | block-number-ack (u16) | block-data (A-XDR length + bytes)
//! ```
//!
//! block-control: bit 7 last block, bit 6 streaming, bits 5-0 window size. Blocks are numbered
//! from 1; the concatenated block data is the APDU (general-glo-ciphering or data-notification).
//! Reassembly is [`super::transport::Assembler`]'s job, with the block number as the piece
//! number.

use super::axdr;

/// The APDU tag of general-block-transfer.
pub const GENERAL_BLOCK_TRANSFER: u8 = 0xE0;
/// Bit 7 of block-control.
const LAST_BLOCK: u8 = 0x80;
/// Bit 6 of block-control.
const STREAMING: u8 = 0x40;

/// Why bytes are not a general-block-transfer APDU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The first byte is not 0xE0.
    #[error("APDU tag 0x{0:02X} is not general-block-transfer (0xE0)")]
    NotGbt(u8),
    /// The bytes end before the block does.
    #[error("block cut off: {got} bytes, at least {needed} needed")]
    Incomplete {
        /// The least number of bytes the block needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The block-data length is not a definite A-XDR length.
    #[error("block-data length byte 0x{0:02X} is not a definite A-XDR length")]
    LengthForm(u8),
}

/// One block, borrowing its data from the APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRepr<'a> {
    /// block-control.
    pub control: u8,
    /// block-number, from 1.
    pub number: u16,
    /// block-number-ack.
    pub ack: u16,
    /// block-data.
    pub data: &'a [u8],
}

mod field {
    pub const CONTROL: usize = 1;
    pub const NUMBER: usize = 2;
    pub const ACK: usize = 4;
    pub const LENGTH: usize = 6;
}

impl<'a> BlockRepr<'a> {
    /// Parses a block at the start of `bytes`; returns it and the number of bytes it uses.
    pub fn parse(bytes: &'a [u8]) -> Result<(BlockRepr<'a>, usize), Error> {
        match bytes.first() {
            None => return Err(Error::Incomplete { needed: 1, got: 0 }),
            Some(&GENERAL_BLOCK_TRANSFER) => {}
            Some(&tag) => return Err(Error::NotGbt(tag)),
        }
        let header = bytes.get(..field::LENGTH).ok_or(Error::Incomplete {
            needed: field::LENGTH + 1,
            got: bytes.len(),
        })?;
        let (len, at) = axdr::read_length(bytes, field::LENGTH).map_err(|e| match e {
            axdr::Error::Incomplete { needed, got } => Error::Incomplete { needed, got },
            axdr::Error::LengthForm { byte, .. } => Error::LengthForm(byte),
            _ => Error::LengthForm(0),
        })?;
        let end = at.saturating_add(len);
        let data = bytes.get(at..end).ok_or(Error::Incomplete {
            needed: end,
            got: bytes.len(),
        })?;
        Ok((
            BlockRepr {
                control: header[field::CONTROL],
                number: u16::from_be_bytes([header[field::NUMBER], header[field::NUMBER + 1]]),
                ack: u16::from_be_bytes([header[field::ACK], header[field::ACK + 1]]),
                data,
            },
            end,
        ))
    }

    /// Bit 7: the last block of the APDU.
    pub fn last(&self) -> bool {
        self.control & LAST_BLOCK != 0
    }

    /// Bit 6: the sender streams blocks without waiting for acknowledgements.
    pub fn streaming(&self) -> bool {
        self.control & STREAMING != 0
    }

    /// Bits 5-0: the window size.
    pub fn window(&self) -> u8 {
        self.control & 0x3F
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The third block of an L+G E450 push (esphome-libs/dlms_parser
    /// tests/dumps/hdlc_landis_gyr_e450.log, corpus `lg_e450_hdlc_gbt_encrypted_1`): last,
    /// streaming, block 3, 31 bytes.
    static LAST_BLOCK_BYTES: [u8; 38] = [
        0xE0, 0xC0, 0x00, 0x03, 0x00, 0x00, 0x1F, 0x9A, 0x13, 0x71, 0x7B, 0x67, 0x3D, 0xB2, 0xEF,
        0xCF, 0xF3, 0xA8, 0x4F, 0xC5, 0x32, 0x52, 0xEB, 0x86, 0x49, 0x88, 0x11, 0x17, 0xE2, 0x64,
        0x62, 0xD5, 0x48, 0x90, 0x52, 0xC8, 0x9E, 0x62,
    ];

    #[test]
    fn test_parse() {
        let (block, used) = BlockRepr::parse(&LAST_BLOCK_BYTES).expect("valid block");
        assert_eq!(used, LAST_BLOCK_BYTES.len());
        assert!(block.last() && block.streaming());
        assert_eq!((block.number, block.ack, block.window()), (3, 0, 0));
        assert_eq!(block.data.len(), 31);
        assert_eq!(block.data[0], 0x9A);
    }

    #[test]
    fn test_impossible_len() {
        for cut in 0..LAST_BLOCK_BYTES.len() {
            assert!(
                matches!(
                    BlockRepr::parse(&LAST_BLOCK_BYTES[..cut]),
                    Err(Error::Incomplete { .. })
                ),
                "cut at {cut}"
            );
        }
        let mut bad = LAST_BLOCK_BYTES;
        bad[6] = 0x80;
        assert_eq!(BlockRepr::parse(&bad), Err(Error::LengthForm(0x80)));
        bad[0] = 0xDB;
        assert_eq!(BlockRepr::parse(&bad), Err(Error::NotGbt(0xDB)));
    }
}
