//! The `meterlab` command line, defined as data (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use meterlab_sim::line::uart::MAX_BAUD;

use crate::transport::Transport;

/// The longest time limit a command line may set, in seconds (30 days): longer ones are
/// mistakes, and would overflow the clock arithmetic.
pub const MAX_TIMEOUT_S: u64 = 30 * 24 * 3600;

/// The longest `meterlab loopback --seconds` per setting (a day).
pub const MAX_LOOPBACK_SECONDS: f64 = 86_400.0;

/// A baud rate: 1 to [`MAX_BAUD`].
fn baud_parser() -> impl clap::builder::TypedValueParser<Value = u32> {
    clap::value_parser!(u32).range(1..=i64::from(MAX_BAUD))
}

/// meterlab: a virtual smart-meter lab. Virtual meters emit what real meters emit, over a
/// bit-level serial line with faults; scenarios check a decoder's output against the truth.
///
/// Exit codes: 0 success, 1 some scenario failed (run) or some message could not be decoded
/// (decode), 2 bad input (malformed scenario, unknown profile, missing file, bad key).
#[derive(Debug, Parser)]
#[command(name = "meterlab", version, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// When to color the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to use colors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The subcommands. Each one's `--help` ends with examples (`after_help`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios against the reference decoder (or a decoder under test) and report.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Decode a capture (raw bytes, or as pasted: hex, arrays, hexdump, xxd, od, Python bytes,
    /// log lines, DSMR/IEC text, base64) and print one JSON line per message found.
    #[command(after_help = DECODE_EXAMPLES)]
    Decode(DecodeArgs),
    /// List the built-in meter profiles.
    #[command(after_help = PROFILES_EXAMPLES)]
    Profiles,
    /// Run a virtual meter in real time on a pty, a TCP port, a real serial port or standard
    /// output, for a reader you do not change (pyserial, Home Assistant, an ESP board).
    #[command(after_help = SIM_EXAMPLES)]
    Sim(SimArgs),
    /// Check a serial path (a USB adapter with TX and RX bridged, two adapters on a null-modem
    /// cable, or a pty): send known patterns at each setting and report what came back.
    #[command(after_help = LOOPBACK_EXAMPLES)]
    Loopback(LoopbackArgs),
    /// Turn a user's capture into a scenario that replays it, and its golden file: a bug report
    /// as a regression test.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// The built-in scenario suite (the scenarios and golden files in the binary).
    #[command(after_help = SCENARIOS_EXAMPLES)]
    Scenarios(ScenariosArgs),
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print meterlab's man page (roff, from these definitions), or write one page per
    /// subcommand into a directory.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
    /// Tell what is wrong with a capture that does not decode (baud, format, inverted signal,
    /// mid-frame start, lost bytes, echo, keys) and the settings that fix it.
    #[command(after_help = DIAGNOSE_EXAMPLES)]
    Diagnose(DiagnoseArgs),
}

/// The keys of encrypted messages, from the command line or the environment. Keys are never
/// printed, logged or written into a scenario.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct KeyArgs {
    /// Encryption key, 32 hex digits (or set METERLAB_KEY; never printed).
    #[arg(long, value_name = "HEX", env = "METERLAB_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Authentication key, 32 hex digits (or set METERLAB_AUTH_KEY; never printed).
    #[arg(
        long,
        value_name = "HEX",
        env = "METERLAB_AUTH_KEY",
        hide_env_values = true
    )]
    pub auth_key: Option<String>,
}

/// A key on the command line that is not one.
#[derive(Debug, thiserror::Error)]
pub enum KeyArgError {
    /// `--key ''`.
    #[error("{0}: empty key (leave the option out to go without a key)")]
    Empty(&'static str),
    /// Not 32 hex digits.
    #[error("bad {option}: {source}")]
    Bad {
        /// `--key` or `--auth-key`.
        option: &'static str,
        /// Why.
        source: meterlab_decoder::keys::KeyError,
    },
}

impl KeyArgs {
    /// The keys, checked: an empty key is an error, not "no key".
    pub fn keys(&self) -> Result<meterlab_decoder::Keys, KeyArgError> {
        Ok(meterlab_decoder::Keys {
            encryption: parse_key("--key", self.key.as_deref())?,
            authentication: parse_key("--auth-key", self.auth_key.as_deref())?,
        })
    }
}

fn parse_key(
    option: &'static str,
    hex: Option<&str>,
) -> Result<Option<meterlab_decoder::Key>, KeyArgError> {
    match hex {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Err(KeyArgError::Empty(option)),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|source| KeyArgError::Bad { option, source }),
    }
}

/// `meterlab diagnose`.
#[derive(Debug, clap::Args)]
pub struct DiagnoseArgs {
    /// The capture (hex text or raw bytes); `-` for standard input.
    #[arg(value_name = "CAPTURE")]
    pub file: PathBuf,
    /// `--key`, `--auth-key`.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The reader's settings as used for the capture, e.g. "2400 8N1".
    #[arg(long, value_name = "SETTINGS")]
    pub reader: Option<String>,
    /// The protocol, if known.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Auto)]
    pub protocol: ProtocolArg,
    /// Print the diagnosis as JSON.
    #[arg(long)]
    pub json: bool,
    /// How the capture is written (default: detected; `docs/captures.md`).
    #[arg(long, value_enum, default_value_t = crate::capture::InputFormat::Auto)]
    pub input_format: crate::capture::InputFormat,
}

/// `meterlab import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The capture (hex in any layout, or the raw bytes).
    pub capture: PathBuf,
    /// The scenario's name (default: the capture file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Where to write the scenario (default `scenarios/bug-reports/NAME.yaml`); the capture
    /// goes beside it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Directory of golden files.
    #[arg(long, value_name = "DIR", default_value = "golden")]
    pub golden: PathBuf,
    /// Replace meter ids, serial numbers, system titles and customer numbers with stable fakes
    /// (checksums recomputed; an encrypted capture is re-encrypted with a test key).
    #[arg(long)]
    pub redact: bool,
    /// `--key`, `--auth-key`.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The meter's baud rate, if known (default: the profile's).
    #[arg(long)]
    pub baud: Option<u32>,
    /// The meter's character format, if known (`8N1`, `7E1`, `8E1`).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// The reader's settings as the user reported them (`"2400 8N1"`).
    #[arg(long, value_name = "SETTINGS")]
    pub reader: Option<String>,
    /// The meter profile (default: chosen from the bytes).
    #[arg(long)]
    pub profile: Option<String>,
    /// Where the capture comes from (an issue URL), for the scenario's `source`.
    #[arg(long)]
    pub source: Option<String>,
}

/// `meterlab scenarios`.
#[derive(Debug, clap::Args)]
pub struct ScenariosArgs {
    /// What to do with the built-in suite.
    #[command(subcommand)]
    pub command: ScenariosCommand,
}

/// `meterlab scenarios …`.
#[derive(Debug, Subcommand)]
pub enum ScenariosCommand {
    /// Write the built-in suite out for editing: DIR/scenarios/… and DIR/golden/… (then run
    /// `meterlab run` in DIR).
    Export {
        /// Where to write.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Overwrite files that exist with other content.
        #[arg(long)]
        force: bool,
    },
}

/// `meterlab completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `meterlab man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `meterlab.1` and `meterlab-SUBCOMMAND.1` into this directory instead of printing
    /// `meterlab.1`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

const RUN_EXAMPLES: &str = "Examples:
  meterlab run                                  every scenario of ./scenarios, reference decoder
  meterlab run --filter dsmr-5.0 -j 2           the scenarios whose name contains dsmr-5.0
  meterlab run scenarios/dsmr --seed 7 --no-golden
  meterlab run --decoder 'python3 decoder.py' --junit junit.xml
  meterlab run --reader 'python3 reader.py {port}' scenarios/dsmr
  meterlab run --bless && git diff golden/      rewrite the golden files and review them";

const DECODE_EXAMPLES: &str = "Examples:
  meterlab decode capture.hex                   detect the protocol, one JSON line per message
  meterlab decode --protocol dsmr - < p1.bin
  METERLAB_KEY=$KEY meterlab decode --protocol dlms push.hex
  meterlab decode --max-seconds 30 /dev/ttyUSB0
  meterlab decode /dev/ttyUSB0 --baud 2400 --format 8E1 --max-seconds 10
  meterlab sim kaifa-ma309-evn --stdout --count 1 | meterlab decode --profile-keys kaifa-ma309-evn -";

const DIAGNOSE_EXAMPLES: &str = "Examples:
  meterlab diagnose report.txt                  what is wrong, and the settings that fix it
  meterlab diagnose capture.hex --reader \"9600 8N1\"
  meterlab diagnose push.hex --key $KEY --auth-key $AUTH_KEY --json";

const IMPORT_EXAMPLES: &str = "Examples:
  meterlab import report.txt --name evn-no-data --source https://github.com/org/repo/issues/1
  meterlab import push.hex --redact --key $KEY   ids replaced, re-encrypted with a test key
  meterlab import log.txt --reader \"2400 8E1\" -o scenarios/bug-reports/mine.yaml";

const SCENARIOS_EXAMPLES: &str = "Examples:
  meterlab scenarios export my-suite            the built-in scenarios and golden files
  meterlab scenarios export my-suite --force";

const PROFILES_EXAMPLES: &str = "Examples:
  meterlab profiles
  meterlab profiles | grep iec";

const SIM_EXAMPLES: &str = "Examples:
  meterlab sim dsmr-5.0 --pty /tmp/p1           a DSMR 5.0 meter behind the pty link /tmp/p1
  meterlab sim kaifa-ma309-evn --tcp 127.0.0.1:5000 --truth truth.jsonl
  meterlab sim dsmr-5.0 --stdout --hex --count 2 --fault 'noise: { ber: 1.0e-4 }'
  meterlab sim iec-mode-c --pty /tmp/optical --follow-baud -v   one log line per message
  meterlab sim --config meters.yaml
  meterlab sim --list";

const LOOPBACK_EXAMPLES: &str = "Examples:
  meterlab loopback --tx /dev/ttyUSB0                     TX and RX bridged on one adapter
  meterlab loopback --tx /dev/ttyUSB0 --rx /dev/ttyUSB1 --baud 2400,9600 --format 8E1";

const COMPLETIONS_EXAMPLES: &str = "Examples:
  meterlab completions bash > ~/.local/share/bash-completion/completions/meterlab
  meterlab completions zsh > ~/.zfunc/_meterlab
  meterlab completions fish > ~/.config/fish/completions/meterlab.fish";

const MAN_EXAMPLES: &str = "Examples:
  meterlab man | man -l -
  meterlab man --out target/man                 meterlab.1 and one page per subcommand";

/// `meterlab loopback`.
#[derive(Debug, clap::Args)]
pub struct LoopbackArgs {
    /// The device that sends (`/dev/ttyUSB0`, `COM3`, a pty path); alone, its TX and RX are
    /// bridged and it receives too.
    #[arg(long, value_name = "DEV")]
    pub tx: String,
    /// The device that receives (the other end of a null-modem cable).
    #[arg(long, value_name = "DEV")]
    pub rx: Option<String>,
    /// Baud rates to try, comma-separated.
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        default_value = "9600,115200",
        value_parser = baud_parser()
    )]
    pub baud: Vec<u32>,
    /// Character formats to try, comma-separated.
    #[arg(
        long,
        value_name = "FORMAT,...",
        value_delimiter = ',',
        default_value = "8N1,8E1,7E1"
    )]
    pub format: Vec<String>,
    /// Time per setting: the patterns are repeated while it lasts (at least once); 0 to 86400.
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    pub seconds: f64,
    /// Also write the results as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// `meterlab sim`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("port").args(["pty", "serial", "tcp", "stdout"])))]
#[command(
    override_usage = "meterlab sim <PROFILE> [--pty LINK | --tcp ADDR:PORT | --serial DEV | --stdout] [OPTIONS]
       meterlab sim --list               (the profiles)
       meterlab sim --config FILE        (several meters, each on its port)"
)]
pub struct SimArgs {
    /// The meter profile (`meterlab sim --list`).
    #[arg(value_name = "PROFILE", required_unless_present_any = ["list", "config", "dongle"])]
    pub profile: Option<String>,
    /// A virtual wireless M-Bus receiver stick (profile `wmbus-<TYPE>`) with the meters of
    /// `--config` (a dongle file: `meters:`, `radio:`) or one meter of each catalog type.
    #[arg(long, value_name = "TYPE", conflicts_with_all = ["profile", "list"],
          value_parser = ["im871a", "amb8465", "cul", "rtlwmbus"])]
    pub dongle: Option<String>,
    /// List the profiles with their protocol and line settings.
    #[arg(long, conflicts_with_all = ["profile", "config"])]
    pub list: bool,
    /// Run the meters listed in this YAML file, each on its own port (docs in README.md); with
    /// --dongle, the dongle's meters and radio faults (`DongleConfig`, README "wireless M-Bus").
    #[arg(long, value_name = "FILE", conflicts_with = "profile")]
    pub config: Option<PathBuf>,
    /// Serve the meter on a new pty, reachable through this symlink (Linux).
    #[arg(long, value_name = "LINK")]
    pub pty: Option<PathBuf>,
    /// Serve the meter on a real serial port.
    #[arg(long, value_name = "DEV")]
    pub serial: Option<String>,
    /// Serve the meter as a raw TCP server (one client at a time).
    #[arg(long, value_name = "ADDR:PORT")]
    pub tcp: Option<String>,
    /// Write the meter's bytes to standard output (the default).
    #[arg(long)]
    pub stdout: bool,
    /// With --stdout: hex text, one line per message (all its frames), instead of raw bytes.
    #[arg(long, requires = "stdout")]
    pub hex: bool,
    /// The reader's baud rate (default: the meter's); a mismatch gives what a real UART would.
    #[arg(long, value_name = "N", value_parser = baud_parser())]
    pub baud: Option<u32>,
    /// The reader's character format, e.g. 8E1 or "8N1 inverted" (default: the meter's).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// With --pty: the reader's baud rate is the one it sets on the pty (pyserial's
    /// `baudrate`), as on a real port; a reader at the wrong rate, or one that misses an IEC
    /// baud switch, gets garbage. A pty keeps no parity or data bits: those stay --format's.
    #[arg(long, requires = "pty", conflicts_with = "baud")]
    pub follow_baud: bool,
    /// `--key`, `--auth-key`.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// M-Bus primary address, or the IEC 62056-21 device address for iec-* profiles.
    #[arg(long, value_name = "N")]
    pub address: Option<String>,
    /// Push interval, e.g. 10s or 200ms (default: the profile's; at least 10ms). A push due while
    /// the previous message is still on the line is dropped, with a warning.
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Seed of every random choice (household, faults).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Stop after N messages (pushes or replies) have been sent (N >= 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Write one JSON line per message with readings: seq, sent_at, reading.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Write one JSON object per event (message, dropped push, reader settings) and a closing
    /// summary, for machines (keys never appear).
    #[arg(long, value_name = "FILE")]
    pub json_log: Option<PathBuf>,
    /// The meter's clock at the start, RFC 3339 (`2025-01-15T09:00:00Z`; default: now).
    #[arg(long, value_name = "RFC3339")]
    pub start: Option<String>,
    /// With --stdout: pace the bytes in real time (default: virtual time, the capture at once;
    /// real time anyway without --count on a terminal).
    #[arg(long)]
    pub real_time: bool,
    /// A fault on the line, as YAML, e.g. 'noise: { ber: 1.0e-4 }' (repeatable).
    #[arg(long, value_name = "YAML")]
    pub fault: Vec<String>,
    /// Keep the meters' timing at real-time priority (Linux SCHED_FIFO, priority 10), so other
    /// work on the machine does not delay characters by whole time slices; needs root,
    /// CAP_SYS_NICE or `ulimit -r` ≥ 10, otherwise a warning and normal priority.
    #[arg(long)]
    pub realtime: bool,
}

/// `meterlab run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories (searched for *.yaml). Default: `scenarios/` if there is
    /// one here, else the suite built into meterlab.
    pub paths: Vec<PathBuf>,
    /// Only scenarios whose name matches (repeatable: any of them): a glob over the whole name
    /// with `*` or `?`, else a substring.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Vec<String>,
    /// Leave out scenarios whose name matches this pattern or that carry this tag (repeatable).
    #[arg(long, value_name = "PATTERN|TAG")]
    pub exclude: Vec<String>,
    /// Only scenarios of these protocols: dsmr, dlms, iec, mbus (comma-separated or repeated).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub protocol: Vec<String>,
    /// Only scenarios carrying this tag (repeatable: every one of them), e.g. encrypted,
    /// line-fault, crypto, timing, bug-report (`--list` shows each scenario's tags).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Print the scenarios that would run, with their tags, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// Run partition K of N (e.g. 2/4) of the selected scenarios, for a CI matrix: the N
    /// partitions together are the selection, each scenario in exactly one.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<String>,
    /// Also run every scenario under N further seeds derived from its own (other fault
    /// positions, noise, timing); reports per scenario how many failed and the first failing
    /// seed, to rerun with --seed. Golden files are compared for the scenario's own seed only.
    #[arg(long, value_name = "N")]
    pub seeds: Option<u64>,
    /// A YAML list of scenarios (names or globs) the decoder is known to fail (`fail: REASON`)
    /// or that are not run (`skip: REASON`); a listed failure that passes fails the run.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Write an expectations file from this run: every scenario that failed, as `fail` with
    /// its first failure as the reason (adopt meterlab on day one, then shrink the list).
    #[arg(long, value_name = "FILE")]
    pub write_expect: Option<PathBuf>,
    /// Scenarios run in parallel (default: number of CPUs; 1 to 1024).
    #[arg(long, short = 'j', value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub jobs: Option<usize>,
    /// Replace every scenario's seed (explores other random choices; golden files are then not
    /// compared).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Write a machine-readable report: `--report json FILE`.
    #[arg(long, num_args = 2, value_names = ["FORMAT", "FILE"])]
    pub report: Option<Vec<String>>,
    /// Write a JUnit XML report for CI.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Test this decoder instead of the reference one: a command run with `sh -c`, given the
    /// received bytes on stdin, printing JSON lines (docs/reading-format.md) on stdout. Keys
    /// come in METERLAB_KEY and METERLAB_AUTH_KEY.
    #[arg(long, value_name = "CMD")]
    pub decoder: Option<String>,
    /// Test this reader program unmodified: each scenario's meter runs in real time on a new
    /// pty, and the command (run with `sh -c`, `{port}` replaced by the pty's path) reads it and
    /// prints JSON lines (docs/reading-format.md) on stdout. Keys come in METERLAB_KEY and
    /// METERLAB_AUTH_KEY, the protocol in METERLAB_PROTOCOL. Scenarios run one at a time.
    #[arg(long, value_name = "CMD", conflicts_with = "decoder")]
    pub reader: Option<String>,
    /// Run every scenario over this line instead of the one it names (`transport:`, default
    /// memory): `pty` and `tcp` run the meter in real time on this machine, `serial` on a
    /// null-modem cable between --meter-port and --reader-port. Golden files are the same.
    #[arg(long, value_enum, value_name = "KIND")]
    pub transport: Option<Transport>,
    /// The meter's serial port, for `--transport serial` (one end of a null-modem cable).
    #[arg(long, value_name = "DEV")]
    pub meter_port: Option<String>,
    /// The reader's serial port, for `--transport serial` (the cable's other end): meterlab's
    /// reader opens it, or `{port}` in --reader becomes it.
    #[arg(long, value_name = "DEV")]
    pub reader_port: Option<String>,
    /// With a reader program on a pty: its baud rate is the one it sets on the pty, as on a real
    /// port (a reader at the wrong rate, or one missing an IEC baud switch, gets garbage); the
    /// rest of its settings stay the scenario's. Standard rates set the POSIX way only.
    #[arg(long)]
    pub follow_baud: bool,
    /// Time limit of a scenario over a real line with meterlab's reader, in seconds (1 to
    /// 2592000, 30 days).
    #[arg(long, value_name = "SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_S))]
    pub line_timeout: u64,
    /// Time limit for the decoder (or reader) under test, per scenario, in seconds (1 to
    /// 2592000, 30 days).
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_S))]
    pub decoder_timeout: u64,
    /// Directory of golden files (default: `golden`, or the built-in ones with the built-in
    /// suite).
    #[arg(long, value_name = "DIR")]
    pub golden: Option<PathBuf>,
    /// Do not compare with golden files.
    #[arg(long, conflicts_with = "bless")]
    pub no_golden: bool,
    /// Write the golden files from this run instead of comparing (review with git diff).
    #[arg(long)]
    pub bless: bool,
}

/// `meterlab decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// The protocol; `auto` detects it from the bytes (or set METERLAB_PROTOCOL, as `meterlab
    /// run --decoder` does).
    #[arg(long, value_enum, default_value_t = ProtocolArg::Auto, env = "METERLAB_PROTOCOL")]
    pub protocol: ProtocolArg,
    /// `--key`, `--auth-key`.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Stop reading after this many seconds and decode what came (for a pty or a pipe that
    /// never ends); at most one year.
    #[arg(long, value_name = "S")]
    pub max_seconds: Option<f64>,
    /// DSMR: decode telegrams whose CRC is wrong or missing anyway, with a warning and every
    /// value flagged `unverified` (for telegrams anonymised by hand; never the default).
    #[arg(long)]
    pub ignore_crc: bool,
    /// The form of the input; `auto` detects it and says on stderr what it assumed.
    #[arg(long, value_enum, default_value_t = crate::capture::InputFormat::Auto)]
    pub input_format: crate::capture::InputFormat,
    /// Start the output with a JSON line describing the input
    /// (`{"capture":{"form":…,"protocol":…}}`) before the messages.
    #[arg(long)]
    pub json: bool,
    /// Use the test keys of this built-in profile (`meterlab profiles`, column `keys`), e.g.
    /// to decode what `meterlab sim PROFILE --stdout` sends; --key/--auth-key win. Keys are
    /// never printed.
    #[arg(long, value_name = "PROFILE")]
    pub profile_keys: Option<String>,
    /// Reading a serial port or a pty: its baud rate (default: as the port is set).
    #[arg(long, value_name = "N", value_parser = baud_parser())]
    pub baud: Option<u32>,
    /// Reading a serial port or a pty: its character format, e.g. 8E1 or 7E1 (default 8N1
    /// with --baud).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// The capture file (or, with --max-seconds, a serial port, a pty or a TCP gateway as
    /// `socket://HOST:PORT`); `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Protocols `decode` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// Detect from the bytes.
    Auto,
    /// DSMR P1 (incl. Luxembourg Smarty).
    Dsmr,
    /// DLMS/COSEM push (M-Bus-wrapped, HDLC, GBT; plain or encrypted).
    Dlms,
    /// IEC 62056-21 data readout (a captured dialogue or a mode D push).
    #[value(alias = "iec62056-21")]
    Iec,
    /// Wired M-Bus (EN 13757-2/-3) replies (a capture of one or both directions), or wireless
    /// M-Bus as a receiver stick delivers it (iM871A, AMB8465, CUL, rtl_wmbus, bare frames).
    Mbus,
}
