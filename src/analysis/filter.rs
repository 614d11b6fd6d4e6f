//! The event filter typed after `/`.
//!
//! - A subject pattern with a wildcard (`orders.*`, `payments.>`) matches
//!   subjects the NATS way.
//! - Anything else is free text, matched case-insensitively in the subject,
//!   the event type and the payload.
//! - `subject:PATTERN` matches subjects exactly or by pattern
//!   (`subject:orders.created`).
//! - `subtree:PREFIX` matches a subject and every subject below it
//!   (`subtree:orders` matches `orders` and `orders.created`).
//! - `type:NAME` matches events of that type exactly.
//! - `text:TEXT` is always free text, even with `*` or `>` in it.
//! - A leading `!` inverts the filter (`!orders.>` hides the order events).

use regex::bytes::{Regex, RegexBuilder};

use super::store::StoredEvent;
use crate::subject::SubjectPattern;

#[derive(Debug, Clone)]
enum Matcher {
    Subject(SubjectPattern),
    Subtree(String),
    Type(String),
    Text(Regex),
}

fn text_matcher(text: &str) -> Result<Matcher, String> {
    RegexBuilder::new(&regex::escape(text))
        .case_insensitive(true)
        .build()
        .map(Matcher::Text)
        .map_err(|e| e.to_string())
}

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    spec: String,
    negate: bool,
    matcher: Matcher,
}

impl Filter {
    /// Parses what the user typed. Errors are shown in the filter line.
    pub fn parse(spec: &str) -> Result<Filter, String> {
        let trimmed = spec.trim();
        let (negate, body) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, trimmed),
        };
        if body.is_empty() {
            return Err("the filter is empty".into());
        }
        let matcher = if let Some(pattern) = body.strip_prefix("subject:") {
            Matcher::Subject(SubjectPattern::parse(pattern.trim())?)
        } else if let Some(prefix) = body.strip_prefix("subtree:") {
            let prefix = prefix.trim().trim_end_matches('.');
            SubjectPattern::parse(prefix)?;
            Matcher::Subtree(prefix.to_owned())
        } else if let Some(name) = body.strip_prefix("type:") {
            if name.trim().is_empty() {
                return Err("type: needs an event type".into());
            }
            Matcher::Type(name.trim().to_owned())
        } else if let Some(text) = body.strip_prefix("text:") {
            if text.is_empty() {
                return Err("text: needs something to search for".into());
            }
            text_matcher(text)?
        } else {
            match SubjectPattern::parse(body) {
                Ok(p) if p.has_wildcard() => Matcher::Subject(p),
                _ if body.contains('*') || body.contains('>') => {
                    // Looks like a pattern but is not a valid one: say why.
                    let why = SubjectPattern::parse(body)
                        .err()
                        .unwrap_or_else(|| format!("'{body}' is not a valid subject pattern"));
                    return Err(format!("{why} (to search it as text, type text:{body})"));
                }
                _ => text_matcher(body)?,
            }
        };
        Ok(Filter {
            spec: trimmed.to_owned(),
            negate,
            matcher,
        })
    }

    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Does the event pass the filter?
    pub fn matches(&self, ev: &StoredEvent) -> bool {
        self.test(&ev.env.subject, &ev.event_type, &ev.env.payload)
    }

    /// Does an event with this subject, type and key pass? Its payload is
    /// unknown, so text is looked for in those three.
    pub fn matches_meta(&self, subject: &str, event_type: &str, key: &str) -> bool {
        self.test(subject, event_type, key.as_bytes())
    }

    fn test(&self, subject: &str, event_type: &str, payload: &[u8]) -> bool {
        let hit = match &self.matcher {
            Matcher::Subject(p) => p.matches(subject),
            Matcher::Subtree(prefix) => subject
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.')),
            Matcher::Type(name) => event_type == name,
            Matcher::Text(re) => {
                re.is_match(subject.as_bytes())
                    || re.is_match(event_type.as_bytes())
                    || re.is_match(payload)
            }
        };
        hit != self.negate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Envelope;

    fn ev(subject: &str, ty: &str, payload: &str) -> StoredEvent {
        StoredEvent::for_test(Envelope::new(0, subject, payload.to_owned()), ty)
    }

    #[test]
    fn wildcard_is_a_subject_pattern() {
        let f = Filter::parse("orders.*").unwrap();
        assert!(f.matches(&ev("orders.created", "OrderCreated", "{}")));
        assert!(!f.matches(&ev("payments.failed", "x", "orders.created in payload")));
    }

    #[test]
    fn text_matches_subject_type_and_payload_ignoring_case() {
        let f = Filter::parse("paymentfailed").unwrap();
        assert!(f.matches(&ev("payments.failed", "PaymentFailed", "{}")));
        let f = Filter::parse("ord-42").unwrap();
        assert!(f.matches(&ev("x", "y", r#"{"order":"ORD-42"}"#)));
        assert!(!f.matches(&ev("x", "y", r#"{"order":"ord-43"}"#)));
    }

    #[test]
    fn explicit_subject_prefix_matches_exactly() {
        let f = Filter::parse("subject:orders.created").unwrap();
        assert!(f.matches(&ev("orders.created", "", "")));
        assert!(!f.matches(&ev("orders.created.v2", "", "")));
        assert!(!f.matches(&ev("x", "", "orders.created")));
        assert!(Filter::parse("subject:").is_err());
    }

    #[test]
    fn subtree_includes_the_subject_itself() {
        let f = Filter::parse("subtree:orders").unwrap();
        assert!(f.matches(&ev("orders", "", "")));
        assert!(f.matches(&ev("orders.created", "", "")));
        assert!(!f.matches(&ev("ordersx", "", "")));
        assert!(!f.matches(&ev("payments.orders", "", "")));
        assert!(Filter::parse("subtree:a..b").is_err());
    }

    #[test]
    fn text_prefix_searches_wildcard_characters() {
        let err = Filter::parse("x > 5").unwrap_err();
        assert!(err.contains("text:x > 5"), "{err}");
        let f = Filter::parse("text:x > 5").unwrap();
        assert!(f.matches(&ev("a", "b", r#"{"rule":"x > 5"}"#)));
        assert!(!f.matches(&ev("a", "b", r#"{"rule":"x < 5"}"#)));
        assert!(Filter::parse("text:").is_err());
    }

    #[test]
    fn type_matches_exactly() {
        let f = Filter::parse("type:OrderCreated").unwrap();
        assert!(f.matches(&ev("x", "OrderCreated", "")));
        assert!(!f.matches(&ev("x", "OrderCreatedV2", "")));
        assert!(f.matches_meta("y", "OrderCreated", "k"));
        assert!(Filter::parse("type: ").is_err());
    }

    #[test]
    fn negation() {
        let f = Filter::parse("!payments.>").unwrap();
        assert!(f.matches(&ev("orders.created", "", "")));
        assert!(!f.matches(&ev("payments.failed", "", "")));
    }

    #[test]
    fn invalid_patterns_and_empty_filters_are_errors() {
        assert!(Filter::parse("orders.>.x").is_err());
        assert!(Filter::parse("  ").is_err());
        assert!(Filter::parse("!").is_err());
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        let f = Filter::parse("a+b").unwrap();
        assert!(f.matches(&ev("x", "y", "a+b")));
        assert!(!f.matches(&ev("x", "y", "aab")));
    }
}
