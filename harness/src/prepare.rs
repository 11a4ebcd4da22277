//! A scenario's meter built with its seed, the line's settings at both ends and the keys the
//! reader gets: what every run of a scenario (in memory, over a real line, live) starts from.

use meterlab_decoder::{Key, Keys};
use meterlab_sim::line::UartConfig;
use meterlab_sim::{Meter, Seed};

use crate::scenario::{KeyChoice, Scenario, ScenarioError};

/// A scenario's meter built with its seed, the line's settings at both ends, and the keys the
/// reader is configured with.
pub(crate) struct Prepared {
    pub meter: Box<dyn Meter>,
    /// The meter's transmitter (`line.sender`, or the profile's).
    pub sender: UartConfig,
    /// The reader's receiver (`line.receiver`, or the sender's nominal settings: the clock
    /// error is the meter's own).
    pub receiver: UartConfig,
    pub keys: Keys,
}

/// Builds what every run of `scenario` with `seed` starts from.
pub(crate) fn prepare(scenario: &Scenario, seed: Seed) -> Result<Prepared, ScenarioError> {
    let spec = &scenario.spec;
    let meter = match crate::replay::meter(scenario, seed.derive("meter"))? {
        Some(replayed) => replayed,
        None => spec
            .meter
            .build(seed.derive("meter"))
            .map_err(|e| ScenarioError::Invalid {
                path: scenario.path.clone(),
                message: e.to_string(),
            })?,
    };
    let sender = spec.line.sender.unwrap_or_else(|| meter.uart());
    let receiver = spec.line.receiver.unwrap_or_else(|| sender.with_ppm(0.0));
    let meter_keys = meter.keys();
    let keys = Keys {
        encryption: choose_key(&spec.reader.key, meter_keys.encryption.as_ref()),
        authentication: choose_key(&spec.reader.auth_key, meter_keys.authentication.as_ref()),
    };
    Ok(Prepared {
        meter,
        sender,
        receiver,
        keys,
    })
}

fn choose_key(choice: &KeyChoice, meter: Option<&Key>) -> Option<Key> {
    match choice {
        KeyChoice::Meter => meter.cloned(),
        KeyChoice::None => None,
        KeyChoice::Hex(h) => h.parse().ok(),
    }
}
