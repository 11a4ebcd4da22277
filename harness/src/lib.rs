//! meterlab's harness: scenario files, the runner that drives a virtual meter over a faulty line
//! into a decoder, the verdict against the simulator's truth and the golden files, and reports.
//!
//! The `meterlab` binary is thin glue over this library.

#![warn(missing_docs)]

pub mod builtin;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod diagnose;
pub mod exit_code;
pub mod expect;
pub mod external;
pub mod fault_check;
pub mod golden;
pub mod import;
#[cfg(unix)]
pub mod live;
pub mod loopback;
pub mod manual;
pub mod outcome;
pub mod prepare;
pub mod radio_log;
pub mod reader;
pub mod redact;
pub mod replay;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod selection;
pub mod session;
pub mod sim;
pub mod transport;
pub mod verdict;
pub mod yaml_location;
