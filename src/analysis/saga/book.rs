//! The saga book: every instance of a session, found by (saga, correlation
//! value), with the marks of out-of-place events, the step durations, the
//! learner when sagas are inferred, and the bound on instances kept.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::definition::{Role, SagaDef};
use super::durations::{Durations, TypeStats};
use super::infer::{self, Learned};
use super::instance::{Instance, Mark, SagaEvent, SagaState, timeout_ns};
use crate::analysis::blind::Blindness;
use crate::analysis::{PrehashedMap, keyed_hash};

/// An instance's key in the book.
pub(super) type Key = u64;

/// Instances kept with their events; beyond it, the oldest finished ones
/// (completed or compensated) are forgotten and only counted.
pub const MAX_INSTANCES: usize = 100_000;

/// All saga instances of a session.
#[derive(Debug, Clone, Default)]
pub struct SagaBook {
    pub(super) defs: Vec<SagaDef>,
    /// By [`Key`]: the keyed hash of (saga, correlation value), moved on
    /// to the next free number when two collide (see [`SagaBook::find`]).
    pub(super) instances: PrehashedMap<Instance>,
    /// Instance keys in start order (stale keys of forgotten instances
    /// are dropped now and then).
    pub(super) order: VecDeque<Key>,
    /// Keys of instances that finished, in the order they did: forgotten
    /// first when there are too many.
    pub(super) finished: VecDeque<Key>,
    pub(super) stats: Vec<TypeStats>,
    pub(super) clock_ns: i64,
    /// Set when there are no definitions: the one type is inferred.
    pub(super) infer: Option<Box<infer::Learner>>,
    /// When flowscope was blind: an instance quiet since then may have
    /// moved on unseen.
    pub(super) blind: Blindness,
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

    /// Takes in an event: its capture index, time (the JetStream publish
    /// time for stream messages), subject, type and the correlation value
    /// for each definition (`[fields]` when it has none).
    pub fn observe(
        &mut self,
        index: u64,
        t: i64,
        subject: &str,
        event_type: &Arc<str>,
        ids: &[Option<&str>],
    ) {
        self.clock_ns = self.clock_ns.max(t);
        for d in 0..self.defs.len() {
            let def = &self.defs[d];
            if !def.covers(subject) {
                continue;
            }
            let role = match &self.infer {
                Some(_) => Role::Seen,
                None => match def.role(event_type) {
                    Some(role) => role,
                    None => continue,
                },
            };
            let Some(id) = ids.get(d).copied().flatten() else {
                continue;
            };
            let ev = SagaEvent {
                index,
                t,
                event_type: event_type.clone(),
                role,
                marks: Vec::new(),
            };
            self.observe_in(d, id, ev);
        }
        self.learn_quiet();
        self.forget();
    }

    /// The key of saga `d`'s instance `id`, and whether it is kept. Two
    /// instances whose hashes collide (a chance of about 2^-64 a pair)
    /// take the next free numbers, compared by saga and id.
    fn find(&self, d: usize, id: &str) -> (Key, bool) {
        let mut key = keyed_hash(2 + d as u64, id.as_bytes());
        loop {
            match self.instances.get(&key) {
                Some(i) if i.saga == d && i.id == id => return (key, true),
                Some(_) => key = key.wrapping_add(1),
                None => return (key, false),
            }
        }
    }

    /// The event `ev` of saga `d`'s instance `id` (made when new).
    fn observe_in(&mut self, d: usize, id: &str, mut ev: SagaEvent) {
        let other = self
            .defs
            .iter()
            .enumerate()
            .filter(|(o, _)| *o != d)
            .find(|(o, _)| self.find(*o, id).1)
            .map(|(_, od)| od.name.clone());
        let def = &self.defs[d];
        let (key, kept) = self.find(d, id);
        let (inst, is_new) = match self.instances.entry(key) {
            Entry::Occupied(o) => (o.into_mut(), false),
            Entry::Vacant(v) => {
                debug_assert!(!kept);
                self.order.push_back(key);
                (v.insert(Instance::new(d, id, ev.t, def.steps.len())), true)
            }
        };
        let inferred = self.infer.is_some();
        ev.marks = inst.arrival_marks(ev.t, def.timeout_of(inst), is_new, inferred, other);
        let finished = match ev.role {
            Role::Step(k) => inst.take_step(k, ev.t, &mut self.stats[d], &mut ev.marks),
            Role::Seen => {
                if inst.events.iter().any(|e| e.event_type == ev.event_type) {
                    ev.marks.push(Mark::Repeated);
                }
                if let Some(l) = &mut self.infer {
                    l.moved(inst, key, ev.t, def.timeout);
                }
                false
            }
            Role::Failure => {
                inst.failed = true;
                false
            }
            Role::Compensation(k) => inst.compensate(k, def.compensation.len()),
        };
        if finished {
            self.finished.push_back(key);
        }
        inst.record(ev);
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

    /// An instance's state now. One that seems stuck while flowscope was
    /// blind after its last event is unverifiable: its next step may have
    /// been among the messages flowscope missed.
    pub fn state(&self, inst: &Instance) -> SagaState {
        let timeout = self.defs[inst.saga].timeout_of(inst);
        let state = match &self.infer {
            Some(l) => l.state(&inst.events, inst.idle_longer_than(self.clock_ns, timeout)),
            None => inst.state(self.clock_ns, timeout),
        };
        if state == SagaState::Stuck
            && self
                .blind
                .overlapping(inst.last_ns, self.clock_ns)
                .is_some()
        {
            return SagaState::Unverifiable;
        }
        state
    }

    /// When flowscope was blind, as the engine tells it.
    pub fn blind_mut(&mut self) -> &mut Blindness {
        &mut self.blind
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
