//! The reference DLMS/COSEM push decoder against every real push of the corpus
//! (`tests/data/dlms/*.yaml`, copied unchanged from meterlab's shared corpus; each file names
//! the public repository it comes from).
//!
//! What each vector must give is derived from its own fields, independently of the decoder:
//! decoded with its published keys, exactly one reading; every `expected` entry (the source
//! project's values) in it; every OBIS-keyed value and the date-time of the research's own
//! decode ("decoded here" in `notes`); the meter id the contract prescribes (written out below
//! per vector from the notes); the ids the layout catalogue gives elements without OBIS
//! (written out below from the notes). Then the failures: a wrong key gives `wrong_key` (SC
//! 0x2x) or `gcm_tag_mismatch` (SC 0x30), no key `missing_key`, SC 0x30 without AK
//! `missing_auth_key`, a removed M-Bus segment `incomplete`, a flipped checksum, HCS or FCS
//! byte `checksum`, `hcs_mismatch`, `fcs_mismatch`.
//!
//! Expected entries the decoder cannot agree with go in [`KNOWN_MISMATCHES`] with a reason; the
//! test fails when a listed entry starts agreeing, so the list only shrinks.

use meterlab_decoder::{Decimal, DlmsDecoder, Key, Keys, Message, Reading, Scalar, StreamDecoder};

mod common;
use common::{dlms_corpus, dlms_vector, kinds, Vector};

/// (vector, `expected` key, why the decoder disagrees). Empty: the Kaifa list 1 power (a bare
/// u32 without scaler-unit) is now scaled by the `KFM_001` description in the layout catalogue.
const KNOWN_MISMATCHES: &[(&str, &str, &str)] = &[];

/// The meter id per vector, per the contract: the first non-empty text of 0-0:96.1.0,
/// 0-0:96.1.1, 0-0:42.0.0 (a layout's meter number counts as 0-0:96.1.0), else the system title.
const METER_IDS: &[(&str, Option<&str>)] = &[
    ("aidon_norway_1phase_hdlc_plain", Some("7359992890941742")),
    ("aidon_norway_3phase_hdlc_plain", None),
    ("evn_netznoe_kaifa_ma309_doc_example", Some("181220000009")),
    ("evn_netznoe_kaifa_ma309_real_2022", Some("181220002177")),
    ("evn_netznoe_sagemcom_t210d_real", Some("178210431186")),
    ("evn_sagemcom_t210d_decrypted_gh867", Some("178210128502")),
    ("iskra_hdlc_segmented_3frames_plain", Some("84895126")),
    ("kaifa_ma304h3e_norway_list1_short", None),
    (
        "kaifa_ma304h3e_norway_list2_hdlc_plain",
        Some("6970631401753985"),
    ),
    (
        "kaifa_ma309_poland_tinetz_layout_gh905",
        Some("1KFM0200169986"),
    ),
    (
        "kamstrup_omnipower_hdlc_encrypted_auth",
        Some("4B414D4501349083"),
    ),
    ("kelag_iskra_am550_p1_gh787_1", Some("49534B6974AC008F")),
    ("kelag_iskra_am550_p1_gh787_9", Some("49534B6974AC008F")),
    ("lg_e450_hdlc_gbt_encrypted_1", Some("4C475A677370B177")),
    ("lg_e450_hdlc_gbt_encrypted_2", Some("4C475A67735DD3A9")),
    ("pwitab_push_glo_auth_enc", Some("2F19229199164103")),
    (
        "salzburg_kaifa_ma309_decrypted_apdu",
        Some("1KFM0200234804"),
    ),
    (
        "tinetz_kaifa_ma309_1phase_doc_example",
        Some("1KFM0100000035"),
    ),
    ("tinetz_kaifa_ma309_3phase_raw_apdu", Some("1KFM0200070313")),
    ("wienernetze_am550_a_ir", Some("49534B6974A8D899")),
    ("wienernetze_am550_b_ir", Some("49534B69743C103F")),
    ("wienernetze_im350_ir", Some("SMS1030788000020")),
    ("wienernetze_lg_e450_ir", Some("4C475A67726D311E")),
    ("wienernetze_lg_e450_ir_2024", Some("4C475A6773745DDD")),
];

/// Values of elements without OBIS, from each vector's notes, with the ids of the layout
/// catalogue. A quoted value is text; anything else a number without unit.
const LAYOUT_VALUES: &[(&str, &[(&str, &str)])] = &[
    (
        "wienernetze_am550_a_ir",
        &[
            ("1-0:1.8.0*255", "137323"),
            ("1-0:2.8.0*255", "0"),
            ("1-0:3.8.0*255", "96027"),
            ("1-0:4.8.0*255", "1216"),
            ("1-0:1.7.0*255", "0"),
            ("1-0:2.7.0*255", "0"),
            ("1-0:3.7.0*255", "0"),
            ("1-0:4.7.0*255", "0"),
        ],
    ),
    (
        "wienernetze_am550_b_ir",
        &[
            ("1-0:1.8.0*255", "855"),
            ("1-0:2.8.0*255", "246"),
            ("1-0:3.8.0*255", "103"),
            ("1-0:4.8.0*255", "169"),
            ("1-0:1.7.0*255", "0"),
        ],
    ),
    (
        "wienernetze_im350_ir",
        &[
            ("0-0:42.0.0*255", "'SMS1030788000020'"),
            ("1-0:1.8.0*255", "1465"),
            ("1-0:4.8.0*255", "5521"),
            ("1-0:1.7.0*255", "4"),
            ("1-0:4.7.0*255", "18"),
        ],
    ),
    (
        "wienernetze_lg_e450_ir",
        &[
            ("1-0:1.8.0*255", "9099"),
            ("1-0:2.8.0*255", "7601"),
            ("1-0:3.8.0*255", "8090"),
            ("1-0:4.8.0*255", "7397"),
        ],
    ),
    (
        "wienernetze_lg_e450_ir_2024",
        &[
            ("1-0:1.8.0*255", "54608"),
            ("1-0:3.8.0*255", "244"),
            ("1-0:4.8.0*255", "79945"),
            ("1-0:1.7.0*255", "6"),
            ("1-0:4.7.0*255", "13"),
        ],
    ),
    (
        "kelag_iskra_am550_p1_gh787_1",
        &[
            ("0-6:25.9.0*255", "'1121378381199'"),
            ("1-0:0.9.1*255", "'150B1100'"),
            ("1-0:0.9.2*255", "'07E8050702'"),
            ("1-0:1.8.0*255", "14370048"),
            ("1-0:2.8.0*255", "420837"),
            ("1-0:3.8.0*255", "1455864"),
            ("1-0:4.8.0*255", "2293936"),
            ("1-0:1.7.0*255", "9"),
            ("1-0:2.7.0*255", "0"),
            ("#10", "''"),
            ("#11", "''"),
        ],
    ),
    (
        "kelag_iskra_am550_p1_gh787_9",
        &[
            ("1-0:0.9.1*255", "'15320D00'"),
            ("1-0:1.8.0*255", "14398886"),
            ("1-0:2.7.0*255", "5"),
        ],
    ),
    (
        "kaifa_ma304h3e_norway_list2_hdlc_plain",
        &[
            ("0-0:0.0.0*255", "'KFM_001'"),
            ("0-0:96.1.0*255", "'6970631401753985'"),
            ("0-0:96.1.7*255", "'MA304H3E'"),
            ("1-0:1.7.0*255", "948"),
            ("1-0:2.7.0*255", "0"),
            ("1-0:3.7.0*255", "0"),
            ("1-0:4.7.0*255", "64"),
            ("1-0:31.7.0*255", "1416"),
            ("1-0:51.7.0*255", "3241"),
            ("1-0:71.7.0*255", "3119"),
            ("1-0:32.7.0*255", "2385"),
            ("1-0:52.7.0*255", "0"),
            ("1-0:72.7.0*255", "2389"),
        ],
    ),
    (
        "kaifa_ma304h3e_norway_list1_short",
        &[("1-0:1.7.0*255", "1320")],
    ),
    (
        "kamstrup_omnipower_hdlc_encrypted_auth",
        &[("0-0:0.0.0*255", "'Kamstrup_V0001'")],
    ),
    (
        "evn_netznoe_kaifa_ma309_real_2022",
        &[("0-0:96.1.0*255", "'181220002177'")],
    ),
    (
        "evn_netznoe_sagemcom_t210d_real",
        &[("0-0:96.1.0*255", "'178210431186'")],
    ),
    (
        "pwitab_push_glo_auth_enc",
        &[(
            "#0",
            "'125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100'",
        )],
    ),
];

fn decode(bytes: &[u8], keys: Keys) -> Vec<Message> {
    DlmsDecoder::new(keys).decode_all(bytes)
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

/// The one reading of a vector decoded with its keys.
fn reading_of(vector: &Vector) -> Result<Reading, String> {
    let messages = decode(&vector.bytes, vector.keys());
    expect_kinds(&messages, &["reading"])?;
    messages[0]
        .reading()
        .cloned()
        .ok_or_else(|| "no reading".to_string())
}

/// `A-B:C.D.E.F` or `A-B:C.D.E` (a note in parentheses after it is dropped) → `A-B:C.D.E*F`.
fn obis_id(key: &str) -> Option<String> {
    let key = key.split(" (").next()?.trim();
    let (ab, cdef) = key.split_once(':')?;
    let groups: Vec<&str> = cdef.split('.').collect();
    if !ab.contains('-') || !groups.iter().all(|g| g.parse::<u8>().is_ok()) {
        return None;
    }
    match groups.as_slice() {
        [c, d, e] => Some(format!("{ab}:{c}.{d}.{e}*255")),
        [c, d, e, f] => Some(format!("{ab}:{c}.{d}.{e}*{f}")),
        _ => None,
    }
}

/// A clock id: A = 0, C.D.E = 1.0.0.
fn is_clock(id: &str) -> bool {
    id.starts_with("0-")
        && id
            .split(':')
            .nth(1)
            .is_some_and(|r| r.starts_with("1.0.0*"))
}

/// Offset per the contract: −deviation minutes; none for −32768 (not specified).
fn offset(deviation: i32) -> String {
    if deviation == -32768 {
        return String::new();
    }
    let minutes = -deviation;
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// Checks a time written as in the corpus (`2021-09-27 09:47:15 +02:00 (deviation -120, DST)`,
/// `2019-12-16 07:59:40`) against the reading's RFC 3339 time. Without offset or deviation in
/// the text only the local time is compared.
fn check_time(reading: &Reading, want: &str) -> Result<(), String> {
    let got = reading.time.as_deref().ok_or("no time")?;
    let local = want.get(..19).ok_or("short time")?.replacen(' ', "T", 1);
    let rest = &want[19..];
    let explicit = rest
        .trim_start()
        .get(..6)
        .filter(|o| o.starts_with(['+', '-']));
    let from_deviation = rest
        .split_once("deviation ")
        .and_then(|(_, d)| d.split([',', ')']).next()?.trim().parse::<i32>().ok())
        .map(offset);
    let ok = match explicit.map(str::to_string).or(from_deviation) {
        Some(o) => got == format!("{local}{o}"),
        None => got.starts_with(&local) && got.len() >= 19,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("time {got}, want {want}"))
    }
}

/// Checks one value written as in the corpus: `233.7 V`, `1.000 (power factor, unitless)`,
/// `6307498 (raw; …)`, `'181220000009'`, `AIDON_V0001`, `12048950`.
fn check_value(reading: &Reading, id: &str, want: &str) -> Result<(), String> {
    let value = reading.value(id).ok_or_else(|| format!("no value {id}"))?;
    let want = want.split(" (").next().unwrap_or(want).trim();
    let ok = match &value.value {
        Scalar::Text(t) => t == want.trim_matches('\''),
        Scalar::Number(n) => {
            let (number, unit) = match want.split_once(' ') {
                Some((n, u)) => (n, Some(u)),
                None => (want, None),
            };
            let want_number = number.parse::<Decimal>().ok();
            match (unit, value.unit.as_deref()) {
                // The research wrote the number as sent (no unit); the decoder scaled it by the
                // list's description (`scales_from_list_descriptions` checks those): the sent
                // integer is the mantissa.
                (None, Some(_)) => {
                    want_number.is_some_and(|w| w.exponent() == 0 && w.mantissa() == n.mantissa())
                }
                // A unitless number scaled by the description (power factor × 0.01).
                (None, None) if n.exponent() < 0 => {
                    want_number.is_some_and(|w| w.exponent() == 0 && w.mantissa() == n.mantissa())
                        || want_number == Some(*n)
                }
                _ => want_number == Some(*n) && value.unit.as_deref() == unit,
            }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{id} is {value:?}, want {want}"))
    }
}

/// The research's own decode from `notes`: the date-time of the data-notification
/// (`(local, deviation)`) and the body's entries (`OBIS=value` or a bare value).
struct Decoded {
    date_time: Option<(String, i32)>,
    body: Vec<(Option<String>, String)>,
}

fn parse_date_time(text: &str) -> Option<(String, i32)> {
    let local = text.get(..19)?.to_string();
    let deviation = text
        .split_once("dev=")?
        .1
        .split([' ', ')'])
        .next()?
        .parse()
        .ok()?;
    Some((local, deviation))
}

fn decoded_here(vector: &Vector) -> Result<Decoded, String> {
    let notes = vector.str(&["notes"]).ok_or("no notes")?;
    let line = notes
        .lines()
        .find(|l| l.trim_start().starts_with("decoded here"))
        .ok_or("no 'decoded here' line")?;
    let (head, body) = line.split_once(" body: ").ok_or("no body")?;
    let dt = head.split_once(" dt=").ok_or("no dt")?.1;
    let date_time = if dt.starts_with("None") {
        None
    } else {
        Some(parse_date_time(dt).ok_or("unreadable dt")?)
    };
    let body = body
        .split("; ")
        .map(|entry| match entry.split_once('=') {
            Some((k, v)) if obis_id(k).is_some() && !k.contains(' ') => (obis_id(k), v.to_string()),
            _ => (None, entry.to_string()),
        })
        .collect();
    Ok(Decoded { date_time, body })
}

fn check_decoded_here(vector: &Vector, reading: &Reading) -> Result<(), String> {
    let decoded = decoded_here(vector)?;
    // Time: the notification's date-time, else the first clock of the body.
    let clock = decoded.date_time.clone().or_else(|| {
        decoded
            .body
            .iter()
            .find(|(_, v)| v.contains("(dow="))
            .and_then(|(_, v)| parse_date_time(v))
    });
    let want_time = clock.map(|(local, dev)| format!("{local}{}", offset(dev)));
    if reading.time != want_time {
        return Err(format!("time {:?}, want {want_time:?}", reading.time));
    }
    let values: Vec<_> = decoded
        .body
        .iter()
        .filter(|(_, v)| !v.contains("(dow="))
        .collect();
    if reading.values.len() != values.len() {
        return Err(format!(
            "{} values, the notes decode {}",
            reading.values.len(),
            values.len()
        ));
    }
    for (id, want) in values {
        if let Some(id) = id {
            check_value(reading, id, want).map_err(|e| format!("notes: {e}"))?;
        }
    }
    Ok(())
}

fn check_expected(vector: &Vector, reading: &Reading) -> Vec<(String, Result<(), String>)> {
    let Some(map) = vector.doc.get("expected").and_then(|e| e.as_mapping()) else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let key = k.as_str().unwrap_or_default().to_string();
            let want = match v {
                serde_yaml::Value::String(s) => s.clone(),
                serde_yaml::Value::Number(n) => n.to_string(),
                other => format!("{other:?}"),
            };
            let result = match obis_id(&key) {
                Some(id) if is_clock(&id) => check_time(reading, &want),
                Some(id) if id == "0-0:96.1.0*255" && key.contains("no OBIS") => {
                    check_value(reading, &id, &want).and_then(|()| {
                        (reading.meter_id.as_deref() == Some(want.as_str()))
                            .then_some(())
                            .ok_or_else(|| format!("meter id {:?}", reading.meter_id))
                    })
                }
                Some(id) => check_value(reading, &id, &want),
                None => check_time(reading, &want),
            };
            (key, result.map_err(|e| format!("expected {k:?}: {e}")))
        })
        .collect()
}

fn check_layout_values(vector: &Vector, reading: &Reading) -> Result<(), String> {
    let Some((_, values)) = LAYOUT_VALUES.iter().find(|(n, _)| *n == vector.name) else {
        return Ok(());
    };
    for (id, want) in *values {
        check_value(reading, id, want).map_err(|e| format!("layout: {e}"))?;
    }
    Ok(())
}

fn check_meter_id(vector: &Vector, reading: &Reading) -> Result<(), String> {
    let want = METER_IDS
        .iter()
        .find(|(n, _)| *n == vector.name)
        .ok_or("vector missing from METER_IDS")?
        .1;
    if reading.meter_id.as_deref() == want {
        Ok(())
    } else {
        Err(format!("meter id {:?}, want {want:?}", reading.meter_id))
    }
}

#[test]
fn corpus_agrees() {
    let vectors = dlms_corpus();
    assert_eq!(vectors.len(), 24, "all 24 corpus vectors are present");
    let mut failures = Vec::new();
    let mut now_agreeing = Vec::new();
    let mut summary = Vec::new();
    for vector in vectors {
        let reading = match reading_of(vector) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: {e}", vector.name));
                continue;
            }
        };
        let mut problems = Vec::new();
        for check in [
            check_decoded_here(vector, &reading),
            check_layout_values(vector, &reading),
            check_meter_id(vector, &reading),
        ] {
            if let Err(e) = check {
                problems.push(e);
            }
        }
        let expected = check_expected(vector, &reading);
        let mut known = 0;
        for (key, result) in &expected {
            let listed = KNOWN_MISMATCHES
                .iter()
                .any(|(n, k, _)| *n == vector.name && k == key);
            match (result, listed) {
                (Ok(()), true) => now_agreeing.push(format!("{}: {key}", vector.name)),
                (Err(e), false) => problems.push(e.clone()),
                (Err(_), true) => known += 1,
                (Ok(()), false) => {}
            }
        }
        summary.push(format!(
            "{:45} {:3} values, {:2} expected entries agree{}",
            vector.name,
            reading.values.len(),
            expected.len() - known,
            if known > 0 {
                format!(", {known} known mismatch")
            } else {
                String::new()
            }
        ));
        if !problems.is_empty() {
            failures.push(format!("{}: {}", vector.name, problems.join("; ")));
        }
    }
    println!("{}", summary.join("\n"));
    for (name, key, _) in KNOWN_MISMATCHES {
        assert!(
            vectors.iter().any(|v| v.name == *name),
            "KNOWN_MISMATCHES names {name} ({key}), which is not in the corpus"
        );
    }
    assert!(
        now_agreeing.is_empty(),
        "these entries agree now: remove them from KNOWN_MISMATCHES: {now_agreeing:?}"
    );
    assert!(
        failures.is_empty(),
        "{} vectors disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The security control byte as the research noted it (`SC=0x20`).
fn security_control(vector: &Vector) -> Option<u8> {
    let notes = vector.str(&["notes"])?;
    let sc = notes.split_once(" SC=0x")?.1.get(..2)?;
    u8::from_str_radix(sc, 16).ok()
}

fn flipped(key: &Key) -> Key {
    let mut bytes = *key.expose();
    bytes[0] ^= 0x01;
    Key::new(bytes)
}

/// Wrong key → wrong_key (SC 0x2x) or gcm_tag_mismatch (SC 0x30); a wrong AK too for SC 0x30;
/// no key → missing_key; SC 0x30 without AK → missing_auth_key.
#[test]
fn key_errors_on_every_encrypted_vector() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for vector in dlms_corpus() {
        let Some(sc) = security_control(vector) else {
            continue;
        };
        let keys = vector.keys();
        let ek = keys
            .encryption
            .clone()
            .expect("encrypted vectors have a key");
        checked += 1;
        let wrong_ek = Keys {
            encryption: Some(flipped(&ek)),
            authentication: keys.authentication.clone(),
        };
        let want = if sc & 0x10 != 0 {
            "gcm_tag_mismatch"
        } else {
            "wrong_key"
        };
        let mut results = vec![
            (
                "wrong EK",
                expect_kinds(&decode(&vector.bytes, wrong_ek), &[want]),
            ),
            (
                "no key",
                expect_kinds(&decode(&vector.bytes, Keys::default()), &["missing_key"]),
            ),
        ];
        if sc & 0x10 != 0 {
            let ak = keys
                .authentication
                .clone()
                .expect("SC 0x30 vectors have an AK");
            let wrong_ak = Keys {
                encryption: Some(ek.clone()),
                authentication: Some(flipped(&ak)),
            };
            let no_ak = Keys {
                encryption: Some(ek.clone()),
                authentication: None,
            };
            results.push((
                "wrong AK",
                expect_kinds(&decode(&vector.bytes, wrong_ak), &["gcm_tag_mismatch"]),
            ));
            results.push((
                "no AK",
                expect_kinds(&decode(&vector.bytes, no_ak), &["missing_auth_key"]),
            ));
        }
        for (what, result) in results {
            if let Err(e) = result {
                failures.push(format!("{} ({what}): {e}", vector.name));
            }
        }
    }
    assert_eq!(checked, 17, "encrypted vectors in the corpus");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The vectors framed in M-Bus long frames, split into their frames independently of the
/// decoder: the second frame starts at the last `68 L L 68 53 FF 11`.
fn mbus_frames(vector: &Vector) -> (Vec<u8>, Vec<u8>) {
    let b = &vector.bytes;
    let second = (0..b.len() - 6)
        .rev()
        .find(|&i| {
            b[i] == 0x68
                && b[i + 1] == b[i + 2]
                && b[i + 3] == 0x68
                && b[i + 4..i + 7] == [0x53, 0xFF, 0x11]
        })
        .expect("a second frame");
    assert_eq!(usize::from(b[second + 1]) + 6, b.len() - second);
    (b[..second].to_vec(), b[second..].to_vec())
}

fn mbus_vectors() -> Vec<&'static Vector> {
    dlms_corpus()
        .iter()
        .filter(|v| v.str(&["framing"]) == Some("mbus"))
        .collect()
}

#[test]
fn mbus_segment_removed_is_incomplete() {
    let vectors = mbus_vectors();
    assert_eq!(vectors.len(), 5);
    for vector in vectors {
        let (first, second) = mbus_frames(vector);
        let messages = decode(&first, vector.keys());
        expect_kinds(&messages, &["incomplete"]).unwrap_or_else(|e| panic!("{}: {e}", vector.name));
        assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(0));
        // The first segment lost: the second alone is incomplete too.
        let messages = decode(&second, vector.keys());
        expect_kinds(&messages, &["incomplete"]).unwrap_or_else(|e| panic!("{}: {e}", vector.name));
        // Two pushes, the first missing its second segment: incomplete, then the reading.
        let mut stream = first.clone();
        stream.extend_from_slice(&vector.bytes);
        let messages = decode(&stream, vector.keys());
        expect_kinds(&messages, &["incomplete", "reading"])
            .unwrap_or_else(|e| panic!("{}: {e}", vector.name));
    }
}

#[test]
fn mbus_checksum_flipped() {
    for vector in mbus_vectors() {
        let (first, second) = mbus_frames(vector);
        // The checksum of either frame: one message for the push, at its first frame.
        for (what, cs_at) in [
            ("first", first.len() - 2),
            ("second", vector.bytes.len() - 2),
        ] {
            let mut bytes = vector.bytes.clone();
            bytes[cs_at] ^= 0x01;
            let messages = decode(&bytes, vector.keys());
            expect_kinds(&messages, &["checksum"])
                .unwrap_or_else(|e| panic!("{} {what} frame: {e}", vector.name));
            assert_eq!(
                messages[0].error_report().and_then(|e| e.offset),
                Some(0),
                "{} {what}",
                vector.name
            );
        }
        // A data byte of the first frame.
        let mut bytes = vector.bytes.clone();
        bytes[40] ^= 0x10;
        expect_kinds(&decode(&bytes, vector.keys()), &["checksum"])
            .unwrap_or_else(|e| panic!("{} data byte: {e}", vector.name));
        assert!(!second.is_empty());
    }
}

/// The Sagemcom T210-D's first frame says `68 01 01 68` and carries 257 bytes: the reading
/// comes with a warning naming the quirk.
#[test]
fn sagemcom_length_overflow() {
    let vector = dlms_vector("evn_netznoe_sagemcom_t210d_real");
    assert_eq!(vector.bytes[..4], [0x68, 0x01, 0x01, 0x68]);
    let reading = reading_of(vector).expect("decodes");
    assert!(
        reading.warnings.iter().any(|w| w.contains("257 bytes")),
        "{:?}",
        reading.warnings
    );
}

fn hdlc_vectors() -> Vec<&'static Vector> {
    dlms_corpus()
        .iter()
        .filter(|v| v.str(&["framing"]) == Some("hdlc"))
        .collect()
}

/// The first HDLC frame's length (flag through FCS), independently: the 11-bit length + 1.
fn first_hdlc_frame_len(bytes: &[u8]) -> usize {
    ((usize::from(bytes[1] & 0x07) << 8) | usize::from(bytes[2])) + 1
}

#[test]
fn hdlc_check_sequences_flipped() {
    let vectors = hdlc_vectors();
    assert_eq!(vectors.len(), 15);
    for vector in vectors {
        let b = &vector.bytes;
        // The HCS follows format, destination, source and control.
        let mut at = 3;
        while b[at] & 1 == 0 {
            at += 1;
        }
        at += 1;
        while b[at] & 1 == 0 {
            at += 1;
        }
        let hcs = at + 2;
        let mut bytes = b.clone();
        bytes[hcs] ^= 0x01;
        let messages = decode(&bytes, vector.keys());
        assert_eq!(
            kinds(&messages).first(),
            Some(&"hcs_mismatch"),
            "{}: {messages:?}",
            vector.name
        );
        assert!(
            messages.iter().all(|m| m.reading().is_none()),
            "{}: no reading from a frame with a bad HCS",
            vector.name
        );
        let fcs = first_hdlc_frame_len(b) - 1;
        let mut bytes = b.clone();
        bytes[fcs] ^= 0x01;
        let messages = decode(&bytes, vector.keys());
        expect_kinds(&messages, &["fcs_mismatch"])
            .unwrap_or_else(|e| panic!("{}: {e}", vector.name));
        assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(0));
    }
}

/// 0x7E inside the FCS: the frame is delimited by its length, not by the flag. No corpus frame
/// has one, so the Kaifa list-1 frame's value is changed until its FCS holds 0x7E.
#[test]
fn flag_byte_inside_fcs() {
    const X25: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC);
    let vector = dlms_vector("kaifa_ma304h3e_norway_list1_short");
    let frame = &vector.bytes;
    let fcs_at = frame.len() - 3;
    let (value, bytes) = (0u32..)
        .map(|v| {
            let mut b = frame.clone();
            b[fcs_at - 4..fcs_at].copy_from_slice(&v.to_be_bytes());
            let fcs = X25.checksum(&b[1..fcs_at]).to_le_bytes();
            b[fcs_at..fcs_at + 2].copy_from_slice(&fcs);
            (v, b)
        })
        .find(|(_, b)| b[fcs_at + 1] == 0x7E)
        .expect("some value gives an FCS ending in 0x7E");
    assert_eq!(bytes[bytes.len() - 2..], [0x7E, 0x7E]);
    let mut stream = bytes.clone();
    stream.extend_from_slice(&bytes);
    let messages = decode(&stream, Keys::default());
    expect_kinds(&messages, &["reading", "reading"]).expect("both frames");
    let reading = messages[0].reading().expect("reading");
    assert_eq!(
        reading.value("1-0:1.7.0*255").map(|v| &v.value),
        Some(&Scalar::Number(Decimal::from_int(i128::from(value))))
    );
    assert!(
        !reading.warnings.iter().any(|w| w.contains("flag")),
        "{:?}",
        reading.warnings
    );
}

/// The real Wiener Netze capture lacked its closing flag (the corpus restored it): without it
/// the push still decodes, with a warning, also when junk follows.
#[test]
fn missing_closing_flag() {
    let vector = dlms_vector("wienernetze_am550_a_ir");
    let mut bytes = vector.bytes[..vector.bytes.len() - 1].to_vec();
    let messages = decode(&bytes, vector.keys());
    expect_kinds(&messages, &["reading"]).expect("decodes at the end of the stream");
    bytes.extend_from_slice(b"\x31\x32");
    let messages = decode(&bytes, vector.keys());
    expect_kinds(&messages, &["reading", "skipped_bytes"]).expect("decodes before junk");
    let reading = messages[0].reading().expect("reading");
    assert!(
        reading.warnings.iter().any(|w| w.contains("closing flag")),
        "{:?}",
        reading.warnings
    );
}

/// Kaifa's `09 0C` date-time is accepted with a warning.
#[test]
fn kaifa_typed_date_time_warns() {
    for name in [
        "kaifa_ma304h3e_norway_list1_short",
        "kaifa_ma304h3e_norway_list2_hdlc_plain",
    ] {
        let reading = reading_of(dlms_vector(name)).expect("decodes");
        assert!(
            reading.warnings.iter().any(|w| w.contains("09 0C")),
            "{name}: {:?}",
            reading.warnings
        );
    }
}

/// Lists sent without scaler-unit get the scales their published descriptions give
/// (`decoder/src/dlms/layout.rs`): Kaifa `KFM_001` (mA, 0.1 V) and `Kamstrup_V0001`
/// (0.01 A, V, power factor × 0.01).
#[test]
fn scales_from_list_descriptions() {
    let number = |reading: &Reading, id: &str| {
        let value = reading.value(id).unwrap_or_else(|| panic!("{id}"));
        match &value.value {
            Scalar::Number(n) => (n.normalized(), value.unit.clone()),
            other => panic!("{id}: {other:?}"),
        }
    };
    let d = |text: &str| text.parse::<Decimal>().expect("decimal").normalized();
    let kaifa = dlms_vector("kaifa_ma304h3e_norway_list2_hdlc_plain");
    let reading = decode(&kaifa.bytes, kaifa.keys())
        .iter()
        .find_map(Message::reading)
        .cloned()
        .expect("a reading");
    assert_eq!(
        number(&reading, "1-0:1.7.0*255"),
        (d("948"), Some("W".into()))
    );
    assert_eq!(
        number(&reading, "1-0:31.7.0*255"),
        (d("1.416"), Some("A".into()))
    );
    assert_eq!(
        number(&reading, "1-0:32.7.0*255"),
        (d("238.5"), Some("V".into()))
    );
    assert!(
        !reading.warnings.iter().any(|w| w.contains("no scaler")),
        "{:?}",
        reading.warnings
    );
    let kamstrup = dlms_vector("kamstrup_omnipower_hdlc_encrypted_auth");
    let reading = decode(&kamstrup.bytes, kamstrup.keys())
        .iter()
        .find_map(Message::reading)
        .cloned()
        .expect("a reading");
    assert_eq!(
        number(&reading, "1-1:31.7.0*255"),
        (d("0.57"), Some("A".into()))
    );
    assert_eq!(
        number(&reading, "1-1:32.7.0*255"),
        (d("222"), Some("V".into()))
    );
    assert_eq!(
        number(&reading, "1-1:1.8.0*255"),
        (d("6307498"), Some("Wh".into()))
    );
    assert_eq!(number(&reading, "1-1:13.7.0*255"), (d("0.83"), None));
    // The meter serial 1-1:0.0.1 is an identifier, not a quantity: no warning for it.
    assert!(
        !reading.warnings.iter().any(|w| w.contains("no scaler")),
        "{:?}",
        reading.warnings
    );
    // The L+G E450's list has no description: its raw numbers are named in one warning.
    let e450 = dlms_vector("lg_e450_hdlc_gbt_encrypted_1");
    let reading = decode(&e450.bytes, e450.keys())
        .iter()
        .find_map(Message::reading)
        .cloned()
        .expect("a reading");
    let warning = reading
        .warnings
        .iter()
        .find(|w| w.starts_with("no scaler or unit in the telegram"))
        .expect("a warning for the raw values");
    assert!(warning.contains("1-0:1.8.0*255"), "{warning}");
}
