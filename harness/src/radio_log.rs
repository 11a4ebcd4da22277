//! The radio log of a virtual wireless M-Bus dongle (`meterlab_sim::wmbus::Dongle::take_events`)
//! as the harness shows it: [`RadioLogged`] runs a dongle as a [`Meter`] and hands every event
//! (a telegram on the air and what became of it) to a sink; [`RadioTally`] counts them per meter
//! and outcome for the scenario report and golden file, `meterlab sim -v` logs each one. Meter
//! names, outcomes and meter faults only: a key never appears.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use meterlab_decoder::{Keys, Protocol};
use meterlab_sim::line::UartConfig;
use meterlab_sim::wmbus::radio::RadioEvent;
use meterlab_sim::wmbus::Dongle;
use meterlab_sim::{Emission, Meter};

/// Where each radio event goes.
pub type Sink = Box<dyn FnMut(&RadioEvent) + Send>;

/// A dongle whose radio log goes to a sink as it happens.
pub struct RadioLogged {
    dongle: Dongle,
    sink: Sink,
}

impl RadioLogged {
    /// `dongle`, its events going to `sink`.
    pub fn new(dongle: Dongle, sink: Sink) -> Self {
        RadioLogged { dongle, sink }
    }

    fn drain(&mut self) {
        for e in self.dongle.take_events() {
            (self.sink)(&e);
        }
    }
}

impl Meter for RadioLogged {
    fn profile(&self) -> &str {
        self.dongle.profile()
    }
    fn protocol(&self) -> Protocol {
        self.dongle.protocol()
    }
    fn uart(&self) -> UartConfig {
        self.dongle.uart()
    }
    fn keys(&self) -> Keys {
        self.dongle.keys()
    }
    fn next_push_ns(&self) -> Option<u64> {
        self.dongle.next_push_ns()
    }
    fn push(&mut self) -> Vec<Emission> {
        let out = self.dongle.push();
        self.drain();
        out
    }
    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Emission> {
        let out = self.dongle.receive(now_ns, bytes);
        self.drain();
        out
    }
    fn take_uart_change(&mut self) -> Option<(u64, UartConfig)> {
        self.dongle.take_uart_change()
    }
}

/// One event as a log line: `telegram of wmbus-water at 12.345 s: delivered`.
pub fn event_line(e: &RadioEvent) -> String {
    let faults = if e.faults.is_empty() {
        String::new()
    } else {
        format!(" (meter faults: {:?})", e.faults)
    };
    format!(
        "telegram of {} at {:.3} s{}: {}{faults}",
        e.meter,
        e.at_ns as f64 / 1e9,
        if e.repeated { " via the repeater" } else { "" },
        outcome_name(e)
    )
}

fn outcome_name(e: &RadioEvent) -> String {
    serde_json::to_value(e.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{:?}", e.outcome))
}

/// Counts of the radio log, per meter and outcome (repeated telegrams counted apart).
#[derive(Clone, Default)]
pub struct RadioTally(Arc<Mutex<BTreeMap<(String, String), u64>>>);

impl RadioTally {
    /// A sink that counts into this tally.
    pub fn sink(&self) -> Sink {
        let counts = Arc::clone(&self.0);
        Box::new(move |e: &RadioEvent| {
            let meter = if e.repeated {
                format!("{} (repeated)", e.meter)
            } else {
                e.meter.clone()
            };
            let mut outcome = outcome_name(e);
            if !e.faults.is_empty() {
                let faults: Vec<String> = e.faults.iter().map(|f| format!("{f:?}")).collect();
                outcome = format!("{outcome} ({})", faults.join("+"));
            }
            if let Ok(mut c) = counts.lock() {
                *c.entry((meter, outcome)).or_default() += 1;
            }
        })
    }

    /// `radio: wmbus-heat 10 delivered; wmbus-water 19 not_listening`, meters in name order.
    pub fn text(&self) -> String {
        let Ok(counts) = self.0.lock() else {
            return String::new();
        };
        let mut per_meter: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for ((meter, outcome), n) in counts.iter() {
            per_meter
                .entry(meter)
                .or_default()
                .push(format!("{n} {outcome}"));
        }
        if per_meter.is_empty() {
            return "radio: nothing received (the stick never listened)".into();
        }
        let parts: Vec<String> = per_meter
            .into_iter()
            .map(|(m, o)| format!("{m} {}", o.join(", ")))
            .collect();
        format!("radio: {}", parts.join("; "))
    }
}
