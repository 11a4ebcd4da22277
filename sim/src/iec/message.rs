//! IEC 62056-21 messages (clause 6; the identification is §6.3.2).
//!
//! What the reader (HHU) sends — request `/ ? address ! CR LF`, acknowledgement/option select
//! `ACK V Z Y CR LF`, programming commands `SOH C D STX data ETX BCC` — the meter parses; what the
//! meter sends — identification `/ X X X Z [\W] ident CR LF`, data message
//! `STX data-block ! CR LF ETX BCC`, mode D push `/XXXZ ident CR LF CR LF data-block ! CR LF`,
//! programming replies (`ACK`, `NAK`, `STX (value) ETX BCC`, `STX (ERROR) ETX BCC`, the password
//! request `SOH P0 STX (operand) ETX BCC`) — it emits. The block check character is the XOR of
//! every byte after the first SOH or STX up to and including ETX (or EOT).
//!
//! Baud characters: mode B letters `A`–`F` = 600…19200 Bd, mode C/E digits `0`–`6` =
//! 300…19200 Bd; anything else announces mode A (no switch).

use super::dataset::DataSetRepr;

/// Start of header (programming commands).
pub const SOH: u8 = 0x01;
/// Start of text (data messages, command data).
pub const STX: u8 = 0x02;
/// End of text (last block).
pub const ETX: u8 = 0x03;
/// End of transmission (partial block).
pub const EOT: u8 = 0x04;
/// Acknowledge (option select, positive reply).
pub const ACK: u8 = 0x06;
/// Negative acknowledge (a message received with an error: repeat it).
pub const NAK: u8 = 0x15;

/// Mode C/E baud rates by baud character `0`…`6`; mode B uses the same rates from 600 Bd on,
/// letters `A`…`F`.
pub const RATES: [u32; 7] = [300, 600, 1200, 2400, 4800, 9600, 19200];

/// The block check character: XOR of `bytes` (pass everything after SOH/STX through ETX/EOT).
pub fn bcc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// The protocol modes of IEC 62056-21.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolMode {
    /// Bidirectional at 300 Bd, no baud switch, no option select.
    A,
    /// The meter switches to the announced rate right after the identification.
    B,
    /// Acknowledgement/option select chooses rate and readout or programming.
    C,
    /// Unidirectional: the meter pushes without a request.
    D,
    /// Mode C plus binary HDLC (DLMS) after option select `Y = 2`.
    E,
}

impl ProtocolMode {
    /// The mode an identification announces (`push` = the meter pushes: mode D).
    pub fn announced(identification: &IdentificationRepr, push: bool) -> Self {
        if push {
            return ProtocolMode::D;
        }
        match identification.baud_char {
            b'0'..=b'6' if identification.enhanced == Some(b'2') => ProtocolMode::E,
            b'0'..=b'6' => ProtocolMode::C,
            b'A'..=b'F' => ProtocolMode::B,
            _ => ProtocolMode::A,
        }
    }
}

/// The rate a baud character stands for in a mode (`None`: reserved or not a baud character of
/// that mode).
pub fn baud_of_char(mode: ProtocolMode, z: u8) -> Option<u32> {
    match (mode, z) {
        (ProtocolMode::C | ProtocolMode::E, b'0'..=b'6') => Some(RATES[usize::from(z - b'0')]),
        (ProtocolMode::B, b'A'..=b'F') => Some(RATES[usize::from(z - b'A') + 1]),
        _ => None,
    }
}

/// The baud character of a rate in a mode.
pub fn char_of_baud(mode: ProtocolMode, baud: u32) -> Option<u8> {
    let i = RATES.iter().position(|&r| r == baud)? as u8;
    match mode {
        ProtocolMode::C | ProtocolMode::E => Some(b'0' + i),
        ProtocolMode::B if i > 0 => Some(b'A' + i - 1),
        _ => None,
    }
}

/// A message the meter received could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The block check character does not match (the meter answers NAK).
    #[error("BCC is {stated:#04x}, computed {computed:#04x}")]
    Bcc {
        /// The BCC received.
        stated: u8,
        /// The BCC of the bytes received.
        computed: u8,
    },
    /// Not a well-formed message of the expected kind.
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// The request message `/ ? address ! CR LF`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRepr {
    /// The query character: `?` (standard) or `2` (some meters accept it instead).
    pub query: u8,
    /// The device address, up to 32 characters `[A-Za-z0-9 ]`; empty for any meter.
    pub address: String,
}

impl RequestRepr {
    /// The request bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.address.len() + 5);
        out.push(b'/');
        out.push(self.query);
        out.extend_from_slice(self.address.as_bytes());
        out.extend_from_slice(b"!\r\n");
    }

    /// A complete request line as the meter received it.
    pub fn parse(line: &[u8]) -> Result<Self, MessageError> {
        let bad = MessageError::Malformed("request");
        let inner = line
            .strip_prefix(b"/")
            .and_then(|l| l.strip_suffix(b"!\r\n"))
            .ok_or(bad.clone())?;
        let (&query, address) = inner.split_first().ok_or(bad.clone())?;
        if !matches!(query, b'?' | b'2')
            || address.len() > 32
            || !address
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b' ')
        {
            return Err(bad);
        }
        Ok(RequestRepr {
            query,
            address: String::from_utf8_lossy(address).into_owned(),
        })
    }

    /// Whether this request is meant for a meter with device address `own`: a request without
    /// address is for every meter; leading zeros are ignored, so all-zero addresses are the same
    /// as none.
    pub fn addresses(&self, own: &str) -> bool {
        let req = self.address.trim_start_matches('0');
        req.is_empty() || req == own.trim_start_matches('0')
    }
}

/// The identification message `/ X X X Z [\ W] ident CR LF` (§6.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentificationRepr {
    /// Manufacturer flag, three letters; a lower-case third letter says the meter may answer
    /// within 20 ms instead of 200 ms.
    pub manufacturer: String,
    /// Baud character Z.
    pub baud_char: u8,
    /// Enhanced identification character W (`\W`): `2` = binary mode (HDLC, mode E).
    pub enhanced: Option<u8>,
    /// The identification proper (up to 16 printable characters, no `/` or `!`).
    pub ident: String,
}

impl IdentificationRepr {
    /// The identification line as written after `/` (`ISK5ME162-0033`, `LGZ5\2ZMD3104407.B24`).
    pub fn from_line(line: &str) -> Result<Self, MessageError> {
        let bad = MessageError::Malformed("identification");
        let b = line.as_bytes();
        if b.len() < 4
            || !b[..3].iter().all(u8::is_ascii_alphabetic)
            || b.iter()
                .any(|&c| !(0x20..0x7F).contains(&c) || c == b'/' || c == b'!')
        {
            return Err(bad);
        }
        let (enhanced, ident) = match &b[4..] {
            [b'\\', w, rest @ ..] => (Some(*w), rest),
            rest => (None, rest),
        };
        Ok(IdentificationRepr {
            manufacturer: line[..3].to_string(),
            baud_char: b[3],
            enhanced,
            ident: String::from_utf8_lossy(ident).into_owned(),
        })
    }

    /// Whether the manufacturer flag announces the 20 ms minimum reaction time.
    pub fn fast_reaction(&self) -> bool {
        self.manufacturer
            .as_bytes()
            .get(2)
            .is_some_and(u8::is_ascii_lowercase)
    }

    /// The text after `/` (without CR LF).
    pub fn line(&self) -> String {
        let mut s = format!("{}{}", self.manufacturer, char::from(self.baud_char));
        if let Some(w) = self.enhanced {
            s.push('\\');
            s.push(char::from(w));
        }
        s.push_str(&self.ident);
        s
    }

    /// The identification bytes, `/` through CR LF.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("/{}\r\n", self.line()).as_bytes());
    }
}

/// The acknowledgement/option select message `ACK V Z Y CR LF`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSelectRepr {
    /// Protocol control character V: `0` normal, `1` secondary, `2` HDLC (mode E).
    pub protocol: u8,
    /// Baud character Z the reader chose.
    pub baud_char: u8,
    /// Mode control character Y: `0` data readout, `1` programming, `2` binary (HDLC).
    pub option: u8,
}

impl OptionSelectRepr {
    /// The message bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            ACK,
            self.protocol,
            self.baud_char,
            self.option,
            b'\r',
            b'\n',
        ]);
    }

    /// A complete line starting with ACK as the meter received it.
    pub fn parse(line: &[u8]) -> Result<Self, MessageError> {
        match line {
            [ACK, v, z, y, b'\r', b'\n'] if v.is_ascii_digit() && y.is_ascii_digit() => {
                Ok(OptionSelectRepr {
                    protocol: *v,
                    baud_char: *z,
                    option: *y,
                })
            }
            _ => Err(MessageError::Malformed("acknowledgement/option select")),
        }
    }
}

/// A data block as lines of data sets.
fn emit_lines(out: &mut Vec<u8>, lines: &[Vec<DataSetRepr>], bang_on_last_line: bool) {
    for (i, line) in lines.iter().enumerate() {
        for set in line {
            set.emit(out);
        }
        if i + 1 == lines.len() && bang_on_last_line {
            out.push(b'!');
        }
        out.extend_from_slice(b"\r\n");
    }
    if lines.is_empty() || !bang_on_last_line {
        out.extend_from_slice(b"!\r\n");
    }
}

/// The data message `STX data-block ! CR LF ETX BCC` of a data readout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataMessageRepr {
    /// The data lines, each one or more data sets (a line is at most 78 characters with CR LF).
    pub lines: Vec<Vec<DataSetRepr>>,
    /// `!` right after the last data set instead of on a line of its own (Kamstrup).
    pub bang_on_last_line: bool,
}

impl DataMessageRepr {
    /// The message bytes, STX through BCC.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(STX);
        emit_lines(out, &self.lines, self.bang_on_last_line);
        out.push(ETX);
        out.push(bcc(&out[start + 1..]));
    }
}

/// A mode D push: `/XXXZ ident CR LF CR LF data-block ! CR LF`, no STX, ETX or BCC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRepr {
    /// The identification.
    pub identification: IdentificationRepr,
    /// The data lines.
    pub lines: Vec<Vec<DataSetRepr>>,
}

impl PushRepr {
    /// The push bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        self.identification.emit(out);
        out.extend_from_slice(b"\r\n");
        emit_lines(out, &self.lines, false);
    }
}

/// A programming command message `SOH C D [STX data] ETX|EOT BCC`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRepr {
    /// Command message identifier C: `P` password, `W` write, `R` read, `E` execute, `B` exit.
    pub command: u8,
    /// Command type identifier D (`0`–`9`), e.g. `R1` read ASCII, `B0` complete sign-off.
    pub kind: u8,
    /// The data set after STX (`1.8.0()`, `(password)`); `None` for a message without STX
    /// (`SOH B0 ETX BCC`).
    pub data: Option<Vec<u8>>,
    /// ETX for the last (or only) block, EOT for a partial one.
    pub end: u8,
}

impl CommandRepr {
    /// A command with data, ending in ETX.
    pub fn new(command: u8, kind: u8, data: &[u8]) -> Self {
        CommandRepr {
            command,
            kind,
            data: Some(data.to_vec()),
            end: ETX,
        }
    }

    /// The message bytes, SOH through BCC.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[SOH, self.command, self.kind]);
        if let Some(data) = &self.data {
            out.push(STX);
            out.extend_from_slice(data);
        }
        out.push(self.end);
        out.push(bcc(&out[start + 1..]));
    }

    /// A complete command block as the meter received it (SOH through BCC).
    pub fn parse(block: &[u8]) -> Result<Self, MessageError> {
        let bad = MessageError::Malformed("command");
        let [SOH, body @ .., end, stated] = block else {
            return Err(bad);
        };
        if !matches!(*end, ETX | EOT) {
            return Err(bad);
        }
        let computed = bcc(&block[1..block.len() - 1]);
        if computed != *stated {
            return Err(MessageError::Bcc {
                stated: *stated,
                computed,
            });
        }
        let (command, kind, data) = match body {
            [c, d] => (*c, *d, None),
            [c, d, STX, data @ ..] => (*c, *d, Some(data.to_vec())),
            _ => return Err(bad),
        };
        if !command.is_ascii_uppercase() || !kind.is_ascii_digit() {
            return Err(bad);
        }
        Ok(CommandRepr {
            command,
            kind,
            data,
            end: *end,
        })
    }
}

/// A data block on its own, `STX data ETX BCC`: the reply to a read command (`(value*unit)`) or
/// an error message (`(ERROR)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRepr {
    /// The bytes between STX and ETX.
    pub data: Vec<u8>,
}

impl BlockRepr {
    /// The error message `STX (text) ETX BCC` (text at most 32 characters).
    pub fn error(text: &str) -> Self {
        BlockRepr {
            data: format!("({text})").into_bytes(),
        }
    }

    /// The message bytes, STX through BCC.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(self.data.len() + 3);
        out.push(STX);
        out.extend_from_slice(&self.data);
        out.push(ETX);
        out.push(bcc(&out[start + 1..]));
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// What a message emits into an empty buffer.
    macro_rules! emitted {
        ($message:expr) => {{
            let mut out = Vec::new();
            $message.emit(&mut out);
            out
        }};
    }
    use crate::iec::dataset::{Address, DataSetRepr};

    /// Iskra ME162 (corpus iskra-me162-mode-c-*): break, R1 read, its reply, P0.
    static BREAK: [u8; 5] = [0x01, 0x42, 0x30, 0x03, 0x71];
    static R1_180: [u8; 13] = *b"\x01R1\x021.8.0()\x03Z";
    static R1_REPLY: [u8; 20] = *b"\x02(0033402.264*kWh)\x03T";
    static P0: [u8; 8] = *b"\x01P0\x02()\x03`";
    /// pwitab/iec62056-21 tests/test_bcc.py: W2 with BCC 0x1B, P0 with a password operand.
    static W2: [u8; 24] = *b"\x01W2\x02C003(910324092239)\x03\x1b";

    #[test]
    fn test_bcc_vectors() {
        assert_eq!(bcc(&BREAK[1..4]), BREAK[4]);
        assert_eq!(bcc(&R1_180[1..12]), b'Z');
        assert_eq!(bcc(&W2[1..23]), 0x1B);
    }

    #[test]
    fn test_command_emit_and_parse() {
        let b0 = CommandRepr {
            command: b'B',
            kind: b'0',
            data: None,
            end: ETX,
        };
        assert_eq!(emitted!(b0), BREAK);
        assert_eq!(CommandRepr::parse(&BREAK), Ok(b0));
        let r1 = CommandRepr::new(b'R', b'1', b"1.8.0()");
        assert_eq!(emitted!(r1), R1_180);
        assert_eq!(CommandRepr::parse(&R1_180), Ok(r1));
        assert_eq!(emitted!(CommandRepr::new(b'P', b'0', b"()")), P0);
        assert_eq!(
            CommandRepr::parse(&W2).map(|c| (c.command, c.kind)),
            Ok((b'W', b'2'))
        );
        // A break written with an empty STX part is still a break.
        assert_eq!(
            CommandRepr::parse(b"\x01B0\x02\x03s").map(|c| (c.command, c.kind)),
            Ok((b'B', b'0'))
        );
    }

    #[test]
    fn test_command_bad_bcc_and_malformed() {
        let mut bad = R1_180;
        bad[12] ^= 1;
        assert!(matches!(
            CommandRepr::parse(&bad),
            Err(MessageError::Bcc { computed: b'Z', .. })
        ));
        assert!(matches!(
            CommandRepr::parse(b"\x01\x03\x03"),
            Err(MessageError::Malformed(_))
        ));
        assert!(CommandRepr::parse(b"\x02R1\x03\x61").is_err());
    }

    #[test]
    fn test_reply_block() {
        let reply = BlockRepr {
            data: b"(0033402.264*kWh)".to_vec(),
        };
        assert_eq!(emitted!(reply), R1_REPLY);
        let err = emitted!(BlockRepr::error("ERROR"));
        assert_eq!(&err[..9], b"\x02(ERROR)\x03");
        assert_eq!(err[9], bcc(b"(ERROR)\x03"));
    }

    #[test]
    fn test_request() {
        let r = RequestRepr::parse(b"/?!\r\n").expect("request");
        assert_eq!(r.query, b'?');
        assert!(r.address.is_empty());
        assert_eq!(emitted!(r), b"/?!\r\n");
        let r = RequestRepr::parse(b"/2000123!\r\n").expect("query code 2");
        assert!(r.addresses("123"));
        assert!(r.addresses("0123"));
        assert!(!r.addresses("1234"));
        assert!(RequestRepr::parse(b"/?000!\r\n")
            .expect("all zeros")
            .addresses("98"));
        assert!(RequestRepr::parse(b"/?!\n").is_err());
        assert!(RequestRepr::parse(b"/x!\r\n").is_err());
        assert!(RequestRepr::parse(b"/?a/b!\r\n").is_err());
    }

    #[test]
    fn test_identification() {
        let id = IdentificationRepr::from_line("ISK5ME162-0033").expect("ident");
        assert_eq!(emitted!(id), b"/ISK5ME162-0033\r\n");
        assert!(!id.fast_reaction());
        assert_eq!(ProtocolMode::announced(&id, false), ProtocolMode::C);
        let e = IdentificationRepr::from_line("LGZ5\\2ZMD3104407.B24").expect("ident");
        assert_eq!(e.enhanced, Some(b'2'));
        assert_eq!(e.ident, "ZMD3104407.B24");
        assert_eq!(e.line(), "LGZ5\\2ZMD3104407.B24");
        assert_eq!(ProtocolMode::announced(&e, false), ProtocolMode::E);
        let a = IdentificationRepr::from_line("KAM MC").expect("ident");
        assert_eq!(ProtocolMode::announced(&a, false), ProtocolMode::A);
        let h = IdentificationRepr::from_line("HAg5eHZ").expect("ident");
        assert!(h.fast_reaction());
        assert!(IdentificationRepr::from_line("IS/5abc").is_err());
    }

    #[test]
    fn test_baud_characters() {
        assert_eq!(baud_of_char(ProtocolMode::C, b'5'), Some(9600));
        assert_eq!(baud_of_char(ProtocolMode::C, b'7'), None);
        assert_eq!(baud_of_char(ProtocolMode::B, b'A'), Some(600));
        assert_eq!(baud_of_char(ProtocolMode::B, b'F'), Some(19200));
        assert_eq!(baud_of_char(ProtocolMode::B, b'0'), None);
        for (i, &rate) in RATES.iter().enumerate() {
            assert_eq!(char_of_baud(ProtocolMode::E, rate), Some(b'0' + i as u8));
        }
        assert_eq!(char_of_baud(ProtocolMode::B, 300), None);
        assert_eq!(char_of_baud(ProtocolMode::B, 4800), Some(b'D'));
    }

    #[test]
    fn test_option_select() {
        let o = OptionSelectRepr::parse(b"\x06050\r\n").expect("ack");
        assert_eq!((o.protocol, o.baud_char, o.option), (b'0', b'5', b'0'));
        assert_eq!(emitted!(o), b"\x06050\r\n");
        assert!(OptionSelectRepr::parse(b"\x0605\r\n").is_err());
        assert!(OptionSelectRepr::parse(b"\x06050\n").is_err());
    }

    #[test]
    fn test_data_message_and_push() {
        let set =
            |c, d, e, v: &str| DataSetRepr::new(Some(Address::numeric(c, d, e)), v, Some("kWh"));
        let m = DataMessageRepr {
            lines: vec![vec![set(1, 8, 0, "1"), set(2, 8, 0, "2")]],
            bang_on_last_line: false,
        };
        let bytes = emitted!(m);
        assert_eq!(
            &bytes[..bytes.len() - 1],
            b"\x021.8.0(1*kWh)2.8.0(2*kWh)\r\n!\r\n\x03"
        );
        assert_eq!(bytes[bytes.len() - 1], bcc(&bytes[1..bytes.len() - 1]));
        let m = DataMessageRepr {
            lines: vec![vec![set(6, 8, 0, "1")]],
            bang_on_last_line: true,
        };
        assert!(emitted!(m).starts_with(b"\x026.8.0(1*kWh)!\r\n\x03"));
        let p = PushRepr {
            identification: IdentificationRepr::from_line("HAG5eHZ").expect("ident"),
            lines: vec![vec![set(1, 8, 0, "1")]],
        };
        assert_eq!(emitted!(p), b"/HAG5eHZ\r\n\r\n1.8.0(1*kWh)\r\n!\r\n");
    }
}
