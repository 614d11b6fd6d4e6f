//! Replays behave like a straight run: played to the end (as fast as
//! possible, drawn on an off-screen terminal) a recording shows the counts
//! `analyze` reports for it; a seek anywhere, forward or back, by event or
//! by time, with or without a filter, shows what a straight run to that
//! point shows.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowscope::analysis::filter::Filter;
use flowscope::analysis::playback::{self as replay, Target, Transport};
use flowscope::analysis::{Engine, EngineConfig, Snapshot};
use flowscope::format::{self, TimeZone};
use flowscope::host::Request;
use flowscope::recording::{Reader, Record};
use flowscope::replay::{Replay, ReplayOptions};
use flowscope::tui::app::{App, UiOptions};
use flowscope::tui::theme::Theme;
use serde_json::Value;
use support::screen::{MS, T0, screen};

fn wait(replay: &Replay, what: &str, cond: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = replay.snapshots.borrow().clone();
        if cond(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; replay status: {:?}",
            s.replay
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn status(s: &Snapshot) -> &replay::ReplayStatus {
    s.replay.as_deref().expect("a replay snapshot")
}

fn start(path: &Path, opts: ReplayOptions) -> Replay {
    Replay::start(path, EngineConfig::default(), opts).unwrap()
}

fn ui() -> UiOptions {
    UiOptions {
        tz: TimeZone::Utc,
        theme: Theme::builtin(),
        notices: Vec::new(),
    }
}

#[test]
fn replayed_to_the_end_it_shows_what_analyze_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faults.jsonl");
    let n = 30_000;
    support::write_recording(&path, n, support::faulty(5), 2 * MS, true);

    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowscope"))
        .args(["analyze", path.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    let replay = start(
        &path,
        ReplayOptions {
            speed: f64::INFINITY,
            ..ReplayOptions::default()
        },
    );
    let snap = wait(&replay, "the end", |s| {
        status(s).at_end && !status(s).playing
    });
    let counts = &snap.anomalies.counts;
    use flowscope::analysis::anomalies::AnomalyKind as K;
    let c = |k: K| counts[k as usize];
    assert_eq!(snap.status.total_events, n as u64);
    assert_eq!(report["events"], n as u64);
    assert_eq!(report["bytes"], snap.status.total_bytes);
    assert_eq!(report["duplicates"]["identical"], c(K::Duplicate));
    assert_eq!(report["duplicates"]["conflicting"], c(K::Conflict));
    assert_eq!(report["out_of_order"]["count"], c(K::OutOfOrder));
    assert_eq!(report["out_of_order"]["resets"], c(K::Reset));
    assert_eq!(report["gaps"]["jumps"], c(K::Gap));
    assert_eq!(report["gaps"]["missing"], snap.anomalies.gaps_missing);
    assert_eq!(report["gaps"]["open"], snap.anomalies.gaps_open);
    assert_eq!(report["redeliveries"]["count"], c(K::Redelivery));
    assert!(
        c(K::Duplicate) > 0 && c(K::OutOfOrder) > 0 && c(K::Gap) > 0,
        "the faults are there"
    );
    let types: Vec<(String, u64)> = snap
        .types
        .iter()
        .map(|t| (t.name.clone(), t.events))
        .collect();
    let mut reported: Vec<(String, u64)> = report["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().to_owned(),
                t["events"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut shown = types.clone();
    reported.sort();
    shown.sort();
    assert_eq!(shown, reported, "event types and their counts");

    // What the user sees at the end.
    let mut app = App::new(snap.clone(), ui());
    let s = screen(&mut app, 160, 40);
    let total: u64 = counts.iter().sum();
    assert!(
        s.contains(&format!("Anomalies {}", format::count(total))),
        "{s}"
    );
    assert!(s.contains("30,000 / 30,000 events"), "{s}");
    assert!(s.contains("■ end"), "{s}");
    assert!(
        s.contains("✕"),
        "the disconnect is marked on the timeline: {s}"
    );
    assert!(s.contains("▲"), "anomalies are marked on the timeline: {s}");
    assert!(
        s.contains("● connected"),
        "the recorded connection state: {s}"
    );
    replay.stop();
}

/// The state a straight run has after the records up to `target`.
fn straight_run(path: &Path, target: Target, filter: Option<&str>) -> Snapshot {
    let mut engine = Engine::new(EngineConfig::default());
    let mut reader = Reader::open(path).unwrap();
    let mut events = 0u64;
    while let Some(r) = reader.next_record() {
        let stop = match target {
            Target::Events(n) => matches!(r, Record::Event(_)) && events >= n,
            Target::Time(t) => r.time() > t,
        };
        if stop {
            break;
        }
        events += u64::from(matches!(r, Record::Event(_)));
        r.apply(&mut engine);
    }
    if let Some(f) = filter {
        engine.set_filter(Some(Filter::parse(f).unwrap()));
    }
    engine.snapshot()
}

/// What must be equal: every count, table and retained event (rates, which
/// depend on the wall clock, left out).
fn fingerprint(s: &Snapshot) -> String {
    fn tree(n: &flowscope::analysis::subjects::SubjectNode, out: &mut String) {
        out.push_str(&format!("{}={}/{} ", n.path, n.events, n.bytes));
        for c in &n.children {
            tree(c, out);
        }
    }
    let mut subjects = String::new();
    tree(&s.subjects, &mut subjects);
    let types: Vec<String> = s
        .types
        .iter()
        .map(|t| {
            format!(
                "{}:{:?}:{}:{}:{}",
                t.name, t.kind, t.events, t.fields, t.drift_changes
            )
        })
        .collect();
    let recent: Vec<(u64, u64)> = s
        .anomalies
        .recent
        .iter()
        .map(|i| (i.seq, i.index))
        .collect();
    let st = &s.status;
    format!(
        "events {} bytes {} link {:?} reconnects {} dropped {}/{}\n\
         retained {} first {} last {:?}\n\
         anomalies {:?} missing {} open {} recent {:?}\n\
         filter {:?}\ntypes {types:?}\nsubjects {subjects}",
        st.total_events,
        st.total_bytes,
        st.link,
        st.reconnects,
        st.dropped_client,
        st.dropped_queue,
        s.events.len(),
        s.first_index(),
        s.events.back().map(|e| e.env.index),
        s.anomalies.counts,
        s.anomalies.gaps_missing,
        s.anomalies.gaps_open,
        recent,
        s.filter
            .as_ref()
            .map(|f| (f.spec.clone(), f.matches.len(), f.matches.back().copied())),
    )
}

fn seek(replay: &Replay, target: Target) -> Arc<Snapshot> {
    replay
        .requests
        .send(Request::Transport(Transport::GoTo(target)))
        .unwrap();
    let before = replay.snapshots.borrow().generation;
    // The seek is done when a later snapshot is no longer waiting for it.
    wait(replay, "the seek", |s| {
        s.generation > before + 1 && !status(s).seeking && !status(s).playing
    })
}

fn check(path: &Path, replay: &Replay, target: Target, filter: Option<&str>) {
    let shown = seek(replay, target);
    let straight = straight_run(path, target, filter);
    assert_eq!(
        fingerprint(&shown),
        fingerprint(&straight),
        "after a seek to {target:?} (filter {filter:?})"
    );
    if let Target::Events(n) = target {
        assert_eq!(status(&shown).events_played, n);
    }
}

#[test]
fn a_seek_shows_what_a_straight_run_to_that_point_shows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.jsonl");
    // Checkpoints every 2,000 events (instead of 50,000): the same code
    // paths on a recording small enough for a debug build.
    let n = 12_000;
    let step = 10 * MS;
    support::write_recording(&path, n, support::faulty(9), step, true);
    let replay = start(
        &path,
        ReplayOptions {
            paused: true,
            checkpoint_every: 2_000,
            ..ReplayOptions::default()
        },
    );
    // Right away, while the indexer may still be reading.
    check(&path, &replay, Target::Events(11_000), None);
    wait(&replay, "the index", |s| status(s).total_events.is_some());
    assert_eq!(
        status(&replay.snapshots.borrow()).total_events,
        Some(n as u64)
    );
    // From a checkpoint, back to the start, exactly on a checkpoint, the
    // last event, the start, just after a checkpoint, the end.
    for n in [7_001, 1_234, 10_000, 11_999, 0, 2_001, 12_000] {
        check(&path, &replay, Target::Events(n), None);
    }
    // By time: the middle, and around the outage (40% to 45%).
    for offset_ms in [60_000, 48_000 + 5, 53_995] {
        check(&path, &replay, Target::Time(T0 + offset_ms * MS), None);
    }
    // A filter stays applied across seeks, back and forth.
    replay
        .requests
        .send(Request::Filter(Some(Filter::parse("orders.*").unwrap())))
        .unwrap();
    for n in [9_000, 2_000] {
        check(&path, &replay, Target::Events(n), Some("orders.*"));
    }
    replay.stop();
}

#[test]
fn transport_controls_step_jump_and_change_speed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.jsonl");
    // 600 events, 100 ms apart: a minute.
    support::write_recording(&path, 600, support::faulty(3), 100 * MS, false);
    let replay = start(
        &path,
        ReplayOptions {
            paused: true,
            start_offset_ns: Some(20_000 * MS),
            ..ReplayOptions::default()
        },
    );
    // Events are 100 ms apart from T0 + 100 ms: 200 of them by T0 + 20 s.
    let s = wait(&replay, "the start offset", |s| {
        status(s).events_played == 200
    });
    assert_eq!(
        status(&s).position_ns,
        T0 + 20_000 * MS,
        "--start puts the clock there"
    );
    let send = |t: Transport| replay.requests.send(Request::Transport(t)).unwrap();
    send(Transport::Step);
    let s = wait(&replay, "a step", |s| {
        status(s).events_played == 201 && !status(s).playing
    });
    assert_eq!(status(&s).position_ns, T0 + 20_100 * MS);
    send(Transport::Jump(10_000 * MS));
    wait(&replay, "a jump forward", |s| {
        status(s).events_played == 301
    });
    send(Transport::Jump(-25_000 * MS));
    wait(&replay, "a jump back", |s| status(s).events_played == 51);
    send(Transport::Jump(-60_000 * MS));
    let s = wait(&replay, "a jump before the start", |s| {
        status(s).events_played == 0
    });
    assert_eq!(status(&s).position_ns, T0, "clamped to the start");
    send(Transport::End);
    wait(&replay, "the end", |s| {
        status(s).events_played == 600 && status(s).at_end
    });
    send(Transport::Start);
    wait(&replay, "the start", |s| status(s).events_played == 0);
    send(Transport::Faster);
    send(Transport::Faster);
    let s = wait(&replay, "speed 5", |s| status(s).speed == 5.0);
    assert!(!status(&s).playing, "speed changes do not start playing");
    // Playing at 100x: the minute takes about 0.6 s.
    for _ in 0..4 {
        send(Transport::Faster);
    }
    wait(&replay, "speed 100", |s| status(s).speed == 100.0);
    let started = Instant::now();
    send(Transport::TogglePause);
    wait(&replay, "the end again", |s| {
        status(s).at_end && !status(s).playing
    });
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "a minute at 100x took {took:?}"
    );
    replay.stop();
}

#[test]
fn the_replay_screen_has_a_timeline_and_takes_go_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("screen.jsonl");
    support::write_recording(&path, 1_000, support::faulty(4), 100 * MS, true);
    let replay = start(
        &path,
        ReplayOptions {
            paused: true,
            ..ReplayOptions::default()
        },
    );
    wait(&replay, "the index", |s| status(s).total_events.is_some());
    let mut app = App::new(replay.snapshots.borrow().clone(), ui());
    let s = screen(&mut app, 140, 30);
    assert!(s.contains("‖ paused"), "{s}");
    assert!(s.contains("0:00 / 1:40"), "position and length: {s}");
    assert!(s.contains("0 / 1,000 events"), "{s}");
    assert!(
        s.contains("Space pause") && s.contains(": go to"),
        "replay hints: {s}"
    );

    // `:` opens the go-to input; a bad spec is explained, a good one seeks.
    let press = |app: &mut App, code: crossterm::event::KeyCode| {
        app.on_key(crossterm::event::KeyEvent::from(code));
        for c in app.take_outbox() {
            replay.requests.send(c).unwrap();
        }
    };
    use crossterm::event::KeyCode::{Char, Enter};
    press(&mut app, Char(':'));
    for ch in "soon".chars() {
        press(&mut app, Char(ch));
    }
    press(&mut app, Enter);
    let s = screen(&mut app, 140, 30);
    assert!(s.contains("'soon': go to #1200"), "{s}");
    press(&mut app, crossterm::event::KeyCode::Backspace);
    for _ in 0..4 {
        press(&mut app, crossterm::event::KeyCode::Backspace);
    }
    for ch in "50%".chars() {
        press(&mut app, Char(ch));
    }
    press(&mut app, Enter);
    let snap = wait(&replay, "50%", |s| status(s).events_played == 500);
    app.on_snapshot(snap);
    let s = screen(&mut app, 140, 30);
    assert!(s.contains("0:50 / 1:40"), "{s}");
    assert!(s.contains("500 / 1,000 events"), "{s}");
    // `r` explains that replays are not recorded.
    press(&mut app, Char('r'));
    assert!(screen(&mut app, 140, 30).contains("a replay is not recorded again"));
    replay.stop();
}
