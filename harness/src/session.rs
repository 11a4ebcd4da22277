//! A meter and a reader on a two-way serial line, in virtual time.
//!
//! Two [`Channel`]s carry the traffic, one per direction, each with its own sender and receiver
//! settings and faults. Time advances in steps of at most [`STEP_NS`] while anything is on the
//! line, and jumps straight to the next event (a push, a reader's timeout) while it is idle, so
//! minutes of meter time cost little. Within a step the meter side goes first: it gets each
//! character from the reader with the character's own completion time and answers with its own
//! timing, so reply delays are exact whatever the step; then the reader gets what the meter sent.
//!
//! Characters the meter's UART receives with a parity or framing error (or as a break) are
//! discarded before the meter sees them, as a meter's UART does; the reader gets what the host's
//! termios policy makes of them.

use std::collections::BTreeSet;

use meterlab_sim::line::{host_bytes, Channel, ErrorPolicy, Fault, RxChar, UartConfig};
use meterlab_sim::{Emission, Meter, Seed};

use crate::reader::{Action, Reader};

/// The longest time step while characters are on the line, ns.
pub const STEP_NS: u64 = 1_000_000;

/// How long a session may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stop after this many pushes of the meter (push meters).
    pub pushes: Option<u64>,
    /// Stop at this virtual time.
    pub until_ns: Option<u64>,
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

/// Applies a baud switch the meter asked for: its transmitter after what it has queued, its
/// receiver at the time it names (not before `now`).
fn apply_meter_uart(
    meter: &mut dyn Meter,
    to_reader: &mut Channel,
    to_meter: &mut Channel,
    now: u64,
) {
    if let Some((at, config)) = meter.take_uart_change() {
        if let Err(e) = to_reader.set_tx_config(config) {
            tracing::warn!("meter UART change refused: {e}");
        }
        if let Err(e) = to_meter.set_rx_config(at.max(now), config) {
            tracing::warn!("meter UART change refused: {e}");
        }
    }
}

fn clean(chars: &[RxChar]) -> Vec<u8> {
    chars
        .iter()
        .filter(|c| !c.parity_error && !c.framing_error && !c.brk)
        .map(|c| c.byte)
        .collect()
}

/// Runs `meter` and `reader` against each other until the limits are reached, the reader is
/// done, or nothing more can happen; every random choice comes from `seed`.
pub fn run(
    meter: &mut dyn Meter,
    reader: &mut dyn Reader,
    line: &LineSetup,
    limits: Limits,
    seed: Seed,
) -> SessionLog {
    let mut to_reader = Channel::new(
        line.meter_tx,
        line.reader_rx,
        line.faults.clone(),
        seed.derive("line/meter-to-reader"),
    );
    let mut to_meter = Channel::new(
        line.reader_tx,
        line.meter_rx,
        line.reader_faults.clone(),
        seed.derive("line/reader-to-meter"),
    );
    let mut log = SessionLog {
        emissions: Vec::new(),
        reader_chars: Vec::new(),
        meter_chars: Vec::new(),
        to_reader: Channel::new(line.meter_tx, line.reader_rx, Vec::new(), seed),
        to_meter: Channel::new(line.reader_tx, line.meter_rx, Vec::new(), seed),
        end_ns: 0,
    };
    let mut wakes: BTreeSet<u64> = BTreeSet::new();
    let mut reader_done = false;
    let mut reader_started = false;
    let mut pushes = 0u64;
    let mut t = 0u64;
    let until = limits.until_ns.unwrap_or(u64::MAX);

    let apply = |actions: Vec<Action>,
                 to_meter: &mut Channel,
                 to_reader: &mut Channel,
                 wakes: &mut BTreeSet<u64>,
                 done: &mut bool,
                 now: u64| {
        for a in actions {
            match a {
                Action::Send { at_ns, bytes } => {
                    to_meter.send(at_ns.max(now), &bytes);
                }
                Action::SetUart { at_ns, config } => {
                    let at = at_ns.max(now);
                    // The reader's transmitter switches after what it has sent; its receiver at `at`.
                    if let Err(e) = to_meter.set_tx_config(config) {
                        tracing::warn!("reader UART change refused: {e}");
                    }
                    if let Err(e) = to_reader.set_rx_config(at, config) {
                        tracing::warn!("reader UART change refused: {e}");
                    }
                }
                Action::Wake { at_ns } => {
                    wakes.insert(at_ns.max(now));
                }
                Action::Done => *done = true,
            }
        }
    };

    loop {
        // 1. Pushes due now.
        while let Some(at) = meter.next_push_ns() {
            if at > t || limits.pushes.is_some_and(|n| pushes >= n) || at >= until {
                break;
            }
            for e in meter.push() {
                to_reader.send(e.at_ns, &e.bytes);
                log.emissions.push(e);
            }
            pushes += 1;
            apply_meter_uart(meter, &mut to_reader, &mut to_meter, at);
        }
        // 2. The meter hears the reader, character by character, and answers.
        for c in to_meter.receive_until(t) {
            log.meter_chars.push(c);
            let byte = clean(std::slice::from_ref(&c));
            if byte.is_empty() {
                continue;
            }
            for e in meter.receive(c.time_ns, &byte) {
                to_reader.send(e.at_ns, &e.bytes);
                log.emissions.push(e);
            }
            apply_meter_uart(meter, &mut to_reader, &mut to_meter, c.time_ns);
        }
        // 3. The reader opens its port and hears the meter.
        if !reader_started && t >= line.reader_start_ns {
            reader_started = true;
            let actions = reader.start(t);
            apply(
                actions,
                &mut to_meter,
                &mut to_reader,
                &mut wakes,
                &mut reader_done,
                t,
            );
        }
        let chars: Vec<RxChar> = to_reader.receive_until(t);
        let chars: Vec<RxChar> = chars
            .into_iter()
            .filter(|c| c.time_ns >= line.reader_start_ns)
            .collect();
        if !chars.is_empty() && reader_started {
            let bytes = host_bytes(&chars, line.errors);
            let last = chars.last().map_or(t, |c| c.time_ns);
            log.reader_chars.extend_from_slice(&chars);
            if !bytes.is_empty() {
                let actions = reader.receive(last, &bytes);
                apply(
                    actions,
                    &mut to_meter,
                    &mut to_reader,
                    &mut wakes,
                    &mut reader_done,
                    t,
                );
            }
        }
        // 4. Timeouts.
        while let Some(&w) = wakes.first() {
            if w > t {
                break;
            }
            wakes.pop_first();
            let actions = reader.wake(t);
            apply(
                actions,
                &mut to_meter,
                &mut to_reader,
                &mut wakes,
                &mut reader_done,
                t,
            );
        }

        // The next moment anything can happen.
        let busy = to_reader.settled_at() > t || to_meter.settled_at() > t;
        let mut next = u64::MAX;
        if busy {
            next = next.min(t + STEP_NS);
        }
        if let Some(at) = meter.next_push_ns() {
            if !limits.pushes.is_some_and(|n| pushes >= n) && at < until && !reader_done {
                next = next.min(at.max(t + 1));
            }
        }
        if let Some(&w) = wakes.first() {
            next = next.min(w.max(t + 1));
        }
        if !reader_started {
            next = next.min(line.reader_start_ns.max(t + 1));
        }
        if reader_done && !busy {
            break;
        }
        // Past the end of the run only the line drains.
        if next == u64::MAX || (!busy && next >= until) {
            break;
        }
        t = next;
    }
    log.end_ns = t;
    log.to_reader = to_reader;
    log.to_meter = to_meter;
    log
}
