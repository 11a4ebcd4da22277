//! Every telegram a simulated radio meter sends, through each virtual dongle, comes out in that
//! dongle's framing and unwraps (test-side) to a well-formed link-layer frame of that meter,
//! carrying the access number its truth records; for any seed.

use meterlab_decoder::{Key, Scalar};
use meterlab_sim::clock::{WallClock, NS_PER_S};
use meterlab_sim::wmbus::link::strip_crcs;
use meterlab_sim::wmbus::{
    Air, Dongle, DongleKind, FrameFormat, MeterFaults, RadioFaults, RadioMeter, RadioMode, CATALOG,
};
use meterlab_sim::{Meter, Seed};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The host command that makes `kind` listen to `mode`; `None`: it cannot.
fn setup(kind: DongleKind, mode: RadioMode) -> Option<Vec<u8>> {
    let im = |m: u8| vec![0xA5, 0x01, 0x03, 0x06, 0x00, 0x02, m, 0x30, 0x01, 0x00];
    let amb = |m: u8| vec![0xFF, 0x04, 0x01, m, 0xFF ^ 0x04 ^ 0x01 ^ m];
    Some(match (kind, mode) {
        (DongleKind::Im871a, RadioMode::T1) => im(0x03),
        (DongleKind::Im871a, RadioMode::C1) => im(0x07),
        (DongleKind::Im871a, RadioMode::S1) => im(0x00),
        (DongleKind::Amb8465, RadioMode::T1) => amb(0x08),
        (DongleKind::Amb8465, RadioMode::C1) => amb(0x0E),
        (DongleKind::Amb8465, RadioMode::S1) => amb(0x03),
        (DongleKind::Cul, RadioMode::T1) => b"brt\r\nX21\r\n".to_vec(),
        (DongleKind::Cul, RadioMode::C1) => b"brc\r\nX21\r\n".to_vec(),
        (DongleKind::Cul, RadioMode::S1) => b"brs\r\nX21\r\n".to_vec(),
        (DongleKind::Rtlwmbus, RadioMode::S1) => return None,
        (DongleKind::Rtlwmbus, _) => Vec::new(),
    })
}

/// The CRC-free frame inside one emission of `kind`.
fn unwrap(kind: DongleKind, format: FrameFormat, bytes: &[u8]) -> Vec<u8> {
    match kind {
        DongleKind::Im871a => {
            assert_eq!(&bytes[..3], &[0xA5, 0xC2, 0x03]);
            let len = usize::from(bytes[3]);
            assert_eq!(bytes.len(), 4 + len + 1 + 2);
            let mut f = vec![bytes[3]];
            f.extend_from_slice(&bytes[4..4 + len]);
            f
        }
        DongleKind::Amb8465 => {
            assert_eq!(&bytes[..2], &[0xFF, 0x03]);
            let len = usize::from(bytes[2]);
            assert_eq!(bytes.len(), 3 + len + 1);
            assert_eq!(bytes.iter().fold(0u8, |a, b| a ^ b), 0, "XOR checksum");
            let mut f = vec![bytes[2] - 1];
            f.extend_from_slice(&bytes[3..2 + len]);
            f
        }
        DongleKind::Cul => {
            let line = std::str::from_utf8(bytes).expect("ASCII");
            let body = line.strip_suffix("\r\n").expect("CR LF");
            let body = match format {
                FrameFormat::A => body.strip_prefix('b').expect("b"),
                FrameFormat::B => body.strip_prefix("bY").expect("bY"),
            };
            let air = hex(&body[..body.len() - 4]);
            strip_crcs(format, &air).expect("the CUL passes the CRCs, and they are right")
        }
        DongleKind::Rtlwmbus => {
            let line = std::str::from_utf8(bytes).expect("ASCII");
            let fields: Vec<&str> = line.trim_end().split(';').collect();
            assert_eq!(fields.len(), 8);
            assert_eq!(&fields[1..3], &["1", "1"]);
            hex(fields[7].strip_prefix("0x").expect("0x"))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_telegram_through_every_dongle(seed in any::<u64>(), which in 0..CATALOG.len(), k in 0..4usize) {
        let kind = DongleKind::ALL[k];
        let (_, make) = CATALOG[which];
        let spec = make(10_000_000 + (seed % 80_000_000) as u32, Key::new([0x5A; 16]));
        let Some(command) = setup(kind, spec.mode) else {
            return Ok(());
        };
        let (format, address) = (spec.format, spec.address);
        let meter = RadioMeter::new(spec, WallClock::default(), MeterFaults::default(), Seed(seed));
        let air = Air::new(vec![meter], RadioFaults::default(), Seed(seed).derive("air"));
        let mut d = Dongle::new(kind, air, WallClock::default());
        d.receive(0, &command);
        let mut delivered = 0;
        while let Some(at) = d.next_push_ns() {
            if at > 900 * NS_PER_S {
                break;
            }
            for e in d.push() {
                let frame = unwrap(kind, format, &e.bytes);
                prop_assert_eq!(usize::from(frame[0]) + 1, frame.len());
                prop_assert_eq!(&frame[2..4], &address.manufacturer.to_le_bytes());
                prop_assert_eq!(frame[9], address.medium);
                let truth = &e.truth[0];
                let acc = match &truth.value(if frame[10] == 0x8C || frame[10] == 0x8D { "ell.access_number" } else { "header.access_number" }).map(|v| &v.value) {
                    Some(Scalar::Number(d)) => d.mantissa(),
                    _ => -1,
                };
                let acc_at = if frame[10] == 0x8C || frame[10] == 0x8D { 12 } else { 11 };
                prop_assert_eq!(i128::from(frame[acc_at]), acc);
                delivered += 1;
            }
        }
        prop_assert!(delivered >= 5, "{} telegrams", delivered);
        prop_assert!(d.take_events().iter().all(|e| e.outcome == meterlab_sim::wmbus::radio::Outcome::Delivered));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever a host writes, no stick panics, and every reply is one of its own well-formed
    /// frames (HCI with a valid FCS, Amber with a valid XOR, CUL lines ending CR LF).
    #[test]
    fn any_host_bytes(k in 0..4usize, chunks in proptest::collection::vec(
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            Just(vec![0xA5, 0x01, 0x0F, 0x00]),
            Just(vec![0xA5, 0x01, 0x03, 0x06, 0x00, 0x02, 0x03, 0x30, 0x01, 0x00]),
            Just(vec![0xFF, 0x0A, 0x02, 0x70, 0x20, 0xFF ^ 0x0A ^ 0x02 ^ 0x70 ^ 0x20]),
            Just(vec![0xFF, 0x09, 0x03, 0x77, 0x01, 0x00, 0xFF ^ 0x09 ^ 0x03 ^ 0x77 ^ 0x01]),
            Just(b"V\r\nbrc\r\nX2\r\n".to_vec()),
        ],
        0..12,
    )) {
        let kind = DongleKind::ALL[k];
        let (_, make) = CATALOG[0];
        let meter = RadioMeter::new(
            make(12_345_678, Key::new([0; 16])),
            WallClock::default(),
            MeterFaults::default(),
            Seed(1),
        );
        let mut d = Dongle::new(kind, Air::new(vec![meter], RadioFaults::default(), Seed(2)), WallClock::default());
        let mut now = 0;
        for c in chunks {
            now += 1_000_000;
            for e in d.receive(now, &c) {
                prop_assert!(e.at_ns > now);
                match kind {
                    DongleKind::Im871a => {
                        prop_assert_eq!(e.bytes[0], 0xA5);
                        prop_assert_eq!(e.bytes.len(), 4 + usize::from(e.bytes[3]) + 2);
                    }
                    DongleKind::Amb8465 => {
                        prop_assert_eq!(e.bytes[0], 0xFF);
                        prop_assert_eq!(e.bytes.iter().fold(0u8, |a, b| a ^ b), 0);
                    }
                    DongleKind::Cul => prop_assert!(e.bytes.ends_with(b"\r\n")),
                    DongleKind::Rtlwmbus => prop_assert!(false, "rtl_wmbus never answers"),
                }
            }
        }
    }
}

/// wmbusmeters' start-up against a virtual iM871A on a real pty, in real time: detection,
/// closing and reopening the port, setting T1, then a telegram in HCI framing.
#[cfg(target_os = "linux")]
#[test]
fn im871a_on_a_pty_survives_the_probe_and_delivers() {
    use meterlab_sim::transport::pty::PtyPort;
    use meterlab_sim::transport::{run, SimOptions};
    use meterlab_sim::wmbus::DongleConfig;
    use nix::fcntl::OFlag;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let link = std::env::temp_dir().join(format!("meterlab-{}-im871a", std::process::id()));
    let mut port = PtyPort::create(&link).expect("pty");
    let config: DongleConfig = serde_yaml::from_str(
        "dongle: im871a\nmeters: [{profile: wmbus-water, id: \"33225544\", start_ms: 900}]",
    )
    .expect("config");
    let mut dongle = config.build(WallClock::default(), Seed(3)).expect("dongle");
    let stop = Arc::new(AtomicBool::new(false));
    let stop_meter = Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        run(
            &mut dongle,
            &mut port,
            &SimOptions::default(),
            &stop_meter,
            &mut |_| {},
        )
        .expect("runs")
    });
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(OFlag::O_NOCTTY.bits())
            .open(&link)
            .expect("the host opens the link")
    };
    let read_frame = |f: &mut std::fs::File, within_ms: u64| -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_millis(within_ms);
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            if got.len() >= 4
                && got.len() >= 4 + usize::from(got[3]) + 2 + usize::from(got[1] & 0x40 != 0)
            {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out with {got:02X?}");
            let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX).max(1);
            if poll(&mut fds, PollTimeout::from(ms)).expect("poll") > 0 {
                let n = f.read(&mut buf).expect("read");
                got.extend_from_slice(&buf[..n]);
            }
        }
    };
    // Detection: device info and configuration, each answered well within 100 ms (wide band:
    // the test machine is shared).
    let mut host = open();
    host.write_all(&[0xA5, 0x01, 0x0F, 0x00]).expect("write");
    assert_eq!(
        read_frame(&mut host, 500),
        hex("A581100833001301F13A000053D9")
    );
    host.write_all(&[0xA5, 0x01, 0x05, 0x00]).expect("write");
    assert_eq!(read_frame(&mut host, 500)[..4], [0xA5, 0x81, 0x06, 0x17]);
    // wmbusmeters closes the port after probing and opens it again.
    drop(host);
    let mut host = open();
    host.write_all(&[0xA5, 0x01, 0x03, 0x06, 0x00, 0x02, 0x03, 0x30, 0x01, 0x00])
        .expect("write");
    assert_eq!(read_frame(&mut host, 500), hex("A58104009CF7"));
    let telegram = read_frame(&mut host, 3_000);
    assert_eq!(&telegram[..3], &[0xA5, 0xC2, 0x03]);
    assert_eq!(&telegram[4..11], &hex("44AE4C44552233"));
    stop.store(true, Ordering::Relaxed);
    let summary = handle.join().expect("dongle thread");
    assert!(summary.messages >= 4);
}
