//! Does drawing stay cheap with a million retained events?
//!
//! Renders the stream view (table + detail) and the subjects view into an
//! off-screen terminal with 1,000,000 retained events, and the same with
//! 1,000 events as the baseline measured in the same run; prints both and
//! the ratio. Also times the engine's ingest of the million events and a
//! filter over all of them. Run: `cargo bench --bench render`.

mod common;

use std::time::{Duration, Instant};

use flowscope::analysis::filter::Filter;
use flowscope::analysis::store::Retention;
use flowscope::analysis::{Engine, EngineConfig};
use flowscope::sim::SimConfig;

const FRAMES: usize = 300;

fn engine_with(n: usize) -> (Engine, Duration) {
    let mut e = Engine::new(EngineConfig {
        retention: Retention {
            max_events: 2_000_000,
            max_bytes: u64::MAX,
        },
        ..EngineConfig::default()
    });
    let msgs = common::simulated(n, 1_000_000, SimConfig::default());
    let start = Instant::now();
    for env in msgs {
        e.ingest(env);
    }
    (e, start.elapsed())
}

fn main() {
    let (mut small, _) = engine_with(1_000);
    let (mut big, ingest) = engine_with(1_000_000);
    let snap = big.snapshot();
    println!(
        "ingest: 1,000,000 events in {:.2?} ({:.0} events/s); retained {:.1} MiB",
        ingest,
        1e6 / ingest.as_secs_f64(),
        snap.status.retained_bytes as f64 / (1024.0 * 1024.0)
    );
    for (name, view) in [("stream + detail", '1'), ("subjects", '2')] {
        let base = common::frame_time(&mut small, view, FRAMES);
        let heavy = common::frame_time(&mut big, view, FRAMES);
        println!(
            "frame ({name}): {:.0?} with 1,000 events (baseline), {:.0?} with 1,000,000 events: ratio {:.2}",
            base,
            heavy,
            heavy.as_secs_f64() / base.as_secs_f64()
        );
    }
    let start = Instant::now();
    big.set_filter(Some(Filter::parse("payments.*").unwrap()));
    let subj = start.elapsed();
    let start = Instant::now();
    big.set_filter(Some(Filter::parse("card_declined").unwrap()));
    let text = start.elapsed();
    println!(
        "filter over 1,000,000 retained events: subject pattern {subj:.0?}, free text {text:.0?}"
    );
}
