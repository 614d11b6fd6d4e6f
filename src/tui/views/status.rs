//! The top bar (views and mode) and the two bottom lines: the status bar
//! (source, connection, rates, totals, drops, retention) and the input/hint
//! line. Segments that do not fit a narrow terminal are left out by priority.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::kit::untrusted;
use crate::analysis::snapshot::{LinkState, ReadMode, ReaderStatus};
use crate::format;
use crate::tui::app::{App, InputKind, View};

/// A piece of a bar; lower `priority` numbers are kept first.
struct Segment {
    priority: u8,
    spans: Vec<Span<'static>>,
}

fn seg(priority: u8, spans: Vec<Span<'static>>) -> Segment {
    Segment { priority, spans }
}

/// Most important segments are cut to fit rather than left out, when at
/// least this many columns are left for them.
const CUT_MIN: usize = 12;

/// `spans` cut to `width` columns, ending with `…`.
fn cut_spans(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut left = width.saturating_sub(1);
    for sp in spans {
        let w = sp.width();
        if w <= left {
            left -= w;
            out.push(sp);
            continue;
        }
        let mut text = String::new();
        for ch in sp.content.chars() {
            let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
            if cw > left {
                break;
            }
            left -= cw;
            text.push(ch);
        }
        out.push(Span::styled(text + "…", sp.style));
        return out;
    }
    out
}

/// Lays out segments left to right, dropping the least important ones that
/// do not fit `width`; a most important one (priority 0, a notice) is cut
/// to the room left instead.
fn fit(mut segments: Vec<Segment>, width: usize, sep: Span<'static>) -> Line<'static> {
    let widths: Vec<usize> = segments
        .iter()
        .map(|s| s.spans.iter().map(|sp| sp.width()).sum::<usize>())
        .collect();
    let mut order: Vec<usize> = (0..segments.len()).collect();
    order.sort_by_key(|&i| segments[i].priority);
    let mut keep = vec![false; segments.len()];
    let mut used = 0;
    for i in order {
        let gap = if used > 0 { sep.width() } else { 0 };
        let extra = widths[i] + gap;
        if used + extra <= width {
            keep[i] = true;
            used += extra;
        } else if segments[i].priority == 0 && width.saturating_sub(used + gap) >= CUT_MIN {
            let room = width - used - gap;
            let spans = std::mem::take(&mut segments[i].spans);
            segments[i].spans = cut_spans(spans, room);
            keep[i] = true;
            used += room + gap;
        }
    }
    let mut spans = Vec::new();
    for (i, s) in segments.into_iter().enumerate() {
        if keep[i] {
            if !spans.is_empty() {
                spans.push(sep.clone());
            }
            spans.extend(s.spans);
        }
    }
    Line::from(spans)
}

/// "Anomalies", with the count when there are any.
fn anomalies_tab(app: &App) -> String {
    match app.snapshot.anomalies.counts.iter().sum::<u64>() {
        0 => "Anomalies".into(),
        n => format!("Anomalies {}", format::count(n)),
    }
}

/// "Lag", with the count of consumers in trouble when there are any.
fn lag_tab(app: &App) -> String {
    use crate::analysis::lag::Health;
    let bad = app
        .snapshot
        .lag
        .consumers()
        .filter(|c| !c.state.flowscope)
        .filter(|c| matches!(c.health, Health::Stall | Health::Stop | Health::Rewind))
        .count();
    if bad == 0 {
        "Lag".into()
    } else {
        format!("Lag {bad}!")
    }
}

/// "Sagas", with the count of stuck and failed ones when there are any.
fn sagas_tab(app: &App) -> String {
    use crate::analysis::saga::SagaState;
    let bad: u64 = app
        .snapshot
        .sagas
        .types
        .iter()
        .flat_map(|t| SagaState::ALL.iter().zip(t.counts))
        .filter(|(s, _)| matches!(s, SagaState::Stuck | SagaState::Failed))
        .map(|(_, n)| n)
        .sum();
    if bad == 0 {
        "Sagas".into()
    } else {
        format!("Sagas {bad}!")
    }
}

/// The top line: view tabs on the left, follow state on the right.
pub fn render_tabs(app: &App, f: &mut Frame, area: Rect) {
    let theme = &app.opts.theme;
    let tab = |key: &str, name: &str, view: View| {
        let style = if app.view == view {
            theme.tab_active
        } else {
            theme.tab
        };
        Span::styled(format!(" {key} {name} "), style)
    };
    let mut left = vec![
        Span::styled(" flowscope ", theme.accent),
        tab("1", "Stream", View::Stream),
        Span::raw(" "),
        tab("2", "Subjects", View::Subjects),
        Span::raw(" "),
        tab("3", &anomalies_tab(app), View::Anomalies),
        Span::raw(" "),
        tab("4", "Kinds", View::Kinds),
        Span::raw(" "),
        tab("5", &lag_tab(app), View::Lag),
        Span::raw(" "),
        tab("6", &sagas_tab(app), View::Sagas),
    ];
    let right = if app.stream.follow {
        Span::styled(" ● FOLLOW ", theme.ok)
    } else {
        Span::styled(" ‖ PAUSED (f follows) ", theme.warn)
    };
    let pad =
        (area.width as usize).saturating_sub(Line::from(left.clone()).width() + right.width());
    left.push(Span::raw(" ".repeat(pad)));
    left.push(right);
    f.render_widget(Paragraph::new(Line::from(left)), area);
}

fn link_span(app: &App) -> Span<'static> {
    let theme = &app.opts.theme;
    let s = &app.snapshot.status;
    let since = format::duration(s.clock_ns - s.link_since_ns);
    let (text, style): (String, Style) = match s.link {
        LinkState::Connected => (format!("● connected {since}"), theme.ok),
        LinkState::Connecting => ("◌ connecting".into(), theme.warn),
        LinkState::Reconnecting => (format!("◌ reconnecting {since}"), theme.warn),
        LinkState::Disconnected => (format!("✕ disconnected {since}"), theme.error),
        // A replay before its first connection record.
        LinkState::Offline if app.snapshot.replay.is_some() => ("○ replay".into(), theme.muted),
        LinkState::Offline => ("○ offline".into(), theme.muted),
    };
    Span::styled(
        text,
        style.patch(
            theme
                .status_bar
                .bg
                .map_or(Style::default(), |bg| Style::default().bg(bg)),
        ),
    )
}

/// A stream reader: `stream ORDERS #1,234 · 12 pending`, how it reads when
/// it is not an ordered consumer, and what it is doing when it is not
/// simply reading.
fn reader_spans(app: &App, r: &ReaderStatus) -> Vec<Span<'static>> {
    let theme = &app.opts.theme;
    let bar = theme.status_bar;
    let on_bar = |st: Style| {
        st.patch(
            bar.bg
                .map_or(Style::default(), |bg| Style::default().bg(bg)),
        )
    };
    let mut text = format!("stream {}", untrusted::plain(&r.stream));
    if r.last_seq > 0 {
        text.push_str(&format!(" #{}", format::count(r.last_seq)));
    }
    if r.pending > 0 {
        text.push_str(&format!(" · {} pending", format::count(r.pending)));
    }
    if r.mode == ReadMode::DirectGet {
        text.push_str(" · get-by-sequence (work queue)");
    }
    if r.restarts > 0 {
        text.push_str(&format!(" · {}", format::plural(r.restarts, "restart")));
    }
    let mut spans = vec![Span::styled(text, bar)];
    if let Some(state) = &r.state {
        spans.push(Span::styled(" · ", on_bar(theme.warn)));
        spans.extend(untrusted::spans(state, on_bar(theme.warn), theme));
    }
    spans
}

/// The status bar.
pub fn render_status(app: &App, f: &mut Frame, area: Rect) {
    let theme = &app.opts.theme;
    let s = &app.snapshot.status;
    let bar = theme.status_bar;
    let txt = |t: String| Span::styled(t, bar);
    let mut source = untrusted::plain(&s.source);
    if let Some(v) = &s.server_version {
        source.push_str(&format!(" v{}", untrusted::plain(v)));
    }
    let dropped = s.dropped_client + s.dropped_queue;
    let drop_span = if dropped == 0 {
        txt("dropped 0".into())
    } else {
        Span::styled(
            format!(
                "dropped {} (client {}, queue {})",
                format::count(dropped),
                format::count(s.dropped_client),
                format::count(s.dropped_queue)
            ),
            theme.warn.patch(
                bar.bg
                    .map_or(Style::default(), |bg| Style::default().bg(bg)),
            ),
        )
    };
    let mut segments = vec![
        seg(0, vec![link_span(app)]),
        seg(1, vec![txt(app.rate_text(s.events_per_sec, "ev/s"))]),
        seg(2, vec![txt(format::plural(s.total_events, "event"))]),
        seg(1, vec![drop_span]),
        seg(3, vec![txt(source)]),
        seg(
            4,
            vec![txt(format!(
                "kept {} ({} of {})",
                format::count(s.retained_events as u64),
                format::bytes(s.retained_bytes),
                if s.retention.max_bytes == u64::MAX {
                    "∞".to_owned()
                } else {
                    format::bytes(s.retention.max_bytes)
                }
            ))],
        ),
    ];
    if let Some(rec) = &s.recording {
        let name = std::path::Path::new(&rec.path)
            .file_name()
            .map_or(rec.path.clone(), |n| n.to_string_lossy().into_owned());
        segments.push(seg(
            0,
            vec![Span::styled(
                format!(
                    "● REC {} {}",
                    untrusted::plain(&name),
                    format::count(rec.events)
                ),
                theme.error.patch(
                    bar.bg
                        .map_or(Style::default(), |bg| Style::default().bg(bg)),
                ),
            )],
        ));
    }
    if s.reconnects > 0 {
        segments.push(seg(3, vec![txt(format::plural(s.reconnects, "reconnect"))]));
    }
    for r in &s.readers {
        segments.push(seg(1, reader_spans(app, r)));
    }
    let line = fit(
        segments,
        area.width.saturating_sub(2) as usize,
        Span::styled(" │ ", bar),
    );
    let mut spans = vec![Span::styled(" ", bar)];
    spans.extend(line.spans);
    f.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// The bottom line: the filter input while typing, else notices, the active
/// filter and key hints.
pub fn render_hints(app: &App, f: &mut Frame, area: Rect) {
    let theme = &app.opts.theme;
    if let Some(input) = &app.input {
        let (prompt, hint) = match app.input_kind {
            InputKind::Filter => (
                "/",
                "  Enter apply · Esc cancel · orders.* · subject:a.b · subtree:a · text:… · !negate",
            ),
            InputKind::GoTo => (
                ":",
                "  go to · Enter · Esc cancel · #1200 event · 90s offset · 14:03:05 · 50% · +10s/-10s",
            ),
        };
        let mut spans = vec![Span::styled(prompt, theme.key)];
        spans.extend(untrusted::spans(input, theme.text, theme));
        spans.push(Span::styled("█", theme.accent));
        match &app.input_error {
            Some(e) => spans.extend(untrusted::spans(&format!("  {e}"), theme.error, theme)),
            None => spans.push(Span::styled(hint, theme.hint)),
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let mut segments = Vec::new();
    if let Some(n) = &app.snapshot.status.notice {
        segments.push(seg(0, untrusted::spans(n, theme.warn, theme)));
    }
    for n in &app.notices {
        segments.push(seg(0, untrusted::spans(n, theme.warn, theme)));
    }
    for w in app
        .snapshot
        .status
        .readers
        .iter()
        .filter_map(|r| r.warning.as_ref())
    {
        segments.push(seg(0, untrusted::spans(w, theme.warn, theme)));
    }
    if let Some(flt) = &app.snapshot.filter {
        let mut spans = vec![Span::styled("filter ", theme.muted)];
        spans.extend(untrusted::spans(&flt.spec, theme.accent, theme));
        spans.push(Span::styled(
            format!(
                " {} (Esc clears)",
                format::counted(flt.matches.len() as u64, "match", "matches")
            ),
            theme.muted,
        ));
        segments.push(seg(1, spans));
    }
    if let Some(msg) = &app.flash {
        segments.push(seg(0, untrusted::spans(msg, theme.warn, theme)));
    }
    let replay: &[(&str, &str)] = if app.snapshot.replay.is_some() {
        &[("Space", "pause"), ("+/-", "speed"), (":", "go to")]
    } else {
        &[("r", "record")]
    };
    let general = [
        ("?", "help"),
        ("/", "filter"),
        ("1-6", "views"),
        ("q", "quit"),
    ];
    for (i, (k, what)) in general.iter().chain(replay).enumerate() {
        segments.push(seg(
            2 + i as u8,
            vec![
                Span::styled(*k, theme.key),
                Span::styled(format!(" {what}"), theme.hint),
            ],
        ));
    }
    f.render_widget(
        Paragraph::new(fit(segments, area.width as usize, Span::raw("  "))),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_drops_low_priority_segments_first() {
        let segs = vec![
            seg(2, vec![Span::raw("cccc")]),
            seg(0, vec![Span::raw("aaaa")]),
            seg(1, vec![Span::raw("bbbb")]),
        ];
        let line = fit(segs, 11, Span::raw(" "));
        assert_eq!(line.to_string(), "aaaa bbbb");
    }

    #[test]
    fn a_notice_too_long_for_the_line_is_cut_not_dropped() {
        let segs = vec![
            seg(
                0,
                vec![Span::raw("recording to recordings/x.jsonl from now on")],
            ),
            seg(2, vec![Span::raw("? help")]),
        ];
        let line = fit(segs, 30, Span::raw("  "));
        assert_eq!(line.to_string(), "recording to recordings/x.jso…");
        assert_eq!(line.width(), 30);
    }
}
