//! DLMS/COSEM emission (IEC 62056-5-3, the DLMS UA Green Book): the push meters and the parts
//! they are made of.
//!
//! Layers, each an emit-only `…Repr` like smoltcp's wire types: [`axdr`] (COSEM data),
//! [`apdu`] (data-notification, date-time), [`ciphering`] (general-glo-ciphering, AES-128-GCM),
//! [`gbt`] (General Block Transfer), [`hdlc`] (IEC 62056-46 frames) and [`transport`] (M-Bus
//! long frames or HDLC around an APDU). [`layout`] holds the push lists of the modelled meters,
//! [`PROFILES`] the built-in profiles, [`compose`] builds one push and [`DlmsMeter`] is the
//! virtual meter.

pub mod apdu;
pub mod axdr;
pub mod ciphering;
pub mod gbt;
pub mod hdlc;
pub mod layout;
mod meter;
mod profile;
pub mod transport;

pub use meter::{
    compose, logical_device_name, parse_system_title, Ciphering, DlmsMeter, Push, PushInput,
};
pub use profile::{
    profile, DlmsOptions, DlmsProfile, HeaderClock, InvokeId, Lists, Security, PROFILES,
};

use crate::meter::Meter;
use crate::seed::Seed;
use crate::spec::{Built, Family, MeterSpec, ProfileInfo};

/// DLMS's entry in the profile catalogue: its profiles and how a spec of one becomes a meter.
pub const FAMILY: Family = Family { profiles, build };

fn profiles() -> Vec<ProfileInfo> {
    PROFILES
        .iter()
        .map(|p| ProfileInfo {
            name: p.name,
            protocol: meterlab_decoder::Protocol::Dlms,
            line: format!("{} {}", p.baud, p.format),
            cadence: format!("push every {} s", p.interval_s),
            description: p.description,
            test_key: p.security.map(|s| s.key),
            test_auth_key: p.security.and_then(|s| s.auth_key),
            push_interval_s: Some(p.interval_s),
        })
        .collect()
}

fn build(spec: &MeterSpec, seed: Seed) -> Option<Built> {
    let p = profile(&spec.profile)?;
    Some(
        spec.options
            .read::<DlmsOptions>(&format!("{} is a DLMS/COSEM push profile", p.name))
            .and_then(|options| DlmsMeter::new(p, spec, &options, seed))
            .map(|m| Box::new(m) as Box<dyn Meter>),
    )
}
