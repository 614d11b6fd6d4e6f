//! Schema drift: per event type, the field set and JSON value types are
//! learned from the first `learn` JSON events; after that each change is
//! reported once, with the first event that showed it:
//! - `added`: a field never seen while learning;
//! - `removed`: a field present in every learning event is missing;
//! - `type_changed`: a field holds a type it never held while learning.
//!
//! Fields present in only some learning events are optional: their absence
//! is not a change. Bounded: [`MAX_TYPES`] types, [`MAX_FIELDS_PER_TYPE`]
//! fields a type, [`MAX_HISTORY_PER_TYPE`] changes remembered a type.

use std::collections::HashMap;

use super::{FastMap, FastSet};

use serde::Serialize;

use super::json::{self, JsonType};

/// Events of a type that define its schema.
pub const DEFAULT_LEARN: usize = 10;
/// Event types whose schema is tracked.
pub const MAX_TYPES: usize = 10_000;
/// Fields tracked per type.
pub const MAX_FIELDS_PER_TYPE: usize = 512;
/// Changes remembered per type for the kinds view (the newest).
pub const MAX_HISTORY_PER_TYPE: usize = 100;
/// Distinct changes tracked per type; a type with more (object keys that
/// are data, such as ids) stops being checked, and says so.
pub const MAX_CHANGES_PER_TYPE: usize = 512;

/// A kind of schema change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    TypeChanged,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::TypeChanged => "type changed",
        }
    }
}

/// One reported change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    #[serde(rename = "type")]
    pub event_type: String,
    pub change: Change,
    pub field: String,
    /// Capture index of the first event that showed it.
    pub index: u64,
    /// The types learned for the field (empty for an added field).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub learned: Vec<JsonType>,
    /// The type seen now (none for a removed field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<JsonType>,
}

impl Drift {
    /// "field /data/total changed type number → string"
    pub fn describe(&self) -> String {
        let learned = self
            .learned
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join("|");
        match (self.change, self.now) {
            (Change::Added, Some(t)) => format!("field {} added ({})", self.field, t.name()),
            (Change::Removed, _) => format!("field {} removed (was {learned})", self.field),
            (Change::TypeChanged, Some(t)) => {
                format!("field {} changed type {learned} → {}", self.field, t.name())
            }
            _ => format!("field {} {}", self.field, self.change.label()),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Field {
    path: String,
    /// Bit set of `JsonType`s.
    types: u8,
    /// Learning events that had it.
    present: usize,
}

fn bit(t: JsonType) -> u8 {
    1 << (t as u8)
}

fn types_of(bits: u8) -> Vec<JsonType> {
    [
        JsonType::Null,
        JsonType::Bool,
        JsonType::Number,
        JsonType::String,
        JsonType::Array,
        JsonType::Object,
    ]
    .into_iter()
    .filter(|t| bits & bit(*t) != 0)
    .collect()
}

#[derive(Debug, Clone, Default)]
struct TypeSchema {
    learned: usize,
    fields: FastMap<u64, Field>,
    required: Vec<u64>,
    reported: FastSet<(u64, Change, u8)>,
    /// The newest changes, oldest first.
    history: std::collections::VecDeque<Drift>,
    changes: u64,
    /// More than [`MAX_CHANGES_PER_TYPE`] changes: later ones are not checked.
    capped: bool,
    /// Signatures of shapes already checked since the schema was learned:
    /// the same shape again shows nothing new (its changes were reported
    /// the first time), so it is not compared field by field.
    checked: FastSet<u64>,
}

/// Shapes remembered as checked, per type.
const MAX_CHECKED_SHAPES: usize = 1_024;

/// A signature of a shape, in its order (the same fields in another order
/// are checked once more, which is harmless).
fn signature(shape: &[(u64, JsonType)]) -> u64 {
    shape.iter().fold(shape.len() as u64, |sig, &(h, t)| {
        (sig.rotate_left(29) ^ h ^ t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    })
}

/// Learned schemas of all event types.
#[derive(Debug, Clone)]
pub struct Schemas {
    learn: usize,
    types: FastMap<String, TypeSchema>,
    untracked_types: u64,
    total: u64,
}

impl Default for Schemas {
    fn default() -> Self {
        Schemas::new(DEFAULT_LEARN)
    }
}

impl Schemas {
    pub fn new(learn: usize) -> Self {
        Schemas {
            learn: learn.max(1),
            types: FastMap::default(),
            untracked_types: 0,
            total: 0,
        }
    }

    /// Looks at one JSON event of `event_type` with its `shape` (from
    /// [`json::scan`]); returns the changes it shows for the first time.
    pub fn observe(
        &mut self,
        event_type: &str,
        shape: &[(u64, JsonType)],
        payload: &[u8],
        index: u64,
    ) -> Vec<Drift> {
        if !self.types.contains_key(event_type) {
            if self.types.len() >= MAX_TYPES {
                self.untracked_types += 1;
                return Vec::new();
            }
            self.types
                .insert(event_type.to_owned(), TypeSchema::default());
        }
        let learn = self.learn;
        let schema = self.types.get_mut(event_type).expect("inserted above");
        let sig = (schema.learned >= learn).then(|| signature(shape));
        if let Some(sig) = sig {
            if schema.checked.contains(&sig) {
                return Vec::new();
            }
            if schema.checked.len() < MAX_CHECKED_SHAPES {
                schema.checked.insert(sig);
            }
        }
        let mut paths: Option<HashMap<u64, String>> = None;
        let mut path_of = |h: u64| -> String {
            paths
                .get_or_insert_with(|| {
                    json::shape_paths(payload)
                        .into_iter()
                        .map(|(h, p, _)| (h, p))
                        .collect()
                })
                .get(&h)
                .cloned()
                .unwrap_or_else(|| format!("#{h:x}"))
        };
        // One entry per field with its types, arrays' items folded.
        let mut here: Vec<(u64, u8)> = shape.iter().map(|&(h, t)| (h, bit(t))).collect();
        here.sort_unstable_by_key(|e| e.0);
        here.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 |= next.1;
            }
            same
        });
        if schema.learned < learn {
            for &(h, types) in &here {
                if !schema.fields.contains_key(&h) {
                    if schema.fields.len() >= MAX_FIELDS_PER_TYPE {
                        continue;
                    }
                    schema.fields.insert(
                        h,
                        Field {
                            path: path_of(h),
                            ..Field::default()
                        },
                    );
                }
                let f = schema.fields.get_mut(&h).expect("inserted above");
                f.types |= types;
                f.present += 1;
            }
            schema.learned += 1;
            if schema.learned == learn {
                schema.required = schema
                    .fields
                    .iter()
                    .filter(|(_, f)| f.present == learn)
                    .map(|(h, _)| *h)
                    .collect();
            }
            return Vec::new();
        }
        // What this event shows, before anything costly: a change already
        // reported is skipped without building its path.
        let mut changes: Vec<(u64, Change, u8, Option<JsonType>)> = Vec::new();
        for &(h, types) in &here {
            match schema.fields.get(&h) {
                None => changes.push((h, Change::Added, 0, types_of(types).into_iter().next())),
                Some(f) if types & !f.types != 0 => {
                    for t in types_of(types & !f.types) {
                        changes.push((h, Change::TypeChanged, f.types, Some(t)));
                    }
                }
                Some(_) => {}
            }
        }
        for h in &schema.required {
            if here.binary_search_by_key(h, |e| e.0).is_err() {
                let learned = schema.fields.get(h).map_or(0, |f| f.types);
                changes.push((*h, Change::Removed, learned, None));
            }
        }
        let mut found = Vec::new();
        for (h, change, learned, now) in changes {
            // Once per field for added and removed, once per new type for
            // type changes.
            let mark = match change {
                Change::TypeChanged => now.map_or(0, bit),
                _ => 0,
            };
            if schema.reported.contains(&(h, change, mark)) {
                continue;
            }
            if schema.reported.len() >= MAX_CHANGES_PER_TYPE {
                schema.capped = true;
                continue;
            }
            schema.reported.insert((h, change, mark));
            let field = match schema.fields.get(&h) {
                Some(f) => f.path.clone(),
                None => path_of(h),
            };
            found.push(Drift {
                event_type: event_type.to_owned(),
                change,
                field,
                index,
                learned: types_of(learned),
                now,
            });
        }
        found.sort_by(|a, b| a.field.cmp(&b.field));
        schema.changes += found.len() as u64;
        for d in &found {
            if schema.history.len() == MAX_HISTORY_PER_TYPE {
                schema.history.pop_front();
            }
            schema.history.push_back(d.clone());
        }
        self.total += found.len() as u64;
        found
    }

    /// Changes reported so far, over all types.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Types beyond [`MAX_TYPES`], not tracked.
    pub fn untracked_types(&self) -> u64 {
        self.untracked_types
    }

    /// The newest changes of a type (up to [`MAX_HISTORY_PER_TYPE`], oldest
    /// first) and how many there were.
    pub fn history(&self, event_type: &str) -> (Vec<Drift>, u64) {
        self.types.get(event_type).map_or((Vec::new(), 0), |s| {
            (s.history.iter().cloned().collect(), s.changes)
        })
    }

    /// Types whose changes went past [`MAX_CHANGES_PER_TYPE`] and are no
    /// longer checked.
    pub fn capped_types(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .types
            .iter()
            .filter(|(_, s)| s.capped)
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }

    /// The learned fields of a type: (path, types), sorted by path.
    pub fn fields(&self, event_type: &str) -> Vec<(String, Vec<JsonType>)> {
        let mut out: Vec<(String, Vec<JsonType>)> = self
            .types
            .get(event_type)
            .map(|s| {
                s.fields
                    .values()
                    .map(|f| (f.path.clone(), types_of(f.types)))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Whether the type's schema is learned.
    pub fn is_learned(&self, event_type: &str) -> bool {
        self.types
            .get(event_type)
            .is_some_and(|s| s.learned >= self.learn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::json::{Pointers, scan};

    fn observe(s: &mut Schemas, ty: &str, payload: &str, index: u64) -> Vec<(Change, String)> {
        let shape = scan(payload.as_bytes(), &Pointers::default(), true).shape;
        s.observe(ty, &shape, payload.as_bytes(), index)
            .into_iter()
            .map(|d| (d.change, d.field))
            .collect()
    }

    #[test]
    fn learns_then_reports_each_change_once() {
        let mut s = Schemas::new(3);
        for i in 0..3 {
            let opt = if i == 1 { r#","note":"x""# } else { "" };
            assert!(
                observe(
                    &mut s,
                    "T",
                    &format!(r#"{{"id":"e{i}","total":1.5{opt}}}"#),
                    i
                )
                .is_empty()
            );
        }
        assert!(s.is_learned("T"));
        assert!(
            observe(&mut s, "T", r#"{"id":"e3","total":2}"#, 3).is_empty(),
            "note is optional"
        );
        let d = observe(&mut s, "T", r#"{"id":"e4","total":"2.00","extra":true}"#, 4);
        assert_eq!(
            d,
            vec![
                (Change::Added, "/extra".into()),
                (Change::TypeChanged, "/total".into())
            ]
        );
        assert!(
            observe(&mut s, "T", r#"{"id":"e5","total":"3","extra":false}"#, 5).is_empty(),
            "once"
        );
        let d = observe(&mut s, "T", r#"{"total":1}"#, 6);
        assert_eq!(d, vec![(Change::Removed, "/id".into())]);
        assert_eq!(s.total(), 3);
        let (history, n) = s.history("T");
        assert_eq!(n, 3);
        assert_eq!(history[0].index, 4);
        assert_eq!(
            history[1].describe(),
            "field /total changed type number → string"
        );
    }

    #[test]
    fn an_added_field_is_reported_once_whatever_its_types() {
        let mut s = Schemas::new(1);
        observe(&mut s, "T", r#"{"a":1}"#, 0);
        assert_eq!(observe(&mut s, "T", r#"{"a":1,"x":1}"#, 1).len(), 1);
        assert!(observe(&mut s, "T", r#"{"a":1,"x":"s"}"#, 2).is_empty());
        assert!(observe(&mut s, "T", r#"{"a":1,"x":null}"#, 3).is_empty());
    }

    #[test]
    fn data_in_object_keys_caps_the_type_instead_of_growing() {
        let mut s = Schemas::new(1);
        observe(&mut s, "T", r#"{"bal":{"acct-0":1}}"#, 0);
        for i in 1..2_000 {
            observe(&mut s, "T", &format!(r#"{{"bal":{{"acct-{i}":1}}}}"#), i);
        }
        assert_eq!(s.total(), MAX_CHANGES_PER_TYPE as u64);
        assert_eq!(s.capped_types(), vec!["T".to_owned()]);
        let (history, n) = s.history("T");
        assert_eq!(history.len(), MAX_HISTORY_PER_TYPE);
        assert_eq!(n, MAX_CHANGES_PER_TYPE as u64);
        // Event 1 removed acct-0 and added acct-1; each later event added one:
        // the 512th change came with event 511, the newest kept.
        assert_eq!(
            history.last().unwrap().index,
            MAX_CHANGES_PER_TYPE as u64 - 1,
            "the newest are kept"
        );
    }

    #[test]
    fn nested_fields_and_array_items() {
        let mut s = Schemas::new(1);
        observe(&mut s, "T", r#"{"data":{"items":[{"sku":"A"}]}}"#, 0);
        let d = observe(&mut s, "T", r#"{"data":{"items":[{"sku":1}]}}"#, 1);
        assert_eq!(d, vec![(Change::TypeChanged, "/data/items/*/sku".into())]);
        let fields: Vec<String> = s.fields("T").into_iter().map(|f| f.0).collect();
        assert_eq!(
            fields,
            ["/data", "/data/items", "/data/items/*", "/data/items/*/sku"]
        );
    }

    #[test]
    fn types_are_separate_and_bounded() {
        let mut s = Schemas::new(1);
        observe(&mut s, "A", r#"{"x":1}"#, 0);
        assert!(
            observe(&mut s, "B", r#"{"y":1}"#, 1).is_empty(),
            "B learns its own schema"
        );
        assert_eq!(observe(&mut s, "A", r#"{"x":1,"y":1}"#, 2).len(), 1);
    }
}
