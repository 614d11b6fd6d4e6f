//! The sagas view's state: the selected instance and the state filter.

use super::{Action, App, list_move};
use crate::analysis::saga::{SagaRow, SagaState};

/// Sagas view state.
#[derive(Debug, Clone, Default)]
pub struct SagasState {
    /// The selected instance (saga, id); none: the first.
    pub selected: Option<(String, String)>,
    /// Only instances in this state.
    pub only: Option<SagaState>,
    pub offset: usize,
    pub page: usize,
}

impl App {
    /// The listed instances, with the state filter applied.
    pub fn saga_rows(&self) -> Vec<&SagaRow> {
        self.snapshot
            .sagas
            .rows
            .iter()
            .filter(|r| self.sagas.only.is_none_or(|s| r.state == s))
            .collect()
    }

    /// Index of the selected instance among [`App::saga_rows`].
    pub fn selected_saga(&self, rows: &[&SagaRow]) -> usize {
        self.sagas
            .selected
            .as_ref()
            .and_then(|(s, id)| rows.iter().position(|r| &r.saga == s && &r.id == id))
            .unwrap_or(0)
    }

    pub(super) fn sagas_action(&mut self, action: Action) {
        let snapshot = self.snapshot.clone();
        let rows: Vec<&SagaRow> = snapshot
            .sagas
            .rows
            .iter()
            .filter(|r| self.sagas.only.is_none_or(|s| r.state == s))
            .collect();
        let at = self.selected_saga(&rows);
        match action {
            Action::CycleKind => {
                let all = SagaState::ALL;
                self.sagas.only = match self.sagas.only {
                    None => Some(all[0]),
                    Some(s) => all
                        .iter()
                        .position(|x| *x == s)
                        .and_then(|i| all.get(i + 1).copied()),
                };
                self.sagas.selected = None;
                self.sagas.offset = 0;
            }
            Action::FilterToInstance => {
                if let Some(r) = rows.get(at) {
                    self.show_filtered(&format!("text:{}", r.id));
                }
            }
            other => {
                if let Some(target) = list_move(other, at, rows.len(), self.sagas.page) {
                    self.sagas.selected = rows.get(target).map(|r| (r.saga.clone(), r.id.clone()));
                }
            }
        }
    }
}
