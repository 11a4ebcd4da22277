//! `meterlab run --reader CMD` end to end: the scenario's meter runs in real time on a pty and
//! the reader is `meterlab decode` itself, reading the pty for a limited time. A few seconds per
//! test.
#![cfg(target_os = "linux")]

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_meterlab");

fn scenario_dir(name: &str, yaml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meterlab-reader-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join(format!("{name}.yaml")), yaml).expect("scenario written");
    dir
}

fn run(dir: &PathBuf, reader: &str) -> Output {
    let out = Command::new(BIN)
        .arg("run")
        .arg(dir)
        .args([
            "--color",
            "never",
            "--decoder-timeout",
            "10",
            "--reader",
            reader,
        ])
        .env_remove("METERLAB_PROTOCOL")
        .output()
        .expect("meterlab runs");
    let _ = std::fs::remove_dir_all(dir);
    out
}

/// Runs the scenarios in `dir` with their own `reader.command`; the output and its stdout.
fn run_named(dir: PathBuf) -> (Output, String) {
    let out = Command::new(BIN)
        .arg("run")
        .arg(&dir)
        .args(["--color", "never"])
        .env_remove("METERLAB_PROTOCOL")
        .output()
        .expect("meterlab runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

const DSMR: &str = "meter: { profile: dsmr-5.0, interval: 300ms }\nrun: { telegrams: 2 }\n";

#[test]
fn a_reader_on_the_pty_gets_every_telegram() {
    let dir = scenario_dir("dsmr-live", DSMR);
    let out = run(&dir, &format!("'{BIN}' decode --max-seconds 2 {{port}}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2/2"), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("decode --max-seconds 2"), "{stdout}");
}

#[test]
fn a_reader_over_tcp_gets_socket_url() {
    // `transport: tcp` in the scenario: {port} becomes socket://127.0.0.1:N.
    let dir = scenario_dir("dsmr-tcp", &format!("{DSMR}transport: tcp\n"));
    let out = run(&dir, &format!("'{BIN}' decode --max-seconds 2 {{port}}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("2/2"), "{stdout}");
    assert!(stdout.contains("over tcp"), "{stdout}");
}

#[test]
fn a_scenario_can_name_its_reader_program() {
    let dir = scenario_dir(
        "dsmr-named-reader",
        &format!(
            "{DSMR}reader: {{ command: \"'{BIN}' decode --max-seconds 2 {{port}}\" }}\nexpect: {{ readings: all, compare: printed }}\n"
        ),
    );
    let (out, stdout) = run_named(dir);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("2/2"), "{stdout}");
    assert!(stdout.contains("over pty"), "{stdout}");
    // The reader program is what was under test, not the reference decoder.
    assert!(
        stdout.contains("decoder under test: '/") && stdout.contains("decode --max-seconds 2"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("decoder under test: reference"),
        "{stdout}"
    );
}

#[test]
fn a_reader_that_never_sets_its_baud_gets_garbage_when_the_pty_follows_it() {
    // `meterlab decode` opens the pty as a file and leaves its baud rate alone (38400 on a
    // fresh pty): with `reader.follow_baud`, a 115200 meter gives it what a UART at 38400 would.
    let dir = scenario_dir(
        "dsmr-follow-baud",
        &format!(
            "{DSMR}reader: {{ command: \"'{BIN}' decode --max-seconds 2 {{port}} || [ $? = 1 ]\", follow_baud: true }}\nexpect: {{ readings: 0 }}\n"
        ),
    );
    let (out, stdout) = run_named(dir);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("0/2"), "{stdout}");
    assert!(stdout.contains(" 0 wrong"), "{stdout}");
}

#[test]
fn a_made_up_reading_is_wrong() {
    let dir = scenario_dir("dsmr-made-up", DSMR);
    let line = r#"{"protocol":"dsmr","meter_id":"X","time":null,"values":[]}"#;
    let out = run(&dir, &format!("echo '{line}'"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("wrong readings"), "{stdout}");
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

#[test]
fn a_reader_that_fails_as_a_program_is_a_decoder_error() {
    // Exits with status 3 by itself, printing nothing: what a push meter's scenario expecting
    // no readings would accept, were the exit status dropped.
    let yaml = format!("{DSMR}expect: {{ readings: 0 }}\n");
    let dir = scenario_dir("dsmr-reader-exits-3", &yaml);
    let out = run(&dir, "echo 'no such port' >&2; exit 3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("exited with status 3"), "{stdout}");
    assert!(stdout.contains("| no such port"), "{stdout}");
    assert!(stdout.contains("1 decoder-error"), "{stdout}");
    // One that runs past the time limit is killed: a decoder error too.
    let dir = scenario_dir("dsmr-reader-hangs", &yaml);
    let out = Command::new(BIN)
        .arg("run")
        .arg(&dir)
        .args([
            "--color",
            "never",
            "--decoder-timeout",
            "1",
            "--reader",
            "sleep 30",
        ])
        .env_remove("METERLAB_PROTOCOL")
        .output()
        .expect("meterlab runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("did not finish within 1 s"), "{stdout}");
    assert!(stdout.contains("1 decoder-error"), "{stdout}");
}

#[test]
fn long_scenarios_and_decoder_are_refused() {
    let dir = scenario_dir(
        "dsmr-long",
        "meter: { profile: dsmr-5.0 }\nrun: { duration: 2min }\n",
    );
    let out = run(&dir, "true");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("run.duration is over 60 s"), "{stderr}");

    let out = Command::new(BIN)
        .args(["run", "--reader", "true", "--decoder", "cat"])
        .output()
        .expect("meterlab runs");
    assert_eq!(out.status.code(), Some(2));
}
