//! NATS subject patterns: `*` matches one token, `>` matches one or more
//! trailing tokens. Used by filters, internal-traffic exclusion and config.

/// A parsed subject pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPattern {
    raw: String,
    tokens: Vec<String>,
}

impl SubjectPattern {
    /// Parses a pattern; fails on empty tokens or a `>` that is not last.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("a subject pattern cannot be empty".into());
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(format!(
                "'{raw}' is not a subject pattern: it contains white space"
            ));
        }
        let tokens: Vec<String> = raw.split('.').map(str::to_owned).collect();
        for (i, t) in tokens.iter().enumerate() {
            if t.is_empty() {
                return Err(format!("'{raw}' has an empty token"));
            }
            if t == ">" && i + 1 != tokens.len() {
                return Err(format!("'{raw}': '>' may only be the last token"));
            }
        }
        Ok(SubjectPattern {
            raw: raw.to_owned(),
            tokens,
        })
    }

    /// True when the pattern contains `*` or `>`.
    pub fn has_wildcard(&self) -> bool {
        self.tokens.iter().any(|t| t == "*" || t == ">")
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Does `subject` match this pattern?
    pub fn matches(&self, subject: &str) -> bool {
        let mut subj = subject.split('.');
        for pat in &self.tokens {
            match (pat.as_str(), subj.next()) {
                (">", Some(_)) => return true,
                (_, None) => return false,
                ("*", Some(_)) => {}
                (p, Some(s)) if p == s => {}
                _ => return false,
            }
        }
        subj.next().is_none()
    }
}

/// Subjects that carry NATS machinery rather than application events:
/// request inboxes, the JetStream API and acks, and system events.
pub const INTERNAL_PREFIXES: &[&str] = &["_INBOX.", "$JS.", "$SYS."];

/// True for `_INBOX.>`, `$JS.>` and `$SYS.>` traffic.
pub fn is_internal(subject: &str) -> bool {
    INTERNAL_PREFIXES.iter().any(|p| subject.starts_with(p))
}

/// True for internal subjects, and for JetStream deliveries to other
/// consumers: a subscription to `>` also matches their delivery inboxes,
/// where the message keeps its original subject but carries a `$JS.ACK.`
/// reply. They are copies of events already seen when they were published.
pub fn is_internal_message(subject: &str, reply: Option<&str>) -> bool {
    is_internal(subject)
        || reply.is_some_and(|r| r.starts_with("$JS.ACK.") || r.starts_with("$JS.FC."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        SubjectPattern::parse(p).unwrap().matches(s)
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m("orders.created", "orders.created"));
        assert!(!m("orders.created", "orders.created.x"));
        assert!(m("orders.*", "orders.created"));
        assert!(!m("orders.*", "orders"));
        assert!(!m("orders.*", "orders.a.b"));
        assert!(m("orders.>", "orders.a.b"));
        assert!(!m("orders.>", "orders"));
        assert!(m(">", "anything.at.all"));
        assert!(m("*.created", "payments.created"));
    }

    #[test]
    fn rejects_bad_patterns() {
        assert!(SubjectPattern::parse("a.>.b").is_err());
        assert!(SubjectPattern::parse("a..b").is_err());
        assert!(SubjectPattern::parse("").is_err());
        assert!(SubjectPattern::parse("a b").is_err());
    }

    #[test]
    fn internal_subjects() {
        assert!(is_internal("_INBOX.abc.def"));
        assert!(is_internal("$JS.API.STREAM.LIST"));
        assert!(is_internal("$SYS.ACCOUNT.x.CONNECT"));
        assert!(!is_internal("orders.created"));
        assert!(!is_internal("$KV.bucket.key"));
        assert!(is_internal_message(
            "orders.created",
            Some("$JS.ACK.S.C.1.2.3.4.5")
        ));
        assert!(!is_internal_message("orders.created", Some("_INBOX.reply")));
        assert!(!is_internal_message("orders.created", None));
    }
}
