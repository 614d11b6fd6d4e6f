//! When flowscope was blind: the windows of time in which it may have
//! missed events of the system, because it dropped them itself (the NATS
//! client's buffer or its own queue was full) or because it was not
//! connected. A finding whose evidence falls in such a window (a sequence
//! gap, a saga that seems stuck) cannot be told from flowscope's own loss,
//! so it is reported as unverifiable, never as a fault of the system.
//!
//! Bounded: at most [`MAX_WINDOWS`]; beyond it the oldest two are merged.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Windows kept.
pub const MAX_WINDOWS: usize = 4_096;

/// Why flowscope was blind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The NATS client dropped messages (its subscription buffer was full).
    ClientDropped,
    /// flowscope's own ingest queue was full.
    QueueDropped,
    /// The connection was lost.
    Disconnected,
}

impl Why {
    const ALL: [Why; 3] = [Why::ClientDropped, Why::QueueDropped, Why::Disconnected];

    fn slot(self) -> usize {
        match self {
            Why::ClientDropped => 0,
            Why::QueueDropped => 1,
            Why::Disconnected => 2,
        }
    }

    /// In words, for reports and views.
    pub fn label(self) -> &'static str {
        match self {
            Why::ClientDropped => "the NATS client dropped messages (slow consumer)",
            Why::QueueDropped => "flowscope's ingest queue was full",
            Why::Disconnected => "the connection was lost",
        }
    }
}

/// A time in which events may have been missed (ns since the epoch, both
/// ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindWindow {
    pub from_ns: i64,
    pub to_ns: i64,
    pub why: Why,
}

/// Every window in which flowscope was blind, in time order.
#[derive(Debug, Clone, Default)]
pub struct Blindness {
    windows: VecDeque<BlindWindow>,
    /// Per reason, the union of its windows: sorted, disjoint, so that a
    /// look-up is a binary search however many windows there are (the
    /// sagas view asks once per instance).
    unions: [Vec<(i64, i64)>; 3],
    /// Blind since then for this reason, until further notice (at most one
    /// per reason).
    open: Vec<(i64, Why)>,
}

/// Adds `from..=to` to the sorted, disjoint intervals `u`, merging what it
/// meets; beyond [`MAX_WINDOWS`] the oldest two merge (blind for longer,
/// never for less).
fn unite(u: &mut Vec<(i64, i64)>, from: i64, to: i64) {
    let first = u.partition_point(|iv| iv.1 < from);
    let last = u.partition_point(|iv| iv.0 <= to);
    if first < last {
        let merged = (u[first].0.min(from), u[last - 1].1.max(to));
        u.splice(first..last, [merged]);
    } else {
        u.insert(first, (from, to));
    }
    if u.len() > MAX_WINDOWS {
        let b = u.remove(1);
        u[0].1 = u[0].1.max(b.1);
    }
}

impl Blindness {
    /// Notes that events may have been missed from `from_ns` to `to_ns`.
    pub fn add(&mut self, from_ns: i64, to_ns: i64, why: Why) {
        let (from_ns, to_ns) = (from_ns.min(to_ns), from_ns.max(to_ns));
        unite(&mut self.unions[why.slot()], from_ns, to_ns);
        if let Some(last) = self.windows.back_mut()
            && last.why == why
            && from_ns <= last.to_ns
            && to_ns >= last.from_ns
        {
            last.from_ns = last.from_ns.min(from_ns);
            last.to_ns = last.to_ns.max(to_ns);
            return;
        }
        let at = self.windows.partition_point(|w| w.from_ns <= from_ns);
        self.windows.insert(
            at,
            BlindWindow {
                from_ns,
                to_ns,
                why,
            },
        );
        if self.windows.len() > MAX_WINDOWS
            && let (Some(a), Some(b)) = (self.windows.pop_front(), self.windows.pop_front())
        {
            self.windows.push_front(BlindWindow {
                from_ns: a.from_ns.min(b.from_ns),
                to_ns: a.to_ns.max(b.to_ns),
                why: a.why,
            });
        }
    }

    /// Blind for reason `why` from `at` until [`Blindness::close`] (an
    /// earlier start already open is kept).
    pub fn open(&mut self, at: i64, why: Why) {
        match self.open.iter_mut().find(|(_, w)| *w == why) {
            Some(o) => o.0 = o.0.min(at),
            None => self.open.push((at, why)),
        }
    }

    /// Sees again at `at` what `why` hid; returns the window that ends.
    pub fn close(&mut self, why: Why, at: i64) -> Option<BlindWindow> {
        let pos = self.open.iter().position(|(_, w)| *w == why)?;
        let (from, _) = self.open.swap_remove(pos);
        self.add(from, at, why);
        Some(BlindWindow {
            from_ns: from.min(at),
            to_ns: at.max(from),
            why,
        })
    }

    /// Since when a window for `why` is open, if one is.
    pub fn open_since(&self, why: Why) -> Option<i64> {
        self.open.iter().find(|(_, w)| *w == why).map(|(at, _)| *at)
    }

    /// The first window that meets `from_ns..=to_ns`, if any (a window still
    /// open counts up to any time).
    pub fn overlapping(&self, from_ns: i64, to_ns: i64) -> Option<BlindWindow> {
        self.find(from_ns, to_ns, |_| true)
    }

    /// The first window for reason `why` that meets `from_ns..=to_ns`.
    pub fn overlapping_for(&self, from_ns: i64, to_ns: i64, why: Why) -> Option<BlindWindow> {
        self.find(from_ns, to_ns, |w| w == why)
    }

    fn find(&self, from_ns: i64, to_ns: i64, want: impl Fn(Why) -> bool) -> Option<BlindWindow> {
        if let Some(&(at, why)) = self.open.iter().find(|(at, w)| want(*w) && to_ns >= *at) {
            return Some(BlindWindow {
                from_ns: at,
                to_ns: i64::MAX,
                why,
            });
        }
        // Per reason, the first stretch that ends at or after `from_ns`
        // meets the interval if it starts by `to_ns`; the latest wins.
        Why::ALL
            .into_iter()
            .filter(|w| want(*w))
            .filter_map(|why| {
                let u = &self.unions[why.slot()];
                let iv = u.get(u.partition_point(|iv| iv.1 < from_ns))?;
                (iv.0 <= to_ns).then_some(BlindWindow {
                    from_ns: iv.0,
                    to_ns: iv.1,
                    why,
                })
            })
            .max_by_key(|w| w.from_ns)
    }

    /// Whether it was blind at some time since `since_ns`.
    pub fn since(&self, since_ns: i64) -> bool {
        !self.open.is_empty() || self.windows.iter().rev().any(|w| w.to_ns >= since_ns)
    }

    /// The latest time it was blind: `i64::MAX` while a window is open.
    pub fn last_ns(&self) -> Option<i64> {
        if !self.open.is_empty() {
            return Some(i64::MAX);
        }
        self.windows.iter().map(|w| w.to_ns).max()
    }

    /// The windows still open, ending at `i64::MAX`.
    pub fn still_open(&self) -> impl Iterator<Item = BlindWindow> + '_ {
        self.open.iter().map(|&(from_ns, why)| BlindWindow {
            from_ns,
            to_ns: i64::MAX,
            why,
        })
    }

    /// Every window, oldest first.
    pub fn windows(&self) -> impl Iterator<Item = &BlindWindow> {
        self.windows.iter()
    }

    /// Time blind in all (ns), closed windows only.
    pub fn total_ns(&self) -> i64 {
        self.windows.iter().map(|w| w.to_ns - w.from_ns).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_meet_intervals_that_touch_them() {
        let mut b = Blindness::default();
        b.add(100, 200, Why::QueueDropped);
        b.add(500, 600, Why::ClientDropped);
        assert!(b.overlapping(150, 160).is_some());
        assert!(b.overlapping(50, 100).is_some(), "ends included");
        assert!(b.overlapping(201, 499).is_none());
        assert_eq!(b.overlapping(550, 900).unwrap().why, Why::ClientDropped);
        assert!(b.overlapping(0, 99).is_none());
    }

    #[test]
    fn overlapping_windows_of_one_cause_merge_and_the_count_is_bounded() {
        let mut b = Blindness::default();
        b.add(100, 200, Why::QueueDropped);
        b.add(150, 300, Why::QueueDropped);
        assert_eq!(b.windows().count(), 1);
        assert_eq!(b.total_ns(), 200);
        for i in 0..(MAX_WINDOWS as i64 + 10) {
            b.add(1_000 + i * 10, 1_000 + i * 10 + 1, Why::ClientDropped);
        }
        assert_eq!(b.windows().count(), MAX_WINDOWS);
        assert!(b.overlapping(120, 130).is_some(), "merged, still covered");
    }

    #[test]
    fn look_ups_agree_with_every_window_whatever_their_order() {
        // Windows of three causes, out of order and overlapping; every
        // look-up must agree with a check of each window (the union per
        // cause is searched, not the list).
        let mut b = Blindness::default();
        let mut all = Vec::new();
        let mut x: u64 = 7;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        for _ in 0..500 {
            let from = next(100_000) as i64;
            let to = from + next(300) as i64;
            let why = Why::ALL[next(3) as usize];
            b.add(from, to, why);
            all.push((from, to, why));
        }
        for _ in 0..2_000 {
            let from = next(100_500) as i64;
            let to = from + next(500) as i64;
            let meets = |w: &&(i64, i64, Why)| w.0 <= to && w.1 >= from;
            assert_eq!(
                b.overlapping(from, to).is_some(),
                all.iter().any(|w| meets(&w))
            );
            let why = Why::ALL[next(3) as usize];
            let found = b.overlapping_for(from, to, why);
            assert_eq!(
                found.is_some(),
                all.iter().filter(|w| w.2 == why).any(|w| meets(&w)),
                "{from}..{to} {why:?}"
            );
            if let Some(w) = found {
                assert!(w.from_ns <= to && w.to_ns >= from && w.why == why);
            }
        }
    }

    #[test]
    fn a_lost_connection_is_blind_until_it_is_back() {
        let mut b = Blindness::default();
        b.open(1_000, Why::Disconnected);
        assert!(b.overlapping(5_000, 6_000).is_some());
        assert!(b.since(0));
        assert!(
            b.close(Why::QueueDropped, 1_500).is_none(),
            "not open for that"
        );
        let w = b.close(Why::Disconnected, 2_000).unwrap();
        assert_eq!((w.from_ns, w.to_ns), (1_000, 2_000));
        assert!(b.overlapping(5_000, 6_000).is_none());
        assert!(b.overlapping(1_500, 1_600).is_some());
    }
}

/// What the engine makes of blindness: findings in it are set apart.
#[cfg(test)]
mod engine_tests {
    use super::*;
    use crate::analysis::anomalies::AnomalyKind;
    use crate::analysis::saga::SagaState;
    use crate::analysis::{Engine, EngineConfig, LinkEvent};
    use crate::envelope::Envelope;

    const S: i64 = 1_000_000_000;

    fn tick(t_sec: i64, seq: i64) -> Envelope {
        let payload = format!(r#"{{"id":"e-{seq}","aggregate_id":"k","seq":{seq}}}"#);
        Envelope::new(t_sec * S, "ticks", payload)
    }

    fn gaps(e: &Engine) -> (u64, u64, u64) {
        let d = e.detect();
        (
            d.ordering.missing(),
            d.ordering.unverifiable_missing(),
            d.log.count(AnomalyKind::Gap),
        )
    }

    #[test]
    fn a_gap_across_a_known_drop_is_unverifiable_not_missing() {
        let mut e = Engine::new(EngineConfig::default());
        e.ingest(tick(1, 1));
        e.blind(BlindWindow {
            from_ns: 2 * S,
            to_ns: 2 * S,
            why: Why::QueueDropped,
        });
        let flags = e.ingest(tick(3, 3));
        assert_eq!(gaps(&e), (0, 1, 0));
        assert!(flags.has(AnomalyKind::Unverifiable) && !flags.has(AnomalyKind::Gap));
        // A gap where flowscope saw everything is the system's.
        e.ingest(tick(5, 5));
        assert_eq!(gaps(&e), (1, 1, 1));
    }

    #[test]
    fn a_gap_found_before_the_drop_was_known_is_moved_afterwards() {
        let mut e = Engine::new(EngineConfig::default());
        e.ingest(tick(1, 1));
        e.ingest(tick(3, 3));
        e.ingest(tick(10, 4));
        assert_eq!(gaps(&e), (1, 0, 1));
        // The client's drop count comes late: it dropped around second 2.
        e.client_drops(5, 2 * S);
        let w = e.client_caught_up(2 * S + 1).unwrap();
        assert_eq!((w.from_ns, w.why), (2 * S, Why::ClientDropped));
        assert_eq!(gaps(&e), (0, 1, 0));
        e.ingest(tick(12, 6));
        assert_eq!(gaps(&e), (1, 1, 1), "the gap at second 12 is the system's");
        let snap = e.snapshot();
        let second = &snap.events[1];
        assert!(second.flags.has(AnomalyKind::Unverifiable));
        assert!(second.findings()[0].text.contains("slow consumer"));
        let recent = &snap.anomalies.recent;
        assert_eq!(recent[0].kind, AnomalyKind::Unverifiable);
        assert_eq!(recent[1].kind, AnomalyKind::Gap);
        assert_eq!(snap.status.blind_until_ns, Some(2 * S + 1));
    }

    #[test]
    fn a_copy_across_a_reconnection_is_unverifiable_but_not_across_a_drop() {
        let mut e = Engine::new(EngineConfig::default());
        e.ingest(tick(1, 1));
        e.link(LinkEvent::Disconnected, 2 * S);
        e.link(LinkEvent::Connected { version: None }, 3 * S);
        let flags = e.ingest(tick(4, 1));
        assert!(flags.has(AnomalyKind::Unverifiable), "{flags:?}");
        assert_eq!(e.detect().log.count(AnomalyKind::Duplicate), 0);
        e.ingest(tick(5, 2));
        e.blind(BlindWindow {
            from_ns: 6 * S,
            to_ns: 6 * S,
            why: Why::QueueDropped,
        });
        // A drop cannot make a copy: a duplicate seen across it is real.
        let flags = e.ingest(tick(7, 2));
        assert!(flags.has(AnomalyKind::Duplicate), "{flags:?}");
    }

    #[test]
    fn a_saga_quiet_while_flowscope_was_blind_is_unverifiable_not_stuck() {
        let analysis = crate::config::parse(
            r#"
[[sagas]]
name = "order"
steps = ["OrderCreated", "PaymentProcessed"]
timeout = "10s"
"#,
            "flowscope.toml",
        )
        .unwrap();
        let mut e = Engine::new(EngineConfig {
            analysis,
            ..EngineConfig::default()
        });
        let created = |id: &str| format!(r#"{{"type":"OrderCreated","correlation_id":"{id}"}}"#);
        e.ingest(Envelope::new(0, "orders", created("blind")));
        e.blind(BlindWindow {
            from_ns: 5 * S,
            to_ns: 6 * S,
            why: Why::ClientDropped,
        });
        e.ingest(Envelope::new(7 * S, "orders", created("seen")));
        // Sagas run on the system's time: any later event moves it.
        e.ingest(Envelope::new(30 * S, "other", "{}"));
        let book = e.sagas();
        let states: Vec<_> = book
            .instances()
            .map(|i| (i.id.as_str(), book.state(i)))
            .collect();
        assert_eq!(
            states,
            [
                ("blind", SagaState::Unverifiable),
                ("seen", SagaState::Stuck)
            ]
        );
    }
}
