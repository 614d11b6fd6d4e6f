//! The effective analysis settings as a document in flowscope.toml's shape
//! (sections, keys and value forms), so that a recording can carry the
//! settings its session ran with and a replay can read them back through
//! the same checks as a config file.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{ConfigFile, build};
use crate::analysis::AnalysisConfig;
use crate::analysis::fields::{FieldChain, FieldSet, FieldSource};
use crate::error::UserError;

fn chain(c: &FieldChain) -> Value {
    c.0.iter()
        .map(|s| match s {
            FieldSource::Header(name) => format!("header:{name}"),
            FieldSource::Pointer(p) => p.clone(),
        })
        .collect()
}

fn span(d: Duration) -> Value {
    Value::String(humantime::format_duration(d).to_string())
}

fn fields(f: &FieldSet, into: &mut Map<String, Value>) {
    for (key, c) in [
        ("type", &f.event_type),
        ("id", &f.id),
        ("key", &f.key),
        ("sequence", &f.sequence),
        ("correlation", &f.correlation),
        ("time", &f.time),
    ] {
        into.insert(key.into(), chain(c));
    }
}

/// The settings as a flowscope.toml document (JSON, same shape).
pub fn document(cfg: &AnalysisConfig) -> Value {
    let mut global = Map::new();
    fields(&cfg.fields, &mut global);
    let subjects: Vec<Value> = cfg
        .subjects
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("match".into(), s.pattern.as_str().into());
            fields(&s.fields, &mut m);
            Value::Object(m)
        })
        .collect();
    let sagas: Vec<Value> = cfg
        .sagas
        .iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("name".into(), d.name.clone().into());
            if let Some(c) = &d.correlation {
                m.insert("correlation".into(), chain(c));
            }
            m.insert("steps".into(), json!(d.steps));
            m.insert("failure".into(), json!(d.failure));
            m.insert("compensation".into(), json!(d.compensation));
            m.insert("timeout".into(), span(d.timeout));
            let step_timeouts: Map<String, Value> = d
                .steps
                .iter()
                .zip(&d.step_timeouts)
                .filter_map(|(s, t)| t.map(|t| (s.clone(), span(t))))
                .collect();
            m.insert("step_timeouts".into(), Value::Object(step_timeouts));
            m.insert(
                "subjects".into(),
                d.subjects.iter().map(|p| p.as_str()).collect(),
            );
            Value::Object(m)
        })
        .collect();
    let lag_consumers: Vec<Value> = cfg
        .lag
        .overrides
        .iter()
        .map(|o| {
            let mut m = Map::new();
            m.insert("stream".into(), o.stream.clone().into());
            if let Some(c) = &o.consumer {
                m.insert("consumer".into(), c.clone().into());
            }
            if let Some(w) = o.window {
                m.insert("window".into(), w.into());
            }
            if let Some(a) = o.allowed_lag {
                m.insert("allowed_lag".into(), a.into());
            }
            Value::Object(m)
        })
        .collect();
    let inference = match cfg.saga_inference {
        Some(t) => json!({ "enabled": true, "timeout": span(t) }),
        None => json!({ "enabled": false }),
    };
    json!({
        "fields": global,
        "subjects": subjects,
        "dedup": {
            "window": span(cfg.dedup.window),
            "max_ids": cfg.dedup.max_ids,
            "by": cfg.dedup.by,
        },
        "ordering": { "max_keys": cfg.ordering_max_keys },
        "schema": { "learn": cfg.schema_learn },
        "kinds": cfg.kinds,
        "lag": {
            "window": cfg.lag.rules.window,
            "allowed_lag": cfg.lag.rules.allowed_lag,
            "consumers": lag_consumers,
        },
        "sagas": sagas,
        "saga_inference": inference,
    })
}

/// Reads settings written by [`document`], with every check a config file
/// gets; `origin` names where they came from in errors.
pub fn from_document(doc: &Value, origin: &str) -> Result<AnalysisConfig, UserError> {
    let file: ConfigFile = serde_json::from_value(doc.clone()).map_err(|e| {
        UserError(format!(
            "{origin}: the analysis settings are not valid: {e}"
        ))
    })?;
    build(file, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_back_as_they_were() {
        let cfg = super::super::parse(
            r#"
[fields]
key = ["/order_id", "header:X-Key"]

[[subjects]]
match = "payments.>"
key = ["/payment_id"]

[dedup]
window = "90s"
by = "payload"

[kinds]
ProcessPayment = "command"

[lag]
window = 4

[[lag.consumers]]
stream = "ORDERS"
consumer = "billing"
allowed_lag = 50

[[sagas]]
name = "order"
correlation = ["/order_id"]
steps = ["OrderCreated", "PaymentProcessed"]
failure = ["PaymentFailed"]
compensation = ["OrderCancelled"]
timeout = "1m 30s"
step_timeouts = { PaymentProcessed = "2m" }
subjects = ["orders.>"]

[saga_inference]
enabled = false
"#,
            "f.toml",
        )
        .unwrap();
        let back = from_document(&document(&cfg), "the recording").unwrap();
        assert_eq!(back, cfg);
        let defaults = AnalysisConfig::default();
        assert_eq!(from_document(&document(&defaults), "x").unwrap(), defaults);
    }

    #[test]
    fn a_damaged_document_is_a_clear_error() {
        let err = from_document(&json!({"sagas": [{"name": "x"}]}), "header of a.jsonl")
            .unwrap_err()
            .0;
        assert!(
            err.starts_with("header of a.jsonl: the analysis settings are not valid"),
            "{err}"
        );
    }
}
