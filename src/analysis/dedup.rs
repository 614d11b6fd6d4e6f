//! Duplicate detection: an event whose id was already seen within the window
//! (by event time) is a duplicate of the first copy. A duplicate is
//! *identical* when subject and payload match the original, else
//! *conflicting*. Memory is bounded by `max_ids`; ids pushed out early are
//! counted as evictions.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{PrehashedMap, keyed_hash};

/// What identifies an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupBy {
    /// The id field chain (`Nats-Msg-Id`, `ce-id`, `/id`, …).
    #[default]
    Id,
    /// Subject and payload, for systems without ids.
    Payload,
}

/// Duplicate detection settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupConfig {
    /// How far back (in event time) an id is remembered.
    pub window: Duration,
    /// Most ids remembered at once.
    pub max_ids: usize,
    pub by: DedupBy,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            window: Duration::from_secs(120),
            max_ids: 1_000_000,
            by: DedupBy::Id,
        }
    }
}

/// An id's first copy: 32 bytes (the table holds up to `max_ids`).
#[derive(Debug, Clone, Copy)]
struct Seen {
    index: u64,
    /// Hash of subject and payload.
    content: u64,
    time_ns: i64,
    received_ns: i64,
}

/// A later copy of an event already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicate {
    pub original_index: u64,
    pub identical: bool,
    /// Receive time of this copy minus the original's.
    pub delay_ns: i64,
}

/// The duplicate detector.
#[derive(Debug, Clone, Default)]
pub struct Dedup {
    cfg: DedupConfig,
    /// By the id's keyed hash (two ids of a window collide with a chance
    /// of about n²/2^65: 3·10^-8 for a million ids).
    seen: Shards,
    /// Ids in the order they were first seen, with their event time.
    order: VecDeque<(u64, i64, u64)>,
    latest_ns: i64,
    evicted: u64,
    without_id: u64,
}

/// Tables start with room for this many ids (they grow when needed).
const INITIAL_IDS: usize = 16_384;

/// The id table in 16 parts by bits 32–35 of the key (the table's own
/// bucket and tag bits are its lowest and highest): each part grows on
/// its own, so a growth moves a sixteenth of the ids. One table of a
/// million ids paused the engine 43 ms while it doubled, long enough to
/// fill the ingest queue under a flood.
#[derive(Debug, Clone)]
struct Shards {
    parts: Vec<PrehashedMap<Seen>>,
    len: usize,
}

const SHARDS: usize = 16;

impl Default for Shards {
    fn default() -> Self {
        Shards::with_capacity(0)
    }
}

impl Shards {
    fn with_capacity(n: usize) -> Shards {
        Shards {
            parts: (0..SHARDS)
                .map(|_| PrehashedMap::with_capacity_and_hasher(n / SHARDS, Default::default()))
                .collect(),
            len: 0,
        }
    }

    /// The part that holds `key`.
    fn part_of(key: u64) -> usize {
        (key >> 32) as usize % SHARDS
    }

    fn get(&self, key: &u64) -> Option<&Seen> {
        self.parts[Self::part_of(*key)].get(key)
    }

    fn remove(&mut self, key: &u64) {
        if self.parts[Self::part_of(*key)].remove(key).is_some() {
            self.len -= 1;
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        self.parts.iter().map(|p| p.capacity()).sum()
    }
}

fn content_hash(subject: &str, payload: &[u8]) -> u64 {
    keyed_hash(keyed_hash(1, subject.as_bytes()), payload)
}

impl Dedup {
    /// Roughly the bytes a copy of this state takes (table entries with
    /// their share of empty slots, and the arrival queue).
    pub fn approx_bytes(&self) -> usize {
        // The table has 8 slots for each 7 it fills.
        self.seen.capacity() * (std::mem::size_of::<(u64, Seen)>() + 1) * 8 / 7
            + self.order.capacity() * std::mem::size_of::<(u64, i64, u64)>()
    }

    pub fn new(cfg: DedupConfig) -> Self {
        let room = INITIAL_IDS.min(cfg.max_ids);
        Dedup {
            cfg,
            seen: Shards::with_capacity(room),
            order: VecDeque::with_capacity(room),
            ..Dedup::default()
        }
    }

    pub fn config(&self) -> DedupConfig {
        self.cfg
    }

    /// Checks one event. `id` is its id field (unused with `by = payload`);
    /// `time_ns` its event time (the receive time when it has none).
    pub fn check(
        &mut self,
        id: Option<&str>,
        subject: &str,
        payload: &[u8],
        index: u64,
        time_ns: i64,
        received_ns: i64,
    ) -> Option<Duplicate> {
        if self.cfg.by == DedupBy::Id && id.is_none() {
            self.without_id += 1;
            return None;
        }
        let content = content_hash(subject, payload);
        let key = match id {
            Some(id) if self.cfg.by == DedupBy::Id => keyed_hash(0, id.as_bytes()),
            _ => content,
        };
        // The event clock: event times, but never more than a window ahead
        // of the receive time (one event from the future must not expire
        // every id, or keep them all).
        let window = self.window_ns();
        self.latest_ns = self
            .latest_ns
            .max(time_ns.min(received_ns.saturating_add(window)));
        self.expire();
        let cutoff = self.latest_ns.saturating_sub(window);
        let now = Seen {
            index,
            content,
            time_ns,
            received_ns,
        };
        let len = &mut self.seen.len;
        match self.seen.parts[Shards::part_of(key)].entry(key) {
            std::collections::hash_map::Entry::Occupied(o) if o.get().time_ns >= cutoff => {
                let orig = o.get();
                return Some(Duplicate {
                    original_index: orig.index,
                    identical: orig.content == content,
                    delay_ns: received_ns.saturating_sub(orig.received_ns),
                });
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                o.insert(now);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(now);
                *len += 1;
            }
        }
        self.order.push_back((key, time_ns, index));
        while self.seen.len() > self.cfg.max_ids {
            match self.order.pop_front() {
                Some((k, _, i)) => {
                    if self.seen.get(&k).is_some_and(|s| s.index == i) {
                        self.seen.remove(&k);
                        self.evicted += 1;
                    }
                }
                None => break,
            }
        }
        None
    }

    fn window_ns(&self) -> i64 {
        i64::try_from(self.cfg.window.as_nanos()).unwrap_or(i64::MAX)
    }

    /// Forgets ids older than the window (by event time), oldest first; an
    /// older id behind a newer one waits, and `check` treats it as gone.
    fn expire(&mut self) {
        let cutoff = self.latest_ns.saturating_sub(self.window_ns());
        while let Some(&(k, t, i)) = self.order.front() {
            if t >= cutoff {
                break;
            }
            self.order.pop_front();
            if self
                .seen
                .get(&k)
                .is_some_and(|s| s.index == i && s.time_ns == t)
            {
                self.seen.remove(&k);
            }
        }
    }

    /// Ids pushed out by `max_ids` before their window ended.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Events that had no id (with `by = id`), so could not be checked.
    pub fn without_id(&self) -> u64 {
        self.without_id
    }

    /// Ids remembered now.
    pub fn remembered(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn later_copies_are_duplicates_of_the_first() {
        let mut d = Dedup::new(DedupConfig::default());
        assert_eq!(d.check(Some("a"), "s", b"x", 0, 0, 0), None);
        let dup = d.check(Some("a"), "s", b"x", 1, S, S).unwrap();
        assert_eq!(
            dup,
            Duplicate {
                original_index: 0,
                identical: true,
                delay_ns: S
            }
        );
        let dup = d.check(Some("a"), "other", b"x", 2, S, 2 * S).unwrap();
        assert_eq!(dup.original_index, 0);
        assert!(!dup.identical, "same id, different subject: conflicting");
        let dup = d.check(Some("a"), "s", b"y", 3, S, 2 * S).unwrap();
        assert!(!dup.identical, "same id, different payload: conflicting");
    }

    #[test]
    fn ids_older_than_the_window_are_forgotten() {
        let mut d = Dedup::new(DedupConfig {
            window: Duration::from_secs(10),
            ..DedupConfig::default()
        });
        d.check(Some("a"), "s", b"x", 0, 0, 0);
        d.check(Some("b"), "s", b"x", 1, 11 * S, 11 * S);
        assert_eq!(
            d.check(Some("a"), "s", b"x", 2, 11 * S, 11 * S),
            None,
            "a expired"
        );
        assert!(d.check(Some("b"), "s", b"x", 3, 12 * S, 12 * S).is_some());
        assert_eq!(d.evicted(), 0, "expiry is not eviction");
    }

    #[test]
    fn an_id_outside_the_window_is_gone_whatever_the_arrival_order() {
        let mut d = Dedup::new(DedupConfig {
            window: Duration::from_secs(10),
            ..DedupConfig::default()
        });
        d.check(Some("a"), "s", b"x", 0, 1000 * S, 1000 * S);
        d.check(Some("b"), "s", b"x", 1, 0, 1000 * S); // old event time, behind a
        d.check(Some("c"), "s", b"x", 2, 1000 * S, 1000 * S);
        assert_eq!(
            d.check(Some("b"), "s", b"y", 3, 900 * S, 1000 * S),
            None,
            "b's original is 1000 s old"
        );
    }

    #[test]
    fn a_time_from_the_future_does_not_break_the_window() {
        let mut d = Dedup::new(DedupConfig {
            window: Duration::from_secs(120),
            ..DedupConfig::default()
        });
        let far = 7_000_000_000 * S; // year 2191
        d.check(Some("future"), "s", b"x", 0, far, 0);
        d.check(Some("a"), "s", b"x", 1, 10 * S, 10 * S);
        assert!(
            d.check(Some("a"), "s", b"x", 2, 20 * S, 20 * S).is_some(),
            "still within 2 minutes"
        );
        assert_eq!(
            d.check(Some("a"), "s", b"x", 3, 600 * S, 600 * S),
            None,
            "10 minutes later: forgotten"
        );
        d.check(Some("z"), "s", b"x", 4, 700 * S, 700 * S);
        assert!(
            d.check(Some("z"), "s", b"x", 5, 701 * S, 701 * S).is_some(),
            "detection goes on"
        );
    }

    #[test]
    fn max_ids_evicts_the_oldest_and_counts_it() {
        let mut d = Dedup::new(DedupConfig {
            max_ids: 2,
            ..DedupConfig::default()
        });
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            d.check(Some(id), "s", b"x", i as u64, 0, 0);
        }
        assert_eq!(d.evicted(), 1);
        assert_eq!(d.remembered(), 2);
        assert_eq!(
            d.check(Some("a"), "s", b"x", 3, 0, 0),
            None,
            "a was evicted"
        );
        assert!(d.check(Some("c"), "s", b"x", 4, 0, 0).is_some());
    }

    #[test]
    fn by_payload_needs_no_id() {
        let mut d = Dedup::new(DedupConfig {
            by: DedupBy::Payload,
            ..DedupConfig::default()
        });
        assert_eq!(d.check(None, "s", b"x", 0, 0, 0), None);
        assert!(d.check(None, "s", b"x", 1, 0, 0).unwrap().identical);
        assert_eq!(
            d.check(None, "t", b"x", 2, 0, 0),
            None,
            "other subject, other event"
        );
        let mut by_id = Dedup::new(DedupConfig::default());
        assert_eq!(by_id.check(None, "s", b"x", 0, 0, 0), None);
        assert_eq!(by_id.check(None, "s", b"x", 1, 0, 0), None);
        assert_eq!(by_id.without_id(), 2);
    }
}
