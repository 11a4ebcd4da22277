//! Every number on the command line of `sim`, `loopback` and `run` is checked: zero, negative,
//! huge, NaN and malformed values give a clear error naming the option and exit code 2, never a
//! panic and never a run.

use std::process::{Command, Output};

fn meterlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(args)
        .env_remove("METERLAB_KEY")
        .env_remove("METERLAB_AUTH_KEY")
        .output()
        .expect("meterlab runs")
}

/// `args` is refused: exit 2, an error that names `option`, no panic, nothing on stdout.
fn refused(args: &[&str], option: &str) {
    let out = meterlab(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains("error"), "{args:?}: {stderr}");
    assert!(
        stderr.contains(option),
        "{args:?} does not name {option}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
}

/// `base` followed by `--option=value` is refused for each value.
fn refused_values(base: &[&str], option: &str, values: &[&str]) {
    for v in values {
        let arg = format!("{option}={v}");
        let mut args = base.to_vec();
        args.push(&arg);
        refused(&args, option);
    }
}

/// Not whole numbers, or too big for any integer option.
const BAD_INTEGERS: &[&str] = &[
    "-1",
    "NaN",
    "inf",
    "1.5",
    "1e3",
    "",
    "18446744073709551616",
    "99999999999999999999999",
];

const SIM: &[&str] = &["sim", "dsmr-5.0", "--stdout", "--count", "1"];

#[test]
fn sim_baud_seed_and_count() {
    refused_values(SIM, "--baud", BAD_INTEGERS);
    refused_values(
        SIM,
        "--baud",
        &["0", "12000001", "4294967295", "4294967296"],
    );
    // Checked before the port opens, though a format is text, not a number.
    refused_values(SIM, "--format", &["", "9Q9", "8N1 sideways", "8N99"]);
    refused_values(SIM, "--seed", BAD_INTEGERS);
    refused_values(&["sim", "dsmr-5.0", "--stdout"], "--count", BAD_INTEGERS);
    refused_values(&["sim", "dsmr-5.0", "--stdout"], "--count", &["0"]);
}

#[test]
fn sim_interval() {
    refused_values(
        SIM,
        "--interval",
        &[
            "1ns", "1us", "9ms", "0s", "-1s", "NaNs", "infs", "1e30s", "1e400h", "10", "s", "",
        ],
    );
}

#[test]
fn sim_address() {
    refused_values(
        &["sim", "mbus-heat", "--stdout", "--count", "1"],
        "--address",
        &[
            "251",
            "255",
            "256",
            "-1",
            "NaN",
            "",
            " ",
            "0x10",
            "99999999999999999999",
        ],
    );
    refused_values(
        &["sim", "iec-mode-c", "--stdout", "--count", "1"],
        "--address",
        &["", "/?!", "123456789012345678901234567890123"],
    );
}

#[test]
fn sim_keys_and_faults() {
    refused_values(
        SIM,
        "--key",
        &["", "  ", "abc", "zz91470F47126332B07D1923B3504188"],
    );
    refused_values(SIM, "--auth-key", &["", "abc"]);
    refused_values(
        SIM,
        "--fault",
        &[
            "noise: { ber: .nan }",
            "noise: { ber: 1.0e300 }",
            "noise: { ber: -1 }",
        ],
    );
}

#[test]
fn loopback_numbers() {
    // Refused before any port is opened: /dev/null is no serial port, and the error must be
    // about the number.
    let base = ["loopback", "--tx", "/dev/null"];
    refused_values(
        &base,
        "--seconds",
        &["NaN", "inf", "-inf", "-1", "1e19", "86401", "x", ""],
    );
    refused_values(&base, "--baud", BAD_INTEGERS);
    refused_values(&base, "--baud", &["0", "12000001", "9600,0"]);
}

#[test]
fn run_numbers() {
    // A scenario that does not exist: a number that were accepted would give a different
    // error (no scenarios found), so each refusal is the number's.
    let base = ["run", "no-such-dir"];
    refused_values(&base, "--jobs", BAD_INTEGERS);
    refused_values(&base, "--jobs", &["0", "1025"]);
    for option in ["--decoder-timeout", "--line-timeout"] {
        refused_values(&base, option, BAD_INTEGERS);
        refused_values(&base, option, &["0", "2592001", "18446744073709551615"]);
    }
    refused_values(&base, "--seed", BAD_INTEGERS);
}

#[test]
fn sim_interval_shorter_than_a_telegram_drops_pushes_with_a_warning() {
    // dsmr-5.0 at 115200 baud: a telegram takes ~60 ms on the line; every 20 ms a push is due.
    let out = meterlab(&[
        "sim",
        "dsmr-5.0",
        "--interval",
        "20ms",
        "--count",
        "3",
        "--stdout",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("dropped"), "{stderr}");
    // Three whole telegrams, each with its CRC line; nothing queued behind them.
    assert_eq!(out.stdout.iter().filter(|&&b| b == b'!').count(), 3);
    assert!(out.stdout.starts_with(b"/"));
}
