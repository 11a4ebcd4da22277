//! The JSON report (`--report json FILE`), format version 1: stable field names, documented in
//! `docs/reports.md`.

use serde::Serialize;

use super::RunReport;
use crate::outcome::Outcome;
use crate::verdict::Verdict;

#[derive(Serialize)]
struct Json<'a> {
    format_version: u32,
    meterlab_version: &'static str,
    decoder: &'a str,
    seed_override: Option<u64>,
    summary: Summary,
    scenarios: &'a [Outcome],
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    passed: usize,
    failed: usize,
    decoder_error: usize,
    expected_fail: usize,
    unexpected_pass: usize,
    skipped: usize,
    elapsed_ms: f64,
}

/// The report as pretty-printed JSON.
pub fn render(report: &RunReport<'_>) -> serde_json::Result<String> {
    let json = Json {
        format_version: 1,
        meterlab_version: env!("CARGO_PKG_VERSION"),
        decoder: report.decoder,
        seed_override: report.seed_override,
        summary: Summary {
            total: report.outcomes.len(),
            passed: report.passed(),
            failed: report.failed(),
            decoder_error: report.count(Verdict::DecoderError),
            expected_fail: report.count(Verdict::ExpectedFail),
            unexpected_pass: report.count(Verdict::UnexpectedPass),
            skipped: report.count(Verdict::Skipped),
            elapsed_ms: (report.elapsed.as_secs_f64() * 1e6).round() / 1e3,
        },
        scenarios: report.outcomes,
    };
    serde_json::to_string_pretty(&json)
}
