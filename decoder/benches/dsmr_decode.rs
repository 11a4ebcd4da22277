//! Throughput of the reference DSMR decoder (`cargo bench -p meterlab-decoder --bench
//! dsmr_decode`): every plain, CRC-verified corpus telegram of `tests/data/dsmr/` as one stream,
//! fed whole and in 64-byte pieces as a serial port delivers them; and one real Luxembourg
//! Smarty frame, AES-128-GCM decryption included.

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use meterlab_decoder::{DsmrDecoder, Keys, Message, StreamDecoder};

fn main() {
    divan::main();
}

#[path = "../tests/common/mod.rs"]
mod common;

/// Every plain telegram whose CRC verifies, back to back.
fn telegram_stream() -> Vec<u8> {
    common::corpus()
        .iter()
        .filter(|v| !v.encrypted() && v.crc_match() == Some(true))
        .flat_map(|v| v.bytes.iter().copied())
        .collect()
}

fn readings(messages: &[Message]) -> usize {
    messages.iter().filter(|m| m.reading().is_some()).count()
}

#[divan::bench]
fn corpus_whole(bencher: Bencher) {
    let stream = telegram_stream();
    assert!(readings(&DsmrDecoder::default().decode_all(&stream)) > 25);
    bencher
        .counter(BytesCount::of_slice(&stream))
        .bench(|| DsmrDecoder::default().decode_all(black_box(&stream)));
}

#[divan::bench]
fn corpus_64_byte_reads(bencher: Bencher) {
    let stream = telegram_stream();
    bencher
        .counter(BytesCount::of_slice(&stream))
        .bench(|| common::feed_in_pieces(&mut DsmrDecoder::default(), black_box(&stream), 64));
}

#[divan::bench]
fn smarty_decrypt_and_decode(bencher: Bencher) {
    let vector = common::vector("smarty-real-encrypted-nexxtlab");
    let frame = &vector.bytes;
    let keys = Keys {
        encryption: Some(
            vector
                .str(&["key_hex"])
                .expect("key")
                .parse()
                .expect("valid key"),
        ),
        authentication: None,
    };
    assert_eq!(
        readings(&DsmrDecoder::new(keys.clone()).decode_all(frame)),
        1
    );
    bencher
        .counter(BytesCount::of_slice(frame))
        .bench(|| DsmrDecoder::new(keys.clone()).decode_all(black_box(frame)));
}
