//! The IEC 62056-21 decoder on streams: the same messages whatever the chunking, dialogue
//! messages and echoes passed over, junk reported once, cut-off and corrupted messages, a 7E1
//! meter read as 8N1, and no panic on any input. Messages come from the corpus copy in
//! `tests/data/iec62056-21/` (sources in each file).

use std::sync::OnceLock;

use meterlab_decoder::iec::bcc;
use meterlab_decoder::{IecDecoder, Message, Reading, StreamDecoder};
use proptest::prelude::*;
use proptest::sample::Index;

mod common;
use common::{assert_wire_format, cut_points, feed_chunked, kinds, mutate, seven_e1, Mutation};

/// The whole dialogue of the corpus vector `name` (every message's `hex`, in order).
fn dialogue(name: &str) -> Vec<u8> {
    common::iec_dialogues()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, bytes)| bytes.clone())
        .unwrap_or_else(|| panic!("vector {name} present"))
}

const ME162: &str = "iskra-me162-mode-c-data-readout";
const E350: &str = "landisgyr-e350-mode-c-readout-300bd";
const HAGER: &str = "hager-ehz-mode-d-push";
const Q3DA: &str = "easymeter-q3da-mode-d-negative-power";

/// Every vector, in an order that mixes readouts, pushes, programming dialogues and junk.
const ALL: &[&str] = &[
    ME162,
    "easymeter-q3d-mode-d-via-gateway",
    Q3DA,
    HAGER,
    "iskra-me162-mode-c-programming-read",
    "kamstrup-multical66-readout-bcc-mismatch",
    E350,
    "pwitab-programming-commands-bcc",
    "vzlogger-ace3000-dump-echo-and-garbage",
    "vzlogger-landisgyr-zmd120-abridged",
];

fn decode(bytes: &[u8]) -> Vec<Message> {
    IecDecoder::new().decode_all(bytes)
}

fn decode_chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Message> {
    feed_chunked(&mut IecDecoder::new(), bytes, cuts)
}

fn only_reading(messages: &[Message]) -> &Reading {
    assert_eq!(kinds(messages), vec!["reading"], "{messages:?}");
    messages[0].reading().expect("a reading")
}

fn readings(messages: &[Message]) -> usize {
    messages.iter().filter(|m| m.reading().is_some()).count()
}

/// The meter's part of the ME162 readout: identification and data message.
fn me162_meter_side() -> Vec<u8> {
    let bytes = dialogue(ME162);
    let id = bytes
        .windows(4)
        .position(|w| w == b"/ISK")
        .expect("identification");
    let ack = bytes.iter().position(|&b| b == 0x06).expect("ack");
    let stx = bytes.iter().position(|&b| b == bcc::STX).expect("stx");
    let end = stx
        + bytes[stx..]
            .iter()
            .position(|&b| b == bcc::ETX)
            .expect("etx")
        + 2;
    let mut side = bytes[id..ack].to_vec();
    side.extend_from_slice(&bytes[stx..end]);
    side
}

/// Everything the decoder meets: every vector, junk between some, a 7E1 stretch, a cut-off
/// readout and push, line noise.
fn mixed_stream() -> &'static [u8] {
    static STREAM: OnceLock<Vec<u8>> = OnceLock::new();
    STREAM.get_or_init(|| {
        let mut s = b"\x00\xff junk /ab (x)".to_vec();
        for (i, name) in ALL.iter().enumerate() {
            s.extend_from_slice(&dialogue(name));
            if i % 3 == 0 {
                s.extend_from_slice(b"\r\nnoise!\x03\x7f\r\n");
            }
        }
        s.extend_from_slice(&seven_e1(&dialogue(E350)));
        s.extend_from_slice(&dialogue(HAGER)[..120]);
        s.extend_from_slice(&dialogue(ME162));
        s.extend_from_slice(&me162_meter_side()[..80]);
        s.extend_from_slice(&dialogue(Q3DA));
        s.extend_from_slice(&[0x7f; 8]);
        s.extend_from_slice(&dialogue(E350));
        s
    })
}

#[test]
fn byte_by_byte_gives_the_same_messages() {
    let stream = mixed_stream();
    let whole = decode(stream);
    let cuts: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(decode_chunked(stream, &cuts), whole);
    let kinds = kinds(&whole);
    for kind in ["reading", "skipped_bytes", "truncated", "bcc_mismatch"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    // ME162, Q3D, Q3DA, Hager, E350, ZMD120 from the vectors, the ME162's two programming-mode
    // replies, then the ME162, Q3DA and E350 after the cut-off messages.
    assert_eq!(readings(&whole), 6 + 2 + 3, "{kinds:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunking_does_not_matter(picks in prop::collection::vec(any::<Index>(), 0..32)) {
        let stream = mixed_stream();
        static WHOLE: OnceLock<Vec<Message>> = OnceLock::new();
        let whole = WHOLE.get_or_init(|| decode(stream));
        let cuts = cut_points(stream.len(), &picks);
        prop_assert_eq!(&decode_chunked(stream, &cuts), whole);
    }
}

/// vzlogger#ACE3000 and the ME162 notes: an optical head echoes the request, some meters send
/// 0x7F before the identification. The echo and the rest of the dialogue are passed over; the
/// noise is reported as such; the reading is the same as without them.
#[test]
fn echo_and_noise_around_a_readout() {
    let plain = only_reading(&decode(&me162_meter_side())).clone();
    let mut stream = vec![0x7f; 4];
    stream.extend_from_slice(b"/?!\r\n");
    stream.extend_from_slice(&me162_meter_side());
    let messages = decode(&stream);
    assert_eq!(kinds(&messages), vec!["skipped_bytes", "reading"]);
    let noise = messages[0].error_report().expect("error");
    assert_eq!(noise.offset, Some(0));
    assert!(noise.message.contains("line noise"), "{noise:?}");
    assert_eq!(messages[1].reading(), Some(&plain));
    // The full dialogue (break, request, ACK 050, break from the reader) gives the same.
    assert_eq!(decode(&dialogue(ME162)), vec![Message::Reading(plain)]);
}

#[test]
fn junk_between_messages_is_reported_once_then_decoding_resumes() {
    let a = dialogue(E350);
    let b = dialogue(HAGER);
    let junk = b"\r\n\x00\x13garbage (here)\xff\r\n";
    let mut stream = a.clone();
    stream.extend_from_slice(junk);
    stream.extend_from_slice(&b);
    let messages = decode(&stream);
    assert_eq!(
        kinds(&messages),
        vec!["reading", "skipped_bytes", "reading"]
    );
    let skipped = messages[1].error_report().expect("error");
    assert_eq!(skipped.offset, Some(a.len() as u64 + 2));
    assert!(
        skipped.message.starts_with("skipped 17 bytes"),
        "{skipped:?}"
    );
    assert_eq!(messages[0].reading(), Some(only_reading(&decode(&a))));
    assert_eq!(messages[2].reading(), Some(only_reading(&decode(&b))));
}

/// The EasyMeter gateway appends "  25803103" and 33 x 0xFF to each push: reported, and the
/// next push decodes.
#[test]
fn gateway_junk_after_a_push() {
    let q3d = dialogue("easymeter-q3d-mode-d-via-gateway");
    let mut stream = q3d.clone();
    stream.extend_from_slice(&q3d);
    let messages = decode(&stream);
    assert_eq!(
        kinds(&messages),
        vec!["reading", "skipped_bytes", "reading", "skipped_bytes"]
    );
    let junk = messages[1].error_report().expect("error");
    assert!(junk.message.starts_with("skipped 43 bytes"), "{junk:?}");
    let end = q3d.windows(3).position(|w| w == b"!\r\n").expect("end") + 3;
    assert_eq!(junk.offset, Some(end as u64));
}

#[test]
fn a_cut_off_readout_or_push_then_a_full_one() {
    for (cut, full) in [
        (me162_meter_side()[..100].to_vec(), dialogue(ME162)),
        (me162_meter_side()[..100].to_vec(), me162_meter_side()),
        (dialogue(HAGER)[..150].to_vec(), dialogue(HAGER)),
        (dialogue(HAGER)[..150].to_vec(), me162_meter_side()),
        (me162_meter_side()[..100].to_vec(), dialogue(HAGER)),
    ] {
        let mut stream = cut.clone();
        stream.extend_from_slice(&full);
        let messages = decode(&stream);
        assert_eq!(kinds(&messages), vec!["truncated", "reading"]);
        let truncated = messages[0].error_report().expect("error");
        assert!(
            truncated.message.contains("a new message starts at offset"),
            "{truncated:?}"
        );
        assert_eq!(messages[1].reading(), Some(only_reading(&decode(&full))));
        assert_eq!(kinds(&decode(&cut)), vec!["truncated"]);
    }
}

/// Flipped BCC: `bcc_mismatch`, and nothing read from that block; the next readout decodes.
#[test]
fn a_flipped_bcc_gives_bcc_mismatch_and_no_reading() {
    for name in [ME162, E350] {
        let bytes = dialogue(name);
        let stx = bytes.iter().position(|&b| b == bcc::STX).expect("stx");
        let at = stx
            + bytes[stx..]
                .iter()
                .position(|&b| b == bcc::ETX)
                .expect("etx")
            + 1;
        for bit in 0..7 {
            let mut bad = bytes.clone();
            bad[at] ^= 1 << bit;
            bad.extend_from_slice(&bytes);
            let messages = decode(&bad);
            assert_eq!(
                kinds(&messages),
                vec!["bcc_mismatch", "reading"],
                "{name} bit {bit}"
            );
            let report = messages[0].error_report().expect("error");
            assert_eq!(report.offset, Some(stx as u64));
        }
    }
}

/// Flip any single bit of a readout (with its identification): never a reading with other data
/// than the original, and the readout after it always decodes.
#[test]
fn a_single_bit_error_never_gives_wrong_data() {
    for bytes in [me162_meter_side(), dialogue(E350)] {
        let original = only_reading(&decode(&bytes)).clone();
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut stream = bytes.clone();
                stream[at] ^= 1 << bit;
                let messages = decode(&stream);
                for reading in messages.iter().filter_map(Message::reading) {
                    assert!(
                        reading.same_data(&original),
                        "bit {bit} of byte {at} gives {reading:?}"
                    );
                }
                assert!(
                    !messages.is_empty(),
                    "bit {bit} of byte {at}: nothing reported"
                );
                stream.extend_from_slice(&bytes);
                let messages = decode(&stream);
                let last = messages.last().and_then(Message::reading);
                assert!(
                    last.is_some_and(|r| r.same_data(&original)),
                    "bit {bit} of byte {at}: {messages:?}"
                );
            }
        }
    }
}

#[test]
fn a_7e1_meter_read_as_8n1_is_one_explained_skip() {
    for name in [ME162, E350, HAGER, Q3DA] {
        let messages = decode(&seven_e1(&dialogue(name)));
        assert_eq!(kinds(&messages), vec!["skipped_bytes"], "{name}");
        let message = &messages[0].error_report().expect("error").message;
        assert!(
            message.contains("7E1") && message.contains("8N1"),
            "{name}: {message}"
        );
    }
}

/// Bytes weighted towards what the decoder reacts to, so random input reaches every state.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => any::<u8>(),
        3 => prop::sample::select(b"/!?\r\n()*.:-&0123456789CFLP".to_vec()),
        1 => prop::sample::select(b"ABCEFKLMSZabc ".to_vec()),
        2 => prop::sample::select(vec![0x01, 0x02, 0x03, 0x04, 0x06, 0x15, 0x7f]),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    common::mutation(interesting_byte)
}

/// An oracle independent of the decoder: every reading ends at a `!`, so there are at most as
/// many readings as `!` bytes.
fn bangs(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'!').count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(interesting_byte(), 0..3000),
        picks in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let whole = decode(&bytes);
        assert_wire_format(&whole);
        prop_assert!(readings(&whole) <= bangs(&bytes));
        let cuts = cut_points(bytes.len(), &picks);
        prop_assert_eq!(decode_chunked(&bytes, &cuts), whole);
    }

    #[test]
    fn mutated_dialogues_never_panic(
        first in any::<Index>(),
        second in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
        picks in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut bytes = dialogue(ALL[first.index(ALL.len())]);
        bytes.extend_from_slice(&dialogue(ALL[second.index(ALL.len())]));
        let bytes = mutate(bytes, &mutations);
        let whole = decode(&bytes);
        assert_wire_format(&whole);
        // A reading ends in a `!` (readout, push) or is a programming reply (STX … ETX).
        let replies = bytes.iter().filter(|&&b| b == 0x02).count();
        prop_assert!(readings(&whole) <= bangs(&bytes) + replies);
        let cuts = cut_points(bytes.len(), &picks);
        prop_assert_eq!(decode_chunked(&bytes, &cuts), whole);
    }

    /// A readout whose BCC verifies after mutation decodes to the same data as the original,
    /// unless the mutation hit the data and happened to keep the XOR (two flips of one bit).
    /// A mutation the BCC cannot see (an inserted NUL) that breaks a line leaves that line out,
    /// reported as `malformed`: the other values are still the original's.
    #[test]
    fn one_mutation_of_a_readout_never_gives_wrong_data(mutation in mutation()) {
        for bytes in [me162_meter_side(), dialogue(E350)] {
            let original = only_reading(&decode(&bytes)).clone();
            let mutated = mutate(bytes.clone(), std::slice::from_ref(&mutation));
            let messages = decode(&mutated);
            let line_errors = messages
                .iter()
                .filter_map(Message::error_report)
                .filter(|e| e.kind == "malformed")
                .count();
            for reading in messages.iter().filter_map(Message::reading) {
                if reading.same_data(&original) {
                    continue;
                }
                // (The meter id may then come from the identification instead.)
                prop_assert!(line_errors > 0, "{:?} gives {:?}", mutation, reading);
                for value in &reading.values {
                    prop_assert!(
                        original.values.contains(value),
                        "{:?} gives {:?}",
                        mutation,
                        value
                    );
                }
            }
        }
    }
}
