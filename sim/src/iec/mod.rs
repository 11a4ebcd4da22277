//! IEC 62056-21 (formerly IEC 61107 / IEC 1107, "D0") local data exchange: the virtual meters.
//!
//! [`message`] holds the messages of clause 6 (request, identification, acknowledgement/option
//! select, data message with its block check character, programming commands and replies) as
//! `…Repr` types with `emit` — and, for what the reader sends, `parse`, since the meter has to
//! understand it. [`dataset`] holds the data sets `address(value*unit)` with the reduced EDIS and
//! full OBIS addresses real meters write, each built together with the value it encodes.
//! [`layout`] holds the data sets of the six modelled meters, [`profile`](mod@profile) lists the
//! built-in meters, [`meter`] runs the dialogue (protocol modes A–E) with the standard's timing
//! and the line quirks of real optical heads.

pub mod dataset;
pub mod layout;
pub mod message;
pub mod meter;
pub mod profile;

pub use dataset::{Address, DataSet, DataSetRepr, Fixed};
pub use message::{
    bcc, BlockRepr, CommandRepr, DataMessageRepr, IdentificationRepr, OptionSelectRepr,
    ProtocolMode, PushRepr, RequestRepr,
};
pub use meter::IecMeter;
pub use profile::{profile, IecOptions, IecProfile, Layout, PROFILES};

use crate::meter::Meter;
use crate::seed::Seed;
use crate::spec::{Built, Family, MeterSpec, ProfileInfo};

/// IEC 62056-21's entry in the profile catalogue: its profiles and how a spec of one becomes a
/// meter.
pub const FAMILY: Family = Family { profiles, build };

fn profiles() -> Vec<ProfileInfo> {
    PROFILES
        .iter()
        .map(|p| {
            let (baud, format) = p.line();
            ProfileInfo {
                name: p.name,
                protocol: meterlab_decoder::Protocol::Iec62056_21,
                line: format!("{baud} {format}"),
                cadence: match p.push {
                    Some(push) => format!("push every {} s", push.interval_s),
                    None => "request/response".into(),
                },
                description: p.description,
                test_key: None,
                test_auth_key: None,
                push_interval_s: p.push.map(|push| push.interval_s),
            }
        })
        .collect()
}

fn build(spec: &MeterSpec, seed: Seed) -> Option<Built> {
    let p = profile(&spec.profile)?;
    Some(
        spec.options
            .read::<IecOptions>(&format!("{} is an IEC 62056-21 profile", p.name))
            .and_then(|options| IecMeter::new(p, spec, &options, seed))
            .map(|m| Box::new(m) as Box<dyn Meter>),
    )
}
