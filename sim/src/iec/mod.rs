//! IEC 62056-21 (formerly IEC 61107 / IEC 1107, "D0") local data exchange: the virtual meters.
//!
//! [`message`] holds the messages of clause 6 (request, identification, acknowledgement/option
//! select, data message with its block check character, programming commands and replies) as
//! `…Repr` types with `emit` — and, for what the reader sends, `parse`, since the meter has to
//! understand it. [`dataset`] holds the data sets `address(value*unit)` with the reduced EDIS and
//! full OBIS addresses real meters write, each built together with the value it encodes.
//! [`profile`](mod@profile) lists the built-in meters, [`meter`] runs the dialogue (protocol
//! modes A–E) with the standard's timing and the line quirks of real optical heads.

pub mod dataset;
pub mod message;
pub mod meter;
pub mod profile;

pub use dataset::{Address, DataSet, DataSetRepr, Fixed};
pub use message::{
    bcc, BlockRepr, CommandRepr, DataMessageRepr, IdentificationRepr, OptionSelectRepr,
    ProtocolMode, PushRepr, RequestRepr,
};
pub use meter::IecMeter;
pub use profile::{profile, IecProfile, Layout, PROFILES};
