//! `meterlab run --reader CMD`: a scenario in real time against an unmodified reader program.
//!
//! The scenario's meter (its `meter:` spec and seed) runs with the real-time driver of
//! `meterlab sim` on a fresh pty, whose link lives in a temporary directory; the scenario's
//! `line.receiver` becomes the reader's settings and its `faults:` go on the line, exactly as
//! `meterlab sim --baud/--format/--fault` would apply them. The reader command runs through
//! `sh -c` with `{port}` replaced by the link's path, the keys in `METERLAB_KEY` and
//! `METERLAB_AUTH_KEY` and the protocol in `METERLAB_PROTOCOL`, and prints JSON lines
//! (docs/reading-format.md) on standard output.
//!
//! Order of events: the reader starts; once it has the port open (on Linux: a process of its
//! process group has the device open, or a TCP connection to the port is established; at most
//! [`OPEN_LIMIT`], and at least [`START_GRACE`] where that cannot be seen) the meter starts, so
//! its first push finds the reader listening; a push meter stops after `run.telegrams` pushes (or after
//! `run.duration`), a request/response meter when the reader exits or `run.duration` has passed;
//! the reader then has [`FINISH_GRACE`] to finish before it (its whole process group) is
//! terminated. Its readings are judged against the driver's truth like an external decoder's
//! (error kinds are not compared; no golden files).

use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use meterlab_decoder::{Keys, Message, Protocol, Reading};
use meterlab_sim::transport::{self as sim_transport, ReaderSettings, SimOptions, Summary};
use meterlab_sim::Seed;

use crate::external::{self, collect, terminate, ExternalOutput};
use crate::outcome::Failure;
use crate::prepare::{prepare, Prepared};
use crate::scenario::{Scenario, ScenarioError};
use crate::transport::{MeterEnd, SerialDevices, Transport};
use crate::verdict::DecoderError;

/// Time between starting the reader and starting the meter where the port's opening cannot be
/// seen.
pub const START_GRACE: Duration = Duration::from_millis(300);

/// Time between seeing the port open and starting the meter: a reader configures the port and
/// flushes its input after opening it (pyserial does), which would eat the first bytes.
pub const OPEN_SETTLE: Duration = Duration::from_millis(250);

/// The longest wait for the reader to open its port before the meter starts anyway.
pub const OPEN_LIMIT: Duration = Duration::from_secs(10);

/// Time the reader has to finish once the meter has stopped.
pub const FINISH_GRACE: Duration = Duration::from_secs(5);

/// The longest `run.duration` this mode accepts (it runs in real time).
pub const MAX_DURATION: Duration = Duration::from_secs(60);

/// What a live run produced, for the runner to judge.
#[derive(Debug)]
pub struct LiveRun {
    /// Where the line ran.
    pub transport: Transport,
    /// The meter's settings.
    pub sender: meterlab_sim::line::UartConfig,
    /// The reader's settings.
    pub receiver: meterlab_sim::line::UartConfig,
    /// The profile.
    pub profile: String,
    /// What the driver did.
    pub summary: Summary,
    /// The readings the meter sent (the truth log).
    pub truth: Vec<Reading>,
    /// What the reader printed.
    pub messages: Vec<Message>,
    /// Bad lines, a port failure.
    pub failures: Vec<Failure>,
    /// The reader program could not start, exited non-zero, crashed or ran out of time.
    pub decoder_error: Option<DecoderError>,
}

/// Runs `scenario` with `seed` against the reader `command` (time limit `timeout` for the whole
/// run, meter and reader) over `transport` (a pty for `memory`: a reader program needs a port).
pub fn run(
    scenario: &Scenario,
    seed: u64,
    command: &str,
    timeout: Duration,
    transport: Transport,
    devices: &SerialDevices,
    follow_baud: bool,
) -> Result<LiveRun, ScenarioError> {
    let transport = match transport {
        Transport::Memory => Transport::Pty,
        t => t,
    };
    let spec = &scenario.spec;
    let invalid = |message: String| ScenarioError::Invalid {
        path: scenario.path.clone(),
        message,
    };
    if spec
        .run
        .duration
        .is_some_and(|d| d > MAX_DURATION.as_nanos() as u64)
    {
        return Err(invalid(format!(
            "run.duration is over {} s: with --reader a scenario runs in real time; shorten it or use run.telegrams",
            MAX_DURATION.as_secs()
        )));
    }
    if spec.reader.mbus.is_some() || spec.reader.iec.is_some() {
        return Err(invalid(
            "reader.iec / reader.mbus script meterlab's own reader; with --reader the reader under test runs the dialogue".into(),
        ));
    }
    let seed = Seed(seed);
    let Prepared {
        mut meter,
        sender,
        receiver,
        keys,
        ..
    } = prepare(scenario, seed)?;
    // The reader program's settings are its own business; the line model assumes it follows
    // the meter (baud switches included) unless the scenario names the reader's settings.
    let reader = match spec.line.receiver {
        Some(r) => {
            let text = r.to_string();
            ReaderSettings {
                baud: Some(r.baud),
                format: text.split_once(' ').map(|(_, f)| f.to_string()),
            }
        }
        None => ReaderSettings::default(),
    };
    let push_meter = meter.next_push_ns().is_some();
    let options = SimOptions {
        sender: Some(sender),
        reader,
        faults: spec.faults.clone(),
        errors: spec.reader.errors,
        reader_start_ns: spec.reader.start.unwrap_or(0),
        seed,
        count: if push_meter { spec.run.telegrams } else { None },
        until_ns: spec.run.duration,
        ..SimOptions::default()
    };
    let protocol = meter.protocol();
    let profile = meter.profile().to_string();

    let follow = follow_baud.then_some(receiver);
    let mut end = MeterEnd::open(transport, devices, &sender, None, follow.as_ref())
        .map_err(|e| invalid(format!("over {transport}: {e}")))?;
    let result = (|| {
        let command_line = command.replace("{port}", &end.reader_address);
        let mut child = spawn(&command_line, &keys, protocol)
            .map_err(|e| invalid(format!("cannot start reader command `{command}`: {e}")))?;
        let stdout = collect(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let started = Instant::now();
        let mut failures = Vec::new();
        let mut truth = Vec::new();
        let stop = AtomicBool::new(false);
        let mut status = None;
        let mut timed_out = false;
        let driven = std::thread::scope(|scope| {
            // The reader opens the port before the meter's first push.
            let group = child.id();
            while status.is_none() {
                let waited = started.elapsed();
                match port_opened(group, &end.reader_address) {
                    Some(true) => {
                        std::thread::sleep(OPEN_SETTLE);
                        break;
                    }
                    Some(false) if waited < OPEN_LIMIT => {}
                    None if waited < START_GRACE => {}
                    _ => break,
                }
                status = child.try_wait().ok().flatten();
                std::thread::sleep(Duration::from_millis(10));
            }
            let driver = scope.spawn(|| {
                sim_transport::run(
                    &mut *meter,
                    end.port.as_mut(),
                    &options,
                    &stop,
                    &mut |sent| truth.push(sent.reading.clone()),
                )
            });
            loop {
                if driver.is_finished() {
                    break;
                }
                if status.is_none() {
                    status = child.try_wait().ok().flatten();
                }
                let ended = !push_meter && status.is_some();
                if started.elapsed() > timeout {
                    timed_out = true;
                }
                if ended || timed_out {
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            driver.join()
        });
        let summary = match driven {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                failures.push(Failure {
                    what: format!("the meter's pty failed: {:#}", anyhow::Error::from(e)),
                    detail: None,
                });
                Summary::default()
            }
            Err(_) => {
                failures.push(Failure {
                    what: "the meter thread panicked".into(),
                    detail: None,
                });
                Summary::default()
            }
        };
        // The reader's grace period, within the time limit.
        let grace_end = (Instant::now() + FINISH_GRACE).min(started + timeout);
        while status.is_none() && !timed_out {
            status = child.try_wait().ok().flatten();
            if status.is_none() {
                if Instant::now() >= grace_end {
                    timed_out = started.elapsed() >= timeout;
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let killed = status.is_none();
        if killed {
            terminate(&mut child);
        }
        drop(end);
        let out = stdout
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_default();
        let err = stderr
            .recv_timeout(Duration::from_secs(1))
            .unwrap_or_default();
        let (messages, bad_lines) = external::parse_output(&out);
        failures.extend(external::bad_lines_failure("reader", &bad_lines));
        // Terminated at the end of its grace period is how a reader that reads forever ends;
        // running out of time, or ending by itself other than with status 0, is a decoder error.
        let decoder_error = if timed_out && killed {
            Some(DecoderError {
                what: format!(
                    "reader command `{command}` did not finish within {} s and was killed",
                    timeout.as_secs()
                ),
                exit_status: None,
                signal: None,
                stderr_tail: external::stderr_tail(&err),
            })
        } else if killed {
            None
        } else {
            status.and_then(|s| {
                ExternalOutput {
                    status: s.code(),
                    signal: external::exit_signal(&s),
                    stderr_tail: external::stderr_tail(&err),
                    ..ExternalOutput::default()
                }
                .decoder_error("reader", command)
            })
        };
        Ok(LiveRun {
            transport,
            sender,
            receiver,
            profile,
            summary,
            truth,
            messages,
            failures,
            decoder_error,
        })
    })();
    result
}

/// Whether a process of the reader's process group `group` has `address` open (a device path,
/// or `socket://HOST:PORT`); `None` where that cannot be seen (not Linux).
fn port_opened(group: u32, address: &str) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    if let Some(addr) = address.strip_prefix("socket://") {
        let port: u16 = addr.rsplit(':').next()?.parse().ok()?;
        return Some(tcp_established(port));
    }
    let device = std::fs::canonicalize(address).ok()?;
    let proc_dir = std::fs::read_dir("/proc").ok()?;
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let pgrp = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|g| g.parse::<u32>().ok());
        if pgrp != Some(group) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == device))
        {
            return Some(true);
        }
    }
    Some(false)
}

/// Whether a TCP connection to local port `port` is established (`/proc/net/tcp{,6}`).
fn tcp_established(port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                // sl local_address rem_address st: the client's side has the server's port as
                // its remote address; 01 = ESTABLISHED.
                f.get(2).is_some_and(|rem| rem.ends_with(&wanted)) && f.get(3) == Some(&"01")
            })
        })
    })
}

fn spawn(command: &str, keys: &Keys, protocol: Protocol) -> std::io::Result<Child> {
    let mut cmd = crate::external::command_under_test(command, keys, protocol);
    cmd.stdin(Stdio::null());
    // Its own process group, so that terminating it reaches what `sh` started.
    external::own_process_group(&mut cmd);
    cmd.spawn()
}
