//! Expectations files (`meterlab run --expect FILE`): the scenarios a decoder under test is
//! known to fail or does not support, so that CI stays green while its author works through
//! them — and goes red when a known failure starts passing, so that the list only shrinks.
//!
//! ```yaml
//! - scenario: dsmr-5.0-noise-1e-4      # a name, or a glob over names (`*`, `?`)
//!   fail: "reports no CRC errors yet"
//! - scenario: "iec-*"
//!   skip: "IEC 62056-21 is not supported"
//! ```
//!
//! An exact name wins over a glob; among globs the first listed wins. `--write-expect FILE`
//! writes such a list from a run (every scenario that failed, with the first failure as the
//! reason), to adopt meterlab on day one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::outcome::{Failure, Outcome};
use crate::selection::name_matches;
use crate::verdict::Verdict;

/// One entry of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// A scenario name, or a glob over names.
    pub scenario: String,
    /// Known to fail, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Not to be run, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
}

/// What the file says of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Known to fail (or to be a decoder error), with the reason.
    Fail(String),
    /// Not run, with the reason.
    Skip(String),
}

impl Expectation {
    /// `fail: reason` / `skip: reason`, as reports show it.
    pub fn describe(&self) -> String {
        match self {
            Expectation::Fail(r) => format!("fail: {r}"),
            Expectation::Skip(r) => format!("skip: {r}"),
        }
    }
}

/// An expectations file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// Could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Malformed YAML, or not a list of entries.
    #[error("{path}:{line}:{column}: {message} (expected a list of `- scenario: NAME` with `fail: REASON` or `skip: REASON`)")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// An entry without exactly one of `fail` and `skip`, or without a reason.
    #[error("{path}: entry {index} ({scenario:?}): {message}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// 1-based position in the list.
        index: usize,
        /// Its `scenario`.
        scenario: String,
        /// What is wrong.
        message: String,
    },
}

/// A loaded expectations file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// Where it came from.
    pub path: PathBuf,
    entries: Vec<(String, Expectation)>,
}

impl Expectations {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ExpectError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of an expectations file (`path` names it in errors). An empty file is an
    /// empty list.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ExpectError> {
        let list: Option<Vec<Entry>> = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            ExpectError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        let mut entries = Vec::new();
        for (i, e) in list.unwrap_or_default().into_iter().enumerate() {
            let bad = |message: &str| ExpectError::Entry {
                path: path.to_path_buf(),
                index: i + 1,
                scenario: e.scenario.clone(),
                message: message.to_string(),
            };
            if e.scenario.trim().is_empty() {
                return Err(bad("`scenario` is empty"));
            }
            let expectation = match (&e.fail, &e.skip) {
                (Some(r), None) => Expectation::Fail(r.trim().to_string()),
                (None, Some(r)) => Expectation::Skip(r.trim().to_string()),
                _ => return Err(bad("give exactly one of `fail: REASON` and `skip: REASON`")),
            };
            if matches!(&expectation, Expectation::Fail(r) | Expectation::Skip(r) if r.is_empty()) {
                return Err(bad("the reason is empty: say why"));
            }
            entries.push((e.scenario.trim().to_string(), expectation));
        }
        Ok(Expectations {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// What the file says of scenario `name`: its exact entry, else the first glob matching it.
    pub fn lookup(&self, name: &str) -> Option<&Expectation> {
        self.entries
            .iter()
            .find(|(p, _)| p == name)
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|(p, _)| p.contains(['*', '?']) && name_matches(p, name))
            })
            .map(|(_, e)| e)
    }

    /// The entries that match none of `names` (a renamed or removed scenario, a typo).
    pub fn unused<'a>(&'a self, names: &[&str]) -> Vec<&'a str> {
        self.entries
            .iter()
            .filter(|(p, _)| {
                !names
                    .iter()
                    .any(|n| p == n || (p.contains(['*', '?']) && name_matches(p, n)))
            })
            .map(|(p, _)| p.as_str())
            .collect()
    }

    /// Applies the file to a finished outcome: a listed failure (or decoder error) becomes
    /// `expected-fail`; a listed scenario that passes becomes `unexpected-pass`, a failure that
    /// says to remove it.
    pub fn apply(&self, outcome: &mut Outcome) {
        let Some(Expectation::Fail(reason)) = self.lookup(&outcome.name) else {
            return;
        };
        outcome.expectation = Some(format!("fail: {reason}"));
        match outcome.verdict {
            Verdict::Fail | Verdict::DecoderError => outcome.verdict = Verdict::ExpectedFail,
            Verdict::Pass => {
                outcome.verdict = Verdict::UnexpectedPass;
                outcome.failures.push(Failure {
                    what: format!(
                        "{} lists it as a known failure ({reason}), but it passes now: remove it from the list",
                        self.path.display()
                    ),
                    detail: None,
                });
            }
            _ => {}
        }
    }
}

/// The expectations file of a run: every scenario that failed, was a decoder error or is still
/// an expected failure, as `fail` with its reason (the list's own, else the first failure); every
/// skipped one as `skip`. YAML, with a header saying what it is.
pub fn render(outcomes: &[Outcome]) -> Result<String, serde_yaml::Error> {
    let mut entries = Vec::new();
    for o in outcomes {
        let listed = o
            .expectation
            .as_deref()
            .and_then(|e| e.split_once(": ").map(|(_, r)| r.to_string()));
        let entry = match o.verdict {
            Verdict::Skipped => Entry {
                scenario: o.name.clone(),
                fail: None,
                skip: Some(listed.unwrap_or_else(|| "skipped".into())),
            },
            Verdict::Fail | Verdict::DecoderError | Verdict::ExpectedFail => {
                let first = o
                    .decoder_error
                    .as_ref()
                    .map(|e| e.what.clone())
                    .or_else(|| o.failures.first().map(|f| f.what.clone()))
                    .unwrap_or_else(|| o.verdict.to_string());
                let reason: String = listed.unwrap_or(first).chars().take(160).collect();
                Entry {
                    scenario: o.name.clone(),
                    fail: Some(reason),
                    skip: None,
                }
            }
            Verdict::Pass | Verdict::UnexpectedPass => continue,
        };
        entries.push(entry);
    }
    let body = if entries.is_empty() {
        "[]\n".to_string()
    } else {
        serde_yaml::to_string(&entries)?
    };
    Ok(format!(
        "# meterlab expectations (`meterlab run --expect FILE`): scenarios the decoder under test is\n\
         # known to fail (`fail`) or that are not run (`skip`), each with a reason. `scenario` is a\n\
         # name or a glob. A listed failure that starts passing fails the run: remove it then.\n{body}"
    ))
}

#[cfg(test)]
mod test {
    use super::*;

    fn file(text: &str) -> Result<Expectations, ExpectError> {
        Expectations::parse(Path::new("expect.yaml"), text)
    }

    #[test]
    fn exact_names_win_over_globs() {
        let e = file(
            "- scenario: 'dsmr-*'\n  skip: no DSMR\n- scenario: dsmr-5.0-clean\n  fail: CRC\n",
        )
        .expect("parses");
        assert_eq!(
            e.lookup("dsmr-5.0-clean"),
            Some(&Expectation::Fail("CRC".into()))
        );
        assert_eq!(
            e.lookup("dsmr-4.2-clean"),
            Some(&Expectation::Skip("no DSMR".into()))
        );
        assert_eq!(e.lookup("iec-mode-c-clean"), None);
        assert_eq!(e.unused(&["iec-mode-c-clean"]).len(), 2);
        assert!(e.unused(&["dsmr-5.0-clean"]).is_empty());
    }

    #[test]
    fn bad_files_say_where() {
        assert!(matches!(
            file("- scenario: a\n  fail: x\n  skip: y\n"),
            Err(ExpectError::Entry { index: 1, .. })
        ));
        assert!(matches!(
            file("- scenario: a\n"),
            Err(ExpectError::Entry { .. })
        ));
        assert!(matches!(
            file("- scenario: a\n  fail: ''\n"),
            Err(ExpectError::Entry { .. })
        ));
        let e = file("- scenario: a\n  fial: x\n").expect_err("unknown field");
        assert!(e.to_string().starts_with("expect.yaml:2:"), "{e}");
        assert_eq!(file("").map(|e| e.entries.len()).ok(), Some(0));
    }
}
