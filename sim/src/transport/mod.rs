//! Virtual meters on real lines: a pseudo-terminal, a TCP socket, a real UART, standard output.
//!
//! [`run`] drives one [`Meter`] in real time against a byte [`Port`]. Virtual time 0 is the
//! moment `run` starts; from then on virtual nanoseconds are wall-clock nanoseconds since the
//! start. What happens on the line is the session engine's ([`crate::session::Engine`], the same
//! one the harness runs in virtual time); this module is its real clock and its I/O:
//!
//! - the engine makes the meter's pushes and replies and puts them through the meter-to-reader
//!   [`Channel`](crate::line::Channel), from the meter's settings to the reader's
//!   ([`SimOptions::reader`], or what the port reports, [`Port::reader_uart`]), with the
//!   configured faults. A pty or a socket has no baud rate or parity, so the line model is
//!   applied to the byte stream *before* it is written: a reader whose settings are wrong gets
//!   exactly the bytes a real UART would have given it (with the host's error policy,
//!   [`SimOptions::errors`]);
//! - each received character is written on its own at its own time (its stop bit): the engine
//!   decodes the line at most [`LOOKAHEAD`] ahead, the driver sleeps until the next character is
//!   due (timer slack lowered to 1 µs on Linux) and writes it, so the reader sees real serial
//!   timing;
//! - the reader's bytes go into the engine as they arrive
//!   ([`crate::session::Engine::reader_send`]): they travel back through the second channel at the
//!   reader's settings, characters the meter's UART gets with a parity or framing error are
//!   discarded, and the meter gets each character at the time its stop bit arrives, so reply
//!   delays are the meter's own (a real UART, [`Port::frames_itself`], has done that part
//!   itself). Baud switches of both sides are the engine's.
//!
//! With [`SimOptions::virtual_time`] the same loop jumps instead of sleeping.
//!
//! Ports: [`pty`] (Linux pseudo-terminal behind a stable symlink), [`tcp`] (a raw TCP server, like
//! ser2net), [`serial`] (a real UART) and [`StdoutPort`] (raw or hex on standard output).

pub mod clock;
#[cfg(unix)]
pub mod fleet;
#[cfg(unix)]
pub mod pty;
pub mod serial;
pub mod tcp;

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use meterlab_decoder::Reading;

use crate::line::{push_host_bytes, ErrorPolicy, Fault, LineError, RxChar, UartConfig};
use crate::meter::Meter;
use crate::seed::Seed;
use crate::session::{Engine, Limits, LineSetup, Options as EngineOptions, Output};

pub use crate::session::{ReaderSettings, REQUEST_LOG_MAX};
pub use clock::MAX_IDLE;

use clock::{Clock, Clocked, POLL_MIN};

/// How far ahead of the clock the driver decodes the line. A reply the meter makes is never
/// put on the line before what has been decoded, so it may start up to this much later than
/// the meter asked (the reply windows of M-Bus and IEC 62056-21 are tens of milliseconds and
/// more).
pub const LOOKAHEAD: Duration = Duration::from_millis(2);

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
    /// The reader's serial settings, when the port knows them (a reader in the same process
    /// tells its port when it switches baud). While this is `None` the driver assumes the
    /// reader follows the meter, with [`SimOptions::reader`]'s overrides; once a port has
    /// answered, the reader's settings are what it says.
    fn reader_uart(&mut self) -> Option<UartConfig> {
        None
    }
    /// Whether [`Port::reader_uart`] is looked at again when the reader's bytes arrive, before
    /// they go on the line: a reader that sets its port and writes at once (a pty that follows
    /// the reader's settings) is heard at its new settings. A reader that reports its switches
    /// in order with its writes (meterlab's own reader) keeps the order instead: `false`.
    fn settings_with_bytes(&self) -> bool {
        false
    }
    /// Whether the reader has finished (a reader in the same process says so): the meter makes
    /// no more pushes, and the run ends once what it has sent is on the reader's side.
    fn reader_done(&self) -> bool {
        false
    }
    /// What the port is, for messages (`/tmp/p1 -> /dev/pts/4`, `127.0.0.1:5001`).
    fn describe(&self) -> String;
    /// The descriptor that becomes readable when the reader has written (or, for a server, a
    /// reader connects): a scheduler of many meters ([`fleet`]) polls all its ports at once.
    /// `None`: the port cannot be polled, and runs on a thread of its own ([`run`]).
    #[cfg(unix)]
    fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
    /// How many readers have connected so far, where the port can tell (a TCP server).
    fn readers_seen(&self) -> Option<u64> {
        None
    }
    /// The last character of a message (a push or a reply, all its frames) has been written:
    /// a port that groups its output by message ([`StdoutPort`]'s hex lines) ends the group.
    fn end_of_message(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How [`run`] runs a meter.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The meter's transmitter at the start, when not the profile's own (a clock error, say);
    /// a baud switch of the meter replaces it.
    pub sender: Option<UartConfig>,
    /// The reader's settings (the meter's own where not overridden).
    pub reader: ReaderSettings,
    /// Faults on the line from the meter to the reader.
    pub faults: Vec<Fault>,
    /// Faults on the line from the reader to the meter.
    pub reader_faults: Vec<Fault>,
    /// What the reader's host driver makes of characters received with errors (a pty cannot
    /// mark them, so the driver applies the policy before writing).
    pub errors: ErrorPolicy,
    /// Characters that arrive before this time (ns since the start) are not written: the
    /// reader opens its port then.
    pub reader_start_ns: u64,
    /// Seed of the line's random choices (faults).
    pub seed: Seed,
    /// Stop after this many messages (pushes and replies) have been made.
    pub count: Option<u64>,
    /// No pushes at or after this time (ns since the start); the run ends once the line is
    /// quiet after it.
    pub until_ns: Option<u64>,
    /// A push due while the line still carries the previous message is dropped (and counted,
    /// [`Summary::dropped`]) instead of queued behind it: memory stays flat however short the
    /// interval (`meterlab sim`). Off, pushes queue as in the in-memory session, so a scenario
    /// gives the same outcome over a real line.
    pub drop_when_busy: bool,
    /// Run in virtual time: no sleeping, the clock jumps to the next thing due (`meterlab sim
    /// --stdout`, where nobody answers and a capture is wanted at once). Only for ports whose
    /// reader cannot write (the port is not read): a meter that waits for requests makes
    /// nothing, and the run ends when nothing more is due.
    pub virtual_time: bool,
    /// The wall-clock time of the start, for event and truth times in virtual time (the
    /// meter's own clock start, so that the times match the telegrams'); default: now.
    pub clock_start: Option<DateTime<Utc>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            sender: None,
            reader: ReaderSettings::default(),
            faults: Vec::new(),
            reader_faults: Vec::new(),
            errors: ErrorPolicy::Pass,
            reader_start_ns: 0,
            seed: Seed(0),
            count: None,
            until_ns: None,
            drop_when_busy: false,
            virtual_time: false,
            clock_start: None,
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pushes and replies the meter made and put on the line.
    pub messages: u64,
    /// Pushes the meter made while the line was still busy with an earlier message (its
    /// interval shorter than a message's time on the line): not sent, so that nothing piles up.
    pub dropped: u64,
    /// Emissions (one push may be several segments or frames), as the harness counts them.
    pub emissions: u64,
    /// Bytes in those emissions.
    pub sent_bytes: u64,
    /// Readings reported to the observer.
    pub readings: u64,
    /// Bytes written to the port.
    pub bytes: u64,
    /// Characters the reader's UART received with a parity error (from the reader's start).
    pub rx_parity_errors: u64,
    /// Characters received with a framing error (not breaks).
    pub rx_framing_errors: u64,
    /// Breaks received.
    pub rx_breaks: u64,
    /// What the faults on the meter-to-reader line did ([`crate::line::FaultLog`]'s text).
    pub fault_log: String,
    /// Bytes the reader wrote (requests), as the port delivered them.
    pub reader_bytes: u64,
    /// Each serial setting the port reported for the reader, in order (a reader that sets its
    /// port on a pty with `--follow-baud`; the first is the port's own before a reader came).
    pub reader_settings: Vec<String>,
    /// How long the run lasted, in (virtual or wall-clock) nanoseconds.
    pub elapsed_ns: u64,
    /// Readers that connected, where the port can tell ([`Port::readers_seen`]).
    pub readers: Option<u64>,
}

/// What the driver did, as it happens (for logs: `meterlab sim -v`, `--json-log`). Owned data;
/// never a key.
#[derive(Clone, Debug)]
pub enum Event {
    /// The meter made a push or a reply and put it on the line.
    Message {
        /// 0-based number of the message in this run.
        seq: u64,
        /// When its first byte goes on the line (wall clock, or the virtual clock's time).
        at: DateTime<Utc>,
        /// A reply to a request (`false`: a push).
        reply: bool,
        /// Bytes the meter sent (before faults).
        bytes: usize,
        /// For a reply: the bytes the meter heard since its previous message (the request it
        /// answers, at most [`REQUEST_LOG_MAX`] bytes).
        request: Vec<u8>,
        /// What the message encodes (the simulator's truth; empty for acknowledgements).
        readings: Vec<Reading>,
    },
    /// A push was due while the line was busy, and dropped.
    Dropped {
        /// When it was due.
        at: DateTime<Utc>,
        /// Its bytes.
        bytes: usize,
    },
    /// The port reported new serial settings of the reader.
    ReaderSettings {
        /// When they were seen.
        at: DateTime<Utc>,
        /// The settings (`300 7E1`).
        config: String,
    },
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

/// The real clock around the session engine: what has been decoded for the reader and is not
/// yet written, the messages and readings in flight, and the counts.
struct Driver<'a, 'm> {
    engine: Engine<'m>,
    options: &'a SimOptions,
    /// Where events go.
    events: &'a mut dyn FnMut(Event),
    /// Where readings go.
    observer: &'a mut dyn FnMut(Sent<'_>),
    /// The wall clock at time 0.
    wall_start: DateTime<Utc>,
    /// The clock is virtual.
    virtual_time: bool,
    /// When each message on the line ends (ns), oldest first.
    message_ends: VecDeque<u64>,
    /// Characters decoded from the line, not yet written.
    due: VecDeque<RxChar>,
    /// The bytes of the characters being written (kept: a write per character must not
    /// allocate).
    out: Vec<u8>,
    /// Messages with readings whose first byte has not been written yet: (start, readings).
    truth: VecDeque<(u64, Vec<Reading>)>,
    /// The reader's settings as the port reported them last.
    reader_known: Option<UartConfig>,
    /// A change of the port's settings, due at the time given.
    port_change: Option<(u64, UartConfig)>,
    /// The port is closed for good (a broken pipe): the run ends.
    closed: bool,
    summary: Summary,
}

impl Driver<'_, '_> {
    /// The wall-clock time of `ns` since the start.
    fn wall(&self, ns: u64) -> DateTime<Utc> {
        self.wall_start + chrono::Duration::nanoseconds(i64::try_from(ns).unwrap_or(i64::MAX))
    }

    /// Takes in what the engine's last step did: messages and drops (events, counts, truth),
    /// the reader's characters (to write at their times), the reader's own UART switching.
    fn absorb(&mut self) {
        let outputs: Vec<Output> = self.engine.take_outputs().collect();
        for output in outputs {
            match output {
                Output::Message {
                    start_ns,
                    end_ns,
                    reply,
                    request,
                    sent,
                } => {
                    let seq = self.summary.messages;
                    self.summary.messages += 1;
                    let mut bytes = 0;
                    let mut readings = Vec::new();
                    for s in sent {
                        bytes += s.emission.bytes.len();
                        self.summary.emissions += 1;
                        self.summary.sent_bytes += s.emission.bytes.len() as u64;
                        if !s.emission.truth.is_empty() {
                            readings.extend(s.emission.truth.iter().cloned());
                            self.truth.push_back((s.start_ns, s.emission.truth));
                        }
                    }
                    self.message_ends.push_back(end_ns);
                    let at = self.wall(start_ns);
                    (self.events)(Event::Message {
                        seq,
                        at,
                        reply,
                        bytes,
                        request,
                        readings,
                    });
                }
                Output::Dropped {
                    at_ns,
                    busy_ns,
                    bytes,
                } => {
                    if self.summary.dropped == 0 {
                        tracing::warn!(
                            "a push is due while the line still carries the previous message \
                             ({} ms more): the interval is shorter than a message's time on \
                             the line, so pushes are dropped until it is free (counted in the \
                             summary)",
                            busy_ns / 1_000_000
                        );
                    }
                    tracing::debug!(at_ns, bytes, "push dropped: the line is busy");
                    self.summary.dropped += 1;
                    let at = self.wall(at_ns);
                    (self.events)(Event::Dropped { at, bytes });
                }
                Output::ReaderChars(chars) => {
                    for c in chars {
                        self.summary.rx_parity_errors += u64::from(c.parity_error);
                        self.summary.rx_framing_errors += u64::from(c.framing_error && !c.brk);
                        self.summary.rx_breaks += u64::from(c.brk);
                        self.due.push_back(c);
                    }
                }
                Output::ReaderUart { at_ns, config } => self.port_change = Some((at_ns, config)),
                Output::MeterChars(_) => {}
            }
        }
    }

    /// The port reports new reader settings: the reader's receiver and transmitter switch now.
    fn reader_change(&mut self, port: &mut dyn Port, now: u64) {
        let Some(config) = port.reader_uart() else {
            return;
        };
        if self.reader_known == Some(config) {
            return;
        }
        self.reader_known = Some(config);
        tracing::debug!(%config, "the reader switched its serial settings");
        self.summary.reader_settings.push(config.to_string());
        let at = self.wall(now);
        (self.events)(Event::ReaderSettings {
            at,
            config: config.to_string(),
        });
        self.engine.set_reader_uart(now, config);
    }

    /// Writes the characters due by `now`.
    fn flush(&mut self, port: &mut dyn Port, now: u64) -> io::Result<()> {
        let mut last_ns = None;
        self.out.clear();
        while let Some(c) = self.due.front().filter(|c| c.time_ns <= now) {
            push_host_bytes(c, self.options.errors, &mut self.out);
            last_ns = Some(c.time_ns);
            self.due.pop_front();
        }
        let Some(last_ns) = last_ns else {
            return Ok(());
        };
        let bytes = &self.out;
        if !bytes.is_empty() {
            if let Err(e) = port.write(bytes) {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    // Standard output piped into a reader that has exited: nothing more to do.
                    self.closed = true;
                    return Ok(());
                }
                return Err(e);
            }
        }
        self.summary.bytes += bytes.len() as u64;
        self.tell(last_ns);
        Ok(())
    }

    /// Tells the port about the messages whose characters have all been written by `now`.
    fn end_messages(&mut self, port: &mut dyn Port, now: u64) -> io::Result<()> {
        while let Some(&end) = self.message_ends.front() {
            let written = now >= end
                && self.engine.decoded_to() >= end
                && !matches!(self.due.front(), Some(c) if c.time_ns <= end);
            if !written {
                break;
            }
            self.message_ends.pop_front();
            match port.end_of_message() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    self.closed = true;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reports the readings of the messages that have started by `by` (ns) to the observer.
    fn tell(&mut self, by: u64) {
        if !self.truth.front().is_some_and(|(start, _)| *start <= by) {
            return;
        }
        let sent_at = if self.virtual_time {
            self.wall(by)
        } else {
            Utc::now()
        };
        while self.truth.front().is_some_and(|(start, _)| *start <= by) {
            if let Some((_, readings)) = self.truth.pop_front() {
                for reading in &readings {
                    (self.observer)(Sent {
                        seq: self.summary.readings,
                        sent_at,
                        reading,
                    });
                    self.summary.readings += 1;
                }
            }
        }
    }

    /// Everything sent has been written and the line is quiet.
    fn quiet(&self, now: u64) -> bool {
        self.due.is_empty() && self.engine.quiet(now)
    }
}

impl Clocked for Driver<'_, '_> {
    fn tick(&mut self, port: &mut dyn Port, now: u64) -> io::Result<bool> {
        self.reader_change(port, now);
        if let Some((at, config)) = self.port_change {
            if at <= now {
                port.set_uart(&config)?;
                self.port_change = None;
            }
        }
        if port.reader_done() {
            self.engine.reader_finished();
        }
        self.engine.step(now, None);
        self.absorb();
        self.flush(port, now)?;
        self.end_messages(port, now)?;
        if self.closed || (self.due.is_empty() && self.engine.finished(now)) {
            return Ok(false);
        }
        // In virtual time nobody writes: once nothing more is due, nothing ever will be.
        let nothing_due = self.engine.next_push_at().is_none()
            && self.port_change.is_none()
            && self.options.until_ns.is_none()
            && self.quiet(now);
        Ok(!(self.virtual_time && nothing_due))
    }

    /// A character to write, the engine's next event (a push, a step while the line is busy), a
    /// port change, the end.
    fn next_at(&self, now: u64) -> Option<u64> {
        [
            self.due.front().map(|c| c.time_ns),
            self.engine.next_event_at(),
            self.port_change.map(|(at, _)| at),
            self.options.until_ns.filter(|&u| u > now),
        ]
        .into_iter()
        .flatten()
        .map(|t| t.max(now))
        .min()
    }

    fn input(&mut self, port: &mut dyn Port, now: u64, bytes: &[u8]) -> io::Result<()> {
        if !port.frames_itself() {
            self.summary.reader_bytes += bytes.len() as u64;
            // The reader may have set its port just before writing (open, tcsetattr, write
            // within a millisecond): its characters go out at the settings it has now, so
            // look at them before putting the bytes on the line.
            if port.settings_with_bytes() {
                self.reader_change(port, now);
            }
        }
        self.engine.reader_send(now, bytes);
        Ok(())
    }
}

/// Runs `meter` against `port` in real time until `stop` is set, `options.count` messages have
/// been made and written, or `options.until_ns` has passed and the line is quiet; `observer`
/// gets every reading as its message starts to be written.
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
    run_logged(meter, port, options, stop, observer, &mut |_| {})
}

/// The session engine for `meter` on `port` with `options`: the line at the meter's settings and
/// the reader's (what the port reports, or the meter's with [`SimOptions::reader`]'s
/// overrides); a port that frames characters itself is set to the reader's settings.
fn engine_for<'m>(
    meter: &'m mut dyn Meter,
    port: &mut dyn Port,
    options: &SimOptions,
) -> Result<(Engine<'m>, Option<UartConfig>), TransportError> {
    let meter_uart = options.sender.unwrap_or_else(|| meter.uart());
    let reader_known = port.reader_uart();
    let framed = port.frames_itself();
    let reader_uart = match reader_known {
        Some(c) if !framed => c,
        _ => options.reader.resolve(&meter_uart)?,
    };
    if framed {
        port.set_uart(&reader_uart)?;
    }
    let line = LineSetup {
        meter_tx: meter_uart,
        // A real UART decodes the characters itself: the line applies only the faults.
        reader_rx: if framed { meter_uart } else { reader_uart },
        reader_tx: reader_uart,
        meter_rx: meter_uart,
        faults: options.faults.clone(),
        reader_faults: options.reader_faults.clone(),
        errors: options.errors,
        reader_start_ns: options.reader_start_ns,
    };
    let limits = Limits {
        pushes: None,
        messages: options.count,
        until_ns: options.until_ns,
    };
    let engine_options = EngineOptions {
        step_ns: POLL_MIN.as_nanos() as u64,
        lookahead_ns: LOOKAHEAD.as_nanos() as u64,
        drop_when_busy: options.drop_when_busy,
        reader_follows: reader_known.is_none().then(|| options.reader.clone()),
        framed,
    };
    let engine = Engine::new(meter, &line, limits, engine_options, options.seed)?;
    Ok((engine, reader_known))
}

/// [`run`], telling `events` what happens: each message made (with the request it answers),
/// each push dropped, each change of the reader's settings.
pub fn run_logged(
    meter: &mut dyn Meter,
    port: &mut dyn Port,
    options: &SimOptions,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(Sent<'_>),
    events: &mut dyn FnMut(Event),
) -> Result<Summary, TransportError> {
    let mut clock = if options.virtual_time {
        Clock::virtual_time()
    } else {
        clock::precise_timers();
        Clock::real()
    };
    let mut d = Driver::new(meter, port, options, observer, events)?;
    clock::drive(&mut d, port, &mut clock, stop)?;
    d.finish(port, clock.now())
}

impl<'a, 'm> Driver<'a, 'm> {
    /// The meter's side of a run of `meter` on `port`, time 0 now.
    fn new(
        meter: &'m mut dyn Meter,
        port: &mut dyn Port,
        options: &'a SimOptions,
        observer: &'a mut dyn FnMut(Sent<'_>),
        events: &'a mut dyn FnMut(Event),
    ) -> Result<Self, TransportError> {
        let (engine, reader_known) = engine_for(meter, port, options)?;
        let mut summary = Summary::default();
        if let Some(config) = reader_known {
            summary.reader_settings.push(config.to_string());
        }
        Ok(Driver {
            engine,
            options,
            events,
            observer,
            wall_start: options
                .clock_start
                .filter(|_| options.virtual_time)
                .unwrap_or_else(Utc::now),
            virtual_time: options.virtual_time,
            message_ends: VecDeque::new(),
            due: VecDeque::new(),
            out: Vec::new(),
            truth: VecDeque::new(),
            reader_known,
            port_change: None,
            closed: false,
            summary,
        })
    }

    /// The end of the run at `elapsed_ns`: the last readings told, the port's last message
    /// ended, the summary.
    fn finish(mut self, port: &mut dyn Port, elapsed_ns: u64) -> Result<Summary, TransportError> {
        let d = &mut self;
        // Messages the faults removed, or sent before the reader started, were sent all the same.
        d.tell(d.engine.decoded_to());
        d.summary.fault_log = d.engine.to_reader().fault_log().to_string();
        d.summary.elapsed_ns = elapsed_ns;
        d.summary.readers = port.readers_seen();
        if !d.closed {
            match port.end_of_message() {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e.into()),
                _ => {}
            }
        }
        if d.summary.dropped > 0 {
            tracing::warn!(
                dropped = d.summary.dropped,
                sent = d.summary.messages,
                "pushes dropped because the line was busy (interval shorter than a message)"
            );
        }
        tracing::info!(
            messages = d.summary.messages,
            bytes = d.summary.bytes,
            "meter stopped"
        );
        Ok(self.summary)
    }
}

/// Standard output as a port: the meter's bytes, paced, raw or as hex text (one line per
/// write); the reader cannot answer.
#[derive(Debug)]
pub struct StdoutPort {
    hex: bool,
    /// Hex: the bytes of the message being written (one line per message).
    line: Vec<u8>,
}

impl StdoutPort {
    /// Raw bytes (`hex = false`) or hex text, one line per message.
    pub fn new(hex: bool) -> Self {
        StdoutPort {
            hex,
            line: Vec::new(),
        }
    }
}

/// `bytes` as hex text: `2F 49 53 6B`.
pub fn hex_line(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&format!("{b:02X}"));
    }
    text
}

impl Port for StdoutPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.hex {
            // Written when the message ends: the grouping is the message's, not the timer's.
            self.line.extend_from_slice(bytes);
            return Ok(());
        }
        let mut out = io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    }

    fn end_of_message(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let text = hex_line(&self.line);
        self.line.clear();
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
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
    /// How many bytes had been written at the end of each message.
    pub message_ends: Vec<usize>,
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

    fn end_of_message(&mut self) -> io::Result<()> {
        let written = self.writes.iter().map(|(_, b)| b.len()).sum();
        if self.message_ends.last() != Some(&written) {
            self.message_ends.push(written);
        }
        Ok(())
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
    fn pushes_faster_than_the_line_are_dropped_not_queued() {
        // dsmr-5.0 at 115200 baud: a telegram takes tens of ms on the line, far longer than the
        // 10 ms interval, so most pushes find the line busy.
        let mut spec = MeterSpec::new("dsmr-5.0");
        spec.interval = Some("10ms".into());
        let until = 400_000_000;
        let due = pushes_before(&spec, until);
        let mut meter = spec.build(Seed(1)).expect("meter");
        let mut port = MemoryPort::new();
        let options = SimOptions {
            until_ns: Some(until),
            drop_when_busy: true,
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let mut readings = 0u64;
        let started = Instant::now();
        let summary = run(&mut *meter, &mut port, &options, &stop, &mut |_| {
            readings += 1
        })
        .expect("runs");
        assert!(summary.dropped > 0, "{summary:?}");
        assert!(summary.messages >= 2, "{summary:?}");
        assert_eq!(summary.messages + summary.dropped, due, "{summary:?}");
        // What was sent went out whole, and nothing waited behind it: the run ends once the
        // last telegram sent is written, not after a backlog of the dropped ones.
        let bytes = port.bytes();
        assert_eq!(
            bytes.iter().filter(|&&b| b == b'!').count() as u64,
            summary.messages
        );
        assert_eq!(readings, summary.messages);
        assert!(
            started.elapsed() < Duration::from_millis(1_400),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn without_drop_when_busy_pushes_queue_behind_each_other() {
        let mut spec = MeterSpec::new("dsmr-5.0");
        spec.interval = Some("10ms".into());
        let mut meter = spec.build(Seed(1)).expect("meter");
        let mut port = MemoryPort::new();
        let options = SimOptions {
            count: Some(3),
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let summary = run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs");
        assert_eq!(summary.dropped, 0);
        assert_eq!(summary.messages, 3);
        assert_eq!(port.bytes().iter().filter(|&&b| b == b'!').count(), 3);
    }

    /// The times of `spec`'s pushes before `until`, as the meter itself schedules them.
    fn pushes_before(spec: &MeterSpec, until: u64) -> u64 {
        let mut meter = spec.build(Seed(1)).expect("meter");
        let mut n = 0;
        while meter.next_push_ns().is_some_and(|t| t < until) {
            meter.push();
            n += 1;
        }
        n
    }

    #[test]
    fn a_run_until_a_time_ends_when_the_line_is_quiet() {
        let mut spec = MeterSpec::new("dsmr-5.0");
        spec.interval = Some("40ms".into());
        let until = 100_000_000;
        let expected = pushes_before(&spec, until);
        assert!(expected >= 2);
        let mut meter = spec.build(Seed(1)).expect("meter");
        let mut port = MemoryPort::new();
        let options = SimOptions {
            until_ns: Some(until),
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let summary = run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs");
        assert_eq!(summary.messages, expected);
        assert_eq!(summary.readings, expected);
        assert_eq!(summary.emissions, expected);
        // Every byte sent was written, the last telegram complete.
        assert_eq!(summary.bytes, summary.sent_bytes);
        let bytes = port.bytes();
        assert_eq!(
            bytes.iter().filter(|&&b| b == b'!').count() as u64,
            expected
        );
        assert!(bytes.ends_with(b"\r\n"));
    }

    #[test]
    fn characters_before_the_reader_starts_are_not_written() {
        let mut spec = MeterSpec::new("dsmr-5.0");
        spec.interval = Some("1s".into());
        let mut meter = spec.build(Seed(1)).expect("meter");
        let first = meter.next_push_ns().expect("a push meter");
        let mut port = MemoryPort::new();
        // The reader opens its port 20 ms into the first telegram (about 230 characters).
        let options = SimOptions {
            reader_start_ns: first + 20_000_000,
            count: Some(1),
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let summary = run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs");
        let bytes = port.bytes();
        assert!(
            !bytes.starts_with(b"/"),
            "the start of the telegram is lost"
        );
        assert!(bytes.ends_with(b"\r\n"));
        let missing = summary.sent_bytes - summary.bytes;
        assert!(
            (200..260).contains(&missing),
            "{missing} bytes before the start"
        );
        // The reading was sent all the same (the truth log has it).
        assert_eq!(summary.readings, 1);
    }

    #[test]
    fn a_reader_at_the_wrong_baud_gets_framing_errors_counted() {
        let mut spec = MeterSpec::new("dsmr-5.0");
        spec.interval = Some("50ms".into());
        let mut meter = spec.build(Seed(1)).expect("meter");
        let mut port = MemoryPort::new();
        let options = SimOptions {
            reader: ReaderSettings {
                baud: Some(9600),
                format: None,
            },
            count: Some(1),
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let summary = run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs");
        assert!(summary.rx_framing_errors > 0, "{summary:?}");
        assert!(summary.bytes < summary.sent_bytes / 5, "{summary:?}");
        assert!(!port.bytes().windows(4).any(|w| w == b"1-0:"));
    }

    #[test]
    fn the_readers_request_crosses_the_line_before_the_meter_answers() {
        // IEC 62056-21 mode C at 300 7E1: "/?!\r\n" takes 5 x 33.3 ms on the wire; the meter
        // answers its reaction time after the last character, not after the reader's write().
        let mut meter_spec = MeterSpec::new("iec-mode-c");
        meter_spec.options.set("reaction_ms", 20);
        let mut meter = meter_spec.build(Seed(1)).expect("meter");
        assert_eq!(meter.uart().baud, 300);
        let mut port = MemoryPort::new();
        port.script
            .push_back((Duration::from_millis(10), b"/?!\r\n".to_vec()));
        let options = SimOptions {
            count: Some(1),
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let summary = run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs");
        assert_eq!(summary.messages, 1);
        let (first_write, _) = port.writes.first().expect("the meter answered");
        let char_ms = meter.uart().char_time_ns() / 1e6;
        // Request on the wire (5 characters) + the reaction time (20 ms) + the first character
        // of the answer; without the line model it would come 167 ms earlier.
        let earliest = 10.0 + 5.0 * char_ms + 20.0 + char_ms;
        assert!(
            first_write.as_secs_f64() * 1e3 >= earliest - 1.0,
            "answer at {first_write:?}, expected after {earliest} ms"
        );
        assert!(port.bytes().starts_with(b"/"), "the identification");
    }

    #[test]
    fn virtual_time_makes_a_capture_at_once_with_message_boundaries() {
        // Two EVN pushes 5 s apart, each two M-Bus frames at 2400 baud: over 6 s in real time.
        let mut meter = MeterSpec::new("kaifa-ma309-evn")
            .build(Seed(1))
            .expect("meter");
        let mut port = MemoryPort::new();
        let options = SimOptions {
            count: Some(2),
            virtual_time: true,
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let started = Instant::now();
        let mut events = Vec::new();
        let summary = run_logged(
            &mut *meter,
            &mut port,
            &options,
            &stop,
            &mut |_| {},
            &mut |e| events.push(e),
        )
        .expect("runs");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert!(summary.elapsed_ns > 5_000_000_000, "{summary:?}");
        assert_eq!(summary.messages, 2);
        assert_eq!(summary.bytes, summary.sent_bytes);
        // One group per push (both of its frames), at the push's last byte.
        assert_eq!(port.message_ends.len(), 2, "{:?}", port.message_ends);
        assert_eq!(port.message_ends[1] as u64, summary.bytes);
        assert_eq!(port.message_ends[0] * 2, port.message_ends[1]);
        let seqs: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Message {
                    seq,
                    reply,
                    bytes,
                    readings,
                    ..
                } => {
                    assert!(!reply);
                    assert_eq!(*bytes as u64 * 2, summary.sent_bytes);
                    assert_eq!(readings.len(), 1);
                    Some(*seq)
                }
                _ => None,
            })
            .collect();
        assert_eq!(seqs, [0, 1]);
        // Stable: a second run gives the same bytes.
        let again = {
            let mut meter = MeterSpec::new("kaifa-ma309-evn")
                .build(Seed(1))
                .expect("meter");
            let mut port = MemoryPort::new();
            run(&mut *meter, &mut port, &options, &stop, &mut |_| {}).expect("runs");
            port.bytes()
        };
        assert_eq!(again, port.bytes());
    }

    #[test]
    fn a_reply_event_carries_the_request_it_answers() {
        let mut meter = MeterSpec::new("mbus-heat").build(Seed(1)).expect("meter");
        let mut port = MemoryPort::new();
        port.script
            .push_back((Duration::from_millis(5), vec![0x10, 0x40, 0x00, 0x40, 0x16]));
        let options = SimOptions {
            count: Some(1),
            ..SimOptions::default()
        };
        let stop = AtomicBool::new(false);
        let mut events = Vec::new();
        run_logged(
            &mut *meter,
            &mut port,
            &options,
            &stop,
            &mut |_| {},
            &mut |e| events.push(e),
        )
        .expect("runs");
        match events.as_slice() {
            [Event::Message {
                seq: 0,
                reply: true,
                bytes: 1,
                request,
                ..
            }] => assert_eq!(request, &[0x10, 0x40, 0x00, 0x40, 0x16]),
            other => panic!("{other:?}"),
        }
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
