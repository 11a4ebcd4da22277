//! meterlab's simulator: virtual meters and the line between them and a reader.
//!
//! The simulator emits what real meters emit, byte for byte, and records for every telegram the
//! reading it encoded (the truth). It never calls the decoder's parsers.

#![warn(missing_docs)]

pub mod seed;
