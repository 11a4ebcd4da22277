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

/// Starts a DSMR 5.0 meter on a pty (a telegram every 200 ms, its truth logged, `extra`
/// arguments), reads two telegrams from the pty and checks them against the truth; the meter
/// goes on running.
fn pty_meter_decodes_the_truth(name: &str, extra: &[&str]) -> (Child, PathBuf, PathBuf) {
    let link = temp(name);
    let truth_log = temp(&format!("{name}-truth.jsonl"));
    let mut args = vec![
        "dsmr-5.0",
        "--pty",
        link.to_str().expect("utf-8"),
        "--interval",
        "200ms",
        "--truth",
        truth_log.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let child = spawn(&args);
    wait_for("the pty link", Duration::from_secs(5), || {
        std::fs::symlink_metadata(&link).is_ok()
    });
    let mut reader = open_pty(&link);
    let decoded = decode_readings(|buf| pty_read(&mut reader, buf), 2);
    drop(reader);
    assert_decoded_is_truth(&decoded, &truth_log);
    (child, link, truth_log)
}

#[test]
fn pty_reader_decodes_the_truth_and_sigterm_removes_the_link() {
    let (mut child, link, truth_log) = pty_meter_decodes_the_truth("p1", &[]);
    let target = std::fs::read_link(&link).expect("symlink");
    assert!(target.starts_with("/dev/pts/"), "{target:?}");

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

/// `--realtime`: the meter's timing at real-time priority where the process may (elsewhere a
/// warning and normal priority); its reader decodes the truth either way and it ends after its
/// count.
#[test]
fn a_realtime_meter_on_a_pty_keeps_the_truth() {
    let (mut child, _, truth_log) =
        pty_meter_decodes_the_truth("realtime", &["--count", "3", "--realtime"]);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
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
        "-v",
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
    // The summary counts the readers that connected.
    let err = stderr_of(&mut child);
    assert!(err.contains("4 messages (4 readings)"), "{err}");
    assert!(err.contains("; 1 reader connected;"), "{err}");
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

fn meterlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(args)
        .output()
        .expect("meterlab runs")
}

#[test]
fn sim_logs_one_line_per_message_a_readable_summary_and_a_json_log() {
    let log = temp("events.jsonl");
    let started = Instant::now();
    let out = meterlab(&[
        "sim",
        "kaifa-ma309-evn",
        "--stdout",
        "--count",
        "2",
        "--start",
        "2025-01-15T09:00:00Z",
        "-v",
        "--json-log",
        log.to_str().expect("utf-8"),
    ]);
    let wall = started.elapsed();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // One line per message: number, time on the meter's clock, size, headline values.
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(": #")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("#0 2025-01-15T09:00:00") && lines[0].contains("push, 282 bytes"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("1-0:1.8.0*255="), "{}", lines[0]);
    assert!(lines[1].contains("#1 2025-01-15T09:00:05"), "{}", lines[1]);
    // The summary in words, not a Rust struct.
    assert!(
        err.contains("2 messages (2 readings), 564 bytes written of 564 sent"),
        "{err}"
    );
    assert!(err.contains("faults: none"), "{err}");
    assert!(!err.contains("Summary {"), "{err}");
    // The JSON log: one object per event, then the summary.
    let text = std::fs::read_to_string(&log).expect("the JSON log");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(events.len(), 3, "{text}");
    assert_eq!(events[0]["event"], "message");
    assert_eq!(events[0]["kind"], "push");
    assert_eq!(events[0]["bytes"], 282);
    assert_eq!(events[1]["seq"], 1);
    assert_eq!(
        events[0]["readings"][0]["meter_id"], "181220000009",
        "{text}"
    );
    assert_eq!(events[2]["event"], "summary");
    assert_eq!(events[2]["virtual_time"], true);
    // Virtual time: 5 s of the meter's time, made at once.
    assert!(events[2]["seconds"].as_f64().expect("seconds") >= 5.0);
    assert!(wall < Duration::from_secs(4), "{wall:?}");
    // The profile's key is in neither.
    let key = "36C66639E48A8CA4D6BC8B282A793BBB";
    assert!(!err.to_uppercase().contains(key) && !text.to_uppercase().contains(key));
    let _ = std::fs::remove_file(&log);
}

#[test]
fn stdout_hex_is_one_stable_line_per_message() {
    let args = [
        "sim",
        "kaifa-ma309-evn",
        "--stdout",
        "--hex",
        "--count",
        "3",
        "--start",
        "2025-01-15T09:00:00Z",
    ];
    let first = meterlab(&args);
    assert!(first.status.success());
    let text = String::from_utf8_lossy(&first.stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    // Each push (its two M-Bus frames) on one line of 282 bytes.
    assert_eq!(lines.len(), 3, "{text}");
    for line in &lines {
        assert!(line.starts_with("68 FA FA 68"), "{line}");
        assert_eq!(line.split(' ').count(), 282);
    }
    let again = meterlab(&args);
    assert_eq!(first.stdout, again.stdout, "the same capture every time");
}

#[test]
fn a_capture_of_an_encrypted_profile_decodes_with_its_test_keys() {
    let mut sim = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(["sim", "kaifa-ma309-evn", "--stdout", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sim");
    let out = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(["decode", "--profile-keys", "kaifa-ma309-evn", "-"])
        .stdin(sim.stdout.take().expect("pipe"))
        .output()
        .expect("decode");
    assert!(sim.wait().expect("sim exits").success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(r#""meter_id":"181220000009""#), "{text}");
    assert!(!text.contains("missing_key"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr).to_uppercase();
    assert!(!err.contains("36C66639E48A8CA4D6BC8B282A793BBB"), "{err}");
    // A profile in the clear has no keys to give.
    let out = meterlab(&["decode", "--profile-keys", "dsmr-5.0", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unencrypted"));
}

#[test]
fn profile_tables_fit_their_longest_entry_and_say_which_need_a_key() {
    for args in [&["profiles"][..], &["sim", "--list"][..]] {
        let out = meterlab(args);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("profile") && lines[0].contains("keys"));
        // Every column starts at the same place on every line, iec62056-21 included.
        let columns = |l: &str| -> Vec<usize> {
            let b = l.as_bytes();
            (1..b.len())
                .filter(|&i| b[i] != b' ' && b[i - 1] == b' ' && i >= 2 && b[i - 2] == b' ')
                .take(5)
                .collect()
        };
        let header = columns(lines[0]);
        assert_eq!(header.len(), 5, "{}", lines[0]);
        for line in &lines[1..] {
            assert_eq!(columns(line), header, "{line}");
        }
        let row = |name: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(&format!("{name} ")))
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .expect("a row")
        };
        assert!(row("kaifa-ma309-evn").contains(&"key"));
        assert!(row("kamstrup-han").contains(&"key+auth"));
        assert!(row("dsmr-smarty").contains(&"key+auth"));
        assert!(row("dsmr-5.0").contains(&"none"));
        assert!(row("iec-mode-c").contains(&"iec62056-21"));
    }
    // Without a profile the usage names the alternatives.
    let out = meterlab(&["sim"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("meterlab sim --list") && err.contains("meterlab sim --config"),
        "{err}"
    );
}

#[test]
fn follow_baud_a_reader_that_writes_at_once_is_answered_and_the_reply_logged() {
    use nix::sys::termios::{cfmakeraw, cfsetspeed, tcgetattr, tcsetattr, BaudRate, SetArg};
    use std::io::Write;
    let link = temp("follow-iec");
    let mut child = Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args([
            "sim",
            "iec-mode-c",
            "--pty",
            link.to_str().expect("utf-8"),
            "--follow-baud",
            "--count",
            "1",
            "-v",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sim");
    wait_for("the link", Duration::from_secs(5), || link.exists());
    // As pyserial's Serial(port, 300, 7, 'E') then write(): open, set, write at once.
    let mut reader = open_pty(&link);
    let mut termios = tcgetattr(&reader).expect("termios");
    cfmakeraw(&mut termios);
    cfsetspeed(&mut termios, BaudRate::B300).expect("speed");
    tcsetattr(&reader, SetArg::TCSANOW, &termios).expect("tcsetattr");
    reader.write_all(b"/?!\r\n").expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !got.ends_with(b"\r\n") {
        assert!(Instant::now() < deadline, "no answer: {got:?}");
        let n = pty_read(&mut reader, &mut buf);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"/"), "{:?}", String::from_utf8_lossy(&got));
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success());
    let err = stderr_of(&mut child);
    assert!(
        err.contains("reply") && err.contains("to /?!<CR><LF>"),
        "{err}"
    );
    assert!(err.contains("300 7E1"), "the reader's settings: {err}");
}

#[test]
fn decode_reads_a_pty_at_the_baud_and_format_it_is_given() {
    let link = temp("decode-baud");
    let mut sim = spawn(&[
        "dsmr-2.2",
        "--pty",
        link.to_str().expect("utf-8"),
        "--follow-baud",
        "--interval",
        "300ms",
    ]);
    wait_for("the link", Duration::from_secs(5), || link.exists());
    let read_at = |baud: &str| {
        meterlab(&[
            "decode",
            link.to_str().expect("utf-8"),
            "--baud",
            baud,
            "--format",
            "7E1",
            "--max-seconds",
            "1.5",
            "--protocol",
            "dsmr",
        ])
    };
    let right = read_at("9600");
    let text = String::from_utf8_lossy(&right.stdout).to_string();
    assert!(text.contains(r#""protocol":"dsmr""#), "{text}");
    assert!(text.contains("1-0:1.8.1"), "{text}");
    // At the wrong rate: what a real UART would give, no reading.
    let wrong = read_at("115200");
    assert!(
        !String::from_utf8_lossy(&wrong.stdout).contains("1-0:1.8.1"),
        "{}",
        String::from_utf8_lossy(&wrong.stdout)
    );
    signal(&sim, Signal::SIGTERM);
    wait_exit(&mut sim, Duration::from_secs(5));
    // --baud is for ports only.
    let out = meterlab(&["decode", "--baud", "2400", "-"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn readme_documents_the_test_keys_of_every_encrypted_profile() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let section = readme
        .split("### Test keys")
        .nth(1)
        .expect("a Test keys section");
    let mut encrypted = 0;
    for p in meterlab_sim::profile::catalogue() {
        let Some(key) = p.test_key else { continue };
        encrypted += 1;
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", p.name)))
            .unwrap_or_else(|| panic!("no row for {}", p.name));
        assert!(row.contains(key), "{row}");
        if let Some(auth) = p.test_auth_key {
            assert!(row.contains(auth), "{row}");
        }
    }
    assert!(encrypted >= 7);
}
