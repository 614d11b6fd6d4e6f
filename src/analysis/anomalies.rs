//! Anomaly bookkeeping: the kinds, the per-event findings shown in the
//! detail pane, and the incident log behind the anomalies view (counts,
//! per-second history, recent incidents, per-subject and per-type counts).
//! Bounded: [`MAX_INCIDENTS`] recent incidents, [`MAX_BREAKDOWN`] subjects
//! and types in the breakdowns.

use std::sync::Arc;

use serde::Serialize;

use super::FastMap;
use super::stats::RateMeter;

/// Recent incidents kept for the anomalies view.
pub const MAX_INCIDENTS: usize = 10_000;
/// Subjects (and types) counted separately in the breakdowns.
pub const MAX_BREAKDOWN: usize = 10_000;

/// What can be wrong with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A later identical copy of an event.
    Duplicate,
    /// Same id as an earlier event, different content.
    Conflict,
    OutOfOrder,
    /// Sequence numbers skipped.
    Gap,
    /// JetStream delivered it again (delivery count > 1).
    Redelivery,
    /// The event's schema changed.
    Drift,
    /// The key's sequence restarted.
    Reset,
    /// A JetStream consumer sequence skipped: deliveries were lost.
    LostDelivery,
    /// A gap, reordering or duplicate seen while flowscope itself was
    /// blind (it dropped messages or was disconnected): it cannot be told
    /// from flowscope's own loss, so it is not counted as the system's.
    Unverifiable,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 9] = [
        AnomalyKind::Duplicate,
        AnomalyKind::Conflict,
        AnomalyKind::OutOfOrder,
        AnomalyKind::Gap,
        AnomalyKind::Redelivery,
        AnomalyKind::Drift,
        AnomalyKind::Reset,
        AnomalyKind::LostDelivery,
        AnomalyKind::Unverifiable,
    ];

    /// The flag shown in the event table.
    pub fn flag(self) -> &'static str {
        match self {
            AnomalyKind::Duplicate => "DUP",
            AnomalyKind::Conflict => "DUP!",
            AnomalyKind::OutOfOrder => "OOO",
            AnomalyKind::Gap => "GAP",
            AnomalyKind::Redelivery => "REDELIVERED",
            AnomalyKind::Drift => "DRIFT",
            AnomalyKind::Reset => "RESET",
            AnomalyKind::LostDelivery => "LOST",
            AnomalyKind::Unverifiable => "BLIND",
        }
    }

    /// What the related event is to an incident of this kind.
    pub fn related(self) -> &'static str {
        match self {
            AnomalyKind::Duplicate | AnomalyKind::Conflict => "the original copy",
            AnomalyKind::OutOfOrder => "the event that overtook it",
            AnomalyKind::Gap => "the event before the gap",
            _ => "the related event",
        }
    }

    /// Words for titles.
    pub fn title(self) -> &'static str {
        match self {
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::Conflict => "conflicting duplicate",
            AnomalyKind::OutOfOrder => "out of order",
            AnomalyKind::Gap => "sequence gap",
            AnomalyKind::Redelivery => "redelivery",
            AnomalyKind::Drift => "schema drift",
            AnomalyKind::Reset => "sequence reset",
            AnomalyKind::LostDelivery => "lost delivery",
            AnomalyKind::Unverifiable => "unverifiable",
        }
    }

    /// The name `--fail-on` uses.
    pub fn cli_name(self) -> &'static str {
        match self {
            AnomalyKind::Duplicate => "dup",
            AnomalyKind::Conflict => "conflict",
            AnomalyKind::OutOfOrder => "ooo",
            AnomalyKind::Gap => "gap",
            AnomalyKind::Redelivery => "redelivery",
            AnomalyKind::Drift => "drift",
            AnomalyKind::Reset => "reset",
            AnomalyKind::LostDelivery => "lost",
            AnomalyKind::Unverifiable => "unverifiable",
        }
    }

    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One anomaly on one event, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: AnomalyKind,
    /// The event it relates to (the original copy, the event that overtook
    /// it, the event before a gap).
    pub related: Option<u64>,
    pub text: String,
}

/// What [`AnomalyLog::reclassify`] needs to know of an incident.
pub struct Moved<'a> {
    pub subject: &'a str,
    pub event_type: &'a str,
    /// Why it is unverifiable, in words.
    pub why: &'a str,
}

/// A finding with the event it was found on, for the anomalies view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Unique, increasing: incidents of one event share its index.
    pub seq: u64,
    pub kind: AnomalyKind,
    pub index: u64,
    pub related: Option<u64>,
    pub received_ns: i64,
    pub subject: Box<str>,
    pub event_type: Box<str>,
    pub key: Box<str>,
    pub text: Box<str>,
}

const N: usize = AnomalyKind::ALL.len();

/// Counts by kind.
pub type Counts = [u64; N];

/// All incidents so far, bounded.
#[derive(Debug, Clone, Default)]
pub struct AnomalyLog {
    counts: Counts,
    meters: [RateMeter; N],
    recent: imbl::Vector<Arc<Incident>>,
    by_subject: FastMap<Box<str>, Counts>,
    by_type: FastMap<Box<str>, Counts>,
    other_subjects: Counts,
    other_types: Counts,
}

fn bump(map: &mut FastMap<Box<str>, Counts>, other: &mut Counts, name: &str, slot: usize) {
    if let Some(c) = map.get_mut(name) {
        c[slot] += 1;
    } else if map.len() < MAX_BREAKDOWN {
        let mut c = Counts::default();
        c[slot] = 1;
        map.insert(name.into(), c);
    } else {
        other[slot] += 1;
    }
}

impl AnomalyLog {
    pub fn record(&mut self, mut incident: Incident) {
        incident.seq = self.next_seq();
        let slot = incident.kind.slot();
        self.counts[slot] += 1;
        self.meters[slot].add(incident.received_ns.div_euclid(1_000_000_000), 0);
        bump(
            &mut self.by_subject,
            &mut self.other_subjects,
            &incident.subject,
            slot,
        );
        bump(
            &mut self.by_type,
            &mut self.other_types,
            &incident.event_type,
            slot,
        );
        self.recent.push_back(Arc::new(incident));
        if self.recent.len() > MAX_INCIDENTS {
            self.recent.pop_front();
        }
    }

    /// Turns the incident numbered `seq` (of event `index`, on `subject`
    /// and `event_type`) from `from` into an unverifiable one, explained by
    /// `why`: flowscope learned afterwards that it was blind when its
    /// evidence came. The per-second history keeps the time it was seen.
    pub fn reclassify(&mut self, seq: u64, from: AnomalyKind, note: &Moved<'_>) {
        let (a, b) = (from.slot(), AnomalyKind::Unverifiable.slot());
        if self.counts[a] == 0 {
            return;
        }
        self.counts[a] -= 1;
        self.counts[b] += 1;
        for (map, other, name) in [
            (&mut self.by_subject, &mut self.other_subjects, note.subject),
            (&mut self.by_type, &mut self.other_types, note.event_type),
        ] {
            let c = map.get_mut(name).unwrap_or(other);
            c[a] = c[a].saturating_sub(1);
            c[b] += 1;
        }
        let Some(first) = self.recent.front().map(|i| i.seq) else {
            return;
        };
        if let Some(pos) = seq.checked_sub(first).map(|p| p as usize)
            && let Some(old) = self.recent.get(pos)
            && old.seq == seq
            && old.kind == from
        {
            let mut inc = (**old).clone();
            inc.kind = AnomalyKind::Unverifiable;
            inc.text = format!("{} ({})", inc.text, note.why).into();
            self.recent.set(pos, Arc::new(inc));
        }
    }

    /// The number the next recorded incident gets.
    pub fn next_seq(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Moves `n` incidents of kind `from` to the unverifiable ones in the
    /// counts only (their incidents left the recent list long ago).
    pub fn reclassify_old(&mut self, from: AnomalyKind, n: u64) {
        let n = n.min(self.counts[from.slot()]);
        self.counts[from.slot()] -= n;
        self.counts[AnomalyKind::Unverifiable.slot()] += n;
    }

    pub fn count(&self, kind: AnomalyKind) -> u64 {
        self.counts[kind.slot()]
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Incidents per second for the last minute, oldest first.
    pub fn history(&self, kind: AnomalyKind, now_sec: i64) -> Vec<u32> {
        self.meters[kind.slot()].history(now_sec)
    }

    /// Recent incidents, oldest first.
    pub fn recent(&self) -> &imbl::Vector<Arc<Incident>> {
        &self.recent
    }

    /// The `limit` subjects with most incidents, with their counts.
    pub fn top_subjects(&self, limit: usize) -> Vec<(String, Counts)> {
        top(&self.by_subject, limit)
    }

    /// The `limit` types with most incidents, with their counts.
    pub fn top_types(&self, limit: usize) -> Vec<(String, Counts)> {
        top(&self.by_type, limit)
    }
}

fn top(map: &FastMap<Box<str>, Counts>, limit: usize) -> Vec<(String, Counts)> {
    let mut v: Vec<(String, Counts)> = map.iter().map(|(k, c)| (k.to_string(), *c)).collect();
    v.sort_by(|a, b| {
        b.1.iter()
            .sum::<u64>()
            .cmp(&a.1.iter().sum::<u64>())
            .then(a.0.cmp(&b.0))
    });
    v.truncate(limit);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(kind: AnomalyKind, subject: &str, t: i64) -> Incident {
        Incident {
            seq: 0,
            kind,
            index: 0,
            related: None,
            received_ns: t * 1_000_000_000,
            subject: subject.into(),
            event_type: "T".into(),
            key: "k".into(),
            text: "".into(),
        }
    }

    #[test]
    fn counts_history_and_breakdown() {
        let mut log = AnomalyLog::default();
        log.record(incident(AnomalyKind::Duplicate, "a", 10));
        log.record(incident(AnomalyKind::Duplicate, "b", 11));
        log.record(incident(AnomalyKind::Gap, "b", 11));
        assert_eq!(log.count(AnomalyKind::Duplicate), 2);
        let h = log.history(AnomalyKind::Duplicate, 11);
        assert_eq!(&h[h.len() - 2..], &[1, 1]);
        let top = log.top_subjects(1);
        assert_eq!(top[0].0, "b");
        assert_eq!(top[0].1.iter().sum::<u64>(), 2);
        assert_eq!(log.recent().len(), 3);
    }

    #[test]
    fn flags_are_distinct_bits() {
        let bits: u16 = AnomalyKind::ALL.iter().map(|k| k.bit()).fold(0, |a, b| {
            assert_eq!(a & b, 0);
            a | b
        });
        assert_eq!(bits.count_ones() as usize, AnomalyKind::ALL.len());
    }
}
