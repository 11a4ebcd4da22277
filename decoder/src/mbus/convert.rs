//! From an RSP_UD long frame to a [`Reading`] (EN 13757-3, clause 5 and 6: CI field, header,
//! data records), following the reading format's section "Wired M-Bus".
//!
//! [`decode_frame`] takes one frame's bytes: E5, short frames and the master's commands are
//! link messages ([`super::link`]); an RSP_UD with variable data (CI `72`, `76`, `78`, `7A`)
//! or the fixed data structure (CI `73`, `77`, [`super::fixed`]) is a reading; CI `70` is the
//! error `application_error`; every other CI the error `unsupported_ci` naming it
//! ([`super::ci::describe`]).

use super::ci;
use super::fixed::{self, CI_FIXED, CI_FIXED_MSB};
use super::frame::{Frame, FrameKind};
use super::header::{
    header_kind, manufacturer_code, HeaderKind, HeaderRepr, LONG_HEADER_LEN, SHORT_HEADER_LEN,
};
use super::link::{self, LinkRepr};
use super::record::{parse_records, Error, ErrorKind, Field, Records};
use crate::decimal::Decimal;
use crate::reading::{Protocol, Reading, ShortStr, Value};

/// CI `70`: application error.
pub const CI_APPLICATION_ERROR: u8 = 0x70;

/// Offset in a long frame of the first byte after CI (`68 L L 68 C A CI`).
pub const DATA_OFFSET: usize = 7;

/// What one frame says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A request or acknowledgement: E5, a short frame, a master's command.
    Link(LinkRepr),
    /// An RSP_UD with variable data or the fixed data structure.
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
                // `Unencodable` comes from emitting only, never from a received frame.
                F::LengthMismatch(..) | F::LengthTooSmall(_) | F::Unencodable(_) => {
                    ErrorKind::Length
                }
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
    if let Some(l) = link::classify(frame) {
        return Decoded::Link(l);
    }
    let ci = frame.ci().unwrap_or(0);
    if link::from_master(frame) {
        // A master's frame with a CI that is no command: data this decoder does not read.
        return Decoded::Error(unsupported(ci, " (sent by the master)"));
    }
    match decode_data(ci, frame.data()) {
        Ok(r) => Decoded::Reading(r),
        Err(e) => Decoded::Error(e),
    }
}

/// The header and records of a variable data response's data (after CI).
pub fn parse_variable(ci: u8, data: &[u8]) -> Result<(Option<HeaderRepr>, Records), Error> {
    let (header, records) = split_variable(ci, data)?;
    let records = parse_records(records, ci == 0x76)?;
    Ok((header, records))
}

/// The header of a variable data response's data (after CI), and the data its records are in
/// (for [`super::record::RecordIter`]; CI `76` sends every data field MSB first).
pub fn split_variable(ci: u8, data: &[u8]) -> Result<(Option<HeaderRepr>, &[u8]), Error> {
    let Some(kind) = header_kind(ci) else {
        if ci == CI_APPLICATION_ERROR {
            let code = data.first().copied().unwrap_or(0);
            return Err(Error::new(
                ErrorKind::ApplicationError,
                format!("application error {code}: {}", application_error_text(code)),
            ));
        }
        return Err(unsupported(ci, ""));
    };
    let (header, len) = HeaderRepr::parse(data, kind, ci == 0x76)?;
    Ok((header, data.get(len..).unwrap_or_default()))
}

/// The `unsupported_ci` error of `ci`: `CI 0x8C: extended link layer (wireless)`.
pub fn unsupported(ci: u8, context: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedCi,
        format!("CI 0x{ci:02X}: {}{context}", ci::describe(ci)),
    )
}

/// The reading of a slave's data: variable data, the fixed data structure; CI `70` is the
/// error `application_error`, any other CI `unsupported_ci`.
pub fn decode_data(ci: u8, data: &[u8]) -> Result<Reading, Error> {
    if ci == CI_FIXED || ci == CI_FIXED_MSB {
        return fixed::decode(ci, data);
    }
    variable_reading(ci, data, DATA_OFFSET)
}

/// The reading of a variable data response (CI `72`, `76`, `78`, `7A`; others are errors as in
/// [`parse_variable`]) whose data (after CI) starts at byte `data_offset` of its frame — the
/// offset that names manufacturer data (`manufacturer_data@P`). Wireless M-Bus reuses it for
/// its (decrypted) transport-layer data.
pub fn variable_reading(ci: u8, data: &[u8], data_offset: usize) -> Result<Reading, Error> {
    let (header, records) = parse_variable(ci, data)?;
    let header_len = match header_kind(ci) {
        Some(HeaderKind::Long) => LONG_HEADER_LEN,
        Some(HeaderKind::Short) => SHORT_HEADER_LEN,
        Some(HeaderKind::None) | None => 0,
    };
    let mut r = Reading::new(Protocol::Mbus);
    // The header's values (at most five) and one per record: one allocation.
    r.values.reserve_exact(records.records.len() + 5);
    if let Some(h) = header {
        r.meter_id = h.id;
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
    let manufacturer_at = records.manufacturer_at;
    for (n, rec) in records.records.into_iter().enumerate() {
        let id = match manufacturer_at {
            Some(at) if rec.dif & 0xEF == 0x0F => ShortStr::from(format!(
                "manufacturer_data@{}",
                data_offset + header_len + at
            )),
            _ => record_id(n),
        };
        let q = &rec.quantity;
        let value = match rec.field {
            Field::Empty => Value::text(id, ""),
            Field::Number(d) => {
                let d = match d.mantissa().checked_mul(i128::from(q.multiplier)) {
                    Some(m) => Decimal::new(m, d.exponent()),
                    None => d,
                };
                Value::number(id, d.scaled(q.exponent), q.unit)
            }
            Field::Text(t) | Field::Hex(t) => Value::text(id, t),
            Field::InvalidTime(t) => {
                r.warnings.push(format!(
                    "record {n}: date and time {t} is marked invalid (IV bit)"
                ));
                Value::text(id, t)
            }
            Field::InvalidBcd(t) => {
                r.warnings.push(format!(
                    "record {n}: invalid BCD digits {t} (a nibble A-F other than the sign)"
                ));
                Value::text(id, t)
            }
        };
        let a = rec.address;
        r.values
            .push(value.record(&q.name, rec.function, a.storage, a.tariff, a.subunit));
    }
    Ok(r)
}

/// `#n`, the id of the `n`-th record, written without the formatting machinery or an
/// allocation (a record id is at most 21 bytes: held in place by [`ShortStr`]).
fn record_id(n: usize) -> ShortStr {
    let mut digits = [0u8; 20];
    let start = crate::decimal::uint_digits(n as u64, &mut digits);
    let digits = &digits[start..];
    let mut id = [0u8; ShortStr::INLINE];
    id[0] = b'#';
    id[1..=digits.len()].copy_from_slice(digits);
    ShortStr::from_ascii_buffer(id, 1 + digits.len())
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
    let ci = f.ci().unwrap_or(0);
    if header_kind(ci).is_none() {
        return false;
    }
    parse_variable(ci, f.data()).is_ok_and(|(_, r)| r.more_follow)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn record_ids_are_what_format_writes() {
        for n in (0..1_000).chain([9_999, 10_000, 123_456_789, usize::MAX]) {
            assert_eq!(record_id(n).as_str(), format!("#{n}"));
        }
    }
}
