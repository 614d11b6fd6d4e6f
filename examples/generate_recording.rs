//! Writes a recording of the demo's simulated order flow, for trying
//! replay, analyze and publish on large files:
//!
//! `cargo run --release --example generate_recording -- OUT.jsonl[.zst] [EVENTS] [EVENTS_PER_SEC]`
//!
//! Defaults: 1,000,000 events at 2,000 events/s of recorded time.

use flowscope::recording::redact::Redactor;
use flowscope::recording::{Header, Recorder, SourceInfo};
use flowscope::sim::{SimConfig, Simulation};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: generate_recording OUT.jsonl[.zst] [EVENTS] [EVENTS_PER_SEC]")?;
    let n: u64 = args
        .next()
        .map_or(Ok(1_000_000), |s| s.parse())
        .map_err(|e| format!("EVENTS: {e}"))?;
    let rate: f64 = args
        .next()
        .map_or(Ok(2_000.0), |s| s.parse())
        .map_err(|e| format!("EVENTS_PER_SEC: {e}"))?;
    let step = (1e9 / rate.max(0.001)) as i64;
    let t0 = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) - n as i64 * step;
    let source = SourceInfo {
        kind: "generated".into(),
        subjects: vec![">".into()],
        ..SourceInfo::default()
    };
    let mut rec = Recorder::create(
        out.as_ref(),
        Header::new(t0, source, Vec::new()),
        Redactor::default(),
    )?;
    let mut sim = Simulation::new(SimConfig::default());
    for i in 0..n {
        let t = t0 + i as i64 * step;
        let Some(m) = sim.next(t) else { break };
        let mut env = m.envelope(t);
        env.index = i;
        rec.event(&env).map_err(|e| format!("{out}: {e}"))?;
    }
    let written = rec
        .finish(t0 + n as i64 * step)
        .map_err(|e| format!("{out}: {e}"))?;
    eprintln!("wrote {written} events to {out}");
    Ok(())
}
