//! The DSMR decoder on streams: the same messages whatever the chunking, resynchronisation after
//! junk, cut-off and corrupted telegrams, wrong line settings, and no panic on any input.
//! Telegrams come from the corpus copy in `tests/data/dsmr/` (sources in each file).

use std::sync::OnceLock;

use meterlab_decoder::{DsmrDecoder, Keys, Message, Reading, StreamDecoder};
use proptest::prelude::*;
use proptest::sample::Index;

mod common;
use common::{
    assert_wire_format, corpus, cut_points, feed_chunked, kinds, mutate, seven_e1, vector,
    Mutation, Vector,
};

/// Plain telegrams whose CRC-16/ARC verifies as stored, one telegram each.
fn plain_verified() -> Vec<&'static Vector> {
    corpus()
        .iter()
        .filter(|v| {
            v.doc["key_hex"].is_null()
                && v.doc["crc"]["match"].as_bool() == Some(true)
                && v.doc["line_ending"].as_str() != Some("LF")
                && !v.name.contains("stream-capture")
                && !v.name.contains("truncated")
        })
        .collect()
}

fn nexxtlab_keys() -> Keys {
    Keys {
        encryption: Some("D491470F47126332B07D1923B3504188".parse().expect("key")),
        authentication: None,
    }
}

fn decode(bytes: &[u8], keys: Keys) -> Vec<Message> {
    DsmrDecoder::new(keys).decode_all(bytes)
}

fn decode_chunked(bytes: &[u8], keys: Keys, cuts: &[usize]) -> Vec<Message> {
    feed_chunked(&mut DsmrDecoder::new(keys), bytes, cuts)
}

fn only_reading(messages: &[Message]) -> &Reading {
    assert_eq!(kinds(messages), vec!["reading"], "{messages:?}");
    messages[0].reading().expect("a reading")
}

/// A stream of everything the decoder meets: junk, every plain telegram, the LF-only stream
/// capture, a cut-off telegram, the real Smarty frame, a 7E1 stretch, binary junk.
fn mixed_stream() -> &'static [u8] {
    static STREAM: OnceLock<Vec<u8>> = OnceLock::new();
    STREAM.get_or_init(|| {
        let mut s = b"\x00\xff junk /ab /abc".to_vec();
        for (i, v) in plain_verified().iter().enumerate() {
            s.extend_from_slice(&v.bytes);
            if i % 3 == 0 {
                s.extend_from_slice(b"\r\nnoise!\xfe\xdb\x07\r\n");
            }
        }
        s.extend_from_slice(&vector("dsmr_tools-stream-capture-mid-telegram").bytes);
        s.extend_from_slice(&vector("smarty-real-encrypted-nexxtlab").bytes);
        s.extend_from_slice(&vector("dsmr_tools-truncated-then-full").bytes);
        s.extend_from_slice(&seven_e1(&vector("dsmr_tools-sagemcom-xs210").bytes));
        s.extend_from_slice(&vector("smarty-real-encrypted-nexxtlab").bytes);
        s.extend_from_slice(&vector("dsmr_parser-v2_2-iskra-mt382-1004").bytes);
        s.extend_from_slice(&[0xDB, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x05, 0x30]);
        s.extend_from_slice(&vector("dsmr_tools-minimal-leading-crlf").bytes);
        s.extend_from_slice(b"/ISK5\\2M550T-1012\r\n\r\n1-0:1.8.1(0001");
        s
    })
}

/// An oracle independent of the decoder: how many spans `/` … first `!` … up to 4 hex digits in
/// `bytes` carry a CRC that matches (CRC-16/ARC, CRC-16/X-25, or ARC with CR restored before
/// bare LFs), plus spans without CRC digits (nothing to verify).
fn acceptable_spans(bytes: &[u8]) -> usize {
    use crc::{Crc, CRC_16_ARC, CRC_16_IBM_SDLC};
    const ARC: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);
    const X25: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);
    let mut count = 0;
    for start in (0..bytes.len()).filter(|&i| bytes[i] == b'/') {
        let Some(bang) = bytes[start..].iter().position(|&b| b == b'!') else {
            continue;
        };
        let bang = start + bang;
        let digits: Vec<u8> = bytes[bang + 1..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_hexdigit())
            .copied()
            .collect();
        if digits.is_empty() {
            count += 1;
            continue;
        }
        let stated = u16::from_str_radix(std::str::from_utf8(&digits).expect("ascii"), 16)
            .expect("hex digits");
        let covered = &bytes[start..=bang];
        let mut restored = Vec::with_capacity(covered.len() + 64);
        for (i, &b) in covered.iter().enumerate() {
            if b == b'\n' && (i == 0 || covered[i - 1] != b'\r') {
                restored.push(b'\r');
            }
            restored.push(b);
        }
        if [
            ARC.checksum(covered),
            X25.checksum(covered),
            ARC.checksum(&restored),
        ]
        .contains(&stated)
        {
            count += 1;
        }
    }
    count
}

#[test]
fn byte_by_byte_gives_the_same_messages() {
    let stream = mixed_stream();
    let whole = decode(stream, nexxtlab_keys());
    let cuts: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(decode_chunked(stream, nexxtlab_keys(), &cuts), whole);
    // The mix exercises every path: readings, skipped junk, 7E1, Smarty, cut-off telegrams.
    let kinds = kinds(&whole);
    for kind in [
        "reading",
        "skipped_bytes",
        "truncated",
        "frame_length",
        "crc_missing",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let readings = whole.iter().filter(|m| m.reading().is_some()).count();
    // Every plain telegram, 2 from the capture, 2 Smarty frames, 1 after the cut, the minimal
    // one. The DSMR 2.2 telegram comes after telegrams with a verified CRC, so in this stream
    // its missing CRC is `crc_missing`: a changed byte could have made any line start with `!`.
    assert_eq!(readings, plain_verified().len() + 2 + 2 + 1 + 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunking_does_not_matter(picks in prop::collection::vec(any::<Index>(), 0..32)) {
        let stream = mixed_stream();
        static WHOLE: OnceLock<Vec<Message>> = OnceLock::new();
        let whole = WHOLE.get_or_init(|| decode(stream, nexxtlab_keys()));
        let cuts = cut_points(stream.len(), &picks);
        prop_assert_eq!(&decode_chunked(stream, nexxtlab_keys(), &cuts), whole);
    }
}

#[test]
fn junk_between_telegrams_is_reported_once_then_decoding_resumes() {
    let a = &vector("dsmr_tools-sagemcom-xs210").bytes;
    let b = &vector("dsmr_tools-landisgyr-dsmr4-a").bytes;
    let junk = b"\r\n\x00\x13garbage here\xff\r\n";
    let mut stream = a.clone();
    stream.extend_from_slice(junk);
    stream.extend_from_slice(b);
    let messages = decode(&stream, Keys::default());
    assert_eq!(
        kinds(&messages),
        vec!["reading", "skipped_bytes", "reading"]
    );
    let skipped = messages[1].error_report().expect("error");
    assert_eq!(skipped.offset, Some(a.len() as u64 + 2));
    assert!(
        skipped.message.starts_with("skipped 15 bytes"),
        "{skipped:?}"
    );
    assert!(messages[0]
        .reading()
        .expect("reading")
        .same_data(only_reading(&decode(a, Keys::default()))));
    assert!(messages[2]
        .reading()
        .expect("reading")
        .same_data(only_reading(&decode(b, Keys::default()))));
}

/// Drop each byte of a telegram in turn (dsmr-reader#1008: one dropped "m"): the telegram fails
/// its CRC, or is cut off, or is not found, and the next telegram always decodes. A dropped CR
/// before LF is the one loss the CRC check repairs: the data is unchanged.
#[test]
fn a_dropped_byte_never_gives_wrong_data_and_the_next_telegram_decodes() {
    let a = &vector("dsmr_tools-sagemcom-xs210").bytes;
    let b = &vector("dsmr_tools-landisgyr-dsmr4-a").bytes;
    let original = only_reading(&decode(a, Keys::default())).clone();
    let next = only_reading(&decode(b, Keys::default())).clone();
    let bang = a.iter().position(|&x| x == b'!').expect("has '!'");
    for drop in 0..a.len() {
        let mut stream = a.clone();
        let dropped = stream.remove(drop);
        stream.extend_from_slice(b);
        let messages = decode(&stream, Keys::default());
        let got = kinds(&messages);
        // Losing the CR LF after the CRC changes nothing; losing a CR before an LF inside is
        // repaired by the line-ending check.
        let harmless = drop > bang + 4 || (dropped == b'\r' && a[drop + 1] == b'\n');
        let want: &[&str] = if drop <= 3 {
            &["skipped_bytes", "reading"] // the start "/Ene" is gone
        } else if drop == bang {
            &["truncated", "reading"]
        } else if harmless {
            &["reading", "reading"]
        } else {
            &["crc_mismatch", "reading"]
        };
        assert_eq!(got, want, "dropping byte {drop} ({:?})", dropped as char);
        if got[0] == "reading" {
            let first = messages[0].reading().expect("reading");
            assert!(first.same_data(&original), "dropping byte {drop}");
        }
        let last = messages.last().and_then(Message::reading).expect("reading");
        assert!(last.same_data(&next), "dropping byte {drop}");
    }
}

#[test]
fn a_cut_off_telegram_then_a_full_one() {
    let bytes = &vector("dsmr_tools-truncated-then-full").bytes;
    let messages = decode(bytes, Keys::default());
    assert_eq!(kinds(&messages), vec!["truncated", "reading"]);
    let truncated = messages[0].error_report().expect("error");
    let second = bytes
        .windows(2)
        .rposition(|w| w == b"\n/")
        .expect("second telegram")
        + 1;
    assert_eq!(truncated.offset, Some(2));
    assert!(
        truncated.message.contains(&format!("offset {second}")),
        "{truncated:?}"
    );
    let alone = only_reading(&decode(&bytes[second..], Keys::default())).clone();
    assert!(messages[1].reading().expect("reading").same_data(&alone));
}

#[test]
fn a_7e1_meter_read_as_8n1_is_one_explained_skip() {
    for v in plain_verified() {
        let messages = decode(&seven_e1(&v.bytes), Keys::default());
        assert_eq!(kinds(&messages), vec!["skipped_bytes"], "{}", v.name);
        let message = &messages[0].error_report().expect("error").message;
        assert!(
            message.contains("7E1") && message.contains("8N1"),
            "{}: {message}",
            v.name
        );
    }
}

/// Flip one bit in every byte of the real Smarty frame: never a reading, never a panic.
#[test]
fn a_corrupted_smarty_frame_never_gives_a_reading() {
    let frame = &vector("smarty-real-encrypted-nexxtlab").bytes;
    for at in 0..frame.len() {
        let mut bytes = frame.clone();
        bytes[at] ^= 0x10;
        let messages = decode(&bytes, nexxtlab_keys());
        assert!(
            messages.iter().all(|m| m.reading().is_none()),
            "flipping byte {at}: {messages:?}"
        );
        assert!(!messages.is_empty(), "flipping byte {at}: nothing reported");
    }
}

/// Bytes weighted towards what the decoder reacts to, so random input reaches every state.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => any::<u8>(),
        2 => prop::sample::select(b"/!\r\n()*.:-0123456789ABCDEFSW".to_vec()),
        1 => prop::sample::select(b"ISKKFMXMXabc".to_vec()),
        1 => Just(0xDB),
        1 => Just(0x08),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    common::mutation(interesting_byte)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(interesting_byte(), 0..3000),
        picks in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        for keys in [Keys::default(), nexxtlab_keys()] {
            let whole = decode(&bytes, keys.clone());
            assert_wire_format(&whole);
            prop_assert!(whole.iter().filter(|m| m.reading().is_some()).count() <= acceptable_spans(&bytes));
            let cuts = cut_points(bytes.len(), &picks);
            prop_assert_eq!(decode_chunked(&bytes, keys, &cuts), whole);
        }
    }

    #[test]
    fn mutated_telegrams_only_give_verified_readings(
        first in any::<Index>(),
        second in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
        picks in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let pool = plain_verified();
        let mut bytes = pool[first.index(pool.len())].bytes.clone();
        bytes.extend_from_slice(&pool[second.index(pool.len())].bytes);
        let bytes = mutate(bytes, &mutations);
        let whole = decode(&bytes, Keys::default());
        assert_wire_format(&whole);
        let readings = whole.iter().filter(|m| m.reading().is_some()).count();
        prop_assert!(readings <= acceptable_spans(&bytes), "{} readings from {:?}", readings, String::from_utf8_lossy(&bytes));
        let cuts = cut_points(bytes.len(), &picks);
        prop_assert_eq!(decode_chunked(&bytes, Keys::default(), &cuts), whole);
    }
}

/// `--ignore-crc`: the telegrams anonymised by hand (their CRC no longer matches) decode with a
/// `crc_mismatch` warning and every value flagged unverified; by default they stay errors.
#[test]
fn ignore_crc_decodes_anonymised_telegrams() {
    use meterlab_decoder::auto::{decoder_with, DecodeOptions};
    use meterlab_decoder::Protocol;
    let anonymised: Vec<_> = common::corpus()
        .iter()
        .filter(|v| v.crc_match() == Some(false) && v.bytes.first() == Some(&b'/'))
        .collect();
    assert!(
        anonymised.len() >= 2,
        "{} anonymised vectors",
        anonymised.len()
    );
    for v in anonymised {
        let strict = decode(&v.bytes, v.keys());
        assert!(
            kinds(&strict).contains(&"crc_mismatch"),
            "{}: {:?}",
            v.name,
            kinds(&strict)
        );
        assert!(strict.iter().all(|m| m.reading().is_none()), "{}", v.name);
        let options = DecodeOptions { ignore_crc: true };
        let loose = decoder_with(Protocol::Dsmr, v.keys(), options).decode_all(&v.bytes);
        let reading = loose
            .iter()
            .find_map(Message::reading)
            .unwrap_or_else(|| panic!("{}: a reading with --ignore-crc: {loose:?}", v.name));
        assert!(
            reading
                .warnings
                .iter()
                .any(|w| w.starts_with("crc_mismatch")),
            "{}: {:?}",
            v.name,
            reading.warnings
        );
        assert!(!reading.values.is_empty(), "{}", v.name);
        assert!(
            reading.values.iter().all(|value| value.unverified),
            "{}",
            v.name
        );
        let json = loose[0].to_json_line();
        assert!(json.contains("\"unverified\":true"), "{json}");
    }
    // A verified telegram carries no flag, and its JSON no `unverified` key.
    let good = decode(&vector("dsmr5_rs-kaifa").bytes, Keys::default());
    assert!(!good[0].to_json_line().contains("unverified"));
}
