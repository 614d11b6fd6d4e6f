//! Hard wrapping of styled lines to a width, so views can scroll by
//! display line and slice only what is visible.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Hard-wraps lines to `width` columns, keeping span styles.
pub fn wrap(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let mut cur: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in line.spans {
            let mut piece = String::new();
            for ch in span.content.chars() {
                let w = ch.width().unwrap_or(0);
                if used + w > width {
                    if !piece.is_empty() {
                        cur.push(Span::styled(std::mem::take(&mut piece), span.style));
                    }
                    out.push(Line::from(std::mem::take(&mut cur)));
                    used = 0;
                }
                piece.push(ch);
                used += w;
            }
            if !piece.is_empty() {
                cur.push(Span::styled(piece, span.style));
            }
        }
        if !cur.is_empty() {
            out.push(Line::from(cur));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wrap_splits_long_lines_and_keeps_short_ones() {
        let lines = vec![Line::from("abcdefghij"), Line::from("abc")];
        let w = wrap(lines, 4);
        assert_eq!(text(&w), vec!["abcd", "efgh", "ij", "abc"]);
    }
}
