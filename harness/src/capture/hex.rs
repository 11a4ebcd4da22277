//! Hex as people paste it (digits with any separators, `0x` and `\x` prefixes, `#` and `//`
//! comments), C and Python arrays (`{0x68, 0xFA}`, `[104, 250]`), and base64.

use super::{CaptureError, Converter, Form, Sink};

/// What the hex converter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Hex tokens anywhere.
    Hex,
    /// Numbers inside the brackets of an array; decimal or hex.
    Array {
        /// The numbers are decimal (a Python list).
        decimal: bool,
    },
}

/// Above this, a token of bare hex digits is emitted as it grows (a long unbroken hex string).
const TOKEN_FLUSH: usize = 4096;

/// Whether `c` separates hex tokens.
fn is_separator(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b',' | b';'
                | b':'
                | b'-'
                | b'.'
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'('
                | b')'
                | b'"'
                | b'\''
                | b'|'
        )
}

/// The bytes of one hex token: `68`, `68fa`, `0x68`, `0x5`, `\x68\xfa`.
pub fn token_bytes(token: &[u8]) -> Result<Vec<u8>, String> {
    let shown = || String::from_utf8_lossy(token).into_owned();
    let digits = |s: &[u8]| -> Result<Vec<u8>, String> {
        let mut nibbles = Vec::with_capacity(s.len());
        for &c in s {
            nibbles.push(
                (c as char)
                    .to_digit(16)
                    .ok_or_else(|| format!("`{}` is not hex", shown()))? as u8,
            );
        }
        Ok(nibbles)
    };
    if let Some(rest) = token
        .strip_prefix(b"0x")
        .or_else(|| token.strip_prefix(b"0X"))
    {
        let n = digits(rest)?;
        return match n.len() {
            0 => Err(format!("`{}` has no digits", shown())),
            1 => Ok(vec![n[0]]),
            l if l % 2 == 0 => Ok(n.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect()),
            _ => Err(format!("`{}` has an odd number of hex digits", shown())),
        };
    }
    if token.starts_with(b"\\x") || token.starts_with(b"\\X") {
        let mut out = Vec::new();
        for part in token.split(|&c| c == b'\\').skip(1) {
            let n = match part {
                [b'x' | b'X', rest @ ..] => digits(rest)?,
                _ => return Err(format!("`{}` is not a `\\x` escape", shown())),
            };
            if n.len() != 2 {
                return Err(format!("`{}` needs two hex digits after `\\x`", shown()));
            }
            out.push(n[0] << 4 | n[1]);
        }
        return Ok(out);
    }
    let n = digits(token)?;
    if n.len() % 2 != 0 {
        return Err(format!("`{}` has an odd number of hex digits", shown()));
    }
    Ok(n.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// The bytes of a run of hex tokens (a log line's payload).
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for token in text.as_bytes().split(|&c| is_separator(c)) {
        if !token.is_empty() {
            out.extend(token_bytes(token)?);
        }
    }
    Ok(out)
}

/// The bytes of the numbers in an array's brackets (`[104, 250]`, `{0x68, 0xFA}`).
pub fn parse_array(text: &str, decimal: bool) -> Result<Vec<u8>, String> {
    let mut c = HexConverter::new(Mode::Array { decimal });
    let mut sink = Sink::default();
    c.feed(text.as_bytes(), &mut sink)
        .and_then(|()| c.finish(&mut sink))
        .map_err(|e| match e {
            CaptureError::Syntax { message, .. } => message,
            other => other.to_string(),
        })?;
    Ok(sink.take())
}

/// The streaming converter for [`Mode::Hex`] and [`Mode::Array`].
pub struct HexConverter {
    mode: Mode,
    token: Vec<u8>,
    /// In a `#` or `//` comment, until the end of the line.
    comment: bool,
    /// Bracket depth (arrays: only numbers inside brackets count).
    depth: usize,
    /// Inside a `name[N]` declarator, whose number is not data.
    declarator: bool,
    previous: u8,
    line: usize,
}

impl HexConverter {
    /// A converter at the start of the input.
    pub fn new(mode: Mode) -> Self {
        HexConverter {
            mode,
            token: Vec::new(),
            comment: false,
            depth: 0,
            declarator: false,
            previous: b'\n',
            line: 1,
        }
    }

    fn form(&self) -> String {
        match self.mode {
            Mode::Hex => Form::Hex.to_string(),
            Mode::Array { decimal } => Form::Array { decimal }.to_string(),
        }
    }

    fn error(&self, message: String) -> CaptureError {
        CaptureError::Syntax {
            line: self.line,
            message,
            form: self.form(),
        }
    }

    fn end_token(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        if self.token.is_empty() {
            return Ok(());
        }
        let token = std::mem::take(&mut self.token);
        match self.mode {
            Mode::Hex => {
                let bytes = token_bytes(&token).map_err(|m| self.error(m))?;
                sink.push(&bytes);
            }
            Mode::Array { .. } if self.depth == 0 || self.declarator => {}
            Mode::Array { decimal } => {
                let text = String::from_utf8_lossy(&token);
                let value = if let Some(h) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
                    u8::from_str_radix(h, 16).ok()
                } else if decimal {
                    text.parse::<u8>().ok()
                } else {
                    u8::from_str_radix(&text, 16).ok()
                };
                let value = value.ok_or_else(|| {
                    self.error(format!("`{text}` is not a byte (0–255) in the array"))
                })?;
                sink.push(&[value]);
            }
        }
        Ok(())
    }
}

impl Converter for HexConverter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        for &c in input {
            let previous = std::mem::replace(&mut self.previous, c);
            if c == b'\n' {
                self.end_token(sink)?;
                self.comment = false;
                self.line += 1;
                continue;
            }
            if self.comment {
                continue;
            }
            if c == b'#' || (c == b'/' && previous == b'/') {
                if c == b'/' {
                    self.token.pop();
                }
                self.end_token(sink)?;
                self.comment = true;
                continue;
            }
            if c == b'\\' && self.mode == Mode::Hex && !self.token.is_empty() {
                // `\x68\xfa`: each escape is its own token.
                let first_escape = self.token.starts_with(b"\\");
                if !first_escape {
                    self.end_token(sink)?;
                }
            }
            if is_separator(c) {
                self.end_token(sink)?;
                if let Mode::Array { .. } = self.mode {
                    match c {
                        b'[' if previous.is_ascii_alphanumeric() || previous == b'_' => {
                            self.declarator = true;
                        }
                        b']' if self.declarator => self.declarator = false,
                        b'{' | b'[' => self.depth += 1,
                        b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                        _ => {}
                    }
                }
                continue;
            }
            self.token.push(c);
            if self.token.len() >= TOKEN_FLUSH
                && self.mode == Mode::Hex
                && self.token.iter().all(u8::is_ascii_hexdigit)
            {
                let keep = self.token.len() % 2;
                let tail = self.token.split_off(self.token.len() - keep);
                let whole = std::mem::replace(&mut self.token, tail);
                let bytes = token_bytes(&whole).map_err(|m| self.error(m))?;
                sink.push(&bytes);
            }
        }
        Ok(())
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        self.end_token(sink)
    }
}

/// Hex, if every token of `text` is hex and there is at least one byte.
pub fn detect_hex(text: &str) -> Option<Form> {
    let mut c = HexConverter::new(Mode::Hex);
    let mut sink = Sink::default();
    c.feed(text.as_bytes(), &mut sink).ok()?;
    c.finish(&mut sink).ok()?;
    (!sink.bytes.is_empty()).then_some(Form::Hex)
}

/// An array, if `text` has bracketed numbers separated by commas and nothing else inside the
/// brackets; decimal unless a number has `0x` or a hex letter.
pub fn detect_array(text: &str) -> Option<Form> {
    let open = text.find(['{', '['])?;
    let inside = &text[open..];
    if !inside.contains(',') {
        return None;
    }
    let hexish = inside.contains("0x")
        || inside.contains("0X")
        || inside.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| {
            !t.is_empty()
                && t.bytes().any(|b| b.is_ascii_alphabetic())
                && t.bytes().all(|b| b.is_ascii_hexdigit())
        });
    let decimal = !hexish;
    let bytes = parse_array(text, decimal).ok()?;
    (bytes.len() >= 2).then_some(Form::Array { decimal })
}

/// Base64, if `text` is base64 characters only (line breaks allowed), padded to a multiple of
/// four, and not plain hex digits.
pub fn detect_base64(text: &str) -> Option<Form> {
    let chars: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let valid = chars.len() >= 8
        && chars.len() % 4 == 0
        && chars
            .iter()
            .all(|&b| base64_value(b).is_some() || b == b'=')
        && !chars.iter().all(u8::is_ascii_hexdigit);
    let padding_at_end = chars.iter().position(|&b| b == b'=').map_or(true, |p| {
        chars[p..].iter().all(|&b| b == b'=') && chars.len() - p <= 2
    });
    (valid && padding_at_end).then_some(Form::Base64)
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// The streaming base64 converter (standard and URL-safe alphabets, line breaks ignored).
#[derive(Debug, Default)]
pub struct Base64Converter {
    quad: [u8; 4],
    n: usize,
    padding: usize,
    line: usize,
}

impl Base64Converter {
    fn error(&self, message: String) -> CaptureError {
        CaptureError::Syntax {
            line: self.line + 1,
            message,
            form: Form::Base64.to_string(),
        }
    }

    fn flush(&mut self, sink: &mut Sink) {
        let q = self.quad;
        let bytes = [
            q[0] << 2 | q[1] >> 4,
            q[1] << 4 | q[2] >> 2,
            q[2] << 6 | q[3],
        ];
        let keep = match self.n {
            2 => 1,
            3 => 2,
            _ => 3,
        };
        sink.push(&bytes[..keep]);
        self.quad = [0; 4];
        self.n = 0;
    }
}

impl Converter for Base64Converter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        for &c in input {
            if c == b'\n' {
                self.line += 1;
                continue;
            }
            if c.is_ascii_whitespace() {
                continue;
            }
            if c == b'=' {
                self.padding += 1;
                if self.n >= 2 && self.n + self.padding == 4 {
                    self.flush(sink);
                    self.padding = 0;
                } else if self.n < 2 {
                    return Err(self.error("misplaced `=` padding".into()));
                }
                continue;
            }
            let v = base64_value(c).ok_or_else(|| {
                self.error(format!("`{}` is not a base64 character", c.escape_ascii()))
            })?;
            if self.padding > 0 {
                return Err(self.error("data after `=` padding".into()));
            }
            self.quad[self.n] = v;
            self.n += 1;
            if self.n == 4 {
                self.flush(sink);
            }
        }
        Ok(())
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        match self.n {
            0 => Ok(()),
            1 => Err(self.error("one base64 character left over at the end".into())),
            _ => {
                self.flush(sink);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn convert(mode: Mode, text: &str, piece: usize) -> Result<Vec<u8>, CaptureError> {
        let mut c = HexConverter::new(mode);
        let mut sink = Sink::default();
        for chunk in text.as_bytes().chunks(piece.max(1)) {
            c.feed(chunk, &mut sink)?;
        }
        c.finish(&mut sink)?;
        Ok(sink.take())
    }

    #[test]
    fn hex_with_any_separators_and_prefixes() {
        let want = [0x68, 0xFA, 0xFA, 0x68, 0x53];
        for text in [
            "68 FA FA 68 53",
            "68fafa6853\n",
            "68:fa:fa:68:53",
            "68-FA-FA-68-53 # comment 99\n",
            "0x68, 0xFA, 0xFA, 0x68, 0x53",
            "{0x68,0xfa,0xfa,0x68,0x53};",
            "\\x68\\xfa\\xfa\\x68\\x53",
            "68FA FA68\n53 // trailing",
            "A1.08",
        ] {
            if text == "A1.08" {
                assert_eq!(convert(Mode::Hex, text, 3).expect("read"), [0xA1, 0x08]);
                continue;
            }
            for piece in [1, 2, 5, 1000] {
                assert_eq!(
                    convert(Mode::Hex, text, piece).expect("read"),
                    want,
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn bad_hex_names_the_line() {
        let e = convert(Mode::Hex, "68 FA\n6G\n", 100).expect_err("an error");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(e.to_string().contains("`6G` is not hex"), "{e}");
        assert!(convert(Mode::Hex, "68F", 100).is_err(), "odd digits");
    }

    #[test]
    fn a_long_unbroken_hex_string_streams() {
        let text = "ab".repeat(10_000);
        let bytes = convert(Mode::Hex, &text, 777).expect("read");
        assert_eq!(bytes.len(), 10_000);
        assert!(bytes.iter().all(|&b| b == 0xAB));
    }

    #[test]
    fn arrays_decimal_and_hex() {
        assert_eq!(
            detect_array("data=[126, 160, 42, 65]"),
            Some(Form::Array { decimal: true })
        );
        assert_eq!(
            parse_array("x=[126, 160, 42]", true).expect("read"),
            [126, 160, 42]
        );
        let c = "static const uint8_t frame[4] = {0x68, 0xfa, 0xFA, 0x68};";
        assert_eq!(detect_array(c), Some(Form::Array { decimal: false }));
        assert_eq!(
            parse_array(c, false).expect("read"),
            [0x68, 0xFA, 0xFA, 0x68]
        );
        assert!(parse_array("[1, 256]", true).is_err());
        assert_eq!(
            parse_array("bytes([0x10, 0x5b])", false).expect("read"),
            [0x10, 0x5B]
        );
    }

    #[test]
    fn base64_round_trip() {
        let mut c = Base64Converter::default();
        let mut sink = Sink::default();
        c.feed(b"L0lTSzVcMk0\n1NTBULTEwMTM=", &mut sink)
            .expect("read");
        c.finish(&mut sink).expect("read");
        assert_eq!(sink.take(), b"/ISK5\\2M550T-1013");
        assert_eq!(
            detect_base64("L0lTSzVcMk01NTBULTEwMTM="),
            Some(Form::Base64)
        );
        assert_eq!(detect_base64("68fa68fa"), None, "hex digits only");
        assert_eq!(detect_base64("1-0:1.8.1(000.1*kWh)"), None);
    }
}
