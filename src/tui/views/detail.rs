//! The detail pane: everything about the selected event (its lines come
//! from [`super::kit::event`]), built once per selected event and pane
//! width, then sliced to what is visible.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::kit::{event::lines_for, wrap::wrap};
use crate::tui::app::{App, DetailCache, Focus};

/// Draws the detail pane for the selected event.
pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = &app.opts.theme;
    let focused = app.stream.focus == Focus::Detail;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(Span::styled(" Detail ", theme.title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(index) = app.selected_index() else {
        f.render_widget(
            Paragraph::new(Span::styled("No event selected", theme.muted)),
            inner,
        );
        return;
    };
    let same_event = matches!(&app.detail_cache, Some(c) if c.index == index);
    if !same_event {
        // A new event (also while following) opens at its top.
        app.stream.detail_scroll = 0;
    }
    let fresh = !same_event || !matches!(&app.detail_cache, Some(c) if c.width == inner.width);
    if fresh {
        let lines = match app.snapshot.event(index) {
            Some(ev) => wrap(
                lines_for(ev, theme, app.opts.tz, true),
                inner.width as usize,
            ),
            None => vec![Line::styled("The event is no longer retained", theme.muted)],
        };
        app.detail_cache = Some(DetailCache {
            index,
            width: inner.width,
            lines,
        });
    }
    let cache = app.detail_cache.as_ref().expect("filled above");
    let page = inner.height as usize;
    app.stream.detail_page = page;
    app.stream.detail_len = cache.lines.len();
    let max_scroll = cache.lines.len().saturating_sub(page);
    app.stream.detail_scroll = app.stream.detail_scroll.min(max_scroll);
    let visible: Vec<Line> = cache
        .lines
        .iter()
        .skip(app.stream.detail_scroll)
        .take(page)
        .cloned()
        .collect();
    f.render_widget(Paragraph::new(visible), inner);
}
