//! Wireless M-Bus end to end: `meterlab sim --dongle … --pty LINK` answers a host's start-up
//! exchange byte for byte within wmbusmeters' deadlines and then delivers telegrams that decode;
//! the wireless scenarios give the same golden file over a real pty as in memory; `-v` logs each
//! telegram's fate and never a key. Real-time tests, each a few seconds, wide margins.
#![cfg(target_os = "linux")]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meterlab_decoder::{Key, Keys, Message};
use meterlab_harness::golden::GoldenStatus;
use meterlab_harness::runner::{self, RunOptions};
use meterlab_harness::scenario::{self, Scenario};
use meterlab_harness::transport::Transport;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const TEST_KEY: &str = "622B9656991FF0C1574C0950CF9278D1";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("meterlab-wmbus-{}-{name}", std::process::id()))
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterlab starts")
}

fn open_link(link: &Path) -> File {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::symlink_metadata(link).is_err() {
        assert!(Instant::now() < deadline, "no pty link {link:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlag::O_NOCTTY.bits())
        .open(link)
        .expect("open the link")
}

/// Everything that arrives within `ms` after now.
fn read_for(file: &mut File, ms: u64) -> Vec<u8> {
    let end = Instant::now() + Duration::from_millis(ms);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        let wait = PollTimeout::from(u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX));
        if poll(&mut fds, wait).expect("poll") > 0 {
            let n = file.read(&mut buf).expect("read");
            out.extend_from_slice(&buf[..n]);
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn stop(mut child: Child) -> String {
    kill(
        Pid::from_raw(i32::try_from(child.id()).expect("pid")),
        Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "meterlab sim did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// Readings decoded from what the stick delivered after its start-up.
fn readings(bytes: &[u8]) -> usize {
    let keys = Keys {
        encryption: Some(TEST_KEY.parse::<Key>().expect("key")),
        authentication: None,
    };
    let mut d = meterlab_decoder::auto::decoder_for(meterlab_decoder::Protocol::Mbus, keys);
    let mut out = Vec::new();
    // No `finish`: the read window may end inside a telegram.
    d.feed(bytes, &mut out);
    let errors: Vec<_> = out.iter().filter_map(Message::error_report).collect();
    assert!(errors.is_empty(), "{errors:?}");
    out.iter()
        .filter(|m| matches!(m, Message::Reading(_)))
        .count()
}

#[test]
fn a_pty_im871a_answers_wmbusmeters_start_up_and_delivers_telegrams() {
    let link = temp("im871a");
    let config = temp("im871a.yaml");
    std::fs::write(
        &config,
        format!(
            "meters:\n  - {{ profile: wmbus-water, id: \"33225544\", interval_s: 1, start_ms: 300 }}\n  - {{ profile: wmbus-warm-water, id: \"20096221\", key: {TEST_KEY}, interval_s: 1, start_ms: 800 }}\n"
        ),
    )
    .expect("config");
    let child = spawn(&[
        "-v",
        "sim",
        "--dongle",
        "im871a",
        "--config",
        config.to_str().expect("utf-8"),
        "--pty",
        link.to_str().expect("utf-8"),
    ]);
    let mut host = open_link(&link);
    // Detection: each answer must be there, whole, when wmbusmeters reads once 100 ms later.
    let exchange = [
        ("A5010F00", "A581100833001301F13A000053D9"),
        (
            "A5010500",
            "A5810617FF000700B32512351000010001FF07023200010000000063C9",
        ),
    ];
    for (request, answer) in exchange {
        host.write_all(&hex(request)).expect("write");
        assert_eq!(read_for(&mut host, 100), hex(answer), "answer to {request}");
    }
    // T1, as `/dev/pts/N:im871a:t1` sets it; then telegrams flow.
    host.write_all(&hex("A50103060002033001 00".replace(' ', "").as_str()))
        .expect("write");
    // Telegrams that ended on the air after the link mode was set may follow at once.
    let ack = hex("A58104009CF7");
    let mut delivered = read_for(&mut host, 100);
    assert!(delivered.starts_with(&ack), "{delivered:02X?}");
    delivered.drain(..ack.len());
    delivered.extend(read_for(&mut host, 3_000));
    assert!(delivered.starts_with(&[0xA5]), "{delivered:02X?}");
    assert!(readings(&delivered) >= 3, "{delivered:02X?}");
    drop(host);
    let log = stop(child);
    assert!(log.contains("telegram of wmbus-warm-water"), "{log}");
    assert!(log.contains("delivered"), "{log}");
    assert!(!log.contains(TEST_KEY) && !log.contains("622b"), "{log}");
    let _ = std::fs::remove_file(&config);
}

#[test]
fn pty_amber_and_cul_answer_their_hosts_and_stay_silent_until_set_up() {
    // Amber: the 126-byte dump (header FF 8A 7A, XOR), then T1.
    let link = temp("amb");
    let child = spawn(&[
        "sim",
        "--dongle",
        "amb8465",
        "--pty",
        link.to_str().expect("utf-8"),
    ]);
    let mut host = open_link(&link);
    assert!(
        read_for(&mut host, 500).is_empty(),
        "silent before its link mode is set"
    );
    host.write_all(&hex("FF0A02008077")).expect("write");
    let dump = read_for(&mut host, 300);
    assert_eq!(dump.len(), 126, "{dump:02X?}");
    assert_eq!(dump[..5], [0xFF, 0x8A, 0x7A, 0x00, 0x78]);
    assert_eq!(dump[..125].iter().fold(0, |a, b| a ^ b), dump[125]);
    host.write_all(&hex("FF040108F2")).expect("write");
    assert_eq!(read_for(&mut host, 100), hex("FF8401007A"));
    drop(host);
    stop(child);

    // CUL: a version line with "CUL", TMODE for brt, nothing for X21.
    let link = temp("cul");
    let child = spawn(&[
        "sim",
        "--dongle",
        "cul",
        "--pty",
        link.to_str().expect("utf-8"),
    ]);
    let mut host = open_link(&link);
    host.write_all(b"V\r\n").expect("write");
    let version = read_for(&mut host, 200);
    assert!(
        version.ends_with(b"\r\n") && String::from_utf8_lossy(&version).contains("CUL"),
        "{version:?}"
    );
    host.write_all(b"brt\r\n").expect("write");
    assert_eq!(read_for(&mut host, 200), b"TMODE\r\n");
    host.write_all(b"X21\r\n").expect("write");
    drop(host);
    stop(child);
}

#[test]
fn a_dongle_config_for_another_stick_or_with_a_bad_meter_is_refused() {
    let config = temp("bad.yaml");
    std::fs::write(
        &config,
        "dongle: cul\nmeters: [ { profile: wmbus-water, id: \"33225544\" } ]\n",
    )
    .expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(["sim", "--dongle", "im871a", "--config"])
        .arg(&config)
        .args(["--stdout", "--count", "1"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cul"),
        "{out:?}"
    );
    std::fs::write(
        &config,
        "meters: [ { profile: wmbus-heat, id: \"43054304\", key: \"12AB\" } ]\n",
    )
    .expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(["sim", "--dongle", "cul", "--config"])
        .arg(&config)
        .args(["--stdout", "--count", "1"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key") && !err.contains("12AB"), "{err}");
    let _ = std::fs::remove_file(&config);
}

fn load(path: &str) -> Scenario {
    let mut all = scenario::load_all(&[root().join(path)], None).expect("scenario loads");
    assert_eq!(all.len(), 1, "{path}");
    all.remove(0)
}

#[test]
fn wireless_scenarios_over_a_pty_match_their_golden_files() {
    let options = RunOptions {
        golden_dir: Some(root().join("golden")),
        transport: Some(Transport::Pty),
        line_timeout: Duration::from_secs(60),
        ..RunOptions::default()
    };
    for dongle in ["im871a", "amb8465", "cul", "rtlwmbus"] {
        let path = format!("scenarios/wmbus/wmbus-{dongle}-quick.yaml");
        let s = load(&path);
        let o = runner::run_scenario(&s, &options).expect("runs");
        assert!(
            o.passed(),
            "{path} over a pty: {:?}",
            o.failures.iter().map(|f| &f.what).collect::<Vec<_>>()
        );
        assert_eq!(o.golden, GoldenStatus::Match, "{path}");
        assert!(o.tally.matched >= 4, "{path}: {:?}", o.tally);
        assert!(o.fault_log.contains("delivered"), "{}", o.fault_log);
    }
}
