//! Readers: what the software under test does on its side of the line.
//!
//! A reader is a state machine over virtual time, like a meter: it may send requests, switch its
//! UART, ask to be woken after a timeout, and it decodes what it receives. The passive reader
//! listens to a push meter; request/response protocols get readers that run their dialogue, and a
//! wireless M-Bus dongle gets the host that sets it up (`wmbus`).

pub mod iec;
pub mod mbus;
pub mod passive;
pub mod wmbus;

use meterlab_decoder::Message;

pub use meterlab_sim::session::Action;

/// A reader on the line.
pub trait Reader: Send {
    /// What it does when the port is opened at `now_ns`.
    fn start(&mut self, now_ns: u64) -> Vec<Action>;
    /// Bytes its `read()` returned, the last one completed at `now_ns`.
    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Action>;
    /// A wake-up it asked for.
    fn wake(&mut self, now_ns: u64) -> Vec<Action>;
    /// The line has gone quiet for good: everything it decoded, in order.
    fn finish(&mut self) -> Vec<Message>;
    /// All bytes it received, in order (for reports).
    fn received(&self) -> &[u8];
    /// Exactly the bytes it handed its decoder, in order: what an external decoder under test
    /// gets in its place. A passive reader hands over everything it received; a dialogue reader
    /// only the data messages it accepted (not echoes, not replies that came too late).
    fn decoder_input(&self) -> &[u8];
}
