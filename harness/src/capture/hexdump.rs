//! Offset-prefixed dumps: `hexdump -C`, plain `hexdump` (little-endian 16-bit words), `xxd`
//! and `od -t x1` (hex offsets with `-A x`, octal by default; the `z` text column). Offsets
//! are checked, the text column is dropped, and a `*` line (lines equal to the one before,
//! left out by the dumper) is expanded up to the next offset.

use super::{CaptureError, Converter, Form, Lines, Sink};

/// The longest run a `*` line may stand for (the fill is produced at once).
pub const MAX_REPEAT: usize = 64 * 1024 * 1024;

/// One line of a dump.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// `offset  bytes…`
    Data(usize, Vec<u8>),
    /// The offset after the last byte, alone on the last line.
    End(usize),
    /// `*`: lines equal to the one before.
    Repeat,
    /// Anything else (a shell prompt, a blank line).
    Other,
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The offset field of a line in `form` and the rest of the line.
fn split_offset<'a>(line: &'a str, form: &Form) -> Option<(usize, &'a str)> {
    let (width, colon, radix): (&[usize], bool, u32) = match form {
        Form::HexdumpCanonical => (&[8], false, 16),
        Form::HexdumpWords => (&[7], false, 16),
        Form::Xxd => (&[8], true, 16),
        Form::Od { octal_offsets } => (&[6, 7, 8], false, if *octal_offsets { 8 } else { 16 }),
        Form::OffsetHex => (&[4, 5, 6, 7, 8], false, 16),
        _ => return None,
    };
    let digits = line.bytes().take_while(u8::is_ascii_hexdigit).count();
    if !width.contains(&digits) {
        return None;
    }
    let offset = usize::from_str_radix(&line[..digits], radix).ok()?;
    let mut rest = &line[digits..];
    if colon {
        rest = rest.strip_prefix(':')?;
    } else if *form == Form::OffsetHex {
        rest = rest.strip_prefix(':').unwrap_or(rest);
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((offset, rest))
}

/// Parses one line of a dump in `form`.
fn parse_line(line: &str, form: &Form) -> Result<Line, String> {
    let line = line.trim_end();
    if line == "*" {
        return Ok(Line::Repeat);
    }
    let Some((offset, rest)) = split_offset(line, form) else {
        return Ok(Line::Other);
    };
    if rest.trim().is_empty() {
        return Ok(Line::End(offset));
    }
    let area = match form {
        Form::HexdumpCanonical => rest.split('|').next().unwrap_or(""),
        Form::Od { .. } => rest.split('>').next().unwrap_or(""),
        Form::Xxd => {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            rest.split("  ").next().unwrap_or("")
        }
        _ => rest,
    };
    let mut bytes = Vec::with_capacity(16);
    if *form == Form::OffsetHex {
        // The bytes are the two-digit tokens up to the text column; a text column that starts
        // like a byte is cut off by the next line's offset (see the converter).
        for token in area.split_whitespace() {
            match u8::from_str_radix(token, 16) {
                Ok(b) if token.len() == 2 => bytes.push(b),
                _ => break,
            }
        }
        return Ok(Line::Data(offset, bytes));
    }
    for token in area.split_whitespace() {
        if !is_hex(token) {
            return Err(format!("`{token}` is not hex"));
        }
        let pairs: Vec<u8> = token
            .as_bytes()
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("x"), 16))
            .collect::<Result<_, _>>()
            .map_err(|_| format!("`{token}` is not hex"))?;
        match form {
            Form::HexdumpWords if token.len() == 4 => bytes.extend([pairs[1], pairs[0]]),
            Form::HexdumpWords => return Err(format!("`{token}` is not a 16-bit word")),
            Form::HexdumpCanonical | Form::Od { .. } if token.len() != 2 => {
                return Err(format!("`{token}` is not one byte"))
            }
            _ if token.len() % 2 != 0 => {
                return Err(format!("`{token}` has an odd number of digits"))
            }
            _ => bytes.extend(pairs),
        }
    }
    Ok(Line::Data(offset, bytes))
}

/// The dump form of `text`, if its lines are offset-prefixed dumps of one kind with offsets
/// that agree with the byte counts.
pub fn detect(text: &str) -> Option<Form> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(200)
        .collect();
    let first = lines.iter().find(|l| {
        let d = l.bytes().take_while(u8::is_ascii_hexdigit).count();
        (4..=8).contains(&d) && l.len() > d + 1
    })?;
    let digits = first.bytes().take_while(u8::is_ascii_hexdigit).count();
    let rest = &first[digits..];
    let candidates: Vec<Form> = if digits == 8 && rest.starts_with(": ") {
        vec![Form::Xxd]
    } else if digits == 8 && rest.starts_with("  ") {
        vec![Form::HexdumpCanonical]
    } else if digits == 7 && rest.split_whitespace().next().is_some_and(|t| t.len() == 4) {
        vec![Form::HexdumpWords]
    } else if digits < 6 || rest.starts_with(':') {
        vec![Form::OffsetHex]
    } else {
        // On a tie the later one wins: od -A x writes 6 digits, od's octal default 7.
        let mut both = vec![
            Form::Od {
                octal_offsets: false,
            },
            Form::Od {
                octal_offsets: true,
            },
        ];
        if digits == 6 {
            both.reverse();
        }
        both
    };
    candidates
        .into_iter()
        .filter_map(|form| fit(&lines, &form).map(|agree| (agree, form)))
        .max_by_key(|(agree, _)| *agree)
        .map(|(_, form)| form)
}

/// How well the dump lines of `lines` fit `form`: `None` if a line has the wrong shape,
/// otherwise the number of offsets that agree with the byte counts before them.
fn fit(lines: &[&str], form: &Form) -> Option<usize> {
    let mut expected: Option<usize> = None;
    let mut data = 0;
    let mut other = 0;
    let mut agree = 0;
    let mut repeat = false;
    let mut first_zero = false;
    for line in lines {
        match parse_line(line, form).ok()? {
            Line::Data(offset, bytes) => {
                if bytes.is_empty() {
                    return None;
                }
                let over = *form == Form::OffsetHex;
                if data == 0 {
                    first_zero = offset == 0;
                }
                if expected
                    .is_some_and(|e| offset == e || (repeat && offset > e) || (over && offset < e))
                {
                    agree += 1;
                }
                repeat = false;
                data += 1;
                expected = Some(offset + bytes.len());
            }
            Line::End(offset) => {
                // Plain hexdump pads an odd last byte to a word.
                if expected
                    .is_some_and(|e| offset == e || offset + 1 == e || (repeat && offset > e))
                {
                    agree += 1;
                }
            }
            Line::Repeat => repeat = true,
            Line::Other => other += 1,
        }
    }
    // Hex that merely starts with a 4-digit group must not pass for offsets: offsets must add
    // up (or a single line start at 0).
    let offsets_hold = *form != Form::OffsetHex || agree + 1 >= data && (data > 1 || first_zero);
    (data >= 1 && other <= data && offsets_hold).then_some(agree)
}

/// The streaming converter for the dump forms.
pub struct HexdumpConverter {
    form: Form,
    lines: Lines,
    /// The offset the next data line must have.
    expected: Option<usize>,
    /// The last data line's bytes, held until the next line says whether all of them count.
    held: Vec<u8>,
    /// The last data line's bytes, for `*`.
    last: Vec<u8>,
    repeat: bool,
    ignored: usize,
}

impl HexdumpConverter {
    /// A converter for `form` (one of the dump forms).
    pub fn new(form: Form) -> Self {
        HexdumpConverter {
            form,
            lines: Lines::default(),
            expected: None,
            held: Vec::new(),
            last: Vec::new(),
            repeat: false,
            ignored: 0,
        }
    }

    fn error(form: &Form, line: usize, message: String) -> CaptureError {
        CaptureError::Syntax {
            line,
            message,
            form: form.to_string(),
        }
    }

    fn line(&mut self, number: usize, raw: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        let text = String::from_utf8_lossy(raw);
        let parsed =
            parse_line(&text, &self.form).map_err(|m| Self::error(&self.form, number, m))?;
        match parsed {
            Line::Data(offset, bytes) => {
                let mut expected = *self.expected.get_or_insert(offset);
                if self.form == Form::OffsetHex && offset < expected {
                    // The last line's text column began like bytes: the offset says how many
                    // of its tokens were bytes.
                    let extra = expected - offset;
                    if extra < self.held.len() {
                        self.held.truncate(self.held.len() - extra);
                        self.last.clone_from(&self.held);
                        expected = offset;
                    }
                }
                if self.repeat {
                    self.fill(number, expected, offset, sink)?;
                } else if offset != expected {
                    return Err(Self::error(
                        &self.form,
                        number,
                        format!(
                            "offset {offset:#x} where {expected:#x} was due (a line left out?)"
                        ),
                    ));
                }
                sink.push(&std::mem::take(&mut self.held));
                self.expected = Some(offset + bytes.len());
                self.last.clone_from(&bytes);
                self.held = bytes;
            }
            Line::End(offset) => {
                let expected = self.expected.unwrap_or(offset);
                if self.repeat {
                    self.fill(number, expected, offset, sink)?;
                    self.expected = Some(offset);
                } else if offset + 1 == expected && self.form == Form::HexdumpWords {
                    // The pad byte of an odd-length plain hexdump.
                    self.held.pop();
                    self.expected = Some(offset);
                } else if offset != expected {
                    return Err(Self::error(
                        &self.form,
                        number,
                        format!("end offset {offset:#x} where {expected:#x} was due"),
                    ));
                }
                sink.push(&std::mem::take(&mut self.held));
            }
            Line::Repeat => {
                sink.push(&std::mem::take(&mut self.held));
                self.repeat = true;
            }
            Line::Other => {
                if !text.trim().is_empty() {
                    self.ignored += 1;
                    sink.ignored_lines += 1;
                }
            }
        }
        Ok(())
    }

    /// Expands a `*` line: the last line's bytes again from `from` up to `to`.
    fn fill(
        &mut self,
        number: usize,
        from: usize,
        to: usize,
        sink: &mut Sink,
    ) -> Result<(), CaptureError> {
        self.repeat = false;
        sink.push(&std::mem::take(&mut self.held));
        let Some(n) = to.checked_sub(from) else {
            return Err(Self::error(
                &self.form,
                number,
                format!("offset {to:#x} after `*` is before {from:#x}"),
            ));
        };
        if n > MAX_REPEAT {
            return Err(Self::error(
                &self.form,
                number,
                format!("a `*` line standing for {n} bytes (at most {MAX_REPEAT} are expanded)"),
            ));
        }
        if self.last.is_empty() {
            return Err(Self::error(
                &self.form,
                number,
                "`*` before any data line".into(),
            ));
        }
        let mut left = n;
        while left > 0 {
            let take = left.min(self.last.len());
            sink.push(&self.last[..take]);
            left -= take;
        }
        Ok(())
    }
}

impl Converter for HexdumpConverter {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) -> Result<(), CaptureError> {
        let form = self.form.to_string();
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.feed(input, &|| form.clone(), |n, l| self.line(n, l, sink));
        self.lines = lines;
        result
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<(), CaptureError> {
        let mut lines = std::mem::take(&mut self.lines);
        let result = lines.finish(|n, l| self.line(n, l, sink));
        self.lines = lines;
        result?;
        if self.repeat {
            return Err(Self::error(
                &self.form,
                self.lines.number,
                "a `*` line with no offset after it: the dump is cut off".into(),
            ));
        }
        sink.push(&std::mem::take(&mut self.held));
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::super::{read, InputFormat};
    use super::*;

    /// 40 bytes: 0x00..0x0F, then 16 × 0xAA (hexdump writes `*`), then 8 bytes.
    fn sample() -> Vec<u8> {
        let mut v: Vec<u8> = (0..16).collect();
        v.extend([0xAA; 16]);
        v.extend([0xAA; 16]);
        v.extend(*b"/ISK5\\2M");
        v
    }

    #[test]
    fn hexdump_canonical_with_repeat() {
        let dump = "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n\
                    00000010  aa aa aa aa aa aa aa aa  aa aa aa aa aa aa aa aa  |................|\n\
                    *\n\
                    00000030  2f 49 53 4b 35 5c 32 4d                           |/ISK5\\2M|\n\
                    00000038\n";
        assert_eq!(detect(dump), Some(Form::HexdumpCanonical));
        let c = read(dump.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.form, Form::HexdumpCanonical);
        assert_eq!(c.bytes, sample());
    }

    #[test]
    fn xxd_and_od_and_words() {
        let xxd = "00000000: 0001 0203 0405 0607 0809 0a0b 0c0d 0e0f  ................\n\
                   00000010: aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa  ................\n\
                   00000020: aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa  ................\n\
                   00000030: 2f49 534b 355c 324d                      /ISK5\\2M\n";
        let c = read(xxd.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!((c.form, c.bytes), (Form::Xxd, sample()));

        let od = "000000 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  >................<\n\
                  000010 aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa  >................<\n\
                  *\n\
                  000030 2f 49 53 4b 35 5c 32 4d                          >/ISK5\\2M<\n\
                  000038\n";
        let c = read(od.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.form.to_string(), "od -A x -t x1z");
        assert_eq!(c.bytes, sample());

        let od_octal = "0000000 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n\
                        0000020 aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa\n\
                        *\n\
                        0000060 2f 49 53 4b 35 5c 32 4d\n\
                        0000070\n";
        let c = read(od_octal.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(
            (c.form, c.bytes),
            (
                Form::Od {
                    octal_offsets: true
                },
                sample()
            )
        );

        // Plain hexdump: little-endian words; an odd length pads the last word.
        let words = "0000000 0100 0302\n0000004 0004\n0000005\n";
        let c = read(words.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!((c.form, c.bytes), (Form::HexdumpWords, vec![0, 1, 2, 3, 4]));
    }

    #[test]
    fn wireshark_style_offsets() {
        let dump = "0000   00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f   ................\n\
                    0010   aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa   ................\n\
                    0020   aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa   ................\n\
                    0030   2f 49 53 4b 35 5c 32 4d                           /ISK5\\2M\n";
        let c = read(dump.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(
            c.form.to_string(),
            "hex dump with offsets (Wireshark style)"
        );
        assert_eq!(c.bytes, sample());
        // A text column that starts like a byte is cut by the next offset.
        let tricky = "0000: 41 42 43 44  ab cd\n0004: 45 46  EF\n";
        let c = read(tricky.as_bytes(), InputFormat::Auto).expect("read");
        assert_eq!(c.bytes, b"ABCDEF\xef");
        // Hex that starts with a 4-digit group is still hex.
        let c = read(b"68FA FA68 53FF\n0001 67DB 0853\n", InputFormat::Auto).expect("read");
        assert_eq!(c.form, Form::Hex);
    }

    #[test]
    fn a_missing_line_is_an_error_with_its_number() {
        let dump = "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n\
                    00000010  aa aa aa aa aa aa aa aa  aa aa aa aa aa aa aa aa  |................|\n\
                    00000030  2f 49 53 4b 35 5c 32 4d                           |/ISK5\\2M|\n";
        let e = read(dump.as_bytes(), InputFormat::Hexdump).expect_err("an error");
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(
            e.to_string().contains("offset 0x30 where 0x20 was due"),
            "{e}"
        );
    }
}
