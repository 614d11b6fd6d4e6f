//! The one sanitizer for untrusted text: subjects, headers, payloads, stream,
//! consumer, client and server names, and anything else that came from the
//! observed system. Every output path (TUI cells, text reports, progress
//! lines, error messages) shows such text through here, so a producer can
//! never control the user's terminal, and a character that would be
//! invisible or reorder the line is shown the same way everywhere.
//!
//! What is escaped, and how:
//! - `\t`, `\n`, `\r` as themselves; every other C0 control and DEL as
//!   `\xNN` (`\x1b`);
//! - C1 controls (U+0080–U+009F) as `\u0085`;
//! - bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069),
//!   line and paragraph separators and invisible format characters (soft
//!   hyphen, zero-width space, word joiner, BOM, tags) as `\u202e`
//!   (`\u{e0001}` beyond U+FFFF);
//! - a zero-width character that has nothing visible to attach to (a
//!   combining mark at the start, or after an escape) as `\u0301`;
//! - in bytes, every byte that is not part of valid UTF-8 as `\xNN` (always
//!   0x80 or above, so never confused with a C0 escape).
//!
//! The TUI draws escapes in the muted style ([`pieces`] tells them apart);
//! text output uses [`escape`]. Display width is that of what is drawn
//! ([`width`]). JSON output is not sanitized: serde escapes it exactly.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The visible form of one character or byte (at most `\u{10ffff}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escape {
    buf: [u8; 10],
    len: u8,
}

impl Escape {
    fn new(args: std::fmt::Arguments) -> Self {
        struct Buf<'a>(&'a mut Escape);
        impl std::fmt::Write for Buf<'_> {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                let at = self.0.len as usize;
                let end = at + s.len();
                if end > self.0.buf.len() {
                    return Err(std::fmt::Error);
                }
                self.0.buf[at..end].copy_from_slice(s.as_bytes());
                self.0.len = end as u8;
                Ok(())
            }
        }
        let mut e = Escape {
            buf: [0; 10],
            len: 0,
        };
        let _ = Buf(&mut e).write_fmt(args);
        e
    }

    /// The escape of a byte that is not valid UTF-8.
    pub fn byte(b: u8) -> Self {
        Escape::new(format_args!("\\x{b:02x}"))
    }

    fn char(c: char) -> Self {
        match c {
            '\t' => Escape::new(format_args!("\\t")),
            '\n' => Escape::new(format_args!("\\n")),
            '\r' => Escape::new(format_args!("\\r")),
            '\0'..='\x1f' | '\x7f' => Escape::new(format_args!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => Escape::new(format_args!("\\u{:04x}", c as u32)),
            c => Escape::new(format_args!("\\u{{{:x}}}", c as u32)),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into the buffer.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("\\?")
    }
}

impl std::ops::Deref for Escape {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// Characters escaped wherever they are.
fn always_escaped(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}'
        // bidi controls (the "Trojan Source" set)
        | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        // line and paragraph separators
        | '\u{2028}' | '\u{2029}'
        // invisible format characters
        | '\u{00ad}' | '\u{180e}' | '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
        | '\u{e0000}'..='\u{e007f}')
}

/// A run of text drawn as it is, or one escaped character or byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Escaped(Escape),
}

/// The pieces of `s`: runs shown as they are and escapes, in order.
pub fn pieces(s: &str) -> Pieces<'_> {
    Pieces {
        rest: s,
        attached: false,
    }
}

/// Iterator of [`pieces`].
#[derive(Debug, Clone)]
pub struct Pieces<'a> {
    rest: &'a str,
    /// Whether a zero-width character here has a visible one to attach to.
    attached: bool,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let s = self.rest;
        if s.is_empty() {
            return None;
        }
        // Printable ASCII never needs a look at the character tables.
        let ascii = s
            .bytes()
            .position(|b| !(0x20..0x7f).contains(&b))
            .unwrap_or(s.len());
        let mut end = ascii;
        if ascii > 0 {
            self.attached = true;
        }
        for (i, c) in s[ascii..].char_indices() {
            let at = ascii + i;
            let zero_width = c.width() == Some(0) && !c.is_control();
            if always_escaped(c) || (zero_width && !self.attached) {
                if at > 0 {
                    self.rest = &s[at..];
                    return Some(Piece::Text(&s[..at]));
                }
                self.rest = &s[c.len_utf8()..];
                self.attached = false;
                return Some(Piece::Escaped(Escape::char(c)));
            }
            if !zero_width {
                self.attached = true;
            }
            end = at + c.len_utf8();
        }
        self.rest = &s[end..];
        Some(Piece::Text(&s[..end]))
    }
}

/// Whether [`escape`] would change `s`.
pub fn needs_escape(s: &str) -> bool {
    match pieces(s).next() {
        None => false,
        Some(Piece::Text(t)) => t.len() != s.len(),
        Some(Piece::Escaped(_)) => true,
    }
}

/// `s` as it is safe to show: borrowed when nothing needed escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !needs_escape(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    push_escaped(&mut out, s);
    Cow::Owned(out)
}

/// Appends `s` escaped to `out`.
pub fn push_escaped(out: &mut String, s: &str) {
    for p in pieces(s) {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Escaped(e) => out.push_str(&e),
        }
    }
}

/// Bytes as safe text: valid UTF-8 as [`escape`] shows it, every other
/// byte as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(b) {
        return escape(s);
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for &byte in chunk.invalid() {
            out.push_str(&Escape::byte(byte));
        }
    }
    Cow::Owned(out)
}

/// Display width of `s` as drawn (escaped).
pub fn width(s: &str) -> usize {
    pieces(s)
        .map(|p| match p {
            Piece::Text(t) => t.width(),
            Piece::Escaped(e) => e.len(),
        })
        .sum()
}

/// Text that may have come from anywhere, ready for a terminal: every
/// control character but the line break escaped. The last line of defence
/// of text output (reports, messages), behind the escaping of each
/// untrusted value where it is inserted.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.split('\n').any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        push_escaped(&mut out, line);
    }
    Cow::Owned(out)
}

/// Writes `text` through [`for_terminal`].
pub fn write_safe(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    out.write_all(for_terminal(text).as_bytes())
}

/// A JSON document as it is safe to print: the characters serde leaves
/// as they are but a terminal may act on (DEL, C1 controls, bidi controls,
/// separators, invisible format characters) written as `\uXXXX` escapes.
/// They can only occur inside JSON strings, whose value stays exactly the
/// same.
pub fn json(doc: String) -> String {
    // Below DEL serde has escaped them already (and newlines lay it out).
    let unsafe_char = |c: char| c >= '\x7f' && always_escaped(c);
    if !doc.chars().any(unsafe_char) {
        return doc;
    }
    let mut out = String::with_capacity(doc.len() + 16);
    for c in doc.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            let _ = write!(out, "\\u{u:04x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_c0_control_and_del_is_escaped() {
        for b in (0u8..0x20).chain([0x7f]) {
            let s = format!("a{}b", b as char);
            let want = match b {
                b'\t' => "a\\tb".to_owned(),
                b'\n' => "a\\nb".to_owned(),
                b'\r' => "a\\rb".to_owned(),
                _ => format!("a\\x{b:02x}b"),
            };
            assert_eq!(escape(&s), want, "byte {b:#04x}");
            assert_eq!(width(&s), want.len(), "byte {b:#04x}");
        }
    }

    #[test]
    fn every_c1_control_is_escaped() {
        for c in 0x80u32..=0x9f {
            let s = format!("{}", char::from_u32(c).unwrap());
            assert_eq!(escape(&s), format!("\\u{c:04x}"));
        }
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_escaped() {
        let bidi = [
            0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068,
            0x2069,
        ];
        for c in bidi
            .into_iter()
            .chain([0x2028, 0x2029, 0x200b, 0xfeff, 0x00ad])
        {
            let s = format!("x{}y", char::from_u32(c).unwrap());
            assert_eq!(escape(&s), format!("x\\u{c:04x}y"));
        }
        assert_eq!(escape("flag\u{e0067}"), "flag\\u{e0067}");
    }

    #[test]
    fn the_hostile_samples_of_the_issue() {
        assert_eq!(escape("shop.\x1b]0;pwned\x07"), "shop.\\x1b]0;pwned\\x07");
        assert_eq!(
            escape("shop.\x1b[31mRED\x1b[0m"),
            "shop.\\x1b[31mRED\\x1b[0m"
        );
        assert_eq!(escape("T\x1b[2J"), "T\\x1b[2J");
        assert_eq!(escape("ev\x1b[31mil"), "ev\\x1b[31mil");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u202efed");
    }

    #[test]
    fn plain_text_is_borrowed() {
        for s in [
            "orders.created",
            "",
            "héllo wörld",
            "注文.作成",
            "e\u{301}",
            "👍🏽",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn wide_and_combining_characters() {
        assert_eq!(width("注文"), 4, "wide characters take two columns");
        assert_eq!(escape("注文"), "注文");
        assert_eq!(width("e\u{301}"), 1, "an accent on its letter is kept");
        assert_eq!(escape("e\u{301}"), "e\u{301}");
        assert_eq!(escape("\u{301}x"), "\\u0301x", "nothing to attach to");
        assert_eq!(escape("\x1b\u{301}"), "\\x1b\\u0301", "not to an escape");
        assert_eq!(width("\u{301}x"), 7);
        assert_eq!(escape("a\u{200d}"), "a\u{200d}", "a joiner after a letter");
        assert_eq!(escape("\u{200d}"), "\\u200d");
    }

    #[test]
    fn invalid_utf8_is_escaped_byte_by_byte() {
        assert_eq!(escape_bytes(b"balance.\xff"), "balance.\\xff");
        assert_eq!(escape_bytes(b"\xc3(\x1b"), "\\xc3(\\x1b");
        assert_eq!(escape_bytes("ok é".as_bytes()), "ok é");
        assert_eq!(
            escape_bytes(b"\xe2\x82"),
            "\\xe2\\x82",
            "a cut-off sequence"
        );
    }

    #[test]
    fn pieces_tell_escapes_from_text() {
        let p: Vec<_> = pieces("a\x1bb").collect();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], Piece::Text("a"));
        assert!(matches!(p[1], Piece::Escaped(e) if &*e == "\\x1b"));
        assert_eq!(p[2], Piece::Text("b"));
    }

    #[test]
    fn json_stays_exact_and_safe() {
        let doc = serde_json::to_string(&"a\u{9b}b\u{202e}c\u{7f}\u{e0001}\x1b").unwrap();
        let safe = json(doc);
        assert_eq!(safe, r#""a\u009bb\u202ec\u007f\udb40\udc01\u001b""#);
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "a\u{9b}b\u{202e}c\u{7f}\u{e0001}\x1b");
    }

    #[test]
    fn for_terminal_keeps_line_breaks_only() {
        assert_eq!(for_terminal("a\nb\n"), "a\nb\n");
        assert_eq!(for_terminal("a\x1b[2J\nb\x07\r"), "a\\x1b[2J\nb\\x07\\r");
    }
}
