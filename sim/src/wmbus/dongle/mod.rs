//! Virtual receiver dongles (`wmbus.md` §3): an iM871A, an AMB8465, a CUL with culfw and an
//! rtl-sdr running rtl_wmbus, each an I/O-free state machine that answers its host's start-up
//! commands byte for byte, honours the link mode the host sets, and frames every telegram it
//! receives in its own way.
//!
//! A [`Dongle`] owns the radio meters it hears ([`Air`]) and implements [`Meter`], so every
//! driver that runs a meter (virtual time, pty, TCP, serial) runs a dongle unchanged: telegrams
//! come out through [`Meter::next_push_ns`]/[`Meter::push`], replies through
//! [`Meter::receive`]. Each emission's time is the dongle's own: a reply [`Stick::reply_delay_ns`]
//! after the command's last byte, a telegram [`DELIVERY_DELAY_NS`] after its last chip on the
//! air; emissions never overlap on the serial line.

pub mod amb8465;
pub mod cul;
pub mod im871a;
pub mod rtlwmbus;

use chrono::{DateTime, Utc};
use meterlab_decoder::{Key, Keys, Protocol};

use super::link::FrameFormat;
use super::mode::RadioMode;
use super::radio::{Air, Outcome, RadioEvent, Reception};
use crate::clock::{WallClock, NS_PER_MS};
use crate::line::{Parity, Polarity, StopBits, UartConfig};
use crate::meter::{Emission, Meter};

/// From a telegram's last chip on the air to the first byte to the host, ns.
pub const DELIVERY_DELAY_NS: u64 = 2 * NS_PER_MS;

/// The dongle types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DongleKind {
    /// IMST iM871A (HCI over USB serial, 57600 Bd).
    Im871a,
    /// Amber AMB8465 / Würth Metis-II (9600 Bd, command mode).
    Amb8465,
    /// A CUL stick with culfw (ASCII lines, 38400 Bd).
    Cul,
    /// An rtl-sdr running rtl_wmbus (text lines, no commands).
    Rtlwmbus,
}

impl DongleKind {
    /// Every dongle type.
    pub const ALL: [DongleKind; 4] = [
        DongleKind::Im871a,
        DongleKind::Amb8465,
        DongleKind::Cul,
        DongleKind::Rtlwmbus,
    ];

    /// The name on the command line (`im871a`, `amb8465`, `cul`, `rtlwmbus`).
    pub fn name(self) -> &'static str {
        match self {
            DongleKind::Im871a => "im871a",
            DongleKind::Amb8465 => "amb8465",
            DongleKind::Cul => "cul",
            DongleKind::Rtlwmbus => "rtlwmbus",
        }
    }

    /// The dongle type of a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A fresh stick of this type, as plugged in.
    pub fn stick(self) -> Box<dyn Stick> {
        match self {
            DongleKind::Im871a => Box::new(im871a::Im871a::default()),
            DongleKind::Amb8465 => Box::new(amb8465::Amb8465::default()),
            DongleKind::Cul => Box::new(cul::Cul::default()),
            DongleKind::Rtlwmbus => Box::new(rtlwmbus::RtlWmbus::default()),
        }
    }
}

/// What a stick makes of a received telegram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framed {
    /// These bytes go to the host.
    Delivered(Vec<u8>),
    /// These bytes go to the host although the telegram's CRC fails.
    DeliveredCorrupt(Vec<u8>),
    /// Dropped (CRC or length check failed).
    Dropped,
}

/// One dongle type's behaviour on the serial line.
pub trait Stick: Send {
    /// Which type it is.
    fn kind(&self) -> DongleKind;
    /// Its serial settings.
    fn uart(&self) -> UartConfig;
    /// Bytes from the host; returns the replies, in order.
    fn host(&mut self, bytes: &[u8]) -> Vec<Vec<u8>>;
    /// From a command's last byte to the reply's first, ns.
    fn reply_delay_ns(&self) -> u64;
    /// Whether its receiver, as the host configured it, takes this mode and format.
    fn hears(&self, mode: RadioMode, format: FrameFormat) -> bool;
    /// The bytes it sends the host for a received telegram (`wall`: the stick's clock).
    fn frame(&mut self, rx: &Reception, wall: DateTime<Utc>) -> Framed;
}

/// The raw RSSI byte of Amber and CUL sticks for a level in dBm: dBm = int8/2 − 74.
pub fn rssi_raw_half_db(dbm: i16) -> u8 {
    let raw = (i32::from(dbm) + 74) * 2;
    raw.clamp(-128, 127) as i8 as u8
}

/// 8N1 at `baud`, as every stick's USB serial port is set.
pub fn uart_8n1(baud: u32) -> UartConfig {
    UartConfig {
        baud,
        data_bits: 8,
        parity: Parity::None,
        stop_bits: StopBits::One,
        polarity: Polarity::Normal,
        clock_ppm: 0.0,
    }
}

/// Upper-case hex.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A virtual receiver dongle with the radio meters it hears.
pub struct Dongle {
    stick: Box<dyn Stick>,
    profile: String,
    air: Air,
    clock: WallClock,
    events: Vec<RadioEvent>,
    tx_free_ns: u64,
}

impl Dongle {
    /// A dongle of this type hearing the meters of `air`.
    pub fn new(kind: DongleKind, air: Air, clock: WallClock) -> Self {
        Dongle {
            stick: kind.stick(),
            profile: format!("wmbus-{}", kind.name()),
            air,
            clock,
            events: Vec::new(),
            tx_free_ns: 0,
        }
    }

    /// The dongle type.
    pub fn kind(&self) -> DongleKind {
        self.stick.kind()
    }

    /// The radio log since the last call: every telegram and what became of it.
    pub fn take_events(&mut self) -> Vec<RadioEvent> {
        std::mem::take(&mut self.events)
    }

    /// The key of every encrypted meter, by meter id (8 digits).
    pub fn meter_keys(&self) -> Vec<(String, Key)> {
        self.air
            .meters()
            .iter()
            .filter_map(|m| {
                let spec = m.spec();
                spec.key
                    .clone()
                    .map(|k| (format!("{:08}", spec.address.id), k))
            })
            .collect()
    }

    fn send(&mut self, at_ns: u64, bytes: Vec<u8>, truth: Vec<meterlab_decoder::Reading>) -> Emission {
        let start = at_ns.max(self.tx_free_ns);
        let uart = self.stick.uart();
        self.tx_free_ns = start + (bytes.len() as f64 * uart.char_time_ns()).ceil() as u64;
        Emission {
            at_ns: start,
            bytes,
            truth,
        }
    }
}

impl Meter for Dongle {
    fn profile(&self) -> &str {
        &self.profile
    }

    fn protocol(&self) -> Protocol {
        Protocol::Mbus
    }

    fn uart(&self) -> UartConfig {
        self.stick.uart()
    }

    /// The first encrypted meter's key ([`Dongle::meter_keys`] has them all).
    fn keys(&self) -> Keys {
        Keys {
            encryption: self.meter_keys().into_iter().next().map(|(_, k)| k),
            authentication: None,
        }
    }

    fn next_push_ns(&self) -> Option<u64> {
        self.air.next_ns()
    }

    fn push(&mut self) -> Vec<Emission> {
        let (receptions, events) = self.air.step();
        self.events.extend(events);
        let mut out = Vec::new();
        for rx in receptions {
            if !self.stick.hears(rx.mode, rx.format) {
                self.events.push(rx.event(Outcome::NotListening));
                continue;
            }
            let wall = self.clock.utc(rx.at_ns);
            match self.stick.frame(&rx, wall) {
                Framed::Delivered(bytes) => {
                    self.events.push(rx.event(Outcome::Delivered));
                    let e = self.send(rx.at_ns + DELIVERY_DELAY_NS, bytes, rx.truth.clone());
                    out.push(e);
                }
                Framed::DeliveredCorrupt(bytes) => {
                    self.events.push(rx.event(Outcome::DeliveredCorrupt));
                    let e = self.send(rx.at_ns + DELIVERY_DELAY_NS, bytes, Vec::new());
                    out.push(e);
                }
                Framed::Dropped => self.events.push(rx.event(Outcome::DroppedCrc)),
            }
        }
        out
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Emission> {
        let replies = self.stick.host(bytes);
        let at = now_ns + self.stick.reply_delay_ns();
        replies
            .into_iter()
            .map(|r| self.send(at, r, Vec::new()))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod test {
    use super::*;
    use crate::mbus::SecondaryAddress;
    use crate::wmbus::test_vectors::{hex, IPERL_T1};
    use crate::wmbus::{FrameRepr, LinkRepr};

    /// The iPerl telegram of wmbus.md §5 example 1 as a T1 reception at `rssi_dbm`.
    pub(crate) fn iperl_reception(rssi_dbm: i16) -> Reception {
        let bare = hex(IPERL_T1);
        let link = LinkRepr {
            control: 0x44,
            address: SecondaryAddress {
                id: 33_225_544,
                manufacturer: 0x4CAE,
                version: 0x68,
                medium: 0x07,
            },
        };
        let mut frame = Vec::new();
        FrameRepr::new(FrameFormat::A, link, &bare[10..])
            .expect("fits")
            .emit(&mut frame);
        Reception {
            meter: "wmbus-water".into(),
            at_ns: 0,
            mode: RadioMode::T1,
            format: FrameFormat::A,
            frame,
            rssi_dbm,
            truth: Vec::new(),
            repeated: false,
            faults: Vec::new(),
        }
    }

    #[test]
    fn test_rssi_and_names() {
        assert_eq!(rssi_raw_half_db(-114), 0xB0);
        assert_eq!(rssi_raw_half_db(-102), 0xC8);
        assert_eq!(rssi_raw_half_db(-74), 0x00);
        for k in DongleKind::ALL {
            assert_eq!(DongleKind::from_name(k.name()), Some(k));
            assert_eq!(k.stick().kind(), k);
        }
        assert_eq!(DongleKind::from_name("usb"), None);
    }
}
