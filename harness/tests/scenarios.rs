//! The scenario suite: every file in `scenarios/` runs against the reference decoder; its
//! expectations must hold and its summary must equal the golden file in `golden/` (insta
//! snapshots; review changes with `cargo insta review`).

use std::path::{Path, PathBuf};

use meterlab_harness::runner::{self, RunOptions};
use meterlab_harness::{golden, scenario};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn scenario_suite() {
    let scenarios = scenario::load_all(&[root().join("scenarios")], None).unwrap_or_else(|e| {
        panic!(
            "bad scenario files: {}",
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert!(
        scenarios.len() >= 20,
        "the suite has {} scenarios",
        scenarios.len()
    );
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results = runner::run_all(&scenarios, &RunOptions::default(), jobs, |_, _, _| {});
    let mut failures = Vec::new();
    let mut outcomes = Vec::new();
    for r in results {
        match r {
            Ok(o) if o.passed() => outcomes.push(o),
            Ok(o) => {
                let details: Vec<String> = o
                    .failures
                    .iter()
                    .map(|f| {
                        format!(
                            "  - {}{}",
                            f.what,
                            f.detail
                                .as_deref()
                                .map(|d| format!("\n{d}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{} (seed {}):\n{}",
                    o.name,
                    o.seed,
                    details.join("\n")
                ));
                outcomes.push(o);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    for o in &outcomes {
        insta::with_settings!({
            snapshot_path => root().join("golden"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(o.name.as_str(), golden::render(o));
        });
    }
}

/// Same seed, same bytes, same outcome: the whole suite twice gives identical summaries.
#[test]
fn scenarios_are_reproducible() {
    let scenarios = scenario::load_all(&[root().join("scenarios")], Some("noise"))
        .expect("scenario files load");
    assert!(!scenarios.is_empty());
    let once = runner::run_all(&scenarios, &RunOptions::default(), 2, |_, _, _| {});
    let twice = runner::run_all(&scenarios, &RunOptions::default(), 1, |_, _, _| {});
    for (a, b) in once.iter().zip(&twice) {
        let (a, b) = (a.as_ref().expect("runs"), b.as_ref().expect("runs"));
        assert_eq!(
            golden::render(a),
            golden::render(b),
            "{} is not reproducible",
            a.name
        );
    }
    // And a different seed gives a different noise pattern.
    let other = RunOptions {
        seed_override: Some(987_654),
        ..RunOptions::default()
    };
    let third = runner::run_all(&scenarios, &other, 2, |_, _, _| {});
    let differs = once.iter().zip(&third).any(|(a, b)| {
        let (a, b) = (a.as_ref().expect("runs"), b.as_ref().expect("runs"));
        a.messages != b.messages
    });
    assert!(differs, "another seed must give other faults");
}
