//! The meter's wall clock over virtual time.
//!
//! A scenario runs in virtual time (nanoseconds since its start); a meter stamps its telegrams with
//! local wall-clock time. European meters keep Central European Time and switch to summer time on
//! the last Sunday of March and back on the last Sunday of October, both at 01:00 UTC
//! (Directive 2000/84/EC). DSMR marks each timestamp with `S` (summer) or `W` (winter).

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc, Weekday,
};

/// Nanoseconds per second.
pub const NS_PER_S: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;

/// A local time as a European meter keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// Local date and time (CET or CEST).
    pub local: NaiveDateTime,
    /// Whether summer time (CEST, UTC+2) is in force.
    pub summer: bool,
}

impl LocalTime {
    /// The local time of an instant.
    pub fn from_utc(utc: DateTime<Utc>) -> Self {
        let summer = is_summer_time(utc);
        let offset = if summer { 2 } else { 1 };
        LocalTime {
            local: utc.naive_utc() + Duration::hours(offset),
            summer,
        }
    }

    /// DSMR timestamp `YYMMDDhhmmssX`, X = `S` or `W`.
    pub fn dsmr(&self) -> String {
        format!(
            "{}{}",
            self.dsmr_plain(),
            if self.summer { 'S' } else { 'W' }
        )
    }

    /// DSMR 2.2 timestamp `YYMMDDhhmmss` (no DST flag).
    pub fn dsmr_plain(&self) -> String {
        self.local.format("%y%m%d%H%M%S").to_string()
    }

    /// RFC 3339 with the offset in force: `2025-01-15T10:00:00+01:00`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{}{}",
            self.local.format("%Y-%m-%dT%H:%M:%S"),
            if self.summer { "+02:00" } else { "+01:00" }
        )
    }

    /// RFC 3339 without an offset (for DSMR 2.2 timestamps, which carry none).
    pub fn rfc3339_plain(&self) -> String {
        self.local.format("%Y-%m-%dT%H:%M:%S").to_string()
    }

    /// Hour of the day, local.
    pub fn hour(&self) -> u32 {
        self.local.hour()
    }

    /// Whether it is Saturday or Sunday, local.
    pub fn weekend(&self) -> bool {
        matches!(self.local.weekday(), Weekday::Sat | Weekday::Sun)
    }
}

/// Whether EU summer time is in force at this instant.
pub fn is_summer_time(utc: DateTime<Utc>) -> bool {
    let year = utc.year();
    let start = last_sunday_0100_utc(year, 3);
    let end = last_sunday_0100_utc(year, 10);
    match (start, end) {
        (Some(s), Some(e)) => utc >= s && utc < e,
        _ => false,
    }
}

fn last_sunday_0100_utc(year: i32, month: u32) -> Option<DateTime<Utc>> {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    let sunday = last - Duration::days(i64::from(back));
    Some(Utc.from_utc_datetime(&sunday.and_hms_opt(1, 0, 0)?))
}

/// The scenario's epoch and virtual time → wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallClock {
    /// The UTC instant at virtual time 0.
    pub start: DateTime<Utc>,
}

impl WallClock {
    /// A clock whose virtual time 0 is `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        WallClock { start }
    }

    /// The UTC instant at virtual time `ns`.
    pub fn utc(&self, ns: u64) -> DateTime<Utc> {
        self.start + Duration::nanoseconds(i64::try_from(ns).unwrap_or(i64::MAX))
    }

    /// The meter's local time at virtual time `ns`, truncated to the second.
    pub fn local(&self, ns: u64) -> LocalTime {
        let t = self.utc(ns);
        let t = t.with_nanosecond(0).unwrap_or(t);
        LocalTime::from_utc(t)
    }
}

impl Default for WallClock {
    /// 2025-01-15 09:00:00 UTC, a Wednesday in winter time.
    fn default() -> Self {
        WallClock::new(
            Utc.with_ymd_and_hms(2025, 1, 15, 9, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn dst_boundaries_2025() {
        // Summer time 2025: 30 March 01:00 UTC to 26 October 01:00 UTC.
        assert!(!is_summer_time(utc("2025-03-30T00:59:59Z")));
        assert!(is_summer_time(utc("2025-03-30T01:00:00Z")));
        assert!(is_summer_time(utc("2025-10-26T00:59:59Z")));
        assert!(!is_summer_time(utc("2025-10-26T01:00:00Z")));
    }

    #[test]
    fn dsmr_and_rfc3339() {
        // dsmr_parser asserts 170102192002W == 2017-01-02 18:20:02 UTC.
        let t = LocalTime::from_utc(utc("2017-01-02T18:20:02Z"));
        assert_eq!(t.dsmr(), "170102192002W");
        assert_eq!(t.rfc3339(), "2017-01-02T19:20:02+01:00");
        let t = LocalTime::from_utc(utc("2018-04-17T18:14:58Z"));
        assert_eq!(t.dsmr(), "180417201458S");
        assert_eq!(t.rfc3339(), "2018-04-17T20:14:58+02:00");
        let clock = WallClock::new(utc("2025-01-15T09:00:00Z"));
        assert_eq!(clock.local(1_500_000_000).dsmr(), "250115100001W");
    }
}

/// A duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a duration: {0:?} (write e.g. 10s, 500ms, 1.5s, 2min, 1h)")]
pub struct DurationError(pub String);

/// Parses a duration such as `10s`, `500ms`, `1.5s`, `2min`, `1h`, `250us` into nanoseconds.
pub fn parse_duration(s: &str) -> Result<u64, DurationError> {
    let err = || DurationError(s.to_string());
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(err)?;
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => NS_PER_MS,
        "s" => NS_PER_S,
        "min" | "m" => 60 * NS_PER_S,
        "h" => 3600 * NS_PER_S,
        _ => return Err(err()),
    };
    let value: f64 = num.parse().map_err(|_| err())?;
    if !value.is_finite() || value < 0.0 {
        return Err(err());
    }
    let ns = value * scale as f64;
    if ns > u64::MAX as f64 / 2.0 {
        return Err(err());
    }
    Ok(ns.round() as u64)
}

/// Formats nanoseconds for people: `1.25s`, `300ms`, `2min`.
pub fn format_duration(ns: u64) -> String {
    if ns >= 60 * NS_PER_S && ns % (60 * NS_PER_S) == 0 {
        format!("{}min", ns / (60 * NS_PER_S))
    } else if ns >= NS_PER_S {
        format!("{}s", trim_float(ns as f64 / NS_PER_S as f64))
    } else if ns >= NS_PER_MS {
        format!("{}ms", trim_float(ns as f64 / NS_PER_MS as f64))
    } else {
        format!("{}us", trim_float(ns as f64 / 1000.0))
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod duration_test {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(10 * NS_PER_S));
        assert_eq!(parse_duration("500ms"), Ok(500 * NS_PER_MS));
        assert_eq!(parse_duration("1.5s"), Ok(1_500 * NS_PER_MS));
        assert_eq!(parse_duration("2min"), Ok(120 * NS_PER_S));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(format_duration(1_250 * NS_PER_MS), "1.25s");
        assert_eq!(format_duration(300 * NS_PER_MS), "300ms");
        assert_eq!(format_duration(120 * NS_PER_S), "2min");
    }
}
