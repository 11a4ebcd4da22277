//! The reference IEC 62056-21 decoder against every dialogue of the corpus
//! (`tests/data/iec62056-21/*.yaml`, copied unchanged from meterlab's shared corpus; each file
//! names the public repository it comes from).
//!
//! Each vector is decoded twice: the whole dialogue in order (both directions, as a capture with
//! an echoing optical head has it) and the meter's messages alone. What each must give is
//! written down in [`EXPECTATIONS`], from the vector's text and notes: the message kinds, the
//! number of data sets, the meter id and some values. A vector whose stated BCC does not match
//! must give `bcc_mismatch` and no reading; its values are then checked at the data-set level,
//! on the lines of its block that parse. The `expected` values of a vector (the source
//! project's own assertions) are checked too, with ids mapped by a converter written here
//! independently of the decoder. Every BCC the corpus states or recomputes is checked with
//! [`bcc::check`], and every message of a dialogue parses (and emits back) with the message
//! types a reader uses.
//!
//! Vectors the decoder cannot agree with go in [`KNOWN_MISMATCHES`] with a reason; the test
//! fails when a listed vector starts agreeing, so the list only shrinks.

use std::sync::OnceLock;

use meterlab_decoder::iec::{
    bcc, convert, AckOptionSelect, Command, DataBlock, DataMessage, DataSet, Identification,
    ProtocolMode, Push, Reply, RequestRepr,
};
use meterlab_decoder::{Decimal, IecDecoder, Message, Reading, Scalar, StreamDecoder};
use serde_yaml::Value as Yaml;

mod common;

/// Vectors the decoder does not agree with, and why. Empty: every vector agrees.
const KNOWN_MISMATCHES: &[(&str, &str)] = &[];

/// One message of a dialogue.
struct Msg {
    from_meter: bool,
    bytes: Vec<u8>,
    /// `bcc`: stated, computed, match.
    bcc: Option<(u8, u8, bool)>,
}

/// One corpus file.
struct Vector {
    name: String,
    doc: Yaml,
    messages: Vec<Msg>,
}

impl Vector {
    fn dialogue(&self) -> Vec<u8> {
        self.messages.iter().flat_map(|m| m.bytes.clone()).collect()
    }

    fn meter_side(&self) -> Vec<u8> {
        self.messages
            .iter()
            .filter(|m| m.from_meter)
            .flat_map(|m| m.bytes.clone())
            .collect()
    }
}

/// Every vector, sorted by file name. The `text` of each message (latin-1) must be its `hex`,
/// and `length` its length.
fn corpus() -> &'static [Vector] {
    static CORPUS: OnceLock<Vec<Vector>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        common::yaml_files("iec62056-21")
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("readable vector");
                let doc: Yaml = serde_yaml::from_str(&text).expect("valid YAML");
                let name = doc["name"].as_str().expect("name").to_string();
                let messages = doc["dialogue"]
                    .as_sequence()
                    .expect("dialogue")
                    .iter()
                    .map(|m| message(&name, m))
                    .collect();
                Vector {
                    name,
                    doc,
                    messages,
                }
            })
            .collect()
    })
}

fn message(name: &str, m: &Yaml) -> Msg {
    let hex: String = m["hex"].as_str().expect("hex").split_whitespace().collect();
    let bytes = hex::decode(hex).expect("valid hex");
    let text: Vec<u8> = m["text"]
        .as_str()
        .expect("text")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 text"))
        .collect();
    assert_eq!(text, bytes, "{name}: text and hex differ");
    assert_eq!(
        Some(bytes.len() as u64),
        m["length"].as_u64(),
        "{name}: length"
    );
    let byte = |field: &str| {
        let hex = m["bcc"][field].as_str().expect("bcc byte");
        u8::from_str_radix(hex, 16).expect("hex byte")
    };
    let bcc = m.get("bcc").map(|_| {
        (
            byte("stated_hex"),
            byte("computed_hex"),
            m["bcc"]["match"].as_bool() == Some(true),
        )
    });
    Msg {
        from_meter: m["dir"].as_str() == Some("meter->hhu"),
        bytes,
        bcc,
    }
}

fn decode(bytes: &[u8]) -> Vec<Message> {
    IecDecoder::new().decode_all(bytes)
}

fn kinds(messages: &[Message]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m.error_report().map_or("reading", |e| e.kind.as_str()))
        .collect()
}

/// An expected value: a number with an optional unit, or a text.
#[derive(Clone, Copy, Debug)]
enum V {
    N(&'static str, Option<&'static str>),
    T(&'static str),
}

/// What a vector must give.
struct Expect {
    name: &'static str,
    /// Message kinds from the whole dialogue, and from the meter's side alone.
    kinds: &'static [&'static str],
    meter_kinds: &'static [&'static str],
    /// Data sets in the reading (or in the lines of a block with a bad BCC that parse).
    data_sets: usize,
    meter_id: Option<&'static str>,
    values: &'static [(&'static str, V)],
}

/// Written from each vector's text and notes.
const EXPECTATIONS: &[Expect] = &[
    // Notes: the gateway adds "  25803103" CR LF and 33 x 0xFF CR LF after the push: the
    // reading comes out, the junk is reported.
    Expect {
        name: "easymeter-q3d-mode-d-via-gateway",
        kinds: &["reading", "skipped_bytes"],
        meter_kinds: &["reading", "skipped_bytes"],
        data_sets: 9,
        meter_id: Some("0272031312565"),
        values: &[
            ("1-0:0.0.0*255", V::N("272031312565", None)),
            ("1-0:1.8.0*255", V::N("52185.7825309", Some("kWh"))),
            ("1-0:2.8.0*255", V::N("19949.3221493", Some("kWh"))),
            ("1-0:1.7.0*255", V::N("2124.86", Some("W"))),
            ("1-0:96.5.5*255", V::N("80", None)),
            ("0-0:96.1.255*255", V::T("1ESY1313002565")),
        ],
    },
    Expect {
        name: "easymeter-q3da-mode-d-negative-power",
        kinds: &["reading"],
        meter_kinds: &["reading"],
        data_sets: 9,
        meter_id: Some("111940207"),
        values: &[
            ("1-0:1.8.0*255", V::N("0.7801269", Some("kWh"))),
            ("1-0:21.7.255*255", V::N("-73.69", Some("W"))),
            ("1-0:41.7.255*255", V::N("0", Some("W"))),
            ("1-0:1.7.255*255", V::N("-142.30", Some("W"))),
            ("1-0:96.5.5*255", V::T("A2")),
        ],
    },
    // vzlogger asserts 1.2963 for 1-0:1.8.0*255 with the same header.
    Expect {
        name: "hager-ehz-mode-d-push",
        kinds: &["reading"],
        meter_kinds: &["reading"],
        data_sets: 15,
        meter_id: Some("1095100000067865"),
        values: &[
            ("1-0:1.8.0*255", V::N("1.2963", None)),
            ("1-0:52.7.0*255", V::N("228.38", Some("V"))),
            ("1-0:51.7.0*255", V::N("0.16", Some("A"))),
            ("1-0:41.7.0*255", V::N("26", Some("W"))),
            ("1-0:96.50.0*0", V::N("45", None)),
            ("1-0:96.50.0*1", V::T("07D0")),
            ("1-0:96.50.0*6", V::T("003D381B070AF6B0CF05140900009F80")),
            ("0-0:96.1.255*255", V::N("67865", None)),
        ],
    },
    // expected_basis: C.1.0=28342193, 1.8.0=0033402.264 kWh, 2.8.0=0000013.465 kWh, F.F=0000000.
    Expect {
        name: "iskra-me162-mode-c-data-readout",
        kinds: &["reading"],
        meter_kinds: &["reading"],
        data_sets: 9,
        meter_id: Some("28342193"),
        values: &[
            ("1-0:96.1.0*255", V::N("28342193", None)),
            ("1-0:0.0.0*255", V::N("28342193", None)),
            ("1-0:1.8.0*255", V::N("33402.264", Some("kWh"))),
            ("1-0:2.8.0*255", V::N("13.465", Some("kWh"))),
            ("1-0:1.8.1*255", V::N("0", Some("kWh"))),
            ("1-0:97.97.0*255", V::N("0", None)),
        ],
    },
    // Programming mode: the password prompt and R1 commands are dialogue; each reply is a
    // reading of the register read (with `unknown` registers on the meter side alone, where the
    // requests are missing), checked in `programming_replies_carry_the_registers`.
    Expect {
        name: "iskra-me162-mode-c-programming-read",
        kinds: &["reading", "reading"],
        meter_kinds: &["reading", "reading"],
        data_sets: 0,
        meter_id: None,
        values: &[],
    },
    // Stated BCC "a", computed "=": bcc_mismatch, no reading.
    Expect {
        name: "kamstrup-multical66-readout-bcc-mismatch",
        kinds: &["bcc_mismatch"],
        meter_kinds: &["bcc_mismatch"],
        data_sets: 4,
        meter_id: None,
        values: &[
            ("1-0:0.0.0*255", V::N("5077354", None)),
            ("1-0:6.8.0*255", V::N("433.65", Some("GJ"))),
            ("1-0:6.26.0*255", V::N("3052.95", Some("m3"))),
            ("1-0:6.31.0*255", V::N("109868", Some("h"))),
        ],
    },
    Expect {
        name: "landisgyr-e350-mode-c-readout-300bd",
        kinds: &["reading"],
        meter_kinds: &["reading"],
        data_sets: 22,
        meter_id: Some("13647123"),
        values: &[
            ("1-0:97.97.0*255", V::N("0", None)),
            ("1-0:0.0.0*255", V::N("120858", None)),
            ("1-0:96.1.1*255", V::T("")),
            ("1-0:1.8.0*255", V::N("61561.289", Some("kWh"))),
            ("1-0:15.8.0*255", V::N("61571.780", Some("kWh"))),
            ("1-0:32.7.0*255", V::N("241", Some("V"))),
            ("1-0:31.7.0*255", V::N("0.35", Some("A"))),
            ("1-0:82.8.1*255", V::N("0", None)),
            ("1-0:0.2.0*255", V::T("M26")),
            ("1-0:96.5.0*255", V::N("401", None)),
        ],
    },
    // Two commands from the reader, nothing from a meter: `no_data` says so (the meter side
    // alone is empty, and an empty capture gives nothing).
    Expect {
        name: "pwitab-programming-commands-bcc",
        kinds: &["no_data"],
        meter_kinds: &[],
        data_sets: 0,
        meter_id: None,
        values: &[],
    },
    // 0x7F x5 (noise, reported), the echoed request and the identification (dialogue, passed
    // over), the block whose stated BCC "F" is not the computed 0x4D (bcc_mismatch, no reading;
    // its stray STX STX SOH NUL before "!" do not cut it), a trailing 0x7F (reported).
    Expect {
        name: "vzlogger-ace3000-dump-echo-and-garbage",
        kinds: &["skipped_bytes", "bcc_mismatch", "skipped_bytes"],
        meter_kinds: &["skipped_bytes", "bcc_mismatch", "skipped_bytes"],
        data_sets: 4,
        meter_id: None,
        values: &[
            ("1-0:97.97.0*255", V::N("0", None)),
            ("1-0:96.1.0*255", V::N("1126120053322353", None)),
            ("1-0:96.5.0*255", V::N("0", None)),
            ("1-0:1.8.0*255", V::N("13925.5", None)),
        ],
    },
    // Echoed request, identification, data lines, "!" at the end of the capture: a push-like
    // readout without STX/ETX/BCC.
    Expect {
        name: "vzlogger-landisgyr-zmd120-abridged",
        kinds: &["reading"],
        meter_kinds: &["reading"],
        data_sets: 8,
        meter_id: Some("20000"),
        values: &[
            ("1-0:97.97.0*255", V::N("0", None)),
            ("1-0:0.0.0*255", V::N("20000", None)),
            ("1-0:1.8.0*255", V::N("1846.0", Some("kWh"))),
            ("1-0:2.8.0*255", V::N("4329.6", Some("kWh"))),
        ],
    },
];

fn check_value(reading: &Reading, id: &str, want: V) -> Result<(), String> {
    let value = reading.value(id).ok_or_else(|| format!("no value {id}"))?;
    let ok = match (want, &value.value) {
        (V::N(n, unit), Scalar::Number(d)) => {
            Some(*d) == n.parse::<Decimal>().ok() && value.unit.as_deref() == unit
        }
        (V::T(t), Scalar::Text(s)) => s == t && value.unit.is_none(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{id} is {value:?}, want {want:?}"))
    }
}

/// `expected` (address → `value*unit`, from the source project's tests) against a reading; the
/// address mapped to an id by the contract's rule, written here independently.
fn check_corpus_expected(vector: &Vector, reading: &Reading) -> Result<(), String> {
    let Some(expected) = vector.doc.get("expected").and_then(Yaml::as_mapping) else {
        return Ok(());
    };
    for (address, want) in expected {
        let (address, want) = (
            address.as_str().ok_or("address")?,
            want.as_str().ok_or("value")?,
        );
        let id = edis_id(address).ok_or_else(|| format!("cannot map {address}"))?;
        let (number, unit) = match want.split_once('*') {
            Some((v, u)) => (v, Some(u)),
            None => (want, None),
        };
        let value = reading
            .value(&id)
            .ok_or_else(|| format!("no {id} ({address})"))?;
        let ok = matches!(&value.value, Scalar::Number(d) if Some(*d) == number.parse().ok())
            && value.unit.as_deref() == unit;
        if !ok {
            return Err(format!("expected {address} = {want}: {value:?}"));
        }
    }
    Ok(())
}

/// `C.D.E` / `C.D` with letter groups C, F, L, P → `1-0:C.D.E*255` (docs/reading-format.md).
fn edis_id(address: &str) -> Option<String> {
    let group = |g: &str| match g {
        "C" => Some(96),
        "F" => Some(97),
        "L" => Some(98),
        "P" => Some(99),
        _ => g.parse::<u8>().ok(),
    };
    let groups: Vec<u8> = address.split('.').map(group).collect::<Option<_>>()?;
    match groups.as_slice() {
        [c, d] => Some(format!("1-0:{c}.{d}.0*255")),
        [c, d, e] => Some(format!("1-0:{c}.{d}.{e}*255")),
        _ => None,
    }
}

/// The reading a block would give without its BCC: its data lines that parse, each cut after
/// its last `)` if stray bytes follow (the ACE3000's `Y STX STX SOH NUL`).
fn unchecked_reading(bytes: &[u8]) -> Result<Reading, String> {
    let start = bytes.iter().position(|&b| b == bcc::STX).ok_or("no STX")?;
    let end = start
        + bytes[start..]
            .iter()
            .position(|&b| b == b'!')
            .ok_or("no '!'")?;
    let mut block = DataBlock::default();
    for line in bytes[start + 1..end].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let parsed = DataSet::parse_line(line).or_else(|_| {
            let close = line.iter().rposition(|&b| b == b')').ok_or(())?;
            DataSet::parse_line(&line[..=close]).map_err(|_| ())
        });
        if let Some(sets) = parsed.ok().filter(|s| !s.is_empty()) {
            block.lines.push(sets);
        }
    }
    Ok(convert::to_reading(&block, None))
}

fn check(vector: &Vector) -> Result<(), String> {
    let expect = EXPECTATIONS
        .iter()
        .find(|e| e.name == vector.name)
        .ok_or("no expectation written for this vector")?;
    let whole = decode(&vector.dialogue());
    let meter = decode(&vector.meter_side());
    if kinds(&whole) != expect.kinds {
        return Err(format!("dialogue gives {:?}: {whole:?}", kinds(&whole)));
    }
    if kinds(&meter) != expect.meter_kinds {
        return Err(format!("meter side gives {:?}: {meter:?}", kinds(&meter)));
    }
    let readings: Vec<&Reading> = whole.iter().filter_map(Message::reading).collect();
    let reading = match readings.as_slice() {
        _ if expect.values.is_empty() && expect.data_sets == 0 => return Ok(()),
        [] => {
            let block = vector
                .messages
                .iter()
                .find(|m| m.bcc.is_some_and(|(_, _, ok)| !ok))
                .ok_or("no reading and no block with a bad BCC")?;
            &unchecked_reading(&block.bytes)?
        }
        [one] => {
            if one.meter_id.as_deref() != expect.meter_id {
                return Err(format!("meter id {:?}", one.meter_id));
            }
            if !one.warnings.is_empty() || one.time.is_some() {
                return Err(format!("warnings or time: {one:?}"));
            }
            *one
        }
        _ => return Err("more than one reading".into()),
    };
    if reading.values.len() != expect.data_sets {
        return Err(format!(
            "{} data sets: {:?}",
            reading.values.len(),
            reading.values
        ));
    }
    for &(id, want) in expect.values {
        check_value(reading, id, want)?;
    }
    check_corpus_expected(vector, reading)
}

#[test]
fn corpus_agrees() {
    let vectors = corpus();
    assert_eq!(vectors.len(), 10, "all 10 corpus vectors are present");
    assert_eq!(EXPECTATIONS.len(), vectors.len());
    let known: Vec<&str> = KNOWN_MISMATCHES.iter().map(|(n, _)| *n).collect();
    common::assert_agreement(vectors, |v| v.name.as_str(), check, &known);
}

/// Every BCC the corpus states and recomputes, against [`bcc::check`]; a readout whose BCC does
/// not match gives `bcc_mismatch` naming both bytes, at the offset of its STX.
#[test]
fn every_bcc_in_the_corpus() {
    let mut checked = 0;
    for vector in corpus() {
        let mut offset = 0;
        let stream = vector.dialogue();
        let messages = decode(&stream);
        for m in &vector.messages {
            if let Some((stated, computed, matches)) = m.bcc {
                let check = bcc::check(&m.bytes).expect("a framed message");
                assert_eq!(
                    (check.stated, check.computed, check.matches()),
                    (stated, computed, matches),
                    "{}",
                    vector.name
                );
                checked += 1;
                if !matches {
                    let stx = m.bytes.iter().position(|&b| b == bcc::STX).expect("stx");
                    let report = messages
                        .iter()
                        .filter_map(Message::error_report)
                        .find(|e| e.kind == "bcc_mismatch")
                        .expect("bcc_mismatch reported");
                    assert_eq!(
                        report.offset,
                        Some((offset + stx) as u64),
                        "{}",
                        vector.name
                    );
                    assert_eq!(
                        report.message,
                        format!(
                            "data block: block check character 0x{stated:02X}, computed 0x{computed:02X}"
                        )
                    );
                }
            }
            offset += m.bytes.len();
        }
    }
    // ME162 readout and 2 breaks, P0 and 4 R1 messages, pwitab 2, Kamstrup, E350, ACE3000.
    assert_eq!(checked, 3 + 5 + 2 + 1 + 1 + 1);
}

/// Each message of the dialogues parses with the type a reader would use, and emits back.
#[test]
fn dialogue_messages_parse_and_emit() {
    let emit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        f(&mut out);
        out
    };
    let mut parsed = 0;
    for vector in corpus() {
        for m in &vector.messages {
            let bytes = &m.bytes[..];
            let bcc_ok = m.bcc.map_or(true, |(_, _, ok)| ok);
            match bytes.first() {
                Some(b'/') if bytes.starts_with(b"/?") && bytes.len() == 5 => {
                    let request = RequestRepr::parse(bytes).expect("request");
                    assert_eq!(emit(&|o| request.emit(o)), bytes);
                }
                Some(b'/') if !bytes.contains(&b'!') => {
                    let id = Identification::parse(bytes).expect("identification");
                    assert_eq!(emit(&|o| id.emit(o)), bytes);
                }
                Some(b'/') if vector.name.contains("mode-d") => {
                    let end = bytes.windows(3).position(|w| w == b"!\r\n").expect("end") + 3;
                    let push = Push::parse(&bytes[..end]).expect("push");
                    assert_eq!(Push::parse(&emit(&|o| push.emit(o))), Ok(push));
                }
                Some(&0x06) => {
                    let ack = AckOptionSelect::parse(bytes).expect("option select");
                    assert_eq!(emit(&|o| ack.emit(o)), bytes);
                }
                Some(&bcc::SOH) if bcc_ok => {
                    let command = Command::parse(bytes).expect("command");
                    assert_eq!(emit(&|o| command.emit(o)), bytes);
                }
                Some(&bcc::STX) if bcc_ok && bytes.contains(&b'!') => {
                    let data = DataMessage::parse(bytes).expect("data message");
                    assert_eq!(DataMessage::parse(&emit(&|o| data.emit(o))), Ok(data));
                }
                Some(&bcc::STX) if bcc_ok => {
                    let reply = Reply::parse(bytes).expect("reply");
                    assert_eq!(emit(&|o| reply.emit(o)), bytes);
                }
                _ => continue,
            }
            parsed += 1;
        }
    }
    // ME162 readout 6 (break, request, identification, ACK, readout, break), programming 8,
    // E350 4, pwitab 2, the three mode D pushes.
    assert_eq!(parsed, 6 + 8 + 4 + 2 + 3);
}

/// The identification of every vector, decoded per protocol mode.
#[test]
fn identifications_give_mode_and_baud_rate() {
    /// Vector, identification, mode, offered rate, enhanced identification character.
    type Row = (
        &'static str,
        &'static str,
        ProtocolMode,
        Option<u32>,
        Option<u8>,
    );
    let table: &[Row] = &[
        (
            "easymeter-q3d-mode-d-via-gateway",
            "Q3DB1024 V3.04",
            ProtocolMode::C,
            Some(9600),
            None,
        ),
        (
            "easymeter-q3da-mode-d-negative-power",
            "Q3DA1024 V3.03",
            ProtocolMode::C,
            Some(9600),
            None,
        ),
        (
            "hager-ehz-mode-d-push",
            "eHZ010C_EHZ1vA02",
            ProtocolMode::C,
            Some(9600),
            None,
        ),
        (
            "iskra-me162-mode-c-data-readout",
            "ME162-0033",
            ProtocolMode::C,
            Some(9600),
            None,
        ),
        (
            "iskra-me162-mode-c-programming-read",
            "ME162-0033",
            ProtocolMode::C,
            Some(9600),
            None,
        ),
        (
            "kamstrup-multical66-readout-bcc-mismatch",
            "MC",
            ProtocolMode::A,
            None,
            None,
        ),
        (
            "landisgyr-e350-mode-c-readout-300bd",
            "ZMF100AC.M26",
            ProtocolMode::C,
            Some(4800),
            None,
        ),
        (
            "vzlogger-ace3000-dump-echo-and-garbage",
            "k260V01.19",
            ProtocolMode::C,
            Some(300),
            Some(b'3'),
        ),
        (
            "vzlogger-landisgyr-zmd120-abridged",
            "2ZMD120APt.G03",
            ProtocolMode::C,
            Some(9600),
            None,
        ),
    ];
    for &(name, ident, mode, baud, enhanced) in table {
        let vector = corpus().iter().find(|v| v.name == name).expect("vector");
        let stream = vector.meter_side();
        let line = stream
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .map(|l| l.strip_prefix(&[0x7f; 5][..]).unwrap_or(l))
            .find(|l| l.starts_with(b"/") && !l.starts_with(b"/?"))
            .expect("an identification line");
        let id = Identification::parse_line(line).expect("identification");
        assert_eq!(
            (id.ident.as_str(), id.mode(), id.baud_rate(), id.enhanced),
            (ident, mode, baud, enhanced),
            "{name}"
        );
        assert!(!id.short_reaction_time() && !id.hdlc_available(), "{name}");
    }
    // The E350 offers 4800 Bd and the reader stays at 300.
    let e350 = corpus()
        .iter()
        .find(|v| v.name == "landisgyr-e350-mode-c-readout-300bd")
        .expect("vector");
    let ack = AckOptionSelect::parse(&e350.messages[2].bytes).expect("option select");
    assert_eq!(ack, AckOptionSelect::readout(b'0'));
    assert_eq!(ack.baud_rate(), Some(300));
}

/// The ME162's R1 replies carry the registers its readout has (same meter, same log).
#[test]
fn programming_replies_carry_the_registers() {
    let vector = corpus()
        .iter()
        .find(|v| v.name == "iskra-me162-mode-c-programming-read")
        .expect("vector");
    let mut read = Vec::new();
    let mut values = Vec::new();
    for m in &vector.messages {
        if !m.from_meter && m.bytes.first() == Some(&bcc::SOH) {
            let command = Command::parse(&m.bytes).expect("command");
            read.push(command.data.expect("data"));
        } else if let Ok(Reply::Data {
            data,
            partial: false,
        }) = Reply::parse(&m.bytes)
        {
            let sets = DataSet::parse_line(data.as_bytes()).expect("one data set");
            values.push((
                sets[0].value().map(str::to_string),
                sets[0].unit().map(str::to_string),
            ));
        }
    }
    assert_eq!(read, vec!["1.8.0()", "2.8.0()"]);
    assert_eq!(
        values,
        vec![
            (Some("0033402.264".into()), Some("kWh".into())),
            (Some("0000013.465".into()), Some("kWh".into())),
        ]
    );
    // The meter's password prompt opens programming mode.
    let prompt = Command::parse(&vector.messages[3].bytes).expect("prompt");
    assert_eq!(prompt.data.as_deref(), Some("()"));
    // The decoder pairs each reply with the read before it.
    let decoded: Vec<(String, String)> = decode(&vector.dialogue())
        .iter()
        .filter_map(Message::reading)
        .flat_map(|r| &r.values)
        .map(|v| (v.id.to_string(), format!("{:?} {:?}", v.value, v.unit)))
        .collect();
    assert_eq!(
        decoded,
        vec![
            (
                "1-0:1.8.0*255".to_string(),
                format!(
                    "{:?} {:?}",
                    Scalar::Number("33402.264".parse().expect("decimal")),
                    Some("kWh")
                )
            ),
            (
                "1-0:2.8.0*255".to_string(),
                format!(
                    "{:?} {:?}",
                    Scalar::Number("13.465".parse().expect("decimal")),
                    Some("kWh")
                )
            ),
        ]
    );
    // The meter's side alone: the registers are unknown, and each reading says so.
    for message in decode(&vector.meter_side()) {
        let reading = message.reading().expect("a reading");
        assert_eq!(reading.values[0].id, "unknown");
        assert!(
            reading.warnings[0].contains("not in the capture"),
            "{reading:?}"
        );
    }
}
