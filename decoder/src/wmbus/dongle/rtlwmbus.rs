//! rtl_wmbus text lines (xaelsouth/rtl-wmbus README; wmbus.md §3.4):
//! `MODE;CRC_OK;3OUTOF6OK;TIMESTAMP;PACKET_RSSI;CURRENT_RSSI;ID;0x<hex>` with the CRCs
//! removed; `;0x…` may chain more telegrams on the line. A line may also be bare `0x<hex>`.
//! A line whose CRC_OK is not `1` reports a telegram the receiver found damaged
//! (`crc_mismatch`). The L of a C1 format B telegram is rewritten by rtl_wmbus; an L that
//! disagrees with the hex is corrected, with a warning, as wmbusmeters does.

use super::{line, unhex, Delivered, Unit};
use crate::wmbus::{Error, ErrorKind};

fn telegram(hex: &[u8]) -> Delivered {
    let Some(mut bytes) = unhex(hex) else {
        return Delivered::error(Error::new(
            ErrorKind::Malformed,
            "the telegram of an rtl_wmbus line is not hex",
        ));
    };
    let mut warnings = Vec::new();
    match bytes.len() {
        0 => {
            return Delivered::error(Error::new(
                ErrorKind::Length,
                "an rtl_wmbus line without a telegram",
            ))
        }
        n if n > 256 => {
            return Delivered::error(Error::new(
                ErrorKind::Length,
                format!("{n} bytes are too many for one telegram"),
            ))
        }
        n if usize::from(bytes[0]) + 1 != n => {
            warnings.push(format!(
                "L field 0x{:02X} corrected to 0x{:02X}, the telegram's length",
                bytes[0],
                n - 1
            ));
            bytes[0] = (n - 1) as u8;
        }
        _ => {}
    }
    Delivered {
        frame: Ok(bytes),
        warnings,
    }
}

/// Whether `b` starts like an rtl_wmbus line: a mode (`T1`, `C1`, `S1`…) and `;`, or `0x`.
fn starts_line(b: &[u8]) -> Option<bool> {
    match b {
        [b'0', b'x', ..] => Some(true),
        [m, d, b';', ..] => Some(m.is_ascii_uppercase() && d.is_ascii_digit()),
        [b'0'] | [b'A'..=b'Z'] | [b'A'..=b'Z', b'0'..=b'9'] => None,
        _ => Some(false),
    }
}

/// What the bytes at the start of `b` are.
pub fn unit(b: &[u8], at_end: bool) -> Unit {
    match starts_line(b) {
        Some(true) => {}
        Some(false) => return Unit::Junk,
        None => return if at_end { Unit::Junk } else { Unit::Need },
    }
    let Some((text, len)) = line(b, at_end) else {
        return Unit::Need;
    };
    let fields: Vec<&[u8]> = text.split(|&c| c == b';').collect();
    let hex: Vec<&[u8]> = fields
        .iter()
        .filter_map(|f| f.strip_prefix(b"0x"))
        .collect();
    if hex.is_empty() {
        return Unit::Junk;
    }
    if !text.starts_with(b"0x") {
        if fields.len() < 8 {
            return Unit::Junk;
        }
        if fields[1] != b"1" {
            return Unit::Error {
                len,
                error: Error::new(
                    ErrorKind::CrcMismatch,
                    format!(
                        "rtl_wmbus reports a {} telegram whose CRC failed",
                        String::from_utf8_lossy(fields[0])
                    ),
                ),
            };
        }
    }
    Unit::Telegrams {
        len,
        telegrams: hex.into_iter().map(telegram).collect(),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn lines() {
        let l = b"T1;1;1;2019-04-03 19:00:42.000;97;148;33225544;0x1844AE4C4455223368077A55000000041389E20100023B0000\n";
        let Unit::Telegrams { len, telegrams } = unit(l, false) else {
            panic!("telegram expected")
        };
        assert_eq!((len, telegrams.len()), (l.len(), 1));
        assert!(telegrams[0].warnings.is_empty());
        let bad_l = b"0x2044AE4C4455223368077A55000000041389E20100023B0000\n";
        let Unit::Telegrams { telegrams, .. } = unit(bad_l, false) else {
            panic!("telegram expected")
        };
        assert_eq!(telegrams[0].warnings.len(), 1);
        assert_eq!(telegrams[0].frame.as_ref().map(|f| f[0]), Ok(0x18));
        let failed = b"T1;0;1;2019-04-03 19:00:42.000;97;148;33225544;0x1844AE\n";
        assert!(matches!(unit(failed, false), Unit::Error { .. }));
        assert_eq!(unit(b"T1;1;1;2019", false), Unit::Need);
        assert_eq!(unit(b"Tx", false), Unit::Junk);
    }
}
