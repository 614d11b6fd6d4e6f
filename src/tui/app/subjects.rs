//! The subjects view's state: selection, sort, expanded branches.

use std::collections::HashMap;

use super::{Action, App, list_move};
use crate::tui::views;

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
        let rows = views::subjects::rows(self);
        if rows.is_empty() {
            return;
        }
        let paths: Vec<String> = rows.iter().map(|r| r.node.path.clone()).collect();
        let at = views::subjects::selected_position(&rows, self.subjects.selected.as_deref());
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
        let rows = views::subjects::rows(self);
        let at = views::subjects::selected_position(&rows, self.subjects.selected.as_deref());
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
