//! The data-notification APDU and the COSEM date-time (IEC 62056-5-3 §8.6, DLMS UA Green Book
//! §9.3.10 "DataNotification"; Blue Book §4.1.6.1 date-time).
//!
//! `0F <long-invoke-id-and-priority u32> <date-time> <notification-body: one Data>`, the
//! date-time an OCTET STRING OPTIONAL: `00` when absent, else `0C` and its 12 bytes. Kaifa's Nordic
//! firmware writes it as a typed octet-string `09 0C <12 bytes>` (gurux.fi node 23817); that
//! quirk is [`DateTimeField::Typed`]. [`DataNotificationRepr`] is the emit half of the decoder's
//! type of the same name.

use chrono::{Datelike, Timelike};

use super::axdr::Data;
use crate::clock::LocalTime;

/// The data-notification tag.
pub const TAG_DATA_NOTIFICATION: u8 = 0x0F;
/// Deviation "not specified".
pub const DEVIATION_NOT_SPECIFIED: i16 = i16::MIN;
/// Clock status bit: daylight saving active.
pub const STATUS_DST: u8 = 0x80;

/// A COSEM date-time: 12 bytes, every field as the meter fills it (`FF` / `8000` = not
/// specified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTimeRepr {
    /// Year (`FFFF` = not specified).
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day of month 1–31.
    pub day: u8,
    /// Day of week, 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
    /// Second 0–59.
    pub second: u8,
    /// Hundredths of a second (`FF` = not specified).
    pub hundredths: u8,
    /// Minutes from local time to UTC (−60 for CET, −120 for CEST), or
    /// [`DEVIATION_NOT_SPECIFIED`].
    pub deviation: i16,
    /// Clock status (`80` = daylight saving active, `FF` = not specified).
    pub clock_status: u8,
}

/// How a meter fills the date-time fields it does not measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockStyle {
    /// Austrian meters (Kaifa MA309, Sagemcom T210-D): hundredths `00`, deviation −60/−120,
    /// status `80` in summer time and `00` in winter.
    Deviation,
    /// Nordic HAN meters and the L+G E450: hundredths `FF`, deviation `8000`, this status.
    Unspecified {
        /// The clock status sent (`FF` Aidon, `00` Kaifa, Kamstrup, L+G).
        status: u8,
    },
}

impl ClockStyle {
    /// Whether the date-time names its offset from UTC.
    pub fn has_deviation(self) -> bool {
        matches!(self, ClockStyle::Deviation)
    }

    /// The local time as the reading format writes it: with the offset when the meter sends
    /// a deviation, else without.
    pub fn rfc3339(self, t: &LocalTime) -> String {
        if self.has_deviation() {
            t.rfc3339()
        } else {
            t.rfc3339_plain()
        }
    }
}

impl DateTimeRepr {
    /// The date-time a meter keeping `t` sends.
    pub fn from_local(t: &LocalTime, style: ClockStyle) -> Self {
        let d = t.local;
        let (hundredths, deviation, clock_status) = match style {
            ClockStyle::Deviation => (
                0,
                if t.summer { -120 } else { -60 },
                if t.summer { STATUS_DST } else { 0 },
            ),
            ClockStyle::Unspecified { status } => (0xFF, DEVIATION_NOT_SPECIFIED, status),
        };
        DateTimeRepr {
            year: u16::try_from(d.year()).unwrap_or(0xFFFF),
            month: d.month() as u8,
            day: d.day() as u8,
            weekday: d.weekday().number_from_monday() as u8,
            hour: d.hour() as u8,
            minute: d.minute() as u8,
            second: d.second() as u8,
            hundredths,
            deviation,
            clock_status,
        }
    }

    /// Appends the 12 bytes to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let [y0, y1] = self.year.to_be_bytes();
        let [d0, d1] = self.deviation.to_be_bytes();
        out.extend_from_slice(&[
            y0,
            y1,
            self.month,
            self.day,
            self.weekday,
            self.hour,
            self.minute,
            self.second,
            self.hundredths,
            d0,
            d1,
            self.clock_status,
        ]);
    }

    /// As the octet-string value a list element carries (`09 0C …`).
    pub fn to_data(&self) -> Data {
        let mut bytes = Vec::with_capacity(12);
        self.emit(&mut bytes);
        Data::OctetString(bytes)
    }
}

/// The optional date-time of a data-notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateTimeField {
    /// `00`.
    Absent,
    /// `0C` and 12 bytes.
    Present(DateTimeRepr),
    /// `09 0C` and 12 bytes (Kaifa Nordic firmware).
    Typed(DateTimeRepr),
}

impl DateTimeField {
    fn buffer_len(&self) -> usize {
        match self {
            DateTimeField::Absent => 1,
            DateTimeField::Present(_) => 13,
            DateTimeField::Typed(_) => 14,
        }
    }
}

/// A data-notification before emission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataNotificationRepr {
    /// long-invoke-id-and-priority: b31 high priority, b30 confirmed, b29 break-on-error,
    /// b28 self-descriptive, b23–0 the invoke id.
    pub long_invoke_id_and_priority: u32,
    /// The optional date-time.
    pub date_time: DateTimeField,
    /// The notification body (the push list).
    pub body: Data,
}

impl DataNotificationRepr {
    /// Bytes the APDU takes.
    pub fn buffer_len(&self) -> usize {
        1 + 4 + self.date_time.buffer_len() + self.body.buffer_len()
    }

    /// Appends the APDU to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        out.push(TAG_DATA_NOTIFICATION);
        out.extend_from_slice(&self.long_invoke_id_and_priority.to_be_bytes());
        match &self.date_time {
            DateTimeField::Absent => out.push(0x00),
            DateTimeField::Present(dt) => {
                out.push(0x0C);
                dt.emit(out);
            }
            DateTimeField::Typed(dt) => {
                out.extend_from_slice(&[0x09, 0x0C]);
                dt.emit(out);
            }
        }
        self.body.emit(out);
    }
}

#[cfg(test)]
mod test {
    use chrono::{TimeZone, Utc};

    use super::*;

    /// What a repr emits into an empty buffer.
    macro_rules! emitted {
        ($repr:expr) => {{
            let mut out = Vec::new();
            $repr.emit(&mut out);
            out
        }};
    }

    /// Start of the Kaifa MA304H3E list-1 push (roarfred/AmsToMqttBridge Samples/Kaifa):
    /// `0F 40000000 09 0C 07E1 09 0C 02 17 12 2A FF 8000 00 02 01 06 00000528`.
    static KAIFA_LIST1: [u8; 26] = [
        0x0F, 0x40, 0x00, 0x00, 0x00, 0x09, 0x0C, 0x07, 0xE1, 0x09, 0x0C, 0x02, 0x17, 0x12, 0x2A,
        0xFF, 0x80, 0x00, 0x00, 0x02, 0x01, 0x06, 0x00, 0x00, 0x05, 0x28,
    ];

    #[test]
    fn test_kaifa_typed_date_time() {
        // 2017-09-12 23:18:42 local; Kaifa sends no deviation.
        let t = LocalTime::from_utc(
            Utc.with_ymd_and_hms(2017, 9, 12, 21, 18, 42)
                .single()
                .expect("valid date"),
        );
        let style = ClockStyle::Unspecified { status: 0 };
        let apdu = DataNotificationRepr {
            long_invoke_id_and_priority: 0x4000_0000,
            date_time: DateTimeField::Typed(DateTimeRepr::from_local(&t, style)),
            body: Data::Structure(vec![Data::DoubleLongUnsigned(1320)]),
        };
        let bytes = emitted!(apdu);
        assert_eq!(bytes.len(), apdu.buffer_len());
        assert_eq!(bytes, KAIFA_LIST1);
        assert_eq!(style.rfc3339(&t), "2017-09-12T23:18:42");
    }

    #[test]
    fn test_austrian_summer_and_winter() {
        // EVN doc example: 2021-09-27 09:47:15, Monday, deviation −120, DST.
        let summer = LocalTime::from_utc(
            Utc.with_ymd_and_hms(2021, 9, 27, 7, 47, 15)
                .single()
                .expect("valid date"),
        );
        assert_eq!(
            emitted!(DateTimeRepr::from_local(&summer, ClockStyle::Deviation)),
            [0x07, 0xE5, 0x09, 0x1B, 0x01, 0x09, 0x2F, 0x0F, 0x00, 0xFF, 0x88, 0x80]
        );
        assert_eq!(
            ClockStyle::Deviation.rfc3339(&summer),
            "2021-09-27T09:47:15+02:00"
        );
        // Salzburg Netz: 2022-11-12 16:54:00, Saturday, deviation −60, no DST.
        let winter = LocalTime::from_utc(
            Utc.with_ymd_and_hms(2022, 11, 12, 15, 54, 0)
                .single()
                .expect("valid date"),
        );
        assert_eq!(
            emitted!(DateTimeRepr::from_local(&winter, ClockStyle::Deviation)),
            [0x07, 0xE6, 0x0B, 0x0C, 0x06, 0x10, 0x36, 0x00, 0x00, 0xFF, 0xC4, 0x00]
        );
    }

    #[test]
    fn test_absent_date_time() {
        let apdu = DataNotificationRepr {
            long_invoke_id_and_priority: 0,
            date_time: DateTimeField::Absent,
            body: Data::Null,
        };
        assert_eq!(emitted!(apdu), [0x0F, 0, 0, 0, 0, 0x00, 0x00]);
        assert_eq!(apdu.buffer_len(), 7);
    }
}
