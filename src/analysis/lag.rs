//! JetStream consumer lag: what one poll of the server says
//! ([`LagPoll`], also the lag record of a recording), the bounded history
//! kept per consumer, and the health verdict judged on a sliding window of
//! samples in the spirit of LinkedIn Burrow.
//!
//! Health rules, checked in this order on the last `window` samples of a
//! consumer (lag = unprocessed + outstanding acks):
//!
//! 1. `REWIND`: the delivered or ack floor sequence went backwards between
//!    two samples (the consumer was reset or recreated).
//! 2. `UNKNOWN`: fewer than `window` samples yet.
//! 3. `OK`: the lag was at or under `allowed_lag` in some sample.
//! 4. `STOP`: no progress across the window: neither deliveries (the
//!    consumer sequence, which counts redeliveries) nor the ack floor moved.
//! 5. `STALL`: deliveries advanced but the ack floor did not, or the count
//!    of redelivered messages never fell and ended higher than it started.
//! 6. `WARN`: the lag never decreased from one sample to the next and ended
//!    higher than it started.
//! 7. `OK`: otherwise (the lag is shrinking or holding while the consumer
//!    makes progress).

use std::collections::HashMap;
use std::sync::Arc;

use crate::subject::SubjectPattern;
use serde::{Deserialize, Serialize};

/// Samples kept per consumer (at the default 2 s interval, 20 minutes).
pub const HISTORY: usize = 600;
/// Consumers followed at most (of one poll, in the server's order).
pub const MAX_CONSUMERS: usize = 10_000;

/// One poll of every stream and consumer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LagPoll {
    pub streams: Vec<StreamState>,
    pub consumers: Vec<ConsumerState>,
    /// Why the poll is incomplete, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A stream as one poll saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    pub name: String,
    /// `limits`, `interest` or `workqueue`.
    pub retention: String,
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ns: i64,
    pub last_seq: u64,
    pub last_ns: i64,
    pub subjects: u64,
    pub consumers: u64,
    /// The subjects the stream captures (its configuration), NATS
    /// wildcards allowed; empty in recordings made before they were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_filters: Vec<String>,
}

/// A consumer as one poll saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerState {
    pub stream: String,
    pub name: String,
    pub durable: bool,
    /// Pull consumer (else push).
    pub pull: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filter: String,
    /// `explicit`, `all` or `none`.
    pub ack_policy: String,
    /// Messages not yet delivered (`num_pending`).
    pub unprocessed: u64,
    /// Delivered and not yet acknowledged (`num_ack_pending`).
    pub outstanding: u64,
    /// Of those, delivered more than once (`num_redelivered`).
    pub redelivered: u64,
    /// Pull requests waiting (`num_waiting`).
    pub waiting: u64,
    pub delivered_seq: u64,
    /// Deliveries so far, redeliveries included (the consumer sequence).
    #[serde(default)]
    pub delivered_cseq: u64,
    /// When the last delivery happened (ns), when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_ns: Option<i64>,
    pub ack_floor_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_floor_ns: Option<i64>,
    /// Publish time of the oldest unacknowledged message (the first after
    /// the ack floor), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_unacked_ns: Option<i64>,
    /// One of flowscope's own stream readers (hidden by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flowscope: bool,
    /// Settings worth seeing next to the chart.
    #[serde(default)]
    pub config: ConsumerConfig,
}

/// The settings of a consumer that explain its numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerConfig {
    pub deliver_policy: String,
    pub ack_wait_ms: u64,
    /// -1: unlimited.
    pub max_deliver: i64,
    pub max_ack_pending: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ConsumerState {
    /// Lag: unprocessed plus outstanding acknowledgements.
    pub fn lag(&self) -> u64 {
        self.unprocessed.saturating_add(self.outstanding)
    }
}

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

    fn of(t: i64, c: &ConsumerState) -> Sample {
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

/// One consumer as the lag view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerLag {
    pub state: ConsumerState,
    pub health: Health,
    pub reason: &'static str,
    /// When the latest sample was taken (ns).
    pub t: i64,
    /// Recent samples, oldest first (at most [`HISTORY`]).
    pub history: imbl::Vector<Sample>,
    pub rate: Option<f64>,
    pub catch_up_secs: Option<f64>,
    pub rules: HealthRules,
    /// Its filter subjects, parsed once per poll (empty: every subject).
    pub filters: Vec<SubjectPattern>,
}

/// One stream and its consumers, worst first.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamLag {
    pub state: StreamState,
    pub consumers: Vec<ConsumerLag>,
    /// The subjects it captures, parsed once per poll.
    pub captures: Vec<SubjectPattern>,
}

impl StreamLag {
    /// The worst health of its consumers (flowscope's own excluded).
    pub fn worst(&self) -> Health {
        self.consumers
            .iter()
            .filter(|c| !c.state.flowscope)
            .map(|c| c.health)
            .max_by_key(|h| h.severity())
            .unwrap_or(Health::Ok)
    }
}

/// The lag view's model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LagView {
    /// Streams, the one with the worst consumer first.
    pub streams: Vec<StreamLag>,
    /// When the latest poll was taken (ns); 0 before the first.
    pub polled_ns: i64,
    pub polls: u64,
    pub error: Option<String>,
}

impl LagView {
    /// Every consumer, in view order.
    pub fn consumers(&self) -> impl Iterator<Item = &ConsumerLag> {
        self.streams.iter().flat_map(|s| s.consumers.iter())
    }

    /// The streams that store messages on `subject` (a subject, or a
    /// branch of the subject tree), each with the consumers that read
    /// them (flowscope's own readers left out): on JetStream these are
    /// the subject's consumers.
    pub fn captures(&self, subject: &str) -> Vec<Capture<'_>> {
        let covers = |patterns: &[SubjectPattern]| patterns.iter().any(|p| p.matches(subject));
        self.streams
            .iter()
            .filter(|s| covers(&s.captures))
            .map(|s| Capture {
                stream: s,
                readers: s
                    .consumers
                    .iter()
                    .filter(|c| !c.state.flowscope)
                    .filter(|c| c.filters.is_empty() || covers(&c.filters))
                    .collect(),
            })
            .collect()
    }
}

/// Subject patterns from a server's list (unparseable ones left out).
fn patterns<'a>(specs: impl Iterator<Item = &'a str>) -> Vec<SubjectPattern> {
    specs
        .filter(|s| !s.is_empty())
        .filter_map(|s| SubjectPattern::parse(s).ok())
        .collect()
}

/// A stream that stores a subject's messages, and who reads them there.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture<'a> {
    pub stream: &'a StreamLag,
    pub readers: Vec<&'a ConsumerLag>,
}

/// What the engine keeps of the polls.
#[derive(Debug, Clone, Default)]
pub struct LagBook {
    config: LagConfig,
    history: HashMap<(String, String), imbl::Vector<Sample>>,
    polls: u64,
    view: Arc<LagView>,
}

impl LagBook {
    pub fn new(config: LagConfig) -> Self {
        LagBook {
            config,
            ..LagBook::default()
        }
    }

    /// Takes in a poll taken at `t` and rebuilds the view.
    pub fn poll(&mut self, t: i64, poll: &LagPoll) {
        self.polls += 1;
        if poll.streams.is_empty() && poll.error.is_some() {
            // A failed poll: keep what was known, say why it is old.
            let mut view = (*self.view).clone();
            view.error = poll.error.clone();
            view.polls = self.polls;
            self.view = Arc::new(view);
            return;
        }
        // Consumers that are gone are forgotten.
        let current: std::collections::HashSet<(&str, &str)> = poll
            .consumers
            .iter()
            .take(MAX_CONSUMERS)
            .map(|c| (c.stream.as_str(), c.name.as_str()))
            .collect();
        self.history
            .retain(|(s, c), _| current.contains(&(s.as_str(), c.as_str())));
        let mut by_stream: HashMap<&str, Vec<ConsumerLag>> = HashMap::new();
        for c in poll.consumers.iter().take(MAX_CONSUMERS) {
            let h = self
                .history
                .entry((c.stream.clone(), c.name.clone()))
                .or_default();
            // A poll time seen before (a replay that seeks back) adds nothing.
            if h.back().is_none_or(|s| s.t < t) {
                h.push_back(Sample::of(t, c));
                if h.len() > HISTORY {
                    h.pop_front();
                }
            }
            let rules = self.config.rules_for(&c.stream, &c.name);
            let window = rules.window.max(2);
            let recent: Vec<Sample> = h
                .iter()
                .skip(h.len().saturating_sub(window))
                .copied()
                .collect();
            let (health, reason) = judge(&recent, rules);
            let recent = &recent[..];
            by_stream.entry(&c.stream).or_default().push(ConsumerLag {
                state: c.clone(),
                health,
                reason,
                t,
                rate: lag_rate(recent),
                catch_up_secs: catch_up_secs(recent),
                history: h.clone(),
                rules,
                filters: patterns(c.filter.split(',')),
            });
        }
        let mut streams: Vec<StreamLag> = poll
            .streams
            .iter()
            .map(|s| {
                let mut consumers = by_stream.remove(s.name.as_str()).unwrap_or_default();
                consumers.sort_by(|a, b| {
                    b.health
                        .severity()
                        .cmp(&a.health.severity())
                        .then(b.state.lag().cmp(&a.state.lag()))
                        .then(a.state.name.cmp(&b.state.name))
                });
                StreamLag {
                    captures: patterns(s.subject_filters.iter().map(String::as_str)),
                    state: s.clone(),
                    consumers,
                }
            })
            .collect();
        streams.sort_by(|a, b| {
            b.worst()
                .severity()
                .cmp(&a.worst().severity())
                .then(a.state.name.cmp(&b.state.name))
        });
        self.view = Arc::new(LagView {
            streams,
            polled_ns: t,
            polls: self.polls,
            error: poll.error.clone(),
        });
    }

    pub fn view(&self) -> Arc<LagView> {
        self.view.clone()
    }

    /// What a copy of the book costs, roughly (checkpoints budget it).
    pub fn approx_bytes(&self) -> usize {
        self.history
            .values()
            .map(|h| h.len() * std::mem::size_of::<Sample>() + 96)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: i64, unprocessed: u64, outstanding: u64, delivered: u64, floor: u64) -> Sample {
        Sample {
            t: t * 1_000_000_000,
            unprocessed,
            outstanding,
            redelivered: 0,
            delivered_seq: delivered,
            delivered_cseq: delivered,
            ack_floor_seq: floor,
        }
    }

    const RULES: HealthRules = HealthRules {
        window: 3,
        allowed_lag: 0,
    };

    #[test]
    fn too_few_samples_are_unknown_but_a_rewind_shows_at_once() {
        assert_eq!(judge(&[s(0, 5, 0, 1, 1)], RULES).0, Health::Unknown);
        assert_eq!(
            judge(&[s(0, 5, 0, 10, 10), s(2, 5, 0, 3, 3)], RULES).0,
            Health::Rewind
        );
    }

    #[test]
    fn a_rewind_is_forgotten_once_it_leaves_the_window() {
        let mut h = vec![s(0, 5, 0, 10, 10), s(2, 5, 0, 3, 3)];
        assert_eq!(judge(&h, RULES).0, Health::Rewind);
        h.extend([s(4, 0, 0, 5, 5), s(6, 0, 0, 7, 7), s(8, 0, 0, 9, 9)]);
        assert_eq!(judge(&h, RULES).0, Health::Ok);
    }

    #[test]
    fn caught_up_once_is_ok() {
        let w = [s(0, 5, 0, 10, 10), s(2, 0, 0, 15, 15), s(4, 9, 0, 15, 15)];
        assert_eq!(judge(&w, RULES).0, Health::Ok);
        let loose = HealthRules {
            allowed_lag: 9,
            ..RULES
        };
        let w = [s(0, 20, 0, 1, 1), s(2, 30, 0, 1, 1), s(4, 9, 0, 1, 1)];
        assert_eq!(judge(&w, loose).0, Health::Ok);
    }

    #[test]
    fn behind_without_progress_is_stop() {
        let w = [s(0, 5, 0, 10, 10), s(2, 8, 0, 10, 10), s(4, 12, 0, 10, 10)];
        assert_eq!(judge(&w, RULES).0, Health::Stop);
    }

    #[test]
    fn deliveries_without_acks_are_stall() {
        let w = [
            s(0, 90, 10, 10, 0),
            s(2, 80, 20, 20, 0),
            s(4, 70, 30, 30, 0),
        ];
        assert_eq!(judge(&w, RULES).0, Health::Stall);
    }

    #[test]
    fn climbing_redeliveries_are_stall() {
        let mut w = [s(0, 0, 5, 10, 5), s(2, 0, 5, 11, 6), s(4, 0, 5, 12, 7)];
        for (i, x) in w.iter_mut().enumerate() {
            x.redelivered = i as u64 + 1;
        }
        assert_eq!(judge(&w, RULES).0, Health::Stall);
    }

    #[test]
    fn growing_lag_with_progress_is_warn_and_shrinking_is_ok() {
        let w = [
            s(0, 10, 0, 10, 10),
            s(2, 12, 0, 15, 15),
            s(4, 15, 0, 20, 20),
        ];
        assert_eq!(judge(&w, RULES).0, Health::Warn);
        let w = [
            s(0, 15, 0, 10, 10),
            s(2, 12, 0, 15, 15),
            s(4, 10, 0, 20, 20),
        ];
        assert_eq!(judge(&w, RULES).0, Health::Ok);
        assert_eq!(lag_rate(&w), Some(-1.25));
        assert_eq!(catch_up_secs(&w), Some(8.0));
        let steady = [
            s(0, 10, 0, 10, 10),
            s(2, 10, 0, 15, 15),
            s(4, 10, 0, 20, 20),
        ];
        assert_eq!(judge(&steady, RULES).0, Health::Ok, "holding while working");
        assert_eq!(catch_up_secs(&steady), None);
    }

    #[test]
    fn the_most_specific_override_wins() {
        let cfg = LagConfig {
            rules: HealthRules::default(),
            overrides: vec![
                RulesOverride {
                    stream: "ORDERS".into(),
                    consumer: Some("slow".into()),
                    window: None,
                    allowed_lag: Some(1000),
                },
                RulesOverride {
                    stream: "ORDERS".into(),
                    consumer: None,
                    window: Some(10),
                    allowed_lag: Some(50),
                },
            ],
        };
        assert_eq!(
            cfg.rules_for("ORDERS", "slow"),
            HealthRules {
                window: 10,
                allowed_lag: 1000
            }
        );
        assert_eq!(cfg.rules_for("ORDERS", "fast").allowed_lag, 50);
        assert_eq!(cfg.rules_for("OTHER", "slow"), HealthRules::default());
    }

    #[test]
    fn the_book_keeps_history_and_sorts_worst_first() {
        let mut book = LagBook::new(LagConfig {
            rules: RULES,
            overrides: vec![],
        });
        let stream = StreamState {
            name: "S".into(),
            ..StreamState::default()
        };
        for i in 0..3u64 {
            let poll = LagPoll {
                streams: vec![stream.clone()],
                consumers: vec![
                    ConsumerState {
                        stream: "S".into(),
                        name: "good".into(),
                        delivered_seq: 10 * i,
                        ack_floor_seq: 10 * i,
                        ..ConsumerState::default()
                    },
                    ConsumerState {
                        stream: "S".into(),
                        name: "stuck".into(),
                        unprocessed: 5 + i,
                        ..ConsumerState::default()
                    },
                ],
                error: None,
            };
            book.poll(i as i64 * 2_000_000_000, &poll);
        }
        let view = book.view();
        let names: Vec<_> = view.consumers().map(|c| c.state.name.as_str()).collect();
        assert_eq!(names, ["stuck", "good"]);
        assert_eq!(view.streams[0].worst(), Health::Stop);
        assert_eq!(view.streams[0].consumers[0].history.len(), 3);
        assert_eq!(view.polls, 3);
    }
}
