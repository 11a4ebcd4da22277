//! Value information: the primary VIF table, the `FB` and `FD` extension tables and the
//! combinable VIFEs (EN 13757-3, clause 6.4 and annex C; table names as libmbus's normalized
//! output prints them).
//!
//! [`Quantity`] is what a VIF chain means: the quantity name, the normalized unit, and the
//! factor (a power of ten and an integer multiplier for time units) that turns the raw value
//! into that unit.

use std::borrow::Cow;

/// How a record's value is to be presented besides its data field coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presentation {
    /// A number (or text for LVAR/invalid data).
    Plain,
    /// A date (VIF `6C`): type G in 2 bytes.
    Date,
    /// A date and time (VIF `6D`): type F in 4 bytes, type I in 6 bytes.
    DateTime,
}

/// The meaning of a VIF (after its extension tables and VIFEs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// The quantity as libmbus's normalized output names it (`Energy`): a table entry, or the
    /// text of a plain-text VIF.
    pub name: Cow<'static, str>,
    /// The normalized unit (`Wh`), `None` for identifiers, dimensionless values and dates.
    pub unit: Option<&'static str>,
    /// Power of ten to apply to the raw value.
    pub exponent: i32,
    /// Integer factor to apply (60, 3600, 86400 for durations in minutes, hours, days).
    pub multiplier: i64,
    /// How the value is presented.
    pub presentation: Presentation,
    /// Whether the VIF is `7F`/`FF` (manufacturer specific).
    pub manufacturer: bool,
}

impl Quantity {
    fn new(name: &'static str, unit: Option<&'static str>, exponent: i32) -> Self {
        Quantity {
            name: Cow::Borrowed(name),
            unit,
            exponent,
            multiplier: 1,
            presentation: Presentation::Plain,
            manufacturer: false,
        }
    }

    fn duration(name: &'static str, code: u8) -> Self {
        let mut q = Quantity::new(name, Some("s"), 0);
        q.multiplier = [1, 60, 3600, 86400][usize::from(code & 3)];
        q
    }

    fn none(name: &'static str) -> Self {
        Quantity::new(name, None, 0)
    }

    /// A quantity named by a plain-text VIF (`7C`/`FC`): the text is the name, no unit.
    pub fn plain_text(text: &str) -> Self {
        Quantity {
            name: Cow::Owned(text.to_string()),
            ..Quantity::none("")
        }
    }

    /// Applies one combinable VIFE (extension bit masked off): the multiplicative ones
    /// (`70`–`77`: ×10^(n−6), `7D`: ×10³) change the exponent; all others (per time unit,
    /// forward/backward flow, error codes…) keep the base quantity and unit.
    pub fn apply_vife(&mut self, vife: u8) {
        match vife & 0x7F {
            e @ 0x70..=0x77 => self.exponent += i32::from(e & 7) - 6,
            0x7D => self.exponent += 3,
            _ => {}
        }
    }
}

fn n(vif: u8, bits: u8) -> i32 {
    i32::from(vif & ((1 << bits) - 1))
}

/// The primary VIF table (extension bit masked off). `7B`/`7D` (the extension tables) and
/// `7C` (plain text) are handled by the caller; here they are `Unknown`.
pub fn primary(vif: u8) -> Quantity {
    let v = vif & 0x7F;
    match v {
        0x00..=0x07 => Quantity::new("Energy", Some("Wh"), n(v, 3) - 3),
        0x08..=0x0F => Quantity::new("Energy", Some("J"), n(v, 3)),
        0x10..=0x17 => Quantity::new("Volume", Some("m^3"), n(v, 3) - 6),
        0x18..=0x1F => Quantity::new("Mass", Some("kg"), n(v, 3) - 3),
        0x20..=0x23 => Quantity::duration("On time", v),
        0x24..=0x27 => Quantity::duration("Operating time", v),
        0x28..=0x2F => Quantity::new("Power", Some("W"), n(v, 3) - 3),
        0x30..=0x37 => Quantity::new("Power", Some("J/h"), n(v, 3)),
        0x38..=0x3F => Quantity::new("Volume flow", Some("m^3/h"), n(v, 3) - 6),
        0x40..=0x47 => Quantity::new("Volume flow", Some("m^3/min"), n(v, 3) - 7),
        0x48..=0x4F => Quantity::new("Volume flow", Some("m^3/s"), n(v, 3) - 9),
        0x50..=0x57 => Quantity::new("Mass flow", Some("kg/h"), n(v, 3) - 3),
        0x58..=0x5B => Quantity::new("Flow temperature", Some("°C"), n(v, 2) - 3),
        0x5C..=0x5F => Quantity::new("Return temperature", Some("°C"), n(v, 2) - 3),
        0x60..=0x63 => Quantity::new("Temperature difference", Some("K"), n(v, 2) - 3),
        0x64..=0x67 => Quantity::new("External temperature", Some("°C"), n(v, 2) - 3),
        0x68..=0x6B => Quantity::new("Pressure", Some("bar"), n(v, 2) - 3),
        0x6C => Quantity {
            presentation: Presentation::Date,
            ..Quantity::none("Time point (date)")
        },
        0x6D => Quantity {
            presentation: Presentation::DateTime,
            ..Quantity::none("Time point (date & time)")
        },
        0x6E => Quantity::none("H.C.A."),
        0x70..=0x73 => Quantity::duration("Averaging Duration", v),
        0x74..=0x77 => Quantity::duration("Actuality Duration", v),
        0x78 => Quantity::none("Fabrication No"),
        0x79 => Quantity::none("(Enhanced) Identification"),
        0x7A => Quantity::none("Bus Address"),
        0x7E => Quantity::none("Any VIF"),
        0x7F => Quantity {
            manufacturer: true,
            ..Quantity::none("Manufacturer specific")
        },
        _ => Quantity::none("Unknown"),
    }
}

/// The first extension table (after VIF `FB`), extension bit masked off.
pub fn extension_fb(code: u8) -> Quantity {
    let v = code & 0x7F;
    match v {
        0x00..=0x01 => Quantity::new("Energy", Some("Wh"), n(v, 1) + 5),
        // EN 13757-3:2013 (OMS RE01, jMBus): 10^n kVARh, 10^n kVAh.
        0x02..=0x03 => Quantity::new("Reactive energy", Some("varh"), n(v, 1) + 3),
        0x04..=0x05 => Quantity::new("Apparent energy", Some("VAh"), n(v, 1) + 3),
        0x08..=0x09 => Quantity::new("Energy", Some("J"), n(v, 1) + 8),
        0x10..=0x11 => Quantity::new("Volume", Some("m^3"), n(v, 1) + 2),
        // 10^(nn-3) kVAR (OMS RP01, jMBus).
        0x14..=0x17 => Quantity::new("Reactive power", Some("var"), n(v, 2)),
        0x18..=0x19 => Quantity::new("Mass", Some("kg"), n(v, 1) + 5),
        0x1A..=0x1B => Quantity::new("Relative humidity", Some("%"), n(v, 1) - 1),
        0x21 => Quantity::new("Volume", Some("feet^3"), -1),
        0x22..=0x23 => Quantity::new("Volume", Some("american gallon"), n(v, 1) - 1),
        0x24 => Quantity::new("Volume flow", Some("american gallon/min"), -3),
        0x25 => Quantity::new("Volume flow", Some("american gallon/min"), 0),
        0x26 => Quantity::new("Volume flow", Some("american gallon/h"), 0),
        0x28..=0x29 => Quantity::new("Power", Some("W"), n(v, 1) + 5),
        0x30..=0x31 => Quantity::new("Power", Some("J/h"), n(v, 1) + 8),
        // 10^(nn-3) kVA (jMBus).
        0x34..=0x37 => Quantity::new("Apparent power", Some("VA"), n(v, 2)),
        0x58..=0x5B => Quantity::new("Flow temperature", Some("°F"), n(v, 2) - 3),
        0x5C..=0x5F => Quantity::new("Return temperature", Some("°F"), n(v, 2) - 3),
        0x60..=0x63 => Quantity::new("Temperature difference", Some("°F"), n(v, 2) - 3),
        0x64..=0x67 => Quantity::new("External temperature", Some("°F"), n(v, 2) - 3),
        0x70..=0x73 => Quantity::new("Cold / Warm Temperature Limit", Some("°F"), n(v, 2) - 3),
        0x74..=0x77 => Quantity::new("Cold / Warm Temperature Limit", Some("°C"), n(v, 2) - 3),
        0x78..=0x7F => Quantity::new("Cumul count max power", Some("W"), n(v, 3) - 3),
        _ => Quantity::new("Reserved", None, 0),
    }
}

/// The second extension table (after VIF `FD`), extension bit masked off.
pub fn extension_fd(code: u8) -> Quantity {
    let v = code & 0x7F;
    match v {
        0x00..=0x03 => Quantity::new("Credit", None, n(v, 2) - 3),
        0x04..=0x07 => Quantity::new("Debit", None, n(v, 2) - 3),
        0x08 => Quantity::none("Access Number (transmission count)"),
        0x09 => Quantity::none("Medium"),
        0x0A => Quantity::none("Manufacturer"),
        0x0B => Quantity::none("Parameter set identification"),
        0x0C => Quantity::none("Model / Version"),
        0x0D => Quantity::none("Hardware version"),
        0x0E => Quantity::none("Firmware version"),
        0x0F => Quantity::none("Software version"),
        0x10 => Quantity::none("Customer location"),
        0x11 => Quantity::none("Customer"),
        0x12 => Quantity::none("Access Code User"),
        0x13 => Quantity::none("Access Code Operator"),
        0x14 => Quantity::none("Access Code System Operator"),
        0x15 => Quantity::none("Access Code Developer"),
        0x16 => Quantity::none("Password"),
        0x17 => Quantity::none("Error flags"),
        0x18 => Quantity::none("Error mask"),
        0x1A => Quantity::none("Digital Output"),
        0x1B => Quantity::none("Digital Input"),
        0x1C => Quantity::none("Baudrate"),
        0x1D => Quantity::none("Response delay time"),
        0x1E => Quantity::none("Retry"),
        0x20 => Quantity::none("First storage # for cyclic storage"),
        0x21 => Quantity::none("Last storage # for cyclic storage"),
        0x22 => Quantity::none("Size of storage block"),
        0x24..=0x27 => Quantity::duration("Storage interval", v),
        0x2C..=0x2F => Quantity::duration("Duration since last readout", v),
        0x3A => Quantity::none("Dimensionless"),
        0x40..=0x4F => Quantity::new("Voltage", Some("V"), n(v, 4) - 9),
        0x50..=0x5F => Quantity::new("Current", Some("A"), n(v, 4) - 12),
        0x60 => Quantity::none("Reset counter"),
        0x61 => Quantity::none("Cumulation counter"),
        0x62 => Quantity::none("Control signal"),
        0x63 => Quantity::none("Day of week"),
        0x64 => Quantity::none("Week number"),
        0x65 => Quantity::none("Time point of day change"),
        0x66 => Quantity::none("State of parameter activation"),
        0x67 => Quantity::none("Special supplier information"),
        0x68..=0x6B => {
            let mut q = Quantity::duration("Duration since last cumulation", v);
            // hours, days, months, years: only the first two have a fixed length.
            q.multiplier = [3600, 86400, 1, 1][usize::from(v & 3)];
            if v & 3 >= 2 {
                q.unit = None;
            }
            q
        }
        0x6C..=0x6F => {
            let mut q = Quantity::duration("Operating time battery", v);
            q.multiplier = [3600, 86400, 1, 1][usize::from(v & 3)];
            if v & 3 >= 2 {
                q.unit = None;
            }
            q
        }
        0x70 => Quantity {
            presentation: Presentation::Date,
            ..Quantity::none("Date and time of battery change")
        },
        0x71 => Quantity::none("RSSI"),
        _ => Quantity::new("Reserved", None, 0),
    }
}

#[cfg(test)]
mod fb_electricity {
    use super::*;

    /// FB codes of electricity meters (EN 13757-3:2013, OMS RE01/RP01): reactive energy
    /// 10^n kVARh, apparent energy 10^n kVAh, reactive and apparent power 10^(nn-3) kVAR/kVA.
    #[test]
    fn reactive_and_apparent_quantities() {
        let q = extension_fb(0x82);
        assert_eq!(
            (&*q.name, q.unit, q.exponent),
            ("Reactive energy", Some("varh"), 3)
        );
        assert_eq!(extension_fb(0x03).exponent, 4);
        assert_eq!(extension_fb(0x05).unit, Some("VAh"));
        let q = extension_fb(0x14);
        assert_eq!(
            (&*q.name, q.unit, q.exponent),
            ("Reactive power", Some("var"), 0)
        );
        assert_eq!(extension_fb(0x97).exponent, 3);
        let q = extension_fb(0x34);
        assert_eq!(
            (&*q.name, q.unit, q.exponent),
            ("Apparent power", Some("VA"), 0)
        );
        assert_eq!(extension_fb(0x37).exponent, 3);
        assert_eq!(extension_fb(0x06).name, "Reserved");
    }
}
