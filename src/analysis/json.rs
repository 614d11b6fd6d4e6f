//! One pass over a JSON payload that pulls out what the analysis needs,
//! without building a `serde_json::Value`: the scalars at a set of JSON
//! Pointers, and the payload's shape (each field path with its JSON type)
//! for schema-drift detection.
//!
//! Field paths in shapes are JSON Pointers with array elements written `*`
//! (`/items/*/sku`). Shapes are bounded: [`MAX_SHAPE_DEPTH`] levels,
//! [`MAX_SHAPE_FIELDS`] entries, and the first [`SHAPE_ARRAY_ITEMS`] items
//! of each array.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Deepest level recorded in a shape.
pub const MAX_SHAPE_DEPTH: usize = 8;
/// Most shape entries recorded for one payload.
pub const MAX_SHAPE_FIELDS: usize = 256;
/// Array items whose fields are recorded in a shape.
pub const SHAPE_ARRAY_ITEMS: usize = 4;

/// JSON value types, as schema drift compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    pub fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Bool => "bool",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// A scalar found at a pointer; a string borrows from the payload (or
/// from the scan's unescaped text when it had escapes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar<'_> {
    /// The value as text (numbers in their usual form).
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// Appends the value as text to `out` (no allocation when it has room).
    pub fn write_text(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Scalar::Str(s) => out.push_str(s),
            Scalar::Int(i) => write!(out, "{i}").expect("writing to a String"),
            Scalar::Float(f) => write!(out, "{f}").expect("writing to a String"),
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }

    /// The value as an integer: integral numbers and decimal strings.
    pub fn int(&self) -> Option<i64> {
        match self {
            Scalar::Int(i) => Some(*i),
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Scalar::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Most distinct JSON Pointers one scan extracts.
pub const MAX_POINTERS: usize = 128;

/// A set of JSON Pointers to extract, parsed once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointers {
    raw: Vec<String>,
    /// Bit set of the pointers with `d` tokens, by `d`.
    by_len: Vec<u128>,
    /// At each depth, the pointers whose token there is this key.
    by_key: Vec<super::FastMap<Box<str>, u128>>,
    /// At each depth, the pointers whose token there is this array index.
    by_index: Vec<super::FastMap<usize, u128>>,
}

impl Pointers {
    /// Adds a pointer (RFC 6901) and returns its slot; duplicates share one.
    /// Beyond [`MAX_POINTERS`] a pointer gets a slot that is never filled
    /// (the config refuses that many).
    pub fn add(&mut self, pointer: &str) -> usize {
        if let Some(i) = self.raw.iter().position(|p| p == pointer) {
            return i;
        }
        let tokens: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let slot = self.raw.len();
        if slot < MAX_POINTERS {
            if self.by_len.len() <= tokens.len() {
                self.by_len.resize(tokens.len() + 1, 0);
                self.by_key.resize_with(tokens.len(), Default::default);
                self.by_index.resize_with(tokens.len(), Default::default);
            }
            self.by_len[tokens.len()] |= 1 << slot;
            for (depth, token) in tokens.iter().enumerate() {
                *self.by_key[depth].entry(token.as_str().into()).or_default() |= 1 << slot;
                if let Ok(i) = token.parse::<usize>() {
                    *self.by_index[depth].entry(i).or_default() |= 1 << slot;
                }
            }
        }
        self.raw.push(pointer.to_owned());
        slot
    }

    /// The pointers whose token at `depth` is `seg`.
    fn matching(&self, depth: usize, seg: &Seg<'_>) -> u128 {
        match seg {
            Seg::Key(k) => self.by_key.get(depth).and_then(|m| m.get(&**k)),
            Seg::Index(i) => self.by_index.get(depth).and_then(|m| m.get(i)),
        }
        .copied()
        .unwrap_or(0)
    }

    fn all(&self) -> u128 {
        self.by_len.iter().fold(0, |a, b| a | b)
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

/// A scalar as a scan keeps it: a string is a byte range of the payload,
/// or of [`Scanned`]'s unescaped text when it had escapes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Str {
        unescaped: bool,
        start: usize,
        end: usize,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// What one pass found. Reusable: [`scan_into`] clears it and keeps its
/// buffers, so a scan allocates nothing once they have grown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scanned {
    /// Whether the payload is a JSON object or array.
    pub is_json: bool,
    /// One slot per pointer of the [`Pointers`] set.
    values: Vec<Option<Val>>,
    /// Strings found at pointers that had escapes, unescaped.
    unescaped: String,
    /// (path hash, type) of every field, when a shape was asked for.
    pub shape: Vec<(u64, JsonType)>,
    /// Number of data fields at the top level (objects only).
    pub top_fields: usize,
}

impl Scanned {
    /// The scalar found for pointer `slot` of the `payload` this scanned.
    pub fn value<'a>(&'a self, payload: &'a [u8], slot: usize) -> Option<Scalar<'a>> {
        Some(match (*self.values.get(slot)?)? {
            Val::Str {
                unescaped,
                start,
                end,
            } => {
                let text = if unescaped {
                    self.unescaped.get(start..end)?
                } else {
                    std::str::from_utf8(payload.get(start..end)?).ok()?
                };
                Scalar::Str(text)
            }
            Val::Int(i) => Scalar::Int(i),
            Val::Float(f) => Scalar::Float(f),
            Val::Bool(b) => Scalar::Bool(b),
        })
    }

    fn clear(&mut self, slots: usize) {
        self.is_json = false;
        self.values.clear();
        self.values.resize(slots, None);
        self.unescaped.clear();
        self.shape.clear();
        self.top_fields = 0;
    }
}

#[derive(Clone)]
enum Seg<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

/// Where the scan is: one level per open object member or array item.
#[derive(Clone, Copy)]
struct Level {
    /// Pointers the path so far can still lead to.
    candidates: u128,
    /// Hash of the shape path (the root's is 0).
    hash: u64,
    /// An array item beyond the sampled ones.
    sampled_out: bool,
}

struct Ctx<'p, 'o> {
    pointers: &'p Pointers,
    /// Where the payload starts in memory, to turn borrowed strings into
    /// ranges; and its length.
    base: usize,
    len: usize,
    levels: Vec<Level>,
    /// Levels inside an array item beyond the sampled ones.
    sampled_out: usize,
    want_shape: bool,
    out: &'o mut Scanned,
}

/// Hash of a path: the parent's hash seeds the hash of the segment (array
/// items all hash alike, as `*`).
fn hash_seg(parent: u64, seg: &Seg<'_>) -> u64 {
    match seg {
        Seg::Key(k) => xxhash_rust::xxh3::xxh3_64_with_seed(k.as_bytes(), parent),
        Seg::Index(_) => xxhash_rust::xxh3::xxh3_64_with_seed(b"\0*", parent),
    }
}

impl Ctx<'_, '_> {
    fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    fn record_shape(&mut self, t: JsonType) {
        let depth = self.depth();
        if !self.want_shape
            || depth == 0
            || depth > MAX_SHAPE_DEPTH
            || self.sampled_out > 0
            || self.out.shape.len() >= MAX_SHAPE_FIELDS
        {
            return;
        }
        self.out.shape.push((self.levels[depth].hash, t));
    }

    /// The pointer slots naming the current path.
    fn hits(&self) -> u128 {
        let depth = self.depth();
        let ends_here = self.pointers.by_len.get(depth).copied().unwrap_or(0);
        self.levels[depth].candidates & ends_here
    }

    /// Stores the scalar in every pointer slot naming the current path.
    fn record_scalar(&mut self, v: Val) {
        let mut hits = self.hits();
        while hits != 0 {
            let slot = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            if self.out.values[slot].is_none() {
                self.out.values[slot] = Some(v);
            }
        }
    }

    /// Stores a string: as a range of the payload when it lies there, else
    /// copied to the unescaped text.
    fn record_str(&mut self, v: &str) {
        if self.hits() == 0 {
            return;
        }
        let at = (v.as_ptr() as usize).wrapping_sub(self.base);
        let val = if at <= self.len && v.len() <= self.len - at {
            Val::Str {
                unescaped: false,
                start: at,
                end: at + v.len(),
            }
        } else {
            let start = self.out.unescaped.len();
            self.out.unescaped.push_str(v);
            Val::Str {
                unescaped: true,
                start,
                end: self.out.unescaped.len(),
            }
        };
        self.record_scalar(val);
    }

    fn push(&mut self, seg: Seg<'_>) {
        let depth = self.depth();
        let parent = self.levels[depth];
        let candidates = if parent.candidates == 0 {
            0
        } else {
            parent.candidates & self.pointers.matching(depth, &seg)
        };
        let hash = if self.want_shape && depth < MAX_SHAPE_DEPTH && self.sampled_out == 0 {
            hash_seg(parent.hash, &seg)
        } else {
            0
        };
        let sampled_out = matches!(seg, Seg::Index(i) if i >= SHAPE_ARRAY_ITEMS);
        self.sampled_out += usize::from(sampled_out);
        self.levels.push(Level {
            candidates,
            hash,
            sampled_out,
        });
    }

    fn pop(&mut self) {
        if let Some(level) = self.levels.pop() {
            self.sampled_out -= usize::from(level.sampled_out);
        }
    }
}

struct Node<'a, 'p, 'o>(&'a mut Ctx<'p, 'o>);

impl<'de> DeserializeSeed<'de> for Node<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.record_shape(JsonType::Bool);
        self.0.record_scalar(Val::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.record_shape(JsonType::Number);
        self.0.record_scalar(Val::Int(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.record_shape(JsonType::Number);
        self.0.record_scalar(match i64::try_from(v) {
            Ok(i) => Val::Int(i),
            Err(_) => Val::Float(v as f64),
        });
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.record_shape(JsonType::Number);
        self.0.record_scalar(Val::Float(v));
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.visit_str(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.record_shape(JsonType::String);
        self.0.record_str(v);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.record_shape(JsonType::Null);
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.record_shape(JsonType::Array);
        let mut i = 0;
        loop {
            self.0.push(Seg::Index(i));
            let more = seq.next_element_seed(Node(&mut *self.0))?;
            self.0.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.record_shape(JsonType::Object);
        let top = self.0.levels.len() == 1;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if top {
                self.0.out.top_fields += 1;
            }
            self.0.push(Seg::Key(key));
            map.next_value_seed(Node(&mut *self.0))?;
            self.0.pop();
        }
        Ok(())
    }
}

/// Reads a key without copying it when the input allows.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// True when the payload may be a JSON object or array.
pub fn looks_like_json(payload: &[u8]) -> bool {
    matches!(
        payload.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Scans `payload` once: values at `pointers`, and its shape when
/// `want_shape`. A payload that is not a JSON object or array (or is
/// malformed) yields `is_json == false` and nothing else.
pub fn scan(payload: &[u8], pointers: &Pointers, want_shape: bool) -> Scanned {
    let mut out = Scanned::default();
    scan_into(payload, pointers, want_shape, &mut out);
    out
}

/// [`scan`] into `out`, reusing its buffers.
pub fn scan_into(payload: &[u8], pointers: &Pointers, want_shape: bool, out: &mut Scanned) {
    out.clear(pointers.len());
    if !looks_like_json(payload) {
        return;
    }
    let mut ctx = Ctx {
        pointers,
        base: payload.as_ptr() as usize,
        len: payload.len(),
        levels: Vec::with_capacity(16),
        sampled_out: 0,
        want_shape,
        out,
    };
    ctx.levels.push(Level {
        candidates: pointers.all(),
        hash: 0,
        sampled_out: false,
    });
    let mut de = serde_json::Deserializer::from_slice(payload);
    let ok = Node(&mut ctx).deserialize(&mut de).is_ok() && de.end().is_ok();
    if ok {
        out.is_json = true;
    } else {
        out.clear(pointers.len());
    }
}

/// The shape with readable paths, for the rare moments a path is new.
pub fn shape_paths(payload: &[u8]) -> Vec<(u64, String, JsonType)> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    fn walk(
        v: &serde_json::Value,
        depth: usize,
        hash: u64,
        path: &str,
        sampled_out: bool,
        out: &mut Vec<(u64, String, JsonType)>,
    ) {
        let t = match v {
            serde_json::Value::Null => JsonType::Null,
            serde_json::Value::Bool(_) => JsonType::Bool,
            serde_json::Value::Number(_) => JsonType::Number,
            serde_json::Value::String(_) => JsonType::String,
            serde_json::Value::Array(_) => JsonType::Array,
            serde_json::Value::Object(_) => JsonType::Object,
        };
        if depth > 0 && depth <= MAX_SHAPE_DEPTH && !sampled_out && out.len() < MAX_SHAPE_FIELDS {
            out.push((hash, path.to_owned(), t));
        }
        match v {
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let h = hash_seg(hash, &Seg::Index(i));
                    walk(
                        item,
                        depth + 1,
                        h,
                        &format!("{path}/*"),
                        sampled_out || i >= SHAPE_ARRAY_ITEMS,
                        out,
                    );
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let h = hash_seg(hash, &Seg::Key(Cow::Borrowed(k)));
                    let escaped = k.replace('~', "~0").replace('/', "~1");
                    walk(
                        item,
                        depth + 1,
                        h,
                        &format!("{path}/{escaped}"),
                        sampled_out,
                        out,
                    );
                }
            }
            _ => {}
        }
    }
    walk(&v, 0, 0, "", false, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ptrs(list: &[&str]) -> Pointers {
        let mut p = Pointers::default();
        for s in list {
            p.add(s);
        }
        p
    }

    #[test]
    fn extracts_scalars_at_pointers() {
        let p = ptrs(&[
            "/type",
            "/order/id",
            "/items/1/sku",
            "/seq",
            "/missing",
            "/a~1b",
        ]);
        let payload = br#"{"type":"OrderCreated","order":{"id":"o-1"},"items":[{"sku":"A"},{"sku":"B"}],"seq":7,"a/b":true}"#;
        let s = scan(payload, &p, false);
        assert!(s.is_json);
        let v = |slot| s.value(payload, slot);
        assert_eq!(v(0), Some(Scalar::Str("OrderCreated")));
        assert_eq!(v(1), Some(Scalar::Str("o-1")));
        assert_eq!(v(2), Some(Scalar::Str("B")));
        assert_eq!(v(3).as_ref().and_then(Scalar::int), Some(7));
        assert_eq!(v(4), None);
        assert_eq!(v(5), Some(Scalar::Bool(true)));
        assert_eq!(s.top_fields, 5);
    }

    #[test]
    fn objects_are_not_scalars_and_escaped_keys_work() {
        let payload = br#"{"type":{"x":1},"k\"ey":"v","e":"a\nb"}"#;
        let p = ptrs(&["/type", "/k\"ey", "/e"]);
        let s = scan(payload, &p, false);
        assert_eq!(s.value(payload, 0), None);
        assert_eq!(s.value(payload, 1), Some(Scalar::Str("v")));
        assert_eq!(
            s.value(payload, 2),
            Some(Scalar::Str("a\nb")),
            "escaped strings come unescaped"
        );
    }

    #[test]
    fn non_json_and_malformed_payloads_yield_nothing() {
        let p = ptrs(&["/type"]);
        for payload in [
            &b"plain text"[..],
            b"",
            b"{\"type\":\"x\"",
            b"{\"type\":\"x\"} trailing",
            b"42",
        ] {
            let s = scan(payload, &p, true);
            assert!(!s.is_json, "{payload:?}");
            assert_eq!(s.value(payload, 0), None);
            assert!(s.shape.is_empty());
        }
    }

    #[test]
    fn shape_hashes_match_the_readable_paths() {
        let payload = br#"{"id":"e1","data":{"total":9.5,"items":[{"sku":"A"},{"sku":"B","qty":2}]},"n":null}"#;
        let s = scan(payload, &Pointers::default(), true);
        let readable = shape_paths(payload);
        let fast: Vec<(u64, JsonType)> = readable.iter().map(|(h, _, t)| (*h, *t)).collect();
        assert_eq!(s.shape, fast);
        let paths: Vec<&str> = readable.iter().map(|(_, p, _)| p.as_str()).collect();
        assert!(paths.contains(&"/data/items/*/sku"), "{paths:?}");
        assert!(paths.contains(&"/n"));
        assert_eq!(
            readable.iter().find(|r| r.1 == "/data/total").unwrap().2,
            JsonType::Number
        );
    }

    #[test]
    fn deep_and_huge_payloads_are_bounded_and_do_not_overflow_the_stack() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        let s = scan(deep.as_bytes(), &Pointers::default(), true);
        assert!(
            !s.is_json,
            "serde_json's recursion limit rejects it without a crash"
        );
        let nested = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
        let s = scan(nested.as_bytes(), &Pointers::default(), true);
        assert!(s.is_json);
        assert_eq!(s.shape.len(), MAX_SHAPE_DEPTH);
        let wide = format!("[{}]", vec!["{\"a\":1,\"b\":2}"; 10_000].join(","));
        let s = scan(wide.as_bytes(), &Pointers::default(), true);
        assert!(s.shape.len() <= 1 + SHAPE_ARRAY_ITEMS * 3);
    }
}
