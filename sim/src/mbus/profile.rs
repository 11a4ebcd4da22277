//! The built-in wired M-Bus slave profiles.
//!
//! Each profile is a meter class (heat, water, electricity, gas) with its own record layout,
//! chosen so that together they carry every coding masters and decoders trip over (see
//! [`model`](super::model) for the records of each telegram). The layouts are meterlab's own,
//! modelled on the corpus meters (Kamstrup Multical 601, EMU Professional, Itron, Elster), not
//! copies of one. The manufacturer id defaults to `MLB` (no real meter's layout is claimed);
//! `manufacturer:` sets another.

use crate::spec::{text, MeterSpec};

/// The options of an M-Bus slave profile (beside the common ones of every `MeterSpec`), as a
/// scenario writes them in its `meter:` mapping (or in a `slaves:` entry). Another protocol's
/// option is an unknown field.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbusOptions {
    /// Primary address 0-250 (default 0, unconfigured). Not `address`, which is the
    /// IEC 62056-21 device address text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_address: Option<u8>,
    /// Identification number (secondary address), 8 digits (default: seeded).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub secondary_id: Option<String>,
    /// Manufacturer id, three capital letters (default `MLB`).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub manufacturer: Option<String>,
    /// Time from the request's last character to the answer, ms (default 20, at least 22 bit
    /// times; the standard's window is 11 bit times to 330 bit times + 50 ms, other values make
    /// a non-conforming slave).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_delay_ms: Option<u64>,
    /// Telegrams of one readout cycle (multi-telegram answer, DIF 1F), 1-10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegrams: Option<u8>,
    /// CI of the answers: 0x72 (long header, default), 0x76 (MSB first), 0x78 (no header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<u8>,
    /// Baud rate at the start (300-38400, default 2400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
    /// Three-phase (true) or single-phase meter (`mbus-electricity` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_phase: Option<bool>,
    /// Peak solar production in W (`mbus-electricity` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solar_w: Option<u32>,
}

/// The options of [`BUS_PROFILE`]: only its slaves (the common `start` is the default of the
/// slaves without one).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbusBusOptions {
    /// The slaves, each a spec of an M-Bus slave profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slaves: Option<Vec<MeterSpec>>,
}

/// Character format of every wired M-Bus slave (EN 13757-2: 8 data bits, even parity).
pub const FORMAT: &str = "8E1";
/// Default baud rate.
pub const DEFAULT_BAUD: u32 = 2400;
/// The profile of a bus of several slaves ([`MbusBus`](super::MbusBus)).
pub const BUS_PROFILE: &str = "mbus-bus";
/// What [`BUS_PROFILE`] models, for listings.
pub const BUS_DESCRIPTION: &str = "several M-Bus slaves on one bus (`slaves:`, each an M-Bus profile with its own addresses); overlapping replies collide";
/// Default manufacturer id of the built-in profiles.
pub const DEFAULT_MANUFACTURER: &str = "MLB";

/// The meter class, which decides the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Heat meter.
    Heat,
    /// Cold water meter.
    Water,
    /// Electricity meter.
    Electricity,
    /// Gas meter.
    Gas,
}

/// A built-in M-Bus slave profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MbusProfile {
    /// Profile name.
    pub name: &'static str,
    /// What it models, for listings.
    pub description: &'static str,
    /// The meter class.
    pub kind: Kind,
    /// Version byte of the header.
    pub version: u8,
    /// Device type (medium) byte of the header.
    pub medium: u8,
    /// Telegrams of one readout cycle (multi-telegram answers), by default.
    pub telegrams: u8,
}

/// The built-in profiles.
pub const PROFILES: [MbusProfile; 4] = [
    MbusProfile {
        name: "mbus-heat",
        description: "M-Bus heat meter: energy, volume, power, flow, temperatures, on time, date-time; 2 telegrams (DIF 1F), history with storage numbers, FB and FD records, manufacturer data",
        kind: Kind::Heat,
        version: 0x01,
        medium: 0x04,
        telegrams: 2,
    },
    MbusProfile {
        name: "mbus-water",
        description: "M-Bus cold water meter: volume (BCD), backflow and per-day VIFEs, due-date volume, type G and F dates, no manufacturer data",
        kind: Kind::Water,
        version: 0x02,
        medium: 0x07,
        telegrams: 1,
    },
    MbusProfile {
        name: "mbus-electricity",
        description: "M-Bus electricity meter: 64-bit and 12-digit BCD energy, tariffs, export (48 bit, VIFE 3C), signed BCD power, voltage and current per phase as subunits (FD), ASCII firmware",
        kind: Kind::Electricity,
        version: 0x03,
        medium: 0x02,
        telegrams: 1,
    },
    MbusProfile {
        name: "mbus-gas",
        description: "M-Bus gas meter: volume with VIFE 74 (x0.01), IEEE real flow, 8-bit input, ASCII customer, billing date, manufacturer data",
        kind: Kind::Gas,
        version: 0x04,
        medium: 0x03,
        telegrams: 1,
    },
];

/// The built-in slave profile of this name.
pub fn profile(name: &str) -> Option<&'static MbusProfile> {
    PROFILES.iter().find(|p| p.name == name)
}
