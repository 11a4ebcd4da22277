//! The corpus copies in `tests/data/dsmr/` (real telegrams) and `tests/data/dlms/` (real DLMS
//! pushes); each file names its source. Loaded once for the tests and the benchmarks.

#![allow(dead_code)]

pub mod wmbus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use meterlab_decoder::{Message, StreamDecoder};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_yaml::Value as Yaml;

/// One corpus vector.
pub struct Vector {
    /// Its `name`.
    pub name: String,
    /// The whole YAML document.
    pub doc: Yaml,
    /// The exact wire bytes.
    pub bytes: Vec<u8>,
}

impl Vector {
    /// A string field by path.
    pub fn str(&self, path: &[&str]) -> Option<&str> {
        let mut node = &self.doc;
        for key in path {
            node = node.get(*key)?;
        }
        node.as_str()
    }

    /// `crc.match`: `Some(true)` verified, `Some(false)` mismatch, `None` no CRC.
    pub fn crc_match(&self) -> Option<bool> {
        self.doc.get("crc")?.get("match")?.as_bool()
    }

    /// Whether the vector is an encrypted frame.
    pub fn encrypted(&self) -> bool {
        !self.doc["key_hex"].is_null()
    }

    /// `expected`: OBIS → "value*unit" as in the telegram.
    pub fn expected(&self) -> BTreeMap<String, String> {
        self.doc
            .get("expected")
            .and_then(Yaml::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The YAML files of `tests/data/<dir>`, sorted by file name.
pub fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
}

/// The known-mismatch rule (m-bus-parser's `KNOWN_MISMATCHES`): every vector agrees unless its
/// name is listed; a listed vector that agrees fails the test, so the list can only shrink; every
/// listed name must be in the corpus.
pub fn assert_agreement<V>(
    vectors: &[V],
    name: impl Fn(&V) -> &str,
    check: impl Fn(&V) -> Result<(), String>,
    known: &[&str],
) {
    let mut failures = Vec::new();
    let mut now_agreeing = Vec::new();
    let mut agree = 0;
    for v in vectors {
        let listed = known.contains(&name(v));
        match (check(v), listed) {
            (Ok(()), false) => agree += 1,
            (Ok(()), true) => now_agreeing.push(name(v).to_string()),
            (Err(e), false) => failures.push(format!("{}: {e}", name(v))),
            (Err(_), true) => {}
        }
    }
    for listed in known {
        assert!(
            vectors.iter().any(|v| name(v) == *listed),
            "KNOWN_MISMATCHES names {listed}, which is not in the corpus"
        );
    }
    assert!(
        now_agreeing.is_empty(),
        "these vectors agree now: remove them from KNOWN_MISMATCHES: {now_agreeing:?}"
    );
    assert!(
        failures.is_empty(),
        "{agree} of {} vectors agree; {} disagree:\n{}",
        vectors.len(),
        failures.len(),
        failures.join("\n")
    );
}

/// Every vector, sorted by file name; the reconstructed bytes are checked against `length`.
pub fn corpus() -> &'static [Vector] {
    static CORPUS: OnceLock<Vec<Vector>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        yaml_files("dsmr")
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("readable vector");
                let doc: Yaml = serde_yaml::from_str(&text).expect("valid YAML");
                let name = doc["name"].as_str().expect("name").to_string();
                let bytes = wire_bytes(&doc);
                let length = doc["length"].as_u64().expect("length");
                assert_eq!(bytes.len() as u64, length, "{name}: reconstructed length");
                Vector { name, doc, bytes }
            })
            .collect()
    })
}

/// The vector of this name.
pub fn vector(name: &str) -> &'static Vector {
    corpus()
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("vector {name} present"))
}

/// The exact wire bytes: `text` with every newline as the stated line ending, or `hex`.
fn wire_bytes(doc: &Yaml) -> Vec<u8> {
    match (doc["text"].as_str(), doc["hex"].as_str()) {
        (Some(text), _) => {
            let ending = match doc["line_ending"].as_str() {
                Some("CRLF") => "\r\n",
                Some("LF") => "\n",
                other => panic!("unknown line ending {other:?}"),
            };
            text.replace('\n', ending)
                .chars()
                .map(|c| u8::try_from(u32::from(c)).expect("latin-1 text"))
                .collect()
        }
        (None, Some(hex)) => {
            hex::decode(hex.split_whitespace().collect::<String>()).expect("valid hex")
        }
        (None, None) => panic!("vector without bytes"),
    }
}

/// Every DLMS push vector of `tests/data/dlms/`, sorted by file name.
pub fn dlms_corpus() -> &'static [Vector] {
    static CORPUS: OnceLock<Vec<Vector>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        yaml_files("dlms")
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("readable vector");
                let doc: Yaml = serde_yaml::from_str(&text).expect("valid YAML");
                let name = doc["name"].as_str().expect("name").to_string();
                let hex = doc["hex"].as_str().expect("hex");
                let bytes =
                    hex::decode(hex.split_whitespace().collect::<String>()).expect("valid hex");
                Vector { name, doc, bytes }
            })
            .collect()
    })
}

/// The DLMS vector of this name.
pub fn dlms_vector(name: &str) -> &'static Vector {
    dlms_corpus()
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("DLMS vector {name} present"))
}

impl Vector {
    /// The published keys (`key_hex`, `auth_key_hex`).
    pub fn keys(&self) -> meterlab_decoder::Keys {
        let key = |field: &str| {
            self.doc[field]
                .as_str()
                .map(|k| k.parse().expect("valid key"))
        };
        meterlab_decoder::Keys {
            encryption: key("key_hex"),
            authentication: key("auth_key_hex"),
        }
    }
}

/// Every IEC 62056-21 corpus vector of `tests/data/iec62056-21/`: its name and its whole dialogue
/// (every message's `hex`, in order), sorted by file name.
pub fn iec_dialogues() -> &'static [(String, Vec<u8>)] {
    static CORPUS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        yaml_files("iec62056-21")
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("readable vector");
                let doc: Yaml = serde_yaml::from_str(&text).expect("valid YAML");
                let hex: String = doc["dialogue"]
                    .as_sequence()
                    .expect("dialogue")
                    .iter()
                    .flat_map(|m| m["hex"].as_str().expect("hex").split_whitespace())
                    .collect();
                let name = doc["name"].as_str().expect("name").to_string();
                (name, hex::decode(hex).expect("valid hex"))
            })
            .collect()
    })
}

/// Every wired M-Bus corpus frame (valid, error and unsupported) as bytes, from
/// `tests/data/mbus/{libmbus,pymeterbus,m-bus-parser,wmbusmeters}` in file-name order.
pub fn mbus_frames() -> &'static [Vec<u8>] {
    static FRAMES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mbus");
        let mut out = Vec::new();
        for dir in ["libmbus", "pymeterbus", "m-bus-parser", "wmbusmeters"] {
            let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
                .expect("corpus directory")
                .map(|e| e.expect("directory entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            paths.sort();
            for p in paths {
                let doc: Yaml =
                    serde_yaml::from_str(&std::fs::read_to_string(&p).expect("readable vector"))
                        .expect("valid YAML");
                let hex_text = doc["hex"].as_str().unwrap_or("");
                let digits: String = hex_text.split_whitespace().collect();
                if let Ok(bytes) = hex::decode(digits) {
                    if !bytes.is_empty() {
                        out.push(bytes);
                    }
                }
            }
        }
        out
    })
}

/// Feeds `bytes` to `decoder` in pieces cut at `cuts` (sorted positions), then finishes.
pub fn feed_chunked(
    decoder: &mut impl StreamDecoder,
    bytes: &[u8],
    cuts: &[usize],
) -> Vec<Message> {
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        decoder.feed(&bytes[start..cut], &mut out);
        start = cut;
    }
    decoder.feed(&bytes[start..], &mut out);
    decoder.finish(&mut out);
    out
}

/// Feeds `bytes` to `decoder` in pieces of `size` bytes (as a serial port's reads deliver
/// them), then finishes.
pub fn feed_in_pieces(decoder: &mut impl StreamDecoder, bytes: &[u8], size: usize) -> Vec<Message> {
    let mut out = Vec::new();
    for piece in bytes.chunks(size.max(1)) {
        decoder.feed(piece, &mut out);
    }
    decoder.finish(&mut out);
    out
}

/// Sorted cut positions in `0..=len` from proptest's picks.
pub fn cut_points(len: usize, picks: &[Index]) -> Vec<usize> {
    let mut cuts: Vec<usize> = picks.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// Each message's kind: `reading`, or the error kind.
pub fn kinds(messages: &[Message]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| match m {
            Message::Reading(_) => "reading",
            Message::Error { error } => error.kind.as_str(),
            Message::Link { .. } => "link",
        })
        .collect()
}

/// What a 7E1 meter's bytes look like to an 8N1 reader: the even-parity bit becomes bit 7.
pub fn seven_e1(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b })
        .collect()
}

/// Every message survives its JSON line unchanged.
pub fn assert_wire_format(messages: &[Message]) {
    for m in messages {
        let line = m.to_json_line();
        let back: Message = serde_json::from_str(&line).expect("output parses back");
        assert_eq!(&back.to_json_line(), &line);
    }
}

/// One change to a byte string: flip bits, insert a byte, delete a byte.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// XOR the byte at the index with the mask (0 counts as 1).
    Flip(Index, u8),
    /// Insert the byte at the index.
    Insert(Index, u8),
    /// Delete the byte at the index.
    Delete(Index),
}

/// Mutations whose bytes come from the strategy `byte` makes.
pub fn mutation<S: Strategy<Value = u8>>(byte: fn() -> S) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), byte()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
    ]
}

/// Applies `mutations` in order.
pub fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        match m {
            Mutation::Flip(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] ^= b.max(&1);
            }
            Mutation::Insert(i, b) => {
                let at = i.index(bytes.len() + 1);
                bytes.insert(at, *b);
            }
            Mutation::Delete(i) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}
