//! A scenario's `meter:` section: [`MeterSpec`] (a built-in profile, the common options and the
//! protocol's options as written) and [`SpecError`]; [`ProfileInfo`] and [`Family`], through
//! which each protocol registers its profiles and builder. Plain data read by every meter's
//! constructor; the catalogue that turns a spec into a meter is [`crate::profile`].

use chrono::{DateTime, Utc};
use meterlab_decoder::Key;

use meterlab_decoder::Protocol;

use crate::clock::{parse_duration, WallClock};
use crate::meter::Meter;
use crate::seed::Seed;

/// A meter as a scenario names it: a built-in profile, the options every meter has, and the
/// options of the profile's protocol ([`MeterOptions`]), all written flat in one mapping.
///
/// The protocol's options are kept as written until the profile's protocol is known; its
/// builder then reads them into the protocol's own struct (`DsmrOptions`, `DlmsOptions`,
/// `IecOptions`, `MbusOptions`, each `deny_unknown_fields`), so another protocol's option is
/// rejected by serde, by name.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeterSpec {
    /// Built-in profile (`meterlab profiles` lists them).
    pub profile: String,
    /// Wall-clock time at the start of the scenario, RFC 3339 (`2025-01-15T09:00:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Push interval (`10s`, `1s`); an error for a meter that only answers requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Replay: a capture file (path relative to the scenario file) whose bytes the meter sends
    /// instead of modelled ones, with the profile's line settings and cadence
    /// ([`crate::replay`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// Replay: play the capture again and again (every `interval`), not once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<bool>,
    /// The options of the profile's protocol, as written.
    #[serde(flatten)]
    pub options: MeterOptions,
}

/// The protocol options of a [`MeterSpec`] as written (flat keys, in file order), read into the
/// protocol's own struct by [`MeterOptions::read`] once the profile's protocol is known.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct MeterOptions(serde_yaml::Mapping);

impl MeterOptions {
    /// Whether no protocol option is given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The option names given, in order.
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.0.keys().map(key_text)
    }

    /// Sets option `key` (`None` removes it). For specs built in code; a value that does not
    /// serialize (no option type does that) leaves the option unset.
    pub fn set(&mut self, key: &str, value: impl serde::Serialize) {
        match serde_yaml::to_value(value) {
            Ok(serde_yaml::Value::Null) | Err(_) => {
                self.0.remove(key);
            }
            Ok(v) => {
                self.0.insert(key.into(), v);
            }
        }
    }

    /// Option `key` read as a `T`, if given and of that type.
    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0
            .get(key)
            .and_then(|v| serde_yaml::from_value(v.clone()).ok())
    }

    /// Text option `key` (a key, a duration), also when YAML read it as a number.
    pub fn text(&self, key: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Text(#[serde(deserialize_with = "text")] Option<String>);
        let value = self.0.get(key)?.clone();
        serde_yaml::from_value::<Text>(value).ok()?.0
    }

    /// The options read into a protocol's options struct (`#[serde(deny_unknown_fields)]`):
    /// an option the protocol does not have, or a value of the wrong type, is an error naming
    /// the option (the first that fails on its own), with serde's reason and `what` the
    /// profile is (`"dsmr-5.0 is a DSMR P1 profile"`).
    pub fn read<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, SpecError> {
        let whole = serde_yaml::from_value(serde_yaml::Value::Mapping(self.0.clone()));
        whole.map_err(|e| {
            let culprit = self.0.iter().find_map(|(k, v)| {
                let mut one = serde_yaml::Mapping::new();
                one.insert(k.clone(), v.clone());
                serde_yaml::from_value::<T>(serde_yaml::Value::Mapping(one))
                    .err()
                    .map(|e| (key_text(k), e))
            });
            match culprit {
                Some((option, e)) => SpecError::BadOption {
                    option,
                    reason: format!("{e} ({what})"),
                },
                None => SpecError::bad("profile", format!("{e} ({what})")),
            }
        })
    }
}

/// A mapping key as the option name it is.
fn key_text(key: &serde_yaml::Value) -> String {
    match key {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default(),
    }
}

/// Deserializes an optional text option that YAML may have read as a number (`secondary_id:
/// 12345678`, `address: 42`): the options are buffered as YAML values before the protocol's
/// struct reads them, and a plain scalar of digits is a number there. Text with leading zeros
/// (`00000000`) stays text.
pub fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Unsigned(u64),
        Signed(i64),
        Real(f64),
    }
    Ok(
        <Option<Scalar> as serde::Deserialize>::deserialize(d)?.map(|t| match t {
            Scalar::Text(s) => s,
            Scalar::Unsigned(n) => n.to_string(),
            Scalar::Signed(n) => n.to_string(),
            Scalar::Real(x) => x.to_string(),
        }),
    )
}

/// One line of the profile catalogue (`meterlab profiles`).
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
    /// The push interval, s; `None` for a meter that only answers requests.
    pub push_interval_s: Option<u64>,
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

/// A meter built from a spec, or why not.
pub type Built = Result<Box<dyn Meter>, SpecError>;

/// How one protocol registers with the catalogue ([`crate::profile`]): each protocol folder
/// has one `pub const FAMILY: Family` (in its `mod.rs`) that lists its profiles and builds its
/// meters, and the catalogue holds the list of families. The meters import only this module,
/// never the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// The protocol's profiles, in listing order.
    pub profiles: fn() -> Vec<ProfileInfo>,
    /// Builds the meter `spec` names, reading the protocol's options from `spec.options`;
    /// `None` if `spec.profile` is none of this protocol's profiles.
    pub build: fn(&MeterSpec, Seed) -> Option<Built>,
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
        option: String,
        /// Why.
        reason: String,
    },
}

impl SpecError {
    /// A bad option.
    pub fn bad(option: impl Into<String>, reason: impl Into<String>) -> Self {
        SpecError::BadOption {
            option: option.into(),
            reason: reason.into(),
        }
    }
}

impl MeterSpec {
    /// A spec naming just a profile.
    pub fn new(profile: impl Into<String>) -> Self {
        MeterSpec {
            profile: profile.into(),
            ..MeterSpec::default()
        }
    }

    /// This spec with protocol option `key` set (see [`MeterOptions::set`]).
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.options.set(key, value);
        self
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

    /// The YAML key of the option an error of [`MeterSpec::build`] is about (`profile` for an
    /// unknown profile), so a caller can point at it in the file.
    pub fn error_key(error: &SpecError) -> &str {
        match error {
            SpecError::UnknownProfile { .. } => "profile",
            SpecError::BadOption { option, .. } => option,
        }
    }
}
