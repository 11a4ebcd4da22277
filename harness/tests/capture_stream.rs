//! The capture reader on inputs larger than its detection window and cut into any pieces, and
//! on what meters really send: wire bytes are never mistaken for a paste.

use std::io::Read;

use meterlab_harness::capture::{read, Form, InputFormat, StreamReader, WINDOW};
use meterlab_sim::{MeterSpec, Seed};

/// A reader that hands out its input in pieces of the given sizes, in turn.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    turn: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The bytes and form a [`StreamReader`] gives for `input` read in pieces of `sizes`.
fn streamed(input: &[u8], sizes: &[usize]) -> (Vec<u8>, Form) {
    let source = Pieces {
        data: input,
        sizes,
        turn: 0,
    };
    let mut reader = StreamReader::new(source, InputFormat::Auto).expect("detects");
    let form = reader.form().clone();
    let mut bytes = Vec::new();
    while let Some(chunk) = reader.next_chunk().expect("converts") {
        bytes.extend(chunk);
    }
    (bytes, form)
}

/// `hexdump -C` of `bytes`, with `*` for repeated lines, as the tool prints it.
fn hexdump_c(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut previous: Option<&[u8]> = None;
    let mut starred = false;
    for (i, line) in bytes.chunks(16).enumerate() {
        if previous == Some(line) && line.len() == 16 {
            if !starred {
                out.push_str("*\n");
                starred = true;
            }
            continue;
        }
        starred = false;
        previous = Some(line);
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = line
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        let (left, right) = hex.split_at(hex.len().min(8));
        out.push_str(&format!(
            "{:08x}  {:<23}  {:<23}  |{text}|\n",
            i * 16,
            left.join(" "),
            right.join(" ")
        ));
    }
    out.push_str(&format!("{:08x}\n", bytes.len()));
    out
}

fn sample(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i * 7 + i / 256) as u8).collect();
    // A run of equal lines longer than the window: one `*` line stands for it.
    let run = 3 * WINDOW;
    v.splice(1000..1000, std::iter::repeat(0x55).take(run));
    v
}

#[test]
fn large_inputs_in_any_pieces() {
    let bytes = sample(200_000);
    let hex: String = bytes.iter().map(|b| format!("{b:02X} ")).collect();
    let dump = hexdump_c(&bytes);
    let literal: String = bytes
        .chunks(300)
        .map(|c| {
            let body: String = c.iter().map(|b| format!("\\x{b:02x}")).collect();
            format!("b'{body}'\n")
        })
        .collect();
    for (input, form) in [
        (hex.as_bytes(), Form::Hex),
        (dump.as_bytes(), Form::HexdumpCanonical),
        (literal.as_bytes(), Form::PyBytes { base64: false }),
        (bytes.as_slice(), Form::Raw),
    ] {
        let whole = read(input, InputFormat::Auto).expect("reads");
        assert_eq!(whole.form, form);
        assert_eq!(whole.bytes, bytes, "{form}");
        for sizes in [&[1usize, 2, 3, 5, 8][..], &[4096], &[WINDOW + 3, 17]] {
            let (b, f) = streamed(input, sizes);
            assert_eq!(f, form);
            assert!(b == bytes, "{form} in pieces of {sizes:?} differs");
        }
    }
}

/// What every push meter sends, a few messages of it, read back as a capture: the same bytes.
#[test]
fn wire_bytes_are_never_taken_for_a_paste() {
    let mut checked = 0;
    for profile in meterlab_sim::profile::catalogue() {
        let spec = MeterSpec::new(profile.name);
        let Ok(mut meter) = spec.build(Seed(7)) else {
            continue;
        };
        let mut wire = Vec::new();
        for _ in 0..3 {
            if meter.next_push_ns().is_none() {
                break;
            }
            for e in meter.push() {
                wire.extend(e.bytes);
            }
        }
        if wire.is_empty() {
            continue;
        }
        let c = read(&wire, InputFormat::Auto).expect("reads");
        assert!(
            matches!(&c.form, Form::Raw) || c.form.to_string() == "DSMR/IEC text as sent",
            "{}: read as {}",
            profile.name,
            c.form
        );
        assert!(c.bytes == wire, "{}: bytes changed", profile.name);
        checked += 1;
    }
    assert!(checked >= 10, "{checked} push profiles");
}

/// Forms decided from the window hold for the rest: a hexdump line after the window that is
/// broken is an error with its line number.
#[test]
fn an_error_after_the_window_names_its_line() {
    let bytes = sample(100_000);
    let mut dump = hexdump_c(&bytes);
    dump.push_str("000186a0  zz\n");
    let source = Pieces {
        data: dump.as_bytes(),
        sizes: &[1000],
        turn: 0,
    };
    let mut reader = StreamReader::new(source, InputFormat::Auto).expect("detects");
    let err = loop {
        match reader.next_chunk() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the broken line must be an error"),
            Err(e) => break e.to_string(),
        }
    };
    let lines = dump.lines().count();
    assert!(
        err.contains(&format!("line {lines}")) && err.contains("`zz` is not hex"),
        "{err}"
    );
}

/// Pieces of every form, mixed at random, and random bytes: any input gives bytes or an error,
/// never a panic, in every `--input-format`.
mod any_input {
    use super::*;
    use clap::ValueEnum;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "```",
        "```text\n",
        "0000   ",
        "68 FA ",
        "0x68,",
        "\\xfa",
        "b'",
        "'",
        "\"",
        "\\",
        "[",
        "]",
        "{",
        "}",
        "00000000  ",
        "  |",
        "|",
        ">",
        "<",
        "*\n",
        "\n",
        "\r\n",
        "[10:48:02]",
        "[D][dlms_meter:123]: ",
        "RX ",
        "TX ",
        "hhu->meter ",
        "<<< ",
        "2024-05-01 12:00:00.123 ",
        "/ISK5\\2M550T-1012",
        "1-0:1.8.1(",
        ")",
        "!6D8C",
        "\x02",
        "\x03",
        "=",
        "aGVsbG8=",
        "0000010: ",
        "\x1b[0;38m",
        "é",
        " ",
    ];

    fn input() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            prop::collection::vec(prop::sample::select(PIECES), 0..80)
                .prop_map(|p| p.concat().into_bytes()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn never_panics(input in input(), cut in 1usize..64) {
            for format in InputFormat::value_variants() {
                let whole = read(&input, *format);
                if let Ok(c) = &whole {
                    prop_assert!(c.segments.iter().all(|s| s.range.end <= c.bytes.len()));
                    // Streaming gives the same bytes, whatever the pieces.
                    let source = Pieces { data: &input, sizes: &[cut, 1], turn: 0 };
                    let mut reader = StreamReader::new(source, *format).expect("detects as read did");
                    let mut bytes = Vec::new();
                    while let Some(chunk) = reader.next_chunk().expect("converts as read did") {
                        bytes.extend(chunk);
                    }
                    prop_assert_eq!(&bytes, &c.bytes);
                }
            }
        }
    }
}
