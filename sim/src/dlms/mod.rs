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
pub use profile::{profile, DlmsProfile, HeaderClock, InvokeId, Lists, Security, PROFILES};
