//! Radio meters: a meter's description as plain data ([`RadioMeterSpec`]: manufacturer, id,
//! version, device type, radio mode, frame format, layers, security, interval) and the state
//! machine that sends it ([`RadioMeter`]): registers from a seeded household, the EN 13757-3
//! records of its kind (emitted by the wired simulator's [`RecordRepr`]), an access number that
//! increments with every telegram, the mode 7 message counter, and a transmission schedule with
//! the jitter real meters add.
//!
//! Schedule: the first telegram at a seeded moment within the first interval, then every
//! `interval_s` ± `interval_s/8` (uniform, seeded per telegram). Real meters vary their interval
//! so that two meters do not collide for ever (an ista ultego III sends every 20–34 s in walk-by
//! mode; a Zenner water meter every 20 s or 120 s, by configuration).

use chrono::{Datelike, Months, NaiveDate};
use meterlab_decoder::{Decimal, Key, Protocol, Reading, Value};

use super::ell::EllRepr;
use super::link::{FrameFormat, FrameRepr, LinkRepr};
use super::mode::RadioMode;
use super::security::SecurityMode;
use super::telegram::{TelegramError, TelegramRepr};
use super::tpl::{ConfigWord, TplHeader, TplRepr};
use crate::clock::{WallClock, NS_PER_S};
use crate::household::{Household, HouseholdConfig};
use crate::mbus::header::{manufacturer_letters, HeaderRepr, SecondaryAddress};
use crate::mbus::record::{Data, Function, IntWidth, RecordRepr, Vif};
use crate::seed::{Seed, SimRng};

/// The measurement behind a radio meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RadioKind {
    /// Cold water volume.
    Water,
    /// Warm water volume.
    WarmWater,
    /// Heat energy and the heating circuit's volume.
    Heat,
    /// Gas volume.
    Gas,
    /// Heat-cost allocator units and temperatures.
    HeatCostAllocator,
    /// Cold water volume, with minimum temperatures (a Kamstrup Multical 21).
    ColdWater,
}

/// Which transport header a meter sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TplKind {
    /// CI `0x7A`.
    Short,
    /// CI `0x72`, the meter's own address repeated.
    Long,
    /// CI `0x78` (no header; only behind an ELL `0x8D`).
    None,
}

/// A radio meter's description: plain data.
#[derive(Clone, Debug, PartialEq)]
pub struct RadioMeterSpec {
    /// A short name (`water`, `heat`, …).
    pub name: String,
    /// What it measures.
    pub kind: RadioKind,
    /// Link-layer address: manufacturer, identification number, version, device type.
    pub address: SecondaryAddress,
    /// Radio mode.
    pub mode: RadioMode,
    /// Frame format (B only in C mode).
    pub format: FrameFormat,
    /// Nominal transmission interval, s.
    pub interval_s: u64,
    /// Transport header.
    pub tpl: TplKind,
    /// Configuration-word flags (bits 15–13, 3–0) the meter sets.
    pub cw_flags: u16,
    /// ELL communication control, if the meter sends an ELL `0x8C` (or `0x8D` with
    /// [`SecurityMode::EllCtr`]).
    pub ell_cc: Option<u8>,
    /// Security mode.
    pub security: SecurityMode,
    /// The key (encrypted modes). Never printed.
    pub key: Option<Key>,
    /// Signal strength at the receiver, dBm.
    pub rssi_dbm: i16,
}

/// A frame on the air from one meter.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmission {
    /// The meter's name.
    pub meter: String,
    /// When the preamble starts, ns.
    pub start_ns: u64,
    /// Radio mode.
    pub mode: RadioMode,
    /// Frame format.
    pub format: FrameFormat,
    /// The link header (to rebuild the frame after a repeater).
    pub link: LinkRepr,
    /// The frame on the air, block CRCs included.
    pub frame: Vec<u8>,
    /// Where a repeater sets the hop bit: offset in the CRC-free frame and the bit.
    pub hop: Option<(usize, u8)>,
    /// Received signal strength, dBm.
    pub rssi_dbm: i16,
    /// What the frame encodes (empty if a reader with the meter's key cannot read it).
    pub truth: Vec<Reading>,
    /// Meter faults this frame carries.
    pub faults: Vec<MeterFault>,
}

impl Transmission {
    /// When the last chip ends, ns.
    pub fn end_ns(&self) -> u64 {
        self.start_ns
            .saturating_add(self.mode.air_time_ns(self.frame.len()))
    }
}

/// Faults of one meter, by telegram number (0 = its first telegram).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeterFaults {
    /// Every telegram encrypted with a key other than the configured one.
    pub wrong_key: bool,
    /// Telegrams replaced by the previous one, byte for byte.
    pub replay_at: Vec<u64>,
    /// Telegrams before which access number and message counter go back by 8.
    pub counter_back_at: Vec<u64>,
    /// Telegrams cut to half their length (L unchanged).
    pub truncate_at: Vec<u64>,
}

/// A meter fault in one telegram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeterFault {
    /// Encrypted with a key other than the one the reader has.
    WrongKey,
    /// An earlier telegram sent again byte for byte (its access number and counter repeat).
    Replay,
    /// The access number and message counter went back.
    CounterBack,
    /// The frame ends before the length its L field announces.
    Truncated,
}

/// What a meter measures: registers that never go backwards.
#[derive(Clone, Debug)]
struct Model {
    kind: RadioKind,
    clock: WallClock,
    seed: Seed,
    house: Household,
    start_water_l: u64,
    start_gas_l: u64,
    start: u64,
    /// Register at the start minus the register at each earlier month end (index 0 = 1 month).
    history_drop: Vec<u64>,
}

/// Months of history a meter keeps.
const HISTORY_MONTHS: usize = 15;
/// Seconds per slot of the instantaneous values.
const SLOT_S: u64 = 900;

impl Model {
    fn new(kind: RadioKind, clock: WallClock, seed: Seed) -> Self {
        let mut rng = seed.derive("wmbus/model").rng();
        let config = HouseholdConfig {
            start_import_wh: [1_000_000, 1_000_000],
            start_export_wh: [0, 0],
            solar_peak_w: 0,
            three_phase: false,
            start_gas_l: rng.range_inclusive(500_000, 5_000_000),
            start_water_l: rng.range_inclusive(20_000, 900_000),
        };
        let house = Household::new(config, clock, seed.derive("wmbus/household"));
        let start = match kind {
            RadioKind::Water | RadioKind::ColdWater => config.start_water_l,
            RadioKind::Gas => config.start_gas_l,
            RadioKind::WarmWater => rng.range_inclusive(5_000, 300_000),
            RadioKind::Heat => rng.range_inclusive(5_000_000, 80_000_000),
            RadioKind::HeatCostAllocator => rng.range_inclusive(100, 2_000),
        };
        let (lo, hi) = match kind {
            RadioKind::Water | RadioKind::ColdWater => (3_000, 9_000),
            RadioKind::WarmWater => (1_000, 3_000),
            RadioKind::Heat => (300_000, 1_500_000),
            RadioKind::Gas => (20_000, 150_000),
            RadioKind::HeatCostAllocator => (5, 60),
        };
        let mut total = 0;
        let history_drop = (0..HISTORY_MONTHS)
            .map(|_| {
                total += rng.range_inclusive(lo, hi);
                total
            })
            .collect();
        Model {
            kind,
            clock,
            seed,
            house,
            start_water_l: config.start_water_l,
            start_gas_l: config.start_gas_l,
            start,
            history_drop,
        }
    }

    /// The register now: litres (water, warm water, gas), Wh (heat), units (HCA).
    fn register(&mut self, now_ns: u64) -> u64 {
        self.house.advance(now_ns, |_| 1);
        let water = self.house.water_l().saturating_sub(self.start_water_l);
        let gas = self.house.gas_l().saturating_sub(self.start_gas_l);
        match self.kind {
            RadioKind::Water | RadioKind::ColdWater => self.house.water_l(),
            RadioKind::Gas => self.house.gas_l(),
            RadioKind::WarmWater => self.start + water * 35 / 100,
            RadioKind::Heat => self.start + gas * 9,
            RadioKind::HeatCostAllocator => self.start + gas / 40,
        }
    }

    /// The register at the end of the month `months` back (≥ 1).
    fn history(&self, months: usize) -> u64 {
        let drop = self
            .history_drop
            .get(months.saturating_sub(1))
            .copied()
            .unwrap_or(u64::MAX);
        self.start.saturating_sub(drop)
    }

    /// The last day of the month `months` before the start month.
    fn history_date(&self, months: usize) -> NaiveDate {
        let start = self.clock.local(0).local.date();
        let first = start.with_day(1).unwrap_or(start);
        first
            .checked_sub_months(Months::new(
                u32::try_from(months.saturating_sub(1)).unwrap_or(0),
            ))
            .and_then(|d| d.pred_opt())
            .unwrap_or(first)
    }

    fn slot(&self, now_ns: u64) -> SimRng {
        self.seed
            .derive("wmbus/slot")
            .index(now_ns / (SLOT_S * NS_PER_S))
            .rng()
    }
}

fn int(width: IntWidth, value: u64) -> Data {
    Data::Int {
        width,
        value: i64::try_from(value).unwrap_or(i64::MAX),
    }
}

fn bcd(digits: u8, value: u64) -> Data {
    Data::Bcd {
        digits,
        value: i64::try_from(value % 10u64.pow(u32::from(digits))).unwrap_or(0),
    }
}

const P: fn(u8) -> Vif = Vif::Primary;

/// The records of one telegram: (encrypted part, clear tail).
fn records(
    model: &mut Model,
    address: &SecondaryAddress,
    now_ns: u64,
) -> (Vec<RecordRepr>, Vec<RecordRepr>) {
    let reg = model.register(now_ns);
    let local = model.clock.local(now_ns);
    let now = Data::DateTime {
        at: local.local,
        summer: local.summer,
    };
    let set_date = Data::Date(model.history_date(1));
    let at_set = model.history(1);
    let mut slot = model.slot(now_ns);
    let r = RecordRepr::new;
    match model.kind {
        // Sensus iPerl (wmbusmeters iperl.xmq): volume, flow; plus the set-date value.
        RadioKind::Water => (
            vec![
                r(P(0x13), int(IntWidth::I32, reg)),
                r(P(0x3B), int(IntWidth::I16, slot.range_inclusive(0, 1_200))),
                r(P(0x6C), set_date).storage(1),
                r(P(0x13), int(IntWidth::I32, at_set)).storage(1),
            ],
            Vec::new(),
        ),
        // DWZ/Engelmann WaterstarM warm water: date-time, volume, error flags, set date and
        // value; model/version and parameter set in the clear.
        RadioKind::WarmWater => (
            vec![
                r(P(0x6D), now),
                r(P(0x13), int(IntWidth::I32, reg)),
                r(Vif::Fd(0x17), int(IntWidth::I8, 0)),
                r(P(0x6C), set_date).storage(1),
                r(P(0x13), int(IntWidth::I32, at_set)).storage(1),
            ],
            vec![
                r(Vif::Fd(0x0C), int(IntWidth::I24, 0x08)),
                r(Vif::Fd(0x0B), int(IntWidth::I16, 0x1100)),
            ],
        ),
        // Engelmann SensoStar: date-time, energy kWh, volume l, error flags, set date and
        // energy, 15 monthly energies (storage 2, 4, … 30); version and parameter set in the
        // clear.
        RadioKind::Heat => {
            let volume_l = reg / 58;
            let mut enc = vec![
                r(P(0x6D), now),
                r(P(0x06), int(IntWidth::I32, reg / 1000)),
                r(P(0x13), int(IntWidth::I32, volume_l)),
                r(Vif::Fd(0x17), int(IntWidth::I8, 0)),
                r(P(0x6C), set_date).storage(1),
                r(P(0x06), int(IntWidth::I32, at_set / 1000)).storage(1),
            ];
            for m in 1..=HISTORY_MONTHS {
                enc.push(
                    r(P(0x06), int(IntWidth::I32, model.history(m) / 1000)).storage(2 * m as u64),
                );
            }
            (
                enc,
                vec![
                    r(Vif::Fd(0x0C), int(IntWidth::I24, 0x0105)),
                    r(Vif::Fd(0x0B), int(IntWidth::I16, 0x1121)),
                ],
            )
        }
        // Apator Unismart gas: fabrication number, date-time, volume 0.01 m³ (VIFE 3A), the
        // target date-time and volume, supplier information, version text, parameter set.
        RadioKind::Gas => (
            vec![
                r(P(0x78), bcd(8, u64::from(address.id) + 3_000_000)),
                r(P(0x6D), now),
                r(P(0x14), bcd(8, reg / 10)).vife(&[0x3A]),
                r(
                    P(0x6D),
                    Data::DateTime {
                        at: model
                            .history_date(1)
                            .and_hms_opt(23, 59, 0)
                            .unwrap_or_default(),
                        summer: false,
                    },
                )
                .storage(1),
                r(P(0x14), bcd(8, at_set / 10)).vife(&[0x3A]).storage(1),
                r(Vif::Fd(0x67), int(IntWidth::I8, 0)),
                r(Vif::Fd(0x0C), Data::Text("  4GGU".into())),
                r(Vif::Fd(0x0B), int(IntWidth::I8, 2)),
            ],
            Vec::new(),
        ),
        // Kaden HCA: error flags, fabrication number as text, units (BCD, as the Zenner Caltos
        // of the corpus sends them), date-time, set date and units, radiator and room
        // temperature (0.1 °C).
        RadioKind::HeatCostAllocator => (
            vec![
                r(Vif::Fd(0x17), int(IntWidth::I16, 0)),
                r(P(0x78), Data::Text(format!("{:08}", address.id))),
                r(P(0x6E), bcd(6, reg)),
                r(P(0x6D), now),
                r(P(0x6C), set_date).storage(1),
                r(P(0x6E), bcd(6, at_set)).storage(1),
                r(P(0x5A), int(IntWidth::I16, slot.range_inclusive(250, 550))),
                r(P(0x66), int(IntWidth::I16, slot.range_inclusive(170, 240))),
            ],
            Vec::new(),
        ),
        // Kamstrup Multical 21 (corpus serial_aes-kamwater-ell8d): info codes (manufacturer
        // VIF FF 20), volume, target volume, minimum flow and external temperature (°C).
        RadioKind::ColdWater => (
            vec![
                r(P(0x7F), int(IntWidth::I16, 0)).vife(&[0x20]),
                r(P(0x13), int(IntWidth::I32, reg)),
                r(P(0x13), int(IntWidth::I32, at_set)).storage(1),
                r(P(0x5B), int(IntWidth::I8, slot.range_inclusive(8, 15)))
                    .function(Function::Minimum)
                    .storage(1),
                r(P(0x67), int(IntWidth::I8, slot.range_inclusive(2, 19)))
                    .function(Function::Minimum)
                    .storage(1),
            ],
            Vec::new(),
        ),
    }
}

/// The reading a telegram encodes, in the order of the reading format's wireless M-Bus section
/// (docs/reading-format.md): the meter id (the long header's, else the link's), the link header
/// (`link.manufacturer`, `link.id`, `link.version`, `link.device_type`), the ELL's access number
/// and the AFL's message counter where sent, the transport header (long: `header.manufacturer`,
/// `header.version`, `header.medium`; short and long: `header.access_number`, `header.status`),
/// then the records `#0`, `#1`, … (those in the clear after the encrypted blocks included).
fn truth<'r>(
    spec: &RadioMeterSpec,
    access_number: u8,
    status: u8,
    counter: u32,
    records: impl Iterator<Item = &'r RecordRepr>,
) -> Reading {
    let n = |id: &str, v: u64| Value::number(id, Decimal::from_int(i128::from(v)), None);
    let a = spec.address;
    let mut r = Reading::new(Protocol::Mbus);
    r.meter_id = Some(format!("{:08}", a.id));
    r.values.extend([
        Value::text(
            "link.manufacturer",
            manufacturer_letters(a.manufacturer & 0x7FFF),
        ),
        Value::text("link.id", format!("{:08}", a.id)),
        n("link.version", u64::from(a.version)),
        n("link.device_type", u64::from(a.medium)),
    ]);
    if spec.ell_cc.is_some() {
        r.values
            .push(n("ell.access_number", u64::from(access_number)));
    }
    if spec.security == SecurityMode::Mode7 {
        r.values.push(n("afl.message_counter", u64::from(counter)));
    }
    let header = HeaderRepr {
        address: a,
        access_number,
        status,
        signature: 0,
        order: crate::mbus::ByteOrder::LsbFirst,
    };
    match spec.tpl {
        TplKind::Long => r.values.extend(header.values()),
        // The short header has only the access number and the status.
        TplKind::Short => r.values.extend(header.values().into_iter().skip(3)),
        TplKind::None => {}
    }
    for (i, rec) in records.enumerate() {
        r.values.push(rec.value(i));
    }
    r
}

/// A radio meter sending on its schedule.
pub struct RadioMeter {
    spec: RadioMeterSpec,
    model: Model,
    faults: MeterFaults,
    rng: SimRng,
    wrong_key: Key,
    next_ns: u64,
    sent: u64,
    access_number: u8,
    counter: u32,
    last: Option<Transmission>,
}

impl RadioMeter {
    /// A meter of this description; every random choice comes from `seed`.
    pub fn new(spec: RadioMeterSpec, clock: WallClock, faults: MeterFaults, seed: Seed) -> Self {
        let mut rng = seed.derive("wmbus/meter").rng();
        let first = rng.below(spec.interval_s.max(1).saturating_mul(NS_PER_S));
        let access_number = rng.byte();
        let counter = rng.range_inclusive(1_000, 200_000) as u32;
        let mut wrong = [0u8; 16];
        for b in &mut wrong {
            *b = rng.byte();
        }
        RadioMeter {
            model: Model::new(spec.kind, clock, seed),
            spec,
            faults,
            rng,
            wrong_key: Key::new(wrong),
            next_ns: first,
            sent: 0,
            access_number,
            counter,
            last: None,
        }
    }

    /// Its description.
    pub fn spec(&self) -> &RadioMeterSpec {
        &self.spec
    }

    /// When its next telegram starts, ns.
    pub fn next_tx_ns(&self) -> u64 {
        self.next_ns
    }

    /// Moves its next telegram to `at_ns` (a scenario that wants two meters to collide, or a
    /// meter to start at once); the schedule goes on from there.
    pub fn set_next_tx_ns(&mut self, at_ns: u64) {
        self.next_ns = at_ns;
    }

    /// The access number of the next new telegram.
    pub fn access_number(&self) -> u8 {
        self.access_number
    }

    /// The mode 7 message counter of the next new telegram.
    pub fn message_counter(&self) -> u32 {
        self.counter
    }

    /// Sends the telegram due at [`next_tx_ns`](Self::next_tx_ns) and schedules the next.
    pub fn transmit(&mut self) -> Result<Transmission, TelegramError> {
        let now = self.next_ns;
        let n = self.sent;
        self.sent += 1;
        let interval = self.spec.interval_s.max(1).saturating_mul(NS_PER_S);
        let jitter = interval / 8;
        self.next_ns = now
            .saturating_add(interval - jitter)
            .saturating_add(self.rng.below(2 * jitter + 1));
        if self.faults.replay_at.contains(&n) {
            if let Some(last) = &self.last {
                let mut t = last.clone();
                t.start_ns = now;
                t.faults.push(MeterFault::Replay);
                return Ok(t);
            }
        }
        let mut faults = Vec::new();
        if self.faults.counter_back_at.contains(&n) {
            self.access_number = self.access_number.wrapping_sub(8);
            self.counter = self.counter.saturating_sub(8);
            faults.push(MeterFault::CounterBack);
        }
        let mut t = self.build(now)?;
        t.faults.extend(faults);
        if self.faults.truncate_at.contains(&n) {
            let keep = (t.frame.len() / 2).max(12);
            t.frame.truncate(keep);
            t.truth.clear();
            t.hop = None;
            t.faults.push(MeterFault::Truncated);
        }
        self.last = Some(t.clone());
        Ok(t)
    }

    fn build(&mut self, now: u64) -> Result<Transmission, TelegramError> {
        let spec = &self.spec;
        let acc = self.access_number;
        self.access_number = acc.wrapping_add(1);
        let counter = self.counter;
        self.counter = counter.wrapping_add(1);
        let (enc, tail) = records(&mut self.model, &spec.address, now);
        let encrypted = matches!(spec.security, SecurityMode::Mode5 | SecurityMode::Mode7);
        let mut data = Vec::new();
        if encrypted {
            data.extend_from_slice(&[0x2F, 0x2F]);
        }
        for r in &enc {
            r.emit(&mut data);
        }
        let mut clear = Vec::new();
        for r in &tail {
            r.emit(&mut clear);
        }
        if !encrypted {
            data.append(&mut clear);
        }
        let wrong_key = self.faults.wrong_key && spec.security != SecurityMode::None;
        let key = if wrong_key {
            Some(&self.wrong_key)
        } else {
            spec.key.as_ref()
        };
        let link = LinkRepr {
            control: super::link::C_SND_NR,
            address: spec.address,
        };
        let ell = spec.ell_cc.map(|cc| match spec.security {
            SecurityMode::EllCtr => EllRepr::Session {
                cc,
                access_number: acc,
                session: super::ell::SN_ENC_AES_CTR | (counter & 0x0FFF_FFFF),
            },
            _ => EllRepr::Short {
                cc,
                access_number: acc,
            },
        });
        let header = match spec.tpl {
            TplKind::Short => TplHeader::Short,
            TplKind::Long => TplHeader::Long(spec.address),
            TplKind::None => TplHeader::None,
        };
        let status = 0;
        let telegram = TelegramRepr {
            link,
            ell,
            tpl: TplRepr {
                header,
                access_number: acc,
                status,
                config: ConfigWord(spec.cw_flags),
                config_ext: None,
            },
            security: spec.security,
            key,
            counter,
            data: &data,
            plain_tail: &clear,
        };
        let mut payload = Vec::new();
        telegram.seal(&mut payload)?;
        let frame_repr = FrameRepr::new(spec.format, link, &payload)?;
        let mut frame = Vec::with_capacity(frame_repr.buffer_len());
        frame_repr.emit(&mut frame);
        // The hop bit: the ELL's CC (offset 11), else the CW's hop-counter bit (mode 5 and 0 with
        // a TPL header; CW low byte at offset 13).
        let hop = match (ell, spec.tpl) {
            (Some(_), _) => Some((11, super::ell::CC_HOP)),
            (None, TplKind::Short) if spec.security != SecurityMode::Mode7 => Some((13, 0x01)),
            (None, TplKind::Long) if spec.security != SecurityMode::Mode7 => Some((21, 0x01)),
            _ => None,
        };
        // A reader with the meter's key cannot read a telegram sealed with another key.
        let truth = if wrong_key {
            Vec::new()
        } else {
            vec![truth(
                spec,
                acc,
                status,
                counter,
                enc.iter().chain(tail.iter()),
            )]
        };
        let jitter_db = self.rng.below(5) as i16 - 2;
        Ok(Transmission {
            meter: spec.name.clone(),
            start_ns: now,
            mode: spec.mode,
            format: spec.format,
            link,
            frame,
            hop,
            rssi_dbm: spec.rssi_dbm.saturating_add(jitter_db),
            truth,
            faults: if wrong_key {
                vec![MeterFault::WrongKey]
            } else {
                Vec::new()
            },
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wmbus::catalog::CATALOG;
    use crate::wmbus::link::strip_crcs;
    use crate::wmbus::security::mode5_iv;
    use aes::cipher::{generic_array::GenericArray, BlockDecryptMut, KeyIvInit};
    use meterlab_decoder::Scalar;

    fn key() -> Key {
        Key::new([0x11; 16])
    }

    fn meter(i: usize, faults: MeterFaults) -> RadioMeter {
        let (_, make) = CATALOG[i];
        RadioMeter::new(
            make(12_345_670 + i as u32, key()),
            WallClock::default(),
            faults,
            Seed(7).index(i as u64),
        )
    }

    fn number(r: &Reading, id: &str) -> Option<i128> {
        match &r.value(id)?.value {
            Scalar::Number(d) => Some(d.mantissa()),
            Scalar::Text(_) => None,
        }
    }

    #[test]
    fn test_every_catalog_meter_sends_valid_frames() {
        for i in 0..CATALOG.len() {
            let mut m = meter(i, MeterFaults::default());
            let spec = m.spec().clone();
            assert!(spec.mode.allows(spec.format), "{}", spec.name);
            let interval = spec.interval_s * NS_PER_S;
            assert!(m.next_tx_ns() < interval);
            let mut last_start = None;
            for n in 0..20u8 {
                let acc = m.access_number();
                let t = m.transmit().expect("builds");
                let bare = strip_crcs(t.format, &t.frame).expect("CRCs are right");
                assert_eq!(usize::from(bare[0]) + 1, bare.len());
                assert_eq!(&bare[2..4], &spec.address.manufacturer.to_le_bytes());
                // ELL or TPL access number increments by one per telegram.
                let acc_at = if spec.ell_cc.is_some() { 12 } else { 11 };
                assert_eq!(bare[acc_at], acc, "{} telegram {n}", spec.name);
                assert_eq!(m.access_number(), acc.wrapping_add(1));
                let truth = &t.truth[0];
                assert_eq!(
                    truth.meter_id.as_deref(),
                    Some(format!("{:08}", spec.address.id).as_str())
                );
                let acc_id = if spec.ell_cc.is_some() {
                    "ell.access_number"
                } else {
                    "header.access_number"
                };
                assert_eq!(number(truth, acc_id), Some(i128::from(acc)));
                assert_eq!(
                    number(truth, "link.device_type"),
                    Some(i128::from(spec.address.medium))
                );
                if let Some(prev) = last_start {
                    let gap = t.start_ns - prev;
                    assert!(gap >= interval - interval / 8 && gap <= interval + interval / 8);
                }
                last_start = Some(t.start_ns);
            }
        }
    }

    #[test]
    fn test_mode5_payload_decrypts_to_the_records() {
        // The warm-water meter: test-side CBC decryption with the IV of M, A and ACC gives 2F2F
        // and the records; the clear tail is the version and parameter set.
        let mut m = meter(1, MeterFaults::default());
        let t = m.transmit().expect("builds");
        let bare = strip_crcs(t.format, &t.frame).expect("crc");
        let cw = u16::from_le_bytes([bare[13], bare[14]]);
        assert_eq!(cw & 0xFF0F, 0x2500);
        let blocks = usize::from((cw >> 4) & 0xF);
        let iv = mode5_iv(&t.link.m_a(), bare[11]);
        let mut data = bare[15..15 + 16 * blocks].to_vec();
        let mut dec = cbc::Decryptor::<aes::Aes128>::new(key().expose().into(), (&iv).into());
        for b in data.chunks_exact_mut(16) {
            dec.decrypt_block_mut(GenericArray::from_mut_slice(b));
        }
        assert_eq!(&data[..4], &[0x2F, 0x2F, 0x04, 0x6D]);
        assert_eq!(
            &bare[15 + 16 * blocks..],
            &[0x03, 0xFD, 0x0C, 0x08, 0x00, 0x00, 0x02, 0xFD, 0x0B, 0x00, 0x11]
        );
    }

    #[test]
    fn test_truth_follows_the_reading_format() {
        let ids = |i: usize| -> Vec<String> {
            let mut m = meter(i, MeterFaults::default());
            let t = m.transmit().expect("builds");
            t.truth[0]
                .values
                .iter()
                .take(9)
                .map(|v| v.id.to_string())
                .collect()
        };
        // Heat: ELL, AFL, short TPL, records.
        assert_eq!(
            ids(2),
            [
                "link.manufacturer",
                "link.id",
                "link.version",
                "link.device_type",
                "ell.access_number",
                "afl.message_counter",
                "header.access_number",
                "header.status",
                "#0"
            ]
        );
        // Cold water: ELL 8D, no TPL header.
        assert_eq!(ids(5)[4..6], ["ell.access_number", "#0"]);
        let mut m = meter(2, MeterFaults::default());
        let counter = m.message_counter();
        let t = m.transmit().expect("builds");
        assert_eq!(
            number(&t.truth[0], "afl.message_counter"),
            Some(i128::from(counter))
        );
        assert_eq!(
            t.truth[0]
                .value("link.manufacturer")
                .map(|v| v.value.clone()),
            Some(Scalar::Text("EFE".into()))
        );
    }

    #[test]
    fn test_every_record_is_valid() {
        for i in 0..CATALOG.len() {
            let mut m = meter(i, MeterFaults::default());
            for n in 0..5u64 {
                let now = n * 3_600 * NS_PER_S;
                let (enc, tail) = records(&mut m.model, &m.spec.address, now);
                for r in enc.iter().chain(tail.iter()) {
                    r.check().expect("a valid record");
                }
            }
        }
    }

    #[test]
    fn test_ell_ctr_payload_carries_its_crc() {
        // The cold-water meter: test-side AES-CTR with the ELL counter block gives the payload
        // CRC, then CI 78 and the records.
        use aes::cipher::{BlockEncrypt, KeyInit};
        let mut m = meter(5, MeterFaults::default());
        let t = m.transmit().expect("builds");
        let bare = strip_crcs(t.format, &t.frame).expect("crc");
        assert_eq!(bare[10], 0x8D);
        let cipher = aes::Aes128::new(key().expose().into());
        let mut counter = [0u8; 16];
        counter[..8].copy_from_slice(&bare[2..10]);
        counter[8] = bare[11];
        counter[9..13].copy_from_slice(&bare[13..17]);
        let mut plain = Vec::new();
        for (i, chunk) in bare[17..].chunks(16).enumerate() {
            counter[15] = i as u8;
            let mut ks = GenericArray::clone_from_slice(&counter);
            cipher.encrypt_block(&mut ks);
            plain.extend(chunk.iter().zip(ks.iter()).map(|(c, k)| c ^ k));
        }
        let crc = crate::crc::CRC_EN13757.checksum(&plain[2..]);
        assert_eq!(&plain[..2], &crc.to_le_bytes());
        assert_eq!(&plain[2..6], &[0x78, 0x02, 0xFF, 0x20]);
    }

    #[test]
    fn test_registers_never_go_backwards() {
        for i in 0..CATALOG.len() {
            let mut m = meter(i, MeterFaults::default());
            let mut last = 0;
            for _ in 0..30 {
                let t = m.transmit().expect("builds");
                // Record #0 or #1 is the register in every profile.
                let truth = &t.truth[0];
                let reg = ["#0", "#1", "#2"]
                    .iter()
                    .filter_map(|id| number(truth, id))
                    .max()
                    .expect("a register");
                assert!(reg >= last, "{}", m.spec().name);
                last = reg;
            }
        }
    }

    #[test]
    fn test_meter_faults() {
        let faults = MeterFaults {
            wrong_key: false,
            replay_at: vec![2],
            counter_back_at: vec![4],
            truncate_at: vec![6],
        };
        let mut m = meter(2, faults);
        let sent: Vec<Transmission> = (0..7).map(|_| m.transmit().expect("builds")).collect();
        assert_eq!(sent[2].frame, sent[1].frame);
        assert_eq!(sent[2].truth, sent[1].truth);
        assert_eq!(sent[2].faults, vec![MeterFault::Replay]);
        // Heat meter: ELL access number at offset 12 (with CRCs in format B it is the same).
        let acc = |t: &Transmission| t.frame[12];
        assert_eq!(acc(&sent[3]), acc(&sent[1]).wrapping_add(1));
        assert_eq!(acc(&sent[4]), acc(&sent[3]).wrapping_sub(7));
        assert_eq!(sent[4].faults, vec![MeterFault::CounterBack]);
        assert!(strip_crcs(sent[6].format, &sent[6].frame).is_err());
        assert!(sent[6].truth.is_empty());
        let mut wrong = meter(
            3,
            MeterFaults {
                wrong_key: true,
                ..MeterFaults::default()
            },
        );
        let mut right = meter(3, MeterFaults::default());
        let (w, r) = (wrong.transmit().expect("b"), right.transmit().expect("b"));
        assert_eq!(w.frame[..13], r.frame[..13]);
        assert_ne!(w.frame, r.frame);
        assert!(w.truth.is_empty());
        assert_eq!(w.faults, vec![MeterFault::WrongKey]);
    }
}
