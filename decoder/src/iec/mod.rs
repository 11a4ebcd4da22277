//! IEC 62056-21 (IEC 1107, "D0") direct local data exchange, the reference decoder
//! (IEC 62056-21:2002 §6: messages §6.3, block check character §6.2, protocol modes §6.4, data
//! sets §6.6).
//!
//! - [`message`]: every message of a dialogue as a value with `parse` and `emit` — request,
//!   identification (baud-rate character per mode, reaction time, `\W`), option select, data
//!   message, mode D push, programming commands and replies, break — and the [`Block`] view of
//!   SOH/STX … ETX/EOT BCC framing; [`message::timing`] holds the dialogue's times.
//! - [`bcc`]: the block check character.
//! - [`dataset`]: data lines and data sets, EDIS and OBIS addresses.
//! - [`convert`]: data block → [`Reading`](crate::reading::Reading) per `docs/reading-format.md`.
//! - [`stream`]: [`IecDecoder`], which finds data messages, mode D pushes and bare data blocks in
//!   a captured byte stream, passes over the rest of a dialogue, and reports everything else.
//!
//! [`decode_block`], [`decode_push`] and [`decode_data_lines`] turn one complete message into at
//! most one [`Message`]: a reading, or an error naming what is wrong (`bcc_mismatch`,
//! `malformed`).

pub mod bcc;
pub mod convert;
pub mod dataset;
pub mod message;
pub mod stream;

pub use dataset::{Address, AddressForm, DataBlock, DataSet};
pub use message::{
    baud_char, baud_rate, AckOptionSelect, Block, Command, CommandId, DataMessage, Identification,
    ModeControl, ProtocolControl, ProtocolMode, Push, Reply, Request,
};
pub use stream::IecDecoder;

use crate::reading::Message;

use self::bcc::{SOH, STX};

/// The largest message accepted: 16 KiB from its start to its end (ETX and BCC, or `!`). Real
/// readouts are a few hundred bytes; a data line is at most 78.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;

/// The classes of IEC 62056-21 decoding errors (`docs/reading-format.md`, "Error kinds" and
/// "IEC 62056-21 data readout").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The block check character does not match.
    BccMismatch,
    /// A message started and was cut off.
    Truncated,
    /// A complete message with a line or field that is not well-formed.
    Malformed,
    /// No end of message within [`MAX_MESSAGE_LEN`] bytes.
    TooLong,
    /// Bytes that belong to no message.
    SkippedBytes,
}

impl ErrorKind {
    /// The name in the JSON output (`bcc_mismatch`…).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BccMismatch => "bcc_mismatch",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLong => "too_long",
            ErrorKind::SkippedBytes => "skipped_bytes",
        }
    }

    /// An error message of this kind.
    pub fn error(self, message: impl Into<String>, offset: Option<u64>) -> Message {
        Message::error(self.name(), message, offset)
    }
}

/// Decodes one complete block, SOH or STX through the BCC, found at `offset`. A data message
/// (STX … `!` … ETX) becomes a reading, its meter id falling back to `identification`; a BCC
/// that does not match is `bcc_mismatch` whatever the block holds. Programming commands, replies
/// and partial blocks whose BCC matches are part of a dialogue, not readings: `None`.
pub fn decode_block(
    bytes: &[u8],
    identification: Option<&Identification>,
    offset: Option<u64>,
) -> Option<Message> {
    let block = match Block::new_checked(bytes) {
        Ok(block) => block,
        Err(e @ message::FrameError::NoEnd { .. }) => {
            return Some(ErrorKind::Truncated.error(e.to_string(), offset))
        }
        Err(e) => return Some(ErrorKind::Malformed.error(e.to_string(), offset)),
    };
    let check = block.check_bcc();
    if !check.matches() {
        let what = if block.start() == SOH {
            "command"
        } else {
            "data block"
        };
        return Some(ErrorKind::BccMismatch.error(format!("{what}: {check}"), offset));
    }
    match block.start() {
        SOH => match Command::parse_block(&block) {
            Ok(_) => None,
            Err(e) => Some(ErrorKind::Malformed.error(e.to_string(), offset)),
        },
        STX if !block.is_partial() && block.content().contains(&b'!') => {
            Some(match DataMessage::parse_content(block.content()) {
                Ok(data) => Message::Reading(convert::to_reading(&data.block, identification)),
                Err(e) => ErrorKind::Malformed.error(format!("data message: {e}"), offset),
            })
        }
        _ => None,
    }
}

/// Decodes one mode D push: `/XXXZ ident` CR LF, data lines, `!` and the CR LF after it.
pub fn decode_push(bytes: &[u8], offset: Option<u64>) -> Message {
    match Push::parse(bytes) {
        Ok(push) => Message::Reading(convert::to_reading(&push.block, Some(&push.identification))),
        Err(e) => ErrorKind::Malformed.error(format!("push: {e}"), offset),
    }
}

/// Decodes a bare data block as some tools store a readout: data lines, `!` and the CR LF
/// after it, without STX, ETX and BCC.
pub fn decode_data_lines(bytes: &[u8], offset: Option<u64>) -> Message {
    match DataBlock::parse(bytes) {
        Ok(block) => Message::Reading(convert::to_reading(&block, None)),
        Err(e) => ErrorKind::Malformed.error(format!("data lines: {e}"), offset),
    }
}

/// Whether `byte` starts a block.
pub(crate) fn is_block_start(byte: u8) -> bool {
    byte == SOH || byte == STX
}

#[cfg(test)]
mod test {
    use super::*;

    /// Iskra ME162 readout (wdoekes/pe32me162ir_pub, example.log), BCC "L".
    static ME162: &[u8] = b"\x02C.1.0(28342193)\r\n0.0.0(28342193)\r\n\
1.8.0(0033402.264*kWh)\r\n1.8.1(0000000.000*kWh)\r\n1.8.2(0033402.264*kWh)\r\n\
2.8.0(0000013.465*kWh)\r\n2.8.1(0000000.000*kWh)\r\n2.8.2(0000013.465*kWh)\r\n\
F.F(0000000)\r\n!\r\n\x03L";

    fn kind(message: &Option<Message>) -> Option<&str> {
        message
            .as_ref()
            .map(|m| m.error_report().map_or("reading", |e| e.kind.as_str()))
    }

    #[test]
    fn test_parse() {
        let message = decode_block(ME162, None, Some(0)).expect("a message");
        let reading = message.reading().expect("a reading");
        assert_eq!(reading.meter_id.as_deref(), Some("28342193"));
        assert_eq!(reading.values.len(), 9);
        let energy = reading.value("1-0:1.8.0*255").expect("1.8.0");
        let want: crate::Decimal = "33402.264".parse().expect("decimal");
        assert_eq!(energy.value, crate::reading::Scalar::Number(want));
        assert_eq!(energy.unit.as_deref(), Some("kWh"));
        assert!(reading.warnings.is_empty());
    }

    #[test]
    fn test_bad_bcc() {
        let mut bytes = ME162.to_vec();
        *bytes.last_mut().expect("bcc") = b'M';
        let message = decode_block(&bytes, None, Some(9)).expect("a message");
        let report = message.error_report().expect("an error");
        assert_eq!(report.kind, "bcc_mismatch");
        assert_eq!(
            report.message,
            "data block: block check character 0x4D, computed 0x4C"
        );
        assert_eq!(report.offset, Some(9));
        let message = decode_block(b"\x01B0\x03r", None, None);
        assert_eq!(kind(&message), Some("bcc_mismatch"));
    }

    #[test]
    fn test_dialogue_blocks_are_not_readings() {
        for block in [
            &b"\x01B0\x03q"[..],
            b"\x01P0\x02()\x03`",
            b"\x02(0033402.264*kWh)\x03T",
        ] {
            assert_eq!(decode_block(block, None, None), None, "{block:?}");
        }
        // A SOH block with a matching BCC that is no command.
        let mut junk = b"\x01\x02\x02\x03".to_vec();
        junk.push(bcc::compute(b"\x02\x02\x03"));
        assert_eq!(kind(&decode_block(&junk, None, None)), Some("malformed"));
        // A readout whose BCC matches but whose data does not parse.
        let mut bad = b"\x021.8.0(1)\r\nxyz\r\n!\r\n\x03".to_vec();
        bad.push(bcc::compute(&bad[1..]));
        let message = decode_block(&bad, None, None);
        assert_eq!(kind(&message), Some("malformed"));
        assert_eq!(
            kind(&decode_block(b"\x02abc", None, None)),
            Some("truncated")
        );
    }

    #[test]
    fn test_push_and_lines() {
        let push = decode_push(
            b"/LGZ52ZMD120APt.G03\r\nF.F(00000000)\r\n0.0.0( 20000)\r\n!",
            None,
        );
        let reading = push.reading().expect("a reading");
        assert_eq!(reading.meter_id.as_deref(), Some("20000"));
        assert_eq!(reading.values.len(), 2);
        let push = decode_push(b"/LGZ52ZMD120APt.G03\r\n!\r\n", None);
        assert_eq!(
            push.reading().and_then(|r| r.meter_id.as_deref()),
            Some("2ZMD120APt.G03")
        );
        let bad = decode_push(b"/LGZ5\r\nF.F(0\r\n!", Some(4));
        assert_eq!(
            bad.error_report().map(|e| e.kind.as_str()),
            Some("malformed")
        );
        let lines = decode_data_lines(b"1.8.0(1*kWh)\r\n!\r\n", None);
        assert_eq!(lines.reading().map(|r| r.values.len()), Some(1));
        let bad = decode_data_lines(b"1.8.0(1*kWh)\r\n!x", None);
        assert_eq!(
            bad.error_report().map(|e| e.kind.as_str()),
            Some("malformed")
        );
    }
}
