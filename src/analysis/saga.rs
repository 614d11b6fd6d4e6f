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

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::fields::FieldChain;

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
    pub timeout: Duration,
}

/// What a type is to a saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Step(usize),
    Failure,
    Compensation(usize),
}

impl SagaDef {
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

    pub fn label(self) -> &'static str {
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
    pub events: Vec<SagaEvent>,
    /// Events beyond [`MAX_EVENTS`], counted only.
    pub more_events: u64,
    /// First time each step was seen.
    step_at: Vec<Option<i64>>,
    failed: bool,
    compensated: bool,
    completed_at: Option<i64>,
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
        let idle = now.saturating_sub(self.last_ns);
        if idle > i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX) {
            SagaState::Stuck
        } else {
            SagaState::InProgress
        }
    }

    /// Steps seen, of the definition's steps.
    pub fn steps_done(&self) -> usize {
        self.step_at.iter().filter(|s| s.is_some()).count()
    }

    /// When it finished (completed, or compensated), if it has.
    pub fn ended_ns(&self, now: i64, timeout: Duration) -> Option<i64> {
        self.state(now, timeout).finished().then_some(self.last_ns)
    }
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
    instances: HashMap<(usize, String), Instance>,
    /// Instance keys in start order (stale keys of forgotten instances
    /// are dropped now and then).
    order: VecDeque<(usize, String)>,
    /// Keys of instances that finished, in the order they did: forgotten
    /// first when there are too many.
    finished: VecDeque<(usize, String)>,
    stats: Vec<TypeStats>,
    clock_ns: i64,
}

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

    pub fn defs(&self) -> &[SagaDef] {
        &self.defs
    }

    pub fn clock_ns(&self) -> i64 {
        self.clock_ns
    }

    /// Takes in an event: its capture index, receive time, type and the
    /// correlation value for each definition (`[fields]` when it has none).
    pub fn observe(&mut self, index: u64, t: i64, event_type: &str, ids: &[Option<String>]) {
        self.clock_ns = self.clock_ns.max(t);
        for (d, def) in self.defs.iter().enumerate() {
            let Some(role) = def.role(event_type) else {
                continue;
            };
            let Some(id) = ids.get(d).cloned().flatten() else {
                continue;
            };
            let other = self
                .defs
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != d)
                .find(|(o, _)| self.instances.contains_key(&(*o, id.clone())))
                .map(|(_, od)| od.name.clone());
            let key = (d, id.clone());
            let is_new = !self.instances.contains_key(&key);
            let inst = self
                .instances
                .entry(key.clone())
                .or_insert_with(|| Instance {
                    saga: d,
                    id,
                    started_ns: t,
                    last_ns: t,
                    events: Vec::new(),
                    more_events: 0,
                    step_at: vec![None; def.steps.len()],
                    failed: false,
                    compensated: false,
                    completed_at: None,
                });
            if is_new {
                self.order.push_back(key.clone());
            }
            let mut marks = Vec::new();
            if !is_new && inst.state(t, def.timeout) == SagaState::Stuck {
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
                inst.events.push(SagaEvent {
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
        self.forget();
    }

    /// Keeps at most [`MAX_INSTANCES`]: the ones that finished first go
    /// first, then the oldest; forgotten instances are still counted.
    fn forget(&mut self) {
        while self.instances.len() > MAX_INSTANCES {
            let now = self.clock_ns;
            let key = loop {
                match self.finished.pop_front() {
                    Some(k) => {
                        let done = self
                            .instances
                            .get(&k)
                            .is_some_and(|i| i.state(now, self.defs[i.saga].timeout).finished());
                        if done {
                            break Some(k);
                        }
                    }
                    None => break self.order.pop_front(),
                }
            };
            let Some(key) = key else { return };
            if let Some(inst) = self.instances.remove(&key) {
                let state = inst.state(now, self.defs[inst.saga].timeout);
                *self.stats[inst.saga].forgotten.entry(state).or_default() += 1;
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
        inst.state(self.clock_ns, self.defs[inst.saga].timeout)
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

/// A saga type as the sagas view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaTypeRow {
    pub name: String,
    /// Instances by state, in [`SagaState::ALL`] order.
    pub counts: [u64; 5],
    /// From each step to the next: ("A → B", durations).
    pub steps: Vec<(String, Option<Percentiles>)>,
    pub end_to_end: Option<Percentiles>,
}

/// An instance as the sagas view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaRow {
    pub saga: String,
    pub id: String,
    pub state: SagaState,
    pub steps_done: usize,
    pub steps_total: usize,
    pub started_ns: i64,
    pub last_ns: i64,
    pub last_type: String,
    /// Out-of-place events in it.
    pub marks: usize,
}

/// The sagas view's model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SagaView {
    pub types: Vec<SagaTypeRow>,
    /// Instances, stuck and failed first, then by start (at most `max_rows`).
    pub rows: Vec<SagaRow>,
    /// Instances kept in all (rows may be fewer).
    pub kept: usize,
    pub clock_ns: i64,
}

impl SagaBook {
    /// The view model: every type's counts and durations, and the first
    /// `max_rows` instances in view order.
    pub fn view(&self, max_rows: usize) -> SagaView {
        let types = self
            .defs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let counts = self.counts(i);
                SagaTypeRow {
                    name: d.name.clone(),
                    counts: SagaState::ALL.map(|s| counts.get(&s).copied().unwrap_or(0)),
                    steps: d
                        .steps
                        .windows(2)
                        .zip(&self.stats[i].steps)
                        .map(|(w, h)| (format!("{} → {}", w[0], w[1]), h.percentiles()))
                        .collect(),
                    end_to_end: self.stats[i].end_to_end.percentiles(),
                }
            })
            .collect();
        let mut all: Vec<(SagaState, &Instance)> =
            self.instances().map(|i| (self.state(i), i)).collect();
        let kept = all.len();
        let cut = max_rows.min(all.len());
        if cut > 0 && cut < all.len() {
            all.select_nth_unstable_by_key(cut - 1, |(s, i)| (*s, i.started_ns));
            all.truncate(cut);
        }
        all.sort_by_key(|(s, i)| (*s, i.started_ns));
        let rows = all
            .into_iter()
            .map(|(state, i)| SagaRow {
                saga: self.defs[i.saga].name.clone(),
                id: i.id.clone(),
                state,
                steps_done: i.steps_done(),
                steps_total: self.defs[i.saga].steps.len(),
                started_ns: i.started_ns,
                last_ns: i.last_ns,
                last_type: i
                    .events
                    .last()
                    .map_or(String::new(), |e| e.event_type.to_string()),
                marks: i.events.iter().filter(|e| !e.marks.is_empty()).count(),
            })
            .collect();
        SagaView {
            types,
            rows,
            kept,
            clock_ns: self.clock_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn order() -> SagaDef {
        SagaDef {
            name: "order".into(),
            correlation: None,
            steps: [
                "OrderCreated",
                "InventoryReserved",
                "PaymentProcessed",
                "OrderShipped",
            ]
            .map(String::from)
            .to_vec(),
            failure: vec!["PaymentFailed".into()],
            compensation: vec!["InventoryReleased".into(), "OrderCancelled".into()],
            timeout: Duration::from_secs(30),
        }
    }

    fn feed(book: &mut SagaBook, events: &[(i64, &str, &str)]) {
        for (i, (t, ty, id)) in events.iter().enumerate() {
            let ids = vec![Some(id.to_string()); book.defs().len()];
            book.observe(i as u64, t * S, ty, &ids);
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
}
