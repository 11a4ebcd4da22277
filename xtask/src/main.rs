//! `cargo xtask`: the project's own chores, as a plain Rust program (rust-analyzer style).
//!
//! - `cargo xtask ci`     — what CI runs: format check, clippy with warnings denied, the tests
//! - `cargo xtask bench`  — the benchmarks (`cargo bench`), figures printed by divan
//! - `cargo xtask suite`  — the scenario suite against the reference decoder, with JSON and JUnit reports in `reports/`
//! - `cargo xtask readers [--check] [--live]` — a Python venv (`target/readers-venv`) with the
//!   PyPI readers of `readers/requirements.txt`; `--check` compares their wrappers' JSON with
//!   `meterlab decode` on every corpus telegram (`readers/check.py`), `--live` also runs
//!   `readers/scenarios/` (virtual meters read by them over ptys and TCP, `meterlab run`) and
//!   pyMeterBus on `scenarios/wmbus` (`readers/pymeterbus-wmbus.expect.yaml`)
//! - `cargo xtask man`    — the man pages, generated from the clap definitions, into
//!   `target/man/` (`meterlab man --out`)
//! - `cargo xtask fuzz [--seconds N] [TARGET...]` — each fuzz target of `fuzz/` (cargo-fuzz,
//!   libFuzzer, on stable Rust with `--sanitizer none`) for N seconds (default 60), seeded from
//!   `fuzz/seeds/<target>`; prints the runs done (docs/fuzzing.md)

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
        "fuzz" => fuzz(std::env::args().skip(2).collect()),
        _ => {
            eprintln!("usage: cargo xtask <ci|bench|suite|readers|man|fuzz>");
            eprintln!("  ci     format check, clippy -D warnings, the tests (what .ci/run does)");
            eprintln!("  bench  the benchmarks");
            eprintln!("  suite  the scenario suite with reports in reports/");
            eprintln!(
                "  readers [--check] [--live] [-v]  PyPI readers venv; --check compares them"
            );
            eprintln!("  man    the man pages into target/man/");
            eprintln!("  fuzz [--seconds N] [TARGET...]  the fuzz targets of fuzz/, N s each");
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
        // pyMeterBus as the decoder of the wireless scenarios, its known faults listed in an
        // expectations file that can only shrink (readers/README.md).
        run(Command::new(&meterlab)
            .args(["run", "scenarios/wmbus", "--no-golden"])
            .args([
                "--expect",
                "readers/pymeterbus-wmbus.expect.yaml",
                "--decoder",
            ])
            .arg(format!(
                "'{}' readers/pymeterbus_reader.py --wmbus -",
                python.display()
            ))
            .current_dir(&root))?;
    }
    eprintln!(
        "readers: venv, build and check in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`: builds the fuzz targets of `fuzz/` and runs each
/// (or those named) for N seconds, its corpus in `fuzz/corpus/<target>` seeded from
/// `fuzz/seeds/<target>`; a crash fails the task (the reproducer is in `fuzz/artifacts/`).
///
/// cargo-fuzz is not installed silently: if it is missing, the task says how. It runs on stable
/// Rust because the targets are built with `--sanitizer none` (the default, AddressSanitizer,
/// needs a nightly compiler; the code is `unsafe`-free, so libFuzzer's coverage and the Rust
/// panics are what matters).
fn fuzz(args: Vec<String>) -> Result<()> {
    let mut seconds: u64 = 60;
    let mut targets = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().context("--seconds needs a number")?;
                seconds =
                    v.parse().ok().filter(|s| *s >= 1).with_context(|| {
                        format!("--seconds {v:?}: a whole number of seconds, >= 1")
                    })?;
            }
            other if other.starts_with('-') => {
                bail!("unknown option {other:?} (fuzz [--seconds N] [TARGET...])")
            }
            other => targets.push(other.to_string()),
        }
    }
    let root = root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let listed = Command::new(&cargo)
        .args(["fuzz", "list"])
        .current_dir(&root)
        .output()
        .context("cannot run cargo")?;
    if !listed.status.success() {
        bail!(
            "cargo-fuzz is not installed (or does not work): install it with\n    cargo install cargo-fuzz --locked\n(about 30 s; it runs on stable Rust here, docs/fuzzing.md)\n{}",
            String::from_utf8_lossy(&listed.stderr).trim()
        );
    }
    let all: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if targets.is_empty() {
        targets = all.clone();
    }
    if let Some(t) = targets.iter().find(|t| !all.contains(t)) {
        bail!("no fuzz target {t:?}; there are: {}", all.join(", "));
    }
    let started = Instant::now();
    run(Command::new(&cargo)
        .args(["fuzz", "build", "--sanitizer", "none"])
        .current_dir(&root))?;
    eprintln!(
        "fuzz targets built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // The binaries `cargo fuzz build` made, run directly (`cargo fuzz run` would check the
    // build again before every target).
    let host = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV names no host")?;
    let bin_dir = root.join("fuzz/target").join(host).join("release");
    let logs = root.join("fuzz/target/xtask-logs");
    std::fs::create_dir_all(&logs).context("cannot create fuzz/target/xtask-logs")?;
    let mut total = 0u64;
    let mut failed = Vec::new();
    for t in &targets {
        let corpus = root.join("fuzz/corpus").join(t);
        let artifacts = root.join("fuzz/artifacts").join(t);
        for dir in [&corpus, &artifacts] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let log_path = logs.join(format!("{t}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot write {}", log_path.display()))?;
        let status = Command::new(bin_dir.join(t))
            .arg(&corpus)
            .arg(root.join("fuzz/seeds").join(t))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(format!("-max_total_time={seconds}"))
            .arg("-timeout=10")
            .arg("-print_final_stats=1")
            .current_dir(&root)
            .stdout(log.try_clone().context("log file")?)
            .stderr(log)
            .status()
            .with_context(|| format!("cannot run the fuzz target {t}"))?;
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let runs = text
            .lines()
            .rev()
            .find_map(|l| {
                l.strip_prefix("stat::number_of_executed_units:")
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        total += runs;
        if status.success() {
            println!("fuzz {t}: {runs} runs in {seconds} s, no crash");
        } else {
            println!(
                "fuzz {t}: FAILED after {runs} runs ({status}); log {}",
                log_path.display()
            );
            for line in text
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                println!("    {line}");
            }
            failed.push(t.clone());
        }
    }
    println!(
        "fuzz: {} target(s), {total} runs in {:.0} s, {} failed",
        targets.len(),
        started.elapsed().as_secs_f64(),
        failed.len()
    );
    if !failed.is_empty() {
        bail!(
            "fuzz targets failed: {} (reproducers in fuzz/artifacts/)",
            failed.join(", ")
        );
    }
    Ok(())
}
