//! General Block Transfer (IEC 62056-5-3 §9.3.13, DLMS UA Green Book "general-block-transfer"):
//! a long APDU sent as numbered blocks, each in its own lower-layer frame.
//!
//! `E0 | block-control | block-number u16 | block-number-ack u16 | block-data`, block-control
//! b7 = last block, b6 = streaming, b5–0 = window; block-data an A-XDR length and the bytes.
//! The L+G E450 pushes its ciphered list this way in HDLC UI frames, blocks numbered from 1 with
//! streaming set and no acknowledgement. [`BlockRepr`] is the emit half of the decoder's type.

use super::axdr;

/// The general-block-transfer tag.
pub const TAG_GENERAL_BLOCK_TRANSFER: u8 = 0xE0;
/// Block-control bit: this is the last block.
pub const LAST_BLOCK: u8 = 0x80;
/// Block-control bit: streaming (the sender does not wait for acknowledgements).
pub const STREAMING: u8 = 0x40;
/// Header bytes before the block data's length: tag, control, two block numbers.
pub const FIXED_HEADER_LEN: usize = 6;

/// One block before emission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRepr<'a> {
    /// Whether this is the last block.
    pub last_block: bool,
    /// Whether the sender streams.
    pub streaming: bool,
    /// Window size (6 bits).
    pub window: u8,
    /// Block number, from 1.
    pub block_number: u16,
    /// Number of the last block received from the peer (0 in a push).
    pub block_number_ack: u16,
    /// This block's share of the APDU.
    pub data: &'a [u8],
}

impl BlockRepr<'_> {
    /// The block-control byte.
    pub fn block_control(&self) -> u8 {
        (if self.last_block { LAST_BLOCK } else { 0 })
            | (if self.streaming { STREAMING } else { 0 })
            | (self.window & 0x3F)
    }

    /// Bytes the block takes.
    pub fn buffer_len(&self) -> usize {
        FIXED_HEADER_LEN + axdr::length_len(self.data.len()) + self.data.len()
    }

    /// Appends the block to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        out.push(TAG_GENERAL_BLOCK_TRANSFER);
        out.push(self.block_control());
        out.extend_from_slice(&self.block_number.to_be_bytes());
        out.extend_from_slice(&self.block_number_ack.to_be_bytes());
        axdr::push_length(out, self.data.len());
        out.extend_from_slice(self.data);
    }
}

/// The most block data that fits `room` bytes together with its header.
pub fn data_capacity(room: usize) -> usize {
    let mut d = room.saturating_sub(FIXED_HEADER_LEN);
    while d > 0 && FIXED_HEADER_LEN + axdr::length_len(d) + d > room {
        d -= 1;
    }
    d
}

/// Splits `apdu` into streamed blocks numbered from 1; `room(k)` is how many bytes block `k`
/// (0-based) may take with its header (the lower layer's frame size, less e.g. the LLC header
/// in the first frame).
pub fn split(apdu: &[u8], room: impl Fn(usize) -> usize) -> Vec<BlockRepr<'_>> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while at < apdu.len() || blocks.is_empty() {
        let k = blocks.len();
        let take = data_capacity(room(k)).max(1).min(apdu.len() - at);
        let end = at + take;
        blocks.push(BlockRepr {
            last_block: end == apdu.len(),
            streaming: true,
            window: 0,
            block_number: u16::try_from(k + 1).unwrap_or(u16::MAX),
            block_number_ack: 0,
            data: &apdu[at..end],
        });
        at = end;
    }
    blocks
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_emit_header() {
        // The L+G E450 capture's third block header: `E0 C0 0003 0000 1F`.
        let data = [0u8; 31];
        let block = BlockRepr {
            last_block: true,
            streaming: true,
            window: 0,
            block_number: 3,
            block_number_ack: 0,
            data: &data,
        };
        let mut bytes = Vec::new();
        block.emit(&mut bytes);
        assert_eq!(&bytes[..7], &[0xE0, 0xC0, 0x00, 0x03, 0x00, 0x00, 0x1F]);
        assert_eq!(bytes.len(), block.buffer_len());
    }

    #[test]
    fn test_split_like_the_e450() {
        // 129 bytes of HDLC information per frame, the first frame also carrying the LLC header:
        // 272 APDU bytes become blocks of 119, 122 and 31 bytes.
        let apdu = [0xABu8; 272];
        let blocks = split(&apdu, |k| if k == 0 { 129 - 3 } else { 129 });
        let sizes: Vec<usize> = blocks.iter().map(|b| b.data.len()).collect();
        assert_eq!(sizes, [119, 122, 31]);
        assert_eq!(
            blocks.iter().map(|b| b.block_control()).collect::<Vec<_>>(),
            [0x40, 0x40, 0xC0]
        );
        assert_eq!(blocks[0].buffer_len(), 126);
        assert_eq!(blocks[1].buffer_len(), 129);
        // A block whose data needs a two-byte length.
        assert_eq!(data_capacity(300), 300 - 6 - 3);
        assert_eq!(data_capacity(136), 128);
        assert_eq!(data_capacity(135), 127);
    }
}
