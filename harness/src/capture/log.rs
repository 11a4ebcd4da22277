//! Log lines with a prefix before the bytes on every line: timestamps (`[10:48:02]`,
//! `2024-05-01 12:00:00.123`, ISO 8601), levels and tags (`[D][dlms_meter:123]:`, `DEBUG`),
//! labels (`Raw data:`, `RECV (205):`), terminal color codes, and direction markers (`RX`/`TX`,
//! `SEND`/`RECV`, `<`/`>`, `hhu->meter`/`meter->hhu`) that make a two-direction capture.
//!
//! The bytes of a line are the hex at its end (any separators, as in [`super::hex`]) or an
//! array at its end (`data=[126, 160, …]`). Which lines carry data is decided by the prefix's
//! *signature* (the prefix with timestamps, numbers and direction markers abstracted): the
//! signature most data lines share. Other lines (messages of the logger, headers) are counted
//! and left out; a line of bare hex right after a data line continues it (a wrapped dump).

use std::fmt;

use super::hex::{parse_array, token_bytes};
use super::{CaptureError, Converter, Direction, Form, Lines, Sink};

/// What detection found out about a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogForm {
    /// The prefix of the first data line (timestamp left out), as shown to the user.
    pub prefix: String,
    /// The signature data lines share.
    pub signature: String,
    /// `<` and `>` both occur, so arrows tell the direction.
    pub arrows: bool,
    /// Data lines carry direction markers.
    pub two_way: bool,
}

impl fmt::Display for LogForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            f.write_str("hex lines among other text")?;
        } else {
            write!(f, "log lines with prefix `{}`", self.prefix)?;
        }
        if self.two_way {
            f.write_str(", both directions")?;
        }
        Ok(())
    }
}

/// Removes terminal color codes, and what is left of them when a log is pasted without the
/// escape character (`[0;38m`).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find('[') {
        let (before, after) = rest.split_at(i);
        let code_len = after[1..]
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b';')
            .count();
        let is_code =
            after[1 + code_len..].starts_with('m') && (code_len > 0 || before.ends_with('\x1b'));
        if is_code {
            out.push_str(before.strip_suffix('\x1b').unwrap_or(before));
            rest = &after[2 + code_len..];
        } else {
            out.push_str(before);
            out.push('[');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

fn digits(s: &[u8], n: usize) -> Option<u64> {
    let d = s.get(..n)?;
    d.iter()
        .all(u8::is_ascii_digit)
        .then(|| d.iter().fold(0u64, |v, &b| v * 10 + u64::from(b - b'0')))
}

/// A timestamp at the start of `line` (optionally in brackets): nanoseconds (since the epoch
/// with a date, since midnight without) and whether it had a date, and the rest of the line.
pub fn timestamp(line: &str) -> (Option<(u64, bool)>, &str) {
    let t = line.trim_start();
    let bracket = t.starts_with('[');
    let b = t.as_bytes();
    let mut i = usize::from(bracket);
    let mut days = None;
    if let (Some(y), Some(m), Some(d)) = (
        digits(&b[i..], 4),
        b.get(i + 5..).and_then(|s| digits(s, 2)),
        b.get(i + 8..).and_then(|s| digits(s, 2)),
    ) {
        if b.get(i + 4) == Some(&b'-')
            && b.get(i + 7) == Some(&b'-')
            && matches!(b.get(i + 10), Some(b'T' | b' '))
        {
            use chrono::Datelike;
            days = chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32).map(|date| {
                // Days since 1970: nanoseconds since then fit a u64 until 2554.
                u64::try_from(date.num_days_from_ce() - 719_163).unwrap_or(0)
            });
            if days.is_some() {
                i += 11;
            }
        }
    }
    let (Some(h), Some(mi), Some(s)) = (
        digits(&b[i.min(b.len())..], 2),
        b.get(i + 3..).and_then(|x| digits(x, 2)),
        b.get(i + 6..).and_then(|x| digits(x, 2)),
    ) else {
        return (None, line);
    };
    if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') || h > 23 || mi > 59 || s > 60 {
        return (None, line);
    }
    i += 8;
    let mut ns = ((h * 60 + mi) * 60 + s) * 1_000_000_000;
    if matches!(b.get(i), Some(b'.' | b',')) {
        let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            let frac = &b[i + 1..i + 1 + n.min(9)];
            let mut v = digits(frac, frac.len()).unwrap_or(0);
            for _ in frac.len()..9 {
                v *= 10;
            }
            ns += v;
            i += 1 + n;
        }
    }
    if b.get(i) == Some(&b'Z') {
        i += 1;
    } else if matches!(b.get(i), Some(b'+' | b'-')) && b.get(i + 1).is_some_and(u8::is_ascii_digit)
    {
        i += 1 + b[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b':')
            .count();
    }
    if bracket {
        if b.get(i) != Some(&b']') {
            return (None, line);
        }
        i += 1;
    }
    let ns = days.map_or(ns, |d| {
        d.saturating_mul(86_400_000_000_000).saturating_add(ns)
    });
    (Some((ns, days.is_some())), t[i..].trim_start())
}

/// A direction marker in a prefix: the direction, and whether it is an arrow (`<`, `>>>`),
/// whose meaning is only trusted when both kinds occur.
pub fn direction(prefix: &str) -> Option<(Direction, bool)> {
    let lower = prefix.to_ascii_lowercase();
    if lower.contains("meter->hhu") || lower.contains("hhu<-meter") {
        return Some((Direction::FromMeter, false));
    }
    if lower.contains("hhu->meter") || lower.contains("meter<-hhu") {
        return Some((Direction::ToMeter, false));
    }
    for token in lower.split(|c: char| c.is_whitespace() || "[](){}:|,".contains(c)) {
        match token {
            "rx" | "recv" | "received" | "receive" | "<-" => {
                return Some((Direction::FromMeter, token == "<-"))
            }
            "tx" | "send" | "sent" | "->" => return Some((Direction::ToMeter, token == "->")),
            t if !t.is_empty() && t.bytes().all(|b| b == b'<') => {
                return Some((Direction::FromMeter, true))
            }
            t if !t.is_empty() && t.bytes().all(|b| b == b'>') => {
                return Some((Direction::ToMeter, true))
            }
            _ => {}
        }
    }
    None
}

/// The signature of a prefix: color codes dropped, numbers as `0`, direction markers as `<>`.
pub fn signature(prefix: &str) -> String {
    let clean = strip_ansi(prefix);
    let mut out = String::with_capacity(clean.len());
    for token in clean.split_inclusive(|c: char| c.is_whitespace()) {
        let word = token.trim_end();
        let lower = word
            .trim_matches(|c: char| "[](){}:|,".contains(c))
            .to_ascii_lowercase();
        let marker = matches!(
            lower.as_str(),
            "rx" | "tx" | "recv" | "send" | "sent" | "received" | "receive" | "<-" | "->"
        ) || lower.contains("hhu")
            || (!lower.is_empty() && lower.bytes().all(|b| b == b'<' || b == b'>'));
        if marker {
            out.push_str("<>");
        } else {
            let mut last_digit = false;
            for c in word.chars() {
                if c.is_ascii_digit() {
                    if !last_digit {
                        out.push('0');
                    }
                    last_digit = true;
                } else {
                    out.push(c);
                    last_digit = false;
                }
            }
        }
        out.push_str(&token[word.len()..]);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The bytes at the end of a line (after its timestamp) and the prefix before them.
pub fn payload(rest: &str) -> Option<(&str, Vec<u8>)> {
    let trimmed = rest.trim_end();
    // An array at the end: `data=[126, 160, 42]`.
    if trimmed.ends_with([']', '}']) {
        let open = if trimmed.ends_with(']') { '[' } else { '{' };
        if let Some(i) = trimmed.rfind(open) {
            let inside = &trimmed[i..];
            if inside.contains(',') {
                let decimal =
                    !inside.contains("0x") && !inside.bytes().any(|b| b.is_ascii_alphabetic());
                if let Ok(bytes) = parse_array(inside, decimal) {
                    return (!bytes.is_empty()).then_some((&trimmed[..i], bytes));
                }
            }
        }
    }
    let b = trimmed.as_bytes();
    let allowed = |c: u8| {
        c.is_ascii_hexdigit()
            || matches!(
                c,
                b' ' | b'\t' | b',' | b':' | b'.' | b'-' | b';' | b'x' | b'X' | b'\\'
            )
    };
    let mut start = b.len();
    while start > 0 && allowed(b[start - 1]) {
        start -= 1;
    }
    let run = &trimmed[start..];
    let is_sep = |c: char| c.is_whitespace() || ",:.-;".contains(c);
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    let mut pos = start;
    for piece in run.split_inclusive(is_sep) {
        let word = piece.trim_end_matches(is_sep);
        if !word.is_empty() {
            tokens.push((pos, word));
        }
        pos += piece.len();
    }
    // A word cut by the start of the run (`data:` gives `a`) is not data.
    if start > 0
        && b[start - 1].is_ascii_alphanumeric()
        && tokens.first().is_some_and(|t| t.0 == start)
    {
        tokens.remove(0);
    }
    // Leading tokens that are not bytes belong to the prefix; after the first byte, every
    // token must be bytes.
    let first = tokens
        .iter()
        .position(|(_, t)| token_bytes(t.as_bytes()).is_ok())?;
    let mut bytes = Vec::new();
    for (_, t) in &tokens[first..] {
        bytes.extend(token_bytes(t.as_bytes()).ok()?);
    }
    (!bytes.is_empty()).then(|| (&trimmed[..tokens[first].0], bytes))
}

/// One line split into its parts.
struct Parsed<'a> {
    at: Option<(u64, bool)>,
    prefix: &'a str,
    bytes: Vec<u8>,
}

fn parse(line: &str) -> Option<Parsed<'_>> {
    let (at, rest) = timestamp(line);
    let (prefix, bytes) = payload(rest)?;
    Some(Parsed { at, prefix, bytes })
}

/// Log lines with bytes, if `text` has data lines sharing a prefix signature.
pub fn detect(text: &str) -> Option<Form> {
    let mut counts: Vec<(String, usize, String)> = Vec::new();
    let mut less = false;
    let mut greater = false;
    let mut words = false;
    for raw in text.lines().take(5000) {
        let line = strip_ansi(raw);
        let Some(p) = parse(&line) else { continue };
        let dir = direction(p.prefix);
        if p.bytes.len() < 2 && dir.is_none() {
            continue;
        }
        match dir {
            Some((Direction::FromMeter, true)) => less = true,
            Some((Direction::ToMeter, true)) => greater = true,
            Some((_, false)) => words = true,
            None => {}
        }
        let sig = signature(p.prefix);
        match counts.iter_mut().find(|(s, ..)| *s == sig) {
            Some(entry) => entry.1 += 1,
            None => counts.push((sig, 1, p.prefix.trim().to_string())),
        }
    }
    let (signature, _, prefix) = counts.into_iter().max_by_key(|(_, n, _)| *n)?;
    let arrows = less && greater;
    Some(Form::Log(LogForm {
        two_way: words || arrows,
        prefix,
        signature,
        arrows,
    }))
}

/// The streaming converter for log lines.
pub struct LogConverter {
    form: LogForm,
    lines: Lines,
    /// The previous line carried data (a bare hex line continues it).
    in_data: bool,
    /// For time-only stamps: days added after midnight, and the last stamp.
    day: u64,
    last_ns: Option<u64>,
}

impl LogConverter {
    /// A converter for logs of `form`.
    pub fn new(form: LogForm) -> Self {
        LogConverter {
            form,
            lines: Lines::default(),
            in_data: false,
            day: 0,
            last_ns: None,
        }
    }

    fn line(&mut self, number: usize, raw: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        let text = strip_ansi(&String::from_utf8_lossy(raw));
        let Some(p) = parse(&text) else {
            self.in_data = false;
            if !text.trim().is_empty() {
                tracing::debug!(line = number, "no bytes at the end: left out");
                sink.ignored_lines += 1;
            }
            return Ok(());
        };
        let sig = signature(p.prefix);
        if sig.is_empty() && p.at.is_none() && self.in_data {
            sink.push(&p.bytes);
            return Ok(());
        }
        if sig != self.form.signature {
            tracing::debug!(line = number, prefix = %sig, "another prefix than the data lines': left out");
            self.in_data = false;
            sink.ignored_lines += 1;
            return Ok(());
        }
        let direction = direction(p.prefix)
            .filter(|(_, arrow)| !arrow || self.form.arrows)
            .map(|(d, _)| d);
        let at = p.at.map(|(ns, dated)| {
            if dated {
                return ns;
            }
            // Time of day only: a step back of more than 12 h is the next day.
            const DAY: u64 = 86_400 * 1_000_000_000;
            if self.last_ns.is_some_and(|last| ns + DAY / 2 < last) {
                self.day += 1;
            }
            self.last_ns = Some(ns);
            ns + self.day * DAY
        });
        sink.start_segment(direction, at);
        sink.push(&p.bytes);
        self.in_data = true;
        Ok(())
    }
}

impl Converter for LogConverter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        let form = Form::Log(self.form.clone()).to_string();
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.feed(input, &|| form.clone(), |n, l| self.line(n, l, sink));
        self.lines = lines;
        result
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.finish(|n, l| self.line(n, l, sink));
        self.lines = lines;
        result
    }
}

#[cfg(test)]
mod test {
    use super::super::{read, InputFormat};
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp("[10:48:02][D][x:1]: 68").1, "[D][x:1]: 68");
        let (t, rest) = timestamp("2024-05-01 00:00:01.5 RX 68 FA");
        assert_eq!(rest, "RX 68 FA");
        assert!(t.is_some_and(|(ns, dated)| dated && ns % 86_400_000_000_000 == 1_500_000_000));
        assert_eq!(timestamp("2026-07-14T09:57:59.961Z gplugm01").1, "gplugm01");
        assert_eq!(timestamp("68 FA").0, None);
    }

    #[test]
    fn esphome_lines_and_other_messages() {
        let log = "[11:40:01][D][uart_debug:114]: <<< 68:FA:FA:68\n\
                   [11:40:01][W][dsmr:099]: Timeout while reading 12 34\n\
                   [11:40:02][D][uart_debug:114]: <<< 53:FF\n";
        let c = read(log.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(
            c.form.to_string(),
            "log lines with prefix `[D][uart_debug:114]: <<<`"
        );
        assert_eq!(c.bytes, [0x68, 0xFA, 0xFA, 0x68, 0x53, 0xFF]);
        assert_eq!(c.ignored_lines, 1);
        assert_eq!(c.segments.len(), 2);
        assert_eq!(c.segments[1].at_ns, Some(1_000_000_000));
        assert_eq!(c.segments[1].direction, None, "one arrow kind only");
    }

    #[test]
    fn two_directions_in_order() {
        let log = "[2015-04-02 22:48:59] SEND (005): 10 40 FD 3D 16\n\
                   [2015-04-02 22:49:00] RECV (001): E5\n\
                   hhu->meter: 10 5B FE 59 16\n";
        let c = read(log.as_bytes(), InputFormat::Log).expect("read");
        assert_eq!(
            c.segments.len(),
            2,
            "the third line has another prefix: {c:?}"
        );
        assert_eq!(c.segments[0].direction, Some(Direction::ToMeter));
        assert_eq!(c.segments[1].direction, Some(Direction::FromMeter));
        assert_eq!(c.segments[1].at_ns, Some(1_000_000_000));
        assert_eq!(c.bytes, [0x10, 0x40, 0xFD, 0x3D, 0x16, 0xE5]);
        assert!(
            c.form.to_string().ends_with("both directions"),
            "{}",
            c.form
        );
    }

    #[test]
    fn raw_data_labels_and_arrays() {
        let c = read(b"Raw data: 00f168fa\n", InputFormat::Auto).expect("read");
        assert_eq!(c.bytes, [0x00, 0xF1, 0x68, 0xFA]);
        let c = read(
            b"2025-12-21 22:01:06.568 DEBUG (Thread-5) [ams] data read from port=[126, 160, 42]\n",
            InputFormat::Auto,
        )
        .expect("read");
        assert_eq!(c.bytes, [126, 160, 42]);
        assert_eq!(strip_ansi("x [0;38m[VV][a:1]: 7E"), "x [VV][a:1]: 7E");
    }
}
