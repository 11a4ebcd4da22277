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
//!   [`Meter`](crate::Meter) trait.

pub mod afl;
pub mod catalog;
pub mod config;
pub mod dongle;
pub mod ell;
pub mod link;
pub mod meter;
pub mod mode;
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
pub use radio::{Air, RadioFaults};
pub use telegram::TelegramRepr;
