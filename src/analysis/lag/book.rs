//! What the engine keeps of the polls: a bounded history per consumer
//! (forgotten when the consumer disappears) and the view rebuilt per poll.

use std::collections::HashMap;
use std::sync::Arc;

use super::health::{LagConfig, Sample, catch_up_secs, judge, lag_rate};
use super::poll::LagPoll;
use super::view::{ConsumerLag, LagView, StreamLag, patterns};
use super::{HISTORY, MAX_CONSUMERS};

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
