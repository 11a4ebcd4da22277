//! The DSMR telegram CRC (DSMR P1 Companion Standard 5.0.2 §6.2).
//!
//! CRC-16/ARC: polynomial x^16 + x^15 + x^2 + 1 (0x8005, reflected 0xA001), initial value 0,
//! no final XOR, LSB first, computed over every byte from `/` through `!` inclusive and sent as
//! four hex digits, most significant first. Real meters deviate: Holley DTSD545 sends a
//! CRC-16/X-25, a Warmtelink sends three digits (`!B9F`), and captures stored by tools that
//! convert line endings only match once CR is put back before every LF. [`check`] names which
//! of these matched.

pub use crate::crc::{crc16_arc, crc16_x25, ARC, X25};

/// The CRC a telegram states after its `!`: its value and how many hex digits were sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Crc {
    /// The stated value.
    pub value: u16,
    /// Number of hex digits sent (1 to 4; the standard says 4).
    pub digits: u8,
}

impl Crc {
    /// Parses the 1 to 4 hex digits after `!` (either case). `None` if there are none, more
    /// than 4, or a byte that is not a hex digit.
    pub fn from_digits(digits: &[u8]) -> Option<Crc> {
        if digits.is_empty() || digits.len() > 4 {
            return None;
        }
        let mut value: u16 = 0;
        for &b in digits {
            let nibble = (b as char).to_digit(16)?;
            value = (value << 4) | nibble as u16;
        }
        Some(Crc {
            value,
            digits: digits.len() as u8,
        })
    }
}

/// Which CRC variant matched the stated value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrcCheck {
    /// CRC-16/ARC over the bytes as received: what the standard says.
    Arc,
    /// CRC-16/X-25 over the bytes as received (Holley).
    X25,
    /// CRC-16/ARC matches only with CR restored before every bare LF: the capture's line
    /// endings were converted somewhere between the meter and the decoder.
    ArcCrRestored,
    /// Nothing matched.
    Mismatch {
        /// The CRC-16/ARC computed over the bytes as received.
        computed: u16,
    },
}

/// CRC-16/ARC of `bytes` with a CR inserted before every LF that does not already follow one,
/// computed without copying.
pub fn crc16_arc_cr_restored(bytes: &[u8]) -> u16 {
    let mut digest = ARC.digest();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            digest.update(&bytes[start..i]);
            digest.update(b"\r");
            start = i;
        }
    }
    digest.update(&bytes[start..]);
    digest.finalize()
}

/// Checks `stated` against `covered` (the bytes from `/` through `!`): CRC-16/ARC first, then
/// the variants real meters and captures are known to produce.
pub fn check(covered: &[u8], stated: u16) -> CrcCheck {
    let computed = crc16_arc(covered);
    if computed == stated {
        return CrcCheck::Arc;
    }
    if crc16_x25(covered) == stated {
        return CrcCheck::X25;
    }
    if has_bare_lf(covered) && crc16_arc_cr_restored(covered) == stated {
        return CrcCheck::ArcCrRestored;
    }
    CrcCheck::Mismatch { computed }
}

/// Whether `bytes` has an LF that does not follow a CR.
fn has_bare_lf(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
}

#[cfg(test)]
mod test {
    use super::*;

    /// Minimal DSMR 5 telegram (nielsbasjes/dsmr-tools, TestDsmrParserOnSpecification),
    /// `/` through `!`; its CRC is 8AF2.
    static COVERED: &[u8] = b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n0-0:0.0.0(101209113020W)\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n!";

    #[test]
    fn test_telegram_crc() {
        assert_eq!(crc16_arc(COVERED), 0x8AF2);
        assert_eq!(check(COVERED, 0x8AF2), CrcCheck::Arc);
        assert_eq!(
            check(COVERED, 0xBAD0),
            CrcCheck::Mismatch { computed: 0x8AF2 }
        );
        let x25 = crc16_x25(COVERED);
        assert_eq!(check(COVERED, x25), CrcCheck::X25);
    }

    #[test]
    fn test_cr_restored() {
        let lf_only: Vec<u8> = COVERED.iter().copied().filter(|&b| b != b'\r').collect();
        assert_ne!(crc16_arc(&lf_only), 0x8AF2);
        assert_eq!(crc16_arc_cr_restored(&lf_only), 0x8AF2);
        assert_eq!(check(&lf_only, 0x8AF2), CrcCheck::ArcCrRestored);
        // Nothing to restore: the same as plain ARC.
        assert_eq!(crc16_arc_cr_restored(COVERED), 0x8AF2);
    }

    #[test]
    fn test_digits() {
        assert_eq!(
            Crc::from_digits(b"B9F"),
            Some(Crc {
                value: 0x0B9F,
                digits: 3
            })
        );
        assert_eq!(Crc::from_digits(b"8af2").map(|c| c.value), Some(0x8AF2));
        assert_eq!(Crc::from_digits(b""), None);
        assert_eq!(Crc::from_digits(b"12345"), None);
        assert_eq!(Crc::from_digits(b"12G4"), None);
    }
}
