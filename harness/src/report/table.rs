//! The report for people: one line per scenario, then the details of each failure with a colored
//! diff, then the closing line `N passed, N failed`.

use std::fmt::Write as _;

use console::{style, Style};

use super::RunReport;
use crate::golden::GoldenStatus;
use crate::outcome::Outcome;
use crate::transport::Transport;
use crate::verdict::Verdict;

/// The verdict's label in the table, six characters wide.
fn label(v: Verdict) -> console::StyledObject<&'static str> {
    match v {
        Verdict::Pass => style(" PASS ").green().bold(),
        Verdict::Fail => style(" FAIL ").red().bold(),
        Verdict::DecoderError => style("ERROR ").red().bold(),
        Verdict::ExpectedFail => style("XFAIL ").yellow(),
        Verdict::UnexpectedPass => style("XPASS ").red().bold(),
        Verdict::Skipped => style(" SKIP ").dim(),
    }
}

/// One scenario's line.
pub fn line(o: &Outcome, name_width: usize) -> String {
    let status = label(o.verdict);
    if o.verdict == Verdict::Skipped {
        return format!(
            "{status} {:<name_width$}  {}",
            o.name,
            o.expectation.as_deref().unwrap_or("skipped")
        );
    }
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
        GoldenStatus::Missing => "  NO GOLDEN FILE",
        GoldenStatus::Written => "  golden written",
        GoldenStatus::Skipped => "",
    };
    let mut over = match o.transport {
        Transport::Memory => String::new(),
        t => format!("  over {t}"),
    };
    if o.tally.unjudged > 0 {
        let _ = write!(over, "  {} from a replayed capture", o.tally.unjudged);
    }
    if let Some(sweep) = &o.sweep {
        let _ = write!(over, "  seeds {}/{} failed", sweep.failed, sweep.seeds);
        if let Some(seed) = sweep.first_failing_seed {
            let _ = write!(over, " (first {seed})");
        }
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
    let failed: Vec<&Outcome> = report
        .outcomes
        .iter()
        .filter(|o| !matches!(o.verdict, Verdict::Pass | Verdict::Skipped))
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(s, "\n{}", style("Failures").red().bold());
        for o in failed {
            let _ = writeln!(
                s,
                "\n  {} {} ({}, seed {})",
                label(o.verdict),
                style(&o.name).bold(),
                o.path.display(),
                o.seed,
            );
            let _ = writeln!(s, "    rerun: {}", report.rerun(o));
            if let Some(seed) = o.sweep.as_ref().and_then(|w| w.first_failing_seed) {
                let _ = writeln!(
                    s,
                    "    rerun the first failing seed: {}",
                    report.rerun_seed(o, Some(seed))
                );
            }
            if let Some(d) = &o.description {
                let _ = writeln!(s, "    {}", style(d).dim());
            }
            if let Some(e) = &o.expectation {
                let _ = writeln!(s, "    expected to fail: {e}");
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
            if let Some(e) = &o.decoder_error {
                let _ = writeln!(s, "    - decoder error: {}", e.what);
                if e.stderr_tail.is_empty() {
                    let _ = writeln!(s, "      (nothing on its standard error)");
                } else {
                    let _ = writeln!(s, "      its standard error ends:");
                    for l in e.stderr_tail.lines() {
                        let _ = writeln!(s, "      | {l}");
                    }
                }
            }
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
    let decoders = report.decoders();
    let under_test = match decoders.as_slice() {
        [] => report.decoder.to_string(),
        [(one, _)] => (*one).to_string(),
        many => many
            .iter()
            .map(|(d, n)| format!("{d} ({n} scenario{})", if *n == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let _ = writeln!(
        s,
        "\ndecoder under test: {under_test}{seed}{}; {:.2} s",
        if report.builtin {
            "; the built-in suite (`meterlab scenarios export DIR` writes it out)"
        } else {
            ""
        },
        report.elapsed.as_secs_f64()
    );
    let mut counts = format!("{} passed, {} failed", report.passed(), report.failed());
    for v in [
        Verdict::DecoderError,
        Verdict::ExpectedFail,
        Verdict::UnexpectedPass,
        Verdict::Skipped,
    ] {
        let n = report.count(v);
        if n > 0 {
            let _ = write!(counts, ", {n} {v}");
        }
    }
    let _ = writeln!(s, "{counts}");
    s
}
