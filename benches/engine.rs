//! Engine throughput with every detection on (field extraction, duplicates,
//! sequence, schema drift, kinds, subject tree, saga inference, retention),
//! and with saga inference off, against
//! serde_json parsing the same payloads in the same run: into a `Value`, and
//! parse-only (validating into `IgnoredAny`). Run: `cargo bench --bench engine`.

mod common;

use std::time::{Duration, Instant};

use flowscope::analysis::store::Retention;
use flowscope::analysis::{AnalysisConfig, Engine, EngineConfig};
use flowscope::demo::sim::SimConfig;
use flowscope::envelope::Envelope;

const EVENTS: usize = 300_000;
const ROUNDS: usize = 3;

fn workload() -> Vec<Envelope> {
    let cfg = SimConfig {
        seed: 7,
        drift_after: Some(2_000),
        ..SimConfig::default()
    };
    common::simulated(EVENTS, 100_000, cfg)
}

/// Best of `ROUNDS` runs of `f`.
fn best(mut f: impl FnMut() -> Duration) -> Duration {
    (0..ROUNDS).map(|_| f()).min().expect("ROUNDS > 0")
}

fn rate(d: Duration) -> f64 {
    EVENTS as f64 / d.as_secs_f64()
}

fn main() {
    let events = workload();
    let bytes: usize = events.iter().map(|e| e.payload.len()).sum();
    println!(
        "workload: {EVENTS} simulated events, {:.1} MiB of JSON payloads",
        bytes as f64 / 1048576.0
    );

    let value = best(|| {
        let start = Instant::now();
        for e in &events {
            std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&e.payload).ok());
        }
        start.elapsed()
    });
    let validate = best(|| {
        let start = Instant::now();
        for e in &events {
            std::hint::black_box(serde_json::from_slice::<serde::de::IgnoredAny>(&e.payload).ok());
        }
        start.elapsed()
    });
    let extractor = flowscope::analysis::fields::Extractor::default();
    let extract = best(|| {
        let start = Instant::now();
        for e in &events {
            std::hint::black_box(extractor.describe(e, true));
        }
        start.elapsed()
    });
    let run = |retention: Retention, saga_inference: bool| {
        best(|| {
            let mut engine = Engine::new(EngineConfig {
                retention,
                analysis: AnalysisConfig {
                    saga_inference: saga_inference
                        .then_some(flowscope::analysis::saga::DEFAULT_TIMEOUT),
                    ..AnalysisConfig::default()
                },
                ..EngineConfig::default()
            });
            let batch = events.clone();
            let start = Instant::now();
            for e in batch {
                engine.ingest(e);
            }
            let took = start.elapsed();
            std::hint::black_box(engine.total_events());
            took
        })
    };
    let single = Retention {
        max_events: 1,
        max_bytes: u64::MAX,
    };
    let headless = run(single, true);
    let no_inference = run(single, false);
    let browsing = run(Retention::default(), true);
    println!(
        "baseline serde_json parse into Value:        {:>10.0} events/s",
        rate(value)
    );
    println!(
        "baseline serde_json parse-only (IgnoredAny): {:>10.0} events/s",
        rate(validate)
    );
    println!(
        "field extraction and shape alone:            {:>10.0} events/s  = {:.2}x parse-only, {:.2}x Value",
        rate(extract),
        rate(extract) / rate(validate),
        rate(extract) / rate(value)
    );
    println!(
        "engine, all detections, headless (analyze):  {:>10.0} events/s  = {:.2}x parse-only, {:.2}x Value",
        rate(headless),
        rate(headless) / rate(validate),
        rate(headless) / rate(value)
    );
    println!(
        "engine, headless, saga inference off:        {:>10.0} events/s  = {:.2}x parse-only, {:.2}x Value",
        rate(no_inference),
        rate(no_inference) / rate(validate),
        rate(no_inference) / rate(value)
    );
    println!(
        "engine, all detections, keeping 1M events:   {:>10.0} events/s  = {:.2}x parse-only, {:.2}x Value",
        rate(browsing),
        rate(browsing) / rate(validate),
        rate(browsing) / rate(value)
    );
}
