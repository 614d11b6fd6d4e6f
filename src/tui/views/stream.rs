//! The event table: receive time, subject, type, key, size and flags. Only
//! the visible rows are read from the snapshot, so a million retained events
//! cost the same to draw as ten.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::kit::scroll_to_selection;
use super::kit::untrusted;
use crate::analysis::anomalies::AnomalyKind;
use crate::format;
use crate::tui::app::{App, Focus};

/// Column widths that do not stretch.
const TIME_W: u16 = 12;
const SIZE_W: u16 = 8;
/// The stream sequence column, shown when visible events came from a stream.
const SEQ_W: u16 = 9;
/// Wide enough for `REDELIVERED`; several flags are cut.
const FLAGS_W: u16 = 11;
/// Below this inner width the key column is left out.
const KEY_MIN_WIDTH: u16 = 72;

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = &app.opts.theme;
    let snap = &app.snapshot;
    let rows = snap.row_count();
    let title = match &snap.filter {
        Some(flt) => format!(
            " Events · filter {} · {} of {} ",
            untrusted::plain(&flt.spec),
            format::count(rows as u64),
            format::count(snap.events.len() as u64)
        ),
        None => format!(" Events · {} ", format::count(rows as u64)),
    };
    let focused = app.stream.focus == Focus::Table;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(Span::styled(title, theme.title));
    let inner = block.inner(area);
    let height = inner.height.saturating_sub(1) as usize; // minus the header row
    app.stream.page = height.max(1);
    let selected = app.selected_row();
    let offset = scroll_to_selection(
        app.stream.top.map_or(0, |i| snap.row_of(i)),
        selected.unwrap_or(0),
        rows,
        height,
        app.stream.follow,
    );
    app.stream.top = snap.row_index(offset);

    if rows == 0 {
        f.render_widget(block, area);
        let msg = match (&snap.filter, &snap.replay) {
            (Some(_), _) => "No event matches the filter (Esc clears it)",
            (None, Some(r)) if r.at_end => "The recording holds no events",
            (None, Some(r)) if !r.playing => {
                "No events yet at this point of the recording (Space plays)"
            }
            (None, Some(_)) => "No events yet at this point of the recording",
            (None, None) => "Waiting for events…",
        };
        f.render_widget(Paragraph::new(Span::styled(msg, theme.muted)), inner);
        return;
    }

    // Narrow terminals drop the key column first.
    let show_key = inner.width >= KEY_MIN_WIDTH;
    let visible: Vec<_> = (offset..(offset + height).min(rows))
        .filter_map(|r| {
            snap.row_index(r)
                .and_then(|i| snap.event(i))
                .map(|ev| (r, ev))
        })
        .collect();
    // Events read from a stream show their stream sequence.
    let show_seq = visible.iter().any(|(_, ev)| ev.env.js.is_some());
    let table_rows: Vec<Row> = visible
        .into_iter()
        .map(|(r, ev)| {
            // Stream messages show when they were published, not when
            // flowscope read them (the detail pane has both).
            let mut cells = vec![Cell::from(format::clock(ev.env.event_ns(), app.opts.tz))];
            if show_seq {
                let seq = ev
                    .env
                    .js
                    .as_ref()
                    .map_or(String::new(), |js| js.stream_seq.to_string());
                cells.push(Cell::from(Line::from(seq).right_aligned()));
            }
            cells.extend([
                untrusted::cell(&ev.env.subject, theme.subject, theme),
                untrusted::cell(&ev.event_type, theme.event_type, theme),
            ]);
            if show_key {
                cells.push(untrusted::cell(&ev.key, theme.text, theme));
            }
            cells.push(Cell::from(
                Line::from(format::bytes(ev.env.payload.len() as u64)).right_aligned(),
            ));
            let flag_style = if ev.flags.has(AnomalyKind::Conflict) {
                theme.error
            } else {
                theme.flag
            };
            cells.push(Cell::from(Span::styled(ev.flags.labels(), flag_style)));
            let row = Row::new(cells);
            if Some(r) == selected {
                row.style(theme.selection)
            } else {
                row
            }
        })
        .collect();
    let mut titles = vec!["Time"];
    let mut widths = vec![Constraint::Length(TIME_W)];
    if show_seq {
        titles.push("Seq");
        widths.push(Constraint::Length(SEQ_W));
    }
    titles.extend(["Subject", "Type"]);
    widths.extend([Constraint::Fill(3), Constraint::Fill(3)]);
    if show_key {
        titles.push("Key");
        widths.push(Constraint::Fill(2));
    }
    titles.extend(["Size", "Flags"]);
    widths.extend([Constraint::Length(SIZE_W), Constraint::Length(FLAGS_W)]);
    let header = Row::new(titles).style(theme.header);
    let table = Table::new(table_rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    f.render_widget(table, area);
}
