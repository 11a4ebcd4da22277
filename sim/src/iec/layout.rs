//! The data sets of the six modelled IEC 62056-21 meters (the readout of each, in its order,
//! with its address forms and value widths; `profile.rs` names the meter each copies) and the
//! tariff each counts on. [`data_sets`] turns a [`Snapshot`] of the meter's model into the data
//! sets whose values are, side by side, the reading (`docs/reading-format.md`); the meter's
//! dialogue is in `meter.rs`.

use chrono::{NaiveDate, NaiveDateTime};
use meterlab_decoder::Obis;

use super::dataset::{Address, Billing, Code, DataSet, Fixed};
use super::profile::Layout;
use crate::clock::NS_PER_S;
use crate::household::{PhaseState, Registers};

/// Register values at the last billing reset (the ZMD310's `*19` data sets).
#[derive(Clone, Copy, Debug)]
pub struct BillingSnapshot {
    /// The billing period counter (`0.1.0`, `VZ`).
    pub count: u8,
    /// The date of the reset.
    pub date: NaiveDate,
    /// Import registers per tariff at the reset, Wh.
    pub import_wh: [u64; 2],
    /// Export registers per tariff at the reset, Wh.
    pub export_wh: [u64; 2],
    /// Reactive register at the reset, varh.
    pub reactive_varh: u64,
}

/// What a readout shows at one instant: the model's state the data sets are made of.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a> {
    /// The household's registers.
    pub registers: Registers,
    /// The household's phases.
    pub phases: PhaseState,
    /// The meter number.
    pub meter_number: &'a str,
    /// The meter's own local time.
    pub local: NaiveDateTime,
    /// The last billing reset.
    pub billing: BillingSnapshot,
    /// Maximum demand, W, and when.
    pub demand_peak: (u64, NaiveDateTime),
    /// Gas burnt since the start, litres (the heat meter's source).
    pub gas_l: u64,
    /// Virtual time, ns.
    pub at_ns: u64,
}

/// The tariff (1 or 2) the meter counts on, by day (`day`: a working day, 07–20 h) or not.
pub fn tariff(layout: Layout, day: bool) -> usize {
    match layout {
        // Single-tariff meters: the ME162 of the corpus counts on T2, the others on T1.
        Layout::Me162 => 2,
        Layout::E350 | Layout::Zmd310 => 2 - usize::from(day),
        Layout::Kamstrup66 | Layout::Zmd120 | Layout::HagerEhz => 1,
    }
}

/// The data sets of a readout, in the modelled meter's order.
pub fn data_sets(layout: Layout, snap: &Snapshot<'_>) -> Vec<DataSet> {
    let reg = snap.registers;
    let ph = snap.phases;
    let num = |c: u8, d: u8, e: u8, f: Fixed, m: u64, unit: &str| {
        DataSet::number(Address::numeric(c, d, e), f, i128::from(m), Some(unit))
    };
    let c10 = Address::coded(Code::C, Code::N(1), Some(0));
    let ff = Address::coded(Code::F, Code::F, None);
    let n = snap.meter_number;
    match layout {
        Layout::Me162 => {
            let f = Fixed::zeros(7, 3);
            vec![
                DataSet::text(c10, n),
                DataSet::text(Address::numeric(0, 0, 0), n),
                num(1, 8, 0, f, reg.import_total_wh(), "kWh"),
                num(1, 8, 1, f, reg.import_wh(1), "kWh"),
                num(1, 8, 2, f, reg.import_wh(2), "kWh"),
                num(2, 8, 0, f, reg.export_total_wh(), "kWh"),
                num(2, 8, 1, f, reg.export_wh(1), "kWh"),
                num(2, 8, 2, f, reg.export_wh(2), "kWh"),
                DataSet::text(ff, "0000000"),
            ]
        }
        Layout::E350 => {
            let f = Fixed::zeros(6, 3);
            let mut sets = vec![
                DataSet::text(ff, "00"),
                DataSet::text(Address::short(0, 0), &Fixed::blanks(16).text(120_858)),
                DataSet::text(c10, n),
                DataSet::text(Address::coded(Code::C, Code::N(1), Some(1)), "        "),
                num(1, 8, 1, f, reg.import_wh(1), "kWh"),
                num(1, 8, 2, f, reg.import_wh(2), "kWh"),
                num(2, 8, 1, f, reg.export_wh(1), "kWh"),
                num(2, 8, 2, f, reg.export_wh(2), "kWh"),
                num(1, 8, 0, f, reg.import_total_wh(), "kWh"),
                num(2, 8, 0, f, reg.export_total_wh(), "kWh"),
                num(
                    15,
                    8,
                    0,
                    f,
                    reg.import_total_wh() + reg.export_total_wh(),
                    "kWh",
                ),
                DataSet::text(Address::coded(Code::C, Code::N(7), Some(0)), "0008"),
            ];
            for (i, c) in [32u8, 52, 72].into_iter().enumerate() {
                let v = u64::from(ph.voltage_dv[i] / 10);
                sets.push(DataSet::number(
                    Address::short(c, 7),
                    Fixed::zeros(3, 0),
                    i128::from(v),
                    Some("V"),
                ));
            }
            for (i, c) in [31u8, 51, 71].into_iter().enumerate() {
                sets.push(DataSet::number(
                    Address::short(c, 7),
                    Fixed::zeros(3, 2),
                    i128::from(ph.current(i, 2)),
                    Some("A"),
                ));
            }
            sets.extend([
                DataSet::text(Address::numeric(82, 8, 1), "0000"),
                DataSet::text(Address::numeric(82, 8, 2), "0000"),
                DataSet::text(Address::numeric(0, 2, 0), "M26"),
                DataSet::text(Address::coded(Code::C, Code::N(5), Some(0)), "0401"),
            ]);
            sets
        }
        Layout::Zmd120 => {
            let f = Fixed::zeros(6, 1);
            vec![
                DataSet::text(ff, "00000000"),
                DataSet::text(Address::numeric(0, 0, 0), &format!("{n:>6}")),
                num(1, 8, 1, f, reg.import_wh(1) / 100, "kWh"),
                num(1, 8, 2, f, reg.import_wh(2) / 100, "kWh"),
                num(2, 8, 1, f, reg.export_wh(1) / 100, "kWh"),
                num(2, 8, 2, f, reg.export_wh(2) / 100, "kWh"),
                num(1, 8, 0, f, reg.import_total_wh() / 100, "kWh"),
                num(2, 8, 0, f, reg.export_total_wh() / 100, "kWh"),
            ]
        }
        Layout::Zmd310 => {
            let local = snap.local;
            let b = snap.billing;
            let vz = Billing::Star(b.count);
            let two = Fixed::zeros(6, 2);
            let three = Fixed::zeros(4, 3);
            let pair = |c: u8, d: u8, e: u8, f: Fixed, now: u64, then: u64, unit: &str| {
                let a = Address::numeric(c, d, e);
                [
                    DataSet::number(a, f, i128::from(now), Some(unit)),
                    DataSet::number(a.billing(vz), f, i128::from(then), Some(unit)),
                ]
            };
            let mut sets = vec![
                DataSet::text(ff, "00000000"),
                DataSet::text(Address::numeric(0, 0, 0), n),
                DataSet::text(Address::numeric(0, 0, 1), n),
                DataSet::text(
                    Address::numeric(0, 9, 1),
                    &local.format("%H:%M:%S").to_string(),
                ),
                DataSet::text(
                    Address::numeric(0, 9, 2),
                    &local.format("%y-%m-%d").to_string(),
                ),
                DataSet::text(Address::numeric(0, 9, 6), "00:00"),
                DataSet::text(
                    Address::numeric(0, 9, 7),
                    &b.date.format("%y-%m-%d").to_string(),
                ),
                DataSet::text(Address::numeric(0, 1, 0), &b.count.to_string()),
            ];
            let import_then = b.import_wh[0] + b.import_wh[1];
            let export_then = b.export_wh[0] + b.export_wh[1];
            sets.extend(pair(
                1,
                8,
                0,
                two,
                reg.import_total_wh() / 10,
                import_then / 10,
                "kWh",
            ));
            sets.extend(pair(
                1,
                8,
                1,
                three,
                reg.import_wh(1),
                b.import_wh[0],
                "kWh",
            ));
            sets.extend(pair(
                1,
                8,
                2,
                three,
                reg.import_wh(2),
                b.import_wh[1],
                "kWh",
            ));
            sets.extend(pair(
                2,
                8,
                0,
                two,
                reg.export_total_wh() / 10,
                export_then / 10,
                "kWh",
            ));
            sets.extend(pair(
                2,
                8,
                1,
                three,
                reg.export_wh(1),
                b.export_wh[0],
                "kWh",
            ));
            sets.extend(pair(
                2,
                8,
                2,
                three,
                reg.export_wh(2),
                b.export_wh[1],
                "kWh",
            ));
            sets.extend(pair(
                5,
                8,
                0,
                two,
                reg.reactive_varh(0) / 10,
                b.reactive_varh / 10,
                "kvarh",
            ));
            let (peak_w, peak_at) = snap.demand_peak;
            sets.push(DataSet::groups(
                Address::numeric(1, 6, 1),
                &format!("{}*kW", Fixed::zeros(3, 2).text(i128::from(peak_w / 10))),
                vec![peak_at.format("%y-%m-%d %H:%M").to_string()],
            ));
            sets.extend([
                DataSet::text(Address::numeric(0, 2, 0), "B24"),
                DataSet::text(Address::coded(Code::C, Code::N(2), Some(0)), "00000031"),
                DataSet::text(
                    Address::coded(Code::C, Code::N(2), Some(1)),
                    "17-06-21 10:47",
                ),
            ]);
            for (i, c) in [32u8, 52, 72].into_iter().enumerate() {
                sets.push(DataSet::number(
                    Address::numeric(c, 7, 0),
                    Fixed::zeros(3, 1),
                    i128::from(ph.voltage_dv[i]),
                    Some("V"),
                ));
            }
            sets.push(DataSet::text(
                Address::coded(Code::C, Code::N(7), Some(0)),
                "00000197",
            ));
            sets
        }
        Layout::Kamstrup66 => {
            let gas = snap.gas_l;
            // Heat from the household's gas: 1 cGJ = 10 MJ ≈ 284 l of natural gas; about
            // 7 m3 of water circulate per GJ.
            let heat_cgj = 43_365 + gas / 284;
            let volume_cm3 = 305_295 + gas / 40;
            let hours = 109_868 + snap.at_ns / (3600 * NS_PER_S);
            vec![
                DataSet::text(Address::short(0, 0), n),
                DataSet::number(
                    Address::short(6, 8),
                    Fixed::zeros(5, 2),
                    i128::from(heat_cgj),
                    Some("GJ"),
                ),
                DataSet::number(
                    Address::short(6, 26),
                    Fixed::zeros(5, 2),
                    i128::from(volume_cm3),
                    Some("m3"),
                ),
                DataSet::number(
                    Address::short(6, 31),
                    Fixed::zeros(7, 0),
                    i128::from(hours),
                    Some("h"),
                ),
            ]
        }
        Layout::HagerEhz => {
            let full = |a: u8, b: u8, c: u8, d: u8, e: u8, f: u8| {
                Address::full(Obis::new(a, b, c, d, e, f))
            };
            // 0.1 Wh resolution straight from the household's W·ms registers.
            let import_dwh = (reg.import[0] + reg.import[1]) / 360_000;
            let serial: String = n
                .chars()
                .rev()
                .take(10)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let mut sets = vec![
                DataSet::text(full(1, 0, 0, 0, 0, 255), n),
                DataSet::number(
                    full(1, 0, 1, 8, 0, 255),
                    Fixed::zeros(6, 4),
                    i128::try_from(import_dwh).unwrap_or(i128::MAX),
                    None,
                ),
                DataSet::text(full(1, 0, 96, 5, 5, 255), "82"),
                DataSet::text(full(0, 0, 96, 1, 255, 255), &format!("{serial:0>10}")),
                DataSet::number(
                    full(1, 0, 52, 7, 0, 255),
                    Fixed::zeros(3, 2),
                    i128::from(ph.voltage_dv[1]) * 10,
                    Some("V"),
                ),
                DataSet::number(
                    full(1, 0, 51, 7, 0, 255),
                    Fixed::zeros(3, 2),
                    i128::from(ph.current(1, 2)),
                    Some("A"),
                ),
                DataSet::number(
                    full(1, 0, 41, 7, 0, 255),
                    Fixed::zeros(5, 0).signed(),
                    i128::from(ph.net_w[1]),
                    Some("W"),
                ),
            ];
            let blocks = [
                "45",
                "07D0",
                "16",
                "11",
                "1F",
                "18",
                "003D381B070AF6B0CF05140900009F80",
                "00",
            ];
            for (f, text) in blocks.into_iter().enumerate() {
                sets.push(DataSet::text(full(1, 0, 96, 50, 0, f as u8), text));
            }
            sets
        }
    }
}
