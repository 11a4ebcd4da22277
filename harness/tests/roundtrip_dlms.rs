//! Round trip for DLMS/COSEM push meters: whatever push a virtual meter emits (any profile, seed,
//! start time, gap between frames, number of pushes), over a clean line at its own settings, the
//! reference decoder turns into exactly the reading the meter encoded.

use meterlab_harness::runner::{run_scenario, RunOptions};
use meterlab_harness::scenario::{RunSpec, Scenario, ScenarioSpec};
use meterlab_sim::MeterSpec;
use proptest::prelude::*;

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::sample::select(vec![
            "kaifa-ma309-evn",
            "kaifa-ma309-tinetz",
            "kaifa-ma309-tinetz-1ph",
            "sagemcom-t210d-evn",
            "aidon-han",
            "kamstrup-han",
            "kaifa-han",
            "lg-e450-gbt",
            "lg-e450-cyprus",
            "lg-e450-described-hdlc",
        ]),
        0u32..20_000,
        any::<u64>(),
        1u64..5,
        prop::option::of(0u64..400),
    )
        .prop_map(|(profile, minutes, seed, pushes, gap_ms)| {
            let mut meter = MeterSpec::new(profile);
            let start =
                chrono::DateTime::from_timestamp(1_735_689_600 + i64::from(minutes) * 1573, 0)
                    .unwrap_or_default();
            meter.start = Some(start.to_rfc3339());
            // Pauses between the frames of one push, where a push has several frames.
            if matches!(
                profile,
                "kaifa-ma309-evn"
                    | "kaifa-ma309-tinetz"
                    | "kaifa-ma309-tinetz-1ph"
                    | "sagemcom-t210d-evn"
                    | "lg-e450-gbt"
                    | "lg-e450-cyprus"
            ) {
                meter
                    .options
                    .set("segment_gap", gap_ms.map(|ms| format!("{ms}ms")));
            }
            let run = RunSpec {
                telegrams: Some(pushes),
                duration: None,
            };
            Scenario::in_memory("roundtrip", ScenarioSpec::for_meter(meter, run, seed))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_push_decodes_to_its_truth(s in scenario()) {
        let outcome = run_scenario(&s, &RunOptions::default()).expect("scenario runs");
        prop_assert!(outcome.tally.sent >= 1, "the meter sent nothing");
        prop_assert!(outcome.passed(), "{:#?}\n{:#?}", outcome.failures, s.spec.meter);
    }
}
