//! DSMR P1 telegram emission (P1 Companion Standard 5.0.2 §6.2, 4.2.2 §6, DSMR 2.2 and 3.0).
//!
//! `/XXXZ ident CR LF CR LF` · object lines `A-B:C.D.E(value)(value)… CR LF` · `!CRC CR LF`.
//! The CRC is CRC-16/ARC over every byte from `/` through `!`, four upper-case hex digits; DSMR 2.2
//! and 3.0 send none. [`TelegramRepr`] is the emit half of the decoder's type of the same name.

use meterlab_decoder::Obis;

/// CRC-16/ARC (DSMR 4 and 5) and CRC-16/X-25 (the variant some non-conforming meters, e.g.
/// Holley DTSD545, send).
pub use crate::crc::{CRC_ARC, CRC_X25};

/// How a DSMR telegram ends (the `crc:` option of DSMR profiles).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrcStyle {
    /// `!` then CR LF: DSMR 2.2 and 3.0.
    None,
    /// CRC-16/ARC as four upper-case hex digits (DSMR 4 and 5).
    #[default]
    Arc,
    /// CRC-16/ARC without leading zeros (`!B9F`, NWA warmtelink).
    Unpadded,
    /// CRC-16/X-25 as four hex digits (Holley).
    X25,
}

/// One object line: `A-B:C.D.E(g1)(g2)…`, optionally followed by a DSMR 2.2 continuation line
/// `(g)` that carries the value of an M-Bus reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLine {
    /// The object's id; written in reduced form (F omitted).
    pub obis: Obis,
    /// The value groups, without parentheses.
    pub groups: Vec<String>,
    /// Groups written on the next line (DSMR 2.2/3.0 `24.3.0` value).
    pub continuation: Vec<String>,
}

impl ObjectLine {
    /// A line with one group.
    pub fn new(obis: Obis, group: impl Into<String>) -> Self {
        ObjectLine {
            obis,
            groups: vec![group.into()],
            continuation: Vec::new(),
        }
    }

    /// A line with several groups.
    pub fn groups(obis: Obis, groups: Vec<String>) -> Self {
        ObjectLine {
            obis,
            groups,
            continuation: Vec::new(),
        }
    }
}

/// A telegram as the meter composes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramRepr {
    /// The identification line after `/`: manufacturer flag, baud character and ident
    /// (`ISk5\2MT382-1000`).
    pub identification: String,
    /// Whether an empty line follows the identification (some DSMR 2.2 Kamstrups omit it).
    pub blank_line: bool,
    /// The object lines in order.
    pub lines: Vec<ObjectLine>,
    /// How the telegram ends.
    pub crc: CrcStyle,
}

impl TelegramRepr {
    /// Appends the telegram bytes, from `/` through the final CR LF, to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(self.buffer_len());
        out.push(b'/');
        out.extend_from_slice(self.identification.as_bytes());
        out.extend_from_slice(b"\r\n");
        if self.blank_line {
            out.extend_from_slice(b"\r\n");
        }
        for line in &self.lines {
            out.extend_from_slice(line.obis.to_reduced_string().as_bytes());
            for g in &line.groups {
                out.push(b'(');
                out.extend_from_slice(g.as_bytes());
                out.push(b')');
            }
            out.extend_from_slice(b"\r\n");
            if !line.continuation.is_empty() {
                for g in &line.continuation {
                    out.push(b'(');
                    out.extend_from_slice(g.as_bytes());
                    out.push(b')');
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out.push(b'!');
        let covered = &out[start..];
        let crc = match self.crc {
            CrcStyle::None => String::new(),
            CrcStyle::Arc => format!("{:04X}", CRC_ARC.checksum(covered)),
            CrcStyle::Unpadded => format!("{:X}", CRC_ARC.checksum(covered)),
            CrcStyle::X25 => format!("{:04X}", CRC_X25.checksum(covered)),
        };
        out.extend_from_slice(crc.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// The length of [`emit`](Self::emit)'s output (an upper bound for [`CrcStyle::Unpadded`]).
    pub fn buffer_len(&self) -> usize {
        let lines: usize = self
            .lines
            .iter()
            .map(|l| {
                let groups = |g: &[String]| g.iter().map(|g| g.len() + 2).sum::<usize>();
                let cont = if l.continuation.is_empty() {
                    0
                } else {
                    groups(&l.continuation) + 2
                };
                l.obis.to_reduced_string().len() + groups(&l.groups) + 2 + cont
            })
            .sum();
        let crc = match self.crc {
            CrcStyle::None => 0,
            _ => 4,
        };
        1 + self.identification.len()
            + 2
            + if self.blank_line { 2 } else { 0 }
            + lines
            + 1
            + crc
            + 2
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The minimal telegram of nielsbasjes/dsmr-tools (TestDsmrParser, CRC 8AF2 verified there).
    static MINIMAL: &[u8] = b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n!";

    #[test]
    fn test_crc_check_values() {
        assert_eq!(CRC_ARC.checksum(b"123456789"), 0xBB3D);
        assert_eq!(CRC_X25.checksum(b"123456789"), 0x906E);
    }

    #[test]
    fn test_emit() {
        let t = TelegramRepr {
            identification: "ISk5\\2MT382-1000".into(),
            blank_line: true,
            lines: vec![ObjectLine::new(Obis::reduced(1, 3, 0, 2, 8), "50")],
            crc: CrcStyle::Arc,
        };
        let mut bytes = Vec::new();
        t.emit(&mut bytes);
        assert!(bytes.starts_with(MINIMAL));
        assert_eq!(
            &bytes[MINIMAL.len()..],
            format!("{:04X}\r\n", CRC_ARC.checksum(MINIMAL)).as_bytes()
        );
        assert_eq!(bytes.len(), t.buffer_len());
    }

    #[test]
    fn test_emit_continuation_and_no_crc() {
        let t = TelegramRepr {
            identification: "ISk5MT382-1004".into(),
            blank_line: false,
            lines: vec![ObjectLine {
                obis: Obis::reduced(0, 1, 24, 3, 0),
                groups: vec![
                    "161107190000".into(),
                    "00".into(),
                    "60".into(),
                    "1".into(),
                    "0-1:24.2.1".into(),
                    "m3".into(),
                ],
                continuation: vec!["00001.001".into()],
            }],
            crc: CrcStyle::None,
        };
        let mut bytes = Vec::new();
        t.emit(&mut bytes);
        assert_eq!(
            bytes,
            b"/ISk5MT382-1004\r\n0-1:24.3.0(161107190000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.001)\r\n!\r\n"
        );
        assert_eq!(bytes.len(), t.buffer_len());
    }

    #[test]
    fn test_unpadded_crc() {
        let mut t = TelegramRepr {
            identification: "NWA-WARMTELINK".into(),
            blank_line: true,
            lines: vec![],
            crc: CrcStyle::Unpadded,
        };
        // Search a line content whose CRC has a leading zero nibble, as warmtelink's B9F.
        for i in 0..1000u32 {
            t.lines = vec![ObjectLine::new(
                Obis::reduced(0, 0, 96, 13, 0),
                format!("{i:04}"),
            )];
            let mut bytes = Vec::new();
            t.emit(&mut bytes);
            let bang = bytes.iter().rposition(|&b| b == b'!').expect("has !");
            let crc = CRC_ARC.checksum(&bytes[..=bang]);
            if crc < 0x1000 {
                assert_eq!(&bytes[bang + 1..], format!("{crc:X}\r\n").as_bytes());
                assert!(
                    bytes.len() < t.buffer_len(),
                    "buffer_len is an upper bound for unpadded CRCs"
                );
                return;
            }
        }
        panic!("no CRC below 0x1000 in 1000 tries");
    }
}
