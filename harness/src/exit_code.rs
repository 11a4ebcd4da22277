//! `meterlab`'s exit codes, in one place (documented in README.md and `meterlab --help`).

/// Everything passed (`run`), or every message decoded (`decode`).
pub const SUCCESS: u8 = 0;
/// Some scenario failed (`run`), or some message could not be decoded (`decode`).
pub const FAILED: u8 = 1;
/// Bad input: a malformed scenario, an unknown profile, a missing file, a bad key or flag.
pub const BAD_INPUT: u8 = 2;
