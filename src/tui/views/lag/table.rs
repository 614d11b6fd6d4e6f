//! The lag view's table: a line per stream, then its consumers, with the
//! columns laid out by hand because a stream's line runs across the
//! columns (a ratatui `Table` would cut it to the name column). Narrow
//! terminals drop the last columns first.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::analysis::lag::{ConsumerLag, Health, Sample, StreamLag};
use crate::format;
use crate::tui::theme::Theme;
use crate::tui::views::kit::untrusted;

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
pub(super) struct Col {
    pub title: &'static str,
    pub width: usize,
    pub right: bool,
}

const fn col(title: &'static str, width: usize, right: bool) -> Col {
    Col {
        title,
        width,
        right,
    }
}

/// Columns after the name, in order; the last ones go first when narrow.
pub(super) const COLS: [Col; 11] = [
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
pub(super) const STATUS_W: usize = 7;
pub(super) const NAME_MIN: usize = 12;

/// A cell of `width` columns, escaped (names come from the server).
pub(super) fn pad(s: &str, width: usize, right: bool) -> String {
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

pub(super) fn signed_rate(r: Option<f64>) -> String {
    r.map_or("-".into(), format::signed_rate)
}

pub(super) fn catch_up(c: &ConsumerLag) -> String {
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
pub(super) fn fitting_cols(width: usize) -> usize {
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

pub(super) fn stream_line(
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

pub(super) fn consumer_line(
    c: &ConsumerLag,
    ncols: usize,
    name_w: usize,
    theme: &Theme,
) -> Line<'static> {
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
