//! The replay timeline: play state and speed, position and length, a bar
//! with the position and markers where anomalies (▲) and disconnects (✕)
//! happened, and how many events have been played.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::analysis::playback::{Marker, ReplayStatus};
use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// `1:05`, `12:03`, `1:02:03`: an offset into the recording.
pub fn offset(ns: i64) -> String {
    let s = ns.max(0) / 1_000_000_000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `▶ 2×`, `▶ max`, `‖ paused`, `■ end`.
fn state(r: &ReplayStatus) -> String {
    if r.seeking {
        "… seeking".into()
    } else if r.at_end && !r.playing {
        "■ end".into()
    } else if !r.playing {
        "‖ paused".into()
    } else if r.speed.is_infinite() {
        "▶ max".into()
    } else {
        format!("▶ {}×", r.speed)
    }
}

/// Speed when paused or ended (so it is always visible).
fn speed(r: &ReplayStatus) -> Option<String> {
    (!r.playing).then(|| {
        if r.speed.is_infinite() {
            "max".into()
        } else {
            format!("{}×", r.speed)
        }
    })
}

/// The bar's cells: played, position, unplayed, with markers.
fn bar(r: &ReplayStatus, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    if width < 3 {
        return Vec::new();
    }
    let Some(end) = r.end_ns else {
        let (read, size) = r.index_progress;
        let share = (read * 100)
            .checked_div(size)
            .map_or(String::new(), |p| format!("{}%, ", p.min(100)));
        let text = format!(
            "indexing… {share}{} read",
            format::plural(r.indexed_events, "event")
        );
        return vec![Span::styled(
            format!("{text:<width$}")
                .chars()
                .take(width)
                .collect::<String>(),
            theme.muted,
        )];
    };
    let span = (end - r.start_ns).max(1) as f64;
    let col = |t: i64| {
        (((t - r.start_ns) as f64 / span) * (width - 1) as f64)
            .round()
            .clamp(0.0, (width - 1) as f64) as usize
    };
    // 0 nothing, 1 anomaly, 2 disconnect (wins).
    let mut marks = vec![0u8; width];
    for m in r.markers.iter() {
        let c = col(m.time());
        let v = match m {
            Marker::Anomaly(..) => 1,
            Marker::Disconnect(_) => 2,
        };
        marks[c] = marks[c].max(v);
    }
    let pos = col(r.position_ns);
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut push = |ch: char, style: Style| match spans.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push(ch),
        _ => spans.push(Span::styled(ch.to_string(), style)),
    };
    for (i, m) in marks.iter().enumerate() {
        let (ch, style) = match (i.cmp(&pos), m) {
            (std::cmp::Ordering::Equal, _) => ('●', theme.accent),
            (_, 2) => ('✕', theme.error),
            (_, 1) => ('▲', theme.warn),
            (std::cmp::Ordering::Less, _) => ('━', theme.accent),
            (std::cmp::Ordering::Greater, _) => ('─', theme.muted),
        };
        push(ch, style);
    }
    spans
}

/// The timeline line (only drawn for replays).
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let Some(r) = app.snapshot.replay.as_deref() else {
        return;
    };
    let theme = &app.opts.theme;
    let mut left = vec![
        Span::styled(format!(" {} ", state(r)), theme.tab_active),
        Span::raw(" "),
    ];
    if let Some(s) = speed(r) {
        left.push(Span::styled(format!("{s} "), theme.muted));
    }
    let length = r.end_ns.map_or("?".into(), |e| offset(e - r.start_ns));
    left.push(Span::styled(
        format!("{} / {length} ", offset(r.position_ns - r.start_ns)),
        theme.text,
    ));
    let total = match r.total_events {
        Some(t) => format::plural(t, "event"),
        None => format!("≥{} events", format::count(r.indexed_events)),
    };
    let right = vec![
        Span::styled(
            format!(" {} / {total} ", format::count(r.events_played)),
            theme.text,
        ),
        Span::styled(
            format!("at {} ", format::clock(r.position_ns, app.opts.tz)),
            theme.muted,
        ),
    ];
    let used = Line::from(left.clone()).width() + Line::from(right.clone()).width();
    let width = (area.width as usize).saturating_sub(used);
    let mut spans = left;
    spans.extend(bar(r, width, theme));
    spans.extend(right);
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::anomalies::AnomalyKind;
    use std::sync::Arc;

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn the_bar_shows_position_and_markers() {
        let r = ReplayStatus {
            start_ns: 0,
            end_ns: Some(100),
            position_ns: 50,
            markers: Arc::new(vec![
                Marker::Anomaly(20, AnomalyKind::Duplicate),
                Marker::Disconnect(80),
                Marker::Anomaly(80, AnomalyKind::Gap),
            ]),
            ..ReplayStatus::default()
        };
        let bar = text(&bar(&r, 11, &Theme::default()));
        assert_eq!(bar, "━━▲━━●──✕──");
    }

    #[test]
    fn before_the_length_is_known_it_says_so() {
        let r = ReplayStatus {
            indexed_events: 12_000,
            index_progress: (250, 1000),
            ..ReplayStatus::default()
        };
        assert!(
            text(&bar(&r, 50, &Theme::default())).starts_with("indexing… 25%, 12,000 events read")
        );
    }

    #[test]
    fn offsets_read_like_a_player() {
        assert_eq!(offset(65_000_000_000), "1:05");
        assert_eq!(offset(3_723_000_000_000), "1:02:03");
    }
}
