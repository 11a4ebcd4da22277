//! Golden files: a small, readable summary of each scenario's outcome, stored as insta snapshots
//! in `golden/<scenario>.snap` and reviewed with `cargo insta review`.
//!
//! The summary holds what identifies a behaviour (settings, counts, each message's fate, the first
//! reading in full) and nothing that changes from run to run (wall-clock times) or is secret (keys
//! are never in a decoder's output, and the summary shows no scenario key).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meterlab_decoder::Message;

pub use crate::outcome::GoldenStatus;
use crate::outcome::Outcome;
use crate::verdict::{reading_lines, MessageFate};

/// The `source:` line insta writes for snapshots asserted by the scenario test.
pub const SNAPSHOT_SOURCE: &str = "harness/tests/scenarios.rs";

/// The golden summary of an outcome.
pub fn render(o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "scenario: {}", o.name);
    let _ = writeln!(s, "seed: {}", o.seed);
    let _ = writeln!(s, "meter: {} ({})", o.profile, o.sender);
    let _ = writeln!(s, "line: {} -> {}", o.sender, o.receiver);
    if o.faults.is_empty() {
        let _ = writeln!(s, "faults: none");
    } else {
        let _ = writeln!(s, "faults: {}", o.faults.join("; "));
    }
    if !o.fault_log.is_empty() {
        let _ = writeln!(s, "fault log: {}", o.fault_log);
    }
    let _ = writeln!(
        s,
        "sent: {} messages, {} bytes; received {} bytes ({} parity errors, {} framing errors, {} breaks)",
        o.sent_messages, o.sent_bytes, o.received_bytes, o.rx_parity_errors, o.rx_framing_errors, o.rx_breaks
    );
    let errors: u64 = o.tally.errors.values().sum();
    if o.profile.starts_with(meterlab_sim::replay::PROFILE_PREFIX) {
        let _ = writeln!(
            s,
            "decoded: {} readings from the replayed capture (no truth to compare), {} errors",
            o.tally.unjudged, errors
        );
    } else {
        let _ = writeln!(
            s,
            "decoded: {} readings equal to the truth, {} wrong, {} of {} telegrams lost, {} errors",
            o.tally.matched, o.tally.wrong, o.tally.lost, o.tally.sent, errors
        );
    }
    if o.tally.links > 0 {
        let _ = writeln!(
            s,
            "link messages: {} (requests and acknowledgements, neither readings nor errors)",
            o.tally.links
        );
    }
    let _ = writeln!(s, "messages:");
    // Runs of readings that match consecutive telegrams collapse into one line.
    let mut run: Option<(usize, usize, usize)> = None; // (first message, first telegram, length)
    let flush = |s: &mut String, run: &mut Option<(usize, usize, usize)>| {
        if let Some((m, t, n)) = run.take() {
            let time = |k: usize| {
                o.truth
                    .get(k)
                    .and_then(|r| r.time.clone())
                    .unwrap_or_else(|| "no time".into())
            };
            if n == 1 {
                let values = o.truth.get(t).map_or(0, |r| r.values.len());
                let _ = writeln!(
                    s,
                    "  {m:>3} reading = telegram {t} ({}, {values} values)",
                    time(t)
                );
            } else {
                let _ = writeln!(
                    s,
                    "  {m:>3}..{} readings = telegrams {t}..{} ({} .. {})",
                    m + n - 1,
                    t + n - 1,
                    time(t),
                    time(t + n - 1)
                );
            }
        }
    };
    // Runs of link messages collapse into one line counting each kind.
    let mut links: Option<(usize, usize, BTreeMap<&str, usize>)> = None;
    let flush_links =
        |s: &mut String, links: &mut Option<(usize, usize, BTreeMap<&str, usize>)>| {
            if let Some((first, n, kinds)) = links.take() {
                let counts: Vec<String> = kinds.iter().map(|(k, c)| format!("{c} {k}")).collect();
                let span = if n == 1 {
                    format!("{first:>3}")
                } else {
                    format!("{first:>3}..{}", first + n - 1)
                };
                let _ = writeln!(s, "  {span} link ({})", counts.join(", "));
            }
        };
    for (i, (m, fate)) in o.messages.iter().zip(&o.fates).enumerate() {
        let link = match m {
            Message::Link { link } => Some(link),
            Message::Reading(_) | Message::Error { .. } => None,
        };
        if let Some(link) = link {
            flush(&mut s, &mut run);
            let entry = links.get_or_insert_with(|| (i, 0, BTreeMap::new()));
            entry.1 += 1;
            *entry.2.entry(link.kind.as_str()).or_default() += 1;
            continue;
        }
        flush_links(&mut s, &mut links);
        match (m, fate) {
            // Counted above.
            (Message::Link { .. }, _) => {}
            (Message::Reading(_), MessageFate::Matched { truth }) => match &mut run {
                Some((m0, t0, n)) if *m0 + *n == i && *t0 + *n == *truth => *n += 1,
                _ => {
                    flush(&mut s, &mut run);
                    run = Some((i, *truth, 1));
                }
            },
            (Message::Error { error }, _) => {
                flush(&mut s, &mut run);
                let at = error.offset.map(|o| format!(" @{o}")).unwrap_or_default();
                let _ = writeln!(s, "  {i:>3} error {}{at}: {}", error.kind, error.message);
            }
            (Message::Reading(r), MessageFate::Unjudged) => {
                flush(&mut s, &mut run);
                let _ = writeln!(
                    s,
                    "  {i:>3} reading ({}, {} values)",
                    r.time.as_deref().unwrap_or("no time"),
                    r.values.len()
                );
            }
            (Message::Reading(r), _) => {
                flush(&mut s, &mut run);
                let _ = writeln!(
                    s,
                    "  {i:>3} reading WRONG ({}, {} values)",
                    r.time.as_deref().unwrap_or("no time"),
                    r.values.len()
                );
            }
        }
    }
    flush(&mut s, &mut run);
    flush_links(&mut s, &mut links);
    if let Some(r) = o.messages.iter().find_map(Message::reading) {
        let _ = writeln!(s, "first reading:");
        for line in reading_lines(r) {
            let _ = writeln!(s, "  {line}");
        }
        for w in &r.warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
    }
    s
}

/// The golden file of a scenario.
pub fn path(dir: &Path, scenario: &str) -> PathBuf {
    dir.join(format!("{scenario}.snap"))
}

/// The content of an insta snapshot file (what follows its `---` header), if it exists.
pub fn read(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(strip_header(&text).to_string())
}

pub(crate) fn strip_header(text: &str) -> &str {
    if let Some(rest) = text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            return &rest[end + 5..];
        }
    }
    text
}

/// Writes a golden file in insta's format.
pub fn write(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        path,
        format!(
            "---\nsource: {SNAPSHOT_SOURCE}\n---\n{}\n",
            content.trim_end()
        ),
    )
}

/// Whether two summaries are the same (trailing white space aside, as insta compares).
pub fn same(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim_end()
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn header_is_stripped() {
        assert_eq!(
            strip_header("---\nsource: x.rs\nexpression: y\n---\nscenario: a\n"),
            "scenario: a\n"
        );
        assert_eq!(strip_header("scenario: a\n"), "scenario: a\n");
        assert!(same("a\nb  \n\n", "a\nb"));
        assert!(!same("a\nb", "a\nc"));
    }
}
