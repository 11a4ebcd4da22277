//! The radio between the meters and a receiver, with its faults, all seeded
//! ([`crate::seed::Seed::derive`]):
//!
//! - **Collisions**: transmissions on the same frequency (T1/C1 share 868.95 MHz, S1 is on
//!   868.3 MHz) whose air times ([`RadioMode::air_time_ns`]) overlap. Either all are lost, or the
//!   strongest arrives with bit errors, so its CRC fails (seeded, even odds). `interference` adds
//!   collisions with transmitters that are not simulated (neighbours' meters).
//! - **CRC errors**: a bit flipped on the air (`crc_errors`); the receiver's CRC check finds it,
//!   and each dongle drops or passes it as the real one does ([`super::dongle`]).
//! - **Weak signal**: each meter's RSSI, less `attenuation_db`; below the receiver's sensitivity
//!   ([`SENSITIVITY_DBM`]) a telegram is lost, within [`FADE_MARGIN_DB`] above it it is lost with
//!   a probability falling linearly to 0.
//! - **Repeater**: every telegram heard again `delay_ms` later with the hop bit set (ELL CC bit
//!   `H`, else the configuration word's hop-counter bit), CRCs recomputed.
//! - **Meter faults** ([`super::meter::MeterFaults`], applied by [`RadioMeter`]): a wrong key, a replayed
//!   telegram (access number and message counter repeat), counters that go back, a truncated frame
//!   whose L field announces more bytes than it has.

use meterlab_decoder::Reading;

use super::link::{strip_crcs, FrameFormat, FrameRepr};
use super::meter::{MeterFault, RadioMeter, Transmission};
use super::mode::RadioMode;
use crate::clock::NS_PER_MS;
use crate::seed::{Seed, SimRng};

/// The model's receiver sensitivity, dBm (the same for every stick).
pub const SENSITIVITY_DBM: i16 = -105;
/// Above the sensitivity by less than this, telegrams are lost with falling probability, dB.
pub const FADE_MARGIN_DB: i16 = 10;

/// A repeater that hears every telegram and sends it again with the hop bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Repeater {
    /// From the end of the original to the start of the repeated telegram, ms.
    pub delay_ms: u64,
    /// The repeater's signal at the receiver, dBm.
    pub rssi_dbm: i16,
}

/// Faults of the radio channel.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadioFaults {
    /// Telegrams (per mille) hit by a transmitter that is not simulated.
    pub interference_per_mille: u32,
    /// Telegrams (per mille) with a bit error.
    pub crc_error_per_mille: u32,
    /// Attenuation of every meter's signal, dB.
    pub attenuation_db: i16,
    /// A repeater, if any.
    pub repeater: Option<Repeater>,
}

/// What became of a telegram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Handed to the host.
    Delivered,
    /// Handed to the host although its CRC fails (the dongle does not check).
    DeliveredCorrupt,
    /// Dropped by the dongle: CRC or length check failed.
    DroppedCrc,
    /// The dongle does not listen to this mode (or has no link mode yet).
    NotListening,
    /// Lost in a collision.
    Collision,
    /// Lost: signal too weak.
    Weak,
    /// The meter could not build it (a configuration error; logged).
    MeterError,
}

/// One line of the radio log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RadioEvent {
    /// When the telegram ended on the air, ns.
    pub at_ns: u64,
    /// The meter's name.
    pub meter: String,
    /// Through the repeater.
    pub repeated: bool,
    /// Meter faults it carried.
    pub faults: Vec<MeterFault>,
    /// What became of it.
    pub outcome: Outcome,
}

/// A telegram that reached the receiver's demodulator.
#[derive(Clone, Debug, PartialEq)]
pub struct Reception {
    /// The meter's name.
    pub meter: String,
    /// When the last chip arrived, ns.
    pub at_ns: u64,
    /// Radio mode.
    pub mode: RadioMode,
    /// Frame format.
    pub format: FrameFormat,
    /// The frame as demodulated, CRCs included (bit errors possible).
    pub frame: Vec<u8>,
    /// Signal strength, dBm.
    pub rssi_dbm: i16,
    /// What the frame encodes (to a reader with the meter's key).
    pub truth: Vec<Reading>,
    /// Through the repeater.
    pub repeated: bool,
    /// Meter faults it carries.
    pub faults: Vec<MeterFault>,
    /// Whether its length and every block CRC check out.
    pub crc_ok: bool,
}

impl Reception {
    /// A log line for this reception.
    pub fn event(&self, outcome: Outcome) -> RadioEvent {
        RadioEvent {
            at_ns: self.at_ns,
            meter: self.meter.clone(),
            repeated: self.repeated,
            faults: self.faults.clone(),
            outcome,
        }
    }
}

/// The meters, the channel, and the receiver's antenna.
pub struct Air {
    meters: Vec<RadioMeter>,
    faults: RadioFaults,
    rng: SimRng,
    repeated: Vec<(Transmission, bool)>,
}

impl Air {
    /// The channel for these meters; its random choices come from `seed`.
    pub fn new(meters: Vec<RadioMeter>, faults: RadioFaults, seed: Seed) -> Self {
        Air {
            meters,
            faults,
            rng: seed.derive("wmbus/radio").rng(),
            repeated: Vec::new(),
        }
    }

    /// The meters.
    pub fn meters(&self) -> &[RadioMeter] {
        &self.meters
    }

    /// The meters, to move a schedule ([`RadioMeter::set_next_tx_ns`]).
    pub fn meters_mut(&mut self) -> &mut [RadioMeter] {
        &mut self.meters
    }

    /// The channel's faults.
    pub fn faults(&self) -> &RadioFaults {
        &self.faults
    }

    /// When the next transmission starts, ns.
    pub fn next_ns(&self) -> Option<u64> {
        let meters = self.meters.iter().map(RadioMeter::next_tx_ns);
        let repeats = self.repeated.iter().map(|(t, _)| t.start_ns);
        meters.chain(repeats).min()
    }

    /// The transmissions that start at [`next_ns`](Self::next_ns) and every one on the same
    /// frequency that overlaps them: what reaches the receiver, and the log of what was lost.
    pub fn step(&mut self) -> (Vec<Reception>, Vec<RadioEvent>) {
        let mut events = Vec::new();
        let Some(first) = self.take_next_on(None, u64::MAX, &mut events) else {
            return (Vec::new(), events);
        };
        let freq = first.0.mode.frequency_khz();
        let mut end = first.0.end_ns();
        let mut group = vec![first];
        loop {
            let overlapping = self
                .meters
                .iter()
                .any(|m| m.next_tx_ns() < end && m.spec().mode.frequency_khz() == freq)
                || self
                    .repeated
                    .iter()
                    .any(|(t, _)| t.start_ns < end && t.mode.frequency_khz() == freq);
            if !overlapping {
                break;
            }
            // Only same-frequency transmissions are taken here; the next one on that frequency
            // is the earliest overlapping one.
            let Some(next) = self.take_next_on(Some(freq), end, &mut events) else {
                break;
            };
            end = end.max(next.0.end_ns());
            group.push(next);
        }
        let mut receptions = Vec::new();
        let interfered = self
            .rng
            .chance(f64::from(self.faults.interference_per_mille) / 1000.0);
        let collided = group.len() > 1 || interfered;
        // On a collision: all lost, or the strongest arrives with bit errors.
        let survivor = if collided && self.rng.chance(0.5) {
            group
                .iter()
                .enumerate()
                .max_by_key(|(_, (t, _))| t.rssi_dbm)
                .map(|(i, _)| i)
        } else {
            None
        };
        for (i, (t, repeated)) in group.into_iter().enumerate() {
            if !repeated {
                self.queue_repeat(&t);
            }
            let mut rx = Reception {
                meter: t.meter.clone(),
                at_ns: t.end_ns(),
                mode: t.mode,
                format: t.format,
                frame: t.frame,
                rssi_dbm: t.rssi_dbm,
                truth: t.truth,
                repeated,
                faults: t.faults,
                crc_ok: true,
            };
            if collided && survivor != Some(i) {
                events.push(rx.event(Outcome::Collision));
                continue;
            }
            if !repeated {
                rx.rssi_dbm = rx.rssi_dbm.saturating_sub(self.faults.attenuation_db);
            }
            if self.lost_weak(rx.rssi_dbm) {
                events.push(rx.event(Outcome::Weak));
                continue;
            }
            let noise = self
                .rng
                .chance(f64::from(self.faults.crc_error_per_mille) / 1000.0);
            if collided || noise {
                self.flip_bit(&mut rx.frame);
                rx.truth.clear();
            }
            rx.crc_ok = strip_crcs(rx.format, &rx.frame).is_ok();
            receptions.push(rx);
        }
        (receptions, events)
    }

    /// Takes the transmission that starts first before `before` (on `freq`, if given): a
    /// meter's or a repeated one.
    fn take_next_on(
        &mut self,
        freq: Option<u32>,
        before: u64,
        events: &mut Vec<RadioEvent>,
    ) -> Option<(Transmission, bool)> {
        let meter = self
            .meters
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                freq.map_or(true, |f| m.spec().mode.frequency_khz() == f) && m.next_tx_ns() < before
            })
            .min_by_key(|(_, m)| m.next_tx_ns())
            .map(|(i, m)| (i, m.next_tx_ns()));
        let repeat = self
            .repeated
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| {
                freq.map_or(true, |f| t.mode.frequency_khz() == f) && t.start_ns < before
            })
            .min_by_key(|(_, (t, _))| t.start_ns)
            .map(|(i, (t, _))| (i, t.start_ns));
        match (meter, repeat) {
            (_, Some((i, at))) if meter.map_or(true, |(_, m)| at <= m) => {
                Some(self.repeated.remove(i))
            }
            (Some((i, at)), _) => match self.meters[i].transmit() {
                Ok(t) => Some((t, false)),
                Err(e) => {
                    let name = self.meters[i].spec().name.clone();
                    tracing::warn!(meter = %name, error = %e, "radio meter cannot build its telegram");
                    events.push(RadioEvent {
                        at_ns: at,
                        meter: name,
                        repeated: false,
                        faults: Vec::new(),
                        outcome: Outcome::MeterError,
                    });
                    None
                }
            },
            _ => None,
        }
    }

    fn lost_weak(&mut self, rssi_dbm: i16) -> bool {
        if rssi_dbm < SENSITIVITY_DBM {
            return true;
        }
        let above = i32::from(rssi_dbm) - i32::from(SENSITIVITY_DBM);
        let margin = i32::from(FADE_MARGIN_DB);
        above < margin
            && self
                .rng
                .chance(f64::from(margin - above) / f64::from(margin))
    }

    fn flip_bit(&mut self, frame: &mut [u8]) {
        if frame.len() > 1 {
            let at = 1 + self.rng.below(frame.len() as u64 - 1) as usize;
            frame[at] ^= 1 << self.rng.below(8);
        }
    }

    /// Queues the repeated copy of a transmission (hop bit set, CRCs recomputed).
    fn queue_repeat(&mut self, t: &Transmission) {
        let (Some(repeater), Some((offset, bit))) = (self.faults.repeater, t.hop) else {
            return;
        };
        let Ok(mut bare) = strip_crcs(t.format, &t.frame) else {
            return;
        };
        if offset >= bare.len() || bare[offset] & bit != 0 {
            return;
        }
        bare[offset] |= bit;
        let Ok(frame) = FrameRepr::new(t.format, t.link, &bare[10..]) else {
            return;
        };
        let mut air = Vec::with_capacity(frame.buffer_len());
        frame.emit(&mut air);
        let copy = Transmission {
            start_ns: t
                .end_ns()
                .saturating_add(repeater.delay_ms.saturating_mul(NS_PER_MS)),
            frame: air,
            rssi_dbm: repeater.rssi_dbm,
            hop: None,
            ..t.clone()
        };
        self.repeated.push((copy, true));
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::clock::WallClock;
    use crate::wmbus::catalog::CATALOG;
    use crate::wmbus::meter::MeterFaults;
    use meterlab_decoder::Key;

    fn air(which: &[usize], at_ns: u64, faults: RadioFaults, seed: u64) -> Air {
        let meters = which
            .iter()
            .map(|&i| {
                let (_, make) = CATALOG[i];
                let mut m = RadioMeter::new(
                    make(20_000_000 + i as u32, Key::new([7; 16])),
                    WallClock::default(),
                    MeterFaults::default(),
                    Seed(3).index(i as u64),
                );
                m.set_next_tx_ns(at_ns);
                m
            })
            .collect();
        Air::new(meters, faults, Seed(seed))
    }

    #[test]
    fn test_other_frequencies_do_not_collide() {
        // T1 water and S1 gas at the same instant: 868.95 and 868.3 MHz, both received.
        let mut a = air(&[0, 3], NS_PER_MS, RadioFaults::default(), 1);
        let (mut rx, events) = a.step();
        assert!(events.is_empty());
        let (more, events) = a.step();
        assert!(events.is_empty());
        rx.extend(more);
        assert_eq!(rx.len(), 2);
        assert!(rx.iter().all(|r| r.crc_ok && r.truth.len() == 1));
        // T1 water and C1 heat share 868.95 MHz: a collision.
        let mut a = air(&[0, 2], NS_PER_MS, RadioFaults::default(), 1);
        let (rx, events) = a.step();
        assert!(events.iter().any(|e| e.outcome == Outcome::Collision));
        assert!(rx.iter().all(|r| !r.crc_ok && r.truth.is_empty()));
    }

    #[test]
    fn test_transmissions_that_only_touch_do_not_collide() {
        let mut a = air(&[0, 1], NS_PER_MS, RadioFaults::default(), 1);
        let (first, _) = a.step();
        assert!(first.is_empty() || first.iter().all(|r| !r.crc_ok));
        // Move the second meter to start right after the first one ends.
        let mut a = air(&[0], NS_PER_MS, RadioFaults::default(), 1);
        let end = {
            let (rx, _) = a.step();
            rx[0].at_ns
        };
        let mut b = air(&[0, 1], NS_PER_MS, RadioFaults::default(), 1);
        b.meters_mut()[1].set_next_tx_ns(end);
        let (rx1, e1) = b.step();
        let (rx2, e2) = b.step();
        assert!(e1.is_empty() && e2.is_empty());
        assert_eq!(rx1.len() + rx2.len(), 2);
    }
}
