//! The lag view's model: streams and their consumers worst first, with
//! their history, verdict, rate and catch-up, and which streams store a
//! subject (for the subjects view).

use super::health::{Health, HealthRules, Sample};
use super::poll::{ConsumerState, StreamState};
use crate::subject::SubjectPattern;

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
pub(super) fn patterns<'a>(specs: impl Iterator<Item = &'a str>) -> Vec<SubjectPattern> {
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
