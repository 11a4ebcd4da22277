//! Python bytes literals as Python prints them (`b'h\xfa\xfah\x53…'`): printable characters
//! mixed with escapes, several literals over lines (one per `read()`, or one wrapped by a
//! terminal), text outside the literals (a log prefix, `bytearray(…)`) ignored. Some readers log
//! a rejected telegram as base64 inside the literal; that is read through as well.

use super::hex::Base64Converter;
use super::{CaptureError, Converter, Form, Sink};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Outside a literal; the previous character.
    Outside(u8),
    /// After a `b` that may open a literal.
    AfterB,
    /// Inside a literal opened with this quote.
    Inside(u8),
    /// After a backslash inside a literal.
    Escape(u8),
    /// `\x` and the digits so far.
    Hex(u8, u8, usize),
    /// `\0`–`\7` and the value so far.
    Octal(u8, u16, usize),
}

/// The streaming converter for Python bytes literals.
pub struct PyBytesConverter {
    state: State,
    line: usize,
    literals: usize,
    /// The literals hold base64 text, decoded by this.
    base64: Option<Base64Converter>,
    scratch: Sink,
}

impl PyBytesConverter {
    /// A converter; with `base64` the literals' content is base64 text.
    pub fn new(base64: bool) -> Self {
        PyBytesConverter {
            state: State::Outside(b'\n'),
            line: 1,
            literals: 0,
            base64: base64.then(Base64Converter::default),
            scratch: Sink::default(),
        }
    }

    /// Literals seen so far.
    pub fn literals(&self) -> usize {
        self.literals
    }

    fn error(&self, message: String) -> CaptureError {
        CaptureError::Syntax {
            line: self.line,
            message,
            form: Form::PyBytes {
                base64: self.base64.is_some(),
            }
            .to_string(),
        }
    }

    fn emit(&mut self, byte: u8, sink: &mut Sink) -> Result<(), CaptureError> {
        match self.base64.as_mut() {
            None => sink.push(&[byte]),
            Some(b64) => {
                b64.feed(&[byte], &mut self.scratch)?;
                let out = self.scratch.take();
                sink.push(&out);
            }
        }
        Ok(())
    }

    fn step(&mut self, c: u8, sink: &mut Sink) -> Result<(), CaptureError> {
        self.state = match self.state {
            State::Outside(prev) => {
                if matches!(c, b'b' | b'B') && !(prev.is_ascii_alphanumeric() || prev == b'_') {
                    State::AfterB
                } else {
                    State::Outside(c)
                }
            }
            State::AfterB => {
                if matches!(c, b'\'' | b'"') {
                    self.literals += 1;
                    sink.start_segment(None, None);
                    State::Inside(c)
                } else {
                    State::Outside(c)
                }
            }
            State::Inside(q) => match c {
                _ if c == q => State::Outside(c),
                b'\\' => State::Escape(q),
                // A literal wrapped by a terminal or an editor: the line break is not data
                // (Python writes a newline byte as `\n`).
                b'\n' | b'\r' => State::Inside(q),
                _ => {
                    self.emit(c, sink)?;
                    State::Inside(q)
                }
            },
            State::Escape(q) => {
                let simple = match c {
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'a' => Some(0x07),
                    b'b' => Some(0x08),
                    b'f' => Some(0x0C),
                    b'v' => Some(0x0B),
                    b'\\' | b'\'' | b'"' => Some(c),
                    _ => None,
                };
                match (simple, c) {
                    (Some(b), _) => {
                        self.emit(b, sink)?;
                        State::Inside(q)
                    }
                    (None, b'x') => State::Hex(q, 0, 0),
                    (None, b'0'..=b'7') => State::Octal(q, u16::from(c - b'0'), 1),
                    // A backslash before a line break continues the literal.
                    (None, b'\n' | b'\r') => State::Inside(q),
                    (None, _) => {
                        // Python keeps an unknown escape as it is.
                        self.emit(b'\\', sink)?;
                        self.emit(c, sink)?;
                        State::Inside(q)
                    }
                }
            }
            State::Hex(q, value, n) => {
                let digit = (c as char).to_digit(16).ok_or_else(|| {
                    self.error(format!(
                        "`\\x` followed by `{}`, not two hex digits",
                        c.escape_ascii()
                    ))
                })? as u8;
                let value = value << 4 | digit;
                if n == 1 {
                    self.emit(value, sink)?;
                    State::Inside(q)
                } else {
                    State::Hex(q, value, 1)
                }
            }
            State::Octal(q, value, n) => {
                if (b'0'..=b'7').contains(&c) && n < 3 {
                    State::Octal(q, value * 8 + u16::from(c - b'0'), n + 1)
                } else {
                    self.emit((value & 0xFF) as u8, sink)?;
                    self.state = State::Inside(q);
                    return self.step(c, sink);
                }
            }
        };
        Ok(())
    }
}

impl Converter for PyBytesConverter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        for &c in input {
            if c == b'\n' {
                self.line += 1;
            }
            self.step(c, sink)?;
        }
        Ok(())
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        if let State::Octal(q, value, _) = self.state {
            self.emit((value & 0xFF) as u8, sink)?;
            self.state = State::Inside(q);
        }
        if let State::Inside(_) | State::Escape(_) | State::Hex(..) = self.state {
            return Err(self.error("a bytes literal is not closed at the end of the input".into()));
        }
        if let Some(b64) = self.base64.as_mut() {
            b64.finish(&mut self.scratch)?;
            let out = self.scratch.take();
            sink.push(&out);
        }
        Ok(())
    }
}

/// Python bytes literals, if `text` holds at least one closed literal with bytes in it;
/// `base64` when their content is base64 text.
pub fn detect(text: &str) -> Option<Form> {
    let mut c = PyBytesConverter::new(false);
    let mut sink = Sink::default();
    // The window may end inside a literal: only what was read before counts.
    let _ = c.feed(text.as_bytes(), &mut sink);
    let closed = matches!(c.state, State::Outside(_) | State::AfterB);
    let literals = c.literals() - usize::from(!closed);
    if literals == 0 || sink.bytes.is_empty() {
        return None;
    }
    let b64 = sink.bytes.len() >= 16
        && super::hex::detect_base64(&String::from_utf8_lossy(&sink.bytes)).is_some()
        || (sink.bytes.len() >= 64
            && !closed
            && sink
                .bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')));
    Some(Form::PyBytes { base64: b64 })
}

#[cfg(test)]
mod test {
    use super::super::{read, InputFormat};
    use super::*;

    #[test]
    fn literals_with_escapes_over_lines() {
        let text = "b'h\\xfa\\xfah'\nb\"S\\xff\\x00\\x01\\r\\n\\\\\\'\\0\"\n";
        let c = read(text.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.form, Form::PyBytes { base64: false });
        assert_eq!(
            c.bytes,
            [0x68, 0xFA, 0xFA, 0x68, b'S', 0xFF, 0x00, 0x01, b'\r', b'\n', b'\\', b'\'', 0]
        );
        assert_eq!(c.segments.len(), 2, "one segment per literal");
        assert_eq!(c.segments[1].range, 4..13);
    }

    #[test]
    fn a_log_prefix_and_a_wrapped_literal() {
        let text = "2024-01-01 DEBUG read: bytearray(b'~\\xa0\n\\x2a')\n";
        let c = read(text.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.bytes, [0x7E, 0xA0, 0x2A]);
        let e = read(b"b'\\xf", InputFormat::PyBytes).expect_err("an error");
        assert!(
            e.to_string().contains("not closed") || e.to_string().contains("not Python"),
            "{e}"
        );
    }
}
