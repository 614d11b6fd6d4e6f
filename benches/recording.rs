//! Recording and replay speed over a generated 1,000,000-event recording:
//!
//! - record: events/s written by the recorder (plain and zstd), against
//!   writing the bare payloads to the same kind of file (the disk's share);
//! - analyze: events/s of `analyze FILE` (read + engine), against reading
//!   alone, the engine alone on the same events in memory, and parsing
//!   every line and its payload into a `serde_json::Value`;
//! - replay: time to the first screen (open, first snapshot, first frame
//!   drawn), time to index the whole file, and time to seek to positions
//!   across it, before and after the index is complete.
//!
//! Run: `cargo bench --bench recording`.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowscope::analysis::playback::{Target, Transport};
use flowscope::analysis::store::Retention;
use flowscope::analysis::{Engine, EngineConfig, Snapshot};
use flowscope::envelope::Envelope;
use flowscope::format::TimeZone;
use flowscope::host::Request;
use flowscope::recording::redact::Redactor;
use flowscope::recording::{Header, Reader, Recorder, SourceInfo};
use flowscope::replay::{Replay, ReplayOptions};
use flowscope::sim::SimConfig;
use flowscope::tui::app::{App, UiOptions};
use flowscope::tui::theme::Theme;
use flowscope::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const EVENTS: usize = 1_000_000;
/// 2,000 events/s of recorded time: a 500 s recording.
const STEP_NS: i64 = 500_000;

fn rate(n: usize, d: Duration) -> String {
    format!("{:>10.0} events/s", n as f64 / d.as_secs_f64())
}

fn record(events: &[Envelope], path: &Path) -> Duration {
    let _ = std::fs::remove_file(path);
    let header = Header::new(events[0].received_ns, SourceInfo::default(), Vec::new());
    let start = Instant::now();
    let mut rec = Recorder::create(path, header, Redactor::default()).expect("create");
    for e in events {
        rec.event(e).expect("write");
        rec.flush_if_due().expect("flush");
    }
    rec.finish(events[events.len() - 1].received_ns)
        .expect("finish");
    start.elapsed()
}

/// The offline baseline: every line parsed into a `serde_json::Value`,
/// and an event's payload too.
fn parse_baseline(path: &Path) -> Duration {
    use std::io::BufRead;
    let start = Instant::now();
    let file = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(path).unwrap());
    let mut n = 0u64;
    for line in file.lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(data) = v.get("data").and_then(|d| d.as_str()) {
            std::hint::black_box(serde_json::from_str::<serde_json::Value>(data).ok());
            n += 1;
        }
    }
    assert_eq!(n, EVENTS as u64);
    start.elapsed()
}

fn bare_payloads(events: &[Envelope], path: &Path) -> Duration {
    let _ = std::fs::remove_file(path);
    let start = Instant::now();
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(path).unwrap());
    for e in events {
        w.write_all(&e.payload).unwrap();
        w.write_all(b"\n").unwrap();
    }
    w.into_inner().unwrap().sync_all().unwrap();
    start.elapsed()
}

fn headless() -> EngineConfig {
    EngineConfig {
        retention: Retention {
            max_events: 1,
            max_bytes: u64::MAX,
        },
        ..EngineConfig::default()
    }
}

/// `flowscope analyze FILE` as the command runs it: the file read ahead on
/// its thread, the engine on this one.
fn analyze(path: &Path) -> (Duration, u64) {
    use flowscope::host::{Core, RecordingDefaults, file::FileFeed, recorder::Recordings};
    let start = Instant::now();
    let engine = Engine::new(headless());
    let merged = flowscope::recording::Merged::open(&[path.to_path_buf()]).unwrap();
    let core = Core::new(engine, Recordings::new(RecordingDefaults::default(), None));
    let mut feed = FileFeed::new(merged, None);
    let engine = flowscope::host::run_to_end(core, &mut feed);
    (start.elapsed(), engine.total_events())
}

fn read_only(path: &Path) -> Duration {
    let start = Instant::now();
    let mut reader = Reader::open(path).unwrap();
    let mut n = 0u64;
    while let Some(r) = reader.next_record() {
        n += u64::from(matches!(r, flowscope::recording::Record::Event(_)));
    }
    assert_eq!(n, EVENTS as u64);
    start.elapsed()
}

fn wait_for(replay: &Replay, what: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = replay.snapshots.borrow().clone();
        if what(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "replay never got there");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn played(s: &Snapshot) -> u64 {
    s.replay.as_ref().map_or(0, |r| r.events_played)
}

fn indexed(s: &Snapshot) -> bool {
    s.replay.as_ref().is_some_and(|r| r.total_events.is_some())
}

/// Resident memory of this process (Linux), e.g. `2.1 GiB`.
fn rss() -> String {
    let kib: u64 = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0);
    format!("{:.2} GiB", kib as f64 / 1048576.0)
}

fn replay_cfg() -> EngineConfig {
    EngineConfig::default()
}

/// Opens a replay and draws its first screen; returns the replay and the time.
fn first_screen(path: &Path) -> (Replay, Duration) {
    let start = Instant::now();
    let replay = Replay::start(path, replay_cfg(), ReplayOptions::default()).unwrap();
    let snap = wait_for(&replay, |s| s.status.total_events > 0);
    let mut app = App::new(
        snap,
        UiOptions {
            tz: TimeZone::Utc,
            theme: Theme::builtin(),
            notices: Vec::new(),
        },
    );
    let mut term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    term.draw(|f| views::render(&mut app, f)).unwrap();
    (replay, start.elapsed())
}

fn seek(replay: &Replay, n: u64) -> Duration {
    let start = Instant::now();
    replay
        .requests
        .send(Request::Transport(Transport::GoTo(Target::Events(n))))
        .unwrap();
    let s = wait_for(replay, |s| played(s) == n);
    assert_eq!(s.status.total_events, n, "the engine's count after a seek");
    start.elapsed()
}

fn replay_figures(path: &Path, label: &str) {
    let (replay, first) = first_screen(path);
    println!("{label}: first screen (open, first snapshot, first frame) in {first:.1?}");
    // Pause, so seeks are measured alone.
    replay
        .requests
        .send(Request::Transport(Transport::TogglePause))
        .unwrap();
    let early = seek(&replay, 900_000);
    println!("{label}: seek to event 900,000 while indexing: {early:.1?}");
    let start = Instant::now();
    wait_for(&replay, indexed);
    println!("{label}: whole file indexed {:.1?} later", start.elapsed());
    println!("{label}: process memory once indexed: {}", rss());
    let mut worst = Duration::ZERO;
    for n in [500_000, 999_999, 10, 250_000, 750_123, 1_000_000, 0] {
        let d = seek(&replay, n);
        worst = worst.max(d);
        println!("{label}: seek to event {n:>9}: {d:.1?}");
    }
    println!("{label}: slowest seek once indexed: {worst:.1?}");
    replay.stop();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let events = common::simulated(EVENTS, STEP_NS, SimConfig::default());
    let payload: usize = events.iter().map(|e| e.payload.len()).sum();
    println!(
        "workload: {EVENTS} simulated events, {:.1} MiB of payloads",
        payload as f64 / 1048576.0
    );

    let plain = dir.path().join("big.jsonl");
    let zst = dir.path().join("big.jsonl.zst");
    let bare = bare_payloads(&events, &dir.path().join("bare.txt"));
    let rec_plain = record(&events, &plain);
    let rec_zst = record(&events, &zst);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64 / 1048576.0;
    println!(
        "baseline: bare payloads to a file:     {}",
        rate(EVENTS, bare)
    );
    println!(
        "record .jsonl:                         {}  = {:.2}x baseline; {:.1} MiB",
        rate(EVENTS, rec_plain),
        bare.as_secs_f64() / rec_plain.as_secs_f64(),
        size(&plain)
    );
    println!(
        "record .jsonl.zst:                     {}  = {:.2}x baseline; {:.1} MiB",
        rate(EVENTS, rec_zst),
        bare.as_secs_f64() / rec_zst.as_secs_f64(),
        size(&zst)
    );

    let mut engine = Engine::new(headless());
    let batch = events.clone();
    let start = Instant::now();
    for e in batch {
        engine.ingest(e);
    }
    let engine_only = start.elapsed();
    drop(events);
    let read = read_only(&plain);
    let parse = parse_baseline(&plain);
    let (an, n) = analyze(&plain);
    assert_eq!(n, EVENTS as u64);
    let (an_zst, _) = analyze(&zst);
    println!(
        "baseline: engine alone, in memory:     {}",
        rate(EVENTS, engine_only)
    );
    println!(
        "baseline: reading the .jsonl alone:    {}",
        rate(EVENTS, read)
    );
    println!(
        "baseline: lines and payloads to Value: {}",
        rate(EVENTS, parse)
    );
    println!(
        "analyze .jsonl:                        {}  = {:.2}x engine alone, {:.2}x Value parse",
        rate(EVENTS, an),
        engine_only.as_secs_f64() / an.as_secs_f64(),
        parse.as_secs_f64() / an.as_secs_f64()
    );
    println!(
        "analyze .jsonl.zst:                    {}  = {:.2}x engine alone, {:.2}x Value parse",
        rate(EVENTS, an_zst),
        engine_only.as_secs_f64() / an_zst.as_secs_f64(),
        parse.as_secs_f64() / an_zst.as_secs_f64()
    );

    replay_figures(&plain, "replay .jsonl");
    replay_figures(&zst, "replay .jsonl.zst");
}
