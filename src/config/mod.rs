//! `flowscope.toml`: where fields come from, per-subject overrides, dedup,
//! ordering and schema settings, and event-kind overrides.
//!
//! Found at `-c/--config FILE`, else `./flowscope.toml`, else
//! `<config dir>/flowscope/flowscope.toml`; without a file the defaults
//! apply. Unknown keys and bad values are errors naming the file, the line
//! and the key.
//!
//! [`export`] writes the effective settings in the same shape, for a
//! recording's header, and reads them back on replay.

mod export;

pub use export::{document, from_document};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::analysis::AnalysisConfig;
use crate::analysis::classify::Kind;
use crate::analysis::dedup::DedupBy;
use crate::analysis::fields::{FieldChain, FieldSet, FieldSource, SubjectFields};
use crate::analysis::json::MAX_POINTERS;
use crate::analysis::lag::RulesOverride;
use crate::analysis::saga::{self, SagaDef};
use crate::error::UserError;
use crate::subject::SubjectPattern;

/// A chain of field sources, checked when the file is read.
#[derive(Debug, Clone)]
struct Chain(FieldChain);

impl<'de> Deserialize<'de> for Chain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let specs: Vec<String> = Vec::deserialize(d)?;
        let refs: Vec<&str> = specs.iter().map(String::as_str).collect();
        FieldChain::parse(&refs)
            .map(Chain)
            .map_err(serde::de::Error::custom)
    }
}

/// A duration such as `"2m"` or `"30s"`.
#[derive(Debug, Clone, Copy)]
struct Span(Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::format::parse_duration(&s)
            .map(Span)
            .map_err(serde::de::Error::custom)
    }
}

/// A NATS subject pattern.
#[derive(Debug, Clone)]
struct Pattern(SubjectPattern);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SubjectPattern::parse(&s)
            .map(Pattern)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldsSection {
    #[serde(rename = "type")]
    event_type: Option<Chain>,
    id: Option<Chain>,
    key: Option<Chain>,
    sequence: Option<Chain>,
    correlation: Option<Chain>,
    time: Option<Chain>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectSection {
    #[serde(rename = "match")]
    pattern: Pattern,
    #[serde(flatten)]
    fields: FieldsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DedupSection {
    window: Option<Span>,
    max_ids: Option<usize>,
    by: Option<DedupBy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderingSection {
    max_keys: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaSection {
    learn: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LagOverride {
    stream: String,
    consumer: Option<String>,
    window: Option<usize>,
    allowed_lag: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LagSection {
    window: Option<usize>,
    allowed_lag: Option<u64>,
    #[serde(default)]
    consumers: Vec<LagOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SagaSection {
    name: String,
    correlation: Option<Chain>,
    steps: Vec<String>,
    #[serde(default)]
    failure: Vec<String>,
    #[serde(default)]
    compensation: Vec<String>,
    timeout: Option<Span>,
    #[serde(default)]
    step_timeouts: HashMap<String, Span>,
    #[serde(default)]
    subjects: Vec<Pattern>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    fields: FieldsSection,
    #[serde(default)]
    subjects: Vec<SubjectSection>,
    #[serde(default)]
    dedup: DedupSection,
    #[serde(default)]
    ordering: OrderingSection,
    #[serde(default)]
    schema: SchemaSection,
    #[serde(default)]
    kinds: HashMap<String, Kind>,
    #[serde(default)]
    lag: LagSection,
    #[serde(default)]
    sagas: Vec<SagaSection>,
    #[serde(default)]
    saga_inference: SagaInferenceSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SagaInferenceSection {
    enabled: Option<bool>,
    timeout: Option<Span>,
}

fn apply(fields: &mut FieldSet, section: FieldsSection) {
    let FieldsSection {
        event_type,
        id,
        key,
        sequence,
        correlation,
        time,
    } = section;
    for (slot, chain) in [
        (&mut fields.event_type, event_type),
        (&mut fields.id, id),
        (&mut fields.key, key),
        (&mut fields.sequence, sequence),
        (&mut fields.correlation, correlation),
        (&mut fields.time, time),
    ] {
        if let Some(Chain(c)) = chain {
            *slot = c;
        }
    }
}

/// Where the config came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Defaults,
    File(PathBuf),
    /// The settings recorded in a recording's header.
    Recording(PathBuf),
}

/// Parses config text; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<AnalysisConfig, UserError> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| located(text, origin, &e))?;
    build(file, origin)
}

/// The settings a config file (or a recording's copy of one) describes.
fn build(file: ConfigFile, origin: &str) -> Result<AnalysisConfig, UserError> {
    let mut cfg = AnalysisConfig::default();
    apply(&mut cfg.fields, file.fields);
    // Overrides start from the configured global chains, not the defaults.
    cfg.subjects = file
        .subjects
        .into_iter()
        .map(|s| {
            let mut fields = cfg.fields.clone();
            apply(&mut fields, s.fields);
            SubjectFields {
                pattern: s.pattern.0,
                fields,
            }
        })
        .collect();
    if let Some(Span(w)) = file.dedup.window {
        cfg.dedup.window = w;
    }
    if let Some(n) = file.dedup.max_ids {
        cfg.dedup.max_ids = n.max(1);
    }
    if let Some(by) = file.dedup.by {
        cfg.dedup.by = by;
    }
    if let Some(n) = file.ordering.max_keys {
        cfg.ordering_max_keys = n.max(1);
    }
    if let Some(n) = file.schema.learn {
        cfg.schema_learn = n.max(1);
    }
    cfg.kinds = file.kinds;
    if let Some(w) = file.lag.window {
        if w < 2 {
            return Err(UserError(format!(
                "{origin}: [lag] window = {w}: a window needs at least 2 samples"
            )));
        }
        cfg.lag.rules.window = w;
    }
    if let Some(a) = file.lag.allowed_lag {
        cfg.lag.rules.allowed_lag = a;
    }
    for sg in file.sagas {
        let bad = |why: String| UserError(format!("{origin}: [[sagas]] {}: {why}", sg.name));
        if sg.steps.is_empty() {
            return Err(bad("list its steps (steps = [\"First\", ...])".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for t in sg.steps.iter().chain(&sg.failure).chain(&sg.compensation) {
            if !seen.insert(t.as_str()) {
                return Err(bad(format!(
                    "{t} is listed twice; a type has one role in a saga"
                )));
            }
        }
        if cfg.sagas.iter().any(|d| d.name == sg.name) {
            return Err(bad("a saga of that name is already defined".into()));
        }
        if let Some(t) = sg.step_timeouts.keys().find(|t| !sg.steps.contains(t)) {
            return Err(bad(format!(
                "step_timeouts names {t}, which is not one of its steps"
            )));
        }
        let step_timeouts = sg
            .steps
            .iter()
            .map(|t| sg.step_timeouts.get(t).map(|Span(d)| *d))
            .collect();
        cfg.sagas.push(SagaDef {
            name: sg.name.clone(),
            correlation: sg.correlation.map(|Chain(c)| c),
            steps: sg.steps,
            failure: sg.failure,
            compensation: sg.compensation,
            timeout: sg.timeout.map_or(saga::DEFAULT_TIMEOUT, |Span(d)| d),
            step_timeouts,
            subjects: sg.subjects.into_iter().map(|Pattern(p)| p).collect(),
        });
    }
    if file.saga_inference.enabled == Some(false) {
        cfg.saga_inference = None;
    } else if let Some(Span(t)) = file.saga_inference.timeout {
        cfg.saga_inference = Some(t);
    }
    cfg.lag.overrides = file
        .lag
        .consumers
        .into_iter()
        .map(|o| RulesOverride {
            stream: o.stream,
            consumer: o.consumer,
            window: o.window,
            allowed_lag: o.allowed_lag,
        })
        .collect();
    let mut pointers = std::collections::HashSet::new();
    for set in std::iter::once(&cfg.fields).chain(cfg.subjects.iter().map(|s| &s.fields)) {
        for chain in [
            &set.event_type,
            &set.id,
            &set.key,
            &set.sequence,
            &set.correlation,
            &set.time,
        ] {
            for src in &chain.0 {
                if let FieldSource::Pointer(p) = src {
                    pointers.insert(p.clone());
                }
            }
        }
    }
    if pointers.len() > MAX_POINTERS {
        return Err(UserError(format!(
            "{origin}: {} distinct JSON Pointers in the field chains; at most {MAX_POINTERS} are supported",
            pointers.len()
        )));
    }
    Ok(cfg)
}

/// "flowscope.toml:7 (`windw`): unknown field `windw`, expected …"
fn located(text: &str, origin: &str, e: &toml::de::Error) -> UserError {
    let Some(span) = e.span() else {
        return UserError(format!("{origin}: {}", e.message()));
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    let key = match line.split_once('=') {
        Some((k, _)) => k.trim().trim_matches('"').to_owned(),
        None => line.trim_matches(|c| c == '[' || c == ']').to_owned(),
    };
    UserError(format!(
        "{origin}:{line_no} (`{key}`): {}",
        e.message().trim_end()
    ))
}

/// The file used when `-c` is not given: `./flowscope.toml`, then the user's
/// config directory.
pub fn default_path() -> Option<PathBuf> {
    let local = PathBuf::from("flowscope.toml");
    if local.is_file() {
        return Some(local);
    }
    dirs::config_dir()
        .map(|d| d.join("flowscope").join("flowscope.toml"))
        .filter(|p| p.is_file())
}

/// The settings for reading a recording: `-c FILE` when given, else the
/// ones the recording's session ran with (its header), else the default
/// places. A recording replays with the saga picture its session had.
pub fn for_recording(
    explicit: Option<&Path>,
    recording: &Path,
    recorded: Option<&serde_json::Value>,
) -> Result<(AnalysisConfig, Origin), UserError> {
    match (explicit, recorded) {
        (None, Some(doc)) => {
            let origin = format!("the header of {}", recording.display());
            let cfg = from_document(doc, &origin).map_err(|e| {
                UserError(format!(
                    "{e}; give the settings to use with -c FILE (an empty file: the defaults)"
                ))
            })?;
            Ok((cfg, Origin::Recording(recording.to_path_buf())))
        }
        _ => load(explicit),
    }
}

/// Loads the config from `explicit`, or the default places.
pub fn load(explicit: Option<&Path>) -> Result<(AnalysisConfig, Origin), UserError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) => p,
            None => return Ok((AnalysisConfig::default(), Origin::Defaults)),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| UserError(format!("cannot read config file {}: {e}", path.display())))?;
    let cfg = parse(&text, &path.display().to_string())?;
    Ok((cfg, Origin::File(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let cfg = parse(
            r#"
[fields]
type        = ["header:ce-type", "/type", "/event_type", "/eventType"]
id          = ["header:Nats-Msg-Id", "header:ce-id", "/id", "/event_id", "/eventId", "/message_id"]
key         = ["/aggregate_id", "/aggregateId", "/entity_id", "/key"]
sequence    = ["/seq", "/sequence", "/version"]
correlation = ["header:Correlation-Id", "/correlation_id", "/correlationId", "/saga_id"]
time        = ["header:ce-time", "/occurred_at", "/timestamp", "/time"]

[[subjects]]
match = "payments.>"
key   = ["/payment_id"]

[dedup]
window  = "2m"
max_ids = 1_000_000
by      = "id"

[kinds]
ProcessPayment = "command"
"#,
            "flowscope.toml",
        )
        .unwrap();
        assert_eq!(cfg.fields, AnalysisConfig::default().fields);
        assert_eq!(cfg.subjects.len(), 1);
        assert_eq!(
            cfg.subjects[0].fields.key.0,
            vec![FieldSource::Pointer("/payment_id".into())]
        );
        assert_eq!(
            cfg.subjects[0].fields.id, cfg.fields.id,
            "other chains stay global"
        );
        assert_eq!(cfg.dedup.window, Duration::from_secs(120));
        assert_eq!(cfg.kinds["ProcessPayment"], Kind::Command);
    }

    #[test]
    fn lag_thresholds_are_global_and_per_stream_or_consumer() {
        let cfg = parse(
            r#"
[lag]
window = 8
allowed_lag = 10

[[lag.consumers]]
stream = "ORDERS"
allowed_lag = 500

[[lag.consumers]]
stream = "ORDERS"
consumer = "billing"
window = 3
"#,
            "flowscope.toml",
        )
        .unwrap();
        let r = cfg.lag.rules_for("PAYMENTS", "x");
        assert_eq!((r.window, r.allowed_lag), (8, 10));
        let r = cfg.lag.rules_for("ORDERS", "shipping");
        assert_eq!((r.window, r.allowed_lag), (8, 500));
        let r = cfg.lag.rules_for("ORDERS", "billing");
        assert_eq!((r.window, r.allowed_lag), (3, 500));
        let err = parse(
            "[lag]
window = 1
",
            "f.toml",
        )
        .unwrap_err()
        .0;
        assert!(err.contains("at least 2 samples"), "{err}");
        let err = parse(
            "[[lag.consumers]]
consumer = \"x\"
",
            "f.toml",
        )
        .unwrap_err()
        .0;
        assert!(err.contains("stream"), "{err}");
    }

    #[test]
    fn saga_definitions_parse_and_bad_ones_are_refused() {
        let cfg = parse(
            r#"
[[sagas]]
name         = "order"
correlation  = ["/order_id"]
steps        = ["OrderCreated", "InventoryReserved", "PaymentProcessed", "OrderShipped"]
failure      = ["PaymentFailed", "InventoryUnavailable"]
compensation = ["InventoryReleased", "OrderCancelled"]
timeout      = "30s"
step_timeouts = { PaymentProcessed = "2m" }
subjects     = ["orders.>", "payments.*"]
"#,
            "flowscope.toml",
        )
        .unwrap();
        let d = &cfg.sagas[0];
        assert_eq!(d.name, "order");
        assert_eq!(d.steps.len(), 4);
        assert_eq!(d.timeout, Duration::from_secs(30));
        assert_eq!(
            d.step_timeouts,
            [None, None, Some(Duration::from_secs(120)), None]
        );
        assert!(d.covers("payments.failed") && d.covers("orders.eu.created"));
        assert!(!d.covers("shipping.shipped"));
        assert_eq!(
            d.correlation.as_ref().unwrap().0,
            vec![FieldSource::Pointer("/order_id".into())]
        );
        let err = parse("[[sagas]]\nname = \"x\"\nsteps = []\n", "f.toml")
            .unwrap_err()
            .0;
        assert!(err.contains("list its steps"), "{err}");
        let err = parse(
            "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\nfailure = [\"A\"]\n",
            "f.toml",
        )
        .unwrap_err()
        .0;
        assert!(err.contains("A is listed twice"), "{err}");
        let err = parse(
            "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\ntimeout = \"soon\"\n",
            "f.toml",
        )
        .unwrap_err()
        .0;
        assert!(err.contains("f.toml:4"), "{err}");
        let err = parse(
            "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\nstep_timeouts = { B = \"1m\" }\n",
            "f.toml",
        )
        .unwrap_err()
        .0;
        assert!(
            err.contains("[[sagas]] x: step_timeouts names B, which is not one of its steps"),
            "{err}"
        );
        let err = parse(
            "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\nsubjects = [\"orders.>.x\"]\n",
            "f.toml",
        )
        .unwrap_err()
        .0;
        assert!(err.contains("'>' may only be the last token"), "{err}");
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let err = parse("[dedup]\nwindow = \"2m\"\nwindw = \"3m\"\n", "my.toml")
            .unwrap_err()
            .0;
        assert!(
            err.starts_with("my.toml:3 (`windw`): unknown field `windw`"),
            "{err}"
        );

        let err = parse("[dedup]\nwindow = \"2 fortnights\"\n", "my.toml")
            .unwrap_err()
            .0;
        assert!(
            err.starts_with("my.toml:2 (`window`): '2 fortnights' is not a duration"),
            "{err}"
        );

        let err = parse("[fields]\nkey = [\"aggregate_id\"]\n", "f.toml")
            .unwrap_err()
            .0;
        assert!(
            err.starts_with("f.toml:2 (`key`): 'aggregate_id' is neither a JSON Pointer"),
            "{err}"
        );

        let err = parse("[[subjects]]\nmatch = \"a..b\"\n", "f.toml")
            .unwrap_err()
            .0;
        assert!(err.starts_with("f.toml:2 (`match`)"), "{err}");

        let err = parse("[kinds]\nX = \"event\"\n", "f.toml").unwrap_err().0;
        assert!(
            err.starts_with("f.toml:2 (`X`): unknown variant `event`"),
            "{err}"
        );

        let err = parse("[dedup]\nby = \"hash\"\n", "f.toml").unwrap_err().0;
        assert!(err.contains("(`by`)") && err.contains("payload"), "{err}");

        let err = parse("[bogus]\n", "f.toml").unwrap_err().0;
        assert!(
            err.starts_with("f.toml:1 (`bogus`): unknown field `bogus`"),
            "{err}"
        );

        assert!(
            parse("not toml = = 1", "f.toml")
                .unwrap_err()
                .0
                .starts_with("f.toml:1")
        );
    }

    #[test]
    fn too_many_pointers_are_refused() {
        let many: Vec<String> = (0..130).map(|i| format!("\"/f{i}\"")).collect();
        let err = parse(&format!("[fields]\nkey = [{}]\n", many.join(",")), "f.toml")
            .unwrap_err()
            .0;
        assert!(err.contains("at most 128"), "{err}");
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let cfg = parse("", "f.toml").unwrap();
        assert_eq!(cfg.fields, AnalysisConfig::default().fields);
        assert!(cfg.subjects.is_empty());
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let err = load(Some(Path::new("/no/such/flowscope.toml")))
            .unwrap_err()
            .0;
        assert!(
            err.starts_with("cannot read config file /no/such/flowscope.toml"),
            "{err}"
        );
    }
}
