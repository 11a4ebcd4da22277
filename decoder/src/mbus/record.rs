//! Data records of the variable data structure (EN 13757-3, clause 6: DIF/DIFE, VIF/VIFE and
//! the data field codings of annex A: types A (BCD), B (integer), F/G/I (date and time),
//! H (real), and the variable-length LVAR field of 6.3.3).
//!
//! [`RecordIter`] delimits the records of the data after the header without decoding them (a
//! zero-copy [`RecordView`] each); [`parse_records`] decodes what it delimits. Idle fillers `2F`
//! are skipped, `0F`/`1F` end the records with manufacturer data. A record that the telegram cuts off, or one with
//! more than 10 DIFEs or VIFEs, makes the whole telegram an error (as libmbus does).

use super::dif::{self, Address, Coding};
use super::vif::{self, Presentation, Quantity};
use crate::decimal::Decimal;

/// Most VIFEs one record may carry (including an `FB`/`FD` extension code).
pub const MAX_VIFE: usize = 10;

/// The class of an M-Bus decode failure, mapping to the reading format's error kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `frame_start`: the bytes start no frame.
    FrameStart,
    /// `length`: the L fields differ or disagree with the bytes.
    Length,
    /// `checksum`.
    Checksum,
    /// `stop_byte`.
    StopByte,
    /// `premature_end`: a record (or the header) is cut off.
    PrematureEnd,
    /// `too_many_dife`: more than 10 DIFEs.
    TooManyDife,
    /// `too_many_vife`: more than 10 VIFEs.
    TooManyVife,
    /// `unsupported_ci`: a CI that carries no data this decoder reads (wireless layers, DLMS
    /// transport, alarms, manufacturer specific…); the message names the CI and what it is.
    UnsupportedCi,
    /// `application_error`: CI `70`.
    ApplicationError,
    /// `truncated`: the stream ended inside a frame.
    Truncated,
}

impl ErrorKind {
    /// The kind's name in the reading format.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::FrameStart => "frame_start",
            ErrorKind::Length => "length",
            ErrorKind::Checksum => "checksum",
            ErrorKind::StopByte => "stop_byte",
            ErrorKind::PrematureEnd => "premature_end",
            ErrorKind::TooManyDife => "too_many_dife",
            ErrorKind::TooManyVife => "too_many_vife",
            ErrorKind::UnsupportedCi => "unsupported_ci",
            ErrorKind::ApplicationError => "application_error",
            ErrorKind::Truncated => "truncated",
        }
    }
}

/// An M-Bus decode failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// Its class.
    pub kind: ErrorKind,
    /// What exactly was wrong.
    pub message: String,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}

/// A record's decoded data field, before the VIF's factor is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// No data (DIF coding `0` or `8`).
    Empty,
    /// An exact number (integer, BCD, real).
    Number(Decimal),
    /// Text: LVAR ASCII in reading order, a date, a non-finite real.
    Text(String),
    /// A type F date and time whose invalid bit (IV, bit 7 of the minute byte) is set.
    InvalidTime(String),
    /// Binary data as upper-case hex.
    Hex(String),
    /// BCD with a nibble A–F other than a leading sign `F`: the digits as sent.
    InvalidBcd(String),
}

/// One data record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The DIF (`0F`/`1F` for manufacturer data).
    pub dif: u8,
    /// Storage number, tariff and subunit.
    pub address: Address,
    /// `instantaneous`, `maximum`, `minimum` or `error`.
    pub function: &'static str,
    /// What the VIF chain means.
    pub quantity: Quantity,
    /// The data.
    pub field: Field,
}

/// The records of one telegram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    /// In telegram order, idle fillers left out.
    pub records: Vec<Record>,
    /// Whether they end with DIF `1F` (more records follow in the next telegram).
    pub more_follow: bool,
    /// Where the manufacturer data after DIF `0F`/`1F` starts (the byte after the DIF), as an
    /// offset in the records' data; `None` without such a DIF.
    pub manufacturer_at: Option<usize>,
}

fn premature(at: &str, offset: usize) -> Error {
    Error::new(
        ErrorKind::PrematureEnd,
        format!("premature end of record at {at} (offset {offset} of the data)"),
    )
}

/// One data record as it lies in the telegram: delimited and checked, not interpreted. The
/// zero-copy view of [`RecordIter`]; [`RecordView::quantity`] and [`RecordView::field`] read
/// it on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// The DIF.
    pub dif: u8,
    /// The DIFEs (at most [`dif::MAX_DIFE`]).
    pub difes: &'a [u8],
    /// The VIF.
    pub vif: u8,
    /// The unit text of a plain-text VIF (`7C`/`FC`), as sent (last character first).
    pub text: Option<&'a [u8]>,
    /// The VIFEs, the extension code of an `FB`/`FD` VIF first (at most [`MAX_VIFE`]).
    pub vifes: &'a [u8],
    /// The data field, with its LVAR byte where the coding is variable.
    pub data: &'a [u8],
    /// Where the data field starts in the records' data.
    pub data_at: usize,
}

impl RecordView<'_> {
    /// What the VIF chain means. VIFEs after a manufacturer-specific VIFE (`7F`/`FF`) are not
    /// applied.
    pub fn quantity(&self) -> Quantity {
        let (mut quantity, rest) = match (self.vif & 0x7F, self.vifes.split_first()) {
            (0x7C, _) => {
                let text = self.text.unwrap_or_default();
                let text: String = text.iter().rev().map(|&b| char::from(b)).collect();
                (Quantity::plain_text(&text), self.vifes)
            }
            (0x7B, Some((&code, rest))) if self.vif & 0x80 != 0 => (vif::extension_fb(code), rest),
            (0x7D, Some((&code, rest))) if self.vif & 0x80 != 0 => (vif::extension_fd(code), rest),
            _ => (vif::primary(self.vif), self.vifes),
        };
        for &e in rest {
            if e & 0x7F == 0x7F {
                break;
            }
            quantity.apply_vife(e);
        }
        quantity
    }

    /// Storage number, tariff and subunit.
    pub fn address(&self) -> Address {
        Address::of(self.dif, self.difes)
    }

    /// `instantaneous`, `maximum`, `minimum` or `error`.
    pub fn function(&self) -> &'static str {
        dif::function_name(self.dif)
    }

    /// The data field decoded for `quantity` (dates where the VIF says so); `msb_first` is CI
    /// `76`.
    pub fn field(&self, quantity: &Quantity, msb_first: bool) -> Result<Field, Error> {
        decode_field(self.data, self.dif, quantity, msb_first, self.data_at).map(|(f, _)| f)
    }
}

/// What [`RecordIter`] finds next in the records' data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordItem<'a> {
    /// A data record.
    Record(RecordView<'a>),
    /// DIF `0F` (`more_follow: false`) or `1F`: manufacturer data from `at` (the byte after
    /// the DIF) to the end; nothing follows.
    Manufacturer {
        /// The DIF was `1F`: more records follow in the next telegram.
        more_follow: bool,
        /// Where the manufacturer data starts.
        at: usize,
    },
}

/// The records of a variable data structure, delimited one by one without decoding them
/// (EN 13757-3, 6.3 to 6.5): idle fillers and other special functions are skipped; a record the
/// data cuts off, more than 10 DIFEs or VIFEs, or a reserved LVAR is an error, after which the
/// iterator ends.
#[derive(Clone, Debug)]
pub struct RecordIter<'a> {
    data: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> RecordIter<'a> {
    /// The records in `data` (the bytes after the header).
    pub fn new(data: &'a [u8]) -> Self {
        RecordIter {
            data,
            at: 0,
            done: false,
        }
    }

    fn next_item(&mut self) -> Result<Option<RecordItem<'a>>, Error> {
        let data = self.data;
        let mut i = self.at;
        let dif = loop {
            let Some(&dif) = data.get(i) else {
                return Ok(None);
            };
            i += 1;
            match dif {
                dif::MANUFACTURER_DATA | dif::MORE_RECORDS_FOLLOW => {
                    return Ok(Some(RecordItem::Manufacturer {
                        more_follow: dif == dif::MORE_RECORDS_FOLLOW,
                        at: i,
                    }));
                }
                // Idle fillers `2F` and other special functions (global readout request
                // `7F`…) carry no record.
                d if d & 0x0F == 0x0F => continue,
                d => break d,
            }
        };
        let difes_at = i;
        let mut last = dif;
        while last & 0x80 != 0 {
            let &e = data.get(i).ok_or_else(|| premature("DIFE", i))?;
            if i - difes_at == dif::MAX_DIFE {
                return Err(Error::new(
                    ErrorKind::TooManyDife,
                    format!(
                        "more than {} DIFEs at offset {i} of the data",
                        dif::MAX_DIFE
                    ),
                ));
            }
            last = e;
            i += 1;
        }
        let difes = &data[difes_at..i];
        let &vif_byte = data.get(i).ok_or_else(|| premature("VIF", i))?;
        i += 1;
        let mut text = None;
        if vif_byte & 0x7F == 0x7C {
            let &len = data
                .get(i)
                .ok_or_else(|| premature("variable length VIF", i))?;
            text = Some(
                data.get(i + 1..i + 1 + usize::from(len))
                    .ok_or_else(|| premature("variable length VIF", i))?,
            );
            i += 1 + usize::from(len);
        }
        let vifes_at = i;
        let mut last = vif_byte;
        while last & 0x80 != 0 {
            let &e = data.get(i).ok_or_else(|| premature("VIFE", i))?;
            if i - vifes_at == MAX_VIFE {
                return Err(Error::new(
                    ErrorKind::TooManyVife,
                    format!("more than {MAX_VIFE} VIFEs at offset {i} of the data"),
                ));
            }
            last = e;
            i += 1;
        }
        let vifes = &data[vifes_at..i];
        let len = field_len(&data[i..], dif, i)?;
        let field = &data[i..i + len];
        let view = RecordView {
            dif,
            difes,
            vif: vif_byte,
            text,
            vifes,
            data: field,
            data_at: i,
        };
        self.at = i + len;
        Ok(Some(RecordItem::Record(view)))
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordItem<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_item().transpose();
        if !matches!(item, Some(Ok(RecordItem::Record(_)))) {
            self.done = true;
        }
        item
    }
}

/// The length of the data field at the start of `data` (with its LVAR byte), checked against
/// what is there; `offset` is where it starts, for messages.
fn field_len(data: &[u8], dif: u8, offset: usize) -> Result<usize, Error> {
    let fixed = |n: usize| {
        if data.len() < n {
            Err(premature("data", offset))
        } else {
            Ok(n)
        }
    };
    match Coding::of(dif) {
        Coding::None | Coding::Selection | Coding::Special => Ok(0),
        Coding::Integer(n) | Coding::Bcd(n) => fixed(n),
        Coding::Real => fixed(4),
        Coding::Variable => {
            let &lvar = data.first().ok_or_else(|| premature("LVAR", offset))?;
            let n = match lvar {
                0x00..=0xBF => usize::from(lvar),
                0xC0..=0xC9 | 0xD0..=0xD9 => usize::from(lvar & 0x0F),
                0xE0..=0xEF => usize::from(lvar - 0xE0),
                0xF0..=0xF4 => 4 * usize::from(lvar - 0xEC),
                0xF5 => 48,
                0xF6 => 64,
                _ => {
                    return Err(Error::new(
                        ErrorKind::PrematureEnd,
                        format!("reserved LVAR 0x{lvar:02X}: the record cannot be delimited"),
                    ))
                }
            };
            if data.len() - 1 < n {
                Err(premature("variable data", offset + 1))
            } else {
                Ok(n + 1)
            }
        }
    }
}

/// Parses the records in `data` (the bytes after the header). `msb_first` is CI `76`: every
/// data field is sent most significant byte first.
pub fn parse_records(data: &[u8], msb_first: bool) -> Result<Records, Error> {
    let mut out = Records::default();
    // A record with data takes at least three bytes (DIF, VIF, one byte): room for that many
    // in one allocation, instead of growing the vector record by record.
    out.records.reserve(data.len() / 3);
    for item in RecordIter::new(data) {
        match item? {
            RecordItem::Record(view) => {
                let quantity = view.quantity();
                let field = view.field(&quantity, msb_first)?;
                out.records.push(Record {
                    dif: view.dif,
                    address: view.address(),
                    function: view.function(),
                    quantity,
                    field,
                });
            }
            RecordItem::Manufacturer { more_follow, at } => {
                out.records.push(Record {
                    dif: if more_follow {
                        dif::MORE_RECORDS_FOLLOW
                    } else {
                        dif::MANUFACTURER_DATA
                    },
                    address: Address::default(),
                    function: "instantaneous",
                    quantity: vif::primary(0x7F),
                    field: Field::Hex(hex(&data[at..])),
                });
                out.more_follow = more_follow;
                out.manufacturer_at = Some(at);
            }
        }
    }
    Ok(out)
}

/// Decodes the data field at the start of `data`; returns it and its length.
fn decode_field(
    data: &[u8],
    dif: u8,
    quantity: &Quantity,
    msb_first: bool,
    offset: usize,
) -> Result<(Field, usize), Error> {
    // A fixed-length field (at most 8 bytes), least significant byte first, on the stack.
    let take = |n: usize| -> Result<([u8; 8], usize), Error> {
        let b = data.get(..n).ok_or_else(|| premature("data", offset))?;
        let mut v = [0u8; 8];
        let n = n.min(8);
        v[..n].copy_from_slice(&b[..n]);
        if msb_first {
            v[..n].reverse();
        }
        Ok((v, n))
    };
    Ok(match Coding::of(dif) {
        Coding::None | Coding::Selection | Coding::Special => (Field::Empty, 0),
        Coding::Integer(n) => {
            let (b, len) = take(n)?;
            let b = &b[..len];
            let field = match (quantity.presentation, n) {
                (Presentation::Plain, _) => Field::Number(Decimal::from_int(int_le(b).into())),
                (_, 2) => Field::Text(date_g(b)),
                (_, 4) if b[0] & 0x80 != 0 => Field::InvalidTime(date_f(b)),
                (_, 4) => Field::Text(date_f(b)),
                (_, 6) => Field::Text(date_i(b)),
                _ => Field::Number(Decimal::from_int(int_le(b).into())),
            };
            (field, n)
        }
        Coding::Real => {
            let (b, _) = take(4)?;
            (real(f32::from_le_bytes([b[0], b[1], b[2], b[3]])), 4)
        }
        Coding::Bcd(n) => {
            let (b, len) = take(n)?;
            (bcd(&b[..len], false), n)
        }
        Coding::Variable => {
            let &lvar = data.first().ok_or_else(|| premature("LVAR", offset))?;
            let rest = &data[1..];
            let inner = |n: usize| -> Result<Vec<u8>, Error> {
                let b = rest
                    .get(..n)
                    .ok_or_else(|| premature("variable data", offset + 1))?;
                let mut v = b.to_vec();
                if msb_first {
                    v.reverse();
                }
                Ok(v)
            };
            let (field, n) = match lvar {
                0x00..=0xBF => {
                    let n = usize::from(lvar);
                    let b = inner(n)?;
                    (
                        Field::Text(b.iter().rev().map(|&c| char::from(c)).collect()),
                        n,
                    )
                }
                0xC0..=0xC9 | 0xD0..=0xD9 => {
                    let n = usize::from(lvar & 0x0F);
                    (bcd(&inner(n)?, lvar >= 0xD0), n)
                }
                0xE0..=0xEF => {
                    let n = usize::from(lvar - 0xE0);
                    (Field::Hex(hex_msb_first(&inner(n)?)), n)
                }
                0xF0..=0xF6 => {
                    let n = match lvar {
                        0xF5 => 48,
                        0xF6 => 64,
                        _ => 4 * usize::from(lvar - 0xEC),
                    };
                    (Field::Hex(hex_msb_first(&inner(n)?)), n)
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::PrematureEnd,
                        format!("reserved LVAR 0x{lvar:02X}: the record cannot be delimited"),
                    ))
                }
            };
            (field, n + 1)
        }
    })
}

/// Upper-case hex without spaces, in the order given.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    s
}

/// Binary data of a data field (least significant byte first) as upper-case hex, most
/// significant byte first — as libmbus prints variable-length binary.
fn hex_msb_first(bytes: &[u8]) -> String {
    let mut b = bytes.to_vec();
    b.reverse();
    hex(&b)
}

/// A little-endian two's complement integer of up to 8 bytes.
pub(crate) fn int_le(b: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    let n = b.len().min(8);
    buf[..n].copy_from_slice(&b[..n]);
    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
        buf[n..].fill(0xFF);
    }
    i64::from_le_bytes(buf)
}

/// BCD (type A), least significant byte first; a leading `F` nibble is the minus sign.
pub(crate) fn bcd(b: &[u8], negative: bool) -> Field {
    // The digits, most significant first, without collecting them (LVAR BCD has up to 18).
    let mut digits = b.iter().rev().flat_map(|&x| [x >> 4, x & 0x0F]).peekable();
    let sign = if digits.peek() == Some(&0xF) {
        digits.next();
        -1
    } else {
        1
    };
    let mut magnitude: i128 = 0;
    for d in digits {
        if d > 9 {
            return Field::InvalidBcd(hex_msb_first(b));
        }
        magnitude = magnitude * 10 + i128::from(d);
    }
    let sign = if negative { -sign } else { sign };
    Field::Number(Decimal::from_int(sign * magnitude))
}

/// The exact decimal of an IEEE 754 single (type H); text for NaN and infinities.
fn real(f: f32) -> Field {
    if !f.is_finite() {
        return Field::Text(format!("{f}"));
    }
    let bits = f.to_bits();
    let sign: i128 = if bits >> 31 != 0 { -1 } else { 1 };
    let exp = ((bits >> 23) & 0xFF) as i32;
    let frac = i128::from(bits & 0x7F_FFFF);
    let (mut m, mut e) = if exp == 0 {
        (frac, -149)
    } else {
        (frac | 0x80_0000, exp - 150)
    };
    if m == 0 {
        return Field::Number(Decimal::from_int(0));
    }
    while m & 1 == 0 && e < 0 {
        m >>= 1;
        e += 1;
    }
    let exact = if e >= 0 {
        m.checked_mul(2i128.checked_pow(e as u32).unwrap_or(0))
            .filter(|&v| v != 0)
            .map(Decimal::from_int)
    } else {
        5i128
            .checked_pow((-e) as u32)
            .and_then(|p| m.checked_mul(p))
            .map(|v| Decimal::new(v, e))
    };
    match exact.or_else(|| Decimal::from_f64(f64::from(f.abs()))) {
        Some(d) => Field::Number(Decimal::new(sign * d.mantissa(), d.exponent())),
        None => Field::Text(format!("{f}")),
    }
}

/// Type G date: `YYYY-MM-DD`.
fn date_g(b: &[u8]) -> String {
    let day = b[0] & 0x1F;
    let month = b[1] & 0x0F;
    let year = 2000 + u32::from(((b[0] & 0xE0) >> 5) | ((b[1] & 0xF0) >> 1));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Type F date and time: `YYYY-MM-DDThh:mm`, the century from the hundred-year bits (none set
/// and a year below 81: 20xx).
fn date_f(b: &[u8]) -> String {
    let minute = b[0] & 0x3F;
    let hour = b[1] & 0x1F;
    let hundred = u32::from((b[1] & 0x60) >> 5);
    let day = b[2] & 0x1F;
    let month = b[3] & 0x0F;
    let yy = u32::from(((b[2] & 0xE0) >> 5) | ((b[3] & 0xF0) >> 1));
    let year = if hundred == 0 && yy < 81 {
        2000 + yy
    } else {
        1900 + 100 * hundred + yy
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}")
}

/// Type I date and time: `YYYY-MM-DDThh:mm:ss`.
fn date_i(b: &[u8]) -> String {
    let second = b[0] & 0x3F;
    let minute = b[1] & 0x3F;
    let hour = b[2] & 0x1F;
    let day = b[3] & 0x1F;
    let month = b[4] & 0x0F;
    let year = 2000 + u32::from(((b[3] & 0xE0) >> 5) | ((b[4] & 0xF0) >> 1));
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn bcd_signs_and_invalid_nibbles() {
        assert_eq!(
            bcd(&[0x34, 0x12], false),
            Field::Number(Decimal::from_int(1234))
        );
        assert_eq!(
            bcd(&[0x34, 0xF2], false),
            Field::Number(Decimal::from_int(-234))
        );
        assert_eq!(
            bcd(&[0x76, 0xA8, 0x34, 0x82], false),
            Field::InvalidBcd("8234A876".into())
        );
    }

    #[test]
    fn reals_are_exact() {
        assert_eq!(real(0.5), Field::Number(Decimal::new(5, -1)));
        assert_eq!(real(-3.0), Field::Number(Decimal::from_int(-3)));
        assert_eq!(
            real(0.1),
            Field::Number("0.100000001490116119384765625".parse().expect("decimal"))
        );
        assert_eq!(real(f32::NAN), Field::Text("NaN".into()));
    }

    #[test]
    fn dates() {
        assert_eq!(date_g(&[0x12, 0x23]), "2016-03-18");
        assert_eq!(date_g(&[0, 0]), "2000-00-00");
        assert_eq!(int_le(&[0xAF, 0xFF]), -81);
    }

    #[test]
    fn limits() {
        let mut d = vec![0x84];
        d.extend([0x80; 11]);
        d.extend([0x00, 0x03, 0, 0, 0, 0]);
        assert_eq!(
            parse_records(&d, false).expect_err("too many").kind,
            ErrorKind::TooManyDife
        );
        let d = [
            0x04, 0x83, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        assert_eq!(
            parse_records(&d, false).expect_err("too many").kind,
            ErrorKind::TooManyVife
        );
        assert_eq!(
            parse_records(&[0x04, 0x03, 0x01], false)
                .expect_err("cut")
                .kind,
            ErrorKind::PrematureEnd
        );
    }
}
