//! Which scenarios a run takes: tags (derived from each scenario, plus its `tags:`), name
//! patterns, protocols, and `--partition K/N` for CI matrices.
//!
//! A pattern with `*` or `?` is a glob over the whole name; any other pattern matches names that
//! contain it. Selection keeps the suite's order (sorted by path).

use std::collections::BTreeSet;

use meterlab_sim::Seed;

use crate::scenario::{KeyChoice, Scenario};
use crate::transport::Transport;

/// The selection options of `meterlab run`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keep scenarios whose name matches any of these (none: all).
    pub filters: Vec<String>,
    /// Drop scenarios whose name matches, or that carry the tag.
    pub exclude: Vec<String>,
    /// Keep scenarios of any of these protocols (`dsmr`, `dlms`, `iec`, `mbus`; none: all).
    pub protocols: Vec<String>,
    /// Keep scenarios carrying every one of these tags.
    pub tags: Vec<String>,
    /// Keep partition K of N (`(k, n)`, 1 ≤ k ≤ n).
    pub partition: Option<(usize, usize)>,
}

/// A bad `--partition` or `--protocol`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// Not `K/N` with 1 ≤ K ≤ N.
    #[error("--partition takes K/N with 1 <= K <= N (e.g. 2/4), got {0:?}")]
    Partition(String),
    /// Not a protocol meterlab knows.
    #[error("--protocol: unknown protocol {0:?} (dsmr, dlms, iec, mbus)")]
    Protocol(String),
}

/// Parses `K/N`.
pub fn parse_partition(text: &str) -> Result<(usize, usize), SelectionError> {
    let bad = || SelectionError::Partition(text.to_string());
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: usize = k.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// The protocol tag of a `--protocol` value (`iec62056-21` and `iec` are the same).
pub fn protocol_tag(name: &str) -> Result<&'static str, SelectionError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "dsmr" => Ok("dsmr"),
        "dlms" => Ok("dlms"),
        "iec" | "iec62056-21" => Ok("iec"),
        "mbus" | "m-bus" => Ok("mbus"),
        other => Err(SelectionError::Protocol(other.to_string())),
    }
}

/// Whether `pattern` matches `name`: a glob (`*` any run, `?` one character) over the whole
/// name if it has either, else a substring.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern.contains(['*', '?']) {
        glob(pattern.as_bytes(), name.as_bytes())
    } else {
        name.contains(pattern)
    }
}

/// `*` and `?` glob matching over bytes, iterative with one backtrack point.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

/// A scenario's tags: its protocol (`dsmr`, `dlms`, `iec`, `mbus`), `encrypted` (the meter has
/// an encryption key), `crypto` (the reader is given no key or another key than the meter's),
/// `line-fault` (it has faults), `timing` (gaps, a reader that starts late, a meter or reader
/// clock off), `bug-report` (its `source:` names an issue, `owner/repo#N`), `real-time` (a pty,
/// TCP or serial transport), `reader-program` (`reader.command`), and the scenario's own
/// `tags:`.
pub fn tags(scenario: &Scenario) -> BTreeSet<String> {
    let spec = &scenario.spec;
    let mut tags: BTreeSet<String> = spec.tags.iter().cloned().collect();
    if let Ok(meter) = spec.meter.build(Seed(spec.seed).derive("meter")) {
        if let Ok(tag) = protocol_tag(meter.protocol().name()) {
            tags.insert(tag.into());
        }
        if meter.keys().encryption.is_some() {
            tags.insert("encrypted".into());
        }
    }
    if spec.reader.key != KeyChoice::Meter || spec.reader.auth_key != KeyChoice::Meter {
        tags.insert("crypto".into());
    }
    if !spec.faults.is_empty() {
        tags.insert("line-fault".into());
    }
    let off_clock =
        |u: Option<meterlab_sim::line::UartConfig>| u.is_some_and(|u| u.clock_ppm != 0.0);
    if spec.reader.start.is_some()
        || off_clock(spec.line.sender)
        || off_clock(spec.line.receiver)
        || spec
            .faults
            .iter()
            .any(|f| matches!(f.kind(), meterlab_sim::line::Fault::Gap { .. }))
    {
        tags.insert("timing".into());
    }
    if spec.source.as_deref().is_some_and(|s| {
        s.split(|c: char| c.is_whitespace() || c == ',' || c == '(')
            .any(|w| w.contains('/') && w.contains('#'))
    }) {
        tags.insert("bug-report".into());
    }
    if spec.transport != Transport::Memory {
        tags.insert("real-time".into());
    }
    if spec.reader.command.is_some() {
        tags.insert("reader-program".into());
    }
    tags
}

impl Selection {
    /// Checks the protocols.
    pub fn validate(&self) -> Result<(), SelectionError> {
        for p in &self.protocols {
            protocol_tag(p)?;
        }
        Ok(())
    }

    /// Whether `scenario` (with `tags`) is selected, partition aside.
    pub fn selects(&self, scenario: &Scenario, tags: &BTreeSet<String>) -> bool {
        let name = &scenario.name;
        (self.filters.is_empty() || self.filters.iter().any(|f| name_matches(f, name)))
            && !self
                .exclude
                .iter()
                .any(|x| name_matches(x, name) || tags.contains(x))
            && (self.protocols.is_empty()
                || self
                    .protocols
                    .iter()
                    .any(|p| protocol_tag(p).is_ok_and(|t| tags.contains(t))))
            && self.tags.iter().all(|t| tags.contains(t))
    }

    /// The selected scenarios, in order. Partition K of N takes every N-th of the otherwise
    /// selected scenarios in name order, starting at the K-th: the N partitions are disjoint,
    /// together they are the selection, and their sizes differ by at most one.
    pub fn apply(&self, scenarios: Vec<Scenario>) -> Vec<Scenario> {
        let mut kept: Vec<Scenario> = scenarios
            .into_iter()
            .filter(|s| self.selects(s, &tags(s)))
            .collect();
        if let Some((k, n)) = self.partition {
            let mut names: Vec<&str> = kept.iter().map(|s| s.name.as_str()).collect();
            names.sort_unstable();
            let mine: BTreeSet<String> = names
                .iter()
                .enumerate()
                .filter(|(i, _)| i % n == k - 1)
                .map(|(_, name)| (*name).to_string())
                .collect();
            kept.retain(|s| mine.contains(&s.name));
        }
        kept
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn globs_and_substrings() {
        assert!(name_matches("dsmr-5.0", "dsmr-5.0-clean"));
        assert!(!name_matches("dsmr-5.0", "dsmr-4.2-clean"));
        assert!(name_matches("dsmr-*-clean", "dsmr-5.0-clean"));
        assert!(!name_matches("dsmr-*-clean", "dsmr-5.0-clean-x"));
        assert!(name_matches("*noise*", "dlms-e450-noise"));
        assert!(name_matches("iec-mode-?-clean", "iec-mode-c-clean"));
        assert!(!name_matches("iec-mode-?-clean", "iec-mode-cc-clean"));
        assert!(name_matches("*", ""));
        assert!(name_matches("a*b*c", "aXbYbZc"));
        assert!(!name_matches("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn partitions() {
        assert_eq!(parse_partition("2/4"), Ok((2, 4)));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/2/3"] {
            assert!(parse_partition(bad).is_err(), "{bad}");
        }
    }
}
