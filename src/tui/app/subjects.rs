//! The subjects view's state: selection, sort, expanded branches.

use std::collections::HashMap;

use super::{Action, App, list_move};
use std::cmp::Ordering;

use crate::analysis::subjects::SubjectNode;

/// Sort orders of the subjects view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectSort {
    #[default]
    Name,
    Events,
    MsgRate,
    ByteRate,
    Bytes,
}

impl SubjectSort {
    pub fn next(self) -> Self {
        match self {
            SubjectSort::Name => SubjectSort::Events,
            SubjectSort::Events => SubjectSort::MsgRate,
            SubjectSort::MsgRate => SubjectSort::ByteRate,
            SubjectSort::ByteRate => SubjectSort::Bytes,
            SubjectSort::Bytes => SubjectSort::Name,
        }
    }
}

/// Subjects view state.
#[derive(Debug, Clone, Default)]
pub struct SubjectsState {
    /// Path of the selected node.
    pub selected: Option<String>,
    pub offset: usize,
    pub sort: SubjectSort,
    pub descending: bool,
    /// Expansion chosen by the user; others follow the automatic rule.
    pub expanded: HashMap<String, bool>,
    pub page: usize,
}

impl App {
    pub(super) fn subjects_action(&mut self, action: Action) {
        if action == Action::FilterToSubject {
            return self.filter_to_selected_subject();
        }
        let rows = subject_rows(self);
        if rows.is_empty() {
            return;
        }
        let paths: Vec<String> = rows.iter().map(|r| r.node.path.clone()).collect();
        let at = selected_position(&rows, self.subjects.selected.as_deref());
        let current = rows[at].clone_info();
        drop(rows);
        let target = match action {
            Action::Expand => {
                self.set_expanded(&current.path, true);
                at
            }
            Action::Collapse if current.expanded && current.has_children => {
                self.set_expanded(&current.path, false);
                at
            }
            Action::Collapse => current
                .path
                .rsplit_once('.')
                .and_then(|(parent, _)| paths.iter().position(|p| p == parent))
                .unwrap_or(at),
            Action::ToggleExpand => {
                self.set_expanded(&current.path, !current.expanded);
                at
            }
            Action::CycleSort => {
                self.subjects.sort = self.subjects.sort.next();
                self.subjects.descending = self.subjects.sort != SubjectSort::Name;
                at
            }
            Action::ReverseSort => {
                self.subjects.descending = !self.subjects.descending;
                at
            }
            other => list_move(other, at, paths.len(), self.subjects.page).unwrap_or(at),
        };
        self.subjects.selected = paths.get(target).cloned();
    }

    fn set_expanded(&mut self, path: &str, open: bool) {
        self.subjects.expanded.insert(path.to_owned(), open);
    }

    fn filter_to_selected_subject(&mut self) {
        let rows = subject_rows(self);
        let at = selected_position(&rows, self.subjects.selected.as_deref());
        let Some(row) = rows.get(at) else { return };
        let spec = if row.has_children {
            format!("subtree:{}", row.node.path)
        } else {
            format!("subject:{}", row.node.path)
        };
        drop(rows);
        self.show_filtered(&spec);
    }
}

/// Branches with more children than this start collapsed (per-entity
/// subjects such as `orders.<id>` would otherwise flood the view).
pub const AUTO_EXPAND_MAX_CHILDREN: usize = 20;

/// One visible line of the tree.
pub struct SubjectRow<'a> {
    pub node: &'a SubjectNode,
    pub depth: usize,
    pub expanded: bool,
    pub has_children: bool,
}

/// The parts of a row the app needs after the borrow ends.
pub struct RowInfo {
    pub path: String,
    pub expanded: bool,
    pub has_children: bool,
}

impl SubjectRow<'_> {
    pub fn clone_info(&self) -> RowInfo {
        RowInfo {
            path: self.node.path.clone(),
            expanded: self.expanded,
            has_children: self.has_children,
        }
    }
}

fn compare(a: &SubjectNode, b: &SubjectNode, sort: SubjectSort) -> Ordering {
    let by = match sort {
        SubjectSort::Name => Ordering::Equal,
        SubjectSort::Events => a.events.cmp(&b.events),
        SubjectSort::MsgRate => a.msg_rate.total_cmp(&b.msg_rate),
        SubjectSort::ByteRate => a.byte_rate.total_cmp(&b.byte_rate),
        SubjectSort::Bytes => a.bytes.cmp(&b.bytes),
    };
    by.then_with(|| a.token.cmp(&b.token))
}

/// The visible rows in display order: sorted siblings, collapsed branches
/// hidden.
pub fn subject_rows(app: &App) -> Vec<SubjectRow<'_>> {
    let mut out = Vec::new();
    let s = &app.subjects;
    fn walk<'a>(
        node: &'a SubjectNode,
        depth: usize,
        s: &SubjectsState,
        out: &mut Vec<SubjectRow<'a>>,
    ) {
        let mut children: Vec<&SubjectNode> = node.children.iter().collect();
        children.sort_by(|a, b| {
            let o = compare(a, b, s.sort);
            if s.descending { o.reverse() } else { o }
        });
        for c in children {
            let has_children = !c.children.is_empty();
            let expanded = has_children
                && *s
                    .expanded
                    .get(&c.path)
                    .unwrap_or(&(c.children.len() <= AUTO_EXPAND_MAX_CHILDREN));
            out.push(SubjectRow {
                node: c,
                depth,
                expanded,
                has_children,
            });
            if expanded {
                walk(c, depth + 1, s, out);
            }
        }
    }
    walk(&app.snapshot.subjects, 0, s, &mut out);
    out
}

/// Row of the selected path; when that row is hidden (its branch collapsed),
/// the row of its nearest visible ancestor; else the first row.
pub fn selected_position(rows: &[SubjectRow<'_>], selected: Option<&str>) -> usize {
    let Some(mut path) = selected else { return 0 };
    loop {
        if let Some(i) = rows.iter().position(|r| r.node.path == path) {
            return i;
        }
        match path.rsplit_once('.') {
            Some((parent, _)) => path = parent,
            None => return 0,
        }
    }
}
