//! Data sets, data lines and the data block of a readout (IEC 62056-21:2002 §6.6 "Data set
//! structure", §6.5.1 syntax diagram of the readout mode; addresses per IEC 62056-61 §4.5).
//!
//! ```text
//! data block = { data line } "!" CR LF
//! data line  = data set { data set } CR LF
//! data set   = address "(" value [ "*" unit ] ")" { "(" … ")" }
//! ```
//!
//! A line may carry several data sets (`12(12*kWh)13(13*kWh)`); a data set may carry several
//! groups (`1.6.0(3.45*kW)(2301011200)`). The address is an EDIS code (`1.8.0`, `C.1.0`, `F.F`,
//! `32.7`, with a billing-period suffix `1.8.0*12` or `1.8.0&12`) or a full OBIS code
//! (`1-0:1.8.0*255`); [`Address`] turns both into an [`Obis`] id.
//!
//! Real meters are looser than the standard and the parser accepts it: lines may end in CR LF,
//! a lone LF or a lone CR; the `!` may follow the last data set on its line (Kamstrup
//! MULTICAL 66); blanks may follow the last group of a line; groups may hold `/` and be longer
//! than the standard's 128 characters. What it does not accept: bytes outside printable ASCII,
//! a group that is not closed, text after the last group, anything but CR and LF after the `!`.

use std::fmt;
use std::str::FromStr;

use crate::obis::Obis;

/// The letters IEC 62056-61 §4.5 allows for value groups C, D and E of a reduced (EDIS)
/// address: `C` = 96 (general service entries), `F` = 97 (error messages), `L` = 98 (lists),
/// `P` = 99 (data profiles).
pub const LETTER_GROUPS: [(u8, u8); 4] = [(b'C', 96), (b'F', 97), (b'L', 98), (b'P', 99)];

/// How an address was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressForm {
    /// A reduced EDIS address `C.D.E` or `C.D` (A = 1, B = 0 implied), with letter groups and an
    /// optional billing-period suffix.
    Reduced,
    /// A full OBIS address `A-B:C.D.E`, optionally with `*F` or `&F`.
    Full,
}

/// A data set's address as an OBIS id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// The id: a reduced address gets A = 1, B = 0, E = 0 when missing, F = 255 unless a
    /// billing-period suffix gives it.
    pub obis: Obis,
    /// How it was written.
    pub form: AddressForm,
}

/// The text is neither a reduced EDIS address nor a full OBIS address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an EDIS or OBIS address")]
pub struct AddressError(pub String);

impl FromStr for Address {
    type Err = AddressError;

    /// Parses `C.D.E`, `C.D` (groups: 0 to 255, or one of the letters of [`LETTER_GROUPS`]) and
    /// `A-B:C.D.E` (numbers only), each with an optional suffix `*F` or `&F` (0 to 255).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressError(s.to_string());
        let (body, f) = match s.find(['*', '&']) {
            Some(i) => (&s[..i], Some(number(&s[i + 1..]).ok_or_else(err)?)),
            None => (s, None),
        };
        let f = f.unwrap_or(255);
        if let Some((ab, cde)) = body.split_once(':') {
            let (a, b) = ab.split_once('-').ok_or_else(err)?;
            let groups: Vec<&str> = cde.split('.').collect();
            let [c, d, e] = groups.as_slice() else {
                return Err(err());
            };
            let n = |g: &str| number(g).ok_or_else(err);
            return Ok(Address {
                obis: Obis::new(n(a)?, n(b)?, n(c)?, n(d)?, n(e)?, f),
                form: AddressForm::Full,
            });
        }
        let g = |g: &str| group(g).ok_or_else(err);
        let (c, d, e) = match body.split('.').collect::<Vec<_>>().as_slice() {
            [c, d] => (g(c)?, g(d)?, 0),
            [c, d, e] => (g(c)?, g(d)?, g(e)?),
            _ => return Err(err()),
        };
        Ok(Address {
            obis: Obis::new(1, 0, c, d, e, f),
            form: AddressForm::Reduced,
        })
    }
}

/// A decimal value group 0 to 255 of at most 3 digits.
fn number(text: &str) -> Option<u8> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A reduced address group: a number or a letter group.
fn group(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [letter] if letter.is_ascii_uppercase() => LETTER_GROUPS
            .iter()
            .find(|(l, _)| l == letter)
            .map(|&(_, v)| v),
        _ => number(text),
    }
}

/// Why a data line does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// An address (or other text) with no `(` after it.
    #[error("{0:?} has no value group: a data set is `address(value*unit)`")]
    NoGroup(String),
    /// A `(` without its `)`.
    #[error("value group not closed")]
    Unclosed,
    /// A byte outside printable ASCII.
    #[error("byte 0x{0:02X} is not printable ASCII")]
    NotPrintable(u8),
}

/// One data set: an address and its value groups, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSet {
    /// The address as sent; empty in a programming-mode reply `(value)`.
    pub address: String,
    /// The groups without their parentheses, as sent (blanks kept).
    pub groups: Vec<String>,
}

impl DataSet {
    /// Parses one data line (no line ending) into its data sets. Blanks after the last group
    /// are ignored.
    pub fn parse_line(line: &[u8]) -> Result<Vec<DataSet>, LineError> {
        if let Some(&b) = line.iter().find(|&&b| !(0x20..=0x7E).contains(&b)) {
            return Err(LineError::NotPrintable(b));
        }
        let end = line.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        let line = &line[..end];
        let mut sets = Vec::new();
        let mut pos = 0;
        while pos < line.len() {
            let open = match line[pos..].iter().position(|&b| b == b'(') {
                Some(i) => pos + i,
                None => return Err(LineError::NoGroup(ascii(&line[pos..]))),
            };
            let address = &line[pos..open];
            if address.contains(&b')') {
                return Err(LineError::NoGroup(ascii(address)));
            }
            let mut groups = Vec::new();
            pos = open;
            while line.get(pos) == Some(&b'(') {
                let close = line[pos + 1..]
                    .iter()
                    .position(|&b| b == b')' || b == b'(')
                    .map(|i| pos + 1 + i)
                    .filter(|&i| line[i] == b')')
                    .ok_or(LineError::Unclosed)?;
                groups.push(ascii(&line[pos + 1..close]));
                pos = close + 1;
            }
            sets.push(DataSet {
                address: ascii(address),
                groups,
            });
        }
        Ok(sets)
    }

    /// The address as an OBIS id, if it is an EDIS or OBIS address.
    pub fn parse_address(&self) -> Result<Address, AddressError> {
        self.address.parse()
    }

    /// For a data set with exactly one group: the value, i.e. the group up to its first `*`,
    /// blanks around it removed.
    pub fn value(&self) -> Option<&str> {
        match self.groups.as_slice() {
            [g] => Some(split_unit(g).0.trim_matches(' ')),
            _ => None,
        }
    }

    /// For a data set with exactly one group: the unit after the first `*`, as sent; `None`
    /// when there is no `*` or nothing after it (`013925.5*`).
    pub fn unit(&self) -> Option<&str> {
        match self.groups.as_slice() {
            [g] => split_unit(g).1.filter(|u| !u.is_empty()),
            _ => None,
        }
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

impl fmt::Display for DataSet {
    /// `address(g1)(g2)…` as sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.address, self.groups_text())
    }
}

fn split_unit(group: &str) -> (&str, Option<&str>) {
    match group.split_once('*') {
        Some((value, unit)) => (value, Some(unit)),
        None => (group, None),
    }
}

/// Why bytes are not a data block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A line that is not data sets.
    #[error("line {line} {text}: {reason}")]
    Line {
        /// Line number in the block, from 1.
        line: usize,
        /// The line, quoted and escaped, shortened if long.
        text: String,
        /// What is wrong with it.
        reason: LineError,
    },
    /// No `!` ends the block.
    #[error("no '!' ends the data block")]
    NoEnd,
    /// Something other than CR and LF after the `!`.
    #[error("byte 0x{byte:02X} after the '!' that ends the data block")]
    AfterEnd {
        /// The byte.
        byte: u8,
    },
}

/// The data block of a readout: data lines up to the `!` that ends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataBlock {
    /// The non-empty data lines in order, each with its data sets.
    pub lines: Vec<Vec<DataSet>>,
    /// Lines that are not data sets, each with why: a meter (or a hand-edited capture) can
    /// send one bad line in a good readout, and the rest is still worth reading. Not emitted.
    pub bad_lines: Vec<ParseError>,
}

impl DataBlock {
    /// Parses data lines up to the first `!`, after which only CR and LF may follow. Empty
    /// lines are skipped; CR LF, a lone CR and a lone LF each end a line; text before the `!`
    /// on its line is a data line too. A line that is not data sets is kept in `bad_lines`;
    /// only a missing `!` or bytes after it fail the block.
    pub fn parse(bytes: &[u8]) -> Result<DataBlock, ParseError> {
        let bang = bytes
            .iter()
            .position(|&b| b == b'!')
            .ok_or(ParseError::NoEnd)?;
        if let Some(&byte) = bytes[bang + 1..]
            .iter()
            .find(|&&b| b != b'\r' && b != b'\n')
        {
            return Err(ParseError::AfterEnd { byte });
        }
        let mut lines = Vec::new();
        let mut bad_lines = Vec::new();
        for (number, line) in split_lines(&bytes[..bang]).enumerate() {
            match DataSet::parse_line(line) {
                Ok(data_sets) if data_sets.is_empty() => {}
                Ok(data_sets) => lines.push(data_sets),
                Err(reason) => bad_lines.push(ParseError::Line {
                    line: number + 1,
                    text: quote(line),
                    reason,
                }),
            }
        }
        Ok(DataBlock { lines, bad_lines })
    }

    /// Every data set in block order.
    pub fn data_sets(&self) -> impl Iterator<Item = &DataSet> {
        self.lines.iter().flatten()
    }
}

impl fmt::Display for DataBlock {
    /// The block in standard form: each line's data sets, CR LF, then `!` CR LF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            for set in line {
                write!(f, "{set}")?;
            }
            write!(f, "\r\n")?;
        }
        write!(f, "!\r\n")
    }
}

/// The lines of `bytes`: CR LF, a lone CR and a lone LF each end one; the text after the last
/// ending is the last line (possibly empty).
fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.iter().position(|&b| b == b'\r' || b == b'\n') {
            Some(i) => {
                let skip = if current[i..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[i + skip..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Printable ASCII bytes (already checked) as a string.
fn ascii(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

pub(crate) use crate::text::{latin1, quote};

#[cfg(test)]
mod test {
    use super::*;

    /// Landis+Gyr E350 data block, between STX and ETX (saliWd/strommesser,
    /// pico_w/main_measure.py; corpus `landisgyr-e350-mode-c-readout-300bd`).
    static E350_BLOCK: &[u8] = b"F.F(00)\r\n0.0(          120858)\r\nC.1.0(13647123)\r\n\
C.1.1(        )\r\n1.8.1(042951.721*kWh)\r\n1.8.2(018609.568*kWh)\r\n2.8.1(000000.302*kWh)\r\n\
2.8.2(000010.188*kWh)\r\n1.8.0(061561.289*kWh)\r\n2.8.0(000010.490*kWh)\r\n\
15.8.0(061571.780*kWh)\r\nC.7.0(0008)\r\n32.7(241*V)\r\n52.7(243*V)\r\n72.7(242*V)\r\n\
31.7(000.35*A)\r\n51.7(000.52*A)\r\n71.7(000.47*A)\r\n82.8.1(0000)\r\n82.8.2(0000)\r\n\
0.2.0(M26)\r\nC.5.0(0401)\r\n!\r\n";

    fn address(text: &str) -> Result<String, AddressError> {
        text.parse::<Address>().map(|a| a.obis.to_string())
    }

    #[test]
    fn test_addresses() {
        for (text, id) in [
            ("1.8.0", "1-0:1.8.0*255"),
            ("C.1.0", "1-0:96.1.0*255"),
            ("C.1", "1-0:96.1.0*255"),
            ("F.F", "1-0:97.97.0*255"),
            ("32.7", "1-0:32.7.0*255"),
            ("0.0", "1-0:0.0.0*255"),
            ("L.1.P", "1-0:98.1.99*255"),
            ("1.8.0*12", "1-0:1.8.0*12"),
            ("1.8.0&12", "1-0:1.8.0*12"),
            ("1.8.0*101", "1-0:1.8.0*101"),
            ("32.7*01", "1-0:32.7.0*1"),
            ("1-0:1.8.0*255", "1-0:1.8.0*255"),
            ("1-0:96.50.0*0", "1-0:96.50.0*0"),
            ("0-0:96.1.255*255", "0-0:96.1.255*255"),
            ("1-0:1.8.0", "1-0:1.8.0*255"),
            ("1-0:1.8.0&3", "1-0:1.8.0*3"),
        ] {
            assert_eq!(address(text).as_deref(), Ok(id), "{text}");
        }
        assert_eq!(
            "C.1".parse::<Address>().map(|a| a.form),
            Ok(AddressForm::Reduced)
        );
        assert_eq!(
            "1-0:1.8.0".parse::<Address>().map(|a| a.form),
            Ok(AddressForm::Full)
        );
        for bad in [
            "",
            "1",
            "1.8.0.1",
            "X.1.0",
            "c.1.0",
            "1.8.0*",
            "1.8.0*256",
            "1.8.256",
            "1-0:1.8",
            "1-0:C.1.0",
            "1-0:1.8.0*1*2",
            " 1.8.0",
            "1.8.0 ",
            "a-0:1.8.0",
        ] {
            assert!(address(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn test_parse_line() {
        let sets = DataSet::parse_line(b"12(12*kWh)13(13*kWh)").expect("two data sets");
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[1].address, "13");
        assert_eq!(sets[1].value(), Some("13"));
        assert_eq!(sets[1].unit(), Some("kWh"));
        let sets = DataSet::parse_line(b"1.6.0(3.45*kW)(2301011200)  ").expect("two groups");
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].groups, vec!["3.45*kW", "2301011200"]);
        assert_eq!(sets[0].value(), None);
        assert_eq!(sets[0].groups_text(), "(3.45*kW)(2301011200)");
        let sets = DataSet::parse_line(b"0.0(          120858)").expect("padded");
        assert_eq!(sets[0].value(), Some("120858"));
        assert_eq!(sets[0].unit(), None);
        let sets = DataSet::parse_line(b"1.8.0(013925.5*)").expect("empty unit");
        assert_eq!((sets[0].value(), sets[0].unit()), (Some("013925.5"), None));
        let sets = DataSet::parse_line(b"(0033402.264*kWh)").expect("no address");
        assert_eq!(sets[0].address, "");
        assert_eq!(sets[0].to_string(), "(0033402.264*kWh)");
        assert_eq!(DataSet::parse_line(b"   "), Ok(vec![]));
        assert_eq!(DataSet::parse_line(b"1.8.0(1"), Err(LineError::Unclosed));
        assert_eq!(DataSet::parse_line(b"1.8.0(1(2)"), Err(LineError::Unclosed));
        assert_eq!(
            DataSet::parse_line(b"1.8.0(1)xyz"),
            Err(LineError::NoGroup("xyz".into()))
        );
        assert_eq!(
            DataSet::parse_line(b"1.8.0)(1)"),
            Err(LineError::NoGroup("1.8.0)".into()))
        );
        assert_eq!(
            DataSet::parse_line(b"1.8.0(013925.5*)Y\x02"),
            Err(LineError::NotPrintable(0x02))
        );
    }

    #[test]
    fn test_parse_block() {
        let block = DataBlock::parse(E350_BLOCK).expect("parses");
        assert_eq!(block.lines.len(), 22);
        assert_eq!(block.data_sets().count(), 22);
        let c11 = block.data_sets().nth(3).expect("C.1.1");
        assert_eq!((c11.address.as_str(), c11.value()), ("C.1.1", Some("")));
        assert_eq!(block.to_string().as_bytes(), E350_BLOCK);
        // "!" on the line of the last data set (Kamstrup MULTICAL 66), LF-only line endings.
        let block = DataBlock::parse(b"6.26(03052.95*m3)\n6.31(0109868*h)!\r\n").expect("parses");
        assert_eq!(block.lines.len(), 2);
        assert_eq!(block.lines[1][0].unit(), Some("h"));
        assert_eq!(DataBlock::parse(b"!"), Ok(DataBlock::default()));
    }

    #[test]
    fn test_bad_blocks() {
        assert_eq!(DataBlock::parse(b"1.8.0(1)\r\n"), Err(ParseError::NoEnd));
        assert_eq!(
            DataBlock::parse(b"1.8.0(1)\r\n!\r\nx"),
            Err(ParseError::AfterEnd { byte: b'x' })
        );
        // A bad line is kept aside; the other lines parse.
        let block = DataBlock::parse(b"\r\n1.8.0(1)\r\nhello\r\n!").expect("parses");
        assert_eq!(block.lines.len(), 1);
        let [err] = block.bad_lines.as_slice() else {
            panic!("one bad line: {block:?}");
        };
        assert_eq!(
            err.to_string(),
            "line 3 \"hello\": \"hello\" has no value group: a data set is `address(value*unit)`"
        );
    }
}
