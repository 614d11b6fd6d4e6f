//! The help overlay, generated from the keymap so it always matches the keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::app::App;
use crate::tui::keymap::{self, BINDINGS, Context};

/// Width of the keys column.
const KEYS_W: usize = 20;

/// Splits `text` into lines of at most `width` characters at spaces.
fn word_wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for word in text.split(' ') {
        let line = out.last_mut().expect("never empty");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out
}

/// Help lines for `contexts`, at most `width` wide: a title per context,
/// then `keys  description`, long descriptions wrapped under themselves.
pub fn lines(app: &App, contexts: &[Context], width: usize) -> Vec<Line<'static>> {
    let theme = &app.opts.theme;
    let mut out = Vec::new();
    for &ctx in contexts {
        if !out.is_empty() {
            out.push(Line::default());
        }
        out.push(Line::from(Span::styled(ctx.title(), theme.header)));
        for b in BINDINGS.iter().filter(|b| b.context == ctx) {
            let keys = format!("  {:<w$}", keymap::keys_label(b), w = KEYS_W - 2);
            let text = word_wrap(b.help, width.saturating_sub(KEYS_W).max(20));
            for (i, part) in text.into_iter().enumerate() {
                let lead = if i == 0 {
                    keys.clone()
                } else {
                    " ".repeat(KEYS_W)
                };
                out.push(Line::from(vec![
                    Span::styled(lead, theme.key),
                    Span::styled(part, theme.text),
                ]));
            }
        }
    }
    out
}

/// Where to split the contexts so both columns are about as long.
fn balanced_split() -> usize {
    let size = |c: &Context| BINDINGS.iter().filter(|b| b.context == *c).count() + 2;
    let total: usize = Context::ALL.iter().map(size).sum();
    let mut acc = 0;
    for (i, c) in Context::ALL.iter().enumerate() {
        acc += size(c);
        if acc * 2 >= total {
            return i + 1;
        }
    }
    Context::ALL.len()
}

/// Width of one help column.
const COLUMN_W: u16 = 72;

fn lines_for_column(app: &App, contexts: &[Context], width: usize) -> Vec<Line<'static>> {
    if contexts.is_empty() {
        Vec::new()
    } else {
        lines(app, contexts, width)
    }
}

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = &app.opts.theme;
    // Two columns when the terminal is wide enough, else one that scrolls.
    let two = area.width >= 2 * COLUMN_W + 4;
    let (left, right) = Context::ALL.split_at(if two {
        balanced_split()
    } else {
        Context::ALL.len()
    });
    let column = if two {
        COLUMN_W as usize - 1
    } else {
        (area.width as usize)
            .saturating_sub(6)
            .min(COLUMN_W as usize + 2)
    };
    let mut lines = lines(app, left, column);
    let right = lines_for_column(app, right, column);
    let rows = lines.len().max(right.len());
    if two {
        lines.resize(rows, Line::default());
        for (l, r) in lines.iter_mut().zip(right) {
            let pad = (COLUMN_W as usize).saturating_sub(l.width());
            l.spans.push(Span::raw(" ".repeat(pad)));
            l.spans.extend(r.spans);
        }
    }
    let width = area
        .width
        .saturating_sub(4)
        .min(if two { 2 * COLUMN_W + 2 } else { COLUMN_W + 4 });
    let lines = super::kit::wrap::wrap(lines, width.saturating_sub(2) as usize);
    let height = (area.height.saturating_sub(2)).min(lines.len() as u16 + 2);
    let [v] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(v);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(" Keys (↑↓ scroll · Esc closes) ", theme.title));
    let inner = block.inner(popup);
    let max = lines.len().saturating_sub(inner.height as usize);
    app.help_scroll = app.help_scroll.min(max);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((app.help_scroll as u16, 0))
            .block(block),
        popup,
    );
}
