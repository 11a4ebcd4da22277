//! Several wired M-Bus slaves on one bus (EN 13757-2 §4: one master, up to 250 slaves in
//! parallel on a two-wire bus).
//!
//! Every character the master sends reaches every slave that listens at the bus's current rate;
//! each answers by its own rules. When two or more answers overlap in time (a request to 254, a
//! wildcard selection matching two slaves, two slaves with the same primary address) they
//! collide.
//!
//! # Collision model (an approximation)
//!
//! Slaves answer by current modulation: a slave sending space (0) draws 11–20 mA more, and the
//! master sees space when any slave does. Mark is 1, so the bus carries the bitwise AND of what
//! the slaves send. We approximate this at character level: overlapping replies are aligned
//! from the earliest start, each shifted by its start offset rounded to whole characters, and
//! the bus carries, character by character, the AND of the characters the slaves send at that
//! position (an idle slave contributes `FF`). Real replies that are offset by a fraction of a
//! character give framing and parity errors in the master instead; this model gives clean
//! characters with wrong values (what libmbus reports as "collision", e.g. libmbus#131 `FD`
//! bytes). Two identical `E5` that start together stay one clean `E5`, as on a real bus. The
//! truth of a collided reply is empty: nothing readable was sent. Replies of different requests
//! are not merged (a slave still talking when the next request comes is a master's error).
//!
//! # Baud rates
//!
//! The bus line has one rate at a time: the one of the last baud switch (or fall-back) a slave
//! made. A slave whose own rate differs hears nothing: its UART would see framing and parity
//! errors, which a slave discards (a character that happens to decode cleanly at the wrong rate
//! is not modelled). All slaves must start at the same rate.

use meterlab_decoder::Protocol;

use super::profile::{profile, MbusBusOptions, MbusOptions, BUS_PROFILE};
use super::slave::MbusSlave;
use crate::line::UartConfig;
use crate::meter::{Emission, Meter};
use crate::seed::Seed;
use crate::spec::{MeterSpec, SpecError};

/// A bus of several slaves, seen by the master as one [`Meter`].
pub struct MbusBus {
    slaves: Vec<MbusSlave>,
    line: UartConfig,
    uart_change: Option<(u64, UartConfig)>,
}

impl MbusBus {
    /// A bus of these slaves; they must start at the same rate.
    pub fn new(slaves: Vec<MbusSlave>) -> Result<Self, SpecError> {
        let Some(first) = slaves.first() else {
            return Err(SpecError::bad("slaves", "a bus needs at least one slave"));
        };
        let line = first.uart();
        if let Some(s) = slaves.iter().find(|s| s.uart() != line) {
            return Err(SpecError::bad(
                "slaves",
                format!(
                    "all slaves of a bus start at the same rate: {} Bd and {} Bd",
                    line.baud,
                    s.uart().baud
                ),
            ));
        }
        Ok(MbusBus {
            slaves,
            line,
            uart_change: None,
        })
    }

    /// A bus from a `mbus-bus` spec: each entry of `slaves` is a slave profile with its own
    /// options; the bus's `start` is the default of slaves without one. Slave `i` draws from
    /// `seed.derive("mbus-bus").index(i)`.
    pub fn from_spec(
        spec: &MeterSpec,
        options: &MbusBusOptions,
        seed: Seed,
    ) -> Result<Self, SpecError> {
        if spec.interval.is_some() || spec.capture.is_some() || spec.repeat.is_some() {
            return Err(SpecError::bad(
                "slaves",
                format!("{BUS_PROFILE} takes only `start` and `slaves`; options go to each slave"),
            ));
        }
        let Some(specs) = options.slaves.as_ref() else {
            return Err(SpecError::bad(
                "slaves",
                format!("{BUS_PROFILE} needs `slaves:`, a list of M-Bus slave specs"),
            ));
        };
        let mut slaves = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            let p = profile(&s.profile).ok_or_else(|| {
                SpecError::bad(
                    "slaves",
                    format!(
                        "slave {i}: {:?} is not an M-Bus slave profile (mbus-heat, mbus-water, mbus-electricity, mbus-gas)",
                        s.profile
                    ),
                )
            })?;
            let mut s = s.clone();
            if s.start.is_none() {
                s.start = spec.start.clone();
            }
            let options = s
                .options
                .read::<MbusOptions>(&format!("slave {i}: {} is an M-Bus slave profile", p.name))?;
            slaves.push(MbusSlave::new(
                p,
                &s,
                &options,
                seed.derive("mbus-bus").index(i as u64),
            )?);
        }
        MbusBus::new(slaves)
    }

    /// The slaves, in bus order.
    pub fn slaves(&self) -> &[MbusSlave] {
        &self.slaves
    }

    fn take_slave_change(&mut self, i: usize) {
        if let Some(change) = self.slaves[i].take_uart_change() {
            self.line = change.1;
            self.uart_change = Some(change);
        }
    }
}

/// Merges replies that overlap on the bus into one collided emission each (see the module
/// documentation); `char_ns` is the time of one character.
pub fn collide(mut replies: Vec<Emission>, char_ns: f64) -> Vec<Emission> {
    replies.sort_by_key(|e| e.at_ns);
    let end = |e: &Emission| e.at_ns + (e.bytes.len() as f64 * char_ns).ceil() as u64;
    let mut out = Vec::new();
    let mut group: Vec<Emission> = Vec::new();
    let mut group_end = 0;
    for e in replies {
        if !group.is_empty() && e.at_ns < group_end {
            group_end = group_end.max(end(&e));
            group.push(e);
        } else {
            out.extend(merge(std::mem::take(&mut group), char_ns));
            group_end = end(&e);
            group.push(e);
        }
    }
    out.extend(merge(group, char_ns));
    out
}

fn merge(mut group: Vec<Emission>, char_ns: f64) -> Option<Emission> {
    if group.len() <= 1 {
        return group.pop();
    }
    let base = group[0].at_ns;
    let offset = |e: &Emission| ((e.at_ns - base) as f64 / char_ns).round() as usize;
    let len = group
        .iter()
        .map(|e| offset(e) + e.bytes.len())
        .max()
        .unwrap_or(0);
    let mut bytes = vec![0xFF; len];
    for e in &group {
        let o = offset(e);
        for (b, &x) in bytes[o..].iter_mut().zip(&e.bytes) {
            *b &= x;
        }
    }
    Some(Emission {
        at_ns: base,
        bytes,
        truth: Vec::new(),
    })
}

impl Meter for MbusBus {
    fn profile(&self) -> &str {
        BUS_PROFILE
    }

    fn protocol(&self) -> Protocol {
        Protocol::Mbus
    }

    fn uart(&self) -> UartConfig {
        self.line
    }

    fn next_push_ns(&self) -> Option<u64> {
        self.slaves.iter().filter_map(Meter::next_push_ns).min()
    }

    fn push(&mut self) -> Vec<Emission> {
        let due = (0..self.slaves.len())
            .filter_map(|i| self.slaves[i].next_push_ns().map(|at| (at, i)))
            .min();
        let Some((_, i)) = due else {
            return Vec::new();
        };
        let out = self.slaves[i].push();
        self.take_slave_change(i);
        out
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Emission> {
        // What the slaves send now goes out at the rate the request came in.
        let line = self.line;
        let mut replies = Vec::new();
        for i in 0..self.slaves.len() {
            self.slaves[i].expire(now_ns);
            self.take_slave_change(i);
            if self.slaves[i].uart().baud == line.baud {
                replies.extend(self.slaves[i].receive(now_ns, bytes));
                self.take_slave_change(i);
            }
        }
        collide(replies, line.char_time_ns())
    }

    fn take_uart_change(&mut self) -> Option<(u64, UartConfig)> {
        self.uart_change.take()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn e(at_ns: u64, bytes: &[u8]) -> Emission {
        Emission {
            at_ns,
            bytes: bytes.to_vec(),
            truth: Vec::new(),
        }
    }

    #[test]
    fn test_collide() {
        // Two E5 at the same time: one E5.
        let got = collide(vec![e(10, &[0xE5]), e(10, &[0xE5])], 100.0);
        assert_eq!(got, [e(10, &[0xE5])]);
        // Overlapping frames one character apart: AND aligned from the earliest start.
        let got = collide(
            vec![e(150, &[0x68, 0x0F]), e(40, &[0xE5, 0x10, 0xF0])],
            100.0,
        );
        assert_eq!(got, [e(40, &[0xE5, 0x10 & 0x68, 0xF0 & 0x0F])]);
        // Back to back is no collision.
        let got = collide(vec![e(0, &[0xE5]), e(100, &[0xE5])], 100.0);
        assert_eq!(got, [e(0, &[0xE5]), e(100, &[0xE5])]);
        // A chain of overlaps is one collision.
        let got = collide(
            vec![e(0, &[0xFE, 0xFE]), e(140, &[0xFD, 0xFD]), e(330, &[0x7F])],
            100.0,
        );
        assert_eq!(got, [e(0, &[0xFE, 0xFE & 0xFD, 0xFD, 0x7F])]);
    }
}
