//! The built-in radio meters, each modelled on a corpus telegram (manufacturer, version, device
//! type, layers, security, records). Registration as `meterlab` profiles is one loop over
//! [`CATALOG`].
//!
//! | name | modelled on (corpus) | M | ver | type | mode | format | layers | security | interval |
//! |---|---|---|---|---|---|---|---|---|---|
//! | `wmbus-water` | Sensus iPerl (wmbus.md ex. 1) | SEN | 68 | 07 water | T1 | A | TPL 7A | 0 | 16 s |
//! | `wmbus-warm-water` | DWZ WaterstarM (wmbus.md ex. 3) | DWZ | 02 | 06 warm water | T1 | A | TPL 7A, CW sync | 5, 2 records in the clear | 32 s |
//! | `wmbus-heat` | Engelmann SensoStar (`frame_b_trim-sensostar-mode7`) | EFE | 00 | 04 heat | C1 | B | ELL 8C, AFL, TPL 7A | 7 | 30 s |
//! | `wmbus-gas` | Apator Unismart (`unismart-0`) | AMX | 01 | 03 gas | S1 | A | TPL 7A, CW bidirectional | 5 | 120 s |
//! | `wmbus-hca` | Kaden HCA (`kaden-0`) | VIP | 1E | 08 HCA | T1 | A | TPL 7A | 5 | 120 s |
//! | `wmbus-cold-water` | Kamstrup Multical 21 (`serial_aes-kamwater-ell8d`) | KAM | 1B | 16 cold water | C1 | A | ELL 8D, TPL 78 | ELL AES-CTR | 16 s |

use meterlab_decoder::Key;

use super::link::FrameFormat;
use super::meter::{RadioKind, RadioMeterSpec, TplKind};
use super::mode::RadioMode;
use super::security::SecurityMode;
use super::tpl::{CW_BIDIRECTIONAL, CW_SYNCHRONOUS};
use crate::mbus::SecondaryAddress;

/// A constructor: identification number (8 BCD digits) and key (unused by mode 0 meters).
pub type Constructor = fn(u32, Key) -> RadioMeterSpec;

/// Every built-in radio meter: profile name and constructor.
pub const CATALOG: [(&str, Constructor); 6] = [
    ("wmbus-water", water),
    ("wmbus-warm-water", warm_water),
    ("wmbus-heat", heat),
    ("wmbus-gas", gas),
    ("wmbus-hca", heat_cost_allocator),
    ("wmbus-cold-water", cold_water),
];

/// The constructor of a built-in meter.
pub fn constructor(name: &str) -> Option<Constructor> {
    CATALOG.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

fn address(id: u32, manufacturer: u16, version: u8, medium: u8) -> SecondaryAddress {
    SecondaryAddress {
        id,
        manufacturer,
        version,
        medium,
    }
}

/// A water meter like the Sensus iPerl: T1, unencrypted.
pub fn water(id: u32, _key: Key) -> RadioMeterSpec {
    RadioMeterSpec {
        name: "wmbus-water".into(),
        kind: RadioKind::Water,
        address: address(id, 0x4CAE, 0x68, 0x07),
        mode: RadioMode::T1,
        format: FrameFormat::A,
        interval_s: 16,
        tpl: TplKind::Short,
        cw_flags: 0,
        ell_cc: None,
        security: SecurityMode::None,
        key: None,
        rssi_dbm: -62,
    }
}

/// A warm-water meter like the DWZ WaterstarM: T1, mode 5, two records in the clear.
pub fn warm_water(id: u32, key: Key) -> RadioMeterSpec {
    RadioMeterSpec {
        name: "wmbus-warm-water".into(),
        kind: RadioKind::WarmWater,
        address: address(id, 0x12FA, 0x02, 0x06),
        mode: RadioMode::T1,
        format: FrameFormat::A,
        interval_s: 32,
        tpl: TplKind::Short,
        cw_flags: CW_SYNCHRONOUS,
        ell_cc: None,
        security: SecurityMode::Mode5,
        key: Some(key),
        rssi_dbm: -71,
    }
}

/// A heat meter like the Engelmann SensoStar: C1 format B, ELL, AFL, mode 7.
pub fn heat(id: u32, key: Key) -> RadioMeterSpec {
    RadioMeterSpec {
        name: "wmbus-heat".into(),
        kind: RadioKind::Heat,
        address: address(id, 0x14C5, 0x00, 0x04),
        mode: RadioMode::C1,
        format: FrameFormat::B,
        interval_s: 30,
        tpl: TplKind::Short,
        cw_flags: 0,
        ell_cc: Some(super::ell::CC_SYNCHRONISED),
        security: SecurityMode::Mode7,
        key: Some(key),
        rssi_dbm: -68,
    }
}

/// A gas meter like the Apator Unismart: S1, mode 5.
pub fn gas(id: u32, key: Key) -> RadioMeterSpec {
    RadioMeterSpec {
        name: "wmbus-gas".into(),
        kind: RadioKind::Gas,
        address: address(id, 0x05B8, 0x01, 0x03),
        mode: RadioMode::S1,
        format: FrameFormat::A,
        interval_s: 120,
        tpl: TplKind::Short,
        cw_flags: CW_BIDIRECTIONAL,
        ell_cc: None,
        security: SecurityMode::Mode5,
        key: Some(key),
        rssi_dbm: -80,
    }
}

/// A heat-cost allocator like the Kaden HCA: T1, mode 5.
pub fn heat_cost_allocator(id: u32, key: Key) -> RadioMeterSpec {
    RadioMeterSpec {
        name: "wmbus-hca".into(),
        kind: RadioKind::HeatCostAllocator,
        address: address(id, 0x5930, 0x1E, 0x08),
        mode: RadioMode::T1,
        format: FrameFormat::A,
        interval_s: 120,
        tpl: TplKind::Short,
        cw_flags: 0,
        ell_cc: None,
        security: SecurityMode::Mode5,
        key: Some(key),
        rssi_dbm: -75,
    }
}

/// A cold-water meter like the Kamstrup Multical 21: C1 format A, ELL 8D with AES-CTR.
pub fn cold_water(id: u32, key: Key) -> RadioMeterSpec {
    RadioMeterSpec {
        name: "wmbus-cold-water".into(),
        kind: RadioKind::ColdWater,
        address: address(id, 0x2C2D, 0x1B, 0x16),
        mode: RadioMode::C1,
        format: FrameFormat::A,
        interval_s: 16,
        tpl: TplKind::None,
        cw_flags: 0,
        ell_cc: Some(super::ell::CC_SYNCHRONISED),
        security: SecurityMode::EllCtr,
        key: Some(key),
        rssi_dbm: -66,
    }
}
