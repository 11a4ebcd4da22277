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

/// The expectations that do not hold, one sentence each.
pub fn check(expect: &ExpectSpec, tally: &Tally, check_error_kinds: bool) -> Vec<String> {
    let mut failures = Vec::new();
    if !expect.readings.holds(tally.matched, tally.sent) {
        failures.push(format!(
            "expected {} readings equal to the truth, got {} (of {} telegrams sent)",
            expect.readings, tally.matched, tally.sent
        ));
    }
    if !expect.wrong.holds(tally.wrong, tally.sent) {
        failures.push(format!(
            "expected {} wrong readings (matching no telegram the meter sent), got {}",
            expect.wrong, tally.wrong
        ));
    }
    if check_error_kinds {
        for (kind, count) in &expect.errors {
            let got = tally.errors.get(kind).copied().unwrap_or(0);
            if !count.holds(got, tally.sent) {
                failures.push(format!("expected {count} `{kind}` errors, got {got}"));
            }
        }
        for (kind, got) in &tally.errors {
            if !expect.errors.allows(kind) {
                failures.push(format!("unexpected `{kind}` errors: {got}"));
            }
        }
    }
    failures
}

/// A reading as lines for a diff: `id = value unit @ time`, sorted by id.
pub fn reading_lines(r: &Reading) -> Vec<String> {
    let mut head = vec![
        format!("meter_id = {}", r.meter_id.as_deref().unwrap_or("(none)")),
        format!("time = {}", r.time.as_deref().unwrap_or("(none)")),
    ];
    let mut values: Vec<String> = r
        .values
        .iter()
        .map(|v| {
            let value = match &v.value {
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
            let record = match (&v.quantity, &v.function) {
                (Some(q), Some(f)) => format!(
                    " [{q}, {f}, storage {}, tariff {}, subunit {}]",
                    v.storage.unwrap_or(0),
                    v.tariff.unwrap_or(0),
                    v.subunit.unwrap_or(0)
                ),
                _ => String::new(),
            };
            format!("{} = {value}{unit}{time}{record}", v.id)
        })
        .collect();
    values.sort();
    head.extend(values);
    head
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
        assert_eq!(failures.len(), 3, "{failures:?}");
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
