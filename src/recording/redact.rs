//! `--redact`: values replaced before anything is written. A spec is a JSON
//! Pointer into the payload (`/card/number`) or a header (`header:NAME`,
//! case-insensitive). A redacted JSON payload is written compact (its field
//! order kept); payloads that are not JSON are written as they are.

use bytes::Bytes;
use serde_json::Value;

use crate::analysis::fields::FieldSource;
use crate::envelope::Envelope;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The redaction rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    pointers: Vec<String>,
    headers: Vec<String>,
    specs: Vec<String>,
}

impl Redactor {
    /// Parses `--redact` specs.
    pub fn new(specs: &[String]) -> Result<Self, String> {
        let mut r = Redactor::default();
        for spec in specs {
            match FieldSource::parse(spec).map_err(|e| format!("--redact {e}"))? {
                FieldSource::Header(h) => r.headers.push(h),
                FieldSource::Pointer(p) => r.pointers.push(p),
            }
            r.specs.push(spec.clone());
        }
        Ok(r)
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The specs, for the recording's header.
    pub fn specs(&self) -> &[String] {
        &self.specs
    }

    /// The envelope with redacted values replaced (a copy only if needed).
    pub fn apply<'a>(&self, env: &'a Envelope) -> std::borrow::Cow<'a, Envelope> {
        let header_hit = env
            .headers
            .iter()
            .any(|(k, _)| self.headers.iter().any(|h| h.eq_ignore_ascii_case(k)));
        let payload = self.redact_payload(&env.payload);
        if !header_hit && payload.is_none() {
            return std::borrow::Cow::Borrowed(env);
        }
        let mut out = env.clone();
        for (k, v) in &mut out.headers {
            if self.headers.iter().any(|h| h.eq_ignore_ascii_case(k)) {
                *v = REDACTED.into();
            }
        }
        if let Some(p) = payload {
            out.payload = p;
        }
        std::borrow::Cow::Owned(out)
    }

    fn redact_payload(&self, payload: &[u8]) -> Option<Bytes> {
        if self.pointers.is_empty() {
            return None;
        }
        let mut v: Value = crate::analysis::fields::parse_json(payload)?;
        let mut hit = false;
        for p in &self.pointers {
            if let Some(slot) = v.pointer_mut(p) {
                *slot = Value::String(REDACTED.into());
                hit = true;
            }
        }
        hit.then(|| Bytes::from(serde_json::to_vec(&v).expect("JSON values serialize")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_and_headers_are_replaced_and_nothing_else() {
        let r = Redactor::new(&["/card/number".into(), "header:Authorization".into()]).unwrap();
        let env = Envelope::new(
            0,
            "pay",
            r#"{"card":{"number":"4111 1111","exp":"12/30"},"amount":5}"#,
        )
        .with_header("authorization", "Bearer s3cret")
        .with_header("X-Other", "keep");
        let out = r.apply(&env);
        let text = String::from_utf8(out.payload.to_vec()).unwrap();
        assert_eq!(
            text,
            r#"{"card":{"number":"[REDACTED]","exp":"12/30"},"amount":5}"#
        );
        assert_eq!(out.header("Authorization"), Some(REDACTED));
        assert_eq!(out.header("X-Other"), Some("keep"));
        assert!(!format!("{:?}", out).contains("s3cret"));
    }

    #[test]
    fn untouched_events_are_not_copied_and_bad_specs_are_errors() {
        let r = Redactor::new(&["/secret".into()]).unwrap();
        let env = Envelope::new(0, "s", r#"{"public":1}"#);
        assert!(matches!(r.apply(&env), std::borrow::Cow::Borrowed(_)));
        let binary = Envelope::new(0, "s", vec![0u8, 1]);
        assert!(matches!(r.apply(&binary), std::borrow::Cow::Borrowed(_)));
        assert!(
            Redactor::new(&["secret".into()])
                .unwrap_err()
                .starts_with("--redact")
        );
    }
}
