//! Clock times and durations. Every duration flowscope shows, in the TUI
//! and in text, is written by [`duration`]: `859ms`, `12.3s`, `4m05s`,
//! `2h05m`, `3d04h`.

use chrono::{DateTime, Local, Utc};

/// Which clock times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeZone {
    #[default]
    Local,
    Utc,
}

fn datetime(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// `HH:MM:SS.mmm`
pub fn clock(ns: i64, tz: TimeZone) -> String {
    match tz {
        TimeZone::Utc => datetime(ns).format("%H:%M:%S%.3f").to_string(),
        TimeZone::Local => datetime(ns)
            .with_timezone(&Local)
            .format("%H:%M:%S%.3f")
            .to_string(),
    }
}

/// `YYYY-MM-DD HH:MM:SS.ffffff ±zz:zz`
pub fn full_time(ns: i64, tz: TimeZone) -> String {
    match tz {
        TimeZone::Utc => datetime(ns).format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string(),
        TimeZone::Local => datetime(ns)
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S%.6f %:z")
            .to_string(),
    }
}

/// The duration format: to the millisecond under a second (`859ms`), to a
/// tenth under a minute (`12.3s`, `45s`), then minutes and seconds (`4m05s`),
/// hours and minutes (`2h05m`), days and hours (`3d04h`). Negative
/// durations are shown as zero.
pub fn duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000_000 {
        return format!("{}ms", ns / 1_000_000);
    }
    // Truncated, as a clock counts: 59.97 s is 59.9s, not 60.0s.
    let tenths = ns / 100_000_000;
    if tenths < 600 {
        return match tenths % 10 {
            0 => format!("{}s", tenths / 10),
            t => format!("{}.{t}s", tenths / 10),
        };
    }
    let s = ns / 1_000_000_000;
    match s {
        0..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// [`duration`] of milliseconds.
pub fn duration_ms(ms: u64) -> String {
    duration(
        i64::try_from(ms)
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000),
    )
}

/// When a consumer catches up at its drain rate: `caught up`, `12s`, or
/// `never` (its lag does not drain).
pub fn catch_up(secs: Option<f64>) -> String {
    match secs {
        Some(s) if s <= 0.0 => "caught up".into(),
        Some(s) => duration((s * 1e9) as i64),
        None => "never".into(),
    }
}

/// Reads a duration such as `30s`, `5m` or `1h30m` (what every flag and
/// config key that takes one accepts); the error says what to write.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration ({e}); try 30s, 5m or 1h"))
}

/// An offset from a start, to the millisecond: `+0.475s`, `+1m05.250s`.
pub fn offset(ns: i64) -> String {
    let ms = ns.max(0) / 1_000_000;
    let (m, s, frac) = (ms / 60_000, (ms / 1000) % 60, ms % 1000);
    if m == 0 {
        format!("+{s}.{frac:03}s")
    } else {
        format!("+{m}m{s:02}.{frac:03}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;
    const S: i64 = 1_000 * MS;

    #[test]
    fn one_duration_format() {
        assert_eq!(duration(0), "0ms");
        assert_eq!(duration(859 * MS), "859ms");
        assert_eq!(duration(1_200 * MS), "1.2s");
        assert_eq!(duration(45 * S), "45s");
        assert_eq!(duration(45_040 * MS), "45s");
        assert_eq!(duration(59_960 * MS), "59.9s", "never 60.0s");
        assert_eq!(duration(60_000 * MS), "1m00s");
        assert_eq!(duration(192 * S), "3m12s");
        assert_eq!(duration(7_500 * S), "2h05m");
        assert_eq!(duration(3 * 86_400 * S + 4 * 3600 * S), "3d04h");
        assert_eq!(duration(-5), "0ms");
        assert_eq!(duration_ms(859), "859ms");
    }

    #[test]
    fn offsets_to_the_millisecond() {
        assert_eq!(offset(475 * MS), "+0.475s");
        assert_eq!(offset(65_250 * MS), "+1m05.250s");
    }

    #[test]
    fn times_in_utc() {
        let ns = 1_700_000_000_123_456_789;
        assert_eq!(clock(ns, TimeZone::Utc), "22:13:20.123");
        assert_eq!(
            full_time(ns, TimeZone::Utc),
            "2023-11-14 22:13:20.123456 UTC"
        );
    }
}
