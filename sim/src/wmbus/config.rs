//! A dongle and the meters it hears, as a scenario or `--config` file states them (plain data,
//! `serde`), and [`DongleConfig::build`], which checks it and makes the [`Dongle`].
//!
//! ```yaml
//! dongle: im871a
//! meters:
//!   - profile: wmbus-heat       # a name of the catalog
//!     id: "43054304"            # 8 digits
//!     key: 622B9656991FF0C1574C0950CF9278D1   # encrypted meters; never printed
//!     rssi_dbm: -70             # optional
//!     interval_s: 30            # optional
//!     start_ms: 500             # optional: the first telegram's time
//!     faults: { wrong_key: false, replay_at: [3], counter_back_at: [], truncate_at: [] }
//! radio: { interference_per_mille: 0, crc_error_per_mille: 0, attenuation_db: 0,
//!          repeater: { delay_ms: 50, rssi_dbm: -70 } }
//! ```

use meterlab_decoder::Key;
use thiserror::Error;

use super::catalog::constructor;
use super::dongle::{Dongle, DongleKind};
use super::meter::MeterFaults;
use super::radio::{Air, RadioFaults};
use super::security::SecurityMode;
use super::RadioMeter;
use crate::clock::{WallClock, NS_PER_MS};
use crate::seed::Seed;

/// Longest transmission interval accepted, s (one day).
pub const MAX_INTERVAL_S: u64 = 86_400;

/// A configuration that cannot be built.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// No such radio meter.
    #[error("meter {index}: {profile:?} is not a radio meter (known: {known})")]
    UnknownProfile {
        /// Position in `meters`.
        index: usize,
        /// The name given.
        profile: String,
        /// The catalog's names.
        known: String,
    },
    /// Not 8 decimal digits.
    #[error("meter {index}: id {id:?} is not 8 decimal digits (e.g. \"12345678\")")]
    BadId {
        /// Position in `meters`.
        index: usize,
        /// The id given.
        id: String,
    },
    /// An encrypted meter without a key, or a key that is not 32 hex digits.
    #[error("meter {index}: {reason}")]
    Key {
        /// Position in `meters`.
        index: usize,
        /// What is wrong (never the key itself).
        reason: String,
    },
    /// An interval outside 1 s … one day.
    #[error("meter {index}: interval_s {interval_s} is not between 1 and {MAX_INTERVAL_S}")]
    Interval {
        /// Position in `meters`.
        index: usize,
        /// The interval given.
        interval_s: u64,
    },
    /// No meters.
    #[error("a dongle needs at least one meter")]
    NoMeters,
}

/// One radio meter of a configuration.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RadioMeterConfig {
    /// Catalog name (`wmbus-water`, …).
    pub profile: String,
    /// Identification number, 8 digits.
    pub id: String,
    /// Key, 32 hex digits (encrypted meters).
    #[serde(default, skip_serializing)]
    pub key: Option<String>,
    /// Signal strength at the dongle, dBm.
    #[serde(default)]
    pub rssi_dbm: Option<i16>,
    /// Transmission interval, s.
    #[serde(default)]
    pub interval_s: Option<u64>,
    /// The first telegram's time, ms (default: seeded within the first interval).
    #[serde(default)]
    pub start_ms: Option<u64>,
    /// Meter faults.
    #[serde(default)]
    pub faults: MeterFaults,
}

/// A dongle, its meters and the radio between them.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DongleConfig {
    /// The dongle type.
    pub dongle: DongleKind,
    /// The meters it hears.
    pub meters: Vec<RadioMeterConfig>,
    /// The radio's faults.
    #[serde(default)]
    pub radio: RadioFaults,
}

impl DongleConfig {
    /// The dongle; every random choice comes from `seed`.
    pub fn build(&self, clock: WallClock, seed: Seed) -> Result<Dongle, ConfigError> {
        if self.meters.is_empty() {
            return Err(ConfigError::NoMeters);
        }
        let mut meters = Vec::with_capacity(self.meters.len());
        for (index, m) in self.meters.iter().enumerate() {
            let make = constructor(&m.profile).ok_or_else(|| ConfigError::UnknownProfile {
                index,
                profile: m.profile.clone(),
                known: super::CATALOG
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            let id = match m.id.parse::<u32>() {
                Ok(id) if m.id.len() == 8 && m.id.bytes().all(|b| b.is_ascii_digit()) => id,
                _ => {
                    return Err(ConfigError::BadId {
                        index,
                        id: m.id.clone(),
                    })
                }
            };
            let key = match &m.key {
                Some(text) => Some(text.parse::<Key>().map_err(|_| ConfigError::Key {
                    index,
                    reason: "the key is not 32 hex digits".into(),
                })?),
                None => None,
            };
            let mut spec = make(id, key.clone().unwrap_or(Key::new([0; 16])));
            if spec.security != SecurityMode::None && key.is_none() {
                return Err(ConfigError::Key {
                    index,
                    reason: format!("{} encrypts its telegrams: give its `key`", m.profile),
                });
            }
            if let Some(rssi) = m.rssi_dbm {
                spec.rssi_dbm = rssi;
            }
            if let Some(interval_s) = m.interval_s {
                if !(1..=MAX_INTERVAL_S).contains(&interval_s) {
                    return Err(ConfigError::Interval { index, interval_s });
                }
                spec.interval_s = interval_s;
            }
            let mut meter = RadioMeter::new(
                spec,
                clock,
                m.faults.clone(),
                seed.derive("wmbus/meter").index(index as u64),
            );
            if let Some(ms) = m.start_ms {
                meter.set_next_tx_ns(ms.saturating_mul(NS_PER_MS));
            }
            meters.push(meter);
        }
        let air = Air::new(meters, self.radio.clone(), seed.derive("wmbus/air"));
        Ok(Dongle::new(self.dongle, air, clock))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::meter::Meter;

    const YAML: &str = "
dongle: amb8465
meters:
  - profile: wmbus-heat
    id: \"43054304\"
    key: 622B9656991FF0C1574C0950CF9278D1
    start_ms: 500
  - profile: wmbus-water
    id: \"33225544\"
    faults: { replay_at: [2] }
radio: { crc_error_per_mille: 5, repeater: { delay_ms: 50, rssi_dbm: -70 } }
";

    #[test]
    fn test_builds_from_yaml() {
        let config: DongleConfig = serde_yaml::from_str(YAML).expect("parses");
        assert_eq!(config.dongle, DongleKind::Amb8465);
        assert_eq!(config.meters[1].faults.replay_at, vec![2]);
        let mut d = config.build(WallClock::default(), Seed(1)).expect("builds");
        assert_eq!(d.profile(), "wmbus-amb8465");
        assert_eq!(d.meter_keys().len(), 1);
        assert_eq!(d.meter_keys()[0].0, "43054304");
        d.receive(0, &[0xFF, 0x04, 0x01, 0x09, 0xF3]);
        assert_eq!(
            d.next_push_ns(),
            Some(
                500 * NS_PER_MS
                    + d.air().meters()[0].spec().mode.air_time_ns(195)
                    + super::super::dongle::DELIVERY_DELAY_NS
            )
        );
        // The key is never serialised.
        let text = serde_yaml::to_string(&config).expect("serialises");
        assert!(!text.contains("622B"));
    }

    #[test]
    fn test_errors_are_classified() {
        let mut config: DongleConfig = serde_yaml::from_str(YAML).expect("parses");
        config.meters[0].key = None;
        let e = config.build(WallClock::default(), Seed(1)).err();
        assert!(matches!(e, Some(ConfigError::Key { index: 0, .. })));
        config.meters[0].key = Some("12".into());
        let e = config.build(WallClock::default(), Seed(1)).err();
        assert!(matches!(e, Some(ConfigError::Key { index: 0, .. })));
        assert!(!e.map(|e| e.to_string()).unwrap_or_default().contains("12"));
        config.meters[0].key = Some("622B9656991FF0C1574C0950CF9278D1".into());
        config.meters[1].id = "3322554".into();
        let e = config.build(WallClock::default(), Seed(1)).err();
        assert!(matches!(e, Some(ConfigError::BadId { index: 1, .. })));
        config.meters[1].id = "+3322554".into();
        assert!(config.build(WallClock::default(), Seed(1)).is_err());
        config.meters[1].id = "33225544".into();
        config.meters[1].profile = "wmbus-steam".into();
        let e = config.build(WallClock::default(), Seed(1)).err();
        assert!(matches!(
            e,
            Some(ConfigError::UnknownProfile { index: 1, .. })
        ));
        config.meters[1].profile = "wmbus-water".into();
        config.meters[1].interval_s = Some(0);
        let e = config.build(WallClock::default(), Seed(1)).err();
        assert!(matches!(e, Some(ConfigError::Interval { index: 1, .. })));
        config.meters.clear();
        assert_eq!(
            config.build(WallClock::default(), Seed(1)).err(),
            Some(ConfigError::NoMeters)
        );
        assert!(serde_yaml::from_str::<DongleConfig>("dongle: usb\nmeters: []").is_err());
        assert!(
            serde_yaml::from_str::<DongleConfig>("dongle: cul\nmeters: []\nradio: {x: 1}").is_err()
        );
    }
}
