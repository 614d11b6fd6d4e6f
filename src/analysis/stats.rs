//! Rolling per-second counters: rates over the last few seconds and a
//! sparkline history, on the event clock (so replays show what live showed).

/// Seconds of history kept per meter (the sparkline width).
pub const HISTORY_SECS: usize = 60;
/// Rates are averaged over this many complete seconds.
pub const RATE_WINDOW_SECS: i64 = 5;

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

    fn sum_complete(&self, now_sec: i64, values: impl Fn(usize) -> u64) -> u64 {
        (now_sec - RATE_WINDOW_SECS..now_sec)
            .filter(|s| *s <= self.head_sec && *s > self.head_sec - HISTORY_SECS as i64)
            .map(|s| values(slot(s)))
            .sum()
    }

    /// Messages per second over the last complete seconds before `now_sec`.
    pub fn msg_rate(&self, now_sec: i64) -> f64 {
        self.sum_complete(now_sec, |i| self.msgs[i] as u64) as f64 / RATE_WINDOW_SECS as f64
    }

    /// Bytes per second over the last complete seconds before `now_sec`.
    pub fn byte_rate(&self, now_sec: i64) -> f64 {
        self.sum_complete(now_sec, |i| self.bytes[i]) as f64 / RATE_WINDOW_SECS as f64
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

    #[test]
    fn rate_over_complete_seconds() {
        let mut m = RateMeter::default();
        for s in 100..105 {
            for _ in 0..10 {
                m.add(s, 100);
            }
        }
        m.add(105, 1); // current, incomplete second is not counted
        assert_eq!(m.msg_rate(105), 10.0);
        assert_eq!(m.byte_rate(105), 1000.0);
    }

    #[test]
    fn idle_time_decays_the_rate() {
        let mut m = RateMeter::default();
        m.add(100, 1);
        assert_eq!(m.msg_rate(101), 0.2);
        assert_eq!(m.msg_rate(200), 0.0);
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
