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

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios against the reference decoder (or a decoder under test) and report.
    Run(RunArgs),
    /// Decode a capture (hex text or raw bytes) and print one JSON line per message found.
    Decode(DecodeArgs),
    /// List the built-in meter profiles.
    Profiles,
    /// Run a virtual meter in real time on a pty, a TCP port, a real serial port or standard
    /// output, for a reader you do not change (pyserial, Home Assistant, an ESP board).
    Sim(SimArgs),
    /// Check a serial path (a USB adapter with TX and RX bridged, two adapters on a null-modem
    /// cable, or a pty): send known patterns at each setting and report what came back.
    Loopback(LoopbackArgs),
}

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
pub struct SimArgs {
    /// The meter profile (`meterlab sim --list`).
    #[arg(value_name = "PROFILE", required_unless_present_any = ["list", "config"])]
    pub profile: Option<String>,
    /// List the profiles with their protocol and line settings.
    #[arg(long, conflicts_with_all = ["profile", "config"])]
    pub list: bool,
    /// Run the meters listed in this YAML file, each on its own port (docs in README.md).
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
    /// With --stdout: hex text, one line per write, instead of raw bytes.
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
    /// Encryption key, 32 hex digits (or METERLAB_KEY; never printed).
    #[arg(long, value_name = "HEX", env = "METERLAB_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Authentication key, 32 hex digits (or METERLAB_AUTH_KEY; never printed).
    #[arg(
        long,
        value_name = "HEX",
        env = "METERLAB_AUTH_KEY",
        hide_env_values = true
    )]
    pub auth_key: Option<String>,
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
    /// A fault on the line, as YAML, e.g. 'noise: { ber: 1.0e-4 }' (repeatable).
    #[arg(long, value_name = "YAML")]
    pub fault: Vec<String>,
}

/// `meterlab run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories (searched for *.yaml).
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Only scenarios whose name contains this text.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
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
    /// Directory of golden files.
    #[arg(long, value_name = "DIR", default_value = "golden")]
    pub golden: PathBuf,
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
    /// Encryption key, 32 hex digits (or set METERLAB_KEY; keys are never printed).
    #[arg(long, value_name = "HEX", env = "METERLAB_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Authentication key, 32 hex digits (or set METERLAB_AUTH_KEY).
    #[arg(
        long,
        value_name = "HEX",
        env = "METERLAB_AUTH_KEY",
        hide_env_values = true
    )]
    pub auth_key: Option<String>,
    /// Stop reading after this many seconds and decode what came (for a pty or a pipe that
    /// never ends).
    #[arg(long, value_name = "S")]
    pub max_seconds: Option<f64>,
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
    /// Wired M-Bus (EN 13757-2/-3) replies (a capture of one or both directions).
    Mbus,
}
