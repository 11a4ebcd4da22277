//! rtl_wmbus on an rtl-sdr (`wmbus.md` §3.4): no commands, one text line per telegram:
//! `MODE;CRC_OK;3OUTOF6OK;TIMESTAMP;PACKET_RSSI;CURRENT_RSSI;ID;0x<hex without CRCs>` and LF.
//!
//! - MODE `T1`, `C1` (S1 needs another frequency: the default 868.95 MHz receiver hears T1 and C1).
//! - CRC_OK 1 with the CRC-free frame (L = its byte count, also for C1 format B); 0 when a CRC
//!   fails, with the CRC positions removed unchecked (wmbusmeters counts `T1;0` lines as CRC
//!   failures).
//! - TIMESTAMP `%Y-%m-%d %H:%M:%S.%06u` of the stick's clock (the scenario's wall clock, UTC).
//! - PACKET_RSSI and CURRENT_RSSI: rtl_wmbus's own level, here dBm + 160.
//! - ID: bytes 4–7 read little-endian, `%08X` (the printed meter id).

use chrono::{DateTime, Utc};

use super::{hex_upper, DongleKind, Framed, Stick};
use crate::line::UartConfig;
use crate::wmbus::link::{remove_crcs_unchecked, strip_crcs, FrameFormat};
use crate::wmbus::mode::RadioMode;
use crate::wmbus::radio::Reception;

/// The stick (no state: it takes no commands).
#[derive(Clone, Debug, Default)]
pub struct RtlWmbus;

impl Stick for RtlWmbus {
    fn kind(&self) -> DongleKind {
        DongleKind::Rtlwmbus
    }

    fn uart(&self) -> UartConfig {
        super::uart_8n1(115_200)
    }

    fn host(&mut self, _bytes: &[u8]) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn reply_delay_ns(&self) -> u64 {
        0
    }

    fn passes_corrupt(&self) -> bool {
        true
    }

    fn hears(&self, mode: RadioMode, _format: FrameFormat) -> bool {
        matches!(mode, RadioMode::T1 | RadioMode::C1)
    }

    fn power_cycle(&mut self) {}

    fn frame(&mut self, rx: &Reception, wall: DateTime<Utc>) -> Framed {
        let (ok, bare) = match strip_crcs(rx.format, &rx.frame) {
            Ok(bare) => (true, bare),
            Err(_) => (false, remove_crcs_unchecked(rx.format, &rx.frame)),
        };
        let id = bare
            .get(4..8)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0);
        let level = i32::from(rx.rssi_dbm) + 160;
        let line = format!(
            "{};{};1;{};{level};{level};{id:08X};0x{}\n",
            rx.mode.name(),
            u8::from(ok),
            wall.format("%Y-%m-%d %H:%M:%S%.6f"),
            hex_upper(&bare)
        );
        if ok {
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
    use chrono::TimeZone;

    #[test]
    fn test_line_of_wmbusmeters_test_nc1() {
        let mut s = RtlWmbus;
        assert!(s.host(b"anything").is_empty());
        let wall = Utc
            .with_ymd_and_hms(2019, 4, 3, 19, 0, 42)
            .single()
            .expect("date");
        let mut rx = iperl_reception(-63);
        assert_eq!(
            s.frame(&rx, wall),
            Framed::Delivered(
                b"T1;1;1;2019-04-03 19:00:42.000000;97;97;33225544;0x1844AE4C4455223368077A55000000041389E20100023B0000\n"
                    .to_vec()
            )
        );
        assert!(s.hears(RadioMode::C1, FrameFormat::B) && !s.hears(RadioMode::S1, FrameFormat::A));
        rx.frame[15] ^= 4;
        let Framed::DeliveredCorrupt(line) = s.frame(&rx, wall) else {
            panic!("a CRC failure is reported")
        };
        assert!(line.starts_with(b"T1;0;1;"));
    }
}
