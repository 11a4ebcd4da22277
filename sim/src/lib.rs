//! meterlab's simulator: virtual meters and the line between them and a reader.
//!
//! The simulator emits what real meters emit, byte for byte, and records for every telegram the
//! reading it encoded (the truth). It never calls the decoder's parsers: it shares only the plain
//! data types of `meterlab_decoder` (readings, OBIS ids, decimals, keys).

#![warn(missing_docs)]

pub mod clock;
pub mod crc;
pub mod dlms;
pub mod dsmr;
pub mod household;
pub mod iec;
pub mod line;
pub mod mbus;
pub mod meter;
pub mod profile;
pub mod replay;
pub mod seed;
pub mod session;
pub mod spec;
pub mod transport;
pub mod wmbus;

pub use meter::{Emission, Meter};
pub use profile::MeterSpec;
pub use seed::Seed;
