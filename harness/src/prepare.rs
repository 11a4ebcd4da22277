//! A scenario's meter built with its seed, the line's settings at both ends and the keys the
//! reader gets: what every run of a scenario (in memory, over a real line, live) starts from.

use meterlab_decoder::{Key, Keys};
use meterlab_sim::line::UartConfig;
use meterlab_sim::{Meter, Seed};

use meterlab_sim::wmbus::dongle_of_profile;

use crate::radio_log::{RadioLogged, RadioTally};
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
    /// A wireless M-Bus dongle's radio log, counted (`None` for other meters).
    pub radio: Option<RadioTally>,
}

/// Builds what every run of `scenario` with `seed` starts from.
pub(crate) fn prepare(scenario: &Scenario, seed: Seed) -> Result<Prepared, ScenarioError> {
    let spec = &scenario.spec;
    let invalid = |e: meterlab_sim::profile::SpecError| ScenarioError::Invalid {
        path: scenario.path.clone(),
        message: e.to_string(),
    };
    let mut radio = None;
    let meter = if let Some(replayed) = crate::replay::meter(scenario, seed.derive("meter"))? {
        replayed
    } else if let Some(kind) = dongle_of_profile(&spec.meter.profile) {
        // A dongle: its radio log is counted for the report.
        let dongle = meterlab_sim::wmbus::profile::build(kind, &spec.meter, seed.derive("meter"))
            .map_err(invalid)?;
        let tally = RadioTally::default();
        let logged = RadioLogged::new(dongle, tally.sink());
        radio = Some(tally);
        Box::new(logged)
    } else {
        spec.meter.build(seed.derive("meter")).map_err(invalid)?
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
        radio,
    })
}

fn choose_key(choice: &KeyChoice, meter: Option<&Key>) -> Option<Key> {
    match choice {
        KeyChoice::Meter => meter.cloned(),
        KeyChoice::None => None,
        KeyChoice::Hex(h) => h.parse().ok(),
    }
}
