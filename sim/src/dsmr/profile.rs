//! The built-in DSMR P1 meter profiles and their options.
//!
//! Each profile copies the layout of a real meter's telegram from the corpus (object order, value
//! widths, header): `dsmr-2.2` an Iskra MT382 (DSMR 2.2, 9600 7E1, no CRC, gas as `24.3.0` plus a
//! continuation line), `dsmr-4.2` a Kaifa MA105 (115200 8N1, every 10 s), `dsmr-5.0` an Iskra
//! AM550 (every second, gas every 5 minutes), `dsmr-emucs` a Fluvius meter (Belgian e-MUCS:
//! `96.1.4` version, capacity tariff, gas on `24.2.3`, water on channel 2) and `dsmr-smarty` a
//! Sagemcom T210-D from Luxembourg (every 10 s, AES-128-GCM, SC 0x30, AAD = 0x30 ‖ AK).

use super::telegram::CrcStyle;
use crate::spec::text;

/// The options of a DSMR profile (beside the common ones of every `MeterSpec`), as a scenario
/// writes them in its `meter:` mapping. Another protocol's option is an unknown field.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsmrOptions {
    /// Equipment identifier (ASCII, sent hex-encoded).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_id: Option<String>,
    /// Identification line after `/`.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub identification: Option<String>,
    /// Encryption key, 32 hex digits (`dsmr-smarty` only).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<String>,
    /// Authentication key, 32 hex digits (`dsmr-smarty` only).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_key: Option<String>,
    /// Frame (invocation) counter of the first encrypted frame (`dsmr-smarty` only).
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
    /// How telegrams end: `arc`, `unpadded`, `x25`, `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc: Option<CrcStyle>,
}

/// Which telegram layout a profile emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// DSMR 2.2 (Iskra MT382-1004 layout).
    V22,
    /// DSMR 4.2 (Kaifa MA105 layout).
    V42,
    /// DSMR 5.0 (Iskra AM550 layout).
    V50,
    /// Belgian e-MUCS 1.7 (Fluvius layout).
    Emucs,
    /// Luxembourg Smarty (Sagemcom T210-D layout), encrypted.
    Smarty,
}

/// A built-in DSMR profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DsmrProfile {
    /// Profile name.
    pub name: &'static str,
    /// What it models, for `meterlab` listings.
    pub description: &'static str,
    /// Telegram layout.
    pub flavor: Flavor,
    /// Identification line after `/`.
    pub identification: &'static str,
    /// Baud rate.
    pub baud: u32,
    /// Character format.
    pub format: &'static str,
    /// Push interval, seconds.
    pub interval_s: u64,
    /// How telegrams end.
    pub crc: CrcStyle,
    /// Default equipment identifier (ASCII, sent hex-encoded).
    pub equipment_id: &'static str,
}

/// The built-in profiles.
pub const PROFILES: [DsmrProfile; 5] = [
    DsmrProfile {
        name: "dsmr-2.2",
        description: "DSMR 2.2 meter (Iskra MT382 layout): 9600 7E1, every 10 s, no CRC, hourly gas on 24.3.0",
        flavor: Flavor::V22,
        identification: "ISk5\\2MT382-1004",
        baud: 9600,
        format: "7E1",
        interval_s: 10,
        crc: CrcStyle::None,
        equipment_id: "E0003000012345614",
    },
    DsmrProfile {
        name: "dsmr-4.2",
        description: "DSMR 4.2 meter (Kaifa MA105 layout): 115200 8N1, every 10 s, CRC-16, hourly gas",
        flavor: Flavor::V42,
        identification: "KFM5KAIFA-METER",
        baud: 115_200,
        format: "8N1",
        interval_s: 10,
        crc: CrcStyle::Arc,
        equipment_id: "E0026000012345615",
    },
    DsmrProfile {
        name: "dsmr-5.0",
        description: "DSMR 5.0 meter (Iskra AM550 layout): 115200 8N1, every second, CRC-16, gas every 5 min",
        flavor: Flavor::V50,
        identification: "ISK5\\2M550T-1012",
        baud: 115_200,
        format: "8N1",
        interval_s: 1,
        crc: CrcStyle::Arc,
        equipment_id: "E0044007131650618",
    },
    DsmrProfile {
        name: "dsmr-emucs",
        description: "Belgian e-MUCS 1.7 meter (Fluvius layout): 115200 8N1, every second, capacity tariff, gas 24.2.3, water on channel 2",
        flavor: Flavor::Emucs,
        identification: "FLU5\\253769484_A",
        baud: 115_200,
        format: "8N1",
        interval_s: 1,
        crc: CrcStyle::Arc,
        equipment_id: "1SAG1100721326",
    },
    DsmrProfile {
        name: "dsmr-smarty",
        description: "Luxembourg Smarty (Sagemcom T210-D layout): 115200 8N1, every 10 s, AES-128-GCM frame around a DSMR telegram",
        flavor: Flavor::Smarty,
        identification: "Lux5\\253663629_D",
        baud: 115_200,
        format: "8N1",
        interval_s: 10,
        crc: CrcStyle::Arc,
        equipment_id: "SAG1030700114004",
    },
];

/// The built-in profile of this name.
pub fn profile(name: &str) -> Option<&'static DsmrProfile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// The Smarty test key meterlab uses when a scenario names none (not a real customer's key).
pub const SMARTY_DEFAULT_KEY: &str = "0123456789ABCDEF0123456789ABCDEF";
/// The authentication key every Smarty meter uses (Smarty P1 spec v1.1.3 §3.2.5).
pub const SMARTY_AUTH_KEY: &str = "00112233445566778899AABBCCDDEEFF";
/// A Sagemcom system title ("SAG" + 5 bytes), as in the real frame of the corpus.
pub const SMARTY_SYSTEM_TITLE: [u8; 8] = [0x53, 0x41, 0x47, 0x67, 0x70, 0x01, 0xBD, 0x54];
