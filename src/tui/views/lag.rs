//! The consumer lag view: streams with their consumers under them, worst
//! status first, coloured by status, with a lag sparkline per consumer;
//! below, the selected consumer's lag, unprocessed and outstanding over time
//! and its settings (or the selected stream's state).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use super::kit::scroll_to_selection;
use super::kit::untrusted;
use super::kit::wrap::wrap;
use crate::analysis::lag::{ConsumerLag, Health, Sample, StreamLag};
use crate::analysis::snapshot::LinkState;
use crate::format;
use crate::tui::app::App;
use crate::tui::app::lag::{LagRow, lag_rows};
use crate::tui::theme::Theme;

/// Samples in a row's sparkline.
const TREND: usize = 16;

pub fn health_style(h: Health, theme: &Theme) -> Style {
    match h {
        Health::Ok => theme.ok,
        Health::Unknown => theme.muted,
        Health::Warn => theme.warn,
        Health::Stall | Health::Stop | Health::Rewind => theme.error,
    }
}

/// A column of the consumer rows: title, width, right-aligned.
struct Col {
    title: &'static str,
    width: usize,
    right: bool,
}

const fn col(title: &'static str, width: usize, right: bool) -> Col {
    Col {
        title,
        width,
        right,
    }
}

/// Columns after the name, in order; the last ones go first when narrow.
const COLS: [Col; 11] = [
    col("Kind", 6, false),
    col("Lag", 9, true),
    col("Unproc", 9, true),
    col("Outst", 8, true),
    col("Redel", 6, true),
    col("Wait", 5, true),
    col("Rate/s", 8, true),
    col("Catch-up", 9, true),
    col("Oldest", 7, true),
    col("Floor age", 9, true),
    col("Trend", TREND, false),
];
const STATUS_W: usize = 7;
const NAME_MIN: usize = 12;

/// A cell of `width` columns, escaped (names come from the server).
fn pad(s: &str, width: usize, right: bool) -> String {
    if right {
        format::fit_left(s, width)
    } else {
        format::fit(s, width)
    }
}

fn age(now: i64, then: Option<i64>) -> String {
    then.filter(|t| *t > 0)
        .map_or("-".into(), |t| format::duration(now - t))
}

fn signed_rate(r: Option<f64>) -> String {
    r.map_or("-".into(), format::signed_rate)
}

fn catch_up(c: &ConsumerLag) -> String {
    format::catch_up(c.catch_up_secs)
}

/// The lag over the last polls, scaled between its lowest and highest so
/// that growth shows even on a large lag; a steady lag is a flat line.
fn trend(history: &imbl::Vector<Sample>) -> String {
    let lags: Vec<u64> = history
        .iter()
        .skip(history.len().saturating_sub(TREND))
        .map(Sample::lag)
        .collect();
    let (min, max) = match (lags.iter().min(), lags.iter().max()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => return String::new(),
    };
    if max == 0 {
        return " ".repeat(lags.len());
    }
    if max == min {
        return "▄".repeat(lags.len());
    }
    // Zero draws as a blank: keep the lowest lag visible as the lowest bar.
    let floor = min.saturating_sub((max - min) / 7 + 1);
    let values: Vec<u32> = lags
        .iter()
        .map(|&l| ((l - floor).min(u32::MAX as u64)) as u32)
        .collect();
    format::sparkline(&values)
}

/// How many of [`COLS`] fit beside a name of at least [`NAME_MIN`].
fn fitting_cols(width: usize) -> usize {
    let mut used = STATUS_W + 1 + NAME_MIN;
    let mut n = 0;
    for c in &COLS {
        if used + 1 + c.width > width {
            break;
        }
        used += 1 + c.width;
        n += 1;
    }
    n
}

fn consumer_cells(c: &ConsumerLag) -> [String; 11] {
    let s = &c.state;
    [
        format!(
            "{} {}",
            if s.durable { "D" } else { "E" },
            if s.pull { "pull" } else { "push" }
        ),
        format::count(s.lag()),
        format::count(s.unprocessed),
        format::count(s.outstanding),
        format::count(s.redelivered),
        format::count(s.waiting),
        signed_rate(c.rate),
        catch_up(c),
        age(c.t, s.oldest_unacked_ns),
        age(c.t, s.ack_floor_ns),
        trend(&c.history),
    ]
}

fn stream_line(
    s: &StreamLag,
    now: i64,
    hidden: usize,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let st = &s.state;
    let worst = s.worst();
    let mut info = format!(
        " · {} · {} · {} · seq {}–{}",
        untrusted::plain(&st.retention),
        format::counted(st.messages, "msg", "msgs"),
        format::bytes(st.bytes),
        format::count(st.first_seq),
        format::count(st.last_seq)
    );
    if st.last_ns > 0 {
        info.push_str(&format!(
            " · last {} ago",
            format::duration(now - st.last_ns)
        ));
    }
    info.push_str(&format!(
        " · {} · {}",
        format::plural(st.subjects, "subject"),
        format::plural(st.consumers, "consumer")
    ));
    if hidden > 0 {
        info.push_str(&format!(" ({hidden} flowscope, a shows)"));
    }
    let name = format!("▾ {}", untrusted::plain(&st.name));
    let used = STATUS_W + 1 + crate::sanitize::width(&name);
    let info = format::cut(&info, width.saturating_sub(used));
    let status = if s.consumers.iter().any(|c| !c.state.flowscope) {
        pad(worst.label(), STATUS_W, false)
    } else {
        pad("", STATUS_W, false)
    };
    Line::from(vec![
        Span::styled(status, health_style(worst, theme)),
        Span::raw(" "),
        Span::styled(name, theme.title),
        Span::styled(info, theme.muted),
    ])
}

fn consumer_line(c: &ConsumerLag, ncols: usize, name_w: usize, theme: &Theme) -> Line<'static> {
    let cells = consumer_cells(c);
    let mut spans = vec![
        Span::styled(
            pad(c.health.label(), STATUS_W, false),
            health_style(c.health, theme),
        ),
        Span::raw(" "),
        Span::styled(
            pad(&format!("  {}", c.state.name), name_w, false),
            if c.state.flowscope {
                theme.muted
            } else {
                theme.text
            },
        ),
    ];
    for (i, (cell, col)) in cells.iter().zip(&COLS).take(ncols).enumerate() {
        spans.push(Span::raw(" "));
        let style = if i == COLS.len() - 1 {
            health_style(c.health, theme)
        } else {
            theme.text
        };
        spans.push(Span::styled(pad(cell, col.width, col.right), style));
    }
    Line::from(spans)
}

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
        Some(LagRow::Consumer(s, c)) => render_consumer(app, f, below, s, c, &theme),
        Some(LagRow::Stream(s)) => render_stream(app, f, below, s, &theme),
        None => {}
    }
}

fn render_consumer(
    app: &App,
    f: &mut Frame,
    area: Rect,
    s: &StreamLag,
    c: &ConsumerLag,
    theme: &Theme,
) {
    let [chart_area, info_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
    let history = &c.history;
    let t_end = c.t;
    let points = |f: fn(&Sample) -> u64| -> Vec<(f64, f64)> {
        history
            .iter()
            .map(|s| ((s.t - t_end) as f64 / 1e9, f(s) as f64))
            .collect()
    };
    let lag = points(Sample::lag);
    let unprocessed = points(|s| s.unprocessed);
    let outstanding = points(|s| s.outstanding);
    let x_min = lag.first().map_or(-1.0, |p| p.0).min(-1.0);
    let y_max = history.iter().map(Sample::lag).max().unwrap_or(0).max(1) as f64;
    let datasets = vec![
        Dataset::default()
            .name("lag")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(health_style(c.health, theme))
            .data(&lag),
        Dataset::default()
            .name("unprocessed")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.subject)
            .data(&unprocessed),
        Dataset::default()
            .name("outstanding")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.flag)
            .data(&outstanding),
    ];
    let chart = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border)
                .title(Span::styled(
                    format!(
                        " {} / {} · {} ",
                        untrusted::plain(&s.state.name),
                        untrusted::plain(&c.state.name),
                        format::plural(history.len() as u64, "sample")
                    ),
                    theme.title,
                )),
        )
        .x_axis(
            Axis::default()
                .style(theme.muted)
                .bounds([x_min, 0.0])
                .labels([
                    Span::raw(format!("-{}", format::duration((-x_min * 1e9) as i64))),
                    Span::raw("now"),
                ]),
        )
        .y_axis(
            Axis::default()
                .style(theme.muted)
                .bounds([0.0, y_max])
                .labels([Span::raw("0"), Span::raw(format::count(y_max as u64))]),
        );
    f.render_widget(chart, chart_area);

    let st = &c.state;
    let field = |k: &str, v: String| field_line(k, 13, v, theme);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(c.health.label(), health_style(c.health, theme)),
            Span::styled(format!(": {}", c.reason), theme.text),
        ]),
        Line::styled(
            format!(
                "judged on {}, allowed lag {}",
                format::plural(c.rules.window as u64, "sample"),
                format::count(c.rules.allowed_lag)
            ),
            theme.muted,
        ),
        field(
            "Consumer",
            format!(
                "{} {}",
                if st.durable { "durable" } else { "ephemeral" },
                if st.pull { "pull" } else { "push" }
            ),
        ),
        field(
            "Filter",
            if st.filter.is_empty() {
                "(all subjects)".into()
            } else {
                st.filter.clone()
            },
        ),
        field(
            "Ack",
            format!(
                "{} · wait {} · max pending {} · max deliver {}",
                st.ack_policy,
                format::duration(st.config.ack_wait_ms as i64 * 1_000_000),
                limit(st.config.max_ack_pending),
                limit(st.config.max_deliver)
            ),
        ),
        field("Deliver", st.config.deliver_policy.clone()),
        field(
            "Lag",
            format!(
                "{} = {} unprocessed + {} outstanding",
                format::count(st.lag()),
                format::count(st.unprocessed),
                format::count(st.outstanding)
            ),
        ),
        field(
            "Redelivered",
            format!(
                "{} · waiting pulls {}",
                format::count(st.redelivered),
                format::count(st.waiting)
            ),
        ),
        field("Delivered", seq_age(st.delivered_seq, c.t, st.delivered_ns)),
        field("Ack floor", seq_age(st.ack_floor_seq, c.t, st.ack_floor_ns)),
        field(
            "Oldest unack",
            match st.oldest_unacked_ns {
                Some(t) => format!(
                    "published {} ({} ago)",
                    format::clock(t, app.opts.tz),
                    format::duration(c.t - t)
                ),
                None => "-".into(),
            },
        ),
        field(
            "Rate",
            format!("{}/s · catch-up {}", signed_rate(c.rate), catch_up(c)),
        ),
    ];
    if let Some(d) = &st.config.description {
        lines.push(field("Description", d.clone()));
    }
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(" Consumer ", theme.title));
    let inner = b.inner(info_area);
    f.render_widget(b, info_area);
    f.render_widget(Paragraph::new(wrap(lines, inner.width as usize)), inner);
}

/// `stream seq 1,234 (5s ago)`, or `none yet` before the first.
fn seq_age(seq: u64, now: i64, at: Option<i64>) -> String {
    if seq == 0 {
        return "none yet".into();
    }
    match at.filter(|t| *t > 0) {
        Some(t) => format!(
            "stream seq {} ({} ago)",
            format::count(seq),
            format::duration(now - t)
        ),
        None => format!("stream seq {}", format::count(seq)),
    }
}

/// `Key        value`, the key padded to `width`; the value may hold names
/// from the server.
fn field_line(key: &str, width: usize, value: String, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{key:<width$}"), theme.muted)];
    spans.extend(untrusted::spans(&value, theme.text, theme));
    Line::from(spans)
}

fn limit(v: i64) -> String {
    if v < 0 {
        "unlimited".into()
    } else {
        format::count(v as u64)
    }
}

fn render_stream(app: &App, f: &mut Frame, area: Rect, s: &StreamLag, theme: &Theme) {
    let st = &s.state;
    let tz = app.opts.tz;
    let time = |ns: i64| {
        if ns > 0 {
            format::full_time(ns, tz)
        } else {
            "-".into()
        }
    };
    let field = |k: &str, v: String| field_line(k, 11, v, theme);
    let mut lines = vec![
        field("Retention", st.retention.clone()),
        field(
            "Messages",
            format!(
                "{} ({})",
                format::count(st.messages),
                format::bytes(st.bytes)
            ),
        ),
        field(
            "First",
            format!(
                "seq {} at {}",
                format::count(st.first_seq),
                time(st.first_ns)
            ),
        ),
        field(
            "Last",
            format!("seq {} at {}", format::count(st.last_seq), time(st.last_ns)),
        ),
        field("Subjects", format::count(st.subjects)),
        field("Consumers", format::count(st.consumers)),
    ];
    let mut by: Vec<(Health, usize)> = Vec::new();
    for c in s.consumers.iter().filter(|c| !c.state.flowscope) {
        match by.iter_mut().find(|(h, _)| *h == c.health) {
            Some((_, n)) => *n += 1,
            None => by.push((c.health, 1)),
        }
    }
    by.sort_by_key(|(h, _)| std::cmp::Reverse(h.severity()));
    let mut spans = vec![Span::styled(format!("{:<11}", "Health"), theme.muted)];
    for (h, n) in by {
        spans.push(Span::styled(
            format!("{} {n}  ", h.label()),
            health_style(h, theme),
        ));
    }
    lines.push(Line::from(spans));
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(
            format!(" Stream {} ", untrusted::plain(&st.name)),
            theme.title,
        ));
    let inner = b.inner(area);
    f.render_widget(b, area);
    f.render_widget(Paragraph::new(wrap(lines, inner.width as usize)), inner);
}
