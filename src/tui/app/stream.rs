//! The event stream view's state: selection, follow mode, the detail pane,
//! and jumps between related events.

use super::{Action, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Table,
    Detail,
}

/// Event table and detail pane state.
#[derive(Debug, Clone)]
pub struct StreamState {
    /// Tail new events; moving the selection turns it off.
    pub follow: bool,
    /// Capture index of the selected event while not following.
    pub selected: Option<u64>,
    /// Capture index of the first visible row: rows shift when old events
    /// are evicted, the events themselves do not.
    pub top: Option<u64>,
    pub focus: Focus,
    pub show_detail: bool,
    pub detail_scroll: usize,
    /// Rows the table showed in the last frame (page size).
    pub page: usize,
    /// Lines the detail pane showed in the last frame.
    pub detail_page: usize,
    /// Lines the detail pane has for the selected event.
    pub detail_len: usize,
}

impl Default for StreamState {
    fn default() -> Self {
        StreamState {
            follow: true,
            selected: None,
            top: None,
            focus: Focus::Table,
            show_detail: true,
            detail_scroll: 0,
            page: 10,
            detail_page: 10,
            detail_len: 0,
        }
    }
}

impl App {
    /// Table row of the selection, if there are rows.
    pub fn selected_row(&self) -> Option<usize> {
        let n = self.snapshot.row_count();
        if n == 0 {
            return None;
        }
        if self.stream.follow {
            return Some(n - 1);
        }
        let row = self
            .stream
            .selected
            .map_or(n - 1, |i| self.snapshot.row_of(i));
        Some(row.min(n - 1))
    }

    /// Capture index of the selected event.
    pub fn selected_index(&self) -> Option<u64> {
        self.selected_row().and_then(|r| self.snapshot.row_index(r))
    }

    fn select_row(&mut self, row: usize) {
        let n = self.snapshot.row_count();
        if n == 0 {
            return;
        }
        let row = row.min(n - 1);
        self.stream.follow = false;
        self.stream.selected = self.snapshot.row_index(row);
        self.stream.detail_scroll = 0;
    }

    /// Selects event `index` in the stream view, if it can be shown.
    pub(crate) fn select_event(&mut self, index: u64) {
        if self.snapshot.event(index).is_none() {
            self.flash = Some(format!(
                "event #{index} is no longer retained (see --retain)"
            ));
            return;
        }
        if let Some(f) = &self.snapshot.filter
            && f.matches.binary_search(&index).is_err()
        {
            self.flash = Some(format!(
                "event #{index} is hidden by the filter {} (Esc clears it)",
                f.spec
            ));
            return;
        }
        self.view = super::View::Stream;
        self.stream.focus = Focus::Table;
        self.stream.follow = false;
        self.stream.selected = Some(index);
        self.stream.detail_scroll = 0;
    }

    /// Moves to the next (or previous) event with a flag.
    fn select_flagged(&mut self, forward: bool) {
        let n = self.snapshot.row_count();
        let Some(row) = self.selected_row() else {
            return;
        };
        let flagged = |r: usize| {
            self.snapshot
                .row_index(r)
                .and_then(|i| self.snapshot.event(i))
                .is_some_and(|e| !e.flags.is_empty())
        };
        let found = if forward {
            (row + 1..n).find(|r| flagged(*r))
        } else {
            (0..row).rev().find(|r| flagged(*r))
        };
        match found {
            Some(r) => self.select_row(r),
            None => {
                self.flash = Some(format!(
                    "no flagged event {}",
                    if forward { "below" } else { "above" }
                ))
            }
        }
    }

    fn jump_related(&mut self) {
        let Some(ev) = self
            .selected_index()
            .and_then(|i| self.snapshot.event(i))
            .cloned()
        else {
            return;
        };
        match ev.findings().iter().find_map(|f| f.related) {
            Some(related) => self.select_event(related),
            None => self.flash = Some("this event has no related event".into()),
        }
    }

    pub(super) fn stream_action(&mut self, action: Action) {
        if self.stream.focus == Focus::Detail {
            return self.detail_action(action);
        }
        let page = self.stream.page.max(1);
        let row = self.selected_row().unwrap_or(0);
        match action {
            Action::Up => self.select_row(row.saturating_sub(1)),
            Action::Down => self.select_row(row + 1),
            Action::PageUp => self.select_row(row.saturating_sub(page)),
            Action::PageDown => self.select_row(row + page),
            Action::Top => self.select_row(0),
            Action::Follow | Action::Bottom => {
                self.stream.follow = true;
                self.stream.detail_scroll = 0;
            }
            Action::ToggleDetail => self.stream.show_detail = !self.stream.show_detail,
            Action::SwitchFocus if self.stream.show_detail => self.stream.focus = Focus::Detail,
            Action::JumpRelated => self.jump_related(),
            Action::NextFlagged => self.select_flagged(true),
            Action::PrevFlagged => self.select_flagged(false),
            _ => {}
        }
    }

    fn detail_action(&mut self, action: Action) {
        let s = &mut self.stream;
        let max = s.detail_len.saturating_sub(s.detail_page);
        let page = s.detail_page.max(1);
        s.detail_scroll = match action {
            Action::Up => s.detail_scroll.saturating_sub(1),
            Action::Down => s.detail_scroll + 1,
            Action::PageUp => s.detail_scroll.saturating_sub(page),
            Action::PageDown => s.detail_scroll + page,
            Action::Top => 0,
            Action::Bottom => max,
            Action::SwitchFocus => {
                s.focus = Focus::Table;
                s.detail_scroll
            }
            _ => s.detail_scroll,
        }
        .min(max);
    }
}

/// The detail pane's lines for one event at one width (built once, then
/// sliced as the pane scrolls).
pub struct DetailCache {
    pub index: u64,
    pub width: u16,
    pub lines: Vec<ratatui::text::Line<'static>>,
}
