//! The asynchronous serial character (a UART frame) and the two ends of a line, bit by bit.
//!
//! This models what a 16550-style UART does, in virtual time with nanosecond timestamps:
//!
//! - [`UartConfig`]: one end's settings, baud rate, character format (`8N1`, `7E1`, ...),
//!   signal polarity and clock error.
//! - [`Frame`]: the bit cells of one character: start bit (space), data bits LSB first, parity
//!   bit, stop bits (mark). Bit-level faults flip these cells.
//! - [`Wire`]: the line's level over time, stored as level transitions ([`Edge`]s): a long idle
//!   line costs nothing, and traffic costs O(number of edges).
//! - [`Transmitter`]: frames onto the wire. Bit edges fall at `t0 + round(i · bit_time)` from the
//!   start `t0` of a run of back-to-back characters, so rounding never accumulates.
//! - [`Receiver`]: a 16× oversampling receiver with its own settings: it hunts for a falling
//!   edge, confirms the start bit at its middle, then samples every bit at its middle, and reports
//!   each character with parity, framing and break flags ([`RxChar`]).
//!
//! Fast path: a character no bit-level fault touches can be put on the wire in closed form
//! ([`Transmitter::send_clean`]): the wire keeps the byte and its timing instead of its edges.
//! A receiver whose settings read such a character without doubt (same data bits, parity and
//! polarity, clock close enough that every sample falls well inside its cell, see
//! [`Receiver::reads_cleanly`]) and that is hunting at its start computes the character and its
//! stop-sample time directly; in every other case the character is turned into its edges first
//! ([`Wire`] does this on demand), so the result is exactly that of the bit-by-bit path.
//!
//! Levels: *mark* is logical 1 (idle, stop bits), *space* is logical 0 (start bit). On a wire
//! with [`Polarity::Normal`] mark is the high level; [`Polarity::Inverted`] swaps them, as a DSMR
//! P1 port does (its output is an open collector driven by an inverted signal).
//!
//! Sampling convention: a sample at time `t` sees the level *before* any edge at exactly `t`
//! (edges take effect just after their timestamp). With that, what a receiver decides up to `t`
//! never depends on a transmission that starts at `t` or later.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

/// The highest baud rate accepted; above it nanosecond timestamps get too coarse for 16×
/// oversampling.
pub const MAX_BAUD: u32 = 12_000_000;

/// The largest clock error accepted, in parts per million (±10 %).
pub const MAX_CLOCK_PPM: f64 = 100_000.0;

/// The most bit cells a character can have: start, 8 data bits, parity, 2 stop bits.
const MAX_CELLS: usize = 12;

/// What went wrong with line settings or a fault description.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LineError {
    /// A character format that is not data bits 5–8, a parity letter and stop bits.
    #[error(
        "invalid character format {0:?}: expected data bits 5-8, parity N, E, O, M or S and stop bits 1, 1.5 or 2, like \"8N1\""
    )]
    Format(String),
    /// A baud rate of 0 or above [`MAX_BAUD`].
    #[error("baud rate {0} out of range 1..={max}", max = MAX_BAUD)]
    Baud(u64),
    /// Data bits outside 5..=8 (set directly in a [`UartConfig`]).
    #[error("data bits {0} out of range 5..=8")]
    DataBits(u8),
    /// A clock error that is not a number or beyond ±[`MAX_CLOCK_PPM`].
    #[error("clock error {0} ppm out of range -{max}..={max}", max = MAX_CLOCK_PPM)]
    ClockPpm(f64),
    /// A settings string ([`UartConfig::from_str`]) that cannot be read.
    #[error("invalid serial settings {input:?}: {reason}")]
    Settings {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A fault whose parameters make no sense.
    #[error("invalid fault {fault}: {reason}")]
    Fault {
        /// The fault, as described by its `Display`.
        fault: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The parity bit of a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// No parity bit.
    None,
    /// The parity bit makes the number of 1s among data and parity bits even.
    Even,
    /// The parity bit makes the number of 1s among data and parity bits odd.
    Odd,
    /// The parity bit is always 1 (mark).
    Mark,
    /// The parity bit is always 0 (space).
    Space,
}

impl Parity {
    /// The parity bit for these data bits (already masked to the data width), `None` without a
    /// parity bit.
    pub fn bit(self, data: u8) -> Option<bool> {
        let odd_ones = data.count_ones() % 2 == 1;
        match self {
            Parity::None => None,
            Parity::Even => Some(odd_ones),
            Parity::Odd => Some(!odd_ones),
            Parity::Mark => Some(true),
            Parity::Space => Some(false),
        }
    }

    /// The letter in a format string: `N`, `E`, `O`, `M` or `S`.
    pub fn letter(self) -> char {
        match self {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
            Parity::Mark => 'M',
            Parity::Space => 'S',
        }
    }

    fn from_letter(c: char) -> Option<Self> {
        match c.to_ascii_uppercase() {
            'N' => Some(Parity::None),
            'E' => Some(Parity::Even),
            'O' => Some(Parity::Odd),
            'M' => Some(Parity::Mark),
            'S' => Some(Parity::Space),
            _ => None,
        }
    }
}

/// The length of the stop period that ends a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopBits {
    /// One bit time.
    One,
    /// One and a half bit times (5-bit codes, old teleprinters).
    OneAndHalf,
    /// Two bit times.
    Two,
}

impl StopBits {
    /// The stop period in bit times.
    pub fn bits(self) -> f64 {
        match self {
            StopBits::One => 1.0,
            StopBits::OneAndHalf => 1.5,
            StopBits::Two => 2.0,
        }
    }

    /// How many bit cells the stop period is made of (1.5 stop bits are one long cell).
    pub fn cells(self) -> usize {
        match self {
            StopBits::One | StopBits::OneAndHalf => 1,
            StopBits::Two => 2,
        }
    }

    fn text(self) -> &'static str {
        match self {
            StopBits::One => "1",
            StopBits::OneAndHalf => "1.5",
            StopBits::Two => "2",
        }
    }
}

/// Which wire level is mark (logical 1, idle).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Mark is the high level: an idle line is high.
    Normal,
    /// Mark is the low level: an idle line is low (a DSMR P1 port read without an inverter).
    Inverted,
}

/// One end's serial settings.
///
/// Text form (`FromStr`, `Display`, serde): the baud rate, then in any order the character format
/// (`8N1`, `7E1`, `8E2`, `8N1.5`), `inverted` (or `normal`) and a clock error like `+150ppm`:
/// `"115200 8N1"`, `"9600 7E1 inverted"`, `"2400 8E1 +150ppm"`. Serde also accepts a map
/// `{baud, format, polarity?, clock_ppm?}`.
///
/// The fields are public for convenience; values set directly must pass [`UartConfig::validate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UartConfig {
    /// Nominal bits per second.
    pub baud: u32,
    /// Data bits per character, 5..=8.
    pub data_bits: u8,
    /// The parity bit.
    pub parity: Parity,
    /// The stop period.
    pub stop_bits: StopBits,
    /// Which level is mark.
    pub polarity: Polarity,
    /// This end's clock error in parts per million: positive runs fast (shorter bits).
    pub clock_ppm: f64,
}

impl UartConfig {
    /// Settings with normal polarity and an exact clock: `UartConfig::new(9600, "7E1")`.
    pub fn new(baud: u32, format: &str) -> Result<Self, LineError> {
        let (data_bits, parity, stop_bits) = parse_format(format)?;
        let config = UartConfig {
            baud,
            data_bits,
            parity,
            stop_bits,
            polarity: Polarity::Normal,
            clock_ppm: 0.0,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the ranges: baud 1..=[`MAX_BAUD`], data bits 5..=8, clock error finite and within
    /// ±[`MAX_CLOCK_PPM`]. Settings from `new`, `FromStr` and serde always pass.
    pub fn validate(&self) -> Result<(), LineError> {
        if self.baud == 0 || self.baud > MAX_BAUD {
            return Err(LineError::Baud(u64::from(self.baud)));
        }
        if !(5..=8).contains(&self.data_bits) {
            return Err(LineError::DataBits(self.data_bits));
        }
        if !self.clock_ppm.is_finite() || self.clock_ppm.abs() > MAX_CLOCK_PPM {
            return Err(LineError::ClockPpm(self.clock_ppm));
        }
        Ok(())
    }

    /// Bit times per character: 1 start + data + parity + stop (1, 1.5 or 2).
    pub fn bits_per_char(&self) -> f64 {
        let parity = if self.parity == Parity::None {
            0.0
        } else {
            1.0
        };
        1.0 + f64::from(self.data_bits) + parity + self.stop_bits.bits()
    }

    /// One bit time in nanoseconds as this end's clock makes it: `1e9 / (baud · (1 + ppm/1e6))`.
    pub fn bit_time_ns(&self) -> f64 {
        1e9 / (f64::from(self.baud) * (1.0 + self.clock_ppm / 1e6))
    }

    /// One character time in nanoseconds (characters sent back to back).
    pub fn char_time_ns(&self) -> f64 {
        self.bits_per_char() * self.bit_time_ns()
    }

    /// The same settings with inverted polarity.
    pub fn inverted(self) -> Self {
        UartConfig {
            polarity: Polarity::Inverted,
            ..self
        }
    }

    /// The same settings with this clock error (it must stay within ±[`MAX_CLOCK_PPM`]).
    pub fn with_ppm(self, ppm: f64) -> Self {
        UartConfig {
            clock_ppm: ppm,
            ..self
        }
    }

    /// The character format alone: `"8N1"`, `"7E1"`, `"8N1.5"`.
    pub fn format(&self) -> String {
        format!(
            "{}{}{}",
            self.data_bits,
            self.parity.letter(),
            self.stop_bits.text()
        )
    }

    /// The data bits of `byte` this format sends (the higher bits are ignored).
    pub fn data_mask(&self) -> u8 {
        (0xFFu16 >> (8 - self.data_bits.clamp(5, 8))) as u8
    }

    /// The wire level (`true` = high) of a logical level (`true` = mark) at this end.
    pub fn wire_level(&self, mark: bool) -> bool {
        mark == (self.polarity == Polarity::Normal)
    }

    /// Bit cells of one character: start, data, parity, stop (a 1.5-bit stop period is one
    /// cell).
    pub fn cells_per_char(&self) -> usize {
        1 + usize::from(self.data_bits.clamp(5, 8))
            + usize::from(self.parity != Parity::None)
            + self.stop_bits.cells()
    }

    /// Bit cells after the start bit up to and including the first stop bit: what a receiver
    /// samples after confirming the start bit.
    fn samples_after_start(&self) -> u64 {
        let parity = u64::from(self.parity != Parity::None);
        u64::from(self.data_bits) + parity + 1
    }
}

fn parse_format(format: &str) -> Result<(u8, Parity, StopBits), LineError> {
    let bad = || LineError::Format(format.to_owned());
    let mut chars = format.chars();
    let data_bits = match chars.next() {
        Some(c @ '5'..='8') => c as u8 - b'0',
        _ => return Err(bad()),
    };
    let parity = chars.next().and_then(Parity::from_letter).ok_or_else(bad)?;
    let stop_bits = match chars.as_str() {
        "1" => StopBits::One,
        "1.5" => StopBits::OneAndHalf,
        "2" => StopBits::Two,
        _ => return Err(bad()),
    };
    Ok((data_bits, parity, stop_bits))
}

impl FromStr for UartConfig {
    type Err = LineError;

    fn from_str(input: &str) -> Result<Self, LineError> {
        let fail = |reason: String| LineError::Settings {
            input: input.to_owned(),
            reason,
        };
        let mut tokens = input.split_whitespace();
        let baud_text = tokens.next().ok_or_else(|| {
            fail("empty, expected a baud rate and a format like \"9600 8N1\"".into())
        })?;
        let baud: u32 = baud_text
            .parse()
            .map_err(|_| fail(format!("{baud_text:?} is not a baud rate")))?;
        let mut format = None;
        let mut polarity = None;
        let mut ppm = None;
        for token in tokens {
            let lower = token.to_ascii_lowercase();
            if let Some(number) = lower.strip_suffix("ppm") {
                let value: f64 = number
                    .parse()
                    .map_err(|_| fail(format!("{token:?} is not a clock error like +150ppm")))?;
                if ppm.replace(value).is_some() {
                    return Err(fail("clock error given twice".into()));
                }
            } else if lower == "inverted" || lower == "normal" {
                let value = if lower == "inverted" {
                    Polarity::Inverted
                } else {
                    Polarity::Normal
                };
                if polarity.replace(value).is_some() {
                    return Err(fail("polarity given twice".into()));
                }
            } else {
                let value = parse_format(token).map_err(|e| fail(e.to_string()))?;
                if format.replace(value).is_some() {
                    return Err(fail("character format given twice".into()));
                }
            }
        }
        let (data_bits, parity, stop_bits) =
            format.ok_or_else(|| fail("no character format like 8N1".into()))?;
        let config = UartConfig {
            baud,
            data_bits,
            parity,
            stop_bits,
            polarity: polarity.unwrap_or(Polarity::Normal),
            clock_ppm: ppm.unwrap_or(0.0),
        };
        config.validate().map_err(|e| fail(e.to_string()))?;
        Ok(config)
    }
}

impl fmt::Display for UartConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.baud, self.format())?;
        if self.polarity == Polarity::Inverted {
            f.write_str(" inverted")?;
        }
        if self.clock_ppm != 0.0 {
            // f64's Display is the shortest text that reads back to the same value.
            let sign = if self.clock_ppm > 0.0 { "+" } else { "" };
            write!(f, " {sign}{}ppm", self.clock_ppm)?;
        }
        Ok(())
    }
}

impl serde::Serialize for UartConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The map form of [`UartConfig`] in a scenario.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UartMap {
    baud: u32,
    format: String,
    #[serde(default)]
    polarity: Option<Polarity>,
    #[serde(default)]
    clock_ppm: Option<f64>,
}

impl<'de> serde::Deserialize<'de> for UartConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UartConfig;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("serial settings like \"9600 8N1\" or a map {baud, format, polarity, clock_ppm}")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<UartConfig, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<UartConfig, A::Error> {
                use serde::de::Error;
                let raw: UartMap = serde::Deserialize::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                let config = UartConfig {
                    polarity: raw.polarity.unwrap_or(Polarity::Normal),
                    clock_ppm: raw.clock_ppm.unwrap_or(0.0),
                    ..UartConfig::new(raw.baud, &raw.format).map_err(A::Error::custom)?
                };
                config.validate().map_err(A::Error::custom)?;
                Ok(config)
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

/// One character as the receiver delivers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RxChar {
    /// The data bits, LSB first; bits above the receiver's data width are 0.
    pub byte: u8,
    /// When the receiver finished the character: the time it sampled the (first) stop bit.
    pub time_ns: u64,
    /// The parity bit sampled does not match the receiver's parity setting.
    pub parity_error: bool,
    /// The stop bit sampled as space.
    pub framing_error: bool,
    /// Every bit sampled, stop bit included, was space: a break (then also `framing_error`,
    /// and `byte` is 0).
    pub brk: bool,
}

/// The bit cells of one character as sent: start bit, data bits LSB first, parity bit, stop
/// bits; `true` is mark. Every cell is one bit time long except a 1.5-bit stop period, which is
/// one cell of 1.5 bit times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    cells: [bool; MAX_CELLS],
    len: usize,
}

impl Frame {
    /// The cells of `byte` in this format (bits above the data width are ignored).
    pub fn new(config: &UartConfig, byte: u8) -> Frame {
        let mut cells = [true; MAX_CELLS];
        let data_bits = usize::from(config.data_bits.clamp(5, 8));
        let data = byte & config.data_mask();
        cells[0] = false;
        for (i, cell) in cells[1..=data_bits].iter_mut().enumerate() {
            *cell = data >> i & 1 == 1;
        }
        let mut len = 1 + data_bits;
        if let Some(bit) = config.parity.bit(data) {
            cells[len] = bit;
            len += 1;
        }
        // Stop cells stay mark.
        len += config.stop_bits.cells();
        Frame { cells, len }
    }

    /// The cells, in the order sent.
    pub fn cells(&self) -> &[bool] {
        &self.cells[..self.len]
    }

    /// The cells, to be altered by bit-level faults.
    pub fn cells_mut(&mut self) -> &mut [bool] {
        &mut self.cells[..self.len]
    }
}

/// A change of the line level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// When the level changes, in ns since the start of the scenario.
    pub time_ns: u64,
    /// The level from then on: `true` is high.
    pub high: bool,
}

/// The level of one wire over time, as level transitions.
///
/// Edges are kept only until the receiver has sampled past them ([`Wire::forget_before`]);
/// consecutive edges always alternate (no edge repeats the level before it).
///
/// Characters sent with [`Transmitter::send_clean`] are kept in closed form after all edges
/// until a receiver reads them on its fast path or something needs their edges (a later
/// [`Wire::drive`], a receiver that samples them bit by bit); [`Wire::edges`] and
/// [`Wire::last_edge_ns`] see only the edges made so far ([`Wire::materialize`] makes all).
#[derive(Clone, Debug)]
pub struct Wire {
    initial_high: bool,
    base_high: bool,
    edges: VecDeque<Edge>,
    /// Characters in closed form, in time order, all after the last edge.
    clean: VecDeque<CleanChar>,
    /// Characters a receiver read from their closed form (fast path), for tests and benches.
    fast_reads: u64,
}

/// A character without bit-level faults, as [`Transmitter::send_frame`] would have driven it:
/// its byte, settings and place in the transmitter's run.
#[derive(Clone, Copy, Debug)]
struct CleanChar {
    config: UartConfig,
    byte: u8,
    /// The run's anchor and the character's position in it (bit times), as in [`Transmitter`].
    anchor_ns: u64,
    run_bits: f64,
    bit_ns: f64,
    /// The falling edge of its start bit.
    start_ns: u64,
}

impl CleanChar {
    /// Drives the edges [`Transmitter::send_frame`] drives for this character.
    fn drive_edges(&self, wire: &mut Wire) {
        let frame = Frame::new(&self.config, self.byte);
        for (i, &mark) in frame.cells().iter().enumerate() {
            let time = run_time(self.anchor_ns, self.run_bits, self.bit_ns, i as f64);
            wire.drive_edge(time, self.config.wire_level(mark));
        }
        let end_bits = self.run_bits + self.config.bits_per_char();
        let end = run_time(self.anchor_ns, end_bits, self.bit_ns, 0.0);
        wire.drive_edge(end, self.config.wire_level(true));
    }
}

/// The time `bits` bit times after position `run_bits` of a run anchored at `anchor_ns`.
fn run_time(anchor_ns: u64, run_bits: f64, bit_ns: f64, bits: f64) -> u64 {
    anchor_ns.saturating_add(round_to_u64((run_bits + bits) * bit_ns))
}

/// `x.round() as u64` (half away from zero, saturating, NaN to 0), without a libm call: the
/// integer part by truncation, then the fraction, which `x - trunc(x)` gives exactly.
/// Times in ns stay far below 2^62, where the signed conversions (one instruction each) apply.
#[inline]
fn round_to_u64(x: f64) -> u64 {
    if (0.0..SIGNED_RANGE).contains(&x) {
        let whole = x as i64;
        return whole as u64 + u64::from(x - whole as f64 >= 0.5);
    }
    let whole = x as u64;
    whole.saturating_add(u64::from(x - whole as f64 >= 0.5))
}

/// Below this, an `f64` converts to and from `i64` exactly in its integer part (2^62).
const SIGNED_RANGE: f64 = 4_611_686_018_427_387_904.0;

/// `n as f64`, with one conversion instruction for the values that fit an `i64`.
#[inline]
fn to_f64(n: u64) -> f64 {
    match i64::try_from(n) {
        Ok(small) => small as f64,
        Err(_) => n as f64,
    }
}

/// `x.ceil() as u64` (saturating, NaN to 0), without a libm call.
#[inline]
fn ceil_to_u64(x: f64) -> u64 {
    if (0.0..SIGNED_RANGE).contains(&x) {
        let whole = x as i64;
        return whole as u64 + u64::from((whole as f64) < x);
    }
    let whole = x as u64;
    whole.saturating_add(u64::from((whole as f64) < x && whole < u64::MAX))
}

impl Wire {
    /// A wire at this level from t = 0 on.
    pub fn new(initial_high: bool) -> Wire {
        Wire {
            initial_high,
            base_high: initial_high,
            edges: VecDeque::new(),
            clean: VecDeque::new(),
            fast_reads: 0,
        }
    }

    /// Turns every character kept in closed form into its edges.
    pub fn materialize(&mut self) {
        self.materialize_before(u64::MAX);
    }

    /// Turns the characters in closed form that start before `time_ns` into their edges.
    fn materialize_before(&mut self, time_ns: u64) {
        while let Some(clean) = self.clean.front().copied() {
            if clean.start_ns >= time_ns {
                break;
            }
            self.clean.pop_front();
            clean.drive_edges(self);
        }
    }

    /// Whether a character in closed form starting at `start_ns`, with this mark level, may be
    /// appended: the line must be at mark before it, with no edge at or after its start (the
    /// falling edge of its start bit must be a real edge).
    fn accepts_clean(&self, start_ns: u64, mark_high: bool) -> bool {
        if start_ns == 0 {
            return false;
        }
        match (self.clean.back(), self.edges.back()) {
            (Some(last), _) => last.config.wire_level(true) == mark_high,
            (None, Some(edge)) => edge.time_ns < start_ns && edge.high == mark_high,
            (None, None) => self.base_high == mark_high,
        }
    }

    /// How many characters receivers read from their closed form (the fast path).
    pub fn fast_reads(&self) -> u64 {
        self.fast_reads
    }

    /// The level at t = 0 (after anything driven at exactly 0).
    pub fn initial_high(&self) -> bool {
        self.initial_high
    }

    /// Drives the wire to a level from `time_ns` on. Times must not decrease (an earlier time is
    /// treated as the latest one); driving at the time of the last edge replaces that edge.
    pub fn drive(&mut self, time_ns: u64, high: bool) {
        self.materialize();
        self.drive_edge(time_ns, high);
    }

    /// [`Wire::drive`] with no characters in closed form left.
    fn drive_edge(&mut self, time_ns: u64, high: bool) {
        let last = self.edges.back().map(|e| e.time_ns);
        let time_ns = last.map_or(time_ns, |last| time_ns.max(last));
        if last == Some(time_ns) {
            self.edges.pop_back();
        }
        if time_ns == 0 && self.edges.is_empty() {
            self.initial_high = high;
            self.base_high = high;
            return;
        }
        let before = self.edges.back().map_or(self.base_high, |e| e.high);
        if before != high {
            self.edges.push_back(Edge { time_ns, high });
        }
    }

    /// The level a receiver sampling at `time_ns` sees: the one set by the last edge strictly
    /// before it.
    pub fn sample(&mut self, time_ns: u64) -> bool {
        self.materialize_before(time_ns);
        self.sampler().sample(time_ns)
    }

    /// A sampler for increasing sample times: each edge is looked at once. It sees the edges
    /// made so far only (see [`Wire::materialize`]).
    pub fn sampler(&self) -> Sampler<'_> {
        Sampler {
            wire: self,
            next: 0,
            level: self.base_high,
        }
    }

    /// The edges still kept, in time order.
    pub fn edges(&self) -> impl Iterator<Item = Edge> + '_ {
        self.edges.iter().copied()
    }

    /// The time of the last edge still kept.
    pub fn last_edge_ns(&self) -> Option<u64> {
        self.edges.back().map(|e| e.time_ns)
    }

    /// Forgets the edges before `time_ns` (nothing will sample before it any more).
    pub fn forget_before(&mut self, time_ns: u64) {
        self.materialize_before(time_ns);
        while let Some(edge) = self.edges.front() {
            if edge.time_ns >= time_ns {
                break;
            }
            self.base_high = edge.high;
            self.edges.pop_front();
        }
    }
}

/// Samples a [`Wire`] at increasing times (see [`Wire::sampler`]).
#[derive(Clone, Debug)]
pub struct Sampler<'a> {
    wire: &'a Wire,
    next: usize,
    level: bool,
}

impl Sampler<'_> {
    /// The level just before `time_ns`; times must not decrease between calls.
    pub fn sample(&mut self, time_ns: u64) -> bool {
        while let Some(edge) = self.wire.edges.get(self.next) {
            if edge.time_ns >= time_ns {
                break;
            }
            self.level = edge.high;
            self.next += 1;
        }
        self.level
    }
}

/// The sending end: puts frames on a wire at its own bit clock.
///
/// Characters sent one after the other form a *run*: the cell edges of the whole run fall at
/// `anchor + round(x · bit_time)` where `x` counts bit times since the anchor, so neither
/// characters nor bits accumulate rounding. A new message or an idle gap starts a new run.
#[derive(Clone, Debug)]
pub struct Transmitter {
    config: UartConfig,
    bit_ns: f64,
    anchor_ns: u64,
    run_bits: f64,
    free_at_ns: u64,
}

impl Transmitter {
    /// A transmitter, idle at t = 0.
    pub fn new(config: UartConfig) -> Transmitter {
        Transmitter {
            config,
            bit_ns: config.bit_time_ns(),
            anchor_ns: 0,
            run_bits: 0.0,
            free_at_ns: 0,
        }
    }

    /// Its settings.
    pub fn config(&self) -> &UartConfig {
        &self.config
    }

    /// When the last stop bit sent ends.
    pub fn free_at(&self) -> u64 {
        self.free_at_ns
    }

    /// New settings for the characters sent from now on (a baud switch). The idle level follows
    /// the new polarity from the next character.
    pub fn reconfigure(&mut self, config: UartConfig) {
        self.config = config;
        self.bit_ns = config.bit_time_ns();
        self.run_bits = 0.0;
        self.anchor_ns = self.free_at_ns;
    }

    /// The wire level of the idle line at this end.
    pub fn idle_high(&self) -> bool {
        self.config.wire_level(true)
    }

    /// Starts a new run of characters at `at_ns` (or when the line is free, if later).
    pub fn start_at(&mut self, at_ns: u64) {
        let at_ns = at_ns.max(self.free_at_ns);
        self.anchor_ns = at_ns;
        self.run_bits = 0.0;
        self.free_at_ns = at_ns;
    }

    /// Sends `byte`, which no bit-level fault touches, right after the previous character of
    /// the run, in closed form (see [`Wire`]); exactly what `send_frame(wire,
    /// &Frame::new(config, byte))` sends. Returns `false` and sends nothing when the wire cannot
    /// take it in closed form (the line is not at mark just before it, or it starts at t = 0);
    /// send it with [`Transmitter::send_frame`] then.
    pub fn send_clean(&mut self, wire: &mut Wire, byte: u8) -> bool {
        // `at_bits(0.0)`: the run's position is always where the line became free.
        let start_ns = self.free_at_ns;
        debug_assert_eq!(start_ns, self.at_bits(0.0));
        if !wire.accepts_clean(start_ns, self.idle_high()) {
            return false;
        }
        wire.clean.push_back(CleanChar {
            config: self.config,
            byte,
            anchor_ns: self.anchor_ns,
            run_bits: self.run_bits,
            bit_ns: self.bit_ns,
            start_ns,
        });
        self.run_bits += self.config.bits_per_char();
        self.free_at_ns = self.at_bits(0.0);
        true
    }

    /// Sends one frame right after the previous character of the run; returns when its stop
    /// period ends. The line returns to idle (mark) then, whatever the cells were.
    pub fn send_frame(&mut self, wire: &mut Wire, frame: &Frame) -> u64 {
        for (i, &mark) in frame.cells().iter().enumerate() {
            let time = self.at_bits(i as f64);
            wire.drive(time, self.config.wire_level(mark));
        }
        self.run_bits += self.config.bits_per_char();
        let end = self.at_bits(0.0);
        wire.drive(end, self.idle_high());
        self.free_at_ns = end;
        end
    }

    /// Sends bytes back to back from `at_ns` (or when free); returns when the last stop bit ends.
    pub fn send(&mut self, wire: &mut Wire, at_ns: u64, bytes: &[u8]) -> u64 {
        self.start_at(at_ns);
        for &byte in bytes {
            let frame = Frame::new(&self.config, byte);
            self.send_frame(wire, &frame);
        }
        self.free_at_ns
    }

    /// The time `bits` bit times after the current position in the run.
    fn at_bits(&self, bits: f64) -> u64 {
        run_time(self.anchor_ns, self.run_bits, self.bit_ns, bits)
    }
}

/// The receiving end: a 16× oversampling UART with its own settings.
///
/// Its tick clock runs from t = 0 with period `bit_time / 16`. Hunting, it waits for a falling
/// edge (mark to space, in its own polarity), detected at the first tick at or after the edge.
/// Eight ticks later, the middle of the start bit, it checks the line again: still space is a
/// start bit, mark a false start (back to hunting). It then samples the data bits, the parity
/// bit and the first stop bit, each 16 ticks after the previous sample. After the stop sample
/// it hunts for the next falling *edge*, not a space level. Before t = 0 it assumes the line was
/// mark, so a line that is space at t = 0 starts a character at 0.
#[derive(Clone, Debug)]
pub struct Receiver {
    config: UartConfig,
    tick_ns: f64,
    /// `1 / tick_ns`.
    per_tick: f64,
    /// The last sender settings asked about and [`Receiver::reads_cleanly`]'s answer.
    clean_for: Option<(UartConfig, bool)>,
    /// The start and stop-sample times of the last character computed on the fast path: a
    /// session asks again every step until the stop sample is due.
    clean_stop: Option<(u64, u64)>,
    /// Where the tick clock started (0, or the last reconfiguration).
    anchor_ns: u64,
    hunt_from_ns: u64,
}

impl Receiver {
    /// A receiver, hunting from t = 0.
    pub fn new(config: UartConfig) -> Receiver {
        let tick_ns = config.bit_time_ns() / 16.0;
        Receiver {
            config,
            tick_ns,
            per_tick: 1.0 / tick_ns,
            clean_for: None,
            clean_stop: None,
            anchor_ns: 0,
            hunt_from_ns: 0,
        }
    }

    /// New settings from `at_ns` on (a baud switch): the tick clock restarts at `at_ns` and the
    /// receiver hunts for a start bit from there. Call after receiving everything before
    /// `at_ns`; a character in flight at the switch is lost, as on a real UART.
    pub fn reconfigure(&mut self, at_ns: u64, config: UartConfig) {
        let at_ns = at_ns.max(self.hunt_from_ns);
        self.config = config;
        self.tick_ns = config.bit_time_ns() / 16.0;
        self.per_tick = 1.0 / self.tick_ns;
        self.clean_for = None;
        self.clean_stop = None;
        self.anchor_ns = at_ns;
        self.hunt_from_ns = at_ns;
    }

    /// Its settings.
    pub fn config(&self) -> &UartConfig {
        &self.config
    }

    /// The time of the receiver's `k`-th tick.
    fn tick_time(&self, k: u64) -> u64 {
        self.anchor_ns + round_to_u64(to_f64(k) * self.tick_ns)
    }

    /// The first tick at or after `time_ns`.
    fn first_tick_at_or_after(&self, time_ns: u64) -> u64 {
        let time_ns = time_ns.max(self.anchor_ns);
        // An estimate (the loops below make it exact whatever its rounding): tick k is at or
        // after `time_ns` when `k · tick` rounds up to it, from half a ns before.
        let mut k = ceil_to_u64((to_f64(time_ns - self.anchor_ns) - 0.5) * self.per_tick);
        while k > 0 && self.tick_time(k - 1) >= time_ns {
            k -= 1;
        }
        while self.tick_time(k) < time_ns {
            k += 1;
        }
        k
    }

    /// The longest a character can take from its falling edge to its stop sample, in ns.
    pub fn max_char_span_ns(&self) -> u64 {
        let ticks = 1 + 8 + 16 * self.config.samples_after_start();
        (ticks as f64 * self.tick_ns).ceil() as u64 + 2
    }

    /// Whether this receiver reads every character sent at `tx` without bit faults as sent,
    /// whatever the phase of its tick clock: same data bits, parity and polarity, and clocks
    /// close enough that each sample (start check, data, parity, stop) falls strictly inside
    /// its cell.
    ///
    /// With `E` the start edge, the start is detected at the first tick `T` with
    /// `E ≤ T < E + tick + 1` (ticks are rounded to ns), and sample `j` (0 = start check) is
    /// taken at `T + (j + ½)·bit_rx ± 1`; cell `j` spans `E + j·bit_tx ± 1` to
    /// `E + (j + 1)·bit_tx ± 1`. With `S` samples after the start and `Δ = |bit_rx − bit_tx|`,
    /// every sample is strictly after its cell's first edge if `½·bit_rx − S·Δ − 2 > 0` and
    /// before the next cell's edge if `bit_tx − ½·bit_rx − S·Δ − tick − 3 > 0` (one more ns of
    /// margin for float rounding in each).
    pub fn reads_cleanly(&self, tx: &UartConfig) -> bool {
        if *tx == self.config {
            // Δ = 0: both bounds hold for every baud rate up to MAX_BAUD (bit ≥ 75 ns).
            return true;
        }
        if tx.data_bits != self.config.data_bits
            || tx.parity != self.config.parity
            || tx.polarity != self.config.polarity
        {
            return false;
        }
        let bit_rx = self.tick_ns * 16.0;
        let bit_tx = tx.bit_time_ns();
        let drift = (bit_rx - bit_tx).abs() * self.config.samples_after_start() as f64;
        0.5 * bit_rx - drift - 3.0 > 0.0 && bit_tx - 0.5 * bit_rx - drift - self.tick_ns - 4.0 > 0.0
    }

    fn next_falling_edge(&self, wire: &mut Wire) -> Option<u64> {
        let space_high = self.config.wire_level(false);
        if self.hunt_from_ns == 0 && wire.initial_high() == space_high {
            return Some(0);
        }
        if self.hunt_from_ns == self.anchor_ns
            && self.anchor_ns > 0
            && wire.sample(self.anchor_ns) == space_high
        {
            // Reconfigured while the line is at space: the level counts as a start edge.
            return Some(self.anchor_ns);
        }
        wire.edges()
            .find(|e| e.time_ns >= self.hunt_from_ns && e.high == space_high)
            .map(|e| e.time_ns)
    }

    /// Appends every character completed (stop bit sampled) by `until_ns` to `out`, in order.
    /// The wire must be final up to `until_ns`: nothing may later be driven before it.
    pub fn receive_until(&mut self, wire: &mut Wire, until_ns: u64, out: &mut Vec<RxChar>) {
        let mark_high = self.config.wire_level(true);
        loop {
            let Some(edge_ns) = self.next_falling_edge(wire) else {
                // No edge left: the next character, if any, is in closed form.
                let Some(clean) = wire.clean.front().copied() else {
                    break;
                };
                let cleanly = match self.clean_for {
                    Some((config, answer)) if config == clean.config => answer,
                    _ => {
                        let answer = self.reads_cleanly(&clean.config);
                        self.clean_for = Some((clean.config, answer));
                        answer
                    }
                };
                if clean.start_ns < self.hunt_from_ns || !cleanly {
                    // Not a character this receiver reads as sent: bit by bit.
                    wire.materialize_before(clean.start_ns.saturating_add(1));
                    continue;
                }
                let stop_ns = match self.clean_stop {
                    Some((start, stop)) if start == clean.start_ns => stop,
                    _ => {
                        let detect = self.first_tick_at_or_after(clean.start_ns);
                        let last_tick = detect + 8 + 16 * self.config.samples_after_start();
                        let stop = self.tick_time(last_tick);
                        self.clean_stop = Some((clean.start_ns, stop));
                        stop
                    }
                };
                if stop_ns > until_ns {
                    break;
                }
                out.push(RxChar {
                    byte: clean.byte & clean.config.data_mask(),
                    time_ns: stop_ns,
                    parity_error: false,
                    framing_error: false,
                    brk: false,
                });
                self.hunt_from_ns = stop_ns;
                // What `forget_before(stop_ns)` leaves after its edges: all gone, line at mark.
                wire.clean.pop_front();
                wire.edges.clear();
                wire.base_high = mark_high;
                wire.fast_reads += 1;
                continue;
            };
            let detect = self.first_tick_at_or_after(edge_ns);
            let check_ns = self.tick_time(detect + 8);
            if check_ns > until_ns {
                break;
            }
            // The samples below may reach into characters kept in closed form.
            let last_tick = detect + 8 + 16 * self.config.samples_after_start();
            wire.materialize_before(self.tick_time(last_tick));
            let mut sampler = wire.sampler();
            if sampler.sample(check_ns) == mark_high {
                // False start: a glitch shorter than half a bit.
                self.hunt_from_ns = check_ns;
                wire.forget_before(check_ns);
                continue;
            }
            let stop_ns = self.tick_time(last_tick);
            if stop_ns > until_ns {
                break;
            }
            let mut tick = detect + 8;
            let mut next_mark = || {
                tick += 16;
                sampler.sample(self.tick_time(tick)) == mark_high
            };
            let mut byte = 0u8;
            for i in 0..self.config.data_bits {
                if next_mark() {
                    byte |= 1 << i;
                }
            }
            let parity = match self.config.parity.bit(byte) {
                Some(expected) => {
                    let got = next_mark();
                    Some((got, got != expected))
                }
                None => None,
            };
            let stop = next_mark();
            let parity_mark = parity.is_some_and(|(got, _)| got);
            let brk = byte == 0 && !parity_mark && !stop;
            out.push(RxChar {
                byte,
                time_ns: stop_ns,
                parity_error: !brk && parity.is_some_and(|(_, error)| error),
                framing_error: !stop,
                brk,
            });
            self.hunt_from_ns = stop_ns;
            wire.forget_before(stop_ns);
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn config(text: &str) -> UartConfig {
        text.parse().expect("test settings are valid")
    }

    fn receive(tx: &str, rx: &str, bytes: &[u8]) -> Vec<RxChar> {
        let mut transmitter = Transmitter::new(config(tx));
        let mut receiver = Receiver::new(config(rx));
        let mut wire = Wire::new(transmitter.idle_high());
        let end = transmitter.send(&mut wire, 0, bytes);
        let mut out = Vec::new();
        receiver.receive_until(&mut wire, end + receiver.max_char_span_ns(), &mut out);
        out
    }

    #[test]
    fn rounding_without_libm_matches_std() {
        let special = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            4503599627370495.5,
            4503599627370497.0,
            4_611_686_018_427_387_904.0,
            4_611_686_018_427_387_903.5,
            4_611_686_018_427_388_905.0,
            9007199254740993.0,
            1e19,
            1.8446744073709552e19,
            1e300,
            -0.4,
            -0.6,
            -1e10,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let random = (0..100_000).map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            unit * 10f64.powi(i % 20) + f64::from(i % 7) * 0.5
        });
        for x in special.into_iter().chain(random) {
            assert_eq!(round_to_u64(x), x.round() as u64, "round {x}");
            assert_eq!(ceil_to_u64(x), x.ceil() as u64, "ceil {x}");
        }
    }

    #[test]
    fn formats_parse_and_print() {
        let c = UartConfig::new(9600, "7E1").expect("valid");
        assert_eq!(
            (c.data_bits, c.parity, c.stop_bits),
            (7, Parity::Even, StopBits::One)
        );
        assert_eq!(c.bits_per_char(), 10.0);
        assert_eq!(config("9600 8E1").bits_per_char(), 11.0);
        assert_eq!(config("9600 8N1.5").bits_per_char(), 10.5);
        assert_eq!(config("9600 5O2").bits_per_char(), 9.0);
        for text in [
            "9600 7E1",
            "115200 8N1 inverted +150ppm",
            "2400 8E1 +150ppm",
            "9600 7E1 -2.5ppm",
            "300 5S1.5",
            "1200 6M2 inverted",
        ] {
            let c = config(text);
            assert_eq!(c.to_string(), text);
            assert_eq!(config(&c.to_string()), c);
        }
        let c = config("2400 +150ppm inverted 8e1");
        assert_eq!(c.to_string(), "2400 8E1 inverted +150ppm");
        assert_eq!(config("9600 8N1 normal 0ppm").to_string(), "9600 8N1");
        let odd = UartConfig::new(19200, "8O1")
            .expect("valid")
            .with_ppm(1.0 / 3.0);
        assert_eq!(config(&odd.to_string()), odd);
    }

    #[test]
    fn bad_settings_are_rejected() {
        for text in [
            "",
            "8N1",
            "9600",
            "9600 9N1",
            "9600 4N1",
            "9600 8X1",
            "9600 8N3",
            "9600 8N1 8N1",
            "9600 8N1 inverted inverted",
            "9600 8N1 +1ppm -1ppm",
            "9600 8N1 fastppm",
            "9600 8N1 +200000ppm",
            "9600 8N1 NaNppm",
            "0 8N1",
            "99999999 8N1",
            "9600 8N1 upside-down",
        ] {
            assert!(text.parse::<UartConfig>().is_err(), "{text:?} accepted");
        }
        let err = "9600 8X1".parse::<UartConfig>().expect_err("bad parity");
        assert!(err
            .to_string()
            .starts_with("invalid serial settings \"9600 8X1\": invalid character format"));
        assert!(UartConfig::new(9600, "8N1")
            .expect("valid")
            .with_ppm(f64::NAN)
            .validate()
            .is_err());
    }

    #[test]
    fn timing_follows_the_clock() {
        let c = config("9600 8N1");
        assert!((c.bit_time_ns() - 104_166.666).abs() < 0.001);
        let fast = c.with_ppm(1000.0);
        assert!((fast.bit_time_ns() - 1e9 / (9600.0 * 1.001)).abs() < 1e-6);
        assert!((c.char_time_ns() - 1_041_666.666).abs() < 0.001);
    }

    #[test]
    fn frame_cells() {
        let c = config("9600 7E1");
        // '1' = 0x31 = 0110001: three ones, even parity bit 1.
        let f = Frame::new(&c, b'1');
        assert_eq!(
            f.cells(),
            &[false, true, false, false, false, true, true, false, true, true]
        );
        // Bit 7 is not sent with 7 data bits.
        assert_eq!(Frame::new(&c, 0xB1), f);
        let f = Frame::new(&config("9600 8N2"), 0xFF);
        assert_eq!(f.cells().len(), 11);
        assert_eq!(Frame::new(&config("9600 5N1.5"), 0).cells().len(), 7);
    }

    #[test]
    fn waveform_edges_and_no_accumulated_rounding() {
        let c = config("115200 8N1");
        let mut tx = Transmitter::new(c);
        let mut wire = Wire::new(tx.idle_high());
        // 0x55 = 01010101: LSB first after the start bit the line alternates every bit.
        let end = tx.send(&mut wire, 1_000, &[0x55; 1000]);
        let bit = c.bit_time_ns();
        let expected_end = 1_000 + (10_000.0 * bit).round() as u64;
        assert_eq!(end, expected_end);
        // Start 0 d0=1 d1=0 ... d7=0 stop=1: an edge at every bit boundary, 10 per char.
        let edges: Vec<Edge> = wire.edges().collect();
        assert_eq!(edges.len(), 10_000);
        for (i, e) in edges.iter().enumerate() {
            assert_eq!(e.time_ns, 1_000 + (i as f64 * bit).round() as u64);
            assert_eq!(e.high, i % 2 == 1);
        }
    }

    #[test]
    fn wire_merges_and_samples_before_edges() {
        let mut w = Wire::new(true);
        w.drive(0, false);
        assert!(!w.initial_high());
        assert_eq!(w.edges().count(), 0);
        w.drive(10, true);
        w.drive(10, false); // replaces: back to the level before, no edge
        assert_eq!(w.edges().count(), 0);
        w.drive(20, true);
        w.drive(25, true);
        assert_eq!(
            w.edges().collect::<Vec<_>>(),
            vec![Edge {
                time_ns: 20,
                high: true
            }]
        );
        assert!(!w.sample(20));
        assert!(w.sample(21));
        w.forget_before(21);
        assert!(w.sample(0));
    }

    #[test]
    fn identical_settings_are_lossless() {
        let bytes: Vec<u8> = (0..=255).collect();
        for text in [
            "115200 8N1",
            "9600 7E1",
            "2400 8E1 inverted",
            "300 5N1.5",
            "19200 8O2 -40ppm",
        ] {
            let c = config(text);
            let got = receive(text, text, &bytes);
            assert_eq!(got.len(), 256, "{text}");
            for (b, r) in bytes.iter().zip(&got) {
                assert_eq!(r.byte, b & c.data_mask(), "{text}");
                assert!(
                    !r.parity_error && !r.framing_error && !r.brk,
                    "{text} {r:?}"
                );
            }
        }
    }

    #[test]
    fn stop_sample_time_is_the_char_time() {
        let got = receive("2400 8N1", "2400 8N1", b"A");
        // Edge at 0 detected at tick 0; stop sample at 8 + 16·9 ticks = 9.5 bits.
        let bit: f64 = 1e9 / 2400.0;
        assert_eq!(got[0].time_ns, (152.0 * bit / 16.0).round() as u64);
    }

    #[test]
    fn parity_errors_and_breaks() {
        // Even parity sent, odd parity expected: every char has a parity error.
        let got = receive("9600 8E1", "9600 8O1", b"abc");
        assert!(got.iter().all(|c| c.parity_error && !c.framing_error));
        // Mark parity read as space parity.
        let got = receive("9600 8M1", "9600 8S1", b"x");
        assert!(got[0].parity_error);
        // A normal line read by an inverted receiver: idle is space from t = 0: a break at
        // once, then nothing until the line is mark (in its view) again.
        let got = receive("9600 8N1", "9600 8N1 inverted", b"");
        assert_eq!(got.len(), 1);
        assert!(got[0].brk && got[0].framing_error && got[0].byte == 0 && !got[0].parity_error);
    }

    #[test]
    fn false_start_on_a_glitch() {
        let c = config("9600 8N1");
        let mut rx = Receiver::new(c);
        let mut wire = Wire::new(true);
        // A 10 µs dip (a tenth of a bit) is not a start bit.
        wire.drive(1_000_000, false);
        wire.drive(1_010_000, true);
        let mut out = Vec::new();
        rx.receive_until(&mut wire, 10_000_000, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn receiving_in_steps_gives_the_same_chars() {
        let c = config("9600 7E1");
        let mut tx = Transmitter::new(c);
        let mut wire = Wire::new(tx.idle_high());
        let end = tx.send(&mut wire, 5_000, b"/ISK5\\2M550T-1012\r\n");
        let mut whole_wire = wire.clone();
        let mut whole = Vec::new();
        Receiver::new(c).receive_until(&mut whole_wire, end + 10_000_000, &mut whole);
        let mut rx = Receiver::new(c);
        let mut steps = Vec::new();
        let mut t = 0;
        while t < end + 10_000_000 {
            t += 33_333;
            let before = steps.len();
            rx.receive_until(&mut wire, t, &mut steps);
            assert!(steps[before..].iter().all(|ch| ch.time_ns <= t));
        }
        assert_eq!(steps, whole);
    }
}
