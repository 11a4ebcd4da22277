//! Real-time pacing of virtual meters on ptys (`cargo bench -p meterlab-sim --bench
//! pty_timing`; Linux). See `docs/timing.md` for figures.
//!
//! Each case runs N meters on N ptys for about 1.5 s, in one of four modes: `Fleet`, all meters
//! on the shared scheduler (`transport::fleet::run`, a thread per core, a timer heap and
//! `poll(2)`); or `Threads`, the way before the scheduler, a driver thread per meter
//! (`transport::run`); `FleetRealtime`, the scheduler at real-time priority; `Floor`, no
//! meterlab, the machine's floor. In all, one reader thread waits with `epoll(7)` on every pty's
//! slave side and time-stamps every `read` (until 2026-12-04 the bench had a reader thread per
//! pty, until 2026-12-05 one that called `poll(2)` on all ptys for each wake-up, which was the
//! limit at 115200 baud). The driver writes each character on its own, at the time its stop bit
//! would arrive on a real line. The figures printed are the inter-byte timing
//! error, `gap between consecutive received bytes − character time`, in µs: p50 and p99 of the
//! signed error (positive: the byte arrived later than one character time after the previous
//! one) and p99 of `|error|`. Gaps longer than 50 character times are pauses between messages
//! and are left out. Bytes returned by one `read` share a time stamp, so two bytes merged into
//! one read give a gap of 0, an error of exactly −1 character time. The error is end to end: it
//! includes the reader's own wake-up latency, as a real reader process would see it. divan's own
//! figure is the wall time of a case.
//!
//! `tcp_fleet_memory_1000` runs 1,000 meters behind TCP ports on the scheduler, each with a
//! connected client, and prints the peak resident memory per meter.
//!
//! **Criterion.** A case is *within one character time* when both
//! - the p99 of the signed error (the late side) is at most one character time, and
//! - the p99 of `|error|` is at most one character time, with 1 µs of tolerance: a merged read
//!   gives exactly −1 character time, which is within.
//!
//! The `max_concurrent_meters_*` benches search for the largest number of concurrent meters
//! within one character time: N = 1, 2, 4, … up to a cap, stopping at the first failing N,
//! then a few bisection cases between the last passing and the first failing N (the whole search
//! is kept to a few minutes). Each N is judged by the majority of up to three runs (two that
//! agree, or a third to decide), so that one run disturbed by the machine neither ends the
//! search early nor carries it past the limit. A pty, reader or thread that cannot be created
//! ends the search as a failure ("pty limit", "thread limit") instead of a panic. Timing depends
//! on the machine and its load, and the limit found still varies a little run to run.

#[cfg(target_os = "linux")]
mod timing {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use std::fs::File;
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;

    use meterlab_sim::transport::fleet::{self, Member};
    use meterlab_sim::transport::pty::PtyPort;
    use meterlab_sim::transport::serial::SerialPort;
    use meterlab_sim::transport::tcp::TcpPort;
    use meterlab_sim::transport::{self, Port, SimOptions};
    use meterlab_sim::{MeterSpec, Seed};
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

    /// How the meters are driven.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Mode {
        /// A driver thread per meter (`transport::run`): the way before the scheduler.
        Threads,
        /// One scheduler for all meters (`transport::fleet::run`, a thread per core).
        Fleet,
        /// The same at real-time priority (`meterlab sim --realtime`), and the reader thread
        /// too: what other work on the machine no longer delays.
        FleetRealtime,
        /// No meterlab, the machine's floor: one thread at real-time priority writes a byte to
        /// every pty each character time, sleeping until the next (the same reader). What this
        /// misses, no scheduler of meters can meet on the machine.
        Floor,
    }

    /// How long each case runs its meters.
    pub const RUN: Duration = Duration::from_millis(1500);

    /// Wall time the search of one `max_concurrent_meters_*` bench may take.
    pub const SEARCH_BUDGET: Duration = Duration::from_secs(150);

    /// Runs of a case in a search, at most: N meters pass when most of them do.
    pub const RUNS_PER_CASE: usize = 3;

    /// Bisection cases after the doubling phase, at most.
    pub const BISECT_STEPS: usize = 3;

    /// Tolerance on `|error|` p99 against one character time (a merged read is exactly −char).
    const TOLERANCE_US: f64 = 1.0;

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
        pub meters: usize,
        pub char_us: f64,
        pub gaps: usize,
        pub p50_us: f64,
        pub p99_us: f64,
        pub p99_abs_us: f64,
        /// The same figures at the meters' side: each `write` to a pty's master time-stamped as
        /// it returns (the scheduler's own pacing, before the kernel delivers the byte).
        pub sent: Sent,
    }

    /// Timing errors at the meters' side of the ptys, in µs.
    #[derive(Debug, Default)]
    pub struct Sent {
        pub gaps: usize,
        pub p99_us: f64,
        pub p99_abs_us: f64,
    }

    /// Where a case is judged: at the reader (end to end) or where the meters write.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Criterion {
        Received,
        Sent,
    }

    impl Figures {
        /// Whether the case is within one character time (see the module's doc).
        pub fn within(&self) -> bool {
            within(self.gaps, self.p99_us, self.p99_abs_us, self.char_us)
        }

        /// Whether the meters' writes are within one character time.
        pub fn sent_within(&self) -> bool {
            within(
                self.sent.gaps,
                self.sent.p99_us,
                self.sent.p99_abs_us,
                self.char_us,
            )
        }

        fn passes(&self, criterion: Criterion) -> bool {
            match criterion {
                Criterion::Received => self.within(),
                Criterion::Sent => self.sent_within(),
            }
        }
    }

    fn within(gaps: usize, p99_us: f64, p99_abs_us: f64, char_us: f64) -> bool {
        gaps > 0 && p99_us <= char_us && p99_abs_us <= char_us + TOLERANCE_US
    }

    /// Sorted signed errors and sorted absolute errors.
    fn sorted(mut e: Vec<f64>) -> (Vec<f64>, Vec<f64>) {
        e.sort_by(f64::total_cmp);
        let mut abs: Vec<f64> = e.iter().map(|x| x.abs()).collect();
        abs.sort_by(f64::total_cmp);
        (e, abs)
    }

    /// A pty whose writes are time-stamped as they return (see [`Sent`]).
    struct Stamped {
        pty: PtyPort,
        gaps: Arc<Mutex<Gaps>>,
    }

    impl Port for Stamped {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
            self.pty.write(bytes)?;
            if let Ok(mut g) = self.gaps.lock() {
                g.read(Instant::now(), bytes.len());
            }
            Ok(())
        }
        fn read(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize> {
            self.pty.read(buf, timeout)
        }
        fn settings_with_bytes(&self) -> bool {
            self.pty.settings_with_bytes()
        }
        fn reader_uart(&mut self) -> Option<meterlab_sim::line::UartConfig> {
            self.pty.reader_uart()
        }
        fn describe(&self) -> String {
            self.pty.describe()
        }
        fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
            self.pty.poll_fd()
        }
    }

    /// Why a case could not run: a resource ran out (or the driver failed).
    #[derive(Debug)]
    pub struct Limit {
        pub meters: usize,
        pub what: String,
    }

    fn percentile(sorted: &[f64], q: f64) -> f64 {
        let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
        sorted.get(i).copied().unwrap_or(f64::NAN)
    }

    /// Runs `meters` meters of `profile` pushing every `interval` on ptys for [`RUN`].
    pub fn case(
        profile: &str,
        interval: &str,
        meters: usize,
        mode: Mode,
    ) -> Result<Figures, Limit> {
        let limit = |what: String| Limit { meters, what };
        let mut spec = MeterSpec::new(profile);
        spec.interval = Some(interval.into());
        let mut runs = Vec::new();
        for i in 0..meters {
            let meter = spec.build(Seed(i as u64 + 1)).expect("meter");
            let port = PtyPort::create(&link())
                .map_err(|e| limit(format!("pty limit: pty {} of {meters}: {e}", i + 1)))?;
            let slave = port.slave_path().display().to_string();
            let reader = SerialPort::open(&slave, &meter.uart()).map_err(|e| {
                limit(format!(
                    "pty limit: opening slave {} of {meters}: {e}",
                    i + 1
                ))
            })?;
            runs.push((meter, port, reader));
        }
        let char_ns = runs
            .first()
            .map(|(m, _, _)| m.uart().char_time_ns())
            .unwrap_or(1.0);
        let stamps: Vec<Arc<Mutex<Gaps>>> = (0..runs.len())
            .map(|_| Arc::new(Mutex::new(Gaps::new(char_ns))))
            .collect();
        let runs: Vec<Run> = runs
            .into_iter()
            .zip(&stamps)
            .map(|((meter, pty, reader), gaps)| {
                let gaps = Arc::clone(gaps);
                (meter, Stamped { pty, gaps }, reader)
            })
            .collect();
        let stop = AtomicBool::new(false);
        let errors = Mutex::new(Vec::<f64>::new());
        let failure = Mutex::new(None::<String>);
        match mode {
            Mode::Threads => threads_case(runs, char_ns, meters, &stop, &errors, &failure),
            Mode::Fleet => fleet_case(runs, char_ns, false, &stop, &errors, &failure),
            Mode::FleetRealtime => fleet_case(runs, char_ns, true, &stop, &errors, &failure),
            Mode::Floor => floor_case(runs, char_ns, &stop, &errors),
        }
        if let Some(what) = failure.into_inner().expect("lock") {
            return Err(limit(what));
        }
        let (e, abs) = sorted(errors.into_inner().expect("lock"));
        let sent: Vec<f64> = stamps
            .iter()
            .filter_map(|g| g.lock().ok().map(|g| g.errors.clone()))
            .flatten()
            .collect();
        let (sent, sent_abs) = sorted(sent);
        Ok(Figures {
            meters,
            char_us: char_ns / 1000.0,
            gaps: e.len(),
            p50_us: percentile(&e, 0.5),
            p99_us: percentile(&e, 0.99),
            p99_abs_us: percentile(&abs, 0.99),
            sent: Sent {
                gaps: sent.len(),
                p99_us: percentile(&sent, 0.99),
                p99_abs_us: percentile(&sent_abs, 0.99),
            },
        })
    }

    type Run = (Box<dyn meterlab_sim::Meter>, Stamped, SerialPort);

    /// The timing error of each byte after the first: `gap − char_ns` in µs, where gaps under
    /// 50 character times count; bytes of one read share its time stamp.
    struct Gaps {
        char_ns: f64,
        last: Option<Instant>,
        errors: Vec<f64>,
    }

    impl Gaps {
        fn new(char_ns: f64) -> Self {
            Gaps {
                char_ns,
                last: None,
                errors: Vec::new(),
            }
        }

        fn read(&mut self, now: Instant, n: usize) {
            for k in 0..n {
                if let Some(prev) = self.last {
                    let gap = if k == 0 {
                        now.duration_since(prev).as_nanos() as f64
                    } else {
                        0.0
                    };
                    if gap < 50.0 * self.char_ns {
                        self.errors.push((gap - self.char_ns) / 1000.0);
                    }
                }
                self.last = Some(now);
            }
        }
    }

    /// A driver thread per meter; the readers as in [`fleet_case`].
    fn threads_case(
        runs: Vec<Run>,
        char_ns: f64,
        meters: usize,
        stop: &AtomicBool,
        errors: &Mutex<Vec<f64>>,
        failure: &Mutex<Option<String>>,
    ) {
        let mut readers = Vec::new();
        std::thread::scope(|s| {
            for (mut meter, mut port, reader) in runs {
                readers.push(reader_file(reader, &meter.uart()));
                let driver = std::thread::Builder::new().spawn_scoped(s, move || {
                    if let Err(e) = transport::run(
                        &mut *meter,
                        &mut port,
                        &SimOptions::default(),
                        stop,
                        &mut |_| {},
                    ) {
                        *failure.lock().expect("lock") = Some(format!("driver: {e:?}"));
                    }
                });
                if let Err(e) = driver {
                    *failure.lock().expect("lock") = Some(format!(
                        "thread limit: {meters} threads for {meters} meters: {e}"
                    ));
                    // The threads already started see this and end; the scope joins them.
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
            s.spawn(move || read_all(readers, char_ns, false, stop, errors));
            std::thread::sleep(RUN);
            stop.store(true, Ordering::Relaxed);
        });
    }

    /// One scheduler for all meters; the readers as in [`read_all`].
    fn fleet_case(
        runs: Vec<Run>,
        char_ns: f64,
        realtime: bool,
        stop: &AtomicBool,
        errors: &Mutex<Vec<f64>>,
        failure: &Mutex<Option<String>>,
    ) {
        let mut members = Vec::new();
        let mut readers = Vec::new();
        for (meter, port, reader) in runs {
            let uart = meter.uart();
            readers.push(reader_file(reader, &uart));
            members.push(Member {
                meter,
                port: Box::new(port),
                options: SimOptions::default(),
                observer: Box::new(|_| {}),
                events: Box::new(|_| {}),
            });
        }
        // The threads of `meterlab sim` (`Scheduling::new`: a thread per core, one core fewer at
        // real-time priority); METERLAB_BENCH_FLEET_THREADS tries another number.
        let mut scheduling = fleet::Scheduling::new(realtime);
        if let Some(t) = std::env::var("METERLAB_BENCH_FLEET_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
        {
            scheduling.threads = t;
        }
        std::thread::scope(|s| {
            let fleet = s.spawn(move || fleet::run(members, scheduling, stop));
            s.spawn(move || read_all(readers, char_ns, realtime, stop, errors));
            std::thread::sleep(RUN);
            stop.store(true, Ordering::Relaxed);
            for r in fleet.join().unwrap_or_default() {
                if let Err(e) = r {
                    *failure.lock().expect("lock") = Some(format!("driver: {e:?}"));
                }
            }
        });
    }

    /// The machine's floor ([`Mode::Floor`]).
    fn floor_case(runs: Vec<Run>, char_ns: f64, stop: &AtomicBool, errors: &Mutex<Vec<f64>>) {
        let mut ports = Vec::new();
        let mut readers = Vec::new();
        for (meter, port, reader) in runs {
            readers.push(reader_file(reader, &meter.uart()));
            ports.push(port);
        }
        std::thread::scope(|s| {
            s.spawn(move || {
                meterlab_sim::transport::clock::precise_timers();
                if let Err(e) = meterlab_sim::transport::clock::realtime_priority() {
                    println!("the floor's writer runs at normal priority: {e}");
                }
                let start = Instant::now();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let due = start + Duration::from_nanos((i as f64 * char_ns) as u64);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    for p in ports.iter_mut() {
                        let _ = p.write(b"~");
                    }
                }
            });
            s.spawn(move || read_all(readers, char_ns, true, stop, errors));
            std::thread::sleep(RUN);
            stop.store(true, Ordering::Relaxed);
        });
    }

    /// The reader side of a case: one thread waits on every pty's slave side and time-stamps each
    /// read, until `stop`; at real-time priority with `realtime`.
    fn read_all(
        mut readers: Vec<File>,
        char_ns: f64,
        realtime: bool,
        stop: &AtomicBool,
        errors: &Mutex<Vec<f64>>,
    ) {
        if realtime {
            if let Err(e) = meterlab_sim::transport::clock::realtime_priority() {
                println!("the reader runs at normal priority: {e}");
            }
        }
        let mut gaps: Vec<Gaps> = readers.iter().map(|_| Gaps::new(char_ns)).collect();
        let mut buf = [0u8; 4096];
        let Some(mut waiter) = Readiness::new(&readers) else {
            return;
        };
        while !stop.load(Ordering::Relaxed) {
            for k in waiter.wait() {
                if let (Some(r), Some(g)) = (readers.get_mut(k), gaps.get_mut(k)) {
                    if let Ok(n) = r.read(&mut buf) {
                        g.read(Instant::now(), n);
                    }
                }
            }
        }
        let mut e = errors.lock().expect("lock");
        for g in gaps {
            e.extend(g.errors);
        }
    }

    /// Which of a reader's files have bytes to read, by `epoll(7)`: one registration per file,
    /// and each wake-up costs the ready files only. (Until 2026-12-05 the reader called
    /// `poll(2)` on all its files for every wake-up: at 115200 baud that alone made 8 ptys miss
    /// a character time, with or without meterlab; see docs/timing.md.)
    struct Readiness {
        epoll: Epoll,
        events: Vec<EpollEvent>,
    }

    impl Readiness {
        /// Watches `files` (level-triggered, as `poll`); `None` (printed) when the kernel refuses.
        fn new<F: AsFd>(files: &[F]) -> Option<Self> {
            let made = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).and_then(|epoll| {
                for (k, f) in files.iter().enumerate() {
                    epoll.add(f, EpollEvent::new(EpollFlags::EPOLLIN, k as u64))?;
                }
                Ok(epoll)
            });
            match made {
                Ok(epoll) => Some(Readiness {
                    epoll,
                    events: vec![EpollEvent::empty(); files.len().max(1)],
                }),
                Err(e) => {
                    println!("the reader cannot wait with epoll: {e}");
                    None
                }
            }
        }

        /// Waits up to 20 ms for any file to become readable: the indices of those that are.
        fn wait(&mut self) -> impl Iterator<Item = usize> + '_ {
            let n = self
                .epoll
                .wait(&mut self.events, EpollTimeout::from(20u16))
                .unwrap_or(0);
            self.events.iter().take(n).map(|e| e.data() as usize)
        }
    }

    /// The slave end of a pty as a file for nonblocking reads when `epoll` says it is ready,
    /// in raw mode at the meter's settings (as the serial port it replaces).
    fn reader_file(reader: SerialPort, uart: &meterlab_sim::line::UartConfig) -> File {
        let path = reader.describe();
        drop(reader);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(path)
            .expect("the slave opens");
        meterlab_sim::transport::pty::set_terminal(&file, uart).expect("raw mode");
        file
    }

    fn figures(f: &Figures) -> String {
        format!(
            "char {:.0} us, {} gaps, error p50 {:+.0} us, p99 {:+.0} us, |error| p99 {:.0} us; \
             sent: p99 {:+.0} us, |error| p99 {:.0} us",
            f.char_us, f.gaps, f.p50_us, f.p99_us, f.p99_abs_us, f.sent.p99_us, f.sent.p99_abs_us
        )
    }

    fn verdict(f: &Figures) -> &'static str {
        match (f.within(), f.sent_within()) {
            (true, _) => "within one character time",
            (false, true) => "NOT within one character time (sent: within)",
            (false, false) => "NOT within one character time (sent: NOT within)",
        }
    }

    /// Prints the figures of one case, or why it could not run.
    pub fn print(what: &str, result: &Result<Figures, Limit>) {
        match result {
            Ok(f) => println!("{what}: {}: {}", figures(f), verdict(f)),
            Err(l) => println!("{what}: could not run: {}", l.what),
        }
    }

    /// Searches for the largest number of concurrent meters within one character time: doubling
    /// from 1 up to `cap` until the first failure, then bisecting, within [`SEARCH_BUDGET`];
    /// each N judged by the majority of up to [`RUNS_PER_CASE`] runs.
    pub fn max_concurrent(
        baud: &str,
        profile: &str,
        interval: &str,
        cap: usize,
        mode: Mode,
        criterion: Criterion,
    ) {
        let start = Instant::now();
        let longest = std::cell::Cell::new(Duration::ZERO);
        let pass = |r: &Result<Figures, Limit>| matches!(r, Ok(f) if f.passes(criterion));
        // N meters are judged by the majority of up to `RUNS_PER_CASE` runs: always a second
        // run, a third only when the first two disagree. One disturbed run (the machine's own
        // hiccups) neither ends nor extends the search.
        let run = |meters: usize| {
            let t = Instant::now();
            let mut outcomes: Vec<Result<Figures, Limit>> = Vec::new();
            let majority = RUNS_PER_CASE / 2 + 1;
            loop {
                let r = case(profile, interval, meters, mode);
                let k = outcomes.len() + 1;
                print(
                    &format!("  {mode:?}: {baud} baud, {meters} meters, run {k}"),
                    &r,
                );
                let limit = r.is_err();
                outcomes.push(r);
                let passed = outcomes.iter().filter(|r| pass(r)).count();
                let failed = outcomes.len() - passed;
                // A pty or thread that cannot be made will not be made on a second try.
                if limit || passed >= majority || failed >= majority {
                    break;
                }
            }
            longest.set(longest.get().max(t.elapsed()));
            let passed = outcomes.iter().filter(|r| pass(r)).count() >= majority;
            // The figures shown for N: its last run with the majority's outcome.
            outcomes
                .into_iter()
                .rev()
                .find(|r| pass(r) == passed)
                .unwrap_or_else(|| {
                    Err(Limit {
                        meters,
                        what: "no run".into(),
                    })
                })
        };
        let judged = match criterion {
            Criterion::Received => "",
            Criterion::Sent => " as sent",
        };
        // The last passing and the first failing case.
        let mut best: Option<Figures> = None;
        let mut failing: Option<Result<Figures, Limit>> = None;
        let mut n = 1;
        while n <= cap {
            let r = run(n);
            if !pass(&r) {
                failing = Some(r);
                break;
            }
            best = r.ok();
            if start.elapsed() + longest.get() * 2 > SEARCH_BUDGET {
                break;
            }
            n *= 2;
        }
        let meters = |r: &Result<Figures, Limit>| match r {
            Ok(f) => f.meters,
            Err(l) => l.meters,
        };
        for _ in 0..BISECT_STEPS {
            let (Some(lo), Some(hi)) = (best.as_ref().map(|f| f.meters), failing.as_ref()) else {
                break;
            };
            let hi = meters(hi);
            if hi - lo <= 1 || start.elapsed() + longest.get() > SEARCH_BUDGET {
                break;
            }
            let r = run(lo + (hi - lo) / 2);
            if pass(&r) {
                best = r.ok();
            } else {
                failing = Some(r);
            }
        }
        let found = best.as_ref().map_or(0, |f| f.meters);
        let first = match &failing {
            None if found >= cap => format!("none failing up to the cap of {cap}"),
            None => "none failing before the time budget ran out".to_string(),
            Some(Ok(f)) => format!(
                "first failing: {}, p99 {:+.0} us, |error| p99 {:.0} us",
                f.meters, f.p99_us, f.p99_abs_us
            ),
            Some(Err(l)) => format!("first failing: {}, {}", l.meters, l.what),
        };
        let best = best
            .as_ref()
            .map(|f| {
                format!(
                    ", at {found}: p99 {:+.0} us, |error| p99 {:.0} us; sent p99 {:+.0} us, \
                     |error| p99 {:.0} us",
                    f.p99_us, f.p99_abs_us, f.sent.p99_us, f.sent.p99_abs_us
                )
            })
            .unwrap_or_default();
        println!(
            "{mode:?}: {baud} baud: {found} meters within one character time{judged} ({first}{best}; search {:.0} s)",
            start.elapsed().as_secs_f64()
        );
    }

    /// Kilobytes of the process's resident set now and at its peak (`/proc/self/status`).
    fn rss_kb() -> (u64, u64) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Runs `meters` meters of `profile` pushing every `interval`, each behind its own TCP port
    /// with a client that reads everything, on the scheduler for a few seconds; prints the memory
    /// per meter.
    pub fn tcp_fleet_memory(meters: usize, profile: &str, interval: &str) {
        use std::net::TcpStream;
        const SPAN: Duration = Duration::from_secs(12);
        let (before, _) = rss_kb();
        let mut spec = MeterSpec::new(profile);
        spec.interval = Some(interval.into());
        let mut members = Vec::new();
        let mut addrs = Vec::new();
        for i in 0..meters {
            let port = match TcpPort::bind("127.0.0.1:0") {
                Ok(p) => p,
                Err(e) => {
                    println!("{meters} meters behind TCP ports: could not run: port {i}: {e}");
                    return;
                }
            };
            addrs.push(port.local_addr());
            members.push(Member {
                meter: spec.build(Seed(i as u64 + 1)).expect("meter"),
                port: Box::new(port),
                options: SimOptions::default(),
                observer: Box::new(|_| {}),
                events: Box::new(|_| {}),
            });
        }
        let clients: Vec<TcpStream> = addrs
            .iter()
            .filter_map(|a| TcpStream::connect(a).ok())
            .collect();
        for c in &clients {
            let _ = c.set_nonblocking(true);
        }
        let stop = AtomicBool::new(false);
        let scheduling = fleet::Scheduling::new(false);
        let threads = scheduling.threads;
        let started = Instant::now();
        let (summaries, received) = std::thread::scope(|s| {
            let fleet = s.spawn(|| fleet::run(members, scheduling, &stop));
            let reader = s.spawn(|| {
                let mut clients = clients;
                let mut received = 0u64;
                let mut buf = [0u8; 4096];
                let Some(mut waiter) = Readiness::new(&clients) else {
                    return received;
                };
                while !stop.load(Ordering::Relaxed) {
                    for k in waiter.wait() {
                        if let Some(Ok(n)) = clients.get_mut(k).map(|c| c.read(&mut buf)) {
                            received += n as u64;
                        }
                    }
                }
                received
            });
            std::thread::sleep(SPAN);
            stop.store(true, Ordering::Relaxed);
            (
                fleet.join().unwrap_or_default(),
                reader.join().unwrap_or_default(),
            )
        });
        let (_, peak) = rss_kb();
        let messages: u64 = summaries
            .iter()
            .filter_map(|s| s.as_ref().ok())
            .map(|s| s.messages)
            .sum();
        let failed = summaries.iter().filter(|s| s.is_err()).count();
        let per_meter_kb = peak.saturating_sub(before) as f64 / meters as f64;
        println!(
            "{meters} meters behind TCP ports ({profile} every {interval}, {threads} scheduler \
             threads, {:.0} s): {} clients, {messages} messages, {received} bytes received, \
             {failed} failed; peak RSS {} kB over {} kB before: {per_meter_kb:.0} kB per meter \
             ({})",
            started.elapsed().as_secs_f64(),
            addrs.len(),
            peak,
            before,
            if per_meter_kb <= 1024.0 {
                "within 1 MB"
            } else {
                "NOT within 1 MB"
            }
        );
    }
}

fn main() {
    divan::main();
}

/// One DSMR 5.0 meter at 115200 8N1 (a telegram every 100 ms).
#[cfg(target_os = "linux")]
#[divan::bench(sample_count = 1, sample_size = 1)]
fn gap_error_115200() {
    let f = timing::case("dsmr-5.0", "100ms", 1, timing::Mode::Fleet);
    timing::print("115200 baud, 1 meter", &f);
}

/// One DLMS meter at 2400 8E1 (a push every 500 ms: the line is nearly always busy).
#[cfg(target_os = "linux")]
#[divan::bench(sample_count = 1, sample_size = 1)]
fn gap_error_2400() {
    let f = timing::case("aidon-han", "500ms", 1, timing::Mode::Fleet);
    timing::print("2400 baud, 1 meter", &f);
}

/// Concurrent meters at 2400 8E1 on the scheduler, each on its own pty.
#[cfg(target_os = "linux")]
#[divan::bench(args = [16, 64, 256], sample_count = 1, sample_size = 1)]
fn concurrent_meters_2400(meters: usize) {
    let f = timing::case("aidon-han", "500ms", meters, timing::Mode::Fleet);
    timing::print(&format!("2400 baud, {meters} meters"), &f);
}

/// The machine's floor at 115200 8N1: no meterlab, one real-time thread writing a byte to every
/// pty each character time, read by the same reader (see `timing::Mode::Floor`).
#[cfg(target_os = "linux")]
#[divan::bench(args = [1, 2, 4, 8, 16, 24], sample_count = 1, sample_size = 1)]
fn floor_115200(ptys: usize) {
    let f = timing::case("dsmr-5.0", "100ms", ptys, timing::Mode::Floor);
    timing::print(&format!("floor: 115200 baud, {ptys} ptys"), &f);
}

/// Concurrent meters at 115200 8N1 on the scheduler.
#[cfg(target_os = "linux")]
#[divan::bench(args = [2, 4, 16], sample_count = 1, sample_size = 1)]
fn concurrent_meters_115200(meters: usize) {
    let f = timing::case("dsmr-5.0", "100ms", meters, timing::Mode::Fleet);
    timing::print(&format!("115200 baud, {meters} meters"), &f);
}

/// The most concurrent meters at 115200 8N1 within one character time (up to 64), on the
/// scheduler and, for comparison, with a thread per meter.
#[cfg(target_os = "linux")]
#[divan::bench(args = ["fleet", "fleet-realtime", "threads", "floor"], sample_count = 1, sample_size = 1)]
fn max_concurrent_meters_115200(mode: &str) {
    let c = timing::Criterion::Received;
    timing::max_concurrent("115200", "dsmr-5.0", "100ms", 64, mode_of(mode), c);
}

/// The most concurrent meters at 115200 8N1 whose writes are within one character time (the
/// scheduler's own pacing, up to 64).
#[cfg(target_os = "linux")]
#[divan::bench(args = ["fleet", "fleet-realtime"], sample_count = 1, sample_size = 1)]
fn max_concurrent_meters_sent_115200(mode: &str) {
    let c = timing::Criterion::Sent;
    timing::max_concurrent("115200", "dsmr-5.0", "100ms", 64, mode_of(mode), c);
}

/// The most concurrent meters at 2400 8E1 within one character time (up to 512 on the
/// scheduler, 256 with a thread per meter).
#[cfg(target_os = "linux")]
#[divan::bench(args = ["fleet", "fleet-realtime", "threads"], sample_count = 1, sample_size = 1)]
fn max_concurrent_meters_2400(mode: &str) {
    let m = mode_of(mode);
    let cap = if m == timing::Mode::Threads { 256 } else { 512 };
    let c = timing::Criterion::Received;
    timing::max_concurrent("2400", "aidon-han", "500ms", cap, m, c);
}

/// The most concurrent meters at 2400 8E1 whose writes are within one character time (up to
/// 512).
#[cfg(target_os = "linux")]
#[divan::bench(args = ["fleet", "fleet-realtime"], sample_count = 1, sample_size = 1)]
fn max_concurrent_meters_sent_2400(mode: &str) {
    let c = timing::Criterion::Sent;
    timing::max_concurrent("2400", "aidon-han", "500ms", 512, mode_of(mode), c);
}

/// 1,000 meters behind TCP ports on the scheduler (a gateway fleet), each with a client
/// connected: the memory per meter (the process's peak resident set over its size before the
/// meters were made, divided by the meters).
#[cfg(target_os = "linux")]
#[divan::bench(sample_count = 1, sample_size = 1)]
fn tcp_fleet_memory_1000() {
    timing::tcp_fleet_memory(1000, "aidon-han", "10s");
}

#[cfg(target_os = "linux")]
fn mode_of(name: &str) -> timing::Mode {
    match name {
        "threads" => timing::Mode::Threads,
        "fleet-realtime" => timing::Mode::FleetRealtime,
        "floor" => timing::Mode::Floor,
        _ => timing::Mode::Fleet,
    }
}
