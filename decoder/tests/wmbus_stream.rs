//! The wireless M-Bus stream decoder over captures in each receiver stick's framing, built
//! from the wireless corpus: every telegram in every framing decodes as its bare frame does;
//! streams of many telegrams decode whatever the chunking; the M-Bus auto-detection finds
//! each framing; damaged messages are classified.

use meterlab_decoder::auto::{decoder_for, detect};
use meterlab_decoder::wmbus::Crcs;
use meterlab_decoder::{Direction, Keys, Message, Protocol, StreamDecoder, WmbusDecoder};
use proptest::prelude::*;
use proptest::sample::Index;

mod common;
use common::wmbus::{self, Telegram};
use common::{cut_points, feed_chunked, kinds};

/// What a capture's messages say without their offsets (a framing moves them).
fn content(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m {
            Message::Reading(r) => serde_json::to_string(r).expect("json"),
            Message::Error { error } => format!("error {}", error.kind),
            Message::Link { link } => format!("link {}", link.kind),
        })
        .collect()
}

fn decode(keys: &Keys, bytes: &[u8]) -> Vec<Message> {
    WmbusDecoder::new(keys.clone()).decode_all(bytes)
}

/// Every framing of a telegram, named.
fn framings(t: &Telegram) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("format A", wmbus::format_a(&t.frame)),
        ("format B", wmbus::format_b(&t.frame)),
        ("iM871A", wmbus::im871a(&t.frame, false)),
        ("iM871A with FCS", wmbus::im871a(&t.frame, true)),
        ("AMB8465", wmbus::amb8465(&t.frame)),
        ("CUL", wmbus::cul(&t.frame, false)),
        ("CUL format B", wmbus::cul(&t.frame, true)),
        ("rtl_wmbus", wmbus::rtlwmbus(&t.frame)),
    ]
}

#[test]
fn every_telegram_decodes_the_same_in_every_framing() {
    let telegrams = wmbus::telegrams();
    assert_eq!(telegrams.len(), 37);
    let mut readings = 0;
    for t in &telegrams {
        let bare = decode(&t.keys, &t.frame);
        readings += usize::from(matches!(bare.as_slice(), [Message::Reading(_)]));
        for (name, bytes) in framings(t) {
            let framed = decode(&t.keys, &bytes);
            assert_eq!(content(&framed), content(&bare), "{} as {name}", t.name);
            // Auto-detection finds the framing and the M-Bus decoder reads it.
            assert_eq!(
                detect(&bytes, &t.keys),
                Some(Protocol::Mbus),
                "{} as {name}",
                t.name
            );
            let auto = decoder_for(Protocol::Mbus, t.keys.clone()).decode_all(&bytes);
            assert_eq!(
                content(&auto),
                content(&bare),
                "{} as {name} (auto)",
                t.name
            );
        }
    }
    assert!(readings >= 30, "{readings} telegrams decode to a reading");
}

/// The telegrams without a key, as one capture in each framing.
fn plain_streams() -> Vec<(&'static str, Vec<u8>, Vec<String>)> {
    let telegrams: Vec<Telegram> = wmbus::telegrams()
        .into_iter()
        .filter(|t| t.keys.encryption.is_none())
        .collect();
    let names: Vec<&str> = framings(&telegrams[0]).iter().map(|(n, _)| *n).collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for t in &telegrams {
                stream.extend(&framings(t)[i].1);
                expected.extend(content(&decode(&Keys::default(), &t.frame)));
            }
            (name, stream, expected)
        })
        .collect()
}

#[test]
fn streams_of_telegrams_decode_in_order() {
    for (name, stream, expected) in plain_streams() {
        let got = decode(&Keys::default(), &stream);
        assert_eq!(content(&got), expected, "{name}");
        let auto = decoder_for(Protocol::Mbus, Keys::default()).decode_all(&stream);
        assert_eq!(content(&auto), expected, "{name} (auto)");
    }
}

#[test]
fn dongle_dialogues_give_link_messages() {
    let t = &wmbus::telegrams()[0];
    // wmbusmeters' iM871A start-up (wmbus.md §3.1), then a telegram.
    let mut stream =
        hex::decode("A5010F00A581100833001301F13A000053D9A5010300A58104009CF7").expect("hex");
    stream.extend(wmbus::im871a(&t.frame, true));
    let messages = decode(&t.keys, &stream);
    let directions: Vec<Option<Direction>> = messages
        .iter()
        .map(|m| m.link_report().map(|l| l.direction))
        .collect();
    assert_eq!(
        directions[..4],
        [
            Some(Direction::ToMeter),
            Some(Direction::FromMeter),
            Some(Direction::ToMeter),
            Some(Direction::FromMeter)
        ]
    );
    assert_eq!(content(&messages[4..]), content(&decode(&t.keys, &t.frame)));
    // The AMB8465 set-mode request and its confirmation.
    let amber = hex::decode("FF040108F2FF8401007A").expect("hex");
    assert_eq!(kinds(&decode(&Keys::default(), &amber)), ["link", "link"]);
}

#[test]
fn damaged_messages_are_classified() {
    let t = wmbus::telegrams()
        .into_iter()
        .find(|t| t.name == "m-bus-parser/vector-01")
        .expect("iPerl");
    let none = Keys::default();
    let mut cul = wmbus::cul(&t.frame, false);
    cul[30] = if cul[30] == b'0' { b'1' } else { b'0' };
    assert_eq!(kinds(&decode(&none, &cul)), ["crc_mismatch"]);
    let mut hci = wmbus::im871a(&t.frame, true);
    hci[10] ^= 0x01;
    assert_eq!(kinds(&decode(&none, &hci)), ["fcs_mismatch"]);
    let mut amber = wmbus::amb8465(&t.frame);
    amber[10] ^= 0x01;
    assert_eq!(kinds(&decode(&none, &amber)), ["checksum"]);
    let failed = b"T1;0;1;2019-04-03 19:00:42.000;97;148;33225544;0x1844\n";
    assert_eq!(kinds(&decode(&none, failed)), ["crc_mismatch"]);
    let a = wmbus::format_a(&t.frame);
    assert_eq!(kinds(&decode(&none, &a[..a.len() - 3])), ["truncated"]);
    let mut bad = a.clone();
    bad[14] ^= 0x40;
    let with_crcs = WmbusDecoder::with_crcs(none.clone(), Crcs::Present).decode_all(&bad);
    assert_eq!(kinds(&with_crcs), ["crc_mismatch"]);
    // Junk between CUL lines is reported, the telegrams after it read.
    let mut stream = b"garbage\r\n".to_vec();
    stream.extend(wmbus::cul(&t.frame, false));
    assert_eq!(kinds(&decode(&none, &stream)), ["skipped_bytes", "reading"]);
}

#[test]
fn mode7_mac_and_keys() {
    let t = wmbus::telegrams()
        .into_iter()
        .find(|t| t.name == "jmbus/oms-mode7-example")
        .expect("OMS example");
    let messages = decode(&t.keys, &t.frame);
    let [Message::Reading(r)] = messages.as_slice() else {
        panic!("{messages:?}")
    };
    assert_eq!(r.meter_id.as_deref(), Some("12345678"));
    let mc = r.value("afl.message_counter").expect("message counter");
    assert_eq!(
        format!("{:?}", mc.value),
        "Number(Decimal { mantissa: 2739, exponent: 0 })"
    );
    // A changed byte of the plaintext part of the TPL (the MAC covers it): mac_mismatch.
    let mut altered = t.frame.clone();
    let last = altered.len() - 1;
    altered[last] ^= 0x01;
    assert_eq!(kinds(&decode(&t.keys, &altered)), ["mac_mismatch"]);
}

#[test]
fn mode5_iv_uses_the_long_header_address() {
    // aventieswm: CI 0x72, mode 5. Another link-layer id (a radio module sending for the meter)
    // changes nothing: the IV is built from the long header's M and A.
    let t = wmbus::telegrams()
        .into_iter()
        .find(|t| t.name == "wmbusmeters/aventieswm-0")
        .expect("aventieswm");
    let mut other = t.frame.clone();
    other[4..8].copy_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    let a = decode(&t.keys, &t.frame);
    let b = decode(&t.keys, &other);
    let (Some(ra), Some(rb)) = (a[0].reading(), b[0].reading()) else {
        panic!("{a:?} {b:?}")
    };
    assert_eq!(rb.meter_id.as_deref(), Some("61070071"));
    assert_eq!(
        rb.value("link.id")
            .map(|v| format!("{:?}", v.value))
            .as_deref(),
        Some("Text(\"44332211\")")
    );
    let records = |r: &meterlab_decoder::Reading| {
        r.values
            .iter()
            .filter(|v| v.id.starts_with('#'))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(records(ra), records(rb));
    assert!(records(ra).len() > 10);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunking_does_not_change_the_messages(
        which in 0usize..8,
        picks in proptest::collection::vec(any::<Index>(), 0..12),
    ) {
        let streams = plain_streams();
        let (name, stream, _) = &streams[which % streams.len()];
        let whole = decode(&Keys::default(), stream);
        let cuts = cut_points(stream.len(), &picks);
        let chunked = feed_chunked(&mut WmbusDecoder::new(Keys::default()), stream, &cuts);
        prop_assert_eq!(chunked, whole, "{}", name);
    }

    #[test]
    fn the_m_bus_decoder_tells_wired_from_wireless_whatever_the_chunking(
        which in 0usize..9,
        picks in proptest::collection::vec(any::<Index>(), 0..12),
        noise in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let streams = plain_streams();
        // A wireless stream, or the wired corpus frames, behind some noise or not.
        let mut stream = if which < streams.len() { Vec::new() } else { noise };
        match streams.get(which) {
            Some((_, s, _)) => stream.extend(s),
            None => stream.extend(common::mbus_frames().concat()),
        }
        let whole = decoder_for(Protocol::Mbus, Keys::default()).decode_all(&stream);
        let cuts = cut_points(stream.len(), &picks);
        let mut d = decoder_for(Protocol::Mbus, Keys::default());
        let mut chunked = Vec::new();
        let mut start = 0;
        for &cut in &cuts {
            d.feed(&stream[start..cut], &mut chunked);
            start = cut;
        }
        d.feed(&stream[start..], &mut chunked);
        d.finish(&mut chunked);
        prop_assert_eq!(chunked, whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode(&Keys::default(), &bytes);
        let mut line = b"b".to_vec();
        line.extend(hex::encode_upper(&bytes).into_bytes());
        let _ = decode(&Keys::default(), &line);
    }
}
