//! The walk: one pass over a payload's tokens, keeping its own stack of
//! open objects and arrays (nesting costs no recursion), that folds every
//! member into the shape and stores the scalars pointers ask for.

use super::tokens::{Cursor, NotJson, Num, Str, unescape};
use super::{
    JsonType, MAX_DEPTH, MAX_SHAPE_DEPTH, MAX_SHAPE_FIELDS, Pointers, SHAPE_ARRAY_ITEMS, Scanned,
    Seg, Val, hash_ptr, hash_seg,
};

/// Where the scan is: one level per open object member or array item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Level {
    /// Pointers the path so far can still lead to.
    pub candidates: u128,
    /// Hash of the shape path (the root's is [`super::ROOT`]).
    pub hash: u64,
    /// Hash of the path as pointers name it (valid while `candidates`
    /// is not empty).
    pub ptr: u64,
    /// An array item beyond the sampled ones.
    pub sampled_out: bool,
}

/// An open object or array, and the item it is at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Open {
    array: bool,
    item: usize,
}

/// One scan of one payload (valid UTF-8, checked before).
pub(super) struct Ctx<'p, 'o> {
    pub pointers: &'p Pointers,
    pub payload: &'p str,
    /// Levels inside an array item beyond the sampled ones.
    pub sampled_out: usize,
    pub want_shape: bool,
    pub out: &'o mut Scanned,
}

impl Ctx<'_, '_> {
    fn depth(&self) -> usize {
        self.out.levels.len() - 1
    }

    fn level(&self) -> &Level {
        let levels = &self.out.levels;
        &levels[levels.len() - 1]
    }

    #[inline]
    fn record_shape(&mut self, t: JsonType) {
        if !self.want_shape {
            return;
        }
        let depth = self.depth();
        if depth == 0
            || depth > MAX_SHAPE_DEPTH
            || self.sampled_out > 0
            || self.out.shape.len() >= MAX_SHAPE_FIELDS
        {
            return;
        }
        let hash = self.level().hash;
        self.out.shape.push((hash, t));
    }

    /// The pointer slots naming the current path.
    #[inline]
    fn hits(&self) -> u128 {
        let candidates = self.level().candidates;
        if candidates == 0 {
            return 0;
        }
        let ends_here = self.pointers.by_len.get(self.depth()).copied().unwrap_or(0);
        candidates & ends_here
    }

    /// Stores the scalar in every pointer slot in `hits`.
    fn record_scalar(&mut self, mut hits: u128, v: Val) {
        while hits != 0 {
            let slot = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            self.out.values[slot] = Some(v);
        }
    }

    /// A pointer that ends at an object, array or null has no scalar value.
    /// Together with `record_scalar` overwriting, a repeated key reads as
    /// its last value, as serde_json (and so the detail pane) reads it.
    fn record_none(&mut self) {
        let mut hits = self.hits();
        while hits != 0 {
            let slot = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            self.out.values[slot] = None;
        }
    }

    /// Stores a string: as a range of the payload, or unescaped into the
    /// scan's text when it has escapes.
    fn record_str(&mut self, hits: u128, s: Str) {
        let val = if s.escaped {
            let start = self.out.unescaped.len();
            unescape(&self.payload[s.start..s.end], &mut self.out.unescaped);
            Val::Str {
                unescaped: true,
                start,
                end: self.out.unescaped.len(),
            }
        } else {
            Val::Str {
                unescaped: false,
                start: s.start,
                end: s.end,
            }
        };
        self.record_scalar(hits, val);
    }

    /// Stores a number, read from its text.
    fn record_number(&mut self, hits: u128, n: Num) {
        let text = &self.payload[n.start..n.end];
        let int = if n.integer {
            text.parse::<i64>().ok()
        } else {
            None
        };
        let val = match int {
            Some(i) => Val::Int(i),
            None => Val::Float(text.parse::<f64>().unwrap_or(f64::NAN)),
        };
        self.record_scalar(hits, val);
    }

    fn push(&mut self, seg: Seg<'_>) {
        let depth = self.depth();
        let parent = *self.level();
        let shaped = self.want_shape && depth < MAX_SHAPE_DEPTH && self.sampled_out == 0;
        let hash = if shaped {
            hash_seg(parent.hash, &seg)
        } else {
            0
        };
        let (candidates, ptr) = if parent.candidates == 0 {
            (0, 0)
        } else {
            // Above the first array item both hashes are the same.
            let ptr = match seg {
                Seg::Key(_) if shaped && parent.ptr == parent.hash => hash,
                _ => hash_ptr(parent.ptr, &seg),
            };
            let through = self.pointers.prefixes.get(&ptr).copied().unwrap_or(0);
            (parent.candidates & through, ptr)
        };
        let sampled_out = matches!(seg, Seg::Index(i) if i >= SHAPE_ARRAY_ITEMS);
        self.sampled_out += usize::from(sampled_out);
        self.out.levels.push(Level {
            candidates,
            hash,
            ptr,
            sampled_out,
        });
    }

    fn pop(&mut self) {
        if let Some(level) = self.out.levels.pop() {
            self.sampled_out -= usize::from(level.sampled_out);
        }
    }

    /// Opens an object or array that has a first member or item.
    fn open(&mut self, array: bool) -> Result<(), NotJson> {
        if self.out.open.len() >= MAX_DEPTH {
            return Err(NotJson);
        }
        self.out.open.push(Open { array, item: 0 });
        Ok(())
    }

    /// A member's key and colon; the member's level is pushed.
    fn key(&mut self, c: &mut Cursor<'_>) -> Result<(), NotJson> {
        if c.next()? != b'"' {
            return Err(NotJson);
        }
        let s = c.string()?;
        if self.out.open.len() == 1 {
            self.out.top_fields += 1;
        }
        if s.escaped {
            let mut text = std::mem::take(&mut self.out.key);
            text.clear();
            unescape(&self.payload[s.start..s.end], &mut text);
            self.push(Seg::Key(text.as_bytes()));
            self.out.key = text;
        } else {
            let payload = self.payload.as_bytes();
            self.push(Seg::Key(&payload[s.start..s.end]));
        }
        c.ws();
        if c.next()? != b':' {
            return Err(NotJson);
        }
        c.ws();
        Ok(())
    }

    /// Walks the whole payload: one value and nothing after it but
    /// whitespace.
    pub fn walk(&mut self) -> Result<(), NotJson> {
        let mut c = Cursor::new(self.payload.as_bytes());
        c.ws();
        loop {
            // The value of the current level.
            match c.next()? {
                b'{' => {
                    self.record_shape(JsonType::Object);
                    self.record_none();
                    c.ws();
                    if !c.eat(b'}') {
                        self.open(false)?;
                        self.key(&mut c)?;
                        continue;
                    }
                }
                b'[' => {
                    self.record_shape(JsonType::Array);
                    self.record_none();
                    c.ws();
                    if !c.eat(b']') {
                        self.open(true)?;
                        self.push(Seg::Index(0));
                        continue;
                    }
                }
                b'"' => {
                    let s = c.string()?;
                    self.record_shape(JsonType::String);
                    let hits = self.hits();
                    if hits != 0 {
                        self.record_str(hits, s);
                    }
                }
                b'-' | b'0'..=b'9' => {
                    c.i -= 1;
                    let n = c.number()?;
                    self.record_shape(JsonType::Number);
                    let hits = self.hits();
                    if hits != 0 {
                        self.record_number(hits, n);
                    }
                }
                b't' => {
                    c.literal(b"rue")?;
                    self.record_shape(JsonType::Bool);
                    self.record_scalar(self.hits(), Val::Bool(true));
                }
                b'f' => {
                    c.literal(b"alse")?;
                    self.record_shape(JsonType::Bool);
                    self.record_scalar(self.hits(), Val::Bool(false));
                }
                b'n' => {
                    c.literal(b"ull")?;
                    self.record_shape(JsonType::Null);
                    self.record_none();
                }
                _ => return Err(NotJson),
            }
            // The value is complete: on to the next member or item of the
            // innermost open object or array, closing those that end.
            loop {
                c.ws();
                let Some(&Open { array, item }) = self.out.open.last() else {
                    return if c.i == c.b.len() {
                        Ok(())
                    } else {
                        Err(NotJson)
                    };
                };
                self.pop();
                match c.next()? {
                    b',' => {
                        c.ws();
                        if array {
                            self.out.open.last_mut().expect("open").item = item + 1;
                            self.push(Seg::Index(item + 1));
                        } else {
                            self.key(&mut c)?;
                        }
                        break;
                    }
                    b']' if array => {}
                    b'}' if !array => {}
                    _ => return Err(NotJson),
                }
                self.out.open.pop();
            }
        }
    }
}
