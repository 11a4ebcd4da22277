//! The line model run forward: what a reader with the wrong settings makes of what a meter sent.
//!
//! A virtual meter of a catalogue profile ([`meterlab_sim::profile::catalogue`]) produces a few
//! messages (pushes, or the answers to a standard request for request/response meters); they go
//! through a [`Channel`] from the meter's transmitter to a receiver with other settings, and the
//! host delivers what it received with the Linux default error policy (`INPCK` off: bytes with
//! parity or framing errors pass, a break reads as `00`). This is how the pattern references of
//! [`super::reference`] and the benchmark set are made.

use meterlab_decoder::Protocol;
use meterlab_sim::line::{host_bytes, Channel, ErrorPolicy, Fault, Parity, Polarity, UartConfig};
use meterlab_sim::{Emission, Meter, MeterSpec, Seed};

/// Standard serial rates a reader may be set to (IEC 62056-21 and M-Bus start at 300).
pub const STANDARD_BAUDS: [u32; 10] = [
    300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200,
];

/// What a meter of one profile sent: its settings, protocol and messages in time order.
#[derive(Clone, Debug)]
pub struct MeterOutput {
    /// The profile.
    pub profile: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// The meter's line settings.
    pub uart: UartConfig,
    /// The meter's messages, `(time, bytes)`.
    pub messages: Vec<(u64, Vec<u8>)>,
    /// The reader's requests that made the meter answer (empty for push meters), `(time,
    /// bytes)`.
    pub requests: Vec<(u64, Vec<u8>)>,
}

impl MeterOutput {
    /// Every byte the meter sent, in order.
    pub fn bytes(&self) -> Vec<u8> {
        self.messages
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    }
}

/// Requests a reader sends a request/response meter: IEC 62056-21 sign-on and an option select
/// that stays at 300 Bd (data readout); M-Bus SND_NKE and REQ_UD2 to primary address 0.
fn requests_for(protocol: Protocol) -> &'static [&'static [u8]] {
    match protocol {
        Protocol::Iec62056_21 => &[b"/?!\r\n", b"\x06000\r\n"],
        Protocol::Mbus => &[
            &[0x10, 0x40, 0x00, 0x40, 0x16],
            &[0x10, 0x5B, 0x00, 0x5B, 0x16],
        ],
        Protocol::Dsmr | Protocol::Dlms => &[],
    }
}

/// Builds a meter of `profile` with `seed` and collects `pushes` pushes, or for a
/// request/response meter the answers to a standard sign-on. `None` if the profile cannot be
/// built or says nothing.
pub fn meter_output(profile: &str, seed: Seed, pushes: usize) -> Option<MeterOutput> {
    let mut meter: Box<dyn Meter> = MeterSpec::new(profile).build(seed).ok()?;
    let uart = meter.uart();
    let protocol = meter.protocol();
    let mut messages = Vec::new();
    let mut requests = Vec::new();
    if meter.next_push_ns().is_some() {
        for _ in 0..pushes {
            messages.extend(
                meter
                    .push()
                    .into_iter()
                    .map(|e: Emission| (e.at_ns, e.bytes)),
            );
        }
    } else {
        let mut now = 0u64;
        for request in requests_for(protocol) {
            // The request's last character arrives after its transmission time.
            now += (request.len() as f64 * uart.char_time_ns()) as u64;
            requests.push((now, request.to_vec()));
            let replies = meter.receive(now, request);
            if let Some((_, change)) = meter.take_uart_change() {
                // A baud switch would need the reader to follow; keep the dialogue at the
                // start rate (the option select above asks for it).
                if change.baud != uart.baud {
                    break;
                }
            }
            let mut replies = replies;
            // Answers due later (an IEC 62056-21 readout after the reaction time).
            for _ in 0..16 {
                let Some(at) = meter.next_push_ns().filter(|&t| t < now + 5_000_000_000) else {
                    break;
                };
                let due = meter.push();
                if due.is_empty() && meter.next_push_ns() == Some(at) {
                    break;
                }
                replies.extend(due);
            }
            for e in replies {
                now = now.max(e.at_ns) + (e.bytes.len() as f64 * uart.char_time_ns()) as u64;
                messages.push((e.at_ns, e.bytes));
            }
            now += 50_000_000;
        }
    }
    (!messages.is_empty()).then_some(MeterOutput {
        profile: profile.to_string(),
        protocol,
        uart,
        messages,
        requests,
    })
}

/// What a reader with settings `reader` reads of `output` over a line with `faults`.
/// `wire` is the meter's settings as they appear on the wire (inverted for a cable without the
/// inverter).
pub fn read_with(
    output: &MeterOutput,
    wire: UartConfig,
    reader: UartConfig,
    faults: Vec<Fault>,
    seed: Seed,
) -> Vec<u8> {
    let Ok(mut channel) = Channel::try_new(wire, reader, faults, seed) else {
        return Vec::new();
    };
    for (at, bytes) in &output.messages {
        channel.send(*at, bytes);
    }
    host_bytes(&channel.receive_all(), ErrorPolicy::Pass)
}

/// The character formats a reader is commonly set to wrongly for a meter with `format` that
/// change the bytes it reads: 8N1 for a 7E1 meter (the parity bit becomes bit 7), 8E1 for an
/// 8N1 meter (the next start bit is taken for the stop bit), 7E1 for a meter of a binary
/// protocol with 8 data bits (bit 7 is taken for parity and lost).
///
/// Not listed, because the bytes read are exactly the meter's: 8N1 for an 8E1 meter (the
/// parity bit is sampled as the stop bit; with `INPCK` off the byte passes) and 7E1 for an 8N1
/// meter of a text protocol (bit 7 is always 0).
pub fn wrong_formats(meter: &UartConfig, protocol: Protocol) -> Vec<UartConfig> {
    let same_baud = |format: &str| UartConfig::new(meter.baud, format).ok();
    let binary = matches!(protocol, Protocol::Dlms | Protocol::Mbus);
    let formats: &[&str] = match (meter.data_bits, meter.parity, binary) {
        (8, Parity::None, true) => &["7E1", "8E1"],
        (8, Parity::None, false) => &["8E1"],
        (7, _, _) => &["8N1"],
        (8, _, true) => &["7E1"],
        _ => &[],
    };
    formats.iter().filter_map(|f| same_baud(f)).collect()
}

/// One way a reader misreads a meter: the cause, the meter's signal on the wire, the reader's
/// settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Misread {
    /// What is wrong.
    pub cause: super::Cause,
    /// The meter's signal as it is on the wire (polarity inverted without an inverter).
    pub wire: UartConfig,
    /// The reader's settings.
    pub reader: UartConfig,
}

/// Every standard misconfiguration of a reader for a meter with settings `meter`: every other
/// standard rate (same format), the wrong formats, and the inverted signal.
pub fn misreads(meter: UartConfig, protocol: Protocol) -> Vec<Misread> {
    let meter = UartConfig {
        polarity: Polarity::Normal,
        clock_ppm: 0.0,
        ..meter
    };
    let mut out = Vec::new();
    for baud in STANDARD_BAUDS {
        if baud != meter.baud {
            out.push(Misread {
                cause: super::Cause::WrongBaud,
                wire: meter,
                reader: UartConfig { baud, ..meter },
            });
        }
    }
    for reader in wrong_formats(&meter, protocol) {
        out.push(Misread {
            cause: super::Cause::WrongFormat,
            wire: meter,
            reader,
        });
    }
    out.push(Misread {
        cause: super::Cause::Inverted,
        wire: meter.inverted(),
        reader: meter,
    });
    out
}
