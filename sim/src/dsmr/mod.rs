//! DSMR P1 meters (Dutch Smart Meter Requirements P1 Companion Standard 2.2–5.0.2, Belgian
//! e-MUCS, Luxembourg Smarty P1 v1.1.3): telegram emission and the virtual meters.

mod meter;
mod profile;
mod telegram;

pub use meter::DsmrMeter;
pub use profile::{
    profile, DsmrOptions, DsmrProfile, Flavor, PROFILES, SMARTY_AUTH_KEY, SMARTY_DEFAULT_KEY,
    SMARTY_SYSTEM_TITLE,
};
pub use telegram::{CrcStyle, ObjectLine, TelegramRepr, CRC_ARC, CRC_X25};

use crate::meter::Meter;
use crate::seed::Seed;
use crate::spec::{Built, Family, MeterSpec, ProfileInfo};

/// DSMR's entry in the profile catalogue: its profiles and how a spec of one becomes a meter.
pub const FAMILY: Family = Family { profiles, build };

fn profiles() -> Vec<ProfileInfo> {
    PROFILES
        .iter()
        .map(|p| ProfileInfo {
            name: p.name,
            protocol: meterlab_decoder::Protocol::Dsmr,
            line: format!("{} {}", p.baud, p.format),
            cadence: format!("push every {} s", p.interval_s),
            description: p.description,
            test_key: (p.flavor == Flavor::Smarty).then_some(SMARTY_DEFAULT_KEY),
            test_auth_key: (p.flavor == Flavor::Smarty).then_some(SMARTY_AUTH_KEY),
            push_interval_s: Some(p.interval_s),
        })
        .collect()
}

fn build(spec: &MeterSpec, seed: Seed) -> Option<Built> {
    let p = profile(&spec.profile)?;
    Some(
        spec.options
            .read::<DsmrOptions>(&format!("{} is a DSMR P1 profile", p.name))
            .and_then(|options| DsmrMeter::new(p, spec, &options, seed))
            .map(|m| Box::new(m) as Box<dyn Meter>),
    )
}
