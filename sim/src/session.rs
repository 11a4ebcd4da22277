//! One meter–reader session on a two-way serial line, free of I/O: the engine that every driver
//! runs, whatever its clock.
//!
//! An [`Engine`] owns both directions of the line (two [`Channel`]s, each with its own sender
//! and receiver settings and faults), the meter's pushes and replies, the UART changes of both
//! sides, the reader's start time and the limits of the run. It never sleeps and never reads a
//! clock: a driver asks it when something is next due ([`Engine::next_event_at`]) and lets it
//! act at a time ([`Engine::step`]). The virtual-time driver (the harness's session) jumps from
//! one such time to the next; the real-time drivers (`crate::transport`, a pty, TCP or a real
//! UART) sleep until then, or until the port has bytes. The rule is "one engine, two clocks":
//! what happens on the line does not depend on which clock drives it.
//!
//! Within a step the meter side goes first: it gets each character from the reader with the
//! character's own completion time and answers with its own timing, so reply delays are exact
//! whatever the step; then the reader side gets what the meter sent. Characters the meter's UART
//! receives with a parity or framing error (or as a break) are discarded before the meter sees
//! them, as a meter's UART does; the reader gets what the host's termios policy makes of them.
//!
//! The reader side is either an in-process [`Agent`] (meterlab's readers: state machines that
//! start, receive and wake, returning [`Action`]s), handed to [`Engine::step`], or an outside
//! port: its bytes come in with [`Engine::reader_send`], its setting changes with
//! [`Engine::set_reader_uart`], and the characters its UART receives go out as
//! [`Output::ReaderChars`].

use std::collections::{BTreeSet, VecDeque};

use crate::line::{host_bytes, Channel, ErrorPolicy, Fault, LineError, RxChar, UartConfig};
use crate::meter::{Emission, Meter};
use crate::seed::Seed;

/// The longest time step while characters are on the line, ns (virtual time; a real clock
/// polls the line as often).
pub const STEP_NS: u64 = 1_000_000;

/// The most request bytes an [`Output::Message`] carries.
pub const REQUEST_LOG_MAX: usize = 256;

/// What a reader does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send bytes, starting no earlier than `at_ns`.
    Send {
        /// Earliest start, ns.
        at_ns: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Switch the reader's UART (both directions) at `at_ns`.
    SetUart {
        /// When, ns.
        at_ns: u64,
        /// The new settings.
        config: UartConfig,
    },
    /// Wake the reader at `at_ns` (a timeout).
    Wake {
        /// When, ns.
        at_ns: u64,
    },
    /// The reader has finished its work.
    Done,
}

/// A reader in the same process: a state machine over the engine's time.
pub trait Agent {
    /// What it does when the port is opened at `now_ns`.
    fn start(&mut self, now_ns: u64) -> Vec<Action>;
    /// Bytes its `read()` returned, the last one completed at `now_ns`.
    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Action>;
    /// A wake-up it asked for.
    fn wake(&mut self, now_ns: u64) -> Vec<Action>;
}

/// How the line is set up.
#[derive(Clone, Debug)]
pub struct LineSetup {
    /// The meter's transmitter.
    pub meter_tx: UartConfig,
    /// The reader's receiver.
    pub reader_rx: UartConfig,
    /// The reader's transmitter.
    pub reader_tx: UartConfig,
    /// The meter's receiver.
    pub meter_rx: UartConfig,
    /// Faults from meter to reader.
    pub faults: Vec<Fault>,
    /// Faults from reader to meter.
    pub reader_faults: Vec<Fault>,
    /// What the reader's host driver does with characters received with errors.
    pub errors: ErrorPolicy,
    /// When the reader opens its port; what arrives before is lost.
    pub reader_start_ns: u64,
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

/// How long a session may run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// No more pushes once the meter has made this many.
    pub pushes: Option<u64>,
    /// No more pushes, and no more requests heard, once the meter has put this many messages
    /// (pushes and replies) on the line.
    pub messages: Option<u64>,
    /// No pushes at or after this time; the run ends once the line is quiet after it.
    pub until_ns: Option<u64>,
}

/// How an [`Engine`] runs, beyond the line and the limits.
#[derive(Clone, Debug)]
pub struct Options {
    /// The longest step while characters are on the line ([`STEP_NS`]).
    pub step_ns: u64,
    /// How far ahead of `now` a step decodes the reader's side (0 in virtual time): a real
    /// clock writes each character at its own time and needs it a little in advance. A message
    /// never goes on the line before what has been decoded.
    pub lookahead_ns: u64,
    /// A push due while the line still carries the previous message is dropped
    /// ([`Output::Dropped`]) instead of queued behind it.
    pub drop_when_busy: bool,
    /// The reader's settings follow the meter's baud switches, with these overrides, until the
    /// reader says its own ([`Engine::set_reader_uart`]); `None`: the reader keeps its settings
    /// unless it changes them itself.
    pub reader_follows: Option<ReaderSettings>,
    /// The reader's end frames characters itself (a real UART): the meter-to-reader channel
    /// applies only the faults (the reader's receiver at the meter's settings, its own UART
    /// switches by [`Output::ReaderUart`]), and the reader's bytes reach the meter as they come.
    pub framed: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            step_ns: STEP_NS,
            lookahead_ns: 0,
            drop_when_busy: false,
            reader_follows: None,
            framed: false,
        }
    }
}

/// One emission as it went on the line.
#[derive(Clone, Debug)]
pub struct Sent {
    /// When its first character starts (the line was free and decoded to then).
    pub start_ns: u64,
    /// What the meter made.
    pub emission: Emission,
}

/// What a step did, in order, for the driver to act on or record.
#[derive(Clone, Debug)]
pub enum Output {
    /// The meter made a push or a reply and put it on the line.
    Message {
        /// When its first character starts.
        start_ns: u64,
        /// When its last character ends.
        end_ns: u64,
        /// A reply: made after hearing the reader.
        reply: bool,
        /// What the meter heard since its previous message (at most [`REQUEST_LOG_MAX`] bytes).
        request: Vec<u8>,
        /// Its emissions (segments, frames), in order.
        sent: Vec<Sent>,
    },
    /// A push was due while the line was busy, and dropped ([`Options::drop_when_busy`]).
    Dropped {
        /// When it was due.
        at_ns: u64,
        /// How long the line stays busy from then, ns.
        busy_ns: u64,
        /// Its bytes.
        bytes: usize,
    },
    /// Characters the reader's UART received (from its start on), in order.
    ReaderChars(Vec<RxChar>),
    /// Characters the meter's UART received (before discarding bad ones), in order.
    MeterChars(Vec<RxChar>),
    /// The reader's own UART is to switch at `at_ns` ([`Options::framed`]: the port's hardware).
    ReaderUart {
        /// When.
        at_ns: u64,
        /// The reader's new settings.
        config: UartConfig,
    },
}

/// A meter and a reader on a two-way line, free of I/O (see the module doc).
pub struct Engine<'m> {
    meter: &'m mut dyn Meter,
    to_reader: Channel,
    to_meter: Channel,
    errors: ErrorPolicy,
    reader_start_ns: u64,
    limits: Limits,
    options: Options,
    now: u64,
    pushes: u64,
    messages: u64,
    wakes: BTreeSet<u64>,
    reader_started: bool,
    reader_done: bool,
    /// The reader has left for good: no more pushes.
    reader_gone: bool,
    decoded_to: u64,
    heard: Vec<u8>,
    outputs: VecDeque<Output>,
}

impl<'m> Engine<'m> {
    /// A session of `meter` on `line`, every random choice of the line from `seed`.
    pub fn new(
        meter: &'m mut dyn Meter,
        line: &LineSetup,
        limits: Limits,
        options: Options,
        seed: Seed,
    ) -> Result<Self, LineError> {
        let to_reader = Channel::try_new(
            line.meter_tx,
            line.reader_rx,
            line.faults.clone(),
            seed.derive("line/meter-to-reader"),
        )?;
        let to_meter = Channel::try_new(
            line.reader_tx,
            line.meter_rx,
            line.reader_faults.clone(),
            seed.derive("line/reader-to-meter"),
        )?;
        Ok(Engine {
            meter,
            to_reader,
            to_meter,
            errors: line.errors,
            reader_start_ns: line.reader_start_ns,
            limits,
            options,
            now: 0,
            pushes: 0,
            messages: 0,
            wakes: BTreeSet::new(),
            reader_started: false,
            reader_done: false,
            reader_gone: false,
            decoded_to: 0,
            heard: Vec::new(),
            outputs: VecDeque::new(),
        })
    }

    /// The time of the last step.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The meter.
    pub fn meter(&mut self) -> &mut dyn Meter {
        &mut *self.meter
    }

    /// The meter-to-reader channel (its fault log).
    pub fn to_reader(&self) -> &Channel {
        &self.to_reader
    }

    /// The reader-to-meter channel.
    pub fn to_meter(&self) -> &Channel {
        &self.to_meter
    }

    /// Both channels, at the end of a run.
    pub fn into_channels(self) -> (Channel, Channel) {
        (self.to_reader, self.to_meter)
    }

    /// How far the reader's side has been decoded.
    pub fn decoded_to(&self) -> u64 {
        self.decoded_to
    }

    /// Messages (pushes and replies) put on the line so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Whether the reader (an agent) has said it is done.
    pub fn reader_done(&self) -> bool {
        self.reader_done
    }

    /// What the steps did since the last call, in order.
    pub fn take_outputs(&mut self) -> impl Iterator<Item = Output> + '_ {
        self.outputs.drain(..)
    }

    /// The reader has left for good (an outside reader that said so): no more pushes; the run
    /// ends once the line is quiet.
    pub fn reader_finished(&mut self) {
        self.reader_done = true;
        self.reader_gone = true;
    }

    fn limited(&self, at: u64) -> bool {
        self.limits.pushes.is_some_and(|n| self.pushes >= n)
            || self.limits.messages.is_some_and(|n| self.messages >= n)
            || self.limits.until_ns.is_some_and(|u| at >= u)
    }

    /// When the meter pushes next, within the limits.
    pub fn next_push_at(&self) -> Option<u64> {
        self.meter
            .next_push_ns()
            .filter(|&at| !self.limited(at) && !self.reader_done)
    }

    fn busy(&self, t: u64) -> bool {
        self.to_reader.settled_at() > t || self.to_meter.settled_at() > t
    }

    /// Nothing is on the line at `now`, in either direction.
    pub fn quiet(&self, now: u64) -> bool {
        !self.busy(now)
    }

    /// The next moment anything can happen by itself: a push, a reader's timeout or start, the
    /// next step while characters are on the line; `None` once nothing more will (the limits
    /// are reached or the reader is done, and the line is quiet), unless the reader sends.
    pub fn next_event_at(&self) -> Option<u64> {
        let t = self.now;
        let busy = self.busy(t);
        let mut next = u64::MAX;
        if busy {
            next = next.min(t.saturating_add(self.options.step_ns));
        }
        if let Some(at) = self.next_push_at() {
            next = next.min(at.max(t + 1));
        }
        if let Some(&w) = self.wakes.first() {
            next = next.min(w.max(t + 1));
        }
        if !self.reader_started && self.reader_start_ns > t {
            next = next.min(self.reader_start_ns);
        }
        if self.reader_done && !busy {
            return None;
        }
        // Past the end of the run only the line drains.
        let until = self.limits.until_ns.unwrap_or(u64::MAX);
        if next == u64::MAX || (!busy && next >= until) {
            return None;
        }
        Some(next)
    }

    /// Whether the run is over at `now`: a limit is reached (or the reader is done), no push is
    /// due any more and the line is quiet.
    pub fn finished(&self, now: u64) -> bool {
        let over = self.limits.pushes.is_some_and(|n| self.pushes >= n)
            || self.limits.messages.is_some_and(|n| self.messages >= n)
            || self.limits.until_ns.is_some_and(|u| now >= u)
            || self.reader_done;
        over && self.next_push_at().is_none() && self.quiet(now)
    }

    /// Lets everything due by `now` happen: the meter's pushes, the meter hearing the reader and
    /// answering, the reader starting, hearing the meter and waking (`agent`, when the reader is
    /// in the process; otherwise its characters go out as [`Output::ReaderChars`]).
    pub fn step(&mut self, now: u64, mut agent: Option<&mut dyn Agent>) {
        let t = now.max(self.now);
        self.now = t;
        // 1. Pushes due now.
        while let Some(at) = self.meter.next_push_ns() {
            if at > t || self.limited(at) || self.reader_gone {
                break;
            }
            let emissions = self.meter.push();
            self.pushes += 1;
            if self.options.drop_when_busy && self.to_reader.free_at() > at {
                let bytes = emissions.iter().map(|e| e.bytes.len()).sum();
                let busy_ns = self.to_reader.free_at() - at;
                self.outputs.push_back(Output::Dropped {
                    at_ns: at,
                    busy_ns,
                    bytes,
                });
            } else {
                self.message(emissions, false);
            }
            self.meter_uart(at);
        }
        // 2. The meter hears the reader, character by character, and answers.
        if !self.options.framed {
            let chars = self.to_meter.receive_until(t);
            for c in &chars {
                if c.parity_error || c.framing_error || c.brk {
                    continue;
                }
                self.hear(c.time_ns, c.byte);
            }
            if !chars.is_empty() {
                self.outputs.push_back(Output::MeterChars(chars));
            }
        }
        // 3. The reader opens its port and hears the meter.
        if let Some(agent) = agent.as_deref_mut() {
            if !self.reader_started && t >= self.reader_start_ns {
                self.reader_started = true;
                let actions = agent.start(t);
                self.apply(actions);
            }
        }
        let mut horizon = t.saturating_add(self.options.lookahead_ns);
        if let Some(at) = self.next_push_at() {
            // Never past the next push: it would be delayed.
            horizon = horizon.min(at.max(t));
        }
        if horizon > self.decoded_to || horizon == t {
            self.decoded_to = self.decoded_to.max(horizon);
            let mut chars = self.to_reader.receive_until(horizon);
            chars.retain(|c| c.time_ns >= self.reader_start_ns);
            if !chars.is_empty() {
                match agent.as_deref_mut() {
                    Some(agent) if self.reader_started => {
                        let bytes = host_bytes(&chars, self.errors);
                        let last = chars.last().map_or(t, |c| c.time_ns);
                        self.outputs.push_back(Output::ReaderChars(chars));
                        if !bytes.is_empty() {
                            let actions = agent.receive(last, &bytes);
                            self.apply(actions);
                        }
                    }
                    Some(_) => {}
                    None => self.outputs.push_back(Output::ReaderChars(chars)),
                }
            }
        }
        // 4. Timeouts.
        if let Some(agent) = agent {
            while let Some(&w) = self.wakes.first() {
                if w > t {
                    break;
                }
                self.wakes.pop_first();
                let actions = agent.wake(t);
                self.apply(actions);
            }
        }
    }

    /// The reader's bytes, as its `write()` put them on the line at `at_ns` (an outside reader).
    pub fn reader_send(&mut self, at_ns: u64, bytes: &[u8]) {
        if self.options.framed {
            // A real UART: the bytes have crossed the wire already.
            for &byte in bytes {
                self.hear(at_ns, byte);
            }
        } else {
            self.to_meter.send(at_ns.max(self.now), bytes);
        }
    }

    /// The reader switches its UART at `at_ns`: its transmitter after what it has sent, its
    /// receiver then (not before what has been decoded). From then on its settings no longer
    /// follow the meter's.
    pub fn set_reader_uart(&mut self, at_ns: u64, config: UartConfig) {
        self.options.reader_follows = None;
        if self.options.framed {
            // The reader's own UART has switched; the meter's side keeps the meter's settings.
            return;
        }
        let at = at_ns.max(self.now).max(self.decoded_to);
        if let Err(e) = self.to_meter.set_tx_config(config) {
            tracing::warn!("reader UART change refused: {e}");
        }
        if let Err(e) = self.to_reader.set_rx_config(at, config) {
            tracing::warn!("reader UART change refused: {e}");
        }
    }

    fn apply(&mut self, actions: Vec<Action>) {
        let now = self.now;
        for a in actions {
            match a {
                Action::Send { at_ns, bytes } => {
                    self.to_meter.send(at_ns.max(now), &bytes);
                }
                Action::SetUart { at_ns, config } => self.set_reader_uart(at_ns, config),
                Action::Wake { at_ns } => {
                    self.wakes.insert(at_ns.max(now));
                }
                Action::Done => self.reader_done = true,
            }
        }
    }

    /// The meter's UART hands it one good character completed at `at`.
    fn hear(&mut self, at: u64, byte: u8) {
        if self.limits.messages.is_some_and(|n| self.messages >= n) {
            return;
        }
        if self.heard.len() < REQUEST_LOG_MAX {
            self.heard.push(byte);
        }
        let replies = self.meter.receive(at, &[byte]);
        if !replies.is_empty() {
            self.message(replies, true);
        }
        self.meter_uart(at);
    }

    /// Puts a message of the meter on the line.
    fn message(&mut self, emissions: Vec<Emission>, reply: bool) {
        let mut sent = Vec::with_capacity(emissions.len());
        let mut first = None;
        for e in emissions {
            let start_ns = e.at_ns.max(self.to_reader.free_at()).max(self.decoded_to);
            first.get_or_insert(start_ns);
            self.to_reader.send(e.at_ns, &e.bytes);
            sent.push(Sent {
                start_ns,
                emission: e,
            });
        }
        self.messages += 1;
        // A message the meter makes after hearing the reader answers it, even when the meter
        // schedules it as a push (an IEC 62056-21 data message after the option select).
        let reply = reply || !self.heard.is_empty();
        let request = std::mem::take(&mut self.heard);
        let end_ns = self.to_reader.free_at();
        self.outputs.push_back(Output::Message {
            start_ns: first.unwrap_or(end_ns),
            end_ns,
            reply,
            request,
            sent,
        });
    }

    /// Applies a baud switch the meter asked for: its transmitter after what it has queued, its
    /// receiver at the time it names (not before `now`); a reader that follows the meter
    /// switches with it.
    fn meter_uart(&mut self, now: u64) {
        let Some((at, config)) = self.meter.take_uart_change() else {
            return;
        };
        let at = at.max(now);
        if let Err(e) = self.to_reader.set_tx_config(config) {
            tracing::warn!("meter UART change refused: {e}");
            return;
        }
        if let Err(e) = self.to_meter.set_rx_config(at, config) {
            tracing::warn!("meter UART change refused: {e}");
        }
        tracing::debug!(at, %config, "meter switched its serial settings");
        let Some(follows) = &self.options.reader_follows else {
            return;
        };
        let reader = match follows.resolve(&config) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("meter UART change to {config}: reader settings: {e}");
                config
            }
        };
        if self.options.framed {
            let _ = self.to_reader.set_rx_config(at, config);
            self.outputs.push_back(Output::ReaderUart {
                at_ns: at,
                config: reader,
            });
        } else {
            if let Err(e) = self.to_reader.set_rx_config(at, reader) {
                tracing::warn!("reader UART change refused: {e}");
            }
            if let Err(e) = self.to_meter.set_tx_config(reader) {
                tracing::warn!("reader UART change refused: {e}");
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use meterlab_decoder::Protocol;

    /// A meter that pushes `message` at the given times, answers each byte it hears with
    /// `reply` (if any), and switches its UART to `switch` after its first push.
    struct TestMeter {
        pushes: Vec<u64>,
        message: Vec<u8>,
        reply: Option<Vec<u8>>,
        uart: UartConfig,
        switch: Option<UartConfig>,
        change: Option<(u64, UartConfig)>,
        heard: Vec<(u64, u8)>,
    }

    impl TestMeter {
        fn new(pushes: &[u64], message: &[u8]) -> Self {
            TestMeter {
                pushes: pushes.to_vec(),
                message: message.to_vec(),
                reply: None,
                uart: config("2400 8N1"),
                switch: None,
                change: None,
                heard: Vec::new(),
            }
        }
    }

    impl Meter for TestMeter {
        fn profile(&self) -> &str {
            "test"
        }
        fn protocol(&self) -> Protocol {
            Protocol::Dsmr
        }
        fn uart(&self) -> UartConfig {
            self.uart
        }
        fn next_push_ns(&self) -> Option<u64> {
            self.pushes.first().copied()
        }
        fn push(&mut self) -> Vec<Emission> {
            let at = self.pushes.remove(0);
            if let Some(c) = self.switch.take() {
                // After this message (at most 40 characters at 2400 baud).
                self.change = Some((at + 200_000_000, c));
                self.uart = c;
            }
            vec![Emission {
                at_ns: at,
                bytes: self.message.clone(),
                truth: Vec::new(),
            }]
        }
        fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Emission> {
            self.heard.extend(bytes.iter().map(|&b| (now_ns, b)));
            match &self.reply {
                Some(r) => vec![Emission {
                    at_ns: now_ns,
                    bytes: r.clone(),
                    truth: Vec::new(),
                }],
                None => Vec::new(),
            }
        }
        fn take_uart_change(&mut self) -> Option<(u64, UartConfig)> {
            self.change.take()
        }
    }

    /// A reader that records what it gets and sends `request` at `send_at` once started.
    #[derive(Default)]
    struct TestAgent {
        send_at: Option<(u64, Vec<u8>)>,
        got: Vec<(u64, Vec<u8>)>,
        started: Option<u64>,
    }

    impl Agent for TestAgent {
        fn start(&mut self, now_ns: u64) -> Vec<Action> {
            self.started = Some(now_ns);
            match self.send_at.take() {
                Some((at_ns, bytes)) => vec![Action::Send { at_ns, bytes }],
                None => Vec::new(),
            }
        }
        fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Action> {
            self.got.push((now_ns, bytes.to_vec()));
            Vec::new()
        }
        fn wake(&mut self, _now_ns: u64) -> Vec<Action> {
            Vec::new()
        }
    }

    fn config(text: &str) -> UartConfig {
        text.parse().expect("test settings are valid")
    }

    fn line(meter: UartConfig, reader: UartConfig) -> LineSetup {
        LineSetup {
            meter_tx: meter,
            reader_rx: reader,
            reader_tx: reader,
            meter_rx: meter,
            faults: Vec::new(),
            reader_faults: Vec::new(),
            errors: ErrorPolicy::Pass,
            reader_start_ns: 0,
        }
    }

    /// Steps `engine` on a virtual clock until nothing more happens; returns the step times.
    fn run(engine: &mut Engine<'_>, agent: &mut dyn Agent) -> Vec<u64> {
        let mut times = vec![engine.now()];
        engine.step(engine.now(), Some(&mut *agent));
        while let Some(t) = engine.next_event_at() {
            assert!(t > engine.now(), "time moves forward");
            times.push(t);
            engine.step(t, Some(&mut *agent));
        }
        times
    }

    #[test]
    fn steps_jump_to_a_push_and_walk_the_line_while_it_is_busy() {
        let mut meter = TestMeter::new(&[10_000_000], b"hello");
        let limits = Limits {
            pushes: Some(1),
            ..Limits::default()
        };
        let setup = line(config("2400 8N1"), config("2400 8N1"));
        let mut engine = Engine::new(&mut meter, &setup, limits, Options::default(), Seed(1))
            .expect("valid line");
        let mut agent = TestAgent::default();
        engine.step(0, Some(&mut agent));
        assert_eq!(agent.started, Some(0));
        // A receiver may be inside a character for its longest span: steps of STEP_NS, then,
        // the line idle, straight to the push.
        let mut t = 0;
        while let Some(next) = engine.next_event_at().filter(|&n| n < 10_000_000) {
            assert_eq!(next, t + STEP_NS);
            t = next;
            engine.step(t, Some(&mut agent));
        }
        assert!(t < 10_000_000 - STEP_NS, "the idle line is skipped");
        assert_eq!(engine.next_event_at(), Some(10_000_000));
        engine.step(10_000_000, Some(&mut agent));
        let outputs: Vec<Output> = engine.take_outputs().collect();
        let Some(Output::Message {
            start_ns,
            end_ns,
            reply,
            ..
        }) = outputs.first()
        else {
            panic!("the push is on the line: {outputs:?}");
        };
        assert_eq!(*start_ns, 10_000_000);
        assert!(!reply);
        // Five characters of 10 bits at 2400 baud.
        assert_eq!(*end_ns - *start_ns, 5 * 10 * 1_000_000_000 / 2400);
        // Busy: one step at a time until the line is quiet, then nothing more.
        assert_eq!(engine.next_event_at(), Some(10_000_000 + STEP_NS));
        let times = run(&mut engine, &mut agent);
        assert!(times.windows(2).all(|w| w[1] - w[0] <= STEP_NS));
        assert!(engine.finished(engine.now()));
        let bytes: Vec<u8> = agent.got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(bytes, b"hello");
        // Each read comes at (or after) the last character's stop bit, in order.
        assert!(agent.got.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(agent.got.last().is_some_and(|(t, _)| *t <= *end_ns));
    }

    #[test]
    fn a_baud_switch_of_the_meter_moves_a_reader_that_follows_it() {
        for follows in [true, false] {
            let mut meter = TestMeter::new(&[1_000_000, 300_000_000], b"0123456789");
            meter.switch = Some(config("9600 8N1"));
            let setup = line(config("2400 8N1"), config("2400 8N1"));
            let options = Options {
                reader_follows: follows.then(ReaderSettings::default),
                ..Options::default()
            };
            let mut engine = Engine::new(&mut meter, &setup, Limits::default(), options, Seed(1))
                .expect("valid line");
            let mut agent = TestAgent::default();
            run(&mut engine, &mut agent);
            let bytes: Vec<u8> = agent.got.iter().flat_map(|(_, b)| b.clone()).collect();
            let (first, second) = bytes.split_at(10.min(bytes.len()));
            assert_eq!(first, b"0123456789", "the first push at 2400");
            if follows {
                assert_eq!(second, b"0123456789", "the second at 9600, read at 9600");
            } else {
                assert_ne!(second, b"0123456789", "read at 2400, it is garbled");
            }
        }
    }

    #[test]
    fn a_request_sent_while_a_push_is_on_the_line_is_heard_and_answered_after_it() {
        let mut meter = TestMeter::new(&[1_000_000], &[b'x'; 40]);
        meter.reply = Some(b"ok".to_vec());
        let setup = line(config("2400 8N1"), config("2400 8N1"));
        let limits = Limits {
            pushes: Some(1),
            ..Limits::default()
        };
        let mut engine =
            Engine::new(&mut meter, &setup, limits, Options::default(), Seed(1)).expect("line");
        let mut agent = TestAgent {
            send_at: Some((5_000_000, b"?".to_vec())),
            ..TestAgent::default()
        };
        let mut messages = Vec::new();
        engine.step(0, Some(&mut agent));
        while let Some(t) = engine.next_event_at() {
            engine.step(t, Some(&mut agent));
            for o in engine.take_outputs() {
                if let Output::Message {
                    start_ns,
                    end_ns,
                    reply,
                    request,
                    ..
                } = o
                {
                    messages.push((start_ns, end_ns, reply, request));
                }
            }
        }
        let bit_ns = 1_000_000_000 / 2400;
        // The request's one character is complete when its stop bit is sampled, 9.5 bit times
        // after it starts at 5 ms; the meter hears it then, while its push is still on the line
        // (40 characters from 1 ms).
        let [(heard_at, b'?')] = meter.heard[..] else {
            panic!("{:?}", meter.heard);
        };
        assert!((5_000_000 + 9 * bit_ns..5_000_000 + 10 * bit_ns).contains(&heard_at));
        assert_eq!(messages.len(), 2, "{messages:?}");
        let (_, push_end, push_reply, _) = &messages[0];
        let (reply_start, _, reply, request) = &messages[1];
        assert!(!push_reply);
        assert!(*reply);
        assert_eq!(request, b"?");
        assert_eq!(reply_start, push_end, "the answer waits behind the push");
        let bytes: Vec<u8> = agent.got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert!(bytes.ends_with(b"xok"));
    }

    #[test]
    fn an_outside_reader_gets_characters_ahead_and_its_bytes_reach_the_meter() {
        let mut meter = TestMeter::new(&[], b"");
        meter.reply = Some(b"!".to_vec());
        let setup = line(config("9600 8N1"), config("9600 8N1"));
        let options = Options {
            lookahead_ns: 2_000_000,
            ..Options::default()
        };
        let mut engine =
            Engine::new(&mut meter, &setup, Limits::default(), options, Seed(1)).expect("line");
        engine.step(0, None);
        while let Some(t) = engine.next_event_at() {
            engine.step(t, None);
        }
        assert!(engine
            .take_outputs()
            .all(|o| !matches!(o, Output::Message { .. })));
        engine.reader_send(engine.now(), b"a");
        let mut chars = Vec::new();
        while let Some(t) = engine.next_event_at() {
            engine.step(t, None);
            for o in engine.take_outputs() {
                if let Output::ReaderChars(c) = o {
                    chars.extend(c);
                }
            }
        }
        assert_eq!(chars.len(), 1);
        // The reply was decoded before the clock reached its stop bit (the lookahead).
        assert_eq!(chars[0].byte, b'!');
        assert!(engine.decoded_to() >= chars[0].time_ns);
    }

    #[test]
    fn a_push_due_while_the_line_is_busy_is_dropped_when_asked() {
        // 40 characters at 2400 baud take about 167 ms; the second push comes after 50 ms.
        for drop_when_busy in [true, false] {
            let mut meter = TestMeter::new(&[1_000_000, 51_000_000], &[b'x'; 40]);
            let setup = line(config("2400 8N1"), config("2400 8N1"));
            let options = Options {
                drop_when_busy,
                ..Options::default()
            };
            let mut engine =
                Engine::new(&mut meter, &setup, Limits::default(), options, Seed(1)).expect("line");
            let mut agent = TestAgent::default();
            let mut outputs = Vec::new();
            engine.step(0, Some(&mut agent));
            while let Some(t) = engine.next_event_at() {
                engine.step(t, Some(&mut agent));
                outputs.extend(engine.take_outputs());
            }
            let messages = outputs
                .iter()
                .filter(|o| matches!(o, Output::Message { .. }))
                .count();
            let dropped: Vec<_> = outputs
                .iter()
                .filter_map(|o| match o {
                    Output::Dropped { at_ns, bytes, .. } => Some((*at_ns, *bytes)),
                    _ => None,
                })
                .collect();
            let received: usize = agent.got.iter().map(|(_, b)| b.len()).sum();
            if drop_when_busy {
                assert_eq!(
                    (messages, dropped, received),
                    (1, vec![(51_000_000, 40)], 40)
                );
            } else {
                assert_eq!(
                    (messages, dropped, received),
                    (2, vec![], 80),
                    "queued behind"
                );
            }
        }
    }

    #[test]
    fn a_framing_port_gets_the_readers_switch_and_its_bytes_reach_the_meter_at_once() {
        let mut meter = TestMeter::new(&[1_000_000], b"0123456789");
        meter.switch = Some(config("9600 8N1"));
        let setup = line(config("2400 8N1"), config("2400 8N1"));
        let options = Options {
            framed: true,
            reader_follows: Some(ReaderSettings::default()),
            ..Options::default()
        };
        let mut engine =
            Engine::new(&mut meter, &setup, Limits::default(), options, Seed(1)).expect("line");
        engine.step(1_000_000, None);
        let switches: Vec<_> = engine
            .take_outputs()
            .filter_map(|o| match o {
                Output::ReaderUart { at_ns, config } => Some((at_ns, config)),
                _ => None,
            })
            .collect();
        // The port's UART follows the meter's switch, at the meter's time.
        assert_eq!(switches, [(201_000_000, config("9600 8N1"))]);
        // The reader's bytes have crossed a real wire already: heard when they arrive.
        engine.reader_send(2_000_000, b"ab");
        drop(engine);
        assert_eq!(meter.heard, [(2_000_000, b'a'), (2_000_000, b'b')]);
    }
}
