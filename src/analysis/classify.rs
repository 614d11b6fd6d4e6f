//! Event kinds: what each event type is, in the seed documents' terms, judged
//! from its name, its payload shape and how it travels.
//!
//! Rules, in order (see the README for examples):
//! 1. a kind set in `[kinds]` of flowscope.toml wins;
//! 2. `command`: an imperative name (`CreateOrder`, `process-payment`: the
//!    first word is a verb and no word is past tense), or a request: most of
//!    its messages carry a reply subject (not a JetStream ack);
//! 3. non-JSON payloads are `unknown`;
//! 4. `notification`: no data besides ids, links and metadata;
//! 5. `state_transfer`: carries entity state: 8 or more data fields, a nested
//!    state object (`state`, `snapshot`, `entity`, `after`, `current`, …)
//!    with 3 or more fields, or a `…Changed`/`…Updated` name with data;
//! 6. `domain`: a past-tense name with its own data;
//! 7. otherwise `unknown`.
//!
//! Metadata fields (`id`, `type`, `time`, `seq`, `correlation_id`, …) are
//! not data. A field is an id or link when its name ends in `id`, `ref`,
//! `url`, `uri`, `href` or `link`.
//!
//! A *passive-aggressive command* is flagged when an event-named type is
//! consistently answered (80% of 5 or more messages sent with a reply got
//! one), or a command-named type is only ever published fire-and-forget.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::json::JsonType;

/// What an event type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Notification,
    StateTransfer,
    Domain,
    Command,
    Unknown,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Notification => "notification",
            Kind::StateTransfer => "state transfer",
            Kind::Domain => "domain event",
            Kind::Command => "command",
            Kind::Unknown => "unknown",
        }
    }

    /// The kind after "is": `a domain event`, `of unknown kind`.
    pub fn with_article(self) -> &'static str {
        match self {
            Kind::Notification => "a notification",
            Kind::StateTransfer => "a state transfer",
            Kind::Domain => "a domain event",
            Kind::Command => "a command",
            Kind::Unknown => "of unknown kind",
        }
    }
}

/// Field names that describe the message, not the business data.
/// Compared as snake_case words, so `correlationId` is `correlation_id`.
const METADATA: &[&str] = &[
    "id",
    "type",
    "event_type",
    "time",
    "timestamp",
    "occurred_at",
    "created_at",
    "seq",
    "sequence",
    "version",
    "correlation_id",
    "causation_id",
    "saga_id",
    "source",
    "specversion",
    "datacontenttype",
    "dataschema",
    "subject",
    "event_id",
    "message_id",
];

fn is_metadata(segment: &str) -> bool {
    METADATA.contains(&words(segment).join("_").as_str())
}

/// Names of nested objects that carry entity state.
const STATE_OBJECTS: &[&str] = &[
    "state",
    "snapshot",
    "entity",
    "after",
    "current",
    "new_state",
    "newstate",
    "document",
    "record",
];

/// Verbs that start an imperative (command) name.
const VERBS: &[&str] = &[
    "create",
    "update",
    "delete",
    "remove",
    "add",
    "set",
    "process",
    "reserve",
    "release",
    "cancel",
    "ship",
    "send",
    "charge",
    "refund",
    "approve",
    "reject",
    "register",
    "submit",
    "place",
    "start",
    "stop",
    "complete",
    "notify",
    "request",
    "execute",
    "validate",
    "assign",
    "book",
    "confirm",
    "pay",
    "issue",
    "close",
    "open",
    "activate",
    "deactivate",
    "schedule",
    "generate",
    "calculate",
    "get",
    "fetch",
    "apply",
    "transfer",
    "withdraw",
    "deposit",
    "publish",
    "sync",
    "import",
    "export",
    "upload",
    "reset",
    "change",
    "mark",
    "handle",
    "run",
    "trigger",
    "authorize",
    "capture",
    "dispatch",
    "allocate",
    "enable",
    "disable",
    "verify",
    "check",
    "compute",
    "retry",
    "invoice",
    "bill",
    "archive",
    "restore",
    "login",
    "logout",
    "subscribe",
    "unsubscribe",
    "do",
];

/// Past tenses that do not end in "ed".
const IRREGULAR_PAST: &[&str] = &[
    "sent", "paid", "made", "done", "built", "held", "lost", "sold", "won", "taken", "given",
    "written", "begun", "chosen", "found", "kept", "left", "met", "bought", "brought", "caught",
    "thought", "told", "spent", "split", "read", "set", "shut", "put", "run", "gone", "seen",
];

/// Splits `OrderCreated`, `order_created`, `order-created`, `order.created`
/// into lowercase words.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_past(word: &str) -> bool {
    (word.len() > 3 && word.ends_with("ed")) || IRREGULAR_PAST.contains(&word)
}

/// The grammar of a type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Event,
    Command,
    Neutral,
}

pub fn naming(name: &str) -> Naming {
    let w = words(name);
    if w.iter().any(|x| is_past(x) && !VERBS.contains(&x.as_str()))
        || w.last().is_some_and(|x| is_past(x))
    {
        Naming::Event
    } else if w.first().is_some_and(|x| VERBS.contains(&x.as_str())) {
        Naming::Command
    } else {
        Naming::Neutral
    }
}

/// What is known about one event type.
#[derive(Debug, Clone, Default)]
pub struct TypeStats {
    pub events: u64,
    pub bytes: u64,
    pub max_size: u64,
    pub json: u64,
    /// Messages with a reply subject other than a JetStream ack.
    pub with_reply: u64,
    /// Of those, how many got an answer flowscope saw.
    pub answered: u64,
    /// Most top-level fields seen in one event.
    pub max_top_fields: usize,
}

/// A type's kind, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub kind: Kind,
    pub reason: String,
    /// Set when the type is a passive-aggressive command, with why.
    pub passive_aggressive: Option<String>,
}

fn fields_word(n: usize) -> String {
    crate::format::plural(n as u64, "field")
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').find(|s| *s != "*").unwrap_or(path)
}

fn is_id_like(path: &str) -> bool {
    let w = words(last_segment(path));
    w.last().is_some_and(|x| {
        ["id", "ids", "ref", "url", "uri", "href", "link", "links"].contains(&x.as_str())
    })
}

/// Classifies a type from its name, stats and learned fields.
pub fn classify(
    name: &str,
    stats: &TypeStats,
    fields: &[(String, Vec<JsonType>)],
    overrides: &HashMap<String, Kind>,
) -> Verdict {
    let naming = naming(name);
    let passive_aggressive = match naming {
        Naming::Event if stats.with_reply >= 5 && stats.answered * 5 >= stats.with_reply * 4 => {
            Some(format!(
                "named as an event but answered like a request ({} of {} answered)",
                stats.answered, stats.with_reply
            ))
        }
        Naming::Command if stats.events >= 5 && stats.with_reply == 0 => {
            Some("named as a command but published fire-and-forget, like an event".into())
        }
        _ => None,
    };
    let verdict = |kind: Kind, reason: String| Verdict {
        kind,
        reason,
        passive_aggressive: passive_aggressive.clone(),
    };
    if let Some(&k) = overrides.get(name) {
        return verdict(k, "set in flowscope.toml [kinds]".into());
    }
    if naming == Naming::Command {
        return verdict(Kind::Command, "imperative name".into());
    }
    let requests = stats.events > 0 && stats.with_reply * 2 > stats.events;
    if requests {
        return verdict(
            Kind::Command,
            "sent as a request (with a reply subject)".into(),
        );
    }
    if stats.json == 0 {
        return verdict(Kind::Unknown, "payload is not JSON".into());
    }
    // Leaves that are data: not metadata at the top level, not containers.
    let data: Vec<&str> = fields
        .iter()
        .filter(|(_, types)| {
            types
                .iter()
                .any(|t| !matches!(t, JsonType::Object | JsonType::Array))
        })
        .map(|(p, _)| p.as_str())
        .filter(|p| !(p.matches('/').count() == 1 && is_metadata(last_segment(p))))
        .collect();
    let non_id = data.iter().filter(|p| !is_id_like(p)).count();
    let state_object = fields.iter().any(|(p, types)| {
        types.contains(&JsonType::Object)
            && STATE_OBJECTS.contains(&last_segment(p).to_ascii_lowercase().as_str())
            && data
                .iter()
                .filter(|d| d.starts_with(&format!("{p}/")))
                .count()
                >= 3
    });
    let changed_name = words(name).last().is_some_and(|w| {
        [
            "changed", "updated", "upserted", "synced", "snapshot", "state",
        ]
        .contains(&w.as_str())
    });
    if non_id == 0 {
        return verdict(
            Kind::Notification,
            format!("only ids and links ({})", fields_word(data.len())),
        );
    }
    if non_id >= 8 {
        return verdict(
            Kind::StateTransfer,
            format!("carries entity state ({} of data)", fields_word(non_id)),
        );
    }
    if state_object {
        return verdict(Kind::StateTransfer, "carries a nested state object".into());
    }
    if changed_name {
        return verdict(
            Kind::StateTransfer,
            "a changed/updated name with the new values".into(),
        );
    }
    if naming == Naming::Event {
        return verdict(
            Kind::Domain,
            format!(
                "past-tense name with its own data ({})",
                fields_word(non_id)
            ),
        );
    }
    verdict(Kind::Unknown, "neither an event nor a command name".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(paths: &[&str]) -> Vec<(String, Vec<JsonType>)> {
        paths
            .iter()
            .map(|p| {
                let t = if p.ends_with("/data") || p.ends_with("/state") || p.ends_with("/payload")
                {
                    JsonType::Object
                } else {
                    JsonType::String
                };
                (p.to_string(), vec![t])
            })
            .collect()
    }

    fn json_stats() -> TypeStats {
        TypeStats {
            events: 10,
            json: 10,
            ..TypeStats::default()
        }
    }

    fn kind(name: &str, paths: &[&str]) -> Kind {
        classify(name, &json_stats(), &f(paths), &HashMap::new()).kind
    }

    #[test]
    fn words_and_naming() {
        assert_eq!(words("OrderCreated"), ["order", "created"]);
        assert_eq!(
            words("personal-details-changed"),
            ["personal", "details", "changed"]
        );
        assert_eq!(words("HTTPRequestSent"), ["httprequest", "sent"]);
        assert_eq!(naming("OrderCreated"), Naming::Event);
        assert_eq!(naming("PaymentPaid"), Naming::Event);
        assert_eq!(naming("CreateOrder"), Naming::Command);
        assert_eq!(naming("process_payment"), Naming::Command);
        assert_eq!(naming("married"), Naming::Event);
        assert_eq!(naming("OrderSnapshot"), Naming::Neutral);
    }

    #[test]
    fn the_seed_documents_examples() {
        // marriage-recorded: an id and a link.
        assert_eq!(
            kind(
                "marriage-recorded",
                &["/type", "/person_id", "/payload", "/payload/link"]
            ),
            Kind::Notification
        );
        // PaymentReceived { PaymentID }.
        assert_eq!(kind("PaymentReceived", &["/PaymentID"]), Kind::Notification);
        // personal-details-changed with the new value.
        assert_eq!(
            kind(
                "personal-details-changed",
                &["/type", "/person_id", "/payload", "/payload/new_last_name"]
            ),
            Kind::StateTransfer
        );
        // married: a business fact with its own data.
        assert_eq!(
            kind(
                "married",
                &[
                    "/type",
                    "/person_id",
                    "/payload",
                    "/payload/assumed_partner_last_name"
                ]
            ),
            Kind::Domain
        );
        assert_eq!(kind("CreateOrder", &["/customer"]), Kind::Command);
    }

    #[test]
    fn state_transfer_by_size_or_state_object() {
        let many: Vec<String> = (0..9).map(|i| format!("/f{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(kind("CustomerSynced", &many), Kind::StateTransfer);
        assert_eq!(
            kind(
                "OrderShipped",
                &["/state", "/state/a", "/state/b", "/state/c"]
            ),
            Kind::StateTransfer
        );
        assert_eq!(
            kind("OrderShipped", &["/id", "/type", "/data", "/data/carrier"]),
            Kind::Domain
        );
    }

    #[test]
    fn requests_are_commands_and_overrides_win() {
        let stats = TypeStats {
            with_reply: 8,
            ..json_stats()
        };
        assert_eq!(
            classify("quote", &stats, &f(&["/x"]), &HashMap::new()).kind,
            Kind::Command
        );
        let overrides = HashMap::from([("quote".to_owned(), Kind::Domain)]);
        assert_eq!(
            classify("quote", &stats, &f(&["/x"]), &overrides).kind,
            Kind::Domain
        );
        let not_json = TypeStats {
            events: 3,
            ..TypeStats::default()
        };
        assert_eq!(
            classify("Blob", &not_json, &[], &HashMap::new()).kind,
            Kind::Unknown
        );
    }

    #[test]
    fn passive_aggressive_commands() {
        let answered = TypeStats {
            with_reply: 10,
            answered: 9,
            ..json_stats()
        };
        let v = classify("OrderCreated", &answered, &f(&["/x"]), &HashMap::new());
        assert!(
            v.passive_aggressive
                .unwrap()
                .contains("answered like a request")
        );
        let v = classify(
            "ReserveInventory",
            &json_stats(),
            &f(&["/x"]),
            &HashMap::new(),
        );
        assert_eq!(v.kind, Kind::Command);
        assert!(v.passive_aggressive.unwrap().contains("fire-and-forget"));
        let rpc = TypeStats {
            with_reply: 10,
            answered: 10,
            ..json_stats()
        };
        assert_eq!(
            classify("ReserveInventory", &rpc, &f(&["/x"]), &HashMap::new()).passive_aggressive,
            None
        );
    }
}
