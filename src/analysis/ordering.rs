//! Per-key sequence tracking: out-of-order events, gaps, and resets.
//!
//! For events with a key and an integer sequence (duplicates and
//! redeliveries are not fed here):
//! - out of order: the sequence is lower than the highest already seen for
//!   the key; how late is told by sequence (`highest − seq`) and by time
//!   (since the event with the highest sequence arrived);
//! - gap: a jump above `highest + 1` opens a range of missing numbers; a late
//!   arrival fills its number; `missing` counts numbers never seen between
//!   the lowest and highest seen per key, `open` the missing ranges;
//! - reset: a sequence number that was already seen for the key (by another
//!   event) means its sequence restarted; tracking of the key starts over
//!   from it and the event is not counted as out of order.
//!
//! A gap whose missing numbers would have arrived while flowscope was
//! blind (it dropped events, or was disconnected) is *unverifiable*: its
//! numbers are kept apart from `missing` and `open`, in
//! `unverifiable_missing` and `unverifiable_open`, because flowscope cannot
//! tell them from its own loss. A gap found before the blindness was
//! known can be marked so later ([`Ordering::reclassify`]).
//!
//! Bounded: at most `max_keys` keys (the least recently seen are forgotten,
//! counted) and
//! [`MAX_RANGES_PER_KEY`] missing ranges per key (the lowest are dropped,
//! counted).

use std::num::NonZeroUsize;

use lru::LruCache;

use super::blind::{Blindness, Why};

/// Default cap on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;
/// Missing ranges remembered per key.
pub const MAX_RANGES_PER_KEY: usize = 256;

/// One key's state: 40 bytes, the rest only for keys with gaps (a
/// million keys are tracked by default).
#[derive(Debug, Clone)]
struct KeyState {
    lowest: i64,
    highest: i64,
    highest_index: u64,
    highest_received_ns: i64,
    gaps: Option<Box<Gaps>>,
}

/// What a key with missing numbers also keeps.
#[derive(Debug, Clone)]
struct Gaps {
    /// The key as the events carry it (for reports).
    name: Box<str>,
    /// Missing inclusive ranges, ascending, disjoint.
    missing: Vec<Range>,
    /// Numbers up to here were in ranges dropped for the per-key cap: whether
    /// they were seen is unknown, so they never count as a reset.
    floor: Option<i64>,
}

/// Missing numbers `from..=to` of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    from: i64,
    to: i64,
    /// flowscope was blind when they would have come.
    unverifiable: bool,
    /// Receive times of the numbers seen either side when it opened.
    before_ns: i64,
    after_ns: i64,
}

impl KeyState {
    fn seen(&self, seq: i64) -> bool {
        seq >= self.lowest
            && seq <= self.highest
            && self.gaps.as_ref().is_none_or(|g| {
                g.floor.is_none_or(|f| seq > f)
                    && !g.missing.iter().any(|r| seq >= r.from && seq <= r.to)
            })
    }

    fn missing(&self) -> &[Range] {
        self.gaps.as_ref().map_or(&[], |g| &g.missing)
    }
}

/// A key's place in the table: its keyed hash (two keys collide with a
/// chance of about n²/2^65, 3·10^-8 for a million keys).
fn slot(key: &str) -> u64 {
    super::keyed_hash(3, key.as_bytes())
}

/// What one sequence number meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqOutcome {
    /// The first number seen for the key, or the next one.
    InOrder,
    /// Numbers `from..=to` were skipped; `previous` carried the number
    /// before; `blind` says why flowscope cannot vouch for it, when it was
    /// blind in between.
    Gap {
        from: i64,
        to: i64,
        previous: u64,
        /// When the number before was received.
        previous_ns: i64,
        blind: Option<Why>,
    },
    /// Lower than the highest seen.
    OutOfOrder {
        highest: i64,
        /// The event with the highest sequence, which overtook this one.
        overtaken_by: u64,
        /// Receive time since `overtaken_by` arrived.
        late_ns: i64,
    },
    /// The number was already seen: the key's sequence restarted.
    Reset { previous_highest: i64 },
}

/// An open gap, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenGap {
    pub key: String,
    pub from: i64,
    pub to: i64,
}

/// Sequence state of every key; the least recently seen keys are forgotten
/// first.
#[derive(Clone)]
pub struct Ordering {
    keys: LruCache<u64, KeyState, std::hash::BuildHasherDefault<super::Prehashed>>,
    missing: u64,
    open: u64,
    unverifiable_missing: u64,
    unverifiable_open: u64,
    evicted_keys: u64,
    dropped_ranges: u64,
}

impl std::fmt::Debug for Ordering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ordering")
            .field("keys", &self.keys.len())
            .field("missing", &self.missing)
            .field("open", &self.open)
            .finish()
    }
}

impl Default for Ordering {
    fn default() -> Self {
        Ordering::new(DEFAULT_MAX_KEYS)
    }
}

fn width(a: i64, b: i64) -> u64 {
    (b as i128 - a as i128 + 1).clamp(0, u64::MAX as i128) as u64
}

impl Ordering {
    /// Roughly the bytes a copy of this state takes: the cache's table
    /// (allocated for its capacity), and per key its node, the key text and
    /// its missing ranges (sampled).
    pub fn approx_bytes(&self) -> usize {
        let table = self.keys.cap().get() * 18;
        let n = self.keys.len();
        if n == 0 {
            return table;
        }
        let sample = 64.min(n);
        let per_key: usize = self
            .keys
            .iter()
            .take(sample)
            .map(|(_, v)| {
                v.gaps.as_ref().map_or(0, |g| {
                    std::mem::size_of::<Gaps>()
                        + g.name.len()
                        + g.missing.capacity() * std::mem::size_of::<Range>()
                })
            })
            .sum::<usize>()
            / sample;
        // A node holds the key, the state and two links.
        table + n * (per_key + std::mem::size_of::<KeyState>() + 24)
    }

    pub fn new(max_keys: usize) -> Self {
        Ordering {
            keys: LruCache::with_hasher(
                NonZeroUsize::new(max_keys.max(1)).expect("at least 1"),
                Default::default(),
            ),
            missing: 0,
            open: 0,
            unverifiable_missing: 0,
            unverifiable_open: 0,
            evicted_keys: 0,
            dropped_ranges: 0,
        }
    }

    /// Records `seq` for `key`, carried by event `index` received at
    /// `received_ns`; `blind` says when flowscope may have missed events.
    pub fn observe(
        &mut self,
        key: &str,
        seq: i64,
        index: u64,
        received_ns: i64,
        blind: &Blindness,
    ) -> SeqOutcome {
        let k = slot(key);
        let Some(st) = self.keys.get_mut(&k) else {
            self.insert(k, seq, index, received_ns);
            return SeqOutcome::InOrder;
        };
        let before_ns = st.highest_received_ns;
        if st.seen(seq) {
            let previous_highest = st.highest;
            self.forget_ranges(k);
            let st = self.keys.get_mut(&k).expect("present");
            st.lowest = seq;
            st.highest = seq;
            st.highest_index = index;
            st.highest_received_ns = received_ns;
            return SeqOutcome::Reset { previous_highest };
        }
        if seq > st.highest {
            let previous = st.highest_index;
            let (from, to) = (st.highest + 1, seq - 1);
            st.highest = seq;
            st.highest_index = index;
            st.highest_received_ns = received_ns;
            if from <= to {
                let blind = blind.overlapping(before_ns, received_ns).map(|w| w.why);
                let r = (from, to, blind.is_some());
                self.add_range((k, key), r, (before_ns, received_ns));
                return SeqOutcome::Gap {
                    from,
                    to,
                    previous,
                    previous_ns: before_ns,
                    blind,
                };
            }
            return SeqOutcome::InOrder;
        }
        // Lower than the highest: late.
        let outcome = SeqOutcome::OutOfOrder {
            highest: st.highest,
            overtaken_by: st.highest_index,
            late_ns: received_ns - st.highest_received_ns,
        };
        if seq < st.lowest {
            let (from, to) = (seq + 1, st.lowest - 1);
            st.lowest = seq;
            if from <= to {
                self.add_range((k, key), (from, to, false), (received_ns, received_ns));
            }
        } else {
            self.fill(k, seq);
        }
        outcome
    }

    fn insert(&mut self, k: u64, seq: i64, index: u64, received_ns: i64) {
        let state = KeyState {
            lowest: seq,
            highest: seq,
            highest_index: index,
            highest_received_ns: received_ns,
            gaps: None,
        };
        if let Some((_, old)) = self.keys.push(k, state) {
            self.drop_counts(old.missing());
            self.evicted_keys += 1;
        }
    }

    /// The counters a range counts in: (missing numbers, open ranges).
    fn counters(&mut self, unverifiable: bool) -> (&mut u64, &mut u64) {
        if unverifiable {
            (&mut self.unverifiable_missing, &mut self.unverifiable_open)
        } else {
            (&mut self.missing, &mut self.open)
        }
    }

    /// Counts (or uncounts) `ranges` ranges of `numbers` numbers.
    fn count(&mut self, unverifiable: bool, numbers: u64, ranges: u64, add: bool) {
        let (missing, open) = self.counters(unverifiable);
        if add {
            *missing = missing.saturating_add(numbers);
            *open += ranges;
        } else {
            *missing = missing.saturating_sub(numbers);
            *open = open.saturating_sub(ranges);
        }
    }

    fn drop_counts(&mut self, ranges: &[Range]) {
        for r in ranges {
            self.count(r.unverifiable, width(r.from, r.to), 1, false);
        }
    }

    /// Adds the missing range `(from, to, unverifiable)` to the key `(slot,
    /// name)`, opened between numbers received at `times`.
    fn add_range(&mut self, key: (u64, &str), range: (i64, i64, bool), times: (i64, i64)) {
        let (from, to, unverifiable) = range;
        let st = self.keys.get_mut(&key.0).expect("present");
        let g = st.gaps.get_or_insert_with(|| {
            Box::new(Gaps {
                name: key.1.into(),
                missing: Vec::new(),
                floor: None,
            })
        });
        let pos = g.missing.partition_point(|r| r.from < from);
        g.missing.insert(
            pos,
            Range {
                from,
                to,
                unverifiable,
                before_ns: times.0,
                after_ns: times.1,
            },
        );
        let dropped = (g.missing.len() > MAX_RANGES_PER_KEY).then(|| {
            let r = g.missing.remove(0);
            g.floor = Some(g.floor.map_or(r.to, |f| f.max(r.to)));
            r
        });
        self.count(unverifiable, width(from, to), 1, true);
        if let Some(r) = dropped {
            self.count(r.unverifiable, width(r.from, r.to), 1, false);
            self.dropped_ranges += 1;
        }
    }

    fn fill(&mut self, k: u64, seq: i64) {
        let Some(g) = self.keys.get_mut(&k).and_then(|st| st.gaps.as_mut()) else {
            return;
        };
        let missing = &mut g.missing;
        let Some(i) = missing.iter().position(|r| seq >= r.from && seq <= r.to) else {
            return;
        };
        let r = missing[i];
        let ranges_delta: i8 = match (seq == r.from, seq == r.to) {
            (true, true) => {
                missing.remove(i);
                -1
            }
            (true, false) => {
                missing[i].from = seq + 1;
                0
            }
            (false, true) => {
                missing[i].to = seq - 1;
                0
            }
            (false, false) => {
                missing[i].to = seq - 1;
                missing.insert(i + 1, Range { from: seq + 1, ..r });
                1
            }
        };
        self.count(r.unverifiable, 1, 0, false);
        match ranges_delta {
            -1 => self.count(r.unverifiable, 0, 1, false),
            1 => self.count(r.unverifiable, 0, 1, true),
            _ => {}
        }
    }

    /// Marks the missing numbers of `key` within `from..=to` unverifiable
    /// (flowscope turned out to have been blind when they would have
    /// come); returns how many numbers moved.
    pub fn reclassify(&mut self, key: &str, from: i64, to: i64) -> u64 {
        let Some(g) = self
            .keys
            .peek_mut(&slot(key))
            .and_then(|st| st.gaps.as_mut())
        else {
            return 0;
        };
        let mut moved = Vec::new();
        for r in g.missing.iter_mut() {
            if !r.unverifiable && r.from >= from && r.to <= to {
                r.unverifiable = true;
                moved.push(width(r.from, r.to));
            }
        }
        let numbers: u64 = moved.iter().sum();
        self.count(false, numbers, moved.len() as u64, false);
        self.count(true, numbers, moved.len() as u64, true);
        numbers
    }

    /// Marks unverifiable every missing range of any key that opened
    /// between numbers received around `from_ns..=to_ns` (a look at every
    /// key: for blindness older than the gaps [`Ordering::reclassify`] is
    /// told of). Returns the ranges moved.
    pub fn reclassify_between(&mut self, from_ns: i64, to_ns: i64) -> u64 {
        let (mut numbers, mut ranges) = (0u64, 0u64);
        for g in self.keys.iter_mut().filter_map(|(_, st)| st.gaps.as_mut()) {
            for r in g.missing.iter_mut() {
                if !r.unverifiable && r.before_ns <= to_ns && r.after_ns >= from_ns {
                    r.unverifiable = true;
                    numbers = numbers.saturating_add(width(r.from, r.to));
                    ranges += 1;
                }
            }
        }
        self.count(false, numbers, ranges, false);
        self.count(true, numbers, ranges, true);
        ranges
    }

    fn forget_ranges(&mut self, k: u64) {
        if let Some(g) = self.keys.get_mut(&k).and_then(|st| st.gaps.take()) {
            self.drop_counts(&g.missing);
        }
    }

    /// Numbers never seen between the lowest and highest seen, over all keys.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Missing ranges over all keys.
    pub fn open(&self) -> u64 {
        self.open
    }

    /// Missing numbers flowscope cannot vouch for (it was blind then).
    pub fn unverifiable_missing(&self) -> u64 {
        self.unverifiable_missing
    }

    /// Their ranges.
    pub fn unverifiable_open(&self) -> u64 {
        self.unverifiable_open
    }

    pub fn evicted_keys(&self) -> u64 {
        self.evicted_keys
    }

    /// Missing ranges forgotten because a key had too many.
    pub fn dropped_ranges(&self) -> u64 {
        self.dropped_ranges
    }

    pub fn tracked_keys(&self) -> usize {
        self.keys.len()
    }

    /// Up to `limit` open gaps, by key.
    pub fn open_gaps(&self, limit: usize) -> Vec<OpenGap> {
        let mut keys: Vec<&Gaps> = self
            .keys
            .iter()
            .filter_map(|(_, s)| s.gaps.as_deref())
            .filter(|g| g.missing.iter().any(|r| !r.unverifiable))
            .collect();
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        keys.into_iter()
            .flat_map(|g| {
                g.missing
                    .iter()
                    .filter(|r| !r.unverifiable)
                    .map(move |r| OpenGap {
                        key: g.name.to_string(),
                        from: r.from,
                        to: r.to,
                    })
            })
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NONE: std::sync::LazyLock<Blindness> = std::sync::LazyLock::new(Blindness::default);

    #[test]
    fn in_order_and_gaps() {
        let mut o = Ordering::default();
        assert_eq!(o.observe("k", 1, 10, 0, &NONE), SeqOutcome::InOrder);
        assert_eq!(o.observe("k", 2, 11, 0, &NONE), SeqOutcome::InOrder);
        assert_eq!(
            o.observe("k", 5, 12, 0, &NONE),
            SeqOutcome::Gap {
                from: 3,
                to: 4,
                previous: 11,
                previous_ns: 0,
                blind: None,
            }
        );
        assert_eq!((o.missing(), o.open()), (2, 1));
        // A late 4 fills its number and is out of order.
        let late = o.observe("k", 4, 13, 7, &NONE);
        assert_eq!(
            late,
            SeqOutcome::OutOfOrder {
                highest: 5,
                overtaken_by: 12,
                late_ns: 7
            }
        );
        assert_eq!((o.missing(), o.open()), (1, 1));
        assert_eq!(
            o.open_gaps(10),
            vec![OpenGap {
                key: "k".into(),
                from: 3,
                to: 3
            }]
        );
    }

    #[test]
    fn gaps_while_blind_are_kept_apart_and_can_be_moved_later() {
        let mut blind = Blindness::default();
        blind.add(15, 25, Why::QueueDropped);
        let mut o = Ordering::default();
        o.observe("k", 1, 0, 10, &blind);
        assert!(matches!(
            o.observe("k", 3, 1, 30, &blind),
            SeqOutcome::Gap {
                blind: Some(Why::QueueDropped),
                ..
            }
        ));
        o.observe("k", 6, 2, 40, &blind);
        o.observe("j", 1, 3, 41, &blind);
        o.observe("j", 5, 4, 50, &blind);
        assert_eq!((o.missing(), o.unverifiable_missing()), (5, 1));
        assert_eq!(o.open_gaps(10).len(), 2, "only what flowscope vouches for");
        // Learned late: blind from 45 to 46 too (j's gap, not k's).
        assert_eq!(o.reclassify_between(45, 46), 1);
        assert_eq!((o.missing(), o.unverifiable_missing()), (2, 4));
        assert_eq!((o.open(), o.unverifiable_open()), (1, 2));
        // A late arrival fills an unverifiable number like any other.
        o.observe("j", 3, 5, 60, &blind);
        assert_eq!((o.unverifiable_missing(), o.unverifiable_open()), (3, 3));
    }

    #[test]
    fn a_late_arrival_inside_a_range_splits_it() {
        let mut o = Ordering::default();
        o.observe("k", 1, 0, 0, &NONE);
        o.observe("k", 10, 1, 0, &NONE);
        assert_eq!((o.missing(), o.open()), (8, 1));
        o.observe("k", 5, 2, 0, &NONE);
        assert_eq!((o.missing(), o.open()), (7, 2));
        assert_eq!(
            o.open_gaps(10)
                .iter()
                .map(|g| (g.from, g.to))
                .collect::<Vec<_>>(),
            vec![(2, 4), (6, 9)]
        );
    }

    #[test]
    fn below_the_lowest_is_late_and_opens_the_range_between() {
        let mut o = Ordering::default();
        o.observe("k", 5, 0, 0, &NONE);
        assert!(matches!(
            o.observe("k", 2, 1, 0, &NONE),
            SeqOutcome::OutOfOrder { highest: 5, .. }
        ));
        assert_eq!((o.missing(), o.open()), (2, 1), "3 and 4 are missing");
    }

    #[test]
    fn a_number_seen_again_is_a_reset_and_tracking_restarts() {
        let mut o = Ordering::default();
        for (i, s) in [1, 2, 3, 6].into_iter().enumerate() {
            o.observe("k", s, i as u64, 0, &NONE);
        }
        assert_eq!(o.missing(), 2);
        assert_eq!(
            o.observe("k", 1, 9, 0, &NONE),
            SeqOutcome::Reset {
                previous_highest: 6
            }
        );
        assert_eq!(
            (o.missing(), o.open()),
            (0, 0),
            "the old gap belongs to the old sequence"
        );
        assert_eq!(o.observe("k", 2, 10, 0, &NONE), SeqOutcome::InOrder);
    }

    #[test]
    fn keys_are_independent_and_bounded() {
        let mut o = Ordering::new(2);
        o.observe("a", 1, 0, 0, &NONE);
        o.observe("a", 3, 1, 0, &NONE);
        o.observe("b", 1, 2, 0, &NONE);
        o.observe("c", 1, 3, 0, &NONE); // evicts a, and its gap with it
        assert_eq!(o.tracked_keys(), 2);
        assert_eq!(o.evicted_keys(), 1);
        assert_eq!(o.missing(), 0);
        assert_eq!(
            o.observe("a", 7, 4, 0, &NONE),
            SeqOutcome::InOrder,
            "a starts over"
        );
    }

    #[test]
    fn ranges_per_key_are_bounded() {
        let mut o = Ordering::default();
        for i in 0..(MAX_RANGES_PER_KEY as i64 + 10) {
            o.observe("k", i * 2, i as u64, 0, &NONE);
        }
        assert_eq!(o.open(), MAX_RANGES_PER_KEY as u64);
        assert_eq!(o.missing(), MAX_RANGES_PER_KEY as u64);
        assert_eq!(o.dropped_ranges(), 9);
    }

    #[test]
    fn numbers_in_dropped_ranges_are_late_not_a_reset() {
        let mut o = Ordering::default();
        for i in 0..300 {
            o.observe("k", i * 2, i as u64, 0, &NONE);
        }
        assert!(matches!(
            o.observe("k", 1, 999, 0, &NONE),
            SeqOutcome::OutOfOrder { .. }
        ));
        assert!(o.missing() > 0, "the key was not wiped");
    }

    #[test]
    fn the_least_recently_seen_key_is_forgotten() {
        let mut o = Ordering::new(2);
        o.observe("busy", 1, 0, 0, &NONE);
        o.observe("idle", 1, 1, 0, &NONE);
        o.observe("busy", 3, 2, 0, &NONE); // busy has a gap and was seen last
        o.observe("new", 1, 3, 0, &NONE); // evicts idle, not busy
        assert_eq!(o.missing(), 1, "busy kept its gap");
        assert_eq!(
            o.observe("busy", 2, 4, 0, &NONE),
            SeqOutcome::OutOfOrder {
                highest: 3,
                overtaken_by: 2,
                late_ns: 0
            }
        );
    }

    #[test]
    fn extreme_sequences_do_not_overflow() {
        let mut o = Ordering::default();
        o.observe("k", i64::MIN, 0, 0, &NONE);
        o.observe("k", i64::MAX, 1, 0, &NONE);
        assert_eq!(o.missing(), u64::MAX - 1);
    }
}
