//! Consumer lag against a real nats-server: durable consumers driven to
//! known states show exact numbers and get the statuses the README's rules
//! give; `flowscope lag` prints them as JSON and sets its exit status; the
//! polls go into recordings and come back in a replay.

mod support;

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, pull};
use async_nats::jetstream::{self, AckKind, stream};
use flowscope::analysis::lag::{ConsumerState, Health, HealthRules, LagBook, LagConfig};
use flowscope::source::lag::LagPoller;
use futures::StreamExt;
use serde_json::Value;

type Consumer = jetstream::consumer::Consumer<pull::Config>;

struct Setup {
    js: jetstream::Context,
    acker: Consumer,
    holder: Consumer,
    slow: Consumer,
    nacker: Consumer,
}

async fn durable(stream: &jetstream::stream::Stream, name: &str) -> Consumer {
    stream
        .create_consumer(pull::Config {
            durable_name: Some(name.into()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_secs(300),
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Stream LAG with five durable consumers; `idle` never fetches.
async fn setup(url: &str) -> Setup {
    let client = support::client(url).await;
    let js = jetstream::new(client);
    let stream = js
        .create_stream(stream::Config {
            name: "LAG".into(),
            subjects: vec!["lag.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    durable(&stream, "idle").await;
    Setup {
        acker: durable(&stream, "acker").await,
        holder: durable(&stream, "holder").await,
        slow: durable(&stream, "slow").await,
        nacker: durable(&stream, "nacker").await,
        js,
    }
}

async fn publish(js: &jetstream::Context, n: usize) {
    for i in 0..n {
        js.publish(format!("lag.e{}", i % 3), "{}".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

/// Fetches up to `n` available messages and treats each with `kind`
/// (`None`: leave it unacknowledged). Acks wait for the server's answer.
async fn take(c: &Consumer, n: usize, kind: Option<AckKind>) -> usize {
    let mut batch = c
        .fetch()
        .max_messages(n)
        .expires(Duration::from_millis(300))
        .messages()
        .await
        .unwrap();
    let mut got = 0;
    while let Some(m) = batch.next().await {
        let m = m.unwrap();
        got += 1;
        if let Some(k) = &kind {
            m.double_ack_with(*k).await.unwrap();
        }
    }
    got
}

/// One round of work: `published` new messages, then every consumer does
/// what it does.
async fn round(s: &Setup, published: usize) {
    publish(&s.js, published).await;
    take(&s.acker, 1000, Some(AckKind::Ack)).await;
    take(&s.holder, 3, None).await;
    take(&s.slow, 2, Some(AckKind::Ack)).await;
    take(&s.nacker, 2, Some(AckKind::Nak(None))).await;
}

fn find<'a>(consumers: &'a [ConsumerState], name: &str) -> &'a ConsumerState {
    consumers
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("consumer {name} in the poll"))
}

#[tokio::test]
async fn consumers_in_known_states_show_exact_numbers_and_their_status() {
    let server = support::server();
    let url = server.url();
    let s = setup(&url).await;
    publish(&s.js, 20).await;
    assert_eq!(take(&s.acker, 100, Some(AckKind::Ack)).await, 20);
    assert_eq!(take(&s.holder, 5, None).await, 5);
    assert_eq!(take(&s.slow, 4, Some(AckKind::Ack)).await, 4);
    assert_eq!(take(&s.nacker, 4, Some(AckKind::Nak(None))).await, 4);
    // The naked messages come back: these four are redeliveries.
    assert_eq!(take(&s.nacker, 4, None).await, 4);

    let mut poller = LagPoller::new(support::client(&url).await);
    let poll = poller.poll().await;
    assert_eq!(poll.error, None);
    assert_eq!(poll.streams.len(), 1);
    let st = &poll.streams[0];
    assert_eq!(
        (st.name.as_str(), st.messages, st.last_seq),
        ("LAG", 20, 20)
    );
    assert_eq!(st.retention, "limits");
    assert_eq!(st.consumers, 5);
    let numbers = |name: &str| {
        let c = find(&poll.consumers, name);
        (c.unprocessed, c.outstanding, c.redelivered, c.ack_floor_seq)
    };
    assert_eq!(numbers("acker"), (0, 0, 0, 20));
    assert_eq!(numbers("holder"), (15, 5, 0, 0));
    assert_eq!(numbers("slow"), (16, 0, 0, 4));
    assert_eq!(numbers("idle"), (20, 0, 0, 0));
    assert_eq!(numbers("nacker"), (16, 4, 4, 0));
    let idle = find(&poll.consumers, "idle");
    assert!(idle.durable && idle.pull && !idle.flowscope);
    assert_eq!(idle.ack_policy, "explicit");
    assert_eq!(idle.lag(), 20);
    assert!(
        idle.oldest_unacked_ns.is_some_and(|t| t > 0),
        "the first message's publish time"
    );
    assert_eq!(find(&poll.consumers, "acker").oldest_unacked_ns, None);

    // Publishing goes on; each consumer keeps doing what it does. Judge on
    // a window of three polls.
    let mut book = LagBook::new(LagConfig {
        rules: HealthRules {
            window: 3,
            allowed_lag: 0,
        },
        overrides: vec![],
    });
    let mut t = 1_000_000_000_000i64;
    for _ in 0..3 {
        round(&s, 5).await;
        book.poll(t, &poller.poll().await);
        t += 2_000_000_000;
    }
    let view = book.view();
    let health = |name: &str| {
        view.consumers()
            .find(|c| c.state.name == name)
            .map(|c| (c.health, c.reason))
            .unwrap()
    };
    assert_eq!(health("acker").0, Health::Ok, "{:?}", health("acker"));
    assert_eq!(health("idle").0, Health::Stop, "{:?}", health("idle"));
    assert_eq!(health("holder").0, Health::Stall, "{:?}", health("holder"));
    assert_eq!(health("nacker").0, Health::Stall, "{:?}", health("nacker"));
    assert_eq!(health("slow").0, Health::Warn, "{:?}", health("slow"));
    let names: Vec<_> = view.consumers().map(|c| c.state.name.as_str()).collect();
    assert_eq!(names[0], "idle", "worst first: {names:?}");
    assert_eq!(names[4], "acker", "{names:?}");

    // Deleting and creating a consumer again rewinds its sequences.
    let stream = s.js.get_stream("LAG").await.unwrap();
    stream.delete_consumer("acker").await.unwrap();
    durable(&stream, "acker").await;
    book.poll(t, &poller.poll().await);
    assert_eq!(
        book.view()
            .consumers()
            .find(|c| c.state.name == "acker")
            .unwrap()
            .health,
        Health::Rewind
    );
}

/// Writes a config that judges on three polls and lets `acker` be a little
/// behind between rounds.
fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("flowscope.toml");
    std::fs::write(
        &path,
        "[lag]\nwindow = 3\n\n[[lag.consumers]]\nstream = \"LAG\"\nconsumer = \"acker\"\nallowed_lag = 10\n",
    )
    .unwrap();
    path
}

fn lag_cmd(url: &str, cfg: &std::path::Path, extra: &[&str]) -> std::process::Child {
    let mut args = vec![
        "lag",
        "-s",
        url,
        "-c",
        cfg.to_str().unwrap(),
        "--lag-interval",
        "300ms",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    std::process::Command::new(assert_cmd::cargo::cargo_bin("flowscope"))
        .args(&args)
        .env_remove("NATS_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn flowscope_lag_prints_every_consumer_as_json_and_fails_on_request() {
    let server = support::server();
    let url = server.url();
    let s = setup(&url).await;
    publish(&s.js, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let child = lag_cmd(&url, &cfg, &["--fail-on", "stall"]);
    // Keep the consumers working while it samples its window.
    let driving = async {
        for _ in 0..8 {
            round(&s, 5).await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    };
    let (out, ()) = tokio::join!(
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
        driving
    );
    let out = out.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["flowscope_lag"], 1);
    assert_eq!(report["samples"], 3);
    assert_eq!(report["streams"][0]["name"], "LAG");
    let consumers = report["consumers"].as_array().unwrap();
    assert_eq!(consumers.len(), 5);
    let status = |name: &str| {
        let c = consumers.iter().find(|c| c["name"] == name).unwrap();
        (c["status"].as_str().unwrap().to_owned(), c.clone())
    };
    assert_eq!(status("idle").0, "STOP", "{}", status("idle").1);
    assert_eq!(status("holder").0, "STALL", "{}", status("holder").1);
    assert_eq!(status("acker").0, "OK", "{}", status("acker").1);
    let acker = status("acker").1;
    assert_eq!(acker["allowed_lag"], 10, "the per-consumer override");
    assert_eq!(acker["window"], 3);
    let idle = status("idle").1;
    assert_eq!(idle["ack_floor_seq"], 0);
    assert!(idle["lag"].as_u64().unwrap() >= 10);
    assert_eq!(idle["lag"], idle["unprocessed"]);
    assert!(idle["oldest_unacked_age_secs"].as_f64().is_some());
    assert_eq!(out.status.code(), Some(3), "a STALL fails --fail-on stall");

    // Nothing at or beyond STOP among acker alone? Ask about one stream
    // whose only consumers are fine: a new stream with one acker.
    let js = &s.js;
    let ok = js
        .create_stream(stream::Config {
            name: "FINE".into(),
            subjects: vec!["fine.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    durable(&ok, "reader").await;
    let child = lag_cmd(&url, &cfg, &["--stream", "FINE", "--fail-on", "warn"]);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["consumers"].as_array().unwrap().len(), 1);
    assert_eq!(report["consumers"][0]["status"], "OK");
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test]
async fn lag_polls_are_recorded_and_a_replay_shows_them() {
    let server = support::server();
    let url = server.url();
    let s = setup(&url).await;
    publish(&s.js, 7).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lag.jsonl");
    let rec = support::spawn_flowscope(
        &[
            "record",
            "-s",
            &url,
            "-o",
            path.to_str().unwrap(),
            "--lag-interval",
            "200ms",
            "--duration",
            "1500ms",
            "lag.>",
        ],
        "flowscope: recording",
    );
    let mut child = rec.child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    let mut reader = flowscope::recording::Reader::open(&path).unwrap();
    let mut polls = Vec::new();
    while let Some(r) = reader.next_record() {
        if let flowscope::recording::Record::Lag { t, poll } = r {
            polls.push((t, poll));
        }
    }
    assert!(polls.len() >= 3, "{} polls recorded", polls.len());
    let idle = find(&polls[0].1.consumers, "idle");
    assert_eq!(idle.unprocessed, 7);

    // The same file through the engine, as replay and analyze apply it.
    let mut engine = flowscope::analysis::Engine::new(Default::default());
    let mut reader = flowscope::recording::Reader::open(&path).unwrap();
    while let Some(r) = reader.next_record() {
        r.apply(&mut engine);
    }
    let snap = engine.snapshot();
    let names: Vec<_> = snap.lag.consumers().map(|c| c.state.name.clone()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(snap.lag.polls as usize, polls.len());
    let idle = snap
        .lag
        .consumers()
        .find(|c| c.state.name == "idle")
        .unwrap();
    assert_eq!(idle.history.len(), polls.len());
}
