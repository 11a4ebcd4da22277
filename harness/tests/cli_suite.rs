//! `meterlab run` in a decoder's CI: expectations files (the ratchet), selection, partitions,
//! seed sweeps, and the built-in suite outside the checkout.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_meterlab");

mod common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("suite", name)
}

fn meterlab_in(dir: &Path, args: &[&str]) -> (Output, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("METERLAB_KEY")
        .env_remove("METERLAB_AUTH_KEY")
        .env_remove("RUST_LOG")
        .output()
        .expect("meterlab runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

fn meterlab(args: &[&str]) -> (Output, String) {
    meterlab_in(&root(), args)
}

/// The names `run --list` prints for `args`.
fn listed(args: &[&str]) -> Vec<String> {
    let mut all = vec!["run", "--list"];
    all.extend_from_slice(args);
    let (out, text) = meterlab(&all);
    assert_eq!(out.status.code(), Some(0), "{text}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("scenarios/"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// A decoder that prints nothing: it passes scenarios expecting no readings and fails the rest.
const SILENT: &str = "cat >/dev/null";

#[test]
fn expected_failures_keep_ci_green_until_one_passes() {
    let dir = temp_dir("expect");
    let expect = dir.join("expect.yaml");
    let expect_s = expect.to_str().expect("utf-8");
    // Day one: a silent decoder fails dsmr-5.0-clean and passes dsmr-5.0-inverted-signal.
    let filters = [
        "--filter",
        "dsmr-5.0-clean",
        "--filter",
        "dsmr-5.0-inverted-signal",
    ];
    let mut args = vec!["run", "--decoder", SILENT, "--write-expect", expect_s];
    args.extend_from_slice(&filters);
    let (out, text) = meterlab(&args);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let written = std::fs::read_to_string(&expect).expect("written");
    assert!(written.contains("scenario: dsmr-5.0-clean"), "{written}");
    assert!(written.contains("fail:"), "{written}");
    assert!(!written.contains("inverted-signal"), "{written}");

    // With the list, the same run is green: the failure is expected.
    let mut args = vec!["run", "--decoder", SILENT, "--expect", expect_s];
    args.extend_from_slice(&filters);
    let (out, text) = meterlab(&args);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("XFAIL  dsmr-5.0-clean"), "{text}");
    assert!(
        text.contains("1 passed, 0 failed, 1 expected-fail"),
        "{text}"
    );

    // The list names a scenario that now passes: the run fails and says to remove it.
    std::fs::write(
        &expect,
        "- scenario: dsmr-5.0-inverted-signal\n  fail: no inverted lines yet\n- scenario: 'dsmr-5.0-c*'\n  skip: not yet\n- scenario: no-such-scenario\n  fail: typo\n",
    )
    .expect("write");
    let junit = dir.join("junit.xml");
    let mut args = vec![
        "run",
        "--decoder",
        SILENT,
        "--expect",
        expect_s,
        "--junit",
        junit.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(&filters);
    let (out, text) = meterlab(&args);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("XPASS  dsmr-5.0-inverted-signal"), "{text}");
    assert!(
        text.contains("but it passes now: remove it from the list"),
        "{text}"
    );
    assert!(text.contains(" SKIP  dsmr-5.0-clean"), "{text}");
    assert!(text.contains("1 unexpected-pass, 1 skipped"), "{text}");
    assert!(
        text.contains("`no-such-scenario` matches no scenario"),
        "{text}"
    );
    assert!(
        text.contains(&format!("--expect {expect_s}")),
        "rerun repeats --expect: {text}"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        xml.contains(r#"<skipped message="skip: not yet"/>"#),
        "{xml}"
    );
    assert!(xml.contains(r#"type="unexpected-pass""#), "{xml}");

    // A malformed list is bad input, with its location.
    std::fs::write(&expect, "- scenario: x\n  fail: a\n  skip: b\n").expect("write");
    let (out, text) = meterlab(&["run", "--expect", expect_s, "--filter", "dsmr-5.0-clean"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("exactly one of `fail: REASON` and `skip: REASON`"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn selection_by_name_protocol_and_tag() {
    let all = listed(&[]);
    assert!(all.len() >= 50, "{}", all.len());
    // Several filters: any of them; globs match whole names.
    let two = listed(&["--filter", "dsmr-5.0-clean", "--filter", "iec-mode-?-clean"]);
    assert_eq!(
        two,
        [
            "dsmr-5.0-clean",
            "iec-mode-a-clean",
            "iec-mode-b-clean",
            "iec-mode-c-clean"
        ],
        "{two:?}"
    );
    let dlms = listed(&["--protocol", "dlms"]);
    assert!(
        !dlms.is_empty() && dlms.iter().all(|n| n.starts_with("dlms-")),
        "{dlms:?}"
    );
    // Wireless M-Bus scenarios are M-Bus scenarios too (one `Protocol::Mbus`).
    let mbus_iec = listed(&["--protocol", "mbus,iec"]);
    assert!(
        mbus_iec
            .iter()
            .all(|n| n.starts_with("mbus-") || n.starts_with("wmbus-") || n.starts_with("iec-")),
        "{mbus_iec:?}"
    );
    // Tags derived from the scenario: smarty and EVN meters are encrypted, a noise fault is a
    // line fault.
    let encrypted = listed(&["--tag", "encrypted"]);
    assert!(
        encrypted.contains(&"dsmr-smarty-clean".to_string()),
        "{encrypted:?}"
    );
    assert!(
        encrypted.contains(&"dlms-evn-no-key".to_string()),
        "{encrypted:?}"
    );
    assert!(
        !encrypted.contains(&"dsmr-5.0-clean".to_string()),
        "{encrypted:?}"
    );
    let noisy_dsmr = listed(&["--protocol", "dsmr", "--tag", "line-fault"]);
    assert!(
        noisy_dsmr.contains(&"dsmr-5.0-noise-1e-4".to_string()),
        "{noisy_dsmr:?}"
    );
    assert!(
        !noisy_dsmr.contains(&"dsmr-5.0-clean".to_string()),
        "{noisy_dsmr:?}"
    );
    // --exclude takes names and tags.
    let left = listed(&[
        "--protocol",
        "dsmr",
        "--exclude",
        "line-fault",
        "--exclude",
        "*smarty*",
    ]);
    assert!(left.contains(&"dsmr-5.0-clean".to_string()), "{left:?}");
    assert!(
        left.iter()
            .all(|n| !n.contains("smarty") && !noisy_dsmr.contains(n)),
        "{left:?}"
    );
    // A `tags:` field in the scenario file adds its own.
    let dir = temp_dir("tags");
    std::fs::write(
        dir.join("mine.yaml"),
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 1 }\ntags: [my-bug]\n",
    )
    .expect("write");
    let (out, text) = meterlab_in(&dir, &["run", "--list", "--tag", "my-bug", "."]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("mine") && text.contains("my-bug"), "{text}");
    let (out, text) = meterlab(&["run", "--protocol", "zigbee"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn partitions_cover_the_suite_once() {
    let all = listed(&[]);
    for n in [1usize, 3, 4] {
        let mut seen = Vec::new();
        for k in 1..=n {
            let part = listed(&["--partition", &format!("{k}/{n}")]);
            // Balanced, and the same every time.
            assert!(part.len() >= all.len() / n && part.len() <= all.len() / n + 1);
            assert_eq!(part, listed(&["--partition", &format!("{k}/{n}")]));
            seen.extend(part);
        }
        assert_eq!(seen.len(), all.len(), "every scenario once for N = {n}");
        let union: BTreeSet<&String> = seen.iter().collect();
        let suite: BTreeSet<&String> = all.iter().collect();
        assert_eq!(union, suite, "N = {n}");
    }
    // Partitions apply to the selection.
    let dsmr = listed(&["--protocol", "dsmr"]);
    let halves = [
        listed(&["--protocol", "dsmr", "--partition", "1/2"]),
        listed(&["--protocol", "dsmr", "--partition", "2/2"]),
    ];
    assert_eq!(halves[0].len() + halves[1].len(), dsmr.len());
    for bad in ["0/2", "3/2", "x"] {
        let (out, text) = meterlab(&["run", "--list", "--partition", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {text}");
    }
}

#[test]
fn a_seed_sweep_finds_what_one_seed_misses() {
    let dir = temp_dir("seeds");
    let own = dir.join("own.bin");
    let own_s = own.to_str().expect("utf-8");
    // The reference decoder passes every seed; goldens are compared for its own seed only.
    let (out, text) = meterlab(&["run", "scenarios/iec/iec-mode-c-clean.yaml", "--seeds", "3"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("seeds 0/3 failed"), "{text}");
    assert!(!text.contains("GOLDEN"), "{text}");
    let file = dir.join("one-telegram.yaml");
    std::fs::write(
        &file,
        "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 1 }\nseed: 3\nexpect: { readings: all }\n",
    )
    .expect("write");
    let scenario = file.to_str().expect("utf-8");
    // A decoder that only knows the bytes of the scenario's own seed: right there, a decoder
    // error under any other seed (another household, other readings).
    let (out, text) = meterlab(&[
        "run",
        scenario,
        "--decoder",
        &format!("tee {own_s} | '{BIN}' decode -"),
    ]);
    assert!(text.contains("1 passed"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
    let picky =
        format!("cat > {own_s}.in; cmp -s {own_s}.in {own_s} || exit 9; '{BIN}' decode {own_s}");
    let (out, text) = meterlab(&["run", scenario, "--decoder", &picky]);
    assert_eq!(out.status.code(), Some(0), "its own seed passes: {text}");
    let (out, text) = meterlab(&["run", scenario, "--decoder", &picky, "--seeds", "4"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("fails under 4 of 4 further seeds"), "{text}");
    let first: u64 = text
        .split("(first ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no first failing seed: {text}"));
    assert!(text.contains(&format!("--seed {first}")), "{text}");
    // The same seeds every time, and the seed reruns alone.
    let (_, again) = meterlab(&["run", scenario, "--decoder", &picky, "--seeds", "4"]);
    assert!(again.contains(&format!("(first {first})")), "{again}");
    let (out, text) = meterlab(&[
        "run",
        scenario,
        "--decoder",
        &picky,
        "--seed",
        &first.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("exited with status 9"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_built_in_suite_runs_outside_the_checkout() {
    let dir = temp_dir("builtin");
    // No scenarios/ here: the suite in the binary, with its golden files.
    let (out, text) = meterlab_in(
        &dir,
        &[
            "run",
            "--filter",
            "dsmr-5.0-dropped-byte",
            "--filter",
            "iec-mode-c-clean",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("2 passed, 0 failed"), "{text}");
    assert!(
        !text.contains("GOLDEN"),
        "golden files are built in: {text}"
    );
    assert!(text.contains("the built-in suite"), "{text}");
    let (out, text) = meterlab_in(&dir, &["run", "--list"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.matches("scenarios/").count(),
        listed(&[]).len(),
        "{text}"
    );

    // Exported, it is the checkout's suite, and `meterlab run` there uses the copy.
    let (out, text) = meterlab_in(&dir, &["scenarios", "export", "suite"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let copy = dir.join("suite");
    for f in [
        "scenarios/dsmr/dsmr-5.0-clean.yaml",
        "golden/dsmr-5.0-clean.snap",
    ] {
        assert_eq!(
            std::fs::read(copy.join(f)).expect("exported"),
            std::fs::read(root().join(f)).expect("in the checkout"),
            "{f}"
        );
    }
    // A scenario whose golden file is missing says so and does not pass.
    std::fs::remove_file(copy.join("golden/dsmr-5.0-clean.snap")).expect("remove");
    let (out, text) = meterlab_in(&copy, &["run", "--filter", "dsmr-5.0-clean"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("NO GOLDEN FILE"), "{text}");
    assert!(
        text.contains("no golden file golden/dsmr-5.0-clean.snap"),
        "{text}"
    );
    let (out, text) = meterlab_in(&copy, &["run", "--filter", "dsmr-5.0-clean", "--no-golden"]);
    assert_eq!(out.status.code(), Some(0), "--no-golden explores: {text}");
    // An edited scenario is not overwritten by a second export without --force.
    std::fs::write(copy.join("scenarios/dsmr/dsmr-5.0-clean.yaml"), "edited").expect("write");
    let (out, text) = meterlab_in(&dir, &["scenarios", "export", "suite"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("--force"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
