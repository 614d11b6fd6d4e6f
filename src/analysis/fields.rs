//! Where an event's type, id, key, sequence, correlation and time come from:
//! ordered chains of sources, each a header (`header:NAME`, compared
//! case-insensitively) or a JSON Pointer into the payload (`/order/id`). The
//! first source that yields a scalar wins. Per-subject overrides replace
//! whole chains for matching subjects.
//!
//! This is the one place the chains are defined; `flowscope.toml` changes
//! them. The payload is read once for all chains (see [`super::json`]).

use super::json::{self, Pointers, Scalar};
use crate::envelope::Envelope;
use crate::subject::SubjectPattern;

/// One place a field value may be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSource {
    /// A message header, compared case-insensitively.
    Header(String),
    /// A JSON Pointer (RFC 6901) into the payload.
    Pointer(String),
}

impl FieldSource {
    /// Parses `header:NAME` or `/json/pointer`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        if let Some(name) = spec.strip_prefix("header:") {
            if name.is_empty() {
                return Err("'header:' needs a header name".into());
            }
            Ok(FieldSource::Header(name.to_owned()))
        } else if spec.starts_with('/') {
            Ok(FieldSource::Pointer(spec.to_owned()))
        } else {
            Err(format!(
                "'{spec}' is neither a JSON Pointer (starting with '/') nor 'header:NAME'"
            ))
        }
    }
}

/// An ordered list of sources; the first that yields a value wins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldChain(pub Vec<FieldSource>);

impl FieldChain {
    pub fn parse(specs: &[&str]) -> Result<Self, String> {
        specs
            .iter()
            .map(|s| FieldSource::parse(s))
            .collect::<Result<_, _>>()
            .map(FieldChain)
    }

    fn of(specs: &[&str]) -> Self {
        Self::parse(specs).expect("built-in chain is valid")
    }
}

/// The six chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSet {
    /// Event type; falls back to the last subject token.
    pub event_type: FieldChain,
    /// Event id, for duplicate detection.
    pub id: FieldChain,
    /// Entity/aggregate key; falls back to the subject.
    pub key: FieldChain,
    /// Per-key sequence number (an integer).
    pub sequence: FieldChain,
    /// Correlation (saga) id.
    pub correlation: FieldChain,
    /// When the event happened (RFC 3339, or epoch s/ms/µs/ns).
    pub time: FieldChain,
}

impl Default for FieldSet {
    fn default() -> Self {
        FieldSet {
            event_type: FieldChain::of(&["header:ce-type", "/type", "/event_type", "/eventType"]),
            id: FieldChain::of(&[
                "header:Nats-Msg-Id",
                "header:ce-id",
                "/id",
                "/event_id",
                "/eventId",
                "/message_id",
            ]),
            key: FieldChain::of(&["/aggregate_id", "/aggregateId", "/entity_id", "/key"]),
            sequence: FieldChain::of(&["/seq", "/sequence", "/version"]),
            correlation: FieldChain::of(&[
                "header:Correlation-Id",
                "/correlation_id",
                "/correlationId",
                "/saga_id",
            ]),
            time: FieldChain::of(&["header:ce-time", "/occurred_at", "/timestamp", "/time"]),
        }
    }
}

/// Chains used for subjects matching a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectFields {
    pub pattern: SubjectPattern,
    pub fields: FieldSet,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Header(usize),
    Slot(usize),
}

/// A field set with its pointers resolved to scan slots.
#[derive(Debug, Clone)]
struct Compiled {
    chains: [Vec<Source>; 6],
}

/// What the engine derives from one envelope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Described {
    pub event_type: String,
    pub key: String,
    /// Whether the key came from the payload (not the subject fallback).
    pub has_key: bool,
    pub id: Option<String>,
    pub sequence: Option<i64>,
    pub correlation: Option<String>,
    /// Event time from the payload or headers, ns since the epoch.
    pub time_ns: Option<i64>,
    pub is_json: bool,
    /// Fields at the top level of a JSON object payload.
    pub top_fields: usize,
    /// Values of the extractor's extra chains, in order.
    pub extra: Vec<Option<String>>,
    /// The payload's scan, kept for its buffers and its shape.
    scanned: json::Scanned,
}

impl Described {
    /// (path hash, type) of every field, when asked for.
    pub fn shape(&self) -> &[(u64, json::JsonType)] {
        &self.scanned.shape
    }
}

/// Reads fields from envelopes by the configured chains.
#[derive(Debug, Clone)]
pub struct Extractor {
    pointers: Pointers,
    headers: Vec<String>,
    global: Compiled,
    subjects: Vec<(SubjectPattern, Compiled)>,
    /// More chains read from every event (saga correlations).
    extra: Vec<Vec<Source>>,
}

impl Default for Extractor {
    fn default() -> Self {
        Extractor::new(&FieldSet::default(), &[])
    }
}

impl Extractor {
    pub fn new(global: &FieldSet, subjects: &[SubjectFields]) -> Self {
        Self::with_extra(global, subjects, &[])
    }

    /// An extractor that also reads `extra` chains into `Described::extra`.
    pub fn with_extra(global: &FieldSet, subjects: &[SubjectFields], extra: &[FieldChain]) -> Self {
        let mut pointers = Pointers::default();
        let mut headers: Vec<String> = Vec::new();
        let mut compile = |set: &FieldSet| {
            let mut chain = |c: &FieldChain| {
                c.0.iter()
                    .map(|s| match s {
                        FieldSource::Pointer(p) => Source::Slot(pointers.add(p)),
                        FieldSource::Header(h) => {
                            let i = headers
                                .iter()
                                .position(|x| x.eq_ignore_ascii_case(h))
                                .unwrap_or_else(|| {
                                    headers.push(h.clone());
                                    headers.len() - 1
                                });
                            Source::Header(i)
                        }
                    })
                    .collect::<Vec<_>>()
            };
            Compiled {
                chains: [
                    chain(&set.event_type),
                    chain(&set.id),
                    chain(&set.key),
                    chain(&set.sequence),
                    chain(&set.correlation),
                    chain(&set.time),
                ],
            }
        };
        let global_c = compile(global);
        let subjects = subjects
            .iter()
            .map(|s| (s.pattern.clone(), compile(&s.fields)))
            .collect();
        let extra = extra
            .iter()
            .map(|c| {
                let set = FieldSet {
                    correlation: c.clone(),
                    ..FieldSet::default()
                };
                let [_, _, _, _, chain, _] = compile(&set).chains;
                chain
            })
            .collect();
        Extractor {
            pointers,
            headers,
            global: global_c,
            subjects,
            extra,
        }
    }

    /// Describes an envelope; `want_shape` also records the payload's shape.
    pub fn describe(&self, env: &Envelope, want_shape: bool) -> Described {
        let mut d = Described::default();
        self.describe_into(env, want_shape, &mut d);
        d
    }

    /// [`Extractor::describe`] into `d`, reusing its buffers (the engine
    /// keeps one, so describing allocates nothing once they have grown).
    pub fn describe_into(&self, env: &Envelope, want_shape: bool, d: &mut Described) {
        let scanned = &mut d.scanned;
        json::scan_into(&env.payload, &self.pointers, want_shape, scanned);
        let scanned = &d.scanned;
        let compiled = if self.subjects.is_empty() {
            &self.global
        } else {
            self.subjects
                .iter()
                .find(|(p, _)| p.matches(&env.subject))
                .map_or(&self.global, |(_, c)| c)
        };
        let pick_in = |chain: &[Source]| -> Option<Scalar<'_>> {
            chain.iter().find_map(|s| match *s {
                Source::Slot(i) => scanned.value(&env.payload, i),
                Source::Header(i) if !env.headers.is_empty() => {
                    env.header(&self.headers[i]).map(Scalar::Str)
                }
                Source::Header(_) => None,
            })
        };
        let pick = |chain: usize| pick_in(&compiled.chains[chain]);
        let put = |dst: &mut Option<String>, v: Option<Scalar<'_>>| match v {
            Some(v) => {
                let mut buf = dst.take().unwrap_or_default();
                buf.clear();
                v.write_text(&mut buf);
                *dst = Some(buf);
            }
            None => *dst = None,
        };
        d.event_type.clear();
        match pick(0) {
            Some(v) => v.write_text(&mut d.event_type),
            None => d.event_type.push_str(last_token(&env.subject)),
        }
        d.key.clear();
        let key = pick(2);
        d.has_key = key.is_some();
        match key {
            Some(v) => v.write_text(&mut d.key),
            None => d.key.push_str(&env.subject),
        }
        put(&mut d.id, pick(1));
        d.sequence = pick(3).and_then(|v| v.int());
        put(&mut d.correlation, pick(4));
        d.time_ns = pick(5).and_then(|v| parse_time(&v));
        d.extra.resize(self.extra.len(), None);
        for (dst, chain) in d.extra.iter_mut().zip(&self.extra) {
            put(dst, pick_in(chain));
        }
        d.is_json = scanned.is_json;
        d.top_fields = scanned.top_fields;
    }
}

/// Reads an event time: RFC 3339 text, or a number of seconds, ms, µs or
/// ns since the epoch (told apart by size).
pub fn parse_time(v: &Scalar<'_>) -> Option<i64> {
    let from_number = |n: f64| -> Option<i64> {
        let a = n.abs();
        let ns = if a < 1e11 {
            n * 1e9
        } else if a < 1e14 {
            n * 1e6
        } else if a < 1e17 {
            n * 1e3
        } else {
            n
        };
        (ns.is_finite() && ns.abs() < 9.2e18).then_some(ns as i64)
    };
    match v {
        Scalar::Str(s) => chrono::DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .or_else(|| s.trim().parse::<f64>().ok().and_then(from_number)),
        Scalar::Int(i) => from_number(*i as f64),
        Scalar::Float(f) => from_number(*f),
        Scalar::Bool(_) => None,
    }
}

/// Parses a payload as a JSON value when it is a JSON object or array (for
/// the detail pane).
pub fn parse_json(payload: &[u8]) -> Option<serde_json::Value> {
    if !json::looks_like_json(payload) {
        return None;
    }
    serde_json::from_slice(payload).ok()
}

fn last_token(subject: &str) -> &str {
    subject.rsplit('.').next().unwrap_or(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(subject: &str, payload: &str) -> Envelope {
        Envelope::new(0, subject, payload.to_owned())
    }

    fn describe(e: &Envelope) -> Described {
        Extractor::default().describe(e, false)
    }

    #[test]
    fn header_wins_over_payload() {
        let e =
            env("orders.created", r#"{"type":"FromBody"}"#).with_header("CE-Type", "FromHeader");
        assert_eq!(describe(&e).event_type, "FromHeader");
    }

    #[test]
    fn payload_chain_order() {
        let d = describe(&env("a.b", r#"{"eventType":"C","event_type":"B"}"#));
        assert_eq!(d.event_type, "B");
        let d = describe(&env("a.b", r#"{"aggregateId":7,"key":"k"}"#));
        assert_eq!(d.key, "7");
        assert!(d.has_key);
    }

    #[test]
    fn all_six_fields() {
        let e = env(
            "orders.created",
            r#"{"id":"e-1","type":"OrderCreated","aggregate_id":"o-1","seq":"3","correlation_id":"s-1","occurred_at":"2026-11-23T09:00:00.5Z"}"#,
        );
        let d = describe(&e);
        assert_eq!(d.id.as_deref(), Some("e-1"));
        assert_eq!(d.sequence, Some(3), "numeric strings are sequences too");
        assert_eq!(d.correlation.as_deref(), Some("s-1"));
        assert_eq!(d.time_ns, Some(1_795_424_400_500_000_000));
        let e = e.with_header("Nats-Msg-Id", "hdr-id");
        assert_eq!(describe(&e).id.as_deref(), Some("hdr-id"));
    }

    #[test]
    fn fallbacks_use_the_subject() {
        let d = describe(&env("payments.failed", "not json"));
        assert_eq!(d.event_type, "failed");
        assert_eq!(d.key, "payments.failed");
        assert!(!d.has_key && !d.is_json);
        assert_eq!((d.id, d.sequence), (None, None));
    }

    #[test]
    fn subject_overrides_replace_chains() {
        let fields = FieldSet {
            key: FieldChain::parse(&["/payment_id"]).unwrap(),
            ..FieldSet::default()
        };
        let ex = Extractor::new(
            &FieldSet::default(),
            &[SubjectFields {
                pattern: SubjectPattern::parse("payments.>").unwrap(),
                fields,
            }],
        );
        let p = r#"{"aggregate_id":"o-1","payment_id":"p-9"}"#;
        assert_eq!(ex.describe(&env("payments.failed", p), false).key, "p-9");
        assert_eq!(ex.describe(&env("orders.created", p), false).key, "o-1");
    }

    #[test]
    fn times_in_every_unit() {
        let want = 1_795_424_400_000_000_000;
        for v in [
            Scalar::Int(1_795_424_400),
            Scalar::Int(1_795_424_400_000),
            Scalar::Int(1_795_424_400_000_000),
            Scalar::Int(want),
            Scalar::Str("2026-11-23T09:00:00+00:00"),
            Scalar::Str("1795424400000"),
        ] {
            assert_eq!(parse_time(&v), Some(want), "{v:?}");
        }
        assert_eq!(parse_time(&Scalar::Str("yesterday")), None);
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(FieldSource::parse("type").is_err());
        assert!(FieldSource::parse("header:").is_err());
        assert_eq!(
            FieldSource::parse("header:X").unwrap(),
            FieldSource::Header("X".into())
        );
    }
}
