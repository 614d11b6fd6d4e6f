//! The health verdict (rules in the module docs of [`super`]), its
//! thresholds, and the samples it is judged on.

use serde::{Deserialize, Serialize};

use super::poll::ConsumerState;

/// A consumer's health.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Health {
    Ok,
    #[default]
    Unknown,
    Warn,
    Stall,
    Stop,
    Rewind,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::Ok => "OK",
            Health::Unknown => "UNKNOWN",
            Health::Warn => "WARN",
            Health::Stall => "STALL",
            Health::Stop => "STOP",
            Health::Rewind => "REWIND",
        }
    }

    /// Worse first: REWIND, STOP, STALL, WARN, UNKNOWN, OK.
    pub fn severity(self) -> u8 {
        match self {
            Health::Rewind => 5,
            Health::Stop => 4,
            Health::Stall => 3,
            Health::Warn => 2,
            Health::Unknown => 1,
            Health::Ok => 0,
        }
    }
}

/// Thresholds of the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRules {
    /// Samples judged.
    pub window: usize,
    /// Lag at or under this counts as caught up.
    pub allowed_lag: u64,
}

impl Default for HealthRules {
    fn default() -> Self {
        HealthRules {
            window: 5,
            allowed_lag: 0,
        }
    }
}

/// Thresholds for one stream (and optionally one consumer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesOverride {
    pub stream: String,
    /// Every consumer of the stream when `None`.
    pub consumer: Option<String>,
    pub window: Option<usize>,
    pub allowed_lag: Option<u64>,
}

/// Global thresholds and per-stream/consumer overrides (the most specific wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LagConfig {
    pub rules: HealthRules,
    pub overrides: Vec<RulesOverride>,
}

impl LagConfig {
    /// The rules for one consumer.
    pub fn rules_for(&self, stream: &str, consumer: &str) -> HealthRules {
        let mut rules = self.rules;
        let specific = |o: &&RulesOverride| o.stream == stream;
        for o in self
            .overrides
            .iter()
            .filter(specific)
            .filter(|o| o.consumer.is_none())
            .chain(
                self.overrides
                    .iter()
                    .filter(specific)
                    .filter(|o| o.consumer.as_deref() == Some(consumer)),
            )
        {
            if let Some(w) = o.window {
                rules.window = w.max(2);
            }
            if let Some(a) = o.allowed_lag {
                rules.allowed_lag = a;
            }
        }
        rules
    }
}

/// One sample of a consumer's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    pub t: i64,
    pub unprocessed: u64,
    pub outstanding: u64,
    pub redelivered: u64,
    pub delivered_seq: u64,
    pub delivered_cseq: u64,
    pub ack_floor_seq: u64,
}

impl Sample {
    pub fn lag(&self) -> u64 {
        self.unprocessed.saturating_add(self.outstanding)
    }

    pub(super) fn of(t: i64, c: &ConsumerState) -> Sample {
        Sample {
            t,
            unprocessed: c.unprocessed,
            outstanding: c.outstanding,
            redelivered: c.redelivered,
            delivered_seq: c.delivered_seq,
            delivered_cseq: c.delivered_cseq,
            ack_floor_seq: c.ack_floor_seq,
        }
    }
}

/// The verdict on the last `rules.window` samples (oldest first), and the
/// rule that gave it. Older samples are not looked at: a rewind long ago
/// is forgotten once it leaves the window.
pub fn judge(samples: &[Sample], rules: HealthRules) -> (Health, &'static str) {
    let window = rules.window.max(2);
    let samples = &samples[samples.len().saturating_sub(window)..];
    let rewound = samples.windows(2).any(|p| {
        p[1].delivered_seq < p[0].delivered_seq
            || p[1].delivered_cseq < p[0].delivered_cseq
            || p[1].ack_floor_seq < p[0].ack_floor_seq
    });
    if rewound {
        return (
            Health::Rewind,
            "a sequence went backwards (reset or recreated)",
        );
    }
    if samples.len() < window {
        return (Health::Unknown, "not enough samples yet");
    }
    let w = samples;
    let (first, last) = (w[0], w[w.len() - 1]);
    if w.iter().any(|s| s.lag() <= rules.allowed_lag) {
        return (Health::Ok, "caught up in the window");
    }
    // Deliveries count redeliveries too: the consumer sequence.
    let delivering = last.delivered_cseq > first.delivered_cseq;
    let acking = last.ack_floor_seq > first.ack_floor_seq;
    if !delivering && !acking {
        return (Health::Stop, "behind and no progress across the window");
    }
    if delivering && !acking {
        return (
            Health::Stall,
            "deliveries advance but the ack floor does not",
        );
    }
    let redeliveries_climb = last.redelivered > first.redelivered
        && w.windows(2).all(|p| p[1].redelivered >= p[0].redelivered);
    if redeliveries_climb {
        return (Health::Stall, "redeliveries keep climbing");
    }
    let growing = last.lag() > first.lag() && w.windows(2).all(|p| p[1].lag() >= p[0].lag());
    if growing {
        return (Health::Warn, "lag never decreased across the window");
    }
    (Health::Ok, "making progress")
}

/// Lag change per second over the window (positive: growing).
pub fn lag_rate(samples: &[Sample]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    let secs = (last.t - first.t) as f64 / 1e9;
    (secs > 0.0).then(|| (last.lag() as f64 - first.lag() as f64) / secs)
}

/// Seconds until the lag is gone at the current drain rate, when it drains.
pub fn catch_up_secs(samples: &[Sample]) -> Option<f64> {
    let lag = samples.last()?.lag();
    if lag == 0 {
        return Some(0.0);
    }
    let rate = lag_rate(samples)?;
    if rate < 0.0 {
        Some(lag as f64 / -rate)
    } else {
        None
    }
}
