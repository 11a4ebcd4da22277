//! `cargo xtask`: the project's own chores, as a plain Rust program (rust-analyzer style).
//!
//! - `cargo xtask ci`     — what CI runs: format check, clippy with warnings denied, the tests
//! - `cargo xtask bench`  — the benchmarks (`cargo bench`), figures printed by divan
//! - `cargo xtask suite`  — the scenario suite against the reference decoder, with JSON and JUnit reports in `reports/`

use std::process::Command;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "ci" => ci(),
        "bench" => cargo(&["bench", "--workspace"]),
        "suite" => suite(),
        _ => {
            eprintln!("usage: cargo xtask <ci|bench|suite>");
            eprintln!("  ci     format check, clippy -D warnings, the tests (what .ci/run does)");
            eprintln!("  bench  the benchmarks");
            eprintln!("  suite  the scenario suite with reports in reports/");
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
