//! The built-in IEC 62056-21 meter profiles.
//!
//! Each copies a real meter's identification and data-set layout (order, address forms, value
//! widths) from `shared/corpus/iec62056-21/` or a public capture:
//!
//! - `iec-mode-a`: Kamstrup MULTICAL 66 heat meter, `/KAM MC` (Z is a blank: mode A), `!` on the
//!   last data line (jonkerj/go-iec62056 `pkg/samples/kamstrup_mc66`).
//! - `iec-mode-b`: the Landis+Gyr ZMD120 data sets of vzlogger `tests/MeterD0.cpp`
//!   (`LandisGyr_basic`), with the mode B baud letter `E` (9600 Bd) instead of the capture's `5`:
//!   the corpus holds no mode B meter.
//! - `iec-mode-c`: Landis+Gyr E350 (saliWd/strommesser), blank-padded `0.0`, empty `C.1.1`,
//!   EDIS short ids `32.7`; it offers Z = 5 (9600 Bd) where the captured one offered 4.
//! - `iec-mode-c-programming`: Iskra ME162 (wdoekes/pe32me162ir_pub `example.log`): the readout
//!   and the programming-mode dialogue (`P0 ()`, `R1`) byte for byte, plus a password and `W1`.
//! - `iec-mode-d`: Hager eHZ push (jonkerj/go-iec62056 `pkg/samples/hager_ehz161wa`): full OBIS
//!   ids with `*255`, unit-less energy, signed power, manufacturer blocks `96.50.0*0..7`.
//! - `iec-mode-e`: Landis+Gyr ZMD310 `/LGZ5\2ZMD3104407.B24` (a readout kept as a string in a
//!   public C# reader): time and date `0.9.1`/`0.9.2`, billing period `*19`, maximum demand with
//!   its time as a second group; abridged to one line per register kind.

use crate::spec::text;

/// The options of an IEC 62056-21 profile (beside the common ones of every `MeterSpec`), as a
/// scenario writes them in its `meter:` mapping. Another protocol's option is an unknown field.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IecOptions {
    /// The meter number (`C.1.0`, `0.0.0`…).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_id: Option<String>,
    /// Identification line after `/` (`XXXZ[\\W]ident`).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub identification: Option<String>,
    /// The device address the meter answers to in `/?address!` (default: its meter number);
    /// a request without address is answered by any meter.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub address: Option<String>,
    /// The programming-mode password (`P1`); empty for none.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<String>,
    /// Reaction time, ms (default 300, 20 for a lower-case third flag letter; the standard's
    /// window is 200–1500 ms, other values make a non-conforming meter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_ms: Option<u64>,
    /// Time from the option select (mode C/E) or the identification (mode B) to the first
    /// message at the new rate, ms (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_delay_ms: Option<u64>,
    /// Inactivity time-out of programming mode, s (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity_s: Option<u64>,
    /// The optical head echoes every byte the reader sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    /// This many 0x7F bytes before the identification (Iskra, Itron ACE3000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junk_7f: Option<u8>,
    /// This many junk bytes after the BCC of each data readout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junk_after_etx: Option<u8>,
    /// The highest baud rate the identification offers (sets Z; modes B, C, E).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_baud: Option<u32>,
    /// Whether the identification announces mode E (`\\2`, binary HDLC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce_mode_e: Option<bool>,
    /// Peak solar production in W of the household behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solar_w: Option<u32>,
    /// Three-phase (true) or single-phase meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_phase: Option<bool>,
}

/// Which data-set layout a profile sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Kamstrup MULTICAL 66 heat meter.
    Kamstrup66,
    /// Landis+Gyr ZMD120.
    Zmd120,
    /// Landis+Gyr E350.
    E350,
    /// Iskra ME162.
    Me162,
    /// Landis+Gyr ZMD310 (mode E).
    Zmd310,
    /// Hager eHZ (mode D push).
    HagerEhz,
}

/// A mode D meter's push line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushLine {
    /// Baud rate.
    pub baud: u32,
    /// Character format.
    pub format: &'static str,
    /// Push interval, seconds.
    pub interval_s: u64,
}

/// A built-in IEC 62056-21 profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IecProfile {
    /// Profile name.
    pub name: &'static str,
    /// What it models, for `meterlab profiles`.
    pub description: &'static str,
    /// Data-set layout.
    pub layout: Layout,
    /// Identification line after `/`.
    pub identification: &'static str,
    /// Mode D push settings; `None` for request/response meters (300 Bd 7E1 at the start).
    pub push: Option<PushLine>,
    /// The meter number (`C.1.0`, `0.0.0`…), also its default device address.
    pub meter_number: &'static str,
    /// Programming-mode password (`P1`); `None`: none asked.
    pub password: Option<&'static str>,
    /// Peak solar production of the household behind it, W.
    pub solar_w: u32,
    /// Import registers at the start per tariff, Wh.
    pub start_import_wh: [u64; 2],
    /// Export registers at the start per tariff, Wh.
    pub start_export_wh: [u64; 2],
}

impl IecProfile {
    /// Serial settings the meter starts with.
    pub fn line(&self) -> (u32, &'static str) {
        self.push.map_or((300, "7E1"), |p| (p.baud, p.format))
    }
}

/// The built-in profiles.
pub const PROFILES: [IecProfile; 6] = [
    IecProfile {
        name: "iec-mode-a",
        description: "IEC 62056-21 mode A heat meter (Kamstrup MULTICAL 66 layout): 300 7E1, no baud switch, GJ/m3/h",
        layout: Layout::Kamstrup66,
        identification: "KAM MC",
        push: None,
        meter_number: "00005077354",
        password: None,
        solar_w: 0,
        start_import_wh: [0, 0],
        start_export_wh: [0, 0],
    },
    IecProfile {
        name: "iec-mode-b",
        description: "IEC 62056-21 mode B meter (Landis+Gyr ZMD120 data sets): 300 7E1, switches to 9600 (E) after the identification",
        layout: Layout::Zmd120,
        identification: "LGZE2ZMD120APt.G03",
        push: None,
        meter_number: "20000",
        password: None,
        solar_w: 4000,
        start_import_wh: [1_846_000, 0],
        start_export_wh: [4_329_600, 0],
    },
    IecProfile {
        name: "iec-mode-c",
        description: "IEC 62056-21 mode C meter (Landis+Gyr E350 layout): 300 7E1, ACK option select to 9600, EDIS short ids",
        layout: Layout::E350,
        identification: "LGZ5ZMF100AC.M26",
        push: None,
        meter_number: "13647123",
        password: None,
        solar_w: 0,
        start_import_wh: [42_951_721, 18_609_568],
        start_export_wh: [302, 10_188],
    },
    IecProfile {
        name: "iec-mode-c-programming",
        description: "IEC 62056-21 mode C meter with programming mode (Iskra ME162): 300 -> 9600 7E1, P0/P1 password, R1 read, W1 clock",
        layout: Layout::Me162,
        identification: "ISK5ME162-0033",
        push: None,
        meter_number: "28342193",
        password: Some("00000000"),
        solar_w: 0,
        start_import_wh: [0, 33_402_264],
        start_export_wh: [0, 13_465],
    },
    IecProfile {
        name: "iec-mode-d",
        description: "IEC 62056-21 mode D push meter (Hager eHZ layout): 9600 7E1, every 10 s, full OBIS ids, no checksum",
        layout: Layout::HagerEhz,
        identification: "HAG5eHZ010C_EHZ1vA02",
        push: Some(PushLine {
            baud: 9600,
            format: "7E1",
            interval_s: 10,
        }),
        meter_number: "1095100000067865",
        password: None,
        solar_w: 0,
        start_import_wh: [4_521_296, 0],
        start_export_wh: [0, 0],
    },
    IecProfile {
        name: "iec-mode-e",
        description: "IEC 62056-21 mode E meter (Landis+Gyr ZMD310 layout): announces \\2 (HDLC), readout via mode C to 9600, time, billing period *19",
        layout: Layout::Zmd310,
        identification: "LGZ5\\2ZMD3104407.B24",
        push: None,
        meter_number: "95316176",
        password: None,
        solar_w: 0,
        start_import_wh: [2_125_997, 1_720_420],
        start_export_wh: [8_090, 0],
    },
];

/// The built-in profile of this name.
pub fn profile(name: &str) -> Option<&'static IecProfile> {
    PROFILES.iter().find(|p| p.name == name)
}
