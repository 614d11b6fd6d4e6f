//! `flowscope publish`: sends a recording's events into NATS again, with
//! their subjects (optionally prefixed), headers and payloads, keeping the
//! recorded timing scaled by `--speed`, at a fixed `--rate`, or as fast as
//! possible. Reply subjects are not sent again: they named inboxes of the
//! recorded session. It prints what it sent.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use color_eyre::Result;

use crate::analysis::playback::goto;
use crate::cli::{ConnArgs, PublishArgs};
use crate::error::{UserError, user_error};
use crate::format::{self, TimeZone};
use crate::output::{say, warn};
use crate::recording::{Reader, Record};
use crate::sanitize;
use crate::source::connect::{self, Tuning};
use crate::subject::SubjectPattern;

/// How events are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pace {
    Speed(f64),
    Rate(f64),
    Max,
}

/// Reads `--from`/`--to`: an offset from the recording's start (`30s`), an
/// RFC 3339 time or a local clock time (see [`goto::time_point`]).
fn parse_point(spec: &str, start_ns: i64) -> Result<i64, UserError> {
    goto::time_point(spec, start_ns, None, TimeZone::Local).ok_or_else(|| {
        UserError(format!(
            "'{spec}' is neither an offset (30s, 5m), a clock time (14:03:05) nor an RFC 3339 time"
        ))
    })
}

/// The subject an event is published on.
fn target_subject(prefix: Option<&str>, subject: &str) -> String {
    match prefix {
        Some(p) if !p.is_empty() => format!("{}.{subject}", p.trim_end_matches('.')),
        _ => subject.to_owned(),
    }
}

/// Runs `flowscope publish`; returns the exit status.
pub async fn run(conn: &ConnArgs, args: &PublishArgs) -> Result<u8> {
    let mut reader = Reader::open(&args.file).map_err(UserError)?;
    let pattern = match &args.subject {
        Some(p) => Some(SubjectPattern::parse(p).map_err(|e| UserError(format!("--subject {e}")))?),
        None => None,
    };
    if let Some(p) = &args.prefix
        && SubjectPattern::parse(&format!("{p}.x")).is_err()
    {
        return user_error(format!("--prefix '{p}' would not make valid subjects"));
    }
    let pace = match (args.speed, args.rate, args.max) {
        (_, _, true) => Pace::Max,
        (_, Some(r), _) if r > 0.0 => Pace::Rate(r),
        (_, Some(r), _) => return user_error(format!("--rate {r}: the rate must be above 0")),
        (Some(s), _, _) if s.is_infinite() => Pace::Max,
        (Some(s), _, _) => Pace::Speed(s),
        (None, None, false) => Pace::Speed(1.0),
    };
    let mut first = reader.next_record();
    let start_ns = reader
        .header()
        .map(|h| h.started_ns)
        .or(first.as_ref().map(Record::time))
        .unwrap_or(0);
    let from = args
        .from
        .as_deref()
        .map(|s| parse_point(s, start_ns))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|s| parse_point(s, start_ns))
        .transpose()?;
    let client = if args.dry_run {
        None
    } else {
        let resolved = connect::resolve(&conn.into())?;
        let c = connect::connect(
            &resolved,
            &Tuning {
                name: "flowscope-publish".into(),
                ..Tuning::default()
            },
        )
        .await?;
        say(&format!(
            "publishing {} to {}",
            args.file.display(),
            c.display
        ));
        Some(c.client)
    };
    let mut lines = String::new();
    let started = Instant::now();
    let mut last_due = Duration::ZERO;
    let mut base: Option<i64> = None;
    let (mut sent, mut bytes) = (0u64, 0u64);
    let mut per_subject: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(record) = first.take().or_else(|| reader.next_record()) {
        let Record::Event(env) = record else { continue };
        let t = env.received_ns;
        if from.is_some_and(|f| t < f) || pattern.as_ref().is_some_and(|p| !p.matches(&env.subject))
        {
            continue;
        }
        if to.is_some_and(|limit| t > limit) {
            break;
        }
        let base_t = *base.get_or_insert(t);
        let due = match pace {
            Pace::Speed(s) => Some(Duration::from_nanos(
                (((t - base_t).max(0)) as f64 / s) as u64,
            )),
            Pace::Rate(r) => Some(Duration::from_secs_f64(sent as f64 / r)),
            Pace::Max => None,
        };
        if let Some(due) = due
            && !args.dry_run
        {
            tokio::time::sleep_until(tokio::time::Instant::from_std(started + due)).await;
        }
        let subject = target_subject(args.prefix.as_deref(), &env.subject);
        match &client {
            Some(c) => {
                let mut headers = HeaderMap::new();
                for (k, v) in &env.headers {
                    headers.append(k.as_ref(), v.as_ref());
                }
                if env.headers.is_empty() {
                    c.publish(subject.clone(), env.payload.clone()).await?;
                } else {
                    c.publish_with_headers(subject.clone(), headers, env.payload.clone())
                        .await?;
                }
            }
            None => {
                let at = due.map_or(String::new(), |d| {
                    format!("{} ", format::offset(d.as_nanos() as i64))
                });
                lines.push_str(&format!(
                    "{at}{} ({})\n",
                    sanitize::escape(&subject),
                    format::bytes(env.payload.len() as u64)
                ));
                if lines.len() > 64 * 1024 {
                    crate::output::print(&std::mem::take(&mut lines))?;
                }
            }
        }
        last_due = due.unwrap_or_default();
        sent += 1;
        bytes += env.payload.len() as u64;
        *per_subject.entry(subject).or_default() += 1;
    }
    if let Some(c) = &client {
        connect::settle(c, Duration::from_secs(10)).await?;
    }
    let (warnings, more) = reader.warnings();
    for w in warnings {
        warn(w);
    }
    if more > 0 {
        warn(&format::counted(more, "more warning", "more warnings"));
    }
    // A dry run takes no time: it says how long publishing would take.
    let took = if args.dry_run && pace == Pace::Max {
        "as fast as possible".to_owned()
    } else if args.dry_run {
        format!("over {}", format::duration(last_due.as_nanos() as i64))
    } else {
        format!(
            "in {}",
            format::duration(started.elapsed().as_nanos() as i64)
        )
    };
    let verb = if args.dry_run {
        "would publish"
    } else {
        "published"
    };
    lines.push_str(&format!(
        "{verb} {} ({}) {took}\n",
        format::plural(sent, "event"),
        format::bytes(bytes),
    ));
    for (subject, n) in per_subject {
        lines.push_str(&format!(
            "  {:>10}  {}\n",
            format::count(n),
            sanitize::escape(&subject)
        ));
    }
    crate::output::print(&lines)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_offsets_or_times() {
        let start = 1_795_424_400_000_000_000;
        assert_eq!(parse_point("30s", start).unwrap(), start + 30_000_000_000);
        assert_eq!(
            parse_point("2026-11-23T09:00:01Z", start).unwrap(),
            start + 1_000_000_000
        );
        assert!(parse_point("soon", start).is_err());
    }

    #[test]
    fn prefixes_join_with_a_dot() {
        assert_eq!(
            target_subject(Some("replay"), "orders.created"),
            "replay.orders.created"
        );
        assert_eq!(target_subject(Some("replay."), "a"), "replay.a");
        assert_eq!(target_subject(None, "a"), "a");
    }
}
