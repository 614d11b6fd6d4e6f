//! One pass over a JSON payload that pulls out what the analysis needs,
//! without building a `serde_json::Value`: the scalars at a set of JSON
//! Pointers, and the payload's shape (each field path with its JSON type)
//! for schema-drift detection. The payload is checked as UTF-8 once
//! (simdutf8); then [`tokens`] finds strings eight bytes at a time and
//! [`walk`] folds every member into the shape as it goes, with a stack of
//! its own, so nesting costs no recursion.
//!
//! Field paths in shapes are JSON Pointers with array elements written `*`
//! (`/items/*/sku`). Shapes are bounded: [`MAX_SHAPE_DEPTH`] levels,
//! [`MAX_SHAPE_FIELDS`] entries, and the first [`SHAPE_ARRAY_ITEMS`] items
//! of each array.

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

mod tokens;
mod walk;

/// Most distinct JSON Pointers one scan extracts.
pub const MAX_POINTERS: usize = 128;
/// Nesting deeper than this is not scanned: such a payload counts as not
/// JSON (serde_json, which the detail pane uses, refuses it too).
pub const MAX_DEPTH: usize = 128;
/// Numeric tokens of one pointer that may name an object key as well as
/// an array index (RFC 6901); later ones name array indexes only.
const AMBIGUOUS_TOKENS: usize = 6;

/// A set of JSON Pointers to extract, parsed once.
///
/// A pointer is matched by the hashes of its prefixes, hashed as the scan
/// hashes the path it is on ([`hash_ptr`]): one table lookup per member
/// while some pointer can still match, none below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointers {
    raw: Vec<String>,
    /// Bit set of the pointers with `d` tokens, by `d`.
    by_len: Vec<u128>,
    /// The pointers that pass through the path of this hash.
    prefixes: super::FastMap<u64, u128>,
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
            }
            self.by_len[tokens.len()] |= 1 << slot;
            // Every path the pointer may name: a numeric token is a key of
            // an object or an index of an array.
            let mut paths = vec![ROOT];
            for (n, token) in tokens.iter().enumerate() {
                let index = token.parse::<usize>().ok();
                let ambiguous = tokens[..n]
                    .iter()
                    .filter(|t| t.parse::<usize>().is_ok())
                    .count()
                    < AMBIGUOUS_TOKENS;
                let mut next = Vec::with_capacity(paths.len() * 2);
                for &p in &paths {
                    match index {
                        Some(i) => {
                            next.push(hash_ptr(p, &Seg::Index(i)));
                            if ambiguous {
                                next.push(hash_ptr(p, &Seg::Key(token.as_bytes())));
                            }
                        }
                        None => next.push(hash_ptr(p, &Seg::Key(token.as_bytes()))),
                    }
                }
                for &h in &next {
                    *self.prefixes.entry(h).or_default() |= 1 << slot;
                }
                paths = next;
            }
        }
        self.raw.push(pointer.to_owned());
        slot
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
    /// Where the scan is (kept for its buffer).
    levels: Vec<walk::Level>,
    /// The open objects and arrays (kept for its buffer).
    open: Vec<walk::Open>,
    /// The text of a key with escapes (kept for its buffer).
    key: String,
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
        self.levels.clear();
        self.open.clear();
    }
}

/// One step of a path: an object key (its text) or an array index.
enum Seg<'a> {
    Key(&'a [u8]),
    Index(usize),
}

/// The hash of the root path, for shapes and pointers alike.
const ROOT: u64 = 0;

/// Hash of a path in a shape: the parent's hash seeds the hash of the
/// segment (array items all hash alike, as `*`).
fn hash_seg(parent: u64, seg: &Seg<'_>) -> u64 {
    match seg {
        Seg::Key(k) => xxhash_rust::xxh3::xxh3_64_with_seed(k, parent),
        Seg::Index(_) => xxhash_rust::xxh3::xxh3_64_with_seed(b"\0*", parent),
    }
}

/// Hash of a path as pointers name it: as [`hash_seg`], but an array item
/// hashes by its index. Paths without array items hash alike both ways.
fn hash_ptr(parent: u64, seg: &Seg<'_>) -> u64 {
    match seg {
        Seg::Key(_) => hash_seg(parent, seg),
        Seg::Index(i) => {
            let mut b = [0u8; 9];
            b[1..].copy_from_slice(&(*i as u64).to_le_bytes());
            xxhash_rust::xxh3::xxh3_64_with_seed(&b, parent)
        }
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
    // JSON text is UTF-8 (RFC 8259): checked once for every string in it.
    let Ok(text) = simdutf8::basic::from_utf8(payload) else {
        return;
    };
    out.levels.push(walk::Level {
        candidates: pointers.all(),
        hash: ROOT,
        ptr: ROOT,
        sampled_out: false,
    });
    let mut ctx = walk::Ctx {
        pointers,
        payload: text,
        sampled_out: 0,
        want_shape,
        out,
    };
    if ctx.walk().is_ok() {
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
                    let h = hash_seg(hash, &Seg::Key(k.as_bytes()));
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

    pub(super) fn ptrs(list: &[&str]) -> Pointers {
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

/// The scan against serde_json, which the detail pane uses: the same
/// payloads are JSON, and pointers find the values serde_json finds.
#[cfg(test)]
mod agrees_with_serde_json {
    use super::tests::ptrs;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    const POINTERS: [&str; 9] = [
        "/id",
        "/type",
        "/seq",
        "/data/total",
        "/data/items/1/sku",
        "/data/ok",
        "/e\u{e9}",
        "/esc\"aped",
        "/n",
    ];

    fn check(payload: &[u8], p: &Pointers) {
        let ours = scan(payload, p, true);
        let theirs = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .filter(|v| v.is_object() || v.is_array());
        assert_eq!(
            ours.is_json,
            theirs.is_some(),
            "{:?}",
            String::from_utf8_lossy(payload)
        );
        let Some(v) = theirs else { return };
        // The shape is read as a set. A repeated key keeps only its last
        // value in serde_json; the scan also keeps the earlier values'
        // types, on the same path.
        let set =
            |v: Vec<(u64, JsonType)>| v.into_iter().collect::<std::collections::BTreeSet<_>>();
        let fast = set(ours.shape.clone());
        let readable = set(shape_paths(payload)
            .iter()
            .map(|(h, _, t)| (*h, *t))
            .collect());
        assert!(readable.is_subset(&fast), "{v}");
        for (h, t) in fast.difference(&readable) {
            assert!(readable.iter().any(|r| r.0 == *h), "{t:?} at #{h:x} in {v}");
        }
        for (slot, ptr) in POINTERS.iter().enumerate() {
            let want = v.pointer(ptr).and_then(|v| match v {
                serde_json::Value::String(s) => Some(Scalar::Str(s)),
                serde_json::Value::Bool(b) => Some(Scalar::Bool(*b)),
                serde_json::Value::Number(n) => Some(match n.as_i64() {
                    Some(i) => Scalar::Int(i),
                    None => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
                }),
                _ => None,
            });
            assert_eq!(ours.value(payload, slot), want, "{ptr} in {v}");
        }
    }

    #[test]
    fn on_hand_picked_payloads() {
        let p = ptrs(&POINTERS);
        for doc in [
            r#"{"id":"a","type":"T","seq":3,"data":{"total":9.5,"items":[{"sku":"A"},{"sku":"B\u00e9"}],"ok":true},"n":null}"#,
            r#"{"esc\"aped":"x\ty","e\u00e9":"é","seq":-0,"data":{"total":1e400}}"#,
            r#"{"seq":12345678901234567890,"id":"\ud83d\ude00"}"#,
            r#" [ 1 , {"a" : [ ] } , { } , "s" , true , false , null ] "#,
            r#"{"a":1,}"#,
            r#"{"a":1 "b":2}"#,
            r#"[1,2,]"#,
            r#"{"a":01}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":tru}"#,
            r#"{"a":1}}"#,
            r#"{"a" 1}"#,
            "{\"a\":\"raw\ttab\"}",
            "{\"a\":1}\u{0}",
            r#"{"id":"x","id":"second"}"#,
            r#"{"id":"x","id":{"a":1}}"#,
            r#"{"id":"x","id":null,"seq":[1]}"#,
            r#"[[[[[[[[[[]]]]]]]]]]"#,
            r#"{"data":{"items":[1,{"sku":"C"},3]}}"#,
        ] {
            check(doc.as_bytes(), &p);
        }
        check(b"{\"a\":\"\xff\"}", &p);
    }

    #[test]
    fn on_mutations_of_real_payloads() {
        let p = ptrs(&POINTERS);
        let mut rng = StdRng::seed_from_u64(11);
        let mut sim = crate::sim::Simulation::new(crate::sim::SimConfig::default());
        let alphabet = b"{}[]:,\"\\ u0123456789.eE+-truefalsn\t\n\xc3\xa9\xff";
        for i in 0..3_000 {
            let t = i as i64 * 1_000_000;
            let payload = sim
                .next(t)
                .expect("the simulation runs")
                .envelope(t)
                .payload;
            let mut bytes = payload.to_vec();
            for _ in 0..rng.random_range(0..4) {
                let at = rng.random_range(0..bytes.len());
                let c = alphabet[rng.random_range(0..alphabet.len())];
                match rng.random_range(0..3) {
                    0 => bytes[at] = c,
                    1 => bytes.insert(at, c),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            check(&bytes, &p);
        }
    }
}
