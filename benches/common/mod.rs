//! Shared by the benchmarks: the simulated workload, and the binary's
//! allocator so the figures are the binary's.

use flowscope::demo::sim::{SimConfig, Simulation};
use flowscope::envelope::Envelope;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `n` envelopes of the demo's order flow, `step_ns` apart.
pub fn simulated(n: usize, step_ns: i64, cfg: SimConfig) -> Vec<Envelope> {
    let mut sim = Simulation::new(cfg);
    let t0 = 1_795_424_400_000_000_000i64;
    (0..n)
        .map(|i| {
            let t = t0 + i as i64 * step_ns;
            let m = sim.next(t).expect("the simulation runs until finished");
            let mut env = Envelope::new(t, &m.subject, m.payload);
            for (k, v) in &m.headers {
                env = env.with_header(k, v);
            }
            env
        })
        .collect()
}
