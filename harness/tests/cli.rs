//! The `meterlab` command as a user runs it: exit codes, reports, `decode`, and an external
//! decoder under test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn meterlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("METERLAB_KEY")
        .env_remove("METERLAB_AUTH_KEY")
        .output()
        .expect("meterlab runs")
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("cli", name)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_passes_and_compares_golden_files() {
    let out = meterlab(&["run", "--filter", "dsmr-5.0-clean"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("PASS"), "{text}");
    assert!(text.lines().any(|l| l == "1 passed, 0 failed"), "{text}");
    assert!(
        !text.contains("no golden"),
        "the golden file must exist and match: {text}"
    );
}

#[test]
fn failing_scenario_exits_1_with_a_diff_and_reports() {
    let dir = temp_dir("fail");
    // Claims no CRC error where one byte is dropped: must fail.
    std::fs::write(
        dir.join("wrong-claim.yaml"),
        "meter: { profile: dsmr-5.0 }\nfaults:\n  - drop: { message: 1, offset: 100 }\nrun: { telegrams: 3 }\nseed: 5\nexpect: { readings: all }\n",
    )
    .expect("write scenario");
    let json = dir.join("report.json");
    let junit = dir.join("junit.xml");
    let out = meterlab(&[
        "run",
        dir.to_str().expect("utf-8 path"),
        "--no-golden",
        "--report",
        "json",
        json.to_str().expect("utf-8 path"),
        "--junit",
        junit.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains("expected all readings equal to the truth, got 2"),
        "{text}"
    );
    assert!(
        text.contains("unexpected `crc_mismatch` errors: 1"),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "0 passed, 1 failed"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json report"))
            .expect("valid json");
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["scenarios"][0]["seed"], 5);
    assert_eq!(report["scenarios"][0]["tally"]["errors"]["crc_mismatch"], 1);
    let xml = std::fs::read_to_string(&junit).expect("junit report");
    assert!(xml.contains(r#"<testcase name="wrong-claim""#), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("seed 5"), "{xml}");
}

#[test]
fn malformed_scenario_exits_2_with_file_line_and_column() {
    let dir = temp_dir("malformed");
    std::fs::write(
        dir.join("bad.yaml"),
        "meter: { profile: dsmr-5.0 }\nrun:\n  telegrams: many\n",
    )
    .expect("write");
    let out = meterlab(&["run", dir.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:3:"), "{err}");

    std::fs::write(
        dir.join("bad.yaml"),
        "meter: { profile: dsmr-9.9 }\nrun: { telegrams: 1 }\n",
    )
    .expect("write");
    let out = meterlab(&["run", dir.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown meter profile \"dsmr-9.9\""), "{err}");
}

#[test]
fn external_decoder_is_checked_against_the_truth() {
    // meterlab's own `decode` as the decoder under test; keys come in the environment.
    let cmd = format!(
        "{} decode --protocol dsmr -",
        env!("CARGO_BIN_EXE_meterlab")
    );
    let out = meterlab(&["run", "--filter", "dsmr-smarty-clean", "--decoder", &cmd]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A "decoder" that prints garbage fails every scenario.
    let out = meterlab(&[
        "run",
        "--filter",
        "dsmr-4.2-clean",
        "--decoder",
        "cat >/dev/null; echo not-json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("not a message of the reading format"),
        "{}",
        stdout(&out)
    );
    // A decoder that makes up values is caught.
    let fake = r#"cat >/dev/null; echo '{"protocol":"dsmr","meter_id":"x","time":null,"values":[{"id":"1-0:1.8.1*255","value":1,"unit":"kWh"}]}'"#;
    let out = meterlab(&["run", "--filter", "dsmr-4.2-clean", "--decoder", fake]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("wrong readings (matching no telegram the meter sent), got 1"),
        "{}",
        stdout(&out)
    );
}

/// An external decoder gets what the reference decoder got, and the protocol in
/// METERLAB_PROTOCOL: a dialogue reader's accepted data only (not a reply that came after the
/// master gave up, not bytes lost while the port was re-opened, R1 replies as data blocks),
/// and a capture that starts in the middle of a binary frame still goes to the right decoder.
#[test]
fn external_decoder_gets_the_reference_decoders_input() {
    // `meterlab decode` exits 1 when some message is an error; a decoder under test must exit 0
    // (any other status is a decoder error), so status 1 is accepted here.
    let cmd = format!("{} decode - || [ $? = 1 ]", env!("CARGO_BIN_EXE_meterlab"));
    for filter in [
        "iec-programming-right-password",
        "iec-reader-reopen-loses-data",
        "mbus-reply-too-late-strict-master",
        "mbus-secondary-scan",
        "dlms-aidon-reader-starts-mid-frame",
        "dsmr-2.2-noise-undetectable",
    ] {
        let out = meterlab(&["run", "--filter", filter, "--decoder", &cmd]);
        assert_eq!(out.status.code(), Some(0), "{filter}: {}", stdout(&out));
    }
}

#[test]
fn decode_reads_hex_and_raw_captures() {
    let dir = temp_dir("decode");
    let telegram = "/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(170102192002W)\r\n1-0:1.8.1(000004.426*kWh)\r\n!";
    let crc = crc::Crc::<u16>::new(&crc::CRC_16_ARC).checksum(telegram.as_bytes());
    let raw = format!("{telegram}{crc:04X}\r\n");
    std::fs::write(dir.join("t.txt"), &raw).expect("write");
    let out = meterlab(&["decode", dir.join("t.txt").to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout(&out);
    let msg: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    assert_eq!(msg["protocol"], "dsmr");
    assert_eq!(msg["time"], "2017-01-02T19:20:02+01:00");
    assert_eq!(msg["values"][1]["id"], "1-0:1.8.1*255");
    assert_eq!(msg["values"][1]["value"], 4.426);

    let hex: String = raw.bytes().map(|b| format!("{b:02x} ")).collect();
    std::fs::write(
        dir.join("t.hex"),
        format!("# a capture from a bug report\n{hex}\n"),
    )
    .expect("write");
    let out = meterlab(&["decode", dir.join("t.hex").to_str().expect("utf-8 path")]);
    assert_eq!(stdout(&out), line, "hex and raw captures decode the same");

    let broken = raw.replace("4.426", "4.427");
    std::fs::write(dir.join("b.txt"), broken).expect("write");
    let out = meterlab(&["decode", dir.join("b.txt").to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(r#""kind":"crc_mismatch""#),
        "{}",
        stdout(&out)
    );

    let out = meterlab(&[
        "decode",
        "--key",
        "1234",
        dir.join("b.txt").to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("1234"),
        "a key must never be echoed"
    );
}

#[test]
fn profiles_are_listed() {
    let out = meterlab(&["profiles"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for p in [
        "dsmr-2.2",
        "dsmr-4.2",
        "dsmr-5.0",
        "dsmr-emucs",
        "dsmr-smarty",
    ] {
        assert!(text.contains(p), "{p} missing from {text}");
    }
}

/// A two-direction M-Bus capture (libmbus#61): `meterlab decode` prints the master's requests
/// and the E5s as link messages, names the FC after a select a collision, and reads both
/// RSP_UDs; the collision is an error, so the exit status is 1.
#[test]
fn decode_prints_mbus_link_messages() {
    let capture =
        root().join("scenarios/bug-reports/libmbus-secondary-scan-collision-61.capture.hex");
    let out = meterlab(&["decode", capture.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(r#"{"link":{"kind":"snd_nke","direction":"to_meter","address":253,"offset":0}}"#)
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with(r#"{"link":"#))
            .count(),
        25
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with(r#"{"protocol":"mbus""#))
            .count(),
        2
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("skipped_bytes") && l.contains("collision")),
        "{text}"
    );
}
