//! The subjects view: a tree of subject tokens with counts, rates and a
//! sparkline of the last minute, sortable, with collapsible branches.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::kit::untrusted;
use crate::analysis::flow::FlowView;
use crate::analysis::lag::LagView;
use crate::format;
use crate::tui::app::{App, SubjectSort, selected_position, subject_rows};

/// Below this inner width the sparkline column is left out.
const SPARK_MIN_WIDTH: u16 = 90;
/// Below this inner width the byte columns are left out.
const BYTES_MIN_WIDTH: u16 = 66;

fn header_label(name: &str, col: SubjectSort, app: &App) -> String {
    if app.subjects.sort == col {
        format!(
            "{name}{}",
            if app.subjects.descending {
                "▼"
            } else {
                "▲"
            }
        )
    } else {
        name.to_owned()
    }
}

/// The subjects view, with who consumes the selected subject below it once
/// the servers' connections have been polled.
pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let flow = app.snapshot.flow.clone();
    let lag = app.snapshot.lag.clone();
    let known = Consumers {
        flow: &flow,
        lag: &lag,
    };
    if (flow.polls == 0 && lag.polls == 0) || area.height < FLOW_MIN_HEIGHT {
        return render_tree(app, f, area, None);
    }
    let [tree, below] =
        Layout::vertical([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(area);
    render_tree(app, f, tree, Some(known));
    render_consumers(app, f, below, known);
}

/// What is known about who consumes subjects: core NATS subscriptions
/// (CONNZ polls) and JetStream streams with their consumers (lag polls).
#[derive(Clone, Copy)]
struct Consumers<'a> {
    flow: &'a FlowView,
    lag: &'a LagView,
}

impl Consumers<'_> {
    /// Copies of each message: one per plain subscriber and queue group,
    /// and one per stream that stores it.
    fn deliveries(&self, subject: &str) -> usize {
        self.flow.fan_out(subject).deliveries() + self.lag.captures(subject).len()
    }
}

/// Below this height the consumers pane is left out.
const FLOW_MIN_HEIGHT: u16 = 16;

/// Who subscribes to the selected subject: connection, pattern, queue
/// group, messages delivered and pending bytes (flagged when growing).
fn render_consumers(app: &App, f: &mut Frame, area: Rect, known: Consumers) {
    let theme = &app.opts.theme;
    let flow = known.flow;
    let subject = app.subjects.selected.clone().unwrap_or_default();
    let subs = flow.subscribers(&subject);
    let fan = flow.fan_out(&subject);
    let captures = known.lag.captures(&subject);
    let readers: usize = captures.iter().map(|c| c.readers.len()).sum();
    let mut title = format!(" Who consumes {} · ", untrusted::plain(&subject));
    let mut parts = Vec::new();
    if fan.deliveries() > 0 {
        parts.push(format!(
            "{} ({} plain, {})",
            format::plural(fan.deliveries() as u64, "core subscriber"),
            fan.plain,
            format::plural(fan.groups.len() as u64, "queue group")
        ));
    }
    if !captures.is_empty() {
        parts.push(format!(
            "stored by {}, read by {}",
            format::plural(captures.len() as u64, "stream"),
            format::plural(readers as u64, "consumer")
        ));
    }
    title.push_str(&match known.deliveries(&subject) {
        0 if flow.polls == 0 => "no JetStream stream stores it".to_owned(),
        0 => "no subscribers".to_owned(),
        n => format!("each message delivered {n}×: {}", parts.join("; ")),
    });
    title.push(' ');
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(title, theme.title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines = Vec::new();
    if let Some(e) = &flow.error {
        lines.push(untrusted::line(
            &format!("last poll: {e}"),
            theme.warn,
            theme,
        ));
    }
    for c in &captures {
        let st = &c.stream.state;
        let mut spans = vec![Span::styled(
            format!("{} ", format::fit(&format!("stream {}", st.name), 24)),
            theme.text,
        )];
        spans.push(Span::styled(
            format!("{} ", format::fit(&st.subject_filters.join(","), 20)),
            theme.subject,
        ));
        let names: Vec<String> = c
            .readers
            .iter()
            .map(|r| untrusted::plain(&r.state.name))
            .collect();
        spans.push(Span::styled(
            match names.len() {
                0 => "stored; no consumer reads it".to_owned(),
                _ => format!("stored; read by {}", names.join(", ")),
            },
            theme.muted,
        ));
        lines.push(Line::from(spans));
    }
    if subs.is_empty() && flow.polls > 0 {
        lines.push(Line::styled(
            "No connection subscribes to this subject on core NATS (flowscope's own and inbox subscriptions are not shown).",
            theme.muted,
        ));
    }
    for s in subs.iter().take(inner.height as usize) {
        let c = s.connection;
        let how = match &s.subscription.queue {
            Some(q) => {
                let members = fan
                    .groups
                    .iter()
                    .find(|(g, _)| g == q)
                    .map_or(1, |(_, n)| *n);
                format!("queue {} ({members} sharing)", untrusted::plain(q))
            }
            None => "every message".to_owned(),
        };
        let mut spans = vec![
            Span::styled(format!("{} ", format::fit(&c.name, 24)), theme.text),
            Span::styled(
                format!("{} ", format::fit(&s.subscription.subject, 20)),
                theme.subject,
            ),
            Span::styled(format!("{} ", format::fit(&how, 28)), theme.muted),
            Span::raw(format!(
                "{:>10} msgs  pending {:>9}",
                format::count(s.subscription.msgs),
                format::bytes(c.pending_bytes)
            )),
        ];
        if c.pending_growing {
            spans.push(Span::styled("  ▲ pending grows", theme.warn));
        }
        if c.slow_closed > 0 {
            spans.push(Span::styled(
                format!("  slow consumer ×{}", c.slow_closed),
                theme.error,
            ));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn render_tree(app: &mut App, f: &mut Frame, area: Rect, known: Option<Consumers>) {
    let theme = app.opts.theme.clone();
    let root = &app.snapshot.subjects;
    let title = format!(
        " Subjects · {} · {} ",
        format::plural(root.events, "event"),
        app.rate_text(root.msg_rate, "msg/s")
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(title, theme.title));
    let inner = block.inner(area);
    let height = inner.height.saturating_sub(1) as usize;
    app.subjects.page = height.max(1);
    let rows = subject_rows(app);
    if rows.is_empty() {
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Span::styled("No subjects yet", theme.muted)),
            inner,
        );
        return;
    }
    let selected = selected_position(&rows, app.subjects.selected.as_deref());
    let offset =
        super::kit::scroll_to_selection(app.subjects.offset, selected, rows.len(), height, false);
    // Narrow terminals drop the sparkline, then the byte columns.
    let show_spark = inner.width >= SPARK_MIN_WIDTH;
    let show_bytes = inner.width >= BYTES_MIN_WIDTH;
    let spark_w = inner.width.saturating_sub(70).clamp(10, 60) as usize;
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let table_rows: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, r)| {
            let marker = match (r.has_children, r.expanded) {
                (false, _) => "  ",
                (true, true) => "▾ ",
                (true, false) => "▸ ",
            };
            let mut name = vec![
                Span::raw("  ".repeat(r.depth)),
                Span::styled(marker, theme.muted),
            ];
            name.extend(untrusted::spans(&r.node.token, theme.subject, &theme));
            let name = Line::from(name);
            let mut cells = vec![
                Cell::from(name),
                right(format::count(r.node.events)),
                right(format::rate(r.node.msg_rate)),
            ];
            if let Some(known) = known {
                cells.push(right(match known.deliveries(&r.node.path) {
                    0 => "-".to_owned(),
                    n => format!("{n}×"),
                }));
            }
            if show_bytes {
                cells.push(right(format::byte_rate(r.node.byte_rate)));
                cells.push(right(format::bytes(r.node.bytes)));
            }
            if show_spark {
                let hist = &r.node.history[r.node.history.len().saturating_sub(spark_w)..];
                cells.push(Cell::from(Span::styled(
                    format::sparkline(hist),
                    theme.sparkline,
                )));
            }
            let row = Row::new(cells);
            if i == selected {
                row.style(theme.selection)
            } else {
                row
            }
        })
        .collect();
    let head = |name: &str, col: SubjectSort| right(header_label(name, col, app));
    let mut header = vec![
        Cell::from(header_label("Subject", SubjectSort::Name, app)),
        head("Events", SubjectSort::Events),
        head("Msg/s", SubjectSort::MsgRate),
    ];
    let mut widths = vec![
        Constraint::Fill(1),
        Constraint::Length(10),
        Constraint::Length(8),
    ];
    if known.is_some() {
        header.push(right("Fan-out".into()));
        widths.push(Constraint::Length(7));
    }
    if show_bytes {
        header.push(head("Bytes/s", SubjectSort::ByteRate));
        header.push(head("Bytes", SubjectSort::Bytes));
        widths.extend([Constraint::Length(12), Constraint::Length(10)]);
    }
    if show_spark {
        header.push(Cell::from("Last minute"));
        widths.push(Constraint::Length(spark_w as u16));
    }
    let table = Table::new(table_rows, widths)
        .header(Row::new(header).style(theme.header))
        .column_spacing(1)
        .block(block);
    let first_path = rows.first().map(|r| r.node.path.clone());
    drop(rows);
    app.subjects.offset = offset;
    if app.subjects.selected.is_none() {
        app.subjects.selected = first_path;
    }
    f.render_widget(table, area);
}
