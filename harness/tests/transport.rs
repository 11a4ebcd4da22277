//! Scenarios over real lines: the same scenario files give the same golden files over a pty, a
//! TCP socket and a "null-modem cable" (two ptys joined by a forwarder) as in memory.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use meterlab_harness::golden::GoldenStatus;
use meterlab_harness::runner::{self, DecoderUnderTest, Outcome, RunOptions};
use meterlab_harness::scenario::{self, Scenario};
use meterlab_harness::transport::{SerialDevices, Transport};
use meterlab_sim::transport::pty::PtyPort;
use meterlab_sim::transport::Port;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(path: &str) -> Scenario {
    let mut all = scenario::load_all(&[root().join(path)], None).expect("scenario loads");
    assert_eq!(all.len(), 1, "{path}");
    all.remove(0)
}

fn options(transport: Transport) -> RunOptions {
    RunOptions {
        golden_dir: Some(root().join("golden")),
        transport: Some(transport),
        line_timeout: Duration::from_secs(60),
        ..RunOptions::default()
    }
}

fn explain(o: &Outcome) -> String {
    o.failures
        .iter()
        .map(|f| format!("{}\n{}", f.what, f.detail.as_deref().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `path` over `options`' transport and checks it against its (in-memory) golden file.
fn same_as_in_memory(path: &str, options: &RunOptions) -> Outcome {
    let s = load(path);
    assert_eq!(s.spec.transport, Transport::Memory, "{path} runs in memory");
    let o = runner::run_scenario(&s, options).expect("runs");
    assert_eq!(o.transport, options.transport.expect("a transport"));
    assert!(o.passed(), "{path} over {}:\n{}", o.transport, explain(&o));
    assert_eq!(o.golden, GoldenStatus::Match, "{path}");
    o
}

#[test]
fn push_meters_with_faults_over_a_pty_match_their_golden_files() {
    let options = options(Transport::Pty);
    // A byte dropped from the third telegram: one CRC error, the fault log says where.
    let o = same_as_in_memory("scenarios/dsmr/dsmr-5.0-dropped-byte.yaml", &options);
    assert!(o.fault_log.contains("dropped"), "{}", o.fault_log);
    // A reader at the wrong baud: framing errors counted as a UART would have seen them.
    let o = same_as_in_memory("scenarios/dsmr/dsmr-5.0-read-at-9600.yaml", &options);
    assert!(o.rx_framing_errors > 0, "{o:?}");
    // DLMS 8E1 read as 8N1 by a host that drops characters with errors (IGNPAR), at 2400 baud.
    let o = same_as_in_memory(
        "scenarios/dlms/dlms-evn-8e1-read-as-8n1-strict.yaml",
        &options,
    );
    assert!(o.received_bytes < o.sent_bytes, "{o:?}");
}

#[test]
fn dialogues_over_a_pty_match_their_golden_files() {
    let options = options(Transport::Pty);
    // IEC 62056-21 mode C with a baud switch to 9600 after the acknowledgement.
    same_as_in_memory("scenarios/iec/iec-mode-c-z5-9600.yaml", &options);
    // A meter answering after the reader has given up: the late answer still counts as sent.
    same_as_in_memory("scenarios/iec/iec-meter-answers-too-late.yaml", &options);
    // M-Bus: SND_NKE, REQ_UD2 with FCB toggling over two telegrams.
    same_as_in_memory("scenarios/mbus/mbus-heat-multi-telegram.yaml", &options);
}

#[test]
fn scenarios_over_tcp_match_their_golden_files() {
    let options = options(Transport::Tcp);
    same_as_in_memory("scenarios/dsmr/dsmr-5.0-inverted-signal.yaml", &options);
    same_as_in_memory("scenarios/mbus/mbus-heat-primary-readout.yaml", &options);
}

fn link(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "meterlab-cable-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Two ptys joined master to master: what is written to one slave comes out of the other, as
/// with two USB adapters and a null-modem cable (the ptys ignore the serial settings).
fn with_cable<T>(f: impl FnOnce(SerialDevices) -> T) -> T {
    let mut a = PtyPort::create(&link("meter")).expect("pty a");
    let mut b = PtyPort::create(&link("reader")).expect("pty b");
    let devices = SerialDevices {
        meter: Some(a.slave_path().display().to_string()),
        reader: Some(b.slave_path().display().to_string()),
    };
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                let n = a.read(&mut buf, Duration::from_millis(1)).expect("read a");
                if n > 0 {
                    b.write(&buf[..n]).expect("write b");
                }
                let n = b.read(&mut buf, Duration::from_millis(1)).expect("read b");
                if n > 0 {
                    a.write(&buf[..n]).expect("write a");
                }
            }
        });
        // The forwarder stops even when `f` panics (a failed assertion), or the test would hang.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(devices)));
        stop.store(true, Ordering::Relaxed);
        result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[test]
fn scenarios_over_a_null_modem_cable_match_their_golden_files() {
    with_cable(|devices| {
        let options = RunOptions {
            devices,
            ..options(Transport::Serial)
        };
        // Byte-level faults still apply on a cable (the hardware frames the characters).
        same_as_in_memory("scenarios/dsmr/dsmr-5.0-dropped-byte.yaml", &options);
        same_as_in_memory("scenarios/iec/iec-mode-c-clean.yaml", &options);
    });
}

#[test]
fn a_reader_program_on_the_far_end_of_a_cable() {
    // `--reader CMD --transport serial`: {port} is the reader's end of the cable.
    with_cable(|devices| {
        let reader_end = devices.reader.clone().expect("reader end");
        let options = RunOptions {
            decoder: DecoderUnderTest::Reader {
                command: format!(
                    // `decode` exits 1 for the CRC error; a reader under test must exit 0.
                    "test {{port}} = '{reader_end}' && {{ '{}' decode --max-seconds 7 {{port}} || [ $? = 1 ]; }}",
                    env!("CARGO_BIN_EXE_meterlab")
                ),
                timeout: Duration::from_secs(30),
            },
            devices,
            ..options(Transport::Serial)
        };
        let s = load("scenarios/dsmr/dsmr-5.0-dropped-byte.yaml");
        let o = runner::run_scenario(&s, &options).expect("runs");
        assert_eq!(o.transport, Transport::Serial);
        assert!(o.passed(), "{}", explain(&o));
        assert_eq!((o.tally.sent, o.tally.matched), (5, 4), "{o:?}");
    });
}

#[test]
fn a_serial_transport_needs_its_ports() {
    let s = load("scenarios/dsmr/dsmr-5.0-dropped-byte.yaml");
    let e = runner::run_scenario(&s, &options(Transport::Serial)).expect_err("no devices");
    let text = e.to_string();
    assert!(text.contains("--meter-port"), "{text}");
}

#[test]
fn a_scenario_can_name_its_transport() {
    let dir = std::env::temp_dir().join(format!("meterlab-transport-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("over-tcp.yaml");
    std::fs::write(
        &file,
        "meter: { profile: dsmr-5.0 }\ntransport: tcp\nrun: { telegrams: 2 }\nexpect: { readings: all }\n",
    )
    .expect("write");
    let s = scenario::load_all(std::slice::from_ref(&file), None)
        .expect("loads")
        .remove(0);
    assert_eq!(s.spec.transport, Transport::Tcp);
    let options = RunOptions::default();
    assert!(options.real_time(&s));
    let o = runner::run_scenario(&s, &options).expect("runs");
    assert_eq!(o.transport, Transport::Tcp);
    assert!(o.passed(), "{}", explain(&o));
    assert_eq!(o.tally.matched, 2, "{o:?}");
    std::fs::write(
        &file,
        "meter: { profile: dsmr-5.0 }\ntransport: carrier-pigeon\n",
    )
    .expect("write");
    let e = scenario::load_all(&[file], None).expect_err("unknown transport");
    let text = e.iter().map(ToString::to_string).collect::<String>();
    assert!(text.contains("transport"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
