//! Round trip for wired M-Bus: whatever RSP_UD a virtual slave sends (any profile, seed, start
//! time, primary address, CI variant, number of telegrams), over a clean line, read by the
//! reference master to the last telegram, the reference decoder turns into exactly the reading the
//! slave encoded.

use meterlab_harness::reader::mbus::{MbusMasterSpec, Step};
use meterlab_harness::runner::{run_scenario, RunOptions};
use meterlab_harness::scenario::{ReaderSpec, RunSpec, Scenario, ScenarioSpec};
use meterlab_sim::MeterSpec;
use proptest::prelude::*;

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::sample::select(vec![
            "mbus-heat",
            "mbus-water",
            "mbus-electricity",
            "mbus-gas",
        ]),
        0u32..20_000,
        any::<u64>(),
        1u8..=250,
        prop::sample::select(vec![None, Some(0x72u8), Some(0x76), Some(0x78)]),
        1u8..4,
    )
        .prop_map(|(profile, minutes, seed, address, ci, telegrams)| {
            let mut meter = MeterSpec::new(profile);
            let start =
                chrono::DateTime::from_timestamp(1_735_689_600 + i64::from(minutes) * 1573, 0)
                    .unwrap_or_default();
            meter.start = Some(start.to_rfc3339());
            meter.options.set("primary_address", address);
            meter.options.set("ci", ci);
            meter.options.set("telegrams", telegrams);
            let reader = ReaderSpec {
                mbus: Some(MbusMasterSpec {
                    steps: vec![Step::SndNke { address }, Step::ReadAll { address, max: 10 }],
                    timeout: None,
                    pause: None,
                }),
                ..ReaderSpec::default()
            };
            let run = RunSpec {
                telegrams: None,
                duration: Some(120_000_000_000),
            };
            let mut spec = ScenarioSpec::for_meter(meter, run, seed);
            spec.reader = reader;
            Scenario::in_memory("roundtrip", spec)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_telegram_decodes_to_its_truth(s in scenario()) {
        let outcome = run_scenario(&s, &RunOptions::default()).expect("scenario runs");
        let telegrams = u64::from(s.spec.meter.options.get::<u8>("telegrams").unwrap_or(1));
        prop_assert_eq!(outcome.tally.sent, telegrams, "the master read every telegram: {:#?}", outcome.failures);
        prop_assert!(outcome.passed(), "{:#?}\n{:#?}", outcome.failures, s.spec.meter);
    }
}
