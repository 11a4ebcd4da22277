//! IMST iM871A HCI frames (IMST WMBus HCI spec v1.6; wmbus.md §3.1):
//! `A5 | ctrl<<4 | endpoint | msgid | len | payload | [timestamp 4] | [RSSI] | [FCS 2]`.
//!
//! ctrl bits: `2` timestamp, `4` RSSI, `8` FCS attached (`1` is invalid). The FCS is
//! CRC-16/X-25 (~CRC-16/CCITT reflected, initial `FFFF`) over ctrl through the byte before
//! it, LSB first. A received telegram is endpoint 2 (radio link), message `03`
//! (WMBUSMSG_IND): its payload starts at C, the length byte is the telegram's L, CRCs removed.
//! Other messages (device management requests and replies) are link messages.

use super::{Delivered, Unit};
use crate::crc::crc16_x25;
use crate::reading::Direction;
use crate::wmbus::{Error, ErrorKind};

/// The start byte.
pub const START: u8 = 0xA5;
/// Endpoint of the radio link.
pub const RADIOLINK: u8 = 2;
/// Message id of a received telegram.
pub const WMBUSMSG_IND: u8 = 0x03;

fn message_name(endpoint: u8, msgid: u8) -> &'static str {
    match (endpoint, msgid) {
        (1, 0x01) => "DEVMGMT ping request",
        (1, 0x02) => "DEVMGMT ping response",
        (1, 0x03) => "DEVMGMT set configuration request",
        (1, 0x04) => "DEVMGMT set configuration response",
        (1, 0x05) => "DEVMGMT get configuration request",
        (1, 0x06) => "DEVMGMT get configuration response",
        (1, 0x0F) => "DEVMGMT get device info request",
        (1, 0x10) => "DEVMGMT get device info response",
        (1, _) => "DEVMGMT message",
        (2, 0x01) => "RADIOLINK send request",
        (2, 0x02) => "RADIOLINK send response",
        (2, _) => "RADIOLINK message",
        (3, _) => "RADIOLINKTEST message",
        _ => "HWTEST message",
    }
}

/// What the bytes at the start of `b` are.
pub fn unit(b: &[u8], at_end: bool) -> Unit {
    if b.first() != Some(&START) {
        return Unit::Junk;
    }
    let Some(h) = b.get(..4) else {
        return if at_end { Unit::Junk } else { Unit::Need };
    };
    let (ctrl, endpoint, msgid, len) = (h[1] >> 4, h[1] & 0x0F, h[2], usize::from(h[3]));
    if ctrl & 1 != 0 || !(1..=4).contains(&endpoint) {
        return Unit::Junk;
    }
    let extra = if ctrl & 2 != 0 { 4 } else { 0 }
        + usize::from(ctrl & 4 != 0)
        + if ctrl & 8 != 0 { 2 } else { 0 };
    let n = 4 + len + extra;
    let Some(f) = b.get(..n) else {
        return if at_end { Unit::Junk } else { Unit::Need };
    };
    if ctrl & 8 != 0 {
        let stated = u16::from_le_bytes([f[n - 2], f[n - 1]]);
        let computed = crc16_x25(&f[1..n - 2]);
        if stated != computed {
            return Unit::Error {
                len: n,
                error: Error::new(
                    ErrorKind::FcsMismatch,
                    format!("iM871A HCI frame FCS 0x{stated:04X}, computed 0x{computed:04X}"),
                ),
            };
        }
    }
    if endpoint == RADIOLINK && msgid == WMBUSMSG_IND {
        let mut frame = Vec::with_capacity(len + 1);
        frame.push(h[3]);
        frame.extend_from_slice(&f[4..4 + len]);
        return Unit::Telegrams {
            len: n,
            telegrams: vec![Delivered::frame(frame)],
        };
    }
    let direction = if msgid % 2 == 1 {
        Direction::ToMeter
    } else {
        Direction::FromMeter
    };
    Unit::Link {
        len: n,
        kind: "im871a",
        direction,
        detail: format!("{} ({len} payload bytes)", message_name(endpoint, msgid)),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn telegrams_and_replies() {
        let with_fcs = unhex("A5C2031844AE4C4455223368077A55000000041389E20100023B0000C8C6C1");
        let Unit::Telegrams { len, telegrams } = unit(&with_fcs, false) else {
            panic!("telegram expected")
        };
        assert_eq!(len, with_fcs.len());
        assert_eq!(
            telegrams[0].frame.as_deref().ok(),
            Some(&unhex("1844AE4C4455223368077A55000000041389E20100023B0000")[..])
        );
        let mut bad = with_fcs.clone();
        bad[12] ^= 4;
        assert!(matches!(unit(&bad, false), Unit::Error { .. }));
        assert_eq!(unit(&with_fcs[..10], false), Unit::Need);
        // Real replies (wmbusmeters #951, #72) with their FCS.
        for reply in [
            "A58104009CF7",
            "A581100833001301F13A000053D9",
            "A58102004CA3",
        ] {
            assert!(
                matches!(
                    unit(&unhex(reply), false),
                    Unit::Link {
                        direction: Direction::FromMeter,
                        ..
                    }
                ),
                "{reply}"
            );
        }
        assert!(matches!(
            unit(&unhex("A5010F00"), false),
            Unit::Link {
                direction: Direction::ToMeter,
                ..
            }
        ));
    }
}
