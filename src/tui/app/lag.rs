//! The consumer lag view's state: the selected row (a stream or one of its
//! consumers) and whether flowscope's own readers are shown.

use super::{Action, App, list_move};
use crate::analysis::lag::{ConsumerLag, LagView, StreamLag};

/// A row of the lag table.
#[derive(Debug, Clone, Copy)]
pub enum LagRow<'a> {
    Stream(&'a StreamLag),
    Consumer(&'a StreamLag, &'a ConsumerLag),
}

impl LagRow<'_> {
    /// (stream, consumer) naming the row.
    pub fn key(&self) -> (String, Option<String>) {
        match self {
            LagRow::Stream(s) => (s.state.name.clone(), None),
            LagRow::Consumer(s, c) => (s.state.name.clone(), Some(c.state.name.clone())),
        }
    }
}

/// Lag view state.
#[derive(Debug, Clone, Default)]
pub struct LagState {
    /// The selected row by name; none: the first consumer.
    pub selected: Option<(String, Option<String>)>,
    pub offset: usize,
    pub page: usize,
    /// Show flowscope's own stream readers.
    pub show_hidden: bool,
}

/// The rows in view order: each stream, then its consumers.
pub fn lag_rows(view: &LagView, show_hidden: bool) -> Vec<LagRow<'_>> {
    let mut rows = Vec::new();
    for s in &view.streams {
        rows.push(LagRow::Stream(s));
        for c in &s.consumers {
            if show_hidden || !c.state.flowscope {
                rows.push(LagRow::Consumer(s, c));
            }
        }
    }
    rows
}

impl App {
    /// Index of the selected row: the named one, else the first consumer.
    pub fn selected_lag_row(&self, rows: &[LagRow]) -> usize {
        let found = self
            .lag
            .selected
            .as_ref()
            .and_then(|sel| rows.iter().position(|r| &r.key() == sel));
        found
            .or_else(|| rows.iter().position(|r| matches!(r, LagRow::Consumer(..))))
            .unwrap_or(0)
    }

    pub(super) fn lag_action(&mut self, action: Action) {
        let view = self.snapshot.lag.clone();
        let rows = lag_rows(&view, self.lag.show_hidden);
        let at = self.selected_lag_row(&rows);
        match action {
            Action::ToggleHidden => {
                self.lag.show_hidden = !self.lag.show_hidden;
                self.flash = Some(if self.lag.show_hidden {
                    "showing flowscope's own stream readers".into()
                } else {
                    "hiding flowscope's own stream readers".into()
                });
            }
            other => {
                if let Some(target) = list_move(other, at, rows.len(), self.lag.page) {
                    self.lag.selected = rows.get(target).map(LagRow::key);
                }
            }
        }
    }
}
