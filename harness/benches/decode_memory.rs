//! Memory of `meterlab decode` on inputs far larger than any message (issue #11, bounded
//! resources): 1 GiB each of zeros and random bytes and 256 MiB of random hex text, generated as they are
//! read (never stored), streamed through the capture reader and the reference decoder exactly
//! as `meterlab decode` does (`meterlab_harness::decode::decode_stream`), the output discarded.
//!
//! Prints, per input, the throughput and the growth of the peak resident set (`VmHWM` in
//! `/proc/self/status`) over the run, and fails if memory grew by more than 64 MiB: memory must
//! not depend on the input's size. `cargo bench -p meterlab-harness --bench decode_memory`
//! (part of `cargo xtask bench`); `METERLAB_BENCH_MIB=N` sets the size of each input.

use std::io::Read;
use std::time::Instant;

use meterlab_decoder::Protocol;
use meterlab_harness::capture::{InputFormat, StreamReader};
use meterlab_harness::decode::{decode_stream, DecodeOptions};

/// A generated input: `len` bytes of `kind`, produced as they are read.
struct Noise {
    kind: Kind,
    left: u64,
    state: u64,
    column: usize,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Zeros,
    Random,
    HexText,
}

impl Noise {
    fn next(&mut self) -> u64 {
        // xorshift64*: plenty for noise.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for b in &mut buf[..n] {
            *b = match self.kind {
                Kind::Zeros => 0,
                Kind::Random => (self.next() >> 32) as u8,
                Kind::HexText => {
                    // "3f a0 …" lines of 16 bytes, as hex dumps come.
                    self.column = (self.column + 1) % 48;
                    match self.column {
                        0 => b'\n',
                        c if c % 3 == 0 => b' ',
                        _ => b"0123456789abcdef"[(self.next() >> 60) as usize],
                    }
                }
            };
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The peak resident set so far, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, on a small input.
    let testing = !std::env::args().any(|a| a == "--bench");
    let mib: u64 = std::env::var("METERLAB_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if testing { 8 } else { 1024 });
    let mut failed = false;
    for (kind, protocol) in [
        (Kind::Zeros, None),
        (Kind::Zeros, Some(Protocol::Dsmr)),
        (Kind::Random, None),
        (Kind::Random, Some(Protocol::Dsmr)),
        (Kind::HexText, None),
    ] {
        let before = peak_rss_kib();
        let started = Instant::now();
        let noise = Noise {
            kind,
            // Hex text is 3 characters a byte: a quarter of the size keeps the run short (in
            // whole lines of 48 characters, so that the text ends with a whole byte).
            left: if matches!(kind, Kind::HexText) {
                (mib << 20) / 4 / 48 * 48
            } else {
                mib << 20
            },
            state: 0x9E37_79B9_7F4A_7C15,
            column: 0,
        };
        let input_mib = noise.left as f64 / f64::from(1 << 20);
        let mut reader = match StreamReader::new(noise, InputFormat::Auto) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{kind:?}: {e}");
                failed = true;
                continue;
            }
        };
        let form = reader.form().to_string();
        let options = DecodeOptions {
            protocol,
            ..DecodeOptions::default()
        };
        let summary = decode_stream(&mut reader, &options, &mut std::io::sink());
        let seconds = started.elapsed().as_secs_f64();
        let after = peak_rss_kib();
        let grown = after.zip(before).map(|(a, b)| a.saturating_sub(b));
        match summary {
            Ok(s) => println!(
                "{kind:?} ({form}), protocol {}: {input_mib:.0} MiB in {seconds:.1} s ({:.0} MiB/s), {} messages; peak RSS {} KiB (+{} KiB)",
                s.protocol.map_or("?", |p| p.name()),
                input_mib / seconds,
                s.messages,
                after.map_or("?".into(), |a| a.to_string()),
                grown.map_or("?".into(), |g| g.to_string()),
            ),
            Err(e) => {
                eprintln!("{kind:?}: {e}");
                failed = true;
            }
        }
        if grown.is_some_and(|g| g > 64 * 1024) {
            eprintln!(
                "{kind:?}: memory grew by {} KiB: not bounded",
                grown.unwrap_or(0)
            );
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
