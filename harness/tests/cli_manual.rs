//! What the command line says about itself: completion scripts, man pages, the examples at the
//! end of every subcommand's `--help`, and log lines on stderr without colours or timestamps
//! unless asked for.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn meterlab(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env_remove("METERLAB_PROTOCOL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterlab starts");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin).expect("stdin");
    }
    child.wait_with_output().expect("meterlab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _meterlab"),
        ("zsh", "#compdef meterlab"),
        ("fish", "complete -c meterlab"),
    ] {
        let out = meterlab(&["completions", shell], b"");
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for word in ["run", "decode", "sim", "decoder", "junit"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let out = meterlab(&["completions", "tcsh"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_page_from_the_clap_definitions() {
    let out = meterlab(&["man"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.contains(".TH meterlab 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    assert!(page.contains("meterlab\\-run"), "{page}");

    let dir = std::env::temp_dir().join(format!("meterlab-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = meterlab(&["man", "--out", dir.to_str().expect("utf-8")], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for name in [
        "meterlab",
        "meterlab-run",
        "meterlab-decode",
        "meterlab-sim",
    ] {
        let page = std::fs::read_to_string(dir.join(format!("{name}.1"))).expect(name);
        assert!(page.contains(&format!(".TH {name} 1")), "{page}");
    }
    let run = std::fs::read_to_string(dir.join("meterlab-run.1")).expect("run page");
    assert!(run.contains("\\-\\-decoder"), "{run}");
    assert!(run.contains("Examples:"), "{run}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    // Every subcommand clap knows, so that a new one cannot be left without examples.
    use clap::CommandFactory;
    let subcommands: Vec<String> = meterlab_harness::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(subcommands.len() >= 10, "{subcommands:?}");
    for sub in subcommands.iter().map(String::as_str) {
        let out = meterlab(&[sub, "--help"], b"");
        assert_eq!(out.status.code(), Some(0), "{sub}");
        let help = text(&out.stdout);
        let (_, examples) = help
            .rsplit_once("Examples:\n")
            .unwrap_or_else(|| panic!("{sub} --help has no examples: {help}"));
        let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!lines.is_empty(), "{sub}");
        for line in lines {
            assert!(
                line.trim_start().starts_with("meterlab ")
                    || line.trim_start().starts_with("METERLAB_KEY"),
                "{sub}: not an example: {line:?}"
            );
            assert!(line.contains(&format!(" {sub}")), "{sub}: {line:?}");
        }
    }
}

/// Bytes no decoder recognises: `decode` warns that it could not tell the protocol.
const NOT_A_METER: &[u8] = b"hello, this is not a meter\n";

fn warning_line(args: &[&str]) -> String {
    let out = meterlab(args, NOT_A_METER);
    let err = text(&out.stderr);
    err.lines()
        .find(|l| l.contains("could not tell the protocol"))
        .unwrap_or_else(|| panic!("no warning in {err:?}"))
        .to_string()
}

/// Whether a log line starts with an RFC 3339 timestamp (`2026-12-04T18:30:00.123Z`).
fn has_timestamp(line: &str) -> bool {
    // Without escape sequences (`ESC [ 2 m`).
    let mut parts = line.split('\u{1b}');
    let mut plain = parts.next().unwrap_or("").to_string();
    for part in parts {
        let code_end = part.find('m').map_or(0, |i| i + 1);
        plain.push_str(&part[code_end..]);
    }
    let b = plain.trim_start().as_bytes();
    b.len() > 11 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
}

#[test]
fn log_lines_are_plain_unless_asked_for() {
    // stderr is a pipe here: no colours, no timestamps.
    let line = warning_line(&["decode", "-"]);
    assert!(!line.contains('\u{1b}'), "{line:?}");
    assert!(!has_timestamp(&line), "{line:?}");
    assert!(
        line.starts_with(" WARN") || line.starts_with("WARN"),
        "{line:?}"
    );

    let line = warning_line(&["--color", "never", "decode", "-"]);
    assert!(!line.contains('\u{1b}'), "{line:?}");

    let line = warning_line(&["--color", "always", "decode", "-"]);
    assert!(line.contains('\u{1b}'), "--color always colours: {line:?}");
    assert!(!has_timestamp(&line), "{line:?}");

    let line = warning_line(&["-v", "decode", "-"]);
    assert!(has_timestamp(&line), "-v adds timestamps: {line:?}");
    assert!(!line.contains('\u{1b}'), "{line:?}");
}
