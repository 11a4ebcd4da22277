//! Amber/Würth AMB8465 command-mode frames (AMB8426-M manual p. 7; wmbus.md §3.2):
//! `FF cmd len payload CS`, CS = XOR of every byte before it. A received telegram is `cmd 03`
//! (DATA_IND): its payload is C … with the CRCs removed and, as the stick is set up by
//! wmbusmeters and jMBus (RSSI_Enable = 1), one RSSI byte at the end that `len` counts. A
//! request's confirmation is `cmd | 0x80`.

use super::{Delivered, Unit};
use crate::reading::Direction;
use crate::wmbus::{Error, ErrorKind};

/// The start byte.
pub const START: u8 = 0xFF;
/// Command of a received telegram.
pub const DATA_IND: u8 = 0x03;

fn command_name(cmd: u8) -> Option<&'static str> {
    Some(match cmd & 0x7F {
        0x00 => "DATA_REQ",
        0x03 => "DATA_IND",
        0x04 => "SET_MODE_REQ",
        0x05 => "RESET_REQ",
        0x09 => "SET_REQ",
        0x0A => "GET_REQ",
        0x0B => "SERIALNO_REQ",
        0x0C => "FWV_REQ",
        0x0D => "RSSI_REQ",
        0x11 => "FACTORYRESET_REQ",
        _ => return None,
    })
}

/// What the bytes at the start of `b` are.
pub fn unit(b: &[u8], at_end: bool) -> Unit {
    if b.first() != Some(&START) {
        return Unit::Junk;
    }
    let Some(h) = b.get(..3) else {
        return if at_end { Unit::Junk } else { Unit::Need };
    };
    let (cmd, len) = (h[1], usize::from(h[2]));
    let Some(name) = command_name(cmd) else {
        return Unit::Junk;
    };
    let n = 3 + len + 1;
    let Some(f) = b.get(..n) else {
        return if at_end { Unit::Junk } else { Unit::Need };
    };
    let computed = f[..n - 1].iter().fold(0u8, |x, &c| x ^ c);
    if computed != f[n - 1] {
        return Unit::Error {
            len: n,
            error: Error::new(
                ErrorKind::Checksum,
                format!(
                    "AMB8465 frame checksum 0x{:02X}, computed 0x{computed:02X}",
                    f[n - 1]
                ),
            ),
        };
    }
    if cmd == DATA_IND {
        let telegram = if len < 2 {
            Delivered::error(Error::new(
                ErrorKind::Length,
                "AMB8465 DATA_IND without a telegram",
            ))
        } else {
            // The last byte is the RSSI; L = the telegram's bytes after L.
            let mut frame = Vec::with_capacity(len);
            frame.push((len - 1) as u8);
            frame.extend_from_slice(&f[3..3 + len - 1]);
            Delivered::frame(frame)
        };
        return Unit::Telegrams {
            len: n,
            telegrams: vec![telegram],
        };
    }
    let direction = if cmd & 0x80 != 0 {
        Direction::FromMeter
    } else {
        Direction::ToMeter
    };
    let what = if cmd & 0x80 != 0 {
        format!("{name} confirmation")
    } else {
        name.to_string()
    };
    Unit::Link {
        len: n,
        kind: "amb8465",
        direction,
        detail: format!("{what} ({len} payload bytes)"),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn telegram_and_commands() {
        let b = unhex("FF031944AE4C4455223368077A55000000041389E20100023B0000B0F7");
        let Unit::Telegrams { len, telegrams } = unit(&b, false) else {
            panic!("telegram expected")
        };
        assert_eq!(len, b.len());
        assert_eq!(
            telegrams[0].frame.as_deref().ok(),
            Some(&unhex("1844AE4C4455223368077A55000000041389E20100023B0000")[..])
        );
        let mut bad = b.clone();
        bad[20] ^= 0x10;
        assert!(matches!(unit(&bad, false), Unit::Error { .. }));
        assert!(matches!(
            unit(&unhex("FF040108F2"), false),
            Unit::Link {
                direction: Direction::ToMeter,
                ..
            }
        ));
        assert!(matches!(
            unit(&unhex("FF8401007A"), false),
            Unit::Link {
                direction: Direction::FromMeter,
                ..
            }
        ));
        assert_eq!(unit(&unhex("FF2E0000"), false), Unit::Junk);
    }
}
