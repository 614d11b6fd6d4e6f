//! Where a stream reader starts: `--from all|new|last|last-per-subject|
//! seq=N|time=RFC3339|ago=DURATION`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A start point in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartSpec {
    /// Every message the stream holds.
    All,
    /// Only messages stored after the reader started.
    #[default]
    New,
    /// The last message, then everything after it.
    Last,
    /// The last message of every subject, then everything after.
    LastPerSubject,
    /// From this stream sequence on.
    Seq(u64),
    /// From the first message stored at or after this time (ns since the epoch).
    Time(i64),
    /// From the first message stored at most this long ago.
    Ago(Duration),
}

impl FromStr for StartSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "use all, new, last, last-per-subject, seq=N, time=RFC3339 or ago=DURATION";
        let s = s.trim();
        match s {
            "all" => return Ok(StartSpec::All),
            "new" => return Ok(StartSpec::New),
            "last" => return Ok(StartSpec::Last),
            "last-per-subject" => return Ok(StartSpec::LastPerSubject),
            _ => {}
        }
        let Some((key, value)) = s.split_once('=') else {
            return Err(format!("'{s}' is not a start point; {hint}"));
        };
        match key {
            "seq" => match value.replace('_', "").parse::<u64>() {
                Ok(n) if n > 0 => Ok(StartSpec::Seq(n)),
                _ => Err(format!(
                    "'{value}' is not a stream sequence (a number from 1)"
                )),
            },
            "time" => chrono::DateTime::parse_from_rfc3339(value)
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .map(StartSpec::Time)
                .ok_or_else(|| {
                    format!("'{value}' is not an RFC 3339 time such as 2026-11-23T09:00:00Z")
                }),
            "ago" => crate::format::parse_duration(value).map(StartSpec::Ago),
            _ => Err(format!("'{s}' is not a start point; {hint}")),
        }
    }
}

impl fmt::Display for StartSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartSpec::All => f.write_str("all"),
            StartSpec::New => f.write_str("new"),
            StartSpec::Last => f.write_str("last"),
            StartSpec::LastPerSubject => f.write_str("last-per-subject"),
            StartSpec::Seq(n) => write!(f, "seq={n}"),
            StartSpec::Time(ns) => write!(
                f,
                "time={}",
                chrono::DateTime::from_timestamp_nanos(*ns)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
            StartSpec::Ago(d) => write!(f, "ago={}", humantime::format_duration(*d)),
        }
    }
}

impl StartSpec {
    /// The start time for `Time` and `Ago`, given the time now (ns).
    pub fn start_time_ns(&self, now_ns: i64) -> Option<i64> {
        match self {
            StartSpec::Time(t) => Some(*t),
            StartSpec::Ago(d) => {
                Some(now_ns.saturating_sub(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        for s in [
            "all",
            "new",
            "last",
            "last-per-subject",
            "seq=42",
            "time=2026-11-23T09:00:00Z",
            "ago=15m",
        ] {
            let spec: StartSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
        assert_eq!(
            "time=2026-11-23T10:00:00+01:00".parse::<StartSpec>(),
            "time=2026-11-23T09:00:00Z".parse::<StartSpec>()
        );
    }

    #[test]
    fn bad_forms_say_what_is_accepted() {
        for s in [
            "first",
            "seq=0",
            "seq=x",
            "time=yesterday",
            "ago=soon",
            "at=5",
        ] {
            let e = s.parse::<StartSpec>().unwrap_err();
            assert!(!e.is_empty(), "{s}");
        }
        assert!(
            "first"
                .parse::<StartSpec>()
                .unwrap_err()
                .contains("last-per-subject")
        );
    }

    #[test]
    fn ago_counts_back_from_now() {
        let now = 1_000_000_000_000;
        assert_eq!(
            StartSpec::Ago(Duration::from_secs(10)).start_time_ns(now),
            Some(now - 10_000_000_000)
        );
        assert_eq!(StartSpec::All.start_time_ns(now), None);
    }
}
