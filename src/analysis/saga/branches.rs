//! Inferred sagas' failure and compensation types, learned from the paths
//! of quiet instances against the happy path.
//!
//! A path that leaves the happy path does so at its first type that the
//! happy path does not have (`PaymentFailed` in `OrderCreated →
//! InventoryReserved → PaymentFailed → InventoryReleased → OrderCancelled`).
//! Such a type is a *failure* when it has been seen in at least two quiet
//! paths and either its name says so (`Failed`, `Rejected`, `Error`, …) or
//! the instances that take it hardly ever reach the happy path's end and
//! go on to other types (a type that simply ends its paths, such as
//! `Refunded`, is another way to finish, not a failure). The types that
//! follow a failure in at least a quarter of its paths are its
//! *compensations*, in the order they usually come. Failures are taken
//! most frequent first, and a type that compensates one already taken is
//! not a failure itself (a compensation delivered before its failure, say).

use std::collections::HashMap;

use super::infer::Path;

/// Most distinct branch types counted.
const MAX_BRANCHES: usize = 256;
/// Most distinct types counted after one branch type.
const MAX_FOLLOWERS: usize = 64;

/// Words in a type name that mark it as a failure.
const FAILURE_WORDS: [&str; 9] = [
    "fail", "reject", "error", "declin", "denied", "timeout", "timedout", "abort", "invalid",
];

fn sounds_like_failure(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    FAILURE_WORDS.iter().any(|w| lower.contains(w))
}

/// What is known of the quiet paths that leave the happy path at one type.
#[derive(Debug, Clone, Default, PartialEq)]
struct Branch {
    /// Quiet paths through it.
    paths: u64,
    /// Of those, paths that still reach the happy path's last type.
    reach_end: u64,
    /// Types after it (not on the happy path): (paths, sum of distances).
    after: HashMap<Box<str>, (u64, u64)>,
}

/// Failure types and their compensations, as far as learned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Branches {
    by_type: HashMap<Box<str>, Branch>,
    /// What the counts say now: failures, most frequent first, with their
    /// compensations in order (derived after every change).
    learned: Vec<(Box<str>, Vec<Box<str>>)>,
}

impl Branches {
    /// Counts (`add`) or takes back `n` quiet paths `path`, measured
    /// against `happy`.
    pub fn count(&mut self, path: &[Box<str>], happy: &[Box<str>], n: u64, add: bool) {
        self.tally(path, happy, n, add);
        self.derive();
    }

    fn tally(&mut self, path: &[Box<str>], happy: &[Box<str>], n: u64, add: bool) {
        let Some(at) = path.iter().position(|t| !happy.contains(t)) else {
            return;
        };
        let first = &path[at];
        if !self.by_type.contains_key(first) && (!add || self.by_type.len() >= MAX_BRANCHES) {
            return;
        }
        let b = self.by_type.entry(first.clone()).or_default();
        let step = |v: &mut u64, by: u64| *v = if add { *v + by } else { v.saturating_sub(by) };
        step(&mut b.paths, n);
        if happy.last().is_some_and(|end| path.contains(end)) {
            step(&mut b.reach_end, n);
        }
        for (d, t) in path[at + 1..].iter().enumerate() {
            if happy.contains(t) {
                continue;
            }
            if !b.after.contains_key(t) && (!add || b.after.len() >= MAX_FOLLOWERS) {
                continue;
            }
            let e = b.after.entry(t.clone()).or_default();
            step(&mut e.0, n);
            step(&mut e.1, n * (d as u64 + 1));
            if e.0 == 0 {
                b.after.remove(t);
            }
        }
        if b.paths == 0 {
            self.by_type.remove(first);
        }
    }

    /// Counts every path again against a new happy path.
    pub fn rebuild(&mut self, paths: &HashMap<Path, u64>, happy: &[Box<str>]) {
        self.by_type.clear();
        for (p, n) in paths {
            self.tally(p, happy, *n, true);
        }
        self.derive();
    }

    /// Works out the failures and their compensations from the counts.
    fn derive(&mut self) {
        let mut candidates: Vec<(&Box<str>, &Branch)> = self
            .by_type
            .iter()
            .filter(|(t, b)| {
                let goes_on = b.after.values().any(|(n, _)| *n >= 2 && n * 4 >= b.paths);
                b.paths >= 2 && (sounds_like_failure(t) || (b.reach_end * 10 <= b.paths && goes_on))
            })
            .collect();
        candidates.sort_by(|a, b| b.1.paths.cmp(&a.1.paths).then_with(|| a.0.cmp(b.0)));
        let mut learned: Vec<(Box<str>, Vec<Box<str>>)> = Vec::new();
        for (f, b) in candidates {
            let taken = |t: &str| {
                learned
                    .iter()
                    .any(|(g, comp)| **g == *t || comp.iter().any(|c| **c == *t))
            };
            if taken(f) {
                continue;
            }
            let mut comp: Vec<(&Box<str>, f64)> = b
                .after
                .iter()
                .filter(|(t, (n, _))| *n >= 2 && n * 4 >= b.paths && !taken(t))
                .map(|(t, (n, dist))| (t, *dist as f64 / *n as f64))
                .collect();
            comp.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)));
            let comp = comp.into_iter().map(|(t, _)| t.clone()).collect();
            learned.push((f.clone(), comp));
        }
        self.learned = learned;
    }

    /// Whether instances that take `t` have failed.
    pub fn is_failure(&self, t: &str) -> bool {
        self.learned.iter().any(|(f, _)| **f == *t)
    }

    /// Whether `t` compensates the failure `failure`.
    #[cfg(test)]
    pub fn is_compensation(&self, failure: &str, t: &str) -> bool {
        self.learned
            .iter()
            .any(|(f, comp)| **f == *failure && comp.iter().any(|c| **c == *t))
    }

    /// The compensation that completes `failure` (its last one).
    pub fn last_compensation(&self, failure: &str) -> Option<&str> {
        self.learned
            .iter()
            .find(|(f, _)| **f == *failure)
            .and_then(|(_, comp)| comp.last())
            .map(|c| &**c)
    }

    /// Whether `t` compensates any learned failure.
    pub fn compensates(&self, t: &str) -> bool {
        self.learned
            .iter()
            .any(|(_, comp)| comp.iter().any(|c| **c == *t))
    }

    /// The learned failure types, most frequent first, each with its
    /// compensations in the order they usually come.
    pub fn failures(&self) -> Vec<(String, Vec<String>)> {
        self.learned
            .iter()
            .map(|(f, comp)| (f.to_string(), comp.iter().map(|c| c.to_string()).collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(types: &[&str]) -> Vec<Box<str>> {
        types.iter().map(|t| Box::from(*t)).collect()
    }

    const HAPPY: [&str; 4] = ["Created", "Reserved", "Paid", "Shipped"];

    #[test]
    fn a_failure_and_its_compensations_are_learned_in_order() {
        let happy = p(&HAPPY);
        let mut b = Branches::default();
        for _ in 0..7 {
            b.count(
                &p(&[
                    "Created",
                    "Reserved",
                    "PayDeclined",
                    "Released",
                    "Cancelled",
                ]),
                &happy,
                1,
                true,
            );
        }
        for _ in 0..3 {
            b.count(&p(&["Created", "Reserved", "PayDeclined"]), &happy, 1, true);
        }
        assert!(b.is_failure("PayDeclined"));
        assert!(b.is_compensation("PayDeclined", "Released"));
        assert!(b.is_compensation("PayDeclined", "Cancelled"));
        assert_eq!(
            b.failures(),
            [(
                "PayDeclined".to_owned(),
                vec!["Released".to_owned(), "Cancelled".to_owned()]
            )]
        );
    }

    #[test]
    fn reordered_steps_and_one_offs_are_not_failures() {
        let happy = p(&HAPPY);
        let mut b = Branches::default();
        b.count(
            &p(&["Created", "Paid", "Reserved", "Shipped"]),
            &happy,
            5,
            true,
        );
        b.count(&p(&["Created", "Audited"]), &happy, 1, true);
        b.count(&p(&["Created", "Refunded"]), &happy, 3, true);
        b.count(
            &p(&["Created", "Upgraded", "Reserved", "Paid", "Shipped"]),
            &happy,
            4,
            true,
        );
        assert!(b.failures().is_empty(), "{:?}", b.failures());
        assert!(!b.is_failure("Audited"), "seen once");
        assert!(!b.is_failure("Upgraded"), "its instances reach the end");
        assert!(
            !b.is_failure("Refunded"),
            "another way to end, nothing follows"
        );
    }

    #[test]
    fn a_compensation_delivered_before_its_failure_is_not_a_failure() {
        let happy = p(&HAPPY);
        let mut b = Branches::default();
        let comp = [
            "Created",
            "Reserved",
            "PaymentFailed",
            "Released",
            "Cancelled",
        ];
        b.count(&p(&comp), &happy, 20, true);
        let swapped = [
            "Created",
            "Reserved",
            "Released",
            "PaymentFailed",
            "Cancelled",
        ];
        b.count(&p(&swapped), &happy, 3, true);
        assert_eq!(
            b.failures(),
            [(
                "PaymentFailed".to_owned(),
                vec!["Released".to_owned(), "Cancelled".to_owned()]
            )]
        );
    }

    #[test]
    fn taking_paths_back_forgets_them() {
        let happy = p(&HAPPY);
        let mut b = Branches::default();
        let failed = p(&["Created", "PaymentFailed"]);
        b.count(&failed, &happy, 2, true);
        assert!(b.is_failure("PaymentFailed"));
        b.count(&failed, &happy, 1, false);
        assert!(!b.is_failure("PaymentFailed"), "one path left");
        b.count(&failed, &happy, 1, false);
        assert_eq!(b, Branches::default());
    }
}
