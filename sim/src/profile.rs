//! The catalogue of built-in meter profiles, and how a scenario configures one.

use chrono::{DateTime, Utc};
use meterlab_decoder::{Key, Protocol};

use crate::clock::{parse_duration, WallClock};
use crate::dlms::{self, DlmsMeter};
use crate::dsmr::{self, CrcStyle, DsmrMeter};
use crate::iec::{self, IecMeter};
use crate::mbus::{self, MbusBus, MbusSlave};
use crate::meter::Meter;
use crate::seed::Seed;

/// A meter as a scenario names it: a built-in profile plus overrides. Every field but `profile`
/// is optional; a field a profile does not use is an error, not silently ignored.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterSpec {
    /// Built-in profile (`meterlab profiles` lists them).
    pub profile: String,
    /// Wall-clock time at the start of the scenario, RFC 3339 (`2025-01-15T09:00:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Push interval (`10s`, `1s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Equipment identifier (ASCII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equipment_id: Option<String>,
    /// Identification line after `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identification: Option<String>,
    /// Encryption key, 32 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Authentication key, 32 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_key: Option<String>,
    /// Frame (invocation) counter of the first encrypted frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_counter: Option<u32>,
    /// Whether a gas meter is attached (M-Bus channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas: Option<bool>,
    /// The M-Bus channel of the gas meter (1–4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_channel: Option<u8>,
    /// Whether a water meter is attached (Belgian profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub water: Option<bool>,
    /// The M-Bus channel of the water meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub water_channel: Option<u8>,
    /// Peak solar production in W (export registers move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solar_w: Option<u32>,
    /// Three-phase (true) or single-phase meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_phase: Option<bool>,
    /// How DSMR telegrams end: `arc`, `unpadded`, `x25`, `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc: Option<CrcStyle>,
    /// DLMS: the system title of general-glo-ciphering, 16 hex digits (`4B464D6750000009`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_title: Option<String>,
    /// DLMS: time between the frames (M-Bus segments, HDLC GBT frames) of one push (`160ms`,
    /// `0s` for back to back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_gap: Option<String>,
    /// DLMS: at this push (counted from 0) the invocation counter goes back to its first value,
    /// as after a key change or a firmware reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_reset_at: Option<u64>,
    /// DLMS: this push (counted from 0, at least 1) re-sends the previous push's bytes exactly,
    /// its reading repeated; the meter's own counters do not move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_at: Option<u64>,
    /// IEC 62056-21: the device address the meter answers to in `/?address!` (default: its
    /// meter number); a request without address is answered by any meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// IEC 62056-21: the programming-mode password (`P1`); empty for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// IEC 62056-21: reaction time, ms (default 300, 20 for a lower-case third flag letter; the
    /// standard's window is 200–1500 ms, other values make a non-conforming meter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_ms: Option<u64>,
    /// IEC 62056-21: time from the option select (mode C/E) or the identification (mode B) to
    /// the first message at the new rate, ms (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_delay_ms: Option<u64>,
    /// IEC 62056-21: inactivity time-out of programming mode, s (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity_s: Option<u64>,
    /// IEC 62056-21: the optical head echoes every byte the reader sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    /// IEC 62056-21: this many 0x7F bytes before the identification (Iskra, Itron ACE3000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junk_7f: Option<u8>,
    /// IEC 62056-21: this many junk bytes after the BCC of each data readout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junk_after_etx: Option<u8>,
    /// IEC 62056-21: the highest baud rate the identification offers (sets Z; modes B, C, E).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_baud: Option<u32>,
    /// IEC 62056-21: whether the identification announces mode E (`\2`, binary HDLC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce_mode_e: Option<bool>,
    /// M-Bus: primary address 0-250 (default 0, unconfigured). Not `address`, which is the
    /// IEC 62056-21 device address text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_address: Option<u8>,
    /// M-Bus: identification number (secondary address), 8 digits (default: seeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_id: Option<String>,
    /// M-Bus: manufacturer id, three capital letters (default `MLB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// M-Bus: time from the request's last character to the answer, ms (default 20, at least
    /// 22 bit times; the standard's window is 11 bit times to 330 bit times + 50 ms, other
    /// values make a non-conforming slave).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_delay_ms: Option<u64>,
    /// M-Bus: telegrams of one readout cycle (multi-telegram answer, DIF 1F), 1-10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegrams: Option<u8>,
    /// M-Bus: CI of the answers: 0x72 (long header, default), 0x76 (MSB first), 0x78 (no header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<u8>,
    /// M-Bus: baud rate at the start (300-38400, default 2400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
    /// M-Bus: the slaves of an `mbus-bus`, each a spec of an M-Bus slave profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slaves: Option<Vec<MeterSpec>>,
    /// Replay: a capture file (path relative to the scenario file) whose bytes the meter sends
    /// instead of modelled ones, with the profile's line settings and cadence
    /// ([`crate::replay`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// Replay: play the capture again and again (every `interval`), not once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<bool>,
}

/// A profile or option a scenario asked for is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No built-in profile of this name.
    #[error("unknown meter profile {name:?}; built-in profiles: {known}")]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// An option has a bad value or does not apply to the profile.
    #[error("meter option `{option}`: {reason}")]
    BadOption {
        /// The option.
        option: &'static str,
        /// Why.
        reason: String,
    },
}

impl SpecError {
    /// A bad option.
    pub fn bad(option: &'static str, reason: impl Into<String>) -> Self {
        SpecError::BadOption {
            option,
            reason: reason.into(),
        }
    }
}

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
    /// A spec naming just a profile.
    pub fn new(profile: impl Into<String>) -> Self {
        MeterSpec {
            profile: profile.into(),
            ..MeterSpec::default()
        }
    }

    /// The wall clock at the scenario start.
    pub fn clock(&self) -> Result<WallClock, SpecError> {
        match &self.start {
            None => Ok(WallClock::default()),
            Some(s) => DateTime::parse_from_rfc3339(s)
                .map(|t| WallClock::new(t.with_timezone(&Utc)))
                .map_err(|e| {
                    SpecError::bad("start", format!("{s:?} is not an RFC 3339 time: {e}"))
                }),
        }
    }

    /// The push interval override, ns.
    pub fn interval_ns(&self) -> Result<Option<u64>, SpecError> {
        self.interval
            .as_deref()
            .map(|s| match parse_duration(s) {
                Ok(0) => Err(SpecError::bad("interval", "must be longer than zero")),
                Ok(ns) => Ok(ns),
                Err(e) => Err(SpecError::bad("interval", e.to_string())),
            })
            .transpose()
    }

    /// A key option parsed.
    pub fn parse_key(
        option: &'static str,
        value: &Option<String>,
    ) -> Result<Option<Key>, SpecError> {
        value
            .as_deref()
            .map(|s| {
                s.parse::<Key>()
                    .map_err(|e| SpecError::bad(option, e.to_string()))
            })
            .transpose()
    }

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

    /// The YAML key of the option an error of [`MeterSpec::build`] is about (`profile` for an
    /// unknown profile), so a caller can point at it in the file.
    pub fn error_key(error: &SpecError) -> &'static str {
        match error {
            SpecError::UnknownProfile { .. } => "profile",
            SpecError::BadOption { option, .. } => option,
        }
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
