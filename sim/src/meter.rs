//! The seam between a virtual meter and whatever carries its bytes.
//!
//! A meter is an event-driven state machine over virtual time: it pushes telegrams on its own
//! schedule (DSMR, DLMS push) and/or answers what it receives (M-Bus, IEC 62056-21). Every
//! [`Emission`] carries the readings it encoded — the simulator's truth. Transports (the in-memory
//! virtual line, and later ptys, UARTs and TCP) drive meters only through this trait.

use meterlab_decoder::{Keys, Protocol, Reading};

use crate::line::UartConfig;

/// Bytes a meter puts on the line at a moment, and what they encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emission {
    /// Virtual time the first byte may start, ns since the scenario start.
    pub at_ns: u64,
    /// The bytes, exactly as on the wire.
    pub bytes: Vec<u8>,
    /// The readings these bytes encode (empty for a segment whose push completes later, or for
    /// replies that carry no reading, e.g. an M-Bus `E5`).
    pub truth: Vec<Reading>,
}

/// A virtual meter.
pub trait Meter: Send {
    /// The profile name (`dsmr-5.0`).
    fn profile(&self) -> &str;
    /// The protocol family it speaks.
    fn protocol(&self) -> Protocol;
    /// Its serial settings (transmitter and receiver).
    fn uart(&self) -> UartConfig;
    /// The keys a reader needs for it (empty for unencrypted meters).
    fn keys(&self) -> Keys {
        Keys::default()
    }
    /// When it will next push unprompted, if it pushes.
    fn next_push_ns(&self) -> Option<u64>;
    /// The push due at [`next_push_ns`](Self::next_push_ns) (one or more segments); advances the
    /// meter to the next one.
    fn push(&mut self) -> Vec<Emission>;
    /// Bytes received from the reader, the last at `now_ns`; returns the replies
    /// (request/response meters). Characters that arrived with a parity or framing error never
    /// get here: a meter's UART discards them.
    fn receive(&mut self, _now_ns: u64, _bytes: &[u8]) -> Vec<Emission> {
        Vec::new()
    }

    /// A change of the meter's own serial settings (a baud switch), once: from `at_ns` on it
    /// receives and sends with the new settings.
    fn take_uart_change(&mut self) -> Option<(u64, UartConfig)> {
        None
    }
}
