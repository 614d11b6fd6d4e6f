//! Drawing text that came from the observed system: every such string in
//! every view goes through here, which draws it through the one sanitizer
//! ([`crate::sanitize`]) with the escapes in the theme's `escape` style (muted), so
//! `shop.\x1b[31m` reads the same in the table, the detail pane and the
//! reports, and takes the columns it is drawn in.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use crate::sanitize::{self, Piece};
use crate::tui::theme::Theme;

/// The spans of `s` in `style`, escapes in `style` patched with the
/// muted style.
pub fn spans(s: &str, style: Style, theme: &Theme) -> Vec<Span<'static>> {
    if !sanitize::needs_escape(s) {
        return vec![Span::styled(s.to_owned(), style)];
    }
    let escaped = style.patch(theme.escape);
    sanitize::pieces(s)
        .map(|p| match p {
            Piece::Text(t) => Span::styled(t.to_owned(), style),
            Piece::Escaped(e) => Span::styled(e.as_str().to_owned(), escaped),
        })
        .collect()
}

/// `s` as one line.
pub fn line(s: &str, style: Style, theme: &Theme) -> Line<'static> {
    Line::from(spans(s, style, theme))
}

/// `s` as a table cell.
pub fn cell(s: &str, style: Style, theme: &Theme) -> Cell<'static> {
    Cell::from(line(s, style, theme))
}

/// `s` escaped as plain text, for titles and other places that take one
/// style (the escapes are not set apart there).
pub fn plain(s: &str) -> String {
    sanitize::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_muted_and_text_keeps_its_style() {
        let theme = Theme::builtin();
        let s = spans("shop.\x1b]0;pwned\x07", theme.subject, &theme);
        let text: Vec<&str> = s.iter().map(|s| &*s.content).collect();
        assert_eq!(text, ["shop.", "\\x1b", "]0;pwned", "\\x07"]);
        assert_eq!(s[0].style, theme.subject);
        assert_eq!(s[1].style, theme.subject.patch(theme.escape));
        assert_eq!(line("plain", theme.text, &theme).spans.len(), 1);
    }
}
