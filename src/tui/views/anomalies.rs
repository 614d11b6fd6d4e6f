//! The anomalies view: counts per kind with a sparkline of the last minute,
//! the incidents newest first (filtered by kind with `t` and by the event
//! filter), per-subject and per-type breakdowns, and, for one incident, its
//! event and the related event side by side.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::kit::event::lines_for;
use super::kit::scroll_to_selection;
use super::kit::untrusted;
use super::kit::wrap::wrap;
use crate::analysis::anomalies::{AnomalyKind, Counts};
use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// Terminals at least this wide show the breakdowns beside the incidents.
const BREAKDOWN_MIN_WIDTH: u16 = 110;

fn flag_style(kind: AnomalyKind, theme: &Theme) -> ratatui::style::Style {
    match kind {
        AnomalyKind::Conflict | AnomalyKind::LostDelivery => theme.error,
        _ => theme.flag,
    }
}

fn block<'a>(title: String, theme: &Theme, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(Span::styled(title, theme.title))
}

fn summary(app: &App, f: &mut Frame, area: Rect, show_all: bool) {
    let theme = &app.opts.theme;
    let a = &app.snapshot.anomalies;
    let total: u64 = a.counts.iter().sum();
    let mut b = block(
        format!(" Anomalies · {} ", format::plural(total, "incident")),
        theme,
        false,
    );
    if let Some(note) = app.blind_note() {
        b = b.title(Span::styled(format!(" {note} "), theme.warn));
    }
    let inner = b.inner(area);
    let spark_w = inner.width.saturating_sub(48).clamp(8, 60) as usize;
    let rows: Vec<Row> = AnomalyKind::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| show_all || a.counts[*i] > 0)
        .map(|(i, k)| {
            let hist = a
                .history
                .get(i)
                .map(|h| &h[h.len().saturating_sub(spark_w)..])
                .unwrap_or(&[]);
            let note = match k {
                AnomalyKind::Gap if a.gaps_missing > 0 => format!(
                    "  {} missing in {}",
                    format::count(a.gaps_missing),
                    format::plural(a.gaps_open, "range")
                ),
                AnomalyKind::Unverifiable if a.gaps_unverifiable > 0 => format!(
                    "  {} missing, maybe flowscope's own drops",
                    format::count(a.gaps_unverifiable)
                ),
                _ => String::new(),
            };
            Row::new(vec![
                Cell::from(Span::styled(k.flag(), flag_style(*k, theme))),
                Cell::from(k.title()),
                Cell::from(Line::from(format::count(a.counts[i])).right_aligned()),
                Cell::from(Line::from(vec![
                    Span::styled(format::sparkline(hist), theme.sparkline),
                    Span::styled(note, theme.muted),
                ])),
            ])
        })
        .collect();
    if rows.is_empty() {
        f.render_widget(b, area);
        f.render_widget(
            Paragraph::new(Span::styled("No anomalies so far", theme.ok)),
            inner,
        );
        return;
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Length(22),
            Constraint::Length(9),
            Constraint::Fill(1),
        ],
    )
    .column_spacing(1)
    .block(b);
    f.render_widget(table, area);
}

fn incidents(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = app.opts.theme.clone();
    let kind = app
        .anomalies
        .kind
        .map_or("all".to_owned(), |k| k.flag().to_owned());
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let height = inner.height.saturating_sub(1) as usize;
    app.anomalies.page = height.max(1);
    let rows = app.incident_rows();
    let title = format!(
        " Incidents · newest first · kind {kind} (t) · {} ",
        format::count(rows.len() as u64)
    );
    let b = block(title, &theme, true);
    if rows.is_empty() {
        f.render_widget(b, area);
        f.render_widget(
            Paragraph::new(Span::styled("No incidents match", theme.muted)),
            inner,
        );
        return;
    }
    let at = app.selected_incident(&rows);
    let offset = scroll_to_selection(app.anomalies.offset, at, rows.len(), height, false);
    let table_rows: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, inc)| {
            let row = Row::new(vec![
                Cell::from(format::clock(inc.received_ns, app.opts.tz)),
                Cell::from(Span::styled(inc.kind.flag(), flag_style(inc.kind, &theme))),
                untrusted::cell(&inc.subject, theme.subject, &theme),
                untrusted::cell(&inc.event_type, theme.event_type, &theme),
                untrusted::cell(&inc.key, theme.text, &theme),
                untrusted::cell(&inc.text, theme.text, &theme),
            ]);
            if i == at {
                row.style(theme.selection)
            } else {
                row
            }
        })
        .collect();
    drop(rows);
    app.anomalies.offset = offset;
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(12),
            Constraint::Length(11),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Fill(1),
            Constraint::Fill(5),
        ],
    )
    .header(Row::new(["Time", "Kind", "Subject", "Type", "Key", "What"]).style(theme.header))
    .column_spacing(1)
    .block(b);
    f.render_widget(table, area);
}

fn breakdown_table<'a>(title: &'a str, rows: &'a [(String, Counts)], theme: &Theme) -> Table<'a> {
    let body: Vec<Row> = rows
        .iter()
        .map(|(name, c)| {
            let kinds = AnomalyKind::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| c[*i] > 0)
                .map(|(i, k)| format!("{} {}", k.flag(), c[i]))
                .collect::<Vec<_>>()
                .join(" ");
            Row::new(vec![
                untrusted::cell(name, theme.text, theme),
                Cell::from(Line::from(format::count(c.iter().sum())).right_aligned()),
                Cell::from(Span::styled(kinds, theme.muted)),
            ])
        })
        .collect();
    Table::new(
        body,
        [
            Constraint::Fill(2),
            Constraint::Length(7),
            Constraint::Fill(3),
        ],
    )
    .header(Row::new([title, "All", "Kinds"]).style(theme.header))
    .column_spacing(1)
    .block(block(format!(" {title} "), theme, false))
}

fn render_compare(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = app.opts.theme.clone();
    let Some(c) = app.anomalies.compare.clone() else {
        return;
    };
    let [head, panes] = Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(area);
    let b = block(
        format!(" {} · event #{} ", c.kind.title(), c.index),
        &theme,
        true,
    );
    f.render_widget(
        Paragraph::new(Line::from(
            [Span::styled(
                format!("{} ", c.kind.flag()),
                flag_style(c.kind, &theme),
            )]
            .into_iter()
            .chain(untrusted::spans(&c.text, theme.text, &theme))
            .collect::<Vec<_>>(),
        ))
        .block(b),
        head,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(panes);
    let page = left.height.saturating_sub(2) as usize;
    let mut max_len = 0;
    for (area, index, title) in [
        (left, Some(c.index), format!(" #{} · this event ", c.index)),
        (
            right,
            c.related,
            match c.related {
                Some(r) => format!(" #{r} · {} ", c.kind.related()),
                None => " nothing related ".to_owned(),
            },
        ),
    ] {
        let b = block(title, &theme, false);
        let inner = b.inner(area);
        f.render_widget(b, area);
        let lines = match index.map(|i| (i, app.snapshot.event(i))) {
            Some((_, Some(ev))) => wrap(
                lines_for(ev, &theme, app.opts.tz, false),
                inner.width as usize,
            ),
            Some((i, None)) => vec![Line::styled(
                format!("event #{i} is no longer retained"),
                theme.muted,
            )],
            None => vec![Line::styled(
                "this kind of anomaly has no related event",
                theme.muted,
            )],
        };
        max_len = max_len.max(lines.len());
        let visible: Vec<Line> = lines.into_iter().skip(c.scroll).take(page).collect();
        f.render_widget(Paragraph::new(visible), inner);
    }
    if let Some(cmp) = &mut app.anomalies.compare {
        cmp.page = page;
        cmp.scroll = cmp.scroll.min(max_len.saturating_sub(page));
    }
}

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    if app.anomalies.compare.is_some() {
        return render_compare(app, f, area);
    }
    let a = app.snapshot.anomalies.clone();
    // Tall terminals list every kind; small ones only those that occurred.
    let show_all = area.height >= 24;
    let shown = if show_all {
        AnomalyKind::ALL.len()
    } else {
        a.counts.iter().filter(|c| **c > 0).count().max(1)
    };
    let summary_h = (shown as u16 + 2).min(area.height / 2);
    let [top, body] =
        Layout::vertical([Constraint::Length(summary_h), Constraint::Min(3)]).areas(area);
    summary(app, f, top, show_all);
    if body.width >= BREAKDOWN_MIN_WIDTH {
        let [list, side] =
            Layout::horizontal([Constraint::Percentage(68), Constraint::Percentage(32)])
                .areas(body);
        incidents(app, f, list);
        let [subs, types] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(side);
        let theme = &app.opts.theme;
        f.render_widget(breakdown_table("Subject", &a.top_subjects, theme), subs);
        f.render_widget(breakdown_table("Type", &a.top_types, theme), types);
    } else {
        incidents(app, f, body);
    }
}
