//! Sagas without definitions: events with the same correlation value form
//! an instance; when an instance has had no event for longer than the
//! timeout it is *quiet*, and its path (its types in the order they first
//! appeared) is counted. The most frequent path is the learned happy path.
//!
//! Failure types and their compensations are learned too ([`Branches`]).
//!
//! States of an inferred instance:
//! - `failed` once it has a failure type, `compensated` once it also had
//!   that failure's last compensation (`OrderCancelled`);
//! - otherwise `in progress` until it is quiet; then `completed` when it had
//!   every type of the happy path, or its path ends with a type that
//!   usually ends a path (in most quiet paths that hold it, it is last),
//!   and `stuck` when it stopped where instances usually go on.
//!
//! An instance whose path leaves the happy path other than by a learned
//! failure and its compensations is marked at the first event that does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use super::branches::Branches;
use super::{SagaEvent, SagaState};

/// Distinct paths counted; instances taking a path beyond these are only
/// counted as finished.
pub const MAX_PATHS: usize = 4_096;

/// Distinct types whose place in paths (last or not) is counted.
pub const MAX_TYPES: usize = 4_096;

/// The types of an instance in the order they first appeared.
pub type Path = Arc<[Box<str>]>;

/// The path of some events.
pub fn path_of(events: &[SagaEvent]) -> Vec<Box<str>> {
    let mut out: Vec<Box<str>> = Vec::new();
    for e in events {
        if !out.iter().any(|t| **t == *e.event_type) {
            out.push((*e.event_type).into());
        }
    }
    out
}

/// Where `path` first leaves `happy`: the position in `path` of the first
/// type that is not the happy path's type at that position.
pub fn leaves_at(path: &[Box<str>], happy: &[Box<str>]) -> Option<usize> {
    path.iter()
        .enumerate()
        .find(|(i, t)| happy.get(*i) != Some(*t))
        .map(|(i, _)| i)
}

/// The happy path as the views and the report show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    pub path: Vec<String>,
    /// Quiet instances that took it.
    pub instances: u64,
    /// Quiet instances in all.
    pub finished: u64,
    /// Learned failure types, most frequent first.
    pub failure: Vec<String>,
    /// Their compensations, in the order they usually come.
    pub compensation: Vec<String>,
}

impl Learned {
    /// A `[[sagas]]` definition to paste into flowscope.toml.
    pub fn toml(&self) -> String {
        let list = |types: &[String]| {
            types
                .iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "[[sagas]]\nname = \"learned\"\nsteps = [{}]",
            list(&self.path)
        );
        if !self.failure.is_empty() {
            out.push_str(&format!("\nfailure = [{}]", list(&self.failure)));
        }
        if !self.compensation.is_empty() {
            out.push_str(&format!("\ncompensation = [{}]", list(&self.compensation)));
        }
        out
    }
}

/// Counts of the paths quiet instances took.
#[derive(Debug, Clone, Default)]
pub struct Learner {
    paths: HashMap<Path, u64>,
    /// Quiet instances, counted paths or not.
    finished: u64,
    happy: Option<(Path, u64)>,
    /// Per type: quiet paths it ends, quiet paths it is in but does not end.
    places: HashMap<Box<str>, (u64, u64)>,
    /// Instances that may have gone quiet, earliest deadline first: (time
    /// after which they are, key). An instance that moved since it was
    /// queued goes back in with its new deadline.
    pub(super) idle: BinaryHeap<Reverse<(i64, super::book::Key)>>,
    /// Failure and compensation types, against the happy path.
    branches: Branches,
}

impl Learner {
    /// Counts a quiet instance's path; returns the path to remember for
    /// [`Learner::unlearn`] (shared with the count when it is counted: past
    /// [`MAX_PATHS`] distinct paths a new one is not).
    pub fn learn(&mut self, path: Vec<Box<str>>) -> Path {
        self.finished += 1;
        let path: Path = path.into();
        self.place(&path, true);
        let key = match self.paths.get_key_value(&path) {
            Some((k, _)) => k.clone(),
            None if self.paths.len() < MAX_PATHS => path,
            None => return path,
        };
        let before = self.happy.as_ref().map(|(p, _)| p.clone());
        let n = self.paths.entry(key.clone()).or_default();
        *n += 1;
        let n = *n;
        if self.happy.as_ref().is_none_or(|(_, best)| n > *best) {
            self.happy = Some((key.clone(), n));
        } else if let Some((h, best)) = &mut self.happy
            && *h == key
        {
            *best = n;
        }
        self.count_branches(&key, before, true);
        key
    }

    /// Keeps the failure and compensation counts in step with a path just
    /// counted or taken back; a new happy path counts them all anew.
    fn count_branches(&mut self, path: &Path, happy_before: Option<Path>, add: bool) {
        let Some((happy, _)) = &self.happy else {
            self.branches = Branches::default();
            return;
        };
        if happy_before.as_ref() == Some(happy) {
            self.branches.count(path, happy, 1, add);
        } else {
            self.branches.rebuild(&self.paths, happy);
        }
    }

    /// An inferred instance moved at `t`: its path is not final after
    /// all (taken back if counted), and it waits in the idle queue for
    /// `timeout` of quiet.
    pub(super) fn moved(
        &mut self,
        inst: &mut super::Instance,
        key: super::book::Key,
        t: i64,
        timeout: std::time::Duration,
    ) {
        if let Some(path) = inst.learned.take() {
            self.unlearn(&path);
        }
        if !inst.queued {
            inst.queued = true;
            let due = t.saturating_add(super::instance::timeout_ns(timeout));
            self.idle.push(Reverse((due, key)));
        }
    }

    /// The learned failure and compensation types.
    pub fn branches(&self) -> &Branches {
        &self.branches
    }

    /// Counts (or takes back) where each type of a path is: last or not.
    fn place(&mut self, path: &[Box<str>], add: bool) {
        for (i, t) in path.iter().enumerate() {
            let counted = self.places.contains_key(t);
            if !counted && (!add || self.places.len() >= MAX_TYPES) {
                continue;
            }
            let counts = self.places.entry(t.clone()).or_default();
            let n = if i + 1 == path.len() {
                &mut counts.0
            } else {
                &mut counts.1
            };
            *n = if add { *n + 1 } else { n.saturating_sub(1) };
            if *counts == (0, 0) {
                self.places.remove(t);
            }
        }
    }

    /// Whether quiet paths holding this type mostly end with it.
    pub fn usually_ends(&self, event_type: &str) -> bool {
        self.places
            .get(event_type)
            .is_some_and(|(ends, goes_on)| ends > goes_on)
    }

    /// Takes back a counted path (its instance moved again).
    pub fn unlearn(&mut self, path: &Path) {
        self.finished = self.finished.saturating_sub(1);
        self.place(path, false);
        let before = self.happy.as_ref().map(|(p, _)| p.clone());
        let counted = match self.paths.get_mut(path) {
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    self.paths.remove(path);
                }
                true
            }
            None => false,
        };
        if self.happy.as_ref().is_some_and(|(h, _)| h == path) {
            // Most instances first; equal counts: the longer, then by name.
            self.happy = self
                .paths
                .iter()
                .max_by(|a, b| {
                    (a.1, a.0.len())
                        .cmp(&(b.1, b.0.len()))
                        .then_with(|| b.0.cmp(a.0))
                })
                .map(|(p, n)| (p.clone(), *n));
        }
        if counted {
            self.count_branches(path, before, false);
        }
    }

    pub fn happy(&self) -> Option<&[Box<str>]> {
        self.happy.as_ref().map(|(p, _)| &p[..])
    }

    pub fn learned(&self) -> Option<Learned> {
        let failures = self.branches.failures();
        let mut compensation: Vec<String> = Vec::new();
        for c in failures.iter().flat_map(|(_, c)| c) {
            if !compensation.contains(c) {
                compensation.push(c.clone());
            }
        }
        self.happy.as_ref().map(|(p, n)| Learned {
            path: p.iter().map(|t| t.to_string()).collect(),
            instances: *n,
            finished: self.finished,
            failure: failures.into_iter().map(|(f, _)| f).collect(),
            compensation,
        })
    }

    /// The state of an inferred instance with these events, quiet or not.
    pub fn state(&self, events: &[SagaEvent], quiet: bool) -> SagaState {
        let has = |t: &str| events.iter().any(|e| *e.event_type == *t);
        let failure = events
            .iter()
            .find(|e| self.branches.is_failure(&e.event_type));
        if let Some(failure) = failure {
            // As with a definition: compensated once its last
            // compensation was seen, in whatever order they came.
            let compensated = self
                .branches
                .last_compensation(&failure.event_type)
                .is_some_and(has);
            return if compensated {
                SagaState::Compensated
            } else {
                SagaState::Failed
            };
        }
        // Every step of the happy path done: completed, as a defined saga
        // is at its last step, and never stuck.
        if self.happy().is_some_and(|h| h.iter().all(|t| has(t))) {
            return SagaState::Completed;
        }
        if !quiet {
            return SagaState::InProgress;
        }
        match path_of(events).last() {
            Some(l) if self.usually_ends(l) => SagaState::Completed,
            _ => SagaState::Stuck,
        }
    }

    /// Where an instance's path leaves the happy path other than by a
    /// learned failure and its compensations: the position in `path`.
    pub fn off_path_at(&self, path: &[Box<str>]) -> Option<usize> {
        let happy = self.happy()?;
        let at = leaves_at(path, happy)?;
        let t = &path[at];
        let branch = self.branches.is_failure(t) || self.branches.compensates(t);
        // A step of the happy path in another order is off the path.
        (!branch || happy.contains(t)).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(types: &[&str]) -> Vec<Box<str>> {
        types.iter().map(|t| Box::from(*t)).collect()
    }

    #[test]
    fn the_most_frequent_path_is_learned_and_unlearning_moves_it_back() {
        let mut l = Learner::default();
        let a = l.learn(p(&["A", "B", "C"]));
        l.learn(p(&["A", "B", "C"]));
        let x = l.learn(p(&["A", "X"]));
        assert_eq!(l.happy(), Some(&p(&["A", "B", "C"])[..]));
        l.learn(p(&["A", "X"]));
        l.learn(p(&["A", "X"]));
        assert_eq!(l.happy(), Some(&p(&["A", "X"])[..]), "3 beats 2");
        l.unlearn(&x);
        l.unlearn(&x);
        assert_eq!(l.happy(), Some(&p(&["A", "B", "C"])[..]), "2 beats 1 again");
        let learned = l.learned().unwrap();
        assert_eq!((learned.instances, learned.finished), (2, 3));
        assert_eq!(
            learned.toml(),
            "[[sagas]]\nname = \"learned\"\nsteps = [\"A\", \"B\", \"C\"]"
        );
        drop(a);
    }

    #[test]
    fn a_type_that_usually_ends_a_path_is_where_instances_complete() {
        let mut l = Learner::default();
        for _ in 0..5 {
            l.learn(p(&["Created", "Paid", "Shipped"]));
        }
        for _ in 0..3 {
            l.learn(p(&["Created", "PaymentFailed", "Cancelled"]));
        }
        let stopped = l.learn(p(&["Created", "Paid"]));
        assert!(l.usually_ends("Shipped"));
        assert!(l.usually_ends("Cancelled"), "a compensated path ends too");
        assert!(!l.usually_ends("Paid"), "1 path ends at Paid, 5 go on");
        assert!(!l.usually_ends("Created"));
        for _ in 0..5 {
            l.learn(p(&["Created", "Paid"]));
        }
        assert!(l.usually_ends("Paid"), "6 end at Paid now, 5 go on");
        for _ in 0..2 {
            l.unlearn(&stopped);
        }
        assert!(!l.usually_ends("Paid"), "taken back: 4 end, 5 go on");
    }

    #[test]
    fn leaving_the_happy_path() {
        let h = p(&["A", "B", "C"]);
        assert_eq!(leaves_at(&p(&["A", "B"]), &h), None, "a prefix is on it");
        assert_eq!(leaves_at(&p(&["A", "B", "C"]), &h), None);
        assert_eq!(leaves_at(&p(&["A", "F", "C"]), &h), Some(1));
        assert_eq!(leaves_at(&p(&["A", "B", "C", "D"]), &h), Some(3));
    }

    #[test]
    fn distinct_paths_are_bounded() {
        let mut l = Learner::default();
        for i in 0..MAX_PATHS + 10 {
            l.learn(p(&["A", &i.to_string()]));
        }
        assert_eq!(l.paths.len(), MAX_PATHS);
        assert_eq!(l.learned().unwrap().finished, MAX_PATHS as u64 + 10);
    }
}
