//! The report as readable text: a summary, then tables.

use crate::analysis::saga::SagaState;
use std::fmt::Write;

use super::Report;
use crate::format::{bytes, count};

/// Rows shown per list in the text report (the JSON has up to 1,000).
const TEXT_ITEMS: usize = 10;

fn line(out: &mut String, s: impl AsRef<str>) {
    out.push_str(s.as_ref());
    out.push('\n');
}

fn seconds_between(a: &str, b: &str) -> Option<f64> {
    let a = chrono::DateTime::parse_from_rfc3339(a).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b).ok()?;
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

/// Renders the report for a terminal or a CI log.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    let from = match (&r.source.server, r.source.kind.as_str()) {
        (Some(s), kind) => format!("{kind} from {s}"),
        (None, kind) => kind.to_owned(),
    };
    line(
        &mut out,
        match (&r.source.streams, r.source.subjects.is_empty()) {
            (Some(st), true) => format!("flowscope analysis: {from}, stream {st}"),
            (Some(st), false) => format!(
                "flowscope analysis: {from}, subjects {} and stream {st}",
                r.source.subjects.join(" ")
            ),
            (None, _) => format!(
                "flowscope analysis: {from}, subjects {}",
                r.source.subjects.join(" ")
            ),
        },
    );
    let span = match (&r.first_time, &r.last_time) {
        (Some(a), Some(b)) => format!(
            ", {a} → {b} ({:.1} s)",
            seconds_between(a, b).unwrap_or_default()
        ),
        _ => String::new(),
    };
    line(
        &mut out,
        format!(
            "{} events, {}{span}; dropped {}",
            count(r.events),
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
            "  duplicates    {:>8}  ({} identical, {} conflicting; {} ids evicted, {} events without id)",
            count(d.count),
            count(d.identical),
            count(d.conflicting),
            count(d.evicted_ids),
            count(d.without_id)
        ),
    );
    line(
        &mut out,
        format!(
            "  out of order  {:>8}  ({} sequence resets)",
            count(r.out_of_order.count),
            count(r.out_of_order.resets)
        ),
    );
    line(
        &mut out,
        format!(
            "  gaps          {:>8}  missing numbers in {} open ranges ({} jumps); {} lost JetStream deliveries",
            count(r.gaps.missing),
            count(r.gaps.open),
            count(r.gaps.jumps),
            count(r.gaps.lost_deliveries)
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
                    "{:<32} {:<15} {:>10} {:>10} {:>10} {:>6}",
                    t.name,
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
                    t.name,
                    t.passive_aggressive.as_deref().unwrap_or_default()
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
                    "{:<48} {:>10} {:>12}",
                    s.subject,
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
                "  #{} copies #{}  id {}  {}  {what}, {} ms later",
                i.index, i.original_index, i.id, i.subject, i.delay_ms
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
                "  #{}  key {}  sequence {} after {} ({} behind, {} ms late)  {}",
                i.index,
                i.key,
                i.sequence,
                i.highest_seen,
                i.highest_seen as i128 - i.sequence as i128,
                i.late_ms,
                i.subject
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
            let _ = writeln!(out, "  key {}  missing {range}", g.key);
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
                c.event_type,
                c.describe(),
                c.index
            );
        }
    }
    if !r.schema_unchecked_types.is_empty() {
        line(
            &mut out,
            format!(
                "  ! no longer checked, too many changes (are object keys data?): {}",
                r.schema_unchecked_types.join(", ")
            ),
        );
    }
    if let Some(sg) = &r.sagas {
        line(&mut out, "");
        line(
            &mut out,
            format!(
                "Sagas: {} ({} completed, {} compensated, {} failed, {} in progress, {} stuck)",
                sg.total, sg.completed, sg.compensated, sg.failed, sg.in_progress, sg.stuck
            ),
        );
        for t in &sg.types {
            if let Some(e) = &t.end_to_end_ms {
                let _ = writeln!(
                    out,
                    "  {}: end to end p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
                    t.name, e.p50, e.p95, e.p99, e.max
                );
            }
            for (step, p) in &t.step_durations_ms {
                let _ = writeln!(
                    out,
                    "    {step}: p50 {} ms, p95 {} ms, max {} ms",
                    p.p50, p.p95, p.max
                );
            }
            if let Some(l) = &t.learned {
                let _ = writeln!(
                    out,
                    "  no [[sagas]] defined: grouped by correlation value; learned path ({} of {} finished instances): {}",
                    l.instances,
                    l.finished,
                    l.path.join(" → ")
                );
                let _ = writeln!(out, "  to follow it, add to flowscope.toml:");
                for tl in l.toml.lines() {
                    let _ = writeln!(out, "    {tl}");
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
                i.name,
                i.id,
                i.events.join(" → ")
            );
        }
    }
    out
}
