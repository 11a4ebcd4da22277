//! The benchmark set of `cargo bench -p meterlab-harness --bench diagnose`: every catalogue
//! profile × every common misconfiguration, made with the simulator and the line model from
//! fixed seeds (not the seed of the pattern references), each with its true answer.
//!
//! Recoverable cases: read right (nothing wrong), starting mid-message, a 7E1 meter read as
//! 8N1, a dialogue logged in both directions, a dialogue read through an echoing optical head
//! (its requests after the head's wake-up noise, `7F`). Unrecoverable: the reader at another
//! common rate (2400, 9600, 115200), the lossy wrong formats ([`super::misread::wrong_formats`]),
//! the inverted signal, bytes dropped in one message.

use meterlab_sim::line::{Fault, Polarity, UartConfig, Where};
use meterlab_sim::Seed;
use serde::{Deserialize, Serialize};

use super::misread::{meter_output, misreads, read_with, MeterOutput};
use super::reference::profiles;
use super::Cause;

/// The true answer for one capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The capture's file name in the set.
    pub file: String,
    /// The profile of the meter.
    pub profile: String,
    /// The protocol (`dsmr`, …).
    pub protocol: String,
    /// What is wrong.
    pub cause: Cause,
    /// Whether the meter's bytes can be recovered from the capture.
    pub recoverable: bool,
    /// The meter's settings (`115200 8N1`).
    pub meter_line: String,
    /// The reader's settings.
    pub reader_line: String,
}

/// One generated case: its truth and the capture's bytes.
#[derive(Clone, Debug)]
pub struct Case {
    /// The truth.
    pub truth: Truth,
    /// What the reader got.
    pub bytes: Vec<u8>,
}

fn text(c: &UartConfig) -> String {
    format!("{} {}", c.baud, c.format())
}

/// The keys a user of the set's meter of `profile` has (empty for unencrypted meters).
pub fn keys_for(profile: &str) -> meterlab_decoder::Keys {
    meterlab_sim::MeterSpec::new(profile)
        .build(SET_SEED.derive(profile))
        .map(|m| m.keys())
        .unwrap_or_default()
}

/// The seed of the set.
pub const SET_SEED: Seed = Seed(0xBE7C_0002);

/// Generates the set.
pub fn generate() -> Vec<Case> {
    let mut cases = Vec::new();
    for profile in profiles() {
        let seed = SET_SEED.derive(profile);
        let Some(output) = meter_output(profile, seed, 3) else {
            continue;
        };
        let meter = UartConfig {
            clock_ppm: 0.0,
            polarity: Polarity::Normal,
            ..output.uart
        };
        let mut add =
            |name: &str, cause: Cause, recoverable: bool, reader: UartConfig, bytes: Vec<u8>| {
                if bytes.is_empty() {
                    return;
                }
                cases.push(Case {
                    truth: Truth {
                        file: format!("{profile}--{name}.bin"),
                        profile: profile.to_string(),
                        protocol: output.protocol.name().to_string(),
                        cause,
                        recoverable,
                        meter_line: text(&meter),
                        reader_line: text(&reader),
                    },
                    bytes,
                });
            };
        let clean = read_with(&output, meter, meter, Vec::new(), seed);
        add("clean", Cause::None, true, meter, clean.clone());
        // Into the first message of some length (the clean read has the meter's bytes one for
        // one).
        let mut cut = 0;
        for (_, m) in &output.messages {
            if m.len() >= 16 {
                cut += m.len() / 2;
                break;
            }
            cut += m.len();
        }
        // A dialogue is captured twice, so that a whole one follows the cut.
        let stream = if output.requests.is_empty() {
            clean.clone()
        } else {
            [clean.as_slice(), clean.as_slice()].concat()
        };
        add(
            "mid-frame",
            Cause::MidFrame,
            true,
            meter,
            stream[cut..].to_vec(),
        );
        if !output.requests.is_empty() {
            add(
                "directions",
                Cause::DirectionsMixed,
                true,
                meter,
                interleave(&output, &[]),
            );
            add(
                "echo",
                Cause::Echo,
                true,
                meter,
                interleave(&output, &[0x7F; 3]),
            );
        }
        for m in misreads(meter, output.protocol) {
            let wanted = match m.cause {
                Cause::WrongBaud => [2400, 9600, 115200].contains(&m.reader.baud),
                _ => true,
            };
            if !wanted {
                continue;
            }
            let bytes = read_with(&output, m.wire, m.reader, Vec::new(), seed);
            if bytes == clean {
                // The reader gets the meter's bytes exactly (e.g. 8E1 read as 7E1 when no
                // byte has bit 7 set): nothing in the capture to diagnose.
                continue;
            }
            // A 7E1 meter read as 8N1 (bit 7 is the parity bit); an inverted 8N1 text meter
            // (DSMR, bit 7 always 0) read at 8N1 (see `inversion`).
            let plain_text = output.protocol == meterlab_decoder::Protocol::Dsmr
                && !output.bytes().windows(2).any(|w| w == [0xDB, 0x08]);
            let recoverable =
                (m.cause == Cause::WrongFormat && m.wire.data_bits == 7 && m.reader.data_bits == 8)
                    || (m.cause == Cause::Inverted && plain_text && m.reader.format() == "8N1");
            let name = match m.cause {
                Cause::WrongBaud => format!("read-at-{}", m.reader.baud),
                Cause::WrongFormat => format!("read-as-{}", m.reader.format()),
                _ => "inverted".to_string(),
            };
            add(&name, m.cause, recoverable, m.reader, bytes);
        }
        let message = if output.messages.len() > 2 {
            1
        } else {
            output.messages.len() - 1
        };
        let len = output.messages[message].1.len();
        let lost = read_with(
            &output,
            meter,
            meter,
            (0..4)
                .map(|k| {
                    Fault::Drop(Where::At {
                        message,
                        offset: len / 2 + k,
                    })
                })
                .collect(),
            seed,
        );
        add("bytes-lost", Cause::BytesLost, false, meter, lost);
    }
    cases
}

/// The dialogue of a request/response meter as one stream: each request (after `noise`, the
/// optical head waking up, when echoed) before the meter's answers.
fn interleave(output: &MeterOutput, noise: &[u8]) -> Vec<u8> {
    let mut events: Vec<(u64, bool, &Vec<u8>)> = output
        .requests
        .iter()
        .map(|(t, b)| (*t, true, b))
        .chain(output.messages.iter().map(|(t, b)| (*t, false, b)))
        .collect();
    events.sort_by_key(|e| (e.0, !e.1));
    let mut out = Vec::new();
    for (_, request, bytes) in events {
        if request {
            out.extend_from_slice(noise);
        }
        out.extend_from_slice(bytes);
    }
    out
}
