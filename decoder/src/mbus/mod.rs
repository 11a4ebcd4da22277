//! M-Bus (EN 13757-2 link layer, EN 13757-3 application layer).
//!
//! - [`frame`]: the link-layer frame (EN 13757-2): the single character, the short frame and
//!   the control/long frame with their checksum. The DLMS push decoder uses long frames as
//!   the transport of Austrian P1 meters ([`crate::dlms::transport`]).
//! - [`header`], [`dif`], [`vif`], [`record`]: the variable data structure (EN 13757-3,
//!   clauses 5 and 6, annex A): header, manufacturer id, DIF/DIFE, VIF/VIFE tables (primary,
//!   `FB`, `FD`), data field codings.
//! - [`ci`]: every CI value (EN 13757-7 table 2, EN 1434-3) by name and direction.
//! - [`fixed`]: the fixed data structure (CI `73`/`77`).
//! - [`link`]: the master's requests and commands and the slave's `E5` as link messages.
//! - [`convert`]: one frame → one [`Message`](crate::Message): reading, error or link message.
//! - [`stream`]: [`MbusDecoder`], the stream decoder over a capture of both directions.

pub mod ci;
pub mod convert;
pub mod dif;
pub mod fixed;
pub mod frame;
pub mod header;
pub mod link;
pub mod record;
pub mod stream;
pub mod vif;

pub use frame::{Frame, FrameKind, FrameRepr};
pub use stream::MbusDecoder;

/// Whether an RSP_UD long frame (CI `72`, `76`, `78`, `7A`) ends its records with DIF `1F`:
/// the meter has more records in a next telegram (EN 13757-3, 6.3.2). False for any other
/// bytes; never panics.
pub fn more_records_follow(frame: &[u8]) -> bool {
    convert::more_records_follow(frame)
}
