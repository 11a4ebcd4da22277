//! Architecture invariant: the simulator and the decoder are independent implementations.
//! The simulator may use only the decoder's plain data types (readings, OBIS ids, decimals,
//! keys), never a parser. This test reads the simulator's sources and fails on any other use.

use std::path::{Path, PathBuf};

/// What the simulator may take from `meterlab_decoder`.
const ALLOWED: &[&str] = &[
    "Decimal", "Key", "Keys", "Obis", "Protocol", "Reading", "Value", "Scalar", "units",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names used after `meterlab_decoder::` in a source text, including `{A, B}` groups.
fn decoder_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (i, _) in text.match_indices("meterlab_decoder::") {
        let rest = &text[i + "meterlab_decoder::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            names.extend(
                group[..end]
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap_or("").to_string()),
            );
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.push(rest[..end].to_string());
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn simulator_never_uses_the_decoders_parsers() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        if d.is_dir() {
            rust_files(&d, &mut files);
        }
    }
    assert!(files.len() > 5, "found the simulator's sources");
    let this_file = Path::new(file!()).file_name().expect("file name");
    let mut offences = Vec::new();
    for f in files.iter().filter(|f| f.file_name() != Some(this_file)) {
        let text = std::fs::read_to_string(f).expect("readable source");
        for name in decoder_names(&text) {
            if !ALLOWED.contains(&name.as_str()) {
                offences.push(format!("{}: meterlab_decoder::{name}", f.display()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the simulator uses decoder internals:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_check_itself_catches_offences() {
    let names = decoder_names("use meterlab_decoder::{Decimal, dsmr::DsmrDecoder};\nlet x = meterlab_decoder::dlms::parse(b);");
    assert_eq!(names, ["Decimal", "dsmr", "dlms"]);
}

/// The names the rule in ARCHITECTURE.md lists: the code spans of the sentence
/// "`sim` may use only … from the decoder".
fn names_in_the_rule(text: &str) -> Vec<String> {
    let text = text.replace('\n', " ");
    let start = text
        .find("`sim` may use only")
        .expect("ARCHITECTURE.md states the rule")
        + "`sim` may use only".len();
    let end = start
        + text[start..]
            .find("from the decoder")
            .expect("the rule ends with `from the decoder`");
    text[start..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_whitelist_is_the_rule_in_architecture_md() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&doc).expect("ARCHITECTURE.md");
    let mut rule = names_in_the_rule(&text);
    rule.sort();
    let mut allowed: Vec<String> = ALLOWED.iter().map(|s| s.to_string()).collect();
    allowed.sort();
    assert_eq!(
        rule, allowed,
        "the whitelist (left: ARCHITECTURE.md, right: ALLOWED) differs"
    );
    assert_eq!(
        names_in_the_rule("x `sim` may use only `A`, `B` and\n`c` from the decoder; `D`"),
        ["A", "B", "c"]
    );
}
