//! `flowscope record` end to end against a real nats-server: every envelope
//! comes back byte for byte, a `kill -9` loses at most the last second,
//! Ctrl-C and `--duration` end with a complete file, redacted values never
//! reach the file, and new files are private to their owner.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use bytes::Bytes;
use flowscope::envelope::Envelope;
use flowscope::recording::{Reader, Record};

/// Starts `flowscope record -s URL ARGS` and waits until it has subscribed
/// (its first line on stderr says so).
fn start_record(url: &str, args: &[&str]) -> support::Spawned {
    let all: Vec<&str> = ["record", "-s", url].iter().chain(args).copied().collect();
    support::spawn_flowscope(&all, "flowscope: recording")
}

/// Waits (off the async runtime) for `flowscope record` to stop by itself;
/// if it does not, kills it and fails with what it printed.
async fn stopped(rec: support::Spawned) -> std::process::ExitStatus {
    tokio::task::spawn_blocking(move || wait_exit(rec, Duration::from_secs(20)))
        .await
        .unwrap()
}

/// Waits for a child to exit on its own.
fn wait_exit(mut rec: support::Spawned, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = rec.child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() >= deadline {
            // Ctrl-C makes it say what it got and dropped; then make sure.
            let _ = Command::new("kill")
                .args(["-INT", &rec.child.id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(2));
            let _ = rec.child.kill();
            let _ = rec.child.wait();
            panic!(
                "flowscope record did not stop within {within:?}; it printed:\n{}",
                rec.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every record of a recording, and the reader's warnings.
fn read_all(path: &Path) -> (Vec<Record>, Vec<String>) {
    let mut r = Reader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    while let Some(rec) = r.next_record() {
        out.push(rec);
    }
    (out, r.warnings().0.to_vec())
}

fn events(path: &Path) -> Vec<Envelope> {
    read_all(path)
        .0
        .into_iter()
        .filter_map(|r| match r {
            Record::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// What the test publishes: subject, headers (in order), payload, reply.
struct Sent {
    subject: String,
    headers: Vec<(String, String)>,
    payload: Bytes,
    reply: Option<String>,
}

fn mixed_workload() -> Vec<Sent> {
    let mut out = Vec::new();
    let sent =
        |subject: &str, headers: &[(&str, &str)], payload: Vec<u8>, reply: Option<&str>| Sent {
            subject: subject.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            payload: Bytes::from(payload),
            reply: reply.map(Into::into),
        };
    for i in 0..50 {
        out.push(sent(
            "rt.json",
            &[],
            format!(r#"{{"type":"OrderPlaced","order_id":"o-{i}","note":"line\nbreak \"quoted\" ünïcödé"}}"#).into_bytes(),
            None,
        ));
        // Every byte value, and invalid UTF-8.
        let mut binary: Vec<u8> = (0..=255u8).collect();
        binary.extend([0xff, 0xfe, 0x00, 0xc3, 0x28, i as u8]);
        out.push(sent("rt.binary", &[], binary, None));
        out.push(sent(
            "rt.headers",
            &[
                ("A-Trace", "one"),
                ("A-Trace", "two"),
                ("A-Trace", "three"),
                ("B-Kind", "x"),
            ],
            b"with headers".to_vec(),
            Some("rt.reply.inbox"),
        ));
        out.push(sent("rt.empty", &[], Vec::new(), None));
        out.push(sent("rt.empty", &[("Only", "headers")], Vec::new(), None));
    }
    for i in 0..3u8 {
        let big: Vec<u8> = (0..1_000_000u32).map(|n| (n as u8) ^ i).collect();
        out.push(sent("rt.big", &[], big, None));
    }
    out
}

async fn publish(url: &str, msgs: &[Sent]) {
    let client = support::client(url).await;
    for m in msgs {
        let mut headers = HeaderMap::new();
        for (k, v) in &m.headers {
            headers.append(k.as_str(), v.as_str());
        }
        match (&m.reply, m.headers.is_empty()) {
            (Some(r), _) => client
                .publish_with_reply_and_headers(
                    m.subject.clone(),
                    r.clone(),
                    headers,
                    m.payload.clone(),
                )
                .await
                .unwrap(),
            (None, true) => client
                .publish(m.subject.clone(), m.payload.clone())
                .await
                .unwrap(),
            (None, false) => client
                .publish_with_headers(m.subject.clone(), headers, m.payload.clone())
                .await
                .unwrap(),
        }
    }
    support::settle(&client).await;
}

/// Headers grouped by name (the client does not keep the order of names,
/// only the order of one name's values).
fn by_name(headers: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut names: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            let values = headers
                .iter()
                .filter(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
                .collect();
            (n, values)
        })
        .collect()
}

fn env_headers(e: &Envelope) -> Vec<(String, String)> {
    e.headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn round_trip(file_name: &str) {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    let msgs = mixed_workload();
    let n = msgs.len().to_string();
    let rec = start_record(&url, &["-o", path.to_str().unwrap(), "rt.>", "--count", &n]);
    publish(&url, &msgs).await;
    let status = stopped(rec).await;
    assert!(status.success(), "record exited with {status}");

    let (records, warnings) = read_all(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(
        matches!(records.last(), Some(Record::End { .. })),
        "a complete recording ends with an end record"
    );
    let got = events(&path);
    assert_eq!(got.len(), msgs.len());
    for (i, (e, m)) in got.iter().zip(&msgs).enumerate() {
        assert_eq!(e.index, i as u64, "capture order");
        assert_eq!(&*e.subject, m.subject, "event {i}");
        assert_eq!(
            e.payload, m.payload,
            "event {i} on {}: payload differs",
            m.subject
        );
        assert_eq!(
            by_name(&env_headers(e)),
            by_name(&m.headers),
            "event {i} headers"
        );
        assert_eq!(e.reply.as_deref(), m.reply.as_deref(), "event {i} reply");
    }
    assert!(
        got.windows(2).all(|w| w[0].received_ns <= w[1].received_ns),
        "receive times never go back"
    );
}

#[tokio::test]
async fn every_envelope_comes_back_byte_identical_and_in_order() {
    round_trip("mixed.jsonl").await;
}

#[tokio::test]
async fn compressed_recordings_round_trip_too() {
    round_trip("mixed.jsonl.zst").await;
}

/// Publishes `n` numbered events on `subject`.
async fn numbered(client: &async_nats::Client, subject: &str, from: usize, n: usize) {
    for i in from..from + n {
        client
            .publish(subject.to_owned(), format!(r#"{{"n":{i}}}"#).into())
            .await
            .unwrap();
    }
    support::settle(client).await;
}

async fn killed_mid_stream(file_name: &str) {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    let mut rec = start_record(&url, &["-o", path.to_str().unwrap(), "crash.>"]);
    let client = support::client(&url).await;
    numbered(&client, "crash.early", 0, 500).await;
    // More than the flush interval: these must be on disk.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // These may or may not make it.
    numbered(&client, "crash.late", 500, 200).await;
    rec.child.kill().unwrap(); // SIGKILL
    rec.child.wait().unwrap();

    let (records, _warnings) = read_all(&path);
    assert!(
        !records.iter().any(|r| matches!(r, Record::End { .. })),
        "a killed recorder never wrote its end record"
    );
    let got = events(&path);
    let numbers: Vec<u64> = got
        .iter()
        .map(|e| {
            serde_json::from_slice::<serde_json::Value>(&e.payload).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        numbers.len() >= 500,
        "only {} events survived",
        numbers.len()
    );
    let expected: Vec<u64> = (0..numbers.len() as u64).collect();
    assert_eq!(
        numbers, expected,
        "what survived is the start of what was sent, in order"
    );
}

#[tokio::test]
async fn kill_9_loses_at_most_the_last_second() {
    killed_mid_stream("crash.jsonl").await;
}

#[tokio::test]
async fn kill_9_of_a_compressed_recording_keeps_what_was_flushed() {
    killed_mid_stream("crash.jsonl.zst").await;
}

#[tokio::test]
async fn ctrl_c_ends_the_recording_with_the_file_complete() {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("int.jsonl");
    let rec = start_record(&url, &["-o", path.to_str().unwrap(), "int.>"]);
    let client = support::client(&url).await;
    numbered(&client, "int.a", 0, 100).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = rec.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = stopped(rec).await;
    assert!(status.success(), "Ctrl-C is a clean stop: {status}");
    let (records, warnings) = read_all(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(
        matches!(records.last(), Some(Record::End { events: 100, .. })),
        "{:?}",
        records.last()
    );
    assert_eq!(events(&path).len(), 100);
}

#[tokio::test]
async fn duration_stops_the_recording() {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timed.jsonl");
    let started = Instant::now();
    let rec = start_record(
        &url,
        &["-o", path.to_str().unwrap(), "--duration", "1500ms"],
    );
    let status = stopped(rec).await;
    assert!(status.success());
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(matches!(
        read_all(&path).0.last(),
        Some(Record::End { events: 0, .. })
    ));
}

#[tokio::test]
async fn redacted_values_never_reach_the_file_and_it_is_private() {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redacted.jsonl");
    let n = "20";
    let rec = start_record(
        &url,
        &[
            "-o",
            path.to_str().unwrap(),
            "pay.>",
            "--count",
            n,
            "--redact",
            "/card/number,header:Authorization",
            "--redact",
            "/customer/email",
        ],
    );
    let client = support::client(&url).await;
    for i in 0..20 {
        let mut headers = HeaderMap::new();
        headers.insert("Authorization", format!("Bearer sekret-token-{i}").as_str());
        headers.insert("Trace", "kept-trace");
        let payload = format!(
            r#"{{"type":"PaymentProcessed","card":{{"number":"4111-1111-1111-{i:04}","brand":"visa"}},"customer":{{"email":"who{i}@example.com"}},"amount":{i}}}"#
        );
        client
            .publish_with_headers("pay.processed", headers, payload.into())
            .await
            .unwrap();
    }
    support::settle(&client).await;
    let status = stopped(rec).await;
    assert!(status.success());

    let raw = std::fs::read_to_string(&path).unwrap();
    for secret in ["4111-1111", "sekret-token", "@example.com"] {
        assert!(!raw.contains(secret), "{secret} is in the recording");
    }
    assert!(
        raw.contains("visa") && raw.contains("kept-trace"),
        "the rest is kept"
    );
    let got = events(&path);
    assert_eq!(got.len(), 20);
    let v: serde_json::Value = serde_json::from_slice(&got[3].payload).unwrap();
    assert_eq!(v["card"]["number"], "[REDACTED]");
    assert_eq!(v["amount"], 3);
    assert!(env_headers(&got[3]).contains(&("Authorization".into(), "[REDACTED]".into())));
    let header = Reader::open(&path).unwrap().header().cloned().unwrap();
    assert_eq!(
        header.redacted,
        ["/card/number", "header:Authorization", "/customer/email"]
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "recordings are readable by their owner only");
}

#[tokio::test]
async fn credentials_are_never_written() {
    let server = support::server_with(flowscope::demo::server::ServerOptions {
        config: Some("authorization { user: alice, password: s3cr3t-pw }\n".into()),
        ..Default::default()
    });
    let port = server.port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.jsonl");
    let url = format!("nats://alice:s3cr3t-pw@127.0.0.1:{port}");
    let rec = start_record(&url, &["-o", path.to_str().unwrap(), "a.>", "--count", "1"]);
    let client =
        async_nats::ConnectOptions::with_user_and_password("alice".into(), "s3cr3t-pw".into())
            .connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
    client.publish("a.b", "hello".into()).await.unwrap();
    support::settle(&client).await;
    let status = stopped(rec).await;
    assert!(status.success());
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(
        !raw.contains("s3cr3t"),
        "the password is in the recording: {raw}"
    );
    assert!(
        raw.contains(&format!("127.0.0.1:{port}")),
        "the server is named: {raw}"
    );
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("taken.jsonl");
    std::fs::write(&path, "precious\n").unwrap();
    let server = support::server();
    let out = Command::new(assert_cmd::cargo::cargo_bin("flowscope"))
        .args(["record", "-s", &server.url(), "-o", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
}

/// Runs `flowscope ARGS` to completion; returns (status, stdout, stderr).
fn run_flowscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("flowscope"))
        .args(args)
        .env_remove("NATS_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_published_recording_records_again_as_the_same_events_under_the_prefix() {
    // Record the mixed workload on one server…
    let first = support::server();
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.jsonl.zst");
    let msgs = mixed_workload();
    let n = msgs.len().to_string();
    let rec = start_record(
        &first.url(),
        &["-o", original.to_str().unwrap(), "rt.>", "--count", &n],
    );
    publish(&first.url(), &msgs).await;
    stopped(rec).await;

    // …publish it into a fresh one with a prefix, recording there.
    let second = support::server();
    let again = dir.path().join("again.jsonl");
    let rec = start_record(
        &second.url(),
        &["-o", again.to_str().unwrap(), "replay.>", "--count", &n],
    );
    let url = second.url();
    let path = original.to_str().unwrap().to_owned();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        run_flowscope(&["-s", &url, "publish", &path, "--prefix", "replay", "--max"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("published {n} events")),
        "{stdout}"
    );
    assert!(
        stdout.contains("replay.rt.binary"),
        "per-subject counts: {stdout}"
    );
    let status = stopped(rec).await;
    assert!(status.success());

    let before = events(&original);
    let after = events(&again);
    assert_eq!(before.len(), after.len());
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        assert_eq!(&*b.subject, format!("replay.{}", a.subject), "event {i}");
        assert_eq!(a.payload, b.payload, "event {i} payload");
        assert_eq!(
            by_name(&env_headers(a)),
            by_name(&env_headers(b)),
            "event {i} headers"
        );
        assert_eq!(
            b.reply, None,
            "replies name the old session's inboxes and are not sent"
        );
    }
}

#[tokio::test]
async fn publish_keeps_the_recorded_timing_scaled_by_the_speed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timed.jsonl");
    // 40 events 50 ms apart: 1.95 s recorded.
    support::write_recording(&path, 40, support::faulty(1), 50_000_000, false);
    let server = support::server();
    let client = support::client(&server.url()).await;
    let mut sub = client.subscribe(">").await.unwrap();
    support::settle(&client).await;
    let url = server.url();
    let p = path.to_str().unwrap().to_owned();
    let publisher = tokio::task::spawn_blocking(move || {
        run_flowscope(&["-s", &url, "publish", &p, "--speed", "2"])
    });
    use futures::StreamExt;
    sub.next().await.unwrap();
    let started = Instant::now();
    for _ in 1..40 {
        tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
    }
    let took = started.elapsed();
    let (code, _, stderr) = publisher.await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    // 1.95 s at 2x: about 0.975 s between the first and the last.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1_600),
        "took {took:?}"
    );
}

#[test]
fn publish_dry_run_selects_by_subject_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sel.jsonl");
    // 200 events 100 ms apart from T0 + 100 ms.
    support::write_recording(&path, 200, support::faulty(2), 100_000_000, false);
    let all: Vec<Envelope> = events(&path);
    let expected = all
        .iter()
        .filter(|e| e.subject.starts_with("orders."))
        .filter(|e| {
            let off = e.received_ns - support::screen::T0;
            (5_000_000_000..=10_000_000_000).contains(&off)
        })
        .count();
    assert!(expected > 0);
    let (code, stdout, stderr) = run_flowscope(&[
        "publish",
        path.to_str().unwrap(),
        "--dry-run",
        "--subject",
        "orders.>",
        "--from",
        "5s",
        "--to",
        "10s",
        "--rate",
        "100",
        "-s",
        "nats://127.0.0.1:1",
    ]);
    assert_eq!(code, 0, "a dry run connects to nothing: {stderr}");
    assert!(
        stdout.contains(&format!("would publish {expected} events")),
        "{stdout}"
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('+')).collect();
    assert_eq!(lines.len(), expected);
    assert!(
        lines[1].starts_with("+0.010s orders."),
        "paced at 100/s: {}",
        lines[1]
    );
}

#[tokio::test]
async fn in_a_live_session_r_starts_and_stops_recordings_and_the_status_bar_shows_rec() {
    use flowscope::host::{RecordingDefaults, Request};
    use flowscope::session::{self, AttachOptions};
    let server = support::server();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("from-the-start.jsonl");
    let folder = dir.path().join("recordings");
    let view = flowscope::session::SessionSettings::default();
    let analysis = flowscope::analysis::AnalysisConfig::default();
    let opts = AttachOptions {
        recording: RecordingDefaults {
            dir: folder.clone(),
            ..RecordingDefaults::default()
        },
        initial_recording: Some(first.clone()),
        ..AttachOptions::new(vec!["w.>".into()], &view, &analysis)
    };
    let live = session::attach_with(&support::resolved(&server.url()), opts)
        .await
        .unwrap();
    let client = support::client(&server.url()).await;
    numbered(&client, "w.a", 0, 10).await;
    support::wait_for(&live, Duration::from_secs(10), "10 recorded", |s| {
        s.status.recording.as_ref().is_some_and(|r| r.events == 10)
    })
    .await;

    // `r` stops the recording --record started, `r` again starts a new one.
    live.host.send(Request::ToggleRecording);
    let s = support::wait_for(&live, Duration::from_secs(10), "stopped", |s| {
        s.status.recording.is_none()
    })
    .await;
    assert!(
        s.status
            .notice
            .as_deref()
            .unwrap_or("")
            .starts_with("recorded 10 events to"),
        "{:?}",
        s.status.notice
    );
    live.host.send(Request::ToggleRecording);
    // Events and controls reach the engine on separate channels: publish
    // once the new recording is open, or some may come before it.
    support::wait_for(&live, Duration::from_secs(10), "recording again", |s| {
        s.status.recording.is_some()
    })
    .await;
    numbered(&client, "w.b", 10, 5).await;
    let s = support::wait_for(&live, Duration::from_secs(10), "5 more recorded", |s| {
        s.status.recording.as_ref().is_some_and(|r| r.events == 5)
    })
    .await;
    let mut app =
        flowscope::tui::app::App::new(s.clone(), flowscope::tui::app::UiOptions::default());
    let screen = support::screen::screen(&mut app, 200, 20);
    let name = std::path::Path::new(&s.status.recording.as_ref().unwrap().path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("flowscope-") && name.ends_with(".jsonl"),
        "{name}"
    );
    assert!(screen.contains(&format!("● REC {name} 5")), "{screen}");
    live.host.send(Request::ToggleRecording);
    support::wait_for(&live, Duration::from_secs(10), "stopped again", |s| {
        s.status.recording.is_none()
    })
    .await;
    live.stop();

    let (records, warnings) = read_all(&first);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(matches!(
        records.last(),
        Some(Record::End { events: 10, .. })
    ));
    assert_eq!(events(&first).len(), 10);
    let second = folder.join(&name);
    let (records, _) = read_all(&second);
    assert!(
        matches!(&records[0], Record::Link(l) if l.link == flowscope::recording::format::Link::Connected && l.version.is_some()),
        "a recording started mid-session opens with the connection state: {:?}",
        records[0]
    );
    let later = events(&second);
    assert_eq!(
        later.iter().map(|e| e.index).collect::<Vec<_>>(),
        [10, 11, 12, 13, 14]
    );
    assert!(later.iter().all(|e| e.subject.as_ref() == "w.b"));
}
