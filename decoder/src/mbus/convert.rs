//! From an RSP_UD long frame to a [`Reading`] (EN 13757-3, clause 5 and 6: CI field, header,
//! data records), following the reading format's section "Wired M-Bus".
//!
//! [`decode_frame`] takes one frame's bytes: E5, short and control frames and the master's
//! long frames are no message (`None`); an RSP_UD with variable data (CI `72`, `76`, `78`,
//! `7A`) is a reading; CI `70` is the error `application_error`; other CIs `unknown_ci`.

use super::frame::{Frame, FrameKind};
use super::header::{header_kind, manufacturer_code, HeaderRepr};
use super::record::{parse_records, Error, ErrorKind, Field, Records};
use crate::decimal::Decimal;
use crate::reading::{Protocol, Reading, Value};

/// CI `70`: application error.
pub const CI_APPLICATION_ERROR: u8 = 0x70;

/// What one frame says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Not a message: E5, a short or control frame, a frame from the master.
    Nothing,
    /// An RSP_UD with variable data.
    Reading(Reading),
    /// A frame that is wrong or says something went wrong.
    Error(Error),
}

/// The meaning of the application error codes of CI `70`.
pub fn application_error_text(code: u8) -> &'static str {
    match code {
        0 => "unspecified error",
        1 => "unimplemented CI field",
        2 => "buffer too long, truncated",
        3 => "too many records",
        4 => "premature end of record",
        5 => "more than 10 DIFEs",
        6 => "more than 10 VIFEs",
        8 => "application busy",
        9 => "too many readouts",
        _ => "reserved application error code",
    }
}

/// Decodes one frame that starts at `bytes[0]` and fills `bytes` exactly.
pub fn decode_frame(bytes: &[u8]) -> Decoded {
    use super::frame::Error as F;
    let frame = match Frame::new_checked(bytes) {
        Ok(f) => f,
        Err(e) => {
            let kind = match e {
                F::Empty | F::Start(_) | F::SecondStart(_) => ErrorKind::FrameStart,
                F::LengthMismatch(..) | F::LengthTooSmall(_) => ErrorKind::Length,
                F::Truncated { .. } => ErrorKind::Truncated,
                F::Stop { .. } => ErrorKind::StopByte,
                F::Checksum { .. } => ErrorKind::Checksum,
            };
            return Decoded::Error(Error::new(kind, e.to_string()));
        }
    };
    if frame.len() != bytes.len() {
        return Decoded::Error(Error::new(
            ErrorKind::Length,
            format!(
                "the length field gives a {}-byte frame, {} bytes were received",
                frame.len(),
                bytes.len()
            ),
        ));
    }
    if !frame.checksum_ok() {
        return Decoded::Error(Error::new(
            ErrorKind::Checksum,
            format!(
                "checksum 0x{:02X}, computed 0x{:02X}",
                frame.checksum().unwrap_or(0),
                frame.computed_checksum().unwrap_or(0)
            ),
        ));
    }
    decode_checked(&frame)
}

/// Decodes a frame whose structure and checksum are known to be right.
pub fn decode_checked<T: AsRef<[u8]>>(frame: &Frame<T>) -> Decoded {
    let ci = frame.control_information().unwrap_or(0);
    let from_slave = frame.control().unwrap_or(0x40) & 0x40 == 0;
    // A control frame carries no data, except that CI 70 alone is an unspecified error.
    let message = match frame.kind() {
        FrameKind::Long => from_slave,
        FrameKind::Control => from_slave && ci == CI_APPLICATION_ERROR,
        FrameKind::SingleCharacter | FrameKind::Short => false,
    };
    if !message {
        return Decoded::Nothing;
    }
    match decode_data(ci, frame.data()) {
        Ok(r) => Decoded::Reading(r),
        Err(e) => Decoded::Error(e),
    }
}

/// The header and records of a variable data response's data (after CI).
pub fn parse_variable(ci: u8, data: &[u8]) -> Result<(Option<HeaderRepr>, Records), Error> {
    let Some(kind) = header_kind(ci) else {
        if ci == CI_APPLICATION_ERROR {
            let code = data.first().copied().unwrap_or(0);
            return Err(Error::new(
                ErrorKind::ApplicationError,
                format!("application error {code}: {}", application_error_text(code)),
            ));
        }
        return Err(Error::new(
            ErrorKind::UnknownCi,
            format!("CI 0x{ci:02X} is not a variable data response (72, 76, 78, 7A)"),
        ));
    };
    let msb_first = ci == 0x76;
    let (header, len) = HeaderRepr::parse(data, kind, msb_first)?;
    let records = parse_records(&data[len..], msb_first)?;
    Ok((header, records))
}

/// The reading of a variable data response.
pub fn decode_data(ci: u8, data: &[u8]) -> Result<Reading, Error> {
    let (header, records) = parse_variable(ci, data)?;
    let mut r = Reading::new(Protocol::Mbus);
    if let Some(h) = header {
        r.meter_id = h.id.clone();
        if let Some(m) = h.manufacturer {
            r.values
                .push(Value::text("header.manufacturer", manufacturer_code(m)));
            if m & 0x8000 != 0 {
                r.warnings.push(format!(
                    "manufacturer field 0x{m:04X} has bit 15 set; decoded from 0x{:04X}",
                    m & 0x7FFF
                ));
            }
        }
        let num = |v: u8| Decimal::from_int(i128::from(v));
        if let Some(v) = h.version {
            r.values.push(Value::number("header.version", num(v), None));
        }
        if let Some(v) = h.medium {
            r.values.push(Value::number("header.medium", num(v), None));
        }
        r.values.push(Value::number(
            "header.access_number",
            num(h.access_number),
            None,
        ));
        r.values
            .push(Value::number("header.status", num(h.status), None));
    }
    for (n, rec) in records.records.iter().enumerate() {
        let id = format!("#{n}");
        let q = &rec.quantity;
        let value = match &rec.field {
            Field::Empty => Value::text(id, ""),
            Field::Number(d) => {
                let d = match d.mantissa().checked_mul(i128::from(q.multiplier)) {
                    Some(m) => Decimal::new(m, d.exponent()),
                    None => *d,
                };
                Value::number(id, d.scaled(q.exponent), q.unit)
            }
            Field::Text(t) | Field::Hex(t) => Value::text(id, t.clone()),
            Field::InvalidTime(t) => {
                r.warnings.push(format!(
                    "record {n}: date and time {t} is marked invalid (IV bit)"
                ));
                Value::text(id, t.clone())
            }
            Field::InvalidBcd(t) => {
                r.warnings.push(format!(
                    "record {n}: invalid BCD digits {t} (a nibble A-F other than the sign)"
                ));
                Value::text(id, t.clone())
            }
        };
        let a = rec.address;
        r.values
            .push(value.record(&q.name, rec.function, a.storage, a.tariff, a.subunit));
    }
    Ok(r)
}

/// Whether a CI `72`/`76`/`78`/`7A` long frame's records end with DIF `1F` (more records
/// follow). False for anything else, including frames that do not decode.
pub fn more_records_follow(frame: &[u8]) -> bool {
    let Ok(f) = Frame::new_checked(frame) else {
        return false;
    };
    if f.kind() != FrameKind::Long {
        return false;
    }
    let ci = f.control_information().unwrap_or(0);
    if header_kind(ci).is_none() {
        return false;
    }
    parse_variable(ci, f.data()).is_ok_and(|(_, r)| r.more_follow)
}
