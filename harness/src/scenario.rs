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
use meterlab_sim::line::{ErrorPolicy, Fault, UartConfig, Where};
use meterlab_sim::MeterSpec;
use serde::{Deserialize, Deserializer, Serialize};

use crate::reader::iec::IecReaderSpec;
use crate::reader::mbus::MbusMasterSpec;
use crate::reader::wmbus::DongleHostSpec;
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
    /// How the host sets up a wireless M-Bus dongle (`wmbus-*` profiles; defaults apply when
    /// absent).
    #[serde(default)]
    pub wmbus: Option<DongleHostSpec>,
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
            wmbus: None,
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
    /// Any number, none included (`any`).
    Any,
}

impl Count {
    /// Whether `n` satisfies this count, `all` meaning `total`.
    pub fn holds(self, n: u64, total: u64) -> bool {
        match self {
            Count::Exactly(e) => n == e,
            Count::AtLeast(e) => n >= e,
            Count::All => n == total,
            Count::Any => true,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exactly(n) => write!(f, "{n}"),
            Count::AtLeast(n) => write!(f, ">= {n}"),
            Count::All => write!(f, "all"),
            Count::Any => write!(f, "any"),
        }
    }
}

impl FromStr for Count {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "all" => return Ok(Count::All),
            "any" => return Ok(Count::Any),
            _ => {}
        }
        let (at_least, n) = match s.strip_prefix(">=") {
            Some(rest) => (true, rest.trim()),
            None => (false, s),
        };
        let n: u64 = n
            .parse()
            .map_err(|_| format!("expected a count: N, \">= N\", all or any; got {s:?}"))?;
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
    /// Error messages per kind; a kind not listed must not occur, unless `others: any` is
    /// given. (Reference decoder only.)
    #[serde(default)]
    pub errors: ErrorCounts,
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
            errors: ErrorCounts::default(),
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
    /// Faults on the line, applied in order. Each must take effect in the run (change at
    /// least one bit, byte, message or gap) unless its list item says `optional: true`.
    #[serde(default, deserialize_with = "de_faults")]
    pub faults: Vec<Fault>,
    /// The indices in `faults` of those marked `optional: true`.
    #[serde(skip)]
    pub optional_faults: Vec<usize>,
    /// What the reader does.
    #[serde(default)]
    pub reader: ReaderSpec,
    /// How long it runs (required).
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
            optional_faults: Vec::new(),
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

    /// Parses scenario text; `path` names it in errors and gives the default name. Everything
    /// that can be checked without running is checked here: the format, error kinds, the
    /// profile and its options, and the limits on sizes; each error names `file:line:column`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ScenarioError> {
        let at = |(line, column): (usize, usize), message: String| ScenarioError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        if let Some(place) = indenting_tab(text) {
            return Err(at(place, TAB_MESSAGE.into()));
        }
        let mut spec: ScenarioSpec = serde_yaml::from_str(text).map_err(|e| {
            let mut place = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let mut message = without_location(&e.to_string()).to_string();
            // A key is checked when the map is read; point at the key itself.
            if let Some(kind) = message
                .split_once("unknown error kind \"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(kind, _)| kind)
            {
                place = locate_all(text, &["expect", "errors", kind]).unwrap_or(place);
            }
            if tab_near(text, place) {
                message = format!("{TAB_MESSAGE} ({message})");
            } else if message.contains("missing field `run`") {
                message.push_str(
                    "; say how long the scenario runs: `run: { telegrams: N }` or `run: { duration: 30s }`",
                );
            }
            at(place, message)
        })?;
        spec.optional_faults = optional_faults(text);
        // An error about the value at `keys` (a path of mapping keys), pointed at in the file.
        let located = |keys: &[&str], message: String| at(locate(text, keys), message);
        let name = spec.name.clone().unwrap_or_else(|| {
            path.file_stem().map_or_else(
                || "scenario".to_string(),
                |s| s.to_string_lossy().into_owned(),
            )
        });
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(located(
                &["name"],
                format!(
                "name {name:?} must be letters, digits, '-', '_' or '.' (it names the golden file)"
            ),
            ));
        }
        if spec.run.telegrams.is_some() == spec.run.duration.is_some() {
            return Err(located(
                &["run"],
                "run: give exactly one of `telegrams` and `duration`".into(),
            ));
        }
        if spec.reader.read_size == 0 {
            return Err(located(
                &["reader", "read_size"],
                "reader.read_size must be at least 1".into(),
            ));
        }
        if spec.run.telegrams == Some(0) || spec.run.duration == Some(0) {
            return Err(located(
                &["run"],
                "run: the scenario must send something".into(),
            ));
        }
        check_limits(&spec, text, &at)?;
        // Building the meter checks the profile and every option against it; the meter is
        // built again, with the run's seed, when the scenario runs.
        // A replayed capture is checked as its profile: the replay meter takes the profile's line
        // settings and cadence (the capture itself is read when the scenario runs).
        let mut checked = spec.meter.clone();
        if checked.capture.is_some() {
            checked.capture = None;
            checked.repeat = None;
        }
        let meter = checked
            .build(meterlab_sim::Seed(0))
            .map_err(|e| located(&["meter", MeterSpec::error_key(&e)], e.to_string()))?;
        check_reader(
            &spec,
            meter.protocol(),
            meter.next_push_ns().is_some(),
            &located,
        )?;
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

/// The most pushes a scenario may ask for (`run.telegrams`, or `run.duration` over the meter's
/// push interval): an hour of a DSMR 5 meter's one push a second fits, and takes about 300 MB.
/// The longest scenario of `scenarios/` sends 600 (ten minutes of DSMR 5).
pub const MAX_TELEGRAMS: u64 = 4_000;

/// The longest virtual time a scenario may run (`run.duration`) or wait (`reader.start`,
/// reader time-outs): one hour. The longest scenario of `scenarios/` runs 20 minutes.
pub const MAX_DURATION_NS: u64 = 3_600 * 1_000_000_000;

/// The largest `reader.read_size`, bytes.
pub const MAX_READ_SIZE: usize = 1 << 20;

/// The most random bytes one `junk` or `garbage` fault inserts at one place, and the most
/// wake-up zeros of an M-Bus master step.
pub const MAX_JUNK_BYTES: usize = 65_536;

/// A `garbage` fault at a rate (`rate: P` or `every: N`) may add at most this many bytes per
/// byte sent, on average (`len × P`, `len / N`): the stream at most doubles.
pub const MAX_GARBAGE_PER_BYTE: f64 = 1.0;

/// The most steps of an M-Bus master script and the most slaves on an `mbus-bus`.
pub const MAX_STEPS: usize = 1_000;

/// The error kinds an `expect.errors` map may name: every kind meterlab's decoders and readers
/// report (`docs/reading-format.md`). `others` is not a kind: `others: any` lets every kind not
/// listed occur any number of times.
pub const ERROR_KINDS: &[&str] = &[
    "application_error",
    "bcc_mismatch",
    "checksum",
    "crc_mismatch",
    "crc_missing",
    "damaged_frame",
    "fcs_mismatch",
    "frame_length",
    "frame_start",
    "gcm_tag_mismatch",
    "hcs_mismatch",
    "incomplete",
    "invocation_counter",
    "length",
    "mac_mismatch",
    "malformed",
    "missing_auth_key",
    "missing_key",
    "no_answer",
    "no_data",
    "premature_end",
    "protocol",
    "skipped_bytes",
    "stop_byte",
    "too_long",
    "too_many_dife",
    "too_many_vife",
    "truncated",
    "unsupported_ci",
    "unsupported",
    "wrong_key",
];

/// `expect.errors`: how many error messages of each kind, and whether kinds not listed may
/// occur (`others: any`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    kinds: BTreeMap<String, Count>,
    others_any: bool,
}

impl ErrorCounts {
    /// Expects `count` messages of `kind`; returns the count it replaces.
    pub fn insert(&mut self, kind: String, count: Count) -> Option<Count> {
        self.kinds.insert(kind, count)
    }

    /// Lets every kind not listed occur any number of times (`others: any`).
    pub fn allow_others(&mut self) {
        self.others_any = true;
    }

    /// The count expected for `kind`, if listed.
    pub fn get(&self, kind: &str) -> Option<Count> {
        self.kinds.get(kind).copied()
    }

    /// Whether messages of `kind` may occur: it is listed, or `others: any` is given. (A kind
    /// listed with a count is still checked against that count.)
    pub fn allows(&self, kind: &str) -> bool {
        self.others_any || self.kinds.contains_key(kind)
    }

    /// The kinds listed, with their counts, by kind.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Count)> {
        self.kinds.iter()
    }

    /// Whether nothing is listed and `others` is not given.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty() && !self.others_any
    }
}

impl<'a> IntoIterator for &'a ErrorCounts {
    type Item = (&'a String, &'a Count);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Count>;
    fn into_iter(self) -> Self::IntoIter {
        self.kinds.iter()
    }
}

impl Serialize for ErrorCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (kind, count) in &self.kinds {
            map.serialize_entry(kind, &count.to_string())?;
        }
        if self.others_any {
            map.serialize_entry("others", "any")?;
        }
        map.end()
    }
}

/// A key of `expect.errors`: a known kind or `others`; checked where it is read, so an error
/// points at the key.
struct ErrorKey(String);

impl<'de> Deserialize<'de> for ErrorKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "others" || ERROR_KINDS.contains(&s.as_str()) {
            Ok(ErrorKey(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown error kind {s:?}; the kinds are {}, and `others: any` allows every kind not listed",
                ERROR_KINDS.join(", ")
            )))
        }
    }
}

/// The value of `others:`: only `any`.
struct OthersAny;

impl<'de> Deserialize<'de> for OthersAny {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Count::deserialize(d)? {
            Count::Any => Ok(OthersAny),
            other => Err(serde::de::Error::custom(format!(
                "`others: {other}`: only `others: any` is supported (list a kind to expect a count of it)"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for ErrorCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ErrorCounts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from error kind to count, like { crc_mismatch: 1, others: any }")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ErrorCounts, A::Error> {
                let mut out = ErrorCounts::default();
                while let Some(ErrorKey(kind)) = map.next_key()? {
                    let repeated = if kind == "others" {
                        let OthersAny = map.next_value()?;
                        std::mem::replace(&mut out.others_any, true)
                    } else {
                        let count: Count = map.next_value()?;
                        out.kinds.insert(kind.clone(), count).is_some()
                    };
                    if repeated {
                        return Err(serde::de::Error::custom(format!("`{kind}` is given twice")));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// One item of `faults:`: a fault, and whether it may have no effect (`optional: true`).
struct FaultItem {
    fault: Fault,
    optional: bool,
}

impl<'de> Deserialize<'de> for FaultItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = FaultItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a fault: a map with one key naming it, like {noise: {ber: 1.0e-4}}, and optionally `optional: true`",
                )
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FaultItem, A::Error> {
                use serde::de::Error;
                let mut fault: Option<Fault> = None;
                let mut optional = false;
                let mut id: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "optional" {
                        optional = map.next_value()?;
                    } else if key == "id" && id.is_none() {
                        id = Some(map.next_value()?);
                    } else if let Some(first) = &fault {
                        return Err(A::Error::custom(format!(
                            "a fault is a map with one key (and `optional`, `id`); write each fault as its own list item (`{key}` after {})",
                            first.name()
                        )));
                    } else {
                        fault = Some(map.next_value_seed(FaultBody(key))?);
                    }
                }
                let mut fault = fault.ok_or_else(|| A::Error::invalid_length(0, &self))?;
                if let Some(id) = id {
                    fault = Fault::named(id, fault);
                    fault.validate().map_err(A::Error::custom)?;
                }
                Ok(FaultItem { fault, optional })
            }
            fn visit_enum<A: serde::de::EnumAccess<'de>>(
                self,
                data: A,
            ) -> Result<FaultItem, A::Error> {
                let fault =
                    Fault::deserialize(serde::de::value::EnumAccessDeserializer::new(data))?;
                Ok(FaultItem {
                    fault,
                    optional: false,
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The value of a fault's key, read as the fault of that name (through the enum form
/// [`Fault`]'s deserializer accepts, so its checks and their locations apply).
struct FaultBody(String);

impl<'de> serde::de::DeserializeSeed<'de> for FaultBody {
    type Value = Fault;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fault, D::Error> {
        Fault::deserialize(NamedFault {
            name: self.0,
            body: d,
        })
    }
}

/// A deserializer that presents `body` as the enum variant `name`.
struct NamedFault<D> {
    name: String,
    body: D,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for NamedFault<D> {
    type Error = D::Error;
    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_enum(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, D: Deserializer<'de>> serde::de::EnumAccess<'de> for NamedFault<D> {
    type Error = D::Error;
    type Variant = FaultVariant<D>;
    fn variant_seed<V: serde::de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, FaultVariant<D>), D::Error> {
        let name = seed.deserialize(serde::de::value::StringDeserializer::<D::Error>::new(
            self.name,
        ))?;
        Ok((name, FaultVariant(self.body)))
    }
}

/// The body of a [`NamedFault`].
struct FaultVariant<D>(D);

impl<'de, D: Deserializer<'de>> serde::de::VariantAccess<'de> for FaultVariant<D> {
    type Error = D::Error;
    fn unit_variant(self) -> Result<(), D::Error> {
        serde::de::IgnoredAny::deserialize(self.0).map(drop)
    }
    fn newtype_variant_seed<T: serde::de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, D::Error> {
        seed.deserialize(self.0)
    }
    fn tuple_variant<V: serde::de::Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(visitor)
    }
    fn struct_variant<V: serde::de::Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }
}

fn de_faults<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fault>, D::Error> {
    let items: Vec<FaultItem> = Vec::deserialize(d)?;
    Ok(items.into_iter().map(|i| i.fault).collect())
}

/// The indices of the faults marked `optional: true` (the text has been parsed strictly
/// before, so a failure here means there are none).
fn optional_faults(text: &str) -> Vec<usize> {
    #[derive(Deserialize)]
    struct Faults {
        #[serde(default)]
        faults: Vec<FaultItem>,
    }
    serde_yaml::from_str::<Faults>(text)
        .map(|f| {
            f.faults
                .iter()
                .enumerate()
                .filter(|(_, item)| item.optional)
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default()
}

/// A serde_yaml message without its ` at line L column C` (the location leads the error).
fn without_location(message: &str) -> &str {
    match message.rsplit_once(" at line ") {
        Some((head, tail))
            if tail
                .split(" column ")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            head
        }
        _ => message,
    }
}

const TAB_MESSAGE: &str =
    "a tab character: YAML indents with spaces only; replace the tab with spaces";

/// The line and column (1-based) of the first tab in a line's indentation.
fn indenting_tab(text: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        line[..indent].find('\t').map(|c| (i + 1, c + 1))
    })
}

/// Whether the line of a YAML error has a tab outside a comment (a tab where a token starts).
fn tab_near(text: &str, (line, _): (usize, usize)) -> bool {
    text.lines()
        .nth(line.saturating_sub(1))
        .is_some_and(|l| l.split('#').next().unwrap_or("").contains('\t'))
}

/// Where the value at `keys` (a path of mapping keys, block or flow style) is written: the
/// 1-based line and column of its last key found, `(1, 1)` when even the first is missing.
/// The first key must start a line (a top-level key); each further key is searched after the
/// previous one.
fn locate(text: &str, keys: &[&str]) -> (usize, usize) {
    let (found, _) = find_path(text, keys);
    found.map_or((1, 1), |at| line_column(text, at))
}

/// Where the last of `keys` is written, if every one of them is found.
fn locate_all(text: &str, keys: &[&str]) -> Option<(usize, usize)> {
    match find_path(text, keys) {
        (Some(at), depth) if depth == keys.len() => Some(line_column(text, at)),
        _ => None,
    }
}

/// The byte offset of the deepest of `keys` found, and how many were found.
fn find_path(text: &str, keys: &[&str]) -> (Option<usize>, usize) {
    let mut from = 0;
    let mut found = None;
    let mut depth = 0;
    for key in keys {
        let Some(at) = find_key(text, from, key, depth == 0) else {
            break;
        };
        found = Some(at);
        from = at + key.len();
        depth += 1;
    }
    (found, depth)
}

/// The byte offset of the first `key:` at or after `from` that is a mapping key: at the start
/// of a line (`top`), or else after indentation, `{`, `,` or `- `, and not in a comment.
fn find_key(text: &str, from: usize, key: &str, top: bool) -> Option<usize> {
    // An empty key (a path segment serde could not name) is found everywhere and nowhere.
    if key.is_empty() {
        return None;
    }
    let mut start = from;
    while let Some(pos) = text.get(start..)?.find(key) {
        let at = start + pos;
        start = at + key.len();
        let after = text[start..].trim_start_matches(' ');
        let quoted_ok = after.starts_with(':');
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..at];
        let key_start = if top {
            before.is_empty()
        } else {
            let b = before.trim_end_matches(' ');
            b.chars().all(|c| c == ' ')
                || b.ends_with('{')
                || b.ends_with(',')
                || b.trim_start().trim_start_matches('-').trim().is_empty()
        };
        if quoted_ok && key_start && !before.contains('#') {
            return Some(at);
        }
    }
    None
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |i| at - i - 1) + 1;
    (line, column)
}

/// Where the `index`-th item of the top-level list `key` starts (block style), or `key` itself.
fn locate_item(text: &str, key: &str, index: usize) -> (usize, usize) {
    let Some(at) = find_key(text, 0, key, true) else {
        return (1, 1);
    };
    let mut offset = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let mut item_indent = None;
    let mut seen = 0;
    for line in text[offset..].split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let blank = trimmed.trim().is_empty() || trimmed.starts_with('#');
        if !blank && indent == 0 {
            break;
        }
        if !blank && trimmed.starts_with('-') && item_indent.map_or(true, |i| i == indent) {
            item_indent = Some(indent);
            if seen == index {
                return line_column(text, offset + indent);
            }
            seen += 1;
        }
        offset += line.len();
    }
    line_column(text, at)
}

/// The reader's dialogue fits the meter: a master script only for an M-Bus meter, an IEC
/// 62056-21 dialogue only for a meter that answers requests. (An M-Bus meter without a script is
/// refused when it runs with meterlab's reader: with `--reader` the program runs the dialogue.)
fn check_reader(
    spec: &ScenarioSpec,
    protocol: meterlab_decoder::Protocol,
    pushes: bool,
    located: &dyn Fn(&[&str], String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    use meterlab_decoder::Protocol;
    let profile = &spec.meter.profile;
    if spec.reader.mbus.is_some() && protocol != Protocol::Mbus {
        return Err(located(
            &["reader", "mbus"],
            format!(
                "reader.mbus: only M-Bus meters take a master script, and {profile} is not one"
            ),
        ));
    }
    match (
        meterlab_sim::wmbus::dongle_of_profile(profile),
        &spec.reader.wmbus,
    ) {
        (None, Some(_)) => {
            return Err(located(
                &["reader", "wmbus"],
                format!("reader.wmbus: {profile} is not a wireless M-Bus dongle (wmbus-im871a, wmbus-amb8465, wmbus-cul, wmbus-rtlwmbus)"),
            ))
        }
        (Some(kind), Some(host)) => {
            crate::reader::wmbus::check(kind, host)
                .map_err(|e| located(&["reader", "wmbus"], format!("reader.wmbus: {e}")))?;
        }
        _ => {}
    }
    if spec.reader.iec.is_some() && pushes {
        return Err(located(
            &["reader", "iec"],
            format!("reader.iec: {profile} pushes its data; there is no dialogue to run"),
        ));
    }
    Ok(())
}

/// The limits on sizes (`MAX_*` above), each error pointed at its value.
fn check_limits(
    spec: &ScenarioSpec,
    text: &str,
    at: &dyn Fn((usize, usize), String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    const NS_PER_S: u64 = 1_000_000_000;
    let located = |keys: &[&str], message: String| at(locate(text, keys), message);
    let secs = |ns: u64| format!("{} s", ns / NS_PER_S);
    if let Some(n) = spec.run.telegrams {
        if n > MAX_TELEGRAMS {
            return Err(located(
                &["run", "telegrams"],
                format!("run.telegrams: {n} is more than the limit of {MAX_TELEGRAMS} pushes"),
            ));
        }
    }
    if let Some(ns) = spec.run.duration {
        if ns > MAX_DURATION_NS {
            return Err(located(
                &["run", "duration"],
                format!(
                    "run.duration: {} is longer than the limit of {}",
                    secs(ns),
                    secs(MAX_DURATION_NS)
                ),
            ));
        }
        if let Some(interval) = spec.meter.push_interval_ns() {
            let pushes = ns / interval.max(1);
            if pushes > MAX_TELEGRAMS {
                let keys: &[&str] = if spec.meter.interval.is_some() {
                    &["meter", "interval"]
                } else {
                    &["run", "duration"]
                };
                return Err(located(
                    keys,
                    format!(
                        "run.duration {} with a push every {} ms makes {pushes} pushes, more than the limit of {MAX_TELEGRAMS}",
                        secs(ns),
                        interval / 1_000_000
                    ),
                ));
            }
        }
    }
    if let Some(ns) = spec.reader.start {
        if ns > MAX_DURATION_NS {
            return Err(located(
                &["reader", "start"],
                format!(
                    "reader.start: {} is later than the limit of {}",
                    secs(ns),
                    secs(MAX_DURATION_NS)
                ),
            ));
        }
    }
    if spec.reader.read_size > MAX_READ_SIZE {
        return Err(located(
            &["reader", "read_size"],
            format!(
                "reader.read_size: {} is more than the limit of {MAX_READ_SIZE} bytes",
                spec.reader.read_size
            ),
        ));
    }
    if let Some(iec) = &spec.reader.iec {
        let max_ms = (MAX_DURATION_NS / 1_000_000) as f64;
        for (key, ms) in [
            ("ack_delay", iec.ack_delay_ms),
            ("reopen", iec.reopen_ms),
            ("answer_timeout", iec.answer_timeout_ms),
            ("data_timeout", iec.data_timeout_ms),
        ] {
            if !(0.0..=max_ms).contains(&ms) {
                return Err(located(
                    &["reader", "iec", key],
                    format!(
                        "reader.iec.{key}: {ms} ms is outside the limit of 0 to {}",
                        secs(MAX_DURATION_NS)
                    ),
                ));
            }
        }
    }
    if let Some(mbus) = &spec.reader.mbus {
        if mbus.steps.len() > MAX_STEPS {
            return Err(located(
                &["reader", "mbus", "steps"],
                format!(
                    "reader.mbus.steps: {} steps, more than the limit of {MAX_STEPS}",
                    mbus.steps.len()
                ),
            ));
        }
        for (key, ns) in [("timeout", mbus.timeout), ("pause", mbus.pause)] {
            if ns.is_some_and(|ns| ns > MAX_DURATION_NS) {
                return Err(located(
                    &["reader", "mbus", key],
                    format!(
                        "reader.mbus.{key} is longer than the limit of {}",
                        secs(MAX_DURATION_NS)
                    ),
                ));
            }
        }
        for step in &mbus.steps {
            if let crate::reader::mbus::Step::Wakeup { zeros } = step {
                if *zeros > MAX_JUNK_BYTES {
                    return Err(located(
                        &["reader", "mbus", "steps", "wakeup"],
                        format!(
                            "reader.mbus wakeup: {zeros} zeros, more than the limit of {MAX_JUNK_BYTES}"
                        ),
                    ));
                }
            }
        }
    }
    if let Some(slaves) = spec.meter.options.get::<Vec<serde_yaml::Value>>("slaves") {
        if slaves.len() > MAX_STEPS {
            return Err(located(
                &["meter", "slaves"],
                format!(
                    "meter.slaves: {} slaves, more than the limit of {MAX_STEPS}",
                    slaves.len()
                ),
            ));
        }
    }
    for (i, fault) in spec.faults.iter().enumerate() {
        if let Some(id) = fault.id() {
            if spec.faults[..i].iter().any(|f| f.id() == Some(id)) {
                return Err(at(
                    locate_item(text, "faults", i),
                    format!("fault `{fault}`: id {id:?} is given to an earlier fault too; ids name each fault's random choices and must differ"),
                ));
            }
        }
        let too_much = match fault.kind() {
            Fault::Junk { len } if *len > MAX_JUNK_BYTES => Some(format!(
                "{len} bytes of junk, more than the limit of {MAX_JUNK_BYTES}"
            )),
            Fault::Garbage { len, .. } if *len > MAX_JUNK_BYTES => Some(format!(
                "{len} bytes of garbage at one place, more than the limit of {MAX_JUNK_BYTES}"
            )),
            Fault::Garbage { at, len } => {
                let per_byte = match at {
                    Where::Rate { rate } => *len as f64 * rate,
                    Where::Every { every } => *len as f64 / (*every).max(1) as f64,
                    Where::At { .. } => 0.0,
                };
                (per_byte > MAX_GARBAGE_PER_BYTE).then(|| {
                    format!(
                        "adds {per_byte} bytes of garbage per byte sent, more than the limit of {MAX_GARBAGE_PER_BYTE}"
                    )
                })
            }
            _ => None,
        };
        if let Some(why) = too_much {
            return Err(at(
                locate_item(text, "faults", i),
                format!("fault `{fault}`: {why}"),
            ));
        }
    }
    Ok(())
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
            "meter: { profile: dsmr-5.0 }\nrun: { telegrams: 5 }\n",
        )
        .expect("parses");
        assert_eq!(s.name, "x");
        assert_eq!(s.spec.run.telegrams, Some(5));
        assert_eq!(s.spec.expect.readings, Count::All);
        assert_eq!(s.spec.reader.read_size, 4096);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let text = "meter: { profile: dsmr-5.0 }\nreader:\n  start: 1s\n  colour: blue\nrun: { telegrams: 1 }\n";
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
            "meter: { profile: dsmr-5.0 }\nreader: { start: soon }\nrun: { telegrams: 1 }\n",
        )
        .expect_err("bad duration");
        assert!(err.to_string().starts_with("bad.yaml:2:"), "{err}");
    }

    /// Every kind a decoder's `ErrorKind::name` returns, and every kind the reference readers
    /// report, may be named in `expect.errors` (and nothing else).
    #[test]
    fn error_kinds_are_the_decoders_and_readers_kinds() {
        let sources = [
            include_str!("../../decoder/src/dsmr/mod.rs"),
            include_str!("../../decoder/src/dlms/mod.rs"),
            include_str!("../../decoder/src/iec/mod.rs"),
            include_str!("../../decoder/src/mbus/record.rs"),
            include_str!("../../decoder/src/wmbus/mod.rs"),
        ];
        let mut kinds: std::collections::BTreeSet<&str> = sources
            .iter()
            .flat_map(|src| src.split("ErrorKind::").skip(1))
            .filter_map(|arm| {
                let (_, rest) = arm.split_once("=> \"")?;
                let (name, _) = rest.split_once('"')?;
                (!arm[..arm.find("=>")?].contains(['(', '\n'])).then_some(name)
            })
            .collect();
        kinds.extend(["no_answer", "no_data", "protocol"]);
        let listed: std::collections::BTreeSet<&str> = ERROR_KINDS.iter().copied().collect();
        assert_eq!(kinds, listed);
    }

    /// Found by the `scenario` fuzz target: a key YAML reads as an anchor (`&kipped_bytes`)
    /// made serde's error path end in an empty key, which `find_key` used to search for
    /// forever.
    #[test]
    fn an_error_at_an_empty_key_is_located_without_looping() {
        assert_eq!(find_key("a: 1\nb: 2\n", 0, "", false), None);
        let text = "meter: { profile: mbus-heat, primary_address: 5 }\nreader:\n  mbus:\n    steps:\n      - req_ud2: { address: 5 }\nrun: { duration: 60s }\nexpect:\n  errors: { checksum: \">= 0\", &kipped_bytes: \">= 0\", stop_b}te: \">= 0\" }\n";
        let err = Scenario::parse(Path::new("fuzz.yaml"), text).err();
        assert!(err.is_some_and(|e| e.to_string().contains("fuzz.yaml")));
    }

    #[test]
    fn locate_finds_block_and_flow_keys() {
        let text = "meter:\n  profile: x\n  key: 00\nrun: { telegrams: 3, duration: 1s }\nfaults:\n  # c\n  - drop: { message: 1, offset: 2 }\n  - noise: { ber: 1 }\n";
        assert_eq!(locate(text, &["meter", "key"]), (3, 3));
        assert_eq!(locate(text, &["run", "duration"]), (4, 22));
        assert_eq!(locate(text, &["seed"]), (1, 1));
        assert_eq!(locate_item(text, "faults", 1), (8, 3));
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
