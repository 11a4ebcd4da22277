//! Round trip for IEC 62056-21: whatever readout a virtual meter sends, in any mode, with any
//! seed, start time and line quirk, over a clean line, the reference reader and decoder turn it
//! into exactly the reading the meter encoded.

use meterlab_harness::runner::{run_scenario, RunOptions};
use meterlab_harness::scenario::{ExpectSpec, RunSpec, Scenario, ScenarioSpec};
use meterlab_sim::MeterSpec;
use proptest::prelude::*;

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::sample::select(vec![
            "iec-mode-a",
            "iec-mode-b",
            "iec-mode-c",
            "iec-mode-c-programming",
            "iec-mode-d",
            "iec-mode-e",
        ]),
        0u32..20_000,
        any::<u64>(),
        any::<bool>(),
        0u8..5,
        0u8..4,
        prop::sample::select(vec![
            None,
            Some(300u32),
            Some(1200),
            Some(4800),
            Some(9600),
            Some(19200),
        ]),
    )
        .prop_map(
            |(profile, minutes, seed, echo, junk_7f, junk_after_etx, max_baud)| {
                let mut meter = MeterSpec::new(profile);
                let start =
                    chrono::DateTime::from_timestamp(1_735_689_600 + i64::from(minutes) * 1573, 0)
                        .unwrap_or_default();
                meter.start = Some(start.to_rfc3339());
                let push = profile == "iec-mode-d";
                if !push {
                    meter.options.set("echo", echo);
                    meter.options.set("junk_7f", junk_7f);
                    // Mode A does not switch; mode B's letters start at 600 baud.
                    match (profile, max_baud) {
                        ("iec-mode-a", _) | ("iec-mode-b", Some(300)) => {}
                        _ => meter.options.set("max_baud", max_baud),
                    }
                }
                let junk_after_etx = if push { 0 } else { junk_after_etx };
                if !push {
                    meter.options.set("junk_after_etx", junk_after_etx);
                }
                let mut expect = ExpectSpec::default();
                if junk_after_etx > 0 {
                    // Junk after the BCC is reported as such; the readout itself must still verify.
                    expect
                        .errors
                        .insert("skipped_bytes".into(), ">= 0".parse().expect("count"));
                }
                let run = if push {
                    RunSpec {
                        telegrams: Some(3),
                        duration: None,
                    }
                } else {
                    RunSpec {
                        telegrams: None,
                        duration: Some(120_000_000_000),
                    }
                };
                let mut spec = ScenarioSpec::for_meter(meter, run, seed);
                spec.expect = expect;
                Scenario::in_memory("roundtrip", spec)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_readout_decodes_to_its_truth(s in scenario()) {
        let outcome = run_scenario(&s, &RunOptions::default()).expect("scenario runs");
        prop_assert!(outcome.tally.sent >= 1, "the meter sent nothing");
        prop_assert!(outcome.passed(), "{:#?}\n{:#?}", outcome.failures, s.spec.meter);
    }
}
