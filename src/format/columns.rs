//! Text table columns by display width (what the terminal draws), so wide
//! characters and escapes keep the columns in line. Cells holding text from
//! the observed system are escaped first (see [`crate::sanitize`]).

use unicode_width::UnicodeWidthChar;

use crate::sanitize;

/// `s` escaped and padded with spaces to `width` columns (left aligned);
/// longer text is cut with `…`.
pub fn pad(s: &str, width: usize) -> String {
    let mut out = cut(s, width);
    let w = sanitize::width(&out);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// [`pad`], right aligned.
pub fn pad_left(s: &str, width: usize) -> String {
    let cell = cut(s, width);
    let w = sanitize::width(&cell);
    let mut out: String = std::iter::repeat_n(' ', width.saturating_sub(w)).collect();
    out.push_str(&cell);
    out
}

/// `s` escaped and, when wider than `width` columns, cut to fit with a
/// trailing `…`.
pub fn cut(s: &str, width: usize) -> String {
    let escaped = sanitize::escape(s);
    if sanitize::width(&escaped) <= width {
        return escaped.into_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in escaped.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn columns_line_up_whatever_the_text() {
        for s in ["orders", "注文", "ev\x1b[31mil", "e\u{301}t\u{301}e\u{301}"] {
            assert_eq!(pad(s, 16).width(), 16, "{s:?}");
            assert_eq!(pad_left(s, 16).width(), 16, "{s:?}");
        }
        assert_eq!(pad("ev\x1b[31mil", 14), "ev\\x1b[31mil  ");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(cut("abcdefgh", 5), "abcd…");
        assert_eq!(cut("注文注文", 5), "注文…");
        assert_eq!(pad("abcdefgh", 5).width(), 5);
    }
}
