//! Does drawing stay cheap with a million retained events?
//!
//! Renders the stream view (table + detail) and the subjects view into an
//! off-screen terminal with 1,000,000 retained events, and the same with
//! 1,000 events as the baseline measured in the same run; prints both and
//! the ratio. Also times the engine's ingest of the million events and a
//! filter over all of them. Run: `cargo bench --bench render`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use flowscope::analysis::filter::Filter;
use flowscope::analysis::store::Retention;
use flowscope::analysis::{Engine, EngineConfig};
use flowscope::demo::sim::SimConfig;
use flowscope::format::TimeZone;
use flowscope::tui::app::{App, UiOptions};
use flowscope::tui::theme::Theme;
use flowscope::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

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

/// Median time to draw one frame of `view` ("1" stream, "2" subjects).
fn frame_time(e: &mut Engine, view: char) -> Duration {
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
    let mut times = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
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
    times[FRAMES / 2]
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
        let base = frame_time(&mut small, view);
        let heavy = frame_time(&mut big, view);
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
