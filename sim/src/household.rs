//! A seeded model of a household's consumption, for meters whose registers must evolve like a
//! real house's: base load, appliances switching on and off, optional solar production, gas
//! heating. Energy registers integrate power over virtual time and never go backwards.
//!
//! All quantities are integers in the resolution meters display (W, Wh, litres, 0.1 V), so a
//! telegram shows exactly what the model holds and the truth needs no rounding of its own.

use crate::clock::{WallClock, NS_PER_MS, NS_PER_S};
use crate::seed::{Seed, SimRng};

/// W·ms per Wh.
const WMS_PER_WH: u128 = 3_600_000;

/// Import and export registers for two tariffs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    /// Imported energy per tariff (index 0 = tariff 1), W·ms.
    pub import: [u128; 2],
    /// Exported energy per tariff, W·ms.
    pub export: [u128; 2],
    /// Reactive energy imported/exported, var·ms (a fixed fraction of active energy).
    pub reactive: [u128; 2],
}

impl Registers {
    /// Imported energy of a tariff (1 or 2) in Wh, truncated like a meter's display.
    pub fn import_wh(&self, tariff: usize) -> u64 {
        wh(self.import[tariff.saturating_sub(1).min(1)])
    }
    /// Exported energy of a tariff (1 or 2) in Wh.
    pub fn export_wh(&self, tariff: usize) -> u64 {
        wh(self.export[tariff.saturating_sub(1).min(1)])
    }
    /// Total imported energy in Wh.
    pub fn import_total_wh(&self) -> u64 {
        wh(self.import[0] + self.import[1])
    }
    /// Total exported energy in Wh.
    pub fn export_total_wh(&self) -> u64 {
        wh(self.export[0] + self.export[1])
    }
    /// Reactive energy (0 = imported, 1 = exported) in varh.
    pub fn reactive_varh(&self, dir: usize) -> u64 {
        wh(self.reactive[dir.min(1)])
    }
}

fn wh(wms: u128) -> u64 {
    u64::try_from(wms / WMS_PER_WH).unwrap_or(u64::MAX)
}

/// What the household draws right now, per phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseState {
    /// Net power drawn from the grid per phase, W (negative = feeding in).
    pub net_w: [i64; 3],
    /// Voltage per phase, 0.1 V.
    pub voltage_dv: [u32; 3],
}

impl PhaseState {
    /// Total imported power, W (0 while exporting).
    pub fn import_w(&self) -> u64 {
        u64::try_from(self.net_w.iter().sum::<i64>().max(0)).unwrap_or(0)
    }
    /// Total exported power, W.
    pub fn export_w(&self) -> u64 {
        u64::try_from((-self.net_w.iter().sum::<i64>()).max(0)).unwrap_or(0)
    }
    /// Imported power on one phase (0-based), W.
    pub fn phase_import_w(&self, phase: usize) -> u64 {
        u64::try_from(self.net_w[phase % 3].max(0)).unwrap_or(0)
    }
    /// Exported power on one phase, W.
    pub fn phase_export_w(&self, phase: usize) -> u64 {
        u64::try_from((-self.net_w[phase % 3]).max(0)).unwrap_or(0)
    }
    /// Current on one phase in units of 10^-decimals A, rounded half up.
    pub fn current(&self, phase: usize, decimals: u32) -> u64 {
        let p = self.net_w[phase % 3].unsigned_abs();
        let v_dv = u64::from(self.voltage_dv[phase % 3].max(1));
        // I = P / V = p W / (v_dv / 10) V; in 10^-decimals A.
        let scale = 10u64.pow(decimals) * 10;
        (p * scale * 2 + v_dv) / (2 * v_dv)
    }
}

#[derive(Clone, Debug)]
struct Appliance {
    phase: usize,
    watts: i64,
    on: bool,
    next_toggle_ms: u64,
    mean_on_ms: u64,
    mean_off_ms: u64,
}

/// The household behind a meter.
#[derive(Clone, Debug)]
pub struct Household {
    rng: SimRng,
    clock: WallClock,
    now_ms: u64,
    base_w: [i64; 3],
    appliances: Vec<Appliance>,
    solar_peak_w: i64,
    three_phase: bool,
    registers: Registers,
    voltage_dv: [u32; 3],
    gas_ml: u64,
    gas_rate_ml_s: u64,
    gas_next_change_ms: u64,
    water_ml: u64,
}

/// How to set up a household.
#[derive(Clone, Copy, Debug)]
pub struct HouseholdConfig {
    /// Imported energy at the start per tariff, Wh.
    pub start_import_wh: [u64; 2],
    /// Exported energy at the start per tariff, Wh.
    pub start_export_wh: [u64; 2],
    /// Peak solar production, W (0 = no panels).
    pub solar_peak_w: u32,
    /// Three phases (else everything is on L1).
    pub three_phase: bool,
    /// Gas register at the start, litres.
    pub start_gas_l: u64,
    /// Water register at the start, litres.
    pub start_water_l: u64,
}

impl Default for HouseholdConfig {
    fn default() -> Self {
        HouseholdConfig {
            start_import_wh: [3_432_827, 3_224_632],
            start_export_wh: [0, 0],
            solar_peak_w: 0,
            three_phase: true,
            start_gas_l: 1_234_567,
            start_water_l: 98_765,
        }
    }
}

impl Household {
    /// A household whose every random choice comes from `seed`.
    pub fn new(config: HouseholdConfig, clock: WallClock, seed: Seed) -> Self {
        let mut rng = seed.derive("household").rng();
        let phases = if config.three_phase { 3 } else { 1 };
        let mut base_w = [0i64; 3];
        for b in base_w.iter_mut().take(phases) {
            *b = rng.range_inclusive(40, 120) as i64;
        }
        // (watts, mean on, mean off) in W and seconds: fridge, freezer, kettle, washing machine,
        // oven, television, lighting, heat pump circulation.
        let kinds: [(i64, u64, u64); 8] = [
            (120, 900, 1800),
            (90, 1200, 2400),
            (2000, 180, 5400),
            (1800, 1800, 14_400),
            (2500, 2400, 18_000),
            (110, 7200, 10_800),
            (60, 10_800, 7200),
            (350, 600, 1200),
        ];
        let appliances = kinds
            .iter()
            .map(|&(watts, on_s, off_s)| {
                let on = rng.chance(on_s as f64 / (on_s + off_s) as f64);
                let mean = if on { on_s } else { off_s };
                Appliance {
                    phase: rng.below(phases as u64) as usize,
                    watts: watts + rng.range_inclusive(0, (watts / 10) as u64) as i64,
                    on,
                    next_toggle_ms: rng.range_inclusive(1, mean * 1000),
                    mean_on_ms: on_s * 1000,
                    mean_off_ms: off_s * 1000,
                }
            })
            .collect();
        let registers = Registers {
            import: config.start_import_wh.map(|w| u128::from(w) * WMS_PER_WH),
            export: config.start_export_wh.map(|w| u128::from(w) * WMS_PER_WH),
            reactive: [
                u128::from(config.start_import_wh[0] / 20) * WMS_PER_WH,
                u128::from(config.start_import_wh[1] / 5) * WMS_PER_WH,
            ],
        };
        let voltage_dv = [2300u32; 3].map(|v| v + rng.range_inclusive(0, 60) as u32 - 30);
        let gas_rate_ml_s = rng.range_inclusive(0, 300);
        Household {
            rng,
            clock,
            now_ms: 0,
            base_w,
            appliances,
            solar_peak_w: i64::from(config.solar_peak_w),
            three_phase: config.three_phase,
            registers,
            voltage_dv,
            gas_ml: config.start_gas_l * 1000,
            gas_rate_ml_s,
            gas_next_change_ms: 600_000,
            water_ml: config.start_water_l * 1000,
        }
    }

    /// Virtual time of the model, ms.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The energy registers now.
    pub fn registers(&self) -> Registers {
        self.registers
    }

    /// Gas register, litres.
    pub fn gas_l(&self) -> u64 {
        self.gas_ml / 1000
    }

    /// Water register, litres.
    pub fn water_l(&self) -> u64 {
        self.water_ml / 1000
    }

    /// Power and voltage per phase now.
    pub fn phases(&self) -> PhaseState {
        let mut net_w = [0i64; 3];
        for (i, n) in net_w.iter_mut().enumerate() {
            *n = self.base_w[i];
        }
        for a in self.appliances.iter().filter(|a| a.on) {
            net_w[a.phase] += a.watts;
        }
        let solar = self.solar_w();
        if solar > 0 {
            let phases = if self.three_phase { 3 } else { 1 };
            for n in net_w.iter_mut().take(phases) {
                *n -= solar / phases as i64;
            }
        }
        if !self.three_phase {
            net_w[1] = 0;
            net_w[2] = 0;
        }
        let mut voltage_dv = self.voltage_dv;
        for (v, n) in voltage_dv.iter_mut().zip(net_w) {
            // A little sag under load, a little rise when feeding in: 0.1 V per 100 W.
            *v = u32::try_from(i64::from(*v) - n / 100).unwrap_or(2300);
        }
        PhaseState { net_w, voltage_dv }
    }

    fn solar_w(&self) -> i64 {
        if self.solar_peak_w == 0 {
            return 0;
        }
        let local = self.clock.local(self.now_ms * NS_PER_MS);
        let h = f64::from(local.hour()) + f64::from(chrono::Timelike::minute(&local.local)) / 60.0;
        if !(6.0..20.0).contains(&h) {
            return 0;
        }
        let sun = ((h - 6.0) / 14.0 * std::f64::consts::PI).sin();
        (self.solar_peak_w as f64 * sun * sun) as i64
    }

    /// Advances the model to virtual time `to_ns`; `tariff(ms)` says which tariff (1 or 2) is in
    /// force. Registers integrate the piecewise-constant power, split at every appliance switch
    /// and at least once a minute.
    pub fn advance(&mut self, to_ns: u64, tariff: impl Fn(u64) -> usize) {
        let to_ms = to_ns / NS_PER_MS;
        while self.now_ms < to_ms {
            let next_event = self
                .appliances
                .iter()
                .map(|a| a.next_toggle_ms)
                .chain([self.gas_next_change_ms, self.now_ms + 60_000, to_ms])
                .min()
                .unwrap_or(to_ms)
                .max(self.now_ms + 1)
                .min(to_ms);
            let dt = u128::from(next_event - self.now_ms);
            let phases = self.phases();
            let t = tariff(self.now_ms).clamp(1, 2) - 1;
            let import = u128::from(phases.import_w());
            let export = u128::from(phases.export_w());
            self.registers.import[t] += import * dt;
            self.registers.export[t] += export * dt;
            self.registers.reactive[0] += import * dt / 20;
            self.registers.reactive[1] += export * dt / 5;
            self.gas_ml += self.gas_rate_ml_s * u64::try_from(dt).unwrap_or(0) / 1000;
            // A tap runs now and then: about 2 litres a minute on average.
            self.water_ml += 33 * u64::try_from(dt).unwrap_or(0) / 1000;
            self.now_ms = next_event;
            self.switch_due();
        }
    }

    fn switch_due(&mut self) {
        let now = self.now_ms;
        for i in 0..self.appliances.len() {
            if self.appliances[i].next_toggle_ms <= now {
                let on = !self.appliances[i].on;
                let mean = if on {
                    self.appliances[i].mean_on_ms
                } else {
                    self.appliances[i].mean_off_ms
                };
                let wait = self.rng.range_inclusive(mean / 2, mean * 3 / 2).max(1000);
                let a = &mut self.appliances[i];
                a.on = on;
                a.next_toggle_ms = now + wait;
            }
        }
        if self.gas_next_change_ms <= now {
            self.gas_rate_ml_s = self.rng.range_inclusive(0, 300);
            self.gas_next_change_ms = now + 600_000;
        }
        for v in self.voltage_dv.iter_mut() {
            let step = self.rng.range_inclusive(0, 4) as u32;
            *v = (*v + step).saturating_sub(2).clamp(2250, 2400);
        }
    }
}

/// Milliseconds → nanoseconds.
pub fn ms_to_ns(ms: u64) -> u64 {
    ms * NS_PER_MS
}

/// Seconds → nanoseconds.
pub fn s_to_ns(s: u64) -> u64 {
    s * NS_PER_S
}

#[cfg(test)]
mod test {
    use super::*;

    fn house(seed: u64, solar: u32) -> Household {
        let config = HouseholdConfig {
            solar_peak_w: solar,
            ..HouseholdConfig::default()
        };
        Household::new(config, WallClock::default(), Seed(seed))
    }

    #[test]
    fn registers_never_go_backwards() {
        let mut h = house(1, 4000);
        let mut last = h.registers();
        for s in 1..=3600u64 {
            h.advance(s_to_ns(s * 10), |_| 2);
            let r = h.registers();
            for i in 0..2 {
                assert!(r.import[i] >= last.import[i]);
                assert!(r.export[i] >= last.export[i]);
            }
            last = r;
        }
        assert!(
            h.registers().import_total_wh() > 6_657_459,
            "ten hours of a house must add energy"
        );
        assert!(
            h.registers().export_total_wh() > 0,
            "solar at midday must export"
        );
    }

    #[test]
    fn same_seed_same_house() {
        let mut a = house(7, 0);
        let mut b = house(7, 0);
        a.advance(s_to_ns(3600), |_| 1);
        b.advance(s_to_ns(3600), |_| 1);
        assert_eq!(a.registers(), b.registers());
        assert_eq!(a.phases(), b.phases());
        let mut c = house(8, 0);
        c.advance(s_to_ns(3600), |_| 1);
        assert_ne!(a.registers(), c.registers());
    }

    #[test]
    fn current_rounds() {
        let p = PhaseState {
            net_w: [2300, -460, 0],
            voltage_dv: [2300, 2300, 2300],
        };
        assert_eq!(p.current(0, 0), 10);
        assert_eq!(p.current(1, 2), 200);
        assert_eq!(p.import_w(), 1840);
        assert_eq!(p.phase_export_w(1), 460);
    }
}
