//! Number, size, rate, time and duration formatting shared by the views and
//! the reports.

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

/// `1,234,567`
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `512 B`, `1.5 KiB`, `3.2 MiB`
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A rate in short form: `0`, `12.5`, `980`, `12.3k`, `1.2M`.
pub fn rate(v: f64) -> String {
    if v <= 0.0 {
        "0".into()
    } else if v < 100.0 {
        let s = format!("{v:.1}");
        s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
    } else if v < 1_000.0 {
        format!("{v:.0}")
    } else if v < 1_000_000.0 {
        format!("{:.1}k", v / 1_000.0)
    } else {
        format!("{:.1}M", v / 1_000_000.0)
    }
}

/// Bytes per second in short form: `0 B/s`, `1.2 KiB/s`.
pub fn byte_rate(v: f64) -> String {
    format!("{}/s", bytes(v.max(0.0) as u64))
}

/// `350ms`, `12.3s`, `4m05s`: a duration to the millisecond under a
/// second, to a tenth under a minute, then as [`duration_ns`].
pub fn short_duration_ns(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000_000 {
        format!("{}ms", ns / 1_000_000)
    } else if ns < 60_000_000_000 {
        format!("{:.1}s", ns as f64 / 1e9)
    } else {
        duration_ns(ns)
    }
}

/// `45s`, `3m12s`, `2h05m`, `3d04h`
pub fn duration_ns(ns: i64) -> String {
    let s = ns.max(0) / 1_000_000_000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// Unicode block sparkline of `values`, scaled to their maximum; zero is a space.
pub fn sparkline(values: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1) as u64;
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                BARS[((v as u64 * 8).div_ceil(max) as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(100), "100");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(12.0), "12");
        assert_eq!(rate(12.25), "12.2");
        assert_eq!(rate(12_345.0), "12.3k");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ns(45_000_000_000), "45s");
        assert_eq!(duration_ns(192_000_000_000), "3m12s");
        assert_eq!(duration_ns(7_500_000_000_000), "2h05m");
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

    #[test]
    fn sparkline_scales_to_max() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[]), "");
    }
}
