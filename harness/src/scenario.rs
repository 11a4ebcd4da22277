//! Scenario files: a meter, the line, faults, what the reader does and what must come out.
//!
//! ```yaml
//! description: DSMR 5.0 meter, P1 cable without inverter
//! meter: { profile: dsmr-5.0 }
//! line: { receiver: 115200 8N1 inverted }
//! faults:
//!   - noise: { ber: 1.0e-4 }
//! reader: { start: 40ms, read_size: 64 }
//! run: { telegrams: 5 }
//! seed: 42
//! expect:
//!   readings: 0
//!   errors: { skipped_bytes: 1 }
//! ```
//!
//! See `docs/scenarios.md` for every field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use meterlab_sim::clock::parse_duration;
use meterlab_sim::line::{ErrorPolicy, Fault, UartConfig};
use meterlab_sim::MeterSpec;
use serde::{Deserialize, Deserializer, Serialize};

use crate::reader::iec::IecReaderSpec;
use crate::reader::mbus::MbusMasterSpec;
use crate::transport::Transport;

/// A scenario file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the scenario format.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The scenario is well-formed but asks for something impossible.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Two scenarios have the same name (their golden files would collide).
    #[error("{first} and {second}: both scenarios are named {name:?}")]
    DuplicateName {
        /// The name.
        name: String,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A path given on the command line does not exist.
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
}

/// The serial line between meter and reader.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    /// The meter's transmitter (default: the profile's settings).
    #[serde(default)]
    pub sender: Option<UartConfig>,
    /// The reader's receiver (default: the same as the sender).
    #[serde(default)]
    pub receiver: Option<UartConfig>,
}

/// A key the reader uses: the meter's own, none, or a given one (e.g. a wrong one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub enum KeyChoice {
    /// Whatever key the meter uses.
    #[default]
    Meter,
    /// No key at all.
    None,
    /// This key (32 hex digits).
    Hex(String),
}

impl<'de> Deserialize<'de> for KeyChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "meter" => KeyChoice::Meter,
            "none" => KeyChoice::None,
            _ => {
                s.parse::<meterlab_decoder::Key>()
                    .map_err(serde::de::Error::custom)?;
                KeyChoice::Hex(s)
            }
        })
    }
}

/// What the reader does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderSpec {
    /// When the reader opens the port (virtual time); what came before is lost.
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub start: Option<u64>,
    /// Bytes per `read()` call the decoder gets.
    #[serde(default = "default_read_size")]
    pub read_size: usize,
    /// What the host's serial driver does with parity/framing errors and breaks.
    #[serde(default)]
    pub errors: ErrorPolicy,
    /// The encryption key the reader is configured with.
    #[serde(default)]
    pub key: KeyChoice,
    /// The authentication key the reader is configured with.
    #[serde(default)]
    pub auth_key: KeyChoice,
    /// The IEC 62056-21 dialogue the reader runs (request/response meters); defaults apply when
    /// absent.
    #[serde(default)]
    pub iec: Option<IecReaderSpec>,
    /// The M-Bus master's script (M-Bus meters need one).
    #[serde(default)]
    pub mbus: Option<MbusMasterSpec>,
    /// A reader program to test instead of meterlab's reader, as with `meterlab run --reader`
    /// (run with `sh -c`, `{port}` replaced by the port's path); `--decoder` or `--reader` on
    /// the command line replace it.
    #[serde(default)]
    pub command: Option<String>,
    /// A reader program on a pty has the baud rate it sets on the pty (as on a real port),
    /// not `line.receiver`'s; `meterlab run --follow-baud` sets this for every scenario.
    #[serde(default)]
    pub follow_baud: bool,
}

fn default_read_size() -> usize {
    4096
}

impl Default for ReaderSpec {
    fn default() -> Self {
        ReaderSpec {
            start: None,
            read_size: default_read_size(),
            errors: ErrorPolicy::default(),
            key: KeyChoice::Meter,
            auth_key: KeyChoice::Meter,
            iec: None,
            mbus: None,
            command: None,
            follow_baud: false,
        }
    }
}

/// How long the scenario runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Number of pushes (telegrams) the meter sends.
    #[serde(default)]
    pub telegrams: Option<u64>,
    /// Or: run for this long in virtual time (`30s`, `2min`).
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub duration: Option<u64>,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            telegrams: Some(5),
            duration: None,
        }
    }
}

/// A count in an expectation: exactly `n`, or at least `n` (`">= 3"`), or `all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Count {
    /// Exactly this many.
    Exactly(u64),
    /// At least this many.
    AtLeast(u64),
    /// All of them (readings: every telegram sent).
    All,
}

impl Count {
    /// Whether `n` satisfies this count, `all` meaning `total`.
    pub fn holds(self, n: u64, total: u64) -> bool {
        match self {
            Count::Exactly(e) => n == e,
            Count::AtLeast(e) => n >= e,
            Count::All => n == total,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exactly(n) => write!(f, "{n}"),
            Count::AtLeast(n) => write!(f, ">= {n}"),
            Count::All => write!(f, "all"),
        }
    }
}

impl FromStr for Count {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "all" {
            return Ok(Count::All);
        }
        let (at_least, n) = match s.strip_prefix(">=") {
            Some(rest) => (true, rest.trim()),
            None => (false, s),
        };
        let n: u64 = n
            .parse()
            .map_err(|_| format!("expected a count: N, \">= N\" or all; got {s:?}"))?;
        Ok(if at_least {
            Count::AtLeast(n)
        } else {
            Count::Exactly(n)
        })
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Count::Exactly(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// What must come out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// How many decoded readings must equal the simulator's truth (`all` = every telegram sent).
    #[serde(default = "default_readings")]
    pub readings: Count,
    /// Error messages per kind; a kind not listed must not occur. (Reference decoder only.)
    #[serde(default)]
    pub errors: BTreeMap<String, Count>,
    /// Readings that match no telegram the meter sent (silently wrong data). Default 0.
    #[serde(default = "default_wrong")]
    pub wrong: Count,
    /// When a reading equals a telegram sent: `exact` (the default) or `printed`.
    #[serde(default)]
    pub compare: Compare,
    /// Values some decoded reading must show, id → value as the golden file prints it
    /// (`"1-0:1.8.0*255": "4752026 Wh"`, or the number alone); for replayed captures, which
    /// have no truth.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// When a decoded reading counts as equal to a telegram the meter sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The same data: protocol, meter id, time and every value ([`Reading::same_data`]).
    ///
    /// [`Reading::same_data`]: meterlab_decoder::Reading::same_data
    #[default]
    Exact,
    /// What the reader prints is right: the same protocol, the meter id and time if it prints
    /// them, and every value it prints equal to the sent value of the same id (and details);
    /// values it leaves out are not counted. A time without an offset equals the same wall-clock
    /// time with one. For third-party readers that print a subset of what a meter sends.
    Printed,
}

fn default_readings() -> Count {
    Count::All
}

fn default_wrong() -> Count {
    Count::Exactly(0)
}

impl Default for ExpectSpec {
    fn default() -> Self {
        ExpectSpec {
            readings: Count::All,
            errors: BTreeMap::new(),
            wrong: default_wrong(),
            compare: Compare::Exact,
            values: BTreeMap::new(),
        }
    }
}

/// One scenario, as written in its file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Name (default: the file name without `.yaml`); names the golden file.
    #[serde(default)]
    pub name: Option<String>,
    /// What the scenario shows, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the situation comes from (a user's report, a forum thread, a corpus file).
    #[serde(default)]
    pub source: Option<String>,
    /// The virtual meter.
    pub meter: MeterSpec,
    /// The line.
    #[serde(default)]
    pub line: LineSpec,
    /// Faults on the line, applied in order.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// What the reader does.
    #[serde(default)]
    pub reader: ReaderSpec,
    /// How long it runs.
    #[serde(default)]
    pub run: RunSpec,
    /// Where the line runs: `memory` (virtual time, the default), `pty`, `tcp` or `serial`
    /// (real time; `meterlab run --transport` overrides it).
    #[serde(default)]
    pub transport: Transport,
    /// The seed of every random choice.
    #[serde(default)]
    pub seed: u64,
    /// What must come out.
    #[serde(default)]
    pub expect: ExpectSpec,
    /// Tags for `meterlab run --tag/--exclude`, beside those derived from the scenario
    /// (`crate::selection::tags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl ScenarioSpec {
    /// A scenario for `meter` with defaults for everything else (clean line, default reader,
    /// every telegram expected), as tests build them in code.
    pub fn for_meter(meter: MeterSpec, run: RunSpec, seed: u64) -> Self {
        ScenarioSpec {
            name: None,
            description: None,
            source: None,
            meter,
            line: LineSpec::default(),
            faults: Vec::new(),
            reader: ReaderSpec::default(),
            run,
            transport: Transport::Memory,
            seed,
            expect: ExpectSpec::default(),
            tags: Vec::new(),
        }
    }
}

/// A loaded scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Its content.
    pub spec: ScenarioSpec,
}

fn de_duration_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

impl Scenario {
    /// A scenario built in code (no file), named `name`.
    pub fn in_memory(name: &str, spec: ScenarioSpec) -> Self {
        Scenario {
            name: name.to_string(),
            path: PathBuf::from(format!("{name}.yaml")),
            spec,
        }
    }

    /// Parses scenario text; `path` names it in errors and gives the default name.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ScenarioError> {
        let spec: ScenarioSpec = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            ScenarioError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        let name = spec.name.clone().unwrap_or_else(|| {
            path.file_stem().map_or_else(
                || "scenario".to_string(),
                |s| s.to_string_lossy().into_owned(),
            )
        });
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(format!(
                "name {name:?} must be letters, digits, '-', '_' or '.' (it names the golden file)"
            )));
        }
        for f in &spec.faults {
            f.validate()
                .map_err(|e| invalid(format!("fault `{f}`: {e}")))?;
        }
        if spec.run.telegrams.is_some() == spec.run.duration.is_some() {
            return Err(invalid(
                "run: give exactly one of `telegrams` and `duration`".into(),
            ));
        }
        if spec.reader.read_size == 0 {
            return Err(invalid("reader.read_size must be at least 1".into()));
        }
        if spec.run.telegrams == Some(0) || spec.run.duration == Some(0) {
            return Err(invalid("run: the scenario must send something".into()));
        }
        Ok(Scenario {
            name,
            path: path.to_path_buf(),
            spec,
        })
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::parse(path, &text)
    }
}

/// Every scenario file under `paths` (files as given; directories searched recursively for
/// `*.yaml` / `*.yml`), sorted by path.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            out.push(p.clone());
        } else if p.is_dir() {
            walk(p, &mut out).map_err(|source| ScenarioError::Read {
                path: p.clone(),
                source,
            })?;
        } else {
            return Err(ScenarioError::Missing(p.clone()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads every scenario under `paths` whose name contains `filter`; all errors are returned,
/// not only the first.
pub fn load_all(
    paths: &[PathBuf],
    filter: Option<&str>,
) -> Result<Vec<Scenario>, Vec<ScenarioError>> {
    let files = discover(paths).map_err(|e| vec![e])?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match Scenario::load(&f) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.push(e),
        }
    }
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for s in &scenarios {
        if let Some(first) = seen.insert(s.name.clone(), s.path.clone()) {
            errors.push(ScenarioError::DuplicateName {
                name: s.name.clone(),
                first,
                second: s.path.clone(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Some(f) = filter {
        scenarios.retain(|s| s.name.contains(f));
    }
    Ok(scenarios)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn minimal_scenario() {
        let s = Scenario::parse(
            Path::new("scenarios/x.yaml"),
            "meter: { profile: dsmr-5.0 }\n",
        )
        .expect("parses");
        assert_eq!(s.name, "x");
        assert_eq!(s.spec.run.telegrams, Some(5));
        assert_eq!(s.spec.expect.readings, Count::All);
        assert_eq!(s.spec.reader.read_size, 4096);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let text = "meter: { profile: dsmr-5.0 }\nreader:\n  start: 1s\n  colour: blue\n";
        match Scenario::parse(Path::new("bad.yaml"), text) {
            Err(ScenarioError::Syntax {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(line, 4, "{message}");
                assert_eq!(column, 3, "{message}");
                assert!(message.contains("colour"), "{message}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let err = Scenario::parse(
            Path::new("bad.yaml"),
            "meter: { profile: dsmr-5.0 }\nreader: { start: soon }\n",
        )
        .expect_err("bad duration");
        assert!(err.to_string().starts_with("bad.yaml:2:"), "{err}");
    }

    #[test]
    fn counts() {
        assert_eq!(">= 3".parse::<Count>(), Ok(Count::AtLeast(3)));
        assert_eq!("all".parse::<Count>(), Ok(Count::All));
        assert!(Count::AtLeast(3).holds(4, 10));
        assert!(!Count::Exactly(3).holds(4, 10));
        assert!(Count::All.holds(10, 10));
        assert!("many".parse::<Count>().is_err());
    }
}
