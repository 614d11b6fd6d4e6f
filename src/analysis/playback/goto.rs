//! What `:` (go to) in a replay and `publish --from/--to` understand.

use chrono::{Local, NaiveTime, TimeZone as _, Utc};

use super::{ReplayStatus, Target};
use crate::format::TimeZone;

/// A point in recorded time: an offset from the start (`90s`, `1m30s`), an
/// RFC 3339 time, or a clock time (`14:03:05`, `14:03:05.250`) on the
/// recording's first day (the next day when that is before the start and
/// the recording, ending at `end_ns` when known, reaches it).
pub fn time_point(spec: &str, start_ns: i64, end_ns: Option<i64>, tz: TimeZone) -> Option<i64> {
    let spec = spec.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(spec) {
        return t.timestamp_nanos_opt();
    }
    if let Ok(d) = humantime::parse_duration(spec) {
        return Some(start_ns.saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)));
    }
    let time = ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(spec, f).ok())?;
    let start = chrono::DateTime::from_timestamp_nanos(start_ns);
    let on_day = |days: i64| {
        let at = |date: chrono::NaiveDate| date.and_time(time);
        match tz {
            TimeZone::Utc => Utc
                .from_local_datetime(&at(start.date_naive() + chrono::Days::new(days as u64)))
                .single()
                .and_then(|t| t.timestamp_nanos_opt()),
            TimeZone::Local => Local
                .from_local_datetime(&at(
                    start.with_timezone(&Local).date_naive() + chrono::Days::new(days as u64)
                ))
                .earliest()
                .and_then(|t| t.timestamp_nanos_opt()),
        }
    };
    let t = on_day(0)?;
    if t >= start_ns {
        return Some(t);
    }
    // Before the start: the next day, if the recording gets there.
    match on_day(1) {
        Some(next) if end_ns.is_none_or(|end| next <= end) => Some(next),
        _ => Some(t),
    }
}

/// Parses a go-to: `#N` or `N` (the event numbered N, as the views number
/// them from #0: N + 1 events played), `N%` of the recording,
/// `+D`/`-D` relative to now, or any [`time_point`]. A target outside the
/// recording (as far as its length is known) is refused with where the
/// recording starts and ends.
pub fn parse(spec: &str, status: &ReplayStatus, tz: TimeZone) -> Result<Target, String> {
    let target = target(spec, status, tz)?;
    match outside(target, status, tz) {
        Some(why) => Err(format!("{}: {why}", spec.trim())),
        None => Ok(target),
    }
}

/// Why `target` is outside the recording, when it is (and as far as the
/// recording's length is known).
pub fn outside(target: Target, status: &ReplayStatus, tz: TimeZone) -> Option<String> {
    let at = |ns: i64| crate::format::clock(ns, tz);
    let length = |end: i64| crate::format::duration(end - status.start_ns);
    match target {
        Target::Events(n) => status.total_events.filter(|total| n > *total).map(|total| {
            format!(
                "past the end: the recording holds {}",
                crate::format::plural(total, "event")
            )
        }),
        Target::Time(t) if t < status.start_ns => Some(format!(
            "before the recording starts ({})",
            at(status.start_ns)
        )),
        Target::Time(t) => status.end_ns.filter(|end| t > *end).map(|end| {
            format!(
                "past the end: the recording runs from {} to {} ({})",
                at(status.start_ns),
                at(end),
                length(end)
            )
        }),
    }
}

fn target(spec: &str, status: &ReplayStatus, tz: TimeZone) -> Result<Target, String> {
    let s = spec.trim();
    let hint = "go to #1200 (event), 90s (offset), 14:03:05 (clock time), 50% or +10s/-10s";
    if s.is_empty() {
        return Err(format!("nothing to go to; {hint}"));
    }
    if let Ok(n) = s.trim_start_matches('#').replace(',', "").parse::<u64>() {
        return Ok(Target::Events(n.saturating_add(1)));
    }
    if let Some(p) = s.strip_suffix('%') {
        let p: f64 = p
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| (0.0..=100.0).contains(p))
            .ok_or_else(|| format!("'{s}' is not a percentage from 0 to 100"))?;
        let Some(end) = status.end_ns else {
            return Err(
                "the recording's length is not known yet (still indexing); try again in a moment"
                    .into(),
            );
        };
        let span = (end - status.start_ns) as f64;
        return Ok(Target::Time(status.start_ns + (span * p / 100.0) as i64));
    }
    if let Some((sign, rest)) = s
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| s.strip_prefix('-').map(|r| (-1, r)))
    {
        let d = humantime::parse_duration(rest.trim()).map_err(|_| format!("'{s}': {hint}"))?;
        let d = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        return Ok(Target::Time(
            status
                .position_ns
                .saturating_add(sign * d)
                .max(status.start_ns),
        ));
    }
    time_point(s, status.start_ns, status.end_ns, tz)
        .map(Target::Time)
        .ok_or_else(|| format!("'{s}': {hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_795_424_400_000_000_000; // 2026-11-23T09:00:00Z

    fn status() -> ReplayStatus {
        ReplayStatus {
            start_ns: START,
            position_ns: START + 60_000_000_000,
            end_ns: Some(START + 200_000_000_000),
            ..ReplayStatus::default()
        }
    }

    #[test]
    fn events_offsets_times_and_percentages() {
        let s = status();
        let utc = TimeZone::Utc;
        assert_eq!(
            parse("#1200", &s, utc),
            Ok(Target::Events(1201)),
            "event #1200 is the newest shown"
        );
        assert_eq!(parse("1,200", &s, utc), Ok(Target::Events(1201)));
        assert_eq!(parse("#0", &s, utc), Ok(Target::Events(1)));
        assert_eq!(
            parse("90s", &s, utc),
            Ok(Target::Time(START + 90_000_000_000))
        );
        assert_eq!(
            parse("1m 30s", &s, utc),
            Ok(Target::Time(START + 90_000_000_000))
        );
        assert_eq!(
            parse("50%", &s, utc),
            Ok(Target::Time(START + 100_000_000_000))
        );
        assert_eq!(
            parse("+10s", &s, utc),
            Ok(Target::Time(START + 70_000_000_000))
        );
        assert_eq!(parse("-2m", &s, utc), Ok(Target::Time(START)));
        assert_eq!(
            parse("09:01:05", &s, utc),
            Ok(Target::Time(START + 65_000_000_000))
        );
        assert_eq!(
            parse("09:01:05.5", &s, utc),
            Ok(Target::Time(START + 65_500_000_000))
        );
        assert_eq!(
            parse("2026-11-23T09:00:30Z", &s, utc),
            Ok(Target::Time(START + 30_000_000_000))
        );
    }

    #[test]
    fn a_clock_time_before_the_start_is_the_next_day_when_the_recording_gets_there() {
        let t = time_point("08:00", START, None, TimeZone::Utc).unwrap();
        assert_eq!(t, START + 23 * 3_600_000_000_000);
        let short = Some(START + 200_000_000_000);
        let t = time_point("08:00", START, short, TimeZone::Utc).unwrap();
        assert_eq!(
            t,
            START - 3_600_000_000_000,
            "the same day: before the start"
        );
        let e = parse("08:00", &status(), TimeZone::Utc).unwrap_err();
        assert!(
            e.contains("before the recording starts (09:00:00.000)"),
            "{e}"
        );
    }

    #[test]
    fn nonsense_is_explained() {
        let s = status();
        for bad in ["", "soon", "150%", "+fast"] {
            let e = parse(bad, &s, TimeZone::Utc).unwrap_err();
            assert!(
                e.contains("go to") || e.contains("percentage"),
                "{bad}: {e}"
            );
        }
        let unknown = ReplayStatus {
            end_ns: None,
            ..status()
        };
        assert!(
            parse("50%", &unknown, TimeZone::Utc)
                .unwrap_err()
                .contains("indexing")
        );
    }
}
