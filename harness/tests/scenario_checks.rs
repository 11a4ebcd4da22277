//! Scenario files that catch mistakes: every check made when a scenario is loaded, each on a bad
//! file in a temporary directory, with the error's `file:line:column` and its words; and the
//! check after a run that every fault took effect.

use std::path::{Path, PathBuf};
use std::process::Command;

use meterlab_harness::runner::{self, RunOptions};
use meterlab_harness::scenario::{self, Count, Scenario, ERROR_KINDS};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meterlab-checks-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes `text` as `DIR/bad.yaml` and returns the error `load_all` gives for it.
fn load_error(name: &str, text: &str) -> String {
    let dir = temp_dir(name);
    let file = dir.join("bad.yaml");
    std::fs::write(&file, text).expect("write");
    let errors = scenario::load_all(std::slice::from_ref(&dir), None).expect_err("a bad scenario");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let text = errors[0].to_string();
    let prefix = file.display().to_string();
    text.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("the error names the file: {text}"))
        .to_string()
}

#[test]
fn unknown_error_kind_is_located_and_the_kinds_listed() {
    let err = load_error(
        "kind",
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nexpect:\n  readings: 2\n  errors:\n    crc_mismatch: 1\n    crc_mismach: 1\n",
    );
    assert!(err.starts_with(":7:5: "), "{err}");
    assert!(err.contains("unknown error kind \"crc_mismach\""), "{err}");
    for kind in ERROR_KINDS {
        assert!(err.contains(kind), "{kind} missing from {err}");
    }
}

#[test]
fn unknown_profile_is_located() {
    let err = load_error(
        "profile",
        "description: x\nmeter:\n  profile: dsmr-9.9\nrun: { telegrams: 3 }\n",
    );
    assert!(err.starts_with(":3:3: "), "{err}");
    assert!(err.contains("unknown meter profile \"dsmr-9.9\""), "{err}");
    assert!(err.contains("dsmr-5.0"), "the profiles are listed: {err}");
}

#[test]
fn key_of_the_wrong_length_is_located_and_not_printed() {
    let err = load_error(
        "key",
        "meter:\n  profile: dsmr-smarty\n  gas: true\n  key: 00112233445566778899AABBCCDDEE\nrun: { telegrams: 3 }\n",
    );
    assert!(err.starts_with(":4:3: "), "{err}");
    assert!(err.contains("meter option `key`"), "{err}");
    assert!(!err.contains("00112233"), "a key is never printed: {err}");
}

#[test]
fn option_of_another_protocol_is_located() {
    let err = load_error(
        "option",
        "meter: { profile: dsmr-5.0, primary_address: 5 }\nrun: { telegrams: 3 }\n",
    );
    assert!(err.starts_with(":1:29: "), "{err}");
    // serde's own rejection, by the DSMR options struct: the option by name.
    assert!(err.contains("unknown field `primary_address`"), "{err}");
    assert!(err.contains("dsmr-5.0 is a DSMR P1 profile"), "{err}");
    // Block style, the option after a valid one: its own line and column.
    let err = load_error(
        "option-block",
        "meter:\n  profile: dsmr-4.2\n  gas: true\n  reply_delay_ms: 40\nrun: { telegrams: 3 }\n",
    );
    assert!(err.starts_with(":4:3: "), "{err}");
    assert!(err.contains("meter option `reply_delay_ms`"), "{err}");
    assert!(err.contains("unknown field `reply_delay_ms`"), "{err}");
    // An IEC option on an M-Bus slave, and an M-Bus option on a DLMS meter.
    let err = load_error(
        "option-iec",
        "meter: { profile: mbus-heat, password: \"0000\" }\nrun: { duration: 10s }\n",
    );
    assert!(err.contains("unknown field `password`"), "{err}");
    assert!(
        err.contains("`primary_address`"),
        "the M-Bus options are listed: {err}"
    );
    let err = load_error(
        "option-dlms",
        "meter:\n  profile: aidon-han\n  ci: 0x78\nrun: { telegrams: 1 }\n",
    );
    assert!(err.starts_with(":3:3: "), "{err}");
    assert!(err.contains("unknown field `ci`"), "{err}");
}

#[test]
fn a_dialogue_the_meter_does_not_speak_is_located() {
    let err = load_error(
        "mbus",
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nreader:\n  mbus:\n    steps: [ { req_ud2: { address: 0 } } ]\n",
    );
    assert!(err.starts_with(":4:3: "), "{err}");
    assert!(
        err.contains("only M-Bus meters take a master script"),
        "{err}"
    );
    let err = load_error(
        "iec",
        "meter: { profile: iec-mode-d }\nrun: { telegrams: 3 }\nreader: { iec: { address: \"1\" } }\n",
    );
    assert!(err.starts_with(":3:11: "), "{err}");
    assert!(err.contains("iec-mode-d pushes its data"), "{err}");
}

#[test]
fn missing_run_is_an_error() {
    let err = load_error("run", "meter: { profile: dsmr-5.0 }\nseed: 3\n");
    assert!(err.starts_with(":1:1: "), "{err}");
    assert!(err.contains("missing field `run`"), "{err}");
    assert!(err.contains("run: { telegrams: N }"), "{err}");
}

#[test]
fn a_tab_is_called_a_tab() {
    let err = load_error("tab", "meter:\n  profile: dsmr-5.0\nrun:\n\ttelegrams: 3\n");
    assert!(err.starts_with(":4:1: "), "{err}");
    assert!(err.contains("tab"), "{err}");
}

#[test]
fn sizes_are_bounded() {
    let cases = [
        (
            "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 1000000000 }\n",
            ":2:8: ",
            "run.telegrams: 1000000000 is more than the limit of 4000",
        ),
        (
            "meter: { profile: dsmr-5.0 }\nrun:\n  duration: 48h\n",
            ":3:3: ",
            "run.duration: 172800 s is longer than the limit of 3600 s",
        ),
        (
            "meter: { profile: dsmr-5.0, interval: 10ms }\nrun: { duration: 1h }\n",
            ":1:29: ",
            "run.duration 3600 s with a push every 10 ms makes 360000 pushes, more than the limit of 4000",
        ),
        (
            "meter:\n  profile: kaifa-han\n  interval: 500ms\nrun: { duration: 40min }\n",
            ":3:3: ",
            "run.duration 2400 s with a push every 500 ms makes 4800 pushes, more than the limit of 4000",
        ),
        (
            "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nfaults:\n  - noise: { ber: 1.0e-3 }\n  - junk: { len: 1000000 }\n",
            ":5:3: ",
            "1000000 bytes of junk, more than the limit of 65536",
        ),
        (
            "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nfaults:\n  - garbage: { every: 2, len: 4 }\n",
            ":4:3: ",
            "adds 2 bytes of garbage per byte sent, more than the limit of 1",
        ),
        (
            "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nreader: { read_size: 100000000 }\n",
            ":3:11: ",
            "reader.read_size: 100000000 is more than the limit",
        ),
        (
            "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nreader:\n  start: 2h\n",
            ":4:3: ",
            "reader.start: 7200 s is later than the limit of 3600 s",
        ),
    ];
    for (i, (text, place, words)) in cases.iter().enumerate() {
        let err = load_error(&format!("size{i}"), text);
        assert!(err.starts_with(place), "{text}: {err}");
        assert!(err.contains(words), "{text}: {err}");
    }
}

#[test]
fn others_any_allows_every_other_kind_and_only_any() {
    let dir = temp_dir("others");
    let file = dir.join("others.yaml");
    std::fs::write(
        &file,
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nfaults:\n  - drop: { message: 1, offset: 5 }\nexpect:\n  readings: 2\n  errors: { others: any }\n",
    )
    .expect("write");
    let s = Scenario::load(&file).expect("loads");
    assert!(s.spec.expect.errors.allows("crc_mismatch"));
    assert_eq!(s.spec.expect.errors.get("crc_mismatch"), None);
    let o = runner::run_scenario(&s, &RunOptions::default()).expect("runs");
    assert_eq!(o.tally.errors.get("crc_mismatch"), Some(&1), "{o:?}");
    assert!(o.passed(), "{:?}", o.failures);

    // Without `others: any`, the same run fails on the unlisted kind.
    std::fs::write(
        &file,
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nfaults:\n  - drop: { message: 1, offset: 5 }\nexpect: { readings: 2 }\n",
    )
    .expect("write");
    let s = Scenario::load(&file).expect("loads");
    let o = runner::run_scenario(&s, &RunOptions::default()).expect("runs");
    assert!(!o.passed());
    let _ = std::fs::remove_dir_all(&dir);

    let err = load_error(
        "others-count",
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nexpect:\n  errors: { truncated: any, others: 2 }\n",
    );
    assert!(err.starts_with(":4:"), "{err}");
    assert!(err.contains("only `others: any`"), "{err}");
    assert_eq!("any".parse::<Count>(), Ok(Count::Any));
}

#[test]
fn a_fault_that_never_took_effect_fails_unless_optional() {
    let dir = temp_dir("unapplied");
    let file = dir.join("unapplied.yaml");
    // Message 9 is never sent: the drop does nothing.
    let text = "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nfaults:\n  - drop: { message: 1, offset: 5 }\n  - drop: { message: 9, offset: 5 }\nexpect:\n  readings: 2\n  errors: { crc_mismatch: 1 }\n";
    std::fs::write(&file, text).expect("write");
    let s = Scenario::load(&file).expect("loads");
    let o = runner::run_scenario(&s, &RunOptions::default()).expect("runs");
    let whats: Vec<&str> = o.failures.iter().map(|f| f.what.as_str()).collect();
    assert_eq!(
        whats,
        ["fault 2 (`drop message 9 offset 5`) never took effect; change it so it does, or mark it `optional: true`"]
    );

    let optional = text.replace(
        "  - drop: { message: 9, offset: 5 }\n",
        "  - drop: { message: 9, offset: 5 }\n    optional: true\n",
    );
    std::fs::write(&file, optional).expect("write");
    let s = Scenario::load(&file).expect("loads");
    assert_eq!(s.spec.optional_faults, [1]);
    let o = runner::run_scenario(&s, &RunOptions::default()).expect("runs");
    assert!(o.passed(), "{:?}", o.failures);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_command_line_shows_the_location_and_exits_2() {
    let dir = temp_dir("cli");
    std::fs::write(
        dir.join("bad.yaml"),
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nexpect:\n  errors: { crc: 1 }\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(["run", "--no-golden"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("meterlab runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:4:13: "), "{err}");
    assert!(err.contains("unknown error kind \"crc\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_scenario_of_the_repository_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["scenarios", "readers/scenarios"] {
        let loaded = scenario::load_all(&[root.join(dir)], None);
        assert!(loaded.is_ok(), "{dir}: {:?}", loaded.err());
    }
}

#[test]
fn a_fault_id_is_read_and_two_faults_may_not_share_one() {
    let ok = Scenario::parse(
        Path::new("id.yaml"),
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nfaults:\n  - drop: { rate: 0.01 }\n    id: flaky-adapter\n    optional: true\n",
    )
    .expect("a fault with an id");
    assert_eq!(ok.spec.faults[0].id(), Some("flaky-adapter"));
    assert_eq!(ok.spec.faults[0].name(), "drop");
    assert_eq!(ok.spec.optional_faults, vec![0]);
    let err = load_error(
        "fault-id",
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 3 }\nfaults:\n  - drop: { rate: 0.01 }\n    id: a\n  - gap: { rate: 0.01, ms: 5 }\n    id: a\n",
    );
    assert!(err.starts_with(":6:3: "), "{err}");
    assert!(
        err.contains("id \"a\" is given to an earlier fault too"),
        "{err}"
    );
}
