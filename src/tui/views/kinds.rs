//! The event kinds view: every event type with its kind (notification,
//! state transfer, domain event, command), counts, sizes, fields and schema
//! drift; below, why the selected type is that kind, its learned fields and
//! its drift history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::kit::scroll_to_selection;
use super::kit::untrusted;
use super::kit::wrap::wrap;
use crate::analysis::classify::Kind;
use crate::analysis::snapshot::TypeRow;
use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// Below this inner width the size columns are left out.
const SIZES_MIN_WIDTH: u16 = 80;

fn kind_style(kind: Kind, theme: &Theme) -> ratatui::style::Style {
    match kind {
        Kind::Command => theme.warn,
        Kind::Unknown => theme.muted,
        _ => theme.event_type,
    }
}

fn details(t: &TypeRow, theme: &Theme, fields: Vec<(String, String)>) -> Vec<Line<'static>> {
    let mut head = untrusted::spans(&t.name, theme.title, theme);
    head.push(Span::raw(" is "));
    head.push(Span::styled(
        t.kind.with_article(),
        kind_style(t.kind, theme),
    ));
    head.push(Span::styled(": ", theme.muted));
    head.extend(untrusted::spans(&t.reason, theme.muted, theme));
    let mut out = vec![Line::from(head)];
    if let Some(pa) = &t.passive_aggressive {
        let mut spans = vec![Span::styled("! passive-aggressive command: ", theme.error)];
        spans.extend(untrusted::spans(pa, theme.text, theme));
        out.push(Line::from(spans));
    }
    out.push(Line::styled(
        format!(
            "Schema drift ({}, newest first)",
            format::plural(t.drift_changes, "change")
        ),
        theme.header,
    ));
    if t.drift.is_empty() {
        out.push(Line::styled("  none", theme.muted));
    }
    for d in t.drift.iter().rev() {
        let mut spans = vec![Span::styled(
            format!("  event #{:<8} ", d.index),
            theme.muted,
        )];
        spans.extend(untrusted::spans(&d.describe(), theme.warn, theme));
        out.push(Line::from(spans));
    }
    let learned = if t.learned {
        "learned"
    } else {
        "still learning"
    };
    out.push(Line::styled(
        format!("Fields ({learned}): {}", t.fields),
        theme.header,
    ));
    for (path, types) in fields {
        let mut spans = vec![Span::raw("  ")];
        spans.extend(untrusted::spans(&path, theme.json_key, theme));
        spans.push(Span::styled(format!("  {types}"), theme.muted));
        out.push(Line::from(spans));
    }
    out
}

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = app.opts.theme.clone();
    let types = app.snapshot.types.clone();
    // The table takes what its rows need, up to 60%; the details the rest.
    let table_h = (types.len() as u16 + 3).clamp(4, (area.height * 3 / 5).max(4));
    let [list, below] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(area);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(
            format!(
                " Event kinds · {} ",
                format::plural(types.len() as u64, "type")
            ),
            theme.title,
        ));
    let inner = b.inner(list);
    let height = inner.height.saturating_sub(1) as usize;
    app.kinds.page = height.max(1);
    if types.is_empty() {
        f.render_widget(b, list);
        f.render_widget(
            Paragraph::new(Span::styled("No events yet", theme.muted)),
            inner,
        );
        return;
    }
    let at = app.selected_type();
    let offset = scroll_to_selection(app.kinds.offset, at, types.len(), height, false);
    app.kinds.offset = offset;
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    // Narrow terminals drop the size columns first.
    let sizes = inner.width >= SIZES_MIN_WIDTH;
    let rows: Vec<Row> = types
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, t)| {
            let mark = if t.passive_aggressive.is_some() {
                "!"
            } else {
                ""
            };
            let mut cells = vec![
                untrusted::cell(&t.name, theme.event_type, &theme),
                Cell::from(Span::styled(
                    format!("{}{mark}", t.kind.label()),
                    kind_style(t.kind, &theme),
                )),
                right(format::count(t.events)),
            ];
            if sizes {
                cells.push(right(format::bytes(t.avg_size)));
                cells.push(right(format::bytes(t.max_size)));
            }
            cells.push(right(t.fields.to_string()));
            cells.push(right(if t.drift_changes > 0 {
                t.drift_changes.to_string()
            } else {
                "-".into()
            }));
            let row = Row::new(cells);
            if i == at {
                row.style(theme.selection)
            } else {
                row
            }
        })
        .collect();
    let mut header = vec![
        Cell::from("Type"),
        Cell::from("Kind"),
        right("Events".into()),
    ];
    let mut widths = vec![
        Constraint::Min(12),
        Constraint::Length(16),
        Constraint::Length(9),
    ];
    if sizes {
        header.extend([right("Avg size".into()), right("Max size".into())]);
        widths.extend([Constraint::Length(10), Constraint::Length(10)]);
    }
    header.extend([right("Fields".into()), right("Drift".into())]);
    widths.extend([Constraint::Length(6), Constraint::Length(5)]);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1)
        .block(b);
    f.render_widget(table, list);

    let Some(t) = types.get(at) else { return };
    let fields = t
        .schema
        .iter()
        .map(|(path, types)| {
            (
                path.clone(),
                types.iter().map(|t| t.name()).collect::<Vec<_>>().join("|"),
            )
        })
        .collect();
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(
            format!(" {} ", untrusted::plain(&t.name)),
            theme.title,
        ));
    let inner = b.inner(below);
    f.render_widget(b, below);
    let lines = wrap(details(t, &theme, fields), inner.width as usize);
    f.render_widget(Paragraph::new(lines), inner);
}
