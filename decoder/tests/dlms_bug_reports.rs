//! DLMS pushes from public bug reports and test dumps, each stored as the capture file of a
//! bug-report scenario (`scenarios/bug-reports/`, sources in the scenario files).
//!
//! Self-describing pushes from real meters: Landis+Gyr E450 (Cyprus) pushes in plain General
//! Block Transfer over HDLC whose first element is the push setup's `push_object_list`
//! (esphome-libs/dlms_parser `tests/dumps/hdlc_landis_gyr_e450_cyprus.log` and
//! `hdlc_landis_gyr_e450_cyprus_2.log`, from esphome/esphome PR #16942; stored as the capture
//! files of the bug-report scenarios). The expected values are the source project's
//! (`tests/expected/hdlc_landis_gyr_e450_cyprus.h`, `…_cyprus_2_decoded.xml`).

use meterlab_decoder::{Decimal, DlmsDecoder, Keys, Message, Reading, Scalar, StreamDecoder};

const CYPRUS_1: &str = include_str!(
    "../../scenarios/bug-reports/lg-e450-cyprus-self-describing-dlms-parser.capture.hex"
);
const KAMSTRUP_2017: &str = include_str!(
    "../../scenarios/bug-reports/kamstrup-typed-date-time-amstomqttbridge-29.capture.hex"
);
const CYPRUS_2: &str = include_str!(
    "../../scenarios/bug-reports/lg-e450-cyprus-self-describing-2-dlms-parser.capture.hex"
);

fn bytes(hex: &str) -> Vec<u8> {
    hex.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect()
}

fn reading(hex: &str) -> Reading {
    let messages = DlmsDecoder::new(Keys::default()).decode_all(&bytes(hex));
    assert_eq!(messages.len(), 1, "{messages:?}");
    match &messages[0] {
        Message::Reading(r) => r.clone(),
        other => panic!("{other:?}"),
    }
}

fn number(r: &Reading, id: &str) -> Decimal {
    match r.value(id).map(|v| &v.value) {
        Some(Scalar::Number(n)) => *n,
        other => panic!("{id}: {other:?}"),
    }
}

#[test]
fn test_cyprus_instantaneous_list() {
    let r = reading(CYPRUS_1);
    assert_eq!(r.time.as_deref(), Some("2026-06-08T18:46:02"));
    assert_eq!(r.meter_id, None);
    // dlms_parser's expected map: OBIS → value (19 numbers and the clock).
    let expected = [
        ("1-0:21.7.0*255", 73),
        ("1-0:41.7.0*255", 34),
        ("1-0:61.7.0*255", 80),
        ("1-0:22.7.0*255", 0),
        ("1-0:42.7.0*255", 0),
        ("1-0:62.7.0*255", 0),
        ("1-0:1.7.0*255", 187),
        ("1-0:2.7.0*255", 0),
        ("1-0:3.7.0*255", 0),
        ("1-0:4.7.0*255", 622),
        ("1-0:13.7.0*255", 286),
        ("1-0:31.7.0*255", 130),
        ("1-0:51.7.0*255", 74),
        ("1-0:71.7.0*255", 89),
        ("1-0:32.7.0*255", 238),
        ("1-0:52.7.0*255", 239),
        ("1-0:72.7.0*255", 238),
        ("1-0:14.7.0*255", 50),
        ("0-0:96.3.0*255", 11),
    ];
    assert_eq!(r.values.len(), expected.len(), "{:?}", r.values);
    for (id, v) in expected {
        assert_eq!(number(&r, id), Decimal::from_int(v), "{id}");
        assert_eq!(r.value(id).and_then(|v| v.attribute), None, "{id}");
    }
    // No scaler_unit is captured: one warning naming the raw register values.
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].starts_with("no scaler or unit in the telegram for 18 value(s)"));
}

#[test]
fn test_cyprus_energy_list_with_attribute_3() {
    let r = reading(CYPRUS_2);
    assert_eq!(r.time.as_deref(), Some("2026-06-08T18:47:00"));
    // 0-0:96.1.1 comes before 0-0:42.0.0 in the meter-id rule.
    assert_eq!(r.meter_id.as_deref(), Some("1538088"));
    let text = |id: &str| r.value(id).map(|v| v.value.clone());
    assert_eq!(
        text("0-0:42.0.0*255"),
        Some(Scalar::Text("LGZ1030790258946".into()))
    );
    assert_eq!(text("0-0:96.14.0*255"), Some(Scalar::Text("RATE2".into())));
    for (id, v) in [
        ("1-0:1.8.1*255", 50119),
        ("1-0:1.8.2*255", 82454),
        ("1-0:2.8.1*255", 2993),
        ("1-0:2.8.2*255", 23),
        ("1-0:1.8.0*255", 132_573),
        ("1-0:2.8.0*255", 3016),
        ("1-0:3.8.0*255", 2691),
        ("1-0:4.8.0*255", 307_393),
    ] {
        assert_eq!(number(&r, id), Decimal::from_int(v), "{id}");
    }
    // Disconnect control (class 70) attribute 3, control_state: 1 = connected.
    let control = r.value("0-0:96.3.10*255").expect("control state");
    assert_eq!(control.attribute, Some(3));
    assert_eq!(control.value, Scalar::Number(Decimal::from_int(1)));
    assert_eq!(r.values.len(), 12);
    let w = r.warnings.join("\n");
    assert!(w.contains("padded with NUL bytes"), "{w}");
    assert!(
        w.contains("no scaler or unit in the telegram for 8 value(s)"),
        "{w}"
    );
}

#[test]
fn test_cyprus_any_chunking() {
    let all = bytes(CYPRUS_2);
    let whole = DlmsDecoder::new(Keys::default()).decode_all(&all);
    for size in [1, 7, 64, 129] {
        let mut d = DlmsDecoder::new(Keys::default());
        let mut got = Vec::new();
        for chunk in all.chunks(size) {
            d.feed(chunk, &mut got);
        }
        d.finish(&mut got);
        assert_eq!(got, whole, "chunks of {size}");
    }
}

/// An early Kamstrup firmware sent the data-notification's date-time as `09 0C` + 12 bytes, an
/// octet-string tag too many (roarfred/AmsToMqttBridge issue #29: "Kamstrup confirms this byte
/// was intentionally removed, to conform to DLMS"): accepted, with a warning.
#[test]
fn test_kamstrup_typed_date_time() {
    let r = reading(KAMSTRUP_2017);
    assert_eq!(r.time.as_deref(), Some("2017-10-20T03:43:30"));
    assert_eq!(number(&r, "1-1:1.7.0*255"), Decimal::from_int(1468));
    assert_eq!(number(&r, "1-1:4.7.0*255"), Decimal::from_int(462));
    assert_eq!(
        r.value("0-0:0.0.0*255").map(|v| v.value.clone()),
        Some(Scalar::Text("Kamstrup_V0001".into()))
    );
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].contains("typed octet-string (09 0C"),
        "{:?}",
        r.warnings
    );
    // Without the extra tag the same push has no warning and the same values.
    let bytes = bytes(KAMSTRUP_2017);
    let at = bytes
        .windows(3)
        .position(|w| w == [0x00, 0x09, 0x0C])
        .expect("typed date-time")
        + 1;
    let apdu_start = bytes
        .windows(3)
        .position(|w| w == [0xE6, 0xE7, 0x00])
        .expect("LLC")
        + 3;
    let mut plain = bytes[apdu_start..at].to_vec();
    plain.extend_from_slice(&bytes[at + 1..bytes.len() - 3]);
    let messages = DlmsDecoder::new(Keys::default()).decode_all(&plain);
    match messages.as_slice() {
        [Message::Reading(clean)] => {
            assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
            assert_eq!(clean.values, r.values);
            assert_eq!(clean.time, r.time);
        }
        other => panic!("{other:?}"),
    }
}
