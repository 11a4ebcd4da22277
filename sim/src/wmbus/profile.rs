//! The wireless M-Bus profiles: one per receiver dongle (`wmbus-im871a`, `wmbus-amb8465`,
//! `wmbus-cul`, `wmbus-rtlwmbus`), each a dongle with the radio meters it hears. Their options
//! ([`WmbusOptions`]) are the `meters:` and `radio:` of a [`DongleConfig`] (the same format as
//! `meterlab sim --dongle … --config FILE`), plus the dongle's own quirks a scenario may set.
//!
//! Without `meters:` a dongle hears [`default_meters`]: one meter of every catalog type. An
//! encrypted meter without `key:` has the published test key [`TEST_KEY`], as every encrypted
//! profile has its test key.

use std::collections::VecDeque;

use super::config::{DongleConfig, RadioMeterConfig};
use super::dongle::{Dongle, DongleKind};
use super::meter::MeterFaults;
use super::radio::RadioFaults;
use crate::clock::parse_duration;
use crate::seed::Seed;
use crate::spec::{MeterSpec, SpecError};

/// The test key of every encrypted meter of [`default_meters`] (wmbusmeters' published SensoStar
/// test key, `tests/test_frame_b_trim.sh`; never a customer's).
pub const TEST_KEY: &str = "622B9656991FF0C1574C0950CF9278D1";

/// Serial settings of each dongle, for listings.
pub fn line(kind: DongleKind) -> &'static str {
    match kind {
        DongleKind::Im871a => "57600 8N1",
        DongleKind::Amb8465 => "9600 8N1",
        DongleKind::Cul => "38400 8N1",
        DongleKind::Rtlwmbus => "115200 8N1 (text lines)",
    }
}

/// What each dongle profile models, for listings.
pub fn description(kind: DongleKind) -> &'static str {
    match kind {
        DongleKind::Im871a => "IMST iM871A receiver stick (HCI frames, CRCs removed, RSSI) hearing wireless meters (`meters:`, default: one of each catalog type); radio faults in `radio:`",
        DongleKind::Amb8465 => "Amber AMB8465 / Würth Metis-II receiver stick (command mode FF 03 frames, RSSI) hearing wireless meters; radio faults in `radio:`",
        DongleKind::Cul => "CUL stick with culfw (`b…` hex lines with CRCs, LQI and RSSI; passes frames whose CRC fails) hearing wireless meters; radio faults in `radio:`",
        DongleKind::Rtlwmbus => "rtl-sdr running rtl_wmbus (`T1;1;1;…` text lines, T1 and C1 at once, no commands) hearing wireless meters; radio faults in `radio:`",
    }
}

/// The options of a dongle profile (beside the common `start`), as a scenario writes them in
/// its `meter:` mapping. Another protocol's option is an unknown field.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WmbusOptions {
    /// The meters it hears, as in a [`DongleConfig`] (default: [`default_meters`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meters: Option<Vec<RadioMeterConfig>>,
    /// The radio's faults, as in a [`DongleConfig`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radio: Option<RadioFaults>,
    /// Faults of every meter of the default set (with `meters:`, each meter has its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_faults: Option<MeterFaults>,
    /// Times the stick is unplugged and plugged in again (`60s`): it forgets its link mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replug_at: Option<Vec<String>>,
    /// The stick's time from a command to its reply, ms (default: the real stick's, a few ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_delay_ms: Option<u64>,
}

/// The default meters of a dongle: one of every catalog type, ids from the corpus telegrams
/// they are modelled on, the encrypted ones keyed with [`TEST_KEY`].
pub fn default_meters(faults: &MeterFaults) -> Vec<RadioMeterConfig> {
    [
        ("wmbus-water", "33225544", false),
        ("wmbus-warm-water", "20096221", true),
        ("wmbus-heat", "43054304", true),
        ("wmbus-gas", "00043094", true),
        ("wmbus-hca", "23800604", true),
        ("wmbus-cold-water", "76348799", true),
    ]
    .into_iter()
    .map(|(profile, id, encrypted)| RadioMeterConfig {
        profile: profile.into(),
        id: id.into(),
        key: encrypted.then(|| TEST_KEY.into()),
        rssi_dbm: None,
        interval_s: None,
        start_ms: None,
        faults: faults.clone(),
    })
    .collect()
}

/// The dongle a spec of profile `wmbus-<kind>` describes.
pub fn build(kind: DongleKind, spec: &MeterSpec, seed: Seed) -> Result<Dongle, SpecError> {
    let options: WmbusOptions = spec.options.read(&format!(
        "{} is a wireless M-Bus dongle profile",
        spec.profile
    ))?;
    if options.meters.is_some() && options.meter_faults.is_some() {
        return Err(SpecError::bad(
            "meter_faults",
            "is for the default meters; with `meters:` give each meter its own `faults:`",
        ));
    }
    let mut meters = options
        .meters
        .clone()
        .unwrap_or_else(|| default_meters(&options.meter_faults.clone().unwrap_or_default()));
    // As every encrypted profile: the published test key unless a key is given.
    for m in &mut meters {
        m.key.get_or_insert_with(|| TEST_KEY.into());
    }
    let config = DongleConfig {
        dongle: kind,
        meters,
        radio: options.radio.clone().unwrap_or_default(),
    };
    let mut dongle = config
        .build(spec.clock()?, seed)
        .map_err(|e| SpecError::bad("meters", e.to_string()))?;
    let mut replugs = Vec::new();
    for text in options.replug_at.iter().flatten() {
        let ns = parse_duration(text).map_err(|e| SpecError::bad("replug_at", e.to_string()))?;
        replugs.push(ns);
    }
    replugs.sort_unstable();
    dongle.set_replugs(VecDeque::from(replugs));
    if let Some(ms) = options.reply_delay_ms {
        if ms > 10_000 {
            return Err(SpecError::bad(
                "reply_delay_ms",
                format!("{ms} ms: at most 10000 (the host gives up after 5 s)"),
            ));
        }
        dongle.set_reply_delay_ns(ms.saturating_mul(crate::clock::NS_PER_MS));
    }
    Ok(dongle)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::meter::Meter;

    #[test]
    fn test_default_and_given_meters() {
        let spec = MeterSpec::new("wmbus-cul");
        let d = build(DongleKind::Cul, &spec, Seed(1)).expect("builds");
        assert_eq!(d.air().meters().len(), 6);
        assert_eq!(d.meter_keys().len(), 5);
        assert_eq!(d.profile(), "wmbus-cul");
        let yaml = "profile: wmbus-im871a\nmeters:\n  - { profile: wmbus-water, id: \"12345678\" }\nradio: { crc_error_per_mille: 10 }\nreplug_at: [60s]\n";
        let spec: MeterSpec = serde_yaml::from_str(yaml).expect("parses");
        let d = build(DongleKind::Im871a, &spec, Seed(1)).expect("builds");
        assert_eq!(d.air().meters().len(), 1);
        assert_eq!(d.air().faults().crc_error_per_mille, 10);
        // An encrypted meter without a key has the test key.
        let yaml = "profile: wmbus-cul\nmeters:\n  - { profile: wmbus-heat, id: \"43054304\" }\n";
        let spec: MeterSpec = serde_yaml::from_str(yaml).expect("parses");
        let d = build(DongleKind::Cul, &spec, Seed(1)).expect("builds");
        let keys = d.meter_keys();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].1, TEST_KEY.parse().expect("key"));
    }

    #[test]
    fn test_bad_options_are_named() {
        let bad = |yaml: &str| {
            let spec: MeterSpec = serde_yaml::from_str(yaml).expect("parses");
            match build(DongleKind::Cul, &spec, Seed(1)) {
                Err(SpecError::BadOption { option, .. }) => option,
                other => panic!("{yaml}: {:?}", other.map(|d| d.profile().to_string())),
            }
        };
        assert_eq!(bad("profile: wmbus-cul\nbaud: 9600\n"), "baud");
        assert_eq!(
            bad("profile: wmbus-cul\nmeters: [ { profile: wmbus-steam, id: \"12345678\" } ]\n"),
            "meters"
        );
        assert_eq!(
            bad("profile: wmbus-cul\nmeters: [ { profile: wmbus-heat, id: \"12345678\", key: \"12\" } ]\n"),
            "meters"
        );
        assert_eq!(bad("profile: wmbus-cul\nreplug_at: [soon]\n"), "replug_at");
        assert_eq!(
            bad("profile: wmbus-cul\nreply_delay_ms: 60000\n"),
            "reply_delay_ms"
        );
    }
}
