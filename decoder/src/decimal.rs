//! Exact decimal numbers for meter readings.
//!
//! Meters transmit decimal registers (`000004.426*kWh` in DSMR, BCD in M-Bus, an integer with a
//! power-of-ten scaler in DLMS). Converting them to `f64` early loses the exactness that the
//! harness needs to compare a decoder's output with the simulator's truth, so readings carry a
//! [`Decimal`]: an integer mantissa and a power-of-ten exponent. Two decimals are equal when they
//! denote the same number (`4.4260` == `4.426`).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A decimal number `mantissa × 10^exponent`.
#[derive(Clone, Copy)]
pub struct Decimal {
    mantissa: Mantissa,
    exponent: i32,
}

/// An `i128` in two 64-bit halves: aligned to 8 bytes, so a [`Decimal`] takes 24 bytes, not
/// 32 (every value of a reading holds one; issue #15).
#[derive(Clone, Copy)]
struct Mantissa {
    low: u64,
    high: i64,
}

impl Mantissa {
    const fn new(m: i128) -> Self {
        Mantissa {
            low: m as u64,
            high: (m >> 64) as i64,
        }
    }

    const fn get(self) -> i128 {
        ((self.high as i128) << 64) | self.low as i128
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decimal")
            .field("mantissa", &self.mantissa())
            .field("exponent", &self.exponent)
            .finish()
    }
}

/// The text was not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal number: {0:?}")]
pub struct DecimalError(pub String);

impl Decimal {
    /// The number `mantissa × 10^exponent`.
    pub const fn new(mantissa: i128, exponent: i32) -> Self {
        Decimal {
            mantissa: Mantissa::new(mantissa),
            exponent,
        }
    }

    /// An integer.
    pub const fn from_int(value: i128) -> Self {
        Decimal::new(value, 0)
    }

    /// The mantissa as written (not normalised).
    pub const fn mantissa(&self) -> i128 {
        self.mantissa.get()
    }

    /// The exponent as written (not normalised).
    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    /// The same number with trailing zeros of the mantissa moved into the exponent.
    pub fn normalized(self) -> Self {
        if self.mantissa() == 0 {
            return Decimal::new(0, 0);
        }
        // 64-bit division is far cheaper than 128-bit: use it whenever the mantissa fits.
        if let Ok(mut m) = i64::try_from(self.mantissa()) {
            let mut e = self.exponent;
            while m % 10 == 0 {
                m /= 10;
                e += 1;
            }
            return Decimal::new(i128::from(m), e);
        }
        let (mut m, mut e) = (self.mantissa(), self.exponent);
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        Decimal::new(m, e)
    }

    /// Multiplies by `10^scaler` (DLMS scaler, M-Bus VIF exponent).
    pub fn scaled(self, scaler: i32) -> Self {
        Decimal::new(self.mantissa(), self.exponent.saturating_add(scaler))
    }

    /// The nearest `f64`.
    pub fn to_f64(self) -> f64 {
        // Exact fast path (Clinger): a mantissa below 2^53 and a power of ten up to 10^22 are
        // both exact doubles, so one multiplication or division is correctly rounded.
        const POW10: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        if self.mantissa().unsigned_abs() < 1 << 53 {
            let m = self.mantissa() as f64;
            let e = self.exponent.unsigned_abs() as usize;
            if let Some(&p) = POW10.get(e) {
                return if self.exponent < 0 { m / p } else { m * p };
            }
        }
        // Otherwise going through the decimal text gives the correctly rounded double.
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// The shortest decimal that round-trips through `value`; `None` for NaN and infinities.
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        // `Display` for f64 prints the shortest round-tripping digits, never in exponent form.
        format!("{value}").parse().ok()
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.mantissa() == b.mantissa() && a.exponent == b.exponent
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.normalized(), other.normalized());
        if a.mantissa().signum() != b.mantissa().signum() {
            return a.mantissa().signum().cmp(&b.mantissa().signum());
        }
        // Bring both to the smaller exponent; fall back to f64 if that would overflow.
        let e = a.exponent.min(b.exponent);
        let scale = |d: Decimal| -> Option<i128> {
            let shift = u32::try_from(d.exponent - e).ok()?;
            d.mantissa().checked_mul(10i128.checked_pow(shift)?)
        };
        match (scale(a), scale(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a
                .to_f64()
                .partial_cmp(&b.to_f64())
                .unwrap_or(Ordering::Equal),
        }
    }
}

impl fmt::Display for Decimal {
    /// Plain decimal notation, no exponent: `4.426`, `-0.07`, `1200`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.mantissa() < 0;
        let digits = self.mantissa().unsigned_abs().to_string();
        let sign = if negative { "-" } else { "" };
        if self.exponent >= 0 {
            let zeros = "0".repeat(self.exponent as usize);
            if digits == "0" {
                return write!(f, "0");
            }
            return write!(f, "{sign}{digits}{zeros}");
        }
        let frac_len = self.exponent.unsigned_abs() as usize;
        if digits.len() > frac_len {
            let (int, frac) = digits.split_at(digits.len() - frac_len);
            write!(f, "{sign}{int}.{frac}")
        } else {
            let pad = "0".repeat(frac_len - digits.len());
            write!(f, "{sign}0.{pad}{digits}")
        }
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    /// Parses `[+-]digits[.digits]`; leading zeros and a lone trailing point are allowed
    /// (`000004.426`, `+00026`, `12.`). No exponent notation, no spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DecimalError(s.to_string());
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(err());
        }
        Decimal::from_digits(negative, int.as_bytes(), frac.as_bytes()).ok_or_else(err)
    }
}

impl Decimal {
    /// `[-]int.frac` from its digit runs; `None` if a byte is not a digit or the mantissa
    /// overflows. Up to 19 digits accumulate in a `u64`, longer runs in `i128`.
    pub(crate) fn from_digits(negative: bool, int: &[u8], frac: &[u8]) -> Option<Decimal> {
        let exponent = -i32::try_from(frac.len()).ok()?;
        let mantissa: i128 = if int.len() + frac.len() <= 19 {
            let mut m: u64 = 0;
            for &b in int.iter().chain(frac) {
                let d = b.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                m = m * 10 + u64::from(d);
            }
            i128::from(m)
        } else {
            let mut m: i128 = 0;
            for &b in int.iter().chain(frac) {
                let d = b.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                m = m.checked_mul(10)?.checked_add(i128::from(d))?;
            }
            m
        };
        Some(Decimal::new(
            if negative { -mantissa } else { mantissa },
            exponent,
        ))
    }
}

impl Serialize for Decimal {
    /// A JSON number (the nearest double, printed in its shortest round-tripping form).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.normalized();
        if n.exponent >= 0 {
            if let Some(v) = 10i128
                .checked_pow(n.exponent as u32)
                .and_then(|p| n.mantissa().checked_mul(p))
            {
                if let Ok(v) = i64::try_from(v) {
                    return serializer.serialize_i64(v);
                }
            }
        }
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal::from_int(i128::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal::from_int(i128::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
                Decimal::from_f64(v).ok_or_else(|| E::custom("number is not finite"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Appends `value` in decimal digits (as `u64`'s `Display` and serde_json write it), without
/// the formatting machinery: one byte for a digit (the usual storage number, tariff or subunit),
/// else two digits per step from a table.
#[inline]
pub(crate) fn write_uint(out: &mut Vec<u8>, value: u64) {
    if value < 10 {
        out.push(b'0' + value as u8);
    } else {
        write_long_uint(out, value);
    }
}

/// [`write_uint`] for two digits or more.
fn write_long_uint(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let start = uint_digits(value, &mut digits);
    out.extend_from_slice(&digits[start..]);
}

/// The pairs of decimal digits `00` to `99`.
pub(crate) const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Writes the decimal digits of `value` at the end of `buf`; returns the index of the first.
pub(crate) fn uint_digits(mut value: u64, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    while value >= 100 {
        let pair = DIGIT_PAIRS[(value % 100) as usize];
        value /= 100;
        i -= 2;
        buf[i] = pair[0];
        buf[i + 1] = pair[1];
    }
    if value >= 10 {
        let pair = DIGIT_PAIRS[value as usize];
        i -= 2;
        buf[i] = pair[0];
        buf[i + 1] = pair[1];
    } else {
        i -= 1;
        buf[i] = b'0' + value as u8;
    }
    i
}

#[cfg(test)]
mod test {
    #[test]
    fn write_uint_writes_what_display_writes() {
        let powers = (0..20).flat_map(|k| {
            let p = 10u64.pow(k);
            [p - 1, p, p + 1]
        });
        for v in (0..=20_000).chain(powers).chain([1_234_567_890, u64::MAX]) {
            let mut out = Vec::new();
            super::write_uint(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
        }
    }

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("valid decimal")
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(d("000004.426").to_string(), "4.426");
        assert_eq!(d("+00026").to_string(), "26");
        assert_eq!(d("-000073.69").to_string(), "-73.69");
        assert_eq!(d("0.07").to_string(), "0.07");
        assert_eq!(d("00.000").to_string(), "0.000");
        assert_eq!(Decimal::new(12, 2).to_string(), "1200");
        assert!("".parse::<Decimal>().is_err());
        assert!("1e5".parse::<Decimal>().is_err());
        assert!("12a".parse::<Decimal>().is_err());
        assert!(".".parse::<Decimal>().is_err());
    }

    /// The fast path of `to_f64` gives the correctly rounded double, as parsing the text does.
    #[test]
    fn to_f64_is_correctly_rounded() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = i128::from(x >> (x % 40)) * if x & 1 == 0 { 1 } else { -1 };
            let e = (x >> 40) as i32 % 30 - 15;
            let d = Decimal::new(m, e);
            let slow: f64 = d.to_string().parse().expect("decimal text");
            assert_eq!(d.to_f64().to_bits(), slow.to_bits(), "{d}");
        }
        assert_eq!(d("19999999999999999999.5").to_f64(), 2e19);
        assert_eq!(
            "12345678901234567890123"
                .parse::<Decimal>()
                .map(|d| d.mantissa()),
            Ok(12345678901234567890123)
        );
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(d("4.4260"), d("4.426"));
        assert_eq!(d("0"), d("-0.000"));
        assert_ne!(d("4.426"), d("4.427"));
        assert!(d("-1") < d("0.5"));
        assert!(d("10") > d("9.999"));
    }

    #[test]
    fn json_round_trip() {
        for s in ["4.426", "6086.16", "0", "-73.69", "230", "0.001"] {
            let json = serde_json::to_string(&d(s)).expect("serializes");
            assert_eq!(json, d(s).normalized().to_string().trim_end_matches(".0"));
            let back: Decimal = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, d(s));
        }
    }
}
