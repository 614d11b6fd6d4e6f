//! The event kinds view's state: the selected type.

use super::{Action, App, list_move};

/// Event kinds view state.
#[derive(Debug, Clone, Default)]
pub struct KindsState {
    /// Name of the selected type; none: the first.
    pub selected: Option<String>,
    pub offset: usize,
    pub page: usize,
}

impl App {
    /// Row of the selected type.
    pub fn selected_type(&self) -> usize {
        let types = &self.snapshot.types;
        self.kinds
            .selected
            .as_ref()
            .and_then(|s| types.iter().position(|t| &t.name == s))
            .unwrap_or(0)
    }

    pub(super) fn kinds_action(&mut self, action: Action) {
        let at = self.selected_type();
        let types = self.snapshot.types.clone();
        match action {
            Action::FilterToType => {
                if let Some(t) = types.get(at) {
                    self.show_filtered(&format!("type:{}", t.name));
                }
            }
            other => {
                if let Some(target) = list_move(other, at, types.len(), self.kinds.page) {
                    self.kinds.selected = types.get(target).map(|t| t.name.clone());
                }
            }
        }
    }
}
