//! Reading JetStream streams against a real nats-server: every start point
//! delivers exactly the expected sequences, a server restart neither repeats
//! nor skips a message, work queue and interest streams behave as the
//! README says, and a server without JetStream gets a plain sentence.

mod support;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use flowscope::analysis::snapshot::{ReadMode, Snapshot};
use flowscope::demo::server::ServerOptions;
use flowscope::session::SessionSettings;
use flowscope::session::{self, AttachOptions, LiveSession};
use flowscope::source::start::StartSpec;
use flowscope::source::stream::StreamSpec;

const WAIT: Duration = Duration::from_secs(20);

async fn make_stream(
    url: &str,
    name: &str,
    subjects: &str,
    retention: stream::RetentionPolicy,
) -> jetstream::Context {
    let js = jetstream::new(support::client(url).await);
    js.create_stream(stream::Config {
        name: name.into(),
        subjects: vec![subjects.into()],
        retention,
        ..Default::default()
    })
    .await
    .unwrap();
    js
}

/// Publishes `n` messages numbered from `from`, alternating between
/// `<prefix>.a` and `<prefix>.b`, each acknowledged by the stream.
async fn publish(js: &jetstream::Context, prefix: &str, from: u64, n: u64) {
    for i in from..from + n {
        let subject = format!("{prefix}.{}", if i % 2 == 1 { "a" } else { "b" });
        js.publish(subject, format!(r#"{{"n":{i}}}"#).into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

async fn read(url: &str, spec: StreamSpec) -> LiveSession {
    read_with(url, spec, SessionSettings::default()).await
}

async fn read_with(url: &str, spec: StreamSpec, view: SessionSettings) -> LiveSession {
    let analysis = flowscope::analysis::AnalysisConfig::default();
    session::attach_with(
        &support::resolved(url),
        AttachOptions {
            streams: vec![spec],
            ..AttachOptions::new(Vec::new(), &view, &analysis)
        },
    )
    .await
    .expect("flowscope reads the stream")
}

fn spec(stream: &str, from: StartSpec) -> StreamSpec {
    StreamSpec {
        stream: stream.into(),
        from,
        filter: None,
    }
}

/// The stream sequences of every event flowscope holds, in arrival order.
fn sequences(snap: &Snapshot) -> Vec<u64> {
    snap.events
        .iter()
        .map(|e| e.env.js.as_ref().expect("stream metadata").stream_seq)
        .collect()
}

/// Waits for `n` events, then a little longer to see that no more come.
async fn exactly(live: &LiveSession, n: usize) -> Vec<u64> {
    support::wait_for(live, WAIT, &format!("{n} events"), |s| s.events.len() >= n).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    sequences(&live.host.snapshots.borrow())
}

#[tokio::test]
async fn every_start_point_delivers_exactly_the_expected_sequences() {
    let server = support::server();
    let url = server.url();
    let js = make_stream(&url, "SP", "sp.>", stream::RetentionPolicy::Limits).await;
    publish(&js, "sp", 1, 6).await;
    // Sequences 7..=10 are stored at least a second later.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let s = js.get_stream("SP").await.unwrap();
    publish(&js, "sp", 7, 4).await;
    let seventh = s.get_raw_message(7).await.unwrap().time;
    let at7 = StartSpec::Time(seventh.timestamp_nanos_opt().unwrap());

    let cases: Vec<(StartSpec, Vec<u64>)> = vec![
        (StartSpec::All, (1..=10).collect()),
        (StartSpec::Last, vec![10]),
        (StartSpec::LastPerSubject, vec![9, 10]),
        (StartSpec::Seq(4), (4..=10).collect()),
        (at7, (7..=10).collect()),
    ];
    for (from, want) in cases {
        let live = read(&url, spec("SP", from)).await;
        let got = exactly(&live, want.len()).await;
        assert_eq!(got, want, "--from {from}");
        live.stop();
    }
    // ago=: from half a second before the seventh message (the sixth is
    // 1.5 s older), counted back from now.
    let since_seventh = (chrono::Utc::now() - seventh).to_std().unwrap();
    let ago = StartSpec::Ago(since_seventh + Duration::from_millis(500));
    let live = read(&url, spec("SP", ago)).await;
    assert_eq!(exactly(&live, 4).await, vec![7, 8, 9, 10], "--from {ago}");
    live.stop();

    // new: nothing stored before, everything stored after.
    let live = read(&url, spec("SP", StartSpec::New)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(live.host.snapshots.borrow().events.is_empty());
    publish(&js, "sp", 11, 3).await;
    assert_eq!(exactly(&live, 3).await, vec![11, 12, 13]);
    let snap = live.host.snapshots.borrow().clone();
    let reader = &snap.status.readers[0];
    assert_eq!(reader.stream, "SP");
    assert_eq!(reader.mode, ReadMode::Ordered);
    assert_eq!(reader.last_seq, 13);
    live.stop();

    // A filter reads only its subjects.
    let live = read(
        &url,
        StreamSpec {
            filter: Some("sp.a".into()),
            ..spec("SP", StartSpec::All)
        },
    )
    .await;
    assert_eq!(exactly(&live, 7).await, vec![1, 3, 5, 7, 9, 11, 13]);
    live.stop();
}

#[tokio::test]
async fn flowscope_readers_are_ephemeral_and_say_whose_they_are() {
    let server = support::server();
    let url = server.url();
    let js = make_stream(&url, "OWN", "own.>", stream::RetentionPolicy::Limits).await;
    publish(&js, "own", 1, 2).await;
    let live = read(&url, spec("OWN", StartSpec::All)).await;
    exactly(&live, 2).await;
    let mut s = js.get_stream("OWN").await.unwrap();
    let mut consumers = s.consumers();
    let mut infos = Vec::new();
    while let Some(c) = futures::StreamExt::next(&mut consumers).await {
        infos.push(c.unwrap());
    }
    assert_eq!(infos.len(), 1, "one reader");
    let c = &infos[0];
    assert!(c.config.durable_name.is_none(), "ephemeral");
    assert_eq!(
        c.config.description.as_deref(),
        Some(flowscope::source::stream::READER_DESCRIPTION)
    );
    assert_eq!(
        c.config.ack_policy,
        jetstream::consumer::AckPolicy::None,
        "it never acks, so it disturbs no one"
    );
    assert!(c.config.memory_storage);
    live.close().await;
    // Closing removes it (the server would after 30 s anyway).
    assert_eq!(s.info().await.unwrap().state.consumer_count, 0);
}

#[tokio::test]
async fn a_server_restart_mid_read_neither_repeats_nor_skips() {
    let mut server = support::server();
    let url = server.url();
    let js = make_stream(&url, "RS", "rs.>", stream::RetentionPolicy::Limits).await;
    publish(&js, "rs", 1, 3_000).await;
    drop(js);
    let live = read(&url, spec("RS", StartSpec::All)).await;
    support::wait_for(&live, WAIT, "a first part of the stream", |s| {
        !s.events.is_empty()
    })
    .await;
    server.restart().expect("restart on the same port");
    let js = jetstream::new(support::client(&url).await);
    publish(&js, "rs", 3_001, 500).await;
    let got = exactly(&live, 3_500).await;
    assert_eq!(
        got,
        (1..=3_500).collect::<Vec<u64>>(),
        "every stored message exactly once, in order"
    );
    let snap = live.host.snapshots.borrow().clone();
    assert!(
        snap.status.readers[0].restarts >= 1,
        "the reader was recreated: {:?}",
        snap.status.readers[0]
    );
    live.stop();
}

#[tokio::test]
async fn an_idle_reader_on_new_does_not_replay_history_after_a_restart() {
    let mut server = support::server();
    let url = server.url();
    let js = make_stream(&url, "IDLE", "idle.>", stream::RetentionPolicy::Limits).await;
    publish(&js, "idle", 1, 50).await;
    drop(js);
    let live = read(&url, spec("IDLE", StartSpec::New)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart().expect("restart on the same port");
    // The reader notices (missed heartbeats or a consumer gone) and comes
    // back; wait until it has been recreated.
    support::wait_for(
        &live,
        Duration::from_secs(40),
        "the reader to be recreated",
        |s| {
            s.status
                .readers
                .first()
                .is_some_and(|r| r.restarts > 0 && r.state.is_none())
        },
    )
    .await;
    let js = jetstream::new(support::client(&url).await);
    publish(&js, "idle", 51, 5).await;
    assert_eq!(exactly(&live, 5).await, vec![51, 52, 53, 54, 55]);
    live.stop();
}

#[tokio::test]
async fn work_queue_streams_are_read_by_sequence_and_say_so() {
    let server = support::server();
    let url = server.url();
    let js = make_stream(&url, "WQ", "wq.>", stream::RetentionPolicy::WorkQueue).await;
    publish(&js, "wq", 1, 5).await;
    let live = read(&url, spec("WQ", StartSpec::All)).await;
    assert_eq!(exactly(&live, 5).await, vec![1, 2, 3, 4, 5]);
    publish(&js, "wq", 6, 2).await;
    assert_eq!(exactly(&live, 7).await, (1..=7).collect::<Vec<u64>>());
    let snap = live.host.snapshots.borrow().clone();
    let reader = &snap.status.readers[0];
    assert_eq!(reader.mode, ReadMode::DirectGet);
    assert!(
        reader
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("work queue")),
        "{reader:?}"
    );
    let js_meta = snap.events[0].env.js.as_ref().unwrap();
    assert_eq!(&*js_meta.stream, "WQ");
    assert!(js_meta.consumer.is_empty(), "no consumer delivered it");
    assert!(js_meta.published_ns > 0);
    // Reading took nothing away from the workers.
    let mut s = js.get_stream("WQ").await.unwrap();
    let state = s.info().await.unwrap().state.clone();
    assert_eq!(state.messages, 7);
    assert_eq!(state.consumer_count, 0);
    live.stop();
}

#[tokio::test]
async fn interest_streams_warn_that_the_reader_holds_messages_back() {
    let server = support::server();
    let url = server.url();
    let js = make_stream(&url, "INT", "int.>", stream::RetentionPolicy::Interest).await;
    let live = read(&url, spec("INT", StartSpec::New)).await;
    publish(&js, "int", 1, 2).await;
    assert_eq!(exactly(&live, 2).await, vec![1, 2]);
    let snap = live.host.snapshots.borrow().clone();
    let warning = snap.status.readers[0].warning.clone().unwrap_or_default();
    assert!(warning.contains("holds messages back"), "{warning}");
    live.stop();
}

#[tokio::test]
async fn a_missing_stream_and_a_server_without_jetstream_are_plain_errors() {
    let server = support::server();
    let url = server.url();
    make_stream(&url, "THERE", "there.>", stream::RetentionPolicy::Limits).await;
    let view = SessionSettings::default();
    let analysis = flowscope::analysis::AnalysisConfig::default();
    let attach = |url: String, name: &'static str| {
        let view = view.clone();
        let analysis = analysis.clone();
        async move {
            session::attach_with(
                &support::resolved(&url),
                AttachOptions {
                    streams: vec![spec(name, StartSpec::All)],
                    ..AttachOptions::new(Vec::new(), &view, &analysis)
                },
            )
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
        }
    };
    let err = attach(url.clone(), "NOPE").await;
    assert_eq!(err, "no stream named NOPE (streams: THERE)");

    let plain = support::server_with(ServerOptions {
        no_jetstream: true,
        ..ServerOptions::default()
    });
    let err = attach(plain.url(), "THERE").await;
    assert!(
        err.contains("has no JetStream") && err.contains("-js"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stream_read_at_full_speed_into_a_tiny_queue_drops_nothing() {
    // The reader pulls no faster than the engine takes: a queue of 8 slows
    // it down, never makes it drop.
    const N: u64 = 20_000;
    let server = support::server();
    let url = server.url();
    let js = make_stream(&url, "FAST", "fast.>", stream::RetentionPolicy::Limits).await;
    let mut acks = Vec::new();
    for i in 1..=N {
        acks.push(
            js.publish("fast.x", format!(r#"{{"n":{i}}}"#).into())
                .await
                .unwrap(),
        );
        // The client holds a bounded number of acks in flight.
        if acks.len() == 500 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
    let tiny = SessionSettings {
        queue_capacity: 8,
        ..SessionSettings::default()
    };
    let live = read_with(&url, spec("FAST", StartSpec::All), tiny).await;
    let seqs = exactly(&live, N as usize).await;
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
    let status = live.host.snapshots.borrow().status.clone();
    assert_eq!((status.dropped_queue, status.dropped_client), (0, 0));
    assert_eq!(status.blind_until_ns, None, "never blind");
    live.stop();
}
