//! The tokenizer under the scan: strings, numbers, literals and
//! whitespace over a payload already known to be UTF-8, as RFC 8259 has
//! them (what serde_json accepts, nothing more). Strings are found eight
//! bytes at a time and kept as byte ranges; nothing is copied unless a
//! string with escapes is asked for ([`unescape`]).

/// Not (all) JSON: the scan stops and the payload counts as not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson;

/// A string's place in the payload, between its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Str {
    pub start: usize,
    pub end: usize,
    /// It has escapes: its text is [`unescape`]d from the range.
    pub escaped: bool,
}

/// A number's place in the payload, and whether it is written as an
/// integer (no fraction, no exponent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num {
    pub start: usize,
    pub end: usize,
    pub integer: bool,
}

/// More digits than this may not fit an f64 (its maximum has 309).
const FINITE_DIGITS: usize = 300;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in the lowest byte of `w` that is a quote, a backslash or
/// a control character (bits above it may be set too; the lowest is
/// exact).
#[inline(always)]
fn specials(w: u64) -> u64 {
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let quote = zero_in(w ^ (ONES * b'"' as u64));
    let backslash = zero_in(w ^ (ONES * b'\\' as u64));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    quote | backslash | control
}

/// A position in a payload.
pub struct Cursor<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    /// Skips JSON whitespace.
    #[inline(always)]
    pub fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
    }

    /// The next byte, taken.
    #[inline(always)]
    pub fn next(&mut self) -> Result<u8, NotJson> {
        let c = *self.b.get(self.i).ok_or(NotJson)?;
        self.i += 1;
        Ok(c)
    }

    /// Takes `c` if it is next.
    #[inline(always)]
    pub fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// The rest of a literal whose first byte was taken (`rue` of `true`).
    #[inline]
    pub fn literal(&mut self, rest: &[u8]) -> Result<(), NotJson> {
        if self.b[self.i..].starts_with(rest) {
            self.i += rest.len();
            Ok(())
        } else {
            Err(NotJson)
        }
    }

    /// A string whose opening quote was taken, up to and past its closing
    /// quote.
    #[inline]
    pub fn string(&mut self) -> Result<Str, NotJson> {
        let start = self.i;
        let mut escaped = false;
        loop {
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
                let m = specials(w);
                if m != 0 {
                    self.i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match self.b.get(self.i) {
                None => return Err(NotJson),
                Some(b'"') => {
                    let end = self.i;
                    self.i += 1;
                    return Ok(Str {
                        start,
                        end,
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(c) if *c < 0x20 => return Err(NotJson),
                Some(_) => self.i += 1,
            }
        }
    }

    /// Checks the escape at the backslash and moves past it.
    fn escape(&mut self) -> Result<(), NotJson> {
        self.i += 1;
        match self.next()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => match self.hex4()? {
                0xD800..=0xDBFF => {
                    // A high surrogate must be followed by a low one.
                    if self.next()? != b'\\' || self.next()? != b'u' {
                        return Err(NotJson);
                    }
                    match self.hex4()? {
                        0xDC00..=0xDFFF => Ok(()),
                        _ => Err(NotJson),
                    }
                }
                0xDC00..=0xDFFF => Err(NotJson),
                _ => Ok(()),
            },
            _ => Err(NotJson),
        }
    }

    fn hex4(&mut self) -> Result<u16, NotJson> {
        let digits = self.b.get(self.i..self.i + 4).ok_or(NotJson)?;
        self.i += 4;
        digits.iter().try_fold(0u16, |n, &c| {
            let d = (c as char).to_digit(16).ok_or(NotJson)?;
            Ok((n << 4) | d as u16)
        })
    }

    /// A number whose first byte (`-` or a digit) is next.
    #[inline]
    pub fn number(&mut self) -> Result<Num, NotJson> {
        let start = self.i;
        self.eat(b'-');
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return Err(NotJson),
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            self.some_digits()?;
        }
        let mut exponent = false;
        if self.eat(b'e') || self.eat(b'E') {
            integer = false;
            exponent = true;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.some_digits()?;
        }
        // Like serde_json, a number too large for an f64 is not JSON we can
        // read. Only an exponent or a very long run of digits can get there,
        // so the common number is not parsed twice.
        if exponent || self.i - start > FINITE_DIGITS {
            let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|_| NotJson)?;
            if !text.parse::<f64>().is_ok_and(f64::is_finite) {
                return Err(NotJson);
            }
        }
        Ok(Num {
            start,
            end: self.i,
            integer,
        })
    }

    fn digits(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), NotJson> {
        let from = self.i;
        self.digits();
        if self.i == from { Err(NotJson) } else { Ok(()) }
    }
}

/// The text of a string with escapes (checked by [`Cursor::string`]),
/// appended to `out`.
pub fn unescape(raw: &str, out: &mut String) {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = match chars.next() {
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let hex = |chars: &mut std::str::Chars<'_>| -> u32 {
                    (0..4).fold(0, |n, _| {
                        (n << 4) | chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0)
                    })
                };
                let hi = hex(&mut chars);
                let code = if (0xD800..0xDC00).contains(&hi) {
                    // `\uD83D\uDE00`: the backslash and `u` of the low half.
                    chars.nth(1);
                    let lo = hex(&mut chars);
                    0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                } else {
                    hi
                };
                char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            Some(other) => other,
            None => break,
        };
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Result<Str, NotJson> {
        let mut c = Cursor::new(s.as_bytes());
        let r = c.string();
        r.inspect(|r| assert_eq!(c.i, r.end + 1, "past the closing quote"))
    }

    #[test]
    fn strings_end_at_their_quote_at_any_offset() {
        for n in 0..20 {
            let s = format!("{}\"rest", "a".repeat(n));
            assert_eq!(
                string(&s),
                Ok(Str {
                    start: 0,
                    end: n,
                    escaped: false
                })
            );
        }
        assert_eq!(
            string("ab\\\"cd\"").map(|s| (s.end, s.escaped)),
            Ok((6, true))
        );
        assert_eq!(string("é☃\"").map(|s| s.end), Ok("é☃".len()));
    }

    #[test]
    fn bad_strings_are_refused() {
        for s in [
            "abc",
            "a\u{1}b\"",
            "tab\there\"",
            "\\x\"",
            "\\u12\"",
            "\\uD800\"",
            "\\uDC00\"",
            "\\uD800\\u0041\"",
            "ends with a backslash\\",
        ] {
            assert_eq!(string(s), Err(NotJson), "{s:?}");
        }
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for s in ["1e400", "-1e400", &"9".repeat(400)] {
            assert_eq!(Cursor::new(s.as_bytes()).number(), Err(NotJson), "{s}");
        }
        for (s, integer) in [
            ("0", true),
            ("-12", true),
            ("1.5", false),
            ("2e10", false),
            ("-0.1E-3", false),
        ] {
            let mut c = Cursor::new(s.as_bytes());
            assert_eq!(
                c.number(),
                Ok(Num {
                    start: 0,
                    end: s.len(),
                    integer
                }),
                "{s}"
            );
        }
        for s in ["-", "1.", ".5", "1e", "-x"] {
            assert_eq!(Cursor::new(s.as_bytes()).number(), Err(NotJson), "{s}");
        }
        let mut c = Cursor::new(b"012");
        assert_eq!(
            c.number().map(|n| n.end),
            Ok(1),
            "a leading zero ends the number"
        );
    }

    #[test]
    fn escapes_are_unescaped() {
        let mut out = String::new();
        unescape(r#"a\"b\\c\/d\n\t\u00e9\uD83D\uDE00"#, &mut out);
        assert_eq!(out, "a\"b\\c/d\n\té😀");
    }
}
