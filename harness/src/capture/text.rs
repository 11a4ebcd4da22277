//! DSMR P1 and IEC 62056-21 text as people paste it: LF instead of CRLF, trailing spaces from a
//! terminal, a log prefix before every line (`[2016-09-04 21:10:33,100] DEBUG >> /XMX5…`).
//!
//! A paste is rebuilt into what the meter sent: each line without its prefix and trailing
//! spaces, ended by CR LF (both DSMR P1 §6.2 and IEC 62056-21 end lines with CR LF, and DSMR's
//! CRC covers them). Text that already has CR LF and no prefix is passed through byte for byte,
//! as a capture of the wire is.

use std::fmt;

use super::log::{signature, strip_ansi, timestamp};
use super::{CaptureError, Converter, Form, Lines, Sink};

/// What detection found out about a text capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextForm {
    /// The log prefix before every telegram line (as shown) and its signature.
    pub prefix: Option<(String, String)>,
    /// Lines are rebuilt (prefix and trailing spaces dropped, CR LF restored).
    pub rebuild: bool,
}

impl TextForm {
    /// Text passed through as it is.
    pub fn as_sent() -> Self {
        TextForm {
            prefix: None,
            rebuild: false,
        }
    }
}

impl fmt::Display for TextForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DSMR/IEC text")?;
        match (&self.prefix, self.rebuild) {
            (Some((shown, _)), _) => write!(
                f,
                " in log lines with prefix `{shown}` (prefix dropped, CR LF restored)"
            ),
            (None, true) => f.write_str(" as pasted (CR LF restored, trailing spaces dropped)"),
            (None, false) => f.write_str(" as sent"),
        }
    }
}

/// Where a telegram line starts in `s`: a header `/XXX5`, a request `/?…!`, an object line
/// (`1-0:1.8.1(`, `0-0:96.1.1(`, IEC `1.8.0(`, `F.F(`, `C.1.0*01(`), or the end `!`/`!CRC`.
fn telegram_line_at(s: &str) -> bool {
    let s = s.trim_start_matches(['\x01', '\x02', '\x06']);
    let b = s.as_bytes();
    if b.first() == Some(&b'/') {
        return b.get(1) == Some(&b'?')
            || (b.len() >= 5
                && b[1..4].iter().all(u8::is_ascii_alphabetic)
                && b[4].is_ascii_digit());
    }
    if b.first() == Some(&b'!') {
        return b[1..].iter().take(4).all(u8::is_ascii_hexdigit)
            && b[1..].iter().skip(4).all(|c| c.is_ascii_whitespace());
    }
    // An object id: groups of digits or capitals separated by `-`, `:`, `.`, `*`, then `(`.
    let Some(paren) = s.find('(') else {
        return false;
    };
    let id = &s[..paren];
    !id.is_empty()
        && id.len() <= 20
        && id.contains('.')
        && id
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || b"-:.*".contains(&c))
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

/// The offset in `rest` where a telegram line starts after a prefix, if any.
fn telegram_start(rest: &str) -> Option<usize> {
    if telegram_line_at(rest) {
        return Some(0);
    }
    rest.char_indices()
        .filter(|(i, _)| {
            rest[..*i]
                .chars()
                .next_back()
                .is_some_and(|p| p.is_whitespace() || ":]>|".contains(p))
        })
        .map(|(i, _)| i)
        .find(|&i| telegram_line_at(&rest[i..]))
}

/// DSMR or IEC text, if `text` has at least two telegram lines (or a header), all with the
/// same prefix.
pub fn detect(text: &str) -> Option<Form> {
    let mut found = 0;
    let mut header = false;
    let mut prefix: Option<String> = None;
    for raw in text.lines().take(5000) {
        let line = strip_ansi(raw);
        let (_, rest) = timestamp(&line);
        let Some(at) = telegram_start(rest) else {
            continue;
        };
        let this = rest[..at].trim().to_string();
        match &prefix {
            None => prefix = Some(this),
            Some(p) if signature(p) != signature(&this) => continue,
            Some(_) => {}
        }
        header |= rest[at..].starts_with('/');
        found += 1;
    }
    if found < 2 && !(found == 1 && header) {
        return None;
    }
    let prefix = prefix.filter(|p| !p.is_empty());
    let had_timestamps = text.lines().any(|l| timestamp(l).0.is_some());
    let lf_only = text.contains('\n') && !text.contains("\r\n");
    let trailing = text
        .lines()
        .any(|l| l.trim_end_matches('\r').ends_with([' ', '\t']));
    let rebuild =
        prefix.is_some() || had_timestamps || lf_only || (trailing && !text.contains("\r\n"));
    Some(Form::Text(TextForm {
        prefix: prefix.map(|p| {
            let sig = signature(&p);
            (p, sig)
        }),
        rebuild,
    }))
}

/// The streaming converter for text.
pub struct TextConverter {
    form: TextForm,
    lines: Lines,
}

impl TextConverter {
    /// A converter for text of `form`.
    pub fn new(form: TextForm) -> Self {
        TextConverter {
            form,
            lines: Lines::default(),
        }
    }

    fn line(&mut self, raw: &[u8], sink: &mut Sink) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        let content: String = match &self.form.prefix {
            None => {
                let clean = strip_ansi(&text);
                timestamp(&clean).1.to_string()
            }
            Some((shown, sig)) => {
                let clean = strip_ansi(&text);
                let (_, rest) = timestamp(&clean);
                let longest = (0..=rest.len().min(shown.len() + 8))
                    .rev()
                    .filter(|&k| rest.is_char_boundary(k))
                    .find(|&k| signature(&rest[..k]) == *sig);
                match longest {
                    Some(k) => rest[k..].trim_start_matches(' ').to_string(),
                    None => {
                        sink.ignored_lines += 1;
                        return;
                    }
                }
            }
        };
        let content = content.trim_end_matches([' ', '\t']);
        sink.push(content.as_bytes());
        // IEC 62056-21: the BCC after ETX ends the message, no line end follows.
        if !content.starts_with('\x03') {
            sink.push(b"\r\n");
        }
    }
}

impl Converter for TextConverter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        if !self.form.rebuild {
            sink.push(input);
            return Ok(());
        }
        let form = Form::Text(self.form.clone()).to_string();
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.feed(input, &|| form.clone(), |_, l| {
            self.line(l, sink);
            Ok(())
        });
        self.lines = lines;
        result
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        if !self.form.rebuild {
            return Ok(());
        }
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.finish(|_, l| {
            self.line(l, sink);
            Ok(())
        });
        self.lines = lines;
        result
    }
}

#[cfg(test)]
mod test {
    use super::super::{read, InputFormat};
    use super::*;

    const WIRE: &[u8] =
        b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n1-0:1.8.1(000004.426*kWh)\r\n!ABCD\r\n";

    #[test]
    fn wire_text_is_passed_through() {
        let c = read(WIRE, InputFormat::Auto).expect("read");
        assert_eq!(c.form, Form::Text(TextForm::as_sent()));
        assert_eq!(c.bytes, WIRE);
    }

    #[test]
    fn lf_and_trailing_spaces_are_rebuilt() {
        let pasted = "/ISk5\\2MT382-1000   \n\n1-3:0.2.8(50)\n1-0:1.8.1(000004.426*kWh)  \n!ABCD";
        let c = read(pasted.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.bytes, WIRE);
        assert!(c.form.to_string().contains("CR LF restored"), "{}", c.form);
    }

    #[test]
    fn a_log_prefix_on_every_line() {
        let log = "[2016-09-04 21:10:24,501] INFO Start reading lines\n\
                   [2016-09-04 21:10:33,100] DEBUG >> /ISk5\\2MT382-1000\n\
                   [2016-09-04 21:10:33,101] DEBUG >> \n\
                   [2016-09-04 21:10:33,102] DEBUG >> 1-3:0.2.8(50)\n\
                   [2016-09-04 21:10:33,106] DEBUG >> 1-0:1.8.1(000004.426*kWh)\n\
                   [2016-09-04 21:10:33,107] DEBUG >> !ABCD\n";
        let c = read(log.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(
            c.form.to_string(),
            "DSMR/IEC text in log lines with prefix `DEBUG >>` (prefix dropped, CR LF restored)"
        );
        assert_eq!(c.bytes, WIRE);
        assert_eq!(c.ignored_lines, 1);
    }

    #[test]
    fn never_hex() {
        // Every character of this fragment's lines but `(`, `)`, `:` and `-` is a hex digit.
        let fragment = "1-0:1.8.1(000050.134)\n1-0:2.8.1(000000.148)\n!6D8C\n";
        let c = read(fragment.as_bytes(), InputFormat::Auto).expect("read");
        assert!(matches!(c.form, Form::Text(_)), "{}", c.form);
    }
}
