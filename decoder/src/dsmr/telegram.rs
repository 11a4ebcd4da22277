//! The DSMR P1 telegram (DSMR P1 Companion Standard 5.0.2 §6.2).
//!
//! ```text
//! /XXXZ Ident CR LF CR LF Data CR LF ... ! CRC CR LF
//! ```
//!
//! `/`, a three-letter manufacturer flag, a baud-rate digit and the identification make the
//! header line; object lines follow (see [`super::object`]); `!` ends the data and is followed by
//! the CRC-16 as four hex digits (absent before DSMR 4). [`Telegram`] is a zero-copy view over
//! one telegram's bytes whose byte ranges are found once by [`Telegram::new_checked`], so no
//! accessor can panic afterwards; [`TelegramRepr`] is its parsed value.
//!
//! Real data is looser than the standard and the view accepts it: the header line may hold any
//! byte except CR and LF (test data carries 0x02 where `\2` was meant), the blank line after the
//! header may be missing (DSMR 2.2 Kamstrup), lines may end in LF only, and the CRC may have
//! fewer than four digits.

use std::fmt;

use super::crc::{self, Crc, CrcCheck};
use super::object::{self, GroupView, GroupsView, LineError, ObjectLine, ObjectView, Scanned};
use crate::obis::Obis;
use crate::text::find_byte;

/// Why bytes are not one telegram.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The first byte is not `/`.
    #[error("a telegram starts with '/'")]
    NoStart,
    /// There is no `!`: the telegram was cut off.
    #[error("no '!' after {len} bytes: the telegram is cut off")]
    NoEnd {
        /// Bytes present.
        len: usize,
    },
    /// After `!`, the 0 to 4 CRC digits are followed by something other than CR and LF.
    #[error("unexpected byte 0x{byte:02X} after the CRC at telegram byte {offset}")]
    TrailingBytes {
        /// Offset of the byte in the telegram.
        offset: usize,
        /// The byte.
        byte: u8,
    },
}

/// A read-only view of one telegram: `/` … `!` and its 0 to 4 CRC digits, optionally followed
/// by CR and LF bytes.
#[derive(Clone, Debug)]
pub struct Telegram<T: AsRef<[u8]>> {
    buffer: T,
    /// End of the identification (index of the CR/LF ending the header line, or of `!`).
    header_end: usize,
    /// Index of `!`.
    bang: usize,
    /// End of the CRC digits.
    crc_end: usize,
}

impl<T: AsRef<[u8]>> Telegram<T> {
    /// Finds the telegram's parts: checks it starts with `/`, has a `!`, and that the CRC digits
    /// after the first `!` (at most 4 hex digits) are followed only by CR and LF.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let bytes = buffer.as_ref();
        if bytes.first() != Some(&b'/') {
            return Err(Error::NoStart);
        }
        let bang = find_byte(b'!', bytes).ok_or(Error::NoEnd { len: bytes.len() })?;
        let digits = bytes[bang + 1..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let crc_end = bang + 1 + digits;
        if let Some(i) = bytes[crc_end..]
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
        {
            return Err(Error::TrailingBytes {
                offset: crc_end + i,
                byte: bytes[crc_end + i],
            });
        }
        let header_end = bytes[..bang]
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(bang);
        Ok(Telegram {
            buffer,
            header_end,
            bang,
            crc_end,
        })
    }

    /// The header line after `/`: manufacturer flag, baud digit and identification
    /// (e.g. `ISK5\2M550T-1012`). Any byte but CR and LF.
    pub fn identification(&self) -> &[u8] {
        &self.buffer.as_ref()[1..self.header_end]
    }

    /// The three-letter manufacturer flag (e.g. `ISK`), if the header has three letters.
    pub fn manufacturer(&self) -> Option<&[u8]> {
        self.identification()
            .get(..3)
            .filter(|f| f.iter().all(u8::is_ascii_alphabetic))
    }

    /// What the CRC covers: every byte from `/` through `!` inclusive.
    pub fn covered(&self) -> &[u8] {
        &self.buffer.as_ref()[..=self.bang]
    }

    /// The data between the header line and `!`, starting with the header's line ending.
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_end..self.bang]
    }

    /// The CRC digits after `!` as sent (0 to 4 hex digits).
    pub fn crc_digits(&self) -> &[u8] {
        &self.buffer.as_ref()[self.bang + 1..self.crc_end]
    }

    /// The telegram's length from `/` through the last CRC digit.
    pub fn len(&self) -> usize {
        self.crc_end
    }

    /// Never true: a telegram has at least `/` and `!`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The CRC the telegram states, if it has one.
    pub fn stated_crc(&self) -> Option<Crc> {
        Crc::from_digits(self.crc_digits())
    }

    /// Checks the stated CRC (see [`crc::check`]); `None` if the telegram has no CRC.
    pub fn check_crc(&self) -> Option<CrcCheck> {
        self.stated_crc()
            .map(|stated| crc::check(self.covered(), stated.value))
    }

    /// The line by which the telegram declares itself DSMR 4 or 5, which must carry a CRC: a
    /// version line `1-3:0.2.8` of 40, 42 or 50, or the e-MUCS version line `0-0:96.1.4`.
    pub fn version_line(&self) -> Option<&[u8]> {
        self.lines().map(|(_, line)| line).find(|line| {
            line.starts_with(b"0-0:96.1.4(")
                || [&b"(40)"[..], b"(42)", b"(50)"]
                    .iter()
                    .any(|v| line.strip_prefix(&b"1-3:0.2.8"[..]) == Some(*v))
        })
    }

    /// The lines after the header line with their line numbers (the header is line 1), empty
    /// lines included. CR LF, a lone LF and a lone CR each end a line.
    pub fn lines(&self) -> Lines<'_> {
        Lines {
            rest: self.body(),
            line: 1,
        }
    }

    /// The data lines after the header, checked and borrowed, in one pass: every object line
    /// with its parsed OBIS id and its value groups, every DSMR 2.2 continuation line, and
    /// for any other non-empty line why it is neither. Empty lines are skipped.
    pub fn objects(&self) -> Objects<'_> {
        let body = self.body();
        Objects {
            body,
            text: std::str::from_utf8(body).ok(),
            pos: 0,
            line: 1,
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// Iterator over a telegram's lines after the header: `(line number, line without its ending)`.
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    /// Starts at a line ending (or is empty).
    rest: &'a [u8],
    line: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = match self.rest {
            [b'\r', b'\n', rest @ ..] | [b'\r', rest @ ..] | [b'\n', rest @ ..] => rest,
            _ => return None,
        };
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        self.line += 1;
        self.rest = &rest[end..];
        Some((self.line, &rest[..end]))
    }
}

/// One data line of a telegram, checked (see [`Telegram::objects`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineView<'a> {
    /// An object line `A-B:C.D.E(g1)(g2)…`.
    Object(ObjectView<'a>),
    /// A line of groups only, `(g)…`: DSMR 2.2 and 3.0 put the gas value of a `0-n:24.3.0`
    /// line on a line of its own, which continues the object before it.
    Continuation(GroupsView<'a>),
}

/// Iterator over the data lines of a telegram: [`Telegram::objects`].
///
/// The well-formed lines, nearly all of them, are read in a single pass over their bytes; a
/// line that pass is unsure of is checked again byte by byte to say what is wrong with it.
#[derive(Clone, Debug)]
pub struct Objects<'a> {
    /// From the header's line ending to `!`.
    body: &'a [u8],
    /// The same as text, if it is UTF-8 (it is when every line is well-formed).
    text: Option<&'a str>,
    /// At a line ending, or at the end of `body`.
    pos: usize,
    /// The number of the line last read (the header is line 1).
    line: usize,
}

impl Objects<'_> {
    /// The line number of the line last returned (the header is line 1).
    pub fn line(&self) -> usize {
        self.line
    }
}

impl<'a> Iterator for Objects<'a> {
    type Item = Result<LineView<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // One line ending: CR LF, a lone CR or a lone LF (as `Lines` reads them).
            let ending = match self.body.get(self.pos..)? {
                [b'\r', b'\n', ..] => 2,
                [b'\r' | b'\n', ..] => 1,
                _ => return None,
            };
            self.pos += ending;
            self.line += 1;
            let start = self.pos;
            match self.body.get(start) {
                None | Some(b'\r' | b'\n') => continue,
                Some(_) => {}
            }
            if let Some(text) = self.text.and_then(|t| t.get(start..)) {
                match object::scan_line(text) {
                    Scanned::Object(view, len) => {
                        self.pos = start + len;
                        return Some(Ok(LineView::Object(view)));
                    }
                    Scanned::Continuation(groups, len) => {
                        self.pos = start + len;
                        return Some(Ok(LineView::Continuation(groups)));
                    }
                    Scanned::Unsure => {}
                }
            }
            let line = &self.body[start..];
            let end = line
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .unwrap_or(line.len());
            let line = &line[..end];
            self.pos = start + end;
            let checked = if line.first() == Some(&b'(') {
                object::check_groups(line).map(LineView::Continuation)
            } else {
                object::check_line(line)
                    .map(|(obis, groups)| LineView::Object(ObjectView::new(obis, groups)))
            };
            return Some(checked.map_err(|e| ParseError {
                line: self.line,
                text: quote(line),
                reason: e.into(),
            }));
        }
    }
}

/// A line of a telegram that is not an object line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line} {text}: {reason}")]
pub struct ParseError {
    /// Line number in the telegram (the header is line 1).
    pub line: usize,
    /// The line, quoted and escaped, shortened if long.
    pub text: String,
    /// What is wrong with it.
    pub reason: ParseErrorReason,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorReason {
    /// Not `A-B:C.D.E(…)`.
    #[error(transparent)]
    Line(#[from] LineError),
    /// A continuation line `(…)` with no object line before it.
    #[error("continuation line with no object line before it")]
    OrphanContinuation,
}

/// The parsed content of a telegram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramRepr {
    /// The header line after `/` (manufacturer flag, baud digit, identification). Bytes outside
    /// ASCII are mapped one to one to U+0080..U+00FF.
    pub identification: String,
    /// The object lines in telegram order, DSMR 2.2 continuation lines appended to the object
    /// before them.
    pub lines: Vec<ObjectLine>,
    /// The CRC the telegram states (not checked here; see [`Telegram::check_crc`]).
    pub crc: Option<Crc>,
}

impl TelegramRepr {
    /// Parses every line after the header. Empty lines are skipped; any other line must be an
    /// object line or a continuation `(…)` of the object before it.
    pub fn parse<T: AsRef<[u8]>>(telegram: &Telegram<T>) -> Result<TelegramRepr, ParseError> {
        let (repr, bad) = Self::parse_lenient(telegram);
        match bad.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(repr),
        }
    }

    /// Parses every line it can: a line that is not an object line (or a continuation without
    /// an object before it) is left out and returned with why. For analysing a telegram whose
    /// CRC already failed (`--ignore-crc`); a telegram with a good CRC uses [`Self::parse`].
    pub fn parse_lenient<T: AsRef<[u8]>>(
        telegram: &Telegram<T>,
    ) -> (TelegramRepr, Vec<ParseError>) {
        let (list, bad) = ObjectList::parse_lenient(telegram);
        let lines = list
            .iter()
            .map(|(obis, groups)| ObjectLine {
                obis,
                groups: groups.iter().map(|g| g.as_str().to_string()).collect(),
            })
            .collect();
        let repr = TelegramRepr {
            identification: latin1(telegram.identification()),
            lines,
            crc: telegram.stated_crc(),
        };
        (repr, bad)
    }
}

/// A telegram's object lines, borrowed from it: every object's id and its value groups, DSMR
/// 2.2 continuation lines appended to the object before them. What [`TelegramRepr`] holds,
/// without a copy; [`TelegramRepr`] and the reading are built from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectList<'a> {
    /// Each object's id and the range of its groups in `groups`.
    objects: Vec<(Obis, usize, usize)>,
    /// Every object's groups, in telegram order.
    groups: Vec<GroupView<'a>>,
}

impl<'a> ObjectList<'a> {
    /// The object lines of `telegram`, or the first line that is neither an object line nor
    /// the continuation of one.
    pub fn parse<T: AsRef<[u8]>>(telegram: &'a Telegram<T>) -> Result<Self, ParseError> {
        let mut list = ObjectList::with_capacity(telegram.body().len());
        let mut objects = telegram.objects();
        while let Some(item) = objects.next() {
            list.push(item, objects.line())?;
        }
        Ok(list)
    }

    /// Every object line that can be read, and why each other line could not (see
    /// [`TelegramRepr::parse_lenient`]).
    pub fn parse_lenient<T: AsRef<[u8]>>(telegram: &'a Telegram<T>) -> (Self, Vec<ParseError>) {
        let mut list = ObjectList::with_capacity(telegram.body().len());
        let mut bad = Vec::new();
        let mut objects = telegram.objects();
        while let Some(item) = objects.next() {
            if let Err(e) = list.push(item, objects.line()) {
                bad.push(e);
            }
        }
        (list, bad)
    }

    /// Room for the lines of a body of `len` bytes (a DSMR 5 object line is 15 to 30 bytes).
    fn with_capacity(len: usize) -> Self {
        ObjectList {
            objects: Vec::with_capacity(len / 16),
            groups: Vec::with_capacity(len / 12),
        }
    }

    /// Adds one item of [`Objects`], read from line `line`.
    fn push(
        &mut self,
        item: Result<LineView<'a>, ParseError>,
        line: usize,
    ) -> Result<(), ParseError> {
        match item? {
            LineView::Object(view) => {
                let start = self.groups.len();
                let groups = view.groups();
                // Most lines hold one group: no iterator for those.
                if groups.len() == 1 {
                    self.groups.push(groups.first());
                } else {
                    self.groups.extend(groups);
                }
                self.objects.push((view.obis(), start, self.groups.len()));
            }
            LineView::Continuation(groups) => {
                let Some(last) = self.objects.last_mut() else {
                    return Err(ParseError {
                        line,
                        text: quote(groups.as_str().as_bytes()),
                        reason: ParseErrorReason::OrphanContinuation,
                    });
                };
                // The last object's groups are the last ones: append after them.
                self.groups.extend(groups);
                last.2 = self.groups.len();
            }
        }
        Ok(())
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Number of groups of all objects (at least the number of values they give).
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The objects in telegram order: id and groups.
    pub fn iter(&self) -> impl Iterator<Item = (Obis, &[GroupView<'a>])> + '_ {
        self.objects
            .iter()
            .map(|&(obis, start, end)| (obis, self.groups.get(start..end).unwrap_or(&[])))
    }
}

impl fmt::Display for TelegramRepr {
    /// The telegram in DSMR form with CR LF line endings and the CRC as it was stated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}\r\n\r\n", self.identification)?;
        for line in &self.lines {
            write!(f, "{line}\r\n")?;
        }
        match self.crc {
            Some(c) => write!(f, "!{:0width$X}\r\n", c.value, width = c.digits as usize),
            None => write!(f, "!\r\n"),
        }
    }
}

pub(crate) use crate::text::{latin1, quote};

#[cfg(test)]
mod test {
    use super::*;
    use crate::obis::Obis;

    /// Iskra AM550 telegram with a power-failure log (nielsbasjes/dsmr-tools,
    /// TestDsmrParserOnPowerFailure.java), CRC 46B4.
    static TELEGRAM: &[u8] = b"/ISK5\\2M550T-1012\r\n\r\n\
1-3:0.2.8(50)\r\n\
0-0:1.0.0(220528151729S)\r\n\
0-0:96.1.1(4530303434303037313331363530363138)\r\n\
1-0:1.8.1(016366.258*kWh)\r\n\
1-0:1.8.2(013315.593*kWh)\r\n\
1-0:2.8.1(002435.025*kWh)\r\n\
1-0:2.8.2(006153.962*kWh)\r\n\
0-0:96.14.0(0001)\r\n\
1-0:1.7.0(00.000*kW)\r\n\
1-0:2.7.0(00.098*kW)\r\n\
0-0:96.7.21(00005)\r\n\
0-0:96.7.9(00004)\r\n\
1-0:99.97.0(2)(0-0:96.7.19)(180417201458S)(0000000236*s)(220525094346S)(0000002936*s)\r\n\
1-0:32.32.0(00004)\r\n\
1-0:52.32.0(00003)\r\n\
1-0:72.32.0(00003)\r\n\
1-0:32.36.0(00001)\r\n\
1-0:52.36.0(00001)\r\n\
1-0:72.36.0(00001)\r\n\
0-0:96.13.0()\r\n\
1-0:32.7.0(238.3*V)\r\n\
1-0:52.7.0(237.1*V)\r\n\
1-0:72.7.0(237.7*V)\r\n\
1-0:31.7.0(000*A)\r\n\
1-0:51.7.0(003*A)\r\n\
1-0:71.7.0(003*A)\r\n\
1-0:21.7.0(00.054*kW)\r\n\
1-0:41.7.0(00.000*kW)\r\n\
1-0:61.7.0(00.631*kW)\r\n\
1-0:22.7.0(00.000*kW)\r\n\
1-0:42.7.0(00.842*kW)\r\n\
1-0:62.7.0(00.000*kW)\r\n\
!46B4\r\n";

    /// DSMR 2.2 Kamstrup telegram without the blank line after the header and without a CRC
    /// (nielsbasjes/dsmr-tools, TestDsmrParserOnRealDSMR2.java line 330).
    static DSMR22: &[u8] = b"/KMP5 ZABF001587315111\r\n\
0-0:96.1.1(5A424556303035303931323037363132)\r\n\
1-0:1.8.1(00185.000*kWh)\r\n\
0-1:24.3.0(120517020000)(08)(60)(1)(0-1:24.2.1)(m3)\r\n\
(00124.477)\r\n\
0-1:24.4.0(1)\r\n\
!\r\n";

    #[test]
    fn test_parse() {
        let telegram = Telegram::new_checked(TELEGRAM).expect("valid telegram");
        assert_eq!(telegram.identification(), b"ISK5\\2M550T-1012");
        assert_eq!(telegram.manufacturer(), Some(&b"ISK"[..]));
        assert_eq!(telegram.crc_digits(), b"46B4");
        assert_eq!(telegram.len(), TELEGRAM.len() - 2);
        assert_eq!(telegram.check_crc(), Some(CrcCheck::Arc));
        assert_eq!(telegram.version_line(), Some(&b"1-3:0.2.8(50)"[..]));
        let repr = TelegramRepr::parse(&telegram).expect("parses");
        assert_eq!(repr.identification, "ISK5\\2M550T-1012");
        assert_eq!(repr.lines.len(), 32);
        assert_eq!(repr.lines[0].obis, Obis::reduced(1, 3, 0, 2, 8));
        assert_eq!(repr.lines[12].obis, Obis::reduced(1, 0, 99, 97, 0));
        assert_eq!(repr.lines[12].groups.len(), 6);
        assert_eq!(
            repr.crc,
            Some(Crc {
                value: 0x46B4,
                digits: 4
            })
        );
        assert_eq!(repr.to_string().as_bytes(), TELEGRAM);
    }

    #[test]
    fn test_dsmr22_continuation() {
        let telegram = Telegram::new_checked(DSMR22).expect("valid telegram");
        assert_eq!(telegram.check_crc(), None);
        assert_eq!(telegram.version_line(), None);
        let repr = TelegramRepr::parse(&telegram).expect("parses");
        assert_eq!(repr.lines.len(), 4);
        assert_eq!(repr.lines[2].groups.len(), 7);
        assert_eq!(repr.lines[2].groups[6], "00124.477");
    }

    #[test]
    fn test_bad_crc() {
        let mut bytes = TELEGRAM.to_vec();
        let at = bytes.len() - 3;
        bytes[at] = b'5';
        let telegram = Telegram::new_checked(&bytes[..]).expect("still a telegram");
        assert_eq!(
            telegram.check_crc(),
            Some(CrcCheck::Mismatch { computed: 0x46B4 })
        );
        // A changed body byte.
        let mut bytes = TELEGRAM.to_vec();
        // A digit of the timestamp: '2' becomes '3'.
        assert_eq!(bytes[50], b'2');
        bytes[50] ^= 0x01;
        let telegram = Telegram::new_checked(&bytes[..]).expect("still a telegram");
        assert!(matches!(
            telegram.check_crc(),
            Some(CrcCheck::Mismatch { .. })
        ));
    }

    #[test]
    fn test_impossible_len() {
        assert_eq!(Telegram::new_checked(&b""[..]).err(), Some(Error::NoStart));
        assert_eq!(Telegram::new_checked(&b"!"[..]).err(), Some(Error::NoStart));
        assert_eq!(
            Telegram::new_checked(&TELEGRAM[..100]).err(),
            Some(Error::NoEnd { len: 100 })
        );
        let tiny = Telegram::new_checked(&b"/!"[..]).expect("smallest telegram");
        assert_eq!(tiny.identification(), b"");
        assert_eq!(tiny.lines().count(), 0);
        assert_eq!(
            Telegram::new_checked(&b"/ABC5\r\n!12345"[..]).err(),
            Some(Error::TrailingBytes {
                offset: 12,
                byte: b'5'
            })
        );
        assert_eq!(
            Telegram::new_checked(&b"/ABC5\r\n!12\r\nx"[..]).err(),
            Some(Error::TrailingBytes {
                offset: 12,
                byte: b'x'
            })
        );
    }

    #[test]
    fn test_lines_and_header_bytes() {
        let telegram =
            Telegram::new_checked(&b"/ISk5\x02MIE5T-200\n\n1-0:1.8.1(1)\r0-0:96.13.0()\r\n!"[..])
                .expect("valid");
        assert_eq!(telegram.identification(), b"ISk5\x02MIE5T-200");
        let lines: Vec<_> = telegram.lines().collect();
        assert_eq!(
            lines,
            vec![
                (2, &b""[..]),
                (3, &b"1-0:1.8.1(1)"[..]),
                (4, &b"0-0:96.13.0()"[..]),
                (5, &b""[..])
            ]
        );
        let repr = TelegramRepr::parse(&telegram).expect("parses");
        assert_eq!(repr.identification, "ISk5\u{2}MIE5T-200");
    }

    #[test]
    fn test_malformed_line() {
        let telegram =
            Telegram::new_checked(&b"/ABC5\r\n\r\n1-0:1.8.1(1)\r\nhello\r\n!"[..]).expect("valid");
        let err = TelegramRepr::parse(&telegram).expect_err("line 4 is not an object");
        assert_eq!(err.line, 4);
        assert_eq!(err.text, "\"hello\"");
        assert_eq!(
            err.to_string(),
            "line 4 \"hello\": no value group: an object line is `A-B:C.D.E(value)`"
        );
        let telegram = Telegram::new_checked(&b"/ABC5\r\n(1)\r\n!"[..]).expect("valid");
        assert_eq!(
            TelegramRepr::parse(&telegram).map_err(|e| e.reason),
            Err(ParseErrorReason::OrphanContinuation)
        );
    }
}
