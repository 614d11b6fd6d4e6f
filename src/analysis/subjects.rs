//! The subject tree: one node per subject token, with event counts, bytes and
//! rolling rates for every subtree. Bounded: past [`DEFAULT_MAX_SUBJECT_NODES`]
//! nodes, new subjects are counted at their deepest known ancestor and the
//! number of such events is reported.

use super::stats::{RateMeter, Window};

/// Default cap on the number of tree nodes.
pub const DEFAULT_MAX_SUBJECT_NODES: usize = 10_000;

#[derive(Debug, Clone, Default)]
struct Node {
    token: Box<str>,
    children: super::FastMap<Box<str>, usize>,
    events: u64,
    bytes: u64,
    meter: RateMeter,
}

/// Live subject statistics.
#[derive(Debug, Clone)]
pub struct SubjectTree {
    nodes: Vec<Node>,
    max_nodes: usize,
    untracked_events: u64,
}

/// An immutable copy of one node and its subtree, for the views.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectNode {
    pub token: String,
    /// Full subject up to this token (`orders.created`).
    pub path: String,
    pub events: u64,
    pub bytes: u64,
    pub msg_rate: f64,
    pub byte_rate: f64,
    /// Messages per second, oldest first.
    pub history: Vec<u32>,
    pub children: Vec<SubjectNode>,
}

impl Default for SubjectTree {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SUBJECT_NODES)
    }
}

impl SubjectTree {
    pub fn new(max_nodes: usize) -> Self {
        SubjectTree {
            nodes: vec![Node::default()],
            max_nodes: max_nodes.max(1),
            untracked_events: 0,
        }
    }

    /// Counts one event on `subject` at second `sec`.
    pub fn add(&mut self, subject: &str, bytes: usize, sec: i64) {
        let mut at = 0;
        self.bump(at, bytes, sec);
        for token in subject.split('.') {
            let next = match self.nodes[at].children.get(token) {
                Some(&i) => i,
                None if self.nodes.len() < self.max_nodes => {
                    let i = self.nodes.len();
                    self.nodes.push(Node {
                        token: token.into(),
                        ..Node::default()
                    });
                    self.nodes[at].children.insert(token.into(), i);
                    i
                }
                None => {
                    self.untracked_events += 1;
                    return;
                }
            };
            at = next;
            self.bump(at, bytes, sec);
        }
    }

    fn bump(&mut self, i: usize, bytes: usize, sec: i64) {
        let n = &mut self.nodes[i];
        n.events += 1;
        n.bytes += bytes as u64;
        n.meter.add(sec, bytes);
    }

    /// Events whose full subject could not get a node because of the cap.
    pub fn untracked_events(&self) -> u64 {
        self.untracked_events
    }

    /// Number of distinct tokens tracked (the root excluded).
    pub fn node_count(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Messages per second over all subjects.
    pub fn total_rate(&self, w: Window) -> f64 {
        self.nodes[0].meter.msg_rate(w)
    }

    /// Subjects that received events themselves: (subject, events, bytes),
    /// sorted. Events beyond the node cap count at their deepest ancestor.
    pub fn leaves(&self) -> Vec<(String, u64, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, String::new())];
        while let Some((i, path)) = stack.pop() {
            let n = &self.nodes[i];
            let (mut events, mut bytes) = (n.events, n.bytes);
            for (token, &c) in &n.children {
                events -= self.nodes[c].events;
                bytes -= self.nodes[c].bytes;
                let child = if path.is_empty() {
                    token.to_string()
                } else {
                    format!("{path}.{token}")
                };
                stack.push((c, child));
            }
            if i != 0 && events > 0 {
                out.push((path, events, bytes));
            }
        }
        out.sort();
        out
    }

    /// Copies the tree for the views; the root's path is empty.
    pub fn snapshot(&self, w: Window) -> SubjectNode {
        self.copy(0, "", w)
    }

    fn copy(&self, i: usize, parent: &str, w: Window) -> SubjectNode {
        let n = &self.nodes[i];
        let path = match (parent.is_empty(), i == 0) {
            (_, true) => String::new(),
            (true, false) => n.token.to_string(),
            (false, false) => format!("{parent}.{}", n.token),
        };
        let mut children: Vec<SubjectNode> = n
            .children
            .values()
            .map(|&c| self.copy(c, &path, w))
            .collect();
        children.sort_by(|a, b| a.token.cmp(&b.token));
        SubjectNode {
            token: n.token.to_string(),
            events: n.events,
            bytes: n.bytes,
            msg_rate: n.meter.msg_rate(w),
            byte_rate: n.meter.byte_rate(w),
            history: n.meter.history(w.now_sec() - 1), // complete seconds only
            children,
            path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_roll_up_to_ancestors() {
        let mut t = SubjectTree::default();
        t.add("orders.created", 10, 1);
        t.add("orders.shipped", 20, 1);
        t.add("payments.failed", 5, 1);
        let root = t.snapshot(Window {
            now_ns: 2_000_000_000,
            since_ns: 0,
        });
        assert_eq!(root.events, 3);
        assert_eq!(root.bytes, 35);
        let orders = &root.children[0];
        assert_eq!(orders.path, "orders");
        assert_eq!(orders.events, 2);
        assert_eq!(orders.children[1].path, "orders.shipped");
        assert_eq!(orders.children[1].bytes, 20);
    }

    #[test]
    fn leaves_are_subjects_with_their_own_events() {
        let mut t = SubjectTree::default();
        t.add("orders", 1, 0);
        t.add("orders.created", 10, 0);
        t.add("orders.created", 10, 0);
        t.add("payments.failed", 5, 0);
        assert_eq!(
            t.leaves(),
            vec![
                ("orders".into(), 1, 1),
                ("orders.created".into(), 2, 20),
                ("payments.failed".into(), 1, 5)
            ]
        );
    }

    #[test]
    fn the_node_cap_bounds_memory_and_counts_the_rest() {
        let mut t = SubjectTree::new(3);
        t.add("a.b", 1, 0); // root + a + b = 3 nodes
        t.add("a.c", 1, 0);
        t.add("x", 1, 0);
        assert_eq!(t.node_count(), 2);
        assert_eq!(t.untracked_events(), 2);
        let root = t.snapshot(Window {
            now_ns: 0,
            since_ns: 0,
        });
        assert_eq!(root.events, 3, "every event is still counted at the root");
        assert_eq!(root.children[0].events, 2);
    }
}
