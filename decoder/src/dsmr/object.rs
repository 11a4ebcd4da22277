//! COSEM object lines of a DSMR telegram (DSMR P1 Companion Standard 5.0.2 §6.2).
//!
//! A data line is a reduced OBIS id followed by one or more value groups:
//! `A-B:C.D.E(g1)(g2)…`, e.g. `1-0:1.8.1(000004.426*kWh)` or
//! `0-1:24.2.1(170102161005W)(00000.107*m3)`. DSMR 2.2 and 3.0 put the gas value on a line of
//! its own that holds only groups, `(00001.001)`, continuing the `0-n:24.3.0` line before it;
//! [`parse_groups`] reads such a line so the caller can append it to the previous object.

use std::fmt;

use crate::obis::Obis;

/// One object line: an OBIS id and its value groups, as sent (without the parentheses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLine {
    /// The object's id; a reduced DSMR id has F = 255.
    pub obis: Obis,
    /// The groups in order, without their parentheses; continuation lines are appended.
    pub groups: Vec<String>,
}

/// Why a line is not an object line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line has no `(`.
    #[error("no value group: an object line is `A-B:C.D.E(value)`")]
    NoGroup,
    /// The text before the first `(` is not an OBIS id.
    #[error("{0:?} is not an OBIS id")]
    BadId(String),
    /// A `(` without its `)`.
    #[error("value group not closed")]
    Unclosed,
    /// Text between or after the groups.
    #[error("unexpected text after a value group")]
    TrailingText,
    /// A byte that is not printable ASCII.
    #[error("byte 0x{0:02X} is not printable ASCII")]
    NotAscii(u8),
}

impl ObjectLine {
    /// Parses `A-B:C.D.E(g1)(g2)…` (no line ending).
    pub fn parse(line: &[u8]) -> Result<ObjectLine, LineError> {
        check_printable(line)?;
        let open = line
            .iter()
            .position(|&b| b == b'(')
            .ok_or(LineError::NoGroup)?;
        let id = &line[..open];
        let obis = Obis::parse_ascii(id).ok_or_else(|| LineError::BadId(ascii(id)))?;
        let groups = parse_groups_checked(&line[open..])?;
        Ok(ObjectLine { obis, groups })
    }

    /// The groups as sent: `(g1)(g2)…`.
    pub fn groups_text(&self) -> String {
        let mut s = String::new();
        for g in &self.groups {
            s.push('(');
            s.push_str(g);
            s.push(')');
        }
        s
    }
}

impl fmt::Display for ObjectLine {
    /// The line in DSMR form: reduced id when F = 255, then the groups.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.obis.f() == 255 {
            write!(f, "{}{}", self.obis.to_reduced_string(), self.groups_text())
        } else {
            write!(f, "{}{}", self.obis, self.groups_text())
        }
    }
}

/// Parses one or more groups `(g1)(g2)…` filling the whole of `text` (an object line after its
/// id, or a DSMR 2.2 continuation line). A group holds any printable ASCII except parentheses.
pub fn parse_groups(text: &[u8]) -> Result<Vec<String>, LineError> {
    check_printable(text)?;
    parse_groups_checked(text)
}

/// [`parse_groups`] on text already checked to be printable.
fn parse_groups_checked(text: &[u8]) -> Result<Vec<String>, LineError> {
    let mut groups = Vec::new();
    let mut rest = text;
    while let Some((&first, after)) = rest.split_first() {
        if first != b'(' {
            return Err(LineError::TrailingText);
        }
        let close = after
            .iter()
            .position(|&b| b == b')' || b == b'(')
            .ok_or(LineError::Unclosed)?;
        if after[close] == b'(' {
            return Err(LineError::Unclosed);
        }
        groups.push(ascii(&after[..close]));
        rest = &after[close + 1..];
    }
    if groups.is_empty() {
        return Err(LineError::NoGroup);
    }
    Ok(groups)
}

fn check_printable(bytes: &[u8]) -> Result<(), LineError> {
    match bytes.iter().find(|&&b| !(0x20..=0x7E).contains(&b)) {
        Some(&b) => Err(LineError::NotAscii(b)),
        None => Ok(()),
    }
}

/// Bytes already checked to be printable ASCII, as a string (one copy, no per-byte work).
fn ascii(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod test {
    use super::*;

    /// Power-failure log line of an Iskra AM550 (nielsbasjes/dsmr-tools,
    /// TestDsmrParserOnPowerFailure).
    static LOG_LINE: &[u8] =
        b"1-0:99.97.0(2)(0-0:96.7.19)(180417201458S)(0000000236*s)(220525094346S)(0000002936*s)";

    #[test]
    fn test_parse() {
        let line = ObjectLine::parse(b"1-0:1.8.1(000004.426*kWh)").expect("valid line");
        assert_eq!(line.obis, Obis::reduced(1, 0, 1, 8, 1));
        assert_eq!(line.groups, vec!["000004.426*kWh".to_string()]);
        assert_eq!(line.to_string(), "1-0:1.8.1(000004.426*kWh)");

        let log = ObjectLine::parse(LOG_LINE).expect("valid line");
        assert_eq!(log.groups.len(), 6);
        assert_eq!(log.groups[1], "0-0:96.7.19");
        assert_eq!(log.to_string().as_bytes(), LOG_LINE);

        let empty = ObjectLine::parse(b"0-0:96.13.0()").expect("valid line");
        assert_eq!(empty.groups, vec![String::new()]);
    }

    #[test]
    fn test_continuation() {
        assert_eq!(
            parse_groups(b"(00001.001)"),
            Ok(vec!["00001.001".to_string()])
        );
        assert_eq!(parse_groups(b""), Err(LineError::NoGroup));
    }

    #[test]
    fn test_malformed() {
        assert_eq!(ObjectLine::parse(b"1-0:1.8.1"), Err(LineError::NoGroup));
        assert_eq!(
            ObjectLine::parse(b"1-0:1.8(5)"),
            Err(LineError::BadId("1-0:1.8".into()))
        );
        assert_eq!(
            ObjectLine::parse(b"1-0:32.32.0(0"),
            Err(LineError::Unclosed)
        );
        assert_eq!(
            ObjectLine::parse(b"1-0:1.8.1(1)(2"),
            Err(LineError::Unclosed)
        );
        assert_eq!(
            ObjectLine::parse(b"1-0:1.8.1((1)"),
            Err(LineError::Unclosed)
        );
        assert_eq!(
            ObjectLine::parse(b"1-0:1.8.1(1) "),
            Err(LineError::TrailingText)
        );
        assert_eq!(
            ObjectLine::parse(b"1-0:1.8.1(1\xb2)"),
            Err(LineError::NotAscii(0xB2))
        );
    }
}
