//! Sagas without definitions: events with the same correlation value form
//! an instance; when an instance has had no event for longer than the
//! timeout it is *quiet*, and its path (its types in the order they first
//! appeared) is counted. The most frequent path is the learned happy path.
//!
//! States of an inferred instance: `in_progress` until it is quiet; then
//! `completed` when its path ends where the happy path ends, `stuck`
//! otherwise (it stopped where instances do not usually stop). An instance
//! whose path leaves the happy path is marked at the first event that does.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::{SagaEvent, SagaState};

/// Distinct paths counted; instances taking a path beyond these are only
/// counted as finished.
pub const MAX_PATHS: usize = 4_096;

/// The types of an instance in the order they first appeared.
pub type Path = Arc<[Box<str>]>;

/// The path of some events.
pub fn path_of(events: &[SagaEvent]) -> Vec<Box<str>> {
    let mut out: Vec<Box<str>> = Vec::new();
    for e in events {
        if !out.contains(&e.event_type) {
            out.push(e.event_type.clone());
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
}

impl Learned {
    /// A `[[sagas]]` definition to paste into flowscope.toml.
    pub fn toml(&self) -> String {
        let steps = self
            .path
            .iter()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("[[sagas]]\nname = \"learned\"\nsteps = [{steps}]")
    }
}

/// Counts of the paths quiet instances took.
#[derive(Debug, Clone, Default)]
pub struct Learner {
    paths: HashMap<Path, u64>,
    /// Quiet instances, counted paths or not.
    finished: u64,
    happy: Option<(Path, u64)>,
    /// Instances that may have gone quiet: (time after which they are, key).
    /// Roughly in deadline order; an instance that moved is queued again.
    pub(super) idle: VecDeque<(i64, (usize, String))>,
}

impl Learner {
    /// Counts a quiet instance's path; returns the shared path to remember
    /// (`None` when too many distinct paths are counted already).
    pub fn learn(&mut self, path: Vec<Box<str>>) -> Option<Path> {
        self.finished += 1;
        let path: Path = path.into();
        let key = match self.paths.get_key_value(&path) {
            Some((k, _)) => k.clone(),
            None if self.paths.len() < MAX_PATHS => path,
            None => return None,
        };
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
        Some(key)
    }

    /// Takes back a counted path (its instance moved again).
    pub fn unlearn(&mut self, path: Option<&Path>) {
        self.finished = self.finished.saturating_sub(1);
        let Some(path) = path else { return };
        if let Some(n) = self.paths.get_mut(path) {
            *n -= 1;
            if *n == 0 {
                self.paths.remove(path);
            }
        }
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
    }

    pub fn happy(&self) -> Option<&[Box<str>]> {
        self.happy.as_ref().map(|(p, _)| &p[..])
    }

    pub fn learned(&self) -> Option<Learned> {
        self.happy.as_ref().map(|(p, n)| Learned {
            path: p.iter().map(|t| t.to_string()).collect(),
            instances: *n,
            finished: self.finished,
        })
    }

    /// The state of an inferred instance with these events, quiet or not.
    pub fn state(&self, events: &[SagaEvent], quiet: bool) -> SagaState {
        if !quiet {
            return SagaState::InProgress;
        }
        let ends = |p: &[Box<str>]| p.last().cloned();
        match self.happy() {
            Some(h) if ends(&path_of(events)) == ends(h) => SagaState::Completed,
            _ => SagaState::Stuck,
        }
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
        l.unlearn(x.as_ref());
        l.unlearn(x.as_ref());
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
