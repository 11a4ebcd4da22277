//! The push lists the modelled meters send, and the readings they encode.
//!
//! A [`Layout`] is a list as one meter family composes it (operator interface specifications:
//! Netz NÖ "Kundenschnittstelle" for EVN, the TINETZ/KSM West interface spec, Aidon "HAN
//! Interface" v11A, Kaifa "KFM_001", Kamstrup HAN-NVE, and the L+G E450 list of the corpus),
//! element by element: which OBIS code, whether the code is sent or implied, the value's A-XDR
//! type and resolution, whether a scaler_unit follows, and whether the element is wrapped in its
//! own structure. [`build`] turns a [`Snapshot`] of the meter's model into the A-XDR body and,
//! side by side, the values of the reading (`docs/reading-format.md`, "DLMS/COSEM push"); the
//! truth is never parsed back from the bytes.

use meterlab_decoder::units::dlms_unit_name;
use meterlab_decoder::{Decimal, Obis, Value};

use super::apdu::{ClockStyle, DateTimeRepr};
use super::axdr::Data;
use crate::clock::LocalTime;

/// DLMS unit codes used by the lists (Blue Book class 3 enumeration).
pub mod unit {
    /// W.
    pub const W: u8 = 27;
    /// var.
    pub const VAR: u8 = 29;
    /// Wh.
    pub const WH: u8 = 30;
    /// varh.
    pub const VARH: u8 = 32;
    /// A.
    pub const A: u8 = 33;
    /// V.
    pub const V: u8 = 35;
    /// No unit (a count, a power factor).
    pub const NONE: u8 = 255;
}

/// What a meter measures at a push, in the model's resolutions: energy Wh, power W and var,
/// voltage 0.1 V, current mA, power factor ‰.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The meter's local time.
    pub time: LocalTime,
    /// Active energy imported, tariff 1 and 2, Wh.
    pub import_wh: [u64; 2],
    /// Active energy exported, tariff 1 and 2, Wh.
    pub export_wh: [u64; 2],
    /// Reactive energy imported (Q+), tariff 1 and 2, varh.
    pub reactive_import_varh: [u64; 2],
    /// Reactive energy exported (Q−), tariff 1 and 2, varh.
    pub reactive_export_varh: [u64; 2],
    /// Active power imported, W.
    pub import_w: u64,
    /// Active power exported, W.
    pub export_w: u64,
    /// Reactive power imported, var.
    pub reactive_import_var: u64,
    /// Reactive power exported, var.
    pub reactive_export_var: u64,
    /// Active power imported per phase, W.
    pub phase_import_w: [u64; 3],
    /// Active power exported per phase, W.
    pub phase_export_w: [u64; 3],
    /// Reactive power imported per phase, var.
    pub phase_reactive_import_var: [u64; 3],
    /// Reactive power exported per phase, var.
    pub phase_reactive_export_var: [u64; 3],
    /// Active energy imported per phase, Wh.
    pub phase_import_wh: [u64; 3],
    /// Active energy exported per phase, Wh.
    pub phase_export_wh: [u64; 3],
    /// Voltage per phase, 0.1 V.
    pub voltage_dv: [u32; 3],
    /// Current per phase, mA.
    pub current_ma: [u32; 3],
    /// Power factor, ‰.
    pub power_factor_milli: i32,
    /// Power factor per phase, ‰.
    pub phase_power_factor_milli: [i32; 3],
}

/// A measured quantity a list element carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Active energy imported, both tariffs (+A).
    ImportWh,
    /// Active energy imported in a tariff (1 or 2).
    ImportTariffWh(usize),
    /// Active energy exported (−A).
    ExportWh,
    /// Active energy exported in a tariff.
    ExportTariffWh(usize),
    /// Reactive energy imported (+R).
    ReactiveImportVarh,
    /// Reactive energy imported in a tariff.
    ReactiveImportTariffVarh(usize),
    /// Reactive energy exported (−R).
    ReactiveExportVarh,
    /// Reactive energy exported in a tariff.
    ReactiveExportTariffVarh(usize),
    /// Active power imported (+P).
    ImportW,
    /// Active power exported (−P).
    ExportW,
    /// Reactive power imported (+Q).
    ReactiveImportVar,
    /// Reactive power exported (−Q).
    ReactiveExportVar,
    /// Active power imported on a phase (0-based).
    PhaseImportW(usize),
    /// Active power exported on a phase.
    PhaseExportW(usize),
    /// Reactive power imported on a phase.
    PhaseReactiveImportVar(usize),
    /// Reactive power exported on a phase.
    PhaseReactiveExportVar(usize),
    /// Active energy imported on a phase.
    PhaseImportWh(usize),
    /// Active energy exported on a phase.
    PhaseExportWh(usize),
    /// Voltage of a phase.
    Voltage(usize),
    /// Current of a phase.
    Current(usize),
    /// Power factor.
    PowerFactor,
    /// Power factor of a phase.
    PhasePowerFactor(usize),
    /// A number the meter always sends (with resolution 0).
    Constant(i64),
}

impl Quantity {
    /// The value in the model's resolution, and that resolution (power of ten).
    pub fn base(self, s: &Snapshot) -> (i128, i32) {
        let t = |k: usize| k.clamp(1, 2) - 1;
        let p = |k: usize| k % 3;
        let e = |v: u64| (i128::from(v), 0);
        match self {
            Quantity::ImportWh => e(s.import_wh[0] + s.import_wh[1]),
            Quantity::ImportTariffWh(k) => e(s.import_wh[t(k)]),
            Quantity::ExportWh => e(s.export_wh[0] + s.export_wh[1]),
            Quantity::ExportTariffWh(k) => e(s.export_wh[t(k)]),
            Quantity::ReactiveImportVarh => {
                e(s.reactive_import_varh[0] + s.reactive_import_varh[1])
            }
            Quantity::ReactiveImportTariffVarh(k) => e(s.reactive_import_varh[t(k)]),
            Quantity::ReactiveExportVarh => {
                e(s.reactive_export_varh[0] + s.reactive_export_varh[1])
            }
            Quantity::ReactiveExportTariffVarh(k) => e(s.reactive_export_varh[t(k)]),
            Quantity::ImportW => e(s.import_w),
            Quantity::ExportW => e(s.export_w),
            Quantity::ReactiveImportVar => e(s.reactive_import_var),
            Quantity::ReactiveExportVar => e(s.reactive_export_var),
            Quantity::PhaseImportW(k) => e(s.phase_import_w[p(k)]),
            Quantity::PhaseExportW(k) => e(s.phase_export_w[p(k)]),
            Quantity::PhaseReactiveImportVar(k) => e(s.phase_reactive_import_var[p(k)]),
            Quantity::PhaseReactiveExportVar(k) => e(s.phase_reactive_export_var[p(k)]),
            Quantity::PhaseImportWh(k) => e(s.phase_import_wh[p(k)]),
            Quantity::PhaseExportWh(k) => e(s.phase_export_wh[p(k)]),
            Quantity::Voltage(k) => (i128::from(s.voltage_dv[p(k)]), -1),
            Quantity::Current(k) => (i128::from(s.current_ma[p(k)]), -3),
            Quantity::PowerFactor => (i128::from(s.power_factor_milli), -3),
            Quantity::PhasePowerFactor(k) => (i128::from(s.phase_power_factor_milli[p(k)]), -3),
            Quantity::Constant(v) => (i128::from(v), 0),
        }
    }

    /// The value in units of `10^resolution`, rounded half away from zero.
    pub fn raw(self, s: &Snapshot, resolution: i8) -> i128 {
        let (v, base) = self.base(s);
        let shift = i32::from(resolution) - base;
        if shift <= 0 {
            v.saturating_mul(10i128.pow(shift.unsigned_abs()))
        } else {
            let d = 10i128.pow(shift.unsigned_abs());
            let half = d / 2;
            if v >= 0 {
                (v + half) / d
            } else {
                -((-v + half) / d)
            }
        }
    }
}

/// The A-XDR integer type a register's value is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntType {
    /// long (`10`, i16).
    I16,
    /// long-unsigned (`12`, u16).
    U16,
    /// double-long (`05`, i32).
    I32,
    /// double-long-unsigned (`06`, u32).
    U32,
    /// enum (`16`, u8): a state such as a disconnect control's control_state.
    Enum,
}

impl IntType {
    /// `v` clamped to the type's range, and its encoding.
    pub fn encode(self, v: i128) -> (i128, Data) {
        match self {
            IntType::I16 => {
                let x = v.clamp(i128::from(i16::MIN), i128::from(i16::MAX)) as i16;
                (i128::from(x), Data::Long(x))
            }
            IntType::U16 => {
                let x = v.clamp(0, i128::from(u16::MAX)) as u16;
                (i128::from(x), Data::LongUnsigned(x))
            }
            IntType::I32 => {
                let x = v.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
                (i128::from(x), Data::DoubleLong(x))
            }
            IntType::U32 => {
                let x = v.clamp(0, i128::from(u32::MAX)) as u32;
                (i128::from(x), Data::DoubleLongUnsigned(x))
            }
            IntType::Enum => {
                let x = v.clamp(0, i128::from(u8::MAX)) as u8;
                (i128::from(x), Data::Enum(x))
            }
        }
    }
}

/// How a text is typed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringType {
    /// octet-string (`09`).
    Octet,
    /// visible-string (`0A`).
    Visible,
}

/// Where a text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextSource {
    /// A fixed text (list id, meter type).
    Fixed(&'static str),
    /// The meter's id ([`Identity::meter_id`]).
    MeterId,
    /// The logical device name ([`Identity::logical_device_name`]).
    LogicalDeviceName,
}

/// What an element carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// The meter's clock as an octet-string date-time. Not a value of the reading.
    Clock,
    /// A number.
    Register {
        /// What it measures.
        quantity: Quantity,
        /// How it is typed.
        int: IntType,
        /// Power of ten of one unit of the sent integer.
        resolution: i8,
        /// The unit code when a scaler_unit structure (scaler = `resolution`) is sent.
        unit: Option<u8>,
        /// For a value sent without scaler_unit: the unit code its list's published
        /// description gives it (scaler = `resolution`), so that the truth is the physical
        /// value a receiver with that description reads (Kaifa `KFM_001`, `Kamstrup_V0001`).
        /// `None`: the truth is the raw integer, as no description says more.
        listed: Option<u8>,
    },
    /// A text.
    Text {
        /// What text.
        source: TextSource,
        /// How it is typed.
        string: StringType,
    },
}

/// How the reading names an element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// Its OBIS code is sent with it.
    Sent(Obis),
    /// No code is sent; the layout catalogue gives it this id.
    Catalogue(Obis),
    /// No code is sent and it is no value of the reading (EVN's meter number, which becomes the
    /// reading's `meter_id`; a clock).
    Unnamed,
    /// No code is sent with it; the push_object_list sent first in a
    /// [`Container::SelfDescribing`] list names it.
    Described(Capture),
}

/// A capture object of a push setup's push_object_list (Blue Book class 40, attribute 2):
/// which attribute of which object an element is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Interface class id (1 Data, 3 Register, 8 Clock, 70 Disconnect control, …).
    pub class: u16,
    /// Logical name.
    pub obis: Obis,
    /// Attribute index (2 the value).
    pub attribute: i8,
}

/// Class ids of the Blue Book the lists use.
pub mod class {
    /// Data.
    pub const DATA: u16 = 1;
    /// Register.
    pub const REGISTER: u16 = 3;
    /// Extended register.
    pub const EXTENDED_REGISTER: u16 = 4;
    /// Demand register.
    pub const DEMAND_REGISTER: u16 = 5;
    /// Clock.
    pub const CLOCK: u16 = 8;
    /// Push setup.
    pub const PUSH_SETUP: u16 = 40;
    /// Disconnect control.
    pub const DISCONNECT_CONTROL: u16 = 70;
}

impl Capture {
    /// The push_object_list entry `{class, logical name, attribute, data index 0}`.
    pub fn to_data(self) -> Data {
        Data::Structure(vec![
            Data::LongUnsigned(self.class),
            Data::obis(self.obis),
            Data::Integer(self.attribute),
            Data::LongUnsigned(0),
        ])
    }

    /// The attribute holding this register's scaler_unit (3 for Register and Extended
    /// register, 4 for Demand register).
    pub fn scaler_unit(self) -> Capture {
        let attribute = if self.class == class::DEMAND_REGISTER {
            4
        } else {
            3
        };
        Capture { attribute, ..self }
    }
}

/// One element of a push list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    /// How it is named.
    pub naming: Naming,
    /// Whether it is wrapped in its own structure (`02 02` / `02 03`) rather than laid out
    /// flat in the list.
    pub nested: bool,
    /// What it carries.
    pub kind: ItemKind,
}

/// The outer container of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// `01 n`.
    Array,
    /// `02 n`.
    Structure,
    /// `02 n` whose first element is the push setup's push_object_list (this push setup's
    /// logical name, attribute 2, first): every other element is [`Naming::Described`].
    SelfDescribing {
        /// The push setup's logical name (`0-b:25.9.0`).
        push_setup: Obis,
    },
}

/// A push list as a meter family sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Short name (for listings and tests).
    pub name: &'static str,
    /// The container.
    pub container: Container,
    /// The elements in order.
    pub items: &'static [Item],
}

/// The texts that identify one meter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// Meter number / id (`0-0:96.1.0`, or EVN's unnamed last element).
    pub meter_id: String,
    /// COSEM logical device name (`0-0:42.0.0`).
    pub logical_device_name: String,
}

/// A list built: its A-XDR body and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushList {
    /// The notification body.
    pub body: Data,
    /// The values of the reading, in list order.
    pub values: Vec<Value>,
    /// An unnamed meter number (EVN), a candidate for the reading's `meter_id`.
    pub meter_number: Option<String>,
    /// The time of a clock element, as the reading writes it.
    pub clock: Option<String>,
}

/// A text as the reading shows an octet-string: as text when every byte is printable ASCII,
/// else as upper-case hex.
pub fn octet_string_text(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| (0x20..0x7F).contains(b)) {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }
}

/// Builds the list and its values from the model.
pub fn build(layout: &Layout, s: &Snapshot, id: &Identity, style: ClockStyle) -> PushList {
    let mut elements = Vec::new();
    let mut values = Vec::new();
    let mut meter_number = None;
    let mut clock = None;
    // The push_object_list of a self-describing list, the push setup itself first.
    let mut captures: Vec<Capture> = Vec::new();
    if let Container::SelfDescribing { push_setup } = layout.container {
        captures.push(Capture {
            class: class::PUSH_SETUP,
            obis: push_setup,
            attribute: 2,
        });
    }
    for item in layout.items {
        let (value, scaler_unit): (Data, Option<Data>) = match item.kind {
            ItemKind::Clock => {
                clock = Some(style.rfc3339(&s.time));
                (DateTimeRepr::from_local(&s.time, style).to_data(), None)
            }
            ItemKind::Register {
                quantity,
                int,
                resolution,
                unit,
                listed,
            } => {
                let (raw, data) = int.encode(quantity.raw(s, resolution));
                let truth_unit = unit.or(listed);
                let scaler = if truth_unit.is_some() {
                    i32::from(resolution)
                } else {
                    0
                };
                if let Some(obis) = value_id(item.naming) {
                    let mut v = Value::number(
                        obis.to_string(),
                        Decimal::new(raw, scaler),
                        truth_unit.and_then(dlms_unit_name),
                    );
                    v.attribute = attribute_of(item.naming);
                    values.push(v);
                }
                (data, unit.map(|u| Data::scaler_unit(resolution, u)))
            }
            ItemKind::Text { source, string } => {
                let text = match source {
                    TextSource::Fixed(t) => t,
                    TextSource::MeterId => id.meter_id.as_str(),
                    TextSource::LogicalDeviceName => id.logical_device_name.as_str(),
                };
                let bytes = text.as_bytes().to_vec();
                let shown = match string {
                    StringType::Octet => octet_string_text(&bytes),
                    StringType::Visible => text.to_string(),
                };
                match value_id(item.naming) {
                    Some(obis) => {
                        let mut v = Value::text(obis.to_string(), shown);
                        v.attribute = attribute_of(item.naming);
                        values.push(v);
                    }
                    None => meter_number = Some(shown),
                }
                let data = match string {
                    StringType::Octet => Data::OctetString(bytes),
                    StringType::Visible => Data::VisibleString(bytes),
                };
                (data, None)
            }
        };
        if let Naming::Described(capture) = item.naming {
            // Value and scaler_unit are two captured attributes, two elements.
            captures.push(capture);
            elements.push(value);
            if let Some(su) = scaler_unit {
                captures.push(capture.scaler_unit());
                elements.push(su);
            }
            continue;
        }
        let mut parts = Vec::with_capacity(3);
        if let Naming::Sent(obis) = item.naming {
            parts.push(Data::obis(obis));
        }
        parts.push(value);
        parts.extend(scaler_unit);
        if item.nested {
            elements.push(Data::Structure(parts));
        } else {
            elements.extend(parts);
        }
    }
    let body = match layout.container {
        Container::Array => Data::Array(elements),
        Container::Structure => Data::Structure(elements),
        Container::SelfDescribing { .. } => {
            let list = Data::Array(captures.into_iter().map(Capture::to_data).collect());
            elements.insert(0, list);
            Data::Structure(elements)
        }
    };
    PushList {
        body,
        values,
        meter_number,
        clock,
    }
}

fn value_id(naming: Naming) -> Option<Obis> {
    match naming {
        Naming::Sent(o) | Naming::Catalogue(o) => Some(o),
        Naming::Described(c) => Some(c.obis),
        Naming::Unnamed => None,
    }
}

/// The attribute a value names in the reading: only one other than 2 of a described element.
fn attribute_of(naming: Naming) -> Option<i8> {
    match naming {
        Naming::Described(c) if c.attribute != 2 => Some(c.attribute),
        _ => None,
    }
}

const fn o(a: u8, b: u8, c: u8, d: u8, e: u8) -> Obis {
    Obis::new(a, b, c, d, e, 255)
}

/// The clock object `0-0:1.0.0`.
pub const CLOCK: Obis = o(0, 0, 1, 0, 0);
/// Meter number / device id `0-0:96.1.0`.
pub const METER_ID: Obis = o(0, 0, 96, 1, 0);
/// Device type `0-0:96.1.7`.
pub const METER_TYPE: Obis = o(0, 0, 96, 1, 7);
/// COSEM logical device name `0-0:42.0.0`.
pub const LOGICAL_DEVICE_NAME: Obis = o(0, 0, 42, 0, 0);
/// Where the reading format puts a list-id text sent without a code (`0-0:0.0.0`).
pub const LIST_ID: Obis = o(0, 0, 0, 0, 0);

const fn item(naming: Naming, nested: bool, kind: ItemKind) -> Item {
    Item {
        naming,
        nested,
        kind,
    }
}

const fn register(q: Quantity, int: IntType, resolution: i8, unit: Option<u8>) -> ItemKind {
    ItemKind::Register {
        quantity: q,
        int,
        resolution,
        unit,
        listed: None,
    }
}

/// A register sent without scaler_unit whose list description gives it `unit` at `resolution`.
const fn listed(q: Quantity, int: IntType, resolution: i8, unit: u8) -> ItemKind {
    ItemKind::Register {
        quantity: q,
        int,
        resolution,
        unit: None,
        listed: Some(unit),
    }
}

/// `OBIS, value, {scaler, unit}` laid out flat (EVN).
const fn flat_su(obis: Obis, q: Quantity, int: IntType, res: i8, unit: u8) -> Item {
    item(Naming::Sent(obis), false, register(q, int, res, Some(unit)))
}

/// `{OBIS, value, {scaler, unit}}` (KSM West, Aidon).
const fn nested_su(obis: Obis, q: Quantity, int: IntType, res: i8, unit: u8) -> Item {
    item(Naming::Sent(obis), true, register(q, int, res, Some(unit)))
}

/// `OBIS, value` laid out flat, no scaler_unit (Kamstrup, L+G E450).
const fn flat_raw(obis: Obis, q: Quantity, int: IntType, res: i8) -> Item {
    item(Naming::Sent(obis), false, register(q, int, res, None))
}

/// `OBIS, value` laid out flat, no scaler_unit, scaled by the list's description (Kamstrup).
const fn flat_listed(obis: Obis, q: Quantity, int: IntType, res: i8, unit: u8) -> Item {
    item(Naming::Sent(obis), false, listed(q, int, res, unit))
}

/// A bare value without code, named and scaled by the catalogue (Kaifa `KFM_001`).
const fn bare(id: Obis, q: Quantity, res: i8, unit: u8) -> Item {
    item(
        Naming::Catalogue(id),
        false,
        listed(q, IntType::U32, res, unit),
    )
}

const CLOCK_BARE: Item = item(Naming::Unnamed, false, ItemKind::Clock);

const fn text(naming: Naming, nested: bool, source: TextSource, string: StringType) -> Item {
    item(naming, nested, ItemKind::Text { source, string })
}

use IntType::{I16, U16, U32};
use Quantity as Q;

const fn evn_items(pf: IntType) -> [Item; 13] {
    [
        CLOCK_BARE,
        flat_su(o(1, 0, 1, 8, 0), Q::ImportWh, U32, 0, unit::WH),
        flat_su(o(1, 0, 2, 8, 0), Q::ExportWh, U32, 0, unit::WH),
        flat_su(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0, unit::W),
        flat_su(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0, unit::W),
        flat_su(o(1, 0, 32, 7, 0), Q::Voltage(0), U16, -1, unit::V),
        flat_su(o(1, 0, 52, 7, 0), Q::Voltage(1), U16, -1, unit::V),
        flat_su(o(1, 0, 72, 7, 0), Q::Voltage(2), U16, -1, unit::V),
        flat_su(o(1, 0, 31, 7, 0), Q::Current(0), U16, -2, unit::A),
        flat_su(o(1, 0, 51, 7, 0), Q::Current(1), U16, -2, unit::A),
        flat_su(o(1, 0, 71, 7, 0), Q::Current(2), U16, -2, unit::A),
        flat_su(o(1, 0, 13, 7, 0), Q::PowerFactor, pf, -3, unit::NONE),
        // Sent without code; the layout catalogue names it 0-0:96.1.0, as the corpus does.
        text(
            Naming::Catalogue(METER_ID),
            false,
            TextSource::MeterId,
            StringType::Octet,
        ),
    ]
}

const EVN_KAIFA_ITEMS: [Item; 13] = evn_items(U16);
const EVN_SAGEMCOM_ITEMS: [Item; 13] = evn_items(I16);

/// EVN / Netz NÖ, Kaifa MA309: flat structure(35): clock, 11 × (OBIS, value, scaler_unit), the
/// meter number without code (Netz NÖ customer-interface brochure p.5).
pub const EVN_KAIFA: Layout = Layout {
    name: "evn",
    container: Container::Structure,
    items: &EVN_KAIFA_ITEMS,
};

/// EVN / Netz NÖ, Sagemcom T210-D: as [`EVN_KAIFA`], the power factor a long (i16).
pub const EVN_SAGEMCOM: Layout = Layout {
    name: "evn-sagemcom",
    container: Container::Structure,
    items: &EVN_SAGEMCOM_ITEMS,
};

const KSM_HEAD: [Item; 3] = [
    item(Naming::Sent(CLOCK), false, ItemKind::Clock),
    text(
        Naming::Sent(METER_ID),
        true,
        TextSource::MeterId,
        StringType::Octet,
    ),
    text(
        Naming::Sent(LOGICAL_DEVICE_NAME),
        true,
        TextSource::LogicalDeviceName,
        StringType::Octet,
    ),
];

const KSM_3PH_ITEMS: [Item; 15] = [
    KSM_HEAD[0],
    KSM_HEAD[1],
    KSM_HEAD[2],
    nested_su(o(1, 0, 32, 7, 0), Q::Voltage(0), U16, -1, unit::V),
    nested_su(o(1, 0, 52, 7, 0), Q::Voltage(1), U16, -1, unit::V),
    nested_su(o(1, 0, 72, 7, 0), Q::Voltage(2), U16, -1, unit::V),
    nested_su(o(1, 0, 31, 7, 0), Q::Current(0), U16, -2, unit::A),
    nested_su(o(1, 0, 51, 7, 0), Q::Current(1), U16, -2, unit::A),
    nested_su(o(1, 0, 71, 7, 0), Q::Current(2), U16, -2, unit::A),
    nested_su(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0, unit::W),
    nested_su(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0, unit::W),
    nested_su(o(1, 0, 1, 8, 0), Q::ImportWh, U32, 0, unit::WH),
    nested_su(o(1, 0, 2, 8, 0), Q::ExportWh, U32, 0, unit::WH),
    nested_su(o(1, 0, 3, 8, 0), Q::ReactiveImportVarh, U32, 0, unit::VARH),
    nested_su(o(1, 0, 4, 8, 0), Q::ReactiveExportVarh, U32, 0, unit::VARH),
];

const KSM_1PH_ITEMS: [Item; 11] = [
    KSM_HEAD[0],
    KSM_HEAD[1],
    KSM_HEAD[2],
    nested_su(o(1, 0, 32, 7, 0), Q::Voltage(0), U16, -1, unit::V),
    nested_su(o(1, 0, 31, 7, 0), Q::Current(0), U16, -2, unit::A),
    nested_su(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0, unit::W),
    nested_su(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0, unit::W),
    nested_su(o(1, 0, 1, 8, 0), Q::ImportWh, U32, 0, unit::WH),
    nested_su(o(1, 0, 2, 8, 0), Q::ExportWh, U32, 0, unit::WH),
    nested_su(o(1, 0, 3, 8, 0), Q::ReactiveImportVarh, U32, 0, unit::VARH),
    nested_su(o(1, 0, 4, 8, 0), Q::ReactiveExportVarh, U32, 0, unit::VARH),
];

/// KSM West (TINETZ, VKW, Salzburg Netz, IKB) Kaifa MA309, 3-phase: structure(16) with the
/// clock as `0-0:1.0.0, date-time` then `{OBIS, text}` and `{OBIS, value, scaler_unit}`
/// structures (TINETZ Kundenschnittstelle spec).
pub const KSM_3PH: Layout = Layout {
    name: "ksm-3ph",
    container: Container::Structure,
    items: &KSM_3PH_ITEMS,
};

/// KSM West Kaifa MA309, 1-phase: structure(12).
pub const KSM_1PH: Layout = Layout {
    name: "ksm-1ph",
    container: Container::Structure,
    items: &KSM_1PH_ITEMS,
};

const AIDON_3PH_ITEMS: [Item; 27] = [
    item(Naming::Sent(CLOCK), true, ItemKind::Clock),
    nested_su(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0, unit::W),
    nested_su(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0, unit::W),
    nested_su(o(1, 0, 3, 7, 0), Q::ReactiveImportVar, U32, 0, unit::VAR),
    nested_su(o(1, 0, 4, 7, 0), Q::ReactiveExportVar, U32, 0, unit::VAR),
    nested_su(o(1, 0, 31, 7, 0), Q::Current(0), I16, -1, unit::A),
    nested_su(o(1, 0, 51, 7, 0), Q::Current(1), I16, -1, unit::A),
    nested_su(o(1, 0, 71, 7, 0), Q::Current(2), I16, -1, unit::A),
    nested_su(o(1, 0, 32, 7, 0), Q::Voltage(0), U16, -1, unit::V),
    nested_su(o(1, 0, 52, 7, 0), Q::Voltage(1), U16, -1, unit::V),
    nested_su(o(1, 0, 72, 7, 0), Q::Voltage(2), U16, -1, unit::V),
    nested_su(o(1, 0, 21, 7, 0), Q::PhaseImportW(0), U32, 0, unit::W),
    nested_su(o(1, 0, 22, 7, 0), Q::PhaseExportW(0), U32, 0, unit::W),
    nested_su(
        o(1, 0, 23, 7, 0),
        Q::PhaseReactiveImportVar(0),
        U32,
        0,
        unit::VAR,
    ),
    nested_su(
        o(1, 0, 24, 7, 0),
        Q::PhaseReactiveExportVar(0),
        U32,
        0,
        unit::VAR,
    ),
    nested_su(o(1, 0, 41, 7, 0), Q::PhaseImportW(1), U32, 0, unit::W),
    nested_su(o(1, 0, 42, 7, 0), Q::PhaseExportW(1), U32, 0, unit::W),
    nested_su(
        o(1, 0, 43, 7, 0),
        Q::PhaseReactiveImportVar(1),
        U32,
        0,
        unit::VAR,
    ),
    nested_su(
        o(1, 0, 44, 7, 0),
        Q::PhaseReactiveExportVar(1),
        U32,
        0,
        unit::VAR,
    ),
    nested_su(o(1, 0, 61, 7, 0), Q::PhaseImportW(2), U32, 0, unit::W),
    nested_su(o(1, 0, 62, 7, 0), Q::PhaseExportW(2), U32, 0, unit::W),
    nested_su(
        o(1, 0, 63, 7, 0),
        Q::PhaseReactiveImportVar(2),
        U32,
        0,
        unit::VAR,
    ),
    nested_su(
        o(1, 0, 64, 7, 0),
        Q::PhaseReactiveExportVar(2),
        U32,
        0,
        unit::VAR,
    ),
    nested_su(o(1, 0, 1, 8, 0), Q::ImportWh, U32, 0, unit::WH),
    nested_su(o(1, 0, 2, 8, 0), Q::ExportWh, U32, 0, unit::WH),
    nested_su(o(1, 0, 3, 8, 0), Q::ReactiveImportVarh, U32, 0, unit::VARH),
    nested_su(o(1, 0, 4, 8, 0), Q::ReactiveExportVarh, U32, 0, unit::VARH),
];

const AIDON_1PH_ITEMS: [Item; 9] = [
    text(
        Naming::Sent(o(1, 1, 0, 2, 129)),
        true,
        TextSource::Fixed("AIDON_V0001"),
        StringType::Visible,
    ),
    text(
        Naming::Sent(METER_ID),
        true,
        TextSource::MeterId,
        StringType::Visible,
    ),
    text(
        Naming::Sent(METER_TYPE),
        true,
        TextSource::Fixed("6515"),
        StringType::Visible,
    ),
    nested_su(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0, unit::W),
    nested_su(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0, unit::W),
    nested_su(o(1, 0, 3, 7, 0), Q::ReactiveImportVar, U32, 0, unit::VAR),
    nested_su(o(1, 0, 4, 7, 0), Q::ReactiveExportVar, U32, 0, unit::VAR),
    nested_su(o(1, 0, 31, 7, 0), Q::Current(0), I16, -1, unit::A),
    nested_su(o(1, 0, 32, 7, 0), Q::Voltage(0), U16, -1, unit::V),
];

/// Aidon HAN, 3-phase: array(27) of `{OBIS, value, scaler_unit}` opened by `{0-0:1.0.0,
/// date-time}`; current i16 in 0.1 A, voltage u16 in 0.1 V, per-phase P and Q, energies.
pub const AIDON_3PH: Layout = Layout {
    name: "aidon-3ph",
    container: Container::Array,
    items: &AIDON_3PH_ITEMS,
};

/// Aidon 6515 HAN, 1-phase: array(9): list version `AIDON_V0001`, meter id, meter type,
/// P±, Q±, current, voltage.
pub const AIDON_1PH: Layout = Layout {
    name: "aidon-1ph",
    container: Container::Array,
    items: &AIDON_1PH_ITEMS,
};

const fn kamstrup(c: u8, d: u8) -> Obis {
    Obis::new(1, 1, c, d, 0, 255)
}

const KAMSTRUP_ITEMS: [Item; 33] = [
    text(
        Naming::Catalogue(LIST_ID),
        false,
        TextSource::Fixed("Kamstrup_V0001"),
        StringType::Visible,
    ),
    flat_listed(kamstrup(1, 8), Q::ImportWh, U32, 0, unit::WH),
    flat_listed(kamstrup(2, 8), Q::ExportWh, U32, 0, unit::WH),
    flat_listed(kamstrup(3, 8), Q::ReactiveImportVarh, U32, 0, unit::VARH),
    flat_listed(kamstrup(4, 8), Q::ReactiveExportVarh, U32, 0, unit::VARH),
    flat_raw(
        Obis::new(1, 1, 0, 0, 1, 255),
        Q::Constant(12_343_400),
        U32,
        0,
    ),
    flat_listed(kamstrup(1, 7), Q::ImportW, U32, 0, unit::W),
    flat_listed(kamstrup(2, 7), Q::ExportW, U32, 0, unit::W),
    flat_listed(kamstrup(3, 7), Q::ReactiveImportVar, U32, 0, unit::VAR),
    flat_listed(kamstrup(4, 7), Q::ReactiveExportVar, U32, 0, unit::VAR),
    item(
        Naming::Sent(Obis::new(0, 1, 1, 0, 0, 255)),
        false,
        ItemKind::Clock,
    ),
    flat_listed(kamstrup(32, 7), Q::Voltage(0), U16, 0, unit::V),
    flat_listed(kamstrup(52, 7), Q::Voltage(1), U16, 0, unit::V),
    flat_listed(kamstrup(72, 7), Q::Voltage(2), U16, 0, unit::V),
    flat_listed(kamstrup(31, 7), Q::Current(0), U32, -2, unit::A),
    flat_listed(kamstrup(51, 7), Q::Current(1), U32, -2, unit::A),
    flat_listed(kamstrup(71, 7), Q::Current(2), U32, -2, unit::A),
    flat_listed(kamstrup(21, 7), Q::PhaseImportW(0), U32, 0, unit::W),
    flat_listed(kamstrup(41, 7), Q::PhaseImportW(1), U32, 0, unit::W),
    flat_listed(kamstrup(61, 7), Q::PhaseImportW(2), U32, 0, unit::W),
    flat_listed(kamstrup(33, 7), Q::PhasePowerFactor(0), U16, -2, unit::NONE),
    flat_listed(kamstrup(53, 7), Q::PhasePowerFactor(1), U16, -2, unit::NONE),
    flat_listed(kamstrup(73, 7), Q::PhasePowerFactor(2), U16, -2, unit::NONE),
    flat_listed(kamstrup(13, 7), Q::PowerFactor, U16, -2, unit::NONE),
    flat_listed(kamstrup(22, 7), Q::PhaseExportW(0), U32, 0, unit::W),
    flat_listed(kamstrup(42, 7), Q::PhaseExportW(1), U32, 0, unit::W),
    flat_listed(kamstrup(62, 7), Q::PhaseExportW(2), U32, 0, unit::W),
    flat_listed(kamstrup(22, 8), Q::PhaseExportWh(0), U32, 0, unit::WH),
    flat_listed(kamstrup(42, 8), Q::PhaseExportWh(1), U32, 0, unit::WH),
    flat_listed(kamstrup(62, 8), Q::PhaseExportWh(2), U32, 0, unit::WH),
    flat_listed(kamstrup(21, 8), Q::PhaseImportWh(0), U32, 0, unit::WH),
    flat_listed(kamstrup(41, 8), Q::PhaseImportWh(1), U32, 0, unit::WH),
    flat_listed(kamstrup(61, 8), Q::PhaseImportWh(2), U32, 0, unit::WH),
];

/// Kamstrup Omnipower HAN: flat structure(65): the list version `Kamstrup_V0001` without a
/// code, then (OBIS, value) pairs on channel B = 1 without scaler_unit (V in 1 V, A in 0.01 A,
/// power factor in 0.01), the clock as `0-1:1.0.0, date-time`.
pub const KAMSTRUP: Layout = Layout {
    name: "kamstrup",
    container: Container::Structure,
    items: &KAMSTRUP_ITEMS,
};

const KAIFA_LIST2_ITEMS: [Item; 13] = [
    text(
        Naming::Catalogue(LIST_ID),
        false,
        TextSource::Fixed("KFM_001"),
        StringType::Octet,
    ),
    text(
        Naming::Catalogue(METER_ID),
        false,
        TextSource::MeterId,
        StringType::Octet,
    ),
    text(
        Naming::Catalogue(METER_TYPE),
        false,
        TextSource::Fixed("MA304H3E"),
        StringType::Octet,
    ),
    bare(o(1, 0, 1, 7, 0), Q::ImportW, 0, unit::W),
    bare(o(1, 0, 2, 7, 0), Q::ExportW, 0, unit::W),
    bare(o(1, 0, 3, 7, 0), Q::ReactiveImportVar, 0, unit::VAR),
    bare(o(1, 0, 4, 7, 0), Q::ReactiveExportVar, 0, unit::VAR),
    bare(o(1, 0, 31, 7, 0), Q::Current(0), -3, unit::A),
    bare(o(1, 0, 51, 7, 0), Q::Current(1), -3, unit::A),
    bare(o(1, 0, 71, 7, 0), Q::Current(2), -3, unit::A),
    bare(o(1, 0, 32, 7, 0), Q::Voltage(0), -1, unit::V),
    bare(o(1, 0, 52, 7, 0), Q::Voltage(1), -1, unit::V),
    bare(o(1, 0, 72, 7, 0), Q::Voltage(2), -1, unit::V),
];

const KAIFA_LIST3_ITEMS: [Item; 18] = [
    KAIFA_LIST2_ITEMS[0],
    KAIFA_LIST2_ITEMS[1],
    KAIFA_LIST2_ITEMS[2],
    KAIFA_LIST2_ITEMS[3],
    KAIFA_LIST2_ITEMS[4],
    KAIFA_LIST2_ITEMS[5],
    KAIFA_LIST2_ITEMS[6],
    KAIFA_LIST2_ITEMS[7],
    KAIFA_LIST2_ITEMS[8],
    KAIFA_LIST2_ITEMS[9],
    KAIFA_LIST2_ITEMS[10],
    KAIFA_LIST2_ITEMS[11],
    KAIFA_LIST2_ITEMS[12],
    CLOCK_BARE,
    bare(o(1, 0, 1, 8, 0), Q::ImportWh, 0, unit::WH),
    bare(o(1, 0, 2, 8, 0), Q::ExportWh, 0, unit::WH),
    bare(o(1, 0, 3, 8, 0), Q::ReactiveImportVarh, 0, unit::VARH),
    bare(o(1, 0, 4, 8, 0), Q::ReactiveExportVarh, 0, unit::VARH),
];

/// Kaifa MA304H3E (Norway/Sweden) list 2, every 10 s: structure(13) of bare values in the
/// KFM_001 order (list id, meter id, type, P+, P−, Q+, Q−, I1–3 in mA, U1–3 in 0.1 V), all
/// u32 without scaler_unit. The catalogue ids are Kaifa's KFM_001 OBIS list; the list id is
/// `0-0:0.0.0` as the reading format names list ids sent without a code.
pub const KAIFA_LIST2: Layout = Layout {
    name: "kaifa-list2",
    container: Container::Structure,
    items: &KAIFA_LIST2_ITEMS,
};

/// Kaifa MA304H3E list 3, hourly: list 2, then the clock and +A, −A, +R, −R: structure(18).
pub const KAIFA_LIST3: Layout = Layout {
    name: "kaifa-list3",
    container: Container::Structure,
    items: &KAIFA_LIST3_ITEMS,
};

const fn lgz(c: u8, e: u8) -> Obis {
    Obis::new(1, 0, c, 8, e, 255)
}

const E450_ITEMS: [Item; 17] = [
    CLOCK_BARE,
    flat_raw(lgz(1, 0), Q::ImportWh, U32, 0),
    flat_raw(lgz(1, 1), Q::ImportTariffWh(1), U32, 0),
    flat_raw(lgz(1, 2), Q::ImportTariffWh(2), U32, 0),
    flat_raw(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0),
    flat_raw(lgz(2, 0), Q::ExportWh, U32, 0),
    flat_raw(lgz(2, 1), Q::ExportTariffWh(1), U32, 0),
    flat_raw(lgz(2, 2), Q::ExportTariffWh(2), U32, 0),
    flat_raw(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0),
    flat_raw(lgz(3, 0), Q::ReactiveImportVarh, U32, 0),
    flat_raw(lgz(3, 1), Q::ReactiveImportTariffVarh(1), U32, 0),
    flat_raw(lgz(3, 2), Q::ReactiveImportTariffVarh(2), U32, 0),
    flat_raw(o(1, 0, 3, 7, 0), Q::ReactiveImportVar, U32, 0),
    flat_raw(lgz(4, 0), Q::ReactiveExportVarh, U32, 0),
    flat_raw(lgz(4, 1), Q::ReactiveExportTariffVarh(1), U32, 0),
    flat_raw(lgz(4, 2), Q::ReactiveExportTariffVarh(2), U32, 0),
    flat_raw(o(1, 0, 4, 7, 0), Q::ReactiveExportVar, U32, 0),
];

/// Landis+Gyr E450 (Austria): flat structure(33): the clock without a code, then 16 (OBIS,
/// u32) pairs without scaler_unit: +A, +A T1, T2, +P, −A…, +R…, +Q, −R…, −Q.
pub const E450: Layout = Layout {
    name: "e450",
    container: Container::Structure,
    items: &E450_ITEMS,
};

/// A register described by the push_object_list: class 3, attribute 2, sent without
/// scaler_unit (its truth is the raw integer).
const fn described(obis: Obis, q: Quantity, int: IntType, res: i8) -> Item {
    item(
        Naming::Described(Capture {
            class: class::REGISTER,
            obis,
            attribute: 2,
        }),
        false,
        register(q, int, res, None),
    )
}

/// A register described by the push_object_list whose scaler_unit (attribute 3) is captured
/// too, as the element after its value.
const fn described_su(obis: Obis, q: Quantity, int: IntType, res: i8, unit: u8) -> Item {
    item(
        Naming::Described(Capture {
            class: class::REGISTER,
            obis,
            attribute: 2,
        }),
        false,
        register(q, int, res, Some(unit)),
    )
}

/// A Data object's (class 1) value.
const fn described_data(obis: Obis, kind: ItemKind) -> Item {
    item(
        Naming::Described(Capture {
            class: class::DATA,
            obis,
            attribute: 2,
        }),
        false,
        kind,
    )
}

const CLOCK_DESCRIBED: Item = item(
    Naming::Described(Capture {
        class: class::CLOCK,
        obis: CLOCK,
        attribute: 2,
    }),
    false,
    ItemKind::Clock,
);

/// Disconnect control `0-0:96.3.10`, attribute 3 (control_state, enum): 1 = connected.
const CONTROL_STATE: Item = item(
    Naming::Described(Capture {
        class: class::DISCONNECT_CONTROL,
        obis: o(0, 0, 96, 3, 10),
        attribute: 3,
    }),
    false,
    register(Q::Constant(1), IntType::Enum, 0, None),
);

const CYPRUS_INSTANT_ITEMS: [Item; 20] = [
    CLOCK_DESCRIBED,
    described(o(1, 0, 21, 7, 0), Q::PhaseImportW(0), U32, 0),
    described(o(1, 0, 41, 7, 0), Q::PhaseImportW(1), U32, 0),
    described(o(1, 0, 61, 7, 0), Q::PhaseImportW(2), U32, 0),
    described(o(1, 0, 22, 7, 0), Q::PhaseExportW(0), U32, 0),
    described(o(1, 0, 42, 7, 0), Q::PhaseExportW(1), U32, 0),
    described(o(1, 0, 62, 7, 0), Q::PhaseExportW(2), U32, 0),
    described(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0),
    described(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0),
    described(o(1, 0, 3, 7, 0), Q::ReactiveImportVar, U32, 0),
    described(o(1, 0, 4, 7, 0), Q::ReactiveExportVar, U32, 0),
    described(o(1, 0, 13, 7, 0), Q::PowerFactor, U16, -3),
    described(o(1, 0, 31, 7, 0), Q::Current(0), U16, -2),
    described(o(1, 0, 51, 7, 0), Q::Current(1), U16, -2),
    described(o(1, 0, 71, 7, 0), Q::Current(2), U16, -2),
    described(o(1, 0, 32, 7, 0), Q::Voltage(0), U16, 0),
    described(o(1, 0, 52, 7, 0), Q::Voltage(1), U16, 0),
    described(o(1, 0, 72, 7, 0), Q::Voltage(2), U16, 0),
    described(o(1, 0, 14, 7, 0), Q::Constant(50), U16, 0),
    described_data(o(0, 0, 96, 3, 0), register(Q::Constant(11), U32, 0, None)),
];

/// Landis+Gyr E450 (Cyprus), instantaneous push (push setup `0-8:25.9.0`): structure(21)
/// whose first element is the push_object_list, then the clock and 19 values without
/// scaler_unit: P± per phase, P±, Q±, power factor (‰), currents (0.01 A), voltages (V),
/// frequency, `0-0:96.3.0` (esphome-libs/dlms_parser `hdlc_landis_gyr_e450_cyprus.log`).
pub const CYPRUS_INSTANT: Layout = Layout {
    name: "e450-cyprus-instant",
    container: Container::SelfDescribing {
        push_setup: Obis::new(0, 8, 25, 9, 0, 255),
    },
    items: &CYPRUS_INSTANT_ITEMS,
};

const CYPRUS_ENERGY_ITEMS: [Item; 12] = [
    // The capture's logical device name; it does not follow from the meter number.
    described_data(
        LOGICAL_DEVICE_NAME,
        ItemKind::Text {
            source: TextSource::Fixed("LGZ1030790258946"),
            string: StringType::Octet,
        },
    ),
    described_data(
        o(0, 0, 96, 1, 1),
        ItemKind::Text {
            source: TextSource::MeterId,
            string: StringType::Octet,
        },
    ),
    described_data(
        o(0, 0, 96, 14, 0),
        ItemKind::Text {
            source: TextSource::Fixed("RATE2"),
            string: StringType::Octet,
        },
    ),
    described(lgz(1, 1), Q::ImportTariffWh(1), U32, 0),
    described(lgz(1, 2), Q::ImportTariffWh(2), U32, 0),
    described(lgz(2, 1), Q::ExportTariffWh(1), U32, 0),
    described(lgz(2, 2), Q::ExportTariffWh(2), U32, 0),
    described(lgz(1, 0), Q::ImportWh, U32, 0),
    described(lgz(2, 0), Q::ExportWh, U32, 0),
    described(lgz(3, 0), Q::ReactiveImportVarh, U32, 0),
    described(lgz(4, 0), Q::ReactiveExportVarh, U32, 0),
    CONTROL_STATE,
];

/// Landis+Gyr E450 (Cyprus), energy push (push setup `0-9:25.9.0`): structure(13): the
/// push_object_list, logical device name, meter number `0-0:96.1.1`, tariff name, +A/−A per
/// tariff and total, ±R, and the disconnect control's control_state (attribute 3)
/// (esphome-libs/dlms_parser `hdlc_landis_gyr_e450_cyprus_2.log`).
pub const CYPRUS_ENERGY: Layout = Layout {
    name: "e450-cyprus-energy",
    container: Container::SelfDescribing {
        push_setup: Obis::new(0, 9, 25, 9, 0, 255),
    },
    items: &CYPRUS_ENERGY_ITEMS,
};

const DESCRIBED_SCALED_ITEMS: [Item; 14] = [
    CLOCK_DESCRIBED,
    described_data(
        o(0, 0, 96, 1, 1),
        ItemKind::Text {
            source: TextSource::MeterId,
            string: StringType::Octet,
        },
    ),
    described_su(lgz(1, 0), Q::ImportWh, U32, 0, unit::WH),
    described_su(lgz(2, 0), Q::ExportWh, U32, 0, unit::WH),
    described_su(lgz(3, 0), Q::ReactiveImportVarh, U32, 0, unit::VARH),
    described_su(lgz(4, 0), Q::ReactiveExportVarh, U32, 0, unit::VARH),
    described_su(o(1, 0, 1, 7, 0), Q::ImportW, U32, 0, unit::W),
    described_su(o(1, 0, 2, 7, 0), Q::ExportW, U32, 0, unit::W),
    described_su(o(1, 0, 31, 7, 0), Q::Current(0), U16, -2, unit::A),
    described_su(o(1, 0, 51, 7, 0), Q::Current(1), U16, -2, unit::A),
    described_su(o(1, 0, 71, 7, 0), Q::Current(2), U16, -2, unit::A),
    described_su(o(1, 0, 32, 7, 0), Q::Voltage(0), U16, -1, unit::V),
    described_su(o(1, 0, 52, 7, 0), Q::Voltage(1), U16, -1, unit::V),
    described_su(o(1, 0, 72, 7, 0), Q::Voltage(2), U16, -1, unit::V),
];

/// A self-describing push whose push setup captures each register's scaler_unit (attribute 3)
/// as well as its value (attribute 2), as the Blue Book's push_object_list allows: structure(
/// 27): the list, the clock, the meter number, then (value, scaler_unit) per register.
pub const DESCRIBED_SCALED: Layout = Layout {
    name: "described-scaled",
    container: Container::SelfDescribing {
        push_setup: Obis::new(0, 1, 25, 9, 0, 255),
    },
    items: &DESCRIBED_SCALED_ITEMS,
};

#[cfg(test)]
mod test {
    use chrono::{TimeZone, Utc};
    use meterlab_decoder::Scalar;

    use super::*;

    /// The Salzburg Netz plaintext (esphome-libs/dlms_parser tests/dumps/raw_salzburg_netz.log),
    /// list part after the date-time: KSM West 3-phase layout.
    const SALZBURG_BODY: &str = "021009060000010000FF090C07E60B0C0610360000FFC400020209060000600100FF090E314B464D303230303233343830340202090600002A0000FF09104B464D31323030323030323334383034020309060100200700FF1208F402020FFF1623020309060100340700FF12090C02020FFF1623020309060100480700FF12090A02020FFF16230203090601001F0700FF1200A502020FFE1621020309060100330700FF1200AD02020FFE1621020309060100470700FF12002502020FFE1621020309060100010700FF06000002CA02020F00161B020309060100020700FF060000000002020F00161B020309060100010800FF060014416002020F00161E020309060100020800FF060000000002020F00161E020309060100030800FF06000012D202020F001620020309060100040800FF060005BE6002020F001620";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn snapshot(utc: chrono::DateTime<Utc>) -> Snapshot {
        Snapshot {
            time: LocalTime::from_utc(utc),
            import_wh: [0; 2],
            export_wh: [0; 2],
            reactive_import_varh: [0; 2],
            reactive_export_varh: [0; 2],
            import_w: 0,
            export_w: 0,
            reactive_import_var: 0,
            reactive_export_var: 0,
            phase_import_w: [0; 3],
            phase_export_w: [0; 3],
            phase_reactive_import_var: [0; 3],
            phase_reactive_export_var: [0; 3],
            phase_import_wh: [0; 3],
            phase_export_wh: [0; 3],
            voltage_dv: [0; 3],
            current_ma: [0; 3],
            power_factor_milli: 0,
            phase_power_factor_milli: [0; 3],
        }
    }

    #[test]
    fn test_ksm_salzburg_body() {
        let mut s = snapshot(
            Utc.with_ymd_and_hms(2022, 11, 12, 15, 54, 0)
                .single()
                .expect("date"),
        );
        s.voltage_dv = [2292, 2316, 2314];
        s.current_ma = [1650, 1730, 370];
        s.import_w = 714;
        s.import_wh = [1_327_456, 0];
        s.reactive_import_varh = [4818, 0];
        s.reactive_export_varh = [376_416, 0];
        let id = Identity {
            meter_id: "1KFM0200234804".into(),
            logical_device_name: "KFM1200200234804".into(),
        };
        let list = build(&KSM_3PH, &s, &id, ClockStyle::Deviation);
        assert_eq!(list.body.to_bytes(), hex(SALZBURG_BODY));
        assert_eq!(list.clock.as_deref(), Some("2022-11-12T16:54:00+01:00"));
        assert_eq!(list.meter_number, None);
        let ids: Vec<&str> = list.values.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "0-0:96.1.0*255",
                "0-0:42.0.0*255",
                "1-0:32.7.0*255",
                "1-0:52.7.0*255",
                "1-0:72.7.0*255",
                "1-0:31.7.0*255",
                "1-0:51.7.0*255",
                "1-0:71.7.0*255",
                "1-0:1.7.0*255",
                "1-0:2.7.0*255",
                "1-0:1.8.0*255",
                "1-0:2.8.0*255",
                "1-0:3.8.0*255",
                "1-0:4.8.0*255",
            ]
        );
        let v = &list.values[2];
        assert_eq!(v.value, Scalar::Number(Decimal::new(2292, -1)));
        assert_eq!(v.unit.as_deref(), Some("V"));
        assert_eq!(list.values[5].value, Scalar::Number(Decimal::new(165, -2)));
        assert_eq!(list.values[0].value, Scalar::Text("1KFM0200234804".into()));
    }

    /// The body of the L+G E450 Cyprus instantaneous push (esphome-libs/dlms_parser
    /// tests/dumps/hdlc_landis_gyr_e450_cyprus.log, the GBT blocks joined, after the
    /// data-notification header).
    const CYPRUS_BODY: &str = "02150115020412002809060008190900FF0F02120000020412000809060000010000FF0F02120000020412000309060100150700FF0F02120000020412000309060100290700FF0F021200000204120003090601003D0700FF0F02120000020412000309060100160700FF0F021200000204120003090601002A0700FF0F021200000204120003090601003E0700FF0F02120000020412000309060100010700FF0F02120000020412000309060100020700FF0F02120000020412000309060100030700FF0F02120000020412000309060100040700FF0F021200000204120003090601000D0700FF0F021200000204120003090601001F0700FF0F02120000020412000309060100330700FF0F02120000020412000309060100470700FF0F02120000020412000309060100200700FF0F02120000020412000309060100340700FF0F02120000020412000309060100480700FF0F021200000204120003090601000E0700FF0F02120000020412000109060000600300FF0F02120000090C07EA060801122E04FF80008006000000490600000022060000005006000000000600000000060000000006000000BB06000000000600000000060000026E12011E12008212004A1200591200EE1200EF1200EE120032060000000B";

    #[test]
    fn test_cyprus_self_describing_body() {
        // 18:46:04 CEST.
        let mut s = snapshot(
            Utc.with_ymd_and_hms(2026, 6, 8, 16, 46, 4)
                .single()
                .expect("date"),
        );
        s.phase_import_w = [73, 34, 80];
        s.import_w = 187;
        s.reactive_export_var = 622;
        s.power_factor_milli = 286;
        s.current_ma = [1300, 740, 890];
        s.voltage_dv = [2380, 2390, 2380];
        let list = build(
            &CYPRUS_INSTANT,
            &s,
            &Identity::default(),
            ClockStyle::Unspecified { status: 0x80 },
        );
        assert_eq!(list.body.to_bytes(), hex(CYPRUS_BODY));
        assert_eq!(list.clock.as_deref(), Some("2026-06-08T18:46:04"));
        assert_eq!(list.values.len(), 19);
        assert_eq!(list.values[0].id, "1-0:21.7.0*255");
        assert_eq!(list.values[0].unit, None);
        assert!(list.values.iter().all(|v| v.attribute.is_none()));
    }

    #[test]
    fn test_described_scaler_unit_and_attribute() {
        let mut s = snapshot(Utc::now());
        s.import_wh = [1000, 234];
        s.voltage_dv = [2301, 0, 0];
        let id = Identity {
            meter_id: "1538088".into(),
            logical_device_name: String::new(),
        };
        let list = build(&DESCRIBED_SCALED, &s, &id, ClockStyle::Deviation);
        let Data::Structure(elements) = &list.body else {
            panic!("{:?}", list.body)
        };
        let Data::Array(captures) = &elements[0] else {
            panic!("{:?}", elements[0])
        };
        assert_eq!(captures.len(), elements.len());
        // Entry 3 is 1-0:1.8.0 attribute 2, entry 4 its scaler_unit, attribute 3.
        assert_eq!(
            captures[4],
            Capture {
                class: class::REGISTER,
                obis: lgz(1, 0),
                attribute: 3
            }
            .to_data()
        );
        assert_eq!(elements[3], Data::DoubleLongUnsigned(1234));
        assert_eq!(elements[4], Data::scaler_unit(0, unit::WH));
        let v = |id: &str| list.values.iter().find(|v| v.id == id).expect(id);
        assert_eq!(v("1-0:1.8.0*255").unit.as_deref(), Some("Wh"));
        assert_eq!(
            v("1-0:32.7.0*255").value,
            Scalar::Number(Decimal::new(2301, -1))
        );
        let energy = build(&CYPRUS_ENERGY, &s, &id, ClockStyle::Deviation);
        let control = v_of(&energy.values, "0-0:96.3.10*255");
        assert_eq!(control.attribute, Some(3));
        assert_eq!(control.value, Scalar::Number(Decimal::from_int(1)));
    }

    fn v_of<'a>(values: &'a [Value], id: &str) -> &'a Value {
        values.iter().find(|v| v.id == id).expect(id)
    }

    #[test]
    fn test_rounding_and_clamping() {
        let mut s = snapshot(Utc::now());
        s.current_ma = [1655, 1654, 0];
        assert_eq!(Q::Current(0).raw(&s, -2), 166);
        assert_eq!(Q::Current(1).raw(&s, -2), 165);
        assert_eq!(Q::Current(0).raw(&s, -4), 16550);
        s.power_factor_milli = -955;
        assert_eq!(Q::PowerFactor.raw(&s, -2), -96);
        assert_eq!(IntType::U16.encode(70_000).0, 65_535);
        assert_eq!(IntType::I16.encode(-40_000).1, Data::Long(i16::MIN));
    }

    #[test]
    fn test_octet_string_text() {
        assert_eq!(octet_string_text(b"KFM_001"), "KFM_001");
        assert_eq!(octet_string_text(&[0x01, 0xAB]), "01AB");
    }

    #[test]
    fn test_element_counts() {
        let s = snapshot(Utc::now());
        let id = Identity::default();
        for (layout, n) in [
            (EVN_KAIFA, 35),
            (EVN_SAGEMCOM, 35),
            (KSM_3PH, 16),
            (KSM_1PH, 12),
            (AIDON_3PH, 27),
            (AIDON_1PH, 9),
            (KAMSTRUP, 65),
            (KAIFA_LIST2, 13),
            (KAIFA_LIST3, 18),
            (E450, 33),
            (CYPRUS_INSTANT, 21),
            (CYPRUS_ENERGY, 13),
            (DESCRIBED_SCALED, 27),
        ] {
            match build(&layout, &s, &id, ClockStyle::Deviation).body {
                Data::Structure(items) | Data::Array(items) => {
                    assert_eq!(items.len(), n, "{}", layout.name)
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
