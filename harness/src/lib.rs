//! meterlab's harness: scenario files, the runner that drives a virtual meter over a faulty line
//! into a decoder, the verdict against the simulator's truth and the golden files, and reports.
//!
//! The `meterlab` binary is thin glue over this library.

#![warn(missing_docs)]

pub mod capture;
pub mod cli;
pub mod exit_code;
pub mod external;
pub mod golden;
#[cfg(unix)]
pub mod live;
pub mod loopback;
pub mod reader;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod session;
pub mod sim;
pub mod transport;
pub mod verdict;
pub mod yaml_location;
