//! Reading a capture in the forms people paste into bug reports (issue #10 §1): hex with any
//! separators, C and Python arrays, `hexdump -C`, `hexdump`, `xxd`, `od`, Python bytes literals,
//! log lines with a prefix (timestamps, levels, ESPHome tags, direction markers), DSMR and IEC
//! text as pasted, base64, and raw bytes.
//!
//! The form is detected from the structure of the first [`WINDOW`] bytes ([`detect`]): the most
//! specific form that explains every data line wins, and a DSMR/IEC text telegram is never read
//! as hex. Every form is then converted by a streaming [`Converter`], so a capture of any size is
//! read in bounded memory ([`StreamReader`]); [`read`] does the same on a whole capture in memory.
//!
//! One module per family of forms: [`hex`] (hex, arrays, base64), [`hexdump`] (offset-prefixed
//! dumps), [`pybytes`] (Python literals), [`log`] (a prefix on every line) and [`text`] (DSMR
//! and IEC text telegrams).

pub mod hex;
pub mod hexdump;
pub mod log;
pub mod pybytes;
pub mod text;

use std::fmt;
use std::io::Read;
use std::ops::Range;

/// How much of the input decides its form.
pub const WINDOW: usize = 64 * 1024;

/// The longest line a line-based form accepts (a paste has short lines; a longer one means the
/// form was misjudged or the input is not a paste).
pub const MAX_LINE: usize = 1024 * 1024;

/// The form the user says the input has (`--input-format`), or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Detect from the structure of the input.
    Auto,
    /// Hex digits with any separators, `0x`/`\x` prefixes, `#` comments.
    Hex,
    /// A C or Python array (`{0x68, …}`, `[104, 250, …]`).
    Array,
    /// `hexdump -C` or plain `hexdump` (16-bit words), or offsets, bytes and text as Wireshark
    /// copies them.
    Hexdump,
    /// `xxd`.
    Xxd,
    /// `od -A x -t x1z` (or `od -t x1` with octal offsets).
    Od,
    /// Python bytes literals (`b'h\xfa\xfah…'`), several over lines.
    #[value(name = "pybytes", alias = "python")]
    PyBytes,
    /// Log lines with a prefix (timestamp, level, tag, direction) before hex bytes on each line.
    Log,
    /// DSMR or IEC 62056-21 text as pasted (LF or CRLF, trailing spaces, a log prefix).
    Text,
    /// The bytes as they are.
    Raw,
    /// Base64.
    Base64,
}

/// Who sent a piece of a two-direction capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The meter sent it (RX at the reader, `<`, `meter->hhu`).
    FromMeter,
    /// The reader sent it (TX, `>`, `hhu->meter`).
    ToMeter,
}

/// A piece of the capture: one log line, one literal, or the whole capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Who sent it, when the capture says so.
    pub direction: Option<Direction>,
    /// When it was logged, from the log's timestamp, relative to the first timestamp.
    pub at_ns: Option<u64>,
    /// Its bytes in [`Capture::bytes`].
    pub range: Range<usize>,
}

/// A capture read into the bytes it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// The bytes, both directions in order.
    pub bytes: Vec<u8>,
    /// The form the input was read in.
    pub form: Form,
    /// The pieces, in order (a single one, without direction or time, for most forms).
    pub segments: Vec<Segment>,
    /// Lines that carried no data and were left out (log lines without bytes, headers).
    pub ignored_lines: usize,
}

/// The form a capture was read in: what was detected (or forced), with what the detection saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Form {
    /// Hex digits with separators, prefixes and comments.
    Hex,
    /// A C or Python array; `decimal` for `[104, 250]`, otherwise hex numbers.
    Array {
        /// The numbers are decimal.
        decimal: bool,
    },
    /// `hexdump -C`.
    HexdumpCanonical,
    /// Plain `hexdump` (little-endian 16-bit words).
    HexdumpWords,
    /// `xxd`.
    Xxd,
    /// `od -t x1`, with hex (`-A x`) or octal offsets.
    Od {
        /// The offsets are octal (od's default).
        octal_offsets: bool,
    },
    /// Offsets, bytes and a text column as Wireshark and serial terminals copy them
    /// (`0000   68 fa fa 68 …   h..h…`).
    OffsetHex,
    /// Python bytes literals; `base64` when the literals hold base64 text.
    PyBytes {
        /// The literals' content is base64.
        base64: bool,
    },
    /// Log lines with a prefix before the bytes.
    Log(log::LogForm),
    /// DSMR or IEC 62056-21 text.
    Text(text::TextForm),
    /// Base64.
    Base64,
    /// The bytes as they are.
    Raw,
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Form::Hex => f.write_str("hex"),
            Form::Array { decimal: true } => f.write_str("array of decimal numbers"),
            Form::Array { decimal: false } => f.write_str("array of hex numbers"),
            Form::HexdumpCanonical => f.write_str("hexdump -C"),
            Form::HexdumpWords => f.write_str("hexdump (16-bit words)"),
            Form::Xxd => f.write_str("xxd"),
            Form::Od {
                octal_offsets: false,
            } => f.write_str("od -A x -t x1z"),
            Form::Od {
                octal_offsets: true,
            } => f.write_str("od -t x1 (octal offsets)"),
            Form::OffsetHex => f.write_str("hex dump with offsets (Wireshark style)"),
            Form::PyBytes { base64: false } => f.write_str("Python bytes literal"),
            Form::PyBytes { base64: true } => f.write_str("Python bytes literal holding base64"),
            Form::Log(l) => l.fmt(f),
            Form::Text(t) => t.fmt(f),
            Form::Base64 => f.write_str("base64"),
            Form::Raw => f.write_str("raw bytes"),
        }
    }
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Nothing to read.
    #[error("the input is empty{0}")]
    Empty(&'static str),
    /// A line of the input is not in the form detected or forced.
    #[error("line {line}: {message} (read as {form})")]
    Syntax {
        /// 1-based line number in the input.
        line: usize,
        /// What was wrong, with what was seen.
        message: String,
        /// The form the input was read in.
        form: String,
    },
    /// The input is not in the form forced with `--input-format`.
    #[error("the input is not {wanted}: {seen}")]
    NotThatForm {
        /// The form asked for.
        wanted: &'static str,
        /// What the input looks like.
        seen: String,
    },
    /// Reading the input failed.
    #[error("cannot read the input: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a converter puts the bytes it reads, and the segments when they are kept.
#[derive(Debug, Default)]
pub struct Sink {
    /// Converted bytes not yet taken.
    pub bytes: Vec<u8>,
    /// Bytes taken before `bytes[0]`.
    taken: usize,
    /// The segments, when kept ([`read`] keeps them, the streaming reader does not).
    segments: Option<Vec<Segment>>,
    /// The first timestamp seen, the origin of `at_ns`.
    epoch_ns: Option<u64>,
    /// Lines left out.
    pub ignored_lines: usize,
}

impl Sink {
    fn new(keep_segments: bool) -> Self {
        Sink {
            segments: keep_segments.then(Vec::new),
            ..Sink::default()
        }
    }

    /// The stream offset of the next byte.
    pub fn position(&self) -> usize {
        self.taken + self.bytes.len()
    }

    /// Appends `data` to the current segment.
    pub fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        let end = self.position();
        if let Some(last) = self.segments.as_mut().and_then(|s| s.last_mut()) {
            last.range.end = end;
        }
    }

    /// Starts a segment at the current position (a log line, a literal).
    pub fn start_segment(&mut self, direction: Option<Direction>, logged_ns: Option<u64>) {
        let at_ns = logged_ns.map(|t| {
            let epoch = *self.epoch_ns.get_or_insert(t);
            t.saturating_sub(epoch)
        });
        let start = self.position();
        if let Some(segments) = self.segments.as_mut() {
            // An empty segment is replaced rather than kept.
            if segments.last().is_some_and(|s| s.range.is_empty()) {
                segments.pop();
            }
            segments.push(Segment {
                direction,
                at_ns,
                range: start..start,
            });
        }
    }

    /// Takes the converted bytes out.
    pub fn take(&mut self) -> Vec<u8> {
        self.taken += self.bytes.len();
        std::mem::take(&mut self.bytes)
    }
}

/// A streaming conversion of one form into bytes: `feed` pieces of the input in order, then
/// `finish`. Output is independent of how the input is cut into pieces.
pub trait Converter {
    /// Converts the next piece of the input.
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError>;
    /// Ends the input.
    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError>;
}

/// Raw bytes: passed through.
struct RawConverter;

impl Converter for RawConverter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        sink.push(input);
        Ok(())
    }
    fn finish(&mut self, _: &mut Sink) -> Result<(), CaptureError> {
        Ok(())
    }
}

/// Splits a stream into lines for the line-based forms, with line numbers and a bound on the
/// length of a line.
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
    /// The number of the next line (1-based).
    pub number: usize,
}

impl Lines {
    /// Feeds `input`; calls `each(line_number, line)` for every complete line (without its
    /// `\n`; a `\r` before it is kept).
    pub fn feed(
        &mut self,
        input: &[u8],
        form: &dyn Fn() -> String,
        mut each: impl FnMut(usize, &[u8]) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        let mut rest = input;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.number += 1;
            if self.partial.is_empty() {
                each(self.number, &rest[..nl])?;
            } else {
                self.partial.extend_from_slice(&rest[..nl]);
                let line = std::mem::take(&mut self.partial);
                each(self.number, &line)?;
            }
            rest = &rest[nl + 1..];
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE {
            return Err(CaptureError::Syntax {
                line: self.number + 1,
                message: format!("a line longer than {MAX_LINE} bytes"),
                form: form(),
            });
        }
        Ok(())
    }

    /// Ends the stream: the last line if it had no `\n`.
    pub fn finish(
        &mut self,
        mut each: impl FnMut(usize, &[u8]) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        if !self.partial.is_empty() {
            self.number += 1;
            let line = std::mem::take(&mut self.partial);
            each(self.number, &line)?;
        }
        Ok(())
    }
}

/// Decides the form of an input from its first bytes (`window`, at most [`WINDOW`] bytes;
/// `complete` when that is the whole input).
pub fn detect(window: &[u8], format: InputFormat, complete: bool) -> Result<Form, CaptureError> {
    if window.is_empty() {
        return Err(CaptureError::Empty(""));
    }
    if format == InputFormat::Raw {
        return Ok(Form::Raw);
    }
    // Detection looks at complete lines only, unless the window is the whole input.
    let text_window = if complete {
        window
    } else {
        match window.iter().rposition(|&b| b == b'\n') {
            Some(i) => &window[..=i],
            // One long line: up to its last separator, or an even number of characters.
            None => match window
                .iter()
                .rposition(|&b| b.is_ascii_whitespace() || b == b',')
            {
                Some(i) => &window[..=i],
                None => &window[..window.len() & !1],
            },
        }
    };
    let text = as_text(text_window);
    let forced = |wanted: &'static str, form: Option<Form>| {
        form.ok_or_else(|| CaptureError::NotThatForm {
            wanted,
            seen: describe(window),
        })
    };
    match format {
        InputFormat::Raw => Ok(Form::Raw),
        InputFormat::Auto => {
            let Some(text) = text else {
                return Ok(Form::Raw);
            };
            if text.trim().is_empty() {
                return Err(CaptureError::Empty(
                    " (only white space: no bytes, no text)",
                ));
            }
            // The text lines of a wireless M-Bus receiver stick (rtl_wmbus `T1;1;1;…;0x…`,
            // CUL `b…`) are what was sent, not a log with hex in it.
            if receiver_lines(text) {
                return Ok(Form::Raw);
            }
            Ok(detect_text(text).unwrap_or(Form::Raw))
        }
        InputFormat::Hex => forced("hex", text.and_then(hex::detect_hex)),
        InputFormat::Array => forced("a C or Python array", text.and_then(hex::detect_array)),
        InputFormat::Base64 => forced("base64", text.and_then(hex::detect_base64)),
        InputFormat::Hexdump => forced(
            "a hexdump",
            text.and_then(hexdump::detect).filter(|f| {
                matches!(
                    f,
                    Form::HexdumpCanonical | Form::HexdumpWords | Form::OffsetHex
                )
            }),
        ),
        InputFormat::Xxd => forced(
            "an xxd dump",
            text.and_then(hexdump::detect).filter(|f| *f == Form::Xxd),
        ),
        InputFormat::Od => forced(
            "an od dump",
            text.and_then(hexdump::detect)
                .filter(|f| matches!(f, Form::Od { .. })),
        ),
        InputFormat::PyBytes => forced("Python bytes literals", text.and_then(pybytes::detect)),
        InputFormat::Log => forced("log lines with bytes", text.and_then(log::detect)),
        InputFormat::Text => Ok(text
            .and_then(text::detect)
            .unwrap_or(Form::Text(text::TextForm::as_sent()))),
    }
}

/// Whether the text's first non-empty line is one a wireless M-Bus receiver stick prints (the
/// reference decoder's own check of an rtl_wmbus or CUL telegram line).
fn receiver_lines(text: &str) -> bool {
    let start = text.len() - text.trim_start_matches(['\r', '\n']).len();
    let b = &text.as_bytes()[start..];
    let line_end = b
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |n| n + 1);
    matches!(b.first(), Some(b'T' | b'C' | b'S' | b'b'))
        && meterlab_decoder::wmbus::dongle::detect(&b[..line_end], false, true, true)
}

/// The most specific text form that explains the input, if any.
fn detect_text(text: &str) -> Option<Form> {
    hexdump::detect(text)
        .or_else(|| pybytes::detect(text))
        .or_else(|| text::detect(text))
        .or_else(|| hex::detect_hex(text))
        .or_else(|| hex::detect_array(text))
        .or_else(|| log::detect(text))
        .or_else(|| hex::detect_base64(text))
}

/// The input as text, if it is: UTF-8 without control characters other than tab, CR, LF and
/// those of IEC 62056-21 (SOH, STX, ETX, ACK, NAK) and ESC (colored logs).
fn as_text(window: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(window) {
        Ok(t) => t,
        // A window may end inside a multi-byte character.
        Err(e) if e.error_len().is_none() && window.len() - e.valid_up_to() < 4 => {
            std::str::from_utf8(&window[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    text.chars()
        .all(|c| {
            !c.is_control()
                || matches!(
                    c,
                    '\t' | '\r' | '\n' | '\x01' | '\x02' | '\x03' | '\x06' | '\x15' | '\x1b'
                )
        })
        .then_some(text)
}

/// A short description of what an input looks like, for errors.
pub fn describe(window: &[u8]) -> String {
    let printable = window
        .iter()
        .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        .count();
    let start: String = window
        .iter()
        .take(24)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    format!(
        "{} bytes seen, {}% printable, starting `{start}`",
        window.len(),
        printable * 100 / window.len().max(1)
    )
}

/// The converter for a form.
pub fn converter(form: &Form) -> Box<dyn Converter + Send> {
    match form {
        Form::Raw => Box::new(RawConverter),
        Form::Hex => Box::new(hex::HexConverter::new(hex::Mode::Hex)),
        Form::Array { decimal } => Box::new(hex::HexConverter::new(hex::Mode::Array {
            decimal: *decimal,
        })),
        Form::Base64 => Box::new(hex::Base64Converter::default()),
        Form::HexdumpCanonical
        | Form::HexdumpWords
        | Form::Xxd
        | Form::Od { .. }
        | Form::OffsetHex => Box::new(hexdump::HexdumpConverter::new(form.clone())),
        Form::PyBytes { base64 } => Box::new(pybytes::PyBytesConverter::new(*base64)),
        Form::Log(l) => Box::new(log::LogConverter::new(l.clone())),
        Form::Text(t) => Box::new(text::TextConverter::new(t.clone())),
    }
}

/// Whether a line is a Markdown code fence (```` ``` ````, `~~~`, with or without a language),
/// and what follows the fence on its line when that is data (`` ```0-0:96.1.4(50217) ``).
fn fence(line: &[u8]) -> Option<&[u8]> {
    let t = line.trim_ascii_start();
    let rest = t.strip_prefix(b"```").or_else(|| t.strip_prefix(b"~~~"))?;
    let rest = rest.trim_ascii();
    let language = rest.first().is_some_and(u8::is_ascii_alphabetic)
        && rest
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(b));
    Some(
        if language || rest.iter().all(|&b| b == b'`' || b == b'~') {
            &[]
        } else {
            rest
        },
    )
}

/// A line with its Markdown code fences removed (a fence line of its own, or a fence glued to
/// the first or last line of a paste), or `None` when nothing is left of it.
fn unfence(line: &[u8]) -> Option<&[u8]> {
    let mut kept = match fence(line) {
        Some([]) => return None,
        Some(rest) => rest,
        None => line,
    };
    let body = kept.strip_suffix(b"\r").unwrap_or(kept).trim_ascii_end();
    if let Some(before) = body
        .strip_suffix(b"```")
        .or_else(|| body.strip_suffix(b"~~~"))
    {
        if before.trim_ascii().is_empty() {
            return None;
        }
        kept = before;
    }
    Some(kept)
}

/// Drops the Markdown code fences a paste from GitHub or a forum carries, then converts.
struct FenceConverter {
    inner: Box<dyn Converter + Send>,
    lines: Lines,
}

impl FenceConverter {
    fn line(&mut self, line: &[u8], newline: bool, sink: &mut Sink) -> Result<(), CaptureError> {
        let Some(kept) = unfence(line) else {
            sink.ignored_lines += 1;
            return Ok(());
        };
        self.inner.feed(kept, sink)?;
        if newline {
            self.inner.feed(b"\n", sink)?;
        }
        Ok(())
    }
}

impl Converter for FenceConverter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.feed(input, &|| "text with code fences".into(), |_, l| {
            self.line(l, true, sink)
        });
        self.lines = lines;
        result
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.finish(|_, l| self.line(l, false, sink));
        self.lines = lines;
        result?;
        self.inner.finish(sink)
    }
}

/// The form of an input and its converter: Markdown code fences around a paste are dropped
/// first (not from raw bytes).
fn prepare(
    window: &[u8],
    format: InputFormat,
    complete: bool,
) -> Result<(Form, Box<dyn Converter + Send>), CaptureError> {
    let fenced = format != InputFormat::Raw
        && as_text(window).is_some()
        && window.split(|&b| b == b'\n').any(|l| fence(l).is_some());
    if fenced {
        let mut unfenced = Vec::with_capacity(window.len());
        let lines: Vec<&[u8]> = window.split(|&b| b == b'\n').collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(kept) = unfence(line) {
                unfenced.extend_from_slice(kept);
                if i + 1 < lines.len() {
                    unfenced.push(b'\n');
                }
            }
        }
        let form = detect(&unfenced, format, complete)?;
        if form != Form::Raw {
            let inner = converter(&form);
            return Ok((
                form,
                Box::new(FenceConverter {
                    inner,
                    lines: Lines::default(),
                }),
            ));
        }
    }
    let form = detect(window, format, complete)?;
    let converter = converter(&form);
    Ok((form, converter))
}

/// Reads a whole capture held in memory.
pub fn read(input: &[u8], format: InputFormat) -> Result<Capture, CaptureError> {
    let window = &input[..input.len().min(WINDOW)];
    let (form, mut conv) = prepare(window, format, input.len() <= WINDOW)?;
    let mut sink = Sink::new(true);
    sink.start_segment(None, None);
    conv.feed(input, &mut sink)?;
    conv.finish(&mut sink)?;
    let ignored_lines = sink.ignored_lines;
    let mut segments = sink.segments.take().unwrap_or_default();
    segments.retain(|s| !s.range.is_empty());
    Ok(Capture {
        bytes: sink.take(),
        form,
        segments,
        ignored_lines,
    })
}

/// Reads a capture from a stream in bounded memory: the form is decided from the first
/// [`WINDOW`] bytes, then the input is converted piece by piece.
pub struct StreamReader<R> {
    source: R,
    form: Form,
    converter: Box<dyn Converter + Send>,
    sink: Sink,
    /// The detection window, converted on the first call.
    window: Option<Vec<u8>>,
    done: bool,
    buf: Vec<u8>,
    /// The last read filled `buf`.
    read_full: bool,
}

impl<R: Read> StreamReader<R> {
    /// Reads the first window of `source` and decides its form.
    pub fn new(mut source: R, format: InputFormat) -> Result<Self, CaptureError> {
        let mut window = Vec::with_capacity(WINDOW);
        let complete = loop {
            let mut chunk = [0u8; 8192];
            let want = (WINDOW - window.len()).min(chunk.len());
            if want == 0 {
                break false;
            }
            match source.read(&mut chunk[..want]) {
                Ok(0) => break true,
                Ok(n) => window.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        let (form, converter) = prepare(&window, format, complete)?;
        Ok(StreamReader {
            source,
            form,
            converter,
            sink: Sink::new(false),
            window: Some(window),
            done: false,
            buf: vec![0; WINDOW],
            // The first window's messages go out at once: a live source may pause after it.
            read_full: false,
        })
    }

    /// The form detected (or forced).
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// Whether the last read filled the reader's buffer, so that more input is likely waiting
    /// (a file, or a pipe whose writer is ahead); `false` when the input is read as it arrives
    /// (a live source) or has ended.
    pub fn input_waiting(&self) -> bool {
        self.read_full && !self.done
    }

    /// Lines left out so far.
    pub fn ignored_lines(&self) -> usize {
        self.sink.ignored_lines
    }

    /// Gives back a piece [`Self::next_chunk`] returned, once used: the next piece is converted
    /// into its allocation, so that reading costs no allocation and no free of a window-sized
    /// block per piece (freeing one makes glibc consolidate its small-block bins).
    pub fn recycle(&mut self, mut chunk: Vec<u8>) {
        if self.sink.bytes.is_empty() && chunk.capacity() > self.sink.bytes.capacity() {
            chunk.clear();
            self.sink.bytes = chunk;
        }
    }

    /// The next converted piece (possibly empty), or `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, CaptureError> {
        if let Some(window) = self.window.take() {
            self.converter.feed(&window, &mut self.sink)?;
            return Ok(Some(self.sink.take()));
        }
        if self.done {
            return Ok(None);
        }
        loop {
            match self.source.read(&mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    self.converter.finish(&mut self.sink)?;
                    return Ok(Some(self.sink.take()));
                }
                Ok(n) => {
                    self.read_full = n == self.buf.len();
                    self.converter.feed(&self.buf[..n], &mut self.sink)?;
                    return Ok(Some(self.sink.take()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn markdown_fences_are_dropped() {
        let telegram = b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n!ABCD\r\n";
        let pasted = "```text\n/ISk5\\2MT382-1000\n\n1-3:0.2.8(50)\n!ABCD\n```\n";
        let c = read(pasted.as_bytes(), InputFormat::Auto).expect("read");
        assert!(matches!(c.form, Form::Text(_)), "{}", c.form);
        assert_eq!(c.bytes, telegram);
        assert_eq!(c.ignored_lines, 2);

        // Fences glued to the first and the last line leave those lines.
        let glued = "```/ISk5\\2MT382-1000\n\n1-3:0.2.8(50)\n!ABCD```\n";
        let c = read(glued.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.bytes, telegram);

        let hex = "Here is my capture:\n```\n68 FA FA 68\n53 FF\n```";
        let c = read(hex.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.bytes, [0x68, 0xFA, 0xFA, 0x68, 0x53, 0xFF]);
        let c = read(b"```\n68 FA\n```", InputFormat::Hex).expect("read");
        assert_eq!(c.form, Form::Hex);
        assert_eq!(c.bytes, [0x68, 0xFA]);
        assert!(read(b"```\n```\n", InputFormat::Auto).is_err());
    }
}
