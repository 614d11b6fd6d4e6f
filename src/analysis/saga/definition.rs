//! Saga definitions (`[[sagas]]` in flowscope.toml): steps, failures and
//! compensations, timeouts (per saga and per step) and the subjects whose
//! events belong to a saga.

use std::time::Duration;

use serde::Serialize;

use super::fields::FieldChain;
use super::instance::Instance;
use crate::subject::SubjectPattern;

/// Default `timeout` of a saga definition.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A saga definition (`[[sagas]]` in flowscope.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaDef {
    pub name: String,
    /// Where the correlation value comes from; `None`: `[fields].correlation`.
    pub correlation: Option<FieldChain>,
    pub steps: Vec<String>,
    pub failure: Vec<String>,
    pub compensation: Vec<String>,
    /// No event for this long = stuck (unless the step waited for has its
    /// own timeout).
    pub timeout: Duration,
    /// Per step (aligned with `steps`): how long the wait for it may last;
    /// `None` (or a short list): `timeout`.
    pub step_timeouts: Vec<Option<Duration>>,
    /// Subjects whose events belong to the saga; empty: every subject.
    pub subjects: Vec<SubjectPattern>,
}

/// What a type is to a saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Step(usize),
    Failure,
    Compensation(usize),
    /// A type of an inferred saga (no definition).
    Seen,
}

impl SagaDef {
    /// A definition with the saga timeout for every step and every subject.
    pub fn new(
        name: &str,
        steps: &[&str],
        failure: &[&str],
        compensation: &[&str],
        timeout: Duration,
    ) -> Self {
        let owned = |v: &[&str]| v.iter().map(|t| t.to_string()).collect();
        SagaDef {
            name: name.into(),
            correlation: None,
            steps: owned(steps),
            failure: owned(failure),
            compensation: owned(compensation),
            timeout,
            step_timeouts: Vec::new(),
            subjects: Vec::new(),
        }
    }

    /// Whether events on this subject can belong to the saga.
    pub fn covers(&self, subject: &str) -> bool {
        self.subjects.is_empty() || self.subjects.iter().any(|p| p.matches(subject))
    }

    /// How long an instance may go without an event: the timeout of the
    /// step it waits for (the one after the furthest step it had), else
    /// the saga's.
    pub fn timeout_of(&self, inst: &Instance) -> Duration {
        let next = inst
            .step_at
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |k| k + 1);
        self.step_timeouts
            .get(next)
            .copied()
            .flatten()
            .unwrap_or(self.timeout)
    }

    pub fn role(&self, event_type: &str) -> Option<Role> {
        if let Some(i) = self.steps.iter().position(|s| s == event_type) {
            return Some(Role::Step(i));
        }
        if self.failure.iter().any(|s| s == event_type) {
            return Some(Role::Failure);
        }
        self.compensation
            .iter()
            .position(|s| s == event_type)
            .map(Role::Compensation)
    }
}
