//! Amber AMB8465 / Würth Metis-II (`wmbus.md` §3.2): command frames `FF cmd len payload CS`, CS
//! = XOR of every byte before it; a confirmation is `cmd | 0x80`.
//!
//! | host sends | the stick answers |
//! |---|---|
//! | `FF 0A 02 <offset> <len> CS` GET_REQ | `FF 8A <n+2> <offset> <n> <n bytes of parameter memory> CS`, at most 0x78 bytes (the real dump of wmbusmeters #1049: UART_CMD_Out_Enable = 1, RSSI_Enable = 1) |
//! | `FF 09 <n+2> <offset> <n> <bytes> CS` SET_REQ | `FF 89 01 00 CS`; the memory is written (the receive mode at 0x46 applies after a reset) |
//! | `FF 05 00 CS` RESET | `FF 85 01 00 CS`; the receive mode becomes the one in memory |
//! | `FF 04 01 <mode> CS` SET_MODE_REQ | `FF 84 01 00 7A`; the receive mode applies at once |
//! | `FF 0B 00 F4` SERIALNO | `FF 8B 04 53 00 5B 0E 76` (serial number 0x53005B0E) |
//!
//! Receive modes: `03` S2 hears S1, `08` T2-other hears T1, `0E` C2-other hears C1, `09`
//! C2/T2-other hears C1 and T1. Until the host sets a mode (SET_MODE or SET_REQ + RESET) the
//! receiver is silent: wmbusmeters drains the input while probing.
//!
//! Unplugged and plugged in again, it forgets the volatile mode and keeps its parameter memory
//! (RSSI and command-mode switches written with SET_REQ apply to every later telegram).
//!
//! Received telegrams, command mode: `FF 03 <len> <C M A CI …> <RSSI> CS`, len counting the RSSI
//! byte; CRCs removed and checked (failed CRC dropped). RSSI: dBm = int8/2 − 74.

use chrono::{DateTime, Utc};

use super::{rssi_raw_half_db, DongleKind, Framed, Stick};
use crate::clock::NS_PER_MS;
use crate::line::UartConfig;
use crate::wmbus::link::{strip_crcs, FrameFormat};
use crate::wmbus::mode::RadioMode;
use crate::wmbus::radio::Reception;

/// Start of every command frame.
pub const START: u8 = 0xFF;
/// DATA_IND: a received telegram.
pub const DATA_IND: u8 = 0x03;
/// SET_MODE_REQ (volatile receive mode).
pub const SET_MODE_REQ: u8 = 0x04;
/// RESET_REQ.
pub const RESET_REQ: u8 = 0x05;
/// SET_REQ (parameter memory).
pub const SET_REQ: u8 = 0x09;
/// GET_REQ (parameter memory).
pub const GET_REQ: u8 = 0x0A;
/// SERIALNO_REQ.
pub const SERIALNO_REQ: u8 = 0x0B;
/// Parameter memory offset of UART_CMD_Out_Enable.
pub const REG_CMD_OUT: usize = 0x05;
/// Parameter memory offset of RSSI_Enable.
pub const REG_RSSI: usize = 0x45;
/// Parameter memory offset of the receive mode.
pub const REG_MODE: usize = 0x46;
/// The parameter memory of the real stick (wmbusmeters #1049), 0x78 bytes.
pub const MEMORY: [u8; 0x78] = [
    0x00, 0x80, 0x71, 0x02, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFA, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0C, 0x32, 0x00, 0x02,
    0x64, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
    0x01, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x0B, 0x06, 0x01, 0x00,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x03, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
];
/// The serial number the stick reports.
pub const SERIAL: [u8; 4] = [0x53, 0x00, 0x5B, 0x0E];
/// From a command's last byte to the reply, ns.
pub const REPLY_DELAY_NS: u64 = 2 * NS_PER_MS;

/// A command frame with its XOR checksum.
pub fn command_frame(cmd: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![START, cmd, payload.len() as u8];
    out.extend_from_slice(payload);
    let cs = out.iter().fold(0, |a, b| a ^ b);
    out.push(cs);
    out
}

/// The stick's state.
#[derive(Clone, Debug)]
pub struct Amb8465 {
    rx: Vec<u8>,
    memory: [u8; 0x78],
    mode: Option<u8>,
}

impl Default for Amb8465 {
    fn default() -> Self {
        Amb8465 {
            rx: Vec::new(),
            memory: MEMORY,
            mode: None,
        }
    }
}

impl Amb8465 {
    /// The receive mode in force, if the host set one.
    pub fn mode(&self) -> Option<u8> {
        self.mode
    }

    fn command(&mut self, cmd: u8, payload: &[u8]) -> Option<Vec<u8>> {
        let ok = |cmd: u8| command_frame(cmd | 0x80, &[0x00]);
        match cmd {
            GET_REQ => {
                let offset = usize::from(*payload.first()?);
                let want = usize::from(*payload.get(1)?);
                let end = (offset + want).min(self.memory.len());
                let data = self.memory.get(offset..end).unwrap_or(&[]);
                let mut reply = vec![offset as u8, data.len() as u8];
                reply.extend_from_slice(data);
                Some(command_frame(GET_REQ | 0x80, &reply))
            }
            SET_REQ => {
                let offset = usize::from(*payload.first()?);
                let n = usize::from(*payload.get(1)?);
                let data = payload.get(2..2 + n)?;
                let status = match self.memory.get_mut(offset..offset + n) {
                    Some(target) => {
                        target.copy_from_slice(data);
                        0x00
                    }
                    None => 0x01,
                };
                Some(command_frame(SET_REQ | 0x80, &[status]))
            }
            RESET_REQ => {
                self.mode = Some(self.memory[REG_MODE]);
                Some(ok(RESET_REQ))
            }
            SET_MODE_REQ => {
                self.mode = Some(*payload.first()?);
                Some(ok(SET_MODE_REQ))
            }
            SERIALNO_REQ => Some(command_frame(SERIALNO_REQ | 0x80, &SERIAL)),
            _ => {
                tracing::debug!(cmd, "amb8465: unknown command ignored");
                None
            }
        }
    }
}

impl Stick for Amb8465 {
    fn kind(&self) -> DongleKind {
        DongleKind::Amb8465
    }

    fn uart(&self) -> UartConfig {
        super::uart_8n1(9_600)
    }

    fn host(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.rx.extend_from_slice(bytes);
        let mut replies = Vec::new();
        loop {
            super::skip_to(&mut self.rx, START);
            if self.rx.len() < 3 {
                break;
            }
            let total = 4 + usize::from(self.rx[2]);
            if self.rx.len() < total {
                break;
            }
            let cs = self.rx[..total - 1].iter().fold(0, |a, b| a ^ b);
            if cs != self.rx[total - 1] {
                tracing::debug!("amb8465: command with a bad checksum skipped");
                self.rx.remove(0);
                continue;
            }
            let frame: Vec<u8> = self.rx.drain(..total).collect();
            if let Some(reply) = self.command(frame[1], &frame[3..total - 1]) {
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

    fn hears(&self, mode: RadioMode, _format: FrameFormat) -> bool {
        matches!(
            (self.mode, mode),
            (Some(0x03), RadioMode::S1)
                | (Some(0x08 | 0x09), RadioMode::T1)
                | (Some(0x0E | 0x09), RadioMode::C1)
        )
    }

    fn power_cycle(&mut self) {
        self.rx.clear();
        self.mode = None;
    }

    fn frame(&mut self, rx: &Reception, _wall: DateTime<Utc>) -> Framed {
        let Ok(bare) = strip_crcs(rx.format, &rx.frame) else {
            return Framed::Dropped;
        };
        let mut body = bare[1..].to_vec();
        if self.memory[REG_RSSI] != 0 {
            body.push(rssi_raw_half_db(rx.rssi_dbm));
        }
        if self.memory[REG_CMD_OUT] != 0 {
            Framed::Delivered(command_frame(DATA_IND, &body))
        } else {
            // Transparent mode: L counts the RSSI byte, no FF and no checksum.
            let mut out = vec![body.len() as u8];
            out.extend_from_slice(&body);
            Framed::Delivered(out)
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wmbus::test_vectors::hex;

    const DUMP: &str = "FF8A7A00780080710200010000FFFFFA00FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0C3200026400FFFFFFFFFF010004000000FFFFFF01440000000000000000FFFF0B060100FFFFFFFFFF01030000FFFFFFFFFFFFFF0000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF69";

    #[test]
    fn test_startup_exchange_of_wmbusmeters() {
        let mut s = Amb8465::default();
        // Detection and getDeviceId: the 126-byte parameter dump of the real stick.
        let dump = s.host(&hex("FF0A02008077"));
        assert_eq!(dump, vec![hex(DUMP)]);
        assert_eq!(dump[0].len(), 126);
        assert!(!s.hears(RadioMode::T1, FrameFormat::A));
        // Set mode C1+T1, then the serial number.
        assert_eq!(s.host(&hex("FF040109F3")), vec![hex("FF8401007A")]);
        assert!(s.hears(RadioMode::T1, FrameFormat::A));
        assert!(s.hears(RadioMode::C1, FrameFormat::B));
        assert!(!s.hears(RadioMode::S1, FrameFormat::A));
        assert_eq!(s.host(&hex("FF0B00F4")), vec![hex("FF8B0453005B0E76")]);
        // T1 only.
        assert_eq!(s.host(&hex("FF040108F2")), vec![hex("FF8401007A")]);
        assert!(!s.hears(RadioMode::C1, FrameFormat::A));
        // A bad checksum is skipped, the next command answered.
        assert_eq!(s.host(&hex("FF0B00F5FF0B00F4")).len(), 1);
    }

    #[test]
    fn test_jmbus_nonvolatile_setup() {
        // jMBus writes receive mode 0x46 = 08 (T) and resets.
        let mut s = Amb8465::default();
        let set = command_frame(SET_REQ, &[0x46, 0x01, 0x08]);
        assert_eq!(s.host(&set), vec![command_frame(0x89, &[0x00])]);
        assert_eq!(s.mode(), None);
        assert_eq!(
            s.host(&command_frame(RESET_REQ, &[])),
            vec![command_frame(0x85, &[0x00])]
        );
        assert_eq!(s.mode(), Some(0x08));
        // Out of range: status 01.
        assert_eq!(
            s.host(&command_frame(SET_REQ, &[0x77, 0x02, 0x00, 0x00])),
            vec![command_frame(0x89, &[0x01])]
        );
    }

    #[test]
    fn test_data_indication_of_wmbus_md() {
        // wmbus.md §3.2: the iPerl telegram, RSSI B0 (−114 dBm).
        let mut s = Amb8465::default();
        let rx = crate::wmbus::dongle::test::iperl_reception(-114);
        assert_eq!(
            s.frame(&rx, DateTime::default()),
            Framed::Delivered(hex(
                "FF031944AE4C4455223368077A55000000041389E20100023B0000B0F7"
            ))
        );
    }
}
