//! The data-notification APDU and the COSEM date-time (DLMS UA 1000-2 "Green Book", xDLMS
//! DataNotification service and the A-XDR encoding of its APDU; DLMS UA 1000-1 "Blue Book",
//! data type date-time).
//!
//! ```text
//! 0F | long-invoke-id-and-priority (u32 BE) | date-time (OCTET STRING: 0C + 12 bytes, or 00) | notification-body (one Data)
//! ```
//!
//! The first word: bit 31 high priority, bit 30 confirmed, bit 29 break-on-error, bit 28
//! self-descriptive, bits 23-0 the invoke id. Kaifa's Nordic firmware (MA304H3E, gurux.fi forum
//! node 23817) and old Kamstrup firmware send the date-time as a typed octet-string
//! `09 0C <12 bytes>`; [`DataNotification::parse`] accepts it and says so
//! ([`DataNotification::date_time_typed`]).
//!
//! A date-time is 12 bytes: year (u16, `FFFF` not specified), month, day, weekday (1 = Monday),
//! hour, minute, second, hundredths (`FF` not specified), deviation (i16 minutes, `8000` not
//! specified; Austrian meters send −120 in summer and −60 in winter) and the clock status.

use super::axdr::{self, Data};

/// The APDU tag of data-notification.
pub const DATA_NOTIFICATION: u8 = 0x0F;
/// Length of a COSEM date-time.
pub const DATE_TIME_LEN: usize = 12;
/// The deviation that means "not specified".
pub const DEVIATION_NOT_SPECIFIED: i16 = i16::MIN;
/// The largest deviation from UTC accepted, in minutes (UTC−14:00 … UTC+14:00).
pub const MAX_DEVIATION: i16 = 14 * 60;

/// A COSEM date-time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTimeRepr {
    /// Year; `0xFFFF` not specified.
    pub year: u16,
    /// Month 1-12; `FD`/`FE` DST end/begin, `FF` not specified.
    pub month: u8,
    /// Day of month 1-31; `FD`/`FE` second-last/last day, `FF` not specified.
    pub day: u8,
    /// Day of week 1-7 (Monday = 1), `FF` not specified.
    pub weekday: u8,
    /// Hour 0-23.
    pub hour: u8,
    /// Minute 0-59.
    pub minute: u8,
    /// Second 0-59.
    pub second: u8,
    /// Hundredths 0-99, `FF` not specified.
    pub hundredths: u8,
    /// Minutes of local time behind UTC as the meter states it (−60 in CET); `0x8000` not
    /// specified.
    pub deviation: i16,
    /// Clock status bits (`80` daylight saving active).
    pub clock_status: u8,
}

/// Why a date-time gives no time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotADate {
    /// A field is "not specified" or out of range.
    #[error("{field} {value} is not a date")]
    Field {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: u16,
    },
    /// The deviation is neither 0x8000 nor within ±14 hours.
    #[error("deviation {0} minutes is out of range")]
    Deviation(i16),
}

impl DateTimeRepr {
    /// Reads the 12 bytes of a date-time; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<DateTimeRepr> {
        let b: &[u8; DATE_TIME_LEN] = bytes.try_into().ok()?;
        Some(DateTimeRepr {
            year: u16::from_be_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            weekday: b[4],
            hour: b[5],
            minute: b[6],
            second: b[7],
            hundredths: b[8],
            deviation: i16::from_be_bytes([b[9], b[10]]),
            clock_status: b[11],
        })
    }

    /// The date-time as RFC 3339 per meterlab's contract: `YYYY-MM-DDThh:mm:ss` followed by the
    /// offset −deviation (−60 → `+01:00`, −120 → `+02:00`, 0 → `+00:00`), without offset when the
    /// deviation is not specified. Hundredths are not carried. Any field that is not specified
    /// or out of range (wildcards, month 13, 31 February, hour 24…) makes it not a date.
    pub fn to_rfc3339(&self) -> Result<String, NotADate> {
        let field = |field, value: u16| Err(NotADate::Field { field, value });
        if self.year > 9999 {
            return field("year", self.year);
        }
        if !(1..=12).contains(&self.month) {
            return field("month", self.month.into());
        }
        if !(1..=days_in_month(self.year, self.month)).contains(&self.day) {
            return field("day", self.day.into());
        }
        if self.hour > 23 {
            return field("hour", self.hour.into());
        }
        if self.minute > 59 {
            return field("minute", self.minute.into());
        }
        if self.second > 59 {
            return field("second", self.second.into());
        }
        if self.deviation != DEVIATION_NOT_SPECIFIED
            && self.deviation.unsigned_abs() > MAX_DEVIATION.unsigned_abs()
        {
            return Err(NotADate::Deviation(self.deviation));
        }
        // `YYYY-MM-DDThh:mm:ss[+hh:mm]`, written into bytes without the formatting machinery
        // (one per push and per captured value); every field is in range, so the widths fit.
        let mut text = *b"0000-00-00T00:00:00+00:00";
        let year = self.year;
        text[0] = digit(year / 1000);
        text[1] = digit(year / 100);
        text[2] = digit(year / 10);
        text[3] = digit(year);
        for (at, value) in [
            (5, self.month),
            (8, self.day),
            (11, self.hour),
            (14, self.minute),
            (17, self.second),
        ] {
            two_digits(&mut text, at, value);
        }
        let len = if self.deviation == DEVIATION_NOT_SPECIFIED {
            19
        } else {
            let offset = -i32::from(self.deviation);
            if offset < 0 {
                text[19] = b'-';
            }
            let offset = offset.unsigned_abs();
            // At most 14 hours (checked above).
            two_digits(&mut text, 20, (offset / 60) as u8);
            two_digits(&mut text, 23, (offset % 60) as u8);
            text.len()
        };
        // ASCII digits and separators only.
        Ok(std::str::from_utf8(&text[..len])
            .unwrap_or_default()
            .to_string())
    }
}

/// The last decimal digit of `value`, as ASCII.
fn digit(value: u16) -> u8 {
    b'0' + (value % 10) as u8
}

/// Writes `value` (below 100) as two ASCII digits at `text[at..at + 2]`.
fn two_digits(text: &mut [u8], at: usize, value: u8) {
    let pair = crate::decimal::DIGIT_PAIRS[usize::from(value % 100)];
    text[at..at + 2].copy_from_slice(&pair);
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Why bytes are not a data-notification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The APDU tag is not 0x0F.
    #[error("APDU tag 0x{0:02X} is not data-notification (0x0F)")]
    NotDataNotification(u8),
    /// The bytes end before the APDU does.
    #[error("data-notification cut off: {got} bytes, at least {needed} needed")]
    Incomplete {
        /// The least number of bytes the APDU needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The date-time is neither absent (`00`) nor 12 bytes (`0C`, or Kaifa's `09 0C`).
    #[error("date-time field starts 0x{0:02X}: neither absent (00) nor 12 bytes (0C)")]
    DateTimeLength(u8),
    /// The notification body is not well-formed A-XDR.
    #[error("notification body: {0}")]
    Body(axdr::Error),
    /// Bytes follow the notification body.
    #[error("{} bytes follow the data-notification's {used} bytes", .len - .used)]
    Trailing {
        /// Bytes the data-notification uses.
        used: usize,
        /// Bytes given.
        len: usize,
    },
}

/// The parsed value of a data-notification; the body borrows the input.
#[derive(Clone, Debug, PartialEq)]
pub struct DataNotification<'a> {
    /// long-invoke-id-and-priority as sent.
    pub long_invoke_id_and_priority: u32,
    /// The 12 date-time bytes, when present.
    pub date_time: Option<&'a [u8]>,
    /// The date-time was sent as a typed octet-string `09 0C …` (Kaifa firmware quirk).
    pub date_time_typed: bool,
    /// The body came in the attribute-descriptor form (Sagemcom XT211, Czechia; see
    /// [`super::push_setup::parse_descriptor_body`]), with this leading enum; `body` is then
    /// its self-describing equivalent.
    pub descriptor_form: Option<u8>,
    /// The notification body: one `Data`, in pushes a structure or an array.
    pub body: Data<'a>,
}

/// Offsets in a data-notification.
mod field {
    pub const INVOKE_ID: usize = 1;
    pub const DATE_TIME: usize = 5;
}

impl<'a> DataNotification<'a> {
    /// Parses a data-notification at the start of `bytes`; returns it and the number of bytes
    /// it uses. Bytes after it are not looked at.
    pub fn parse(bytes: &'a [u8]) -> Result<(Self, usize), Error> {
        let incomplete = |needed: usize| Error::Incomplete {
            needed,
            got: bytes.len(),
        };
        match bytes.first() {
            None => return Err(incomplete(1)),
            Some(&DATA_NOTIFICATION) => {}
            Some(&tag) => return Err(Error::NotDataNotification(tag)),
        }
        let id = bytes
            .get(field::INVOKE_ID..field::DATE_TIME)
            .ok_or_else(|| incomplete(field::DATE_TIME))?;
        let long_invoke_id_and_priority = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        let (date_time, date_time_typed, body_at) = match bytes.get(field::DATE_TIME) {
            None => return Err(incomplete(field::DATE_TIME + 1)),
            Some(0x00) => (None, false, field::DATE_TIME + 1),
            Some(0x0C) => {
                let at = field::DATE_TIME + 1;
                let dt = bytes
                    .get(at..at + DATE_TIME_LEN)
                    .ok_or_else(|| incomplete(at + DATE_TIME_LEN))?;
                (Some(dt), false, at + DATE_TIME_LEN)
            }
            Some(&axdr::OCTET_STRING) => match bytes.get(field::DATE_TIME + 1) {
                None => return Err(incomplete(field::DATE_TIME + 2)),
                Some(0x0C) => {
                    let at = field::DATE_TIME + 2;
                    let dt = bytes
                        .get(at..at + DATE_TIME_LEN)
                        .ok_or_else(|| incomplete(at + DATE_TIME_LEN))?;
                    (Some(dt), true, at + DATE_TIME_LEN)
                }
                Some(_) => return Err(Error::DateTimeLength(axdr::OCTET_STRING)),
            },
            Some(&other) => return Err(Error::DateTimeLength(other)),
        };
        let (body, end, descriptor_form) = match Data::parse_at(bytes, body_at) {
            Ok((body, end)) => (body, end, None),
            Err(e) => match super::push_setup::parse_descriptor_body(bytes, body_at) {
                Some((body, end, lead)) => (body, end, Some(lead)),
                None => {
                    return Err(match e {
                        axdr::Error::Incomplete { needed, got } => {
                            Error::Incomplete { needed, got }
                        }
                        e => Error::Body(e),
                    })
                }
            },
        };
        Ok((
            DataNotification {
                long_invoke_id_and_priority,
                date_time,
                date_time_typed,
                descriptor_form,
                body,
            },
            end,
        ))
    }

    /// Parses a data-notification that must use every byte of `bytes`.
    pub fn parse_exact(bytes: &'a [u8]) -> Result<Self, Error> {
        let (notification, used) = Self::parse(bytes)?;
        if used != bytes.len() {
            return Err(Error::Trailing {
                used,
                len: bytes.len(),
            });
        }
        Ok(notification)
    }

    /// The invoke id (bits 23-0).
    pub fn invoke_id(&self) -> u32 {
        self.long_invoke_id_and_priority & 0x00FF_FFFF
    }

    /// The date-time, when present.
    pub fn date_time(&self) -> Option<DateTimeRepr> {
        self.date_time.and_then(DateTimeRepr::from_bytes)
    }
}

/// Whether the first bytes look enough like a data-notification to decode them as one when they
/// turn up without framing: `0F`, four bytes, a date-time (`00`, `0C` + 12 bytes or `09 0C` +
/// 12 bytes) and a body that starts as an array or a structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plausible {
    /// It does.
    Yes,
    /// It does not.
    No,
    /// This many bytes are needed to tell.
    NeedMore(usize),
}

/// See [`Plausible`].
pub fn plausible_start(prefix: &[u8]) -> Plausible {
    if prefix.first() != Some(&DATA_NOTIFICATION) {
        return Plausible::No;
    }
    let body_at = match prefix.get(field::DATE_TIME) {
        None => return Plausible::NeedMore(field::DATE_TIME + 1),
        Some(0x00) => field::DATE_TIME + 1,
        Some(0x0C) => field::DATE_TIME + 1 + DATE_TIME_LEN,
        Some(&axdr::OCTET_STRING) => match prefix.get(field::DATE_TIME + 1) {
            None => return Plausible::NeedMore(field::DATE_TIME + 2),
            Some(0x0C) => field::DATE_TIME + 2 + DATE_TIME_LEN,
            Some(_) => return Plausible::No,
        },
        Some(_) => return Plausible::No,
    };
    match prefix.get(body_at) {
        None => Plausible::NeedMore(body_at + 1),
        Some(&axdr::ARRAY | &axdr::STRUCTURE) => Plausible::Yes,
        Some(_) => Plausible::No,
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    /// Wiener Netze push of an Iskra AM550 after decryption (rddl-network/EnergyAgent
    /// smart_meter_tests, corpus `wienernetze_am550_a_ir`): date-time 2021-10-13 07:30:57,
    /// deviation −120, then structure(9) of the clock and 8 × u32.
    static WIENER_NETZE: &str = "0f00909dd80c07e50a0d03071e3900ff88800209090c07e50a0d03071e3900ff8880060002186b0600000000060001771b06000004c00600000000060000000006000000000600000000";

    /// Kaifa MA304H3E list 1 (roarfred/AmsToMqttBridge Samples/Kaifa/readme.md, corpus
    /// `kaifa_ma304h3e_norway_list1_short`): the date-time as `09 0C …`, deviation unspecified.
    static KAIFA_LIST1: &str = "0F40000000090C07E1090C0217122AFF800000020106000005 28";

    #[test]
    fn test_parse() {
        let bytes = unhex(WIENER_NETZE);
        let dn = DataNotification::parse_exact(&bytes).expect("valid data-notification");
        assert_eq!(dn.long_invoke_id_and_priority, 0x0090_9DD8);
        assert!(!dn.date_time_typed);
        let dt = dn.date_time().expect("date-time present");
        assert_eq!(dt.to_rfc3339().as_deref(), Ok("2021-10-13T07:30:57+02:00"));
        assert_eq!((dt.weekday, dt.clock_status), (3, 0x80));
        let items = dn.body.elements().expect("structure").to_slice();
        assert_eq!(items.len(), 9);
        assert_eq!(items[1], Data::Unsigned32(137_323));
        assert_eq!(plausible_start(&bytes), Plausible::Yes);
    }

    #[test]
    fn test_kaifa_typed_date_time() {
        let bytes = unhex(KAIFA_LIST1);
        let dn = DataNotification::parse_exact(&bytes).expect("quirk accepted");
        assert!(dn.date_time_typed);
        let dt = dn.date_time().expect("date-time present");
        assert_eq!(dt.to_rfc3339().as_deref(), Ok("2017-09-12T23:18:42"));
        assert_eq!(dn.body, Data::Structure([Data::Unsigned32(1320)].into()));
        assert_eq!(plausible_start(&bytes), Plausible::Yes);
        assert_eq!(plausible_start(&bytes[..6]), Plausible::NeedMore(7));
    }

    #[test]
    fn test_date_times() {
        let dt = |hex: &str| DateTimeRepr::from_bytes(&unhex(hex)).expect("12 bytes");
        assert_eq!(
            dt("07E5091B01092F0F00FFC400").to_rfc3339().as_deref(),
            Ok("2021-09-27T09:47:15+01:00")
        );
        assert_eq!(
            dt("07E5091B01092F0F00000000").to_rfc3339().as_deref(),
            Ok("2021-09-27T09:47:15+00:00")
        );
        assert_eq!(
            dt("07E5091B01092F0F00001E00").to_rfc3339().as_deref(),
            Ok("2021-09-27T09:47:15-00:30")
        );
        assert_eq!(
            dt("07E4021D06000000FF800000").to_rfc3339().as_deref(),
            Ok("2020-02-29T00:00:00")
        );
        // Every digit position and the widest offsets (±14:00; 841 minutes is out of range).
        assert_eq!(
            dt("03E70C1F07173B3B63FCB800").to_rfc3339().as_deref(),
            Ok("0999-12-31T23:59:59+14:00")
        );
        assert_eq!(
            dt("270F0A0A0A0A0A0A00034800").to_rfc3339().as_deref(),
            Ok("9999-10-10T10:10:10-14:00")
        );
        assert_eq!(
            dt("270F0A0A0A0A0A0A00034900").to_rfc3339(),
            Err(NotADate::Deviation(841))
        );
        for bad in [
            "FFFFFFFFFFFFFFFFFF800000",
            "07E5021D0100000000800000",
            "07E50D010100000000800000",
            "07E5010101180000FF800000",
            "07E50101010000FFFF800000",
        ] {
            assert!(dt(bad).to_rfc3339().is_err(), "{bad}");
        }
        assert_eq!(
            dt("07E5010101000000FF7FFF00").to_rfc3339(),
            Err(NotADate::Deviation(0x7FFF))
        );
        assert_eq!(DateTimeRepr::from_bytes(&[0; 11]), None);
    }

    #[test]
    fn test_impossible_len() {
        let bytes = unhex(WIENER_NETZE);
        for cut in 0..bytes.len() {
            match DataNotification::parse(&bytes[..cut]) {
                Err(Error::Incomplete { needed, got }) => {
                    assert_eq!(got, cut);
                    assert!(needed > cut && needed <= bytes.len(), "cut {cut}");
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            DataNotification::parse_exact(&longer),
            Err(Error::Trailing {
                used: bytes.len(),
                len: bytes.len() + 1
            })
        );
        let mut wrong = bytes.clone();
        wrong[5] = 0x05;
        assert_eq!(
            DataNotification::parse(&wrong),
            Err(Error::DateTimeLength(0x05))
        );
        assert_eq!(plausible_start(&wrong), Plausible::No);
        wrong[0] = 0x0E;
        assert_eq!(
            DataNotification::parse(&wrong),
            Err(Error::NotDataNotification(0x0E))
        );
    }
}
