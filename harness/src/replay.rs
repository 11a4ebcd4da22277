//! A scenario meter that replays a capture (`meter: { profile: …, capture: FILE }`): the one
//! place where a scenario's capture file is read. The file is read in any form
//! [`crate::capture`] knows, its path taken relative to the scenario file, and the bytes handed
//! to [`meterlab_sim::replay::ReplayMeter`], which finds the message boundaries and the timing
//! itself (see its documentation for why the simulator, not the harness, frames the bytes).

use std::path::{Path, PathBuf};

use meterlab_sim::replay::{Recording, ReplayMeter, Span};
use meterlab_sim::{Meter, Seed};

use crate::scenario::{Scenario, ScenarioError};

/// The largest capture file read: room for [`meterlab_sim::replay::MAX_CAPTURE_BYTES`] as
/// spaced hex text with a log prefix on every line.
pub const MAX_FILE_BYTES: u64 = 8 * meterlab_sim::replay::MAX_CAPTURE_BYTES as u64;

/// The capture file a scenario's meter replays, if it replays one.
pub fn capture_path(scenario: &Scenario) -> Option<PathBuf> {
    let file = scenario.spec.meter.capture.as_deref()?;
    let dir = scenario.path.parent().unwrap_or(Path::new(""));
    Some(dir.join(file))
}

/// Reads a capture file into what the replayed meter sends.
pub fn read_recording(path: &Path) -> Result<Recording, std::io::Error> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file is {len} bytes; a replayed capture is at most {} bytes ({} as hex text): \
                 keep the part that shows the problem",
                meterlab_sim::replay::MAX_CAPTURE_BYTES,
                MAX_FILE_BYTES
            ),
        ));
    }
    let input = std::fs::read(path)?;
    // Any paste form (`docs/captures.md`); a log's lines keep their times and directions, and
    // only the meter's side is replayed.
    let capture = crate::capture::read(&input, crate::capture::InputFormat::Auto)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let pieces: Vec<_> = capture
        .segments
        .iter()
        .map(|segment| {
            let from_meter = segment.direction != Some(crate::capture::Direction::ToMeter);
            (from_meter, segment.at_ns, segment.range.clone())
        })
        .collect();
    Ok(recording_from_pieces(capture.bytes, pieces))
}

/// A recording from a capture read in pieces (a log's lines): `pieces` are (whether the meter
/// sent it, when it was logged, its bytes in `bytes`); what the reader sent (a two-direction
/// log's requests) is left out, so only the meter's bytes are replayed. [`read_recording`]
/// maps each segment of `capture::read` to one piece (direction `None` counts as the meter's).
pub fn recording_from_pieces(
    bytes: Vec<u8>,
    pieces: impl IntoIterator<Item = (bool, Option<u64>, std::ops::Range<usize>)>,
) -> Recording {
    let spans: Vec<Span> = pieces
        .into_iter()
        .filter(|(from_meter, _, _)| *from_meter)
        .map(|(_, at_ns, range)| Span { at_ns, range })
        .collect();
    if spans.is_empty() {
        return Recording::untimed(bytes);
    }
    Recording { bytes, spans }
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

#[cfg(test)]
mod test {
    use super::*;
    use meterlab_sim::MeterSpec;

    #[test]
    fn a_two_direction_log_replays_the_meters_side_only() {
        let request = b"/?!\r\n".to_vec();
        let reply = b"/ISK5\\2M550T\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n!".to_vec();
        let mut bytes = request.clone();
        bytes.extend(&reply);
        let rec = recording_from_pieces(
            bytes.clone(),
            [
                (false, Some(0), 0..request.len()),
                (true, Some(2_000_000), request.len()..bytes.len()),
            ],
        );
        let spec = MeterSpec {
            capture: Some("log.txt".into()),
            ..MeterSpec::new("dsmr-4.2")
        };
        let mut meter = ReplayMeter::new(&spec, rec, Seed(0)).expect("builds");
        let mut sent = Vec::new();
        while meter.next_push_ns().is_some() {
            sent.extend(meter.push().into_iter().flat_map(|e| e.bytes));
        }
        assert_eq!(sent, reply);
        // Without directions or times, everything is replayed.
        let rec = recording_from_pieces(bytes.clone(), []);
        assert_eq!(rec.bytes, bytes);
        assert!(rec.spans.is_empty());
    }
}
