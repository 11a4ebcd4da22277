//! The M-Bus stream decoder: both directions of a dialogue (requests and E5 as link messages),
//! resynchronisation after junk and collisions, the same messages whatever the chunking, and
//! no panic on any input — arbitrary bytes, and real frames of `tests/data/mbus/` (sources in
//! its README) with bytes flipped, inserted, deleted or cut off.

use meterlab_decoder::mbus::more_records_follow;
use meterlab_decoder::{Direction, MbusDecoder, Message, StreamDecoder};
use proptest::prelude::*;
use proptest::sample::Index;

mod common;
use common::{feed_chunked, kinds};

/// The corpus frames (valid and not), as bytes.
fn frames() -> &'static [Vec<u8>] {
    common::mbus_frames()
}

/// The frames that decode to one reading.
fn good_frames() -> Vec<&'static Vec<u8>> {
    frames()
        .iter()
        .filter(|f| matches!(decode(f).as_slice(), [Message::Reading(_)]))
        .collect()
}

fn decode(bytes: &[u8]) -> Vec<Message> {
    MbusDecoder::new().decode_all(bytes)
}

fn decode_chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Message> {
    feed_chunked(&mut MbusDecoder::new(), bytes, cuts)
}

fn select_frame(c: u8, id: [u8; 4]) -> Vec<u8> {
    let mut body = vec![c, 0xFD, 0x52];
    body.extend(id);
    body.extend([0xFF; 4]);
    let cs = body.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    let mut frame = vec![0x68, 0x0B, 0x0B, 0x68];
    frame.extend(body);
    frame.extend([cs, 0x16]);
    frame
}

#[test]
fn dialogue_requests_and_acks_are_link_messages() {
    let good = good_frames();
    assert!(good.len() >= 80, "{} good frames", good.len());
    let mut stream = Vec::new();
    // SND_NKE to 0xFD, E5, secondary select, E5, REQ_UD2, RSP_UD — twice.
    for f in good.iter().take(2) {
        stream.extend([0x10, 0x40, 0xFD, 0x3D, 0x16, 0xE5]);
        stream.extend(select_frame(0x53, [0x78, 0x56, 0x34, 0x12]));
        stream.extend([0xE5, 0x10, 0x7B, 0xFD, 0x78, 0x16]);
        stream.extend(f.iter());
    }
    let messages = decode(&stream);
    let links: Vec<(&str, Direction, Option<u8>, Option<u64>)> = messages
        .iter()
        .filter_map(Message::link_report)
        .map(|l| (l.kind.as_str(), l.direction, l.address, l.offset))
        .collect();
    let second = (6 + 17 + 6 + good[0].len()) as u64;
    let (to, from) = (Direction::ToMeter, Direction::FromMeter);
    assert_eq!(
        links[..5],
        [
            ("snd_nke", to, Some(0xFD), Some(0)),
            ("ack", from, None, Some(5)),
            ("select", to, Some(0xFD), Some(6)),
            ("ack", from, None, Some(23)),
            ("req_ud2", to, Some(0xFD), Some(24)),
        ]
    );
    assert_eq!(links[5].3, Some(second));
    assert_eq!(
        kinds(&messages),
        [
            ["link"; 5].as_slice(),
            &["reading"],
            &["link"; 5],
            &["reading"]
        ]
        .concat()
    );
    let select = messages[2].link_report().expect("select");
    assert_eq!(
        select.detail.as_deref(),
        Some("secondary address 12345678FFFFFFFF, FCB=0")
    );
    // A link message is neither a reading nor an error.
    assert!(messages[0].reading().is_none() && messages[0].error_report().is_none());
}

/// libmbus#61 and #199: a byte that is no E5 after a select or SND_NKE — several slaves
/// answering at once — is named a collision; the same byte elsewhere is plain junk.
#[test]
fn junk_where_an_answer_belongs_is_a_collision() {
    let mut stream = select_frame(0x73, [0xFF, 0xFF, 0xFF, 0x7F]);
    stream.push(0xFC);
    stream.extend([0x10, 0x40, 0x00, 0x40, 0x16, 0xA5, 0xA5]);
    let messages = decode(&stream);
    assert_eq!(
        kinds(&messages),
        ["link", "skipped_bytes", "link", "skipped_bytes"]
    );
    let e = messages[1].error_report().expect("collision");
    assert_eq!(e.offset, Some(17));
    assert!(e.message.contains("collision"), "{}", e.message);
    assert!(e.message.contains("request at offset 0"), "{}", e.message);
    let e = messages[3].error_report().expect("collision");
    assert!(e.message.starts_with("2 bytes"), "{}", e.message);
    assert!(e.message.contains("request at offset 18"), "{}", e.message);
    // Junk after a slave's answer, or at the start: no collision.
    let messages = decode(&[0xFC, 0xE5, 0xFC]);
    assert_eq!(kinds(&messages), ["skipped_bytes", "link", "skipped_bytes"]);
    for m in messages.iter().filter_map(Message::error_report) {
        assert!(!m.message.contains("collision"), "{}", m.message);
    }
}

/// Every CI the decoder does not read is an `unsupported_ci` error naming it; none is
/// "unknown".
#[test]
fn every_ci_is_recognised() {
    for ci in 0..=255u8 {
        for c in [0x08u8, 0x53] {
            let mut body = vec![c, 0x01, ci, 0x00];
            let cs = body.iter().fold(0u8, |s, &b| s.wrapping_add(b));
            let mut f = vec![0x68, 4, 4, 0x68];
            f.append(&mut body);
            f.extend([cs, 0x16]);
            let messages = decode(&f);
            assert_eq!(messages.len(), 1, "CI 0x{ci:02X}: {messages:?}");
            if let Some(e) = messages[0].error_report() {
                assert_ne!(e.kind, "unknown_ci");
                if e.kind == "unsupported_ci" {
                    assert!(
                        e.message.starts_with(&format!("CI 0x{ci:02X}: ")),
                        "{}",
                        e.message
                    );
                }
            }
        }
    }
    let m = decode(&[0x68, 4, 4, 0x68, 0x08, 0x01, 0x8C, 0x00, 0x95, 0x16]);
    let e = m[0].error_report().expect("error");
    assert_eq!(
        (e.kind.as_str(), e.message.as_str()),
        ("unsupported_ci", "CI 0x8C: extended link layer (wireless)")
    );
}

#[test]
fn resync_after_junk_and_collision() {
    let good = good_frames();
    let (a, b) = (good[0], good[1]);
    let mut stream = vec![0x00, 0xFE, 0xFD];
    stream.extend(a.iter());
    stream.extend([0x12, 0x34]);
    // A collision: the first half of a frame, then a whole one.
    stream.extend(&a[..a.len() / 2]);
    stream.extend(b.iter());
    let messages = decode(&stream);
    let k = kinds(&messages);
    assert_eq!(
        k.iter().filter(|&&k| k == "reading").count(),
        2,
        "{messages:?}"
    );
    assert_eq!(k[0], "skipped_bytes");
    assert_eq!(k.last(), Some(&"reading"));
    // Cut off at the end: truncated.
    let mut stream = a.clone();
    stream.extend(&b[..b.len() - 3]);
    assert_eq!(kinds(&decode(&stream)), vec!["reading", "truncated"]);
    // A wrong checksum.
    let mut bad = a.clone();
    let n = bad.len();
    bad[n - 2] ^= 0x01;
    bad.extend(b.iter());
    assert_eq!(kinds(&decode(&bad)), vec!["checksum", "reading"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
        let _ = more_records_follow(&bytes);
    }

    #[test]
    fn plausible_frames_never_panic(
        body in proptest::collection::vec(any::<u8>(), 4..255),
        ci in prop::sample::select(vec![0x70u8, 0x72, 0x76, 0x78, 0x7A]),
    ) {
        let mut b = body;
        b[0] = 0x08;
        b[2] = ci;
        let cs = b.iter().fold(0u8, |s, &x| s.wrapping_add(x));
        let mut f = vec![0x68, b.len() as u8, b.len() as u8, 0x68];
        f.extend(&b);
        f.extend([cs, 0x16]);
        let m = decode(&f);
        prop_assert_eq!(m.len(), 1);
        let _ = more_records_follow(&f);
    }

    #[test]
    fn mutated_corpus_frames_never_panic(
        pick in any::<Index>(),
        edits in proptest::collection::vec((0u8..4, any::<Index>(), any::<u8>()), 1..6),
    ) {
        let all = frames();
        let mut f = all[pick.index(all.len())].clone();
        for (op, at, byte) in edits {
            if f.is_empty() {
                break;
            }
            let i = at.index(f.len());
            match op {
                0 => f[i] ^= byte | 1,
                1 => f.insert(i, byte),
                2 => { f.remove(i); }
                _ => f.truncate(i),
            }
        }
        let _ = decode(&f);
        let _ = more_records_follow(&f);
    }

    #[test]
    fn chunking_does_not_matter(
        picks in proptest::collection::vec(any::<Index>(), 1..4),
        junk in proptest::collection::vec(any::<u8>(), 0..8),
        cuts in proptest::collection::vec(any::<Index>(), 0..8),
    ) {
        let all = frames();
        let mut stream = junk.clone();
        for p in &picks {
            stream.extend(all[p.index(all.len())].iter());
            stream.extend(&junk[..junk.len() / 2]);
        }
        let mut cut: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cut.sort_unstable();
        prop_assert_eq!(decode(&stream), decode_chunked(&stream, &cut));
        let bytewise: Vec<usize> = (1..stream.len()).collect();
        prop_assert_eq!(decode(&stream), decode_chunked(&stream, &bytewise));
    }
}
