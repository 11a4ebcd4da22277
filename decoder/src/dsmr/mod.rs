//! DSMR P1 telegrams (DSMR P1 Companion Standard 5.0.2 §6, back to DSMR 2.2)
//! and Luxembourg Smarty frames (Smarty P1 specification v1.1.3 §3.2.5), the reference decoder.
//!
//! - [`telegram`]: the telegram view (`Telegram`, with `objects()`: every data line as a
//!   zero-copy view), the borrowed object list and the parsed value; [`object`]: object lines
//!   and their views; [`crc`]: CRC-16/ARC and the variants real meters send.
//! - [`convert`]: telegram → [`Reading`](crate::reading::Reading) per `docs/reading-format.md`.
//! - [`smarty`]: the AES-128-GCM frame around Smarty telegrams (on [`crate::dlms::ciphering`]).
//! - [`stream`]: [`DsmrDecoder`], which finds telegrams and frames in a byte stream and
//!   resynchronises after junk.
//!
//! [`decode_telegram`] turns one complete telegram into one [`Message`]: a reading, or an error
//! naming what is wrong (`crc_mismatch`, `crc_missing`, `malformed`, `truncated`).

pub mod convert;
pub mod crc;
pub mod object;
pub mod smarty;
pub mod stream;
pub mod telegram;

pub use object::ObjectLine;
pub use stream::DsmrDecoder;
pub use telegram::{ObjectList, Telegram, TelegramRepr};

use crate::reading::Message;

use self::crc::CrcCheck;

/// The largest telegram accepted, `/` through `!`, and the largest Smarty frame body: 16 KiB.
/// DSMR 5.0.2 telegrams are about 1 KiB; a text message adds at most 2 KiB.
pub const MAX_TELEGRAM_LEN: usize = 16 * 1024;

/// The classes of DSMR decoding errors (`docs/reading-format.md`, "Error kinds").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The telegram's CRC does not match its bytes.
    CrcMismatch,
    /// A DSMR 4/5 telegram ends without a CRC.
    CrcMissing,
    /// A telegram or frame started and was cut off.
    Truncated,
    /// A complete telegram or frame with a line or field that is not well-formed.
    Malformed,
    /// No `!` within [`MAX_TELEGRAM_LEN`] bytes.
    TooLong,
    /// Bytes that belong to no telegram.
    SkippedBytes,
    /// An encrypted frame and no key.
    MissingKey,
    /// The GCM tag check failed.
    GcmTagMismatch,
    /// An encrypted frame's length field is impossible.
    FrameLength,
}

impl ErrorKind {
    /// The name in the JSON output (`crc_mismatch`…).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::CrcMismatch => "crc_mismatch",
            ErrorKind::CrcMissing => "crc_missing",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLong => "too_long",
            ErrorKind::SkippedBytes => "skipped_bytes",
            ErrorKind::MissingKey => "missing_key",
            ErrorKind::GcmTagMismatch => "gcm_tag_mismatch",
            ErrorKind::FrameLength => "frame_length",
        }
    }

    /// An error message of this kind.
    pub fn error(self, message: impl Into<String>, offset: Option<u64>) -> Message {
        Message::error(self.name(), message, offset)
    }
}

/// Decodes one complete telegram: `/` through its CRC digits, optionally followed by CR and LF.
/// `offset` is where it started in the stream, for error reports.
///
/// The CRC must be CRC-16/ARC; CRC-16/X-25, a CRC that matches only with CR restored before
/// every bare LF, and fewer than 4 digits are accepted with a warning. A telegram without CRC is
/// accepted (DSMR 2.2/3.0) unless something shows it is DSMR 4 or later (`crc_missing`, see
/// [`CrcRule`]). Any line that is not an object line gives `malformed`, and so does a telegram
/// without a single object line: a header and `!` are not a reading.
pub fn decode_telegram(bytes: &[u8], offset: Option<u64>) -> Message {
    decode_telegram_with(bytes, offset, CrcRule::Telegram, CrcPolicy::Strict)
}

/// What to do with a telegram whose CRC is wrong or missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CrcPolicy {
    /// It is an error (`crc_mismatch`, `crc_missing`): the default, always.
    #[default]
    Strict,
    /// Decode it anyway, with a warning on the reading and every value flagged `unverified`:
    /// for analysing telegrams that were anonymised by hand in bug reports (`meterlab decode
    /// --ignore-crc`). A telegram without a single object line is still no reading.
    Ignore,
}

/// Whether a telegram that ends without a CRC may still be a reading.
///
/// DSMR 2.2 and 3.0 telegrams carry no CRC; from DSMR 4.0 on every telegram does (P1 Companion
/// Standard 4.2.2 §6.2, 5.0.2 §6.2). A CRC-less telegram is therefore only trusted when nothing
/// says it is DSMR 4 or later, because a single changed byte that turns a line's first
/// character into `!` — or a capture cut off right after `!` — must not turn a protected
/// telegram into an unprotected one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrcRule {
    /// Judge the telegram by itself: its version line, its identification and its objects.
    Telegram,
    /// An earlier telegram of the same stream carried a verified CRC: so must this one.
    StreamHasCrc,
    /// The telegram came out of an encrypted Smarty frame, whose plaintext always ends in a
    /// CRC (Smarty P1 specification v1.1.3 §3.2.5).
    Required,
}

/// Objects that DSMR 2.2 and 3.0 do not define (P1 Companion Standard 3.0 §6 lists every object
/// of those versions; these come with DSMR 4.0, 4.2 and 5.0, and e-MUCS). A telegram holding one
/// is DSMR 4 or later and must carry a CRC. Matched on C.D.E, any A and B (B is the M-Bus
/// channel for `24.2.1`).
const DSMR4_OBJECTS: &[(u8, u8, u8)] = &[
    (1, 0, 0),   // 0-0:1.0.0 timestamp
    (96, 1, 4),  // 0-0:96.1.4 e-MUCS version
    (96, 7, 21), // power failures
    (96, 7, 9),  // long power failures
    (99, 97, 0), // power failure event log
    (24, 2, 1),  // M-Bus value with timestamp
    (24, 2, 3),  // e-MUCS gas
    (1, 4, 0),   // e-MUCS current average demand
    (1, 6, 0),   // e-MUCS month peak
    (98, 1, 0),  // e-MUCS peak history
    (32, 32, 0), // voltage sags L1..L3
    (52, 32, 0), //
    (72, 32, 0), //
    (32, 36, 0), // voltage swells L1..L3
    (52, 36, 0), //
    (72, 36, 0), //
    (32, 7, 0),  // instantaneous voltage L1..L3
    (52, 7, 0),  //
    (72, 7, 0),  //
    (31, 7, 0),  // instantaneous current L1..L3
    (51, 7, 0),  //
    (71, 7, 0),  //
    (21, 7, 0),  // active power per phase, + and -
    (41, 7, 0),  //
    (61, 7, 0),  //
    (22, 7, 0),  //
    (42, 7, 0),  //
    (62, 7, 0),  //
];

/// Why a CRC-less telegram must have had a CRC, or `None` when it may be DSMR 2.2/3.0.
fn crc_required<T: AsRef<[u8]>>(
    telegram: &Telegram<T>,
    objects: Option<&ObjectList<'_>>,
    rule: CrcRule,
) -> Option<String> {
    if let Some(line) = telegram.version_line() {
        return Some(format!(
            "telegram declares DSMR 4/5 ({}) and ends without a CRC",
            telegram::latin1(line)
        ));
    }
    match rule {
        CrcRule::Required => {
            return Some("the telegram inside an encrypted frame ends without a CRC".to_string())
        }
        CrcRule::StreamHasCrc => {
            return Some(
                "telegram ends without a CRC, but earlier telegrams of this stream carried one"
                    .to_string(),
            )
        }
        CrcRule::Telegram => {}
    }
    let identification = telegram::latin1(telegram.identification()).to_ascii_uppercase();
    if identification.contains("ESMR") || identification.contains("DSMR") {
        return Some(format!(
            "identification \"{}\" names a DSMR 4/5 meter, and the telegram ends without a CRC",
            telegram::latin1(telegram.identification())
        ));
    }
    let (obis, _) = objects?
        .iter()
        .find(|(obis, _)| DSMR4_OBJECTS.contains(&(obis.c(), obis.d(), obis.e())))?;
    Some(format!(
        "telegram holds {}, an object of DSMR 4 or later, and ends without a CRC",
        obis.to_reduced_string()
    ))
}

/// [`decode_telegram`] for a telegram whose stream tells more about it (see [`CrcRule`]).
pub fn decode_telegram_with(
    bytes: &[u8],
    offset: Option<u64>,
    rule: CrcRule,
    policy: CrcPolicy,
) -> Message {
    let telegram = match Telegram::new_checked(bytes) {
        Ok(t) => t,
        Err(e @ telegram::Error::NoEnd { .. }) => {
            return ErrorKind::Truncated.error(e.to_string(), offset)
        }
        Err(e) => return ErrorKind::Malformed.error(e.to_string(), offset),
    };
    let mut warnings = Vec::new();
    // Set when the CRC failed and the policy says to decode anyway.
    let mut unverified = false;
    let stated = telegram.stated_crc();
    match stated {
        None => {
            // Judged before the lines are parsed as far as the lines are not needed, so that a
            // DSMR 4/5 telegram cut short is `crc_missing` even when its last line is broken.
            if let Some(why) = crc_required(&telegram, None, rule) {
                if policy == CrcPolicy::Strict {
                    return ErrorKind::CrcMissing.error(why, offset);
                }
                warnings.push(format!(
                    "crc_missing: {why}; decoded anyway (--ignore-crc): every value is unverified"
                ));
                unverified = true;
            }
        }
        Some(stated) => {
            match crc::check(telegram.covered(), stated.value) {
                CrcCheck::Arc => {}
                CrcCheck::X25 => warnings
                    .push("CRC is CRC-16/X-25 (as Holley meters send), not CRC-16/ARC".to_string()),
                CrcCheck::ArcCrRestored => warnings.push(
                    "line endings were converted: the CRC matches only with CR restored before every LF"
                        .to_string(),
                ),
                CrcCheck::Mismatch { computed } => {
                    let why = format!(
                        "telegram says CRC 0x{:04X}, computed 0x{computed:04X}",
                        stated.value
                    );
                    if policy == CrcPolicy::Strict {
                        return ErrorKind::CrcMismatch.error(why, offset);
                    }
                    warnings.push(format!(
                        "crc_mismatch: {why}; decoded anyway (--ignore-crc): every value is unverified"
                    ));
                    unverified = true;
                }
            }
            if stated.digits < 4 {
                warnings.push(format!(
                    "CRC sent with {} hex digits instead of 4",
                    stated.digits
                ));
            }
        }
    }
    let objects = if unverified {
        // Already unverified: read what can be read, and say what was left out.
        let (objects, bad) = ObjectList::parse_lenient(&telegram);
        for e in bad {
            warnings.push(format!("{e}; left out"));
        }
        objects
    } else {
        match ObjectList::parse(&telegram) {
            Ok(objects) => objects,
            Err(e) => return ErrorKind::Malformed.error(e.to_string(), offset),
        }
    };
    if stated.is_none() && !unverified {
        if let Some(why) = crc_required(&telegram, Some(&objects), rule) {
            if policy == CrcPolicy::Strict {
                return ErrorKind::CrcMissing.error(why, offset);
            }
            warnings.push(format!(
                "crc_missing: {why}; decoded anyway (--ignore-crc): every value is unverified"
            ));
            unverified = true;
        }
    }
    if objects.is_empty() {
        return ErrorKind::Malformed.error(
            "telegram has no object line between its header and '!': not a reading",
            offset,
        );
    }
    let mut reading = convert::to_reading(telegram.identification(), &objects);
    warnings.append(&mut reading.warnings);
    reading.warnings = warnings;
    if unverified {
        for value in &mut reading.values {
            value.unverified = true;
        }
    }
    Message::Reading(reading)
}

#[cfg(test)]
mod test {
    use super::*;

    /// Warmtelink heat-meter telegram with a three-digit CRC `B9F` (ndokter/dsmr_parser,
    /// test/example_telegrams.py, TELEGRAM_UNPADDED_CRC).
    static TELEGRAM: &[u8] = b"/NWA-WARMTELINK\r\n\r\n\
1-3:0.2.8(50)\r\n\
0-0:1.0.0(260215200523W)\r\n\
0-0:96.1.1(ADC3100000158491)\r\n\
0-0:96.13.1()\r\n\
0-0:96.13.0()\r\n\
0-1:24.1.0(004)\r\n\
0-1:96.1.0(621848012D2C0B0C)\r\n\
0-1:24.2.1(260215200523W)(240.860*GJ)\r\n\
!B9F\r\n";

    fn kind(message: &Message) -> Option<&str> {
        message.error_report().map(|e| e.kind.as_str())
    }

    #[test]
    fn test_parse() {
        let message = decode_telegram(TELEGRAM, Some(0));
        let reading = message.reading().expect("decodes");
        assert_eq!(reading.meter_id.as_deref(), Some("ADC3100000158491"));
        assert_eq!(reading.time.as_deref(), Some("2026-02-15T20:05:23+01:00"));
        assert_eq!(
            reading.warnings,
            vec!["CRC sent with 3 hex digits instead of 4".to_string()]
        );
        assert_eq!(reading.values.len(), 7);
    }

    #[test]
    fn test_bad_crc() {
        let mut bytes = TELEGRAM.to_vec();
        let at = bytes.len() - 3;
        bytes[at] = b'E';
        let message = decode_telegram(&bytes, Some(7));
        assert_eq!(kind(&message), Some("crc_mismatch"));
        assert_eq!(
            message
                .error_report()
                .map(|e| (e.message.as_str(), e.offset)),
            Some(("telegram says CRC 0x0B9E, computed 0x0B9F", Some(7)))
        );
    }

    #[test]
    fn test_crc_missing_and_dsmr22() {
        let no_crc = b"/NWA-WARMTELINK\r\n\r\n1-3:0.2.8(50)\r\n0-0:96.13.0()\r\n!\r\n";
        let message = decode_telegram(no_crc, None);
        assert_eq!(kind(&message), Some("crc_missing"));
        let message = decode_telegram(b"/FLU5\\1\r\n\r\n0-0:96.1.4(50217)\r\n!", None);
        assert_eq!(kind(&message), Some("crc_missing"));
        let dsmr22 = b"/XMX5XMXABCE100103855\r\n\r\n1-0:1.8.1(03687.771*kWh)\r\n!\r\n";
        let message = decode_telegram(dsmr22, None);
        assert!(message.reading().is_some(), "{message:?}");
        // Version 30 is not a DSMR 4/5 version: no CRC needed.
        let message = decode_telegram(b"/ABC5\r\n\r\n1-3:0.2.8(30)\r\n!", None);
        assert!(message.reading().is_some(), "{message:?}");
    }

    #[test]
    fn test_variants() {
        let covered = &TELEGRAM[..TELEGRAM.len() - 5];
        let x25 = crc::crc16_x25(covered);
        let mut bytes = covered.to_vec();
        bytes.extend_from_slice(format!("{x25:04X}\r\n").as_bytes());
        let message = decode_telegram(&bytes, None);
        let warnings = &message.reading().expect("X-25 accepted").warnings;
        assert!(warnings[0].contains("X-25"), "{warnings:?}");

        let lf_only: Vec<u8> = TELEGRAM.iter().copied().filter(|&b| b != b'\r').collect();
        let message = decode_telegram(&lf_only, None);
        let warnings = &message.reading().expect("CR restored").warnings;
        assert!(
            warnings[0].contains("line endings were converted"),
            "{warnings:?}"
        );
    }

    #[test]
    fn test_malformed() {
        let telegram = b"/ABC5\r\n\r\n1-0:1.8.1(1)\r\n1-0:1.8.2(2\r\n!";
        let message = decode_telegram(telegram, Some(3));
        assert_eq!(kind(&message), Some("malformed"));
        let report = message.error_report().expect("error");
        assert!(
            report.message.starts_with("line 4 \"1-0:1.8.2(2\""),
            "{report:?}"
        );
        assert_eq!(report.offset, Some(3));
        assert_eq!(
            kind(&decode_telegram(b"/ABC5!1234x", None)),
            Some("malformed")
        );
        assert_eq!(kind(&decode_telegram(b"/ABC5", None)), Some("truncated"));
        assert_eq!(kind(&decode_telegram(b"ABC5!", None)), Some("malformed"));
    }
}
