//! Saga tracking cost: 100,000 concurrent order sagas through the engine,
//! with the order saga defined, and without definitions (inferring sagas by
//! correlation value), against the same events through the engine with saga
//! tracking off in the same run; and the memory the instances take
//! (flowscope's estimate). Run: `cargo bench --bench sagas`.

mod common;

use std::time::Duration;

use flowscope::analysis::saga::SagaDef;
use flowscope::analysis::{AnalysisConfig, EngineConfig};
use flowscope::sim::SimConfig;

const EVENTS: usize = 600_000;
const CONCURRENT: usize = 100_000;
const ROUNDS: usize = 5;

fn main() {
    let events = common::simulated(
        EVENTS,
        10_000,
        SimConfig {
            seed: 5,
            concurrency: CONCURRENT,
            drift_after: None,
            ..SimConfig::default()
        },
    );
    println!("workload: {EVENTS} simulated events, up to {CONCURRENT} orders in flight");
    let once = |sagas: &[SagaDef], inference: Option<Duration>| {
        let config = EngineConfig {
            retention: common::HEADLESS,
            analysis: AnalysisConfig {
                sagas: sagas.to_vec(),
                saga_inference: inference,
                ..AnalysisConfig::default()
            },
            ..EngineConfig::default()
        };
        common::ingest_timed(config, &events)
    };
    // The three runs take turns, so a change in the machine's load falls
    // on all of them; the best of each is kept.
    let defined = [flowscope::sim::order_saga()];
    let mut best = [Duration::MAX; 3];
    let mut engines = (None, None);
    for _ in 0..ROUNDS {
        best[0] = best[0].min(once(&[], None).0);
        let (d, e) = once(&defined, None);
        best[1] = best[1].min(d);
        engines.0 = Some(e);
        let (d, e) = once(&[], Some(Duration::from_secs(30)));
        best[2] = best[2].min(d);
        engines.1 = Some(e);
    }
    let [base, with, inferred] = best;
    let (Some(engine), Some(inferring)) = engines else {
        unreachable!("ROUNDS > 0")
    };
    let rate = |d: Duration| EVENTS as f64 / d.as_secs_f64();
    let book = engine.sagas();
    let instances = book.instances().count();
    println!(
        "baseline: engine, saga tracking off: {:>9.0} events/s",
        rate(base)
    );
    println!(
        "engine tracking the order saga:      {:>9.0} events/s = {:.2}x baseline",
        rate(with),
        base.as_secs_f64() / with.as_secs_f64()
    );
    println!(
        "engine inferring sagas (no defs):    {:>9.0} events/s = {:.2}x baseline",
        rate(inferred),
        base.as_secs_f64() / inferred.as_secs_f64()
    );
    let learned = inferring.sagas();
    println!(
        "inferred instances kept: {}; memory by flowscope's estimate: {:.1} MiB",
        learned.instances().count(),
        learned.approx_bytes() as f64 / 1048576.0
    );
    println!(
        "defined instances kept: {instances}; their memory by flowscope's estimate: {:.1} MiB ({:.0} B each)",
        book.approx_bytes() as f64 / 1048576.0,
        book.approx_bytes() as f64 / instances.max(1) as f64
    );
}
