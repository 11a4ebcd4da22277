//! Verdicts that cannot lie: a decoder under test that cannot start, crashes, is killed, runs
//! out of time or prints something that is not the reading format never passes — each against
//! a scenario an empty output would pass (it expects no readings).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INVERTED: &str = "scenarios/dsmr/dsmr-5.0-inverted-signal.yaml";
const READ_AT_9600: &str = "scenarios/dlms/dlms-evn-read-at-9600.yaml";

mod common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("verdict", name)
}

fn meterlab(args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("METERLAB_KEY")
        .env_remove("METERLAB_AUTH_KEY")
        .output()
        .expect("meterlab runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

/// Runs `scenario` with `decoder`; the exit code is 1 and the verdict `decoder-error`.
fn decoder_error(scenario: &str, decoder: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", scenario, "--decoder", decoder];
    args.extend_from_slice(extra);
    let (out, text) = meterlab(&args);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ERROR "), "{text}");
    assert!(
        text.lines()
            .any(|l| l == "0 passed, 0 failed, 1 decoder-error"),
        "{text}"
    );
    text
}

#[test]
fn the_empty_output_passes_these_scenarios() {
    // The baseline: a decoder that reads everything and says nothing passes both, so the
    // tests below fail only because of the decoder's conduct.
    for s in [INVERTED, READ_AT_9600] {
        let (out, text) = meterlab(&["run", s, "--decoder", "cat >/dev/null"]);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("1 passed, 0 failed"), "{text}");
    }
}

#[test]
fn a_decoder_that_cannot_start_is_a_decoder_error() {
    let text = decoder_error(INVERTED, "pyhton3 my_decoder.py", &[]);
    assert!(
        text.contains("exited with status 127: command not found"),
        "{text}"
    );
    assert!(
        text.contains("| ") && text.contains("pyhton3"),
        "stderr tail: {text}"
    );
    // The rerun hint repeats the decoder.
    assert!(
        text.contains(&format!(
            "rerun: meterlab run {INVERTED} --decoder 'pyhton3 my_decoder.py'"
        )),
        "{text}"
    );
}

#[test]
fn a_crashing_decoder_is_a_decoder_error_with_its_stderr() {
    let dir = temp_dir("crash");
    let script = dir.join("decoder.py");
    std::fs::write(
        &script,
        "import sys\ndata = sys.stdin.buffer.read()\nprint(len(data) + 'bytes')\n",
    )
    .expect("write");
    let json = dir.join("report.json");
    let junit = dir.join("junit.xml");
    let cmd = format!("python3 {}", script.display());
    let text = decoder_error(
        READ_AT_9600,
        &cmd,
        &[
            "--report",
            "json",
            json.to_str().expect("utf-8"),
            "--junit",
            junit.to_str().expect("utf-8"),
        ],
    );
    assert!(text.contains("exited with status 1"), "{text}");
    assert!(text.contains("TypeError"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parses");
    let s = &report["scenarios"][0];
    assert_eq!(s["verdict"], "decoder-error");
    assert_eq!(s["decoder_error"]["exit_status"], 1);
    assert!(s["decoder_error"]["stderr_tail"]
        .as_str()
        .is_some_and(|t| t.contains("TypeError")));
    assert_eq!(report["summary"]["decoder_error"], 1);
    assert_eq!(report["summary"]["passed"], 0);
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        xml.contains(r#"<error message="the decoder command"#),
        "{xml}"
    );
    assert!(xml.contains(r#"errors="1""#), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
}

#[test]
fn a_decoder_killed_by_a_signal_is_a_decoder_error() {
    let text = decoder_error(
        INVERTED,
        "cat >/dev/null; echo dying >&2; kill -SEGV $$",
        &[],
    );
    assert!(text.contains("killed by signal 11 (SIGSEGV)"), "{text}");
    assert!(text.contains("| dying"), "{text}");
}

#[test]
fn a_slow_decoder_is_killed_and_is_a_decoder_error() {
    let text = decoder_error(
        READ_AT_9600,
        "cat >/dev/null; echo thinking >&2; sleep 30",
        &["--decoder-timeout", "1"],
    );
    assert!(
        text.contains("did not finish within 1 s and was killed"),
        "{text}"
    );
    assert!(text.contains("| thinking"), "{text}");
    assert!(
        text.contains("--decoder-timeout 1"),
        "the rerun repeats the limit: {text}"
    );
}

#[test]
fn a_decoder_printing_junk_fails_naming_the_line() {
    let reading = r#"{"protocol":"dsmr","meter_id":null,"time":null,"values":[]}"#;
    for s in [INVERTED, READ_AT_9600] {
        let cmd = format!("cat >/dev/null; echo; echo 'Traceback: oops'; echo '{reading}'");
        let (out, text) = meterlab(&["run", s, "--decoder", &cmd]);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(" FAIL "), "{text}");
        assert!(
            text.contains("not a message of the reading format (docs/reading-format.md): output line 2: `Traceback: oops`"),
            "{text}"
        );
    }
}

#[test]
fn diffs_show_only_real_differences_with_a_summary() {
    // A decoder that drops the gas reading and writes every whole number with three decimals
    // (`999.000`): only the missing value is a difference, summarised in one line.
    let dir = temp_dir("diff");
    let script = dir.join("lossy.py");
    std::fs::write(
        &script,
        r#"import decimal, json, re, subprocess, sys
out = subprocess.run([sys.argv[1], "decode", "-"], stdin=sys.stdin, capture_output=True, text=True).stdout
for line in out.splitlines():
    m = json.loads(line, parse_float=decimal.Decimal)
    if "values" in m:
        m["values"] = [v for v in m["values"] if not v["id"].startswith("0-1:24.2.1")]
        for v in m["values"]:
            if isinstance(v["value"], (int, decimal.Decimal)) and not isinstance(v["value"], bool):
                text = format(v["value"], "f")
                v["value"] = "@@" + (text if "." in text else text + ".000") + "@@"
    print(re.sub(r'"@@(.*?)@@"', r"\1", json.dumps(m)))
"#,
    )
    .expect("write");
    let cmd = format!(
        "python3 {} '{}'",
        script.display(),
        env!("CARGO_BIN_EXE_meterlab")
    );
    let (out, text) = meterlab(&[
        "run",
        "scenarios/dsmr/dsmr-5.0-clean.yaml",
        "--decoder",
        &cmd,
    ]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let summary = text
        .lines()
        .find(|l| l.contains("wrong readings") && l.contains("missing"))
        .unwrap_or_else(|| panic!("no summary line: {text}"));
    assert!(
        summary.trim().starts_with("missing 0-1:24.2.1*255 in ")
            && summary.contains(" of ")
            && !summary.contains(';'),
        "one difference, summarised: {summary}\n{text}"
    );
    // The differing line of the first wrong reading, and no line that differs only in how a
    // number is written.
    assert_eq!(text.matches("-0-1:24.2.1*255 = ").count(), 1, "{text}");
    assert!(!text.contains("+1-0:"), "{text}");
    assert!(!text.contains("-1-0:"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
