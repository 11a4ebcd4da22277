//! A scenario's `meter:` section: [`MeterSpec`] (a built-in profile plus overrides) and
//! [`SpecError`]. Plain data read by every meter's constructor; the catalogue that turns a spec
//! into a meter is [`crate::profile`].

use chrono::{DateTime, Utc};
use meterlab_decoder::Key;

use crate::clock::{parse_duration, WallClock};

/// How a DSMR telegram ends (the `crc:` option of DSMR profiles).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrcStyle {
    /// `!` then CR LF: DSMR 2.2 and 3.0.
    None,
    /// CRC-16/ARC as four upper-case hex digits (DSMR 4 and 5).
    #[default]
    Arc,
    /// CRC-16/ARC without leading zeros (`!B9F`, NWA warmtelink).
    Unpadded,
    /// CRC-16/X-25 as four hex digits (Holley).
    X25,
}

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

    /// The YAML key of the option an error of [`MeterSpec::build`] is about (`profile` for an
    /// unknown profile), so a caller can point at it in the file.
    pub fn error_key(error: &SpecError) -> &'static str {
        match error {
            SpecError::UnknownProfile { .. } => "profile",
            SpecError::BadOption { option, .. } => option,
        }
    }
}
