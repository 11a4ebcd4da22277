//! Throughput of the reference DLMS/COSEM push decoder (`cargo bench -p meterlab-decoder --bench
//! dlms_decode`) over the real pushes of `tests/data/dlms/`: every push with its own keys
//! (AES-128-GCM or CTR decryption, M-Bus and HDLC framing, GBT reassembly included); the plain
//! pushes as one stream, whole and in 64-byte pieces as a serial port delivers them; and the
//! single largest encrypted push (Kamstrup, SC 0x30, 491 bytes).

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use meterlab_decoder::{DlmsDecoder, Keys, Message, StreamDecoder};

fn main() {
    divan::main();
}

#[path = "../tests/common/mod.rs"]
mod common;

fn readings(messages: &[Message]) -> usize {
    messages.iter().filter(|m| m.reading().is_some()).count()
}

/// Every push of the corpus, decoded with its own keys.
#[divan::bench]
fn every_push_with_its_keys(bencher: Bencher) {
    let pushes: Vec<(&[u8], Keys)> = common::dlms_corpus()
        .iter()
        .map(|v| (v.bytes.as_slice(), v.keys()))
        .collect();
    let total: usize = pushes.iter().map(|(b, _)| b.len()).sum();
    let decoded: usize = pushes
        .iter()
        .map(|(b, k)| readings(&DlmsDecoder::new(k.clone()).decode_all(b)))
        .sum();
    assert_eq!(decoded, pushes.len());
    bencher.counter(BytesCount::new(total)).bench(|| {
        pushes
            .iter()
            .map(|(b, k)| DlmsDecoder::new(k.clone()).decode_all(black_box(b)).len())
            .sum::<usize>()
    });
}

/// The unencrypted pushes, back to back.
fn plain_stream() -> Vec<u8> {
    common::dlms_corpus()
        .iter()
        .filter(|v| v.doc["key_hex"].is_null())
        .flat_map(|v| v.bytes.iter().copied())
        .collect()
}

#[divan::bench]
fn plain_stream_whole(bencher: Bencher) {
    let stream = plain_stream();
    assert_eq!(readings(&DlmsDecoder::default().decode_all(&stream)), 7);
    bencher
        .counter(BytesCount::of_slice(&stream))
        .bench(|| DlmsDecoder::default().decode_all(black_box(&stream)));
}

#[divan::bench]
fn plain_stream_64_byte_reads(bencher: Bencher) {
    let stream = plain_stream();
    bencher
        .counter(BytesCount::of_slice(&stream))
        .bench(|| common::feed_in_pieces(&mut DlmsDecoder::default(), black_box(&stream), 64));
}

#[divan::bench]
fn kamstrup_gcm_decrypt_and_decode(bencher: Bencher) {
    let vector = common::dlms_vector("kamstrup_omnipower_hdlc_encrypted_auth");
    let keys = vector.keys();
    assert_eq!(
        readings(&DlmsDecoder::new(keys.clone()).decode_all(&vector.bytes)),
        1
    );
    bencher
        .counter(BytesCount::of_slice(&vector.bytes))
        .bench(|| DlmsDecoder::new(keys.clone()).decode_all(black_box(&vector.bytes)));
}
