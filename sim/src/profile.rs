//! The catalogue of built-in meter profiles, and how a scenario's [`MeterSpec`] becomes a meter
//! ([`MeterSpec::build`]). Each protocol registers itself with one [`Family`] constant in its
//! folder (`dsmr::FAMILY`, …): its profiles and its builder, which reads the protocol's own
//! options struct. This module imports only those constants; the meters import
//! [`crate::spec`], never this module.

use crate::meter::Meter;
use crate::seed::Seed;
pub use crate::spec::{Family, MeterSpec, ProfileInfo, SpecError};
use crate::{dlms, dsmr, iec, mbus, wmbus};

/// The protocols, in listing order. A new protocol adds its `FAMILY` here.
pub const FAMILIES: [Family; 5] = [
    dsmr::FAMILY,
    dlms::FAMILY,
    iec::FAMILY,
    mbus::FAMILY,
    wmbus::FAMILY,
];

/// Every built-in profile.
pub fn catalogue() -> Vec<ProfileInfo> {
    FAMILIES.iter().flat_map(|f| (f.profiles)()).collect()
}

impl MeterSpec {
    /// The time between pushes: the `interval` option, else the profile's; `None` for a meter
    /// that only answers requests, an unknown profile or a bad `interval` (which
    /// [`MeterSpec::build`] reports).
    pub fn push_interval_ns(&self) -> Option<u64> {
        match self.interval_ns() {
            Ok(Some(ns)) => return Some(ns),
            Ok(None) => {}
            Err(_) => return None,
        }
        let seconds = catalogue()
            .into_iter()
            .find(|p| p.name == self.profile)?
            .push_interval_s?;
        Some(seconds.saturating_mul(1_000_000_000))
    }

    /// Builds the meter; every random choice it makes comes from `seed`.
    pub fn build(&self, seed: Seed) -> Result<Box<dyn Meter>, SpecError> {
        if self.capture.is_some() || self.repeat.is_some() {
            return Err(SpecError::bad(
                if self.capture.is_some() {
                    "capture"
                } else {
                    "repeat"
                },
                "a replayed meter is built from the capture's bytes (replay::ReplayMeter::new); \
                 `repeat` needs `capture`",
            ));
        }
        if let Some(built) = FAMILIES.iter().find_map(|f| (f.build)(self, seed)) {
            return built;
        }
        Err(SpecError::UnknownProfile {
            name: self.profile.clone(),
            known: catalogue()
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn push_interval_is_the_option_or_the_profiles() {
        assert_eq!(
            MeterSpec::new("dsmr-5.0").push_interval_ns(),
            Some(1_000_000_000)
        );
        assert_eq!(
            MeterSpec::new("dsmr-2.2").push_interval_ns(),
            Some(10_000_000_000)
        );
        let mut fast = MeterSpec::new("dsmr-2.2");
        fast.interval = Some("500ms".into());
        assert_eq!(fast.push_interval_ns(), Some(500_000_000));
        assert_eq!(MeterSpec::new("mbus-heat").push_interval_ns(), None);
        assert_eq!(MeterSpec::new("iec-mode-c").push_interval_ns(), None);
        assert!(MeterSpec::new("iec-mode-d").push_interval_ns().is_some());
    }

    #[test]
    fn errors_name_the_key_to_point_at() {
        let unknown = MeterSpec::new("dsmr-9.9").build(Seed(0)).err();
        assert_eq!(unknown.as_ref().map(MeterSpec::error_key), Some("profile"));
        let spec = MeterSpec::new("dsmr-5.0").with("primary_address", 5);
        let bad = spec.build(Seed(0)).err();
        assert_eq!(
            bad.as_ref().map(MeterSpec::error_key),
            Some("primary_address")
        );
    }

    #[test]
    fn the_flat_mapping_round_trips_and_each_protocol_reads_its_options() {
        let yaml = "profile: mbus-bus\nstart: 2025-01-01T00:00:00Z\nslaves:\n  - { profile: mbus-heat, primary_address: 3, secondary_id: 12345678, ci: 0x76 }\n  - { profile: mbus-gas, primary_address: 4 }\n";
        let spec: MeterSpec = serde_yaml::from_str(yaml).expect("spec");
        assert_eq!(spec.start.as_deref(), Some("2025-01-01T00:00:00Z"));
        assert_eq!(spec.options.keys().collect::<Vec<_>>(), ["slaves"]);
        let again: MeterSpec =
            serde_yaml::from_str(&serde_yaml::to_string(&spec).expect("yaml")).expect("again");
        assert_eq!(again, spec);
        assert!(again.build(Seed(1)).is_ok());
        // Digits YAML reads as numbers are text to a text option; leading zeros stay.
        let slaves: Vec<MeterSpec> = spec.options.get("slaves").expect("slaves");
        let heat = slaves[0].options.read::<crate::mbus::MbusOptions>("heat");
        let heat = heat.expect("M-Bus options");
        assert_eq!(heat.secondary_id.as_deref(), Some("12345678"));
        assert_eq!(heat.ci, Some(0x76));
        let iec: MeterSpec =
            serde_yaml::from_str("profile: iec-mode-c-programming\npassword: 00000000\n")
                .expect("spec");
        assert_eq!(iec.options.text("password").as_deref(), Some("00000000"));
        assert!(iec.build(Seed(1)).is_ok());
        // Built in code: the same flat mapping.
        let coded = MeterSpec::new("iec-mode-c-programming").with("password", "00000000");
        assert_eq!(coded, iec);
    }

    #[test]
    fn another_protocols_option_is_named_by_serde() {
        for (profile, option, value) in [
            ("dsmr-5.0", "reply_delay_ms", serde_yaml::Value::from(40)),
            ("aidon-han", "echo", true.into()),
            ("iec-mode-c", "gas_channel", 2.into()),
            ("mbus-water", "system_title", "4B464D6750000009".into()),
            ("mbus-bus", "primary_address", 1.into()),
        ] {
            let err = MeterSpec::new(profile)
                .with(option, value)
                .build(Seed(0))
                .err()
                .expect("rejected");
            assert_eq!(MeterSpec::error_key(&err), option, "{err}");
            assert!(
                err.to_string()
                    .contains(&format!("unknown field `{option}`")),
                "{err}"
            );
        }
    }
}
