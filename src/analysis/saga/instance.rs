//! One saga instance: its events (with the marks of those out of place),
//! the steps it had, and the state it is in on the event clock.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::definition::Role;
use super::durations::TypeStats;
use super::infer;

/// Events kept per instance; later ones are counted.
pub const MAX_EVENTS: usize = 64;

/// The state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaState {
    Stuck,
    Failed,
    /// It seems stuck, but flowscope was blind (dropped messages or was
    /// disconnected) after its last event: its next step may have come
    /// unseen.
    Unverifiable,
    InProgress,
    Compensated,
    Completed,
}

impl SagaState {
    pub const ALL: [SagaState; 6] = [
        SagaState::Completed,
        SagaState::Compensated,
        SagaState::Failed,
        SagaState::InProgress,
        SagaState::Stuck,
        SagaState::Unverifiable,
    ];

    /// The state in words, as people read it (`in progress`).
    pub fn label(self) -> &'static str {
        match self {
            SagaState::InProgress => "in progress",
            other => other.key(),
        }
    }

    /// The state as JSON names it (`in_progress`).
    pub fn key(self) -> &'static str {
        match self {
            SagaState::Completed => "completed",
            SagaState::Compensated => "compensated",
            SagaState::Failed => "failed",
            SagaState::InProgress => "in_progress",
            SagaState::Stuck => "stuck",
            SagaState::Unverifiable => "unverifiable",
        }
    }

    pub(super) fn finished(self) -> bool {
        matches!(self, SagaState::Completed | SagaState::Compensated)
    }
}

/// Why an event is out of place in its instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// A step arrived before the step it follows.
    BeforePredecessor,
    /// A step seen before in this instance.
    Repeated,
    /// Any event after the instance completed.
    AfterCompletion,
    /// An instance of another saga type has the same correlation value.
    OtherSaga(String),
    /// The instance was stuck and moves again.
    Resumed,
}

/// One event of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaEvent {
    /// Capture index (to show the event).
    pub index: u64,
    pub t: i64,
    /// Shared with the other events of the type.
    pub event_type: Arc<str>,
    pub role: Role,
    pub marks: Vec<Mark>,
}

/// One saga instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub saga: usize,
    pub id: String,
    pub started_ns: i64,
    pub last_ns: i64,
    /// Shared with the views' copies (copied when it changes under one).
    pub events: Arc<Vec<SagaEvent>>,
    /// Events beyond [`MAX_EVENTS`], counted only.
    pub more_events: u64,
    /// First time each step was seen.
    pub(super) step_at: Vec<Option<i64>>,
    pub(super) failed: bool,
    pub(super) compensated: bool,
    pub(super) completed_at: Option<i64>,
    /// Inferred: the path counted when it went quiet.
    pub(super) learned: Option<infer::Path>,
    /// Inferred: waiting in the learner's idle queue.
    pub(super) queued: bool,
}

impl Instance {
    /// The state at event clock `now`, with the saga's timeout.
    pub fn state(&self, now: i64, timeout: Duration) -> SagaState {
        if self.failed {
            return if self.compensated {
                SagaState::Compensated
            } else {
                SagaState::Failed
            };
        }
        if self.completed_at.is_some() {
            return SagaState::Completed;
        }
        if self.idle_longer_than(now, timeout) {
            SagaState::Stuck
        } else {
            SagaState::InProgress
        }
    }

    /// No event for longer than `timeout` at event clock `now`.
    pub fn idle_longer_than(&self, now: i64, timeout: Duration) -> bool {
        now.saturating_sub(self.last_ns) > timeout_ns(timeout)
    }

    /// A new instance of saga `saga` with `steps` steps, started at `t`.
    pub fn new(saga: usize, id: &str, t: i64, steps: usize) -> Self {
        Instance {
            saga,
            id: id.to_owned(),
            started_ns: t,
            last_ns: t,
            events: Arc::default(),
            more_events: 0,
            step_at: vec![None; steps],
            failed: false,
            compensated: false,
            completed_at: None,
            learned: None,
            queued: false,
        }
    }

    /// The marks any event gets on arrival at `t`: it moves a stuck (or,
    /// inferred, a quiet) instance again, comes after completion, or has
    /// the correlation value of another saga's instance.
    pub(super) fn arrival_marks(
        &self,
        t: i64,
        timeout: Duration,
        is_new: bool,
        inferred: bool,
        other: Option<String>,
    ) -> Vec<Mark> {
        let mut marks = Vec::new();
        let quiet = !is_new && self.idle_longer_than(t, timeout);
        if quiet && (inferred || self.state(t, timeout) == SagaState::Stuck) {
            marks.push(Mark::Resumed);
        }
        if self.completed_at.is_some() {
            marks.push(Mark::AfterCompletion);
        }
        if let Some(o) = other {
            marks.push(Mark::OtherSaga(o));
        }
        marks
    }

    /// Step `k` seen at `t`: marks it when repeated or early, times it
    /// from the step before, and completes the instance at the last step.
    /// Returns whether the instance just finished.
    pub(super) fn take_step(
        &mut self,
        k: usize,
        t: i64,
        stats: &mut TypeStats,
        marks: &mut Vec<Mark>,
    ) -> bool {
        if self.step_at[k].is_some() {
            marks.push(Mark::Repeated);
            return false;
        }
        match k.checked_sub(1).map(|p| self.step_at[p]) {
            Some(None) => marks.push(Mark::BeforePredecessor),
            Some(Some(prev)) => stats.steps[k - 1].record_ns(t - prev),
            None => {}
        }
        self.step_at[k] = Some(t);
        if k + 1 == self.step_at.len() && !self.failed {
            self.completed_at = Some(t);
            stats.end_to_end.record_ns(t - self.started_ns);
            return true;
        }
        false
    }

    /// Compensation `k` of `of` seen; returns whether the instance just
    /// finished (its last compensation after a failure).
    pub(super) fn compensate(&mut self, k: usize, of: usize) -> bool {
        if self.failed && k + 1 == of && !self.compensated {
            self.compensated = true;
            return true;
        }
        false
    }

    /// Keeps the event (up to [`MAX_EVENTS`]; later ones are counted).
    pub(super) fn record(&mut self, ev: SagaEvent) {
        self.last_ns = self.last_ns.max(ev.t);
        if self.events.len() < MAX_EVENTS {
            Arc::make_mut(&mut self.events).push(ev);
        } else {
            self.more_events += 1;
        }
    }

    /// Steps seen, of the definition's steps.
    pub fn steps_done(&self) -> usize {
        self.step_at.iter().filter(|s| s.is_some()).count()
    }
}

/// A timeout in ns (saturating).
pub(super) fn timeout_ns(timeout: Duration) -> i64 {
    i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX)
}
