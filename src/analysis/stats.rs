//! Rolling per-second counters: rates over the last few seconds and a
//! sparkline history, on the event clock (so replays show what live showed).
//!
//! A rate is the events counted over the time actually observed: the last
//! [`RATE_WINDOW_SECS`] seconds up to now, or since observation began when
//! that is shorter (one second into a session at 40 ev/s shows 40, not 8).

/// Seconds of history kept per meter (the sparkline width).
pub const HISTORY_SECS: usize = 60;
/// Rates are averaged over about this many seconds: the current second so
/// far and the ones before it.
pub const RATE_WINDOW_SECS: i64 = 5;

const NS_PER_SEC: i64 = 1_000_000_000;
/// Rates are taken over at least this long, so the first events of a
/// session do not read as a burst.
const MIN_SPAN_NS: i64 = NS_PER_SEC / 2;

/// The time a rate is taken over: up to `now_ns`, observed since
/// `since_ns` (both on the event clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub now_ns: i64,
    pub since_ns: i64,
}

impl Window {
    pub fn now_sec(self) -> i64 {
        self.now_ns.div_euclid(NS_PER_SEC)
    }

    /// The seconds counted (the current one included) and the time they
    /// span, in seconds; none when nothing was observed yet.
    fn span(self) -> Option<(std::ops::RangeInclusive<i64>, f64)> {
        let now_sec = self.now_sec();
        let first = (now_sec - RATE_WINDOW_SECS + 1).max(self.since_ns.div_euclid(NS_PER_SEC));
        let from_ns = (first * NS_PER_SEC).max(self.since_ns);
        let elapsed = self.now_ns - from_ns;
        (elapsed > 0).then_some((
            first..=now_sec,
            elapsed.max(MIN_SPAN_NS) as f64 / NS_PER_SEC as f64,
        ))
    }
}

/// Per-second message and byte counts for the last [`HISTORY_SECS`] seconds.
#[derive(Debug, Clone)]
pub struct RateMeter {
    /// Second (Unix) of the newest bucket.
    head_sec: i64,
    msgs: [u32; HISTORY_SECS],
    bytes: [u64; HISTORY_SECS],
}

impl Default for RateMeter {
    fn default() -> Self {
        RateMeter {
            head_sec: i64::MIN,
            msgs: [0; HISTORY_SECS],
            bytes: [0; HISTORY_SECS],
        }
    }
}

fn slot(sec: i64) -> usize {
    sec.rem_euclid(HISTORY_SECS as i64) as usize
}

impl RateMeter {
    /// Moves the head to `sec`, clearing the seconds in between.
    pub fn advance(&mut self, sec: i64) {
        if self.head_sec == i64::MIN {
            self.head_sec = sec;
            return;
        }
        if sec <= self.head_sec {
            return;
        }
        let gap = (sec - self.head_sec).min(HISTORY_SECS as i64);
        for s in (sec - gap + 1)..=sec {
            self.msgs[slot(s)] = 0;
            self.bytes[slot(s)] = 0;
        }
        self.head_sec = sec;
    }

    /// Counts one message of `bytes` received at second `sec`.
    pub fn add(&mut self, sec: i64, bytes: usize) {
        self.advance(sec);
        if sec <= self.head_sec - HISTORY_SECS as i64 {
            return; // older than the history we keep
        }
        let i = slot(sec);
        self.msgs[i] = self.msgs[i].saturating_add(1);
        self.bytes[i] += bytes as u64;
    }

    fn rate(&self, w: Window, values: impl Fn(usize) -> u64) -> f64 {
        let Some((secs, elapsed)) = w.span() else {
            return 0.0;
        };
        let sum: u64 = secs
            .filter(|s| *s <= self.head_sec && *s > self.head_sec - HISTORY_SECS as i64)
            .map(|s| values(slot(s)))
            .sum();
        sum as f64 / elapsed
    }

    /// Messages per second over the window.
    pub fn msg_rate(&self, w: Window) -> f64 {
        self.rate(w, |i| self.msgs[i] as u64)
    }

    /// Bytes per second over the window.
    pub fn byte_rate(&self, w: Window) -> f64 {
        self.rate(w, |i| self.bytes[i])
    }

    /// Messages per second for the [`HISTORY_SECS`] seconds up to `now_sec`,
    /// oldest first.
    pub fn history(&self, now_sec: i64) -> Vec<u32> {
        (now_sec - HISTORY_SECS as i64 + 1..=now_sec)
            .map(|s| {
                if s <= self.head_sec && s > self.head_sec - HISTORY_SECS as i64 {
                    self.msgs[slot(s)]
                } else {
                    0
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now_ms: i64, since_ms: i64) -> Window {
        Window {
            now_ns: now_ms * 1_000_000,
            since_ns: since_ms * 1_000_000,
        }
    }

    #[test]
    fn rate_over_the_last_seconds() {
        let mut m = RateMeter::default();
        for s in 100..105 {
            for _ in 0..10 {
                m.add(s, 100);
            }
        }
        assert_eq!(m.msg_rate(at(105_000, 0)), 10.0, "seconds 101 to 104");
        assert_eq!(m.byte_rate(at(105_000, 0)), 1000.0);
        for _ in 0..5 {
            m.add(105, 100);
        }
        assert_eq!(
            m.msg_rate(at(105_500, 0)),
            45.0 / 4.5,
            "half of second 105 counts"
        );
    }

    #[test]
    fn a_young_session_is_measured_over_its_own_time() {
        // 40 events a second since 100.3 s.
        let mut m = RateMeter::default();
        for i in 0..40 {
            m.add(if i < 28 { 100 } else { 101 }, 1);
        }
        let r = m.msg_rate(at(101_300, 100_300));
        assert!((r - 40.0).abs() < 0.01, "1 s in at 40 ev/s: {r}");
        assert_eq!(
            m.msg_rate(at(100_300, 100_300)),
            0.0,
            "nothing observed yet"
        );
    }

    #[test]
    fn idle_time_decays_the_rate() {
        let mut m = RateMeter::default();
        m.add(100, 1);
        assert_eq!(
            m.msg_rate(at(101_000, 0)),
            0.25,
            "1 event over seconds 97 to 100"
        );
        assert_eq!(m.msg_rate(at(200_000, 0)), 0.0);
    }

    #[test]
    fn history_is_oldest_first_and_clears_gaps() {
        let mut m = RateMeter::default();
        m.add(10, 1);
        m.add(12, 1);
        m.add(12, 1);
        let h = m.history(12);
        assert_eq!(h.len(), HISTORY_SECS);
        assert_eq!(&h[HISTORY_SECS - 3..], &[1, 0, 2]);
        m.add(12 + HISTORY_SECS as i64, 1);
        let h = m.history(12 + HISTORY_SECS as i64);
        assert_eq!(h.iter().sum::<u32>(), 1, "old buckets were cleared");
    }
}
