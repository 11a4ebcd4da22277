//! A CUL stick with culfw and wireless M-Bus support (`wmbus.md` §3.3): ASCII lines, CR LF.
//!
//! | host sends | the stick answers |
//! |---|---|
//! | `V` | `V 1.67 nanoCUL868` (wmbusmeters looks for `CUL`) |
//! | `brc` / `brt` / `brs` | `CMODE` / `TMODE` / `SMODE`; the receiver switches to C, T or S mode |
//! | `X21` | nothing; report flags 0x21 = known messages + RSSI |
//!
//! Received telegrams: `b` (format B: `bY`) + the frame in upper-case hex **with its CRCs**, then,
//! with the RSSI report flag (0x20), LQI and RSSI as two hex digits each; CR LF. culfw does not
//! check the CRCs: a corrupt frame is passed on for the host to drop. In C mode culfw also passes
//! T frames. LQI is reported as 0x2F; RSSI: dBm = int8/2 − 74.

use chrono::{DateTime, Utc};

use super::{hex_upper, rssi_raw_half_db, DongleKind, Framed, Stick};
use crate::clock::NS_PER_MS;
use crate::line::UartConfig;
use crate::wmbus::link::{strip_crcs, FrameFormat};
use crate::wmbus::mode::RadioMode;
use crate::wmbus::radio::Reception;

/// The version line.
pub const VERSION: &str = "V 1.67 nanoCUL868";
/// Report flag: RSSI (and LQI) appended.
pub const REP_RSSI: u8 = 0x20;
/// The LQI byte reported.
pub const LQI: u8 = 0x2F;
/// From a command's last byte to the reply, ns.
pub const REPLY_DELAY_NS: u64 = 5 * NS_PER_MS;
/// Longest command line kept; longer input is dropped.
const MAX_LINE: usize = 128;

/// The receiver mode culfw runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CulMode {
    /// `brs`.
    S,
    /// `brt`.
    T,
    /// `brc`.
    C,
}

/// The stick's state.
#[derive(Clone, Debug, Default)]
pub struct Cul {
    line: Vec<u8>,
    mode: Option<CulMode>,
    report: u8,
}

impl Cul {
    /// The receiver mode, if the host set one.
    pub fn mode(&self) -> Option<CulMode> {
        self.mode
    }

    fn command(&mut self, line: &str) -> Option<String> {
        match line {
            "V" => Some(VERSION.to_string()),
            "brc" => {
                self.mode = Some(CulMode::C);
                Some("CMODE".into())
            }
            "brt" => {
                self.mode = Some(CulMode::T);
                Some("TMODE".into())
            }
            "brs" => {
                self.mode = Some(CulMode::S);
                Some("SMODE".into())
            }
            _ => {
                if let Some(flags) = line
                    .strip_prefix('X')
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    self.report = flags;
                } else {
                    tracing::debug!(line, "cul: unknown command ignored");
                }
                None
            }
        }
    }
}

impl Stick for Cul {
    fn kind(&self) -> DongleKind {
        DongleKind::Cul
    }

    fn uart(&self) -> UartConfig {
        super::uart_8n1(38_400)
    }

    fn host(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut replies = Vec::new();
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    let line = String::from_utf8_lossy(&self.line).trim().to_string();
                    self.line.clear();
                    if line.is_empty() {
                        continue;
                    }
                    if let Some(reply) = self.command(&line) {
                        replies.push(format!("{reply}\r\n").into_bytes());
                    }
                }
                _ if self.line.len() < MAX_LINE => self.line.push(b),
                _ => self.line.clear(),
            }
        }
        replies
    }

    fn reply_delay_ns(&self) -> u64 {
        REPLY_DELAY_NS
    }

    fn passes_corrupt(&self) -> bool {
        true
    }

    fn hears(&self, mode: RadioMode, _format: FrameFormat) -> bool {
        matches!(
            (self.mode, mode),
            (Some(CulMode::S), RadioMode::S1)
                | (Some(CulMode::T), RadioMode::T1)
                | (Some(CulMode::C), RadioMode::C1 | RadioMode::T1)
        )
    }

    fn power_cycle(&mut self) {
        *self = Cul::default();
    }

    fn frame(&mut self, rx: &Reception, _wall: DateTime<Utc>) -> Framed {
        let mut line = String::from("b");
        if rx.format == FrameFormat::B {
            line.push('Y');
        }
        line.push_str(&hex_upper(&rx.frame));
        if self.report & REP_RSSI != 0 {
            line.push_str(&hex_upper(&[LQI, rssi_raw_half_db(rx.rssi_dbm)]));
        }
        line.push_str("\r\n");
        if strip_crcs(rx.format, &rx.frame).is_ok() {
            Framed::Delivered(line.into_bytes())
        } else {
            Framed::DeliveredCorrupt(line.into_bytes())
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wmbus::dongle::test::iperl_reception;

    #[test]
    fn test_startup_exchange_of_wmbusmeters() {
        let mut s = Cul::default();
        assert_eq!(s.host(b"V\r\n"), vec![b"V 1.67 nanoCUL868\r\n".to_vec()]);
        assert!(!s.hears(RadioMode::T1, FrameFormat::A));
        assert_eq!(s.host(b"br"), Vec::<Vec<u8>>::new());
        assert_eq!(s.host(b"t\r\n"), vec![b"TMODE\r\n".to_vec()]);
        assert!(s.hears(RadioMode::T1, FrameFormat::A));
        assert!(!s.hears(RadioMode::C1, FrameFormat::A));
        assert!(s.host(b"X21\r\n").is_empty());
        assert_eq!(s.host(b"brc\n"), vec![b"CMODE\r\n".to_vec()]);
        assert!(s.hears(RadioMode::C1, FrameFormat::B) && s.hears(RadioMode::T1, FrameFormat::A));
        assert_eq!(s.host(b"brs\r\n"), vec![b"SMODE\r\n".to_vec()]);
        assert!(s.hears(RadioMode::S1, FrameFormat::A) && !s.hears(RadioMode::T1, FrameFormat::A));
    }

    #[test]
    fn test_line_of_wmbus_md() {
        let mut s = Cul::default();
        s.host(b"brt\r\nX21\r\n");
        let mut rx = iperl_reception(-102);
        assert_eq!(
            s.frame(&rx, DateTime::default()),
            Framed::Delivered(
                b"b1844AE4C4455223368075F787A55000000041389E20100023B0000D0C62FC8\r\n".to_vec()
            )
        );
        rx.frame[3] ^= 1;
        assert!(matches!(
            s.frame(&rx, DateTime::default()),
            Framed::DeliveredCorrupt(_)
        ));
        // Without the RSSI report flag, no LQI/RSSI.
        let mut plain = Cul::default();
        let Framed::Delivered(line) = plain.frame(&iperl_reception(-60), DateTime::default())
        else {
            panic!("delivered")
        };
        assert!(line.ends_with(b"D0C6\r\n"));
    }
}
