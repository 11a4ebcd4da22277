//! The catalogue of push lists that carry values without OBIS ids, and the ids meterlab gives
//! them (`docs/reading-format.md`, "DLMS/COSEM push": "elements without an OBIS id in a
//! recognised list layout get the ids the layout catalogue gives them"). OBIS codes per IEC
//! 62056-6-1; the layouts are derived from the real pushes of `shared/corpus/dlms/` and the
//! operators' interface descriptions named with each layout.
//!
//! A push body is a list (array or structure) of elements. Elements that carry their own OBIS
//! id — `{OBIS, value[, scaler-unit]}` structures or the flat sequence `OBIS, value[,
//! scaler-unit]` — are named by it, whatever the layout. The others are named here, by their
//! 0-based position in the list (counted from the start, or from the end). A layout is
//! recognised by the shape of the whole list ([`Layout::matches`]); the first matching entry
//! of [`CATALOGUE`] wins. An element no rule names gets the id `#N` and a warning.
//!
//! | layout | list | ids given |
//! |---|---|---|
//! | `evn` | 35 elements: date-time, 11 × (OBIS, value, scaler-unit), meter number | #0 `0-0:1.0.0*255` (clock), last `0-0:96.1.0*255` |
//! | `obis_list_after_clock` | date-time, then (OBIS, value) pairs (L+G E450 via GBT) | #0 clock |
//! | `wiener_netze` | date-time, 8 × u32 | clock, `1-0:1.8.0`, `2.8.0`, `3.8.0`, `4.8.0`, `1.7.0`, `2.7.0`, `3.7.0`, `4.7.0` (all `*255`) |
//! | `wiener_netze_ldn` | logical device name, date-time, 8 × u32 | `0-0:42.0.0*255`, then as `wiener_netze` |
//! | `kelag` | (`0-6:25.9.0`, serial), time (4 B), date (5 B), 6 × u32, 2 strings | #2 `1-0:0.9.1*255`, #3 `1-0:0.9.2*255`, `1.8.0`, `2.8.0`, `3.8.0`, `4.8.0`, `1.7.0`, `2.7.0`; #10, #11 unnamed |
//! | `kaifa_list1` | 1 × u32 | `1-0:1.7.0*255` |
//! | `kaifa_kfm001_*` | `KFM_001`, meter id, meter type, P+, P−, Q+, Q−, I, U [, clock, A+, A−, R+, R−] | list id `0-0:0.0.0*255`, `0-0:96.1.0`, `0-0:96.1.7`, … |
//! | `list_id_then_obis` | a list-id string, then OBIS-keyed values (Kamstrup) | #0 `0-0:0.0.0*255` |
//! | `netz_burgenland` | 3 × U, 3 × I (u16), P+, P−, A+, A− (u32), 3 × u16, meter id | voltages, currents, powers, energies; #10-#12 unnamed; last `0-0:96.1.0*255` |
//!
//! A slot named `0-0:1.0.0*255` is the clock: like a clock object with an OBIS id it is not a
//! value, and gives the reading's time when the data-notification has none.

use crate::obis::Obis;

use super::axdr::Data;

/// `0-0:1.0.0*255`, the clock.
pub const CLOCK: Obis = Obis::new(0, 0, 1, 0, 0, 255);
/// `0-0:0.0.0*255`, where a list-id text sent without OBIS goes.
pub const LIST_ID: Obis = Obis::new(0, 0, 0, 0, 0, 255);
/// `0-0:96.1.0*255`, the meter number.
pub const METER_NUMBER: Obis = Obis::new(0, 0, 96, 1, 0, 255);
/// `0-0:42.0.0*255`, the COSEM logical device name.
pub const LOGICAL_DEVICE_NAME: Obis = Obis::new(0, 0, 42, 0, 0, 255);
/// `0-0:96.1.7*255`, the meter type (Kaifa).
pub const METER_TYPE: Obis = Obis::new(0, 0, 96, 1, 7, 255);

const fn e(c: u8, d: u8, e: u8) -> Obis {
    Obis::new(1, 0, c, d, e, 255)
}

/// `1-0:1.8.0*255` … short names for the registers used below.
const A_PLUS: Obis = e(1, 8, 0);
const A_MINUS: Obis = e(2, 8, 0);
const R_PLUS: Obis = e(3, 8, 0);
const R_MINUS: Obis = e(4, 8, 0);
const P_PLUS: Obis = e(1, 7, 0);
const P_MINUS: Obis = e(2, 7, 0);
const Q_PLUS: Obis = e(3, 7, 0);
const Q_MINUS: Obis = e(4, 7, 0);
const I1: Obis = e(31, 7, 0);
const I2: Obis = e(51, 7, 0);
const I3: Obis = e(71, 7, 0);
const U1: Obis = e(32, 7, 0);
const U2: Obis = e(52, 7, 0);
const U3: Obis = e(72, 7, 0);
/// `1-0:0.9.1*255` local time, `1-0:0.9.2*255` local date.
const LOCAL_TIME: Obis = e(0, 9, 1);
const LOCAL_DATE: Obis = e(0, 9, 2);

/// Where in the list a slot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// The n-th element (0-based).
    First(usize),
    /// The n-th element from the end (0 = the last).
    Last(usize),
}

/// One named position of a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Where.
    pub position: Position,
    /// The id given to the element there.
    pub id: Obis,
    /// For a number sent without scaler-unit: `(scaler, DLMS unit code)` from the list's
    /// published description, or `None` where no description says.
    pub scale: Option<(i8, u8)>,
}

const fn at(n: usize, id: Obis) -> Slot {
    Slot {
        position: Position::First(n),
        id,
        scale: None,
    }
}

/// A slot whose number the list description scales: `scaler` and DLMS `unit` code.
const fn scaled(n: usize, id: Obis, scaler: i8, unit: u8) -> Slot {
    Slot {
        position: Position::First(n),
        id,
        scale: Some((scaler, unit)),
    }
}

const fn last(n: usize, id: Obis) -> Slot {
    Slot {
        position: Position::Last(n),
        id,
        scale: None,
    }
}

/// DLMS unit codes (IEC 62056-6-2 class 3 enumeration) used by the scale catalogue.
const W: u8 = 27;
const VAR: u8 = 29;
const WH: u8 = 30;
const VARH: u8 = 32;
const AMPERE: u8 = 33;
const VOLT: u8 = 35;
const NO_UNIT: u8 = 255;

/// One entry of [`LISTED_SCALES`]: list id, (C, D, E) of the OBIS code, scaler, DLMS unit code.
pub type ListedScale = (&'static str, (u8, u8, u8), i8, u8);

/// Scalers and units of lists that send OBIS-keyed numbers without scaler-unit, by list id:
/// `(list id, (C, D, E) of the OBIS code, scaler, unit)`.
///
/// - `Kamstrup_V0001` (Kamstrup Omnipower, Norwegian HAN): energies Wh and varh, powers W and
///   var, voltages V, currents 0.01 A, power factors 0.01 — the Kamstrup HAN list convention as
///   the corpus capture `kamstrup_omnipower_hdlc_encrypted_auth` states it ("Kamstrup list:
///   Wh/W/var, V, A x0.01, W per phase, PF x0.01"; amsreader-firmware's Kamstrup tables).
pub const LISTED_SCALES: &[ListedScale] = &[
    ("Kamstrup_V0001", (1, 8, 0), 0, WH),
    ("Kamstrup_V0001", (2, 8, 0), 0, WH),
    ("Kamstrup_V0001", (3, 8, 0), 0, VARH),
    ("Kamstrup_V0001", (4, 8, 0), 0, VARH),
    ("Kamstrup_V0001", (21, 8, 0), 0, WH),
    ("Kamstrup_V0001", (41, 8, 0), 0, WH),
    ("Kamstrup_V0001", (61, 8, 0), 0, WH),
    ("Kamstrup_V0001", (22, 8, 0), 0, WH),
    ("Kamstrup_V0001", (42, 8, 0), 0, WH),
    ("Kamstrup_V0001", (62, 8, 0), 0, WH),
    ("Kamstrup_V0001", (1, 7, 0), 0, W),
    ("Kamstrup_V0001", (2, 7, 0), 0, W),
    ("Kamstrup_V0001", (3, 7, 0), 0, VAR),
    ("Kamstrup_V0001", (4, 7, 0), 0, VAR),
    ("Kamstrup_V0001", (21, 7, 0), 0, W),
    ("Kamstrup_V0001", (41, 7, 0), 0, W),
    ("Kamstrup_V0001", (61, 7, 0), 0, W),
    ("Kamstrup_V0001", (22, 7, 0), 0, W),
    ("Kamstrup_V0001", (42, 7, 0), 0, W),
    ("Kamstrup_V0001", (62, 7, 0), 0, W),
    ("Kamstrup_V0001", (32, 7, 0), 0, VOLT),
    ("Kamstrup_V0001", (52, 7, 0), 0, VOLT),
    ("Kamstrup_V0001", (72, 7, 0), 0, VOLT),
    ("Kamstrup_V0001", (31, 7, 0), -2, AMPERE),
    ("Kamstrup_V0001", (51, 7, 0), -2, AMPERE),
    ("Kamstrup_V0001", (71, 7, 0), -2, AMPERE),
    ("Kamstrup_V0001", (13, 7, 0), -2, NO_UNIT),
    ("Kamstrup_V0001", (33, 7, 0), -2, NO_UNIT),
    ("Kamstrup_V0001", (53, 7, 0), -2, NO_UNIT),
    ("Kamstrup_V0001", (73, 7, 0), -2, NO_UNIT),
];

/// The scale [`LISTED_SCALES`] gives an OBIS-keyed number of the list `list_id`.
pub fn listed_scale(list_id: &[u8], obis: Obis) -> Option<(i8, u8)> {
    let key = (obis.c(), obis.d(), obis.e());
    // The three groups first: the list id is compared for one row at most.
    LISTED_SCALES.iter().find_map(|&(id, cde, scaler, unit)| {
        (cde == key && id.as_bytes() == list_id).then_some((scaler, unit))
    })
}

/// A known list layout.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Short name, used in warnings and tests.
    pub name: &'static str,
    /// Who sends it and where it is described.
    pub source: &'static str,
    /// The named positions.
    pub slots: &'static [Slot],
    matcher: fn(&[Data<'_>]) -> bool,
}

impl Layout {
    /// Whether a list has this layout's shape.
    pub fn matches(&self, elements: &[Data<'_>]) -> bool {
        (self.matcher)(elements)
    }

    /// The id this layout gives the element at `index` of a list of `len` elements.
    pub fn id_at(&self, index: usize, len: usize) -> Option<Obis> {
        self.slot_at(index, len).map(|slot| slot.id)
    }

    /// The slot at `index` of a list of `len` elements.
    pub fn slot_at(&self, index: usize, len: usize) -> Option<&Slot> {
        self.slots.iter().find(|slot| {
            let i = match slot.position {
                Position::First(n) => Some(n),
                Position::Last(n) => len.checked_sub(1 + n),
            };
            i == Some(index)
        })
    }
}

/// The first layout of [`CATALOGUE`] that matches the list.
pub fn identify(elements: &[Data<'_>]) -> Option<&'static Layout> {
    CATALOGUE.iter().find(|layout| layout.matches(elements))
}

fn date_time(d: &Data<'_>) -> bool {
    matches!(d, Data::OctetString(b) if b.len() == 12) || matches!(d, Data::DateTime(_))
}

fn string(d: &Data<'_>) -> bool {
    matches!(
        d,
        Data::OctetString(_) | Data::VisibleString(_) | Data::Utf8String(_)
    )
}

fn octets(d: &Data<'_>, len: usize) -> bool {
    matches!(d, Data::OctetString(b) if b.len() == len)
}

fn u32s(elements: &[Data<'_>]) -> bool {
    elements.iter().all(|d| matches!(d, Data::Unsigned32(_)))
}

/// If an element with its own OBIS id starts at `index`, how many elements of the list it uses:
/// 1 for an `{OBIS, value[, x]}` structure, 2 or 3 for the flat `OBIS, value[, scaler-unit]`.
#[inline]
pub fn keyed_group(elements: &[Data<'_>], index: usize) -> Option<usize> {
    let element = elements.get(index)?;
    if let Data::Structure(items) = element {
        if (2..=3).contains(&items.len()) && items.first().is_some_and(|d| d.as_obis().is_some()) {
            return Some(1);
        }
    }
    element.as_obis()?;
    elements.get(index + 1)?;
    let with_unit = elements
        .get(index + 2)
        .is_some_and(|d| d.as_scaler_unit().is_some());
    Some(if with_unit { 3 } else { 2 })
}

fn u16s(elements: &[Data<'_>]) -> bool {
    elements.iter().all(|d| matches!(d, Data::Unsigned16(_)))
}

/// Every element is an `{OBIS, value[, scaler-unit]}` structure or part of a flat
/// `OBIS, value[, scaler-unit]` sequence.
fn all_keyed(elements: &[Data<'_>]) -> bool {
    let mut i = 0;
    while i < elements.len() {
        match keyed_group(elements, i) {
            Some(used) => i += used,
            None => return false,
        }
    }
    true
}

fn evn(l: &[Data<'_>]) -> bool {
    l.len() >= 5
        && (l.len() - 2) % 3 == 0
        && date_time(&l[0])
        && string(&l[l.len() - 1])
        && l[1..l.len() - 1]
            .chunks(3)
            .all(|g| g.len() == 3 && g[0].as_obis().is_some() && g[2].as_scaler_unit().is_some())
}

fn obis_list_after_clock(l: &[Data<'_>]) -> bool {
    l.len() >= 3 && date_time(&l[0]) && all_keyed(&l[1..])
}

fn wiener_netze(l: &[Data<'_>]) -> bool {
    l.len() == 9 && date_time(&l[0]) && u32s(&l[1..])
}

fn wiener_netze_ldn(l: &[Data<'_>]) -> bool {
    l.len() == 10 && string(&l[0]) && date_time(&l[1]) && u32s(&l[2..])
}

fn kelag(l: &[Data<'_>]) -> bool {
    l.len() == 12
        && l[0].as_obis() == Some(Obis::new(0, 6, 25, 9, 0, 255))
        && string(&l[1])
        && octets(&l[2], 4)
        && octets(&l[3], 5)
        && u32s(&l[4..10])
        && string(&l[10])
        && string(&l[11])
}

fn kaifa_list1(l: &[Data<'_>]) -> bool {
    matches!(l, [Data::Unsigned32(_)])
}

fn kfm001(l: &[Data<'_>], len: usize) -> bool {
    l.len() == len
        && l[0].as_string_bytes() == Some(b"KFM_001".as_slice())
        && string(&l[1])
        && string(&l[2])
}

fn kaifa_kfm001_1p(l: &[Data<'_>]) -> bool {
    kfm001(l, 9) && u32s(&l[3..])
}

fn kaifa_kfm001_3p(l: &[Data<'_>]) -> bool {
    kfm001(l, 13) && u32s(&l[3..])
}

fn kaifa_kfm001_1p_hourly(l: &[Data<'_>]) -> bool {
    kfm001(l, 14) && u32s(&l[3..9]) && date_time(&l[9]) && u32s(&l[10..])
}

fn kaifa_kfm001_3p_hourly(l: &[Data<'_>]) -> bool {
    kfm001(l, 18) && u32s(&l[3..13]) && date_time(&l[13]) && u32s(&l[14..])
}

fn list_id_then_obis(l: &[Data<'_>]) -> bool {
    l.len() >= 3 && matches!(l[0], Data::VisibleString(_)) && all_keyed(&l[1..])
}

fn netz_burgenland(l: &[Data<'_>]) -> bool {
    l.len() == 14 && u16s(&l[..6]) && u32s(&l[6..10]) && u16s(&l[10..13]) && string(&l[13])
}

// Kaifa KFM_001 scales: powers W and var, currents mA, voltages 0.1 V, energies Wh and varh
// (Kaifa "HAN OBIS codes KFM_001" as used by roarfred/AmsToMqttBridge Samples/Kaifa, whose
// readme notes the document's own units are off by these factors; the corpus capture
// kaifa_ma304h3e_norway_list2_hdlc_plain: "I1..I3 (mA), U1..U3 (0.1 V)").
const KFM001_LIST2_1P: [Slot; 9] = [
    at(0, LIST_ID),
    at(1, METER_NUMBER),
    at(2, METER_TYPE),
    scaled(3, P_PLUS, 0, W),
    scaled(4, P_MINUS, 0, W),
    scaled(5, Q_PLUS, 0, VAR),
    scaled(6, Q_MINUS, 0, VAR),
    scaled(7, I1, -3, AMPERE),
    scaled(8, U1, -1, VOLT),
];

const KFM001_LIST2_3P: [Slot; 13] = [
    at(0, LIST_ID),
    at(1, METER_NUMBER),
    at(2, METER_TYPE),
    scaled(3, P_PLUS, 0, W),
    scaled(4, P_MINUS, 0, W),
    scaled(5, Q_PLUS, 0, VAR),
    scaled(6, Q_MINUS, 0, VAR),
    scaled(7, I1, -3, AMPERE),
    scaled(8, I2, -3, AMPERE),
    scaled(9, I3, -3, AMPERE),
    scaled(10, U1, -1, VOLT),
    scaled(11, U2, -1, VOLT),
    scaled(12, U3, -1, VOLT),
];

const fn kfm001_hourly<const N: usize, const M: usize>(list2: [Slot; N]) -> [Slot; M] {
    let mut out = [at(0, CLOCK); M];
    let mut i = 0;
    while i < N {
        out[i] = list2[i];
        i += 1;
    }
    out[N] = at(N, CLOCK);
    out[N + 1] = scaled(N + 1, A_PLUS, 0, WH);
    out[N + 2] = scaled(N + 2, A_MINUS, 0, WH);
    out[N + 3] = scaled(N + 3, R_PLUS, 0, VARH);
    out[N + 4] = scaled(N + 4, R_MINUS, 0, VARH);
    out
}

const KFM001_LIST3_1P: [Slot; 14] = kfm001_hourly(KFM001_LIST2_1P);
const KFM001_LIST3_3P: [Slot; 18] = kfm001_hourly(KFM001_LIST2_3P);

const WIENER_NETZE_REGISTERS: [Obis; 8] = [
    A_PLUS, A_MINUS, R_PLUS, R_MINUS, P_PLUS, P_MINUS, Q_PLUS, Q_MINUS,
];

const fn wiener_netze_slots<const M: usize>(first: usize) -> [Slot; M] {
    let mut out = [at(0, CLOCK); M];
    if first == 1 {
        out[0] = at(0, LOGICAL_DEVICE_NAME);
    }
    out[first] = at(first, CLOCK);
    let mut i = 0;
    while i < 8 {
        out[first + 1 + i] = at(first + 1 + i, WIENER_NETZE_REGISTERS[i]);
        i += 1;
    }
    out
}

const WIENER_NETZE_SLOTS: [Slot; 9] = wiener_netze_slots(0);
const WIENER_NETZE_LDN_SLOTS: [Slot; 10] = wiener_netze_slots(1);

/// Every known layout, in matching order.
pub static CATALOGUE: &[Layout] = &[
    Layout {
        name: "evn",
        source: "EVN / Netz NÖ Kaifa MA309 and Sagemcom T210-D (Netz NÖ customer-interface brochure; corpus evn_*)",
        slots: &[at(0, CLOCK), last(0, METER_NUMBER)],
        matcher: evn,
    },
    Layout {
        name: "obis_list_after_clock",
        source: "L+G E450 via General Block Transfer, Austria (esphome-libs/dlms_parser hdlc_landis_gyr_e450; corpus lg_e450_*)",
        slots: &[at(0, CLOCK)],
        matcher: obis_list_after_clock,
    },
    Layout {
        name: "wiener_netze",
        source: "Wiener Netze IR interface, Iskra AM550 and L+G E450 (corpus wienernetze_*)",
        slots: &WIENER_NETZE_SLOTS,
        matcher: wiener_netze,
    },
    Layout {
        name: "wiener_netze_ldn",
        source: "Wiener Netze IR interface, Siemens IM350 with logical device name (corpus wienernetze_im350_ir)",
        slots: &WIENER_NETZE_LDN_SLOTS,
        matcher: wiener_netze_ldn,
    },
    Layout {
        name: "kelag",
        source: "KELAG / Kärnten Netz Iskra AM550 P1 (UtilitechAS/amsreader-firmware test/payloads/iskraemeco; corpus kelag_*)",
        slots: &[
            at(2, LOCAL_TIME),
            at(3, LOCAL_DATE),
            at(4, A_PLUS),
            at(5, A_MINUS),
            at(6, R_PLUS),
            at(7, R_MINUS),
            at(8, P_PLUS),
            at(9, P_MINUS),
        ],
        matcher: kelag,
    },
    Layout {
        name: "kaifa_list1",
        source: "Kaifa MA304 KFM_001 list 1, Norway/Sweden HAN (roarfred/AmsToMqttBridge Samples/Kaifa; corpus kaifa_ma304h3e_norway_list1_short)",
        slots: &[scaled(0, P_PLUS, 0, W)],
        matcher: kaifa_list1,
    },
    Layout {
        name: "kaifa_kfm001_list2_1phase",
        source: "Kaifa KFM_001 list 2, single phase (roarfred/AmsToMqttBridge Samples/Kaifa/obisdata.md)",
        slots: &KFM001_LIST2_1P,
        matcher: kaifa_kfm001_1p,
    },
    Layout {
        name: "kaifa_kfm001_list2_3phase",
        source: "Kaifa KFM_001 list 2, three phase (roarfred/AmsToMqttBridge Samples/Kaifa/obisdata.md; corpus kaifa_ma304h3e_norway_list2_hdlc_plain)",
        slots: &KFM001_LIST2_3P,
        matcher: kaifa_kfm001_3p,
    },
    Layout {
        name: "kaifa_kfm001_list3_1phase",
        source: "Kaifa KFM_001 list 3 (hourly), single phase (roarfred/AmsToMqttBridge Samples/Kaifa/obisdata.md)",
        slots: &KFM001_LIST3_1P,
        matcher: kaifa_kfm001_1p_hourly,
    },
    Layout {
        name: "kaifa_kfm001_list3_3phase",
        source: "Kaifa KFM_001 list 3 (hourly), three phase (roarfred/AmsToMqttBridge Samples/Kaifa/obisdata.md)",
        slots: &KFM001_LIST3_3P,
        matcher: kaifa_kfm001_3p_hourly,
    },
    Layout {
        name: "list_id_then_obis",
        source: "Kamstrup Omnipower and Norwegian HAN lists: a list id, then OBIS-keyed values (corpus kamstrup_omnipower_hdlc_encrypted_auth)",
        slots: &[at(0, LIST_ID)],
        matcher: list_id_then_obis,
    },
    Layout {
        name: "netz_burgenland",
        source: "Netz Burgenland L+G E450 (UtilitechAS/amsreader-firmware issue #501; no capture in the corpus)",
        slots: &[
            at(0, U1),
            at(1, U2),
            at(2, U3),
            at(3, I1),
            at(4, I2),
            at(5, I3),
            at(6, P_PLUS),
            at(7, P_MINUS),
            at(8, A_PLUS),
            at(9, A_MINUS),
            last(0, METER_NUMBER),
        ],
        matcher: netz_burgenland,
    },
];

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn slots_are_consistent() {
        for layout in CATALOGUE {
            for (i, a) in layout.slots.iter().enumerate() {
                for b in &layout.slots[i + 1..] {
                    assert_ne!(a.position, b.position, "{}: position twice", layout.name);
                }
            }
        }
        let kfm = CATALOGUE
            .iter()
            .find(|l| l.name == "kaifa_kfm001_list3_3phase")
            .expect("layout");
        assert_eq!(kfm.id_at(13, 18), Some(CLOCK));
        assert_eq!(kfm.id_at(17, 18), Some(R_MINUS));
        assert_eq!(kfm.id_at(12, 18), Some(U3));
        let wn = CATALOGUE
            .iter()
            .find(|l| l.name == "wiener_netze_ldn")
            .expect("layout");
        assert_eq!(wn.id_at(0, 10), Some(LOGICAL_DEVICE_NAME));
        assert_eq!(wn.id_at(1, 10), Some(CLOCK));
        assert_eq!(wn.id_at(9, 10), Some(Q_MINUS));
        let evn = CATALOGUE.iter().find(|l| l.name == "evn").expect("layout");
        assert_eq!(evn.id_at(34, 35), Some(METER_NUMBER));
        assert_eq!(evn.id_at(33, 35), None);
    }

    #[test]
    fn shapes() {
        let dt = Data::OctetString(&[0x07, 0xE5, 1, 1, 5, 0, 0, 0, 0, 0x80, 0, 0]);
        let mut wn = vec![dt.clone()];
        wn.extend((0..8).map(Data::Unsigned32));
        assert_eq!(identify(&wn).map(|l| l.name), Some("wiener_netze"));
        wn[3] = Data::Unsigned16(1);
        assert_eq!(identify(&wn).map(|l| l.name), None);
        assert_eq!(
            identify(&[Data::Unsigned32(1)]).map(|l| l.name),
            Some("kaifa_list1")
        );
        let kamstrup = [
            Data::VisibleString(b"Kamstrup_V0001"),
            Data::OctetString(&[1, 1, 1, 8, 0, 255]),
            Data::Unsigned32(5),
        ];
        assert_eq!(
            identify(&kamstrup).map(|l| l.name),
            Some("list_id_then_obis")
        );
    }
}
