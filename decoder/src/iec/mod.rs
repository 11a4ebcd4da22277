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
    baud_of_char, char_of_baud, AckOptionSelect, Block, Command, CommandId, DataMessage,
    Identification, ModeControl, ProtocolControl, ProtocolMode, Push, Reply, RequestRepr,
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
    /// A capture of dialogue only: nothing in it is data.
    NoData,
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
            ErrorKind::NoData => "no_data",
        }
    }

    /// An error message of this kind.
    pub fn error(self, message: impl Into<String>, offset: Option<u64>) -> Message {
        Message::error(self.name(), message, offset)
    }
}

/// Decodes one complete block, SOH or STX through the BCC, found at `offset`. A data message
/// (STX … `!` … ETX) becomes a reading, its meter id falling back to `identification`; a BCC
/// that does not match is `bcc_mismatch` whatever the block holds.
///
/// Programming mode (§6.3.7–§6.3.10): a read command (`R1`, `R2`) is remembered in `read`; the
/// meter's reply after it (`STX (value) ETX`, no `!`) becomes a reading of that one register.
/// A reply whose request is not in the capture gives the value with the id `unknown` and a
/// warning. Other commands (password, write, execute, break) and partial blocks are dialogue:
/// `None`.
pub fn decode_block(
    bytes: &[u8],
    identification: Option<&Identification>,
    offset: Option<u64>,
    read: &mut Option<String>,
) -> Vec<Message> {
    let block = match Block::new_checked(bytes) {
        Ok(block) => block,
        Err(e @ message::FrameError::NoEnd { .. }) => {
            return vec![ErrorKind::Truncated.error(e.to_string(), offset)]
        }
        Err(e) => return vec![ErrorKind::Malformed.error(e.to_string(), offset)],
    };
    let check = block.check_bcc();
    if !check.matches() {
        let what = if block.start() == SOH {
            "command"
        } else {
            "data block"
        };
        *read = None;
        return vec![ErrorKind::BccMismatch.error(format!("{what}: {check}"), offset)];
    }
    match block.start() {
        SOH => match Command::parse_block(&block) {
            Ok(command) => {
                *read = (command.command == CommandId::Read)
                    .then(|| command.data.as_deref().map(read_address))
                    .flatten();
                Vec::new()
            }
            Err(e) => {
                *read = None;
                vec![ErrorKind::Malformed.error(e.to_string(), offset)]
            }
        },
        STX if !block.is_partial() && block.content().contains(&b'!') => {
            *read = None;
            match DataMessage::parse_content(block.content()) {
                Ok(data) => block_messages(&data.block, identification, offset, "data message"),
                Err(e) => vec![ErrorKind::Malformed.error(format!("data message: {e}"), offset)],
            }
        }
        STX if !block.is_partial() => vec![decode_reply(block.content(), read.take(), offset)],
        _ => Vec::new(),
    }
}

/// The messages of a parsed data block: the reading of its data sets, then an error for each
/// line that is not data sets (the rest of the readout is still read). A block whose every line
/// is bad gives only the errors.
fn block_messages(
    block: &DataBlock,
    identification: Option<&Identification>,
    offset: Option<u64>,
    what: &str,
) -> Vec<Message> {
    let mut out = Vec::new();
    if block.bad_lines.is_empty() || block.data_sets().next().is_some() {
        out.push(Message::Reading(convert::to_reading(block, identification)));
    }
    let rest = if out.is_empty() {
        ""
    } else {
        "; the other lines are decoded"
    };
    for bad in &block.bad_lines {
        out.push(ErrorKind::Malformed.error(format!("{what}: {bad}{rest}"), offset));
    }
    out
}

/// The register address of a read command's data `1.8.0()`: the text before its `(`.
fn read_address(data: &str) -> String {
    data.split('(').next().unwrap_or("").to_string()
}

/// A programming-mode reply `(value*unit)` (or `address(value*unit)`), after a read of
/// `address` when the capture holds the request.
fn decode_reply(content: &[u8], address: Option<String>, offset: Option<u64>) -> Message {
    let sets = match DataSet::parse_line(content) {
        Ok(sets) => sets,
        Err(e) => return ErrorKind::Malformed.error(format!("programming reply: {e}"), offset),
    };
    let [set] = sets.as_slice() else {
        return ErrorKind::Malformed.error(
            format!(
                "programming reply with {} data sets where one is expected",
                sets.len()
            ),
            offset,
        );
    };
    let mut reading = crate::reading::Reading::new(crate::reading::Protocol::Iec62056_21);
    let address = if set.address.is_empty() {
        address
    } else {
        Some(set.address.clone())
    };
    let id = match address {
        Some(address) => match address.parse::<Address>() {
            Ok(parsed) => parsed.obis.to_string(),
            Err(_) => {
                reading.warnings.push(format!(
                    "address {address:?} is not an EDIS or OBIS address; kept as the id"
                ));
                address
            }
        },
        None => {
            reading.warnings.push(
                "a programming-mode reply whose read request is not in the capture: the register is unknown"
                    .to_string(),
            );
            "unknown".to_string()
        }
    };
    if set.groups.first().is_some_and(|g| g.starts_with("ER")) {
        reading
            .warnings
            .push(format!("the meter answered {}", set.groups_text()));
    }
    reading.values.push(convert::value(id, set));
    Message::Reading(reading)
}

/// Decodes one mode D push: `/XXXZ ident` CR LF, data lines, `!` and the CR LF after it.
pub fn decode_push(bytes: &[u8], offset: Option<u64>) -> Vec<Message> {
    match Push::parse(bytes) {
        Ok(push) => block_messages(&push.block, Some(&push.identification), offset, "push"),
        Err(e) => vec![ErrorKind::Malformed.error(format!("push: {e}"), offset)],
    }
}

/// Decodes a bare data block as some tools store a readout: data lines, `!` and the CR LF
/// after it, without STX, ETX and BCC.
pub fn decode_data_lines(bytes: &[u8], offset: Option<u64>) -> Vec<Message> {
    match DataBlock::parse(bytes) {
        Ok(block) => block_messages(&block, None, offset, "data lines"),
        Err(e) => vec![ErrorKind::Malformed.error(format!("data lines: {e}"), offset)],
    }
}

/// Whether `byte` starts a block.
pub(crate) fn is_block_start(byte: u8) -> bool {
    byte == SOH || byte == STX
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::reading::Scalar;

    /// Iskra ME162 readout (wdoekes/pe32me162ir_pub, example.log), BCC "L".
    static ME162: &[u8] = b"\x02C.1.0(28342193)\r\n0.0.0(28342193)\r\n\
1.8.0(0033402.264*kWh)\r\n1.8.1(0000000.000*kWh)\r\n1.8.2(0033402.264*kWh)\r\n\
2.8.0(0000013.465*kWh)\r\n2.8.1(0000000.000*kWh)\r\n2.8.2(0000013.465*kWh)\r\n\
F.F(0000000)\r\n!\r\n\x03L";

    fn kind(messages: &[Message]) -> Option<&str> {
        messages
            .first()
            .map(|m| m.error_report().map_or("reading", |e| e.kind.as_str()))
    }

    /// The one message of a block, push or data lines.
    fn only(messages: Vec<Message>) -> Message {
        assert_eq!(messages.len(), 1, "{messages:?}");
        messages.into_iter().next().expect("a message")
    }

    #[test]
    fn test_parse() {
        let message = only(decode_block(ME162, None, Some(0), &mut None));
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
        let message = only(decode_block(&bytes, None, Some(9), &mut None));
        let report = message.error_report().expect("an error");
        assert_eq!(report.kind, "bcc_mismatch");
        assert_eq!(
            report.message,
            "data block: block check character 0x4D, computed 0x4C"
        );
        assert_eq!(report.offset, Some(9));
        let message = decode_block(b"\x01B0\x03r", None, None, &mut None);
        assert_eq!(kind(&message), Some("bcc_mismatch"));
    }

    #[test]
    fn test_programming_replies() {
        let mut read = None;
        // The meter's password request and the break are dialogue.
        for block in [&b"\x01B0\x03q"[..], b"\x01P0\x02()\x03`"] {
            assert_eq!(
                decode_block(block, None, None, &mut read),
                vec![],
                "{block:?}"
            );
        }
        // The ME162's R1 read of 1.8.0 and its reply (wdoekes/pe32me162ir_pub, example.log).
        assert_eq!(
            decode_block(b"\x01R1\x021.8.0()\x03Z", None, None, &mut read),
            vec![]
        );
        assert_eq!(read.as_deref(), Some("1.8.0"));
        let reply = only(decode_block(
            b"\x02(0033402.264*kWh)\x03T",
            None,
            None,
            &mut read,
        ));
        let reading = reply.reading().expect("a reading");
        let value = reading.value("1-0:1.8.0*255").expect("the register read");
        assert_eq!(
            value.value,
            Scalar::Number("33402.264".parse().expect("decimal"))
        );
        assert_eq!(value.unit.as_deref(), Some("kWh"));
        assert!(reading.warnings.is_empty(), "{:?}", reading.warnings);
        // The same reply without its request: the register is unknown, with a warning.
        let reply = only(decode_block(
            b"\x02(0033402.264*kWh)\x03T",
            None,
            None,
            &mut read,
        ));
        let reading = reply.reading().expect("a reading");
        assert_eq!(reading.values[0].id, "unknown");
        assert!(reading.warnings[0].contains("not in the capture"));
        // A SOH block with a matching BCC that is no command.
        let mut junk = b"\x01\x02\x02\x03".to_vec();
        junk.push(bcc::compute(b"\x02\x02\x03"));
        assert_eq!(
            kind(&decode_block(&junk, None, None, &mut read)),
            Some("malformed")
        );
        // A readout whose BCC matches with a line that does not parse: the reading of the
        // other lines, then an error for that line.
        let mut bad = b"\x021.8.0(1)\r\nxyz\r\n!\r\n\x03".to_vec();
        bad.push(bcc::compute(&bad[1..]));
        let messages = decode_block(&bad, None, None, &mut read);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[0].reading().map(|r| r.values.len()), Some(1));
        let report = messages[1].error_report().expect("an error for the line");
        assert_eq!(report.kind, "malformed");
        assert!(report.message.contains("line 2 \"xyz\""), "{report:?}");
        assert!(
            report.message.ends_with("the other lines are decoded"),
            "{report:?}"
        );
        // Every line bad: only the errors.
        let mut bad = b"\x02xyz\r\n!\r\n\x03".to_vec();
        bad.push(bcc::compute(&bad[1..]));
        assert_eq!(
            kind(&decode_block(&bad, None, None, &mut read)),
            Some("malformed")
        );
        assert_eq!(decode_block(&bad, None, None, &mut read).len(), 1);
        assert_eq!(
            kind(&decode_block(b"\x02abc", None, None, &mut read)),
            Some("truncated")
        );
    }

    #[test]
    fn test_push_and_lines() {
        let push = only(decode_push(
            b"/LGZ52ZMD120APt.G03\r\nF.F(00000000)\r\n0.0.0( 20000)\r\n!",
            None,
        ));
        let reading = push.reading().expect("a reading");
        assert_eq!(reading.meter_id.as_deref(), Some("20000"));
        assert_eq!(reading.values.len(), 2);
        let push = only(decode_push(b"/LGZ52ZMD120APt.G03\r\n!\r\n", None));
        assert_eq!(
            push.reading().and_then(|r| r.meter_id.as_deref()),
            Some("2ZMD120APt.G03")
        );
        let bad = only(decode_push(b"/LGZ5\r\nF.F(0\r\n!", Some(4)));
        assert_eq!(
            bad.error_report().map(|e| e.kind.as_str()),
            Some("malformed")
        );
        let lines = only(decode_data_lines(b"1.8.0(1*kWh)\r\n!\r\n", None));
        assert_eq!(lines.reading().map(|r| r.values.len()), Some(1));
        let bad = only(decode_data_lines(b"1.8.0(1*kWh)\r\n!x", None));
        assert_eq!(
            bad.error_report().map(|e| e.kind.as_str()),
            Some("malformed")
        );
    }
}
