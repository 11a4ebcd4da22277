//! The serial line between a meter and a reader, bit by bit.
//!
//! Meter readers often fail at the physical layer: the wrong baud rate, a DSMR P1 signal read
//! without an inverter, a 7E1 meter (IEC 62056-21, DSMR 2.2/3) read as 8N1, noise, clock drift,
//! dropped or truncated bytes, wake-up garbage. This module models an asynchronous serial line
//! (RS-232/TTL UART framing: start bit, 5–8 data bits LSB first, optional parity, 1/1.5/2 stop
//! bits) level by level in virtual time, so that each of these produces exactly the bytes a real
//! reader would see:
//!
//! - [`uart`]: the character format ([`UartConfig`]), the transmitter (bytes → a waveform of
//!   level transitions) and a 16× oversampling receiver like a 16550's (waveform → characters
//!   with parity, framing and break flags, [`RxChar`]).
//! - [`fault`]: the faults a scenario can put on a line ([`Fault`]), each seeded.
//! - [`channel`]: one direction of a line, transmitter settings + faults + receiver settings
//!   ([`Channel`]).
//! - [`host`]: what the host's serial driver (termios) makes of erroneous characters
//!   ([`host_bytes`]).
//!
//! Every random choice comes from a recorded [`Seed`](crate::seed::Seed) and is reproducible
//! across versions.
//!
//! ```
//! use meterlab_sim::line::{Channel, UartConfig};
//! use meterlab_sim::seed::Seed;
//!
//! // A DSMR 2.2 meter (9600 7E1) read by software set to 9600 8N1.
//! let meter: UartConfig = "9600 7E1".parse().expect("valid settings");
//! let reader: UartConfig = "9600 8N1".parse().expect("valid settings");
//! let mut line = Channel::new(meter, reader, vec![], Seed(1));
//! line.send(0, b"1*0");
//! let got: Vec<u8> = line.receive_all().iter().map(|c| c.byte).collect();
//! // The even parity bit becomes bit 7 where the character has an odd number of 1 bits.
//! assert_eq!(got, [0xB1, 0xAA, b'0']);
//! ```

pub mod channel;
pub mod fault;
pub mod host;
pub mod uart;

pub use channel::Channel;
pub use fault::{Fault, FaultCounts, FaultLog, FaultLogEntry, Where};
pub use host::{host_bytes, push_host_bytes, ErrorPolicy};
pub use uart::{LineError, Parity, Polarity, RxChar, StopBits, UartConfig};
