//! The catalogue of built-in meter profiles, and how a scenario's [`MeterSpec`] becomes a meter
//! ([`MeterSpec::build`]). The spec itself is in [`crate::spec`], which the meters read; this
//! module imports the meters, and no meter imports it.

use meterlab_decoder::Protocol;

use crate::dlms::{self, DlmsMeter};
use crate::dsmr::{self, DsmrMeter};
use crate::iec::{self, IecMeter};
use crate::mbus::{self, MbusBus, MbusSlave};
use crate::meter::Meter;
use crate::seed::Seed;
pub use crate::spec::{MeterSpec, SpecError};

/// One line of the profile catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileInfo {
    /// Profile name.
    pub name: &'static str,
    /// Protocol family.
    pub protocol: Protocol,
    /// Serial settings, e.g. `115200 8N1`.
    pub line: String,
    /// Push interval or "request/response".
    pub cadence: String,
    /// What it models.
    pub description: &'static str,
    /// The test encryption key the meter uses when none is given (32 hex digits; published
    /// test keys, never a customer's), for encrypted profiles.
    pub test_key: Option<&'static str>,
    /// The test authentication key, for profiles that authenticate.
    pub test_auth_key: Option<&'static str>,
}

impl ProfileInfo {
    /// What a reader needs to decode the meter's messages: `None`, `"key"` or `"key+auth"`.
    pub fn needs(&self) -> &'static str {
        match (self.test_key, self.test_auth_key) {
            (None, _) => "none",
            (Some(_), None) => "key",
            (Some(_), Some(_)) => "key+auth",
        }
    }
}

/// Every built-in profile.
pub fn catalogue() -> Vec<ProfileInfo> {
    let dsmr = dsmr::PROFILES.iter().map(|p| ProfileInfo {
        name: p.name,
        protocol: Protocol::Dsmr,
        line: format!("{} {}", p.baud, p.format),
        cadence: format!("push every {} s", p.interval_s),
        description: p.description,
        test_key: (p.flavor == dsmr::Flavor::Smarty).then_some(dsmr::SMARTY_DEFAULT_KEY),
        test_auth_key: (p.flavor == dsmr::Flavor::Smarty).then_some(dsmr::SMARTY_AUTH_KEY),
    });
    let dlms = dlms::PROFILES.iter().map(|p| ProfileInfo {
        name: p.name,
        protocol: Protocol::Dlms,
        line: format!("{} {}", p.baud, p.format),
        cadence: format!("push every {} s", p.interval_s),
        description: p.description,
        test_key: p.security.map(|s| s.key),
        test_auth_key: p.security.and_then(|s| s.auth_key),
    });
    let iec = iec::PROFILES.iter().map(|p| {
        let (baud, format) = p.line();
        ProfileInfo {
            name: p.name,
            protocol: Protocol::Iec62056_21,
            line: format!("{baud} {format}"),
            cadence: match p.push {
                Some(push) => format!("push every {} s", push.interval_s),
                None => "request/response".into(),
            },
            description: p.description,
            test_key: None,
            test_auth_key: None,
        }
    });
    let mbus = mbus::PROFILES
        .iter()
        .map(|p| (p.name, p.description))
        .chain([(mbus::BUS_PROFILE, mbus::profile::BUS_DESCRIPTION)])
        .map(|(name, description)| ProfileInfo {
            name,
            protocol: Protocol::Mbus,
            line: format!("{} {}", mbus::profile::DEFAULT_BAUD, mbus::profile::FORMAT),
            cadence: "request/response".into(),
            description,
            test_key: None,
            test_auth_key: None,
        });
    dsmr.chain(dlms).chain(iec).chain(mbus).collect()
}

impl MeterSpec {
    /// The first IEC 62056-21 option set, if any (they are errors for other profiles).
    fn iec_option(&self) -> Option<&'static str> {
        [
            ("address", self.address.is_some()),
            ("password", self.password.is_some()),
            ("reaction_ms", self.reaction_ms.is_some()),
            ("switch_delay_ms", self.switch_delay_ms.is_some()),
            ("inactivity_s", self.inactivity_s.is_some()),
            ("echo", self.echo.is_some()),
            ("junk_7f", self.junk_7f.is_some()),
            ("junk_after_etx", self.junk_after_etx.is_some()),
            ("max_baud", self.max_baud.is_some()),
            ("announce_mode_e", self.announce_mode_e.is_some()),
        ]
        .into_iter()
        .find_map(|(option, set)| set.then_some(option))
    }

    /// The first M-Bus option set, if any (they are errors for other profiles).
    fn mbus_option(&self) -> Option<&'static str> {
        [
            ("primary_address", self.primary_address.is_some()),
            ("secondary_id", self.secondary_id.is_some()),
            ("manufacturer", self.manufacturer.is_some()),
            ("reply_delay_ms", self.reply_delay_ms.is_some()),
            ("telegrams", self.telegrams.is_some()),
            ("ci", self.ci.is_some()),
            ("baud", self.baud.is_some()),
            ("slaves", self.slaves.is_some()),
        ]
        .into_iter()
        .find_map(|(option, set)| set.then_some(option))
    }

    /// The time between pushes: the `interval` option, else the profile's; `None` for a meter
    /// that only answers requests, an unknown profile or a bad `interval` (which
    /// [`MeterSpec::build`] reports).
    pub fn push_interval_ns(&self) -> Option<u64> {
        match self.interval_ns() {
            Ok(Some(ns)) => return Some(ns),
            Ok(None) => {}
            Err(_) => return None,
        }
        let seconds = dsmr::profile(&self.profile)
            .map(|p| p.interval_s)
            .or_else(|| dlms::profile(&self.profile).map(|p| p.interval_s))
            .or_else(|| {
                iec::profile(&self.profile).and_then(|p| p.push.map(|push| push.interval_s))
            })?;
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
        if let Some(p) = mbus::profile(&self.profile) {
            return Ok(Box::new(MbusSlave::new(p, self, seed)?));
        }
        if self.profile == mbus::BUS_PROFILE {
            return Ok(Box::new(MbusBus::from_spec(self, seed)?));
        }
        if let Some(option) = self.mbus_option() {
            return Err(SpecError::bad(
                option,
                format!("{} is not an M-Bus profile", self.profile),
            ));
        }
        if let Some(p) = iec::profile(&self.profile) {
            return Ok(Box::new(IecMeter::new(p, self, seed)?));
        }
        if let Some(option) = self.iec_option() {
            return Err(SpecError::bad(
                option,
                format!("{} is not an IEC 62056-21 profile", self.profile),
            ));
        }
        if let Some(p) = dsmr::profile(&self.profile) {
            for (option, set) in [
                ("system_title", self.system_title.is_some()),
                ("segment_gap", self.segment_gap.is_some()),
                ("counter_reset_at", self.counter_reset_at.is_some()),
                ("replay_at", self.replay_at.is_some()),
            ] {
                if set {
                    return Err(SpecError::bad(
                        option,
                        format!(
                            "{} is a DSMR profile; the option is for DLMS push meters",
                            p.name
                        ),
                    ));
                }
            }
            return Ok(Box::new(DsmrMeter::new(p, self, seed)?));
        }
        if let Some(p) = dlms::profile(&self.profile) {
            return Ok(Box::new(DlmsMeter::new(p, self, seed)?));
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
        let mut spec = MeterSpec::new("dsmr-5.0");
        spec.primary_address = Some(5);
        let bad = spec.build(Seed(0)).err();
        assert_eq!(
            bad.as_ref().map(MeterSpec::error_key),
            Some("primary_address")
        );
    }
}
