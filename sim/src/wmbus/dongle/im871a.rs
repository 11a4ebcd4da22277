//! IMST iM871A (WMBus HCI, `wmbus.md` §3.1): `A5 | ctrl<<4 | endpoint | msgid | len | payload |
//! [RSSI] | [FCS]`, FCS = CRC-16/X-25 (`~CRC-CCITT`, reflected, init FFFF) over ctrl … the last byte
//! before it, LSB first.
//!
//! | host sends | the stick answers |
//! |---|---|
//! | `A5 01 0F 00` GET_DEVICEINFO | `A5 81 10 08 33 00 13 01 F1 3A 00 00 53 D9` (real, wmbusmeters #951: iM871A, firmware 0x13) |
//! | `A5 01 05 00` GET_CONFIG | the real 23-byte configuration (#951) with the current link mode |
//! | `A5 01 03 … 02 <mode> …` SET_CONFIG | `A5 81 04 00 9C F7` (real, #72); the link mode applies at once |
//! | `A5 01 01 00` PING | `A5 81 02 00 4C A3` (#72) |
//!
//! Received telegrams: `A5 C2 03 <L> <C M A CI …> <RSSI> <FCS>`, CRCs removed and checked (a
//! failed CRC is dropped); RSSI raw = 2·(dBm + 100) + 44, which wmbusmeters' `toDBM`
//! (−100 + (raw − 45)/2, truncated) prints as the same dBm. Before
//! the host sets a link mode the receiver is off. Link modes: `00`–`02` S1/S1m/S2 hear S1, `03`/`04`
//! T1/T2 hear T1, `06` C1 format A, `07` (what wmbusmeters sets for c1) C1 formats A and B,
//! `08`/`09` C2 A/B hear C1, `0A` C1 and T1.

use chrono::{DateTime, Utc};

use super::{DongleKind, Framed, Stick};
use crate::clock::NS_PER_MS;
use crate::crc::CRC_X25;
use crate::line::UartConfig;
use crate::wmbus::link::{strip_crcs, FrameFormat};
use crate::wmbus::mode::RadioMode;
use crate::wmbus::radio::Reception;

/// Start of every HCI frame.
pub const START: u8 = 0xA5;
/// Endpoint: device management.
pub const EP_DEVMGMT: u8 = 0x01;
/// Endpoint: radio link.
pub const EP_RADIOLINK: u8 = 0x02;
/// Control bit: timestamp attached.
pub const CTRL_TIMESTAMP: u8 = 0x2;
/// Control bit: RSSI attached.
pub const CTRL_RSSI: u8 = 0x4;
/// Control bit: FCS attached.
pub const CTRL_FCS: u8 = 0x8;
/// DEVMGMT message ids: request, and its response is request + 1.
pub const PING_REQ: u8 = 0x01;
/// SET_CONFIG request.
pub const SET_CONFIG_REQ: u8 = 0x03;
/// GET_CONFIG request.
pub const GET_CONFIG_REQ: u8 = 0x05;
/// GET_DEVICEINFO request.
pub const GET_DEVICEINFO_REQ: u8 = 0x0F;
/// RADIOLINK: a received telegram.
pub const WMBUSMSG_IND: u8 = 0x03;
/// GET_DEVICEINFO payload of the real stick (#951): module type 0x33 (iM871A), device mode 0,
/// firmware 0x13, HCI version 1, uid 00003AF1.
pub const DEVICE_INFO: [u8; 8] = [0x33, 0x00, 0x13, 0x01, 0xF1, 0x3A, 0x00, 0x00];
/// GET_CONFIG payload of the real stick (#951); byte 2 is the link mode.
pub const CONFIG: [u8; 23] = [
    0xFF, 0x00, 0x07, 0x00, 0xB3, 0x25, 0x12, 0x35, 0x10, 0x00, 0x01, 0x00, 0x01, 0xFF, 0x07, 0x02,
    0x32, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
];
/// From a command's last byte to the reply, ns (well inside wmbusmeters' 100 ms read).
pub const REPLY_DELAY_NS: u64 = 3 * NS_PER_MS;

/// An HCI frame as the stick sends it: `A5`, ctrl with FCS, endpoint, id, payload, FCS.
pub fn hci_frame(endpoint: u8, msg_id: u8, payload: &[u8], rssi: Option<u8>) -> Vec<u8> {
    let mut ctrl = CTRL_FCS;
    if rssi.is_some() {
        ctrl |= CTRL_RSSI;
    }
    let mut out = vec![START, ctrl << 4 | endpoint, msg_id, payload.len() as u8];
    out.extend_from_slice(payload);
    out.extend(rssi);
    let fcs = CRC_X25.checksum(&out[1..]);
    out.extend_from_slice(&fcs.to_le_bytes());
    out
}

/// The stick's state.
#[derive(Clone, Debug)]
pub struct Im871a {
    rx: Vec<u8>,
    link_mode: Option<u8>,
    rssi: bool,
}

impl Default for Im871a {
    fn default() -> Self {
        Im871a {
            rx: Vec::new(),
            link_mode: None,
            rssi: true,
        }
    }
}

impl Im871a {
    /// The link mode the host set, if any.
    pub fn link_mode(&self) -> Option<u8> {
        self.link_mode
    }

    /// One complete host frame.
    fn command(&mut self, endpoint: u8, msg_id: u8, payload: &[u8]) -> Option<Vec<u8>> {
        if endpoint != EP_DEVMGMT {
            tracing::debug!(
                endpoint,
                msg_id,
                "im871a: request on another endpoint ignored"
            );
            return None;
        }
        match msg_id {
            PING_REQ => Some(hci_frame(EP_DEVMGMT, PING_REQ + 1, &[], None)),
            GET_DEVICEINFO_REQ => Some(hci_frame(
                EP_DEVMGMT,
                GET_DEVICEINFO_REQ + 1,
                &DEVICE_INFO,
                None,
            )),
            GET_CONFIG_REQ => {
                let mut config = CONFIG;
                config[2] = self.link_mode.unwrap_or(CONFIG[2]);
                Some(hci_frame(EP_DEVMGMT, GET_CONFIG_REQ + 1, &config, None))
            }
            SET_CONFIG_REQ => {
                self.set_config(payload);
                Some(hci_frame(EP_DEVMGMT, SET_CONFIG_REQ + 1, &[], None))
            }
            _ => {
                tracing::debug!(msg_id, "im871a: unknown device-management request ignored");
                None
            }
        }
    }

    /// SET_CONFIG: `NV | IIFlag1 | its fields | IIFlag2 | its fields`. IIFlag1 bits, in field
    /// order: device mode, link mode, C, M (2), id (4), version, device type, channel; IIFlag2
    /// bits 0–3 one byte each, bit 4 auto-RSSI, bit 5 timestamp.
    fn set_config(&mut self, payload: &[u8]) {
        const WIDTH1: [usize; 8] = [1, 1, 1, 2, 4, 1, 1, 1];
        let Some(&flags1) = payload.get(1) else {
            return;
        };
        let mut at = 2;
        for (bit, width) in WIDTH1.iter().enumerate() {
            if flags1 & (1 << bit) != 0 {
                if bit == 1 {
                    if let Some(&mode) = payload.get(at) {
                        self.link_mode = Some(mode);
                    }
                }
                at += width;
            }
        }
        let Some(&flags2) = payload.get(at) else {
            return;
        };
        at += 1;
        for bit in 0..6 {
            if flags2 & (1 << bit) != 0 {
                if bit == 4 {
                    if let Some(&on) = payload.get(at) {
                        self.rssi = on != 0;
                    }
                }
                at += 1;
            }
        }
    }
}

impl Stick for Im871a {
    fn kind(&self) -> DongleKind {
        DongleKind::Im871a
    }

    fn uart(&self) -> UartConfig {
        super::uart_8n1(57_600)
    }

    fn host(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.rx.extend_from_slice(bytes);
        let mut replies = Vec::new();
        loop {
            super::skip_to(&mut self.rx, START);
            if self.rx.len() < 4 {
                break;
            }
            let ctrl = self.rx[1] >> 4;
            if ctrl & 0x1 != 0 {
                // wmbusmeters rejects such frames; the stick does not know them either.
                self.rx.remove(0);
                continue;
            }
            let len = usize::from(self.rx[3]);
            let extra = if ctrl & CTRL_TIMESTAMP != 0 { 4 } else { 0 }
                + usize::from(ctrl & CTRL_RSSI != 0)
                + if ctrl & CTRL_FCS != 0 { 2 } else { 0 };
            let total = 4 + len + extra;
            if self.rx.len() < total {
                break;
            }
            if ctrl & CTRL_FCS != 0 {
                let fcs = CRC_X25.checksum(&self.rx[1..total - 2]).to_le_bytes();
                if fcs != self.rx[total - 2..total] {
                    tracing::debug!("im871a: host frame with a bad FCS dropped");
                    self.rx.drain(..total);
                    continue;
                }
            }
            let frame: Vec<u8> = self.rx.drain(..total).collect();
            if let Some(reply) = self.command(frame[1] & 0x0F, frame[2], &frame[4..4 + len]) {
                replies.push(reply);
            }
        }
        replies
    }

    fn reply_delay_ns(&self) -> u64 {
        REPLY_DELAY_NS
    }

    fn passes_corrupt(&self) -> bool {
        false
    }

    fn hears(&self, mode: RadioMode, format: FrameFormat) -> bool {
        match (self.link_mode, mode) {
            (Some(0x00..=0x02), RadioMode::S1) => true,
            (Some(0x03 | 0x04 | 0x0A), RadioMode::T1) => true,
            (Some(0x06), RadioMode::C1) => format == FrameFormat::A,
            (Some(0x07..=0x0A), RadioMode::C1) => true,
            _ => false,
        }
    }

    fn power_cycle(&mut self) {
        *self = Im871a::default();
    }

    fn frame(&mut self, rx: &Reception, _wall: DateTime<Utc>) -> Framed {
        let Ok(bare) = strip_crcs(rx.format, &rx.frame) else {
            return Framed::Dropped;
        };
        // The HCI length byte stands for L: the payload starts at C.
        let raw = (2 * (i32::from(rx.rssi_dbm) + 100) + 44).clamp(0, 255) as u8;
        Framed::Delivered(hci_frame(
            EP_RADIOLINK,
            WMBUSMSG_IND,
            &bare[1..],
            self.rssi.then_some(raw),
        ))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wmbus::test_vectors::hex;

    #[test]
    fn test_startup_exchange_of_wmbusmeters() {
        let mut s = Im871a::default();
        // Detection: device info, configuration (each read once, 100 ms later).
        assert_eq!(
            s.host(&hex("A5010F00")),
            vec![hex("A581100833001301F13A000053D9")]
        );
        assert_eq!(
            s.host(&hex("A5010500")),
            vec![hex(
                "A5810617FF000700B32512351000010001FF07023200010000000063C9"
            )]
        );
        assert!(!s.hears(RadioMode::T1, FrameFormat::A));
        // Set link mode T1 (03), auto-RSSI on, timestamp off; split over two writes.
        let mut replies = s.host(&hex("A50103060002"));
        assert!(replies.is_empty());
        replies = s.host(&hex("03300100"));
        assert_eq!(replies, vec![hex("A58104009CF7")]);
        assert_eq!(s.link_mode(), Some(0x03));
        assert!(s.hears(RadioMode::T1, FrameFormat::A));
        assert!(!s.hears(RadioMode::C1, FrameFormat::A));
        // The configuration now reports T1; ping works; garbage before a frame is skipped.
        let config = s.host(&hex("0000A5010500"));
        assert_eq!(config.len(), 1);
        assert_eq!(config[0][6], 0x03);
        assert_eq!(s.host(&hex("A5010100")), vec![hex("A58102004CA3")]);
    }

    #[test]
    fn test_c1_link_modes() {
        let mut s = Im871a::default();
        s.host(&hex("A501030600020730010000"));
        assert_eq!(s.link_mode(), Some(0x07));
        assert!(s.hears(RadioMode::C1, FrameFormat::B));
        assert!(s.hears(RadioMode::C1, FrameFormat::A));
        assert!(!s.hears(RadioMode::T1, FrameFormat::A));
        s.host(&hex("A501030600020630010000"));
        assert!(!s.hears(RadioMode::C1, FrameFormat::B));
        s.host(&hex("A501030600020A30010000"));
        assert!(s.hears(RadioMode::T1, FrameFormat::A) && s.hears(RadioMode::C1, FrameFormat::B));
    }

    #[test]
    fn test_indication_frame_of_wmbus_md() {
        // wmbus.md §3.1: the iPerl telegram with RSSI C8 (−22 dBm) and FCS C6C1.
        let mut s = Im871a::default();
        let mut rx = crate::wmbus::dongle::test::iperl_reception(-22);
        assert_eq!(
            s.frame(&rx, DateTime::default()),
            Framed::Delivered(hex(
                "A5C2031844AE4C4455223368077A55000000041389E20100023B0000C8C6C1"
            ))
        );
        rx.frame[20] ^= 0x10;
        assert_eq!(s.frame(&rx, DateTime::default()), Framed::Dropped);
    }
}
