//! Wired M-Bus (EN 13757-2 data link layer, EN 13757-3 application layer): the frames on the
//! bus, the variable data a slave answers with, and virtual slaves.
//!
//! - [`frame`](mod@frame): `E5`, short, control and long frames (`…Repr` with `emit`, and
//!   `parse` for what a master sends). The long frame also carries the Austrian P1 DLMS pushes.
//! - [`header`]: CI codes, the long header of CI `0x72`/`0x76`, manufacturer ids, secondary
//!   addresses and their wildcard selection.
//! - [`record`]: data records (DIF/DIFE, VIF/VIFE, every data field coding) with the value each
//!   encodes in the reading format.
//! - [`model`]: what a slave measures, telegram by telegram; [`profile`](mod@profile): the
//!   built-in slaves (`mbus-heat`, `mbus-water`, `mbus-electricity`, `mbus-gas`).
//! - [`slave`]: one slave with its state (FCB, multi-telegram cycle, selection, primary address,
//!   baud switch, access number) and the standard's timing; [`bus`]: several slaves on one bus
//!   (`mbus-bus`), with colliding answers.

pub mod bus;
pub mod frame;
pub mod header;
pub mod model;
pub mod profile;
pub mod record;
pub mod slave;

pub use bus::MbusBus;
pub use frame::{
    FrameError, FrameRepr, LongFrameRepr, ShortFrameRepr, ACK, ADDRESS_ALL, ADDRESS_BROADCAST,
    ADDRESS_SELECTED, CONTROL_REQ_UD1, CONTROL_REQ_UD2, CONTROL_RSP_UD, CONTROL_SND_NKE,
    CONTROL_SND_UD, FCB, FCV, START_LONG, START_SHORT, STOP,
};
pub use header::{HeaderRepr, SecondaryAddress};
pub use profile::{profile, Kind, MbusBusOptions, MbusOptions, MbusProfile, BUS_PROFILE, PROFILES};
pub use record::{ByteOrder, Data, Function, IntWidth, ManufacturerDataRepr, RecordRepr, Vif};
pub use slave::{answer_window_ns, default_reply_delay_ns, MbusSlave};

use crate::meter::Meter;
use crate::seed::Seed;
use crate::spec::{Built, Family, MeterSpec, ProfileInfo};

/// Wired M-Bus's entry in the profile catalogue: its slave profiles and the bus, and how a spec
/// of one becomes a meter.
pub const FAMILY: Family = Family { profiles, build };

fn profiles() -> Vec<ProfileInfo> {
    PROFILES
        .iter()
        .map(|p| (p.name, p.description))
        .chain([(BUS_PROFILE, profile::BUS_DESCRIPTION)])
        .map(|(name, description)| ProfileInfo {
            name,
            protocol: meterlab_decoder::Protocol::Mbus,
            line: format!("{} {}", profile::DEFAULT_BAUD, profile::FORMAT),
            cadence: "request/response".into(),
            description,
            test_key: None,
            test_auth_key: None,
            push_interval_s: None,
        })
        .collect()
}

fn build(spec: &MeterSpec, seed: Seed) -> Option<Built> {
    if spec.profile == BUS_PROFILE {
        return Some(
            spec.options
                .read::<MbusBusOptions>(&format!(
                    "{BUS_PROFILE} takes only `start` and `slaves`; options go to each slave"
                ))
                .and_then(|options| MbusBus::from_spec(spec, &options, seed))
                .map(|m| Box::new(m) as Box<dyn Meter>),
        );
    }
    let p = profile(&spec.profile)?;
    Some(
        spec.options
            .read::<MbusOptions>(&format!("{} is an M-Bus slave profile", p.name))
            .and_then(|options| MbusSlave::new(p, spec, &options, seed))
            .map(|m| Box::new(m) as Box<dyn Meter>),
    )
}
