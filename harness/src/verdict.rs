//! Comparing what a decoder said with what the simulator sent, and with the scenario's
//! expectations.
//!
//! The decoded readings are matched against the truth in order: each reading must equal
//! (`Reading::same_data`) a telegram the meter sent, later than the one matched before. A reading
//! that equals none is *wrong* — silently wrong data, the worst thing a decoder can do. Telegrams
//! never matched are *lost* (cut off by a fault, or reported as an error).

use std::collections::BTreeMap;

use meterlab_decoder::{Message, Reading, Value};

use crate::scenario::{Compare, ExpectSpec};

/// A scenario's verdict: what the table counts, JSON carries and JUnit maps to `failure`,
/// `error` or `skipped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every expectation held.
    #[default]
    Pass,
    /// Some expectation (or the golden file) did not hold.
    Fail,
    /// The decoder or reader under test could not be started, exited non-zero, was killed or
    /// ran out of time: its output proves nothing, so the scenario cannot pass.
    DecoderError,
    /// Failed (or decoder error), and the expectations file (`--expect`) says it fails.
    ExpectedFail,
    /// Passed although the expectations file says it fails: remove it from the list.
    UnexpectedPass,
    /// Not run: the expectations file says skip it.
    Skipped,
}

impl Verdict {
    /// Every verdict, in the order the table counts them.
    pub const ALL: [Verdict; 6] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::DecoderError,
        Verdict::ExpectedFail,
        Verdict::UnexpectedPass,
        Verdict::Skipped,
    ];

    /// Whether the run can still succeed with this verdict.
    pub fn ok(self) -> bool {
        matches!(
            self,
            Verdict::Pass | Verdict::ExpectedFail | Verdict::Skipped
        )
    }

    /// The name used in reports (`decoder-error`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::DecoderError => "decoder-error",
            Verdict::ExpectedFail => "expected-fail",
            Verdict::UnexpectedPass => "unexpected-pass",
            Verdict::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The decoder or reader under test failed as a program.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DecoderError {
    /// One sentence: could not start, exited with status N, killed by signal N, timed out.
    pub what: String,
    /// Its exit status, if it exited.
    pub exit_status: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// The last lines of its standard error.
    pub stderr_tail: String,
}

/// What became of one decoded message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MessageFate {
    /// A reading equal to truth telegram `truth`.
    Matched {
        /// Index of the telegram in the truth list.
        truth: usize,
    },
    /// A reading equal to no telegram sent; `nearest` is the truth telegram it most resembles.
    Wrong {
        /// Index of the most similar truth telegram, if any was sent.
        nearest: Option<usize>,
    },
    /// An error message.
    Error,
    /// A reading from a replayed capture: there is no truth to compare it with; the golden file
    /// keeps it, `expect.values` checks it.
    Unjudged,
    /// A link message (a request or acknowledgement of a dialogue): neither a reading nor an
    /// error, so it matches nothing and counts as no failure.
    Link,
}

/// Counts over one scenario's decoded messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Telegrams the meter sent (truth readings).
    pub sent: u64,
    /// Readings equal to the truth.
    pub matched: u64,
    /// Readings equal to nothing sent.
    pub wrong: u64,
    /// Telegrams sent but never decoded.
    pub lost: u64,
    /// Error messages per kind.
    pub errors: BTreeMap<String, u64>,
    /// Readings from a replayed capture, which has no truth to match (see
    /// [`judge_replayed`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub unjudged: u64,
    /// Link messages (requests and acknowledgements of a dialogue): neither readings nor
    /// errors.
    #[serde(skip_serializing_if = "is_zero")]
    pub links: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Tallies the messages decoded from a replayed capture: no truth, so every reading is
/// [`MessageFate::Unjudged`] and `expect.readings` counts them.
pub fn judge_replayed(decoded: &[Message]) -> (Vec<MessageFate>, Tally) {
    let mut tally = Tally::default();
    let fates = decoded
        .iter()
        .map(|m| match m {
            Message::Error { error } => {
                *tally.errors.entry(error.kind.clone()).or_default() += 1;
                MessageFate::Error
            }
            Message::Reading(_) => {
                tally.unjudged += 1;
                MessageFate::Unjudged
            }
            Message::Link { .. } => {
                tally.links += 1;
                MessageFate::Link
            }
        })
        .collect();
    (fates, tally)
}

/// The `expect.values` that no decoded reading shows: `id` with the value (as in the golden
/// file: `230.1 V`, `"text"`, or the number alone).
pub fn missing_values(expect: &ExpectSpec, decoded: &[Message]) -> Vec<String> {
    expect
        .values
        .iter()
        .filter(|(id, want)| {
            !decoded.iter().filter_map(Message::reading).any(|r| {
                reading_lines(r).iter().any(|line| {
                    let Some(rest) = line.strip_prefix(id.as_str()) else {
                        return false;
                    };
                    let Some(got) = rest.strip_prefix(" = ") else {
                        return false;
                    };
                    let got = got.split(" @ ").next().unwrap_or(got);
                    got == want.as_str() || got.split(' ').next() == Some(want.as_str())
                })
            })
        })
        .map(|(id, want)| format!("expected a reading with {id} = {want}, none decoded"))
        .collect()
}

/// Matches decoded messages against the truth, readings compared exactly.
pub fn judge(truth: &[Reading], decoded: &[Message]) -> (Vec<MessageFate>, Tally) {
    judge_with(truth, decoded, Compare::Exact)
}

/// Whether `decoded` is `sent` under `compare`.
pub fn same(compare: Compare, sent: &Reading, decoded: &Reading) -> bool {
    match compare {
        Compare::Exact => sent.same_data(decoded),
        Compare::Printed => printed_right(sent, decoded),
    }
}

/// [`Compare::Printed`]: everything `decoded` says is in `sent`.
fn printed_right(sent: &Reading, decoded: &Reading) -> bool {
    if sent.protocol != decoded.protocol
        || decoded.values.is_empty()
        || decoded
            .meter_id
            .as_ref()
            .is_some_and(|id| sent.meter_id.as_ref() != Some(id))
        || (decoded.time.is_some() && !same_time(sent.time.as_deref(), decoded.time.as_deref()))
    {
        return false;
    }
    let mut pool: Vec<&Value> = sent.values.iter().collect();
    decoded.values.iter().all(|v| {
        let found = pool.iter().position(|t| {
            t.id == v.id
                && t.value == v.value
                && t.unit == v.unit
                && (v.time.is_none() || same_time(t.time.as_deref(), v.time.as_deref()))
                && Value {
                    time: None,
                    ..(*t).clone()
                } == Value {
                    time: None,
                    ..v.clone()
                }
        });
        found.map(|k| pool.remove(k)).is_some()
    })
}

/// Two RFC 3339 times are the same instant, or the same wall-clock time where one has no
/// offset (the meter sent none; the reader assumed its time zone).
fn same_time(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if a == b => true,
        (Some(a), Some(b)) => {
            let parse = chrono::DateTime::parse_from_rfc3339;
            match (parse(a), parse(b)) {
                (Ok(x), Ok(y)) => x == y,
                _ => {
                    let wall = |t: &str| t.get(..19).map(str::to_owned);
                    let naive = |t: &str| t.len() == 19;
                    (naive(a) || naive(b)) && wall(a).is_some() && wall(a) == wall(b)
                }
            }
        }
        (None, None) => true,
        _ => false,
    }
}

/// Matches decoded messages against the truth, readings compared as `compare` says.
pub fn judge_with(
    truth: &[Reading],
    decoded: &[Message],
    compare: Compare,
) -> (Vec<MessageFate>, Tally) {
    let mut fates = Vec::with_capacity(decoded.len());
    let mut tally = Tally {
        sent: truth.len() as u64,
        ..Tally::default()
    };
    let mut next = 0usize;
    for m in decoded {
        match m {
            Message::Error { error } => {
                *tally.errors.entry(error.kind.clone()).or_default() += 1;
                fates.push(MessageFate::Error);
            }
            Message::Link { .. } => {
                tally.links += 1;
                fates.push(MessageFate::Link);
            }
            Message::Reading(r) => match (next..truth.len()).find(|&k| same(compare, &truth[k], r))
            {
                Some(k) => {
                    tally.matched += 1;
                    next = k + 1;
                    fates.push(MessageFate::Matched { truth: k });
                }
                None => {
                    tally.wrong += 1;
                    fates.push(MessageFate::Wrong {
                        nearest: nearest(truth, r, next),
                    });
                }
            },
        }
    }
    tally.lost = tally.sent - tally.matched;
    (fates, tally)
}

/// The truth telegram most like `r`: same time if any, else the most values in common.
fn nearest(truth: &[Reading], r: &Reading, from: usize) -> Option<usize> {
    if let Some(k) = truth
        .iter()
        .position(|t| t.time.is_some() && t.time == r.time)
    {
        return Some(k);
    }
    let score = |t: &Reading| t.values.iter().filter(|v| r.values.contains(v)).count();
    (0..truth.len()).max_by_key(|&k| (score(&truth[k]), usize::from(k >= from), usize::MAX - k))
}

/// Which expectation of `expect:` did not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmet {
    /// `readings:` (readings equal to the truth).
    Readings,
    /// `wrong:` (readings that match no telegram the meter sent); its failure carries the diff.
    Wrong,
    /// `errors:` for one kind: not the count expected.
    ErrorCount,
    /// An error kind that `errors:` does not allow.
    UnexpectedError,
}

/// The expectations that do not hold, each with one sentence.
pub fn check(expect: &ExpectSpec, tally: &Tally, check_error_kinds: bool) -> Vec<(Unmet, String)> {
    let mut failures = Vec::new();
    if !expect
        .readings
        .holds(tally.matched + tally.unjudged, tally.sent + tally.unjudged)
    {
        failures.push((
            Unmet::Readings,
            format!(
                "expected {} readings equal to the truth, got {} (of {} telegrams sent)",
                expect.readings, tally.matched, tally.sent
            ),
        ));
    }
    if !expect.wrong.holds(tally.wrong, tally.sent) {
        failures.push((
            Unmet::Wrong,
            format!(
                "expected {} wrong readings (matching no telegram the meter sent), got {}",
                expect.wrong, tally.wrong
            ),
        ));
    }
    if check_error_kinds {
        for (kind, count) in &expect.errors {
            let got = tally.errors.get(kind).copied().unwrap_or(0);
            if !count.holds(got, tally.sent) {
                failures.push((
                    Unmet::ErrorCount,
                    format!("expected {count} `{kind}` errors, got {got}"),
                ));
            }
        }
        for (kind, got) in &tally.errors {
            if !expect.errors.allows(kind) {
                failures.push((
                    Unmet::UnexpectedError,
                    format!("unexpected `{kind}` errors: {got}"),
                ));
            }
        }
    }
    failures
}

/// A reading as lines for a diff: `id = value unit @ time`, sorted by id; numbers as written.
pub fn reading_lines(r: &Reading) -> Vec<String> {
    lines(r, false)
}

/// `reading_lines`, numbers as decimals: `0.000` and `0` are both `0`, `999.00` is `999`.
fn lines(r: &Reading, normalize: bool) -> Vec<String> {
    let mut head = vec![
        format!("meter_id = {}", r.meter_id.as_deref().unwrap_or("(none)")),
        format!("time = {}", r.time.as_deref().unwrap_or("(none)")),
    ];
    let mut values: Vec<String> = r.values.iter().map(|v| value_line(v, normalize)).collect();
    values.sort();
    head.extend(values);
    head
}

fn value_line(v: &Value, normalize: bool) -> String {
    let value = match &v.value {
        meterlab_decoder::Scalar::Number(d) if normalize => d.normalized().to_string(),
        meterlab_decoder::Scalar::Number(d) => d.to_string(),
        meterlab_decoder::Scalar::Text(t) => format!("{t:?}"),
    };
    let unit = v
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    let time = v
        .time
        .as_deref()
        .map(|t| format!(" @ {t}"))
        .unwrap_or_default();
    let record = match (v.quantity(), v.function()) {
        (Some(q), Some(f)) => format!(
            " [{q}, {f}, storage {}, tariff {}, subunit {}]",
            v.storage().unwrap_or(0),
            v.tariff().unwrap_or(0),
            v.subunit().unwrap_or(0)
        ),
        _ => String::new(),
    };
    let attribute = v
        .attribute
        .map(|a| format!(" (attribute {a})"))
        .unwrap_or_default();
    format!("{}{attribute} = {value}{unit}{time}{record}", v.id)
}

/// The key of a diff line: what stands before ` = `.
fn key(line: &str) -> &str {
    line.split_once(" = ").map_or(line, |(k, _)| k)
}

/// What differs between the telegram sent and a decoded reading, by key (`meter_id`, `time`, a
/// value's id): `missing` (sent, not decoded), `extra` (decoded, not sent) or `differs`, and the
/// lines that differ, `-` sent and `+` decoded. Numbers compare as decimals; equal lines are not
/// shown.
pub fn differences(
    sent: &Reading,
    decoded: &Reading,
) -> (Vec<(&'static str, String)>, Vec<String>) {
    let old = lines(sent, true);
    let new = lines(decoded, true);
    let mut only_old: Vec<&String> = Vec::new();
    let mut pool: Vec<&String> = new.iter().collect();
    for l in &old {
        match pool.iter().position(|n| *n == l) {
            Some(k) => {
                pool.remove(k);
            }
            None => only_old.push(l),
        }
    }
    let only_new = pool;
    let mut kinds: Vec<(&'static str, String)> = Vec::new();
    let mut keys: Vec<&str> = only_old.iter().chain(&only_new).map(|l| key(l)).collect();
    keys.sort_unstable();
    keys.dedup();
    for k in keys {
        let in_old = old.iter().any(|l| key(l) == k);
        let in_new = new.iter().any(|l| key(l) == k);
        let kind = match (in_old, in_new) {
            (true, false) => "missing",
            (false, true) => "extra",
            _ => "differs",
        };
        kinds.push((kind, k.to_string()));
    }
    let mut shown: Vec<String> = only_old.iter().map(|l| format!("-{l}")).collect();
    shown.extend(only_new.iter().map(|l| format!("+{l}")));
    // By key, what was sent (`-`) before what was decoded (`+`).
    shown.sort_by(|a, b| {
        key(&a[1..])
            .cmp(key(&b[1..]))
            .then(b.starts_with('-').cmp(&a.starts_with('-')))
            .then(a.cmp(b))
    });
    (kinds, shown)
}

/// The detail of wrong readings: a one-line summary over all of them ("missing 0-1:24.2.1 in 5
/// of 5 wrong readings"), then the differing lines of the first one against the telegram it is
/// nearest to. `None` if there is no wrong reading.
pub fn wrong_readings_detail(
    truth: &[Reading],
    messages: &[Message],
    fates: &[MessageFate],
) -> Option<String> {
    let wrong: Vec<(&Reading, Option<usize>)> = messages
        .iter()
        .zip(fates)
        .filter_map(|(m, fate)| match (m, fate) {
            (Message::Reading(r), MessageFate::Wrong { nearest }) => Some((r, *nearest)),
            _ => None,
        })
        .collect();
    let total = wrong.len();
    let (first, first_nearest) = *wrong.first()?;
    let mut counts: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut unsent = 0usize;
    for (r, nearest) in &wrong {
        match nearest.and_then(|k| truth.get(k)) {
            Some(t) => {
                for d in differences(t, r).0 {
                    *counts.entry(d).or_default() += 1;
                }
            }
            None => unsent += 1,
        }
    }
    let mut ranked: Vec<((&'static str, String), usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut parts: Vec<String> = ranked
        .iter()
        .take(4)
        .map(|((kind, k), n)| match *kind {
            "differs" => format!("{k} differs in {n} of {total} wrong readings"),
            kind => format!("{kind} {k} in {n} of {total} wrong readings"),
        })
        .collect();
    if ranked.len() > 4 {
        parts.push(format!("{} more differences", ranked.len() - 4));
    }
    if unsent > 0 {
        parts.push(format!("{unsent} of {total} while no telegram was sent"));
    }
    if parts.is_empty() {
        parts.push(format!(
            "{total} wrong readings, each equal to a telegram sent earlier (repeated or out of order)"
        ));
    }
    let mut out = parts.join("; ");
    let head = format!(
        "first wrong reading (time {})",
        first.time.as_deref().unwrap_or("none")
    );
    match first_nearest.and_then(|k| truth.get(k).map(|t| (k, t))) {
        Some((k, t)) => {
            let (_, shown) = differences(t, first);
            if shown.is_empty() {
                out.push_str(&format!(
                    "\n{head} equals telegram {k}, which came earlier than the reading before it"
                ));
            } else {
                out.push_str(&format!(
                    "\n{head} against telegram {k} (- sent, + decoded):\n{}",
                    shown.join("\n")
                ));
            }
        }
        None => out.push_str(&format!(
            "\n{head}, nothing was sent:\n{}",
            lines(first, true)
                .iter()
                .map(|l| format!("+{l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
    Some(out)
}

#[cfg(test)]
mod test {
    use super::*;
    use meterlab_decoder::Protocol;

    fn reading(n: i128) -> Reading {
        let mut r = Reading::new(Protocol::Dsmr);
        r.values.push(Value::number(
            "1-0:1.8.1*255",
            meterlab_decoder::Decimal::new(n, -3),
            Some("kWh"),
        ));
        r
    }

    #[test]
    fn matches_in_order_and_flags_wrong() {
        let truth = vec![reading(1), reading(2), reading(3)];
        let decoded = vec![
            Message::Reading(reading(1)),
            Message::error("crc_mismatch", "x", None),
            Message::Reading(reading(9)),
            Message::Reading(reading(3)),
            Message::Reading(reading(1)),
        ];
        let (fates, tally) = judge(&truth, &decoded);
        assert_eq!(fates[0], MessageFate::Matched { truth: 0 });
        assert_eq!(fates[1], MessageFate::Error);
        assert!(matches!(fates[2], MessageFate::Wrong { .. }));
        assert_eq!(fates[3], MessageFate::Matched { truth: 2 });
        // A repeat of an earlier telegram is wrong: the decoder invented a telegram.
        assert!(matches!(fates[4], MessageFate::Wrong { .. }));
        assert_eq!((tally.matched, tally.wrong, tally.lost), (2, 2, 1));
        assert_eq!(tally.errors.get("crc_mismatch"), Some(&1));

        let expect = ExpectSpec::default();
        let failures = check(&expect, &tally, true);
        let unmet: Vec<Unmet> = failures.iter().map(|(u, _)| *u).collect();
        assert_eq!(
            unmet,
            [Unmet::Readings, Unmet::Wrong, Unmet::UnexpectedError],
            "{failures:?}"
        );
    }

    /// Link messages (an M-Bus master's requests, the slave's E5) are neither readings nor
    /// errors: they match no telegram, count as no error and fail no expectation.
    #[test]
    fn link_messages_are_neither_readings_nor_errors() {
        use meterlab_decoder::Direction;
        let truth = vec![reading(1)];
        let link = |k: &str, d| Message::link(k, d, Some(1), None, None);
        let decoded = vec![
            link("snd_nke", Direction::ToMeter),
            link("ack", Direction::FromMeter),
            link("req_ud2", Direction::ToMeter),
            Message::Reading(reading(1)),
        ];
        let (fates, tally) = judge(&truth, &decoded);
        assert_eq!(
            fates[..3],
            [MessageFate::Link, MessageFate::Link, MessageFate::Link]
        );
        assert_eq!(fates[3], MessageFate::Matched { truth: 0 });
        assert_eq!(
            (tally.matched, tally.wrong, tally.lost, tally.links),
            (1, 0, 0, 3)
        );
        assert!(tally.errors.is_empty());
        assert!(check(&ExpectSpec::default(), &tally, true).is_empty());
        let (fates, tally) = judge_replayed(&decoded);
        assert_eq!(fates[0], MessageFate::Link);
        assert_eq!((tally.unjudged, tally.links), (1, 3));
        assert!(tally.errors.is_empty());
    }

    fn meter_reading() -> Reading {
        let mut r = Reading::new(Protocol::Dsmr);
        r.meter_id = Some("E0044".into());
        r.time = Some("2025-01-15T10:00:00".into());
        r.values.push(Value::number(
            "1-0:1.8.1*255",
            meterlab_decoder::Decimal::new(1500, -3),
            Some("kWh"),
        ));
        r.values.push(Value::number(
            "1-0:2.8.1*255",
            meterlab_decoder::Decimal::new(7, 0),
            Some("kWh"),
        ));
        r
    }

    #[test]
    fn printed_compares_what_the_reader_prints() {
        let sent = meter_reading();
        // A subset, with the number written differently and an offset the meter did not send.
        let mut subset = Reading::new(Protocol::Dsmr);
        subset.time = Some("2025-01-15T10:00:00+01:00".into());
        subset.values.push(Value::number(
            "1-0:1.8.1*255",
            meterlab_decoder::Decimal::new(15, -1),
            Some("kWh"),
        ));
        assert!(same(Compare::Printed, &sent, &subset));
        assert!(!same(Compare::Exact, &sent, &subset));
        // A value off by a factor of ten, a wrong unit, a value never sent, a wrong meter id, a
        // wrong wall-clock time, a wrong protocol, nothing at all: each is wrong.
        let mut off = subset.clone();
        off.values[0].value = meterlab_decoder::Decimal::new(15, 0).into();
        let mut unit = subset.clone();
        unit.values[0].unit = Some("Wh".into());
        let mut extra = subset.clone();
        extra.values.push(Value::number(
            "1-0:99.9.9*255",
            meterlab_decoder::Decimal::new(1, 0),
            None,
        ));
        let mut id = subset.clone();
        id.meter_id = Some("E0045".into());
        let mut time = subset.clone();
        time.time = Some("2025-01-15T10:00:01+01:00".into());
        let mut protocol = subset.clone();
        protocol.protocol = Protocol::Dlms;
        let mut empty = subset.clone();
        empty.values.clear();
        for wrong in [off, unit, extra, id, time, protocol, empty] {
            assert!(!same(Compare::Printed, &sent, &wrong), "{wrong:?}");
        }
        // The same value printed twice matches only if it was sent twice.
        let mut twice = subset.clone();
        twice.values.push(twice.values[0].clone());
        assert!(!same(Compare::Printed, &sent, &twice));
    }

    #[test]
    fn diffs_compare_numbers_as_decimals_and_summarise() {
        let sent = meter_reading();
        // Written with other trailing zeros, one value missing: only the missing one shows.
        let mut decoded = Reading::new(Protocol::Dsmr);
        decoded.meter_id = sent.meter_id.clone();
        decoded.time = sent.time.clone();
        decoded.values.push(Value::number(
            "1-0:1.8.1*255",
            meterlab_decoder::Decimal::new(15_000, -4),
            Some("kWh"),
        ));
        let (kinds, shown) = differences(&sent, &decoded);
        assert_eq!(kinds, vec![("missing", "1-0:2.8.1*255".to_string())]);
        assert_eq!(shown, vec!["-1-0:2.8.1*255 = 7 kWh".to_string()]);
        // Five wrong readings, each without that value: one line says so.
        let truth: Vec<Reading> = (0..5).map(|_| sent.clone()).collect();
        let messages: Vec<Message> = (0..5).map(|_| Message::Reading(decoded.clone())).collect();
        let (fates, _) = judge(&truth, &messages);
        let detail = wrong_readings_detail(&truth, &messages, &fates).expect("wrong readings");
        let first = detail.lines().next().unwrap_or_default();
        assert_eq!(first, "missing 1-0:2.8.1*255 in 5 of 5 wrong readings");
        assert_eq!(
            detail.matches("-1-0:2.8.1*255 = 7 kWh").count(),
            1,
            "{detail}"
        );
        assert!(
            !detail.contains("1-0:1.8.1"),
            "equal numbers are not shown: {detail}"
        );
        // A changed value: one `-` and one `+` line.
        let mut changed = sent.clone();
        changed.values[1].value = meterlab_decoder::Decimal::new(70, 0).into();
        let (kinds, shown) = differences(&sent, &changed);
        assert_eq!(kinds, vec![("differs", "1-0:2.8.1*255".to_string())]);
        assert_eq!(shown.len(), 2, "{shown:?}");
    }

    #[test]
    fn times_are_instants_or_the_same_wall_clock() {
        let t = |s: &str| Some(s.to_string());
        assert!(same_time(
            t("2025-01-15T10:00:00+01:00").as_deref(),
            t("2025-01-15T09:00:00Z").as_deref()
        ));
        assert!(same_time(
            t("2025-01-15T10:00:00").as_deref(),
            t("2025-01-15T10:00:00+01:00").as_deref()
        ));
        assert!(!same_time(
            t("2025-01-15T10:00:00+02:00").as_deref(),
            t("2025-01-15T10:00:00+01:00").as_deref()
        ));
        assert!(!same_time(
            t("2025-01-15T10:00:00").as_deref(),
            t("2025-01-15T10:00:01+01:00").as_deref()
        ));
        assert!(!same_time(None, t("2025-01-15T10:00:00").as_deref()));
        assert!(same_time(None, None));
    }
}
