//! The consumer lag view: streams with their consumers under them, worst
//! status first, coloured by status, with a lag sparkline per consumer;
//! below, the selected consumer's lag, unprocessed and outstanding over time
//! and its settings (or the selected stream's state).

mod consumer;
mod stream;
mod table;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::kit::scroll_to_selection;
use super::kit::untrusted;
use super::kit::wrap::wrap;
use crate::analysis::snapshot::LinkState;
use crate::format;
use crate::tui::app::App;
use crate::tui::app::lag::{LagRow, lag_rows};
use table::{COLS, NAME_MIN, STATUS_W, consumer_line, fitting_cols, pad, stream_line};

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = app.opts.theme.clone();
    let view = app.snapshot.lag.clone();
    let rows = lag_rows(&view, app.lag.show_hidden);
    let [list, below] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let consumers = view.consumers().filter(|c| !c.state.flowscope).count();
    let mut title = format!(
        " Consumer lag · {} · {} ",
        format::plural(view.streams.len() as u64, "stream"),
        format::plural(consumers as u64, "consumer")
    );
    if view.polled_ns > 0 {
        title.push_str(&format!(
            "· polled {} ",
            format::clock(view.polled_ns, app.opts.tz)
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(title, theme.title));
    let inner = block.inner(list);
    f.render_widget(block, list);
    let height = inner.height.saturating_sub(1) as usize;
    app.lag.page = height.max(1);
    if rows.is_empty() {
        let offline = app.snapshot.status.link == LinkState::Offline;
        let msg = match (&view.error, view.polls) {
            (Some(e), _) => format!("The lag poll failed: {e}"),
            (None, 0) if app.snapshot.replay.is_some() => "No lag samples up to this point of the recording (they are recorded from sessions with JetStream and --lag-interval above 0).".into(),
            (None, 0) if offline => "No server to poll: this session runs without NATS (an in-process simulation), so there are no JetStream consumers to show.".into(),
            (None, 0) => "No lag poll yet: the poller runs every --lag-interval on servers with JetStream.".into(),
            (None, _) => "No JetStream streams on this server.".into(),
        };
        f.render_widget(
            Paragraph::new(wrap(
                vec![untrusted::line(&msg, theme.muted, &theme)],
                inner.width as usize,
            )),
            inner,
        );
        return;
    }
    let width = inner.width as usize;
    let ncols = fitting_cols(width);
    let fixed: usize = STATUS_W + 1 + COLS.iter().take(ncols).map(|c| c.width + 1).sum::<usize>();
    let name_w = width.saturating_sub(fixed).max(NAME_MIN);
    let mut header = vec![
        Span::raw(pad("Status", STATUS_W, false)),
        Span::raw(" "),
        Span::raw(pad("Stream / consumer", name_w, false)),
    ];
    for c in COLS.iter().take(ncols) {
        header.push(Span::raw(" "));
        header.push(Span::raw(pad(c.title, c.width, c.right)));
    }
    let mut lines = vec![Line::from(header).style(theme.header)];
    let at = app.selected_lag_row(&rows);
    let offset = scroll_to_selection(app.lag.offset, at, rows.len(), height, false);
    app.lag.offset = offset;
    for (i, row) in rows.iter().enumerate().skip(offset).take(height) {
        let line = match row {
            LagRow::Stream(s) => {
                let hidden = if app.lag.show_hidden {
                    0
                } else {
                    s.consumers.iter().filter(|c| c.state.flowscope).count()
                };
                stream_line(s, view.polled_ns, hidden, width, &theme)
            }
            LagRow::Consumer(_, c) => consumer_line(c, ncols, name_w, &theme),
        };
        lines.push(if i == at {
            line.style(theme.selection)
        } else {
            line
        });
    }
    f.render_widget(Paragraph::new(lines), inner);
    if let Some(e) = &view.error {
        let msg = format!(" last poll: {} ", untrusted::plain(e));
        let w = (crate::sanitize::width(&msg) as u16).min(list.width.saturating_sub(2));
        let r = Rect::new(list.x + 1, list.y + list.height - 1, w, 1);
        f.render_widget(Paragraph::new(Span::styled(msg, theme.warn)), r);
    }
    match rows.get(at) {
        Some(LagRow::Consumer(s, c)) => consumer::render(app, f, below, s, c, &theme),
        Some(LagRow::Stream(s)) => stream::render(app, f, below, s, &theme),
        None => {}
    }
}
