//! Units of measure: the DLMS/COSEM unit enumeration (IEC 62056-6-2, "Blue Book" class 3
//! scaler_unit) with the names meterlab prints. Plain data, shared by the decoder and the
//! simulator.

/// `(code, name)` for every unit with a printable name. Codes 254 (other) and 255 (count, no
/// unit) have none.
pub const DLMS_UNITS: &[(u8, &str)] = &[
    (1, "a"),
    (2, "mo"),
    (3, "wk"),
    (4, "d"),
    (5, "h"),
    (6, "min."),
    (7, "s"),
    (8, "°"),
    (9, "°C"),
    (10, "currency"),
    (11, "m"),
    (12, "m/s"),
    (13, "m3"),
    (14, "m3 (corrected)"),
    (15, "m3/h"),
    (16, "m3/h (corrected)"),
    (17, "m3/d"),
    (18, "m3/d (corrected)"),
    (19, "l"),
    (20, "kg"),
    (21, "N"),
    (22, "Nm"),
    (23, "Pa"),
    (24, "bar"),
    (25, "J"),
    (26, "J/h"),
    (27, "W"),
    (28, "VA"),
    (29, "var"),
    (30, "Wh"),
    (31, "VAh"),
    (32, "varh"),
    (33, "A"),
    (34, "C"),
    (35, "V"),
    (36, "V/m"),
    (37, "F"),
    (38, "Ω"),
    (39, "Ωm2/m"),
    (40, "Wb"),
    (41, "T"),
    (42, "A/m"),
    (43, "H"),
    (44, "Hz"),
    (45, "1/(Wh)"),
    (46, "1/(varh)"),
    (47, "1/(VAh)"),
    (48, "V2h"),
    (49, "A2h"),
    (50, "kg/s"),
    (51, "S"),
    (52, "K"),
    (53, "1/(V2h)"),
    (54, "1/(A2h)"),
    (55, "1/m3"),
    (56, "%"),
    (57, "Ah"),
    (60, "Wh/m3"),
    (61, "J/m3"),
    (62, "Mol %"),
    (63, "g/m3"),
    (64, "Pa s"),
    (65, "J/kg"),
    (70, "dBm"),
    (71, "dBµV"),
    (72, "dB"),
];

/// The name of a DLMS unit code; `None` for 254 (other), 255 (no unit) and unassigned codes.
pub fn dlms_unit_name(code: u8) -> Option<&'static str> {
    DLMS_UNITS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The DLMS code of a unit name.
pub fn dlms_unit_code(name: &str) -> Option<u8> {
    DLMS_UNITS.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn codes_seen_in_pushes() {
        // shared/protocols/dlms.md: 1B W, 1C VA, 1D var, 1E Wh, 1F VAh, 20 varh, 21 A, 23 V, 2C Hz.
        for (code, name) in [
            (0x1B, "W"),
            (0x1C, "VA"),
            (0x1D, "var"),
            (0x1E, "Wh"),
            (0x1F, "VAh"),
            (0x20, "varh"),
            (0x21, "A"),
            (0x23, "V"),
            (0x2C, "Hz"),
        ] {
            assert_eq!(dlms_unit_name(code), Some(name));
            assert_eq!(dlms_unit_code(name), Some(code));
        }
        assert_eq!(dlms_unit_name(0xFF), None);
        assert_eq!(dlms_unit_name(0xFE), None);
        assert_eq!(dlms_unit_name(0), None);
    }
}
