//! A meter and a reader on a two-way serial line, in virtual time.
//!
//! The line, the meter and the reader's side are the simulator's session engine
//! ([`meterlab_sim::session::Engine`]); this module is its virtual clock: time advances in steps
//! of at most [`STEP_NS`] while anything is on the line, and jumps straight to the next event (a
//! push, a reader's timeout) while it is idle, so minutes of meter time cost little. The same
//! engine runs on a real clock over a pty, TCP or a UART ([`meterlab_sim::transport`]), so a
//! scenario gives the same line in memory as on a real port by construction.

use meterlab_sim::line::{Channel, LineError, RxChar};
use meterlab_sim::session::{self as engine, Action, Agent, Engine, Output};
use meterlab_sim::{Emission, Meter, Seed};

use crate::reader::Reader;

pub use meterlab_sim::session::{LineSetup, STEP_NS};

/// How long a session may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stop after this many pushes of the meter (push meters).
    pub pushes: Option<u64>,
    /// Stop at this virtual time.
    pub until_ns: Option<u64>,
}

/// What happened on the line.
#[derive(Debug)]
pub struct SessionLog {
    /// Every emission the meter made, in order.
    pub emissions: Vec<Emission>,
    /// Characters the reader's UART received (from its start on).
    pub reader_chars: Vec<RxChar>,
    /// Characters the meter's UART received.
    pub meter_chars: Vec<RxChar>,
    /// The meter-to-reader channel (for its fault log).
    pub to_reader: Channel,
    /// The reader-to-meter channel.
    pub to_meter: Channel,
    /// Virtual time at the end.
    pub end_ns: u64,
}

/// meterlab's reader as the engine's agent.
struct ReaderAgent<'a>(&'a mut dyn Reader);

impl Agent for ReaderAgent<'_> {
    fn start(&mut self, now_ns: u64) -> Vec<Action> {
        self.0.start(now_ns)
    }
    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Action> {
        self.0.receive(now_ns, bytes)
    }
    fn wake(&mut self, now_ns: u64) -> Vec<Action> {
        self.0.wake(now_ns)
    }
}

/// What the line carried, as the steps report it.
#[derive(Default)]
struct Record {
    emissions: Vec<Emission>,
    reader_chars: Vec<RxChar>,
    meter_chars: Vec<RxChar>,
}

impl Record {
    /// Records what a step did.
    fn add(&mut self, engine: &mut Engine<'_>) {
        for output in engine.take_outputs() {
            match output {
                Output::Message { sent, .. } => {
                    self.emissions.extend(sent.into_iter().map(|s| s.emission));
                }
                Output::ReaderChars(chars) => self.reader_chars.extend(chars),
                Output::MeterChars(chars) => self.meter_chars.extend(chars),
                Output::Dropped { .. } | Output::ReaderUart { .. } => {}
            }
        }
    }
}

/// Runs `meter` and `reader` against each other until the limits are reached, the reader is
/// done, or nothing more can happen; every random choice comes from `seed`. A setting or a
/// fault of `line` that the line model refuses is an error.
pub fn run(
    meter: &mut dyn Meter,
    reader: &mut dyn Reader,
    line: &LineSetup,
    limits: Limits,
    seed: Seed,
) -> Result<SessionLog, LineError> {
    let limits = engine::Limits {
        pushes: limits.pushes,
        messages: None,
        until_ns: limits.until_ns,
    };
    let mut engine = Engine::new(meter, line, limits, engine::Options::default(), seed)?;
    let mut record = Record::default();
    let mut agent = ReaderAgent(reader);
    engine.step(0, Some(&mut agent));
    record.add(&mut engine);
    while let Some(t) = engine.next_event_at() {
        engine.step(t, Some(&mut agent));
        record.add(&mut engine);
    }
    let end_ns = engine.now();
    let (to_reader, to_meter) = engine.into_channels();
    Ok(SessionLog {
        emissions: record.emissions,
        reader_chars: record.reader_chars,
        meter_chars: record.meter_chars,
        to_reader,
        to_meter,
        end_ns,
    })
}
