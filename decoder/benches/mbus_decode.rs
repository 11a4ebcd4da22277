//! Throughput of the reference wired M-Bus decoder (`cargo bench -p meterlab-decoder --bench
//! mbus_decode`) over the wired corpus frames of `tests/data/mbus/` (sources in its README):
//! every frame on its own, and all of them as one stream, whole and in 64-byte pieces.

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use meterlab_decoder::{MbusDecoder, StreamDecoder};

fn main() {
    divan::main();
}

#[path = "../tests/common/mod.rs"]
mod common;

fn frames() -> Vec<Vec<u8>> {
    common::mbus_frames().to_vec()
}

/// Every corpus frame with a fresh decoder.
#[divan::bench]
fn every_frame(bencher: Bencher) {
    let frames = frames();
    let total: usize = frames.iter().map(Vec::len).sum();
    bencher.counter(BytesCount::new(total)).bench(|| {
        frames
            .iter()
            .map(|f| MbusDecoder::new().decode_all(black_box(f)).len())
            .sum::<usize>()
    });
}

/// All frames back to back, whole (`0`) and in 64-byte pieces.
#[divan::bench(args = [0, 64])]
fn one_stream(bencher: Bencher, piece: usize) {
    let stream: Vec<u8> = frames().concat();
    let size = if piece == 0 { stream.len() } else { piece };
    bencher
        .counter(BytesCount::new(stream.len()))
        .bench(|| common::feed_in_pieces(&mut MbusDecoder::new(), black_box(&stream), size).len());
}
