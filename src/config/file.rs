//! The shape of flowscope.toml as serde reads it: sections and keys, with
//! field chains, durations and subject patterns checked as they are read
//! (so an error names the line and the key).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use crate::analysis::classify::Kind;
use crate::analysis::dedup::DedupBy;
use crate::analysis::fields::FieldChain;
use crate::subject::SubjectPattern;

/// A chain of field sources, checked when the file is read.
#[derive(Debug, Clone)]
pub(super) struct Chain(pub FieldChain);

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
pub(super) struct Span(pub Duration);

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
pub(super) struct Pattern(pub SubjectPattern);

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
pub(super) struct FieldsSection {
    #[serde(rename = "type")]
    pub event_type: Option<Chain>,
    pub id: Option<Chain>,
    pub key: Option<Chain>,
    pub sequence: Option<Chain>,
    pub correlation: Option<Chain>,
    pub time: Option<Chain>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubjectSection {
    #[serde(rename = "match")]
    pub pattern: Pattern,
    #[serde(flatten)]
    pub fields: FieldsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DedupSection {
    pub window: Option<Span>,
    pub max_ids: Option<usize>,
    pub by: Option<DedupBy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrderingSection {
    pub max_keys: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SchemaSection {
    pub learn: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LagOverride {
    pub stream: String,
    pub consumer: Option<String>,
    pub window: Option<usize>,
    pub allowed_lag: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LagSection {
    pub window: Option<usize>,
    pub allowed_lag: Option<u64>,
    #[serde(default)]
    pub consumers: Vec<LagOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SagaSection {
    pub name: String,
    pub correlation: Option<Chain>,
    pub steps: Vec<String>,
    #[serde(default)]
    pub failure: Vec<String>,
    #[serde(default)]
    pub compensation: Vec<String>,
    pub timeout: Option<Span>,
    #[serde(default)]
    pub step_timeouts: HashMap<String, Span>,
    #[serde(default)]
    pub subjects: Vec<Pattern>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    #[serde(default)]
    pub fields: FieldsSection,
    #[serde(default)]
    pub subjects: Vec<SubjectSection>,
    #[serde(default)]
    pub dedup: DedupSection,
    #[serde(default)]
    pub ordering: OrderingSection,
    #[serde(default)]
    pub schema: SchemaSection,
    #[serde(default)]
    pub kinds: HashMap<String, Kind>,
    #[serde(default)]
    pub lag: LagSection,
    #[serde(default)]
    pub sagas: Vec<SagaSection>,
    #[serde(default)]
    pub saga_inference: SagaInferenceSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SagaInferenceSection {
    pub enabled: Option<bool>,
    pub timeout: Option<Span>,
}
