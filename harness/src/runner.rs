//! Running scenarios: meter → faulty line → reader → decoder → verdict.
//!
//! Everything runs in virtual time: a scenario spanning minutes of meter time takes milliseconds.
//! Scenarios are independent and run in parallel on `jobs` threads; results come back in the
//! order of the scenario list, whatever order they finish in.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use meterlab_decoder::{Keys, Message, Protocol, Reading, StreamDecoder};
use meterlab_sim::Seed;

use crate::external;
use crate::golden::{self, GoldenStatus};
pub use crate::outcome::{Failure, Outcome, SeedSweep};
use crate::prepare::{prepare, Prepared};
use crate::reader::iec::IecReader;
use crate::reader::mbus::MbusMaster;
use crate::reader::passive::PassiveReader;
use crate::reader::wmbus::DongleHost;
use crate::reader::Reader;
use crate::scenario::{Scenario, ScenarioError};
use crate::session::{self, Limits, LineSetup};
use crate::transport::{self, SerialDevices, Transport};
use crate::verdict::{
    check, judge_with, wrong_readings_detail, MessageFate, Tally, Unmet, Verdict,
};

/// Which decoder is under test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DecoderUnderTest {
    /// meterlab's reference decoder, in process.
    #[default]
    Reference,
    /// An external command (JSON lines on stdout), run once per scenario.
    External {
        /// The command line, run with `sh -c`.
        command: String,
        /// Time limit per scenario.
        timeout: Duration,
    },
    /// A reader program run against a virtual meter on a pty in real time (`crate::live`);
    /// `{port}` in the command is replaced by the pty's path. Scenarios run one at a time.
    Reader {
        /// The command line, run with `sh -c`.
        command: String,
        /// Time limit per scenario (meter and reader).
        timeout: Duration,
    },
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The decoder under test.
    pub decoder: DecoderUnderTest,
    /// Replaces every scenario's seed (golden files are then not compared).
    pub seed_override: Option<u64>,
    /// Where golden files live; `None` = do not compare.
    pub golden_dir: Option<PathBuf>,
    /// Write golden files instead of comparing.
    pub bless: bool,
    /// Runs every scenario over this transport instead of the one it names.
    pub transport: Option<Transport>,
    /// The serial ports of the serial transport (and of `--reader` over a cable).
    pub devices: SerialDevices,
    /// Time limit of a scenario over a real line (pty, TCP, serial) with meterlab's reader.
    pub line_timeout: Duration,
    /// A reader program on a pty has the baud rate it sets there (`--follow-baud`).
    pub follow_baud: bool,
    /// Golden files come from the built-in suite (`crate::builtin`), not `golden_dir`
    /// (which then only names them).
    pub builtin_golden: bool,
}

/// The default [`RunOptions::line_timeout`].
pub const LINE_TIMEOUT: Duration = Duration::from_secs(300);

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            decoder: DecoderUnderTest::Reference,
            seed_override: None,
            golden_dir: None,
            bless: false,
            transport: None,
            devices: SerialDevices::default(),
            line_timeout: LINE_TIMEOUT,
            follow_baud: false,
            builtin_golden: false,
        }
    }
}

impl RunOptions {
    /// Whether `scenario` runs in real time (over a real line, or against a reader program):
    /// such scenarios run one at a time.
    pub fn real_time(&self, scenario: &Scenario) -> bool {
        self.reader_command(scenario).is_some()
            || self.transport.unwrap_or(scenario.spec.transport) != Transport::Memory
    }

    /// The reader program `scenario` runs against, if any: `--reader`, or the scenario's own
    /// `reader.command` when the reference decoder is under test.
    fn reader_command(&self, scenario: &Scenario) -> Option<(String, Duration)> {
        match &self.decoder {
            DecoderUnderTest::Reader { command, timeout } => Some((command.clone(), *timeout)),
            DecoderUnderTest::Reference => scenario
                .spec
                .reader
                .command
                .clone()
                .map(|c| (c, self.line_timeout)),
            DecoderUnderTest::External { .. } => None,
        }
    }
}

/// The reference decoder for a protocol.
pub fn reference_decoder(protocol: Protocol, keys: Keys) -> Box<dyn StreamDecoder + Send> {
    meterlab_decoder::auto::decoder_for(protocol, keys)
}

/// Runs one scenario (with `options.seed_override`, if any).
pub fn run_scenario(scenario: &Scenario, options: &RunOptions) -> Result<Outcome, ScenarioError> {
    run_scenario_with_seed(scenario, options, options.seed_override)
}

/// meterlab's reader for `meter`, as the scenario's `reader:` section sets it up, with the
/// reference `decoder` behind it: a wireless M-Bus stick gets its host (start-up, then
/// listening), an IEC 62056-21 meter that waits for requests a dialogue reader, an M-Bus slave
/// the master's script; every push meter (a replayed capture too) a passive reader. A `reader:`
/// option that does not fit the meter is an error, in a sentence.
pub fn choose_reader(
    reader: &crate::scenario::ReaderSpec,
    meter: &dyn meterlab_sim::Meter,
    receiver: meterlab_sim::line::UartConfig,
    decoder: Box<dyn StreamDecoder + Send>,
) -> Result<Box<dyn Reader>, &'static str> {
    let push_meter = meter.next_push_ns().is_some();
    if reader.mbus.is_some() && meter.protocol() != Protocol::Mbus {
        return Err("reader.mbus: only M-Bus meters take a master script");
    }
    let dongle = meterlab_sim::wmbus::dongle_of_profile(meter.profile());
    Ok(match (meter.protocol(), dongle) {
        // A wireless M-Bus dongle: the host's start-up, then listening.
        (_, Some(kind)) => Box::new(DongleHost::new(
            kind,
            &reader.wmbus.clone().unwrap_or_default(),
            decoder,
        )),
        (Protocol::Iec62056_21, None) if !push_meter => Box::new(IecReader::new(
            reader.iec.clone().unwrap_or_default(),
            receiver,
            decoder,
        )),
        // A push meter speaking M-Bus is a replayed capture: read it passively.
        (Protocol::Mbus, None) if !push_meter => match &reader.mbus {
            Some(script) => Box::new(MbusMaster::new(script.clone(), receiver, decoder)),
            None => {
                return Err("reader.mbus: an M-Bus meter only answers requests; give the master's steps, e.g. `mbus: { steps: [ { snd_nke: { address: 5 } }, { req_ud2: { address: 5 } } ] }`")
            }
        },
        _ => {
            if reader.iec.is_some() {
                return Err("reader.iec: this meter pushes its data; there is no dialogue to run");
            }
            Box::new(PassiveReader::new(decoder, reader.read_size))
        }
    })
}

/// Runs one scenario with `seed` in place of its own (golden files are then not compared).
pub fn run_scenario_with_seed(
    scenario: &Scenario,
    options: &RunOptions,
    seed: Option<u64>,
) -> Result<Outcome, ScenarioError> {
    if let Some((command, timeout)) = options.reader_command(scenario) {
        return run_live(scenario, options, seed, &command, timeout);
    }
    let started = Instant::now();
    let spec = &scenario.spec;
    let invalid = |message: String| ScenarioError::Invalid {
        path: scenario.path.clone(),
        message,
    };
    let seed_replaced = seed.is_some();
    let seed_value = seed.unwrap_or(spec.seed);
    let seed = Seed(seed_value);
    let Prepared {
        mut meter,
        sender,
        receiver,
        keys,
        radio,
    } = prepare(scenario, seed)?;
    let line = LineSetup {
        meter_tx: sender,
        reader_rx: receiver,
        reader_tx: receiver,
        meter_rx: sender,
        faults: spec.faults.clone(),
        reader_faults: Vec::new(),
        errors: spec.reader.errors,
        reader_start_ns: spec.reader.start.unwrap_or(0),
    };
    let limits = Limits {
        pushes: spec.run.telegrams,
        until_ns: spec.run.duration,
    };
    let decoder = reference_decoder(meter.protocol(), keys.clone());
    let mut reader = choose_reader(&spec.reader, meter.as_ref(), receiver, decoder)
        .map_err(|message| invalid(message.into()))?;
    let transport = options.transport.unwrap_or(spec.transport);
    let mut failures = Vec::new();
    let result = if transport == Transport::Memory {
        let log = session::run(meter.as_mut(), reader.as_mut(), &line, limits, seed)
            .map_err(|e| invalid(format!("line: {e}")))?;
        // Under its own seed a fault must take effect, or the scenario tests nothing; under
        // another (`--seed`, `--seeds`) a fault of chance (noise) may miss, and that is no
        // failure of the decoder.
        if !seed_replaced {
            failures.extend(crate::fault_check::unapplied(
                spec,
                log.to_reader.fault_log(),
            ));
        }
        let chars = &log.reader_chars;
        LineResult {
            truth: log
                .emissions
                .iter()
                .flat_map(|e| e.truth.iter().cloned())
                .collect(),
            sent_messages: log.emissions.len(),
            sent_bytes: log.emissions.iter().map(|e| e.bytes.len()).sum(),
            fault_log: log.to_reader.fault_log().to_string(),
            rx_parity_errors: chars.iter().filter(|c| c.parity_error).count(),
            rx_framing_errors: chars.iter().filter(|c| c.framing_error && !c.brk).count(),
            rx_breaks: chars.iter().filter(|c| c.brk).count(),
        }
    } else {
        let real = transport::run_session(
            meter.as_mut(),
            reader.as_mut(),
            &line,
            limits,
            seed,
            transport,
            &options.devices,
            options.line_timeout,
        )
        .map_err(|e| invalid(format!("over {transport}: {e}")))?;
        if real.timed_out {
            failures.push(Failure {
                what: format!(
                    "the session over {transport} did not end within {} s",
                    options.line_timeout.as_secs()
                ),
                detail: None,
            });
        }
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        LineResult {
            truth: real.truth,
            sent_messages: count(real.summary.emissions),
            sent_bytes: count(real.summary.sent_bytes),
            fault_log: real.summary.fault_log,
            rx_parity_errors: count(real.summary.rx_parity_errors),
            rx_framing_errors: count(real.summary.rx_framing_errors),
            rx_breaks: count(real.summary.rx_breaks),
        }
    };
    let truth = result.truth;
    // What the reader's UART delivered, and what its decoder got (an external decoder gets the
    // latter in its place).
    let received_bytes = reader.received().len();
    let bytes = reader.decoder_input().to_vec();

    let mut decoder_error = None;
    let (messages, decoder_name) = match &options.decoder {
        DecoderUnderTest::Reference => (reader.finish(), "reference".to_string()),
        DecoderUnderTest::Reader { command, .. } => (Vec::new(), command.clone()),
        DecoderUnderTest::External { command, timeout } => {
            match external::run(command, &bytes, &keys, meter.protocol(), *timeout) {
                Ok(out) => {
                    failures.extend(external::bad_lines_failure("decoder", &out.bad_lines));
                    decoder_error = out.decoder_error("decoder", command);
                    (out.messages, command.clone())
                }
                Err(e) => {
                    decoder_error = Some(e.decoder_error());
                    (Vec::new(), command.clone())
                }
            }
        }
    };

    let reference = options.decoder == DecoderUnderTest::Reference;
    let (fates, tally) = judge_outcome(spec, &truth, &messages, reference, &mut failures);

    let mut outcome = Outcome::new(
        scenario,
        seed_value,
        meter.profile().to_string(),
        sender,
        receiver,
        transport,
    );
    outcome.fault_log = result.fault_log;
    // A dongle's radio log: what became of each telegram on the air.
    if let Some(radio) = &radio {
        if !outcome.fault_log.is_empty() {
            outcome.fault_log.push_str("; ");
        }
        outcome.fault_log.push_str(&radio.text());
    }
    outcome.sent_messages = result.sent_messages;
    outcome.sent_bytes = result.sent_bytes;
    outcome.received_bytes = received_bytes;
    outcome.rx_parity_errors = result.rx_parity_errors;
    outcome.rx_framing_errors = result.rx_framing_errors;
    outcome.rx_breaks = result.rx_breaks;
    outcome.truth = truth;
    outcome.messages = messages;
    outcome.fates = fates;
    outcome.tally = tally;
    outcome.decoder_error = decoder_error;
    outcome.failures = failures;
    outcome.decoder = decoder_name;
    if reference && !seed_replaced {
        if let Some(dir) = &options.golden_dir {
            compare_golden(&mut outcome, dir, options.bless, options.builtin_golden);
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.settle();
    Ok(outcome)
}

/// What the line did, in memory or over a real line.
struct LineResult {
    truth: Vec<Reading>,
    sent_messages: usize,
    sent_bytes: usize,
    fault_log: String,
    rx_parity_errors: usize,
    rx_framing_errors: usize,
    rx_breaks: usize,
}

/// Judges `messages` against `truth` and the scenario's expectations; failures are added.
fn judge_outcome(
    spec: &crate::scenario::ScenarioSpec,
    truth: &[Reading],
    messages: &[Message],
    reference: bool,
    failures: &mut Vec<Failure>,
) -> (Vec<MessageFate>, Tally) {
    let (fates, tally) = if spec.meter.capture.is_some() {
        crate::verdict::judge_replayed(messages)
    } else {
        judge_with(truth, messages, spec.expect.compare)
    };
    for what in crate::verdict::missing_values(&spec.expect, messages) {
        failures.push(Failure { what, detail: None });
    }
    let wrong_diffs = || wrong_readings_detail(truth, messages, &fates);
    for (unmet, what) in check(&spec.expect, &tally, reference) {
        let detail = match unmet {
            Unmet::Wrong => wrong_diffs(),
            Unmet::Readings | Unmet::ErrorCount | Unmet::UnexpectedError => None,
        };
        failures.push(Failure { what, detail });
    }
    (fates, tally)
}

/// Runs one scenario against a reader program in real time (`crate::live`).
#[cfg(unix)]
fn run_live(
    scenario: &Scenario,
    options: &RunOptions,
    seed: Option<u64>,
    command: &str,
    timeout: Duration,
) -> Result<Outcome, ScenarioError> {
    let started = Instant::now();
    let spec = &scenario.spec;
    let seed = seed.unwrap_or(spec.seed);
    let live = crate::live::run(
        scenario,
        seed,
        command,
        timeout,
        options.transport.unwrap_or(spec.transport),
        &options.devices,
        options.follow_baud || spec.reader.follow_baud,
    )?;
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let mut failures = live.failures;
    let (fates, tally) = judge_outcome(spec, &live.truth, &live.messages, false, &mut failures);
    let mut outcome = Outcome::new(
        scenario,
        seed,
        live.profile,
        live.sender,
        live.receiver,
        live.transport,
    );
    outcome.fault_log = live.summary.fault_log.clone();
    outcome.sent_messages = count(live.summary.emissions);
    outcome.sent_bytes = count(live.summary.sent_bytes);
    // Written to the port; what the reader's read() returned is its own business.
    outcome.received_bytes = count(live.summary.bytes);
    outcome.rx_parity_errors = count(live.summary.rx_parity_errors);
    outcome.rx_framing_errors = count(live.summary.rx_framing_errors);
    outcome.rx_breaks = count(live.summary.rx_breaks);
    outcome.truth = live.truth;
    outcome.messages = live.messages;
    outcome.fates = fates;
    outcome.tally = tally;
    outcome.decoder_error = live.decoder_error;
    outcome.failures = failures;
    outcome.decoder = command.to_string();
    outcome.elapsed = started.elapsed();
    outcome.settle();
    Ok(outcome)
}

/// Without a pty there is no live mode.
#[cfg(not(unix))]
fn run_live(
    scenario: &Scenario,
    _options: &RunOptions,
    _seed: Option<u64>,
    _command: &str,
    _timeout: Duration,
) -> Result<Outcome, ScenarioError> {
    Err(ScenarioError::Invalid {
        path: scenario.path.clone(),
        message: "--reader needs a pty (Linux or another Unix)".into(),
    })
}

fn compare_golden(outcome: &mut Outcome, dir: &std::path::Path, bless: bool, builtin: bool) {
    let path = golden::path(dir, &outcome.name);
    let rendered = golden::render(outcome);
    if bless {
        outcome.golden = match golden::write(&path, &rendered) {
            Ok(()) => GoldenStatus::Written,
            Err(e) => {
                outcome.failures.push(Failure {
                    what: format!("cannot write {}: {e}", path.display()),
                    detail: None,
                });
                GoldenStatus::Missing
            }
        };
        return;
    }
    let stored = if builtin {
        crate::builtin::golden(&outcome.name)
    } else {
        golden::read(&path)
    };
    outcome.golden = match stored {
        None => {
            outcome.failures.push(Failure {
                what: format!(
                    "no golden file {}: write it with --bless (and review it), or explore with --no-golden",
                    path.display()
                ),
                detail: None,
            });
            GoldenStatus::Missing
        }
        Some(stored) if golden::same(&stored, &rendered) => GoldenStatus::Match,
        Some(stored) => {
            let old: Vec<String> = stored.trim_end().lines().map(str::to_string).collect();
            let new: Vec<String> = rendered.trim_end().lines().map(str::to_string).collect();
            outcome.failures.push(Failure {
                what: format!("output differs from the golden file {}", path.display()),
                detail: Some(diff(&old, &new)),
            });
            GoldenStatus::Mismatch
        }
    };
}

/// A unified diff of two line lists, `-` for expected and `+` for actual, three lines of context.
pub fn diff(expected: &[String], actual: &[String]) -> String {
    let old = expected.join("\n") + "\n";
    let new = actual.join("\n") + "\n";
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

/// Runs scenarios on `jobs` threads; `progress(done, total, &outcome)` is called as each one
/// finishes. Results are in the order of `scenarios`.
pub fn run_all(
    scenarios: &[Scenario],
    options: &RunOptions,
    jobs: usize,
    progress: impl FnMut(usize, usize, &Result<Outcome, ScenarioError>),
) -> Vec<Result<Outcome, ScenarioError>> {
    let list: Vec<Job<'_>> = scenarios
        .iter()
        .map(|scenario| Job {
            scenario,
            seed: options.seed_override,
        })
        .collect();
    run_jobs(&list, options, jobs, progress)
}

/// One run of a scenario: the scenario, and the seed that replaces its own, if any.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The seed in place of its own (`--seed`, or one of `--seeds N`).
    pub seed: Option<u64>,
}

/// The `n` further seeds `--seeds n` runs a scenario with: derived from `seed` (its own, or
/// `--seed`) alone, so the same in every run, on every machine.
pub fn sweep_seeds(seed: u64, n: u64) -> Vec<u64> {
    (1..=n)
        .map(|k| Seed(seed).derive(&format!("sweep/{k}")).0)
        .collect()
}

/// An outcome for a scenario that is not run (`skip` in the expectations file): its meter and
/// line as the scenario says, nothing sent.
pub fn skipped(scenario: &Scenario, reason: &str) -> Result<Outcome, ScenarioError> {
    let Prepared {
        meter,
        sender,
        receiver,
        ..
    } = prepare(scenario, Seed(scenario.spec.seed))?;
    let mut outcome = Outcome::new(
        scenario,
        scenario.spec.seed,
        meter.profile().to_string(),
        sender,
        receiver,
        scenario.spec.transport,
    );
    outcome.expectation = Some(format!("skip: {reason}"));
    outcome.verdict = Verdict::Skipped;
    Ok(outcome)
}

/// What `--seeds` keeps of a further seed's run: its verdict, failures and counts, without the
/// readings sent and decoded and their fates (thousands of runs would otherwise hold every
/// reading of every run in memory until the report).
pub fn sweep_summary(run: Result<Outcome, ScenarioError>) -> Result<Outcome, ScenarioError> {
    run.map(|mut outcome| {
        outcome.truth = Vec::new();
        outcome.messages = Vec::new();
        outcome.fates = Vec::new();
        outcome
    })
}

/// Runs `list` on `jobs` threads; `progress(done, total, &outcome)` is called as each one
/// finishes. Results are in the order of `list`.
pub fn run_jobs(
    list: &[Job<'_>],
    options: &RunOptions,
    jobs: usize,
    progress: impl FnMut(usize, usize, &Result<Outcome, ScenarioError>),
) -> Vec<Result<Outcome, ScenarioError>> {
    run_jobs_then(list, options, jobs, |_, run| run, progress)
}

/// [`run_jobs`], with `then(index, result)` applied to each result on the thread that ran it
/// (e.g. [`sweep_summary`]); `progress` sees what `then` returned.
pub fn run_jobs_then<T: Send>(
    list: &[Job<'_>],
    options: &RunOptions,
    jobs: usize,
    then: impl Fn(usize, Result<Outcome, ScenarioError>) -> T + Sync,
    mut progress: impl FnMut(usize, usize, &T),
) -> Vec<T> {
    let total = list.len();
    // Scenarios in real time (a pty, a cable, a reader program) run one at a time on their own
    // thread, so that they neither share a cable nor disturb each other's timing; the others
    // run in parallel beside them.
    let (real, virtual_): (Vec<usize>, Vec<usize>) =
        (0..total).partition(|&i| list.get(i).is_some_and(|j| options.real_time(j.scenario)));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut results: Vec<Option<T>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    let then = &then;
    let run_one = |i: usize| {
        list.get(i).map(|j| {
            let _span = tracing::info_span!("scenario", name = %j.scenario.name).entered();
            then(i, run_scenario_with_seed(j.scenario, options, j.seed))
        })
    };
    std::thread::scope(|scope| {
        if !real.is_empty() {
            let tx = tx.clone();
            let real = &real;
            scope.spawn(move || {
                for &i in real {
                    let Some(r) = run_one(i) else { continue };
                    if tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        for _ in 0..jobs.clamp(1, virtual_.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            let virtual_ = &virtual_;
            scope.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = virtual_.get(k) else { break };
                let Some(r) = run_one(i) else { continue };
                if tx.send((i, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            done += 1;
            progress(done, total, &r);
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
    });
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod test {
    use super::*;

    /// Results come back in list order whatever thread ran them, and a further seed's run
    /// keeps its verdict but not its readings.
    #[test]
    fn run_jobs_then_keeps_the_order_and_summaries_drop_the_readings() {
        let scenarios = crate::builtin::scenarios().expect("the built-in suite parses");
        let memory: Vec<&Scenario> = scenarios
            .iter()
            .filter(|s| {
                s.spec.meter.capture.is_none()
                    && !RunOptions::default().real_time(s)
                    && s.name.starts_with("dsmr")
            })
            .take(3)
            .collect();
        assert_eq!(memory.len(), 3);
        let mut list = Vec::new();
        for &scenario in &memory {
            list.push((
                true,
                Job {
                    scenario,
                    seed: None,
                },
            ));
            for seed in sweep_seeds(scenario.spec.seed, 2) {
                list.push((
                    false,
                    Job {
                        scenario,
                        seed: Some(seed),
                    },
                ));
            }
        }
        let jobs: Vec<Job<'_>> = list.iter().map(|(_, j)| *j).collect();
        let mut seen = 0;
        let results = run_jobs_then(
            &jobs,
            &RunOptions::default(),
            2,
            |k, r| match list.get(k) {
                Some((false, _)) => sweep_summary(r),
                _ => r,
            },
            |done, total, _| {
                seen += 1;
                assert_eq!((done, total), (seen, 9));
            },
        );
        assert_eq!(results.len(), 9);
        for ((primary, job), r) in list.iter().zip(&results) {
            let o = r.as_ref().expect("runs");
            assert_eq!(o.name, job.scenario.name);
            assert_eq!(o.seed, job.seed.unwrap_or(job.scenario.spec.seed));
            assert!(o.failures.is_empty(), "{:?}", o.failures);
            assert_eq!(!o.truth.is_empty(), *primary, "{}", o.name);
            assert_eq!(!o.messages.is_empty(), *primary, "{}", o.name);
            assert!(o.tally.sent > 0, "{}", o.name);
        }
    }

    #[test]
    fn sweep_seeds_are_fixed_distinct_and_not_the_own_seed() {
        let a = sweep_seeds(10, 8);
        assert_eq!(a, sweep_seeds(10, 8));
        assert_eq!(
            &a[..3],
            &sweep_seeds(10, 3)[..],
            "N more keeps the first ones"
        );
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8);
        assert!(!a.contains(&10));
        assert_ne!(a, sweep_seeds(11, 8));
    }
}
