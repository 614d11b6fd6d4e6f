//! Every figure on screen is right: rates over the time actually observed,
//! `paused` in a paused replay, publish times for stream reads, go-to
//! targets outside a recording refused, the lag view without a server,
//! streams counted as a subject's consumers, recording notices that pass,
//! `record` with both limits, and `publish --dry-run`'s own timing.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use crossterm::event::KeyCode;
use flowscope::analysis::flow::FlowPoll;
use flowscope::analysis::lag::{ConsumerState, LagPoll, StreamState};
use flowscope::analysis::snapshot::LinkState;
use flowscope::analysis::{Engine, EngineConfig, Snapshot};
use flowscope::envelope::Envelope;
use flowscope::host::{RecordingDefaults, Request};
use flowscope::recording::Reader;
use flowscope::replay::{Replay, ReplayOptions};
use flowscope::session::SessionSettings;
use flowscope::session::{self, AttachOptions};
use flowscope::source::start::StartSpec;
use flowscope::source::stream::StreamSpec;
use flowscope::tui::app::App;
use support::screen::{MS, T0, app, key, screen};

const HEALTHY: &str = "recordings/healthy.jsonl";

fn wait_for(
    rx: &tokio::sync::watch::Receiver<Arc<Snapshot>>,
    what: &str,
    cond: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = rx.borrow().clone();
        if cond(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn rates_are_measured_over_the_time_observed() {
    // healthy.jsonl: 40 events a second. A second after its first event,
    // the rate is taken over the 1.5 s observed since the recording began
    // (it starts half a second before the first event), not over 5 s.
    let mut reader = Reader::open(std::path::Path::new(HEALTHY)).unwrap();
    let start = reader.header().unwrap().started_ns;
    let mut e = Engine::new(EngineConfig::default());
    e.tick(start);
    let mut first = None;
    let mut seen = 0u64;
    while let Some(r) = reader.next_record() {
        let t = r.time();
        if let flowscope::recording::Record::Event(env) = &r {
            let f = *first.get_or_insert(env.received_ns);
            if t > f + 1_000 * MS {
                break;
            }
            seen += 1;
        }
        r.apply(&mut e);
    }
    let now = first.unwrap() + 1_000 * MS;
    e.tick(now);
    let rate = e.snapshot().status.events_per_sec;
    let observed = (now - start) as f64 / 1e9;
    assert!(
        (rate - seen as f64 / observed).abs() < 0.5,
        "{seen} events over {observed:.2} s shows {rate}"
    );
    assert!(rate > 20.0, "one second in, not 0.4 ev/s: {rate}");
}

#[test]
fn a_paused_replay_says_paused_and_not_connecting() {
    let replay = Replay::start(
        std::path::Path::new(HEALTHY),
        session_config(),
        ReplayOptions {
            paused: true,
            ..ReplayOptions::default()
        },
    )
    .unwrap();
    let snap = wait_for(&replay.snapshots, "the first snapshot", |s| {
        s.replay.is_some()
    });
    let mut app = App::new(snap, support::screen::ui());
    let s = screen(&mut app, 140, 30);
    assert!(
        s.contains("○ replay │ paused │"),
        "no rate while paused: {s}"
    );
    assert!(!s.contains("connecting"), "{s}");
    assert!(!s.contains("Waiting for events"), "{s}");
    assert!(
        s.contains("No events yet at this point of the recording"),
        "{s}"
    );
    replay.stop();
}

fn session_config() -> EngineConfig {
    EngineConfig {
        initial_link: LinkState::Offline,
        ..EngineConfig::default()
    }
}

#[test]
fn a_go_to_outside_the_recording_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("minute.jsonl");
    // 600 events 100 ms apart: one minute from 09:00:00 UTC.
    support::write_recording(&path, 600, support::faulty(1), 100 * MS, false);
    let replay = Replay::start(
        &path,
        session_config(),
        ReplayOptions {
            paused: true,
            ..ReplayOptions::default()
        },
    )
    .unwrap();
    let snap = wait_for(&replay.snapshots, "the index", |s| {
        s.replay.as_ref().is_some_and(|r| r.total_events.is_some())
    });
    let mut app = App::new(snap, support::screen::ui());
    for (spec, says) in [
        ("#99999", "past the end: the recording holds 600 events"),
        (
            "1m30s",
            "past the end: the recording runs from 09:00:00.000 to 09:01:00.000 (1m00s)",
        ),
        ("14:03:05", "past the end"),
        ("+5m", "past the end"),
    ] {
        app.on_key(KeyCode::Char(':').into());
        for ch in spec.chars() {
            app.on_key(KeyCode::Char(ch).into());
        }
        app.on_key(KeyCode::Enter.into());
        assert!(
            app.take_outbox().is_empty(),
            "{spec} is not sent to the player"
        );
        let s = screen(&mut app, 160, 30);
        assert!(s.contains(&format!("{spec}: {says}")), "{spec}: {s}");
        app.on_key(KeyCode::Esc.into());
    }
    replay.stop();
}

#[test]
fn the_lag_view_without_a_server_says_there_is_nothing_to_poll() {
    let mut e = Engine::new(session_config());
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('5'));
    let s = screen(&mut a, 120, 30);
    assert!(s.contains("No server to poll"), "{s}");
}

#[test]
fn a_stream_and_its_consumers_are_consumers_of_the_subject() {
    let mut e = Engine::new(EngineConfig::default());
    e.ingest(Envelope::new(T0, "orders.created", "{}"));
    let consumer = |name: &str| ConsumerState {
        stream: "ORDERS".into(),
        name: name.into(),
        durable: true,
        pull: true,
        ..ConsumerState::default()
    };
    e.lag_poll(
        T0,
        &LagPoll {
            streams: vec![StreamState {
                name: "ORDERS".into(),
                retention: "limits".into(),
                consumers: 3,
                subject_filters: vec!["orders.>".into()],
                ..StreamState::default()
            }],
            consumers: vec![
                consumer("shipping"),
                consumer("analytics"),
                consumer("billing"),
            ],
            error: None,
        },
    );
    e.flow_poll(
        T0,
        &FlowPoll {
            servers: 1,
            ..FlowPoll::default()
        },
    );
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('2'));
    screen(&mut a, 140, 30);
    key(&mut a, &mut e, KeyCode::Down);
    let s = screen(&mut a, 140, 30);
    assert!(!s.contains("no subscribers"), "{s}");
    assert!(
        s.contains("each message delivered 1×: stored by 1 stream, read by 3 consumers"),
        "{s}"
    );
    assert!(s.contains("read by analytics, billing, shipping"), "{s}");
    let row = s.lines().find(|l| l.contains("created")).unwrap();
    assert!(
        row.contains("1×"),
        "the Fan-out column counts the stream: {row}"
    );
}

#[tokio::test]
async fn stream_reads_show_when_each_message_was_published() {
    let server = support::server();
    let url = server.url();
    let js = jetstream::new(support::client(&url).await);
    js.create_stream(stream::Config {
        name: "TIMES".into(),
        subjects: vec!["times.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    for i in 0..21 {
        js.publish("times.tick", format!(r#"{{"n":{i}}}"#).into())
            .await
            .unwrap()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let view = SessionSettings::default();
    let analysis = flowscope::analysis::AnalysisConfig::default();
    let live = session::attach_with(
        &support::resolved(&url),
        AttachOptions {
            streams: vec![StreamSpec {
                stream: "TIMES".into(),
                from: StartSpec::All,
                filter: None,
            }],
            ..AttachOptions::new(Vec::new(), &view, &analysis)
        },
    )
    .await
    .unwrap();
    let snap = support::wait_for(&live, Duration::from_secs(20), "21 events", |s| {
        s.status.total_events == 21
    })
    .await;
    let mut app = App::new(snap, support::screen::ui());
    let s = screen(&mut app, 160, 40);
    let times: std::collections::BTreeSet<String> = s
        .lines()
        .filter(|l| l.contains("times.tick"))
        .filter_map(|l| l.split('│').nth(1))
        .map(|cells| cells.chars().take(12).collect::<String>())
        .filter(|t| t.starts_with(char::is_numeric))
        .collect();
    assert!(
        times.len() == 21,
        "21 messages published over a second show their own times: {times:?}\n{s}"
    );
    live.close().await;
}

#[test]
fn a_recording_started_mid_session_says_it_records_from_now_on() {
    let dir = tempfile::tempdir().unwrap();
    let (host, inputs) = flowscope::host::live::start(
        Engine::new(EngineConfig::default()),
        1024,
        RecordingDefaults {
            dir: dir.path().to_path_buf(),
            ..RecordingDefaults::default()
        },
        None,
    );
    for i in 0..3 {
        inputs.ingest.offer(Envelope::new(T0 + i, "a.b", "{}"));
    }
    wait_for(&host.snapshots, "3 events", |s| s.status.total_events == 3);
    host.send(Request::ToggleRecording);
    let s = wait_for(&host.snapshots, "the recording", |s| {
        s.status.recording.is_some()
    });
    let notice = s.status.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("from now on (the 3 events before are not in it)"),
        "{notice}"
    );
    host.send(Request::ToggleRecording);
    let s = wait_for(&host.snapshots, "the stop", |s| {
        s.status.recording.is_none()
    });
    assert!(
        s.status
            .notice
            .as_deref()
            .unwrap_or_default()
            .starts_with("recorded 0 events to"),
        "{:?}",
        s.status.notice
    );
    // The notice passes: it is not shown for the rest of the session.
    wait_for(&host.snapshots, "the notice to pass", |s| {
        s.status.notice.is_none()
    });
}

#[tokio::test]
async fn record_takes_count_and_duration_and_ends_at_the_first() {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("both.jsonl");
    let mut rec = support::spawn_flowscope(
        &[
            "record",
            "-s",
            &url,
            "-o",
            file.to_str().unwrap(),
            "--count",
            "3",
            "--duration",
            "1m",
            "both.>",
        ],
        "flowscope: recording",
    );
    let client = support::client(&url).await;
    for i in 0..5 {
        client
            .publish("both.x", format!("{i}").into())
            .await
            .unwrap();
    }
    support::settle(&client).await;
    let started = Instant::now();
    let status = rec.child.wait().unwrap();
    assert!(status.success(), "{}", rec.stderr());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "ended at the count"
    );
    let events = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"event\""))
        .count();
    assert_eq!(events, 3);
}

#[test]
fn a_dry_run_says_how_long_publishing_would_take() {
    let out = assert_cmd::Command::cargo_bin("flowscope")
        .unwrap()
        .args(["publish", HEALTHY, "--dry-run"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let last_offset = text
        .lines()
        .rfind(|l| l.starts_with('+'))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let summary = text
        .lines()
        .find(|l| l.starts_with("would publish"))
        .unwrap();
    // The last line is at +39.5s or so: the summary says the same span.
    let (mins, secs) = last_offset
        .trim_start_matches('+')
        .trim_end_matches('s')
        .split_once('m')
        .unwrap_or((
            "0",
            last_offset.trim_start_matches('+').trim_end_matches('s'),
        ));
    let secs = mins.parse::<f64>().unwrap() * 60.0 + secs.parse::<f64>().unwrap();
    assert!(secs > 30.0, "{last_offset}");
    assert!(
        summary.ends_with(&format!(
            "over {}",
            flowscope::format::duration((secs * 1e9) as i64)
        )),
        "{summary} vs {last_offset}"
    );
}
