//! The JUnit XML report (`--junit FILE`), in the shape CI systems read (GitLab, Jenkins, GitHub
//! test reporters): one `testsuite`, one `testcase` per scenario, the seed as a property.

use std::fmt::Write as _;

use super::RunReport;
use crate::verdict::Verdict;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML.
pub fn render(report: &RunReport<'_>) -> String {
    let mut x = String::new();
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    // `failure`: fail and unexpected-pass; `error`: decoder-error; `skipped`: skipped and
    // expected-fail (a known failure is not this run's news).
    let failures = report.count(Verdict::Fail) + report.count(Verdict::UnexpectedPass);
    let errors = report.count(Verdict::DecoderError);
    let skipped = report.count(Verdict::Skipped) + report.count(Verdict::ExpectedFail);
    let _ = writeln!(
        x,
        r#"<testsuites name="meterlab" tests="{}" failures="{failures}" errors="{errors}" skipped="{skipped}" time="{:.3}">"#,
        report.outcomes.len(),
        report.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        x,
        r#"  <testsuite name="meterlab scenarios" tests="{}" failures="{failures}" errors="{errors}" skipped="{skipped}" time="{:.3}">"#,
        report.outcomes.len(),
        report.elapsed.as_secs_f64()
    );
    let _ = writeln!(x, "    <properties>");
    let _ = writeln!(
        x,
        r#"      <property name="decoder" value="{}"/>"#,
        escape(report.decoder)
    );
    if let Some(seed) = report.seed_override {
        let _ = writeln!(
            x,
            r#"      <property name="seed_override" value="{seed}"/>"#
        );
    }
    let _ = writeln!(x, "    </properties>");
    for o in report.outcomes {
        let class = o.path.parent().and_then(|p| p.file_name()).map_or_else(
            || "scenarios".to_string(),
            |p| format!("scenarios.{}", p.to_string_lossy()),
        );
        let _ = write!(
            x,
            r#"    <testcase name="{}" classname="{}" file="{}" time="{:.3}">"#,
            escape(&o.name),
            escape(&class),
            escape(&o.path.display().to_string()),
            o.elapsed.as_secs_f64()
        );
        x.push('\n');
        let mut body = String::new();
        if let Some(e) = &o.decoder_error {
            let _ = writeln!(body, "{}", escape(&e.what));
            if !e.stderr_tail.is_empty() {
                let _ = writeln!(body, "stderr:\n{}", escape(&e.stderr_tail));
            }
        }
        for f in &o.failures {
            let _ = writeln!(body, "{}", escape(&f.what));
            if let Some(d) = &f.detail {
                let _ = writeln!(body, "{}", escape(d));
            }
        }
        let first = o
            .decoder_error
            .as_ref()
            .map(|e| e.what.as_str())
            .or_else(|| o.failures.first().map(|f| f.what.as_str()));
        let rerun = escape(&report.rerun(o));
        match o.verdict {
            Verdict::Pass => {}
            Verdict::Fail | Verdict::UnexpectedPass => {
                let _ = writeln!(
                    x,
                    r#"      <failure message="{}" type="{}">"#,
                    escape(first.unwrap_or("failed")),
                    o.verdict
                );
                let _ = write!(x, "{body}rerun: {rerun}\n      </failure>\n");
            }
            Verdict::DecoderError => {
                let _ = writeln!(
                    x,
                    r#"      <error message="{}" type="decoder-error">"#,
                    escape(first.unwrap_or("decoder error"))
                );
                let _ = write!(x, "{body}rerun: {rerun}\n      </error>\n");
            }
            Verdict::ExpectedFail | Verdict::Skipped => {
                // `fail: reason` / `skip: reason` from the expectations file.
                let why = o.expectation.as_deref().unwrap_or("skipped");
                let _ = writeln!(x, r#"      <skipped message="{}"/>"#, escape(why));
            }
        }
        let _ = writeln!(
            x,
            "      <system-out>seed {} | {} -&gt; {} | {} of {} telegrams decoded, {} wrong, {} errors</system-out>",
            o.seed,
            escape(&o.sender.to_string()),
            escape(&o.receiver.to_string()),
            o.tally.matched,
            o.tally.sent,
            o.tally.wrong,
            o.tally.errors.values().sum::<u64>()
        );
        let _ = writeln!(x, "    </testcase>");
    }
    let _ = writeln!(x, "  </testsuite>");
    let _ = writeln!(x, "</testsuites>");
    x
}

#[cfg(test)]
mod test {
    use super::escape;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            escape("a<b & \"c\"\u{2}"),
            "a&lt;b &amp; &quot;c&quot;\\x02"
        );
    }
}
