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

/// The first line when flowscope missed messages itself or lost its
/// connection.
fn blind_line(b: &super::Blind) -> String {
    let dropped = b.dropped_client + b.dropped_queue;
    let mut parts = Vec::new();
    if b.dropped_client > 0 {
        parts.push(format!(
            "{} by the NATS client (slow consumer)",
            count(b.dropped_client)
        ));
    }
    if b.dropped_queue > 0 {
        parts.push(format!("{} by flowscope's queue", count(b.dropped_queue)));
    }
    let what = if dropped > 0 {
        format!(
            "DROPPED {} ({})",
            plural(dropped, "message"),
            parts.join(", ")
        )
    } else {
        "DISCONNECTED".to_owned()
    };
    let open = b.windows.iter().any(|w| w.to.is_none());
    format!(
        "{what}: flowscope was blind for {}{} in {}; what it could not see is reported as unverifiable, not as the system's fault",
        duration(b.blind_ms.saturating_mul(1_000_000)),
        if open { " and still is" } else { "" },
        plural(b.windows.len() as u64, "window")
    )
}

/// Renders the report for a terminal or a CI log.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    // What flowscope missed itself comes first: every count below is
    // read knowing it.
    if let Some(b) = &r.blind {
        line(&mut out, blind_line(b));
    }
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
    if let Some(b) = &r.blind {
        line(
            &mut out,
            format!(
                "  unverifiable  {:>8}  {} while flowscope was blind ({} missing numbers), not counted above",
                count(b.unverifiable_findings),
                if b.unverifiable_findings == 1 {
                    "finding"
                } else {
                    "findings"
                },
                count(r.gaps.unverifiable)
            ),
        );
    }
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
                "Sagas: {} ({} completed, {} compensated, {} failed, {} in progress, {} stuck{})",
                count(sg.total),
                count(sg.completed),
                count(sg.compensated),
                count(sg.failed),
                count(sg.in_progress),
                count(sg.stuck),
                if sg.unverifiable > 0 {
                    format!(
                        ", {} unverifiable: quiet while flowscope was blind",
                        count(sg.unverifiable)
                    )
                } else {
                    String::new()
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::blind::{BlindWindow, Why};
    use crate::analysis::{Engine, EngineConfig};
    use crate::envelope::Envelope;

    const S: i64 = 1_000_000_000;

    fn report(e: &Engine) -> String {
        let source = super::super::Source {
            kind: "live".into(),
            server: None,
            subjects: vec![">".into()],
            streams: None,
            files: Vec::new(),
        };
        render_text(&Report::build(e, source))
    }

    #[test]
    fn the_text_starts_with_what_flowscope_missed_itself() {
        let mut e = Engine::new(EngineConfig::default());
        let tick = |t: i64, seq: i64| {
            Envelope::new(
                t * S,
                "ticks",
                format!(r#"{{"aggregate_id":"k","seq":{seq}}}"#),
            )
        };
        e.ingest(tick(1, 1));
        assert!(report(&e).starts_with("flowscope analysis: live"));
        e.set_queue_drops(3);
        e.blind(BlindWindow {
            from_ns: 2 * S,
            to_ns: 3 * S,
            why: Why::QueueDropped,
        });
        e.ingest(tick(4, 5));
        let text = report(&e);
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "DROPPED 3 messages (3 by flowscope's queue): flowscope was blind for 1s in 1 window; \
             what it could not see is reported as unverifiable, not as the system's fault"
        );
        assert!(text.contains("  gaps                 0"), "{text}");
        assert!(
            text.contains("  unverifiable         1  finding while flowscope was blind (3 missing numbers), not counted above"),
            "{text}"
        );
    }
}
