//! Wrapping of styled lines to a width, so views can scroll by display
//! line and slice only what is visible. Lines break after the last space
//! that fits (the space is dropped); a word longer than the width is
//! broken where it must be.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Wraps lines to `width` columns, keeping span styles.
pub fn wrap(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let cells: Vec<(char, Style)> = line
            .spans
            .iter()
            .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
            .collect();
        let mut start = 0;
        while start < cells.len() {
            // The most characters from `start` that fit.
            let mut used = 0;
            let mut end = start;
            while end < cells.len() {
                let w = cells[end].0.width().unwrap_or(0);
                if used + w > width {
                    break;
                }
                used += w;
                end += 1;
            }
            if end == start {
                end = start + 1; // wider than the line: show it alone
            }
            let mut next = end;
            if end < cells.len() {
                // Break after the last space, when there is one in reach.
                if cells[end].0 == ' ' {
                    next = end + 1;
                } else if let Some(sp) = (start + 1..end)
                    .rev()
                    .find(|&i| cells[i].0 == ' ' && cells[start..i].iter().any(|c| c.0 != ' '))
                {
                    end = sp;
                    next = sp + 1;
                }
            }
            out.push(spans_of(&cells[start..end]));
            start = next;
        }
    }
    out
}

/// Styled characters as a line, runs of one style as one span.
fn spans_of(cells: &[(char, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = cells.first().map(|c| c.1).unwrap_or_default();
    for &(c, st) in cells {
        if st != style && !text.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut text), style));
        }
        style = st;
        text.push(c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn long_words_are_broken_and_short_lines_kept() {
        let lines = vec![Line::from("abcdefghij"), Line::from("abc")];
        let w = wrap(lines, 4);
        assert_eq!(text(&w), vec!["abcd", "efgh", "ij", "abc"]);
    }

    #[test]
    fn lines_break_between_words() {
        let lines = vec![Line::from(vec![
            Span::raw("never "),
            Span::styled("acknowledges", Style::default().bold()),
            Span::raw(" at all"),
        ])];
        let w = wrap(lines, 16);
        assert_eq!(text(&w), vec!["never", "acknowledges at", "all"]);
        assert_eq!(w[1].spans[0].content, "acknowledges");
        assert_eq!(w[1].spans[0].style, Style::default().bold());
        let indented = wrap(vec![Line::from("    \"averyveryverylongstring\"")], 12);
        assert_eq!(
            text(&indented)[0],
            "    \"averyve",
            "indentation is not a place to break"
        );
    }
}
