//! `meterlab import`: a user's capture becomes a scenario and its golden file, the bug report
//! as a regression test in one command.
//!
//! The capture is read ([`crate::replay::read_recording`]), the meter and line are worked out
//! ([`diagnose`]), the bytes are optionally redacted ([`crate::redact`]: ids replaced by stable
//! fakes, checksums recomputed, an encrypted capture re-encrypted with the profile's test key),
//! and written beside the scenario, whose meter replays them
//! (`meter: { profile: …, capture: … }`). The scenario is then run once: its outcome gives the
//! `expect` section and the golden file, and a second run checks that the two agree.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meterlab_decoder::{auto, Keys, Protocol};
use meterlab_sim::line::UartConfig;
use meterlab_sim::replay::{frames, ReplayMeter};
use meterlab_sim::{MeterSpec, Seed};

use crate::golden;
use crate::runner::{self, Outcome, RunOptions};
use crate::scenario::Scenario;

/// Why a capture could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The capture holds nothing.
    #[error("the capture is empty")]
    Empty,
    /// No message of a known protocol was found.
    #[error(
        "no DSMR, DLMS, IEC 62056-21 or M-Bus message found in {len} bytes (first bytes: {head}); \
         give --profile if you know the meter"
    )]
    NoProtocol {
        /// Bytes seen.
        len: usize,
        /// The first bytes, hex.
        head: String,
    },
    /// An option is wrong.
    #[error("{0}")]
    Option(String),
    /// The scenario written could not be run.
    #[error("the imported scenario does not run: {0}")]
    Run(String),
}

/// What the user told `import`.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The scenario's name (default: the capture file's stem).
    pub name: Option<String>,
    /// Where the scenario goes (default `scenarios/bug-reports/NAME.yaml`).
    pub output: Option<PathBuf>,
    /// Where the golden file goes.
    pub golden_dir: PathBuf,
    /// Replace ids by fakes and re-encrypt with a test key.
    pub redact: bool,
    /// The user's keys (only used to decrypt for redaction; never written).
    pub keys: Keys,
    /// The meter's baud rate, if known.
    pub baud: Option<u32>,
    /// The meter's character format, if known (`8N1`, `7E1`, `8E1`).
    pub format: Option<String>,
    /// The reader's settings as reported (`2400 8N1`).
    pub reader: Option<UartConfig>,
    /// The meter profile, if known (else chosen from the bytes).
    pub profile: Option<String>,
    /// Where the capture comes from (an issue URL), written as the scenario's `source`.
    pub source: Option<String>,
}

/// What [`diagnose`] concluded about the meter and the line.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    /// The protocol.
    pub protocol: Protocol,
    /// The built-in profile closest to the meter (its line settings, cadence and test keys).
    pub profile: String,
    /// The meter's line settings, when they differ from the profile's.
    pub meter_line: Option<UartConfig>,
    /// The reader's settings, when they differ from the meter's.
    pub reader_line: Option<UartConfig>,
    /// Why the capture does not decode, if known.
    pub cause: Option<String>,
}

/// The protocol, profile and line settings of a capture, from `meterlab diagnose`
/// ([`crate::diagnose`]): the profile its best hypothesis names (else the protocol from
/// [`auto::detect`] and the closest profile), and its cause for the scenario's description.
///
/// The capture is what the reader received. Replayed at the settings it was read with, it
/// reaches the scenario's reader byte for byte whatever went wrong on the user's line: so the
/// meter's line is the reader's settings (`--reader`) unless `--baud`/`--format` say what the
/// meter sends — then a different `--reader` becomes `line.receiver` and the line model
/// reproduces the misconfiguration from those bytes.
pub fn diagnose(bytes: &[u8], options: &ImportOptions) -> Result<Diagnosis, ImportError> {
    let found = crate::diagnose::diagnose(
        bytes,
        &crate::diagnose::DiagnoseOptions {
            keys: options.keys.clone(),
            reader: options.reader,
            protocol: None,
        },
    );
    let best = found.best();
    let profile = match &options.profile {
        Some(p) => {
            let spec = MeterSpec::new(p.clone());
            spec.build(Seed(0))
                .map_err(|e| ImportError::Option(format!("--profile: {e}")))?;
            p.clone()
        }
        None => match best.and_then(|h| h.profile.clone()) {
            Some(p) => p,
            None => {
                let protocol =
                    auto::detect(bytes, &options.keys).ok_or_else(|| ImportError::NoProtocol {
                        len: bytes.len(),
                        head: hex::encode(&bytes[..bytes.len().min(16)]),
                    })?;
                likely_profile(protocol, bytes).to_string()
            }
        },
    };
    let model = MeterSpec::new(profile.clone())
        .build(Seed(0))
        .map_err(|e| ImportError::Option(e.to_string()))?;
    let nominal = model.uart();
    let explicit = match (options.baud, &options.format) {
        (None, None) => None,
        (baud, format) => {
            let format = format.clone().unwrap_or_else(|| nominal.format());
            Some(
                UartConfig::new(baud.unwrap_or(nominal.baud), &format)
                    .map_err(|e| ImportError::Option(format!("--baud/--format: {e}")))?,
            )
        }
    };
    let (meter_line, reader_line) = match explicit {
        Some(sender) => (Some(sender), options.reader.filter(|r| *r != sender)),
        None => (options.reader.filter(|r| *r != nominal), None),
    };
    let cause = best
        .filter(|h| h.cause != crate::diagnose::Cause::None)
        .map(|h| match &h.recommended {
            Some(settings) => format!(
                "diagnosed: {} (the reader should use {settings})",
                h.cause.describe()
            ),
            None => format!("diagnosed: {}", h.cause.describe()),
        })
        .or_else(|| {
            reader_line.map(|r| {
                format!(
                    "the reader reads at {r}, the meter sends at {}",
                    meter_line.unwrap_or(nominal)
                )
            })
        });
    Ok(Diagnosis {
        protocol: model.protocol(),
        profile,
        meter_line,
        reader_line,
        cause,
    })
}

/// The built-in profile whose framing, line and cadence fit a capture of `protocol`.
pub fn likely_profile(protocol: Protocol, bytes: &[u8]) -> &'static str {
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    match protocol {
        Protocol::Dsmr if !has(b"/") => "dsmr-smarty",
        Protocol::Dsmr if has(b"0-0:96.1.4(") => "dsmr-emucs",
        Protocol::Dsmr if has(b"0.2.8(5") => "dsmr-5.0",
        Protocol::Dsmr if has(b"0.2.8(") => "dsmr-4.2",
        Protocol::Dsmr => {
            // DSMR 2.2 has no version line and no CRC after `!`.
            let crc = bytes
                .iter()
                .position(|&b| b == b'!')
                .and_then(|i| bytes.get(i + 1))
                .is_some_and(u8::is_ascii_hexdigit);
            if crc {
                "dsmr-4.2"
            } else {
                "dsmr-2.2"
            }
        }
        Protocol::Dlms => {
            let hdlc = frames(Protocol::Dlms, bytes)
                .first()
                .is_some_and(|f| bytes[f.range.clone()].contains(&0x7E));
            match (hdlc, has(&[0xDB, 0x08])) {
                (true, true) if has(b"LGZ") => "lg-e450-gbt",
                (true, true) => "kamstrup-han",
                (true, false) if has(b"KFM_") => "kaifa-han",
                // A push setup (class 40) capture object: a self-describing push.
                (true, false) if has(&[0x02, 0x04, 0x12, 0x00, 0x28, 0x09, 0x06]) => {
                    "lg-e450-cyprus"
                }
                (true, false) => "aidon-han",
                (false, _) => "kaifa-ma309-evn",
            }
        }
        Protocol::Iec62056_21 if has(b"/?") => "iec-mode-c",
        Protocol::Iec62056_21 => "iec-mode-d",
        Protocol::Mbus => "mbus-electricity",
    }
}

/// What `import` wrote.
#[derive(Debug)]
pub struct Imported {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The capture beside it.
    pub capture: PathBuf,
    /// The golden file.
    pub golden: PathBuf,
    /// The diagnosis it used.
    pub diagnosis: Diagnosis,
    /// The outcome of the run that made the golden file.
    pub outcome: Outcome,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A scenario name from a file name: letters, digits, `-`, `_`, `.`.
fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        "imported".into()
    } else {
        s
    }
}

/// Imports the capture at `input` (see the module documentation).
pub fn import(input: &Path, options: &ImportOptions) -> Result<Imported, ImportError> {
    let recording = crate::replay::read_recording(input).map_err(io(input))?;
    if recording.bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    let max = meterlab_sim::replay::MAX_CAPTURE_BYTES;
    if recording.bytes.len() > max {
        return Err(ImportError::Option(format!(
            "the capture holds {} bytes, more than the {max} a meter replays; keep the part that \
             shows the problem",
            recording.bytes.len()
        )));
    }
    let name = sanitize(options.name.as_deref().unwrap_or_else(|| {
        input
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("imported")
    }));
    if options.keys.encryption.is_some() && !options.redact {
        return Err(ImportError::Option(
            "--key is used to decrypt for --redact only: without --redact the capture is kept \
             as it is and no key is written into the scenario; add --redact"
                .into(),
        ));
    }
    let diagnosis = diagnose(&recording.bytes, options)?;
    let scenario_path = options.output.clone().unwrap_or_else(|| {
        Path::new("scenarios")
            .join("bug-reports")
            .join(format!("{name}.yaml"))
    });
    let dir = scenario_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    std::fs::create_dir_all(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    })
    .map_err(io(&dir))?;

    let mut spec = MeterSpec::new(diagnosis.profile.clone());
    let test_keys = MeterSpec::new(diagnosis.profile.clone())
        .build(Seed(0))
        .map(|m| m.keys())
        .unwrap_or_default();
    let (capture_name, capture_text, redaction) = if options.redact {
        let redacted = crate::redact::redact(
            diagnosis.protocol,
            &recording.bytes,
            &options.keys,
            &test_keys,
        );
        let text = hex_lines(&redacted.bytes);
        (format!("{name}.hex"), text.into_bytes(), Some(redacted))
    } else {
        let ext = input
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| format!(".{}", sanitize(e)))
            .unwrap_or_default();
        let original = std::fs::read(input).map_err(io(input))?;
        (format!("{name}.capture{ext}"), original, None)
    };
    let capture_path = dir.join(&capture_name);
    std::fs::write(&capture_path, &capture_text).map_err(io(&capture_path))?;
    spec.capture = Some(capture_name.clone());

    // How many pushes one replay of the capture makes.
    let replayed = ReplayMeter::new(
        &spec,
        crate::replay::read_recording(&capture_path).map_err(io(&capture_path))?,
        Seed(0),
    )
    .map_err(|e| ImportError::Run(e.to_string()))?;
    let pushes = replayed.pushes_per_cycle().max(1);

    let header = ScenarioText {
        name: &name,
        input,
        options,
        diagnosis: &diagnosis,
        capture: &capture_name,
        pushes,
        redaction: redaction.as_ref(),
    };
    // First run: what the reader makes of the capture gives the expectations.
    let first = run_text(&scenario_path, &header.render(None))?;
    let text = header.render(Some(&first));
    std::fs::write(&scenario_path, &text).map_err(io(&scenario_path))?;
    let golden_path = golden::path(&options.golden_dir, &first.name);
    golden::write(&golden_path, &golden::render(&first)).map_err(io(&golden_path))?;
    // Second run, from the files: expectations and golden file hold.
    let scenario = Scenario::load(&scenario_path).map_err(|e| ImportError::Run(e.to_string()))?;
    let check = runner::run_scenario(
        &scenario,
        &RunOptions {
            golden_dir: Some(options.golden_dir.clone()),
            ..RunOptions::default()
        },
    )
    .map_err(|e| ImportError::Run(e.to_string()))?;
    if !check.passed() {
        return Err(ImportError::Run(
            check
                .failures
                .iter()
                .map(|f| f.what.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    Ok(Imported {
        scenario: scenario_path,
        capture: capture_path,
        golden: golden_path,
        diagnosis,
        outcome: check,
    })
}

fn run_text(path: &Path, text: &str) -> Result<Outcome, ImportError> {
    let scenario = Scenario::parse(path, text).map_err(|e| ImportError::Run(e.to_string()))?;
    runner::run_scenario(&scenario, &RunOptions::default())
        .map_err(|e| ImportError::Run(e.to_string()))
}

/// Bytes as hex text, 32 a line.
pub fn hex_lines(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.chunks(32) {
        s.push_str(&hex::encode_upper(chunk));
        s.push('\n');
    }
    s
}

struct ScenarioText<'a> {
    name: &'a str,
    input: &'a Path,
    options: &'a ImportOptions,
    diagnosis: &'a Diagnosis,
    capture: &'a str,
    pushes: usize,
    redaction: Option<&'a crate::redact::Redacted>,
}

impl ScenarioText<'_> {
    fn render(&self, outcome: Option<&Outcome>) -> String {
        let d = self.diagnosis;
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let mut t = String::new();
        let _ = writeln!(
            t,
            "# Imported with `meterlab import` from {}{}.",
            self.input
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
            if self.redaction.is_some() {
                " (redacted)"
            } else {
                ""
            }
        );
        let _ = writeln!(t, "tags: [bug-report]");
        let _ = writeln!(t, "name: {}", self.name);
        let mut description = format!(
            "Replay of a user's {} capture ({} profile's line and cadence)",
            d.protocol.name(),
            d.profile
        );
        if let Some(cause) = &d.cause {
            let _ = write!(description, "; {cause}");
        }
        if let Some(r) = self.redaction {
            let _ = write!(description, "; {}", r.summary());
        }
        let _ = writeln!(t, "description: {}", quote(&description));
        if let Some(source) = &self.options.source {
            let _ = writeln!(t, "source: {}", quote(source));
        }
        let _ = writeln!(
            t,
            "meter: {{ profile: {}, capture: {} }}",
            d.profile,
            quote(self.capture)
        );
        let mut line = Vec::new();
        if let Some(m) = d.meter_line {
            line.push(format!("sender: {}", quote(&m.to_string())));
        }
        if let Some(r) = d.reader_line {
            line.push(format!("receiver: {}", quote(&r.to_string())));
        }
        if !line.is_empty() {
            let _ = writeln!(t, "line: {{ {} }}", line.join(", "));
        }
        let _ = writeln!(t, "run: {{ telegrams: {} }}", self.pushes);
        let _ = writeln!(t, "seed: 0");
        if let Some(o) = outcome {
            let _ = writeln!(t, "expect:");
            let _ = writeln!(t, "  readings: {}", o.tally.unjudged);
            if !o.tally.errors.is_empty() {
                let _ = writeln!(t, "  errors:");
                for (kind, n) in &o.tally.errors {
                    let _ = writeln!(t, "    {kind}: {n}");
                }
            }
        }
        t
    }
}
