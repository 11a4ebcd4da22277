//! DSMR P1 meters (Dutch Smart Meter Requirements P1 Companion Standard 2.2–5.0.2, Belgian
//! e-MUCS, Luxembourg Smarty P1 v1.1.3): telegram emission and the virtual meters.

mod meter;
mod profile;
mod telegram;

pub use meter::DsmrMeter;
pub use profile::{
    profile, DsmrProfile, Flavor, PROFILES, SMARTY_AUTH_KEY, SMARTY_DEFAULT_KEY,
    SMARTY_SYSTEM_TITLE,
};
pub use telegram::{CrcStyle, ObjectLine, TelegramRepr, CRC_ARC, CRC_X25};
