//! The invariants the fuzz targets check, shared by every target (`fuzz_targets/*.rs`).
//!
//! - **No panic** on any input: libFuzzer reports one as a crash.
//! - **Chunking does not matter** ([`meterlab_decoder::StreamDecoder`]'s contract): the input
//!   fed in two pieces, cut at a position chosen by the input itself, and (for short inputs) one
//!   byte at a time, gives exactly the messages of one piece.
//! - **Errors point into the input**: an error's `offset` is inside the stream it came from.
//!
//! The decoders do not report which bytes each message consumed, so "every byte accounted for"
//! cannot be checked here beyond the offsets; an M-Bus `E5` or an IEC 62056-21 programming
//! dialogue rightly gives no message at all.
//!
//! Keyed targets take their keys from the input ([`split_keys`]), so the fuzzer can reach the
//! decrypted content of the seeds (published test keys of the corpus, `fuzz/seeds/README.md`).

use meterlab_decoder::{Key, Keys, Message, StreamDecoder};

/// Inputs up to this long are also fed one byte at a time.
const BYTEWISE_MAX: usize = 512;

/// Where to cut `data` in two: a position chosen by its last byte.
pub fn cut(data: &[u8]) -> usize {
    match data.last() {
        Some(&b) => usize::from(b) * data.len() / 256,
        None => 0,
    }
}

/// Feeds `pieces` in order, then finishes.
fn feed_pieces(decoder: &mut dyn StreamDecoder, pieces: &[&[u8]]) -> Vec<Message> {
    let mut out = Vec::new();
    for piece in pieces {
        decoder.feed(piece, &mut out);
    }
    decoder.finish(&mut out);
    out
}

/// Checks every invariant of a stream decoder on `data`; `make` gives a fresh decoder.
pub fn check_stream(data: &[u8], make: &dyn Fn() -> Box<dyn StreamDecoder>) -> Vec<Message> {
    let whole = make().decode_all(data);
    let (a, b) = data.split_at(cut(data));
    let two = feed_pieces(&mut *make(), &[a, b]);
    assert_eq!(
        whole,
        two,
        "two pieces cut at {} give other messages",
        a.len()
    );
    if data.len() <= BYTEWISE_MAX {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        let bytewise = feed_pieces(&mut *make(), &bytes);
        assert_eq!(whole, bytewise, "one byte at a time gives other messages");
    }
    for m in &whole {
        if let Some(offset) = m.error_report().and_then(|e| e.offset) {
            assert!(
                offset <= data.len() as u64,
                "error offset {offset} outside the {}-byte input",
                data.len()
            );
        }
    }
    whole
}

/// Splits a keyed target's input: 16 bytes of encryption key, a flag byte (odd: an
/// authentication key of 16 bytes follows), then the stream. `None` when the input is too
/// short for its keys.
pub fn split_keys(data: &[u8]) -> Option<(Keys, &[u8])> {
    let (enc, rest) = data.split_first_chunk::<16>()?;
    let (flag, rest) = rest.split_first()?;
    let (auth, rest) = if flag & 1 == 1 {
        let (auth, rest) = rest.split_first_chunk::<16>()?;
        (Some(key(auth)), rest)
    } else {
        (None, rest)
    };
    Some((
        Keys {
            encryption: Some(key(enc)),
            authentication: auth,
        },
        rest,
    ))
}

fn key(bytes: &[u8; 16]) -> Key {
    Key::new(*bytes)
}
