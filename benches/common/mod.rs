//! Shared by the benchmarks: the simulated workload, and the binary's
//! allocator so the figures are the binary's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flowscope::analysis::store::Retention;
use flowscope::analysis::{Engine, EngineConfig};
use flowscope::envelope::Envelope;
use flowscope::format::TimeZone;
use flowscope::sim::{SimConfig, Simulation};
use flowscope::tui::app::{App, UiOptions};
use flowscope::tui::theme::Theme;
use flowscope::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `n` envelopes of the demo's order flow, `step_ns` apart.
#[allow(dead_code)] // not every benchmark simulates
pub fn simulated(n: usize, step_ns: i64, cfg: SimConfig) -> Vec<Envelope> {
    let mut sim = Simulation::new(cfg);
    let t0 = 1_795_424_400_000_000_000i64;
    (0..n)
        .map(|i| {
            let t = t0 + i as i64 * step_ns;
            let m = sim.next(t).expect("the simulation runs until finished");
            m.envelope(t)
        })
        .collect()
}

/// Keeps one event: the engine as `analyze` runs it.
#[allow(dead_code)] // not every benchmark ingests
pub const HEADLESS: Retention = Retention {
    max_events: 1,
    max_bytes: u64::MAX,
};

/// A new engine with `config`, and the time it took to ingest a copy of
/// `events` (the copy is made before the clock starts).
#[allow(dead_code)] // not every benchmark ingests
pub fn ingest_timed(config: EngineConfig, events: &[Envelope]) -> (Duration, Engine) {
    let mut engine = Engine::new(config);
    let batch = events.to_vec();
    let start = Instant::now();
    for e in batch {
        engine.ingest(e);
    }
    (start.elapsed(), engine)
}

/// Median time to draw one of `frames` frames of `view` (`1` stream, `2`
/// subjects, `5` lag), moving the selection between frames so that what
/// depends on it is drawn anew.
#[allow(dead_code)] // not every benchmark draws
pub fn frame_time(e: &mut Engine, view: char, frames: usize) -> Duration {
    let mut app = App::new(
        Arc::new(e.snapshot()),
        UiOptions {
            tz: TimeZone::Utc,
            theme: Theme::builtin(),
            notices: Vec::new(),
        },
    );
    app.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char(view),
    ));
    let mut term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        // Alternate the selection so the detail pane is rebuilt each frame.
        let key = if i % 2 == 0 {
            crossterm::event::KeyCode::Up
        } else {
            crossterm::event::KeyCode::Down
        };
        app.on_key(crossterm::event::KeyEvent::from(key));
        app.on_snapshot(Arc::new(e.snapshot()));
        let start = Instant::now();
        term.draw(|f| views::render(&mut app, f)).unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    times[frames / 2]
}
