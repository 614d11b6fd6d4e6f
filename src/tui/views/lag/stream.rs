//! The selected stream in the lag view: its state and its consumers'
//! health at a glance.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::consumer::field_line;
use super::table::health_style;
use crate::analysis::lag::{Health, StreamLag};
use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::views::kit::untrusted;
use crate::tui::views::kit::wrap::wrap;

/// The stream's retention, messages, sequences and consumers' health.
pub fn render(app: &App, f: &mut Frame, area: Rect, s: &StreamLag, theme: &Theme) {
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
