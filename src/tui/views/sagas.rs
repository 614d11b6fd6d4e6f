//! The sagas view: per saga type, instances by state and the time from
//! each step to the next (inferred: the learned path); below, the
//! instances, stuck and failed first. Enter opens an instance's timeline,
//! `w` the waterfall ([`super::saga_timeline`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::kit::untrusted;
use super::kit::{scroll_to_selection, state_style};
use crate::analysis::saga::{Percentiles, SagaState, SagaTypeRow};
use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// The narrowest the last type's column gets before other columns go.
const LAST_TYPE_MIN: u16 = 12;

use crate::format::duration_ms as ms;

fn pct(p: &Option<Percentiles>) -> String {
    match p {
        Some(p) => format!(
            "p50 {} p95 {} p99 {} max {}",
            ms(p.p50),
            ms(p.p95),
            ms(p.p99),
            ms(p.max)
        ),
        None => "-".into(),
    }
}

fn type_lines(t: &SagaTypeRow, theme: &Theme) -> Vec<Line<'static>> {
    let mut spans = vec![Span::styled(format::pad(&t.name, 12), theme.title)];
    for (state, n) in SagaState::ALL.iter().zip(t.counts) {
        // Shown only when flowscope was blind.
        if *state == SagaState::Unverifiable && n == 0 {
            continue;
        }
        spans.push(Span::styled(
            format!("{} {}  ", state.label(), format::count(n)),
            if n > 0 {
                state_style(*state, theme)
            } else {
                theme.muted
            },
        ));
    }
    let mut lines = vec![Line::from(spans)];
    if t.inferred {
        match &t.learned {
            Some(l) => {
                let mut spans = vec![Span::styled("  learned path  ", theme.muted)];
                spans.extend(untrusted::spans(&l.path.join(" → "), theme.event_type, theme));
                spans.push(Span::styled(
                        format!(
                            "  ({} of {} finished)",
                            format::count(l.instances),
                            format::count(l.finished),
                        ),
                    theme.muted,
                ));
                lines.push(Line::from(spans));
                let mut spans = vec![Span::styled(
                    "  to follow it, paste into flowscope.toml:  ",
                    theme.muted,
                )];
                spans.extend(untrusted::spans(
                    &l.toml().replace('\n', "  "),
                    theme.text,
                    theme,
                ));
                lines.push(Line::from(spans));
            }
            None => lines.push(Line::styled(
                "  no [[sagas]] defined: grouped by correlation value; the happy path is learned once instances go quiet",
                theme.muted,
            )),
        }
    }
    lines.push(Line::from(vec![
        Span::styled("  end to end  ", theme.muted),
        Span::raw(pct(&t.end_to_end)),
    ]));
    for (step, p) in &t.steps {
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", format::pad(step, 40)), theme.muted),
            Span::raw(pct(p)),
        ]));
    }
    lines
}

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = app.opts.theme.clone();
    let view = app.snapshot.sagas.clone();
    let blind = app
        .blind_note()
        .map(|n| Span::styled(format!(" {n} "), theme.warn));
    if view.kept == 0 && view.types.iter().all(|t| t.inferred) {
        let mut b = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border_focus)
            .title(Span::styled(" Sagas ", theme.title));
        if let Some(note) = blind {
            b = b.title(note);
        }
        let inner = b.inner(area);
        f.render_widget(b, area);
        f.render_widget(
            Paragraph::new(Span::styled(
                "No saga instances: no [[sagas]] are defined (docs/CONFIG.md) and no event carries a correlation value ([fields].correlation) to group by.",
                theme.muted,
            ))
            .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let summary: Vec<Line> = view
        .types
        .iter()
        .flat_map(|t| type_lines(t, &theme))
        .collect();
    let top_h = (summary.len() as u16 + 2).min(area.height / 2);
    let [top, list] = Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(area);
    let mut b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(" Saga types ", theme.title));
    if let Some(note) = blind {
        b = b.title(note);
    }
    let inner = b.inner(top);
    f.render_widget(b, top);
    f.render_widget(Paragraph::new(summary), inner);

    let rows = app.saga_rows();
    let filter = app
        .sagas
        .only
        .map_or("all states".to_owned(), |s| s.label().to_owned());
    let shown = if view.rows.len() < view.kept {
        format!(
            "{} of {}",
            format::count(rows.len() as u64),
            format::count(view.kept as u64)
        )
    } else {
        format::count(rows.len() as u64)
    };
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(
            format!(
                " Instances · {shown} · {filter} (t) · by {}{} (s) · Enter: timeline · w: waterfall ",
                app.sagas.sort.label(),
                if app.sagas.reverse { ", reversed" } else { "" }
            ),
            theme.title,
        ));
    let inner = b.inner(list);
    let height = inner.height.saturating_sub(1) as usize;
    let at = app.selected_saga(&rows);
    let offset = scroll_to_selection(app.sagas.offset, at, rows.len(), height, false);
    let now = view.clock_ns;
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let visible = || rows.iter().skip(offset).take(height);
    let id_w = visible()
        .map(|r| crate::sanitize::width(&r.id))
        .max()
        .unwrap_or(0)
        .clamp(2, 40) as u16;
    // Columns: (header, width); the id is never cut while a column can go.
    let mut columns: Vec<(&str, Constraint)> = vec![
        ("State", Constraint::Length(11)),
        ("Saga", Constraint::Length(10)),
        ("Id", Constraint::Length(id_w)),
        ("Steps", Constraint::Length(5)),
        ("Started", Constraint::Length(12)),
        ("Duration", Constraint::Length(8)),
        ("Last event", Constraint::Length(10)),
        ("Last type", Constraint::Fill(1)),
        ("Odd", Constraint::Length(4)),
    ];
    let width_of = |cols: &[(&str, Constraint)]| -> u16 {
        cols.iter()
            .map(|(_, c)| match c {
                Constraint::Length(n) => n + 1,
                _ => LAST_TYPE_MIN + 1,
            })
            .sum()
    };
    if view.types.len() <= 1 {
        columns.retain(|(h, _)| *h != "Saga");
    }
    for drop in ["Saga", "Started", "Last event", "Duration"] {
        if width_of(&columns) <= inner.width {
            break;
        }
        columns.retain(|(h, _)| *h != drop);
    }
    let shown = |h: &str| columns.iter().any(|(c, _)| *c == h);
    let table_rows: Vec<Row> = visible()
        .enumerate()
        .map(|(k, r)| {
            let mut cells = vec![Cell::from(Span::styled(
                r.state.label(),
                state_style(r.state, &theme),
            ))];
            if shown("Saga") {
                cells.push(untrusted::cell(&r.saga, theme.text, &theme));
            }
            cells.push(untrusted::cell(&r.id, theme.text, &theme));
            cells.push(right(format!("{}/{}", r.steps_done, r.steps_total)));
            if shown("Started") {
                cells.push(Cell::from(format::clock(r.started_ns, app.opts.tz)));
            }
            if shown("Duration") {
                cells.push(right(format::duration(r.last_ns - r.started_ns)));
            }
            if shown("Last event") {
                cells.push(right(format!("{} ago", format::duration(now - r.last_ns))));
            }
            cells.push(untrusted::cell(&r.last_type, theme.event_type, &theme));
            cells.push(right(if r.marks > 0 {
                format!("{}!", r.marks)
            } else {
                String::new()
            }));
            let row = Row::new(cells);
            if offset + k == at {
                row.style(theme.selection)
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(
        columns
            .iter()
            .map(|(h, _)| match *h {
                "Steps" | "Duration" | "Last event" | "Odd" => right(h.to_string()),
                _ => Cell::from(*h),
            })
            .collect::<Vec<_>>(),
    )
    .style(theme.header);
    let widths: Vec<Constraint> = columns.iter().map(|(_, c)| *c).collect();
    let page = height.max(1);
    f.render_widget(
        Table::new(table_rows, widths)
            .header(header)
            .column_spacing(1)
            .block(b),
        list,
    );
    app.sagas.offset = offset;
    app.sagas.page = page;
}
