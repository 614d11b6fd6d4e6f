//! The event kinds view: every event type with its kind (notification,
//! state transfer, domain event, command), counts, sizes, fields and schema
//! drift; below, why the selected type is that kind, its learned fields and
//! its drift history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::stream::scroll_to_selection;
use super::wrap::wrap;
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
    let mut out = vec![Line::from(vec![
        Span::styled(t.name.clone(), theme.title),
        Span::raw(" is "),
        Span::styled(t.kind.label(), kind_style(t.kind, theme)),
        Span::styled(format!(": {}", t.reason), theme.muted),
    ])];
    if let Some(pa) = &t.passive_aggressive {
        out.push(Line::from(vec![
            Span::styled("! passive-aggressive command: ", theme.error),
            Span::raw(pa.clone()),
        ]));
    }
    out.push(Line::styled(
        format!(
            "Schema drift ({} change{}, newest first)",
            t.drift_changes,
            if t.drift_changes == 1 { "" } else { "s" }
        ),
        theme.header,
    ));
    if t.drift.is_empty() {
        out.push(Line::styled("  none", theme.muted));
    }
    for d in t.drift.iter().rev() {
        out.push(Line::from(vec![
            Span::styled(format!("  event #{:<8} ", d.index), theme.muted),
            Span::styled(d.describe(), theme.warn),
        ]));
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
        out.push(Line::from(vec![
            Span::styled(format!("  {path}"), theme.json_key),
            Span::styled(format!("  {types}"), theme.muted),
        ]));
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
            format!(" Event kinds · {} types ", types.len()),
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
                Cell::from(Span::styled(t.name.clone(), theme.event_type)),
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
        .title(Span::styled(format!(" {} ", t.name), theme.title));
    let inner = b.inner(below);
    f.render_widget(b, below);
    let lines = wrap(details(t, &theme, fields), inner.width as usize);
    f.render_widget(Paragraph::new(lines), inner);
}
