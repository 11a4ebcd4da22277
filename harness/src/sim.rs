//! `meterlab sim`: virtual meters in real time on a pty, a TCP port, a real serial port or
//! standard output, and the truth log.
//!
//! The meters and the real-time driver live in `meterlab_sim::transport`; this module turns the
//! command line or a `--config` file into [`SimJob`]s, runs them (those on ptys and TCP ports on
//! one scheduler, [`meterlab_sim::transport::fleet`]; the others on a thread each), and writes
//! each job's truth log: one JSON line per message that carries readings,
//! `{"seq":0,"sent_at":"…","reading":{…}}` (docs/reading-format.md, "Truth log").
//!
//! What a meter does is logged as it happens: at `-v` one line per message (its time, number,
//! size, the headline values of a push or the request a reply answers), and with `--json-log`
//! one JSON object per event; at the end a summary in words ([`summary_text`]). Keys are never
//! logged: events carry readings and request bytes only.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use chrono::{SecondsFormat, Utc};
use meterlab_decoder::{Key, Message, Protocol, Reading};
use meterlab_sim::clock::parse_duration;
use meterlab_sim::line::uart::MAX_BAUD;
use meterlab_sim::line::{Fault, UartConfig};
use meterlab_sim::profile::catalogue;
use meterlab_sim::profile::SpecError;
use meterlab_sim::transport::{
    self, hex_line, Event, Port, ReaderSettings, Sent, SimOptions, StdoutPort, Summary,
};
use meterlab_sim::wmbus::{self, DongleConfig, DongleKind};
use meterlab_sim::{Meter, MeterSpec, Seed};

use crate::cli::SimArgs;
use crate::yaml_location::{locate, locate_key, Location, Step};

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
    /// Where the JSON event log goes (`--json-log`).
    pub json_log: Option<PathBuf>,
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

/// A meter option that cannot be used: the option (as a scenario or config file names it) and
/// why.
#[derive(Debug)]
struct BadOption {
    option: String,
    reason: String,
}

impl BadOption {
    fn new(option: impl Into<String>, reason: impl Into<String>) -> Self {
        BadOption {
            option: option.into(),
            reason: reason.into(),
        }
    }

    /// As the command line names the option: `--auth-key: …`.
    fn on_command_line(&self) -> anyhow::Error {
        let flag = match self.option.as_str() {
            "primary_address" => "address",
            other => other,
        };
        anyhow!("--{}: {}", flag.replace('_', "-"), self.reason)
    }
}

/// Checks a `sim` job's meter spec: what the profile checks when it builds the meter (an
/// unknown profile, an option it does not take, a bad value), and beyond that an interval of at
/// least [`MIN_INTERVAL_NS`] and keys that are not empty. Gives the meter's serial settings.
fn check_spec(spec: &MeterSpec, seed: Seed) -> Result<UartConfig, BadOption> {
    if let Some(text) = &spec.interval {
        let ns = parse_duration(text).map_err(|e| BadOption::new("interval", e.to_string()))?;
        if ns < MIN_INTERVAL_NS {
            return Err(BadOption::new(
                "interval",
                format!(
                    "{text:?} is shorter than {} ms: no meter pushes that fast, and no line \
                     carries a telegram that quickly",
                    MIN_INTERVAL_NS / 1_000_000
                ),
            ));
        }
    }
    for what in ["key", "auth_key"] {
        let key = spec.options.text(what);
        match key.as_deref() {
            Some(k) if k.trim().is_empty() => {
                return Err(BadOption::new(
                    what,
                    "empty; give 32 hex digits, or leave it out for no key",
                ))
            }
            Some(k) => {
                k.parse::<Key>()
                    .map_err(|e| BadOption::new(what, e.to_string()))?;
            }
            None => {}
        }
    }
    match spec.build(seed.derive("meter")) {
        Ok(meter) => Ok(meter.uart()),
        Err(SpecError::BadOption { option, reason }) => Err(BadOption { option, reason }),
        Err(e @ SpecError::UnknownProfile { .. }) => Err(BadOption::new("profile", e.to_string())),
    }
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
    let profile = match &args.dongle {
        Some(name) => {
            let kind = DongleKind::from_name(name)
                .ok_or_else(|| anyhow!("--dongle {name:?}: im871a, amb8465, cul or rtlwmbus"))?;
            wmbus::profile_name(kind).to_string()
        }
        None => args
            .profile
            .clone()
            .ok_or_else(|| anyhow!("name a profile (meterlab sim --list)"))?,
    };
    let info = catalogue()
        .into_iter()
        .find(|p| p.name == profile)
        .ok_or_else(|| anyhow!("unknown profile {profile:?} (meterlab sim --list)"))?;
    let mut spec = MeterSpec::new(profile.clone());
    spec.options.set("key", &args.keys.key);
    spec.options.set("auth_key", &args.keys.auth_key);
    spec.interval = args.interval.clone();
    spec.start = args.start.clone();
    if let (Some(name), Some(path)) = (&args.dongle, &args.config) {
        dongle_options(&mut spec, name, path)?;
    }
    if let Some(address) = &args.address {
        if address.trim().is_empty() {
            bail!("--address is empty");
        }
        match info.protocol {
            Protocol::Mbus => {
                let primary: u8 = address.parse().with_context(|| {
                    format!("--address {address:?}: an M-Bus primary address is 0-250")
                })?;
                spec.options.set("primary_address", primary);
            }
            Protocol::Iec62056_21 => {
                spec.options.set("address", address);
            }
            _ => bail!("--address is for M-Bus and IEC 62056-21 profiles, not {profile}"),
        }
    }
    start_now(&mut spec);
    // Every option checked now, named as on the command line, before any port is opened.
    let uart = check_spec(&spec, Seed(args.seed)).map_err(|e| e.on_command_line())?;
    let reader = ReaderSettings {
        baud: args.baud,
        format: args.format.clone(),
    };
    if let Err(e) = reader.resolve(&uart) {
        let flag = if args.format.is_some() {
            "--format"
        } else {
            "--baud"
        };
        bail!("{flag}: {e}");
    }
    let port = match (&args.pty, &args.tcp, &args.serial) {
        (Some(link), _, _) => PortSpec::Pty(link.clone()),
        (_, Some(addr), _) => PortSpec::Tcp(addr.clone()),
        (_, _, Some(dev)) => PortSpec::Serial(dev.clone()),
        _ => PortSpec::Stdout { hex: args.hex },
    };
    // Nobody answers on standard output: a capture is made at once unless asked otherwise —
    // except an endless one to a terminal, which would only flood it.
    let endless_to_terminal = args.count.is_none() && {
        use std::io::IsTerminal;
        std::io::stdout().is_terminal()
    };
    let virtual_time =
        matches!(port, PortSpec::Stdout { .. }) && !args.real_time && !endless_to_terminal;
    if matches!(port, PortSpec::Stdout { .. }) && info.cadence == "request/response" {
        tracing::warn!(
            "{profile} answers requests, and nobody sends any on standard output: it will send \
             nothing (use --pty, --tcp or --serial for a reader that asks)"
        );
    }
    let clock_start = spec
        .start
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(SimJob {
        spec,
        port,
        options: SimOptions {
            reader,
            faults: parse_faults(&args.fault)?,
            seed: Seed(args.seed),
            count: args.count,
            drop_when_busy: true,
            virtual_time,
            clock_start,
            ..SimOptions::default()
        },
        seed: Seed(args.seed),
        truth: args.truth.clone(),
        follow_baud: args.follow_baud,
        json_log: args.json_log.clone(),
    })
}

/// `--dongle NAME --config FILE`: the dongle's `meters:` and `radio:` from a [`DongleConfig`]
/// file (its `dongle:` may be left out, or must be NAME), as the profile's options. The keys in
/// the file go into the spec as written (they are never serialised back out).
fn dongle_options(spec: &mut MeterSpec, name: &str, path: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        let at = e.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        });
        config_error(path, at, without_yaml_location(&e.to_string()))
    })?;
    let Some(map) = value.as_mapping_mut() else {
        bail!(
            "{}: a dongle file is a mapping: `meters:` (and `radio:`, `dongle: {name}`)",
            path.display()
        );
    };
    match map.get("dongle").and_then(|d| d.as_str()) {
        Some(d) if d != name => bail!(
            "{}: the file is for a {d} dongle, the command line asks for {name}",
            path.display()
        ),
        _ => {
            map.insert("dongle".into(), name.into());
        }
    }
    // The whole file checked as a dongle configuration (unknown keys, types).
    serde_yaml::from_value::<DongleConfig>(value.clone())
        .map_err(|e| config_error(path, None, format!("not a dongle configuration: {e}")))?;
    for key in ["meters", "radio"] {
        if let Some(v) = value.get(key) {
            spec.options.set(key, v.clone());
        }
    }
    Ok(())
}

/// A serde_yaml message without its own `at line …` suffix.
fn without_yaml_location(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// The `--config` file: `meters:`, each a meter spec (profile and options, as in a scenario)
/// plus its port (`pty`, `tcp`, `serial` or `stdout`) and optionally `hex`, `reader_baud`,
/// `reader_format`, `follow_baud`, `seed`, `count`, `truth`, `faults`. Every error names
/// `file:line:column`.
pub fn load_config(path: &Path) -> Result<Vec<SimJob>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_config(path, &text)
}

/// An error at a place in the config file `path`.
fn config_error(
    path: &Path,
    at: Option<Location>,
    message: impl std::fmt::Display,
) -> anyhow::Error {
    match at {
        Some(at) => anyhow!("{}:{at}: {message}", path.display()),
        None => anyhow!("{}: {message}", path.display()),
    }
}

/// What went wrong in one meter of the config, and at which of its keys (`None`: the entry).
struct EntryError {
    key: Option<String>,
    message: String,
}

impl EntryError {
    fn at(key: &str, message: impl std::fmt::Display) -> Self {
        EntryError {
            key: Some(key.to_string()),
            message: format!("`{key}`: {message}"),
        }
    }
}

/// [`load_config`] from text; `path` names the file in errors.
pub fn parse_config(path: &Path, text: &str) -> Result<Vec<SimJob>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        meters: Vec<serde_yaml::Mapping>,
    }
    let file: File =
        serde_yaml::from_str(text).map_err(|e| config_error(path, Location::of(&e), e))?;
    if file.meters.is_empty() {
        return Err(config_error(
            path,
            locate(text, &[Step::Key("meters")]),
            "no meters listed",
        ));
    }
    let mut jobs = Vec::new();
    for (i, m) in file.meters.into_iter().enumerate() {
        let entry = [Step::Key("meters"), Step::Index(i)];
        match parse_entry(m) {
            Ok(job) => jobs.push(job),
            Err(e) => {
                let at = e
                    .key
                    .as_deref()
                    .and_then(|k| {
                        locate(text, &[entry[0], entry[1], Step::Key(k)])
                            .or_else(|| locate_key(text, &entry, k))
                    })
                    .or_else(|| locate(text, &entry));
                return Err(config_error(
                    path,
                    at,
                    format!("meter {}: {}", i + 1, e.message),
                ));
            }
        }
    }
    for (j, b) in jobs.iter().enumerate() {
        if let Some(i) = jobs
            .iter()
            .take(j)
            .position(|a| same_port(&a.port, &b.port))
        {
            let key = port_key(&b.port);
            let where_ =
                |n: usize| locate(text, &[Step::Key("meters"), Step::Index(n), Step::Key(key)]);
            return Err(config_error(
                path,
                where_(j),
                format!(
                    "meter {}: `{key}` is the port of meter {} too ({}): one meter per port",
                    j + 1,
                    i + 1,
                    match where_(i) {
                        Some(at) => format!("{}:{at}", path.display()),
                        None => path.display().to_string(),
                    }
                ),
            ));
        }
    }
    Ok(jobs)
}

/// The config key that gives a port.
fn port_key(port: &PortSpec) -> &'static str {
    match port {
        PortSpec::Pty(_) => "pty",
        PortSpec::Tcp(_) => "tcp",
        PortSpec::Serial(_) => "serial",
        PortSpec::Stdout { .. } => "stdout",
    }
}

/// Whether two meters would share a port: the same pty link, serial device or standard output,
/// or TCP addresses on the same port where the hosts are the same or one is "any".
fn same_port(a: &PortSpec, b: &PortSpec) -> bool {
    match (a, b) {
        (PortSpec::Tcp(x), PortSpec::Tcp(y)) => {
            match (
                x.parse::<std::net::SocketAddr>(),
                y.parse::<std::net::SocketAddr>(),
            ) {
                (Ok(x), Ok(y)) => {
                    x.port() == y.port()
                        && (x.ip() == y.ip() || x.ip().is_unspecified() || y.ip().is_unspecified())
                }
                _ => x == y,
            }
        }
        (PortSpec::Stdout { .. }, PortSpec::Stdout { .. }) => true,
        _ => a == b,
    }
}

/// The key of a meter spec that a deserialization error is about: the unknown field it names,
/// or the one key that does not deserialize on its own (with the profile).
fn offending_key(m: &serde_yaml::Mapping, error: &serde_yaml::Error) -> Option<String> {
    let text = error.to_string();
    if let Some(rest) = text.split("unknown field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    let profile = serde_yaml::Value::from("profile");
    m.iter().find_map(|(k, v)| {
        let mut one = serde_yaml::Mapping::new();
        if let Some(p) = m.get(&profile) {
            one.insert(profile.clone(), p.clone());
        }
        one.insert(k.clone(), v.clone());
        serde_yaml::from_value::<MeterSpec>(serde_yaml::Value::Mapping(one))
            .is_err()
            .then(|| k.as_str().map(str::to_string))
            .flatten()
    })
}

fn parse_entry(mut m: serde_yaml::Mapping) -> Result<SimJob, EntryError> {
    fn take<T: serde::de::DeserializeOwned>(
        m: &mut serde_yaml::Mapping,
        key: &str,
    ) -> Result<Option<T>, EntryError> {
        m.remove(key)
            .map(|v| serde_yaml::from_value(v).map_err(|e| EntryError::at(key, e)))
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
    if reader_baud.is_some_and(|b| b == 0 || b > MAX_BAUD) {
        return Err(EntryError::at(
            "reader_baud",
            format!("a baud rate is 1 to {MAX_BAUD}"),
        ));
    }
    if count == Some(0) {
        return Err(EntryError::at("count", "at least 1"));
    }
    let rest = serde_yaml::Value::Mapping(m.clone());
    let mut spec: MeterSpec = serde_yaml::from_value(rest).map_err(|e| EntryError {
        key: offending_key(&m, &e),
        message: e.to_string(),
    })?;
    let seed = Seed(seed.unwrap_or(1));
    let uart = check_spec(&spec, seed).map_err(|e| EntryError::at(&e.option, e.reason))?;
    let reader = ReaderSettings {
        baud: reader_baud,
        format: reader_format,
    };
    if let Err(e) = reader.resolve(&uart) {
        let key = if reader.format.is_some() {
            "reader_format"
        } else {
            "reader_baud"
        };
        return Err(EntryError::at(key, e));
    }
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
    let port = ports.next().ok_or_else(|| EntryError {
        key: None,
        message: "no port: give one of `pty`, `tcp`, `serial`, `stdout: true`".into(),
    })?;
    if let Some(second) = ports.next() {
        return Err(EntryError::at(
            port_key(&second),
            "more than one port; give one of `pty`, `tcp`, `serial`, `stdout`",
        ));
    }
    Ok(SimJob {
        spec,
        port,
        options: SimOptions {
            reader,
            faults: faults.unwrap_or_default(),
            seed,
            count,
            drop_when_busy: true,
            ..SimOptions::default()
        },
        seed,
        truth,
        follow_baud: follow_baud.unwrap_or(false),
        json_log: None,
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

/// A job made ready to run: its meter, its open port, and where its readings and events go.
struct Started {
    meter: Box<dyn Meter>,
    port: Box<dyn Port>,
    observer: Box<dyn FnMut(Sent<'_>) + Send>,
    events: Box<dyn FnMut(Event) + Send>,
    json_log: Option<Arc<Mutex<std::io::BufWriter<File>>>>,
}

/// Builds the job's meter, opens its port and its logs; `ready` gets a line saying where the
/// meter is.
fn start_job(job: &SimJob, ready: &dyn Fn(&str)) -> Result<Started> {
    let meter: Box<dyn Meter> = match wmbus::dongle_of_profile(&job.spec.profile) {
        // A dongle logs what became of every telegram on the air.
        Some(kind) => {
            let profile = job.spec.profile.clone();
            Box::new(crate::radio_log::RadioLogged::new(
                wmbus::profile::build(kind, &job.spec, job.seed.derive("meter"))
                    .map_err(|e| anyhow!("{e}"))?,
                Box::new(move |e| {
                    tracing::info!(
                        target: "meterlab::sim",
                        "{profile}: {}",
                        crate::radio_log::event_line(e)
                    );
                }),
            ))
        }
        None => job
            .spec
            .build(job.seed.derive("meter"))
            .map_err(|e| anyhow!("{e}"))?,
    };
    let mut truth = match &job.truth {
        Some(path) => {
            Some(File::create(path).with_context(|| format!("cannot write {}", path.display()))?)
        }
        None => None,
    };
    let uart = meter.uart();
    let port = open_port(&job.port, &uart, &job.options.reader, job.follow_baud)?;
    ready(&format!(
        "{} ({}, {}) on {}",
        job.spec.profile,
        meter.protocol().name(),
        uart,
        port.describe()
    ));
    let json_log = match &job.json_log {
        Some(path) => Some(Arc::new(Mutex::new(std::io::BufWriter::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )))),
        None => None,
    };
    let mut write_failed = false;
    let observer = Box::new(move |sent: Sent<'_>| {
        if let Some(file) = &mut truth {
            let line = truth_line(sent.seq, sent.sent_at, sent.reading);
            if let Err(e) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                if !write_failed {
                    tracing::error!("cannot write the truth log: {e}");
                    write_failed = true;
                }
            }
        }
    });
    let mut log_failed = false;
    let profile = job.spec.profile.clone();
    let log = json_log.clone();
    let events = Box::new(move |event: Event| {
        if let Some(line) = event_line(&event) {
            tracing::info!(target: "meterlab::sim", "{profile}: {line}");
        }
        if let Some(file) = &log {
            let written = match file.lock() {
                Ok(mut f) => writeln!(f, "{}", event_json(&event)),
                Err(_) => Err(std::io::Error::other("the log's lock is poisoned")),
            };
            if let Err(e) = written {
                if !log_failed {
                    tracing::error!("cannot write the JSON log: {e}");
                    log_failed = true;
                }
            }
        }
    });
    Ok(Started {
        meter,
        port,
        observer,
        events,
        json_log,
    })
}

/// The end of a job: its summary line in the JSON log.
fn end_job(
    job: &SimJob,
    json_log: Option<&Arc<Mutex<std::io::BufWriter<File>>>>,
    summary: Summary,
) -> Result<Summary> {
    if let Some(file) = json_log {
        let line = serde_json::json!({
            "event": "summary",
            "profile": job.spec.profile,
            "messages": summary.messages,
            "dropped": summary.dropped,
            "readings": summary.readings,
            "bytes_sent": summary.sent_bytes,
            "bytes_written": summary.bytes,
            "reader_bytes": summary.reader_bytes,
            "readers": summary.readers,
            "reader_settings": summary.reader_settings,
            "rx_parity_errors": summary.rx_parity_errors,
            "rx_framing_errors": summary.rx_framing_errors,
            "rx_breaks": summary.rx_breaks,
            "faults": summary.fault_log,
            "seconds": summary.elapsed_ns as f64 / 1e9,
            "virtual_time": job.options.virtual_time,
        });
        let mut f = file
            .lock()
            .map_err(|_| anyhow!("the JSON log's lock is poisoned"))?;
        writeln!(f, "{line}")
            .and_then(|()| f.flush())
            .context("cannot write the JSON log")?;
    }
    Ok(summary)
}

/// Runs one job on this thread until `stop` is set or its count is reached; `ready` gets a line
/// saying where the meter is, once its port is open.
pub fn run_job(job: &SimJob, stop: &AtomicBool, ready: &dyn Fn(&str)) -> Result<Summary> {
    let mut s = start_job(job, ready)?;
    let summary = transport::run_logged(
        &mut *s.meter,
        &mut *s.port,
        &job.options,
        stop,
        &mut *s.observer,
        &mut *s.events,
    )?;
    end_job(job, s.json_log.as_ref(), summary)
}

/// `meterlab profiles` and `sim --list`: one row per profile under a header, every column as
/// wide as its longest entry; `keys` says what a reader needs (`key`, `key+auth`: the profile's
/// test keys are in README.md, "Profiles"; `decode --profile-keys PROFILE` uses them).
pub fn profiles_table() -> String {
    let rows: Vec<[String; 6]> = catalogue()
        .into_iter()
        .map(|p| {
            [
                p.name.to_string(),
                p.protocol.name().to_string(),
                p.line.clone(),
                p.cadence.clone(),
                p.needs().to_string(),
                p.description.to_string(),
            ]
        })
        .collect();
    let header = ["profile", "protocol", "line", "cadence", "keys", "what"].map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The test keys of a built-in profile (`decode --profile-keys`): an error for an unknown
/// profile or one that sends in the clear.
pub fn profile_keys(name: &str) -> Result<meterlab_decoder::Keys> {
    let info = catalogue()
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| anyhow!("unknown profile {name:?} (meterlab profiles)"))?;
    let key = |hex: Option<&str>| -> Result<Option<Key>> {
        hex.map(|h| h.parse::<Key>().map_err(|e| anyhow!("{name}: {e}")))
            .transpose()
    };
    if info.test_key.is_none() {
        bail!("{name} sends its messages unencrypted: it has no test keys");
    }
    Ok(meterlab_decoder::Keys {
        encryption: key(info.test_key)?,
        authentication: key(info.test_auth_key)?,
    })
}

/// At most this many values in a message's log line.
const HEADLINE_VALUES: usize = 3;

/// The headline of a reading: its meter, time and first measurements (`meter
/// E0044007131650618 2025-01-15T10:00:00+01:00 1-0:1.8.1*255=123.456 kWh, …`).
fn headline(reading: &Reading) -> String {
    let mut parts = Vec::new();
    if let Some(id) = &reading.meter_id {
        parts.push(format!("meter {id}"));
    }
    if let Some(time) = &reading.time {
        parts.push(time.clone());
    }
    // The measurements first (values with a unit: energy, power), else whatever comes first.
    let with_unit = reading.values.iter().filter(|v| v.unit.is_some()).count();
    let values: Vec<String> = reading
        .values
        .iter()
        .filter(|v| with_unit == 0 || v.unit.is_some())
        .take(HEADLINE_VALUES)
        .map(|v| {
            let value = match &v.value {
                meterlab_decoder::Scalar::Number(d) => d.to_string(),
                meterlab_decoder::Scalar::Text(t) => format!("{t:?}"),
            };
            match &v.unit {
                Some(unit) => format!("{}={value} {unit}", v.id),
                None => format!("{}={value}", v.id),
            }
        })
        .collect();
    if !values.is_empty() {
        let more = reading.values.len().saturating_sub(HEADLINE_VALUES);
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        parts.push(format!("{}{tail}", values.join(", ")));
    }
    parts.join(" ")
}

/// Request bytes as a log shows them: text where they are printable ASCII (`/?!<CR><LF>`),
/// else hex.
fn request_text(bytes: &[u8]) -> String {
    if is_password(bytes) {
        return "<SOH>P… (a password command, not shown)".into();
    }
    let printable = bytes
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\r' || b == b'\n' || b < 0x20);
    let controls = bytes
        .iter()
        .filter(|&&b| b < 0x20 && b != b'\r' && b != b'\n')
        .count();
    if printable && controls * 4 <= bytes.len() && bytes.iter().any(u8::is_ascii_graphic) {
        bytes
            .iter()
            .map(|&b| match b {
                b'\r' => "<CR>".to_string(),
                b'\n' => "<LF>".to_string(),
                0x01 => "<SOH>".to_string(),
                0x02 => "<STX>".to_string(),
                0x03 => "<ETX>".to_string(),
                0x06 => "<ACK>".to_string(),
                0x15 => "<NAK>".to_string(),
                b if b < 0x20 => format!("<{b:02X}>"),
                b => char::from(b).to_string(),
            })
            .collect()
    } else {
        hex_line(bytes)
    }
}

/// An IEC 62056-21 password command (`SOH P1 STX (…) ETX BCC`): its bytes are never logged.
fn is_password(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == [0x01, b'P'])
}

/// The `-v` line of an event (`None`: not one for that level).
pub fn event_line(event: &Event) -> Option<String> {
    match event {
        Event::Message {
            seq,
            at,
            reply,
            bytes,
            request,
            readings,
        } => {
            let at = at.to_rfc3339_opts(SecondsFormat::Millis, true);
            let what = if *reply {
                format!("reply, {bytes} bytes, to {}", request_text(request))
            } else {
                format!("push, {bytes} bytes")
            };
            let values: Vec<String> = readings.iter().map(headline).collect();
            Some(if values.is_empty() {
                format!("#{seq} {at} {what}")
            } else {
                format!("#{seq} {at} {what}: {}", values.join("; "))
            })
        }
        Event::Dropped { at, bytes } => Some(format!(
            "{} push of {bytes} bytes dropped: the line is busy",
            at.to_rfc3339_opts(SecondsFormat::Millis, true)
        )),
        Event::ReaderSettings { at, config } => Some(format!(
            "{} the reader's port is at {config}",
            at.to_rfc3339_opts(SecondsFormat::Millis, true)
        )),
    }
}

/// One JSON object for an event (`--json-log`).
pub fn event_json(event: &Event) -> serde_json::Value {
    match event {
        Event::Message {
            seq,
            at,
            reply,
            bytes,
            request,
            readings,
        } => {
            let readings: Vec<serde_json::Value> = readings
                .iter()
                .filter_map(|r| {
                    serde_json::from_str(&Message::Reading(r.clone()).to_json_line()).ok()
                })
                .collect();
            let mut o = serde_json::json!({
                "event": "message",
                "seq": seq,
                "at": at.to_rfc3339_opts(SecondsFormat::Millis, true),
                "kind": if *reply { "reply" } else { "push" },
                "bytes": bytes,
                "readings": readings,
            });
            if *reply {
                o["request"] = if is_password(request) {
                    serde_json::Value::from("(a password command, not shown)")
                } else {
                    serde_json::Value::from(hex_line(request))
                };
            }
            o
        }
        Event::Dropped { at, bytes } => serde_json::json!({
            "event": "dropped",
            "at": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "bytes": bytes,
        }),
        Event::ReaderSettings { at, config } => serde_json::json!({
            "event": "reader_settings",
            "at": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "settings": config,
        }),
    }
}

/// A run's summary in words, one line: what was sent, what the reader did, what faults did.
pub fn summary_text(profile: &str, summary: &Summary, virtual_time: bool) -> String {
    let mut text = format!(
        "{profile}: {} message{} ({} reading{}), {} bytes written of {} sent",
        summary.messages,
        if summary.messages == 1 { "" } else { "s" },
        summary.readings,
        if summary.readings == 1 { "" } else { "s" },
        summary.bytes,
        summary.sent_bytes
    );
    if summary.dropped > 0 {
        text.push_str(&format!(
            ", {} push{} dropped (line busy)",
            summary.dropped,
            if summary.dropped == 1 { "" } else { "es" }
        ));
    }
    text.push_str(&format!(
        " in {:.1} s{}",
        summary.elapsed_ns as f64 / 1e9,
        if virtual_time { " of virtual time" } else { "" }
    ));
    if let Some(n) = summary.readers {
        text.push_str(&format!(
            "; {n} reader{} connected",
            if n == 1 { "" } else { "s" }
        ));
    }
    text.push_str(&format!("; reader wrote {} bytes", summary.reader_bytes));
    if !summary.reader_settings.is_empty() {
        text.push_str(&format!(
            ", its port at {}",
            summary.reader_settings.join(" -> ")
        ));
    }
    let errors = summary.rx_parity_errors + summary.rx_framing_errors + summary.rx_breaks;
    if errors > 0 {
        text.push_str(&format!(
            "; the reader's UART saw {} parity error(s), {} framing error(s), {} break(s)",
            summary.rx_parity_errors, summary.rx_framing_errors, summary.rx_breaks
        ));
    }
    if summary.fault_log.is_empty() {
        text.push_str("; faults: none");
    } else {
        text.push_str(&format!("; faults: {}", summary.fault_log));
    }
    text
}

/// Whether a job runs on the shared scheduler ([`meterlab_sim::transport::fleet`]): a pty or a
/// TCP port in real time. Standard output, virtual time and real UARTs run on their own thread.
fn on_scheduler(job: &SimJob) -> bool {
    cfg!(unix)
        && !job.options.virtual_time
        && matches!(job.port, PortSpec::Pty(_) | PortSpec::Tcp(_))
}

/// Runs every job until `stop` is set (SIGINT/SIGTERM) or each has reached its count: the meters
/// on ptys and TCP ports on one scheduler (a thread per core, not per meter), the others on a
/// thread each; the first error stops the others. With `realtime`, every thread that keeps a
/// meter's timing asks for real-time priority
/// ([`meterlab_sim::transport::clock::realtime_priority`]) and warns where it cannot have it.
pub fn run_jobs(jobs: Vec<SimJob>, stop: Arc<AtomicBool>, realtime: bool) -> Result<()> {
    let (shared, own): (Vec<SimJob>, Vec<SimJob>) = jobs.into_iter().partition(on_scheduler);
    let mut handles: Vec<std::thread::JoinHandle<Vec<Result<String>>>> = own
        .into_iter()
        .map(|job| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                if realtime {
                    ask_realtime_priority();
                }
                let result = run_job(&job, &stop, &|where_| {
                    eprintln!("meterlab sim: {where_}");
                });
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                vec![result.map(|s| summary_text(&job.spec.profile, &s, job.options.virtual_time))]
            })
        })
        .collect();
    if !shared.is_empty() {
        let stop = Arc::clone(&stop);
        handles.push(std::thread::spawn(move || {
            run_shared(shared, &stop, realtime)
        }));
    }
    let mut first_error = None;
    for h in handles {
        match h.join() {
            Ok(results) => {
                for r in results {
                    match r {
                        Ok(summary) => tracing::info!(target: "meterlab::sim", "{summary}"),
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
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

/// Real-time priority for this thread, or a warning that says why not.
fn ask_realtime_priority() {
    #[cfg(unix)]
    if let Err(e) = meterlab_sim::transport::clock::realtime_priority() {
        tracing::warn!(
            "--realtime: this meter runs at normal priority ({e}); real-time priority needs \
             root, CAP_SYS_NICE or a real-time limit (ulimit -r) of at least {}",
            meterlab_sim::transport::clock::REALTIME_PRIORITY
        );
    }
    #[cfg(not(unix))]
    tracing::warn!("--realtime: real-time priority is implemented for Linux only");
}

/// The jobs on the shared scheduler: summaries in words, or errors.
#[cfg(unix)]
fn run_shared(jobs: Vec<SimJob>, stop: &AtomicBool, realtime: bool) -> Vec<Result<String>> {
    use meterlab_sim::transport::fleet::{self, Member};
    let mut results = Vec::new();
    let mut members = Vec::new();
    let mut running = Vec::new();
    for job in jobs {
        match start_job(&job, &|where_| eprintln!("meterlab sim: {where_}")) {
            Ok(s) => {
                members.push(Member {
                    meter: s.meter,
                    port: s.port,
                    options: job.options.clone(),
                    observer: s.observer,
                    events: s.events,
                });
                running.push((job, s.json_log));
            }
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                results.push(Err(e));
            }
        }
    }
    if !results.is_empty() {
        return results;
    }
    let summaries = fleet::run(members, fleet::Scheduling::new(realtime), stop);
    for ((job, json_log), summary) in running.iter().zip(summaries) {
        let result = summary
            .map_err(anyhow::Error::from)
            .and_then(|s| end_job(job, json_log.as_ref(), s))
            .map(|s| summary_text(&job.spec.profile, &s, job.options.virtual_time));
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        results.push(result);
    }
    results
}

/// Without a scheduler (not Unix; [`on_scheduler`] sends no job here there): in turn.
#[cfg(not(unix))]
fn run_shared(jobs: Vec<SimJob>, stop: &AtomicBool, realtime: bool) -> Vec<Result<String>> {
    if realtime {
        ask_realtime_priority();
    }
    jobs.iter()
        .map(|job| {
            run_job(job, stop, &|where_| eprintln!("meterlab sim: {where_}"))
                .map(|s| summary_text(&job.spec.profile, &s, job.options.virtual_time))
        })
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn config_lists_meters_with_ports() {
        let jobs = parse_config(
            Path::new("m.yaml"),
            "meters:\n  - profile: dsmr-5.0\n    interval: 200ms\n    pty: /tmp/m1\n    truth: t.jsonl\n    faults:\n      - noise: { ber: 1.0e-4 }\n  - profile: mbus-heat\n    tcp: 127.0.0.1:5001\n    reader_baud: 9600\n    seed: 7\n",
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
    }

    /// The error `parse_config` gives for `text`, as the command line shows it.
    fn config_err(text: &str) -> String {
        match parse_config(Path::new("m.yaml"), text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn config_errors_name_file_line_and_column() {
        let two =
            |second: &str| format!("meters:\n  - profile: dsmr-5.0\n    pty: /tmp/a\n{second}");
        let e = config_err(&two("  - profile: nope\n    pty: /tmp/b\n"));
        assert!(
            e.starts_with("m.yaml:4:14: meter 2: `profile`: unknown meter profile"),
            "{e}"
        );
        let e = config_err(&two(
            "  - profile: dsmr-smarty\n    key: 0011\n    pty: /tmp/b\n",
        ));
        assert!(
            e.starts_with("m.yaml:5:10: meter 2: `key`: a key is 32 hex digits"),
            "{e}"
        );
        assert!(!e.contains("0011"), "the key is not printed: {e}");
        let e = config_err(&two(
            "  - profile: dsmr-5.0\n    key: ''\n    pty: /tmp/b\n",
        ));
        assert!(e.starts_with("m.yaml:5:10: meter 2: `key`: empty"), "{e}");
        let e = config_err(&two(
            "  - profile: dsmr-5.0\n    interval: 1ns\n    pty: /tmp/b\n",
        ));
        assert!(e.starts_with("m.yaml:5:15: meter 2: `interval`:"), "{e}");
        let e = config_err(&two(
            "  - profile: dsmr-5.0\n    pty: /tmp/b\n    colour: red\n",
        ));
        assert!(
            e.starts_with("m.yaml:6:13: meter 2: `colour`: unknown field `colour`"),
            "{e}"
        );
        let e = config_err(&two(
            "  - profile: dsmr-5.0\n    pty: /tmp/b\n    gas_channel: [1]\n",
        ));
        assert!(e.starts_with("m.yaml:6:18: meter 2: "), "{e}");
        let e = config_err(&two(
            "  - profile: dsmr-5.0\n    pty: /tmp/b\n    count: 0\n",
        ));
        assert!(e.starts_with("m.yaml:6:12: meter 2: `count`"), "{e}");
        let e = config_err(&two(
            "  - profile: dsmr-5.0\n    pty: /tmp/b\n    tcp: b:1\n",
        ));
        assert!(
            e.starts_with("m.yaml:6:10: meter 2: `tcp`: more than one port"),
            "{e}"
        );
        let e = config_err(&two(
            "  - profile: dsmr-5.0\n    pty: /tmp/b\n    reader_format: 9Q9\n",
        ));
        assert!(
            e.starts_with("m.yaml:6:20: meter 2: `reader_format`:"),
            "{e}"
        );
        let e = config_err(&two("  - profile: dsmr-5.0\n"));
        assert!(e.starts_with("m.yaml:4:5: meter 2: no port"), "{e}");
        let e = config_err("meters:\n  - profile: dsmr-5.0\n    pty: /tmp/a\n   bad: [\n");
        assert!(e.starts_with("m.yaml:4:"), "{e}");
        let e = config_err("meters: []\n");
        assert!(e.starts_with("m.yaml:1:9: no meters listed"), "{e}");
        let e = config_err("meters:\n  - profile: dsmr-5.0\n    pty: /tmp/a\n    faults:\n      - noise: { ber: 7 }\n");
        assert!(
            e.starts_with("m.yaml:5:7: meter 1: `faults`: invalid fault"),
            "{e}"
        );
    }

    #[test]
    fn two_meters_on_one_port_are_refused_with_both_places() {
        let e = config_err(
            "meters:\n  - profile: dsmr-5.0\n    pty: /tmp/p1\n  - profile: dsmr-4.2\n    pty: /tmp//p1\n",
        );
        assert!(
            e.starts_with("m.yaml:5:10: meter 2: `pty` is the port of meter 1 too (m.yaml:3:10)"),
            "{e}"
        );
        let e = config_err(
            "meters:\n  - profile: dsmr-5.0\n    tcp: 0.0.0.0:5001\n  - profile: dsmr-4.2\n    tcp: 127.0.0.1:5001\n",
        );
        assert!(
            e.starts_with("m.yaml:5:10: meter 2: `tcp` is the port of meter 1 too"),
            "{e}"
        );
        let e = config_err(
            "meters:\n  - profile: mbus-heat\n    serial: /dev/ttyUSB0\n  - profile: dsmr-5.0\n    pty: /tmp/x\n  - profile: dsmr-4.2\n    serial: /dev/ttyUSB0\n",
        );
        assert!(
            e.starts_with(
                "m.yaml:7:13: meter 3: `serial` is the port of meter 1 too (m.yaml:3:13)"
            ),
            "{e}"
        );
        let e = config_err(
            "meters:\n  - profile: dsmr-5.0\n    stdout: true\n  - profile: dsmr-4.2\n    stdout: true\n",
        );
        assert!(e.starts_with("m.yaml:5:13: meter 2: `stdout`"), "{e}");
        // Different ports are fine.
        parse_config(
            Path::new("m.yaml"),
            "meters:\n  - profile: dsmr-5.0\n    tcp: 127.0.0.1:5001\n  - profile: dsmr-4.2\n    tcp: 127.0.0.1:5002\n  - profile: dsmr-4.2\n    pty: /tmp/p2\n",
        )
        .expect("three ports");
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
