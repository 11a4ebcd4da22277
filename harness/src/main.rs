//! `meterlab`: the command line over the harness, simulator and decoder libraries.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use meterlab_decoder::{Key, Keys, Message, Protocol};
use meterlab_harness::capture::{read_capture, CaptureFormat};
use meterlab_harness::cli::{
    Cli, ColorChoice, Command, DecodeArgs, LoopbackArgs, ProtocolArg, RunArgs, SimArgs,
};
use meterlab_harness::exit_code;
use meterlab_harness::report::{self, RunReport};
use meterlab_harness::runner::{self, DecoderUnderTest, RunOptions};
use meterlab_harness::scenario;
use meterlab_harness::transport::SerialDevices;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
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
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{} {e:#}", console::style("error:").red().bold());
            ExitCode::from(exit_code::BAD_INPUT)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(args: RunArgs) -> Result<u8> {
    let report_json = match &args.report {
        Some(v) if v.len() == 2 && v[0] == "json" => Some(std::path::PathBuf::from(&v[1])),
        Some(v) => bail!(
            "--report takes a format and a file, and the only format is json; got {:?}",
            v.join(" ")
        ),
        None => None,
    };
    let scenarios = match scenario::load_all(&args.paths, args.filter.as_deref()) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("{} {e}", console::style("error:").red().bold());
            }
            eprintln!("{} bad scenario file(s); nothing was run", errors.len());
            return Ok(exit_code::BAD_INPUT);
        }
    };
    if scenarios.is_empty() {
        bail!(
            "no scenarios found in {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
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
    let options = RunOptions {
        decoder,
        seed_override: args.seed,
        golden_dir: (!args.no_golden).then(|| args.golden.clone()),
        bless: args.bless,
        transport: args.transport,
        devices: SerialDevices {
            meter: args.meter_port.clone(),
            reader: args.reader_port.clone(),
        },
        line_timeout: Duration::from_secs(args.line_timeout),
        follow_baud: args.follow_baud,
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(
            Some(scenarios.len() as u64),
            ProgressDrawTarget::stderr(),
        );
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
    let results = runner::run_all(&scenarios, &options, jobs, |done, _total, r| {
        bar.set_position(done as u64);
        if let Ok(o) = r {
            bar.set_message(o.name.clone());
        }
    });
    bar.finish_and_clear();
    let mut outcomes = Vec::new();
    let mut bad = 0;
    for r in results {
        match r {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("{} {e}", console::style("error:").red().bold());
                bad += 1;
            }
        }
    }
    let report = RunReport {
        outcomes: &outcomes,
        decoder: &decoder_name,
        seed_override: args.seed,
        elapsed: started.elapsed(),
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
    if bad > 0 {
        eprintln!("{bad} scenario(s) could not be run");
        return Ok(exit_code::BAD_INPUT);
    }
    Ok(if report.failed() == 0 {
        exit_code::SUCCESS
    } else {
        exit_code::FAILED
    })
}

fn parse_key(what: &str, hex: &Option<String>) -> Result<Option<Key>> {
    hex.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<Key>().with_context(|| format!("bad {what}")))
        .transpose()
}

fn decode(args: DecodeArgs) -> Result<u8> {
    let keys = Keys {
        encryption: parse_key("--key", &args.key)?,
        authentication: parse_key("--auth-key", &args.auth_key)?,
    };
    let mut input = Vec::new();
    if let Some(seconds) = args.max_seconds {
        if !(seconds.is_finite() && seconds >= 0.0) {
            bail!("--max-seconds must be a non-negative number");
        }
        input = read_for(args.file.as_deref(), Duration::from_secs_f64(seconds))?;
    } else {
        match args.file.as_deref() {
            None => std::io::stdin()
                .read_to_end(&mut input)
                .context("cannot read standard input")?,
            Some(p) if p.as_os_str() == "-" => std::io::stdin()
                .read_to_end(&mut input)
                .context("cannot read standard input")?,
            Some(p) => {
                input = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
                input.len()
            }
        };
    }
    let (bytes, format) = read_capture(&input);
    tracing::info!(
        bytes = bytes.len(),
        hex = (format == CaptureFormat::Hex),
        "capture read"
    );
    let protocol = match args.protocol {
        ProtocolArg::Auto => match meterlab_decoder::auto::detect(&bytes, &keys) {
            Some(p) => p,
            None => {
                tracing::warn!("could not tell the protocol from the first bytes; trying DSMR (use --protocol)");
                Protocol::Dsmr
            }
        },
        ProtocolArg::Dsmr => Protocol::Dsmr,
        ProtocolArg::Dlms => Protocol::Dlms,
        ProtocolArg::Iec => Protocol::Iec62056_21,
        ProtocolArg::Mbus => Protocol::Mbus,
    };
    tracing::info!(protocol = protocol.name(), "decoding");
    let mut decoder = runner::reference_decoder(protocol, keys);
    let messages = decoder.decode_all(&bytes);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for m in &messages {
        writeln!(out, "{}", m.to_json_line()).context("cannot write to standard output")?;
    }
    let failed = messages.iter().any(|m| matches!(m, Message::Error { .. }));
    Ok(if failed {
        exit_code::FAILED
    } else {
        exit_code::SUCCESS
    })
}

/// Reads `file` (standard input for `None` or `-`) until its end or until `limit` has passed,
/// whichever comes first: a pty or a serial port never ends.
fn read_for(file: Option<&std::path::Path>, limit: Duration) -> Result<Vec<u8>> {
    let tcp = file
        .and_then(|p| p.to_str())
        .and_then(|p| p.strip_prefix("socket://"));
    let mut source: Box<dyn Read + Send> = match file {
        // A serial-over-TCP gateway (ser2net, `meterlab sim --tcp`), as pyserial names it.
        Some(_) if tcp.is_some() => {
            let addr = tcp.unwrap_or_default();
            Box::new(
                std::net::TcpStream::connect(addr)
                    .with_context(|| format!("cannot connect to {addr}"))?,
            )
        }
        Some(p) if p.as_os_str() != "-" => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        ),
        _ => Box::new(std::io::stdin()),
    };
    let (tx, rx) = std::sync::mpsc::channel();
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
    let deadline = Instant::now() + limit;
    let mut input = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(chunk)) => input.extend_from_slice(&chunk),
            Ok(Err(e)) => return Err(e).context("cannot read the input"),
            Err(_) => break,
        }
    }
    Ok(input)
}

fn profiles() -> Result<u8> {
    let list = meterlab_sim::profile::catalogue();
    let width = list.iter().map(|p| p.name.len()).max().unwrap_or(8);
    for p in list {
        println!(
            "{:<width$}  {:<6}  {:<11}  {:<18}  {}",
            p.name,
            p.protocol.name(),
            p.line,
            p.cadence,
            p.description
        );
    }
    Ok(exit_code::SUCCESS)
}

fn sim(args: SimArgs) -> Result<u8> {
    if args.list {
        return profiles();
    }
    let jobs = match &args.config {
        Some(path) => meterlab_harness::sim::load_config(path)?,
        None => vec![meterlab_harness::sim::job_from_args(&args)?],
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
    meterlab_harness::sim::run_jobs(jobs, stop)?;
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
    let results = loopback::run(
        &mut tx,
        rx.as_mut()
            .map(|r| r as &mut dyn meterlab_sim::transport::Port),
        &options,
    )
    .context("the loopback failed")?;
    print!("{}", loopback::render_table(&results, pty));
    if let Some(path) = &args.json {
        let json = loopback::render_json(&results, pty).context("cannot serialise the results")?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if results.iter().all(|r| r.clean()) {
        exit_code::SUCCESS
    } else {
        exit_code::FAILED
    })
}
