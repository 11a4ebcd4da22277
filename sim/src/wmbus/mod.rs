//! Wireless M-Bus (EN 13757-4 link layer, EN 13757-7/OMS security, EN 13757-3 records): radio
//! meters, the radio between them and a receiver, and virtual receiver dongles.
//!
//! - [`link`]: `L C M A`, frame formats A and B with their CRCs.
//! - [`ell`], [`afl`], [`tpl`]: the extended link layer, the authentication and fragmentation
//!   layer, the transport header; [`security`]: modes 5 and 7; [`telegram`]: the layers in order.
//! - [`mode`]: T1, C1 and S1 (chip rates, air time, transmission intervals).
//! - [`meter`]: radio meters as plain data plus a model; [`catalog`]: the built-in meters;
//!   [`config`]: a dongle with its meters and radio faults from YAML.
//! - [`radio`]: what reaches a receiver (collisions, CRC errors, weak signals, a repeater, meter
//!   faults).
//! - [`dongle`]: iM871A, AMB8465, CUL and rtl_wmbus as I/O-free state machines behind the
//!   [`Meter`](crate::Meter) trait; [`profile`](mod@profile): the dongles as `meterlab` profiles
//!   (`wmbus-im871a`, …) and their options ([`WmbusOptions`]).

pub mod afl;
pub mod catalog;
pub mod config;
pub mod dongle;
pub mod ell;
pub mod link;
pub mod meter;
pub mod mode;
pub mod profile;
pub mod radio;
pub mod security;
pub mod telegram;
#[cfg(test)]
pub(crate) mod test_vectors;
pub mod tpl;

pub use catalog::CATALOG;
pub use config::{ConfigError, DongleConfig, RadioMeterConfig};
pub use dongle::{Dongle, DongleKind};
pub use link::{FrameFormat, FrameRepr, LinkRepr};
pub use meter::{MeterFaults, RadioMeter, RadioMeterSpec};
pub use mode::RadioMode;
pub use profile::WmbusOptions;
pub use radio::{Air, RadioFaults};
pub use telegram::TelegramRepr;

use crate::meter::Meter;
use crate::seed::Seed;
use crate::spec::{Built, Family, MeterSpec, ProfileInfo};

/// Wireless M-Bus's entry in the profile catalogue: one profile per receiver dongle, each with
/// the radio meters it hears.
pub const FAMILY: Family = Family {
    profiles: dongle_profiles,
    build: build_dongle,
};

fn dongle_profiles() -> Vec<ProfileInfo> {
    DongleKind::ALL
        .into_iter()
        .map(|kind| ProfileInfo {
            name: profile_name(kind),
            protocol: meterlab_decoder::Protocol::Mbus,
            line: profile::line(kind).into(),
            cadence: "telegrams as heard (each meter its own interval)".into(),
            description: profile::description(kind),
            test_key: Some(profile::TEST_KEY),
            test_auth_key: None,
            push_interval_s: None,
        })
        .collect()
}

/// The profile name of a dongle type (`wmbus-im871a`, …).
pub fn profile_name(kind: DongleKind) -> &'static str {
    match kind {
        DongleKind::Im871a => "wmbus-im871a",
        DongleKind::Amb8465 => "wmbus-amb8465",
        DongleKind::Cul => "wmbus-cul",
        DongleKind::Rtlwmbus => "wmbus-rtlwmbus",
    }
}

/// The dongle type of a profile name.
pub fn dongle_of_profile(name: &str) -> Option<DongleKind> {
    DongleKind::ALL
        .into_iter()
        .find(|&k| profile_name(k) == name)
}

fn build_dongle(spec: &MeterSpec, seed: Seed) -> Option<Built> {
    let kind = dongle_of_profile(&spec.profile)?;
    Some(profile::build(kind, spec, seed).map(|d| Box::new(d) as Box<dyn Meter>))
}
