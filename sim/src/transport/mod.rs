//! Virtual meters on real lines: a pseudo-terminal, a TCP socket, a real UART, standard output.
//!
//! [`run`] drives one [`Meter`] in real time against a byte [`Port`]. Virtual time 0 is the
//! moment `run` starts; from then on virtual nanoseconds are wall-clock nanoseconds since the
//! start. The driver is the same loop as the harness's session, with sleeping instead of jumping:
//!
//! - the meter pushes at its own times ([`Meter::next_push_ns`]);
//! - every byte the reader writes is handed to [`Meter::receive`] with its real arrival time, so
//!   reply delays are the meter's own; baud switches ([`Meter::take_uart_change`]) are honoured;
//! - every outgoing message goes through a [`Channel`] from the meter's settings to the reader's
//!   ([`SimOptions::reader`]), with the configured faults. A pty or a socket has no baud rate or
//!   parity, so the line model is applied to the byte stream *before* it is written: a reader
//!   whose settings are wrong gets exactly the bytes a real UART would have given it;
//! - each received character is written at its own time (its stop bit), bytes due within about
//!   a millisecond of each other in one write, so the reader sees real serial timing.
//!
//! Ports: [`pty`] (Linux pseudo-terminal behind a stable symlink), [`tcp`] (a raw TCP server, like
//! ser2net), [`serial`] (a real UART) and [`StdoutPort`] (raw or hex on standard output).

#[cfg(unix)]
pub mod pty;
pub mod serial;
pub mod tcp;

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use meterlab_decoder::Reading;

use crate::line::{host_bytes, Channel, ErrorPolicy, Fault, LineError, UartConfig};
use crate::meter::{Emission, Meter};
use crate::seed::Seed;

/// The longest sleep of the driver: how quickly it notices a stop request or a new TCP client.
pub const MAX_IDLE: Duration = Duration::from_millis(50);

/// The step while characters are on the line: bytes due within it are written together.
pub const STEP: Duration = Duration::from_millis(1);

/// Where a meter's bytes go and where the reader's bytes come from.
///
/// A port never fails because the reader is absent: bytes written while no reader is there are
/// lost, as on a real line nobody listens to (a pty buffers them up to the kernel's limit).
pub trait Port: Send {
    /// Writes bytes to the reader (or drops them if there is none).
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads what the reader has written, waiting at most `timeout` for the first byte; returns
    /// 0 when nothing came (also when there is no reader).
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// Whether the port frames characters itself (a real UART): then the line model applies only
    /// the faults, and [`Port::set_uart`] sets the hardware.
    fn frames_itself(&self) -> bool {
        false
    }
    /// The serial settings from now on (a real UART reconfigures; others ignore it).
    fn set_uart(&mut self, _config: &UartConfig) -> io::Result<()> {
        Ok(())
    }
    /// What the port is, for messages (`/tmp/p1 -> /dev/pts/4`, `127.0.0.1:5001`).
    fn describe(&self) -> String;
}

/// The reader's serial settings relative to the meter's: each field given replaces the meter's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderSettings {
    /// The reader's baud rate (`--baud`).
    pub baud: Option<u32>,
    /// The reader's character format and polarity, e.g. `8E1` or `8N1 inverted` (`--format`).
    pub format: Option<String>,
}

impl ReaderSettings {
    /// The reader's settings when the meter uses `meter`: the meter's own, with the overrides.
    pub fn resolve(&self, meter: &UartConfig) -> Result<UartConfig, LineError> {
        let baud = self.baud.unwrap_or(meter.baud);
        match &self.format {
            None => {
                let config = UartConfig { baud, ..*meter };
                config.validate()?;
                Ok(config)
            }
            Some(format) => format!("{baud} {format}").parse(),
        }
    }
}

/// How [`run`] runs a meter.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The reader's settings (the meter's own where not overridden).
    pub reader: ReaderSettings,
    /// Faults on the line from the meter to the reader.
    pub faults: Vec<Fault>,
    /// Seed of the line's random choices (faults).
    pub seed: Seed,
    /// Stop after this many messages (pushes and replies) have been written.
    pub count: Option<u64>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            reader: ReaderSettings::default(),
            faults: Vec::new(),
            seed: Seed(0),
            count: None,
        }
    }
}

/// A message that carried a reading, as its first byte was written.
#[derive(Clone, Debug)]
pub struct Sent<'a> {
    /// 0-based number of the reading in this run.
    pub seq: u64,
    /// Wall-clock time when the message's first byte was written.
    pub sent_at: DateTime<Utc>,
    /// What the message encodes (the simulator's truth).
    pub reading: &'a Reading,
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Messages (pushes and replies) the meter made.
    pub messages: u64,
    /// Readings reported to the observer.
    pub readings: u64,
    /// Bytes written to the port.
    pub bytes: u64,
}

/// A run failed: bad settings or faults, or the port failed (not: the reader went away).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The settings or faults cannot be used.
    #[error(transparent)]
    Line(#[from] LineError),
    /// The port failed.
    #[error("port")]
    Io(#[from] io::Error),
}

/// The meter side of the run: the line from the meter, what is queued on it, and the counts.
struct Driver<'a> {
    options: &'a SimOptions,
    line: Channel,
    start: Instant,
    /// Start times of messages queued on the line that have not begun yet.
    starts: VecDeque<u64>,
    /// Characters are on the line (a message has begun and the line has not settled).
    in_flight: bool,
    /// Messages with readings not yet (begun to be) written: (start, readings).
    truth: VecDeque<(u64, Vec<Reading>)>,
    /// The receiver has been read to here.
    read_to: u64,
    /// A change of the port's settings, due at the time given.
    port_change: Option<(u64, UartConfig)>,
    /// The port is closed for good (a broken pipe): the run ends.
    closed: bool,
    summary: Summary,
}

impl Driver<'_> {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn limit_reached(&self) -> bool {
        self.options
            .count
            .is_some_and(|n| self.summary.messages >= n)
    }

    fn send(&mut self, emissions: Vec<Emission>) {
        for e in emissions {
            let start = e.at_ns.max(self.line.free_at()).max(self.read_to);
            self.line.send(e.at_ns, &e.bytes);
            self.starts.push_back(start);
            if !e.truth.is_empty() {
                self.truth.push_back((start, e.truth));
            }
        }
    }

    fn uart_change(&mut self, meter: &mut dyn Meter, port: &dyn Port, now: u64) {
        let Some((at, config)) = meter.take_uart_change() else {
            return;
        };
        let at = at.max(now);
        let reader = match self.options.reader.resolve(&config) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("meter UART change to {config}: reader settings: {e}");
                config
            }
        };
        if let Err(e) = self.line.set_tx_config(config) {
            tracing::warn!("meter UART change refused: {e}");
            return;
        }
        let rx = if port.frames_itself() { config } else { reader };
        if let Err(e) = self.line.set_rx_config(at, rx) {
            tracing::warn!("meter UART change refused: {e}");
        }
        tracing::info!(at, %config, "meter switched its serial settings");
        if port.frames_itself() {
            self.port_change = Some((at, reader));
        }
    }

    /// Writes what the reader's UART has received by `now`.
    fn flush(
        &mut self,
        port: &mut dyn Port,
        now: u64,
        observer: &mut dyn FnMut(Sent<'_>),
    ) -> io::Result<()> {
        self.read_to = self.read_to.max(now);
        let chars = self.line.receive_until(now);
        let Some(last) = chars.last() else {
            return Ok(());
        };
        let last_ns = last.time_ns;
        let bytes = host_bytes(&chars, ErrorPolicy::Pass);
        if let Err(e) = port.write(&bytes) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                // Standard output piped into a reader that has exited: nothing more to do.
                self.closed = true;
                return Ok(());
            }
            return Err(e);
        }
        self.summary.bytes += bytes.len() as u64;
        let sent_at = Utc::now();
        while self
            .truth
            .front()
            .is_some_and(|(start, _)| *start <= last_ns)
        {
            if let Some((_, readings)) = self.truth.pop_front() {
                for reading in &readings {
                    observer(Sent {
                        seq: self.summary.readings,
                        sent_at,
                        reading,
                    });
                    self.summary.readings += 1;
                }
            }
        }
        Ok(())
    }
}

/// Runs `meter` against `port` in real time until `stop` is set or `options.count` messages
/// have been written; `observer` gets every reading as its message starts to be written.
///
/// A port that reports a broken pipe (standard output into a reader that has exited) ends the
/// run normally.
///
/// The reader going away (a closed pty, a disconnected TCP client) is not an error: the meter
/// goes on, and the next reader gets what it sends from then on.
pub fn run(
    meter: &mut dyn Meter,
    port: &mut dyn Port,
    options: &SimOptions,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(Sent<'_>),
) -> Result<Summary, TransportError> {
    let meter_uart = meter.uart();
    let reader_uart = options.reader.resolve(&meter_uart)?;
    let rx = if port.frames_itself() {
        port.set_uart(&reader_uart)?;
        meter_uart
    } else {
        reader_uart
    };
    let line = Channel::try_new(
        meter_uart,
        rx,
        options.faults.clone(),
        options.seed.derive("line/meter-to-reader"),
    )?;
    let mut d = Driver {
        options,
        line,
        start: Instant::now(),
        starts: VecDeque::new(),
        in_flight: true,
        truth: VecDeque::new(),
        read_to: 0,
        port_change: None,
        closed: false,
        summary: Summary::default(),
    };
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        let now = d.now();
        d.flush(port, now, observer)?;
        if d.closed {
            break;
        }
        if let Some((at, config)) = d.port_change {
            if at <= now {
                port.set_uart(&config)?;
                d.port_change = None;
            }
        }
        while d.starts.front().is_some_and(|s| *s <= now) {
            d.starts.pop_front();
            d.in_flight = true;
        }
        let settled = now >= d.line.settled_at();
        if settled {
            d.in_flight = false;
        }
        if d.limit_reached() && settled && d.starts.is_empty() {
            break;
        }
        while !d.limit_reached() && meter.next_push_ns().is_some_and(|t| t <= now) {
            let emissions = meter.push();
            d.summary.messages += 1;
            d.send(emissions);
            d.uart_change(meter, port, now);
        }
        let mut wake = now.saturating_add(MAX_IDLE.as_nanos() as u64);
        if d.in_flight {
            wake = wake.min(now.saturating_add(STEP.as_nanos() as u64));
        }
        for t in [
            d.starts.front().copied(),
            meter.next_push_ns().filter(|_| !d.limit_reached()),
            d.port_change.map(|(at, _)| at),
        ]
        .into_iter()
        .flatten()
        {
            wake = wake.min(t.max(now));
        }
        let n = port.read(&mut buf, Duration::from_nanos(wake - now))?;
        for &byte in buf.get(..n).unwrap_or_default() {
            if d.limit_reached() {
                break;
            }
            let t = d.now();
            let replies = meter.receive(t, &[byte]);
            if !replies.is_empty() {
                d.summary.messages += 1;
            }
            d.send(replies);
            d.uart_change(meter, port, t);
        }
    }
    tracing::info!(
        messages = d.summary.messages,
        bytes = d.summary.bytes,
        "meter stopped"
    );
    Ok(d.summary)
}

/// Standard output as a port: the meter's bytes, paced, raw or as hex text (one line per
/// write); the reader cannot answer.
#[derive(Debug)]
pub struct StdoutPort {
    hex: bool,
}

impl StdoutPort {
    /// Raw bytes (`hex = false`) or hex text.
    pub fn new(hex: bool) -> Self {
        StdoutPort { hex }
    }
}

impl Port for StdoutPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut out = io::stdout().lock();
        if self.hex {
            let mut text = String::with_capacity(bytes.len() * 3);
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                text.push_str(&format!("{b:02X}"));
            }
            writeln!(out, "{text}")?;
        } else {
            out.write_all(bytes)?;
        }
        out.flush()
    }

    fn read(&mut self, _buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        std::thread::sleep(timeout);
        Ok(0)
    }

    fn describe(&self) -> String {
        if self.hex {
            "standard output (hex)".into()
        } else {
            "standard output".into()
        }
    }
}

/// A port in memory, for tests: collects what is written with its time; plays back scripted
/// reader bytes.
#[derive(Debug, Default)]
pub struct MemoryPort {
    /// Every write: time since the port was made, and the bytes.
    pub writes: Vec<(Duration, Vec<u8>)>,
    /// Bytes the reader will write, each at its time since the port was made.
    pub script: VecDeque<(Duration, Vec<u8>)>,
    created: Option<Instant>,
}

impl MemoryPort {
    /// An empty port whose clock starts now.
    pub fn new() -> Self {
        MemoryPort {
            created: Some(Instant::now()),
            ..MemoryPort::default()
        }
    }

    fn elapsed(&self) -> Duration {
        self.created.map(|c| c.elapsed()).unwrap_or_default()
    }

    /// Everything written, concatenated.
    pub fn bytes(&self) -> Vec<u8> {
        self.writes.iter().flat_map(|(_, b)| b.clone()).collect()
    }
}

impl Port for MemoryPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let at = self.elapsed();
        self.writes.push((at, bytes.to_vec()));
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = self.elapsed() + timeout;
        if let Some((at, _)) = self.script.front() {
            if *at <= deadline {
                let wait = at.saturating_sub(self.elapsed());
                std::thread::sleep(wait);
                if let Some((_, bytes)) = self.script.pop_front() {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    if n < bytes.len() {
                        self.script.push_front((
                            Duration::ZERO,
                            bytes.get(n..).unwrap_or_default().to_vec(),
                        ));
                    }
                    return Ok(n);
                }
            }
        }
        std::thread::sleep(timeout);
        Ok(0)
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::profile::MeterSpec;

    #[test]
    fn reader_settings_override_the_meters() {
        let meter: UartConfig = "115200 8N1 inverted".parse().expect("settings");
        let same = ReaderSettings::default().resolve(&meter).expect("ok");
        assert_eq!(same, meter);
        let baud = ReaderSettings {
            baud: Some(9600),
            format: None,
        };
        assert_eq!(
            baud.resolve(&meter).expect("ok").to_string(),
            "9600 8N1 inverted"
        );
        let format = ReaderSettings {
            baud: None,
            format: Some("7E1".into()),
        };
        assert_eq!(
            format.resolve(&meter).expect("ok").to_string(),
            "115200 7E1"
        );
        let bad = ReaderSettings {
            baud: None,
            format: Some("9Q9".into()),
        };
        assert!(bad.resolve(&meter).is_err());
    }

    #[test]
    fn memory_port_gets_count_pushes_with_truth() {
        let mut spec = MeterSpec::new("dsmr-5.0");
        spec.interval = Some("50ms".into());
        let mut meter = spec.build(Seed(1)).expect("meter");
        let mut port = MemoryPort::new();
        let options = SimOptions {
            count: Some(2),
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let mut seen = Vec::new();
        let summary = run(&mut *meter, &mut port, &options, &stop, &mut |s| {
            seen.push((s.seq, s.reading.clone()))
        })
        .expect("runs");
        assert_eq!(summary.messages, 2);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, 0);
        assert_eq!(seen[1].0, 1);
        let bytes = port.bytes();
        assert_eq!(bytes.iter().filter(|&&b| b == b'!').count(), 2);
        assert!(bytes.starts_with(b"/"));
        // Paced: more than one write per telegram.
        assert!(port.writes.len() > 2);
    }

    #[test]
    fn stop_flag_ends_a_run() {
        let mut meter = MeterSpec::new("dsmr-5.0").build(Seed(1)).expect("meter");
        let mut port = MemoryPort::new();
        let stop = AtomicBool::new(true);
        let summary = run(
            &mut *meter,
            &mut port,
            &SimOptions::default(),
            &stop,
            &mut |_| {},
        )
        .expect("runs");
        assert_eq!(summary.messages, 0);
    }
}
