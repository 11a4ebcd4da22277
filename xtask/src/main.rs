//! `cargo xtask`: the project's own chores, as a plain Rust program (rust-analyzer style).
//!
//! - `cargo xtask ci`     — what CI runs: format check, clippy with warnings denied, the tests
//! - `cargo xtask bench`  — the benchmarks (`cargo bench`), figures printed by divan
//! - `cargo xtask suite`  — the scenario suite against the reference decoder, with JSON and JUnit reports in `reports/`
//! - `cargo xtask readers [--check] [--live]` — a Python venv (`target/readers-venv`) with the
//!   PyPI readers of `readers/requirements.txt`; `--check` compares their wrappers' JSON with
//!   `meterlab decode` on every corpus telegram (`readers/check.py`), `--live` also runs
//!   `readers/scenarios/` (virtual meters read by them over ptys and TCP, `meterlab run`)
//! - `cargo xtask man`    — the man pages, generated from the clap definitions, into
//!   `target/man/` (`meterlab man --out`)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "ci" => ci(),
        "bench" => cargo(&["bench", "--workspace"]),
        "suite" => suite(),
        "readers" => readers(std::env::args().skip(2).collect()),
        "man" => cargo(&[
            "run",
            "--quiet",
            "-p",
            "meterlab-harness",
            "--",
            "man",
            "--out",
            "target/man",
        ]),
        _ => {
            eprintln!("usage: cargo xtask <ci|bench|suite|readers|man>");
            eprintln!("  ci     format check, clippy -D warnings, the tests (what .ci/run does)");
            eprintln!("  bench  the benchmarks");
            eprintln!("  suite  the scenario suite with reports in reports/");
            eprintln!(
                "  readers [--check] [--live] [-v]  PyPI readers venv; --check compares them"
            );
            eprintln!("  man    the man pages into target/man/");
            bail!("unknown task {task:?}")
        }
    }
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--locked"])
}

fn suite() -> Result<()> {
    std::fs::create_dir_all("reports").context("cannot create reports/")?;
    cargo(&[
        "run",
        "--release",
        "--locked",
        "-p",
        "meterlab-harness",
        "--",
        "run",
        "--report",
        "json",
        "reports/scenarios.json",
        "--junit",
        "reports/junit.xml",
    ])
}

/// The workspace root (xtask's parent directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// `cargo xtask readers [--check] [--live] [-v]`: the venv with the PyPI readers, then the
/// wrappers against `meterlab decode` (readers/README.md).
fn readers(args: Vec<String>) -> Result<()> {
    let mut check = false;
    let mut live = false;
    let mut extra = Vec::new();
    for a in &args {
        match a.as_str() {
            "--check" => check = true,
            "--live" => {
                check = true;
                live = true;
            }
            "-v" | "--verbose" => {
                check = true;
                extra.push(a.clone());
            }
            other => bail!("unknown option {other:?} (readers [--check] [--live] [-v])"),
        }
    }
    let started = Instant::now();
    let root = root();
    let venv = root.join("target/readers-venv");
    let python = venv.join("bin/python");
    let requirements = root.join("readers/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    let stamp = venv.join("meterlab-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let python3 = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        if venv.exists() {
            std::fs::remove_dir_all(&venv)
                .with_context(|| format!("cannot remove {}", venv.display()))?;
        }
        run(Command::new(&python3).args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-input", "-r"])
            .arg(&requirements))?;
        std::fs::write(&stamp, &wanted).context("cannot write the venv stamp")?;
    } else {
        eprintln!("venv {} is up to date", venv.display());
    }
    eprintln!(
        "readers venv ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if !check {
        return Ok(());
    }
    cargo(&["build", "--quiet", "--locked", "-p", "meterlab-harness"])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let meterlab = target.join("debug/meterlab");
    run(Command::new(&python)
        .arg(root.join("readers/check.py"))
        .arg("--meterlab")
        .arg(&meterlab)
        .args(&extra)
        .current_dir(&root))?;
    if live {
        // The PyPI readers on virtual meters over ptys and TCP, as scenario files whose
        // `reader.command` runs "${PYTHON:-python3}" (readers/scenarios).
        run(Command::new(&meterlab)
            .args(["run", "readers/scenarios", "--no-golden"])
            .env("PYTHON", &python)
            .current_dir(&root))?;
    }
    eprintln!(
        "readers: venv, build and check in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
