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

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use meterlab_decoder::{Key, Keys, Protocol, Reading};

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
            DongleKind::Rtlwmbus => Box::new(rtlwmbus::RtlWmbus),
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
    /// Whether it hands frames whose CRC fails to the host (CUL, rtl_wmbus) or drops them.
    fn passes_corrupt(&self) -> bool;
    /// The bytes it sends the host for a received telegram (`wall`: the stick's clock).
    fn frame(&mut self, rx: &Reception, wall: DateTime<Utc>) -> Framed;
    /// Unplugged and plugged in again: volatile settings (the link mode, half-received
    /// commands) are lost, non-volatile memory is kept.
    fn power_cycle(&mut self);
}

/// The raw RSSI byte of Amber and CUL sticks for a level in dBm: dBm = int8/2 − 74.
pub fn rssi_raw_half_db(dbm: i16) -> u8 {
    let raw = (i32::from(dbm) + 74) * 2;
    raw.clamp(-128, 127) as i8 as u8
}

/// Drops what the host sent before the next `start` byte of a binary command (all of it when
/// there is none): a stick's parser resynchronising on its frame start.
fn skip_to(rx: &mut Vec<u8>, start: u8) {
    let skip = rx.iter().position(|&b| b == start).unwrap_or(rx.len());
    rx.drain(..skip);
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

/// Air steps taken ahead at most per call (a step may yield nothing: every telegram lost).
const LOOKAHEAD_STEPS: usize = 256;
/// Receptions queued ahead at most.
const MAX_PENDING: usize = 256;

/// A virtual receiver dongle with the radio meters it hears.
///
/// The radio is stepped ahead of time into a queue of receptions (at most 256);
/// [`Meter::next_push_ns`] is the delivery time of the first one the stick, as configured now,
/// hands to the host, so a push carries bytes. Only when the queue is full of telegrams the stick
/// does not take is there a push without bytes (at the last one's time, to move on); a stick that
/// listens to nothing (no link mode yet) has no push at all until its host configures it. What
/// the stick does not deliver is logged ([`Dongle::take_events`]) once its time has passed: not
/// listening, dropped for its CRC, lost on the air.
pub struct Dongle {
    stick: Box<dyn Stick>,
    profile: String,
    air: Air,
    clock: WallClock,
    events: Vec<RadioEvent>,
    pending: VecDeque<Reception>,
    tx_free_ns: u64,
    replugs: VecDeque<u64>,
    reply_delay_ns: Option<u64>,
}

impl Dongle {
    /// A dongle of this type hearing the meters of `air`.
    pub fn new(kind: DongleKind, air: Air, clock: WallClock) -> Self {
        let mut d = Dongle {
            stick: kind.stick(),
            profile: format!("wmbus-{}", kind.name()),
            air,
            clock,
            events: Vec::new(),
            pending: VecDeque::new(),
            tx_free_ns: 0,
            replugs: VecDeque::new(),
            reply_delay_ns: None,
        };
        d.fill();
        d
    }

    /// The dongle type.
    pub fn kind(&self) -> DongleKind {
        self.stick.kind()
    }

    /// The radio and its meters.
    pub fn air(&self) -> &Air {
        &self.air
    }

    /// The radio and its meters, to change a meter's schedule (receptions already stepped stay
    /// as they are).
    pub fn air_mut(&mut self) -> &mut Air {
        &mut self.air
    }

    /// The stick unplugged and plugged in again at `now_ns` (the host's port goes away and comes
    /// back): what ended on the air until then and was not delivered is logged as not heard, the
    /// stick forgets its volatile settings and waits for its host's start-up commands again; the
    /// meters go on sending.
    pub fn replug(&mut self, now_ns: u64) {
        let mut kept = VecDeque::with_capacity(self.pending.len());
        while let Some(rx) = self.pending.pop_front() {
            if rx.at_ns <= now_ns {
                self.events.push(rx.event(Outcome::NotListening));
            } else {
                kept.push_back(rx);
            }
        }
        self.pending = kept;
        self.stick.power_cycle();
        self.tx_free_ns = self.tx_free_ns.min(now_ns);
        self.fill();
    }

    /// Unplugs and plugs the stick in again at each of these times (ascending, ns): a
    /// scenario's `replug_at`. Each happens as a push without bytes at its time.
    pub fn set_replugs(&mut self, at_ns: VecDeque<u64>) {
        self.replugs = at_ns;
    }

    /// Replaces the stick's time from a command to its reply (a scenario's slow stick).
    pub fn set_reply_delay_ns(&mut self, ns: u64) {
        self.reply_delay_ns = Some(ns);
    }

    /// Does the scheduled replugs due by `now_ns`; whether there was one.
    fn replug_due(&mut self, now_ns: u64) -> bool {
        let mut any = false;
        while self.replugs.front().is_some_and(|&t| t <= now_ns) {
            let t = self.replugs.pop_front().unwrap_or(now_ns);
            self.replug(t);
            any = true;
        }
        any
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

    /// Whether the stick, as configured now, hands this reception to the host.
    fn delivers(&self, rx: &Reception) -> bool {
        self.stick.hears(rx.mode, rx.format) && (rx.crc_ok || self.stick.passes_corrupt())
    }

    /// Why the stick does not deliver this reception.
    fn refusal(&self, rx: &Reception) -> Outcome {
        if self.stick.hears(rx.mode, rx.format) {
            Outcome::DroppedCrc
        } else {
            Outcome::NotListening
        }
    }

    /// The first reception the stick delivers, if one is queued.
    fn first_delivered(&self) -> Option<usize> {
        self.pending.iter().position(|rx| self.delivers(rx))
    }

    /// Whether the stick takes any mode at all.
    fn listening(&self) -> bool {
        [
            (RadioMode::T1, FrameFormat::A),
            (RadioMode::C1, FrameFormat::A),
            (RadioMode::C1, FrameFormat::B),
            (RadioMode::S1, FrameFormat::A),
        ]
        .into_iter()
        .any(|(m, f)| self.stick.hears(m, f))
    }

    /// Steps the radio until every transmission that could end before the next delivered
    /// reception is queued (bounded by [`LOOKAHEAD_STEPS`] and [`MAX_PENDING`]).
    fn fill(&mut self) {
        for _ in 0..LOOKAHEAD_STEPS {
            if self.pending.len() >= MAX_PENDING {
                break;
            }
            let Some(next) = self.air.next_ns() else {
                break;
            };
            if let Some(i) = self.first_delivered() {
                if next >= self.pending[i].at_ns {
                    break;
                }
            }
            let (receptions, events) = self.air.step();
            self.events.extend(events);
            for rx in receptions {
                let at = self.pending.partition_point(|p| p.at_ns <= rx.at_ns);
                self.pending.insert(at, rx);
            }
        }
    }

    /// Logs the queued receptions up to `until_ns` that the stick does not deliver.
    fn pass_by(&mut self, until_ns: u64) {
        let mut kept = VecDeque::with_capacity(self.pending.len());
        while let Some(rx) = self.pending.pop_front() {
            if rx.at_ns <= until_ns && !self.delivers(&rx) {
                let outcome = self.refusal(&rx);
                self.events.push(rx.event(outcome));
            } else {
                kept.push_back(rx);
            }
        }
        self.pending = kept;
    }

    fn send(&mut self, at_ns: u64, bytes: Vec<u8>, truth: Vec<Reading>) -> Emission {
        let start = at_ns.max(self.tx_free_ns);
        let uart = self.stick.uart();
        self.tx_free_ns =
            start.saturating_add((bytes.len() as f64 * uart.char_time_ns()).ceil() as u64);
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
        let next = self.next_delivery_ns();
        match (self.replugs.front(), next) {
            (Some(&r), Some(n)) => Some(r.min(n)),
            (Some(&r), None) => Some(r),
            (None, n) => n,
        }
    }

    fn push(&mut self) -> Vec<Emission> {
        if let Some(&r) = self.replugs.front() {
            if self.next_delivery_ns().map_or(true, |n| r <= n) {
                self.replug_due(r);
                return Vec::new();
            }
        }
        self.push_delivery()
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Emission> {
        self.replug_due(now_ns);
        // What ended on the air before the command was heard under the old configuration.
        self.pass_by(now_ns);
        let replies = self.stick.host(bytes);
        let at = now_ns.saturating_add(
            self.reply_delay_ns
                .unwrap_or_else(|| self.stick.reply_delay_ns()),
        );
        let out = replies
            .into_iter()
            .map(|r| self.send(at, r, Vec::new()))
            .collect();
        self.fill();
        out
    }
}

impl Dongle {
    /// When the next telegram is delivered (or the queue passed), without replugs.
    fn next_delivery_ns(&self) -> Option<u64> {
        match self.first_delivered() {
            Some(i) => Some(self.pending[i].at_ns.saturating_add(DELIVERY_DELAY_NS)),
            // Nothing to deliver in the queue: move on past it, if the stick listens at all.
            None if self.listening() => self
                .pending
                .back()
                .map(|rx| rx.at_ns)
                .or_else(|| self.air.next_ns()),
            None => None,
        }
    }

    /// The next delivery (or a step past undelivered receptions).
    fn push_delivery(&mut self) -> Vec<Emission> {
        let Some(i) = self.first_delivered() else {
            let until = self
                .pending
                .back()
                .map(|rx| rx.at_ns)
                .or_else(|| self.air.next_ns())
                .unwrap_or(0);
            self.pass_by(until);
            self.fill();
            return Vec::new();
        };
        let at = self.pending[i].at_ns;
        self.pass_by(at);
        let mut out = Vec::new();
        let next = self.first_delivered().and_then(|i| self.pending.remove(i));
        if let Some(rx) = next {
            let wall = self.clock.utc(rx.at_ns);
            let (outcome, bytes, truth) = match self.stick.frame(&rx, wall) {
                Framed::Delivered(bytes) => (Outcome::Delivered, bytes, rx.truth.clone()),
                Framed::DeliveredCorrupt(bytes) => (Outcome::DeliveredCorrupt, bytes, Vec::new()),
                Framed::Dropped => (Outcome::DroppedCrc, Vec::new(), Vec::new()),
            };
            self.events.push(rx.event(outcome));
            if !bytes.is_empty() {
                out.push(self.send(rx.at_ns.saturating_add(DELIVERY_DELAY_NS), bytes, truth));
            }
        }
        self.fill();
        out
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
            crc_ok: true,
        }
    }

    use crate::seed::Seed;
    use crate::wmbus::catalog::CATALOG;
    use crate::wmbus::meter::MeterFaults;
    use crate::wmbus::meter::{MeterFault, RadioMeter};
    use crate::wmbus::radio::{RadioFaults, Repeater};

    /// A dongle of `kind` with catalog meters `which` (all sending at first within 1 s).
    fn dongle(kind: DongleKind, which: &[usize], faults: RadioFaults, mf: MeterFaults) -> Dongle {
        let meters = which
            .iter()
            .map(|&i| {
                let (_, make) = CATALOG[i];
                let mut m = RadioMeter::new(
                    make(40_000_000 + i as u32, Key::new([0x42; 16])),
                    WallClock::default(),
                    mf.clone(),
                    Seed(11).index(i as u64),
                );
                m.set_next_tx_ns(100 * NS_PER_MS * (i as u64 + 1));
                m
            })
            .collect();
        Dongle::new(
            kind,
            Air::new(meters, faults, Seed(5)),
            WallClock::default(),
        )
    }

    /// Runs pushes until `until_ns`; returns the emissions.
    fn run(d: &mut Dongle, until_ns: u64) -> Vec<Emission> {
        let mut out = Vec::new();
        while let Some(at) = d.next_push_ns() {
            if at > until_ns {
                break;
            }
            out.extend(d.push());
        }
        out
    }

    fn outcomes(d: &mut Dongle) -> Vec<(String, Outcome)> {
        d.take_events()
            .into_iter()
            .map(|e| (e.meter, e.outcome))
            .collect()
    }

    #[test]
    fn test_t1_stick_does_not_deliver_c1() {
        // iM871A set to T1 by the host: the T1 water meter is delivered, the C1 heat meter not.
        let mut d = dongle(
            DongleKind::Im871a,
            &[0, 2],
            RadioFaults::default(),
            MeterFaults::default(),
        );
        let replies = d.receive(0, &hex("A5010306000203300100"));
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].at_ns, im871a::REPLY_DELAY_NS);
        let out = run(&mut d, 60 * crate::clock::NS_PER_S);
        assert!(!out.is_empty());
        assert!(out.iter().all(|e| e.bytes[..3] == [0xA5, 0xC2, 0x03]));
        assert!(out.iter().all(|e| e.truth.len() == 1));
        let ev = outcomes(&mut d);
        assert!(ev
            .iter()
            .any(|(m, o)| m == "wmbus-heat" && *o == Outcome::NotListening));
        assert!(!ev
            .iter()
            .any(|(m, o)| m == "wmbus-heat" && *o == Outcome::Delivered));
        assert!(ev
            .iter()
            .any(|(m, o)| m == "wmbus-water" && *o == Outcome::Delivered));
        // Emissions never overlap on the serial line and come after their telegram.
        let uart = d.uart();
        for w in out.windows(2) {
            let end = w[0].at_ns + (w[0].bytes.len() as f64 * uart.char_time_ns()) as u64;
            assert!(w[1].at_ns >= end);
        }
    }

    #[test]
    fn test_silent_until_configured() {
        for kind in [DongleKind::Im871a, DongleKind::Amb8465, DongleKind::Cul] {
            let mut d = dongle(
                kind,
                &[0, 1, 2, 3, 4],
                RadioFaults::default(),
                MeterFaults::default(),
            );
            assert!(
                run(&mut d, 300 * crate::clock::NS_PER_S).is_empty(),
                "{kind:?}"
            );
            assert!(outcomes(&mut d)
                .iter()
                .all(|(_, o)| *o == Outcome::NotListening));
        }
        // rtl_wmbus has nothing to configure: T1 and C1 at once, not S1 (the gas meter).
        let mut d = dongle(
            DongleKind::Rtlwmbus,
            &[0, 2, 3],
            RadioFaults::default(),
            MeterFaults::default(),
        );
        let out = run(&mut d, 300 * crate::clock::NS_PER_S);
        assert!(out.iter().any(|e| e.bytes.starts_with(b"T1;1;1;")));
        assert!(out.iter().any(|e| e.bytes.starts_with(b"C1;1;1;")));
        assert!(!out.iter().any(|e| e.bytes.starts_with(b"S1")));
    }

    #[test]
    fn test_collision_both_lost_or_one_corrupt() {
        // Two T1 meters starting at the same instant, round after round: every overlap ends as
        // a collision, both outcomes occur, and the CUL passes the corrupt survivor.
        let mut seen = std::collections::HashSet::new();
        for round in 0..40u64 {
            let meters = [0usize, 1]
                .iter()
                .map(|&i| {
                    let (_, make) = CATALOG[i];
                    let mut m = RadioMeter::new(
                        make(40_000_000 + i as u32, Key::new([0x42; 16])),
                        WallClock::default(),
                        MeterFaults::default(),
                        Seed(11).index(i as u64),
                    );
                    m.set_next_tx_ns(NS_PER_MS);
                    m
                })
                .collect();
            let air = Air::new(meters, RadioFaults::default(), Seed(round));
            let mut d = Dongle::new(DongleKind::Cul, air, WallClock::default());
            d.receive(0, b"brt\r\nX21\r\n");
            let out = if d.next_push_ns().is_some_and(|t| t < 10 * NS_PER_MS) {
                d.push()
            } else {
                Vec::new()
            };
            let ev = outcomes(&mut d);
            let lost = ev.iter().filter(|(_, o)| *o == Outcome::Collision).count();
            let corrupt = ev
                .iter()
                .filter(|(_, o)| *o == Outcome::DeliveredCorrupt)
                .count();
            assert!(
                (lost == 2 && out.is_empty()) || (lost == 1 && corrupt == 1 && out.len() == 1),
                "{ev:?}"
            );
            assert!(out.iter().all(|e| e.truth.is_empty()));
            seen.insert(lost);
        }
        assert_eq!(seen.len(), 2, "both outcomes occur");
    }

    #[test]
    fn test_crc_errors_dropped_or_passed() {
        let noisy = RadioFaults {
            crc_error_per_mille: 1000,
            ..RadioFaults::default()
        };
        let mut im = dongle(
            DongleKind::Im871a,
            &[0],
            noisy.clone(),
            MeterFaults::default(),
        );
        im.receive(0, &hex("A5010306000203300100"));
        assert!(run(&mut im, 100 * crate::clock::NS_PER_S).is_empty());
        assert!(outcomes(&mut im)
            .iter()
            .all(|(_, o)| *o == Outcome::DroppedCrc));
        let mut rtl = dongle(DongleKind::Rtlwmbus, &[0], noisy, MeterFaults::default());
        let out = run(&mut rtl, 100 * crate::clock::NS_PER_S);
        assert!(!out.is_empty());
        assert!(out
            .iter()
            .all(|e| e.bytes.starts_with(b"T1;0;1;") && e.truth.is_empty()));
    }

    #[test]
    fn test_weak_signal_lost() {
        let weak = RadioFaults {
            attenuation_db: 60,
            ..RadioFaults::default()
        };
        let mut d = dongle(DongleKind::Rtlwmbus, &[0, 2], weak, MeterFaults::default());
        assert!(run(&mut d, 100 * crate::clock::NS_PER_S).is_empty());
        assert!(outcomes(&mut d).iter().all(|(_, o)| *o == Outcome::Weak));
        // Near the sensitivity some telegrams get through and some do not.
        let fading = RadioFaults {
            attenuation_db: -(super::super::radio::SENSITIVITY_DBM + 62 + 5),
            ..RadioFaults::default()
        };
        let mut d = dongle(DongleKind::Rtlwmbus, &[0], fading, MeterFaults::default());
        run(&mut d, 2_000 * crate::clock::NS_PER_S);
        let ev = outcomes(&mut d);
        assert!(ev.iter().any(|(_, o)| *o == Outcome::Weak));
        assert!(ev.iter().any(|(_, o)| *o == Outcome::Delivered));
    }

    #[test]
    fn test_repeater_sets_the_hop_bit() {
        let rep = RadioFaults {
            repeater: Some(Repeater {
                delay_ms: 50,
                rssi_dbm: -70,
            }),
            ..RadioFaults::default()
        };
        let mut d = dongle(DongleKind::Rtlwmbus, &[0, 2], rep, MeterFaults::default());
        run(&mut d, 20 * crate::clock::NS_PER_S);
        let ev = d.take_events();
        let direct = ev
            .iter()
            .filter(|e| !e.repeated && e.outcome == Outcome::Delivered)
            .count();
        let repeated = ev
            .iter()
            .filter(|e| e.repeated && e.outcome == Outcome::Delivered)
            .count();
        assert!(direct > 0 && repeated > 0);
        assert!(repeated <= direct);
        // The repeated heat telegram has the ELL hop bit, the water telegram the CW hop bit.
        let mut d = dongle(
            DongleKind::Rtlwmbus,
            &[0, 2],
            d.air.faults().clone(),
            MeterFaults::default(),
        );
        let lines: Vec<String> = run(&mut d, 20 * crate::clock::NS_PER_S)
            .into_iter()
            .map(|e| String::from_utf8_lossy(&e.bytes).to_string())
            .collect();
        let hex_of = |l: &String| hex(l.trim_end().rsplit("0x").next().unwrap_or(""));
        let water: Vec<Vec<u8>> = lines
            .iter()
            .filter(|l| l.starts_with("T1"))
            .map(hex_of)
            .collect();
        let heat: Vec<Vec<u8>> = lines
            .iter()
            .filter(|l| l.starts_with("C1"))
            .map(hex_of)
            .collect();
        assert!(water
            .windows(2)
            .any(|w| w[1][13] == w[0][13] | 1 && w[1][..13] == w[0][..13]));
        assert!(heat
            .windows(2)
            .any(|w| w[1][11] == w[0][11] | 0x10 && w[1][12..] == w[0][12..]));
    }

    #[test]
    fn test_meter_faults_reach_the_host() {
        let mf = MeterFaults {
            wrong_key: true,
            ..MeterFaults::default()
        };
        let mut d = dongle(DongleKind::Amb8465, &[4], RadioFaults::default(), mf);
        d.receive(0, &hex("FF040108F2"));
        let out = run(&mut d, 300 * crate::clock::NS_PER_S);
        assert!(!out.is_empty());
        assert!(out
            .iter()
            .all(|e| e.truth.is_empty() && e.bytes[..2] == [0xFF, 0x03]));
        assert!(d
            .take_events()
            .iter()
            .all(|e| e.faults == vec![MeterFault::WrongKey]));
        // A truncated frame: the iM871A drops it, the CUL passes it.
        let mf = MeterFaults {
            truncate_at: vec![0],
            ..MeterFaults::default()
        };
        let mut im = dongle(DongleKind::Im871a, &[0], RadioFaults::default(), mf.clone());
        im.receive(0, &hex("A5010306000203300100"));
        let mut cul = dongle(DongleKind::Cul, &[0], RadioFaults::default(), mf);
        cul.receive(0, b"brt\r\n");
        run(&mut im, NS_PER_MS * 150);
        run(&mut cul, NS_PER_MS * 150);
        im.receive(NS_PER_MS * 150, &[]);
        assert_eq!(
            outcomes(&mut im),
            vec![("wmbus-water".to_string(), Outcome::DroppedCrc)]
        );
        assert_eq!(
            outcomes(&mut cul),
            vec![("wmbus-water".to_string(), Outcome::DeliveredCorrupt)]
        );
    }

    #[test]
    fn test_replies_within_the_hosts_deadlines() {
        // wmbusmeters reads an iM871A answer once, 100 ms after the request; an Amber dump up to
        // three times 100 ms apart; a CUL version line after 200 ms.
        let cases: [(DongleKind, &[u8], u64); 3] = [
            (DongleKind::Im871a, &[0xA5, 0x01, 0x0F, 0x00], 100),
            (
                DongleKind::Amb8465,
                &[0xFF, 0x0A, 0x02, 0x00, 0x80, 0x77],
                300,
            ),
            (DongleKind::Cul, b"V\r\n", 200),
        ];
        for (kind, request, deadline_ms) in cases {
            let mut d = dongle(kind, &[0], RadioFaults::default(), MeterFaults::default());
            let t = 5 * crate::clock::NS_PER_S;
            let replies = d.receive(t, request);
            assert_eq!(replies.len(), 1, "{kind:?}");
            let r = &replies[0];
            let end = r.at_ns + (r.bytes.len() as f64 * d.uart().char_time_ns()).ceil() as u64;
            assert!(
                r.at_ns > t && end <= t + deadline_ms * NS_PER_MS,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn test_replug_forgets_the_link_mode() {
        let cases: [(DongleKind, &[u8]); 3] = [
            (
                DongleKind::Im871a,
                &[0xA5, 0x01, 0x03, 0x06, 0x00, 0x02, 0x03, 0x30, 0x01, 0x00],
            ),
            (DongleKind::Amb8465, &[0xFF, 0x04, 0x01, 0x08, 0xF2]),
            (DongleKind::Cul, b"brt\r\n"),
        ];
        for (kind, command) in cases {
            let mut d = dongle(kind, &[0], RadioFaults::default(), MeterFaults::default());
            d.receive(0, command);
            let first = d.next_push_ns().expect("configured");
            assert!(!d.push().is_empty());
            d.take_events();
            let t = first + 60 * crate::clock::NS_PER_S;
            d.replug(t);
            assert!(outcomes(&mut d)
                .iter()
                .all(|(_, o)| *o == Outcome::NotListening));
            assert_eq!(
                d.next_push_ns(),
                None,
                "{kind:?} listens to nothing after a replug"
            );
            d.receive(t + NS_PER_MS, command);
            assert!(d.next_push_ns().is_some_and(|at| at > t), "{kind:?}");
        }
        // The Amber keeps what was written to its non-volatile memory.
        let mut d = dongle(
            DongleKind::Amb8465,
            &[0],
            RadioFaults::default(),
            MeterFaults::default(),
        );
        d.receive(
            0,
            &amb8465::command_frame(amb8465::SET_REQ, &[0x45, 0x01, 0x00]),
        );
        d.replug(NS_PER_MS);
        d.receive(2 * NS_PER_MS, &[0xFF, 0x04, 0x01, 0x08, 0xF2]);
        let out = run(&mut d, 100 * crate::clock::NS_PER_S);
        // RSSI disabled: len counts no RSSI byte.
        assert!(out
            .iter()
            .all(|e| usize::from(e.bytes[2]) == e.bytes.len() - 4 && e.bytes[3] == 0x44));
    }

    #[test]
    fn test_same_seed_same_bytes() {
        let go = || {
            let mut d = dongle(
                DongleKind::Cul,
                &[0, 1, 2, 3, 4],
                RadioFaults {
                    crc_error_per_mille: 100,
                    ..RadioFaults::default()
                },
                MeterFaults::default(),
            );
            d.receive(0, b"brc\r\nX21\r\n");
            run(&mut d, 600 * crate::clock::NS_PER_S)
        };
        assert_eq!(go(), go());
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
