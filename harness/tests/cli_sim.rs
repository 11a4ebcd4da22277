//! `meterlab sim` end to end: a reader on the pty or TCP port decodes, with the reference
//! decoder, exactly what the truth log says was sent; the pty link goes on a normal stop and on
//! SIGTERM. Real-time tests, each well under a few seconds, with wide timing margins.
#![cfg(target_os = "linux")]

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meterlab_decoder::dsmr::DsmrDecoder;
use meterlab_decoder::stream::StreamDecoder;
use meterlab_decoder::{Keys, Message, Reading};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("meterlab-cli-{}-{name}", std::process::id()))
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .arg("sim")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterlab starts")
}

fn wait_for(what: &str, within: Duration, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("meterlab sim did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Decodes DSMR from a byte source until `n` readings came out.
fn decode_readings(mut read: impl FnMut(&mut [u8]) -> usize, n: usize) -> Vec<Reading> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut decoder = DsmrDecoder::new(Keys::default());
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let readings: Vec<Reading> = out
            .iter()
            .filter_map(|m| match m {
                Message::Reading(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        if readings.len() >= n {
            return readings;
        }
        assert!(Instant::now() < deadline, "timed out decoding; got {out:?}");
        let got = read(&mut buf);
        decoder.feed(&buf[..got], &mut out);
    }
}

/// The readings of the truth log, by seq.
fn truth(path: &Path) -> Vec<(u64, Reading)> {
    std::fs::read_to_string(path)
        .expect("truth log")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let seq = v["seq"].as_u64().expect("seq");
            let sent_at = v["sent_at"].as_str().expect("sent_at");
            chrono::DateTime::parse_from_rfc3339(sent_at).expect("RFC 3339");
            let reading: Message = serde_json::from_value(v["reading"].clone()).expect("a reading");
            match reading {
                Message::Reading(r) => (seq, r),
                other => panic!("not a reading: {other:?}"),
            }
        })
        .collect()
}

/// Every decoded reading (but a first one cut off by attaching mid-telegram) is in the truth
/// log, in order.
fn assert_decoded_is_truth(decoded: &[Reading], truth_log: &Path) {
    let log = truth(truth_log);
    assert!(!log.is_empty());
    for (i, (seq, _)) in log.iter().enumerate() {
        assert_eq!(*seq, i as u64);
    }
    let mut last = None;
    for r in decoded {
        let (seq, _) = log
            .iter()
            .find(|(_, t)| r.same_data(t) && r == t)
            .unwrap_or_else(|| panic!("decoded {r:#?}\nis not in the truth log {log:#?}"));
        if let Some(l) = last {
            assert!(*seq > l, "in order");
        }
        last = Some(*seq);
    }
}

fn open_pty(link: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlag::O_NOCTTY.bits())
        .open(link)
        .expect("open the link")
}

fn pty_read(file: &mut File, buf: &mut [u8]) -> usize {
    let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::from(100u16)).expect("poll") == 0 {
        return 0;
    }
    file.read(buf).expect("read")
}

#[test]
fn pty_reader_decodes_the_truth_and_sigterm_removes_the_link() {
    let link = temp("p1");
    let truth_log = temp("p1-truth.jsonl");
    let mut child = spawn(&[
        "dsmr-5.0",
        "--pty",
        link.to_str().expect("utf-8"),
        "--interval",
        "200ms",
        "--truth",
        truth_log.to_str().expect("utf-8"),
    ]);
    wait_for("the pty link", Duration::from_secs(5), || {
        std::fs::symlink_metadata(&link).is_ok()
    });
    let target = std::fs::read_link(&link).expect("symlink");
    assert!(target.starts_with("/dev/pts/"), "{target:?}");
    let mut reader = open_pty(&link);
    let decoded = decode_readings(|buf| pty_read(&mut reader, buf), 2);
    drop(reader);
    assert_decoded_is_truth(&decoded, &truth_log);

    kill(
        Pid::from_raw(i32::try_from(child.id()).expect("pid")),
        Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is removed on SIGTERM"
    );
    let _ = std::fs::remove_file(&truth_log);
}

#[test]
fn pty_link_is_removed_after_count() {
    let link = temp("count");
    let mut child = spawn(&[
        "dsmr-5.0",
        "--pty",
        link.to_str().expect("utf-8"),
        "--interval",
        "100ms",
        "--count",
        "2",
    ]);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert!(std::fs::symlink_metadata(&link).is_err());
}

#[test]
fn tcp_reader_decodes_the_truth() {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("addr").port()
    };
    let addr = format!("127.0.0.1:{port}");
    let truth_log = temp("tcp-truth.jsonl");
    let mut child = spawn(&[
        "dsmr-5.0",
        "--tcp",
        &addr,
        "--interval",
        "200ms",
        "--count",
        "4",
        "--truth",
        truth_log.to_str().expect("utf-8"),
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut stream = loop {
        match TcpStream::connect(&addr) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "cannot connect: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let decoded = decode_readings(|buf| stream.read(buf).unwrap_or(0), 1);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert_decoded_is_truth(&decoded, &truth_log);
    let _ = std::fs::remove_file(&truth_log);
}

#[test]
fn sim_lists_profiles_and_rejects_bad_input() {
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(["sim", "--list"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("dsmr-5.0") && text.contains("115200 8N1"));
    assert!(text.contains("mbus-bus") && text.contains("2400 8E1"));

    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(["sim", "no-such-meter", "--stdout", "--count", "1"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));

    let key = "000102030405060708090A0B0C0D0E0F";
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args([
            "sim",
            "dsmr-5.0",
            "--fault",
            "noise: { ber: 7 }",
            "--key",
            key,
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(key));
}

#[test]
fn stdout_hex_with_count_and_a_baud_mismatch() {
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args([
            "sim",
            "dsmr-5.0",
            "--stdout",
            "--hex",
            "--interval",
            "100ms",
            "--count",
            "1",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("2F 49 53 4B"), "{text}");

    // The reader at 9600 baud: what a real UART would give, not the telegram.
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args([
            "sim",
            "dsmr-5.0",
            "--stdout",
            "--baud",
            "9600",
            "--interval",
            "100ms",
            "--count",
            "1",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(!out.stdout.windows(4).any(|w| w == b"ISK5"));
}

#[test]
fn config_runs_several_meters_each_on_its_port() {
    let link = temp("cfg-pty");
    let truth1 = temp("cfg-1.jsonl");
    let truth2 = temp("cfg-2.jsonl");
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("addr").port()
    };
    let config = temp("cfg.yaml");
    std::fs::write(
        &config,
        format!(
            "meters:\n  - profile: dsmr-5.0\n    interval: 100ms\n    pty: {}\n    count: 2\n    truth: {}\n  - profile: dsmr-4.2\n    interval: 100ms\n    tcp: 127.0.0.1:{port}\n    count: 3\n    seed: 9\n    truth: {}\n",
            link.display(),
            truth1.display(),
            truth2.display()
        ),
    )
    .expect("config");
    let mut child = spawn(&["--config", config.to_str().expect("utf-8")]);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert_eq!(truth(&truth1).len(), 2);
    assert_eq!(truth(&truth2).len(), 3);
    assert!(std::fs::symlink_metadata(&link).is_err());
    for f in [truth1, truth2, config] {
        let _ = std::fs::remove_file(f);
    }
}

fn signal(child: &Child, signal: Signal) {
    kill(
        Pid::from_raw(i32::try_from(child.id()).expect("pid")),
        signal,
    )
    .expect("signal sent");
}

fn lock_of(link: &Path) -> PathBuf {
    let mut name = link.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

#[test]
fn sighup_and_sigquit_remove_the_link_like_sigterm() {
    for (name, sig) in [("hup", Signal::SIGHUP), ("quit", Signal::SIGQUIT)] {
        let link = temp(&format!("sig-{name}"));
        let mut child = spawn(&["dsmr-5.0", "--pty", link.to_str().expect("utf-8")]);
        wait_for("the pty link", Duration::from_secs(5), || {
            std::fs::symlink_metadata(&link).is_ok()
        });
        signal(&child, sig);
        let status = wait_exit(&mut child, Duration::from_secs(5));
        assert!(status.success(), "{name}: {status:?}");
        assert!(
            std::fs::symlink_metadata(&link).is_err(),
            "{name}: the link is removed"
        );
        assert!(!lock_of(&link).exists(), "{name}: the lock file is removed");
    }
}

#[test]
fn a_second_sim_never_takes_a_live_link_but_takes_a_stale_one() {
    let link = temp("live");
    let link_arg = link.to_str().expect("utf-8");
    let mut first = spawn(&["dsmr-5.0", "--pty", link_arg]);
    wait_for("the pty link", Duration::from_secs(5), || {
        std::fs::symlink_metadata(&link).is_ok()
    });
    let target = std::fs::read_link(&link).expect("symlink");

    // A second sim on the same link: refused, exit 2, the first one's link untouched.
    let mut second = spawn(&["dsmr-5.0", "--pty", link_arg]);
    let status = wait_exit(&mut second, Duration::from_secs(5));
    assert_eq!(status.code(), Some(2), "{status:?}");
    let err = stderr_of(&mut second);
    assert!(err.contains("running meterlab"), "{err}");
    assert!(
        err.contains(&first.id().to_string()),
        "names the process: {err}"
    );
    assert_eq!(std::fs::read_link(&link).expect("still there"), target);

    // The first one killed without a chance to clean up: its link is stale, and the next sim
    // takes it over with a note.
    signal(&first, Signal::SIGKILL);
    let _ = wait_exit(&mut first, Duration::from_secs(5));
    assert!(
        std::fs::symlink_metadata(&link).is_ok(),
        "SIGKILL leaves the link"
    );
    let mut third = spawn(&["dsmr-5.0", "--pty", link_arg]);
    let third_pid = third.id().to_string();
    // The lock names the new process once it holds it; the link follows.
    wait_for("the new link", Duration::from_secs(5), || {
        std::fs::read_to_string(lock_of(&link)).is_ok_and(|pid| pid.trim() == third_pid)
            && std::fs::read_link(&link).is_ok()
    });
    std::thread::sleep(Duration::from_millis(100));
    signal(&third, Signal::SIGTERM);
    let status = wait_exit(&mut third, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    let err = stderr_of(&mut third);
    assert!(err.contains("taking it over"), "{err}");
    assert!(std::fs::symlink_metadata(&link).is_err());
    assert!(!lock_of(&link).exists());
}

#[test]
fn config_errors_name_the_file_line_and_column() {
    let config = temp("bad-config.yaml");
    let link = temp("config-dup");
    let link = link.to_str().expect("utf-8");
    for (text, wanted) in [
        (
            format!("meters:\n  - profile: dsmr-5.0\n    pty: {link}\n  - profile: nope\n    pty: {link}-2\n"),
            ":4:14: meter 2: `profile`: unknown meter profile \"nope\"".to_string(),
        ),
        (
            format!("meters:\n  - profile: dsmr-5.0\n    pty: {link}\n  - profile: dsmr-4.2\n    pty: {link}\n"),
            format!(":5:10: meter 2: `pty` is the port of meter 1 too ({}:3:10)", config.display()),
        ),
    ] {
        std::fs::write(&config, &text).expect("config written");
        let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
            .args(["sim", "--config", config.to_str().expect("utf-8")])
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("{}{wanted}", config.display())),
            "{err}"
        );
        assert!(std::fs::symlink_metadata(link).is_err(), "no port was opened");
    }
    let _ = std::fs::remove_file(&config);
}
