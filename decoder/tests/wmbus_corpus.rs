//! The reference wireless M-Bus decoder against the wireless corpus
//! (`tests/data/mbus/wireless/`, sources in its README): every telegram decodes to the values
//! its project expects (wmbusmeters driver output, jMBus assertions, m-bus-parser's header
//! fields and wmbusmeters' cross-check) or is rejected as its notes say (encrypted without a
//! key: `missing_key`; a wrong key: `wrong_key`). Telegrams that do not agree are listed in
//! [`KNOWN_MISMATCHES`] with the reason; the list can only shrink.
//!
//! What is compared: the meter id; for each numeric driver field whose name ends in a unit
//! (`_m3`, `_kwh`, `_c`, `_rh`, `_m3h`, `_kw`, `_v`, `_hca`), some record with that unit (or
//! quantity) carries the value; m-bus-parser's identification, manufacturer, version, device
//! type, access number and status.

use meterlab_decoder::auto::{decoder_for, detect};
use meterlab_decoder::{
    Keys, Message, Protocol, Reading, Scalar, StreamDecoder, Value, WmbusDecoder,
};
use serde_yaml::Value as Yaml;

mod common;

/// Telegrams whose decoding differs from the expected values, and why.
const KNOWN_MISMATCHES: &[(&str, &str)] = &[
    (
        "m-bus-parser/vector-07",
        "CI 0xA2 Techem manufacturer-specific layout: data given as hex; wmbusmeters' mkradio3 \
         driver reads total_m3/target_m3 from it",
    ),
    (
        "m-bus-parser/vector-08",
        "CI 0xA2 Techem manufacturer-specific layout (mkradio4): data given as hex",
    ),
    (
        "m-bus-parser/vector-09",
        "CI 0xA2 Techem manufacturer-specific layout (vario451): data given as hex",
    ),
    (
        "m-bus-parser/vector-10",
        "Apator 162: after 2F2F the content is Apator-proprietary (DIF 0F: manufacturer data, \
         given as hex); only wmbusmeters' apator162 driver finds total_m3 in it",
    ),
    (
        "m-bus-parser/vector-11",
        "Apator 162 proprietary content after 2F2F (manufacturer data as hex)",
    ),
    (
        "m-bus-parser/vector-12",
        "Apator 162 proprietary content after 2F2F (manufacturer data as hex)",
    ),
    (
        "m-bus-parser/vector-13",
        "Apator 162 proprietary content after 2F2F (manufacturer data as hex)",
    ),
    (
        "m-bus-parser/vector-16",
        "the last record (04 6D, a 4-byte date) is cut off after 2 bytes: premature_end and no \
         reading; m-bus-parser prints the records before it",
    ),
    (
        "wmbusmeters/serial_aes-apator162",
        "decrypts (2F2F) but the Apator 162 content is proprietary, not EN 13757-3 records: \
         premature_end; wmbusmeters' driver reads total_m3 4.848 from it",
    ),
    (
        "wmbusmeters/caltose-0",
        "consumption_2..4_hca are packed in a variable-length record (DIF 8D, VIF EE 13) whose \
         layout only the caltose driver knows; the other values agree",
    ),
    (
        "wmbusmeters/engelmann_faw-0",
        "CI 0x73: a compact frame (format signature + data without DIF/VIF); its records need the \
         format frame, which the telegram does not carry: decrypted and given as hex",
    ),
];

struct Vector {
    name: String,
    doc: Yaml,
    bytes: Vec<u8>,
}

fn corpus() -> Vec<Vector> {
    let mut out = Vec::new();
    for dir in ["jmbus", "m-bus-parser", "wmbusmeters"] {
        for path in common::yaml_files(&format!("mbus/wireless/{dir}")) {
            let text = std::fs::read_to_string(&path).expect("read");
            let doc: Yaml = serde_yaml::from_str(&text).expect("yaml");
            let hex = doc["hex"].as_str().expect("hex");
            let mut bytes = hex::decode(hex).expect("hex digits");
            if doc.get("hex_scope").is_some() {
                // TPL only: the link header from the stated address, C = SND_NR.
                let a = hex::decode(doc["link_layer_address_hex"].as_str().expect("address"))
                    .expect("hex");
                let mut t = vec![(1 + a.len() + bytes.len()) as u8, 0x44];
                t.extend(a);
                t.extend(bytes);
                bytes = t;
            }
            let stem = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .to_string();
            out.push(Vector {
                name: format!("{dir}/{stem}"),
                doc,
                bytes,
            });
        }
    }
    out
}

fn keys(key: Option<&str>) -> Keys {
    Keys {
        encryption: key.map(|k| k.parse().expect("key")),
        authentication: None,
    }
}

fn decode(v: &Vector) -> Vec<Message> {
    WmbusDecoder::new(keys(v.doc["key_hex"].as_str())).decode_all(&v.bytes)
}

/// The one reading; a telegram with a trailing byte beyond L (an RSSI the receiver appended,
/// as the notes say) may be followed by that byte reported as skipped.
fn the_reading<'m>(v: &Vector, messages: &'m [Message]) -> Result<&'m Reading, String> {
    let extra = v.bytes.len() > usize::from(v.bytes[0]) + 1;
    match messages {
        [Message::Reading(r)] => Ok(r),
        [Message::Reading(r), Message::Error { error }]
            if extra && error.kind == "skipped_bytes" =>
        {
            Ok(r)
        }
        other => Err(format!(
            "expected one reading, got {:?}",
            other.iter().map(Message::to_json_line).collect::<Vec<_>>()
        )),
    }
}

fn num(v: &Value) -> Option<f64> {
    match &v.value {
        Scalar::Number(d) => Some(d.to_f64()),
        Scalar::Text(_) => None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

/// The unit (or quantity) and factor of a driver field's suffix.
fn unit_of(field: &str) -> Option<(&'static str, f64)> {
    let table: [(&str, &str, f64); 8] = [
        ("_m3h", "m^3/h", 1.0),
        ("_m3", "m^3", 1.0),
        ("_kwh", "Wh", 1000.0),
        ("_kw", "W", 1000.0),
        ("_c", "°C", 1.0),
        ("_rh", "%", 1.0),
        ("_v", "V", 1.0),
        ("_hca", "H.C.A.", 1.0),
    ];
    table
        .iter()
        .find(|(suffix, ..)| field.ends_with(suffix))
        .map(|&(_, unit, factor)| (unit, factor))
}

/// Some record with the field's unit carries its value.
fn check_field(r: &Reading, field: &str, want: f64) -> Result<(), String> {
    let Some((unit, factor)) = unit_of(field) else {
        return Ok(());
    };
    let found = r.values.iter().any(|v| {
        let unit_ok = v.unit.as_deref() == Some(unit) || v.quantity() == Some(unit);
        unit_ok && v.id.starts_with('#') && num(v).is_some_and(|x| close(x, want * factor))
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "{field} = {want}: no record with unit {unit} has it"
        ))
    }
}

fn check_fields(r: &Reading, fields: &[(String, f64)]) -> Result<(), String> {
    let errors: Vec<String> = fields
        .iter()
        .filter_map(|(f, want)| check_field(r, f, *want).err())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn numeric_fields(map: &Yaml) -> Vec<(String, f64)> {
    map.as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn check_id(r: &Reading, id: &str) -> Result<(), String> {
    if r.meter_id.as_deref() == Some(id) {
        Ok(())
    } else {
        Err(format!("meter id {:?}, expected {id}", r.meter_id))
    }
}

fn yaml_text(y: &Yaml) -> String {
    match y {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => format!("{n:0>8}"),
        _ => String::new(),
    }
}

fn check_wmbusmeters(v: &Vector, messages: &[Message]) -> Result<(), String> {
    let r = the_reading(v, messages)?;
    let expected = &v.doc["expected"];
    if let Some(csv) = expected["fields_csv"].as_str() {
        // `--selectfields=total_kwh,total_water_m3` (the decoder line names them).
        let names = ["total_kwh", "total_water_m3"];
        let fields: Vec<(String, f64)> = names
            .iter()
            .zip(csv.split(';'))
            .map(|(n, x)| (n.to_string(), x.parse().expect("number")))
            .collect();
        return check_fields(r, &fields);
    }
    check_id(r, &yaml_text(&expected["fields"]["id"]))?;
    check_fields(r, &numeric_fields(&expected["fields"]))
}

fn header(r: &Reading, id: &str) -> Option<i64> {
    r.value(id).and_then(num).map(|x| x as i64)
}

/// Whether the telegram is encrypted: an ELL `8D` whose SN says so, or a short TPL header
/// whose configuration word names a security mode and whose data does not start `2F2F`.
fn encrypted(b: &[u8]) -> bool {
    match b.get(10) {
        Some(0x8D) => b.get(16).is_some_and(|sn3| sn3 >> 5 != 0),
        Some(0x7A) => b.len() > 17 && (b[14] & 0x1F) != 0 && b[15..17] != [0x2F, 0x2F],
        _ => false,
    }
}

fn check_mbus_parser(v: &Vector, messages: &[Message]) -> Result<(), String> {
    let e = &v.doc["expected"];
    if encrypted(&v.bytes) && v.doc["key_hex"].is_null() {
        // Encrypted without a key: rejected.
        if let [Message::Error { error }] = messages {
            return if error.kind == "missing_key" {
                Ok(())
            } else {
                Err(format!("error {} instead of missing_key", error.kind))
            };
        }
    }
    let r = the_reading(v, messages)?;
    check_id(
        r,
        &format!("{:0>8}", yaml_text(&e["identification_number"])),
    )?;
    let man = r.value("link.manufacturer").map(|x| x.value.clone());
    if man != Some(Scalar::Text(yaml_text(&e["manufacturer"]))) {
        return Err(format!("manufacturer {man:?}"));
    }
    if header(r, "link.version") != e["version"].as_i64() {
        return Err(format!("version {:?}", header(r, "link.version")));
    }
    let facts = &v.doc["frame_facts"]["device_type"];
    let device = i64::from_str_radix(yaml_text(facts).trim_start_matches("0x"), 16).ok();
    if header(r, "link.device_type") != device {
        return Err(format!("device type {:?}", header(r, "link.device_type")));
    }
    if let Some(acc) = header(r, "header.access_number") {
        if Some(acc) != e["access_number"].as_i64()
            || header(r, "header.status") != e["status"].as_i64()
        {
            return Err(format!(
                "access number {acc}, status {:?}",
                header(r, "header.status")
            ));
        }
    }
    let cross = &v.doc["cross_check"]["wmbusmeters_json"];
    if let Some(json) = cross.as_str() {
        let j: serde_json::Value = serde_json::from_str(json).expect("json");
        let fields: Vec<(String, f64)> = j
            .as_object()
            .expect("object")
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect();
        check_fields(r, &fields)?;
    }
    Ok(())
}

fn check_jmbus(v: &Vector, messages: &[Message]) -> Result<(), String> {
    let r = the_reading(v, messages)?;
    let e = &v.doc["expected"];
    check_id(r, &yaml_text(&v.doc["frame_facts"]["id"]))?;
    if let Some(acc) = e["access_number"].as_i64() {
        if header(r, "header.access_number") != Some(acc)
            || header(r, "header.status") != e["status"].as_i64()
        {
            return Err("access number or status".into());
        }
    }
    if let Some(records) = e["records"].as_sequence() {
        for rec in records {
            if let Some(want) = rec["scaled_value"].as_f64() {
                check_field(r, "record_m3", want)?;
            }
        }
        if r.value("#0").and_then(num).is_none() {
            return Err("record 0 is no number".into());
        }
    }
    if let Some(vol) = e["steering_decoded_values"]["volume"].as_str() {
        let want: f64 = vol
            .split("= ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .expect("volume");
        check_field(r, "volume_m3", want)?;
    }
    Ok(())
}

fn check(v: &Vector) -> Result<(), String> {
    let messages = decode(v);
    common::assert_wire_format(&messages);
    match v.name.split('/').next() {
        Some("wmbusmeters") => check_wmbusmeters(v, &messages),
        Some("m-bus-parser") => check_mbus_parser(v, &messages),
        _ => check_jmbus(v, &messages),
    }
}

#[test]
fn corpus_has_every_file() {
    assert_eq!(corpus().len(), 38);
}

#[test]
fn every_telegram_decodes_to_its_expected_values() {
    let known: Vec<&str> = KNOWN_MISMATCHES.iter().map(|(n, _)| *n).collect();
    common::assert_agreement(&corpus(), |v| &v.name, check, &known);
}

#[test]
fn a_wrong_key_is_wrong_key() {
    let mut tried = 0;
    for v in corpus() {
        let Some(key) = v.doc["key_hex"].as_str() else {
            continue;
        };
        // The corpus's own wrong key where there is one, else the key with one bit changed.
        let wrong = v.doc["expected"]["wrong_key_case"]["key_hex"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                let mut k = hex::decode(key).expect("hex");
                k[15] ^= 1;
                hex::encode(k)
            });
        let messages = WmbusDecoder::new(keys(Some(&wrong))).decode_all(&v.bytes);
        let kinds = common::kinds(&messages);
        assert_eq!(kinds.first(), Some(&"wrong_key"), "{}: {kinds:?}", v.name);
        let missing = WmbusDecoder::new(Keys::default()).decode_all(&v.bytes);
        assert_eq!(
            common::kinds(&missing).first(),
            Some(&"missing_key"),
            "{}",
            v.name
        );
        tried += 1;
    }
    assert_eq!(tried, 15);
}

#[test]
fn every_telegram_is_detected_and_decoded_through_auto() {
    for v in corpus() {
        let k = keys(v.doc["key_hex"].as_str());
        assert_eq!(detect(&v.bytes, &k), Some(Protocol::Mbus), "{}", v.name);
        let via_auto = decoder_for(Protocol::Mbus, k).decode_all(&v.bytes);
        assert_eq!(via_auto, decode(&v), "{}", v.name);
    }
}

#[test]
fn the_other_corpora_are_not_taken_for_wireless() {
    use meterlab_decoder::wmbus::dongle::detect as wireless;
    let mut checked = 0;
    let mut check = |name: &str, bytes: &[u8]| {
        assert!(
            !wireless(bytes, true, true, true),
            "{name} taken for wireless M-Bus"
        );
        checked += 1;
    };
    for v in common::corpus() {
        check(&v.name, &v.bytes);
    }
    for v in common::dlms_corpus() {
        check(&v.name, &v.bytes);
    }
    for (name, bytes) in common::iec_dialogues() {
        check(name, bytes);
    }
    for (i, bytes) in common::mbus_frames().iter().enumerate() {
        check(&format!("wired frame {i}"), bytes);
    }
    assert!(checked > 150, "{checked} captures");
}
