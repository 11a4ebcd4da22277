//! What a simulated M-Bus slave measures, and the records of each of its telegrams.
//!
//! Registers (energy, volume) come from a seeded [`Household`] and never go backwards: heat
//! energy follows the household's gas register (9 Wh of heat per litre of gas), the heating
//! circuit's volume follows the heat energy (1.163 Wh per litre and kelvin at a nominal 20 K),
//! water, gas and electricity are the household's own registers. Instantaneous values (heat
//! power, temperatures, gas flow) are seeded per quarter of an hour. History (storage numbers
//! 1, 2, …) holds the registers at the last days of the months before the scenario start: the
//! register at the start minus a seeded monthly consumption per month, so older storage is never
//! larger than newer.
//!
//! Telegram 1 of a readout carries the current values; telegrams 2… carry history, four storage
//! numbers each (telegram n: storage 4(n−2)+1 … 4(n−2)+4). All but the last end with DIF `1F`.
//!
//! | profile | telegram 1 (DIF VIF VIFE: meaning) | end |
//! |---|---|---|
//! | heat | `0C 78` fabrication no · `04 06` energy kWh · `0C 14` volume 0.01 m³ · `0B 2B` power W · `0B 3B` flow l/h · `0A 5A` flow temp 0.1 °C · `0A 5E` return temp · `02 61` ΔT 0.01 K · `04 22` on time h · `04 6D` date-time · `02 FD 17` error flags | `1F`/`0F` + 3 bytes |
//! | water | `0C 13` volume l · `04 93 3C` backflow l · `03 93 23` l per day · `09 FD 0E` firmware · `0A FD 0F` software · `02 FD 17` error flags · `02 6C` date · `42 6C` due date · `4C 13` volume at due date · `04 6D` date-time | none (`1F` if more) |
//! | electricity | `0D FD 0E` firmware (ASCII) · `07 03` import Wh · `8E 10 03`, `8E 20 03` import tariff 1/2 · `06 83 3C` export Wh · `0B 2B` power W (negative: `F` sign) · `02 FD 48`, `82 40 FD 48`, `82 80 40 FD 48` voltage L1–L3 0.1 V · `02 FD 59`… current mA (subunit = phase − 1) · `04 6D` date-time | `0F` + 2 bytes |
//! | gas | `0C 78` fabrication no · `0C 96 74` volume 0.01 m³ · `05 3E` flow m³/h (real) · `01 FD 1B` digital input · `0D FD 11` customer (ASCII) · `04 6D` date-time · `42 6C` billing date · `44 96 74` volume at billing date | `0F` + 2 bytes |
//!
//! History telegrams: heat `14 2B` max power W, `13 3B` max flow l/h (24 bit), `04 FB 00` energy
//! 0.1 MWh, then per storage number date `x2 6C`, energy `x4 06`, volume `x4 14`; water date and
//! `xC 13`; electricity date and `x4 06` import kWh; gas date and `x4 96 74`.

use chrono::{Datelike, Months, NaiveDate};

use super::profile::Kind;
use super::record::{Data, Function, IntWidth, ManufacturerDataRepr, RecordRepr, Vif};
use crate::clock::{WallClock, NS_PER_S};
use crate::household::{Household, HouseholdConfig};
use crate::seed::Seed;

/// Storage numbers per history telegram.
pub const STORAGE_PER_TELEGRAM: u64 = 4;
/// The most telegrams of one readout cycle.
pub const MAX_TELEGRAMS: u8 = 10;
/// The instantaneous values change every this many seconds.
const SLOT_S: u64 = 900;
/// Wh of heat per litre of gas.
const HEAT_WH_PER_GAS_L: u64 = 9;

/// The records of one telegram, and how it ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    /// Data records in telegram order.
    pub records: Vec<RecordRepr>,
    /// `0F`/`1F` and manufacturer bytes, if any.
    pub manufacturer: Option<ManufacturerDataRepr>,
}

/// Options of the model a profile may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    /// Three-phase electricity meter.
    pub three_phase: bool,
    /// Peak solar production, W.
    pub solar_w: u32,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            three_phase: true,
            solar_w: 0,
        }
    }
}

/// The measurements behind one slave.
#[derive(Clone, Debug)]
pub struct Model {
    kind: Kind,
    clock: WallClock,
    seed: Seed,
    house: Household,
    three_phase: bool,
    fabrication: u32,
    start_gas_l: u64,
    /// The history register (Wh for heat and electricity, litres for water and gas) at the start.
    start_register: u64,
    heat0_wh: u64,
    volume0_10l: u64,
    on_time0_h: u64,
    /// Register at the start minus the register at the end of each earlier month (index 0 =
    /// storage 1), in the register's model unit (Wh, litres).
    history_drop: Vec<u64>,
    max_power_w: u64,
    max_flow_lh: u64,
    backflow_l: u64,
}

fn bcd(digits: u8, value: u64) -> Data {
    let limit = 10u64.pow(u32::from(digits));
    Data::Bcd {
        digits,
        value: i64::try_from(value % limit).unwrap_or(0),
    }
}

fn int(width: IntWidth, value: i64) -> Data {
    Data::Int { width, value }
}

fn uint(width: IntWidth, value: u64) -> Data {
    int(width, i64::try_from(value).unwrap_or(i64::MAX))
}

fn rec(vif: Vif, data: Data) -> RecordRepr {
    RecordRepr::new(vif, data)
}

const P: fn(u8) -> Vif = Vif::Primary;

impl Model {
    /// A model of this class whose every random choice comes from `seed`.
    pub fn new(kind: Kind, clock: WallClock, options: ModelOptions, seed: Seed) -> Self {
        let mut rng = seed.derive("mbus/model").rng();
        let t1 = rng.range_inclusive(1_000_000, 9_000_000);
        let t2 = rng.range_inclusive(1_000_000, 9_000_000);
        let config = HouseholdConfig {
            start_import_wh: [t1, t2],
            start_export_wh: [0, 0],
            solar_peak_w: options.solar_w,
            three_phase: options.three_phase,
            start_gas_l: rng.range_inclusive(500_000, 5_000_000),
            start_water_l: rng.range_inclusive(20_000, 900_000),
        };
        let house = Household::new(config, clock, seed.derive("mbus/household"));
        let months = usize::from(MAX_TELEGRAMS) * STORAGE_PER_TELEGRAM as usize;
        let (lo, hi) = match kind {
            Kind::Heat => (300_000, 1_500_000),
            Kind::Water => (3_000, 9_000),
            Kind::Electricity => (150_000, 450_000),
            Kind::Gas => (20_000, 150_000),
        };
        let mut total = 0u64;
        let history_drop = (0..months)
            .map(|_| {
                total += rng.range_inclusive(lo, hi);
                total
            })
            .collect();
        let heat0_wh = rng.range_inclusive(20_000_000, 80_000_000);
        let start_register = match kind {
            Kind::Heat => heat0_wh,
            Kind::Water => config.start_water_l,
            Kind::Electricity => t1 + t2,
            Kind::Gas => config.start_gas_l,
        };
        Model {
            kind,
            start_register,
            clock,
            seed,
            three_phase: options.three_phase,
            fabrication: rng.range_inclusive(10_000_000, 99_999_999) as u32,
            start_gas_l: config.start_gas_l,
            heat0_wh,
            volume0_10l: rng.range_inclusive(5_000, 90_000),
            on_time0_h: rng.range_inclusive(5_000, 60_000),
            history_drop,
            max_power_w: rng.range_inclusive(9_000, 15_000),
            max_flow_lh: rng.range_inclusive(500, 900),
            backflow_l: rng.range_inclusive(0, 40),
            house,
        }
    }

    /// The fabrication number (heat and gas meters send it; every slave can be selected by it).
    pub fn fabrication(&self) -> u32 {
        self.fabrication
    }

    fn advance(&mut self, now_ns: u64) {
        let clock = self.clock;
        self.house.advance(now_ns, move |ms| {
            let t = clock.local(ms * 1_000_000);
            // Tariff 1 is low (night and weekend), 2 is normal.
            if t.hour() < 7 || t.hour() >= 22 || t.weekend() {
                1
            } else {
                2
            }
        });
    }

    /// Heat energy now, Wh.
    fn heat_wh(&self) -> u64 {
        self.heat0_wh + (self.house.gas_l().saturating_sub(self.start_gas_l)) * HEAT_WH_PER_GAS_L
    }

    /// The heating circuit's volume for a heat energy, 10 l (0.01 m³).
    fn volume_10l(&self, heat_wh: u64) -> u64 {
        let delta = i128::from(heat_wh) - i128::from(self.heat0_wh);
        let v = i128::from(self.volume0_10l) + delta * 100 / 23_260;
        u64::try_from(v.max(0)).unwrap_or(0)
    }

    /// The register at the end of the month `storage` months back (storage ≥ 1).
    fn history(&self, storage: u64) -> u64 {
        let drop = usize::try_from(storage.saturating_sub(1))
            .ok()
            .and_then(|i| self.history_drop.get(i))
            .copied()
            .unwrap_or(u64::MAX);
        self.start_register.saturating_sub(drop)
    }

    /// The last day of the month `storage` months before the start month.
    fn history_date(&self, storage: u64) -> NaiveDate {
        let start = self.clock.local(0).local.date();
        let first = start.with_day(1).unwrap_or(start);
        first
            .checked_sub_months(Months::new(
                u32::try_from(storage.saturating_sub(1)).unwrap_or(0),
            ))
            .and_then(|d| d.pred_opt())
            .unwrap_or(first)
    }

    /// A seeded generator for the instantaneous values of the quarter hour at `now_ns`.
    fn slot(&self, now_ns: u64) -> crate::seed::SimRng {
        self.seed
            .derive("mbus/slot")
            .index(now_ns / (SLOT_S * NS_PER_S))
            .rng()
    }

    /// The records of telegram `index` (0-based) of a cycle of `count`, at virtual time `now_ns`.
    pub fn telegram(&mut self, index: usize, count: usize, now_ns: u64) -> Body {
        self.advance(now_ns);
        let more = index + 1 < count;
        let local = self.clock.local(now_ns);
        let now = Data::DateTime {
            at: local.local,
            summer: local.summer,
        };
        let mut records = Vec::new();
        if index == 0 {
            self.current(&mut records, now_ns, now);
        } else {
            self.history_block(&mut records, index);
        }
        let tag = (index & 0xFF) as u8;
        let manufacturer = match self.kind {
            Kind::Heat => Some(vec![0x02, 0x00, tag]),
            Kind::Electricity => Some(vec![0x10, tag]),
            Kind::Gas => Some(vec![0x01, tag]),
            Kind::Water if more => Some(Vec::new()),
            Kind::Water => None,
        }
        .map(|bytes| ManufacturerDataRepr { more, bytes });
        Body {
            records,
            manufacturer,
        }
    }

    fn current(&mut self, records: &mut Vec<RecordRepr>, now_ns: u64, now: Data) {
        match self.kind {
            Kind::Heat => {
                let mut r = self.slot(now_ns);
                let power_w = r.range_inclusive(0, 12_000);
                let flow_dc = r.range_inclusive(550, 700);
                let dt_dc = r.range_inclusive(100, 250);
                let flow_lh = power_w * 10_000 / (1163 * dt_dc);
                self.max_power_w = self.max_power_w.max(power_w);
                self.max_flow_lh = self.max_flow_lh.max(flow_lh);
                let energy = self.heat_wh();
                let on_time_h = self.on_time0_h + now_ns / (3600 * NS_PER_S);
                records.extend([
                    rec(P(0x78), bcd(8, u64::from(self.fabrication))),
                    rec(P(0x06), uint(IntWidth::I32, energy / 1000)),
                    rec(P(0x14), bcd(8, self.volume_10l(energy))),
                    rec(P(0x2B), bcd(6, power_w)),
                    rec(P(0x3B), bcd(6, flow_lh)),
                    rec(P(0x5A), bcd(4, flow_dc)),
                    rec(P(0x5E), bcd(4, flow_dc - dt_dc)),
                    rec(P(0x61), uint(IntWidth::I16, dt_dc * 10)),
                    rec(P(0x22), uint(IntWidth::I32, on_time_h)),
                    rec(P(0x6D), now),
                    rec(Vif::Fd(0x17), int(IntWidth::I16, 0)),
                ]);
            }
            Kind::Water => {
                let today = self.clock.local(now_ns).local.date();
                records.extend([
                    rec(P(0x13), bcd(8, self.house.water_l())),
                    rec(P(0x13), uint(IntWidth::I32, self.backflow_l)).vife(&[0x3C]),
                    rec(P(0x13), uint(IntWidth::I24, self.history_drop[0] / 30)).vife(&[0x23]),
                    rec(Vif::Fd(0x0E), bcd(2, 12)),
                    rec(Vif::Fd(0x0F), bcd(4, 103)),
                    rec(Vif::Fd(0x17), int(IntWidth::I16, 0)),
                    rec(P(0x6C), Data::Date(today)),
                    rec(P(0x6C), Data::Date(self.history_date(1))).storage(1),
                    rec(P(0x13), bcd(8, self.history(1))).storage(1),
                    rec(P(0x6D), now),
                ]);
            }
            Kind::Electricity => {
                let reg = self.house.registers();
                let ph = self.house.phases();
                let net = i64::try_from(ph.import_w()).unwrap_or(0)
                    - i64::try_from(ph.export_w()).unwrap_or(0);
                records.extend([
                    rec(Vif::Fd(0x0E), Data::Text("E2.0.19".into())),
                    rec(P(0x03), uint(IntWidth::I64, reg.import_total_wh())),
                    rec(P(0x03), bcd(12, reg.import_wh(1))).tariff(1),
                    rec(P(0x03), bcd(12, reg.import_wh(2))).tariff(2),
                    rec(P(0x03), uint(IntWidth::I48, reg.export_total_wh())).vife(&[0x3C]),
                    rec(
                        P(0x2B),
                        Data::Bcd {
                            digits: 6,
                            value: net.clamp(-99_999, 999_999),
                        },
                    ),
                ]);
                let phases: u32 = if self.three_phase { 3 } else { 1 };
                for p in 0..phases {
                    let v = u64::from(ph.voltage_dv[p as usize]);
                    records.push(rec(Vif::Fd(0x48), uint(IntWidth::I16, v)).subunit(p));
                }
                for p in 0..phases {
                    let ma = ph.current(p as usize, 3).min(32_767);
                    records.push(rec(Vif::Fd(0x59), uint(IntWidth::I16, ma)).subunit(p));
                }
                records.push(rec(P(0x6D), now));
            }
            Kind::Gas => {
                let mut r = self.slot(now_ns);
                let flow = r.range_inclusive(0, 40) as f32 / 16.0;
                records.extend([
                    rec(P(0x78), bcd(8, u64::from(self.fabrication))),
                    rec(P(0x16), bcd(8, self.house.gas_l() / 10)).vife(&[0x74]),
                    rec(P(0x3E), Data::Real(flow)),
                    rec(Vif::Fd(0x1B), int(IntWidth::I8, 0)),
                    rec(Vif::Fd(0x11), Data::Text("HH-04711".into())),
                    rec(P(0x6D), now),
                    rec(P(0x6C), Data::Date(self.history_date(1))).storage(1),
                    rec(P(0x16), uint(IntWidth::I32, self.history(1) / 10))
                        .vife(&[0x74])
                        .storage(1),
                ]);
            }
        }
    }

    fn history_block(&self, records: &mut Vec<RecordRepr>, index: usize) {
        if index == 1 && self.kind == Kind::Heat {
            records.extend([
                rec(P(0x2B), uint(IntWidth::I32, self.max_power_w)).function(Function::Maximum),
                rec(P(0x3B), uint(IntWidth::I24, self.max_flow_lh)).function(Function::Maximum),
                rec(Vif::Fb(0x00), uint(IntWidth::I32, self.heat_wh() / 100_000)),
            ]);
        }
        let first = (index as u64 - 1) * STORAGE_PER_TELEGRAM + 1;
        for storage in first..first + STORAGE_PER_TELEGRAM {
            let date = rec(P(0x6C), Data::Date(self.history_date(storage))).storage(storage);
            let value = self.history(storage);
            records.push(date);
            match self.kind {
                Kind::Heat => records.extend([
                    rec(P(0x06), uint(IntWidth::I32, value / 1000)).storage(storage),
                    rec(P(0x14), uint(IntWidth::I32, self.volume_10l(value))).storage(storage),
                ]),
                Kind::Water => records.push(rec(P(0x13), bcd(8, value)).storage(storage)),
                Kind::Electricity => {
                    records.push(rec(P(0x06), uint(IntWidth::I32, value / 1000)).storage(storage))
                }
                Kind::Gas => records.push(
                    rec(P(0x16), uint(IntWidth::I32, value / 10))
                        .vife(&[0x74])
                        .storage(storage),
                ),
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const KINDS: [Kind; 4] = [Kind::Heat, Kind::Water, Kind::Electricity, Kind::Gas];

    fn len(body: &Body) -> usize {
        body.records
            .iter()
            .map(RecordRepr::buffer_len)
            .sum::<usize>()
            + body
                .manufacturer
                .as_ref()
                .map_or(0, ManufacturerDataRepr::buffer_len)
    }

    #[test]
    fn test_every_telegram_is_valid_and_fits() {
        for kind in KINDS {
            let mut model =
                Model::new(kind, WallClock::default(), ModelOptions::default(), Seed(3));
            let count = usize::from(MAX_TELEGRAMS);
            for index in 0..count {
                let body = model.telegram(index, count, 5 * NS_PER_S);
                for r in &body.records {
                    r.check().expect("valid record");
                    let mut out = Vec::new();
                    r.emit(&mut out);
                }
                // L counts C, A, CI, the 12-byte header and the records: at most 255.
                assert!(3 + 12 + len(&body) <= 255, "{kind:?} telegram {index}");
                let more = index + 1 < count;
                let end = body.manufacturer.as_ref().map(|m| m.more);
                if kind == Kind::Water && !more {
                    assert_eq!(end, None, "the water meter's last telegram has no 0F");
                } else {
                    assert_eq!(end, Some(more), "{kind:?} telegram {index}");
                }
            }
        }
    }

    #[test]
    fn test_history_never_grows_backwards() {
        for kind in KINDS {
            let model = Model::new(kind, WallClock::default(), ModelOptions::default(), Seed(9));
            let mut last = model.start_register;
            for s in 1..=40 {
                let h = model.history(s);
                assert!(h <= last, "{kind:?} storage {s}");
                last = h;
            }
            assert_eq!(
                model.history_date(1),
                NaiveDate::from_ymd_opt(2024, 12, 31).expect("date")
            );
            assert_eq!(
                model.history_date(2),
                NaiveDate::from_ymd_opt(2024, 11, 30).expect("date")
            );
        }
    }

    #[test]
    fn test_registers_never_go_backwards() {
        let mut model = Model::new(
            Kind::Heat,
            WallClock::default(),
            ModelOptions::default(),
            Seed(4),
        );
        let mut last = 0;
        for s in 0..200u64 {
            let body = model.telegram(0, 1, s * 60 * NS_PER_S);
            let Data::Int { value, .. } = body.records[1].data else {
                panic!("energy is an integer")
            };
            assert!(value >= last);
            last = value;
        }
    }
}
