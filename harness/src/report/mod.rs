//! Reports of a run: a table for people, JSON and JUnit XML for CI.
//!
//! Every report carries each scenario's seed, so any failure can be reproduced exactly.

pub mod json;
pub mod junit;
pub mod table;

use std::time::Duration;

use crate::runner::Outcome;

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
}

impl RunReport<'_> {
    /// How many scenarios passed.
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed()).count()
    }

    /// How many failed.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}
