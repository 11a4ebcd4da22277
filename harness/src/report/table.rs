//! The report for people: one line per scenario, then the details of each failure with a colored
//! diff, then the closing line `N passed, N failed`.

use std::fmt::Write as _;

use console::{style, Style};

use super::RunReport;
use crate::golden::GoldenStatus;
use crate::runner::Outcome;
use crate::transport::Transport;

/// One scenario's line.
pub fn line(o: &Outcome, name_width: usize) -> String {
    let status = if o.passed() {
        style(" PASS ").green().bold()
    } else {
        style(" FAIL ").red().bold()
    };
    let errors: u64 = o.tally.errors.values().sum();
    let kinds: Vec<String> = o
        .tally
        .errors
        .iter()
        .map(|(k, n)| format!("{k}×{n}"))
        .collect();
    let golden = match o.golden {
        GoldenStatus::Match => "",
        GoldenStatus::Mismatch => "  golden differs",
        GoldenStatus::Missing => "  no golden",
        GoldenStatus::Written => "  golden written",
        GoldenStatus::Skipped => "",
    };
    let mut over = match o.transport {
        Transport::Memory => String::new(),
        t => format!("  over {t}"),
    };
    if o.tally.unjudged > 0 {
        over.push_str(&format!("  {} from a replayed capture", o.tally.unjudged));
    }
    format!(
        "{status} {:<name_width$}  seed {:<6} {:>3}/{:<3} readings  {:>2} wrong  {:>3} errors{}{}{over}",
        o.name,
        o.seed,
        o.tally.matched,
        o.tally.sent,
        o.tally.wrong,
        errors,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        },
        golden
    )
}

fn colored_diff(d: &str) -> String {
    let mut out = String::new();
    for l in d.lines() {
        let st = if l.starts_with("+++") || l.starts_with("---") {
            Style::new().bold()
        } else if l.starts_with('+') {
            Style::new().green()
        } else if l.starts_with('-') {
            Style::new().red()
        } else if l.starts_with("@@") {
            Style::new().cyan()
        } else {
            Style::new().dim()
        };
        let _ = writeln!(out, "      {}", st.apply_to(l));
    }
    out
}

/// The whole report.
pub fn render(report: &RunReport<'_>) -> String {
    let width = report
        .outcomes
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(10)
        .min(48);
    let mut s = String::new();
    for o in report.outcomes {
        let _ = writeln!(s, "{}", line(o, width));
    }
    let failed: Vec<&Outcome> = report.outcomes.iter().filter(|o| !o.passed()).collect();
    if !failed.is_empty() {
        let _ = writeln!(s, "\n{}", style("Failures").red().bold());
        for o in failed {
            let _ = writeln!(
                s,
                "\n  {} ({}, seed {}; rerun: meterlab run {}{} )",
                style(&o.name).bold(),
                o.path.display(),
                o.seed,
                o.path.display(),
                match o.transport {
                    Transport::Memory => String::new(),
                    t => format!(" --transport {t}"),
                }
            );
            if let Some(d) = &o.description {
                let _ = writeln!(s, "    {}", style(d).dim());
            }
            let _ = writeln!(
                s,
                "    line {} -> {}; faults: {}",
                o.sender,
                o.receiver,
                if o.faults.is_empty() {
                    "none".to_string()
                } else {
                    o.faults.join("; ")
                }
            );
            for f in &o.failures {
                let _ = writeln!(s, "    - {}", f.what);
                if let Some(d) = &f.detail {
                    s.push_str(&colored_diff(d));
                }
            }
        }
    }
    let seed = report
        .seed_override
        .map(|s| format!(", seed override {s}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "\ndecoder under test: {}{seed}; {:.2} s",
        report.decoder,
        report.elapsed.as_secs_f64()
    );
    let _ = writeln!(s, "{} passed, {} failed", report.passed(), report.failed());
    s
}
