//! The anomalies view's state: the incident list (newest first, filtered by
//! kind and by the event filter) and the side-by-side comparison of an
//! incident's event with its related event.

use std::sync::Arc;

use super::{Action, App, list_move};
use crate::analysis::anomalies::{AnomalyKind, Incident};
use crate::analysis::filter::Filter;

/// An incident's event next to its related event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub kind: AnomalyKind,
    pub index: u64,
    pub related: Option<u64>,
    pub text: String,
    pub scroll: usize,
    /// Lines the panes showed in the last frame.
    pub page: usize,
}

/// Anomalies view state.
#[derive(Debug, Clone, Default)]
pub struct AnomaliesState {
    /// The selected incident (its `seq`); none: the newest.
    pub selected: Option<u64>,
    /// Only incidents of this kind.
    pub kind: Option<AnomalyKind>,
    pub offset: usize,
    pub page: usize,
    pub compare: Option<Compare>,
}

fn next_kind(k: Option<AnomalyKind>) -> Option<AnomalyKind> {
    let all = AnomalyKind::ALL;
    match k {
        None => Some(all[0]),
        Some(k) => all
            .iter()
            .position(|x| *x == k)
            .and_then(|i| all.get(i + 1))
            .copied(),
    }
}

impl App {
    /// Incidents shown, newest first. The event filter applies as in the
    /// stream: by the filter's matches for retained events; for older ones,
    /// by subject, type and key (their payloads are gone).
    pub fn incident_rows(&self) -> Vec<&Arc<Incident>> {
        let snap = &self.snapshot;
        let filter = snap
            .filter
            .as_ref()
            .map(|f| (f, Filter::parse(&f.spec).ok()));
        let first = snap.first_index();
        let shown = |i: &Incident| match &filter {
            None => true,
            Some((view, _)) if i.index >= first => view.matches.binary_search(&i.index).is_ok(),
            Some((_, Some(f))) => f.matches_meta(&i.subject, &i.event_type, &i.key),
            Some((_, None)) => false,
        };
        snap.anomalies
            .recent
            .iter()
            .rev()
            .filter(|i| self.anomalies.kind.is_none_or(|k| i.kind == k))
            .filter(|i| shown(i))
            .collect()
    }

    /// Position of the selected incident among `rows`.
    pub fn selected_incident(&self, rows: &[&Arc<Incident>]) -> usize {
        self.anomalies
            .selected
            .and_then(|seq| rows.iter().position(|i| i.seq == seq))
            .unwrap_or(0)
    }

    pub(super) fn anomalies_action(&mut self, action: Action) {
        if let Some(c) = &mut self.anomalies.compare {
            let page = c.page.max(1);
            match action {
                Action::CloseCompare => self.anomalies.compare = None,
                Action::Up => c.scroll = c.scroll.saturating_sub(1),
                Action::Down => c.scroll += 1,
                Action::PageUp => c.scroll = c.scroll.saturating_sub(page),
                Action::PageDown => c.scroll += page,
                Action::Top => c.scroll = 0,
                Action::JumpRelated => {
                    let index = c.index;
                    self.anomalies.compare = None;
                    self.select_event(index);
                }
                _ => {}
            }
            return;
        }
        let rows = self.incident_rows();
        let at = self.selected_incident(&rows);
        let current = rows.get(at).map(|i| (**i).clone());
        let len = rows.len();
        drop(rows);
        match action {
            Action::CycleKind => {
                self.anomalies.kind = next_kind(self.anomalies.kind);
                self.anomalies.selected = None;
            }
            Action::CompareIncident => {
                if let Some(i) = current {
                    self.anomalies.compare = Some(Compare {
                        kind: i.kind,
                        index: i.index,
                        related: i.related,
                        text: i.text.to_string(),
                        scroll: 0,
                        page: 10,
                    });
                }
            }
            Action::JumpRelated => {
                if let Some(i) = current {
                    self.select_event(i.index);
                }
            }
            other => {
                if let Some(target) = list_move(other, at, len, self.anomalies.page) {
                    let rows = self.incident_rows();
                    self.anomalies.selected = rows.get(target).map(|i| i.seq);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_filter_cycles_through_every_kind_and_back_to_all() {
        let mut k = None;
        let mut seen = Vec::new();
        for _ in 0..=AnomalyKind::ALL.len() {
            k = next_kind(k);
            seen.push(k);
        }
        assert_eq!(seen.last(), Some(&None));
        assert_eq!(seen.len(), AnomalyKind::ALL.len() + 1);
    }
}
