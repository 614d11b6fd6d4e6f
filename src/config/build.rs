//! From the file's shape to the analysis settings, a converter per
//! section; the checks that need more than one key (a saga's roles, the
//! number of JSON Pointers) are made here.

use std::collections::HashSet;

use super::file::{
    Chain, ConfigFile, DedupSection, FieldsSection, LagSection, Pattern, SagaSection, Span,
};
use crate::analysis::AnalysisConfig;
use crate::analysis::fields::{FieldSet, FieldSource, SubjectFields};
use crate::analysis::json::MAX_POINTERS;
use crate::analysis::lag::RulesOverride;
use crate::analysis::saga::{self, SagaDef};
use crate::error::UserError;

/// The settings a config file (or a recording's copy of one) describes.
pub(super) fn build(file: ConfigFile, origin: &str) -> Result<AnalysisConfig, UserError> {
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
    dedup(&mut cfg, file.dedup);
    if let Some(n) = file.ordering.max_keys {
        cfg.ordering_max_keys = n.max(1);
    }
    if let Some(n) = file.schema.learn {
        cfg.schema_learn = n.max(1);
    }
    cfg.kinds = file.kinds;
    lag(&mut cfg, file.lag, origin)?;
    for sg in file.sagas {
        let def = saga(sg, &cfg.sagas, origin)?;
        cfg.sagas.push(def);
    }
    if file.saga_inference.enabled == Some(false) {
        cfg.saga_inference = None;
    } else if let Some(Span(t)) = file.saga_inference.timeout {
        cfg.saga_inference = Some(t);
    }
    check_pointers(&cfg, origin)?;
    Ok(cfg)
}

/// Puts the chains of a `[fields]`-like section over `fields`.
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

/// `[dedup]`.
fn dedup(cfg: &mut AnalysisConfig, section: DedupSection) {
    if let Some(Span(w)) = section.window {
        cfg.dedup.window = w;
    }
    if let Some(n) = section.max_ids {
        cfg.dedup.max_ids = n.max(1);
    }
    if let Some(by) = section.by {
        cfg.dedup.by = by;
    }
}

/// `[lag]` and its `[[lag.consumers]]`.
fn lag(cfg: &mut AnalysisConfig, section: LagSection, origin: &str) -> Result<(), UserError> {
    if let Some(w) = section.window {
        if w < 2 {
            return Err(UserError(format!(
                "{origin}: [lag] window = {w}: a window needs at least 2 samples"
            )));
        }
        cfg.lag.rules.window = w;
    }
    if let Some(a) = section.allowed_lag {
        cfg.lag.rules.allowed_lag = a;
    }
    cfg.lag.overrides = section
        .consumers
        .into_iter()
        .map(|o| RulesOverride {
            stream: o.stream,
            consumer: o.consumer,
            window: o.window,
            allowed_lag: o.allowed_lag,
        })
        .collect();
    Ok(())
}

/// One `[[sagas]]` entry, checked against itself and the sagas before it.
fn saga(sg: SagaSection, before: &[SagaDef], origin: &str) -> Result<SagaDef, UserError> {
    let bad = |why: String| UserError(format!("{origin}: [[sagas]] {}: {why}", sg.name));
    if sg.steps.is_empty() {
        return Err(bad("list its steps (steps = [\"First\", ...])".into()));
    }
    let mut seen = HashSet::new();
    for t in sg.steps.iter().chain(&sg.failure).chain(&sg.compensation) {
        if !seen.insert(t.as_str()) {
            return Err(bad(format!(
                "{t} is listed twice; a type has one role in a saga"
            )));
        }
    }
    if before.iter().any(|d| d.name == sg.name) {
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
    Ok(SagaDef {
        name: sg.name.clone(),
        correlation: sg.correlation.map(|Chain(c)| c),
        steps: sg.steps,
        failure: sg.failure,
        compensation: sg.compensation,
        timeout: sg.timeout.map_or(saga::DEFAULT_TIMEOUT, |Span(d)| d),
        step_timeouts,
        subjects: sg.subjects.into_iter().map(|Pattern(p)| p).collect(),
    })
}

/// The extractor reads at most [`MAX_POINTERS`] distinct JSON Pointers.
fn check_pointers(cfg: &AnalysisConfig, origin: &str) -> Result<(), UserError> {
    let mut pointers = HashSet::new();
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
    Ok(())
}
