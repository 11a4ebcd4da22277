//! Throughput of the reference wireless M-Bus decoder (`cargo bench -p meterlab-decoder --bench
//! wmbus_decode`) over the wireless corpus telegrams of `tests/data/mbus/wireless/` (sources in
//! its README): every telegram on its own with its key (plain, mode 5, mode 7, ELL AES-CTR),
//! and the telegrams without encryption as one stream of rtl_wmbus lines.

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use meterlab_decoder::{Keys, StreamDecoder, WmbusDecoder};

fn main() {
    divan::main();
}

#[path = "../tests/common/mod.rs"]
mod common;

/// (bytes, keys) of every corpus telegram with a link header.
fn telegrams() -> Vec<(Vec<u8>, Keys)> {
    let mut out = Vec::new();
    for dir in ["jmbus", "m-bus-parser", "wmbusmeters"] {
        for path in common::yaml_files(&format!("mbus/wireless/{dir}")) {
            let text = std::fs::read_to_string(&path).expect("read");
            let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
            if doc.get("hex_scope").is_some() {
                continue;
            }
            let hex = doc["hex"].as_str().expect("hex");
            let keys = Keys {
                encryption: doc["key_hex"].as_str().map(|k| k.parse().expect("key")),
                authentication: None,
            };
            out.push((hex::decode(hex).expect("hex"), keys));
        }
    }
    out
}

/// Every telegram with a fresh decoder and its key.
#[divan::bench]
fn every_telegram(bencher: Bencher) {
    let all = telegrams();
    let total: usize = all.iter().map(|(b, _)| b.len()).sum();
    bencher.counter(BytesCount::new(total)).bench(|| {
        all.iter()
            .map(|(b, k)| WmbusDecoder::new(k.clone()).decode_all(black_box(b)).len())
            .sum::<usize>()
    });
}

/// The telegrams without a key as rtl_wmbus lines, one stream, whole (`0`) and in 64-byte
/// pieces.
#[divan::bench(args = [0, 64])]
fn rtl_wmbus_stream(bencher: Bencher, piece: usize) {
    let stream: Vec<u8> = telegrams()
        .iter()
        .filter(|(_, k)| k.encryption.is_none())
        .flat_map(|(b, _)| {
            format!(
                "T1;1;1;2019-04-03 19:00:42.000;97;148;0;0x{}\n",
                hex::encode_upper(b)
            )
            .into_bytes()
        })
        .collect();
    let size = if piece == 0 { stream.len() } else { piece };
    bencher.counter(BytesCount::new(stream.len())).bench(|| {
        common::feed_in_pieces(
            &mut WmbusDecoder::new(Keys::default()),
            black_box(&stream),
            size,
        )
        .len()
    });
}
