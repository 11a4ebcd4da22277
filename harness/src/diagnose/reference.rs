//! The pattern references: every catalogue profile's output read cleanly and read with each
//! standard misconfiguration ([`super::misread::misreads`]), as fingerprints.
//!
//! Built once per process from a fixed seed (different from the benchmark set's seeds), about
//! 300 short line simulations.

use std::sync::OnceLock;

use meterlab_decoder::Protocol;
use meterlab_sim::line::UartConfig;
use meterlab_sim::Seed;

use super::misread::{meter_output, misreads, read_with, Misread};
use super::seen::Fingerprint;
use super::Cause;

/// The seed of the reference meters.
pub const REFERENCE_SEED: Seed = Seed(0xD1A6_0001);

/// One reference: a profile read with some settings.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The profile.
    pub profile: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// How it was read ([`Cause::None`]: with the meter's own settings).
    pub misread: Misread,
    /// The fingerprint of what the reader got.
    pub fingerprint: Fingerprint,
}

/// The profiles the references and the benchmark set are made of: every built-in profile but
/// `mbus-bus`, which needs its slaves configured, and the wireless M-Bus receiver sticks
/// (`wmbus-*`: a USB stick's serial settings are not the user's to get wrong, and most of them
/// say nothing before their host has set them up).
pub fn profiles() -> Vec<&'static str> {
    meterlab_sim::profile::catalogue()
        .into_iter()
        .map(|p| p.name)
        .filter(|&n| n != "mbus-bus" && meterlab_sim::wmbus::dongle_of_profile(n).is_none())
        .collect()
}

/// Every reference (built on first use).
pub fn references() -> &'static [Reference] {
    static REFS: OnceLock<Vec<Reference>> = OnceLock::new();
    REFS.get_or_init(|| {
        let mut out = Vec::new();
        for profile in profiles() {
            let Some(output) = meter_output(profile, REFERENCE_SEED.derive(profile), 3) else {
                continue;
            };
            let clean = UartConfig {
                clock_ppm: 0.0,
                ..output.uart
            };
            let reads = std::iter::once(Misread {
                cause: Cause::None,
                wire: clean,
                reader: clean,
            })
            .chain(misreads(output.uart, output.protocol));
            for misread in reads {
                let bytes = read_with(
                    &output,
                    misread.wire,
                    misread.reader,
                    Vec::new(),
                    REFERENCE_SEED,
                );
                if bytes.is_empty() {
                    continue;
                }
                out.push(Reference {
                    profile: profile.to_string(),
                    protocol: output.protocol,
                    misread,
                    fingerprint: Fingerprint::of(&bytes),
                });
            }
        }
        out
    })
}
