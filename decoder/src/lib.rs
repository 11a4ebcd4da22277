//! meterlab's reference decoder.
//!
//! Turns the bytes a meter reader receives into readings in the common format
//! ([`reading::Message`]), naming precisely what is wrong when it cannot: CRC, checksum, GCM tag,
//! wrong key, framing. It never panics on any input.
//!
//! Wireless M-Bus ([`wmbus`]) reads what receiver sticks deliver; its readings are M-Bus
//! readings ([`Protocol::Mbus`]), its records decoded by the wired decoder.
//!
//! The plain data types ([`reading`], [`obis`], [`decimal`], [`keys`]) are shared with the
//! simulator; the protocol modules are the decoder's own and the simulator never calls them.

#![warn(missing_docs)]

pub mod auto;
pub mod crc;
pub mod decimal;
pub mod dlms;
pub mod dsmr;
pub mod iec;
pub mod keys;
pub mod mbus;
pub mod obis;
pub mod reading;
pub mod resync;
pub mod stream;
#[cfg(test)]
mod test_hex;
pub mod text;
pub mod units;
pub mod wmbus;

pub use decimal::Decimal;
pub use dlms::DlmsDecoder;
pub use dsmr::DsmrDecoder;
pub use iec::IecDecoder;
pub use keys::{Key, Keys};
pub use mbus::MbusDecoder;
pub use obis::Obis;
pub use reading::{
    Direction, ErrorReport, LinkReport, Message, Protocol, Reading, Scalar, ShortStr, Value,
};
pub use stream::StreamDecoder;
pub use wmbus::{MbusEitherDecoder, WmbusDecoder};
