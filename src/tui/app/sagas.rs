//! The sagas view's state: the instance list (state filter, sort,
//! selection), the timeline of one instance (selected event, zoom) and the
//! waterfall of the most recently started instances.

use super::{Action, App, list_move};
use crate::analysis::saga::{SagaRow, SagaState};

/// How the instance list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SagaSort {
    /// Stuck and failed first, then by start.
    #[default]
    State,
    Started,
    Duration,
    Id,
    /// Longest without an event first.
    LastEvent,
}

impl SagaSort {
    const ORDER: [SagaSort; 5] = [
        SagaSort::State,
        SagaSort::Started,
        SagaSort::Duration,
        SagaSort::Id,
        SagaSort::LastEvent,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SagaSort::State => "state",
            SagaSort::Started => "started",
            SagaSort::Duration => "duration",
            SagaSort::Id => "id",
            SagaSort::LastEvent => "last event",
        }
    }

    fn next(self) -> SagaSort {
        let i = Self::ORDER.iter().position(|s| *s == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }
}

/// The timeline of one instance.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The instance, refreshed from each snapshot while it is in view.
    pub row: SagaRow,
    /// The selected event (index into the row's events).
    pub point: usize,
    /// 1: the whole instance fits; 2: half of it; …
    pub zoom: u32,
}

/// The most zoom: 1/1024 of the instance's time across the screen.
pub const MAX_ZOOM: u32 = 1024;

/// Sagas view state.
#[derive(Debug, Clone, Default)]
pub struct SagasState {
    /// The selected instance (saga, id); none: the first.
    pub selected: Option<(String, String)>,
    /// Only instances in this state.
    pub only: Option<SagaState>,
    pub sort: SagaSort,
    pub reverse: bool,
    pub offset: usize,
    pub page: usize,
    /// The timeline shown instead of the list (Enter).
    pub timeline: Option<Timeline>,
    /// The waterfall shown instead of the list (w).
    pub waterfall: bool,
    /// The selected waterfall row (saga, id); none: the newest.
    pub waterfall_selected: Option<(String, String)>,
    pub waterfall_page: usize,
    pub waterfall_offset: usize,
}

fn key(r: &SagaRow) -> (String, String) {
    (r.saga.clone(), r.id.clone())
}

impl App {
    /// The listed instances, with the state filter and the sort applied.
    pub fn saga_rows(&self) -> Vec<&SagaRow> {
        let now = self.snapshot.sagas.clock_ns;
        let mut rows: Vec<&SagaRow> = self
            .snapshot
            .sagas
            .rows
            .iter()
            .filter(|r| self.sagas.only.is_none_or(|s| r.state == s))
            .collect();
        match self.sagas.sort {
            // The engine lists them so already.
            SagaSort::State => {}
            SagaSort::Started => rows.sort_by_key(|r| std::cmp::Reverse(r.started_ns)),
            SagaSort::Duration => {
                rows.sort_by_key(|r| std::cmp::Reverse(r.last_ns - r.started_ns));
            }
            SagaSort::Id => rows.sort_by(|a, b| a.id.cmp(&b.id)),
            SagaSort::LastEvent => rows.sort_by_key(|r| std::cmp::Reverse(now - r.last_ns)),
        }
        if self.sagas.reverse {
            rows.reverse();
        }
        rows
    }

    /// Index of the selected instance among [`App::saga_rows`].
    pub fn selected_saga(&self, rows: &[&SagaRow]) -> usize {
        self.sagas
            .selected
            .as_ref()
            .and_then(|(s, id)| rows.iter().position(|r| &r.saga == s && &r.id == id))
            .unwrap_or(0)
    }

    /// The waterfall's rows (oldest first) and the selected one's index.
    pub fn waterfall_rows(&self) -> (&[SagaRow], usize) {
        let rows = &self.snapshot.sagas.recent[..];
        let at = self
            .sagas
            .waterfall_selected
            .as_ref()
            .and_then(|(s, id)| rows.iter().position(|r| &r.saga == s && &r.id == id))
            .unwrap_or(rows.len().saturating_sub(1));
        (rows, at)
    }

    /// Brings the timeline's instance up to date with the snapshot (it
    /// stays as last seen when it is no longer listed).
    pub fn refresh_timeline(&mut self) {
        let Some(t) = &mut self.sagas.timeline else {
            return;
        };
        let v = &self.snapshot.sagas;
        if let Some(r) = v
            .rows
            .iter()
            .chain(&v.recent)
            .find(|r| r.saga == t.row.saga && r.id == t.row.id)
        {
            t.row = r.clone();
        }
        t.point = t.point.min(t.row.events.len().saturating_sub(1));
    }

    fn open_timeline(&mut self, row: Option<SagaRow>) {
        if let Some(row) = row {
            self.sagas.timeline = Some(Timeline {
                point: 0,
                zoom: 1,
                row,
            });
        }
    }

    pub(super) fn sagas_action(&mut self, action: Action) {
        if self.sagas.timeline.is_some() {
            self.timeline_action(action);
        } else if self.sagas.waterfall {
            self.waterfall_action(action);
        } else {
            self.list_action(action);
        }
    }

    fn timeline_action(&mut self, action: Action) {
        self.refresh_timeline();
        let Some(t) = &mut self.sagas.timeline else {
            return;
        };
        let len = t.row.events.len();
        match action {
            Action::Back => self.sagas.timeline = None,
            Action::ZoomIn => t.zoom = (t.zoom * 2).min(MAX_ZOOM),
            Action::ZoomOut => t.zoom = (t.zoom / 2).max(1),
            Action::ZoomFit => t.zoom = 1,
            Action::Up | Action::Collapse => t.point = t.point.saturating_sub(1),
            Action::Down | Action::Expand => t.point = (t.point + 1).min(len.saturating_sub(1)),
            Action::Top => t.point = 0,
            Action::Bottom => t.point = len.saturating_sub(1),
            Action::JumpRelated => {
                if let Some(e) = t.row.events.get(t.point) {
                    let index = e.index;
                    self.select_event(index);
                }
            }
            Action::FilterToInstance => {
                let id = t.row.id.clone();
                self.show_filtered(&format!("text:{id}"));
            }
            _ => {}
        }
    }

    fn waterfall_action(&mut self, action: Action) {
        let (rows, at) = self.waterfall_rows();
        let current = rows.get(at).cloned();
        let moved = list_move(action, at, rows.len(), self.sagas.waterfall_page)
            .map(|target| rows.get(target).map(key));
        match action {
            Action::Back => self.sagas.waterfall = false,
            Action::OpenTimeline => self.open_timeline(current),
            Action::FilterToInstance => {
                if let Some(r) = current {
                    self.show_filtered(&format!("text:{}", r.id));
                }
            }
            _ => {
                if let Some(selected) = moved {
                    self.sagas.waterfall_selected = selected;
                }
            }
        }
    }

    fn list_action(&mut self, action: Action) {
        let rows = self.saga_rows();
        let at = self.selected_saga(&rows);
        let current = rows.get(at).map(|r| (*r).clone());
        let moved = list_move(action, at, rows.len(), self.sagas.page)
            .map(|target| rows.get(target).map(|r| key(r)));
        drop(rows);
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
            Action::CycleSort => {
                self.sagas.sort = self.sagas.sort.next();
                self.sagas.offset = 0;
            }
            Action::ReverseSort => self.sagas.reverse = !self.sagas.reverse,
            Action::OpenTimeline => self.open_timeline(current),
            Action::ToggleWaterfall => {
                self.sagas.waterfall = true;
                self.sagas.waterfall_selected = current.as_ref().map(key);
            }
            Action::FilterToInstance => {
                if let Some(r) = current {
                    self.show_filtered(&format!("text:{}", r.id));
                }
            }
            _ => {
                if let Some(selected) = moved {
                    self.sagas.selected = selected;
                }
            }
        }
    }
}
