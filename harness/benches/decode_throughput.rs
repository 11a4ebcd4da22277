//! `meterlab decode` against the decoder in process (issue #15, goal 2): for DSMR, wired M-Bus
//! and DLMS, a raw capture of about 100 MB is generated in a temporary directory at bench time
//! (the corpus messages of `decoder/tests/data/` that decode to one reading each, repeated; never
//! stored in git), then
//!
//! - **in process**: the capture, in memory, fed to the protocol's stream decoder in 64 KiB
//!   pieces, the messages dropped (with the binary's allocator, mimalloc);
//! - **`meterlab decode`**: the built binary on the file (`--protocol P --input-format raw`),
//!   its JSON lines written to a file in the same directory (output included).
//!
//! Prints messages per second of both, the ratio (target ≥ 80 %) and the peak resident set of
//! the `meterlab decode` process (`VmHWM`, sampled while it runs; it must not grow with the
//! file). `cargo bench -p meterlab-harness --bench decode_throughput`; `METERLAB_BENCH_MB=N`
//! sets the capture size (default 100; `cargo test --benches` uses 2); `METERLAB_BENCH_ONLY=mbus`
//! (a protocol name) runs one protocol only, e.g. under callgrind; `METERLAB_BENCH_KEEP=DIR`
//! writes the captures and outputs into `DIR` and keeps them (to profile `meterlab decode` alone).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meterlab_decoder::{DlmsDecoder, DsmrDecoder, MbusDecoder, StreamDecoder};
use serde_yaml::Value as Yaml;

/// The allocator of the `meterlab` binary, so that "in process" and `meterlab decode` allocate
/// alike (harness/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The corpus directory of the decoder crate.
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../decoder/tests/data")
}

/// The YAML documents under `dir` (recursively), sorted by path.
fn documents(dir: &Path) -> Vec<Yaml> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("corpus directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|p| {
            serde_yaml::from_str(&std::fs::read_to_string(p).expect("readable")).expect("YAML")
        })
        .collect()
}

/// A corpus document's wire bytes: `text` with its line ending, or `hex`.
fn wire_bytes(doc: &Yaml) -> Option<Vec<u8>> {
    if let Some(text) = doc["text"].as_str() {
        let ending = match doc["line_ending"].as_str()? {
            "CRLF" => "\r\n",
            "LF" => "\n",
            _ => return None,
        };
        return text
            .replace('\n', ending)
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect();
    }
    let digits: String = doc["hex"].as_str()?.split_whitespace().collect();
    hex::decode(digits).ok().filter(|b| !b.is_empty())
}

/// Whether `bytes` alone decode to exactly one reading and nothing else.
fn one_reading(decoder: &mut dyn StreamDecoder, bytes: &[u8]) -> bool {
    let messages = decoder.decode_all(bytes);
    messages.len() == 1 && messages[0].reading().is_some()
}

struct Capture {
    name: &'static str,
    protocol: &'static str,
    /// One round of messages, back to back.
    round: Vec<u8>,
    /// Readings per round.
    per_round: usize,
    new_decoder: fn() -> Box<dyn StreamDecoder>,
}

fn captures() -> Vec<Capture> {
    let dsmr = || Box::new(DsmrDecoder::default()) as Box<dyn StreamDecoder>;
    let mbus = || Box::new(MbusDecoder::new()) as Box<dyn StreamDecoder>;
    let dlms = || Box::new(DlmsDecoder::default()) as Box<dyn StreamDecoder>;
    let mut out = Vec::new();
    for (name, protocol, dir, new_decoder) in [
        (
            "DSMR",
            "dsmr",
            "dsmr",
            dsmr as fn() -> Box<dyn StreamDecoder>,
        ),
        ("M-Bus", "mbus", "mbus", mbus),
        ("DLMS (plain pushes)", "dlms", "dlms", dlms),
    ] {
        let candidates: Vec<Vec<u8>> = documents(&data_dir().join(dir))
            .iter()
            .filter(|d| d["key_hex"].as_str().is_none())
            .filter_map(wire_bytes)
            .filter(|b| one_reading(new_decoder().as_mut(), b))
            .collect();
        // A message joins the round when the round as one stream still decodes to exactly its
        // readings (a CRC-less DSMR 2.2 telegram after CRC-protected ones does not).
        let mut round = Vec::new();
        let mut per_round = 0;
        for m in &candidates {
            let mut longer = round.clone();
            longer.extend_from_slice(m);
            let decoded = new_decoder().decode_all(&longer);
            if decoded.len() == per_round + 1 && decoded.iter().all(|m| m.reading().is_some()) {
                round = longer;
                per_round += 1;
            }
        }
        assert!(per_round >= 5, "{name}: {per_round} messages in a round");
        out.push(Capture {
            name,
            protocol,
            round,
            per_round,
            new_decoder,
        });
    }
    out
}

/// The peak resident set of process `pid` in KiB, while it runs.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let testing = !std::env::args().any(|a| a == "--bench");
    let mb: usize = std::env::var("METERLAB_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if testing { 2 } else { 100 });
    let keep = std::env::var_os("METERLAB_BENCH_KEEP").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("meterlab-decode-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let mut failed = false;
    println!("meterlab decode vs in process, {mb} MB raw captures (messages per second):");
    let only = std::env::var("METERLAB_BENCH_ONLY").ok();
    for c in captures() {
        if only.as_deref().is_some_and(|p| p != c.protocol) {
            continue;
        }
        let rounds = (mb * 1_000_000).div_ceil(c.round.len());
        let bytes = c.round.repeat(rounds);
        let expected = rounds * c.per_round;
        let input = dir.join(format!("{}.bin", c.protocol));
        std::fs::write(&input, &bytes).expect("capture written");

        // In process: best of three passes.
        let mut in_process = f64::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let mut decoder = (c.new_decoder)();
            let mut messages = Vec::new();
            let mut count = 0;
            for piece in bytes.chunks(64 * 1024) {
                decoder.feed(piece, &mut messages);
                count += messages.len();
                messages.clear();
            }
            decoder.finish(&mut messages);
            count += messages.len();
            in_process = in_process.min(started.elapsed().as_secs_f64());
            assert_eq!(count, expected, "{}: in-process messages", c.name);
        }
        drop(bytes);

        // `meterlab decode`: best of three runs.
        let output = dir.join(format!("{}.jsonl", c.protocol));
        let mut cli = f64::MAX;
        let mut peak = 0;
        for _ in 0..3 {
            // The previous run's output is removed before the clock starts: truncating it
            // frees its cached pages, which took 9 ms for DSMR's 200 MB of lines and 0.36 s
            // for M-Bus's 1.7 GB, counted against `meterlab decode` until 2026-12-05.
            let _ = std::fs::remove_file(&output);
            let out = std::fs::File::create(&output).expect("output file");
            let started = Instant::now();
            let mut child = Command::new(env!("CARGO_BIN_EXE_meterlab"))
                .args(["decode", "--protocol", c.protocol, "--input-format", "raw"])
                .arg(&input)
                .stdout(out)
                .stderr(Stdio::null())
                .spawn()
                .expect("meterlab runs");
            // The resident set is sampled by another thread, so that the time taken is the
            // moment the process ends (polling its end every 20 ms added up to 20 ms to a
            // run of about 0.6 s).
            let pid = child.id();
            let done = std::sync::atomic::AtomicBool::new(false);
            let (status, rss) = std::thread::scope(|scope| {
                let sampler = scope.spawn(|| {
                    let mut peak = 0;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        if let Some(rss) = peak_rss_kib(pid) {
                            peak = peak.max(rss);
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    peak
                });
                let status = child.wait().expect("wait");
                cli = cli.min(started.elapsed().as_secs_f64());
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                (status, sampler.join().expect("sampler"))
            });
            peak = peak.max(rss);
            if !status.success() {
                eprintln!("{}: meterlab decode failed: {status}", c.name);
                failed = true;
            }
        }
        let lines = std::fs::read(&output)
            .map(|o| o.iter().filter(|&&b| b == b'\n').count())
            .unwrap_or(0);
        if lines != expected {
            eprintln!("{}: {lines} lines written, {expected} expected", c.name);
            failed = true;
        }
        let (a, b) = (expected as f64 / in_process, expected as f64 / cli);
        println!(
            "{:<20} in process {a:>9.0}/s   meterlab decode {b:>9.0}/s   {:>5.1} %   peak RSS {} KiB",
            c.name,
            100.0 * b / a,
            peak
        );
        if keep.is_none() {
            for f in [&input, &output] {
                let _ = std::fs::remove_file(f);
            }
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if failed {
        std::process::exit(1);
    }
}
