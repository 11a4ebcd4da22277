//! Replayed captures (`meter: { capture: FILE }`): the reader gets the captured bytes exactly
//! over a clean line, the line's faults and settings act on them as on any meter's, and the
//! verdict judges them by the golden file and `expect`.

use std::path::{Path, PathBuf};

use meterlab_harness::reader::passive::PassiveReader;
use meterlab_harness::reader::Reader;
use meterlab_harness::runner::{self, reference_decoder, RunOptions};
use meterlab_harness::scenario::Scenario;
use meterlab_harness::session::{self, Limits, LineSetup};
use meterlab_harness::{golden, replay};
use meterlab_sim::{MeterSpec, Seed};

mod common;

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("replay", name)
}

/// `n` pushes of a built-in profile's virtual meter: a capture with a known source.
fn captured(profile: &str, n: usize) -> Vec<u8> {
    let mut meter = MeterSpec::new(profile).build(Seed(7)).expect("profile");
    let mut bytes = Vec::new();
    for _ in 0..n {
        for e in meter.push() {
            bytes.extend(e.bytes);
        }
    }
    bytes
}

/// A scenario file replaying `capture` (written as hex) in `dir`.
fn scenario(dir: &Path, name: &str, capture: &[u8], rest: &str, profile: &str) -> Scenario {
    let file = format!("{name}.hex");
    std::fs::write(dir.join(&file), hex::encode(capture)).expect("write capture");
    let text = format!("meter: {{ profile: {profile}, capture: {file} }}\n{rest}");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, &text).expect("write scenario");
    Scenario::load(&path).expect("scenario parses")
}

/// Runs the replayed meter of `s` into a passive reader; what the reader's `read()`s returned.
fn received(s: &Scenario) -> (Vec<u8>, Vec<u64>) {
    let mut meter = replay::meter(s, Seed(0).derive("meter"))
        .expect("meter builds")
        .expect("a replayed meter");
    let uart = s.spec.line.sender.unwrap_or_else(|| meter.uart());
    let rx = s.spec.line.receiver.unwrap_or(uart);
    let line = LineSetup {
        meter_tx: uart,
        reader_rx: rx,
        reader_tx: rx,
        meter_rx: uart,
        faults: s.spec.faults.clone(),
        reader_faults: Vec::new(),
        errors: s.spec.reader.errors,
        reader_start_ns: 0,
    };
    let decoder = reference_decoder(meter.protocol(), meter.keys());
    let mut reader = PassiveReader::new(decoder, 4096);
    let log = session::run(
        meter.as_mut(),
        &mut reader,
        &line,
        Limits {
            pushes: s.spec.run.telegrams,
            until_ns: s.spec.run.duration,
        },
        Seed(s.spec.seed),
    )
    .expect("the scenario's line setup is valid");
    let times = log.emissions.iter().map(|e| e.at_ns).collect();
    (reader.received().to_vec(), times)
}

#[test]
fn clean_line_delivers_exactly_the_captured_bytes() {
    let dir = temp_dir("clean");
    for (profile, pushes) in [
        ("dsmr-5.0", 3),
        ("kaifa-ma309-evn", 2),
        ("aidon-han", 2),
        ("lg-e450-gbt", 1),
        ("iec-mode-d", 2),
    ] {
        let bytes = captured(profile, pushes);
        let s = scenario(
            &dir,
            profile,
            &bytes,
            &format!("run: {{ telegrams: {pushes} }}\n"),
            profile,
        );
        let (got, _) = received(&s);
        assert_eq!(got, bytes, "{profile}: the reader gets the capture exactly");
    }
}

#[test]
fn pushes_come_at_the_profiles_cadence_and_segments_follow_each_other() {
    let dir = temp_dir("cadence");
    let bytes = captured("kaifa-ma309-evn", 3);
    let s = scenario(
        &dir,
        "evn",
        &bytes,
        "run: { telegrams: 3 }\n",
        "kaifa-ma309-evn",
    );
    let (_, times) = received(&s);
    // Two M-Bus frames per push (the CI's last-segment bit ends it), pushes 5 s apart.
    assert_eq!(times.len(), 6, "{times:?}");
    for push in times.chunks(2) {
        assert!(
            push[1] > push[0] && push[1] - push[0] < 2_000_000_000,
            "{times:?}"
        );
    }
    assert_eq!(times[2] - times[0], 5_000_000_000, "{times:?}");
    assert_eq!(times[4] - times[2], 5_000_000_000, "{times:?}");
}

#[test]
fn the_line_and_its_faults_act_on_a_replayed_capture() {
    let dir = temp_dir("faults");
    let bytes = captured("dsmr-5.0", 2);
    let noisy = scenario(
        &dir,
        "noisy",
        &bytes,
        "run: { telegrams: 2 }\nfaults:\n  - noise: { ber: 1.0e-3 }\n",
        "dsmr-5.0",
    );
    let (got, _) = received(&noisy);
    assert_ne!(got, bytes, "noise changes bytes");
    let slow = scenario(
        &dir,
        "slow",
        &bytes,
        "run: { telegrams: 2 }\nline: { receiver: 9600 8N1 }\n",
        "dsmr-5.0",
    );
    let (got, _) = received(&slow);
    assert_ne!(got, bytes, "a reader at the wrong baud rate gets garbage");
    assert!(got.len() < bytes.len());
}

#[test]
fn a_replayed_capture_is_judged_by_expect_and_the_golden_file() {
    let dir = temp_dir("verdict");
    let bytes = captured("dsmr-4.2", 2);
    let s = scenario(
        &dir,
        "dsmr42",
        &bytes,
        "run: { telegrams: 2 }\nexpect:\n  readings: 2\n",
        "dsmr-4.2",
    );
    let golden_dir = dir.join("golden");
    let options = RunOptions {
        golden_dir: Some(golden_dir.clone()),
        bless: true,
        ..RunOptions::default()
    };
    let o = runner::run_scenario(&s, &options).expect("runs");
    assert!(o.passed(), "{:?}", o.failures);
    assert_eq!(o.tally.unjudged, 2);
    assert_eq!(o.tally.wrong, 0, "no truth, so nothing is called wrong");
    let text = golden::render(&o);
    assert!(
        text.contains("2 readings from the replayed capture"),
        "{text}"
    );
    assert!(text.contains("meter: replay:dsmr-4.2"), "{text}");
    // Compared again: the golden file holds.
    let again = runner::run_scenario(
        &s,
        &RunOptions {
            golden_dir: Some(golden_dir),
            ..RunOptions::default()
        },
    )
    .expect("runs");
    assert!(again.passed(), "{:?}", again.failures);

    // A count that does not hold fails.
    let s = scenario(
        &dir,
        "dsmr42-three",
        &bytes,
        "run: { telegrams: 2 }\nexpect:\n  readings: 3\n",
        "dsmr-4.2",
    );
    let o = runner::run_scenario(&s, &RunOptions::default()).expect("runs");
    assert!(!o.passed());
}

#[test]
fn expected_values_are_checked() {
    let dir = temp_dir("values");
    let bytes = b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(42)\r\n1-0:1.8.1(001234.567*kWh)\r\n1-0:32.7.0(230.1*V)\r\n!".to_vec();
    let crc = meterlab_decoder::dsmr::crc::crc16_arc(&bytes);
    let mut bytes = bytes;
    bytes.extend(format!("{crc:04X}\r\n").into_bytes());
    let good = scenario(
        &dir,
        "good",
        &bytes,
        "run: { telegrams: 1 }\nexpect:\n  readings: 1\n  values: { \"1-0:1.8.1*255\": \"1234.567 kWh\", \"1-0:32.7.0*255\": \"230.1\" }\n",
        "dsmr-4.2",
    );
    let o = runner::run_scenario(&good, &RunOptions::default()).expect("runs");
    assert!(o.passed(), "{:?}", o.failures);
    let bad = scenario(
        &dir,
        "bad",
        &bytes,
        "run: { telegrams: 1 }\nexpect:\n  values: { \"1-0:1.8.1*255\": \"9999.999 kWh\" }\n",
        "dsmr-4.2",
    );
    let o = runner::run_scenario(&bad, &RunOptions::default()).expect("runs");
    assert!(
        o.failures.iter().any(|f| f.what.contains("9999.999")),
        "{:?}",
        o.failures
    );
}

#[test]
fn bad_captures_are_clear_errors() {
    let dir = temp_dir("bad");
    std::fs::write(
        dir.join("missing.yaml"),
        "meter: { profile: dsmr-5.0, capture: nope.hex }\nrun: { telegrams: 1 }\n",
    )
    .expect("write");
    let s = Scenario::load(&dir.join("missing.yaml")).expect("parses");
    let err = runner::run_scenario(&s, &RunOptions::default()).expect_err("no file");
    assert!(err.to_string().contains("nope.hex"), "{err}");
    std::fs::write(dir.join("empty.hex"), "").expect("write");
    std::fs::write(
        dir.join("empty.yaml"),
        "meter: { profile: dsmr-5.0, capture: empty.hex }\nrun: { telegrams: 1 }\n",
    )
    .expect("write");
    let s = Scenario::load(&dir.join("empty.yaml")).expect("parses");
    let err = runner::run_scenario(&s, &RunOptions::default()).expect_err("empty");
    assert!(err.to_string().contains("empty"), "{err}");
    // Binary noise replays (and decodes to errors), it does not panic.
    let noise: Vec<u8> = (0..2000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let s = scenario(
        &dir,
        "noise",
        &noise,
        "run: { telegrams: 1 }\n",
        "kaifa-ma309-evn",
    );
    let (got, _) = received(&s);
    assert_eq!(got, noise);
    runner::run_scenario(&s, &RunOptions::default()).expect("runs");
}
