//! Data sets `address(value*unit)` of IEC 62056-21 data messages, their addresses and
//! values, each built together with the [`Value`] it encodes.
//!
//! Addresses come in the forms real meters send: EDIS/OBIS reduced ids `C.D.E` and `C.D`
//! (`1.8.1`, `32.7`) with the letter groups of IEC 62056-61 §4.5 (`C` = 96, `F` = 97, `L` = 98,
//! `P` = 99: `C.1.0`, `F.F`), an optional billing-period suffix `*NN` or `&NN`, and full OBIS ids
//! `A-B:C.D.E*F`. The truth's id follows `docs/reading-format.md`: a reduced address gets A = 1,
//! B = 0, E = 0 when missing and F = the billing period or 255.
//!
//! Values are written as the modelled meter writes them: fixed widths with leading zeros or
//! blanks, an explicit sign, a unit or none. The [`Value`] of a data set comes from the model
//! (mantissa and decimals), never from the text.

use meterlab_decoder::{Decimal, Obis, Scalar, Value};

/// A value group of a reduced address: a number or one of the letters of IEC 62056-61 §4.5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// A number 0–255.
    N(u8),
    /// `C` = 96 (general service entries).
    C,
    /// `F` = 97 (error messages).
    F,
    /// `L` = 98 (lists).
    L,
    /// `P` = 99 (data profiles).
    P,
}

impl Code {
    /// The group's value in an OBIS id.
    pub fn value(self) -> u8 {
        match self {
            Code::N(n) => n,
            Code::C => 96,
            Code::F => 97,
            Code::L => 98,
            Code::P => 99,
        }
    }

    fn text(self) -> String {
        match self {
            Code::N(n) => n.to_string(),
            Code::C => "C".into(),
            Code::F => "F".into(),
            Code::L => "L".into(),
            Code::P => "P".into(),
        }
    }

    fn parse(s: &str) -> Option<Code> {
        match s {
            "C" => Some(Code::C),
            "F" => Some(Code::F),
            "L" => Some(Code::L),
            "P" => Some(Code::P),
            _ => number(s).map(Code::N),
        }
    }
}

fn number(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A billing-period suffix of a reduced address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    /// `*NN`: the value at the NN-th billing reset.
    Star(u8),
    /// `&NN`: the same, the form some meters use for a reset by the HHU.
    Amp(u8),
}

impl Billing {
    fn period(self) -> u8 {
        match self {
            Billing::Star(n) | Billing::Amp(n) => n,
        }
    }
}

/// The address of a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    /// Reduced `C.D[.E][*NN|&NN]`.
    Reduced {
        /// Group C.
        c: Code,
        /// Group D.
        d: Code,
        /// Group E, absent in `C.D` (`32.7`).
        e: Option<u8>,
        /// Billing-period suffix.
        billing: Option<Billing>,
    },
    /// Full OBIS `A-B:C.D.E*F`, or `A-B:C.D.E` when `with_f` is false.
    Full {
        /// The id.
        obis: Obis,
        /// Whether `*F` is written.
        with_f: bool,
    },
}

impl Address {
    /// The reduced address `C.D.E` of three numbers.
    pub const fn numeric(c: u8, d: u8, e: u8) -> Self {
        Address::Reduced {
            c: Code::N(c),
            d: Code::N(d),
            e: Some(e),
            billing: None,
        }
    }

    /// The reduced address `C.D` (E not written).
    pub const fn short(c: u8, d: u8) -> Self {
        Address::Reduced {
            c: Code::N(c),
            d: Code::N(d),
            e: None,
            billing: None,
        }
    }

    /// A reduced address with letter groups, `C.1.0`, `F.F` (`e = None`).
    pub const fn coded(c: Code, d: Code, e: Option<u8>) -> Self {
        Address::Reduced {
            c,
            d,
            e,
            billing: None,
        }
    }

    /// A full OBIS address written with its F group (`1-0:1.8.0*255`).
    pub const fn full(obis: Obis) -> Self {
        Address::Full { obis, with_f: true }
    }

    /// The same reduced address with a billing-period suffix `*NN` (full ids are unchanged).
    pub fn billing(self, b: Billing) -> Self {
        match self {
            Address::Reduced { c, d, e, .. } => Address::Reduced {
                c,
                d,
                e,
                billing: Some(b),
            },
            full => full,
        }
    }

    /// The address as the meter writes it.
    pub fn text(&self) -> String {
        match *self {
            Address::Reduced { c, d, e, billing } => {
                let mut s = format!("{}.{}", c.text(), d.text());
                if let Some(e) = e {
                    s.push_str(&format!(".{e}"));
                }
                match billing {
                    Some(Billing::Star(n)) => s.push_str(&format!("*{n:02}")),
                    Some(Billing::Amp(n)) => s.push_str(&format!("&{n:02}")),
                    None => {}
                }
                s
            }
            Address::Full { obis, with_f: true } => obis.to_string(),
            Address::Full { obis, .. } => obis.to_reduced_string(),
        }
    }

    /// The id the truth carries (`docs/reading-format.md`, IEC 62056-21 data readout).
    pub fn obis(&self) -> Obis {
        match *self {
            Address::Reduced { c, d, e, billing } => Obis::new(
                1,
                0,
                c.value(),
                d.value(),
                e.unwrap_or(0),
                billing.map_or(255, Billing::period),
            ),
            Address::Full { obis, with_f: true } => obis,
            Address::Full { obis, .. } => {
                Obis::new(obis.a(), obis.b(), obis.c(), obis.d(), obis.e(), 255)
            }
        }
    }

    /// An address as a reader writes it in a programming command (`1.8.0`, `C.1.0`,
    /// `1-0:1.8.0*255`); `None` if it is none of the address forms.
    pub fn parse(text: &str) -> Option<Address> {
        if let Some((ab, cde)) = text.split_once(':') {
            let (a, b) = ab.split_once('-')?;
            let (cde, f) = match cde.split_once('*') {
                Some((cde, f)) => (cde, Some(number(f)?)),
                None => (cde, None),
            };
            let g: Vec<&str> = cde.split('.').collect();
            let [c, d, e] = g.as_slice() else {
                return None;
            };
            let obis = Obis::new(
                number(a)?,
                number(b)?,
                number(c)?,
                number(d)?,
                number(e)?,
                f.unwrap_or(255),
            );
            return Some(Address::Full {
                obis,
                with_f: f.is_some(),
            });
        }
        let (groups, billing) = match text.find(['*', '&']) {
            Some(i) => {
                let n = number(&text[i + 1..])?;
                let b = if text.as_bytes()[i] == b'*' {
                    Billing::Star(n)
                } else {
                    Billing::Amp(n)
                };
                (&text[..i], Some(b))
            }
            None => (text, None),
        };
        let g: Vec<&str> = groups.split('.').collect();
        let (c, d, e) = match g.as_slice() {
            [c, d] => (Code::parse(c)?, Code::parse(d)?, None),
            [c, d, e] => (Code::parse(c)?, Code::parse(d)?, Some(number(e)?)),
            _ => return None,
        };
        Some(Address::Reduced { c, d, e, billing })
    }
}

/// How a fixed-format number is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// `-` before negative values only (`-000073.69`, `000000.00`).
    Negative,
    /// `+` or `-` always (`+00026`).
    Always,
}

/// How a fixed-format number is padded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pad {
    /// Leading zeros to the integer width (`0033402.264`).
    Zero,
    /// Right-aligned with blanks in the whole width (`          120858`).
    Blank,
}

/// A fixed-point format: integer and fraction digits, sign and padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed {
    /// Integer digits (a minimum: larger values are not cut).
    pub int_digits: usize,
    /// Fraction digits.
    pub frac_digits: u32,
    /// Sign rule.
    pub sign: Sign,
    /// Padding rule.
    pub pad: Pad,
}

impl Fixed {
    /// Zero-padded, unsigned: F(int, frac).
    pub const fn zeros(int_digits: usize, frac_digits: u32) -> Self {
        Fixed {
            int_digits,
            frac_digits,
            sign: Sign::Negative,
            pad: Pad::Zero,
        }
    }

    /// The same format with a sign always written.
    pub const fn signed(self) -> Self {
        Fixed {
            sign: Sign::Always,
            ..self
        }
    }

    /// Blank-padded integer in a field of `width` characters.
    pub const fn blanks(width: usize) -> Self {
        Fixed {
            int_digits: width,
            frac_digits: 0,
            sign: Sign::Negative,
            pad: Pad::Blank,
        }
    }

    /// The text of `mantissa × 10^-frac_digits`.
    pub fn text(&self, mantissa: i128) -> String {
        let p = 10u128.pow(self.frac_digits);
        let abs = mantissa.unsigned_abs();
        let sign = match (self.sign, mantissa < 0) {
            (_, true) => "-",
            (Sign::Always, false) => "+",
            (Sign::Negative, false) => "",
        };
        let frac = if self.frac_digits == 0 {
            String::new()
        } else {
            format!(".{:0f$}", abs % p, f = self.frac_digits as usize)
        };
        match self.pad {
            Pad::Zero => format!("{sign}{:0w$}{frac}", abs / p, w = self.int_digits),
            Pad::Blank => {
                let body = format!("{sign}{}{frac}", abs / p);
                let width = self.int_digits + frac.len();
                format!("{body:>width$}")
            }
        }
    }

    /// The number `mantissa × 10^-frac_digits`.
    pub fn decimal(&self, mantissa: i128) -> Decimal {
        Decimal::new(mantissa, -(self.frac_digits as i32))
    }
}

/// A data set as written: `address(value*unit)(more)…`, or `(value*unit)` without address in a
/// read reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSetRepr {
    /// The address; `None` in the reply to a read command.
    pub address: Option<Address>,
    /// The value text (at most 128 characters, none of `( ) * / !`).
    pub value: String,
    /// The unit, written after `*`.
    pub unit: Option<String>,
    /// Further value groups (`(17-11-02 08:30)` after a maximum demand).
    pub more: Vec<String>,
}

impl DataSetRepr {
    /// A data set with one value group.
    pub fn new(address: Option<Address>, value: &str, unit: Option<&str>) -> Self {
        DataSetRepr {
            address,
            value: value.to_string(),
            unit: unit.map(str::to_string),
            more: Vec::new(),
        }
    }

    /// The value groups alone: `(value*unit)(more)…`.
    pub fn emit_groups(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        out.extend_from_slice(self.value.as_bytes());
        if let Some(u) = &self.unit {
            out.push(b'*');
            out.extend_from_slice(u.as_bytes());
        }
        out.push(b')');
        for g in &self.more {
            out.push(b'(');
            out.extend_from_slice(g.as_bytes());
            out.push(b')');
        }
    }

    /// Appends the data set.
    pub fn emit(&self, out: &mut Vec<u8>) {
        if let Some(a) = &self.address {
            out.extend_from_slice(a.text().as_bytes());
        }
        self.emit_groups(out);
    }

    /// The length of [`emit`](Self::emit)'s output.
    pub fn buffer_len(&self) -> usize {
        let mut v = Vec::new();
        self.emit(&mut v);
        v.len()
    }
}

/// A data set and the value it encodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSet {
    /// What is written.
    pub repr: DataSetRepr,
    /// The value a reader gets from it (id per the reading format).
    pub value: Value,
    /// The value's text without surrounding blanks (what names the meter when this data set is
    /// its meter number); `None` for several groups.
    pub text: Option<String>,
}

/// The contract's number rule applied to a value the model holds as text (status codes, serial
/// numbers): `[+-]digits[.digits]` is a number.
fn contract_number(text: &str) -> Option<Decimal> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (body.contains('.') && frac.is_empty())
        || int.len() + frac.len() > 36
    {
        return None;
    }
    let mut m: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        m = m * 10 + i128::from(b - b'0');
    }
    Some(Decimal::new(if neg { -m } else { m }, -(frac.len() as i32)))
}

impl DataSet {
    /// A number in a fixed format, with or without unit.
    pub fn number(address: Address, format: Fixed, mantissa: i128, unit: Option<&str>) -> Self {
        let text = format.text(mantissa);
        DataSet {
            repr: DataSetRepr::new(Some(address), &text, unit),
            value: Value::number(address.obis().to_string(), format.decimal(mantissa), unit),
            text: Some(text.trim().to_string()),
        }
    }

    /// A value the meter holds as text (serial numbers, status and error codes, firmware
    /// versions, dates): the truth is what the reading format makes of it — blanks removed, a
    /// number if it is `[+-]digits[.digits]`, else the text.
    pub fn text(address: Address, text: &str) -> Self {
        let trimmed = text.trim();
        let scalar = match contract_number(trimmed) {
            Some(d) => Scalar::Number(d),
            None => Scalar::Text(trimmed.to_string()),
        };
        DataSet {
            repr: DataSetRepr::new(Some(address), text, None),
            value: Value::new(address.obis().to_string(), scalar, None),
            text: Some(trimmed.to_string()),
        }
    }

    /// A data set of several value groups (`1.6.1(000.01*kW)(17-11-02 08:30)`): its value is the
    /// text of all groups as sent.
    pub fn groups(address: Address, first: &str, more: Vec<String>) -> Self {
        let mut repr = DataSetRepr::new(Some(address), first, None);
        repr.more = more;
        let mut groups = Vec::new();
        repr.emit_groups(&mut groups);
        DataSet {
            value: Value::text(address.obis().to_string(), String::from_utf8_lossy(&groups)),
            repr,
            text: None,
        }
    }

    /// The address, if the data set has one.
    pub fn address(&self) -> Option<Address> {
        self.repr.address
    }
}

/// Which data set names the meter (`docs/reading-format.md`: the first non-empty value of
/// `C.1.0`, `0.0.0` (`0.0`), `1-0:0.0.0*255`, `0-0:96.1.0*255`, `1-0:96.1.0*255`, in that order).
fn meter_id_rank(address: &Address) -> Option<u8> {
    let id = address.obis();
    let reduced = matches!(address, Address::Reduced { .. });
    match (reduced, id.0) {
        (true, [1, 0, 96, 1, 0, 255]) => Some(0),
        (true, [1, 0, 0, 0, 0, 255]) => Some(1),
        (false, [1, 0, 0, 0, 0, 255]) => Some(2),
        (false, [0, 0, 96, 1, 0, 255]) => Some(3),
        (false, [1, 0, 96, 1, 0, 255]) => Some(4),
        _ => None,
    }
}

/// The meter id a reader derives from these data sets, if one of them names the meter.
pub fn meter_id<'a>(sets: impl IntoIterator<Item = &'a DataSet>) -> Option<String> {
    sets.into_iter()
        .filter_map(|s| {
            let rank = meter_id_rank(&s.address()?)?;
            let text = s.text.as_ref().filter(|t| !t.is_empty())?;
            Some((rank, text.clone()))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, text)| text)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_addresses() {
        let cases: [(Address, &str, &str); 8] = [
            (Address::numeric(1, 8, 0), "1.8.0", "1-0:1.8.0*255"),
            (Address::short(32, 7), "32.7", "1-0:32.7.0*255"),
            (
                Address::coded(Code::C, Code::N(1), Some(0)),
                "C.1.0",
                "1-0:96.1.0*255",
            ),
            (
                Address::coded(Code::F, Code::F, None),
                "F.F",
                "1-0:97.97.0*255",
            ),
            (
                Address::numeric(1, 8, 0).billing(Billing::Star(19)),
                "1.8.0*19",
                "1-0:1.8.0*19",
            ),
            (
                Address::numeric(1, 8, 1).billing(Billing::Amp(4)),
                "1.8.1&04",
                "1-0:1.8.1*4",
            ),
            (
                Address::full(Obis::new(1, 0, 96, 50, 0, 3)),
                "1-0:96.50.0*3",
                "1-0:96.50.0*3",
            ),
            (
                Address::Full {
                    obis: Obis::new(0, 0, 96, 1, 255, 7),
                    with_f: false,
                },
                "0-0:96.1.255",
                "0-0:96.1.255*255",
            ),
        ];
        for (a, text, id) in cases {
            assert_eq!(a.text(), text);
            assert_eq!(a.obis().to_string(), id, "{text}");
            let back = Address::parse(text).expect(text);
            assert_eq!(back.obis(), a.obis(), "{text}");
        }
        assert_eq!(
            Address::parse("C.1"),
            Some(Address::coded(Code::C, Code::N(1), None))
        );
        assert_eq!(Address::parse("1.8.0()"), None);
        assert_eq!(Address::parse("X.1.0"), None);
        assert_eq!(Address::parse("1-0:1.8"), None);
        assert_eq!(Address::parse("1.8.256"), None);
    }

    #[test]
    fn test_fixed_formats() {
        assert_eq!(Fixed::zeros(7, 3).text(33_402_264), "0033402.264");
        assert_eq!(Fixed::zeros(5, 0).signed().text(26), "+00026");
        assert_eq!(Fixed::zeros(5, 0).signed().text(-26), "-00026");
        assert_eq!(Fixed::zeros(6, 2).text(-7369), "-000073.69");
        assert_eq!(Fixed::zeros(6, 2).text(0), "000000.00");
        assert_eq!(Fixed::blanks(16).text(120_858), "          120858");
        assert_eq!(Fixed::blanks(6).text(20_000), " 20000");
        assert_eq!(Fixed::zeros(2, 0).text(12_345), "12345", "never cut");
        assert_eq!(Fixed::zeros(6, 2).decimal(-7369), Decimal::new(-7369, -2));
    }

    #[test]
    fn test_data_set_truth() {
        let s = DataSet::number(
            Address::numeric(1, 8, 0),
            Fixed::zeros(7, 3),
            33_402_264,
            Some("kWh"),
        );
        let mut out = Vec::new();
        s.repr.emit(&mut out);
        assert_eq!(out, b"1.8.0(0033402.264*kWh)");
        assert_eq!(
            s.value,
            Value::number("1-0:1.8.0*255", Decimal::new(33_402_264, -3), Some("kWh"))
        );
        let t = DataSet::text(Address::coded(Code::C, Code::N(1), Some(1)), "        ");
        assert_eq!(t.value, Value::text("1-0:96.1.1*255", ""));
        let n = DataSet::text(Address::numeric(0, 0, 0), " 20000");
        assert_eq!(n.value.value, Scalar::Number(Decimal::from_int(20_000)));
        assert_eq!(n.text.as_deref(), Some("20000"));
        let h = DataSet::text(Address::full(Obis::new(1, 0, 96, 50, 0, 1)), "07D0");
        assert_eq!(h.value.value, Scalar::Text("07D0".into()));
        let g = DataSet::groups(
            Address::numeric(1, 6, 1),
            "000.01*kW",
            vec!["17-11-02 08:30".into()],
        );
        out.clear();
        g.repr.emit(&mut out);
        assert_eq!(out, b"1.6.1(000.01*kW)(17-11-02 08:30)");
        assert_eq!(
            g.value,
            Value::text("1-0:1.6.1*255", "(000.01*kW)(17-11-02 08:30)")
        );
        assert_eq!(contract_number("-000073.69"), Some(Decimal::new(-7369, -2)));
        assert_eq!(contract_number("1."), None);
        assert_eq!(contract_number("M26"), None);
    }

    #[test]
    fn test_meter_id_order() {
        let e350 = [
            DataSet::text(Address::short(0, 0), "          120858"),
            DataSet::text(Address::coded(Code::C, Code::N(1), Some(0)), "13647123"),
        ];
        assert_eq!(meter_id(&e350).as_deref(), Some("13647123"));
        let ehz = [
            DataSet::text(
                Address::full(Obis::new(0, 0, 96, 1, 255, 255)),
                "0000067865",
            ),
            DataSet::text(
                Address::full(Obis::new(1, 0, 0, 0, 0, 255)),
                "1095100000067865",
            ),
        ];
        assert_eq!(meter_id(&ehz).as_deref(), Some("1095100000067865"));
        let empty = [DataSet::text(
            Address::coded(Code::C, Code::N(1), Some(0)),
            "  ",
        )];
        assert_eq!(meter_id(&empty), None);
    }
}
