//! Throughput of the bit-level line model (`cargo bench -p meterlab-sim --bench
//! line_throughput`): megabits of simulated line per second of wall time.
//!
//! Each case sends 1,000 messages of 1,000 bytes through one [`Channel`] (sender → fault
//! layers → wire → receiver) and reads them back in steps of one message, as a session does.
//! "Simulated line" counts every bit time of every character sent (start, data, parity, stop):
//! 1,000,000 characters of 115200 8N1 are 10 Mbit. The first block of output prints Mbit/s
//! for each case, per second of wall time (best of seven passes) and per second of this thread's
//! CPU time (all seven passes; `/proc/thread-self/schedstat`, Linux, which counts in scheduler
//! ticks: the figure to compare on a loaded machine);
//! divan's table follows (its throughput column counts simulated bits as items).

use std::hint::black_box;
use std::time::Instant;

use meterlab_sim::line::{Channel, Fault, UartConfig};
use meterlab_sim::Seed;

const MESSAGES: usize = 1_000;
const MESSAGE_LEN: usize = 1_000;
/// Timed passes per case for the printed figures.
const PASSES: usize = 7;

/// A case: sender settings, receiver settings, faults.
struct Case {
    name: &'static str,
    tx: &'static str,
    rx: &'static str,
    faults: fn() -> Vec<Fault>,
}

const CASES: &[Case] = &[
    Case {
        name: "clean 115200 8N1",
        tx: "115200 8N1",
        rx: "115200 8N1",
        faults: Vec::new,
    },
    Case {
        name: "clean 9600 7E1",
        tx: "9600 7E1",
        rx: "9600 7E1",
        faults: Vec::new,
    },
    Case {
        name: "clock error 2400 8E1 +150ppm vs 0",
        tx: "2400 8E1 +150ppm",
        rx: "2400 8E1",
        faults: Vec::new,
    },
    Case {
        name: "noise ber=1e-4 115200 8N1",
        tx: "115200 8N1",
        rx: "115200 8N1",
        faults: || vec![Fault::Noise { ber: 1e-4 }],
    },
    Case {
        name: "wrong format 9600 7E1 read as 8N1",
        tx: "9600 7E1",
        rx: "9600 8N1",
        faults: Vec::new,
    },
];

fn config(text: &str) -> UartConfig {
    text.parse().expect("bench settings are valid")
}

/// Runs one case; returns the characters received (to keep the work observable).
fn run(case: &Case, message: &[u8]) -> usize {
    let tx = config(case.tx);
    let mut line = Channel::new(tx, config(case.rx), (case.faults)(), Seed(7));
    let mut received = 0;
    let mut at = 0;
    for _ in 0..MESSAGES {
        let end = line.send(at, message);
        received += line.receive_until(end).len();
        at = end + 1_000_000;
    }
    received + line.receive_all().len()
}

/// Simulated bits of one run of `case`.
fn simulated_bits(case: &Case) -> u64 {
    (config(case.tx).bits_per_char() * (MESSAGES * MESSAGE_LEN) as f64) as u64
}

/// This thread's time on a CPU so far, in ns (Linux), if known.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn message() -> Vec<u8> {
    (0..MESSAGE_LEN).map(|i| (i * 37 + 11) as u8).collect()
}

fn main() {
    let message = message();
    for case in CASES {
        // One warm-up pass, then the best of seven.
        black_box(run(case, &message));
        let mut best_wall = f64::INFINITY;
        let cpu_before = thread_cpu_ns();
        for _ in 0..PASSES {
            let started = Instant::now();
            black_box(run(case, black_box(&message)));
            best_wall = best_wall.min(started.elapsed().as_secs_f64());
        }
        let mbit = simulated_bits(case) as f64 / 1e6;
        let cpu = match (cpu_before, thread_cpu_ns()) {
            (Some(before), Some(after)) if after > before => {
                let seconds = (after - before) as f64 / 1e9;
                format!("{:.1} Mbit/s of CPU time", mbit * PASSES as f64 / seconds)
            }
            _ => "CPU time unknown".into(),
        };
        println!(
            "line_throughput {:<36} {:>8.1} Mbit/s of simulated line ({cpu})",
            case.name,
            mbit / best_wall,
        );
    }
    divan::main();
}

#[divan::bench(args = [0, 1, 2, 3, 4], sample_count = 5)]
fn line(bencher: divan::Bencher, case: usize) {
    let case = &CASES[case];
    let message = message();
    bencher
        .counter(divan::counter::ItemsCount::new(simulated_bits(case)))
        .bench(|| run(case, black_box(&message)));
}
