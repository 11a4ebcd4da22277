//! COSEM object lines of a DSMR telegram (DSMR P1 Companion Standard 5.0.2 §6.2).
//!
//! A data line is a reduced OBIS id followed by one or more value groups:
//! `A-B:C.D.E(g1)(g2)…`, e.g. `1-0:1.8.1(000004.426*kWh)` or
//! `0-1:24.2.1(170102161005W)(00000.107*m3)`. DSMR 2.2 and 3.0 put the gas value on a line of
//! its own that holds only groups, `(00001.001)`, continuing the `0-n:24.3.0` line before it;
//! [`parse_groups`] reads such a line so the caller can append it to the previous object.
//!
//! The zero-copy side (smoltcp `wire` style): [`ObjectView`] (the parsed OBIS id and a
//! [`GroupsView`]) and [`GroupView`] (one group, read on demand as a number with its unit or as a
//! timestamp), as `Telegram::objects` yields them; [`ObjectLine`] is the owned value. One set of
//! rules checks a line: [`check_line`] and [`check_groups`] byte by byte, and a single pass over
//! the bytes for the common case, which defers to them wherever it is unsure.

use std::fmt;

use crate::decimal::Decimal;
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
        let (obis, groups) = check_line(line)?;
        Ok(ObjectLine {
            obis,
            groups: groups.iter().map(|g| g.as_str().to_string()).collect(),
        })
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

/// One object line, borrowed from the telegram and checked: its OBIS id, parsed, and its value
/// groups as sent. The zero-copy counterpart of [`ObjectLine`] (which owns its groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectView<'a> {
    obis: Obis,
    groups: GroupsView<'a>,
}

impl<'a> ObjectView<'a> {
    pub(crate) fn new(obis: Obis, groups: GroupsView<'a>) -> Self {
        ObjectView { obis, groups }
    }

    /// The object's id; a reduced DSMR id has F = 255.
    pub fn obis(&self) -> Obis {
        self.obis
    }

    /// Its value groups (one or more).
    pub fn groups(&self) -> GroupsView<'a> {
        self.groups
    }
}

/// The value groups of one line, `(g1)(g2)…`, checked: one or more groups of printable ASCII
/// without parentheses, and nothing else. Borrowed from the telegram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupsView<'a> {
    /// `(g1)(g2)…` as sent.
    text: &'a str,
    /// How many groups (at least one).
    count: usize,
}

impl<'a> GroupsView<'a> {
    /// The groups as sent, with their parentheses: `(g1)(g2)…`.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The groups in order, without their parentheses.
    pub fn iter(&self) -> Groups<'a> {
        Groups {
            rest: self.text,
            left: self.count,
        }
    }

    /// How many groups there are (at least one).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Never true: a line has at least one group.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The first group (there is always one).
    pub fn first(&self) -> GroupView<'a> {
        self.iter().next().unwrap_or(GroupView { text: "" })
    }
}

impl<'a> IntoIterator for GroupsView<'a> {
    type Item = GroupView<'a>;
    type IntoIter = Groups<'a>;

    fn into_iter(self) -> Groups<'a> {
        self.iter()
    }
}

/// Iterator over the groups of a [`GroupsView`].
#[derive(Clone, Debug)]
pub struct Groups<'a> {
    /// `(g)(g)…` still to come, or empty.
    rest: &'a str,
    /// How many groups `rest` holds.
    left: usize,
}

impl<'a> Iterator for Groups<'a> {
    type Item = GroupView<'a>;

    #[inline]
    fn next(&mut self) -> Option<GroupView<'a>> {
        // Checked: `(`, a group without parentheses, `)`, and so on. The last group is all that
        // is left; before it, groups are short: a plain loop finds the `)` sooner than memchr.
        if self.left <= 1 {
            let text = self.rest.get(1..self.rest.len().checked_sub(1)?)?;
            self.rest = "";
            self.left = 0;
            return Some(GroupView { text });
        }
        self.left -= 1;
        let inner = self.rest.get(1..)?;
        let close = inner.bytes().position(|b| b == b')')?;
        let text = inner.get(..close)?;
        self.rest = inner.get(close + 1..)?;
        Some(GroupView { text })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Groups<'_> {}

/// One value group without its parentheses, as sent (`000004.426*kWh`, `230101120000W`,
/// `0-0:96.7.19`): borrowed text, read on demand as a number with its unit, or a timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupView<'a> {
    text: &'a str,
}

impl<'a> GroupView<'a> {
    /// The group as sent.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The group split at its first `*` into the value and the unit: `Some(unit)` when a
    /// non-empty unit follows. `000004.426*kWh` gives `("000004.426", Some("kWh"))`; a `*`
    /// with nothing after it leaves no value (`("", None)`), which is no number.
    pub fn value_and_unit(&self) -> (&'a str, Option<&'a str>) {
        match self.text.split_once('*') {
            Some((v, unit)) if !unit.is_empty() => (v, Some(unit)),
            Some(_) => ("", None),
            None => (self.text, None),
        }
    }

    /// The value as a number, if it is exactly `[+-]digits[.digits]` (see
    /// [`value_and_unit`](Self::value_and_unit) for the unit).
    pub fn number(&self) -> Option<Decimal> {
        self.number_and_unit().0
    }

    /// The value as a number and the unit: [`value_and_unit`](Self::value_and_unit) with the
    /// value through [`parse_number`], in one pass over the
    /// bytes for the usual `[+-]digits[.digits][*unit]` of up to 19 digits.
    #[inline]
    pub fn number_and_unit(&self) -> (Option<Decimal>, Option<&'a str>) {
        let bytes = self.text.as_bytes();
        let len = bytes.len();
        let (negative, mut i) = match bytes.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let mut mantissa: u64 = 0;
        let int_start = i;
        i = digits(bytes, i, &mut mantissa);
        let int_len = i - int_start;
        let mut frac_len = 0;
        if i < len && bytes[i] == b'.' {
            i += 1;
            let frac_start = i;
            i = digits(bytes, i, &mut mantissa);
            frac_len = i - frac_start;
            if frac_len == 0 {
                // `12.` is no number; the slow path says so.
                frac_len = usize::MAX;
            }
        }
        if int_len > 0 && int_len.saturating_add(frac_len) <= 19 {
            // Up to 19 digits: no overflow of `u64`.
            let m = i128::from(mantissa);
            let number = Decimal::new(if negative { -m } else { m }, -(frac_len as i32));
            if i == len {
                return (Some(number), None);
            }
            if bytes[i] == b'*' && i + 1 < len {
                return (Some(number), self.text.get(i + 1..));
            }
        }
        let (value, unit) = self.value_and_unit();
        (parse_number(value), unit)
    }

    /// The group as a DSMR timestamp `YYMMDDhhmmss[X]`, if it has that shape.
    #[inline]
    pub fn timestamp(&self) -> Option<TimestampFields<'a>> {
        TimestampFields::parse(self.text)
    }
}

/// The number in `text` if it is exactly `[+-]digits[.digits]`.
pub fn parse_number(text: &str) -> Option<Decimal> {
    let bytes = text.as_bytes();
    let (negative, unsigned) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (int, frac) = match unsigned.iter().position(|&b| b == b'.') {
        Some(dot) => {
            let frac = &unsigned[dot + 1..];
            if frac.is_empty() {
                return None;
            }
            (&unsigned[..dot], frac)
        }
        None => (unsigned, &[][..]),
    };
    if int.is_empty() {
        return None;
    }
    Decimal::from_digits(negative, int, frac)
}

/// Parses one or more groups `(g1)(g2)…` filling the whole of `text` (an object line after its
/// id, or a DSMR 2.2 continuation line). A group holds any printable ASCII except parentheses.
pub fn parse_groups(text: &[u8]) -> Result<Vec<String>, LineError> {
    Ok(check_groups(text)?
        .iter()
        .map(|g| g.as_str().to_string())
        .collect())
}

/// Checks one object line `A-B:C.D.E(g1)(g2)…` (no line ending): its id and its groups.
pub fn check_line(line: &[u8]) -> Result<(Obis, GroupsView<'_>), LineError> {
    check_printable(line)?;
    let open = line
        .iter()
        .position(|&b| b == b'(')
        .ok_or(LineError::NoGroup)?;
    let id = &line[..open];
    let obis = Obis::parse_ascii(id).ok_or_else(|| LineError::BadId(ascii(id)))?;
    let groups = check_groups_printable(&line[open..])?;
    Ok((obis, groups))
}

/// Checks the groups `(g1)(g2)…` filling the whole of `text` (see [`parse_groups`]).
pub fn check_groups(text: &[u8]) -> Result<GroupsView<'_>, LineError> {
    check_printable(text)?;
    check_groups_printable(text)
}

/// [`check_groups`] on text already checked to be printable.
fn check_groups_printable(text: &[u8]) -> Result<GroupsView<'_>, LineError> {
    let mut rest = text;
    let mut count = 0;
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
        count += 1;
        rest = &after[close + 1..];
    }
    if count == 0 {
        return Err(LineError::NoGroup);
    }
    // Printable ASCII is UTF-8.
    let text = std::str::from_utf8(text).map_err(|e| LineError::NotAscii(text[e.valid_up_to()]))?;
    Ok(GroupsView { text, count })
}

/// What a byte is to [`scan_line`].
const PLAIN: u8 = 0;
const OPEN: u8 = 1;
const CLOSE: u8 = 2;
const LINE_END: u8 = 3;
const OTHER: u8 = 4;

/// The class of every byte: printable ASCII other than parentheses is [`PLAIN`].
const CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0x20;
    while b <= 0x7E {
        table[b] = PLAIN;
        b += 1;
    }
    table[b'(' as usize] = OPEN;
    table[b')' as usize] = CLOSE;
    table[b'\r' as usize] = LINE_END;
    table[b'\n' as usize] = LINE_END;
    table
};

/// The high bit of a byte of `word` (little-endian) is set where that byte is not [`PLAIN`]
/// (below 0x20, above 0x7E, `(` or `)`), and is exact at the lowest such byte: borrows and
/// carries run only upwards, so bytes above the first one flagged may be flagged wrongly.
fn not_plain(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let above_tilde = (word.wrapping_add(ONES) | word) & HIGHS;
    below_space
        | above_tilde
        | zero_byte(word ^ (ONES * u64::from(b'(')))
        | zero_byte(word ^ (ONES * u64::from(b')')))
}

/// What [`scan_line`] found at the start of `text`.
pub(crate) enum Scanned<'a> {
    /// An object line, ending at `end` (a line ending or the end of `text`).
    Object(ObjectView<'a>, usize),
    /// A continuation line `(…)…`, ending at `end`.
    Continuation(GroupsView<'a>, usize),
    /// Not a well-formed line, or not one this single pass decides: the caller finds the
    /// line's end and checks it with [`check_line`] or [`check_groups`], which say why.
    Unsure,
}

/// Reads the line at the start of `text` in one pass over its bytes, the common case of
/// [`check_line`] and [`check_groups`]: where this finds a well-formed line they find the same
/// one, and wherever anything is off it gives up ([`Scanned::Unsure`]).
#[inline]
pub(crate) fn scan_line(text: &str) -> Scanned<'_> {
    let bytes = text.as_bytes();
    let (obis, open) = if bytes.first() == Some(&b'(') {
        (None, 0)
    } else {
        match crate::obis::parse_prefix(bytes) {
            Some((obis, len)) if bytes.get(len) == Some(&b'(') => (Some(obis), len),
            _ => return Scanned::Unsure,
        }
    };
    let mut i = open;
    let mut count = 0;
    loop {
        // At a `(`: the group runs to the next `)`.
        count += 1;
        i += 1;
        loop {
            // Eight bytes at a time while there are eight; the first byte that is not plain
            // must be the `)`.
            let stop = match bytes.get(i..i + 8) {
                Some(chunk) => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    let mask = not_plain(u64::from_le_bytes(word));
                    if mask == 0 {
                        i += 8;
                        continue;
                    }
                    i += (mask.trailing_zeros() / 8) as usize;
                    CLASS[usize::from(bytes[i])]
                }
                None => match bytes.get(i).map(|&b| CLASS[usize::from(b)]) {
                    Some(PLAIN) => {
                        i += 1;
                        continue;
                    }
                    Some(class) => class,
                    None => return Scanned::Unsure,
                },
            };
            if stop != CLOSE {
                return Scanned::Unsure;
            }
            break;
        }
        i += 1;
        match bytes.get(i).map(|&b| CLASS[usize::from(b)]) {
            Some(OPEN) => {}
            None | Some(LINE_END) => break,
            _ => return Scanned::Unsure,
        }
    }
    let Some(groups) = text.get(open..i) else {
        return Scanned::Unsure;
    };
    let groups = GroupsView {
        text: groups,
        count,
    };
    match obis {
        Some(obis) => Scanned::Object(ObjectView { obis, groups }, i),
        None => Scanned::Continuation(groups, i),
    }
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

/// The fields of a DSMR timestamp `YYMMDDhhmmss[X]` as sent (DSMR P1 Companion Standard 5.0.2
/// §6.4, TST), not yet checked to be a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampFields<'a> {
    /// The twelve digits.
    pub digits: &'a str,
    /// Year (20YY), month, day, hour, minute, second as sent.
    pub fields: [u32; 6],
    /// The DST flag, if sent: `S`, `W` (or `s`, `w`).
    pub flag: Option<u8>,
}

impl<'a> TimestampFields<'a> {
    /// Twelve digits, optionally followed by `S`, `W`, `s` or `w`; `None` otherwise.
    #[inline]
    pub fn parse(text: &'a str) -> Option<TimestampFields<'a>> {
        let bytes = text.as_bytes();
        let flag = match bytes.len() {
            12 => None,
            13 => Some(bytes[12]),
            _ => return None,
        };
        let digits: &[u8; 12] = bytes.first_chunk()?;
        // Every byte a digit: all values after subtracting '0' below 10, checked at once.
        let values = digits.map(|b| b.wrapping_sub(b'0'));
        if values.iter().fold(0, |bad, &v| bad | u8::from(v > 9)) != 0
            || !matches!(flag, None | Some(b'S' | b's' | b'W' | b'w'))
        {
            return None;
        }
        let pair = |i: usize| u32::from(values[i]) * 10 + u32::from(values[i + 1]);
        Some(TimestampFields {
            digits: text.get(..12)?,
            fields: [2000 + pair(0), pair(2), pair(4), pair(6), pair(8), pair(10)],
            flag,
        })
    }

    /// Whether the fields make a real date and time (the placeholders `632525252525W` and
    /// `000000000000W` do not).
    pub fn is_date(&self) -> bool {
        let [year, month, day, hour, minute, second] = self.fields;
        (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads the decimal digits of `bytes` from `i` into `mantissa` (wrapping: the caller counts
/// them); the index of the first byte that is not a digit.
#[inline(always)]
fn digits(bytes: &[u8], mut i: usize, mantissa: &mut u64) -> usize {
    while let Some(&b) = bytes.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    i
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

    /// The one-pass number and unit are what splitting at `*` and `parse_number` give, on
    /// every string of up to five characters of a small alphabet and on long ones.
    #[test]
    fn number_and_unit_is_split_then_parse() {
        fn slow<'a>(g: &GroupView<'a>) -> (Option<Decimal>, Option<&'a str>) {
            let (value, unit) = g.value_and_unit();
            (parse_number(value), unit)
        }
        let alphabet = [b'0', b'7', b'.', b'-', b'+', b'*', b'k'];
        let mut texts: Vec<String> = vec![
            "000004.426*kWh".into(),
            "1234567890123456789.5*m3".into(),
            "12345678901234567890".into(),
            "99999999999999999999999999999999999999999".into(),
            "-0.000*V".into(),
        ];
        for len in 0..=5u32 {
            for n in 0..7usize.pow(len) {
                let mut k = n;
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[k % 7];
                        k /= 7;
                        b
                    })
                    .collect();
                texts.push(String::from_utf8(text).expect("ASCII"));
            }
        }
        for text in texts.iter().map(String::as_str) {
            let g = GroupView { text };
            assert_eq!(g.number_and_unit(), slow(&g), "{text:?}");
        }
    }

    /// The lowest byte `not_plain` flags is the first byte that is not plain, for every byte
    /// value at every position after plain bytes, and nothing is flagged in plain words.
    #[test]
    fn not_plain_finds_the_first_byte_that_is_not() {
        let plain = |b: u8| CLASS[usize::from(b)] == PLAIN;
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for at in 0..8 {
            for b in 0..=255u8 {
                for _ in 0..4 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let mut word = x.to_le_bytes();
                    for (k, w) in word.iter_mut().enumerate() {
                        if k < at {
                            *w = 0x20 + (*w % 0x5F);
                            if !plain(*w) {
                                *w = b'a';
                            }
                        }
                    }
                    word[at] = b;
                    let mask = not_plain(u64::from_le_bytes(word));
                    let first = word.iter().position(|&w| !plain(w));
                    let found = (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize);
                    assert_eq!(found, first, "{word:02X?}");
                }
            }
        }
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
