//! `meterlab loopback`: checks a serial path (a USB adapter with TX and RX bridged, two adapters
//! on a null-modem cable, or a pty pair) by sending known patterns and reading them back.
//!
//! For every setting (baud rate × character format) the same round of [`patterns`] is sent —
//! all 256 byte values, a DSMR 5.0 telegram from the simulator, and a long run of `0x55` — and
//! repeated while the setting's time budget lasts. What comes back is aligned with what was sent
//! (a minimal edit script, so a dropped byte counts as one lost byte, not as every later byte
//! changed) and reported per setting as a [`SettingResult`]: bytes sent and received, lost,
//! extra, changed (with the first differences), whether the line looks inverted, the round-trip
//! latency of the first byte, and the gaps between received bytes against the character time.
//!
//! For 7-bit formats only the 7 data bits are compared (a real UART does not carry the 8th).
//! A pty ignores baud rate and format: its settings say nothing about a line's, the line cannot
//! be inverted, and the gaps only show how the kernel hands bytes over.
//!
//! [`check`] judges an adapter: first a [`Probe`] (does anything come back at all? if not, the
//! likely causes), then every setting with, besides the counts, the round-trip latency of
//! single-byte writes (p50/p99, against what strict M-Bus and IEC 62056-21 timing tolerate) and
//! whether the adapter reports parity errors; then the highest clean baud rate per format and a
//! [`UseVerdict`] per use (DSMR P1 at 115200 8N1, M-Bus at 2400 8E1, IEC 62056-21 at 300 and
//! 9600 7E1).
//!
//! The ports are the transport layer's ([`meterlab_sim::transport::Port`]): [`open`] opens a
//! device (a pty slave path works too) with [`meterlab_sim::transport::serial::SerialPort`].

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use meterlab_sim::line::{host_bytes, Channel, ErrorPolicy, UartConfig};
use meterlab_sim::transport::serial::SerialPort;
use meterlab_sim::transport::Port;
use meterlab_sim::{MeterSpec, Seed};
use serde::Serialize;
use similar::{capture_diff_slices, Algorithm, DiffOp};

/// At most this many differences are kept per setting.
pub const MAX_DIFFERENCES: usize = 8;

/// Length of the run of `0x55` (`U`, alternating bits) in [`patterns`].
pub const RUN_0X55_LEN: usize = 1024;

/// One known byte pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// Short name for reports (`all-256`, `dsmr-5.0`, `0x55-run`).
    pub name: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The patterns of one round: all 256 byte values in order, one DSMR 5.0 telegram (simulator
/// profile `dsmr-5.0`, seed 1, first push), and [`RUN_0X55_LEN`] bytes of `0x55`.
pub fn patterns() -> Vec<Pattern> {
    let telegram = MeterSpec::new("dsmr-5.0")
        .build(Seed(1))
        .map(|mut meter| {
            meter
                .push()
                .into_iter()
                .flat_map(|e| e.bytes)
                .collect::<Vec<u8>>()
        })
        .unwrap_or_else(|e| {
            tracing::warn!("no DSMR telegram from the simulator: {e}");
            b"/XMX5LGBBFFB231237753\r\n\r\n!\r\n".to_vec()
        });
    vec![
        Pattern {
            name: "all-256",
            bytes: (0..=255u8).collect(),
        },
        Pattern {
            name: "dsmr-5.0",
            bytes: telegram,
        },
        Pattern {
            name: "0x55-run",
            bytes: vec![0x55; RUN_0X55_LEN],
        },
    ]
}

/// How [`run`] checks the path.
#[derive(Clone, Debug)]
pub struct LoopbackOptions {
    /// The settings to try, in order.
    pub settings: Vec<UartConfig>,
    /// Time budget per setting: rounds of patterns are repeated while it lasts (at least one
    /// round is always sent).
    pub seconds: f64,
    /// The path is a pty: baud and format are ignored by it, inversion cannot be determined.
    pub pty: bool,
    /// How long the receiver must stay silent after the last byte before a pattern is
    /// considered complete; `None`: 100 ms or 20 character times, whichever is longer.
    pub quiet: Option<Duration>,
}

impl Default for LoopbackOptions {
    fn default() -> Self {
        LoopbackOptions {
            settings: Vec::new(),
            seconds: 1.0,
            pty: false,
            quiet: None,
        }
    }
}

/// One difference between what was sent and what came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The pattern it is in.
    pub pattern: &'static str,
    /// Offset in the sent pattern (for an extra byte: where it was inserted).
    pub offset: usize,
    /// The byte sent; `None` for an extra byte.
    pub sent: Option<u8>,
    /// The byte received; `None` for a lost byte.
    pub received: Option<u8>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let byte = |b: Option<u8>| b.map_or_else(|| "--".to_owned(), |b| format!("{b:02X}"));
        write!(
            f,
            "{}@{}:{}>{}",
            self.pattern,
            self.offset,
            byte(self.sent),
            byte(self.received)
        )
    }
}

/// Whether the path inverts the line (idle low: every character arrives as its bit-inverse
/// under a shifted frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inversion {
    /// The bytes arrived (mostly) intact: not inverted.
    No,
    /// What arrived is what the line model gives for an inverted line.
    Yes,
    /// Bytes changed, but not the way an inverted line changes them.
    Unclear,
    /// A pty has no line levels.
    NotDeterminable,
}

impl Inversion {
    /// The table's word for it.
    pub fn label(self) -> &'static str {
        match self {
            Inversion::No => "no",
            Inversion::Yes => "YES",
            Inversion::Unclear => "unclear",
            Inversion::NotDeterminable => "n/a (pty)",
        }
    }
}

/// What one pattern did once.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatternResult {
    /// The pattern.
    pub pattern: &'static str,
    /// Bytes sent.
    pub sent: usize,
    /// Bytes received.
    pub received: usize,
    /// Sent bytes that did not arrive.
    pub lost: usize,
    /// Received bytes that were not sent.
    pub extra: usize,
    /// Bytes that arrived with another value.
    pub changed: usize,
    /// From the first write to the first received byte, in microseconds (`None`: nothing came).
    pub latency_us: Option<f64>,
}

/// What one setting did, all rounds together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SettingResult {
    /// The setting, e.g. `9600 8E1`.
    pub setting: String,
    /// Bytes sent.
    pub sent: usize,
    /// Bytes received.
    pub received: usize,
    /// Sent bytes that did not arrive.
    pub lost: usize,
    /// Received bytes that were not sent.
    pub extra: usize,
    /// Bytes that arrived with another value.
    pub changed: usize,
    /// The first differences (at most [`MAX_DIFFERENCES`]).
    pub differences: Vec<Difference>,
    /// Whether the line looks inverted.
    pub inverted: Inversion,
    /// Median first-byte round-trip latency over the patterns sent, in microseconds.
    pub latency_us: Option<f64>,
    /// Median gap between consecutive received bytes, in microseconds (bytes returned by one
    /// `read` share a time stamp, so USB adapters show many zero gaps).
    pub gap_p50_us: Option<f64>,
    /// 99th percentile of the gaps between consecutive received bytes, in microseconds.
    pub gap_p99_us: Option<f64>,
    /// The character time of the setting, in microseconds.
    pub char_time_us: f64,
    /// Every pattern sent, in order.
    pub patterns: Vec<PatternResult>,
    /// Round-trip time of a one-byte write until it is read back, median, in microseconds
    /// (the character's own time on the line included).
    pub rtt_p50_us: Option<f64>,
    /// Its 99th percentile.
    pub rtt_p99_us: Option<f64>,
    /// Whether the adapter reports parity errors (formats with parity, two ports).
    pub parity_errors: ParityCheck,
    /// The port refused the setting (a format or rate the adapter or its driver does not
    /// support): why. Nothing was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
}

/// Whether the receiving side reports parity errors: bytes sent with the opposite parity are
/// dropped or marked (reported), or arrive as good bytes (not reported: a reader cannot tell
/// a corrupted byte from a good one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParityCheck {
    /// Wrong-parity bytes were dropped or changed.
    Reported,
    /// Wrong-parity bytes arrived as good ones.
    NotReported,
    /// Not checked: no parity in the format, one port (TX and RX share their settings), or a
    /// pty (no parity at all).
    NotChecked,
}

impl ParityCheck {
    /// The table's word for it.
    pub fn label(self) -> &'static str {
        match self {
            ParityCheck::Reported => "reported",
            ParityCheck::NotReported => "NOT reported",
            ParityCheck::NotChecked => "-",
        }
    }

    /// From what came back for `sent` bytes sent with the wrong parity.
    pub fn judge(sent: &[u8], received: &[u8], mask: u8) -> Self {
        let a = align("parity", sent, received, mask);
        if a.lost + a.changed + a.extra == 0 {
            ParityCheck::NotReported
        } else {
            ParityCheck::Reported
        }
    }
}

impl SettingResult {
    /// The result of a setting before anything was sent: nothing counted, nothing measured.
    fn blank(config: &UartConfig) -> Self {
        SettingResult {
            setting: config.to_string(),
            sent: 0,
            received: 0,
            lost: 0,
            extra: 0,
            changed: 0,
            differences: Vec::new(),
            inverted: Inversion::No,
            latency_us: None,
            gap_p50_us: None,
            gap_p99_us: None,
            char_time_us: config.char_time_ns() / 1000.0,
            patterns: Vec::new(),
            rtt_p50_us: None,
            rtt_p99_us: None,
            parity_errors: ParityCheck::NotChecked,
            unsupported: None,
        }
    }

    /// Nothing lost, changed or extra.
    pub fn clean(&self) -> bool {
        self.unsupported.is_none()
            && self.lost == 0
            && self.extra == 0
            && self.changed == 0
            && self.received == self.sent
    }
}

/// Opens a serial device (or a pty slave path) through the transport layer, no flow control.
pub fn open(path: &str, config: &UartConfig) -> io::Result<SerialPort> {
    SerialPort::open(path, config)
}

/// Whether `path` is (a link to) a pty slave, `/dev/pts/N`.
pub fn is_pty(path: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|p| p.starts_with("/dev/pts"))
}

/// What came back for one pattern: the bytes, the time each read returned them, and when the
/// first write began.
struct Transfer {
    received: Vec<u8>,
    times: Vec<Instant>,
    write_start: Instant,
}

fn quiet_time(options: &LoopbackOptions, config: &UartConfig) -> Duration {
    options.quiet.unwrap_or_else(|| {
        Duration::from_millis(100).max(Duration::from_nanos((config.char_time_ns() * 20.0) as u64))
    })
}

/// Reads and discards whatever is pending (bytes of an earlier setting, noise on switching).
fn drain(rx: &mut dyn Port, quiet: Duration) -> io::Result<usize> {
    let mut buf = [0u8; 1024];
    let mut dropped = 0;
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        let n = rx.read(&mut buf, Duration::from_millis(5))?;
        if n > 0 {
            dropped += n;
            last = Instant::now();
        }
    }
    Ok(dropped)
}

/// Receive loop shared by both modes; `read` reads what arrived within a timeout, `write_step`
/// writes the next chunk (or nothing) and says whether everything has been written.
fn receive_loop(
    mut read: impl FnMut(&mut [u8], Duration) -> io::Result<usize>,
    expected: usize,
    quiet: Duration,
    mut write_step: impl FnMut() -> io::Result<bool>,
) -> io::Result<(Vec<u8>, Vec<Instant>)> {
    let mut buf = [0u8; 4096];
    let mut received = Vec::with_capacity(expected);
    let mut times = Vec::with_capacity(expected);
    let mut last = Instant::now();
    loop {
        let written = write_step()?;
        let timeout = if written {
            Duration::from_millis(2)
        } else {
            Duration::ZERO
        };
        let n = read(&mut buf, timeout)?;
        let now = Instant::now();
        if n > 0 {
            received.extend_from_slice(buf.get(..n).unwrap_or_default());
            times.extend(std::iter::repeat(now).take(n));
            last = now;
        }
        if written {
            let idle = now.duration_since(last);
            // Everything back: a short grace period for extra bytes; otherwise the full quiet.
            let enough = received.len() >= expected && idle >= quiet.min(Duration::from_millis(10));
            if enough || idle >= quiet {
                break;
            }
        }
    }
    Ok((received, times))
}

/// Chunk written at once on one port: about 2 ms of line time (a pty: 256 bytes).
fn chunk_len(options: &LoopbackOptions, config: &UartConfig) -> usize {
    if options.pty {
        256
    } else {
        ((2e6 / config.char_time_ns()) as usize).clamp(1, 256)
    }
}

/// Sends `bytes` on `tx` and reads them back on `rx` (separate ports: a writer thread).
fn transfer_pair(
    tx: &mut dyn Port,
    rx: &mut dyn Port,
    bytes: &[u8],
    chunk: usize,
    quiet: Duration,
) -> io::Result<Transfer> {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let done = &done;
        let writer = s.spawn(move || -> io::Result<Instant> {
            let start = Instant::now();
            let result = bytes.chunks(chunk).try_for_each(|c| tx.write(c));
            done.store(true, std::sync::atomic::Ordering::Release);
            result.map(|()| start)
        });
        let got = receive_loop(
            |buf, t| rx.read(buf, t),
            bytes.len(),
            quiet,
            || Ok(done.load(std::sync::atomic::Ordering::Acquire)),
        );
        let write_start = writer
            .join()
            .map_err(|_| io::Error::other("the writer thread panicked"))??;
        let (received, times) = got?;
        Ok(Transfer {
            received,
            times,
            write_start,
        })
    })
}

/// Sends `bytes` on `port` and reads them back on the same port (TX–RX bridged): chunks are
/// written between reads, so time stamps are as fine as a chunk (about 2 ms).
fn transfer_bridged(
    port: &mut dyn Port,
    bytes: &[u8],
    chunk: usize,
    quiet: Duration,
) -> io::Result<Transfer> {
    let write_start = Instant::now();
    let mut chunks = bytes.chunks(chunk);
    // The write and the read need the port in turn: a cell lets the closure write between reads.
    let port = std::cell::RefCell::new(port);
    let mut step = || -> io::Result<bool> {
        match chunks.next() {
            Some(c) => {
                port.borrow_mut().write(c)?;
                Ok(false)
            }
            None => Ok(true),
        }
    };
    let (received, times) = receive_loop(
        |buf, t| port.borrow_mut().read(buf, t),
        bytes.len(),
        quiet,
        &mut step,
    )?;
    Ok(Transfer {
        received,
        times,
        write_start,
    })
}

/// Counts of an alignment of `sent` and `received` (after masking to the data bits).
struct Alignment {
    lost: usize,
    extra: usize,
    changed: usize,
    differences: Vec<Difference>,
}

fn align(pattern: &'static str, sent: &[u8], received: &[u8], mask: u8) -> Alignment {
    let old: Vec<u8> = sent.iter().map(|b| b & mask).collect();
    let new: Vec<u8> = received.iter().map(|b| b & mask).collect();
    let mut a = Alignment {
        lost: 0,
        extra: 0,
        changed: 0,
        differences: Vec::new(),
    };
    let note = |d: Difference, list: &mut Vec<Difference>| {
        if list.len() < MAX_DIFFERENCES {
            list.push(d);
        }
    };
    let byte_at = |v: &[u8], i: usize| v.get(i).copied();
    for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                a.lost += old_len;
                for i in old_index..old_index + old_len {
                    let d = Difference {
                        pattern,
                        offset: i,
                        sent: byte_at(sent, i),
                        received: None,
                    };
                    note(d, &mut a.differences);
                }
            }
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => {
                a.extra += new_len;
                for j in new_index..new_index + new_len {
                    let d = Difference {
                        pattern,
                        offset: old_index,
                        sent: None,
                        received: byte_at(received, j),
                    };
                    note(d, &mut a.differences);
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let both = old_len.min(new_len);
                a.changed += both;
                a.lost += old_len - both;
                a.extra += new_len - both;
                for k in 0..old_len.max(new_len) {
                    let d = Difference {
                        pattern,
                        offset: old_index + k.min(old_len),
                        sent: (k < old_len)
                            .then(|| byte_at(sent, old_index + k))
                            .flatten(),
                        received: (k < new_len)
                            .then(|| byte_at(received, new_index + k))
                            .flatten(),
                    };
                    note(d, &mut a.differences);
                }
            }
        }
    }
    a
}

/// What the line model gives for `bytes` sent with `config` and received by a UART with the
/// same settings on an inverted line.
fn through_inverted_line(config: &UartConfig, bytes: &[u8]) -> Vec<u8> {
    let mut line = Channel::new(*config, config.inverted(), Vec::new(), Seed(0));
    line.send(0, bytes);
    host_bytes(&line.receive_all(), ErrorPolicy::Pass)
}

fn percentile(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).map(|&ns| ns as f64 / 1000.0)
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// The probe's bytes: short, every bit pattern of a character's edges.
pub const PROBE: &[u8] = b"\x55meterlab\xAA\r\n";

/// Does anything come back at all? Sent once before the settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The setting it was sent at.
    pub setting: String,
    /// Bytes sent.
    pub sent: usize,
    /// Bytes that came back (any value).
    pub received: usize,
    /// Why nothing came back, most likely first (empty when something did).
    pub likely_causes: Vec<String>,
}

impl Probe {
    /// Something came back.
    pub fn came_back(&self) -> bool {
        self.received > 0
    }
}

/// The likely causes of silence on the path.
fn silence_causes(bridged: bool) -> Vec<String> {
    let wiring = if bridged {
        "TX is not bridged to RX: put a jumper between the adapter's TX and RX pins (or give \
         the receiving adapter with --rx)"
    } else {
        "TX of --tx is not wired to RX of --rx: a null-modem connection crosses TX and RX and \
         joins GND"
    };
    vec![
        wiring.to_string(),
        "the wrong port: check which device the adapter is (`dmesg`, /dev/serial/by-id/)"
            .to_string(),
        "flow control: meterlab uses none, but an adapter that waits for CTS (RTS/CTS wired or \
         forced on) sends nothing until it is given; tie CTS to RTS or switch it off"
            .to_string(),
    ]
}

/// Sends [`PROBE`] at `config` and says whether anything came back.
fn probe<'p>(
    tx: &mut dyn Port,
    mut rx: Option<&mut (dyn Port + 'p)>,
    config: &UartConfig,
    quiet: Duration,
) -> io::Result<Probe> {
    tx.set_uart(config)?;
    if let Some(rx) = rx.as_deref_mut() {
        rx.set_uart(config)?;
    }
    let bridged = rx.is_none();
    let t = match rx {
        Some(rx) => transfer_pair(tx, rx, PROBE, PROBE.len(), quiet)?,
        None => transfer_bridged(tx, PROBE, PROBE.len(), quiet)?,
    };
    let received = t.received.len();
    Ok(Probe {
        setting: config.to_string(),
        sent: PROBE.len(),
        received,
        likely_causes: if received == 0 {
            silence_causes(bridged)
        } else {
            Vec::new()
        },
    })
}

/// One-byte writes timed until they come back, per setting.
pub const LATENCY_WRITES: usize = 20;

/// Round-trip times (µs) of [`LATENCY_WRITES`] one-byte writes (fewer when some never return
/// within `timeout`).
fn round_trips(
    tx: &mut dyn Port,
    mut rx: Option<&mut dyn Port>,
    timeout: Duration,
) -> io::Result<Vec<f64>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    for _ in 0..LATENCY_WRITES {
        let start = Instant::now();
        tx.write(&[0x5A])?;
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            let n = match rx.as_deref_mut() {
                Some(rx) => rx.read(&mut buf, left.min(Duration::from_millis(5)))?,
                None => tx.read(&mut buf, left.min(Duration::from_millis(5)))?,
            };
            if n > 0 {
                out.push(start.elapsed().as_secs_f64() * 1e6);
                break;
            }
        }
    }
    Ok(out)
}

/// The same format with the opposite parity (`None` without parity).
fn opposite_parity(config: &UartConfig) -> Option<UartConfig> {
    use meterlab_sim::line::Parity;
    let parity = match config.parity {
        Parity::Even => Parity::Odd,
        Parity::Odd => Parity::Even,
        _ => return None,
    };
    Some(UartConfig { parity, ..*config })
}

/// Sends all 256 byte values with the opposite parity from `tx` and sees what `rx` makes of
/// them.
fn parity_check(
    tx: &mut dyn Port,
    rx: &mut dyn Port,
    config: &UartConfig,
    quiet: Duration,
    chunk: usize,
) -> io::Result<ParityCheck> {
    let Some(wrong) = opposite_parity(config) else {
        return Ok(ParityCheck::NotChecked);
    };
    tx.set_uart(&wrong)?;
    let sent: Vec<u8> = (0..=255u8).collect();
    let t = transfer_pair(tx, rx, &sent, chunk, quiet);
    tx.set_uart(config)?;
    let t = t?;
    Ok(ParityCheck::judge(&sent, &t.received, config.data_mask()))
}

/// Runs every setting of `options` over the path: `tx` sends; `rx` receives (`None`: `tx` has
/// TX and RX bridged and receives itself). Ports that frame characters themselves (real UARTs)
/// are switched to each setting with [`Port::set_uart`].
pub fn run(
    tx: &mut dyn Port,
    mut rx: Option<&mut dyn Port>,
    options: &LoopbackOptions,
) -> io::Result<Vec<SettingResult>> {
    let round = patterns();
    let mut results = Vec::new();
    for config in &options.settings {
        let set = tx.set_uart(config).and_then(|()| match rx.as_deref_mut() {
            Some(rx) => rx.set_uart(config),
            None => Ok(()),
        });
        if let Err(e) = set {
            tracing::warn!(%config, "the port refused the setting: {e}");
            results.push(SettingResult {
                inverted: Inversion::NotDeterminable,
                unsupported: Some(e.to_string()),
                ..SettingResult::blank(config)
            });
            continue;
        }
        let quiet = quiet_time(options, config);
        let chunk = chunk_len(options, config);
        let stale = match rx.as_deref_mut() {
            Some(rx) => drain(rx, Duration::from_millis(50))?,
            None => drain(tx, Duration::from_millis(50))?,
        };
        if stale > 0 {
            tracing::info!(%config, stale, "discarded bytes pending before the setting");
        }
        let mask = config.data_mask();
        let started = Instant::now();
        let mut result = SettingResult::blank(config);
        // A round of every pattern takes long on a slow line (8772 characters: 40 s at
        // 2400 8E1): there the round is the 256 byte values only.
        let full_ns: f64 =
            round.iter().map(|p| p.bytes.len() as f64).sum::<f64>() * config.char_time_ns();
        let round: Vec<&Pattern> = if options.pty || full_ns <= 3e9 * options.seconds.max(1.0) {
            round.iter().collect()
        } else {
            round.iter().filter(|p| p.name == "all-256").collect()
        };
        let mut gaps: Vec<u64> = Vec::new();
        let mut latencies = Vec::new();
        // Bytes matching what an inverted line would give, over all patterns.
        let mut inverted_equal = 0usize;
        let mut inverted_total = 0usize;
        loop {
            for p in round.iter().copied() {
                let t = match rx.as_deref_mut() {
                    Some(rx) => transfer_pair(tx, rx, &p.bytes, chunk, quiet)?,
                    None => transfer_bridged(tx, &p.bytes, chunk, quiet)?,
                };
                let a = align(p.name, &p.bytes, &t.received, mask);
                let latency_us = t
                    .times
                    .first()
                    .map(|first| first.duration_since(t.write_start).as_secs_f64() * 1e6);
                if let Some(l) = latency_us {
                    latencies.push(l);
                }
                gaps.extend(t.times.windows(2).map(|w| match w {
                    [a, b] => u64::try_from(b.duration_since(*a).as_nanos()).unwrap_or(u64::MAX),
                    _ => 0,
                }));
                if !options.pty && a.changed + a.lost + a.extra > 0 {
                    let model = through_inverted_line(config, &p.bytes);
                    let same = align(p.name, &model, &t.received, mask);
                    inverted_equal += model.len().saturating_sub(same.lost + same.changed);
                    inverted_total += model.len().max(t.received.len());
                }
                result.sent += p.bytes.len();
                result.received += t.received.len();
                result.lost += a.lost;
                result.extra += a.extra;
                result.changed += a.changed;
                for d in a.differences {
                    if result.differences.len() < MAX_DIFFERENCES {
                        result.differences.push(d);
                    }
                }
                result.patterns.push(PatternResult {
                    pattern: p.name,
                    sent: p.bytes.len(),
                    received: t.received.len(),
                    lost: a.lost,
                    extra: a.extra,
                    changed: a.changed,
                    latency_us,
                });
            }
            if started.elapsed().as_secs_f64() >= options.seconds {
                break;
            }
        }
        let timeout = Duration::from_millis(500).max(quiet);
        let mut rtts = match rx.as_deref_mut() {
            Some(rx) => {
                drain(rx, Duration::from_millis(20))?;
                round_trips(tx, Some(rx), timeout)?
            }
            None => {
                drain(tx, Duration::from_millis(20))?;
                round_trips(tx, None, timeout)?
            }
        };
        rtts.sort_by(f64::total_cmp);
        let rtts_ns: Vec<u64> = rtts.iter().map(|us| (us * 1000.0) as u64).collect();
        result.rtt_p50_us = percentile(&rtts_ns, 0.50);
        result.rtt_p99_us = percentile(&rtts_ns, 0.99);
        if let (Some(rx), false) = (rx.as_deref_mut(), options.pty) {
            drain(rx, Duration::from_millis(20))?;
            result.parity_errors = parity_check(tx, rx, config, quiet, chunk)?;
        }
        gaps.sort_unstable();
        result.gap_p50_us = percentile(&gaps, 0.50);
        result.gap_p99_us = percentile(&gaps, 0.99);
        result.latency_us = median(&mut latencies);
        let bad = result.changed + result.lost + result.extra;
        result.inverted = if options.pty {
            Inversion::NotDeterminable
        } else if bad * 2 < result.sent {
            Inversion::No
        } else if inverted_total > 0 && inverted_equal * 10 >= inverted_total * 8 {
            Inversion::Yes
        } else {
            Inversion::Unclear
        };
        tracing::info!(setting = %result.setting, lost = result.lost, changed = result.changed, "setting done");
        results.push(result);
    }
    Ok(results)
}

fn micros(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(us) if us >= 10_000.0 => format!("{:.1}ms", us / 1000.0),
        Some(us) => format!("{us:.0}us"),
    }
}

/// How long after its request a strict M-Bus master waits beyond 330 bit times (EN 13757-2:
/// a slave answers within 11 bit times and 330 bit times + 50 ms): adapter latency beyond
/// this makes replies late.
pub const MBUS_MARGIN_US: f64 = 50_000.0;
/// The shortest reaction time of an IEC 62056-21 meter (20 ms; 200 ms is the usual minimum):
/// a reader whose adapter holds its option select longer switches baud rate too late or too
/// early.
pub const IEC_FAST_REACTION_US: f64 = 20_000.0;
/// The usual minimum IEC 62056-21 reaction time.
pub const IEC_REACTION_US: f64 = 200_000.0;

/// What a use of the adapter needs and whether it gets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UseVerdict {
    /// The use, e.g. `M-Bus (2400 8E1)`.
    pub name: &'static str,
    /// The outcome.
    pub status: UseStatus,
    /// Why, in a sentence or two.
    pub reason: String,
}

/// The outcome for one use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UseStatus {
    /// Every setting it needs is clean, and the timing is fine.
    Ok,
    /// Clean, but something may bite (latency near a limit, parity errors not reported).
    Warn,
    /// A setting it needs is not clean, or the latency breaks its timing.
    Fail,
    /// Its settings were not among those tried.
    NotTested,
    /// On a pty: bytes pass, the line settings are not checked.
    Pty,
}

impl UseStatus {
    /// The report's word for it.
    pub fn label(self) -> &'static str {
        match self {
            UseStatus::Ok => "OK",
            UseStatus::Warn => "WARN",
            UseStatus::Fail => "FAIL",
            UseStatus::NotTested => "not tested",
            UseStatus::Pty => "pty only",
        }
    }
}

/// The uses judged: a name and the settings it needs.
pub const USES: [(&str, &[&str]); 3] = [
    ("DSMR P1 (115200 8N1)", &["115200 8N1"]),
    ("M-Bus (2400 8E1)", &["2400 8E1"]),
    ("IEC 62056-21 (300->9600 7E1)", &["300 7E1", "9600 7E1"]),
];

/// How much of a round trip is not the character's own time on the line, p99 (µs). A pty has
/// no line: all of it.
fn excess_p99(r: &SettingResult, pty: bool) -> Option<f64> {
    let line = if pty { 0.0 } else { r.char_time_us };
    r.rtt_p99_us.map(|rtt| (rtt - line).max(0.0))
}

fn judge_use(
    name: &'static str,
    needs: &[&str],
    probe: &Probe,
    results: &[SettingResult],
    pty: bool,
) -> UseVerdict {
    let verdict = |status, reason: String| UseVerdict {
        name,
        status,
        reason,
    };
    if !probe.came_back() {
        return verdict(UseStatus::Fail, "nothing came back at all".into());
    }
    let mut found = Vec::new();
    for need in needs {
        match results.iter().find(|r| r.setting == *need) {
            Some(r) => found.push(r),
            None => {
                let (baud, format) = need.split_once(' ').unwrap_or((need, ""));
                return verdict(
                    UseStatus::NotTested,
                    format!("{need} was not tried (add {baud} to --baud and {format} to --format)"),
                );
            }
        }
    }
    if let Some(r) = found.iter().find(|r| r.unsupported.is_some()) {
        return verdict(
            UseStatus::Fail,
            format!(
                "{}: not supported by the port ({})",
                r.setting,
                r.unsupported.as_deref().unwrap_or("")
            ),
        );
    }
    if let Some(r) = found.iter().find(|r| !r.clean()) {
        return verdict(
            UseStatus::Fail,
            format!(
                "{}: {} of {} bytes lost, {} changed, {} extra",
                r.setting, r.lost, r.sent, r.changed, r.extra
            ),
        );
    }
    let mut warnings = Vec::new();
    let mut fail = Vec::new();
    for r in &found {
        let Some(excess) = excess_p99(r, pty) else {
            fail.push(format!(
                "{}: no one-byte write came back in time",
                r.setting
            ));
            continue;
        };
        let ms = excess / 1000.0;
        let beyond = if pty {
            "(a pty: no line time to subtract)"
        } else {
            "more than the character"
        };
        if name.starts_with("M-Bus") && excess > MBUS_MARGIN_US {
            fail.push(format!(
                "{}: round trips take up to {ms:.1} ms {beyond}: over the 50 ms a strict M-Bus \
                 master allows beyond 330 bit times, replies come late",
                r.setting
            ));
        }
        if name.starts_with("IEC") {
            if excess > IEC_REACTION_US {
                fail.push(format!(
                    "{}: round trips take up to {ms:.1} ms {beyond}: longer than \
                     the 200 ms reaction time, the baud switch after the option select fails",
                    r.setting
                ));
            } else if excess > IEC_FAST_REACTION_US {
                warnings.push(format!(
                    "{}: round trips take up to {ms:.1} ms {beyond}: a meter with \
                     a 20 ms reaction time answers before a reader on this adapter has switched \
                     baud",
                    r.setting
                ));
            }
        }
        if r.parity_errors == ParityCheck::NotReported {
            warnings.push(format!(
                "{}: parity errors are not reported: corrupted bytes reach the reader as good \
                 ones (only checksums catch them)",
                r.setting
            ));
        }
    }
    if !fail.is_empty() {
        fail.extend(warnings);
        return verdict(UseStatus::Fail, fail.join("; "));
    }
    if !warnings.is_empty() {
        return verdict(UseStatus::Warn, warnings.join("; "));
    }
    if pty {
        return verdict(
            UseStatus::Pty,
            "bytes pass and in time, but a pty ignores baud rate and format: the settings are \
             not checked"
                .into(),
        );
    }
    let rtt = found
        .iter()
        .filter_map(|r| r.rtt_p99_us)
        .fold(0.0f64, f64::max);
    verdict(
        UseStatus::Ok,
        format!("clean, round trips within {}", micros(Some(rtt))),
    )
}

/// Everything [`check`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopbackReport {
    /// The path is a pty.
    pub pty: bool,
    /// Whether anything came back at all.
    pub probe: Probe,
    /// Each setting (none when nothing came back).
    pub settings: Vec<SettingResult>,
    /// Per character format (`8N1`), the highest baud rate tried that was clean (`None`: none
    /// was).
    pub highest_clean: Vec<(String, Option<u32>)>,
    /// A verdict per use.
    pub uses: Vec<UseVerdict>,
}

impl LoopbackReport {
    /// Something came back and every setting was clean.
    pub fn clean(&self) -> bool {
        self.probe.came_back() && self.settings.iter().all(SettingResult::clean)
    }
}

/// Judges the path: the probe, then (if anything came back) every setting, the highest clean
/// baud rate per format and a verdict per use.
pub fn check(
    tx: &mut dyn Port,
    mut rx: Option<&mut dyn Port>,
    options: &LoopbackOptions,
) -> io::Result<LoopbackReport> {
    let Some(first) = options.settings.first().copied() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no settings"));
    };
    // At the first setting the port accepts (a refused one is reported with the settings).
    let mut tried = None;
    for config in &options.settings {
        let quiet = quiet_time(options, config).max(Duration::from_millis(300));
        match probe(tx, rx.as_deref_mut(), config, quiet) {
            Ok(p) => {
                tried = Some(Ok(p));
                break;
            }
            Err(e) => {
                tracing::warn!(%config, "cannot probe at this setting: {e}");
                tried = Some(Err(e));
            }
        }
    }
    let probe = match tried {
        Some(result) => result?,
        None => probe(tx, rx.as_deref_mut(), &first, quiet_time(options, &first))?,
    };
    let settings = if probe.came_back() {
        run(tx, rx, options)?
    } else {
        tracing::warn!("nothing came back: no setting checked");
        Vec::new()
    };
    let mut highest: Vec<(String, Option<u32>)> = Vec::new();
    for (config, r) in options.settings.iter().zip(&settings) {
        let format = r
            .setting
            .split_once(' ')
            .map_or(r.setting.clone(), |(_, f)| f.to_string());
        let clean = r.clean().then_some(config.baud);
        match highest.iter_mut().find(|(f, _)| *f == format) {
            Some((_, best)) => *best = (*best).max(clean),
            None => highest.push((format, clean)),
        }
    }
    let uses = USES
        .iter()
        .map(|(name, needs)| judge_use(name, needs, &probe, &settings, options.pty))
        .collect();
    Ok(LoopbackReport {
        pty: options.pty,
        probe,
        settings,
        highest_clean: highest,
        uses,
    })
}

/// The table for people: one line per setting, then the verdicts.
pub fn render_table(report: &LoopbackReport) -> String {
    let probe = &report.probe;
    if !probe.came_back() {
        let mut out = format!(
            "nothing came back: {} probe bytes sent at {}, 0 received. Likely causes:\n",
            probe.sent, probe.setting
        );
        for cause in &probe.likely_causes {
            out.push_str(&format!("  - {cause}\n"));
        }
        out.push_str("no setting checked\n");
        return out;
    }
    let results = &report.settings;
    let mut out = format!(
        "{:<14} {:>7} {:>7} {:>6} {:>6} {:>7} {:>9} {:>12} {:>9} {:>9} {:>8} {:>8} {:>8}  {}\n",
        "setting",
        "sent",
        "recv",
        "lost",
        "extra",
        "changed",
        "inverted",
        "parity errs",
        "rtt p50",
        "rtt p99",
        "gap p50",
        "gap p99",
        "char",
        "first differences (pattern@offset:sent>recv)"
    );
    for r in results {
        if let Some(why) = &r.unsupported {
            out.push_str(&format!(
                "{:<14} not supported by the port: {why}\n",
                r.setting
            ));
            continue;
        }
        let diffs = r
            .differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "{:<14} {:>7} {:>7} {:>6} {:>6} {:>7} {:>9} {:>12} {:>9} {:>9} {:>8} {:>8} {:>8}  {}\n",
            r.setting,
            r.sent,
            r.received,
            r.lost,
            r.extra,
            r.changed,
            r.inverted.label(),
            r.parity_errors.label(),
            micros(r.rtt_p50_us),
            micros(r.rtt_p99_us),
            micros(r.gap_p50_us),
            micros(r.gap_p99_us),
            micros(Some(r.char_time_us)),
            if diffs.is_empty() { "-".into() } else { diffs }
        ));
    }
    let highest: Vec<String> = report
        .highest_clean
        .iter()
        .map(|(format, baud)| match baud {
            Some(b) => format!("{format} {b}"),
            None => format!("{format} none"),
        })
        .collect();
    out.push_str(&format!(
        "highest clean baud rate: {}\n",
        highest.join(", ")
    ));
    if report.pty {
        out.push_str(
            "note: a pty ignores baud rate and format, so its settings say nothing about a \
             line's; inversion and parity cannot be determined and the gaps are the kernel's\n",
        );
    }
    for u in &report.uses {
        out.push_str(&format!(
            "{:<30} {:<10} {}\n",
            u.name,
            u.status.label(),
            u.reason
        ));
    }
    let bad = results.iter().filter(|r| !r.clean()).count();
    out.push_str(&format!(
        "{} of {} settings clean\n",
        results.len() - bad,
        results.len()
    ));
    out
}

/// The JSON report: `{"pty", "probe", "settings": [SettingResult…], "highest_clean", "uses"}`.
pub fn render_json(report: &LoopbackReport) -> serde_json::Result<String> {
    serde_json::to_string_pretty(report)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn alignment_counts_a_drop_as_one_lost_byte() {
        let sent: Vec<u8> = (0..=255u8).collect();
        let mut received = sent.clone();
        received.remove(100);
        received[10] = 0xEE;
        let a = align("all-256", &sent, &received, 0xFF);
        assert_eq!((a.lost, a.extra, a.changed), (1, 0, 1));
        let run = vec![0x55; 300];
        let a = align("0x55-run", &run, &run[..297], 0xFF);
        assert_eq!((a.lost, a.extra, a.changed), (3, 0, 0));
    }

    #[test]
    fn seven_bit_formats_compare_seven_bits() {
        let sent: Vec<u8> = (0..=255u8).collect();
        let received: Vec<u8> = sent.iter().map(|b| b & 0x7F).collect();
        let a = align("all-256", &sent, &received, 0x7F);
        assert_eq!((a.lost, a.extra, a.changed), (0, 0, 0));
    }

    #[test]
    fn parity_errors_are_reported_when_wrong_parity_bytes_do_not_arrive_intact() {
        let sent: Vec<u8> = (0..=255u8).collect();
        assert_eq!(
            ParityCheck::judge(&sent, &sent, 0xFF),
            ParityCheck::NotReported
        );
        // Dropped (IGNPAR) or marked (PARMRK: FF 00 before the byte).
        assert_eq!(
            ParityCheck::judge(&sent, &sent[..10], 0xFF),
            ParityCheck::Reported
        );
        let mut marked = vec![0xFF, 0x00];
        marked.extend_from_slice(&sent);
        assert_eq!(
            ParityCheck::judge(&sent, &marked, 0xFF),
            ParityCheck::Reported
        );
    }

    #[test]
    fn an_inverted_line_changes_the_bytes() {
        let config = UartConfig::new(9600, "8N1").expect("config");
        let bytes: Vec<u8> = (0..=255u8).collect();
        let model = through_inverted_line(&config, &bytes);
        assert_ne!(model, bytes);
    }
}
