//! A scenario meter that replays a capture (`meter: { profile: …, capture: FILE }`): the one
//! place where a scenario's capture file is read. The file is read in any form
//! [`crate::capture`] knows, its path taken relative to the scenario file, and the bytes handed
//! to [`meterlab_sim::replay::ReplayMeter`], which finds the message boundaries and the timing
//! itself (see its documentation for why the simulator, not the harness, frames the bytes).

use std::path::{Path, PathBuf};

use meterlab_sim::replay::{Recording, ReplayMeter};
use meterlab_sim::{Meter, Seed};

use crate::scenario::{Scenario, ScenarioError};

/// The capture file a scenario's meter replays, if it replays one.
pub fn capture_path(scenario: &Scenario) -> Option<PathBuf> {
    let file = scenario.spec.meter.capture.as_deref()?;
    let dir = scenario.path.parent().unwrap_or(Path::new(""));
    Some(dir.join(file))
}

/// Reads a capture file into what the replayed meter sends.
pub fn read_recording(path: &Path) -> Result<Recording, std::io::Error> {
    let input = std::fs::read(path)?;
    // The coordinator switches this to `capture::read` (paste forms, timestamps, directions)
    // once it is merged: spans with `at_ns`, only the meter's direction.
    let (bytes, _form) = crate::capture::read_capture(&input);
    Ok(Recording::untimed(bytes))
}

/// The replaying meter of `scenario`, or `None` when its meter is modelled.
pub fn meter(scenario: &Scenario, seed: Seed) -> Result<Option<Box<dyn Meter>>, ScenarioError> {
    let Some(path) = capture_path(scenario) else {
        return Ok(None);
    };
    let invalid = |message: String| ScenarioError::Invalid {
        path: scenario.path.clone(),
        message,
    };
    let recording = read_recording(&path).map_err(|e| {
        invalid(format!(
            "meter.capture: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let meter = ReplayMeter::new(&scenario.spec.meter, recording, seed)
        .map_err(|e| invalid(format!("{} ({})", e, path.display())))?;
    Ok(Some(Box::new(meter)))
}
