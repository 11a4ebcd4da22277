//! The DLMS decoder on streams: the same messages whatever the chunking, resynchronisation after
//! junk, missing segments and blocks, replayed invocation counters, several APDUs in one frame,
//! and no panic on any input — arbitrary bytes, and real pushes with bytes flipped, inserted,
//! deleted or cut off. Pushes come from the corpus copy in `tests/data/dlms/` (sources in each
//! file).

use std::sync::OnceLock;

use meterlab_decoder::auto::{decoder_for, detect};
use meterlab_decoder::{DlmsDecoder, Keys, Message, Protocol, Reading, StreamDecoder};
use proptest::prelude::*;
use proptest::sample::Index;

mod common;
use common::{cut_points, dlms_corpus, dlms_vector, feed_chunked, kinds, Vector};

const X25: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC);

fn decode(bytes: &[u8], keys: Keys) -> Vec<Message> {
    DlmsDecoder::new(keys).decode_all(bytes)
}

fn decode_chunked(bytes: &[u8], keys: Keys, cuts: &[usize]) -> Vec<Message> {
    feed_chunked(&mut DlmsDecoder::new(keys), bytes, cuts)
}

fn readings(messages: &[Message]) -> Vec<&Reading> {
    messages.iter().filter_map(Message::reading).collect()
}

/// The security control byte as the research noted it (`SC=0x30`).
fn security_control(vector: &Vector) -> Option<u8> {
    let notes = vector.str(&["notes"])?;
    u8::from_str_radix(notes.split_once(" SC=0x")?.1.get(..2)?, 16).ok()
}

/// The one reading of a vector decoded with its keys.
fn reading_of(vector: &Vector) -> Reading {
    let messages = decode(&vector.bytes, vector.keys());
    assert_eq!(kinds(&messages), vec!["reading"], "{}", vector.name);
    messages[0].reading().cloned().expect("a reading")
}

/// Every vector with junk around and between, decoded without keys (encrypted pushes give
/// `missing_key`), so that one stream holds all framings.
fn mixed_stream() -> &'static [u8] {
    static STREAM: OnceLock<Vec<u8>> = OnceLock::new();
    STREAM.get_or_init(|| {
        let mut s = b"\x00\x7e\xa0 junk \x68\x05\x05\x68".to_vec();
        for (i, v) in dlms_corpus().iter().enumerate() {
            s.extend_from_slice(&v.bytes);
            if i % 3 == 0 {
                s.extend_from_slice(b"\x0f\x00noise\xdb\x07\x7e");
            }
        }
        let evn = &dlms_vector("evn_netznoe_kaifa_ma309_doc_example").bytes;
        s.extend_from_slice(&evn[..282 - 26]);
        s.extend_from_slice(&dlms_vector("iskra_hdlc_segmented_3frames_plain").bytes);
        s.extend_from_slice(&evn[..100]);
        s
    })
}

#[test]
fn byte_by_byte_gives_the_same_messages() {
    for vector in dlms_corpus() {
        let whole = decode(&vector.bytes, vector.keys());
        let cuts: Vec<usize> = (1..vector.bytes.len()).collect();
        assert_eq!(
            decode_chunked(&vector.bytes, vector.keys(), &cuts),
            whole,
            "{}",
            vector.name
        );
    }
    let whole = decode(mixed_stream(), Keys::default());
    let cuts: Vec<usize> = (1..mixed_stream().len()).collect();
    assert_eq!(
        decode_chunked(mixed_stream(), Keys::default(), &cuts),
        whole
    );
}

#[test]
fn mixed_stream_resynchronises() {
    let messages = decode(mixed_stream(), Keys::default());
    let plain = dlms_corpus()
        .iter()
        .filter(|v| v.doc["key_hex"].is_null())
        .count();
    // Every plain push is read (the Iskra push twice), every encrypted one says missing_key.
    assert_eq!(
        readings(&messages).len(),
        plain + 1,
        "{:?}",
        kinds(&messages)
    );
    let missing = kinds(&messages)
        .iter()
        .filter(|k| **k == "missing_key")
        .count();
    assert_eq!(missing, 17, "{:?}", kinds(&messages));
    // The EVN push without its second frame, then a complete HDLC push, then a cut-off frame.
    let tail: Vec<_> = kinds(&messages).into_iter().rev().take(3).collect();
    assert_eq!(tail, vec!["truncated", "reading", "incomplete"]);
    for m in &messages {
        if let Some(e) = m.error_report() {
            assert!(
                e.offset.is_some_and(|o| o < mixed_stream().len() as u64),
                "{e:?}"
            );
        }
    }
}

/// The same push twice: the second repeats the invocation counter.
#[test]
fn replayed_invocation_counter() {
    let vector = dlms_vector("wienernetze_am550_b_ir");
    let mut stream = vector.bytes.clone();
    stream.extend_from_slice(&vector.bytes);
    let messages = decode(&stream, vector.keys());
    assert_eq!(
        kinds(&messages),
        vec!["reading", "invocation_counter", "reading"]
    );
    let error = messages[1].error_report().expect("error");
    assert_eq!(error.offset, Some(vector.bytes.len() as u64));
    assert!(error.message.contains("1104354"), "{error:?}");
    // Two different meters do not disturb each other.
    let other = dlms_vector("wienernetze_am550_a_ir");
    let mut stream = vector.bytes.clone();
    stream.extend_from_slice(&other.bytes);
    let keys_b = vector.keys();
    let messages = decode(&stream, keys_b);
    assert_eq!(kinds(&messages), vec!["reading", "wrong_key"]);
}

/// A changed byte in the M-Bus header (or the stop byte) of the Sagemcom T210-D EVN push: the
/// APDU inside the broken frame is not taken as a bare APDU (SC 0x20 has no tag of its own), so
/// no reading comes out, and `damaged_frame` says why (issue #11).
#[test]
fn apdu_inside_a_broken_mbus_frame() {
    let vector = dlms_vector("evn_netznoe_sagemcom_t210d_real");
    let stop = vector
        .bytes
        .iter()
        .rposition(|&b| b == 0x16)
        .expect("a stop byte");
    for at in [0, 1, 2, 3, stop] {
        for bit in 0..8 {
            let mut bytes = vector.bytes.clone();
            bytes[at] ^= 1 << bit;
            let messages = decode(&bytes, vector.keys());
            assert!(
                readings(&messages).is_empty(),
                "byte {at} bit {bit}: {:?}",
                kinds(&messages)
            );
            if at < 4 {
                assert!(
                    kinds(&messages).contains(&"damaged_frame"),
                    "byte {at} bit {bit}: {:?}",
                    kinds(&messages)
                );
            }
        }
    }
    // Unchanged, it is a reading.
    assert_eq!(readings(&decode(&vector.bytes, vector.keys())).len(), 1);
}

/// Iskra's three HDLC segments and the L+G E450's three GBT blocks, each with its middle
/// frame removed: `incomplete`, and the next push is read.
#[test]
fn missing_middle_frame() {
    for name in [
        "iskra_hdlc_segmented_3frames_plain",
        "lg_e450_hdlc_gbt_encrypted_1",
    ] {
        let vector = dlms_vector(name);
        let b = &vector.bytes;
        let first = ((usize::from(b[1] & 7) << 8) | usize::from(b[2])) + 2;
        let second = ((usize::from(b[first + 1] & 7) << 8) | usize::from(b[first + 2])) + 2;
        let mut stream = b[..first].to_vec();
        stream.extend_from_slice(&b[first + second..]);
        stream.extend_from_slice(b);
        let messages = decode(&stream, vector.keys());
        assert_eq!(kinds(&messages), vec!["incomplete", "reading"], "{name}");
        assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(0));
        // The FCS of the middle frame broken: one message for the push, then the next push.
        let mut stream = b.clone();
        stream[first + second - 3] ^= 0x01;
        stream.extend_from_slice(b);
        let messages = decode(&stream, vector.keys());
        assert_eq!(kinds(&messages), vec!["fcs_mismatch", "reading"], "{name}");
        assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(0));
    }
}

/// An HDLC UI frame around `info`, HCS and FCS computed here.
fn hdlc_frame(info: &[u8]) -> Vec<u8> {
    let len = 2 + 1 + 2 + 1 + 2 + info.len() + 2;
    let mut f = vec![
        0x7E,
        0xA0 | (len >> 8) as u8,
        len as u8,
        0x41,
        0x08,
        0x83,
        0x13,
    ];
    let hcs = X25.checksum(&f[1..]).to_le_bytes();
    f.extend_from_slice(&hcs);
    f.extend_from_slice(info);
    let fcs = X25.checksum(&f[1..]).to_le_bytes();
    f.extend_from_slice(&fcs);
    f.push(0x7E);
    f
}

/// Two `E6 E7 00 0F …` APDUs in one frame (scs/smartmeter-datacollector#74) give two readings;
/// bytes after the APDU that are no APDU give `length` after the reading.
#[test]
fn several_apdus_in_one_frame() {
    let aidon = &dlms_vector("aidon_norway_1phase_hdlc_plain").bytes;
    let apdu = &aidon[9..aidon.len() - 3];
    assert_eq!(apdu[..4], [0xE6, 0xE7, 0x00, 0x0F]);
    let mut info = apdu.to_vec();
    info.extend_from_slice(apdu);
    let messages = decode(&hdlc_frame(&info), Keys::default());
    assert_eq!(kinds(&messages), vec!["reading", "reading"]);
    let mut info = apdu.to_vec();
    info.extend_from_slice(&[0x12, 0x34]);
    let messages = decode(&hdlc_frame(&info), Keys::default());
    assert_eq!(kinds(&messages), vec!["reading", "length"]);
}

/// A frame of a non-DLMS M-Bus slave and an HDLC frame without information are reported as
/// `unsupported`; a wired M-Bus frame does not end an M-Bus push in the middle silently.
#[test]
fn frames_that_are_no_push() {
    // RSP_UD with CI 0x72 (EN 13757-3 variable data), checksum right.
    let mut wired = vec![0x68, 0x05, 0x05, 0x68, 0x08, 0x01, 0x72, 0x00, 0x00];
    let cs = wired[4..].iter().fold(0u8, |a, &b| a.wrapping_add(b));
    wired.extend_from_slice(&[cs, 0x16]);
    assert_eq!(kinds(&decode(&wired, Keys::default())), vec!["unsupported"]);
    // RR frame without information: 7E A0 07 03 21 51 FCS 7E.
    let mut rr = vec![0x7E, 0xA0, 0x07, 0x03, 0x21, 0x51];
    let fcs = X25.checksum(&rr[1..]).to_le_bytes();
    rr.extend_from_slice(&fcs);
    rr.push(0x7E);
    assert_eq!(kinds(&decode(&rr, Keys::default())), vec!["unsupported"]);
}

/// `auto::detect` finds DLMS in every corpus push, and its decoder reads it.
#[test]
fn auto_detect_and_decoder_for() {
    for vector in dlms_corpus() {
        let keys = vector.keys();
        assert_eq!(
            detect(&vector.bytes, &keys),
            Some(Protocol::Dlms),
            "{}",
            vector.name
        );
        let mut decoder = decoder_for(Protocol::Dlms, keys);
        let messages = decoder.decode_all(&vector.bytes);
        assert_eq!(kinds(&messages), vec!["reading"], "{}", vector.name);
    }
    // Without a key: every vector is still DLMS except none (no Smarty-shaped bare APDU here).
    for vector in dlms_corpus() {
        assert_eq!(
            detect(&vector.bytes, &Keys::default()),
            Some(Protocol::Dlms),
            "{}",
            vector.name
        );
    }
}

/// The APDU of an M-Bus-framed push: each frame's data after C, A, CI, STSAP, DTSAP.
fn mbus_apdu(bytes: &[u8]) -> Vec<u8> {
    let mut apdu = Vec::new();
    let mut at = 0;
    while at + 6 <= bytes.len() {
        let l = usize::from(bytes[at + 1]);
        let end = at + l + 6;
        apdu.extend_from_slice(&bytes[at + 9..end - 2]);
        at = end;
    }
    apdu
}

/// Without a tag, a corrupted ciphertext byte still deciphers: flipping one bit flips the same
/// plaintext bit. Flipping every bit of every ciphertext byte, one at a time, counts how many
/// corruptions still give a reading (necessarily with a changed value or date: nothing can
/// tell) and checks that all others are `wrong_key`.
#[test]
fn sc20_single_byte_corruption_figure() {
    let evn = dlms_vector("evn_netznoe_kaifa_ma309_doc_example");
    let tinetz = dlms_vector("tinetz_kaifa_ma309_3phase_raw_apdu");
    let mut report = Vec::new();
    for (vector, apdu) in [(evn, mbus_apdu(&evn.bytes)), (tinetz, tinetz.bytes.clone())] {
        let original = reading_of(vector);
        assert_eq!(kinds(&decode(&apdu, vector.keys())), vec!["reading"]);
        // DB 08 title(8) length(2 or 3) SC IC(4), then the ciphertext.
        let header = 2 + 8 + if apdu[10] == 0x82 { 3 } else { 2 } + 5;
        let (mut flips, mut read, mut same, mut wrong_key) = (0, 0, 0, 0);
        for i in header..apdu.len() {
            for bit in 0..8 {
                let mut bytes = apdu.clone();
                bytes[i] ^= 1 << bit;
                flips += 1;
                let messages = decode(&bytes, vector.keys());
                match kinds(&messages).as_slice() {
                    ["reading"] => {
                        read += 1;
                        let r = messages[0].reading().expect("reading");
                        if r.same_data(&original) {
                            same += 1;
                        }
                    }
                    ["wrong_key"] => wrong_key += 1,
                    other => panic!("{} byte {i} bit {bit}: {other:?}", vector.name),
                }
            }
        }
        report.push(format!(
            "{}: {flips} single-bit flips in {} ciphertext bytes: {read} readings ({:.1} %), {wrong_key} wrong_key; {same} readings equal to the original",
            vector.name,
            apdu.len() - header,
            100.0 * f64::from(read) / f64::from(flips)
        ));
        assert!(
            read > 0,
            "value bytes can change without breaking the structure"
        );
        assert_eq!(read + wrong_key, flips);
    }
    println!("{}", report.join("\n"));
}

/// Hostile lengths and nesting: no allocation beyond the input, no deep recursion, and a long
/// unframed push fed one byte at a time still decodes (its parse waits for the bytes it needs).
#[test]
fn hostile_lengths_stay_bounded() {
    // An array that declares 65535 elements: more than a push may hold, rejected at once.
    let bomb = [0x0F, 0, 0, 0, 1, 0x00, 0x01, 0x82, 0xFF, 0xFF, 0x11, 0x00];
    assert_eq!(
        kinds(&decode(&bomb, Keys::default())),
        vec!["length", "skipped_bytes"]
    );
    // One that fits the limit, then the stream ends.
    let cut = [0x0F, 0, 0, 0, 1, 0x00, 0x01, 0x82, 0x0F, 0xFF, 0x11, 0x00];
    assert_eq!(kinds(&decode(&cut, Keys::default())), vec!["truncated"]);
    // Structures nested 1000 deep.
    let mut deep = vec![0x0F, 0, 0, 0, 1, 0x00];
    for _ in 0..1000 {
        deep.extend_from_slice(&[0x02, 0x01]);
    }
    deep.push(0x00);
    let messages = decode(&deep, Keys::default());
    assert_eq!(kinds(&messages)[0], "malformed", "{messages:?}");
    // A ciphered APDU header that announces 16 KiB, then the stream ends.
    let glo = [
        0xDB, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x82, 0x40, 0x00, 0x20, 0, 0, 0, 1,
    ];
    assert_eq!(kinds(&decode(&glo, Keys::default())), vec!["truncated"]);
    // 5000 u8 elements without framing, byte by byte.
    let mut long = vec![0x0F, 0, 0, 0, 1, 0x00, 0x01, 0x82, 0x13, 0x88];
    for i in 0..5000u32 {
        long.extend_from_slice(&[0x11, (i % 256) as u8]);
    }
    let cuts: Vec<usize> = (1..long.len()).collect();
    let messages = decode_chunked(&long, Keys::default(), &cuts);
    assert_eq!(kinds(&messages), vec!["reading"]);
    assert_eq!(readings(&messages)[0].values.len(), 5000);
}

fn encrypted_auth_vectors() -> Vec<&'static Vector> {
    dlms_corpus()
        .iter()
        .filter(|v| security_control(v).is_some_and(|sc| sc & 0x10 != 0))
        .collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: Index, mask: u8 },
    Insert { at: Index, byte: u8 },
    Delete { at: Index },
    Truncate { at: Index },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<Index>().prop_map(|at| Mutation::Delete { at }),
        any::<Index>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in mutations {
        if b.is_empty() {
            break;
        }
        match m {
            Mutation::Flip { at, mask } => {
                let i = at.index(b.len());
                b[i] ^= mask;
            }
            Mutation::Insert { at, byte } => {
                let i = at.index(b.len());
                b.insert(i, *byte);
            }
            Mutation::Delete { at } => {
                let i = at.index(b.len());
                b.remove(i);
            }
            Mutation::Truncate { at } => {
                let i = at.index(b.len());
                b.truncate(i);
            }
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes: only messages, no panic, and the same messages in any chunking.
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1500), picks in proptest::collection::vec(any::<Index>(), 0..8)) {
        let whole = decode(&bytes, Keys::default());
        let cuts = cut_points(bytes.len(), &picks);
        prop_assert_eq!(decode_chunked(&bytes, Keys::default(), &cuts), whole);
    }

    /// Arbitrary bytes made of pieces of real pushes (start bytes, headers, frames cut
    /// anywhere), decoded with a key: no panic.
    #[test]
    fn pieces_of_pushes(pieces in proptest::collection::vec((any::<Index>(), any::<Index>(), any::<Index>()), 1..12)) {
        let corpus = dlms_corpus();
        let mut bytes = Vec::new();
        for (v, a, b) in &pieces {
            let vector = &corpus[v.index(corpus.len())];
            let (a, b) = (a.index(vector.bytes.len()), b.index(vector.bytes.len()));
            bytes.extend_from_slice(&vector.bytes[a.min(b)..a.max(b)]);
        }
        let keys = dlms_vector("lg_e450_hdlc_gbt_encrypted_1").keys();
        let messages = decode(&bytes, keys.clone());
        prop_assert_eq!(decode_chunked(&bytes, keys, &[bytes.len() / 3, bytes.len() / 2]), messages);
    }

    /// Random split points give the same messages on the mixed stream.
    #[test]
    fn chunking_independence(picks in proptest::collection::vec(any::<Index>(), 1..40)) {
        let stream = mixed_stream();
        let whole = decode(stream, Keys::default());
        let cuts = cut_points(stream.len(), &picks);
        prop_assert_eq!(decode_chunked(stream, Keys::default(), &cuts), whole);
    }

    /// Every corpus push, mutated: only messages, no panic, chunking does not matter. For the
    /// authenticated (SC 0x30) pushes, no reading other than the original can come out.
    #[test]
    fn mutated_pushes(which in any::<Index>(), mutations in proptest::collection::vec(mutation(), 1..4), picks in proptest::collection::vec(any::<Index>(), 0..6)) {
        let corpus = dlms_corpus();
        let vector = &corpus[which.index(corpus.len())];
        let bytes = mutate(&vector.bytes, &mutations);
        let messages = decode(&bytes, vector.keys());
        let cuts = cut_points(bytes.len(), &picks);
        prop_assert_eq!(&decode_chunked(&bytes, vector.keys(), &cuts), &messages);
        if security_control(vector).is_some_and(|sc| sc & 0x10 != 0) {
            let original = reading_of(vector);
            for r in readings(&messages) {
                prop_assert!(r.same_data(&original), "{}: corrupted reading {:?}", vector.name, r);
            }
        }
    }
}

/// The authenticated pushes, each byte flipped in turn: never a reading that differs from the
/// original (the tag, HCS/FCS or framing catches every change).
#[test]
fn sc30_every_byte_flipped() {
    let vectors = encrypted_auth_vectors();
    assert_eq!(vectors.len(), 4);
    for vector in vectors {
        let original = reading_of(vector);
        for i in 0..vector.bytes.len() {
            let mut bytes = vector.bytes.clone();
            bytes[i] ^= 0x20;
            for r in readings(&decode(&bytes, vector.keys())) {
                assert!(r.same_data(&original), "{} byte {i}: {r:?}", vector.name);
            }
        }
    }
}
