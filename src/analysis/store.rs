//! Retained events: the last N events or B bytes, whichever limit is reached
//! first. Kept in a persistent vector so a snapshot is an O(1) copy that the
//! UI can index without locks.

use std::sync::Arc;

use super::anomalies::{AnomalyKind, Finding};
use crate::envelope::Envelope;

/// Default number of events kept for browsing.
pub const DEFAULT_RETAIN_EVENTS: usize = 1_000_000;
/// Default memory budget for retained events.
pub const DEFAULT_RETAIN_BYTES: u64 = 512 * 1024 * 1024;

/// How much history is kept for browsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_events: usize,
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_events: DEFAULT_RETAIN_EVENTS,
            max_bytes: DEFAULT_RETAIN_BYTES,
        }
    }
}

/// Per-event anomaly flags, shown in the event table's flags column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags(pub u16);

impl Flags {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn of(findings: &[Finding]) -> Flags {
        Flags(findings.iter().fold(0, |acc, f| acc | f.kind.bit()))
    }

    pub fn has(self, kind: AnomalyKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// The flags as shown in the table: `DUP OOO`.
    pub fn labels(self) -> String {
        AnomalyKind::ALL
            .iter()
            .filter(|k| self.has(**k))
            .map(|k| k.flag())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An envelope with what the engine derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub env: Envelope,
    /// Shared by the events of the type.
    pub event_type: Arc<str>,
    pub key: Box<str>,
    pub is_json: bool,
    pub flags: Flags,
    /// What is wrong with the event, explained (most events: nothing).
    pub findings: Option<Box<[Finding]>>,
}

impl StoredEvent {
    /// Its findings of kind `from` become unverifiable, explained by
    /// `note` (flowscope learned it was blind when their evidence came).
    pub fn unverify(&mut self, from: AnomalyKind, note: &str) {
        let Some(findings) = &mut self.findings else {
            return;
        };
        for f in findings.iter_mut().filter(|f| f.kind == from) {
            f.kind = AnomalyKind::Unverifiable;
            f.text = format!("{} ({note})", f.text);
        }
        self.flags = Flags::of(findings);
    }

    /// A stored event with the given type and the subject as key (tests).
    pub fn for_test(env: Envelope, event_type: &str) -> Self {
        StoredEvent {
            key: env.subject.clone(),
            event_type: event_type.into(),
            is_json: false,
            flags: Flags::default(),
            findings: None,
            env,
        }
    }

    pub fn findings(&self) -> &[Finding] {
        self.findings.as_deref().unwrap_or(&[])
    }
}

/// The bounded event history.
#[derive(Debug, Clone, Default)]
pub struct EventStore {
    events: imbl::Vector<Arc<StoredEvent>>,
    bytes: u64,
    evicted: u64,
    retention: Retention,
}

impl EventStore {
    pub fn new(retention: Retention) -> Self {
        EventStore {
            retention,
            ..EventStore::default()
        }
    }

    /// Appends an event and evicts the oldest ones beyond the limits.
    pub fn push(&mut self, ev: StoredEvent) {
        // Keeping one (headless): the slot is reused while no snapshot
        // shares it.
        if self.retention.max_events == 1
            && let Some(slot) = self.events.get_mut(0).and_then(Arc::get_mut)
        {
            self.bytes = ev.env.footprint() as u64;
            self.evicted += 1;
            *slot = ev;
            return;
        }
        self.bytes += ev.env.footprint() as u64;
        self.events.push_back(Arc::new(ev));
        while self.events.len() > self.retention.max_events
            || (self.bytes > self.retention.max_bytes && self.events.len() > 1)
        {
            match self.events.pop_front() {
                Some(old) => {
                    self.bytes -= old.env.footprint() as u64;
                    self.evicted += 1;
                }
                None => break,
            }
        }
    }

    /// Changes the retained event `index` (a new copy: snapshots taken
    /// before keep theirs); false when it is no longer retained.
    pub fn update(&mut self, index: u64, f: impl FnOnce(&mut StoredEvent)) -> bool {
        let Some(pos) = self
            .first_index()
            .and_then(|first| index.checked_sub(first))
            .map(|p| p as usize)
        else {
            return false;
        };
        let Some(old) = self.events.get(pos).filter(|e| e.env.index == index) else {
            return false;
        };
        let mut ev = (**old).clone();
        f(&mut ev);
        self.events.set(pos, Arc::new(ev));
        true
    }

    pub fn events(&self) -> &imbl::Vector<Arc<StoredEvent>> {
        &self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Capture index of the oldest retained event.
    pub fn first_index(&self) -> Option<u64> {
        self.events.front().map(|e| e.env.index)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Events dropped from the history because of the limits.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: u64, size: usize) -> StoredEvent {
        let mut env = Envelope::new(0, "s", vec![b'x'; size]);
        env.index = i;
        StoredEvent::for_test(env, "t")
    }

    #[test]
    fn keeps_the_last_n_events() {
        let mut s = EventStore::new(Retention {
            max_events: 3,
            max_bytes: u64::MAX,
        });
        for i in 0..10 {
            s.push(ev(i, 1));
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.first_index(), Some(7));
        assert_eq!(s.evicted(), 7);
    }

    #[test]
    fn byte_budget_evicts_first_and_accounting_returns_to_zero() {
        let one = ev(0, 1000).env.footprint() as u64;
        let mut s = EventStore::new(Retention {
            max_events: 1_000,
            max_bytes: one * 4,
        });
        for i in 0..10 {
            s.push(ev(i, 1000));
        }
        assert_eq!(s.len(), 4);
        assert_eq!(s.bytes(), one * 4);
    }

    #[test]
    fn an_event_larger_than_the_budget_is_still_shown() {
        let mut s = EventStore::new(Retention {
            max_events: 10,
            max_bytes: 10,
        });
        s.push(ev(0, 5000));
        assert_eq!(s.len(), 1);
    }
}
