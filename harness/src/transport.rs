//! Scenarios over real lines: the meter on one end of a pty, a TCP socket or a serial cable, in
//! real time, and a reader on the other end.
//!
//! In memory (`transport: memory`, the default) a scenario runs in virtual time
//! ([`crate::session`]). Over a real line the scenario's meter runs with the real-time driver of
//! `meterlab sim` ([`meterlab_sim::transport::run`]) and meterlab's own reader (the same state
//! machines as in memory: passive, IEC 62056-21, M-Bus master) runs on the other end in real
//! time ([`run_session`]); or, with `--reader`, a reader program does ([`crate::live`]).
//!
//! Both are the one session engine ([`meterlab_sim::session::Engine`]): in memory on a virtual
//! clock, here on the real one ([`meterlab_sim::transport::clock::drive`], the loop that also
//! runs meterlab's reader on the far end of the port). The line model is the same in both: the
//! driver applies the scenario's line settings, faults
//! and the reader's error policy to the byte stream before writing it (a pty or a socket has no
//! baud rate or parity), with the same seeds as in memory, so a scenario gives the same bytes,
//! the same readings and the same golden file over a pty or TCP as in memory. Exceptions come
//! only from real time: a reply of a request/response meter may start up to
//! [`meterlab_sim::transport::LOOKAHEAD`] later than in memory, and faults that act on time
//! spans (noise bursts, timing violations) may land elsewhere in it. Over a serial cable the
//! hardware frames the characters: the driver applies only the faults, and error counts are
//! what the meter side put on the wire, not what the reader's UART saw.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meterlab_decoder::Reading;
use meterlab_sim::line::UartConfig;
use meterlab_sim::transport::clock::{self, Clock, Clocked};
use meterlab_sim::transport::serial::SerialPort;
use meterlab_sim::transport::tcp::TcpPort;
use meterlab_sim::transport::{self as sim_transport, Port, SimOptions, Summary};
use meterlab_sim::{Meter, Seed};

use crate::reader::{Action, Reader};
use crate::session::{Limits, LineSetup};

/// Where a scenario's line runs.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// In memory, in virtual time (milliseconds for minutes of meter time).
    #[default]
    Memory,
    /// A pseudo-terminal pair, in real time.
    Pty,
    /// A TCP connection on 127.0.0.1 (the meter is the server, like ser2net), in real time.
    Tcp,
    /// Two serial ports joined by a null-modem cable (`--meter-port`, `--reader-port`).
    Serial,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Memory => "memory",
            Transport::Pty => "pty",
            Transport::Tcp => "tcp",
            Transport::Serial => "serial",
        })
    }
}

/// The devices of a serial transport: the meter's end and the reader's end of the cable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SerialDevices {
    /// Where the meter is (`/dev/ttyUSB0`).
    pub meter: Option<String>,
    /// Where the reader is (`/dev/ttyUSB1`).
    pub reader: Option<String>,
}

/// Opening a real line failed.
#[derive(Debug, thiserror::Error)]
pub enum LineEndError {
    /// A serial transport without its devices.
    #[error("transport serial needs both ends of the cable: --meter-port DEV --reader-port DEV")]
    NoDevices,
    /// The transport is not a real line.
    #[error("transport memory has no ports")]
    Memory,
    /// A port could not be opened.
    #[error("{what}: {source}")]
    Io {
        /// Which port.
        what: String,
        /// Why.
        source: io::Error,
    },
}

/// The meter's end of a real line, and how the reader reaches the other end.
pub struct MeterEnd {
    /// The meter's port, for the driver.
    pub port: Box<dyn Port>,
    /// What a reader opens: a pty's path, `socket://127.0.0.1:N`, a serial device.
    pub reader_address: String,
    /// The reader's settings, as its end reports them to the driver (pty and TCP).
    reader_settings: Option<Arc<Mutex<UartConfig>>>,
    /// meterlab's reader has finished (the driver then winds down).
    reader_done: Arc<AtomicBool>,
    /// A temporary directory to remove at the end (the pty's link).
    dir: Option<PathBuf>,
}

impl MeterEnd {
    /// The meter's end of `transport`. `reader`: the reader's initial settings when the reader
    /// tells its end when it switches (meterlab's own reader; pty and TCP then carry them to the
    /// line model), `None` for a reader program, whose settings are assumed to follow the
    /// meter's (the driver's [`SimOptions::reader`] overrides apply) — or, on a pty with
    /// `follow_baud` given, to have the baud rate the program sets on the pty and the rest of
    /// `follow_baud`'s settings.
    pub fn open(
        transport: Transport,
        devices: &SerialDevices,
        meter: &UartConfig,
        reader: Option<&UartConfig>,
        follow_baud: Option<&UartConfig>,
    ) -> Result<MeterEnd, LineEndError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |source| LineEndError::Io { what, source }
        };
        let shared = reader.map(|r| Arc::new(Mutex::new(*r)));
        let done = Arc::new(AtomicBool::new(false));
        match transport {
            Transport::Memory => Err(LineEndError::Memory),
            Transport::Pty => open_pty(shared, done, follow_baud.copied()),
            Transport::Tcp => {
                let port = TcpPort::bind("127.0.0.1:0").map_err(io("tcp port on 127.0.0.1"))?;
                let address = format!("socket://{}", port.local_addr());
                Ok(MeterEnd {
                    port: reporting(port, &shared, &done),
                    reader_address: address,
                    reader_settings: shared,
                    reader_done: done,
                    dir: None,
                })
            }
            Transport::Serial => {
                let (Some(m), Some(r)) = (&devices.meter, &devices.reader) else {
                    return Err(LineEndError::NoDevices);
                };
                let port = SerialPort::open(m, meter).map_err(io(m))?;
                Ok(MeterEnd {
                    port: reporting(port, &None, &done),
                    reader_address: r.clone(),
                    reader_settings: None,
                    reader_done: done,
                    dir: None,
                })
            }
        }
    }

    /// Opens the reader's end for meterlab's own reader, with its settings.
    pub fn open_reader(&self, config: &UartConfig) -> Result<Box<dyn Port>, LineEndError> {
        let io = |source| LineEndError::Io {
            what: self.reader_address.clone(),
            source,
        };
        if let Some(addr) = self.reader_address.strip_prefix("socket://") {
            let addr: SocketAddr = addr
                .parse()
                .map_err(|e| io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
            let stream = TcpStream::connect(addr).map_err(io)?;
            stream.set_nodelay(true).map_err(io)?;
            return Ok(Box::new(TcpReaderPort {
                stream,
                settings: self.reader_settings.clone(),
            }));
        }
        // A pty ignores serial settings (the line model carries them): open it plainly.
        let open_with = match self.reader_settings {
            Some(_) => UartConfig::new(9600, "8N1").map_err(|e| io(io::Error::other(e)))?,
            None => *config,
        };
        let port = SerialPort::open(&self.reader_address, &open_with).map_err(io)?;
        Ok(Box::new(SerialReaderPort {
            port,
            settings: self.reader_settings.clone(),
        }))
    }
}

impl Drop for MeterEnd {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(unix)]
fn open_pty(
    shared: Option<Arc<Mutex<UartConfig>>>,
    done: Arc<AtomicBool>,
    follow_baud: Option<UartConfig>,
) -> Result<MeterEnd, LineEndError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "meterlab-line-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let io = |what: String| move |source| LineEndError::Io { what, source };
    std::fs::create_dir_all(&dir).map_err(io(format!("{}", dir.display())))?;
    let link = dir.join("port");
    let mut port = sim_transport::pty::PtyPort::create(&link)
        .map_err(io(format!("pty at {}", link.display())))?;
    if let Some(rest) = follow_baud {
        port.follow_reader_baud(rest);
    }
    Ok(MeterEnd {
        port: reporting(port, &shared, &done),
        reader_address: link.display().to_string(),
        reader_settings: shared,
        reader_done: done,
        dir: Some(dir),
    })
}

#[cfg(not(unix))]
fn open_pty(
    _shared: Option<Arc<Mutex<UartConfig>>>,
    _done: Arc<AtomicBool>,
    _follow_baud: Option<UartConfig>,
) -> Result<MeterEnd, LineEndError> {
    Err(LineEndError::Io {
        what: "pty".into(),
        source: io::Error::new(
            io::ErrorKind::Unsupported,
            "ptys need Linux or another Unix",
        ),
    })
}

/// `port`, reporting the reader's settings to the driver if they are `shared`, and when the
/// reader is `done`.
fn reporting<P: Port + 'static>(
    port: P,
    shared: &Option<Arc<Mutex<UartConfig>>>,
    done: &Arc<AtomicBool>,
) -> Box<dyn Port> {
    Box::new(Reporting {
        inner: port,
        reader: shared.clone(),
        done: Arc::clone(done),
    })
}

/// The meter's port, reporting the reader's settings to the driver (the reader's end writes
/// them when it switches).
struct Reporting<P> {
    inner: P,
    reader: Option<Arc<Mutex<UartConfig>>>,
    done: Arc<AtomicBool>,
}

impl<P: Port> Port for Reporting<P> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.inner.read(buf, timeout)
    }
    fn reader_uart(&mut self) -> Option<UartConfig> {
        match &self.reader {
            Some(shared) => shared.lock().ok().map(|c| *c),
            None => self.inner.reader_uart(),
        }
    }
    fn reader_done(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }
    fn settings_with_bytes(&self) -> bool {
        // Only a reader program on a pty that follows its settings; meterlab's own reader
        // reports its switches in order with its writes.
        self.reader.is_none() && self.inner.settings_with_bytes()
    }
    fn frames_itself(&self) -> bool {
        self.inner.frames_itself()
    }
    fn set_uart(&mut self, config: &UartConfig) -> io::Result<()> {
        self.inner.set_uart(config)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    #[cfg(unix)]
    fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.inner.poll_fd()
    }
}

fn report(settings: &Option<Arc<Mutex<UartConfig>>>, config: &UartConfig) {
    if let Some(s) = settings {
        if let Ok(mut c) = s.lock() {
            *c = *config;
        }
    }
}

/// The reader's end on a pty or a serial port: [`Port::set_uart`] is the reader switching its
/// settings (on a pty, reported to the line model).
struct SerialReaderPort {
    port: SerialPort,
    settings: Option<Arc<Mutex<UartConfig>>>,
}

impl Port for SerialReaderPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        Port::write(&mut self.port, bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        Port::read(&mut self.port, buf, timeout)
    }
    fn set_uart(&mut self, config: &UartConfig) -> io::Result<()> {
        if self.settings.is_some() {
            // A pty: the line model switches.
            report(&self.settings, config);
            return Ok(());
        }
        Port::set_uart(&mut self.port, config)
    }
    fn describe(&self) -> String {
        self.port.describe()
    }
}

/// The reader's end as a TCP client of the meter's server.
struct TcpReaderPort {
    stream: TcpStream,
    settings: Option<Arc<Mutex<UartConfig>>>,
}

impl Port for TcpReaderPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.stream.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
    fn set_uart(&mut self, config: &UartConfig) -> io::Result<()> {
        report(&self.settings, config);
        Ok(())
    }
    fn describe(&self) -> String {
        self.stream
            .peer_addr()
            .map_or_else(|_| "tcp".into(), |a| a.to_string())
    }
}

/// How long the reader's end waits for more once the meter has stopped.
pub const DRAIN: Duration = Duration::from_millis(200);

/// What a session over a real line did.
#[derive(Debug)]
pub struct RealSession {
    /// What the driver did (counts, fault log).
    pub summary: Summary,
    /// The readings the meter sent, in order.
    pub truth: Vec<Reading>,
    /// The session hit the time limit.
    pub timed_out: bool,
}

/// A session over a real line failed.
#[derive(Debug, thiserror::Error)]
pub enum RealSessionError {
    /// A port could not be opened.
    #[error(transparent)]
    Open(#[from] LineEndError),
    /// The meter's side failed.
    #[error("the meter's port failed: {0}")]
    Meter(#[from] sim_transport::TransportError),
    /// The reader's side failed.
    #[error("the reader's port failed: {0}")]
    Reader(io::Error),
    /// The meter thread panicked.
    #[error("the meter thread panicked")]
    Panicked,
}

/// Runs `meter` and meterlab's `reader` against each other over `transport`, in real time,
/// with the same line setup, limits and seed as [`crate::session::run`] takes; `timeout`
/// bounds the whole session.
#[allow(clippy::too_many_arguments)]
pub fn run_session(
    meter: &mut dyn Meter,
    reader: &mut dyn Reader,
    line: &LineSetup,
    limits: Limits,
    seed: Seed,
    transport: Transport,
    devices: &SerialDevices,
    timeout: Duration,
) -> Result<RealSession, RealSessionError> {
    let mut end = MeterEnd::open(
        transport,
        devices,
        &line.meter_tx,
        Some(&line.reader_rx),
        None,
    )?;
    let mut reader_port = end.open_reader(&line.reader_rx)?;
    let options = SimOptions {
        sender: Some(line.meter_tx),
        faults: line.faults.clone(),
        reader_faults: line.reader_faults.clone(),
        errors: line.errors,
        reader_start_ns: line.reader_start_ns,
        seed,
        count: limits.pushes,
        until_ns: limits.until_ns,
        ..SimOptions::default()
    };
    let mut truth = Vec::new();
    let stop = AtomicBool::new(false);
    let reader_done = Arc::clone(&end.reader_done);
    let (summary, reader_result, timed_out) = std::thread::scope(|scope| {
        let driver = scope.spawn(|| {
            sim_transport::run(meter, end.port.as_mut(), &options, &stop, &mut |sent| {
                truth.push(sent.reading.clone())
            })
        });
        let mut side = ReaderSide {
            reader,
            reader_start_ns: line.reader_start_ns,
            started: false,
            pending: Vec::new(),
            wakes: Vec::new(),
            done: false,
            reader_done: &reader_done,
            meter_finished: &|| driver.is_finished(),
            meter_done_at: None,
            last_byte: 0,
            timeout: u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX),
            timed_out: false,
        };
        let mut clock = Clock::real();
        let result = clock::drive(&mut side, reader_port.as_mut(), &mut clock, &stop);
        let timed_out = side.timed_out;
        drop(side);
        stop.store(true, Ordering::Relaxed);
        (driver.join(), result, timed_out)
    });
    reader_result.map_err(RealSessionError::Reader)?;
    let summary = summary.map_err(|_| RealSessionError::Panicked)??;
    Ok(RealSession {
        summary,
        truth,
        timed_out,
    })
}

/// An action of the reader that is due later.
enum Pending {
    Send(Vec<u8>),
    SetUart(UartConfig),
}

/// The reader's side of [`run_session`]: meterlab's reader state machine on its port, on the
/// real clock ([`clock::drive`], the loop that also runs the meter's side).
struct ReaderSide<'a> {
    reader: &'a mut dyn Reader,
    reader_start_ns: u64,
    started: bool,
    /// Sends and UART switches due later, in time order (stable).
    pending: Vec<(u64, Pending)>,
    wakes: Vec<u64>,
    /// The reader said it is done.
    done: bool,
    /// Tells the meter's side the reader is done (it then winds down).
    reader_done: &'a AtomicBool,
    /// Whether the meter's side has stopped.
    meter_finished: &'a dyn Fn() -> bool,
    /// When the meter's side was seen stopped.
    meter_done_at: Option<u64>,
    /// When the last bytes came.
    last_byte: u64,
    /// The whole session's time limit, ns.
    timeout: u64,
    timed_out: bool,
}

impl ReaderSide<'_> {
    fn queue(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send { at_ns, bytes } => self.pending.push((at_ns, Pending::Send(bytes))),
                Action::SetUart { at_ns, config } => {
                    self.pending.push((at_ns, Pending::SetUart(config)))
                }
                Action::Wake { at_ns } => self.wakes.push(at_ns),
                Action::Done => self.done = true,
            }
        }
        // Stable: actions due at the same time keep their order.
        self.pending.sort_by_key(|(at, _)| *at);
        self.wakes.sort_unstable();
    }
}

impl Clocked for ReaderSide<'_> {
    fn tick(&mut self, port: &mut dyn Port, now: u64) -> io::Result<bool> {
        if now > self.timeout {
            self.timed_out = true;
            return Ok(false);
        }
        if !self.started && now >= self.reader_start_ns {
            self.started = true;
            let actions = self.reader.start(now);
            self.queue(actions);
        }
        while self.pending.first().is_some_and(|(at, _)| *at <= now) {
            let (_, action) = self.pending.remove(0);
            match action {
                Pending::Send(bytes) => port.write(&bytes)?,
                Pending::SetUart(config) => port.set_uart(&config)?,
            }
        }
        while self.wakes.first().is_some_and(|w| *w <= now) {
            self.wakes.remove(0);
            let actions = self.reader.wake(now);
            self.queue(actions);
        }
        // The meter has stopped (its pushes and the line are done): what is still in the
        // port's buffers comes, then the session ends.
        if self.meter_done_at.is_none() && (self.meter_finished)() {
            self.meter_done_at = Some(now);
        }
        let drain = DRAIN.as_nanos() as u64;
        let quiet = now >= self.last_byte.saturating_add(drain);
        if self
            .meter_done_at
            .is_some_and(|t| now >= t.saturating_add(drain))
            && quiet
        {
            return Ok(false);
        }
        if self.done && self.pending.is_empty() {
            // The meter winds down: what it has queued still comes (and counts).
            self.reader_done.store(true, Ordering::Relaxed);
        }
        Ok(true)
    }

    fn next_at(&self, now: u64) -> Option<u64> {
        let mut next = now.saturating_add(IDLE_NS);
        for t in self
            .pending
            .first()
            .map(|(at, _)| *at)
            .into_iter()
            .chain(self.wakes.first().copied())
        {
            next = next.min(t);
        }
        if !self.started {
            next = next.min(self.reader_start_ns);
        }
        Some(next)
    }

    fn input(&mut self, _port: &mut dyn Port, now: u64, bytes: &[u8]) -> io::Result<()> {
        self.last_byte = now;
        if self.started {
            let actions = self.reader.receive(now, bytes);
            self.queue(actions);
        }
        Ok(())
    }
}

/// How often the reader's side looks whether the meter's side has stopped, ns.
const IDLE_NS: u64 = 10_000_000;
