//! Speed of seed sweeps (`cargo bench -p meterlab-harness --bench sweep`): the built-in suite,
//! each scenario under its own seed and N further seeds, in virtual time, as
//! `meterlab run --seeds N` runs it (golden files compared for the own seeds, a further seed's
//! run kept as its verdict only).
//!
//! It runs in the checkout's root, where the replayed captures the scenarios name are. N is
//! `SWEEP_SEEDS` (default 10; `SWEEP_SEEDS=100` is the full `--seeds 100` sweep). Printed:
//! the runs, the wall time, runs per second on all cores and on one, and the time the
//! `--seeds 100` sweep takes at that rate.

use std::time::Instant;

use meterlab_harness::runner::{self, Job, RunOptions};
use meterlab_harness::scenario::Scenario;

fn jobs_for(scenarios: &[Scenario], seeds: u64) -> Vec<(bool, Job<'_>)> {
    let mut list = Vec::new();
    for scenario in scenarios {
        list.push((
            true,
            Job {
                scenario,
                seed: None,
            },
        ));
        for seed in runner::sweep_seeds(scenario.spec.seed, seeds) {
            list.push((
                false,
                Job {
                    scenario,
                    seed: Some(seed),
                },
            ));
        }
    }
    list
}

/// Runs the sweep on `threads` threads; returns (runs, failed runs, seconds).
fn sweep(scenarios: &[Scenario], seeds: u64, threads: usize) -> (usize, usize, f64) {
    let options = RunOptions {
        golden_dir: Some("golden".into()),
        builtin_golden: true,
        ..RunOptions::default()
    };
    let list = jobs_for(scenarios, seeds);
    let jobs: Vec<Job<'_>> = list.iter().map(|(_, job)| *job).collect();
    let started = Instant::now();
    let results = runner::run_jobs_then(
        &jobs,
        &options,
        threads,
        |k, run| match list.get(k) {
            Some((false, _)) => runner::sweep_summary(run),
            _ => run,
        },
        |_, _, _| {},
    );
    let seconds = started.elapsed().as_secs_f64();
    let failed = results
        .iter()
        .filter(|r| !matches!(r, Ok(o) if o.failures.is_empty() && o.decoder_error.is_none()))
        .count();
    (results.len(), failed, seconds)
}

fn main() {
    // Replayed captures are named relative to the checkout, as `meterlab run` sees them there.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!("cannot change to {}: {e}", root.display());
        std::process::exit(1);
    }
    let scenarios = match meterlab_harness::builtin::scenarios() {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            for e in errors {
                eprintln!("built-in scenario: {e}");
            }
            std::process::exit(1);
        }
    };
    let seeds: u64 = std::env::var("SWEEP_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let full_runs = scenarios.len() as f64 * 101.0;
    for threads in [cores, 1] {
        let (runs, failed, seconds) = sweep(&scenarios, seeds, threads);
        let rate = runs as f64 / seconds;
        println!(
            "sweep: {} scenarios x (1 + {seeds} seeds) = {runs} runs on {threads} thread(s): \
             {seconds:.2} s, {rate:.0} runs/s ({failed} runs failed); \
             --seeds 100 ({full_runs:.0} runs) at this rate: {:.1} s",
            scenarios.len(),
            full_runs / rate,
        );
    }
}
