//! Virtual meters in real time on a pty and in memory: the pty's lifecycle, raw mode, readers
//! that come and go, request/response over the pty, and serial pacing.
//!
//! Real-time tests: each takes well under two seconds and checks timing only within wide bands.
#![cfg(target_os = "linux")]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use meterlab_sim::transport::pty::PtyPort;
use meterlab_sim::transport::{run, MemoryPort, SimOptions, Summary};
use meterlab_sim::{MeterSpec, Seed};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

fn link(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("meterlab-{}-{name}", std::process::id()))
}

fn open_reader(link: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlag::O_NOCTTY.bits())
        .open(link)
        .expect("the reader opens the link")
}

/// Reads until `done` says so or the deadline passes.
fn read_until(reader: &mut File, within: Duration, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !done(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out; got {:?}",
            String::from_utf8_lossy(&got)
        );
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX).max(1);
        let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(ms)).expect("poll") == 0 {
            continue;
        }
        let n = reader.read(&mut buf).expect("read");
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// A complete DSMR telegram: `/` … `!` + 4 hex digits + CR LF.
fn has_telegram(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .position(|&b| b == b'/')
        .and_then(|s| bytes[s..].iter().position(|&b| b == b'!').map(|e| s + e))
        .is_some_and(|bang| bytes.len() >= bang + 7)
}

fn spawn_meter(
    spec: MeterSpec,
    mut port: PtyPort,
    options: SimOptions,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Summary> {
    std::thread::spawn(move || {
        let mut meter = spec.build(Seed(5)).expect("meter");
        run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs")
        // The port is dropped here: the link goes.
    })
}

#[test]
fn pty_lifecycle_raw_mode_and_readers_that_come_back() {
    let link = link("p1");
    let port = PtyPort::create(&link).expect("pty");
    let target = std::fs::read_link(&link).expect("a symlink");
    assert!(
        target.starts_with("/dev/pts/"),
        "points at a pts device: {target:?}"
    );
    assert_eq!(target, port.slave_path());
    let mut spec = MeterSpec::new("dsmr-5.0");
    spec.interval = Some("100ms".into());
    let stop = Arc::new(AtomicBool::new(false));
    let handle = spawn_meter(spec, port, SimOptions::default(), Arc::clone(&stop));

    let mut reader = open_reader(&link);
    let first = read_until(&mut reader, Duration::from_secs(3), has_telegram);
    // Raw mode: CR LF arrive unchanged (no ICRNL, no ONLCR).
    assert!(first.windows(2).any(|w| w == b"\r\n"));
    assert!(!first.windows(2).any(|w| w == b"\r\r" || w == b"\n\n"));
    assert!(first.windows(2).all(|w| w[1] != b'\n' || w[0] == b'\r'));
    // No echo: what the reader writes does not come back.
    reader.write_all(b"ECHO?\r\n").expect("write");
    drop(reader);

    std::thread::sleep(Duration::from_millis(150));
    let mut again = open_reader(&link);
    let later = read_until(&mut again, Duration::from_secs(3), |b| {
        b.windows(2).filter(|w| w == b"\r\n").count() > 0 && has_telegram(b)
    });
    assert!(!later.windows(5).any(|w| w == b"ECHO?"));
    drop(again);

    stop.store(true, Ordering::Relaxed);
    let summary = handle.join().expect("meter thread");
    assert!(summary.messages >= 2, "{summary:?}");
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is removed when the sim stops"
    );
}

#[test]
fn a_stale_link_is_replaced_and_a_file_is_not() {
    let stale = link("stale");
    std::os::unix::fs::symlink("/nonexistent", &stale).expect("symlink");
    let port = PtyPort::create(&stale).expect("replaces a stale link");
    assert_eq!(std::fs::read_link(&stale).expect("link"), port.slave_path());
    drop(port);
    assert!(std::fs::symlink_metadata(&stale).is_err());

    let file = link("file");
    std::fs::write(&file, b"x").expect("file");
    assert!(PtyPort::create(&file).is_err());
    std::fs::remove_file(&file).expect("cleanup");
}

#[test]
fn a_live_link_is_never_taken_over() {
    let shared = link("live");
    let first = PtyPort::create(&shared).expect("first port");
    let lock = meterlab_sim::transport::pty::lock_path(&shared);
    let pid = std::fs::read_to_string(&lock).expect("lock file");
    assert_eq!(pid.trim(), std::process::id().to_string());
    let err = PtyPort::create(&shared).expect_err("the link is live");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains("running meterlab"), "{err}");
    // The live port's link and lock are untouched.
    assert_eq!(
        std::fs::read_link(&shared).expect("link"),
        first.slave_path()
    );
    assert!(lock.exists());
    drop(first);
    assert!(std::fs::symlink_metadata(&shared).is_err());
    assert!(!lock.exists(), "the lock file goes with the port");
    let again = PtyPort::create(&shared).expect("free again");
    assert_eq!(
        std::fs::read_link(&shared).expect("link"),
        again.slave_path()
    );
}

#[test]
fn mbus_slave_answers_snd_nke_over_the_pty() {
    let link = link("mbus");
    let port = PtyPort::create(&link).expect("pty");
    let stop = Arc::new(AtomicBool::new(false));
    let options = SimOptions {
        count: Some(1),
        ..SimOptions::default()
    };
    let handle = spawn_meter(
        MeterSpec::new("mbus-heat"),
        port,
        options,
        Arc::clone(&stop),
    );
    let mut reader = open_reader(&link);
    // SND_NKE to primary address 0: 10 40 00 40 16.
    reader
        .write_all(&[0x10, 0x40, 0x00, 0x40, 0x16])
        .expect("write");
    let reply = read_until(&mut reader, Duration::from_secs(3), |b| !b.is_empty());
    assert_eq!(reply, [0xE5]);
    let summary = handle.join().expect("meter thread");
    assert_eq!(summary.messages, 1);
    assert!(std::fs::symlink_metadata(&link).is_err());
}

#[test]
fn iec_meter_answers_a_request_over_the_pty() {
    let link = link("iec");
    let port = PtyPort::create(&link).expect("pty");
    let stop = Arc::new(AtomicBool::new(false));
    let mut spec = MeterSpec::new("iec-mode-c");
    spec.options.set("reaction_ms", 200);
    let handle = spawn_meter(spec, port, SimOptions::default(), Arc::clone(&stop));
    let mut reader = open_reader(&link);
    let sent = Instant::now();
    reader.write_all(b"/?!\r\n").expect("write");
    // The identification `/XXXZ…\r\n` at 300 baud 7E1.
    let id = read_until(&mut reader, Duration::from_secs(4), |b| {
        b.ends_with(b"\r\n")
    });
    let took = sent.elapsed();
    assert!(id.starts_with(b"/"), "{:?}", String::from_utf8_lossy(&id));
    // Reaction time + the characters at 300 baud (33.3 ms each).
    let min = Duration::from_millis(200) + Duration::from_micros(33_333 * id.len() as u64);
    assert!(
        took >= min.mul_f64(0.9) && took < min + Duration::from_millis(1500),
        "{took:?} for {} bytes",
        id.len()
    );
    stop.store(true, Ordering::Relaxed);
    handle.join().expect("meter thread");
}

#[test]
fn a_2400_baud_push_is_paced_like_the_wire() {
    let mut spec = MeterSpec::new("kaifa-ma309-evn");
    spec.options.set("segment_gap", "0s");
    let mut meter = spec.build(Seed(2)).expect("meter");
    let mut port = MemoryPort::new();
    let options = SimOptions {
        count: Some(1),
        ..SimOptions::default()
    };
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let mut readings = 0;
    run(&mut *meter, &mut port, &options, &stop, &mut |_| {
        readings += 1
    })
    .expect("runs");
    let total = started.elapsed();
    let bytes = port.bytes().len();
    assert!(bytes > 100, "{bytes} bytes");
    assert_eq!(readings, 1);
    let first = port.writes.first().expect("writes").0;
    let last = port.writes.last().expect("writes").0;
    // 11 bits a character (8E1) at 2400 baud.
    let wire = Duration::from_secs_f64(bytes as f64 * 11.0 / 2400.0);
    let spread = last - first;
    assert!(
        spread >= wire.mul_f64(0.85) && spread <= wire + Duration::from_millis(500),
        "{bytes} bytes written over {spread:?}, wire time {wire:?}"
    );
    assert!(total < wire + Duration::from_secs(1), "{total:?}");
    // Many writes: paced, not one burst.
    assert!(
        port.writes.len() > bytes / 20,
        "{} writes",
        port.writes.len()
    );
}

/// Runs one DSMR 5.0 telegram to a reader that set `baud` on its side of a pty whose driver
/// follows the reader's baud; returns the summary and what the reader got.
fn one_telegram_read_at(baud: u32) -> (Summary, Vec<u8>) {
    use meterlab_sim::transport::serial::SerialPort;
    use meterlab_sim::transport::Port;
    use nix::sys::termios::{cfsetspeed, tcgetattr, tcsetattr, BaudRate, SetArg};
    let link = link(&format!("follow-{baud}"));
    let mut port = PtyPort::create(&link).expect("pty");
    let mut spec = MeterSpec::new("dsmr-5.0");
    spec.interval = Some("100ms".into());
    let mut meter = spec.build(Seed(3)).expect("meter");
    port.follow_reader_baud(meter.uart());
    // The reader sets its baud rate the POSIX way (as pyserial does) before the meter starts.
    let mut reader = SerialPort::open(
        &port.slave_path().display().to_string(),
        &"9600 8N1".parse().expect("settings"),
    )
    .expect("the reader opens the pty");
    let slave = open_reader(&link);
    let mut termios = tcgetattr(&slave).expect("termios");
    let rate = match baud {
        9600 => BaudRate::B9600,
        _ => BaudRate::B115200,
    };
    cfsetspeed(&mut termios, rate).expect("speed");
    tcsetattr(&slave, SetArg::TCSANOW, &termios).expect("tcsetattr");
    assert_eq!(
        port.baud(),
        Some(baud),
        "the master sees the slave's baud rate"
    );
    let options = SimOptions {
        count: Some(1),
        ..SimOptions::default()
    };
    let stop = AtomicBool::new(false);
    let summary = run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = reader
            .read(&mut buf, Duration::from_millis(50))
            .expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    (summary, got)
}

#[test]
fn a_pty_can_follow_the_baud_rate_the_reader_sets() {
    let (right, got) = one_telegram_read_at(115_200);
    assert_eq!(right.rx_framing_errors, 0, "{right:?}");
    assert_eq!(got.len() as u64, right.sent_bytes);
    assert!(has_telegram(&got));
    // The same meter read by a reader that set 9600: what a real UART at 9600 would give.
    let (wrong, got) = one_telegram_read_at(9600);
    assert!(wrong.rx_framing_errors > 0, "{wrong:?}");
    assert!(got.len() < 200, "{} bytes", got.len());
    assert!(!got.windows(4).any(|w| w == b"1-0:"));
}

/// Opens the link as a reader program does and, without any pause, sets `baud` (raw, the rest
/// of the settings as they are) and writes `request`: the first bytes of a reader that writes
/// within a millisecond of opening its port (pyserial's `Serial(port, 300, 7, 'E')` then
/// `write`).
fn open_set_and_write(link: &Path, baud: nix::sys::termios::BaudRate, request: &[u8]) -> File {
    use nix::sys::termios::{cfmakeraw, cfsetspeed, tcgetattr, tcsetattr, SetArg};
    let opened = Instant::now();
    let mut reader = open_reader(link);
    let mut termios = tcgetattr(&reader).expect("termios");
    cfmakeraw(&mut termios);
    cfsetspeed(&mut termios, baud).expect("speed");
    tcsetattr(&reader, SetArg::TCSANOW, &termios).expect("tcsetattr");
    reader.write_all(request).expect("write");
    assert!(
        opened.elapsed() < Duration::from_millis(5),
        "the request follows the open at once ({:?})",
        opened.elapsed()
    );
    reader
}

/// A meter on a pty that follows the reader's baud rate.
fn following_meter(name: &str, spec: MeterSpec) -> (PathBuf, Arc<AtomicBool>, JoinHandle<Summary>) {
    let link = link(name);
    let mut port = PtyPort::create(&link).expect("pty");
    let uart = spec.build(Seed(5)).expect("meter").uart();
    port.follow_reader_baud(uart);
    let stop = Arc::new(AtomicBool::new(false));
    let handle = spawn_meter(spec, port, SimOptions::default(), Arc::clone(&stop));
    // The driver is running before the reader opens.
    std::thread::sleep(Duration::from_millis(50));
    (link, stop, handle)
}

#[test]
fn follow_baud_a_reader_that_writes_at_once_is_answered_in_every_iec_mode() {
    use nix::sys::termios::BaudRate;
    for profile in [
        "iec-mode-a",
        "iec-mode-b",
        "iec-mode-c",
        "iec-mode-c-programming",
        "iec-mode-e",
    ] {
        let (link, stop, handle) = following_meter(profile, MeterSpec::new(profile));
        let mut reader = open_set_and_write(&link, BaudRate::B300, b"/?!\r\n");
        let id = read_until(&mut reader, Duration::from_secs(4), |b| {
            b.ends_with(b"\r\n")
        });
        assert!(
            id.starts_with(b"/") && id.len() > 6,
            "{profile}: {:?}",
            String::from_utf8_lossy(&id)
        );
        stop.store(true, Ordering::Relaxed);
        let summary = handle.join().expect("meter thread");
        assert_eq!(summary.rx_framing_errors, 0, "{profile}: {summary:?}");
        assert!(summary.messages >= 1, "{profile}: {summary:?}");
    }
}

#[test]
fn follow_baud_a_mode_c_reader_that_writes_at_once_reads_the_data_after_the_switch() {
    use nix::sys::termios::{cfsetspeed, tcgetattr, tcsetattr, BaudRate, SetArg};
    let (link, stop, handle) = following_meter("iec-c-full", MeterSpec::new("iec-mode-c"));
    let mut reader = open_set_and_write(&link, BaudRate::B300, b"/?!\r\n");
    let id = read_until(&mut reader, Duration::from_secs(4), |b| {
        b.ends_with(b"\r\n")
    });
    // The baud character of the identification: `5` is 9600.
    assert_eq!(id.get(4), Some(&b'5'), "{:?}", String::from_utf8_lossy(&id));
    reader.write_all(b"\x06050\r\n").expect("option select");
    // The ACK's six characters at 300 baud take 200 ms; then the reader switches as the
    // meter does.
    std::thread::sleep(Duration::from_millis(230));
    let mut termios = tcgetattr(&reader).expect("termios");
    cfsetspeed(&mut termios, BaudRate::B9600).expect("speed");
    tcsetattr(&reader, SetArg::TCSANOW, &termios).expect("tcsetattr");
    let data = read_until(&mut reader, Duration::from_secs(4), |b| {
        b.iter()
            .position(|&c| c == 0x03)
            .is_some_and(|e| b.len() > e + 1)
    });
    assert_eq!(data.first(), Some(&0x02), "STX");
    assert!(data.windows(2).any(|w| w == b"\r\n"));
    stop.store(true, Ordering::Relaxed);
    let summary = handle.join().expect("meter thread");
    assert_eq!(summary.rx_framing_errors, 0, "{summary:?}");
    assert_eq!(summary.rx_parity_errors, 0, "{summary:?}");
}

#[test]
fn follow_baud_an_mbus_master_that_writes_at_once_is_answered() {
    use nix::sys::termios::BaudRate;
    let (link, stop, handle) = following_meter("mbus-follow", MeterSpec::new("mbus-heat"));
    // SND_NKE to primary address 0, then REQ_UD2.
    let mut reader = open_set_and_write(&link, BaudRate::B2400, &[0x10, 0x40, 0x00, 0x40, 0x16]);
    let ack = read_until(&mut reader, Duration::from_secs(3), |b| !b.is_empty());
    assert_eq!(ack, [0xE5]);
    reader
        .write_all(&[0x10, 0x5B, 0x00, 0x5B, 0x16])
        .expect("REQ_UD2");
    let rsp = read_until(&mut reader, Duration::from_secs(4), |b| {
        b.len() > 4 && b.len() >= usize::from(b[1]) + 6
    });
    assert_eq!(rsp[0], 0x68, "a long frame");
    assert_eq!(rsp.last(), Some(&0x16));
    stop.store(true, Ordering::Relaxed);
    let summary = handle.join().expect("meter thread");
    assert_eq!(summary.messages, 2, "{summary:?}");
}

#[test]
fn follow_baud_a_reader_that_writes_before_setting_anything_gets_what_a_uart_would() {
    // The pty starts at 38400: a request written at that rate reaches a 300-baud meter as
    // garbage (framing errors), and the meter does not answer.
    let (link, stop, handle) = following_meter("iec-unset", MeterSpec::new("iec-mode-c"));
    let mut reader = open_reader(&link);
    reader.write_all(b"/?!\r\n").expect("write");
    std::thread::sleep(Duration::from_millis(1500));
    let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
    let ready = poll(&mut fds, PollTimeout::from(0u16)).expect("poll");
    assert_eq!(ready, 0, "no answer to a request at the wrong rate");
    stop.store(true, Ordering::Relaxed);
    let summary = handle.join().expect("meter thread");
    assert_eq!(summary.messages, 0, "{summary:?}");
}

#[test]
fn follow_baud_a_mode_d_reader_that_sets_its_rate_at_once_reads_the_push() {
    use nix::sys::termios::{cfmakeraw, cfsetspeed, tcgetattr, tcsetattr, BaudRate, SetArg};
    let mut spec = MeterSpec::new("iec-mode-d");
    spec.interval = Some("300ms".into());
    let (link, stop, handle) = following_meter("iec-d", spec);
    // Mode D only pushes: the reader opens, sets 9600 and reads (the pty starts at 38400).
    let mut reader = open_reader(&link);
    let mut termios = tcgetattr(&reader).expect("termios");
    cfmakeraw(&mut termios);
    cfsetspeed(&mut termios, BaudRate::B9600).expect("speed");
    tcsetattr(&reader, SetArg::TCSANOW, &termios).expect("tcsetattr");
    let got = read_until(&mut reader, Duration::from_secs(4), |b| {
        b.iter()
            .position(|&c| c == b'/')
            .is_some_and(|s| b[s..].windows(3).any(|w| w == b"!\r\n"))
    });
    let start = got.iter().position(|&c| c == b'/').expect("a start");
    assert!(
        got[start..].windows(2).filter(|w| w == b"\r\n").count() > 3,
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    stop.store(true, Ordering::Relaxed);
    let summary = handle.join().expect("meter thread");
    assert!(summary.messages >= 1, "{summary:?}");
}

/// A few scheduler threads for many meters: every meter's telegrams arrive whole on its own pty,
/// a request/response meter on a TCP port of the same fleet answers its client, and the
/// summaries come back in the members' order.
#[test]
fn a_fleet_runs_many_meters_on_a_few_scheduler_threads() {
    use meterlab_sim::transport::fleet::{self, Member};
    use meterlab_sim::transport::tcp::TcpPort;
    use std::sync::Mutex;

    const PTYS: usize = 6;
    let mut spec = MeterSpec::new("dsmr-5.0");
    spec.interval = Some("50ms".into());
    let mut members = Vec::new();
    let mut readers = Vec::new();
    let mut links = Vec::new();
    let readings = Arc::new(Mutex::new(vec![0u64; PTYS + 1]));
    for i in 0..PTYS {
        let link = link(&format!("fleet-{i}"));
        let port = PtyPort::create(&link).expect("pty");
        readers.push(open_reader(&link));
        links.push(link);
        let r = Arc::clone(&readings);
        members.push(Member {
            meter: spec.build(Seed(i as u64 + 1)).expect("meter"),
            port: Box::new(port),
            // Until stopped: a meter that is done closes its port, and what its reader has
            // not read yet goes with it.
            options: SimOptions::default(),
            observer: Box::new(move |_| r.lock().expect("lock")[i] += 1),
            events: Box::new(|_| {}),
        });
    }
    let tcp = TcpPort::bind("127.0.0.1:0").expect("tcp port");
    let addr = tcp.local_addr();
    members.push(Member {
        meter: MeterSpec::new("mbus-heat").build(Seed(1)).expect("meter"),
        port: Box::new(tcp),
        options: SimOptions {
            count: Some(2),
            ..SimOptions::default()
        },
        observer: Box::new(|_| {}),
        events: Box::new(|_| {}),
    });
    let stop = AtomicBool::new(false);
    let (summaries, got, answer) = std::thread::scope(|s| {
        let fleet = s.spawn(|| {
            fleet::run(
                members,
                fleet::Scheduling {
                    threads: 2,
                    realtime: false,
                },
                &stop,
            )
        });
        // The M-Bus client: SND_NKE (answered with E5), then REQ_UD2 (a data frame).
        let client = s.spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            std::thread::sleep(Duration::from_millis(100));
            stream
                .write_all(&[0x10, 0x40, 0x00, 0x40, 0x16])
                .expect("send");
            let mut got = Vec::new();
            let mut buf = [0u8; 512];
            let deadline = Instant::now() + Duration::from_secs(3);
            while got.is_empty() && Instant::now() < deadline {
                if let Ok(n) = stream.read(&mut buf) {
                    got.extend_from_slice(&buf[..n]);
                }
            }
            stream
                .write_all(&[0x10, 0x7B, 0x00, 0x7B, 0x16])
                .expect("send");
            let deadline = Instant::now() + Duration::from_secs(3);
            while got.last() != Some(&0x16) && Instant::now() < deadline {
                if let Ok(n) = stream.read(&mut buf) {
                    got.extend_from_slice(&buf[..n]);
                }
            }
            got
        });
        // Each reader reads as its meter writes (a meter that is done closes its port).
        let readers: Vec<_> = readers
            .iter_mut()
            .map(|r| {
                s.spawn(move || {
                    read_until(r, Duration::from_secs(5), |b| {
                        b.iter().filter(|&&c| c == b'!').count() >= 2 && b.ends_with(b"\r\n")
                    })
                })
            })
            .collect();
        let got: Vec<Vec<u8>> = readers
            .into_iter()
            .map(|r| r.join().expect("reader"))
            .collect();
        let answer = client.join().expect("client");
        stop.store(true, Ordering::Relaxed);
        let summaries = fleet.join().expect("fleet");
        (summaries, got, answer)
    });
    assert_eq!(summaries.len(), PTYS + 1);
    for (i, s) in summaries.iter().take(PTYS).enumerate() {
        let s = s.as_ref().expect("runs");
        assert!(s.messages >= 2, "meter {i}: {s:?}");
        assert!(s.bytes as usize >= got[i].len(), "meter {i}: {s:?}");
        assert!(has_telegram(&got[i]), "meter {i}");
    }
    assert!(readings.lock().expect("lock")[..PTYS]
        .iter()
        .all(|&n| n >= 2));
    let mbus = summaries[PTYS].as_ref().expect("runs");
    assert_eq!(mbus.messages, 2, "{mbus:?}");
    assert_eq!(answer.first(), Some(&0xE5), "{answer:02X?}");
    assert_eq!(answer.get(1), Some(&0x68), "a long frame: {answer:02X?}");
    for l in links {
        assert!(!l.exists(), "the link goes with its port");
    }
}
