//! `meterlab loopback` on ptys: a clean pair loses nothing; a "cable" that drops every 100th
//! byte is reported exactly; nothing connected is said with its likely causes; a relay between
//! two ptys that drops and corrupts fails the uses, one that delays fails strict timing.

#![cfg(unix)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use meterlab_harness::loopback::{self, Inversion, LoopbackOptions, UseStatus};
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
    let report = loopback::check(
        &mut master,
        Some(&mut slave),
        &options(&["115200 8N1", "9600 7E1"]),
    )
    .expect("runs");
    assert!(report.probe.came_back(), "{:?}", report.probe);
    assert!(report.clean());
    let results = &report.settings;
    assert_eq!(results.len(), 2);
    let sent_per_round: usize = loopback::patterns().iter().map(|p| p.bytes.len()).sum();
    for r in results {
        assert_eq!(r.sent, sent_per_round, "{r:?}");
        assert_eq!(r.received, r.sent, "{r:?}");
        assert_eq!((r.lost, r.extra, r.changed), (0, 0, 0), "{r:?}");
        assert!(r.clean());
        assert!(r.differences.is_empty());
        assert_eq!(r.inverted, Inversion::NotDeterminable);
        assert!(r.latency_us.is_some_and(|l| l > 0.0), "{r:?}");
        assert!(r.gap_p50_us.is_some() && r.gap_p99_us.is_some());
        assert_eq!(r.patterns.len(), 3);
        assert!(r.rtt_p50_us.is_some() && r.rtt_p99_us.is_some(), "{r:?}");
    }
    let table = loopback::render_table(&report);
    assert!(table.contains("115200 8N1"), "{table}");
    assert!(table.contains("2 of 2 settings clean"), "{table}");
    assert!(!table.contains("every setting works"), "{table}");
    // DSMR's setting was tried, on a pty: bytes pass, the line is not judged.
    assert_eq!(report.uses[0].status, UseStatus::Pty, "{table}");
    assert_eq!(report.uses[1].status, UseStatus::NotTested, "{table}");
    assert!(report.uses[1].reason.contains("2400"), "{table}");
    let json = loopback::render_json(&report).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["settings"][0]["lost"], 0);
    assert_eq!(v["settings"][1]["inverted"], "not_determinable");
    assert_eq!(v["probe"]["received"], loopback::PROBE.len());
    assert_eq!(v["uses"][0]["status"], "pty");
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
    // Every byte of the patterns, then the one-byte writes timed for the round trips.
    assert_eq!(
        total as usize,
        r.sent + loopback::LATENCY_WRITES,
        "the forwarder saw every byte"
    );
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

#[test]
fn nothing_connected_is_said_with_its_likely_causes() {
    // A bridged adapter whose TX goes nowhere: the pty's far end never answers.
    let master = PtyPort::create(&link("nothing")).expect("pty");
    let first: UartConfig = "9600 8N1".parse().expect("setting");
    let mut port =
        loopback::open(&master.slave_path().display().to_string(), &first).expect("open");
    let report =
        loopback::check(&mut port, None, &options(&["9600 8N1", "2400 8E1"])).expect("runs");
    assert!(!report.probe.came_back());
    assert!(report.settings.is_empty(), "no setting is run");
    assert!(!report.clean());
    assert!(
        report.probe.likely_causes[0].contains("TX is not bridged to RX"),
        "{:?}",
        report.probe.likely_causes
    );
    assert!(report
        .probe
        .likely_causes
        .iter()
        .any(|c| c.contains("flow control")));
    let table = loopback::render_table(&report);
    assert!(table.starts_with("nothing came back"), "{table}");
    assert!(table.contains("wrong port"), "{table}");
    assert!(!table.contains("settings clean"), "{table}");
    assert!(report.uses.iter().all(|u| u.status == UseStatus::Fail));

    // Two ports, nothing between them: the null-modem wiring is the first suspect.
    let mut a = PtyPort::create(&link("nothing-a")).expect("pty a");
    let b = PtyPort::create(&link("nothing-b")).expect("pty b");
    let mut rx = loopback::open(&b.slave_path().display().to_string(), &first).expect("open b");
    let report = loopback::check(&mut a, Some(&mut rx), &options(&["9600 8N1"])).expect("runs");
    assert!(!report.probe.came_back());
    assert!(
        report.probe.likely_causes[0].contains("null-modem"),
        "{:?}",
        report.probe.likely_causes
    );
    let json = loopback::render_json(&report).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["probe"]["received"], 0);
    assert_eq!(v["settings"].as_array().map(Vec::len), Some(0));
}

/// What the relay between the two ptys does to the bytes it forwards.
#[derive(Clone, Copy, Default)]
struct Relay {
    /// Every n-th byte dropped (0: none).
    drop_every: u64,
    /// Every n-th byte with its lowest bit flipped (0: none).
    corrupt_every: u64,
    /// Every byte held this long before it is forwarded.
    delay: Duration,
}

/// Runs `check` from pty A's master to pty B's slave, with a relay forwarding A's slave to
/// B's master through `relay`'s faults.
fn through_relay(relay: Relay, settings: &[&str]) -> loopback::LoopbackReport {
    use std::collections::VecDeque;
    use std::time::Instant;
    let mut a_master = PtyPort::create(&link("relay-a")).expect("pty a");
    let mut b_master = PtyPort::create(&link("relay-b")).expect("pty b");
    let first: UartConfig = "9600 8N1".parse().expect("setting");
    let mut a_slave =
        loopback::open(&a_master.slave_path().display().to_string(), &first).expect("open a");
    let mut rx =
        loopback::open(&b_master.slave_path().display().to_string(), &first).expect("open b");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = [0u8; 1024];
            let mut count = 0u64;
            let mut held: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
            while !stop.load(Ordering::Relaxed) {
                let n = a_slave
                    .read(&mut buf, Duration::from_millis(1))
                    .expect("read a");
                let mut keep = Vec::with_capacity(n);
                for &b in &buf[..n] {
                    count += 1;
                    if relay.drop_every > 0 && count % relay.drop_every == 0 {
                        continue;
                    }
                    if relay.corrupt_every > 0 && count % relay.corrupt_every == 0 {
                        keep.push(b ^ 0x01);
                    } else {
                        keep.push(b);
                    }
                }
                if !keep.is_empty() {
                    held.push_back((Instant::now() + relay.delay, keep));
                }
                while held.front().is_some_and(|(due, _)| *due <= Instant::now()) {
                    if let Some((_, bytes)) = held.pop_front() {
                        b_master.write(&bytes).expect("write b");
                    }
                }
            }
        });
        let report = loopback::check(&mut a_master, Some(&mut rx), &options(settings));
        stop.store(true, Ordering::Relaxed);
        report
    })
    .expect("runs")
}

#[test]
fn a_relay_that_drops_and_corrupts_fails_the_uses_it_carries() {
    let report = through_relay(
        Relay {
            drop_every: 97,
            corrupt_every: 41,
            ..Relay::default()
        },
        &["2400 8E1", "115200 8N1"],
    );
    assert!(report.probe.came_back());
    for r in &report.settings {
        assert!(r.lost > 0 && r.changed > 0, "{r:?}");
        assert!(!r.clean());
    }
    assert!(!report.clean());
    assert_eq!(
        report.highest_clean,
        vec![("8E1".to_string(), None), ("8N1".to_string(), None)]
    );
    let dsmr = &report.uses[0];
    let mbus = &report.uses[1];
    assert_eq!(dsmr.status, UseStatus::Fail, "{dsmr:?}");
    assert_eq!(mbus.status, UseStatus::Fail, "{mbus:?}");
    assert!(mbus.reason.contains("lost"), "{mbus:?}");
    assert_eq!(report.uses[2].status, UseStatus::NotTested);
    let table = loopback::render_table(&report);
    eprintln!("{table}");
    assert!(table.contains("0 of 2 settings clean"), "{table}");
    assert!(
        table.contains("highest clean baud rate: 8E1 none, 8N1 none"),
        "{table}"
    );
}

#[test]
fn a_slow_relay_breaks_strict_mbus_timing_and_warns_for_iec() {
    let report = through_relay(
        Relay {
            delay: Duration::from_millis(60),
            ..Relay::default()
        },
        &["2400 8E1", "300 7E1", "9600 7E1"],
    );
    assert!(report.clean(), "a delay loses nothing: {report:?}");
    for r in &report.settings {
        let p50 = r.rtt_p50_us.expect("round trips");
        assert!(p50 >= 60_000.0, "{r:?}");
    }
    let mbus = &report.uses[1];
    assert_eq!(mbus.status, UseStatus::Fail, "{mbus:?}");
    assert!(mbus.reason.contains("M-Bus"), "{mbus:?}");
    let iec = &report.uses[2];
    assert_eq!(iec.status, UseStatus::Warn, "{iec:?}");
    assert!(iec.reason.contains("20 ms reaction time"), "{iec:?}");
    let table = loopback::render_table(&report);
    eprintln!("{table}");
    assert!(table.contains("3 of 3 settings clean"), "{table}");
    assert!(
        table.contains("highest clean baud rate: 8E1 2400, 7E1 9600"),
        "{table}"
    );
}

/// A port whose driver refuses 7-bit formats (as some USB adapters do).
struct NoSevenBits<P>(P);

impl<P: Port> Port for NoSevenBits<P> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize> {
        self.0.read(buf, timeout)
    }
    fn set_uart(&mut self, config: &UartConfig) -> std::io::Result<()> {
        if config.data_bits == 7 {
            return Err(std::io::Error::other("7 data bits are not supported"));
        }
        self.0.set_uart(config)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}

#[test]
fn a_format_the_port_refuses_is_reported_and_the_others_still_run() {
    let mut master = PtyPort::create(&link("picky")).expect("pty");
    let first: UartConfig = "9600 8E1".parse().expect("setting");
    let port = loopback::open(&master.slave_path().display().to_string(), &first).expect("open");
    let mut port = NoSevenBits(port);
    let stop = AtomicBool::new(false);
    let report = std::thread::scope(|s| {
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
        let report = loopback::check(&mut port, None, &options(&["9600 7E1", "9600 8E1"]));
        stop.store(true, Ordering::Relaxed);
        report
    })
    .expect("runs");
    // The first setting refused: the probe goes out at the next one.
    assert_eq!(report.probe.setting, "9600 8E1");
    assert_eq!(report.settings.len(), 2);
    assert!(report.settings[1].clean(), "{:?}", report.settings[1]);
    let refused = &report.settings[0];
    assert!(!refused.clean());
    assert_eq!(refused.sent, 0);
    assert!(refused
        .unsupported
        .as_deref()
        .is_some_and(|e| e.contains("7 data bits")));
    let table = loopback::render_table(&report);
    assert!(
        table.contains("9600 7E1       not supported by the port: 7 data bits are not supported"),
        "{table}"
    );
    assert!(
        table.contains("highest clean baud rate: 7E1 none, 8E1 9600"),
        "{table}"
    );
    assert!(table.contains("1 of 2 settings clean"), "{table}");
}
