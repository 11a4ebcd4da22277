//! The outcome of one scenario run: what was sent and decoded, the verdict, the failures
//! (expectations, golden file, the decoder as a program) and what a `--seeds` sweep found. Built
//! by one builder, [`Outcome::new`]; the runner, the live mode and the reports share it.

use std::path::PathBuf;
use std::time::Duration;

use meterlab_decoder::{Message, Reading};
use meterlab_sim::line::UartConfig;

use crate::scenario::{Scenario, ScenarioError};
use crate::transport::Transport;
use crate::verdict::{DecoderError, MessageFate, Tally, Verdict};

/// How the outcome compares with its golden file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum GoldenStatus {
    /// Same as the golden file.
    Match,
    /// Different; the diff is in the failure detail.
    Mismatch,
    /// No golden file yet.
    Missing,
    /// Written (`--bless`).
    Written,
    /// Not compared (external decoder, or the seed was overridden).
    Skipped,
}

/// Something that went wrong, for the report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// One sentence.
    pub what: String,
    /// Details: a diff, an output excerpt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The result of one scenario.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    /// Scenario name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// Its description.
    pub description: Option<String>,
    /// The seed used.
    pub seed: u64,
    /// The scenario's own seed (`seed:`), which `--seed` and `--seeds` replace.
    #[serde(skip)]
    pub scenario_seed: u64,
    /// Why the expectations file (`--expect`) lists it: `fail: reason` or `skip: reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expectation: Option<String>,
    /// Meter profile.
    pub profile: String,
    /// Meter's transmitter settings.
    #[serde(serialize_with = "display")]
    pub sender: UartConfig,
    /// Reader's receiver settings.
    #[serde(serialize_with = "display")]
    pub receiver: UartConfig,
    /// Faults, described.
    pub faults: Vec<String>,
    /// What the faults did.
    pub fault_log: String,
    /// Messages the meter sent (pushes and segments).
    pub sent_messages: usize,
    /// Bytes the meter sent.
    pub sent_bytes: usize,
    /// Bytes the reader's `read()` calls returned.
    pub received_bytes: usize,
    /// Characters received with a parity error.
    pub rx_parity_errors: usize,
    /// Characters received with a framing error.
    pub rx_framing_errors: usize,
    /// Breaks received.
    pub rx_breaks: usize,
    /// What the meter encoded, telegram by telegram.
    #[serde(skip)]
    pub truth: Vec<Reading>,
    /// What the decoder said.
    #[serde(skip)]
    pub messages: Vec<Message>,
    /// What became of each decoded message.
    #[serde(skip)]
    pub fates: Vec<MessageFate>,
    /// Counts.
    pub tally: Tally,
    /// The verdict.
    pub verdict: Verdict,
    /// The decoder or reader under test failed as a program (the verdict is then
    /// `decoder-error`, whatever it printed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder_error: Option<DecoderError>,
    /// Expectations (and goldens, and the external decoder's output) that failed.
    pub failures: Vec<Failure>,
    /// What `--seeds N` found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SeedSweep>,
    /// Golden file comparison.
    pub golden: GoldenStatus,
    /// Which decoder ran: `reference` or the external command.
    pub decoder: String,
    /// Where the line ran.
    #[serde(serialize_with = "display")]
    pub transport: Transport,
    /// Wall-clock time the scenario took.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn display<S: serde::Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

impl Outcome {
    /// Whether the verdict lets the run succeed (pass, expected-fail, skipped).
    pub fn passed(&self) -> bool {
        self.verdict.ok()
    }

    /// The verdict from the decoder's conduct and the failures: `decoder-error` before
    /// anything else, then `fail` if any expectation failed.
    pub fn settle(&mut self) {
        self.verdict = if self.decoder_error.is_some() {
            Verdict::DecoderError
        } else if self.failures.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
    }
}

impl Outcome {
    /// The one builder: an outcome of `scenario` under `seed` with its meter's `profile` and
    /// line settings, before anything is known of the run (nothing sent, verdict `pass`, golden
    /// not compared). Runs fill in what they saw, then call [`Outcome::settle`].
    pub fn new(
        scenario: &Scenario,
        seed: u64,
        profile: String,
        sender: UartConfig,
        receiver: UartConfig,
        transport: Transport,
    ) -> Outcome {
        let spec = &scenario.spec;
        Outcome {
            name: scenario.name.clone(),
            path: scenario.path.clone(),
            description: spec.description.clone(),
            seed,
            scenario_seed: spec.seed,
            expectation: None,
            profile,
            sender,
            receiver,
            faults: spec.faults.iter().map(ToString::to_string).collect(),
            fault_log: String::new(),
            sent_messages: 0,
            sent_bytes: 0,
            received_bytes: 0,
            rx_parity_errors: 0,
            rx_framing_errors: 0,
            rx_breaks: 0,
            truth: Vec::new(),
            messages: Vec::new(),
            fates: Vec::new(),
            tally: Tally::default(),
            verdict: Verdict::Pass,
            decoder_error: None,
            failures: Vec::new(),
            sweep: None,
            golden: GoldenStatus::Skipped,
            decoder: String::new(),
            transport,
            elapsed: Duration::ZERO,
        }
    }
}

/// What `--seeds N` found for one scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeedSweep {
    /// Further seeds run.
    pub seeds: usize,
    /// How many of them failed (a failed expectation, a decoder error, or the scenario could
    /// not run).
    pub failed: usize,
    /// The first failing seed in sweep order, to rerun with `--seed`.
    pub first_failing_seed: Option<u64>,
    /// Why it failed.
    pub first_failure: Option<String>,
}

impl Outcome {
    /// Adds what the further seeds of `--seeds` gave: a scenario failing under any of them
    /// fails, saying how often and the first seed to rerun. Call [`Outcome::settle`] after.
    pub fn add_sweep(&mut self, runs: &[(u64, Result<Outcome, ScenarioError>)]) {
        let mut sweep = SeedSweep {
            seeds: runs.len(),
            ..SeedSweep::default()
        };
        for (seed, r) in runs {
            let why = match r {
                Ok(o) if o.decoder_error.is_none() && o.failures.is_empty() => continue,
                Ok(o) => o
                    .decoder_error
                    .as_ref()
                    .map(|e| e.what.clone())
                    .or_else(|| o.failures.first().map(|f| f.what.clone()))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            sweep.failed += 1;
            if sweep.first_failing_seed.is_none() {
                sweep.first_failing_seed = Some(*seed);
                sweep.first_failure = Some(why);
            }
        }
        if let (Some(seed), Some(why)) = (sweep.first_failing_seed, &sweep.first_failure) {
            self.failures.push(Failure {
                what: format!(
                    "fails under {} of {} further seeds (--seeds); the first is seed {seed} (rerun with --seed {seed}): {why}",
                    sweep.failed, sweep.seeds
                ),
                detail: None,
            });
        }
        self.sweep = Some(sweep);
    }
}
