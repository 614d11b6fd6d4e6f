//! Runs every detection on each event, in order: redelivery, duplicate,
//! sequence (out of order, gap, reset), schema drift, JetStream lost
//! deliveries; and keeps per-type statistics for the kinds view.
//!
//! A redelivery is not a duplicate and is not fed to the sequence check; a
//! duplicate is not fed to the sequence check either.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroUsize;

use lru::LruCache;
use xxhash_rust::xxh3::Xxh3;

use super::FastMap;
use super::anomalies::{AnomalyKind, AnomalyLog, Finding, Incident, Moved};
use super::blind::{BlindWindow, Blindness, Why};
use super::classify::{self, Kind, TypeStats, Verdict};
use super::dedup::{Dedup, DedupConfig};
use super::fields::Described;
use super::ordering::{Ordering, SeqOutcome};
use super::schema::Schemas;
use crate::envelope::Envelope;

/// JetStream consumers whose sequence is followed.
const MAX_CONSUMERS: usize = 10_000;
/// Reply subjects remembered to notice their answers.
const MAX_PENDING_REPLIES: usize = 10_000;
/// Event types with their own statistics.
pub const MAX_TYPES: usize = 10_000;
/// Items of each list kept for reports (the counts are always exact).
pub const MAX_REPORT_ITEMS: usize = 1_000;
/// Gaps remembered to recheck when flowscope learns late that it was
/// blind (older ones are rechecked by a look at every key).
pub const MAX_GAP_NOTES: usize = 65_536;

/// A gap found while flowscope seemed to see everything: if it learns
/// later that it was blind then (its client's drop count comes with a
/// delay), the gap moves to the unverifiable findings.
#[derive(Debug, Clone)]
struct GapNote {
    index: u64,
    incident: u64,
    before_ns: i64,
    after_ns: i64,
    from: i64,
    to: i64,
    key: Box<str>,
    subject: Box<str>,
    event_type: Box<str>,
}

/// An event whose finding became unverifiable: its index and the new
/// finding text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rechecked {
    pub index: u64,
    pub from: AnomalyKind,
    pub note: String,
}

/// A duplicate, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DupItem {
    pub id: String,
    pub subject: String,
    pub original_index: u64,
    pub index: u64,
    pub delay_ms: i64,
    pub identical: bool,
}

/// An out-of-order event, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OooItem {
    pub key: String,
    pub subject: String,
    pub sequence: i64,
    pub highest_seen: i64,
    pub index: u64,
    pub late_ms: i64,
}

/// The first items of each list, for reports.
#[derive(Debug, Clone, Default)]
pub struct ReportItems {
    pub duplicates: Vec<DupItem>,
    pub out_of_order: Vec<OooItem>,
    pub drift: Vec<super::schema::Drift>,
}

fn keep<T>(list: &mut Vec<T>, item: T) {
    if list.len() < MAX_REPORT_ITEMS {
        list.push(item);
    }
}

/// Settings of the detections.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    pub dedup: DedupConfig,
    pub ordering_max_keys: usize,
    pub schema_learn: usize,
    pub kinds: HashMap<String, Kind>,
}

/// State of all detections.
#[derive(Debug, Clone)]
pub struct Detect {
    pub dedup: Dedup,
    pub ordering: Ordering,
    pub schemas: Schemas,
    pub log: AnomalyLog,
    /// By type name; the name is shared with the events of the type.
    types: FastMap<std::sync::Arc<str>, TypeStats>,
    other_types: u64,
    kinds: HashMap<String, Kind>,
    pending_replies: FastMap<Box<str>, std::sync::Arc<str>>,
    reply_order: VecDeque<Box<str>>,
    /// Last consumer sequence per (stream, consumer).
    /// Last consumer sequence per (stream, consumer), least recently seen
    /// forgotten first (ordered consumers get new names when recreated).
    consumer_seqs: LruCache<u64, u64, foldhash::fast::RandomState>,
    lost_deliveries: u64,
    pub items: ReportItems,
    gap_notes: VecDeque<GapNote>,
    /// Notes were dropped for the cap since this time (ns).
    notes_since_ns: i64,
}

use crate::format::duration as ms;

impl Detect {
    /// Roughly the bytes a copy of the per-key and per-id state takes (the
    /// parts that grow with the number of events; the rest is small).
    pub fn approx_bytes(&self) -> usize {
        self.dedup.approx_bytes()
            + self.ordering.approx_bytes()
            + self.consumer_seqs.len() * 64
            + self.reply_order.len() * 96
    }

    pub fn new(cfg: DetectConfig) -> Self {
        Detect {
            dedup: Dedup::new(cfg.dedup),
            ordering: Ordering::new(cfg.ordering_max_keys),
            schemas: Schemas::new(cfg.schema_learn),
            log: AnomalyLog::default(),
            types: FastMap::default(),
            other_types: 0,
            kinds: cfg.kinds,
            pending_replies: FastMap::default(),
            reply_order: VecDeque::new(),
            consumer_seqs: LruCache::with_hasher(
                NonZeroUsize::new(MAX_CONSUMERS).expect("non-zero"),
                foldhash::fast::RandomState::default(),
            ),
            lost_deliveries: 0,
            items: ReportItems::default(),
            gap_notes: VecDeque::new(),
            notes_since_ns: i64::MIN,
        }
    }

    /// Analyses one event (already given its capture index); `blind` says
    /// when flowscope may have missed events. Returns its findings, and its
    /// type's name as shared by every event of the type.
    pub fn observe(
        &mut self,
        env: &Envelope,
        d: &Described,
        blind: &Blindness,
    ) -> (Vec<Finding>, std::sync::Arc<str>) {
        self.answer(&env.subject);
        let ty = self.count_type(env, d);
        (self.detect(env, d, blind), ty)
    }

    fn detect(&mut self, env: &Envelope, d: &Described, blind: &Blindness) -> Vec<Finding> {
        let mut found = Vec::new();
        if let Some(js) = &env.js {
            let mut key = Xxh3::new();
            key.update(js.stream.as_bytes());
            key.update(&[0]);
            key.update(js.consumer.as_bytes());
            match self.consumer_seqs.put(key.digest(), js.consumer_seq) {
                Some(last) if js.consumer_seq > last.saturating_add(1) => {
                    let lost = js.consumer_seq - last - 1;
                    self.lost_deliveries = self.lost_deliveries.saturating_add(lost);
                    found.push(Finding {
                        kind: AnomalyKind::LostDelivery,
                        related: None,
                        text: format!(
                            "consumer {} skipped {} (consumer sequence {last} → {})",
                            js.consumer,
                            crate::format::counted(lost, "delivery", "deliveries"),
                            js.consumer_seq
                        ),
                    });
                }
                _ => {}
            }
            if js.delivered > 1 {
                found.push(Finding {
                    kind: AnomalyKind::Redelivery,
                    related: None,
                    text: format!(
                        "JetStream delivered stream sequence {} for the {} time",
                        js.stream_seq,
                        ordinal(js.delivered)
                    ),
                });
                self.record(env, d, &found);
                return found;
            }
        }
        let event_ns = d.time_ns.unwrap_or(env.received_ns);
        if let Some(dup) = self.dedup.check(
            d.id.as_deref(),
            &env.subject,
            &env.payload,
            env.index,
            event_ns,
            env.received_ns,
        ) {
            let (kind, what) = if dup.identical {
                (AnomalyKind::Duplicate, "identical")
            } else {
                (AnomalyKind::Conflict, "same id, different content")
            };
            let text = format!(
                "duplicate of #{} ({what}, {} later), id {}",
                dup.original_index,
                ms(dup.delay_ns),
                d.id.as_deref().unwrap_or("(payload)")
            );
            // A copy that came back across flowscope's own reconnection
            // may be its own doing (a reader resuming).
            if let Some(w) = blind.overlapping_for(
                env.received_ns.saturating_sub(dup.delay_ns),
                env.received_ns,
                Why::Disconnected,
            ) {
                found.push(unverifiable(dup.original_index, text, w.why));
                self.record(env, d, &found);
                return found;
            }
            keep(
                &mut self.items.duplicates,
                DupItem {
                    id: d.id.clone().unwrap_or_default(),
                    subject: env.subject.to_string(),
                    original_index: dup.original_index,
                    index: env.index,
                    delay_ms: dup.delay_ns / 1_000_000,
                    identical: dup.identical,
                },
            );
            found.push(Finding {
                kind,
                related: Some(dup.original_index),
                text,
            });
            // A conflicting copy is new content: its schema is still checked.
            if dup.identical {
                self.record(env, d, &found);
                return found;
            }
            self.check_schema(env, d, &mut found);
            self.record(env, d, &found);
            return found;
        }
        if let Some(seq) = d.sequence {
            match self
                .ordering
                .observe(&d.key, seq, env.index, env.received_ns, blind)
            {
                SeqOutcome::InOrder => {}
                SeqOutcome::Gap {
                    from,
                    to,
                    previous,
                    previous_ns,
                    blind,
                } => {
                    let missing = if from == to {
                        format!("{from} is")
                    } else {
                        format!("{from}–{to} are")
                    };
                    let text = format!(
                        "sequence jumped to {seq} for key {}: {missing} missing",
                        d.key
                    );
                    match blind {
                        Some(why) => found.push(unverifiable(previous, text, why)),
                        None => {
                            self.note_gap(env, d, found.len(), (previous_ns, from, to));
                            found.push(Finding {
                                kind: AnomalyKind::Gap,
                                related: Some(previous),
                                text,
                            });
                        }
                    }
                }
                SeqOutcome::OutOfOrder {
                    highest,
                    overtaken_by,
                    late_ns,
                } => {
                    let text = format!(
                        "sequence {seq} arrived after {highest} for key {}: {} behind, {} late",
                        d.key,
                        highest as i128 - seq as i128,
                        ms(late_ns)
                    );
                    if let Some(w) = blind.overlapping_for(
                        env.received_ns.saturating_sub(late_ns),
                        env.received_ns,
                        Why::Disconnected,
                    ) {
                        found.push(unverifiable(overtaken_by, text, w.why));
                    } else {
                        keep(
                            &mut self.items.out_of_order,
                            OooItem {
                                key: d.key.clone(),
                                subject: env.subject.to_string(),
                                sequence: seq,
                                highest_seen: highest,
                                index: env.index,
                                late_ms: late_ns / 1_000_000,
                            },
                        );
                        found.push(Finding {
                            kind: AnomalyKind::OutOfOrder,
                            related: Some(overtaken_by),
                            text,
                        });
                    }
                }
                SeqOutcome::Reset { previous_highest } => found.push(Finding {
                    kind: AnomalyKind::Reset,
                    related: None,
                    text: format!(
                        "sequence {seq} was already seen for key {}: the sequence restarted (it had reached {previous_highest})",
                        d.key
                    ),
                }),
            }
        }
        self.check_schema(env, d, &mut found);
        self.record(env, d, &found);
        found
    }

    /// Remembers a gap found as the `nth` finding of this event, to
    /// recheck it if flowscope learns late that it was blind then.
    fn note_gap(&mut self, env: &Envelope, d: &Described, nth: usize, gap: (i64, i64, i64)) {
        let (before_ns, from, to) = gap;
        if self.gap_notes.len() >= MAX_GAP_NOTES
            && let Some(old) = self.gap_notes.pop_front()
        {
            self.notes_since_ns = self.notes_since_ns.max(old.after_ns);
        }
        self.gap_notes.push_back(GapNote {
            index: env.index,
            incident: self.log.next_seq() + nth as u64,
            before_ns,
            after_ns: env.received_ns,
            from,
            to,
            key: d.key.as_str().into(),
            subject: env.subject.clone(),
            event_type: d.event_type.as_str().into(),
        });
    }

    /// flowscope learned that it was blind during `w`: the gaps whose
    /// missing numbers would have come then move to the unverifiable
    /// findings. Returns the events whose findings changed (those still
    /// remembered).
    pub fn recheck(&mut self, w: &BlindWindow) -> Vec<Rechecked> {
        let why = format!("unverifiable: {} then", w.why.label());
        let mut out = Vec::new();
        let meets = |n: &GapNote| n.before_ns <= w.to_ns && n.after_ns >= w.from_ns;
        // Notes are in the order events came, so by receive time but for
        // sources that interleave: start a second early.
        let start = self
            .gap_notes
            .partition_point(|n| n.after_ns < w.from_ns.saturating_sub(1_000_000_000));
        for n in self.gap_notes.range(start..).filter(|n| meets(n)) {
            self.ordering.reclassify(&n.key, n.from, n.to);
            self.log.reclassify(
                n.incident,
                AnomalyKind::Gap,
                &Moved {
                    subject: &n.subject,
                    event_type: &n.event_type,
                    why: &why,
                },
            );
            out.push(Rechecked {
                index: n.index,
                from: AnomalyKind::Gap,
                note: why.clone(),
            });
        }
        if !out.is_empty() {
            self.gap_notes.retain(|n| !meets(n));
        }
        // Gaps older than the notes kept: their numbers are found by key.
        if w.from_ns <= self.notes_since_ns {
            let moved = self.ordering.reclassify_between(w.from_ns, w.to_ns);
            self.log.reclassify_old(AnomalyKind::Gap, moved);
        }
        out
    }

    fn check_schema(&mut self, env: &Envelope, d: &Described, found: &mut Vec<Finding>) {
        if !d.is_json {
            return;
        }
        for drift in self
            .schemas
            .observe(&d.event_type, d.shape(), &env.payload, env.index)
        {
            found.push(Finding {
                kind: AnomalyKind::Drift,
                related: None,
                text: format!("schema of {}: {}", d.event_type, drift.describe()),
            });
            keep(&mut self.items.drift, drift);
        }
    }

    fn record(&mut self, env: &Envelope, d: &Described, found: &[Finding]) {
        for f in found {
            self.log.record(Incident {
                seq: 0,
                kind: f.kind,
                index: env.index,
                related: f.related,
                received_ns: env.received_ns,
                subject: env.subject.clone(),
                event_type: d.event_type.as_str().into(),
                key: d.key.as_str().into(),
                text: f.text.as_str().into(),
            });
        }
    }

    /// Counts the event for its type; returns the type's shared name (a
    /// new one for types beyond [`MAX_TYPES`]).
    fn count_type(&mut self, env: &Envelope, d: &Described) -> std::sync::Arc<str> {
        let ty = match self.types.get_key_value(d.event_type.as_str()) {
            Some((ty, _)) => ty.clone(),
            None if self.types.len() >= MAX_TYPES => {
                self.other_types += 1;
                return d.event_type.as_str().into();
            }
            None => {
                let ty: std::sync::Arc<str> = d.event_type.as_str().into();
                self.types.insert(ty.clone(), TypeStats::default());
                ty
            }
        };
        let st = self.types.get_mut(&ty).expect("inserted above");
        let size = env.payload.len() as u64;
        st.events += 1;
        st.bytes += size;
        st.max_size = st.max_size.max(size);
        st.max_top_fields = st.max_top_fields.max(d.top_fields);
        if d.is_json {
            st.json += 1;
        }
        if let Some(reply) = env.reply.as_deref().filter(|r| !r.starts_with("$JS.ACK.")) {
            st.with_reply += 1;
            self.pending_replies.insert(reply.into(), ty.clone());
            self.reply_order.push_back(reply.into());
            while self.reply_order.len() > MAX_PENDING_REPLIES {
                if let Some(old) = self.reply_order.pop_front() {
                    self.pending_replies.remove(&old);
                }
            }
        }
        ty
    }

    /// Notes a message on `subject`: if it answers a request seen earlier,
    /// the request's type counts one answer.
    pub fn answer(&mut self, subject: &str) {
        if self.pending_replies.is_empty() {
            return;
        }
        if let Some(ty) = self.pending_replies.remove(subject)
            && let Some(st) = self.types.get_mut(&*ty)
        {
            st.answered += 1;
        }
    }

    /// Lost JetStream deliveries so far.
    pub fn lost_deliveries(&self) -> u64 {
        self.lost_deliveries
    }

    /// Types beyond [`MAX_TYPES`], counted together.
    pub fn other_type_events(&self) -> u64 {
        self.other_types
    }

    /// Every type with its stats and verdict, most events first.
    pub fn types(&self) -> Vec<(String, TypeStats, Verdict)> {
        let mut v: Vec<(String, TypeStats, Verdict)> = self
            .types
            .iter()
            .map(|(name, st)| {
                let fields = self.schemas.fields(name);
                let verdict = classify::classify(name, st, &fields, &self.kinds);
                (name.to_string(), st.clone(), verdict)
            })
            .collect();
        v.sort_by(|a, b| b.1.events.cmp(&a.1.events).then(a.0.cmp(&b.0)));
        v
    }
}

/// A finding flowscope cannot vouch for: it was blind (`why`) when its
/// evidence came.
fn unverifiable(related: u64, text: String, why: Why) -> Finding {
    Finding {
        kind: AnomalyKind::Unverifiable,
        related: Some(related),
        text: format!("{text} (unverifiable: {} then)", why.label()),
    }
}

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(23), "23rd");
    }
}
