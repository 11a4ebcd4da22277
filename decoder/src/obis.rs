//! OBIS object identifiers (IEC 62056-61): `A-B:C.D.E*F`.
//!
//! DSMR writes the reduced form `1-0:1.8.1` (F omitted, meaning 255); DLMS carries six bytes.
//! meterlab always prints the full form, so both name the same register the same way.

use std::fmt;
use std::str::FromStr;

use crate::reading::ShortStr;

/// A six-group OBIS code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Obis(pub [u8; 6]);

/// The text was not an OBIS code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an OBIS code: {0:?}")]
pub struct ObisError(pub String);

impl Obis {
    /// `A-B:C.D.E*F`.
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) -> Self {
        Obis([a, b, c, d, e, f])
    }

    /// A reduced id `A-B:C.D.E` (F = 255).
    pub const fn reduced(a: u8, b: u8, c: u8, d: u8, e: u8) -> Self {
        Obis([a, b, c, d, e, 255])
    }

    /// The same code on another channel (group B), e.g. the M-Bus channel of a gas meter.
    pub const fn with_b(self, b: u8) -> Self {
        let [a, _, c, d, e, f] = self.0;
        Obis([a, b, c, d, e, f])
    }

    /// Group A (medium: 0 abstract, 1 electricity, 7 gas, 8 water).
    pub fn a(&self) -> u8 {
        self.0[0]
    }
    /// Group B (channel).
    pub fn b(&self) -> u8 {
        self.0[1]
    }
    /// Group C (quantity).
    pub fn c(&self) -> u8 {
        self.0[2]
    }
    /// Group D (processing).
    pub fn d(&self) -> u8 {
        self.0[3]
    }
    /// Group E (tariff, classification).
    pub fn e(&self) -> u8 {
        self.0[4]
    }
    /// Group F (billing period; 255 = current).
    pub fn f(&self) -> u8 {
        self.0[5]
    }

    /// The reduced DSMR form `A-B:C.D.E` (drops F).
    pub fn to_reduced_string(&self) -> String {
        let mut buf = [0u8; BUF_LEN];
        let n = self.write_ascii(&mut buf, false);
        ascii_string(&buf[..n])
    }

    /// The full form `A-B:C.D.E*F` as a reading's value id, built without an allocation or the
    /// formatting machinery (see [`ShortStr`]): the same text as `to_string()`.
    pub fn id(&self) -> ShortStr {
        let mut buf = [0u8; BUF_LEN];
        let n = self.write_ascii(&mut buf, true);
        ShortStr::from_ascii_buffer(buf, n)
    }

    /// Writes `A-B:C.D.E` (and `*F` when `with_f`) into `buf`; returns the length. Decoders
    /// print an id per value, so this is done without the formatting machinery.
    fn write_ascii(&self, buf: &mut [u8; BUF_LEN], with_f: bool) -> usize {
        let groups = if with_f { 6 } else { 5 };
        let mut n = 0;
        for (i, &g) in self.0.iter().take(groups).enumerate() {
            if i > 0 {
                buf[n] = b"-:..*"[i - 1];
                n += 1;
            }
            // Three bytes are written and `len` of them kept: the next write covers the rest.
            let (digits, len) = DECIMAL[usize::from(g)];
            if let Some(to) = buf.get_mut(n..n + 3) {
                to.copy_from_slice(&digits);
            }
            n += usize::from(len);
        }
        n
    }
}

/// The longest full form: six three-digit groups and five separators.
const FULL_LEN: usize = 23;

/// Room for the full form and the two bytes [`Obis::write_ascii`] may write past it: a
/// [`ShortStr`]'s inline buffer, which [`Obis::id`] writes into.
const BUF_LEN: usize = ShortStr::INLINE;
const _: () = assert!(BUF_LEN >= FULL_LEN + 2);

/// Every byte value in decimal: its digits, left-aligned, and how many there are.
const DECIMAL: [([u8; 3], u8); 256] = {
    let mut table = [([0u8; 3], 0u8); 256];
    let mut v = 0;
    while v < 256 {
        let (h, t, u) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        table[v] = if v >= 100 {
            ([b'0' + h, b'0' + t, b'0' + u], 3)
        } else if v >= 10 {
            ([b'0' + t, b'0' + u, 0], 2)
        } else {
            ([b'0' + u, 0, 0], 1)
        };
        v += 1;
    }
    table
};

/// ASCII bytes as a `String` (they are always valid UTF-8).
fn ascii_string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; BUF_LEN];
        let n = self.write_ascii(&mut buf, true);
        // Only ASCII digits and separators were written.
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Obis {
    type Err = ObisError;

    /// Accepts `A-B:C.D.E*F` and the reduced `A-B:C.D.E` (F = 255): every group one to three
    /// decimal digits, at most 255.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_bytes(s.as_bytes()).ok_or_else(|| ObisError(s.to_string()))
    }
}

impl Obis {
    /// [`Obis::from_str`] on bytes: `None` where it gives an error.
    pub fn parse_ascii(bytes: &[u8]) -> Option<Obis> {
        parse_bytes(bytes)
    }
}

/// The OBIS code in `bytes` (the grammar of [`Obis::from_str`]), in one pass over the bytes.
fn parse_bytes(bytes: &[u8]) -> Option<Obis> {
    match parse_prefix(bytes) {
        Some((obis, len)) if len == bytes.len() => Some(obis),
        _ => None,
    }
}

/// The OBIS code at the start of `bytes` and its length: the grammar of [`Obis::from_str`]
/// read as far as it goes (`1-0:1.8.1(…)` gives `1-0:1.8.1*255` and 9). The caller checks
/// what follows; [`Obis::parse_ascii`] requires that nothing does.
pub(crate) fn parse_prefix(bytes: &[u8]) -> Option<(Obis, usize)> {
    // The grammar never looks past byte 23 (six groups of three digits, five separators and
    // the byte after), so with 32 bytes at hand every look is a plain load.
    match bytes.first_chunk::<32>() {
        Some(head) => parse_id(|k| head[k & 31]),
        None => parse_id(|k| bytes.get(k).copied().unwrap_or(0)),
    }
}

/// [`parse_prefix`] over `byte(k)`, the byte at `k` or 0 past the end (0 is neither a digit
/// nor a separator, as the end is not).
#[inline(always)]
fn parse_id(byte: impl Fn(usize) -> u8) -> Option<(Obis, usize)> {
    let digit = |k: usize| Some(byte(k).wrapping_sub(b'0')).filter(|&d| d <= 9);
    let mut groups = [255u8; 6];
    let mut i = 0;
    for (n, group) in groups.iter_mut().enumerate() {
        // One to three digits, at most 255.
        let d0 = digit(i)?;
        let value = match digit(i + 1) {
            None => {
                i += 1;
                d0
            }
            Some(d1) => match digit(i + 2) {
                None => {
                    i += 2;
                    d0 * 10 + d1
                }
                Some(d2) => {
                    if digit(i + 3).is_some() {
                        return None;
                    }
                    i += 3;
                    u8::try_from(u16::from(d0) * 100 + u16::from(d1) * 10 + u16::from(d2)).ok()?
                }
            },
        };
        *group = value;
        match (n, byte(i)) {
            (0, b'-') | (1, b':') | (2 | 3, b'.') | (4, b'*') => i += 1,
            (4 | 5, _) => return Some((Obis(groups), i)),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn full_and_reduced_forms() {
        let o: Obis = "1-0:1.8.1".parse().expect("reduced form");
        assert_eq!(o, Obis::new(1, 0, 1, 8, 1, 255));
        assert_eq!(o.to_string(), "1-0:1.8.1*255");
        assert_eq!(o.id(), "1-0:1.8.1*255");
        assert_eq!(
            Obis::new(255, 255, 255, 255, 255, 255).id(),
            "255-255:255.255.255*255"
        );
        assert_eq!(o.to_reduced_string(), "1-0:1.8.1");
        let o: Obis = "0-1:24.2.1*101".parse().expect("full form");
        assert_eq!(o.f(), 101);
        assert_eq!(o.with_b(2).to_string(), "0-2:24.2.1*101");
        let o: Obis = "255-10:0.100.99*9".parse().expect("every width");
        assert_eq!(o, Obis::new(255, 10, 0, 100, 99, 9));
        assert_eq!(o.to_string(), "255-10:0.100.99*9");
        assert_eq!(o.to_reduced_string(), "255-10:0.100.99");
        assert_eq!("010-0:1.8.1".parse::<Obis>().map(|o| o.a()), Ok(10));
        for bad in [
            "",
            "1-0",
            "1-0:1.8",
            "1-0:1.8.1.2",
            "1-0:1.8.256",
            "a-0:1.8.1",
            "1-0:1.8.1*",
            "1-0:1.8.1*2*3",
            "1-0:1.8.0001",
            "1--0:1.8.1",
            "1-0:1.8.1.",
            ":1.8.1",
        ] {
            assert!(bad.parse::<Obis>().is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn prefix_stops_where_the_grammar_ends() {
        let p = |s: &str| parse_prefix(s.as_bytes()).map(|(o, n)| (o.to_string(), n));
        assert_eq!(p("1-0:1.8.1(5)"), Some(("1-0:1.8.1*255".into(), 9)));
        assert_eq!(p("1-0:1.8.1*7(5)"), Some(("1-0:1.8.1*7".into(), 11)));
        assert_eq!(p("1-0:1.8.1.(5)"), Some(("1-0:1.8.1*255".into(), 9)));
        assert_eq!(p("1-0:1.8(5)"), None);
        assert_eq!(p("1-0:1.8.1*(5)"), None);
        assert_eq!(p("1-0:1.8.1000"), None);
        // With 32 bytes or more at hand (the rest of a telegram) as with fewer.
        let tail = "(000004.426*kWh)\r\n1-0:1.8.2(000004.426*kWh)";
        for id in [
            "1-0:1.8.1",
            "255-255:255.255.255*255",
            "1-0:1.8",
            "1-0:1.8.1*2*3",
            "0-0:96.1.1",
        ] {
            let long = format!("{id}{tail}");
            assert_eq!(
                parse_prefix(long.as_bytes()),
                parse_prefix(id.as_bytes()),
                "{id}"
            );
        }
    }
}
