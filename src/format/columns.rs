//! Text table columns by display width (what the terminal draws), so wide
//! characters and escapes keep the columns in line. Cells holding text from
//! the observed system are escaped first (see [`crate::sanitize`]).

use unicode_width::UnicodeWidthChar;

use crate::sanitize;

/// `s` escaped and padded with spaces to `width` columns (left aligned);
/// longer text is kept whole (reports lose nothing).
pub fn pad(s: &str, width: usize) -> String {
    spaced(sanitize::escape(s).into_owned(), width, false)
}

/// [`pad`], right aligned.
pub fn pad_left(s: &str, width: usize) -> String {
    spaced(sanitize::escape(s).into_owned(), width, true)
}

/// `s` escaped in exactly `width` columns: cut with `…` when longer,
/// padded when shorter (left aligned); for fixed-width screen cells.
pub fn fit(s: &str, width: usize) -> String {
    spaced(cut(s, width), width, false)
}

/// [`fit`], right aligned.
pub fn fit_left(s: &str, width: usize) -> String {
    spaced(cut(s, width), width, true)
}

/// Escaped `cell` with spaces added up to `width` columns.
fn spaced(cell: String, width: usize, right: bool) -> String {
    let fill = width.saturating_sub(sanitize::width(&cell));
    if fill == 0 {
        return cell;
    }
    let spaces = std::iter::repeat_n(' ', fill);
    if right {
        spaces.chain(cell.chars()).collect()
    } else {
        cell.chars().chain(spaces).collect()
    }
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
            assert_eq!(fit(s, 8).width(), 8, "{s:?}");
        }
        assert_eq!(pad("ev\x1b[31mil", 14), "ev\\x1b[31mil  ");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_where_cells_are_fixed() {
        assert_eq!(cut("abcdefgh", 5), "abcd…");
        assert_eq!(cut("注文注文", 5), "注文…");
        assert_eq!(fit("abcdefgh", 5), "abcd…");
        assert_eq!(fit_left("ab", 5), "   ab");
        assert_eq!(
            pad("abcdefgh", 5),
            "abcdefgh",
            "reports keep the whole name"
        );
    }
}
