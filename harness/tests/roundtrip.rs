//! Round trip: whatever a virtual DSMR meter emits, over a clean line at its own settings, the
//! reference decoder turns into exactly the reading the meter encoded. (The simulator and the
//! decoder are independent implementations; the corpus tests tie each to real meters.)

use meterlab_decoder::Message;
use meterlab_harness::runner::reference_decoder;
use meterlab_sim::dsmr::CrcStyle;
use meterlab_sim::line::{host_bytes, Channel, ErrorPolicy};
use meterlab_sim::{MeterSpec, Seed};
use proptest::prelude::*;

fn spec() -> impl Strategy<Value = MeterSpec> {
    (
        prop::sample::select(vec![
            "dsmr-2.2",
            "dsmr-4.2",
            "dsmr-5.0",
            "dsmr-emucs",
            "dsmr-smarty",
        ]),
        0u32..20_000,
        1u8..=4,
        prop::option::of(0u32..8000),
        any::<bool>(),
        prop::sample::select(vec![
            None,
            Some(CrcStyle::Arc),
            Some(CrcStyle::Unpadded),
            Some(CrcStyle::X25),
        ]),
    )
        .prop_map(|(profile, minutes, gas_channel, solar, three_phase, crc)| {
            let mut s = MeterSpec::new(profile);
            // Any moment across 2025, both sides of the DST switches.
            let start =
                chrono::DateTime::from_timestamp(1_735_689_600 + i64::from(minutes) * 1573, 0)
                    .unwrap_or_default();
            s.start = Some(start.to_rfc3339());
            if profile != "dsmr-smarty" {
                s.options.set("gas_channel", gas_channel);
                if profile != "dsmr-2.2" {
                    s.options.set("crc", crc);
                }
                if profile == "dsmr-emucs" && gas_channel == 2 {
                    s.options.set("water_channel", 3);
                }
            }
            s.options.set("solar_w", solar);
            s.options.set("three_phase", three_phase);
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_telegram_decodes_to_its_truth(spec in spec(), seed in any::<u64>(), pushes in 1usize..6, read_size in 1usize..2000) {
        let mut meter = spec.build(Seed(seed)).expect("profile builds");
        let uart = meter.uart();
        let mut channel = Channel::new(uart, uart, Vec::new(), Seed(seed).derive("line"));
        let mut truth = Vec::new();
        for _ in 0..pushes {
            for e in meter.push() {
                channel.send(e.at_ns, &e.bytes);
                truth.extend(e.truth);
            }
        }
        let bytes = host_bytes(&channel.receive_all(), ErrorPolicy::Pass);
        let mut decoder = reference_decoder(meter.protocol(), meter.keys());
        let mut out = Vec::new();
        for chunk in bytes.chunks(read_size) {
            decoder.feed(chunk, &mut out);
        }
        decoder.finish(&mut out);
        prop_assert_eq!(out.len(), truth.len(), "{:?}", out.iter().filter_map(Message::error_report).collect::<Vec<_>>());
        for (got, want) in out.iter().zip(&truth) {
            match got {
                Message::Reading(r) => prop_assert!(r.same_data(want), "decoded {:#?}\nsent {:#?}", r, want),
                Message::Error { error } => prop_assert!(false, "error on a clean line: {:?}", error),
                Message::Link { link } => prop_assert!(false, "a push meter sends no link message: {:?}", link),
            }
        }
    }
}
