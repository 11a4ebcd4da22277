//! `meterlab`: the command line over the harness, simulator and decoder libraries.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use meterlab_decoder::{Keys, Protocol};
use meterlab_harness::capture::StreamReader;
use meterlab_harness::cli::{
    Cli, ColorChoice, Command, DecodeArgs, DiagnoseArgs, ImportArgs, LoopbackArgs, ManArgs,
    ProtocolArg, RunArgs, ScenariosArgs, ScenariosCommand, SimArgs,
};
use meterlab_harness::decode::{decode_stream, DecodeOptions};
use meterlab_harness::exit_code;
use meterlab_harness::manual;
use meterlab_harness::report::{self, RunReport};
use meterlab_harness::runner::{self, DecoderUnderTest, RunOptions};
use meterlab_harness::scenario;
use meterlab_harness::transport::SerialDevices;

/// The binary's allocator (the libraries leave the choice to their user). `meterlab decode`
/// decodes on one thread and writes on another, and each message's memory is read by the writer
/// before the decoding thread frees it; with glibc's allocator that cost M-Bus about a fifth of
/// its rate against the decoder alone. With mimalloc the same 100 MB decodes 12–30 % faster
/// (issue #15; docs/timing.md, "An allocator for the binary").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.color);
    match cli.color {
        ColorChoice::Always => console::set_colors_enabled(true),
        ColorChoice::Never => console::set_colors_enabled(false),
        ColorChoice::Auto => {}
    }
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Decode(args) => decode(args),
        Command::Profiles => profiles(),
        Command::Sim(args) => sim(args),
        Command::Loopback(args) => loopback(args),
        Command::Import(args) => import(args),
        Command::Scenarios(args) => scenarios(args),
        Command::Completions(args) => {
            manual::completions(args.shell, &mut std::io::stdout());
            Ok(exit_code::SUCCESS)
        }
        Command::Man(args) => man(args),
        Command::Diagnose(args) => diagnose(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{} {e:#}", console::style("error:").red().bold());
            ExitCode::from(exit_code::BAD_INPUT)
        }
    }
}

/// Log lines on stderr: ANSI colours only with `--color always`, or with `auto` when stderr is
/// a terminal and `NO_COLOR` is unset; timestamps only with `-v` or more.
fn init_logging(verbose: u8, color: ColorChoice) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let ansi = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty())
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if verbose > 0 {
        builder.init();
    } else {
        builder.without_time().init();
    }
}

fn man(args: ManArgs) -> Result<u8> {
    match args.out {
        Some(dir) => {
            let written = manual::write_man_pages(&dir)
                .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
            for path in written {
                println!("{}", path.display());
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            match manual::man_page(&mut out) {
                // `meterlab man | head`: the reader has seen enough.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("cannot write the man page")?,
            }
        }
    }
    Ok(exit_code::SUCCESS)
}

/// The most further seeds `--seeds` runs per scenario.
const MAX_SEEDS: u64 = 10_000;

fn run(args: RunArgs) -> Result<u8> {
    use meterlab_harness::expect::{self, Expectation, Expectations};
    use meterlab_harness::runner::Job;
    use meterlab_harness::selection::{self, Selection};

    let report_json = match &args.report {
        Some(v) if v.len() == 2 && v[0] == "json" => Some(std::path::PathBuf::from(&v[1])),
        Some(v) => bail!(
            "--report takes a format and a file, and the only format is json; got {:?}",
            v.join(" ")
        ),
        None => None,
    };
    let selection = Selection {
        filters: args.filter.clone(),
        exclude: args.exclude.clone(),
        protocols: args.protocol.clone(),
        tags: args.tag.clone(),
        partition: args
            .partition
            .as_deref()
            .map(selection::parse_partition)
            .transpose()?,
    };
    selection.validate()?;
    if args.seeds.is_some_and(|n| n > MAX_SEEDS) {
        bail!("--seeds takes at most {MAX_SEEDS} further seeds per scenario");
    }
    let expectations = args.expect.as_deref().map(Expectations::load).transpose()?;
    // No path and no `scenarios/` here: the suite built into the binary.
    let builtin = args.paths.is_empty() && !std::path::Path::new("scenarios").exists();
    let paths = if args.paths.is_empty() {
        vec![std::path::PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    if builtin && args.bless {
        bail!("--bless writes golden files: export the built-in suite first (`meterlab scenarios export DIR`) and run there");
    }
    let loaded = if builtin {
        meterlab_harness::builtin::scenarios()
    } else {
        scenario::load_all(&paths, None)
    };
    let all = match loaded {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("{} {e}", console::style("error:").red().bold());
            }
            eprintln!("{} bad scenario file(s); nothing was run", errors.len());
            return Ok(exit_code::BAD_INPUT);
        }
    };
    if builtin {
        tracing::info!(
            "no scenarios/ directory here: running the {} scenarios built into meterlab (`meterlab scenarios export DIR` writes them out)",
            all.len()
        );
    }
    if let Some(e) = &expectations {
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        for pattern in e.unused(&names) {
            eprintln!(
                "{} {}: `{pattern}` matches no scenario (renamed or removed? remove it from the list)",
                console::style("warning:").yellow().bold(),
                e.path.display()
            );
        }
    }
    let total = all.len();
    let scenarios = selection.apply(all);
    if args.list {
        let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for s in &scenarios {
            let tags: Vec<String> = selection::tags(s).into_iter().collect();
            println!(
                "{:<width$}  {:<40}  {}",
                s.name,
                tags.join(","),
                s.path.display()
            );
        }
        println!("{} of {total} scenarios selected", scenarios.len());
        return Ok(exit_code::SUCCESS);
    }
    if scenarios.is_empty() {
        bail!(
            "no scenarios {} in {}",
            if total == 0 { "found" } else { "selected" },
            if builtin {
                "the built-in suite".to_string()
            } else {
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let timeout = Duration::from_secs(args.decoder_timeout);
    let decoder = match (&args.decoder, &args.reader) {
        (Some(command), _) => DecoderUnderTest::External {
            command: command.clone(),
            timeout,
        },
        (None, Some(command)) => DecoderUnderTest::Reader {
            command: command.clone(),
            timeout,
        },
        (None, None) => DecoderUnderTest::Reference,
    };
    let decoder_name = args
        .decoder
        .clone()
        .or_else(|| args.reader.clone())
        .unwrap_or_else(|| "reference".into());
    let golden_dir = match (&args.golden, args.no_golden) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => Some(std::path::PathBuf::from("golden")),
    };
    let options = RunOptions {
        decoder,
        seed_override: args.seed,
        builtin_golden: builtin && args.golden.is_none() && golden_dir.is_some(),
        golden_dir,
        bless: args.bless,
        transport: args.transport,
        devices: SerialDevices {
            meter: args.meter_port.clone(),
            reader: args.reader_port.clone(),
        },
        line_timeout: Duration::from_secs(args.line_timeout),
        follow_baud: args.follow_baud,
    };
    // Each scenario's own run, then its further seeds (`--seeds`); skipped ones do not run.
    let mut list = Vec::new();
    let mut skipped = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        if let Some(Expectation::Skip(reason)) =
            expectations.as_ref().and_then(|e| e.lookup(&s.name))
        {
            skipped.push((i, reason.clone()));
            continue;
        }
        list.push((
            i,
            true,
            Job {
                scenario: s,
                seed: args.seed,
            },
        ));
        for seed in runner::sweep_seeds(args.seed.unwrap_or(s.spec.seed), args.seeds.unwrap_or(0)) {
            list.push((
                i,
                false,
                Job {
                    scenario: s,
                    seed: Some(seed),
                },
            ));
        }
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let bar = if std::io::stderr().is_terminal() {
        let bar =
            ProgressBar::with_draw_target(Some(list.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let job_list: Vec<Job<'_>> = list.iter().map(|(_, _, j)| *j).collect();
    // A further seed's run is kept as its verdict only (`runner::sweep_summary`).
    let summarize = |k: usize, r| match list.get(k) {
        Some((_, false, _)) => runner::sweep_summary(r),
        _ => r,
    };
    let results = runner::run_jobs_then(&job_list, &options, jobs, summarize, |done, _total, r| {
        bar.set_position(done as u64);
        if let Ok(o) = r {
            bar.set_message(o.name.clone());
        }
    });
    bar.finish_and_clear();
    // Back to one outcome per scenario, in scenario order.
    let mut own: Vec<Option<Result<runner::Outcome, scenario::ScenarioError>>> =
        (0..scenarios.len()).map(|_| None).collect();
    let mut sweeps: Vec<Vec<(u64, Result<runner::Outcome, scenario::ScenarioError>)>> =
        (0..scenarios.len()).map(|_| Vec::new()).collect();
    for ((i, primary, job), r) in list.iter().zip(results) {
        if *primary {
            if let Some(slot) = own.get_mut(*i) {
                *slot = Some(r);
            }
        } else if let Some(v) = sweeps.get_mut(*i) {
            v.push((job.seed.unwrap_or_default(), r));
        }
    }
    for (i, reason) in skipped {
        if let (Some(slot), Some(s)) = (own.get_mut(i), scenarios.get(i)) {
            *slot = Some(runner::skipped(s, &reason));
        }
    }
    let mut outcomes = Vec::new();
    let mut bad = 0;
    for (r, sweep) in own.into_iter().zip(sweeps) {
        match r {
            Some(Ok(mut o)) => {
                if args.seeds.is_some() && o.verdict != meterlab_harness::verdict::Verdict::Skipped
                {
                    o.add_sweep(&sweep);
                    o.settle();
                }
                if let Some(e) = &expectations {
                    e.apply(&mut o);
                }
                outcomes.push(o);
            }
            Some(Err(e)) => {
                eprintln!("{} {e}", console::style("error:").red().bold());
                bad += 1;
            }
            None => {}
        }
    }
    let report = RunReport {
        outcomes: &outcomes,
        decoder: &decoder_name,
        seed_override: args.seed,
        elapsed: started.elapsed(),
        rerun_args: rerun_args(&args),
        builtin,
    };
    print!("{}", report::table::render(&report));
    if let Some(path) = report_json {
        let json = report::json::render(&report).context("cannot serialise the JSON report")?;
        std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit::render(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.write_expect {
        let text = expect::render(&outcomes).context("cannot serialise the expectations")?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "wrote {} ({} scenario(s) listed)",
            path.display(),
            outcomes
                .iter()
                .filter(|o| !matches!(
                    o.verdict,
                    meterlab_harness::verdict::Verdict::Pass
                        | meterlab_harness::verdict::Verdict::UnexpectedPass
                ))
                .count()
        );
    }
    if bad > 0 {
        eprintln!("{bad} scenario(s) could not be run");
        return Ok(exit_code::BAD_INPUT);
    }
    Ok(if report.not_ok() == 0 {
        exit_code::SUCCESS
    } else {
        exit_code::FAILED
    })
}

/// The options of `args` a rerun of one scenario must repeat, shell-quoted.
fn rerun_args(args: &RunArgs) -> Vec<String> {
    use meterlab_harness::report::shell_quote;
    let mut out = Vec::new();
    let mut opt = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push(name.to_string());
            out.push(shell_quote(&v));
        }
    };
    opt("--decoder", args.decoder.clone());
    opt("--reader", args.reader.clone());
    opt("--transport", args.transport.map(|t| t.to_string()));
    opt("--meter-port", args.meter_port.clone());
    opt("--reader-port", args.reader_port.clone());
    opt(
        "--decoder-timeout",
        (args.decoder_timeout != 60).then(|| args.decoder_timeout.to_string()),
    );
    opt(
        "--line-timeout",
        (args.line_timeout != 300).then(|| args.line_timeout.to_string()),
    );
    opt(
        "--golden",
        args.golden.as_ref().map(|g| g.display().to_string()),
    );
    opt(
        "--expect",
        args.expect.as_ref().map(|e| e.display().to_string()),
    );
    if args.no_golden {
        out.push("--no-golden".into());
    }
    if args.follow_baud {
        out.push("--follow-baud".into());
    }
    out
}

/// The longest `--max-seconds` accepted: one year.
const MAX_SECONDS: f64 = 366.0 * 86_400.0;

/// Where `decode` reads from: a file or standard input, streamed.
fn open_input(file: Option<&std::path::Path>) -> Result<Box<dyn Read + Send>> {
    Ok(match file {
        Some(p) if p.as_os_str() != "-" => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        ),
        _ => Box::new(std::io::stdin()),
    })
}

fn decode(args: DecodeArgs) -> Result<u8> {
    let mut keys = match &args.profile_keys {
        Some(profile) => meterlab_harness::sim::profile_keys(profile).context("--profile-keys")?,
        None => Keys::default(),
    };
    let given = args.keys.keys()?;
    if let Some(key) = given.encryption {
        keys.encryption = Some(key);
    }
    if let Some(key) = given.authentication {
        keys.authentication = Some(key);
    }
    let port = port_settings(&args)?;
    let source: Box<dyn Read + Send> = match (args.max_seconds, port) {
        (Some(seconds), port) => {
            if !(seconds.is_finite() && (0.0..=MAX_SECONDS).contains(&seconds)) {
                bail!("--max-seconds must be a number of seconds from 0 to {MAX_SECONDS} (one year), not {seconds}");
            }
            Box::new(read_for(
                args.file.as_deref(),
                Duration::from_secs_f64(seconds),
                port,
            )?)
        }
        // A port never ends: read until interrupted (or a year).
        (None, Some(port)) => Box::new(read_for(
            args.file.as_deref(),
            Duration::from_secs_f64(MAX_SECONDS),
            Some(port),
        )?),
        (None, None) => open_input(args.file.as_deref())?,
    };
    let from_stdin = args.file.as_deref().map_or(true, |f| f.as_os_str() == "-");
    let mut reader = match StreamReader::new(source, args.input_format) {
        Ok(reader) => reader,
        // A pipe that brought nothing (a reader that heard nothing, a decoder under test fed
        // an empty line) has nothing to decode: no message, said on stderr. A named file that
        // is empty is a mistake, and an error.
        Err(meterlab_harness::capture::CaptureError::Empty("")) if from_stdin => {
            eprintln!("note: standard input was empty: nothing to decode");
            return Ok(exit_code::SUCCESS);
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read the capture")),
    };
    eprintln!("note: input read as {}", reader.form());
    let options = DecodeOptions {
        protocol: match args.protocol {
            ProtocolArg::Auto => None,
            ProtocolArg::Dsmr => Some(Protocol::Dsmr),
            ProtocolArg::Dlms => Some(Protocol::Dlms),
            ProtocolArg::Iec => Some(Protocol::Iec62056_21),
            ProtocolArg::Mbus => Some(Protocol::Mbus),
        },
        keys,
        header: args.json,
        ignore_crc: args.ignore_crc,
    };
    // Unlocked (the writer thread takes the lock per block of lines), unbuffered (the lines
    // come in blocks of 1 MiB).
    let mut out = std::io::stdout();
    let result = decode_stream(&mut reader, &options, &mut out);
    out.flush().context("cannot write to standard output")?;
    if reader.ignored_lines() > 0 {
        eprintln!(
            "note: {} line(s) without bytes left out (-vv names them)",
            reader.ignored_lines()
        );
    }
    let summary = result?;
    tracing::info!(
        bytes = summary.bytes,
        messages = summary.messages,
        "capture decoded"
    );
    Ok(if summary.errors > 0 {
        exit_code::FAILED
    } else {
        exit_code::SUCCESS
    })
}

/// `meterlab diagnose`: the capture read as `decode` reads it, the diagnosis on standard output.
fn diagnose(args: DiagnoseArgs) -> Result<u8> {
    use meterlab_harness::diagnose::{self, DiagnoseOptions};
    let keys = Keys {
        ..args.keys.keys()?
    };
    let reader = args
        .reader
        .as_deref()
        .map(|s| {
            s.parse::<meterlab_sim::line::UartConfig>()
                .with_context(|| format!("bad --reader {s:?} (e.g. \"2400 8N1\")"))
        })
        .transpose()?;
    let input = if args.file.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .context("cannot read standard input")?;
        v
    } else {
        std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?
    };
    let capture = meterlab_harness::capture::read(&input, args.input_format)
        .context("cannot read the capture")?;
    eprintln!(
        "note: input read as {}: {} bytes",
        capture.form,
        capture.bytes.len()
    );
    // A log that tells the directions apart: the reader's own bytes are known to be requests.
    let mut received = Vec::new();
    let mut sent = Vec::new();
    for segment in &capture.segments {
        let bytes = capture.bytes.get(segment.range.clone()).unwrap_or_default();
        match segment.direction {
            Some(meterlab_harness::capture::Direction::ToMeter) => sent.extend_from_slice(bytes),
            _ => received.extend_from_slice(bytes),
        }
    }
    if capture.segments.is_empty() {
        received = capture.bytes.clone();
    }
    let bytes = received;
    let protocol = match args.protocol {
        ProtocolArg::Auto => None,
        ProtocolArg::Dsmr => Some(Protocol::Dsmr),
        ProtocolArg::Dlms => Some(Protocol::Dlms),
        ProtocolArg::Iec => Some(Protocol::Iec62056_21),
        ProtocolArg::Mbus => Some(Protocol::Mbus),
    };
    let options = DiagnoseOptions {
        keys,
        reader,
        protocol,
    };
    let diagnosis = if sent.is_empty() {
        diagnose::diagnose(&bytes, &options)
    } else {
        diagnose::diagnose_two_way(&bytes, &sent, &options)
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let mut value =
            serde_json::to_value(&diagnosis).context("cannot serialise the diagnosis")?;
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "input".into(),
                serde_json::json!({
                    "form": capture.form.to_string(),
                    "bytes": bytes.len(),
                    "sent_bytes": sent.len(),
                }),
            );
        }
        let json =
            serde_json::to_string_pretty(&value).context("cannot serialise the diagnosis")?;
        writeln!(out, "{json}").context("cannot write to standard output")?;
    } else {
        write!(out, "{}", diagnose::render_text(&diagnosis, 5))
            .context("cannot write to standard output")?;
    }
    Ok(if diagnosis.fits {
        exit_code::SUCCESS
    } else {
        exit_code::FAILED
    })
}

/// `decode --baud/--format`: the settings of the serial port or pty read (`None`: as it is).
fn port_settings(args: &DecodeArgs) -> Result<Option<meterlab_sim::line::UartConfig>> {
    if args.baud.is_none() && args.format.is_none() {
        return Ok(None);
    }
    let file = args.file.as_deref().filter(|f| f.as_os_str() != "-");
    let Some(file) = file.filter(|f| !f.to_string_lossy().starts_with("socket://")) else {
        bail!("--baud and --format are for a serial port or a pty (a file, a pipe or a TCP gateway has no baud rate)");
    };
    let baud = args.baud.unwrap_or(9600);
    let format = args.format.as_deref().unwrap_or("8N1");
    if args.baud.is_none() {
        bail!("--format needs --baud (the port's baud rate)");
    }
    let config = meterlab_sim::line::UartConfig::new(baud, format)
        .with_context(|| format!("--format {format:?}"))?;
    tracing::info!(port = %file.display(), %config, "reading a port");
    Ok(Some(config))
}

/// Opens a serial port or a pty at `config`: the POSIX way for standard rates (as pyserial
/// does, so a `meterlab sim --follow-baud` on the pty sees the rate), else through the
/// serialport crate.
fn open_port(
    path: &std::path::Path,
    config: &meterlab_sim::line::UartConfig,
) -> Result<Box<dyn Read + Send>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOCTTY)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match meterlab_sim::transport::pty::set_terminal(&file, config) {
            Ok(()) => return Ok(Box::new(file)),
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot set {} to {config}", path.display())))
            }
        }
    }
    let name = path.to_string_lossy();
    let port = meterlab_sim::transport::serial::SerialPort::open(&name, config)
        .with_context(|| format!("cannot open {name} at {config}"))?;
    Ok(Box::new(PortReader(port)))
}

/// A serial port as a blocking byte source.
struct PortReader(meterlab_sim::transport::serial::SerialPort);

impl Read for PortReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use meterlab_sim::transport::Port;
        loop {
            let n = self.0.read(buf, Duration::from_millis(100))?;
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

/// Reads `file` (standard input for `None` or `-`) until its end or until `limit` has passed,
/// whichever comes first: a pty or a serial port never ends (`port`: set it to these settings
/// first). The bytes are streamed as they come (a bounded queue between the reading thread and
/// the decoder).
fn read_for(
    file: Option<&std::path::Path>,
    limit: Duration,
    port: Option<meterlab_sim::line::UartConfig>,
) -> Result<DeadlineReader> {
    let tcp = file
        .and_then(|p| p.to_str())
        .and_then(|p| p.strip_prefix("socket://"));
    let mut source: Box<dyn Read + Send> = match (file, port) {
        (Some(p), Some(config)) => open_port(p, &config)?,
        // A serial-over-TCP gateway (ser2net, `meterlab sim --tcp`), as pyserial names it.
        (Some(_), None) if tcp.is_some() => {
            let addr = tcp.unwrap_or_default();
            Box::new(
                std::net::TcpStream::connect(addr)
                    .with_context(|| format!("cannot connect to {addr}"))?,
            )
        }
        (Some(p), None) if p.as_os_str() != "-" => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        ),
        _ => Box::new(std::io::stdin()),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(64);
    // The thread may stay blocked in read() when time is up; the process ends without it.
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(Ok(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    // `limit` is at most a year (checked by the caller); an instant that far cannot overflow.
    let now = Instant::now();
    Ok(DeadlineReader {
        rx,
        deadline: now.checked_add(limit).unwrap_or(now),
        chunk: Vec::new(),
        at: 0,
    })
}

/// The bytes a reading thread passes on, until its source ends or the deadline passes.
struct DeadlineReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    deadline: Instant,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for DeadlineReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(0);
            }
            match self.rx.recv_timeout(left) {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                // Time is up, or the source ended.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn scenarios(args: ScenariosArgs) -> Result<u8> {
    match args.command {
        ScenariosCommand::Export { dir, force } => {
            let written = meterlab_harness::builtin::export(&dir, force).with_context(|| {
                format!("cannot export the built-in suite to {}", dir.display())
            })?;
            println!(
                "wrote {} files under {} (scenarios/ and golden/); run `meterlab run` there",
                written.len(),
                dir.display()
            );
            Ok(exit_code::SUCCESS)
        }
    }
}

fn profiles() -> Result<u8> {
    print!("{}", meterlab_harness::sim::profiles_table());
    Ok(exit_code::SUCCESS)
}

fn sim(args: SimArgs) -> Result<u8> {
    if args.list {
        return profiles();
    }
    let jobs = match &args.config {
        Some(path) if args.dongle.is_none() => meterlab_harness::sim::load_config(path)?,
        _ => vec![meterlab_harness::sim::job_from_args(&args)?],
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each ends the meters cleanly: their pty links and lock files are removed.
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGQUIT,
    ] {
        signal_hook::flag::register(signal, std::sync::Arc::clone(&stop))
            .context("cannot install the signal handler")?;
    }
    meterlab_harness::sim::run_jobs(jobs, stop, args.realtime)?;
    Ok(exit_code::SUCCESS)
}

fn loopback(args: LoopbackArgs) -> Result<u8> {
    use meterlab_harness::loopback::{self, LoopbackOptions};
    use meterlab_sim::line::UartConfig;
    let mut settings = Vec::new();
    for baud in &args.baud {
        for format in &args.format {
            settings.push(
                UartConfig::new(*baud, format)
                    .with_context(|| format!("bad setting {baud} {format}"))?,
            );
        }
    }
    let Some(first) = settings.first().copied() else {
        bail!("no settings to try (--baud and --format)");
    };
    if !(args.seconds.is_finite()
        && (0.0..=meterlab_harness::cli::MAX_LOOPBACK_SECONDS).contains(&args.seconds))
    {
        bail!(
            "--seconds {}: give a number of seconds from 0 to {}",
            args.seconds,
            meterlab_harness::cli::MAX_LOOPBACK_SECONDS
        );
    }
    let rx_path = args.rx.as_deref().filter(|rx| *rx != args.tx);
    let pty = loopback::is_pty(std::path::Path::new(&args.tx))
        || rx_path.is_some_and(|rx| loopback::is_pty(std::path::Path::new(rx)));
    let mut tx =
        loopback::open(&args.tx, &first).with_context(|| format!("cannot open {}", args.tx))?;
    let mut rx = match rx_path {
        Some(path) => {
            Some(loopback::open(path, &first).with_context(|| format!("cannot open {path}"))?)
        }
        None => None,
    };
    let options = LoopbackOptions {
        settings,
        seconds: args.seconds,
        pty,
        quiet: None,
    };
    let report = loopback::check(
        &mut tx,
        rx.as_mut()
            .map(|r| r as &mut dyn meterlab_sim::transport::Port),
        &options,
    )
    .context("the loopback failed")?;
    print!("{}", loopback::render_table(&report));
    if let Some(path) = &args.json {
        let json = loopback::render_json(&report).context("cannot serialise the results")?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if report.clean() {
        exit_code::SUCCESS
    } else {
        exit_code::FAILED
    })
}

fn import(args: ImportArgs) -> Result<u8> {
    use meterlab_harness::import::{self, ImportOptions};
    let reader = args
        .reader
        .as_deref()
        .map(|r| {
            r.parse::<meterlab_sim::line::UartConfig>()
                .with_context(|| format!("--reader {r:?}"))
        })
        .transpose();
    let reader = match reader {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{} {e:#}", console::style("error:").red().bold());
            return Ok(exit_code::BAD_INPUT);
        }
    };
    let keys = match args.keys.keys() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{} {e}", console::style("error:").red().bold());
            return Ok(exit_code::BAD_INPUT);
        }
    };
    let options = ImportOptions {
        name: args.name,
        output: args.output,
        golden_dir: args.golden,
        redact: args.redact,
        keys,
        baud: args.baud,
        format: args.format,
        reader,
        profile: args.profile,
        source: args.source,
    };
    match import::import(&args.capture, &options) {
        Ok(done) => {
            eprintln!(
                "{}: {} capture, profile {}{}",
                args.capture.display(),
                done.diagnosis.protocol.name(),
                done.diagnosis.profile,
                done.diagnosis
                    .cause
                    .as_deref()
                    .map(|c| format!("; {c}"))
                    .unwrap_or_default()
            );
            println!("scenario: {}", done.scenario.display());
            println!("capture:  {}", done.capture.display());
            println!("golden:   {}", done.golden.display());
            let errors: u64 = done.outcome.tally.errors.values().sum();
            println!(
                "replayed: {} readings, {} errors (`meterlab run {}` reproduces it)",
                done.outcome.tally.unjudged,
                errors,
                done.scenario.display()
            );
            Ok(exit_code::SUCCESS)
        }
        Err(e) => {
            eprintln!("{} {e}", console::style("error:").red().bold());
            Ok(exit_code::BAD_INPUT)
        }
    }
}
