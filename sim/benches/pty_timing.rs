//! Real-time pacing of virtual meters on ptys (`cargo bench -p meterlab-sim --bench
//! pty_timing`; Linux).
//!
//! Each case runs meters with the transport driver (`transport::run`) on ptys for about 1.5 s,
//! and a reader thread per pty that time-stamps every `read` on the slave side. The figures
//! printed are the inter-byte timing error, `gap between consecutive received bytes − character
//! time`, p50 and p99 in µs (gaps longer than 50 character times are pauses between messages and
//! are left out), and p99 of `|error|` against one character time. Bytes returned by one `read`
//! share a time stamp; the driver writes the bytes due within about 1 ms together, so at 115200
//! baud (87 µs per character) most gaps are 0 or about 1 ms. divan's own figure is the wall time
//! of a case.

#[cfg(unix)]
mod timing {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use meterlab_sim::transport::pty::PtyPort;
    use meterlab_sim::transport::serial::SerialPort;
    use meterlab_sim::transport::{self, Port, SimOptions};
    use meterlab_sim::{MeterSpec, Seed};

    /// How long each case runs its meters.
    pub const RUN: Duration = Duration::from_millis(1500);

    fn link() -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        std::env::temp_dir().join(format!(
            "meterlab-bench-pty-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Timing errors of one case, in µs.
    #[derive(Debug)]
    pub struct Figures {
        pub char_us: f64,
        pub gaps: usize,
        pub p50_us: f64,
        pub p99_us: f64,
        pub p99_abs_us: f64,
    }

    fn percentile(sorted: &[f64], q: f64) -> f64 {
        let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
        sorted.get(i).copied().unwrap_or(f64::NAN)
    }

    /// Runs `meters` meters of `profile` pushing every `interval` on ptys for [`RUN`].
    pub fn case(profile: &str, interval: &str, meters: usize) -> Figures {
        let mut spec = MeterSpec::new(profile);
        spec.interval = Some(interval.into());
        let mut runs = Vec::new();
        for i in 0..meters {
            let meter = spec.build(Seed(i as u64 + 1)).expect("meter");
            let port = PtyPort::create(&link()).expect("pty");
            let slave = port.slave_path().display().to_string();
            let reader = SerialPort::open(&slave, &meter.uart()).expect("open the slave");
            runs.push((meter, port, reader));
        }
        let char_ns = runs
            .first()
            .map(|(m, _, _)| m.uart().char_time_ns())
            .unwrap_or(1.0);
        let stop = AtomicBool::new(false);
        let errors = Mutex::new(Vec::<f64>::new());
        std::thread::scope(|s| {
            for (mut meter, mut port, mut reader) in runs {
                let stop = &stop;
                let errors = &errors;
                s.spawn(move || {
                    transport::run(
                        &mut *meter,
                        &mut port,
                        &SimOptions::default(),
                        stop,
                        &mut |_| {},
                    )
                    .expect("driver");
                });
                s.spawn(move || {
                    let mut buf = [0u8; 4096];
                    let mut last: Option<Instant> = None;
                    let mut mine = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        // Once the driver has stopped and closed the master, reads fail: done.
                        let Ok(n) = reader.read(&mut buf, Duration::from_millis(20)) else {
                            break;
                        };
                        let now = Instant::now();
                        for k in 0..n {
                            if let Some(prev) = last {
                                let gap = if k == 0 {
                                    now.duration_since(prev).as_nanos() as f64
                                } else {
                                    0.0
                                };
                                if gap < 50.0 * char_ns {
                                    mine.push((gap - char_ns) / 1000.0);
                                }
                            }
                            last = Some(now);
                        }
                    }
                    errors.lock().expect("lock").extend(mine);
                });
            }
            std::thread::sleep(RUN);
            stop.store(true, Ordering::Relaxed);
        });
        let mut e = errors.into_inner().expect("lock");
        e.sort_by(f64::total_cmp);
        let mut abs: Vec<f64> = e.iter().map(|x| x.abs()).collect();
        abs.sort_by(f64::total_cmp);
        Figures {
            char_us: char_ns / 1000.0,
            gaps: e.len(),
            p50_us: percentile(&e, 0.5),
            p99_us: percentile(&e, 0.99),
            p99_abs_us: percentile(&abs, 0.99),
        }
    }

    pub fn print(what: &str, f: &Figures) {
        let verdict = if f.p99_abs_us < f.char_us {
            "p99 below one character time"
        } else {
            "p99 NOT below one character time"
        };
        println!(
            "{what}: char {:.0} us, {} gaps, error p50 {:+.0} us, p99 {:+.0} us, |error| p99 {:.0} us: {verdict}",
            f.char_us, f.gaps, f.p50_us, f.p99_us, f.p99_abs_us
        );
    }
}

fn main() {
    divan::main();
}

/// One DSMR 5.0 meter at 115200 8N1 (a telegram every 100 ms).
#[cfg(unix)]
#[divan::bench(sample_count = 1, sample_size = 1)]
fn gap_error_115200() {
    let f = timing::case("dsmr-5.0", "100ms", 1);
    timing::print("115200 baud, 1 meter", &f);
}

/// One DLMS meter at 2400 8E1 (a push every 500 ms: the line is nearly always busy).
#[cfg(unix)]
#[divan::bench(sample_count = 1, sample_size = 1)]
fn gap_error_2400() {
    let f = timing::case("aidon-han", "500ms", 1);
    timing::print("2400 baud, 1 meter", &f);
}

/// Concurrent meters at 2400 8E1, each on its own pty with its own reader.
#[cfg(unix)]
#[divan::bench(args = [1, 4, 16, 32], sample_count = 1, sample_size = 1)]
fn concurrent_meters_2400(meters: usize) {
    let f = timing::case("aidon-han", "500ms", meters);
    timing::print(&format!("2400 baud, {meters} meters"), &f);
}

/// Concurrent meters at 115200 8N1.
#[cfg(unix)]
#[divan::bench(args = [1, 4, 16, 32], sample_count = 1, sample_size = 1)]
fn concurrent_meters_115200(meters: usize) {
    let f = timing::case("dsmr-5.0", "100ms", meters);
    timing::print(&format!("115200 baud, {meters} meters"), &f);
}
