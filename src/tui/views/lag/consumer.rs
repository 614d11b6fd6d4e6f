//! The selected consumer in the lag view: a chart of its lag and the
//! verdict, numbers and settings beside it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use super::table::{catch_up, health_style, signed_rate};
use crate::analysis::lag::{ConsumerLag, Sample, StreamLag};
use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::views::kit::untrusted;
use crate::tui::views::kit::wrap::wrap;

/// The selected consumer: its lag, unprocessed and outstanding over time
/// beside its numbers and settings.
pub fn render(app: &App, f: &mut Frame, area: Rect, s: &StreamLag, c: &ConsumerLag, theme: &Theme) {
    let [chart_area, info_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
    chart(f, chart_area, s, c, theme);
    settings(app, f, info_area, c, theme);
}

/// Lag, unprocessed and outstanding over the kept samples.
fn chart(f: &mut Frame, chart_area: Rect, s: &StreamLag, c: &ConsumerLag, theme: &Theme) {
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
}

/// The consumer's verdict, numbers and settings.
fn settings(app: &App, f: &mut Frame, info_area: Rect, c: &ConsumerLag, theme: &Theme) {
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
pub(super) fn field_line(key: &str, width: usize, value: String, theme: &Theme) -> Line<'static> {
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
