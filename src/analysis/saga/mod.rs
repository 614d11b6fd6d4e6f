//! Sagas: events correlated into saga instances by a correlation value,
//! each instance in exactly one state, with out-of-place events marked and
//! step-to-step durations kept per saga type.
//!
//! States (judged on the event clock, the latest receive time seen, so a
//! replay judges exactly like live did):
//! - `completed`: the last step was seen and no failure;
//! - `compensated`: a failure was seen, then the last compensation;
//! - `failed`: a failure was seen and the compensation is not complete;
//! - `stuck`: no failure, not completed, and no event for longer than the
//!   timeout;
//! - `in_progress`: otherwise.
//!
//! Without definitions the book infers: events with the same correlation
//! value form an instance, and the most frequent path of types among the
//! instances that went quiet is learned as the happy path ([`infer`]).

mod branches;
mod infer;
mod view;

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::fields::FieldChain;
use crate::subject::SubjectPattern;

pub use infer::{Learned, MAX_PATHS};
pub use view::{LaneKind, SagaRow, SagaTypeRow, SagaView, WATERFALL_ROWS};

/// Default `timeout` of a saga definition.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Instances kept with their events; beyond it, the oldest finished ones
/// (completed or compensated) are forgotten and only counted.
pub const MAX_INSTANCES: usize = 100_000;
/// Events kept per instance; later ones are counted.
pub const MAX_EVENTS: usize = 64;

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

/// The state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaState {
    Stuck,
    Failed,
    InProgress,
    Compensated,
    Completed,
}

impl SagaState {
    pub const ALL: [SagaState; 5] = [
        SagaState::Completed,
        SagaState::Compensated,
        SagaState::Failed,
        SagaState::InProgress,
        SagaState::Stuck,
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
        }
    }

    fn finished(self) -> bool {
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
    pub event_type: Box<str>,
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
    step_at: Vec<Option<i64>>,
    failed: bool,
    compensated: bool,
    completed_at: Option<i64>,
    /// Inferred: the path counted when it went quiet.
    learned: Option<infer::Path>,
    /// Inferred: waiting in the learner's idle queue.
    queued: bool,
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

    /// Steps seen, of the definition's steps.
    pub fn steps_done(&self) -> usize {
        self.step_at.iter().filter(|s| s.is_some()).count()
    }
}

fn timeout_ns(timeout: Duration) -> i64 {
    i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX)
}

/// Durations in milliseconds, bounded in memory whatever their number.
#[derive(Debug, Clone)]
pub struct Durations(Histogram<u64>);

impl Default for Durations {
    fn default() -> Self {
        // 1 ms to a day, 3 significant digits.
        Durations(Histogram::new_with_bounds(1, 86_400_000, 3).expect("valid bounds"))
    }
}

/// p50, p95, p99 and max of some durations, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl Durations {
    pub fn record_ns(&mut self, ns: i64) {
        let ms = (ns.max(0) / 1_000_000).clamp(1, 86_400_000) as u64;
        let _ = self.0.record(ms);
    }

    pub fn percentiles(&self) -> Option<Percentiles> {
        let h = &self.0;
        (!h.is_empty()).then(|| Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        })
    }
}

/// Aggregates of one saga type.
#[derive(Debug, Clone, Default)]
pub struct TypeStats {
    /// Time from step k to step k + 1 (index k).
    pub steps: Vec<Durations>,
    /// From the first event to the last step.
    pub end_to_end: Durations,
    /// Instances forgotten beyond [`MAX_INSTANCES`], by state.
    pub forgotten: HashMap<SagaState, u64>,
}

/// All saga instances of a session.
#[derive(Debug, Clone, Default)]
pub struct SagaBook {
    defs: Vec<SagaDef>,
    instances: foldhash::HashMap<(usize, String), Instance>,
    /// Instance keys in start order (stale keys of forgotten instances
    /// are dropped now and then).
    order: VecDeque<(usize, String)>,
    /// Keys of instances that finished, in the order they did: forgotten
    /// first when there are too many.
    finished: VecDeque<(usize, String)>,
    stats: Vec<TypeStats>,
    clock_ns: i64,
    /// Set when there are no definitions: the one type is inferred.
    infer: Option<Box<infer::Learner>>,
}

/// The name of the inferred saga type.
pub const INFERRED: &str = "inferred";

impl SagaBook {
    pub fn new(defs: Vec<SagaDef>) -> Self {
        let stats = defs
            .iter()
            .map(|d| TypeStats {
                steps: vec![Durations::default(); d.steps.len().saturating_sub(1)],
                ..TypeStats::default()
            })
            .collect();
        SagaBook {
            defs,
            stats,
            ..SagaBook::default()
        }
    }

    /// A book without definitions: it groups events by their correlation
    /// value (`[fields].correlation`) and learns the happy path.
    pub fn inferring(timeout: Duration) -> Self {
        let mut book = SagaBook::new(vec![SagaDef::new(INFERRED, &[], &[], &[], timeout)]);
        book.infer = Some(Box::default());
        book
    }

    /// Whether the saga type is inferred (there are no definitions).
    pub fn is_inferred(&self) -> bool {
        self.infer.is_some()
    }

    /// The learned happy path (inferred sagas only).
    pub fn learned(&self) -> Option<Learned> {
        self.infer.as_ref().and_then(|l| l.learned())
    }

    /// The learned happy path's types (inferred sagas only).
    pub fn happy_path(&self) -> Option<&[Box<str>]> {
        self.infer.as_ref().and_then(|l| l.happy())
    }

    pub fn defs(&self) -> &[SagaDef] {
        &self.defs
    }

    pub fn clock_ns(&self) -> i64 {
        self.clock_ns
    }

    /// Takes in an event: its capture index, receive time, subject, type
    /// and the correlation value for each definition (`[fields]` when it
    /// has none).
    pub fn observe(
        &mut self,
        index: u64,
        t: i64,
        subject: &str,
        event_type: &str,
        ids: &[Option<&str>],
    ) {
        self.clock_ns = self.clock_ns.max(t);
        let inferred = self.infer.is_some();
        for (d, def) in self.defs.iter().enumerate() {
            if !def.covers(subject) {
                continue;
            }
            let role = if inferred {
                Role::Seen
            } else {
                let Some(role) = def.role(event_type) else {
                    continue;
                };
                role
            };
            let Some(id) = ids.get(d).copied().flatten() else {
                continue;
            };
            let other = self
                .defs
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != d)
                .find(|(o, _)| self.instances.contains_key(&(*o, id.to_owned())))
                .map(|(_, od)| od.name.clone());
            let key = (d, id.to_owned());
            let (inst, is_new) = match self.instances.entry(key.clone()) {
                Entry::Occupied(o) => (o.into_mut(), false),
                Entry::Vacant(v) => {
                    self.order.push_back(key.clone());
                    let inst = v.insert(Instance {
                        saga: d,
                        id: id.to_owned(),
                        started_ns: t,
                        last_ns: t,
                        events: Arc::default(),
                        more_events: 0,
                        step_at: vec![None; def.steps.len()],
                        failed: false,
                        compensated: false,
                        completed_at: None,
                        learned: None,
                        queued: false,
                    });
                    (inst, true)
                }
            };
            let mut marks = Vec::new();
            let timeout = def.timeout_of(inst);
            let quiet = !is_new && inst.idle_longer_than(t, timeout);
            if quiet && (inferred || inst.state(t, timeout) == SagaState::Stuck) {
                marks.push(Mark::Resumed);
            }
            if inst.completed_at.is_some() {
                marks.push(Mark::AfterCompletion);
            }
            if let Some(o) = other {
                marks.push(Mark::OtherSaga(o));
            }
            match role {
                Role::Step(k) => {
                    if inst.step_at[k].is_some() {
                        marks.push(Mark::Repeated);
                    } else {
                        if k > 0 && inst.step_at[k - 1].is_none() {
                            marks.push(Mark::BeforePredecessor);
                        }
                        if k > 0
                            && let Some(prev) = inst.step_at[k - 1]
                        {
                            self.stats[d].steps[k - 1].record_ns(t - prev);
                        }
                        inst.step_at[k] = Some(t);
                        if k + 1 == def.steps.len() && !inst.failed {
                            inst.completed_at = Some(t);
                            self.stats[d].end_to_end.record_ns(t - inst.started_ns);
                            self.finished.push_back(key.clone());
                        }
                    }
                }
                Role::Seen => {
                    if inst.events.iter().any(|e| *e.event_type == *event_type) {
                        marks.push(Mark::Repeated);
                    }
                    if let Some(l) = &mut self.infer {
                        // It moved again: its path is not final after all.
                        if let Some(path) = inst.learned.take() {
                            l.unlearn(&path);
                        }
                        if !inst.queued {
                            inst.queued = true;
                            let due = t.saturating_add(timeout_ns(def.timeout));
                            l.idle.push(Reverse((due, key.clone())));
                        }
                    }
                }
                Role::Failure => inst.failed = true,
                Role::Compensation(k) => {
                    if inst.failed && k + 1 == def.compensation.len() && !inst.compensated {
                        inst.compensated = true;
                        self.finished.push_back(key.clone());
                    }
                }
            }
            inst.last_ns = inst.last_ns.max(t);
            if inst.events.len() < MAX_EVENTS {
                Arc::make_mut(&mut inst.events).push(SagaEvent {
                    index,
                    t,
                    event_type: event_type.into(),
                    role,
                    marks,
                });
            } else {
                inst.more_events += 1;
            }
        }
        self.learn_quiet();
        self.forget();
    }

    /// Inferred: counts the paths of instances that went quiet.
    fn learn_quiet(&mut self) {
        let Some(l) = &mut self.infer else { return };
        let timeout = timeout_ns(self.defs[0].timeout);
        while let Some(Reverse((due, _))) = l.idle.peek() {
            if *due >= self.clock_ns {
                break;
            }
            let Some(Reverse((_, key))) = l.idle.pop() else {
                break;
            };
            let Some(inst) = self.instances.get_mut(&key) else {
                continue;
            };
            let due = inst.last_ns.saturating_add(timeout);
            if due >= self.clock_ns {
                l.idle.push(Reverse((due, key)));
                continue;
            }
            inst.queued = false;
            inst.learned = Some(l.learn(infer::path_of(&inst.events)));
            self.stats[0]
                .end_to_end
                .record_ns(inst.last_ns - inst.started_ns);
            self.finished.push_back(key);
        }
    }

    /// Keeps at most [`MAX_INSTANCES`]: the ones that finished first go
    /// first, then the oldest; forgotten instances are still counted.
    fn forget(&mut self) {
        while self.instances.len() > MAX_INSTANCES {
            let key = loop {
                match self.finished.pop_front() {
                    Some(k) => {
                        let done = self.instances.get(&k).is_some_and(|i| self.is_done(i));
                        if done {
                            break Some(k);
                        }
                    }
                    None => break self.order.pop_front(),
                }
            };
            let Some(key) = key else { return };
            if let Some(inst) = self.instances.get(&key) {
                let (saga, state) = (inst.saga, self.state(inst));
                self.instances.remove(&key);
                *self.stats[saga].forgotten.entry(state).or_default() += 1;
            }
        }
        if self.order.len() > 2 * self.instances.len() + 1024 {
            let instances = &self.instances;
            self.order.retain(|k| instances.contains_key(k));
        }
    }

    /// Every kept instance, oldest first.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.order.iter().filter_map(|k| self.instances.get(k))
    }

    /// An instance's state now.
    pub fn state(&self, inst: &Instance) -> SagaState {
        let timeout = self.defs[inst.saga].timeout_of(inst);
        match &self.infer {
            Some(l) => l.state(&inst.events, inst.idle_longer_than(self.clock_ns, timeout)),
            None => inst.state(self.clock_ns, timeout),
        }
    }

    /// Whether an instance is over: completed or compensated; inferred,
    /// quiet and counted.
    fn is_done(&self, inst: &Instance) -> bool {
        match &self.infer {
            Some(_) => inst.learned.is_some(),
            None => self.state(inst).finished(),
        }
    }

    /// Instances by state for one saga type, forgotten ones included.
    pub fn counts(&self, saga: usize) -> HashMap<SagaState, u64> {
        let mut out: HashMap<SagaState, u64> = self.stats[saga].forgotten.clone();
        for i in self.instances().filter(|i| i.saga == saga) {
            *out.entry(self.state(i)).or_default() += 1;
        }
        out
    }

    pub fn stats(&self, saga: usize) -> &TypeStats {
        &self.stats[saga]
    }

    /// What a copy costs, roughly (checkpoints budget it).
    pub fn approx_bytes(&self) -> usize {
        self.instances
            .values()
            .map(|i| 160 + i.id.len() + i.events.len() * 96)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn order() -> SagaDef {
        crate::demo::sim::order_saga()
    }

    fn feed(book: &mut SagaBook, events: &[(i64, &str, &str)]) {
        for (i, (t, ty, id)) in events.iter().enumerate() {
            let ids = vec![Some(*id); book.defs().len()];
            book.observe(i as u64, t * S, "orders.x", ty, &ids);
        }
    }

    fn state_of(book: &SagaBook, id: &str) -> SagaState {
        let i = book.instances().find(|i| i.id == id).unwrap();
        book.state(i)
    }

    #[test]
    fn every_state_from_its_events() {
        let mut b = SagaBook::new(vec![order()]);
        feed(
            &mut b,
            &[
                (0, "OrderCreated", "done"),
                (1, "InventoryReserved", "done"),
                (2, "PaymentProcessed", "done"),
                (3, "OrderShipped", "done"),
                (0, "OrderCreated", "comp"),
                (1, "InventoryReserved", "comp"),
                (2, "PaymentFailed", "comp"),
                (3, "InventoryReleased", "comp"),
                (4, "OrderCancelled", "comp"),
                (0, "OrderCreated", "fail"),
                (2, "PaymentFailed", "fail"),
                (3, "InventoryReleased", "fail"),
                (5, "OrderCreated", "stuck"),
                (40, "OrderCreated", "busy"),
            ],
        );
        assert_eq!(state_of(&b, "done"), SagaState::Completed);
        assert_eq!(state_of(&b, "comp"), SagaState::Compensated);
        assert_eq!(
            state_of(&b, "fail"),
            SagaState::Failed,
            "never merely stuck"
        );
        assert_eq!(
            state_of(&b, "stuck"),
            SagaState::Stuck,
            "35 s idle at clock 40 s"
        );
        assert_eq!(state_of(&b, "busy"), SagaState::InProgress);
        let counts = b.counts(0);
        assert_eq!(
            counts.values().sum::<u64>(),
            5,
            "each instance in one state"
        );
    }

    #[test]
    fn stuck_is_judged_on_the_event_clock_and_a_move_resumes_it() {
        let mut b = SagaBook::new(vec![order()]);
        feed(
            &mut b,
            &[(0, "OrderCreated", "a"), (30, "OrderCreated", "b")],
        );
        assert_eq!(
            state_of(&b, "a"),
            SagaState::InProgress,
            "30 s is not longer than 30 s"
        );
        feed(&mut b, &[(31, "OrderCreated", "c")]);
        assert_eq!(state_of(&b, "a"), SagaState::Stuck);
        feed(&mut b, &[(32, "InventoryReserved", "a")]);
        assert_eq!(state_of(&b, "a"), SagaState::InProgress);
        let a = b.instances().find(|i| i.id == "a").unwrap();
        assert_eq!(a.events[1].marks, vec![Mark::Resumed]);
    }

    #[test]
    fn out_of_place_events_are_marked() {
        let mut other = order();
        other.name = "shipping".into();
        other.steps = vec!["OrderShipped".into(), "OrderDelivered".into()];
        other.failure = vec![];
        other.compensation = vec![];
        let mut b = SagaBook::new(vec![order(), other]);
        feed(
            &mut b,
            &[
                (0, "OrderCreated", "x"),
                (1, "PaymentProcessed", "x"),
                (2, "InventoryReserved", "x"),
                (3, "InventoryReserved", "x"),
                (4, "OrderShipped", "x"),
                (5, "OrderCreated", "x"),
            ],
        );
        let x = b.instances().find(|i| i.saga == 0).unwrap();
        let marks: Vec<_> = x.events.iter().map(|e| e.marks.clone()).collect();
        assert_eq!(marks[1], vec![Mark::BeforePredecessor]);
        assert_eq!(marks[3], vec![Mark::Repeated]);
        assert_eq!(marks[5][0], Mark::AfterCompletion);
        let ship = b.instances().find(|i| i.saga == 1).unwrap();
        assert_eq!(ship.events[0].marks, vec![Mark::OtherSaga("order".into())]);
    }

    #[test]
    fn step_durations_and_end_to_end() {
        let mut b = SagaBook::new(vec![order()]);
        for n in 0..10 {
            let id = format!("o{n}");
            feed(
                &mut b,
                &[
                    (100 * n, "OrderCreated", &id),
                    (100 * n + 1, "InventoryReserved", &id),
                    (100 * n + 3, "PaymentProcessed", &id),
                    (100 * n + 6, "OrderShipped", &id),
                ],
            );
        }
        let st = b.stats(0);
        let p = st.steps[1].percentiles().unwrap();
        assert_eq!((p.count, p.p50 / 100, p.max / 100), (10, 20, 20), "~2 s");
        let e = st.end_to_end.percentiles().unwrap();
        assert_eq!(e.p99 / 1000, 6);
    }

    #[test]
    fn memory_is_bounded_and_forgotten_instances_still_count() {
        let mut b = SagaBook::new(vec![order()]);
        for n in 0..(MAX_INSTANCES as i64 + 10) {
            let id = format!("o{n}");
            feed(
                &mut b,
                &[
                    (n, "OrderCreated", &id),
                    (n, "InventoryReserved", &id),
                    (n, "PaymentProcessed", &id),
                    (n, "OrderShipped", &id),
                ],
            );
        }
        assert_eq!(b.instances().count(), MAX_INSTANCES);
        assert_eq!(
            b.counts(0)[&SagaState::Completed],
            MAX_INSTANCES as u64 + 10
        );
    }

    #[test]
    fn without_definitions_the_happy_path_is_learned_and_deviations_marked() {
        let mut b = SagaBook::inferring(Duration::from_secs(30));
        let mut events = Vec::new();
        for n in 0..5 {
            let id = format!("ok{n}");
            for (k, ty) in ["Placed", "Reserved", "Shipped"].iter().enumerate() {
                events.push((n + k as i64, *ty, id.clone()));
            }
        }
        for n in 0..2 {
            let id = format!("off{n}");
            for (k, ty) in ["Placed", "Reserved", "Refunded"].iter().enumerate() {
                events.push((n + k as i64, *ty, id.clone()));
            }
        }
        events.push((3, "Placed", "short".into()));
        events.push((50, "Placed", "busy".into()));
        let evs: Vec<(i64, &str, &str)> = events
            .iter()
            .map(|(t, ty, id)| (*t, *ty, id.as_str()))
            .collect();
        feed(&mut b, &evs);
        let learned = b.learned().expect("learned from the quiet instances");
        assert_eq!(learned.path, ["Placed", "Reserved", "Shipped"]);
        assert_eq!((learned.instances, learned.finished), (5, 8));
        assert_eq!(state_of(&b, "ok3"), SagaState::Completed);
        assert_eq!(
            state_of(&b, "off1"),
            SagaState::Completed,
            "off the happy path, but ends where the paths it takes end"
        );
        assert_eq!(
            state_of(&b, "short"),
            SagaState::Stuck,
            "stopped where instances go on"
        );
        assert_eq!(state_of(&b, "busy"), SagaState::InProgress);
        let view = b.view(100);
        let row = |id: &str| view.rows.iter().find(|r| r.id == id).unwrap();
        assert_eq!(row("off0").off_path, Some(2), "Refunded leaves the path");
        assert_eq!((row("off0").steps_done, row("off0").steps_total), (2, 3));
        assert_eq!(row("ok0").off_path, None);
        assert_eq!(view.types[0].name, INFERRED);
        assert_eq!(
            view.types[0].counts,
            [7, 0, 0, 1, 1],
            "completed, compensated, failed, in progress, stuck"
        );

        // A quiet instance that moves again is no longer counted as finished.
        feed(&mut b, &[(51, "Shipped", "short")]);
        assert_eq!(state_of(&b, "short"), SagaState::InProgress);
        assert_eq!(b.learned().unwrap().finished, 7);
        let short = b.instances().find(|i| i.id == "short").unwrap();
        assert_eq!(short.events[1].marks, vec![Mark::Resumed]);

        // Out of order: off the path at its first event, yet both steps done.
        feed(&mut b, &[(52, "Reserved", "swap"), (52, "Placed", "swap")]);
        let view = b.view(100);
        let swap = view.rows.iter().find(|r| r.id == "swap").unwrap();
        assert_eq!((swap.steps_done, swap.off_path), (2, Some(0)));
    }

    #[test]
    fn inference_learns_failures_and_compensations() {
        let mut b = SagaBook::inferring(Duration::from_secs(10));
        let happy = [
            "OrderCreated",
            "InventoryReserved",
            "PaymentProcessed",
            "OrderShipped",
        ];
        let comp = [
            "OrderCreated",
            "InventoryReserved",
            "PaymentFailed",
            "InventoryReleased",
            "OrderCancelled",
        ];
        let mut events: Vec<(i64, &str, String)> = Vec::new();
        for n in 0..6 {
            for (k, ty) in happy.iter().enumerate() {
                events.push((n + k as i64, ty, format!("ok{n}")));
            }
        }
        for n in 0..3 {
            for (k, ty) in comp.iter().enumerate() {
                events.push((n + k as i64, ty, format!("comp{n}")));
            }
        }
        for (k, ty) in comp[..3].iter().enumerate() {
            events.push((k as i64, ty, "fail".into()));
        }
        // Every step, the last two swapped: done, not stuck.
        for (k, ty) in [
            "OrderCreated",
            "InventoryReserved",
            "OrderShipped",
            "PaymentProcessed",
        ]
        .iter()
        .enumerate()
        {
            events.push((k as i64, ty, "swapped".into()));
        }
        events.push((40, "OrderCreated", "clock".into()));
        let evs: Vec<(i64, &str, &str)> = events
            .iter()
            .map(|(t, ty, id)| (*t, *ty, id.as_str()))
            .collect();
        feed(&mut b, &evs);
        assert_eq!(state_of(&b, "ok0"), SagaState::Completed);
        assert_eq!(state_of(&b, "comp0"), SagaState::Compensated);
        assert_eq!(state_of(&b, "fail"), SagaState::Failed);
        assert_eq!(
            state_of(&b, "swapped"),
            SagaState::Completed,
            "every step done is never stuck"
        );
        let learned = b.learned().unwrap();
        assert_eq!(learned.failure, ["PaymentFailed"]);
        assert_eq!(
            learned.compensation,
            ["InventoryReleased", "OrderCancelled"]
        );
        assert!(learned.toml().contains(r#"failure = ["PaymentFailed"]"#));
        let view = b.view(100);
        let row = |id: &str| view.rows.iter().find(|r| r.id == id).unwrap();
        assert_eq!(
            row("comp0").off_path,
            None,
            "a compensation is not out of place"
        );
        assert_eq!(row("comp0").marks, 0);
        assert_eq!(
            (row("swapped").steps_done, row("swapped").steps_total),
            (4, 4)
        );
        let lanes = &view.types[0].lanes;
        assert!(lanes.contains(&("PaymentFailed".into(), LaneKind::Failure)));
        assert!(lanes.contains(&("OrderCancelled".into(), LaneKind::Compensation)));
        assert_eq!(
            view.types[0].counts,
            [7, 3, 1, 1, 0],
            "the clock instance is in progress"
        );
    }

    #[test]
    fn an_inferred_instance_is_learned_as_soon_as_it_goes_quiet() {
        // Timeout 10 s. `a` moves after it was queued; `b` and `c` start
        // later. At 16 s `a` has been quiet since 15 s and must be counted
        // then, not after the instances queued behind it.
        let mut b = SagaBook::inferring(Duration::from_secs(10));
        feed(
            &mut b,
            &[
                (0, "Placed", "a"),
                (5, "Shipped", "a"),
                (6, "Placed", "b"),
                (11, "Placed", "c"),
            ],
        );
        assert_eq!(b.learned(), None, "nothing quiet at 11 s");
        feed(&mut b, &[(16, "Placed", "d")]);
        let learned = b.learned().expect("a is quiet at 16 s");
        assert_eq!((learned.instances, learned.finished), (1, 1));
        assert_eq!(learned.path, ["Placed", "Shipped"]);
        feed(&mut b, &[(17, "Placed", "e")]);
        assert_eq!(b.learned().unwrap().finished, 2, "b is quiet at 17 s");
        assert_eq!(state_of(&b, "c"), SagaState::InProgress);
    }

    #[test]
    fn a_step_with_its_own_timeout_may_wait_longer() {
        let mut def = order();
        def.step_timeouts = vec![None, None, Some(Duration::from_secs(120)), None];
        let mut b = SagaBook::new(vec![def]);
        feed(
            &mut b,
            &[
                (0, "OrderCreated", "paying"),
                (1, "InventoryReserved", "paying"),
                (0, "OrderCreated", "reserving"),
                (60, "OrderCreated", "clock"),
            ],
        );
        assert_eq!(
            state_of(&b, "paying"),
            SagaState::InProgress,
            "waits for PaymentProcessed: 120 s"
        );
        assert_eq!(
            state_of(&b, "reserving"),
            SagaState::Stuck,
            "waits for InventoryReserved: the saga's 30 s"
        );
        feed(&mut b, &[(122, "OrderCreated", "later")]);
        assert_eq!(state_of(&b, "paying"), SagaState::Stuck);
    }

    #[test]
    fn events_on_other_subjects_are_not_the_sagas() {
        let mut def = order();
        def.subjects = vec![SubjectPattern::parse("orders.>").unwrap()];
        let mut b = SagaBook::new(vec![def]);
        let id = [Some("o-1")];
        b.observe(0, 0, "audit.orders", "OrderCreated", &id);
        assert_eq!(b.instances().count(), 0, "audit.orders is not orders.>");
        b.observe(1, S, "orders.created", "OrderCreated", &id);
        b.observe(2, 2 * S, "audit.orders", "InventoryReserved", &id);
        let inst = b.instances().next().unwrap();
        assert_eq!(inst.events.len(), 1);
        assert_eq!(inst.steps_done(), 1);
    }
}
