//! `meterlab sim`: virtual meters in real time on a pty, a TCP port, a real serial port or
//! standard output, and the truth log.
//!
//! The meters and the real-time driver live in `meterlab_sim::transport`; this module turns the
//! command line or a `--config` file into [`SimJob`]s, runs each on its own thread, and writes
//! each job's truth log: one JSON line per message that carries readings,
//! `{"seq":0,"sent_at":"…","reading":{…}}` (docs/reading-format.md, "Truth log").

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{SecondsFormat, Utc};
use meterlab_decoder::{Key, Message, Protocol, Reading};
use meterlab_sim::clock::parse_duration;
use meterlab_sim::line::Fault;
use meterlab_sim::profile::catalogue;
use meterlab_sim::profile::SpecError;
use meterlab_sim::transport::{self, Port, ReaderSettings, SimOptions, StdoutPort, Summary};
use meterlab_sim::{MeterSpec, Seed};

use crate::cli::SimArgs;

/// Where a meter's bytes go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortSpec {
    /// A pty behind this symlink.
    Pty(PathBuf),
    /// A TCP server on this address.
    Tcp(String),
    /// A real serial port.
    Serial(String),
    /// Standard output, raw or hex.
    Stdout {
        /// Hex text instead of raw bytes.
        hex: bool,
    },
}

/// One meter to run: what it is, where it runs, and how.
#[derive(Clone, Debug)]
pub struct SimJob {
    /// The meter.
    pub spec: MeterSpec,
    /// Its port.
    pub port: PortSpec,
    /// Reader settings, faults, line seed, count.
    pub options: SimOptions,
    /// The meter's seed.
    pub seed: Seed,
    /// Where its truth log goes.
    pub truth: Option<PathBuf>,
    /// On a pty: the reader's baud rate is what it sets on the pty (`--follow-baud`).
    pub follow_baud: bool,
}

/// One line of the truth log.
pub fn truth_line(seq: u64, sent_at: chrono::DateTime<Utc>, reading: &Reading) -> String {
    format!(
        r#"{{"seq":{seq},"sent_at":"{}","reading":{}}}"#,
        sent_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        Message::Reading(reading.clone()).to_json_line()
    )
}

fn parse_faults(texts: &[String]) -> Result<Vec<Fault>> {
    texts
        .iter()
        .map(|t| {
            let fault: Fault =
                serde_yaml::from_str(t).with_context(|| format!("bad --fault {t:?}"))?;
            fault
                .validate()
                .map_err(|e| anyhow!("bad --fault {t:?}: {e}"))?;
            Ok(fault)
        })
        .collect()
}

/// The shortest push interval `sim` takes. No meter pushes faster, and a shorter one only
/// builds messages to drop them (the line is busy much longer than this with any telegram).
pub const MIN_INTERVAL_NS: u64 = 10_000_000;

/// Checks what the meter spec of a `sim` job says beyond the profile's own checks: an interval
/// of at least [`MIN_INTERVAL_NS`], keys that are not empty and are keys. `name` says how the
/// option is called where it came from (`--auth-key` on the command line, `auth_key` in a file).
fn check_spec(spec: &MeterSpec, name: &dyn Fn(&str) -> String) -> Result<()> {
    if let Some(text) = &spec.interval {
        let ns = parse_duration(text).map_err(|e| anyhow!("{}: {e}", name("interval")))?;
        if ns < MIN_INTERVAL_NS {
            bail!(
                "{} {text:?} is shorter than {} ms: no meter pushes that fast, and no line \
                 carries a telegram that quickly",
                name("interval"),
                MIN_INTERVAL_NS / 1_000_000
            );
        }
    }
    for (what, key) in [("key", &spec.key), ("auth_key", &spec.auth_key)] {
        match key.as_deref() {
            Some(k) if k.trim().is_empty() => bail!(
                "{} is empty: give 32 hex digits, or leave it out for no key",
                name(what)
            ),
            Some(k) => {
                k.parse::<Key>()
                    .map_err(|e| anyhow!("{}: {e}", name(what)))?;
            }
            None => {}
        }
    }
    Ok(())
}

/// The meter's clock starts now unless the spec says otherwise, so its telegrams carry the
/// real time.
fn start_now(spec: &mut MeterSpec) {
    if spec.start.is_none() {
        spec.start = Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    }
}

/// The job the command line describes.
pub fn job_from_args(args: &SimArgs) -> Result<SimJob> {
    let profile = args
        .profile
        .clone()
        .ok_or_else(|| anyhow!("name a profile (meterlab sim --list)"))?;
    let info = catalogue()
        .into_iter()
        .find(|p| p.name == profile)
        .ok_or_else(|| anyhow!("unknown profile {profile:?} (meterlab sim --list)"))?;
    let mut spec = MeterSpec::new(profile.clone());
    spec.key = args.key.clone();
    spec.auth_key = args.auth_key.clone();
    spec.interval = args.interval.clone();
    check_spec(&spec, &|o| format!("--{}", o.replace('_', "-")))?;
    if let Some(address) = &args.address {
        if address.trim().is_empty() {
            bail!("--address is empty");
        }
        match info.protocol {
            Protocol::Mbus => {
                spec.primary_address = Some(address.parse().with_context(|| {
                    format!("--address {address:?}: an M-Bus primary address is 0-250")
                })?)
            }
            Protocol::Iec62056_21 => spec.address = Some(address.clone()),
            _ => bail!("--address is for M-Bus and IEC 62056-21 profiles, not {profile}"),
        }
    }
    start_now(&mut spec);
    // Every option checked now, named as on the command line, before any port is opened.
    if let Err(e) = spec.build(Seed(args.seed).derive("meter")) {
        return Err(match e {
            SpecError::BadOption { option, reason } => {
                let flag = match option {
                    "primary_address" => "address",
                    other => other,
                };
                anyhow!("--{}: {reason}", flag.replace('_', "-"))
            }
            other => anyhow!("{other}"),
        });
    }
    let port = match (&args.pty, &args.tcp, &args.serial) {
        (Some(link), _, _) => PortSpec::Pty(link.clone()),
        (_, Some(addr), _) => PortSpec::Tcp(addr.clone()),
        (_, _, Some(dev)) => PortSpec::Serial(dev.clone()),
        _ => PortSpec::Stdout { hex: args.hex },
    };
    Ok(SimJob {
        spec,
        port,
        options: SimOptions {
            reader: ReaderSettings {
                baud: args.baud,
                format: args.format.clone(),
            },
            faults: parse_faults(&args.fault)?,
            seed: Seed(args.seed),
            count: args.count,
            drop_when_busy: true,
            ..SimOptions::default()
        },
        seed: Seed(args.seed),
        truth: args.truth.clone(),
        follow_baud: args.follow_baud,
    })
}

/// The `--config` file: `meters:`, each a meter spec (profile and options, as in a scenario)
/// plus its port (`pty`, `tcp`, `serial` or `stdout`) and optionally `hex`, `reader_baud`,
/// `reader_format`, `follow_baud`, `seed`, `count`, `truth`, `faults`.
pub fn load_config(path: &Path) -> Result<Vec<SimJob>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_config(&text).with_context(|| format!("in {}", path.display()))
}

/// [`load_config`] from text.
pub fn parse_config(text: &str) -> Result<Vec<SimJob>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        meters: Vec<serde_yaml::Mapping>,
    }
    let file: File = serde_yaml::from_str(text)?;
    if file.meters.is_empty() {
        bail!("no meters listed");
    }
    file.meters
        .into_iter()
        .enumerate()
        .map(|(i, m)| parse_entry(m).with_context(|| format!("meter {}", i + 1)))
        .collect()
}

fn parse_entry(mut m: serde_yaml::Mapping) -> Result<SimJob> {
    fn take<T: serde::de::DeserializeOwned>(
        m: &mut serde_yaml::Mapping,
        key: &str,
    ) -> Result<Option<T>> {
        m.remove(key)
            .map(|v| serde_yaml::from_value(v).with_context(|| format!("`{key}`")))
            .transpose()
    }
    let pty: Option<PathBuf> = take(&mut m, "pty")?;
    let tcp: Option<String> = take(&mut m, "tcp")?;
    let serial: Option<String> = take(&mut m, "serial")?;
    let stdout: Option<bool> = take(&mut m, "stdout")?;
    let hex: Option<bool> = take(&mut m, "hex")?;
    let reader_baud: Option<u32> = take(&mut m, "reader_baud")?;
    let reader_format: Option<String> = take(&mut m, "reader_format")?;
    let seed: Option<u64> = take(&mut m, "seed")?;
    let count: Option<u64> = take(&mut m, "count")?;
    let truth: Option<PathBuf> = take(&mut m, "truth")?;
    let faults: Option<Vec<Fault>> = take(&mut m, "faults")?;
    let follow_baud: Option<bool> = take(&mut m, "follow_baud")?;
    let mut spec: MeterSpec = serde_yaml::from_value(serde_yaml::Value::Mapping(m))?;
    check_spec(&spec, &|o| format!("`{o}`"))?;
    start_now(&mut spec);
    let ports = [
        pty.map(PortSpec::Pty),
        tcp.map(PortSpec::Tcp),
        serial.map(PortSpec::Serial),
        stdout.filter(|s| *s).map(|_| PortSpec::Stdout {
            hex: hex.unwrap_or(false),
        }),
    ];
    let mut ports = ports.into_iter().flatten();
    let port = ports
        .next()
        .ok_or_else(|| anyhow!("no port: give one of `pty`, `tcp`, `serial`, `stdout: true`"))?;
    if ports.next().is_some() {
        bail!("more than one port; give one of `pty`, `tcp`, `serial`, `stdout`");
    }
    let seed = Seed(seed.unwrap_or(1));
    Ok(SimJob {
        spec,
        port,
        options: SimOptions {
            reader: ReaderSettings {
                baud: reader_baud,
                format: reader_format,
            },
            faults: faults.unwrap_or_default(),
            seed,
            count,
            drop_when_busy: true,
            ..SimOptions::default()
        },
        seed,
        truth,
        follow_baud: follow_baud.unwrap_or(false),
    })
}

fn open_port(
    spec: &PortSpec,
    meter_uart: &meterlab_sim::line::UartConfig,
    reader: &ReaderSettings,
    follow_baud: bool,
) -> Result<Box<dyn Port>> {
    if follow_baud && !matches!(spec, PortSpec::Pty(_)) {
        bail!("--follow-baud is for --pty (a real port has its own baud; TCP has none)");
    }
    Ok(match spec {
        #[cfg(unix)]
        PortSpec::Pty(link) => {
            let mut port = transport::pty::PtyPort::create(link)
                .with_context(|| format!("cannot make a pty at {}", link.display()))?;
            if follow_baud {
                port.follow_reader_baud(reader.resolve(meter_uart)?);
            }
            Box::new(port)
        }
        #[cfg(not(unix))]
        PortSpec::Pty(_) => bail!("--pty needs Linux (or another Unix)"),
        PortSpec::Tcp(addr) => Box::new(
            transport::tcp::TcpPort::bind(addr.as_str())
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        PortSpec::Serial(dev) => {
            let settings = reader.resolve(meter_uart)?;
            Box::new(
                transport::serial::SerialPort::open(dev, &settings)
                    .with_context(|| format!("cannot open {dev}"))?,
            )
        }
        PortSpec::Stdout { hex } => Box::new(StdoutPort::new(*hex)),
    })
}

/// Runs one job until `stop` is set or its count is reached; `ready` gets a line saying where
/// the meter is, once its port is open.
pub fn run_job(job: &SimJob, stop: &AtomicBool, ready: &dyn Fn(&str)) -> Result<Summary> {
    let mut meter = job
        .spec
        .build(job.seed.derive("meter"))
        .map_err(|e| anyhow!("{e}"))?;
    let mut truth = match &job.truth {
        Some(path) => {
            Some(File::create(path).with_context(|| format!("cannot write {}", path.display()))?)
        }
        None => None,
    };
    let uart = meter.uart();
    let mut port = open_port(&job.port, &uart, &job.options.reader, job.follow_baud)?;
    ready(&format!(
        "{} ({}, {}) on {}",
        job.spec.profile,
        meter.protocol().name(),
        uart,
        port.describe()
    ));
    let mut write_failed = false;
    let summary = transport::run(&mut *meter, &mut *port, &job.options, stop, &mut |sent| {
        if let Some(file) = &mut truth {
            let line = truth_line(sent.seq, sent.sent_at, sent.reading);
            if let Err(e) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                if !write_failed {
                    tracing::error!("cannot write the truth log: {e}");
                    write_failed = true;
                }
            }
        }
    })?;
    Ok(summary)
}

/// Runs every job on its own thread until `stop` is set (SIGINT/SIGTERM) or each has reached its
/// count; the first error stops the others.
pub fn run_jobs(jobs: Vec<SimJob>, stop: Arc<AtomicBool>) -> Result<()> {
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let result = run_job(&job, &stop, &|where_| {
                    eprintln!("meterlab sim: {where_}");
                });
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                result
            })
        })
        .collect();
    let mut first_error = None;
    for h in handles {
        match h.join() {
            Ok(Ok(summary)) => tracing::info!(?summary, "meter done"),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert(anyhow!("a meter thread panicked"));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn config_lists_meters_with_ports() {
        let jobs = parse_config(
            "meters:\n  - profile: dsmr-5.0\n    interval: 200ms\n    pty: /tmp/m1\n    truth: t.jsonl\n    faults:\n      - noise: { ber: 1.0e-4 }\n  - profile: mbus-bus\n    tcp: 127.0.0.1:5001\n    reader_baud: 9600\n    seed: 7\n",
        )
        .expect("parses");
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].spec.profile, "dsmr-5.0");
        assert_eq!(jobs[0].spec.interval.as_deref(), Some("200ms"));
        assert_eq!(jobs[0].port, PortSpec::Pty("/tmp/m1".into()));
        assert_eq!(jobs[0].options.faults.len(), 1);
        assert_eq!(jobs[1].port, PortSpec::Tcp("127.0.0.1:5001".into()));
        assert_eq!(jobs[1].options.reader.baud, Some(9600));
        assert_eq!(jobs[1].seed, Seed(7));
        assert!(parse_config("meters:\n  - profile: dsmr-5.0\n").is_err());
        assert!(
            parse_config("meters:\n  - profile: dsmr-5.0\n    pty: /a\n    tcp: b:1\n").is_err()
        );
        assert!(
            parse_config("meters:\n  - profile: dsmr-5.0\n    pty: /a\n    colour: red\n").is_err()
        );
    }

    #[test]
    fn truth_line_shape() {
        let mut r = Reading::new(Protocol::Dsmr);
        r.meter_id = Some("X".into());
        let at = chrono::DateTime::parse_from_rfc3339("2025-01-15T09:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            truth_line(3, at, &r),
            r#"{"seq":3,"sent_at":"2025-01-15T09:00:00.000Z","reading":{"protocol":"dsmr","meter_id":"X","time":null,"values":[]}}"#
        );
    }
}
