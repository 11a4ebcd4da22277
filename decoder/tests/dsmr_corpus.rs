//! The reference DSMR decoder against every real telegram of the corpus
//! (`tests/data/dsmr/*.yaml`, copied unchanged from meterlab's shared corpus; each file names
//! the public repository it comes from).
//!
//! What each vector must give is derived from its own fields: `crc.match` true → exactly one
//! reading per telegram and no error; `crc.match` false → `crc_mismatch`; no CRC (DSMR 2.2/3.0)
//! → a reading; `expected` → those values in the reading; `key_hex` → the frame decrypts with
//! that key and the authentication key of its `frame.aad_hex`, and fails as it should with a
//! wrong key or none. Two stream vectors have their message sequence written out below, from
//! their notes. Vectors the decoder cannot agree with go in [`KNOWN_MISMATCHES`] with a reason;
//! the test fails when a listed vector starts agreeing, so the list only shrinks.

use meterlab_decoder::dsmr::object::{check_groups, check_line};
use meterlab_decoder::dsmr::telegram::{LineView, ParseErrorReason, Telegram};
use meterlab_decoder::{
    Decimal, DsmrDecoder, Key, Keys, Message, Obis, Reading, Scalar, StreamDecoder,
};

mod common;
use common::{kinds, Vector};

/// Vectors the decoder does not agree with, and why. Empty: every vector agrees.
const KNOWN_MISMATCHES: &[(&str, &str)] = &[];

/// The fixed Smarty authentication key (Smarty P1 spec v1.1.3 §3.2.5).
const SMARTY_AK: &str = "00112233445566778899aabbccddeeff";

fn load() -> &'static [Vector] {
    common::corpus()
}

fn key(hex: &str) -> Key {
    hex.parse().expect("valid key")
}

fn decode(bytes: &[u8], keys: Keys) -> Vec<Message> {
    DsmrDecoder::new(keys).decode_all(bytes)
}

fn readings(messages: &[Message]) -> Vec<&Reading> {
    messages.iter().filter_map(Message::reading).collect()
}

fn expect_kinds(messages: &[Message], want: &[&str]) -> Result<(), String> {
    let got = kinds(messages);
    if got == want {
        Ok(())
    } else {
        let errors: Vec<_> = messages.iter().filter_map(|m| m.error_report()).collect();
        Err(format!(
            "messages {got:?}, want {want:?}; errors: {errors:?}"
        ))
    }
}

/// `YYMMDDhhmmssX` → RFC 3339 per docs/reading-format.md, written independently of the decoder.
fn tst_rfc3339(tst: &str) -> Option<String> {
    let (digits, flag) = tst.split_at(12.min(tst.len()));
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let offset = match flag {
        "S" | "s" => "+02:00",
        "W" | "w" => "+01:00",
        "" => "",
        _ => return None,
    };
    let f = |i: usize| &digits[i..i + 2];
    let n = |i: usize| f(i).parse::<u32>().expect("digits");
    if !(1..=12).contains(&n(2))
        || !(1..=31).contains(&n(4))
        || n(6) > 23
        || n(8) > 59
        || n(10) > 59
    {
        return None;
    }
    Some(format!(
        "20{}-{}-{}T{}:{}:{}{offset}",
        f(0),
        f(2),
        f(4),
        f(6),
        f(8),
        f(10)
    ))
}

/// Checks one `expected` entry (`OBIS` → `value*unit` as in the telegram) against a reading.
fn check_expected(reading: &Reading, obis: &str, want: &str) -> Result<(), String> {
    if obis == "0-0:1.0.0" {
        let time = tst_rfc3339(want);
        if reading.time != time {
            return Err(format!("time {:?}, want {time:?} ({want})", reading.time));
        }
        return Ok(());
    }
    let id = format!("{obis}*255");
    let value = reading.value(&id).ok_or_else(|| format!("no value {id}"))?;
    let (number, unit) = match want.split_once('*') {
        Some((v, u)) => (v, Some(u)),
        None => (want, None),
    };
    let number: Option<Decimal> = number.parse().ok();
    let ok = match (&value.value, unit) {
        (Scalar::Number(d), Some(u)) => Some(*d) == number && value.unit.as_deref() == Some(u),
        (Scalar::Text(_), Some(_)) => false,
        (Scalar::Number(d), None) => Some(*d) == number && value.unit.is_none(),
        (Scalar::Text(t), None) => t == want,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{id} is {value:?}, want {want}"))
    }
}

/// What every reading must have: a meter id and values.
fn check_basic(reading: &Reading) -> Result<(), String> {
    if reading.meter_id.as_deref().map_or(true, str::is_empty) {
        return Err(format!("no meter id: {reading:?}"));
    }
    if reading.values.is_empty() {
        return Err("no values".into());
    }
    Ok(())
}

/// The reading's time is the telegram's `0-0:1.0.0` line converted independently; a clock that
/// is not a date gives no time and a warning.
fn check_clock(reading: &Reading, telegram: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(telegram);
    let clock = text
        .lines()
        .find_map(|l| l.strip_prefix("0-0:1.0.0(")?.strip_suffix(')'));
    let want = clock.and_then(tst_rfc3339);
    if reading.time != want {
        return Err(format!("time {:?}, want {want:?}", reading.time));
    }
    let warned = reading.warnings.iter().any(|w| w.starts_with("0-0:1.0.0"));
    if clock.is_some() && want.is_none() && !warned {
        return Err(format!(
            "no warning for clock {clock:?}: {:?}",
            reading.warnings
        ));
    }
    Ok(())
}

fn check_all_expected(vector: &Vector, reading: &Reading) -> Result<(), String> {
    for (obis, want) in vector.expected() {
        check_expected(reading, &obis, &want).map_err(|e| format!("expected {obis}: {e}"))?;
    }
    Ok(())
}

fn check_smarty(vector: &Vector) -> Result<(), String> {
    let ek = key(vector.str(&["key_hex"]).expect("key"));
    let aad = vector
        .str(&["frame", "aad_hex"])
        .ok_or("no frame.aad_hex")?;
    let ak = aad
        .strip_prefix("30")
        .ok_or("AAD does not start with SC 0x30")?;
    // The fixed Smarty AK is the default: pass it only when the frame uses another one.
    let authentication = (!ak.eq_ignore_ascii_case(SMARTY_AK)).then(|| key(ak));
    let keys = Keys {
        encryption: Some(ek.clone()),
        authentication: authentication.clone(),
    };
    let messages = decode(&vector.bytes, keys);
    match vector.crc_match() {
        Some(true) => {
            expect_kinds(&messages, &["reading"])?;
            let reading = readings(&messages)[0];
            check_basic(reading)?;
            check_all_expected(vector, reading)?;
        }
        Some(false) => expect_kinds(&messages, &["crc_mismatch"])?,
        None => return Err("Smarty plaintext without CRC".into()),
    }
    // Wrong keys: the tag check fails; no key at all: missing_key.
    let mut wrong = *ek.expose();
    wrong[0] ^= 0x01;
    let wrong_ek = Keys {
        encryption: Some(Key::new(wrong)),
        authentication: authentication.clone(),
    };
    expect_kinds(&decode(&vector.bytes, wrong_ek), &["gcm_tag_mismatch"])?;
    if authentication.is_some() {
        let default_ak = Keys {
            encryption: Some(ek),
            authentication: None,
        };
        expect_kinds(&decode(&vector.bytes, default_ak), &["gcm_tag_mismatch"])?;
    }
    expect_kinds(&decode(&vector.bytes, Keys::default()), &["missing_key"])?;
    Ok(())
}

fn check(vector: &Vector) -> Result<(), String> {
    if vector.str(&["key_hex"]).is_some() {
        return check_smarty(vector);
    }
    let messages = decode(&vector.bytes, Keys::default());
    let lf_only = vector.str(&["line_ending"]) == Some("LF");
    let converted = |r: &Reading| {
        r.warnings
            .iter()
            .any(|w| w.contains("line endings were converted"))
    };
    match vector.name.as_str() {
        // Notes: starts mid-telegram, two complete telegrams (CRC matches after LF -> CR LF),
        // ends with a partial third.
        "dsmr_tools-stream-capture-mid-telegram" => {
            expect_kinds(
                &messages,
                &["skipped_bytes", "reading", "reading", "truncated"],
            )?;
            for r in readings(&messages) {
                if !converted(r) {
                    return Err(format!("no line-ending warning: {:?}", r.warnings));
                }
            }
            let first = messages[0].error_report().map(|e| e.message.clone());
            if !first.is_some_and(|m| m.contains("mid-telegram")) {
                return Err(format!("skipped bytes not explained: {:?}", messages[0]));
            }
            Ok(())
        }
        // Notes: a telegram cut off mid-line, immediately followed by a complete one.
        "dsmr_tools-truncated-then-full" => {
            expect_kinds(&messages, &["truncated", "reading"])?;
            let reading = readings(&messages)[0];
            let starts: Vec<usize> = (0..vector.bytes.len())
                .filter(|&i| vector.bytes[i..].starts_with(b"\n/"))
                .map(|i| i + 1)
                .collect();
            let second = &vector.bytes[*starts.get(1).ok_or("no second telegram")?..];
            check_basic(reading)?;
            check_clock(reading, second)?;
            check_all_expected(vector, reading)
        }
        _ => match vector.crc_match() {
            Some(false) => {
                expect_kinds(&messages, &["crc_mismatch"])?;
                let computed = vector.str(&["crc", "computed"]).ok_or("no crc.computed")?;
                let message = &messages[0].error_report().ok_or("no error")?.message;
                if !message.contains(&format!("computed 0x{computed}")) {
                    return Err(format!(
                        "crc_mismatch message {message:?} lacks 0x{computed}"
                    ));
                }
                Ok(())
            }
            verified => {
                expect_kinds(&messages, &["reading"])?;
                let reading = readings(&messages)[0];
                check_basic(reading)?;
                check_clock(reading, &vector.bytes)?;
                check_all_expected(vector, reading)?;
                if verified == Some(true) && converted(reading) != lf_only {
                    return Err(format!(
                        "line-ending warning {}, LF-only file {lf_only}: {:?}",
                        converted(reading),
                        reading.warnings
                    ));
                }
                let stated = vector.str(&["crc", "stated"]).unwrap_or("");
                let short = reading
                    .warnings
                    .iter()
                    .any(|w| w.contains("hex digits instead of 4"));
                if verified == Some(true) && short != (stated.len() < 4) {
                    return Err(format!("CRC digit warning {short} for {stated:?}"));
                }
                Ok(())
            }
        },
    }
}

#[test]
fn corpus_agrees() {
    let vectors = load();
    assert_eq!(vectors.len(), 40, "all 40 corpus vectors are present");
    let known: Vec<&str> = KNOWN_MISMATCHES.iter().map(|(n, _)| *n).collect();
    common::assert_agreement(vectors, |v| v.name.as_str(), check, &known);
}

/// The Smarty specification example needs the test AK of its notes, and then its inner telegram
/// fails its CRC because the transcription lost the blank line after the header.
#[test]
fn smarty_spec_example_needs_its_ak_and_has_a_bad_inner_crc() {
    let vector = load()
        .iter()
        .find(|v| v.name == "smarty-generated-encrypted-lux-spec-example")
        .expect("vector present");
    let ek = key("0123456789abcdef0123456789abcdef");
    let with_ak = Keys {
        encryption: Some(ek.clone()),
        authentication: Some(key("ffeeddccbbaa99887766554433221100")),
    };
    let messages = decode(&vector.bytes, with_ak);
    assert_eq!(kinds(&messages), vec!["crc_mismatch"]);
    let message = &messages[0].error_report().expect("error").message;
    assert_eq!(message, "telegram says CRC 0x8B52, computed 0x6DA1");
    assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(0));
    let default_ak = Keys {
        encryption: Some(ek),
        authentication: None,
    };
    assert_eq!(
        kinds(&decode(&vector.bytes, default_ak)),
        vec!["gcm_tag_mismatch"]
    );
}

/// Artifacts the notes point out: 0x02 in the header (test data for `\2`), LF-only files.
#[test]
fn artifacts_are_accepted_as_the_contract_says() {
    let vectors = load();
    let get = |name: &str| {
        let v = vectors
            .iter()
            .find(|v| v.name == name)
            .expect("vector present");
        decode(&v.bytes, Keys::default())
    };
    // 0x02 in the header: CRC computed over it, identification kept as sent; no 96.1.1 with a
    // value, so the identification line is the meter id.
    let messages = get("dsmr_parser-iskra-ie-stx-in-header");
    let reading = messages[0].reading().expect("a reading");
    assert_eq!(reading.meter_id.as_deref(), Some("ISk5\u{2}MIE5T-200"));
    assert!(reading.warnings.is_empty(), "{:?}", reading.warnings);
    // LF-only file: accepted, with the warning.
    let messages = get("dsmr5_rs-sagemcom-t211-lf-file");
    let reading = messages[0].reading().expect("a reading");
    assert_eq!(
        reading.warnings,
        vec!["line endings were converted: the CRC matches only with CR restored before every LF"]
    );
    assert_eq!(reading.meter_id.as_deref(), Some("E0062000013122923"));
    // Placeholders give no time and a warning, never a made-up date.
    let messages = get("go_iec62056-sagemcom-t210d-enexis");
    let reading = messages[0].reading().expect("a reading");
    let gas = reading.value("0-1:24.2.1*255").expect("gas value");
    assert_eq!(gas.time, None);
    assert_eq!(gas.unit, None);
    assert_eq!(gas.value, Scalar::Number("0".parse().expect("decimal")));
    assert!(reading.warnings.iter().any(|w| w.contains("632525252525S")));
}

/// Reads every line of `telegram` both ways: the single pass of `Telegram::objects` (the
/// zero-copy views, the parse-only path) and the line-by-line checks `check_line` and
/// `check_groups`. They must give the same objects, groups and errors, on the same lines.
fn views_agree_with_line_checks(telegram: &Telegram<&[u8]>) -> usize {
    let mut objects = telegram.objects();
    let mut n = 0;
    for (number, line) in telegram.lines().filter(|(_, line)| !line.is_empty()) {
        let item = objects.next().expect("one item per non-empty line");
        assert_eq!(objects.line(), number, "{line:?}");
        let checked = if line.first() == Some(&b'(') {
            check_groups(line).map(|groups| (None, groups))
        } else {
            check_line(line).map(|(obis, groups)| (Some(obis), groups))
        };
        let viewed = match item {
            Ok(LineView::Object(view)) => Ok((Some(view.obis()), view.groups())),
            Ok(LineView::Continuation(groups)) => Ok((None, groups)),
            Err(e) => match e.reason {
                ParseErrorReason::Line(reason) => Err(reason),
                other => panic!("line {number}: {other:?}"),
            },
        };
        assert_eq!(viewed, checked, "line {number} {line:?}");
        n += 1;
    }
    assert!(objects.next().is_none());
    n
}

/// The zero-copy object views read every corpus telegram as the line checks do, also with
/// single bytes changed; and every object line with one group gives the value the decoder
/// reports for it: the same number and unit, or the same text.
#[test]
fn object_views_agree_with_what_the_decoder_reports() {
    let (mut telegrams, mut lines, mut values) = (0, 0, 0);
    for vector in load().iter().filter(|v| !v.encrypted()) {
        let Some(start) = vector.bytes.iter().position(|&b| b == b'/') else {
            continue;
        };
        let bytes = &vector.bytes[start..];
        let Ok(telegram) = Telegram::new_checked(bytes) else {
            continue;
        };
        telegrams += 1;
        lines += views_agree_with_line_checks(&telegram);
        for at in (1..telegram.len()).step_by(5) {
            for b in [
                b'(', b')', b'\r', b'\n', b'*', b'-', b'.', b'1', b'x', 0x00, 0xE9,
            ] {
                let mut changed = bytes.to_vec();
                changed[at] = b;
                if let Ok(t) = Telegram::new_checked(&changed[..]) {
                    views_agree_with_line_checks(&t);
                }
            }
        }
        if vector.crc_match() != Some(true) || start > 0 {
            continue;
        }
        let messages = decode(&vector.bytes, Keys::default());
        let [Message::Reading(reading)] = messages.as_slice() else {
            panic!("{}: {messages:?}", vector.name);
        };
        let mut rest = reading.values.iter();
        for item in telegram.objects() {
            let Ok(LineView::Object(view)) = item else {
                continue;
            };
            let mut groups = view.groups().iter();
            let (Some(group), None) = (groups.next(), groups.next()) else {
                continue;
            };
            if view.obis() == Obis::reduced(0, 0, 1, 0, 0) {
                continue;
            }
            let id = view.obis().to_string();
            let value = rest
                .by_ref()
                .find(|v| v.id == id)
                .unwrap_or_else(|| panic!("{}: no value {id} in order", vector.name));
            let (_, unit) = group.value_and_unit();
            match &value.value {
                Scalar::Number(d) => {
                    assert_eq!(Some(*d), group.number(), "{}: {id}", vector.name);
                    assert_eq!(value.unit.as_deref(), unit, "{}: {id}", vector.name);
                }
                Scalar::Text(t) => assert_eq!(t, group.as_str(), "{}: {id}", vector.name),
            }
            values += 1;
        }
    }
    assert!(
        telegrams >= 30 && lines >= 500 && values >= 300,
        "{telegrams} telegrams, {lines} lines, {values} values"
    );
}
