//! The report as readable text: a summary, then tables. Every value that
//! came from the observed system (subjects, types, keys, ids, names) is
//! escaped where it is inserted ([`esc`], or [`pad`] in table columns), so
//! the columns stay in line and nothing reaches the terminal raw.

use crate::analysis::saga::SagaState;
use std::fmt::Write;

use super::Report;
use crate::format::{bytes, count, counted, duration, duration_ms, pad, plural};
use crate::sanitize::escape as esc;

/// Rows shown per list in the text report (the JSON has up to 1,000).
const TEXT_ITEMS: usize = 10;

fn line(out: &mut String, s: impl AsRef<str>) {
    out.push_str(s.as_ref());
    out.push('\n');
}

fn ns_between(a: &str, b: &str) -> Option<i64> {
    let a = chrono::DateTime::parse_from_rfc3339(a).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b).ok()?;
    (b - a).num_nanoseconds()
}

/// Values joined with a space, each escaped.
fn joined(values: &[String], sep: &str) -> String {
    values.iter().map(|v| esc(v)).collect::<Vec<_>>().join(sep)
}

/// Renders the report for a terminal or a CI log.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    let from = match (&r.source.server, r.source.kind.as_str()) {
        (Some(s), kind) => format!("{kind} from {}", esc(s)),
        (None, kind) => kind.to_owned(),
    };
    line(
        &mut out,
        match (&r.source.streams, r.source.subjects.is_empty()) {
            (Some(st), true) => format!("flowscope analysis: {from}, stream {}", esc(st)),
            (Some(st), false) => format!(
                "flowscope analysis: {from}, subjects {} and stream {}",
                joined(&r.source.subjects, " "),
                esc(st)
            ),
            (None, _) => format!(
                "flowscope analysis: {from}, subjects {}",
                joined(&r.source.subjects, " ")
            ),
        },
    );
    let span = match (&r.first_time, &r.last_time) {
        (Some(a), Some(b)) => format!(
            ", {a} → {b} ({})",
            duration(ns_between(a, b).unwrap_or_default())
        ),
        _ => String::new(),
    };
    line(
        &mut out,
        format!(
            "{}, {}{span}; dropped {}",
            plural(r.events, "event"),
            bytes(r.bytes),
            count(r.dropped)
        ),
    );
    line(&mut out, "");
    line(&mut out, "Anomalies");
    let d = &r.duplicates;
    line(
        &mut out,
        format!(
            "  duplicates    {:>8}  ({} identical, {} conflicting; {} evicted, {} without id)",
            count(d.count),
            count(d.identical),
            count(d.conflicting),
            plural(d.evicted_ids, "id"),
            plural(d.without_id, "event")
        ),
    );
    line(
        &mut out,
        format!(
            "  out of order  {:>8}  ({})",
            count(r.out_of_order.count),
            plural(r.out_of_order.resets, "sequence reset")
        ),
    );
    line(
        &mut out,
        format!(
            "  gaps          {:>8}  missing numbers in {} ({}); {}",
            count(r.gaps.missing),
            plural(r.gaps.open, "open range"),
            plural(r.gaps.jumps, "jump"),
            counted(
                r.gaps.lost_deliveries,
                "lost JetStream delivery",
                "lost JetStream deliveries"
            )
        ),
    );
    line(
        &mut out,
        format!("  redeliveries  {:>8}", count(r.redeliveries.count)),
    );
    line(
        &mut out,
        format!("  schema drift  {:>8}", count(r.schema_drift_total)),
    );

    if !r.types.is_empty() {
        line(&mut out, "");
        line(
            &mut out,
            format!(
                "{:<32} {:<15} {:>10} {:>10} {:>10} {:>6}",
                "Event type", "kind", "events", "avg size", "max size", "fields"
            ),
        );
        for t in &r.types {
            line(
                &mut out,
                format!(
                    "{} {:<15} {:>10} {:>10} {:>10} {:>6}",
                    pad(&t.name, 32),
                    t.kind.label(),
                    count(t.events),
                    bytes(t.avg_size),
                    bytes(t.max_size),
                    t.fields
                ),
            );
        }
        for t in r.types.iter().filter(|t| t.passive_aggressive.is_some()) {
            line(
                &mut out,
                format!(
                    "  ! {} is a passive-aggressive command: {}",
                    esc(&t.name),
                    esc(t.passive_aggressive.as_deref().unwrap_or_default())
                ),
            );
        }
    }
    if !r.subjects.is_empty() {
        line(&mut out, "");
        line(
            &mut out,
            format!("{:<48} {:>10} {:>12}", "Subject", "events", "bytes"),
        );
        for s in &r.subjects {
            line(
                &mut out,
                format!(
                    "{} {:>10} {:>12}",
                    pad(&s.subject, 48),
                    count(s.events),
                    bytes(s.bytes)
                ),
            );
        }
    }
    let more = |n: usize| {
        if n > TEXT_ITEMS {
            format!(" (first {TEXT_ITEMS} of {n}; --format json lists up to 1,000)")
        } else {
            String::new()
        }
    };
    if !d.items.is_empty() {
        line(&mut out, "");
        line(&mut out, format!("Duplicates{}", more(d.items.len())));
        for i in d.items.iter().take(TEXT_ITEMS) {
            let what = if i.identical {
                "identical"
            } else {
                "CONFLICTING"
            };
            let _ = writeln!(
                out,
                "  #{} copies #{}  id {}  {}  {what}, {} later",
                i.index,
                i.original_index,
                esc(&i.id),
                esc(&i.subject),
                duration_ms(i.delay_ms.max(0) as u64)
            );
        }
    }
    if !r.out_of_order.items.is_empty() {
        line(&mut out, "");
        line(
            &mut out,
            format!("Out of order{}", more(r.out_of_order.items.len())),
        );
        for i in r.out_of_order.items.iter().take(TEXT_ITEMS) {
            let _ = writeln!(
                out,
                "  #{}  key {}  sequence {} after {} ({} behind, {} late)  {}",
                i.index,
                esc(&i.key),
                i.sequence,
                i.highest_seen,
                count(i.highest_seen.abs_diff(i.sequence)),
                duration_ms(i.late_ms.max(0) as u64),
                esc(&i.subject)
            );
        }
    }
    if !r.gaps.items.is_empty() {
        line(&mut out, "");
        line(&mut out, format!("Open gaps{}", more(r.gaps.items.len())));
        for g in r.gaps.items.iter().take(TEXT_ITEMS) {
            let range = if g.from == g.to {
                g.from.to_string()
            } else {
                format!("{}–{}", g.from, g.to)
            };
            let _ = writeln!(out, "  key {}  missing {range}", esc(&g.key));
        }
    }
    if !r.schema_drift.is_empty() {
        line(&mut out, "");
        line(
            &mut out,
            format!("Schema drift{}", more(r.schema_drift_total as usize)),
        );
        for c in r.schema_drift.iter().take(TEXT_ITEMS) {
            let _ = writeln!(
                out,
                "  {}: {} (first in event #{})",
                esc(&c.event_type),
                esc(&c.describe()),
                c.index
            );
        }
    }
    if !r.schema_unchecked_types.is_empty() {
        line(
            &mut out,
            format!(
                "  ! no longer checked, too many changes (are object keys data?): {}",
                joined(&r.schema_unchecked_types, ", ")
            ),
        );
    }
    if let Some(sg) = &r.sagas {
        line(&mut out, "");
        line(
            &mut out,
            format!(
                "Sagas: {} ({} completed, {} compensated, {} failed, {} in progress, {} stuck)",
                count(sg.total),
                count(sg.completed),
                count(sg.compensated),
                count(sg.failed),
                count(sg.in_progress),
                count(sg.stuck)
            ),
        );
        for t in &sg.types {
            if let Some(e) = &t.end_to_end_ms {
                let _ = writeln!(
                    out,
                    "  {}: end to end p50 {}, p95 {}, p99 {}, max {}",
                    esc(&t.name),
                    duration_ms(e.p50),
                    duration_ms(e.p95),
                    duration_ms(e.p99),
                    duration_ms(e.max)
                );
            }
            for (step, p) in &t.step_durations_ms {
                let _ = writeln!(
                    out,
                    "    {}: p50 {}, p95 {}, max {}",
                    esc(step),
                    duration_ms(p.p50),
                    duration_ms(p.p95),
                    duration_ms(p.max)
                );
            }
            if let Some(l) = &t.learned {
                let _ = writeln!(
                    out,
                    "  no [[sagas]] defined: grouped by correlation value; learned path ({} of {} finished instances): {}",
                    count(l.instances),
                    count(l.finished),
                    joined(&l.path, " → ")
                );
                let _ = writeln!(out, "  to follow it, add to flowscope.toml:");
                for tl in l.toml.lines() {
                    let _ = writeln!(out, "    {}", esc(tl));
                }
            }
        }
        let trouble: Vec<_> = sg
            .items
            .iter()
            .filter(|i| matches!(i.state, SagaState::Stuck | SagaState::Failed))
            .collect();
        for i in trouble.iter().take(TEXT_ITEMS) {
            let _ = writeln!(
                out,
                "  {} {} {}: {}",
                i.state.label().to_uppercase(),
                esc(&i.name),
                esc(&i.id),
                joined(&i.events, " → ")
            );
        }
    }
    out
}
