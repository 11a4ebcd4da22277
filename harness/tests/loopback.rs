//! `meterlab loopback` on ptys: a clean pair loses nothing; a "cable" that drops every 100th
//! byte is reported exactly.

#![cfg(unix)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use meterlab_harness::loopback::{self, Inversion, LoopbackOptions};
use meterlab_sim::line::UartConfig;
use meterlab_sim::transport::pty::PtyPort;
use meterlab_sim::transport::Port;

fn link(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "meterlab-loopback-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn options(settings: &[&str]) -> LoopbackOptions {
    LoopbackOptions {
        settings: settings
            .iter()
            .map(|s| s.parse::<UartConfig>().expect("setting"))
            .collect(),
        seconds: 0.0,
        pty: true,
        quiet: Some(Duration::from_millis(100)),
    }
}

#[test]
fn a_pty_pair_loses_nothing() {
    // tx = the pty's master (the transport's PtyPort); rx = its slave opened like a serial port.
    let mut master = PtyPort::create(&link("clean")).expect("pty");
    let slave_path = master.slave_path().display().to_string();
    let first: UartConfig = "115200 8N1".parse().expect("setting");
    let mut slave = loopback::open(&slave_path, &first).expect("open the slave");
    assert!(loopback::is_pty(master.link()));
    let results = loopback::run(
        &mut master,
        Some(&mut slave),
        &options(&["115200 8N1", "9600 7E1"]),
    )
    .expect("runs");
    assert_eq!(results.len(), 2);
    let sent_per_round: usize = loopback::patterns().iter().map(|p| p.bytes.len()).sum();
    for r in &results {
        assert_eq!(r.sent, sent_per_round, "{r:?}");
        assert_eq!(r.received, r.sent, "{r:?}");
        assert_eq!((r.lost, r.extra, r.changed), (0, 0, 0), "{r:?}");
        assert!(r.clean());
        assert!(r.differences.is_empty());
        assert_eq!(r.inverted, Inversion::NotDeterminable);
        assert!(r.latency_us.is_some_and(|l| l > 0.0), "{r:?}");
        assert!(r.gap_p50_us.is_some() && r.gap_p99_us.is_some());
        assert_eq!(r.patterns.len(), 3);
    }
    let table = loopback::render_table(&results, true);
    assert!(table.contains("115200 8N1"), "{table}");
    assert!(table.contains("2 of 2 settings clean"), "{table}");
    let json = loopback::render_json(&results, true).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["settings"][0]["lost"], 0);
    assert_eq!(v["settings"][1]["inverted"], "not_determinable");
}

#[test]
fn a_cable_dropping_every_100th_byte_is_reported_exactly() {
    // tx → pty A → forwarder (drops every 100th byte) → pty B → rx.
    let mut a_master = PtyPort::create(&link("a")).expect("pty a");
    let mut b_master = PtyPort::create(&link("b")).expect("pty b");
    let first: UartConfig = "115200 8N1".parse().expect("setting");
    let mut a_slave =
        loopback::open(&a_master.slave_path().display().to_string(), &first).expect("open a");
    let mut rx =
        loopback::open(&b_master.slave_path().display().to_string(), &first).expect("open b");
    let stop = AtomicBool::new(false);
    let forwarded = AtomicU64::new(0);
    let results = std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = [0u8; 1024];
            let mut count = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let n = a_slave
                    .read(&mut buf, Duration::from_millis(10))
                    .expect("read a");
                let mut keep = Vec::with_capacity(n);
                for &b in &buf[..n] {
                    count += 1;
                    if count % 100 != 0 {
                        keep.push(b);
                    }
                }
                if !keep.is_empty() {
                    b_master.write(&keep).expect("write b");
                }
                forwarded.store(count, Ordering::Relaxed);
            }
        });
        let results = loopback::run(&mut a_master, Some(&mut rx), &options(&["9600 8E1"]));
        stop.store(true, Ordering::Relaxed);
        results
    })
    .expect("runs");
    let r = &results[0];
    let total = forwarded.load(Ordering::Relaxed);
    assert_eq!(total as usize, r.sent, "the forwarder saw every byte");
    assert_eq!(r.lost, r.sent / 100, "{r:?}");
    assert_eq!(r.received, r.sent - r.sent / 100);
    assert_eq!((r.extra, r.changed), (0, 0), "{r:?}");
    assert!(!r.clean());
    assert_eq!(r.differences.len(), loopback::MAX_DIFFERENCES.min(r.lost));
    assert!(r.differences.iter().all(|d| d.received.is_none()));
    // Per pattern: the drops land where the running count says.
    let mut before = 0usize;
    for p in &r.patterns {
        let expected = (before + p.sent) / 100 - before / 100;
        assert_eq!(p.lost, expected, "{p:?}");
        before += p.sent;
    }
}

/// `--tx` alone (TX–RX bridged): one port writes and reads back; here the far end of the pty
/// echoes every byte, as a bridge on a real adapter does.
#[test]
fn a_bridged_port_reads_back_what_it_sends() {
    let mut master = PtyPort::create(&link("bridge")).expect("pty");
    let first: UartConfig = "9600 8N1".parse().expect("setting");
    let mut port =
        loopback::open(&master.slave_path().display().to_string(), &first).expect("open");
    let stop = AtomicBool::new(false);
    let results = std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::Relaxed) {
                let n = master
                    .read(&mut buf, Duration::from_millis(5))
                    .expect("read");
                if n > 0 {
                    master.write(&buf[..n]).expect("echo");
                }
            }
        });
        let results = loopback::run(&mut port, None, &options(&["9600 8N1"]));
        stop.store(true, Ordering::Relaxed);
        results
    })
    .expect("runs");
    let r = &results[0];
    let sent_per_round: usize = loopback::patterns().iter().map(|p| p.bytes.len()).sum();
    assert_eq!(r.sent, sent_per_round, "{r:?}");
    assert_eq!(
        (r.received, r.lost, r.extra, r.changed),
        (r.sent, 0, 0, 0),
        "{r:?}"
    );
    assert!(r.latency_us.is_some(), "{r:?}");
}
