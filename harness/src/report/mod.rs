//! Reports of a run: a table for people, JSON and JUnit XML for CI.
//!
//! Every report carries each scenario's seed and verdict, so any failure can be reproduced
//! exactly.

pub mod json;
pub mod junit;
pub mod table;

use std::time::Duration;

use crate::outcome::Outcome;
use crate::verdict::Verdict;

/// A finished run.
#[derive(Debug)]
pub struct RunReport<'a> {
    /// The outcomes, in scenario order.
    pub outcomes: &'a [Outcome],
    /// The decoder under test, as named in reports.
    pub decoder: &'a str,
    /// The seed given with `--seed`, if any.
    pub seed_override: Option<u64>,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
    /// The options a rerun of one scenario must repeat (`--decoder CMD`, `--transport pty`,
    /// `--expect FILE`…), shell-quoted; the scenario and its seed are added per scenario.
    pub rerun_args: Vec<String>,
    /// The scenarios are the built-in suite (a rerun names the scenario, not its file).
    pub builtin: bool,
}

impl RunReport<'_> {
    /// How many scenarios have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.verdict == verdict)
            .count()
    }

    /// How many passed.
    pub fn passed(&self) -> usize {
        self.count(Verdict::Pass)
    }

    /// How many failed (`fail` only; decoder errors and unexpected passes are counted apart).
    pub fn failed(&self) -> usize {
        self.count(Verdict::Fail)
    }

    /// How many make the run fail: fail, decoder-error, unexpected-pass.
    pub fn not_ok(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.passed()).count()
    }

    /// The decoders that ran, each with the number of scenarios it ran: the one under test,
    /// and the reader programs scenarios name themselves (`reader.command`).
    pub fn decoders(&self) -> Vec<(&str, usize)> {
        let mut out: Vec<(&str, usize)> = Vec::new();
        for o in self.outcomes {
            if o.verdict == Verdict::Skipped {
                continue;
            }
            match out.iter_mut().find(|(d, _)| *d == o.decoder) {
                Some((_, n)) => *n += 1,
                None => out.push((&o.decoder, 1)),
            }
        }
        out
    }

    /// The command that reruns `o` alone with every option that matters.
    pub fn rerun(&self, o: &Outcome) -> String {
        self.rerun_seed(
            o,
            (self.seed_override.is_some() || o.seed != o.scenario_seed).then_some(o.seed),
        )
    }

    /// The command that reruns `o` alone with `seed` in place of its own.
    pub fn rerun_seed(&self, o: &Outcome, seed: Option<u64>) -> String {
        let mut words = vec!["meterlab".to_string(), "run".to_string()];
        if self.builtin {
            words.push("--filter".into());
            words.push(shell_quote(&o.name));
        } else {
            words.push(shell_quote(&o.path.display().to_string()));
        }
        if let Some(seed) = seed {
            words.push("--seed".into());
            words.push(seed.to_string());
        }
        words.extend(self.rerun_args.iter().cloned());
        words.join(" ")
    }
}

/// `s` as one word for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod test {
    use super::shell_quote;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("scenarios/a.yaml"), "scenarios/a.yaml");
        assert_eq!(shell_quote("python3 d.py"), "'python3 d.py'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
