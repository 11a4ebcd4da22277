//! Comparing what a decoder said with what the simulator sent, and with the scenario's
//! expectations.
//!
//! The decoded readings are matched against the truth in order: each reading must equal
//! (`Reading::same_data`) a telegram the meter sent, later than the one matched before. A reading
//! that equals none is *wrong* — silently wrong data, the worst thing a decoder can do. Telegrams
//! never matched are *lost* (cut off by a fault, or reported as an error).

use std::collections::BTreeMap;

use meterlab_decoder::{Message, Reading};

use crate::scenario::ExpectSpec;

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

/// Matches decoded messages against the truth.
pub fn judge(truth: &[Reading], decoded: &[Message]) -> (Vec<MessageFate>, Tally) {
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
            Message::Reading(r) => match (next..truth.len()).find(|&k| truth[k].same_data(r)) {
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
            if !expect.errors.contains_key(kind) {
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
    use meterlab_decoder::{Protocol, Value};

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
}
