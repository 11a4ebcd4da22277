//! OBIS object identifiers (IEC 62056-61): `A-B:C.D.E*F`.
//!
//! DSMR writes the reduced form `1-0:1.8.1` (F omitted, meaning 255); DLMS carries six bytes.
//! meterlab always prints the full form, so both name the same register the same way.

use std::fmt;
use std::str::FromStr;

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
        let [a, b, c, d, e, _] = self.0;
        format!("{a}-{b}:{c}.{d}.{e}")
    }
}

impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, ff] = self.0;
        write!(f, "{a}-{b}:{c}.{d}.{e}*{ff}")
    }
}

impl FromStr for Obis {
    type Err = ObisError;

    /// Accepts `A-B:C.D.E*F` and the reduced `A-B:C.D.E` (F = 255).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ObisError(s.to_string());
        let (ab, rest) = s.split_once(':').ok_or_else(err)?;
        let (a, b) = ab.split_once('-').ok_or_else(err)?;
        let (cde, f) = match rest.split_once('*') {
            Some((cde, f)) => (cde, Some(f)),
            None => (rest, None),
        };
        let mut groups = cde.split('.');
        let (c, d, e) = (
            groups.next().ok_or_else(err)?,
            groups.next().ok_or_else(err)?,
            groups.next().ok_or_else(err)?,
        );
        if groups.next().is_some() {
            return Err(err());
        }
        let group = |g: &str| -> Result<u8, ObisError> {
            if g.is_empty() || g.len() > 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            g.parse().map_err(|_| err())
        };
        Ok(Obis([
            group(a)?,
            group(b)?,
            group(c)?,
            group(d)?,
            group(e)?,
            match f {
                Some(f) => group(f)?,
                None => 255,
            },
        ]))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn full_and_reduced_forms() {
        let o: Obis = "1-0:1.8.1".parse().expect("reduced form");
        assert_eq!(o, Obis::new(1, 0, 1, 8, 1, 255));
        assert_eq!(o.to_string(), "1-0:1.8.1*255");
        assert_eq!(o.to_reduced_string(), "1-0:1.8.1");
        let o: Obis = "0-1:24.2.1*101".parse().expect("full form");
        assert_eq!(o.f(), 101);
        assert_eq!(o.with_b(2).to_string(), "0-2:24.2.1*101");
        for bad in [
            "",
            "1-0",
            "1-0:1.8",
            "1-0:1.8.1.2",
            "1-0:1.8.256",
            "a-0:1.8.1",
            "1-0:1.8.1*",
        ] {
            assert!(bad.parse::<Obis>().is_err(), "{bad:?} must be rejected");
        }
    }
}
