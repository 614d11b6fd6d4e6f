//! The analysis report of `flowscope analyze`: a stable JSON document
//! (`"flowscope_report": 1`, documented in docs/REPORT.md) and a readable
//! text summary. Item lists are capped at 1,000 each; counts are exact.

mod text;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use text::render_text;

use crate::analysis::Engine;
use crate::analysis::anomalies::AnomalyKind;
use crate::analysis::blind::Why;
use crate::analysis::classify::Kind;
use crate::analysis::detect::{DupItem, MAX_REPORT_ITEMS, OooItem};
use crate::analysis::ordering::OpenGap;
use crate::analysis::saga::{Percentiles, SagaState};
use crate::analysis::schema::Drift;

/// Version of the report's JSON schema.
pub const REPORT_VERSION: u32 = 1;

/// Where the analysed events came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// `live` or `recording`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub subjects: Vec<String>,
    /// The JetStream streams read (`ORDERS from=all`), when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streams: Option<String>,
    /// The recordings analysed (`kind` recording).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectCount {
    pub subject: String,
    pub events: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeSummary {
    #[serde(rename = "type")]
    pub name: String,
    pub kind: Kind,
    pub events: u64,
    pub avg_size: u64,
    pub max_size: u64,
    pub fields: usize,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passive_aggressive: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicates {
    pub count: u64,
    pub identical: u64,
    pub conflicting: u64,
    pub evicted_ids: u64,
    pub without_id: u64,
    pub items: Vec<DupItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counted {
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutOfOrder {
    pub count: u64,
    pub resets: u64,
    pub items: Vec<OooItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gaps {
    pub missing: u64,
    pub open: u64,
    /// Sequence jumps seen (each opened a range).
    pub jumps: u64,
    /// JetStream deliveries a consumer skipped.
    pub lost_deliveries: u64,
    /// Missing numbers that would have come while flowscope was blind:
    /// not counted in `missing` (they may be flowscope's own loss).
    pub unverifiable: u64,
    /// Their ranges.
    pub unverifiable_open: u64,
    pub items: Vec<OpenGap>,
}

/// What flowscope itself missed, and what it therefore cannot vouch for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blind {
    /// Messages the NATS client dropped (slow consumer).
    pub dropped_client: u64,
    /// Messages flowscope's ingest queue dropped.
    pub dropped_queue: u64,
    /// Time in which it was blind (dropping or disconnected), ms.
    pub blind_ms: i64,
    /// Findings set apart as unverifiable (gaps, and duplicates or
    /// reorderings across a reconnection).
    pub unverifiable_findings: u64,
    /// The windows, oldest first (at most 1,000).
    pub windows: Vec<BlindItem>,
}

/// A time in which flowscope was blind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlindItem {
    pub from: String,
    /// Absent while it still is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub why: Why,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub flowscope_report: u32,
    pub source: Source,
    pub events: u64,
    pub bytes: u64,
    pub dropped: u64,
    /// What flowscope missed itself; present when it dropped or was
    /// disconnected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blind: Option<Blind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<String>,
    pub subjects: Vec<SubjectCount>,
    pub types: Vec<TypeSummary>,
    pub duplicates: Duplicates,
    pub redeliveries: Counted,
    pub out_of_order: OutOfOrder,
    pub gaps: Gaps,
    pub schema_drift: Vec<Drift>,
    /// Schema changes in all (the list above stops at 1,000).
    pub schema_drift_total: u64,
    /// Types with so many changes (data in object keys) that they are no
    /// longer checked.
    pub schema_unchecked_types: Vec<String>,
    /// Saga instances, when sagas are defined in flowscope.toml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sagas: Option<Sagas>,
}

/// The report's saga section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sagas {
    pub total: u64,
    pub completed: u64,
    pub failed: u64,
    pub compensated: u64,
    pub in_progress: u64,
    pub stuck: u64,
    /// Seemed stuck while flowscope was blind (dropped messages or was
    /// disconnected): not counted as stuck.
    pub unverifiable: u64,
    pub types: Vec<SagaType>,
    /// Kept instances, stuck and failed first (at most 1,000).
    pub items: Vec<SagaItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SagaType {
    pub name: String,
    pub counts: BTreeMap<&'static str, u64>,
    /// From each step to the next (`"A → B"`), in ms, in step order.
    pub step_durations_ms: indexmap::IndexMap<String, Percentiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_ms: Option<Percentiles>,
    /// No `[[sagas]]` defined: instances grouped by correlation value.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
    /// Inferred: the most frequent path of quiet instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<LearnedPath>,
}

/// The learned happy path of inferred sagas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnedPath {
    pub path: Vec<String>,
    /// Learned failure types and their compensations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failure: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compensation: Vec<String>,
    /// Quiet instances that took it, of `finished`.
    pub instances: u64,
    pub finished: u64,
    /// A definition to paste into flowscope.toml.
    pub toml: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SagaItem {
    pub name: String,
    pub id: String,
    pub state: SagaState,
    pub started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    pub duration_ms: i64,
    pub events: Vec<String>,
}

fn sagas(engine: &Engine) -> Option<Sagas> {
    let book = engine.sagas();
    if book.defs().is_empty() || (book.is_inferred() && book.instances().next().is_none()) {
        return None;
    }
    let mut out = Sagas {
        total: 0,
        completed: 0,
        failed: 0,
        compensated: 0,
        in_progress: 0,
        stuck: 0,
        unverifiable: 0,
        types: Vec::new(),
        items: Vec::new(),
    };
    for (i, def) in book.defs().iter().enumerate() {
        let counts = book.counts(i);
        for (state, n) in &counts {
            out.total += n;
            *match state {
                SagaState::Completed => &mut out.completed,
                SagaState::Failed => &mut out.failed,
                SagaState::Compensated => &mut out.compensated,
                SagaState::InProgress => &mut out.in_progress,
                SagaState::Stuck => &mut out.stuck,
                SagaState::Unverifiable => &mut out.unverifiable,
            } += n;
        }
        let stats = book.stats(i);
        out.types.push(SagaType {
            name: def.name.clone(),
            counts: SagaState::ALL
                .iter()
                .map(|s| (s.key(), counts.get(s).copied().unwrap_or(0)))
                .collect(),
            step_durations_ms: def
                .steps
                .windows(2)
                .zip(&stats.steps)
                .filter_map(|(w, d)| d.percentiles().map(|p| (format!("{} → {}", w[0], w[1]), p)))
                .collect(),
            end_to_end_ms: stats.end_to_end.percentiles(),
            inferred: book.is_inferred(),
            learned: book.learned().map(|l| LearnedPath {
                toml: l.toml(),
                path: l.path,
                failure: l.failure,
                compensation: l.compensation,
                instances: l.instances,
                finished: l.finished,
            }),
        });
    }
    let mut items: Vec<_> = book.instances().map(|i| (book.state(i), i)).collect();
    items.sort_by_key(|(state, i)| (*state, i.started_ns));
    out.items = items
        .into_iter()
        .take(MAX_REPORT_ITEMS)
        .map(|(state, i)| {
            let ended = matches!(state, SagaState::Completed | SagaState::Compensated);
            SagaItem {
                name: book.defs()[i.saga].name.clone(),
                id: i.id.clone(),
                state,
                started: rfc3339(i.started_ns),
                ended: ended.then(|| rfc3339(i.last_ns)),
                duration_ms: (i.last_ns - i.started_ns) / 1_000_000,
                events: i.events.iter().map(|e| e.event_type.to_string()).collect(),
            }
        })
        .collect();
    Some(out)
}

fn blind(engine: &Engine) -> Option<Blind> {
    let status = engine.status();
    let b = engine.blindness();
    let windows: Vec<BlindItem> = b
        .windows()
        .copied()
        .chain(b.still_open())
        .take(MAX_REPORT_ITEMS)
        .map(|w| BlindItem {
            from: rfc3339(w.from_ns),
            to: (w.to_ns != i64::MAX).then(|| rfc3339(w.to_ns)),
            why: w.why,
        })
        .collect();
    let dropped = status.dropped_client + status.dropped_queue;
    if dropped == 0 && windows.is_empty() {
        return None;
    }
    Some(Blind {
        dropped_client: status.dropped_client,
        dropped_queue: status.dropped_queue,
        blind_ms: b.total_ns() / 1_000_000,
        unverifiable_findings: engine.detect().log.count(AnomalyKind::Unverifiable),
        windows,
    })
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Report {
    /// Builds the report from an engine's state.
    pub fn build(engine: &Engine, source: Source) -> Report {
        let det = engine.detect();
        let log = &det.log;
        let status = engine.status();
        let (first, last) = engine.time_range().unzip();
        let subjects = engine.subject_totals();
        Report {
            flowscope_report: REPORT_VERSION,
            source,
            events: engine.total_events(),
            bytes: engine.total_bytes(),
            dropped: status.dropped_client + status.dropped_queue,
            blind: blind(engine),
            first_time: first.map(rfc3339),
            last_time: last.map(rfc3339),
            subjects: subjects
                .into_iter()
                .map(|(subject, events, bytes)| SubjectCount {
                    subject,
                    events,
                    bytes,
                })
                .collect(),
            types: det
                .types()
                .into_iter()
                .map(|(name, st, v)| TypeSummary {
                    fields: det.schemas.fields(&name).len(),
                    avg_size: st.bytes.checked_div(st.events).unwrap_or(0),
                    max_size: st.max_size,
                    events: st.events,
                    kind: v.kind,
                    reason: v.reason,
                    passive_aggressive: v.passive_aggressive,
                    name,
                })
                .collect(),
            duplicates: Duplicates {
                count: log.count(AnomalyKind::Duplicate) + log.count(AnomalyKind::Conflict),
                identical: log.count(AnomalyKind::Duplicate),
                conflicting: log.count(AnomalyKind::Conflict),
                evicted_ids: det.dedup.evicted(),
                without_id: det.dedup.without_id(),
                items: det.items.duplicates.clone(),
            },
            redeliveries: Counted {
                count: log.count(AnomalyKind::Redelivery),
            },
            out_of_order: OutOfOrder {
                count: log.count(AnomalyKind::OutOfOrder),
                resets: log.count(AnomalyKind::Reset),
                items: det.items.out_of_order.clone(),
            },
            gaps: Gaps {
                missing: det.ordering.missing(),
                open: det.ordering.open(),
                jumps: log.count(AnomalyKind::Gap),
                lost_deliveries: det.lost_deliveries(),
                unverifiable: det.ordering.unverifiable_missing(),
                unverifiable_open: det.ordering.unverifiable_open(),
                items: det.ordering.open_gaps(MAX_REPORT_ITEMS),
            },
            schema_drift: det.items.drift.clone(),
            schema_drift_total: det.schemas.total(),
            schema_unchecked_types: det.schemas.capped_types(),
            sagas: sagas(engine),
        }
    }

    /// How many incidents of a `--fail-on` kind the report holds.
    pub fn occurrences(&self, kind: FailKind) -> u64 {
        match kind {
            FailKind::Dup => self.duplicates.count,
            FailKind::Conflict => self.duplicates.conflicting,
            FailKind::Ooo => self.out_of_order.count,
            FailKind::Gap => self.gaps.missing + self.gaps.lost_deliveries,
            FailKind::Drift => self.schema_drift_total,
            FailKind::Redelivery => self.redeliveries.count,
            FailKind::Reset => self.out_of_order.resets,
            FailKind::Stuck => self.sagas.as_ref().map_or(0, |s| s.stuck),
            FailKind::Failed => self.sagas.as_ref().map_or(0, |s| s.failed),
        }
    }

    /// The `--fail-on` kinds that occurred.
    pub fn failures(&self, fail_on: &BTreeSet<FailKind>) -> Vec<FailKind> {
        fail_on
            .iter()
            .copied()
            .filter(|k| self.occurrences(*k) > 0)
            .collect()
    }
}

/// What `--fail-on` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum FailKind {
    /// Any duplicate (identical or conflicting).
    Dup,
    /// A conflicting duplicate (same id, different content).
    Conflict,
    /// An out-of-order event.
    Ooo,
    /// Sequence numbers still missing at the end, or a lost JetStream delivery.
    Gap,
    /// A schema change.
    Drift,
    /// A JetStream redelivery.
    Redelivery,
    /// A sequence reset.
    Reset,
    /// A stuck saga (sagas defined in flowscope.toml).
    Stuck,
    /// A failed saga, not compensated.
    Failed,
}

impl FailKind {
    pub fn name(self) -> &'static str {
        match self {
            FailKind::Dup => "dup",
            FailKind::Conflict => "conflict",
            FailKind::Ooo => "ooo",
            FailKind::Gap => "gap",
            FailKind::Drift => "drift",
            FailKind::Redelivery => "redelivery",
            FailKind::Reset => "reset",
            FailKind::Stuck => "stuck",
            FailKind::Failed => "failed",
        }
    }
}
