//! The ingest pipeline against a real nats-server: every event arrives
//! intact, internal traffic is excluded, drops are counted, reconnects work.

mod support;

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use flowscope::analysis::snapshot::LinkState;
use flowscope::session::SessionSettings;

const WAIT: Duration = Duration::from_secs(20);

/// What one test message should look like on arrival.
struct Expected {
    subject: String,
    headers: Vec<(String, String)>,
    payload: Bytes,
}

/// A deterministic mix: JSON with repeated headers, binary, empty, text.
fn workload(n: usize) -> Vec<Expected> {
    let mut seed: u32 = 7;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    (0..n)
        .map(|i| match i % 4 {
            0 => Expected {
                subject: format!("ingest.json.{}", i % 5),
                headers: vec![
                    ("Nats-Msg-Id".into(), format!("id-{i}")),
                    ("X-Tag".into(), "first".into()),
                    ("X-Tag".into(), format!("second-{i}")),
                ],
                payload: Bytes::from(format!(
                    r#"{{"type":"Thing{i}","aggregate_id":"k-{}","n":{i}}}"#,
                    i % 7
                )),
            },
            1 => Expected {
                subject: "ingest.bin".into(),
                headers: vec![],
                payload: (0..(i % 512))
                    .map(|_| next() as u8)
                    .collect::<Vec<u8>>()
                    .into(),
            },
            2 => Expected {
                subject: "ingest.empty".into(),
                headers: vec![("X-Empty".into(), "yes".into())],
                payload: Bytes::new(),
            },
            _ => Expected {
                subject: format!("ingest.text.{i}"),
                headers: vec![],
                payload: Bytes::from(format!("plain text message {i}\nsecond line")),
            },
        })
        .collect()
}

async fn publish_all(client: &async_nats::Client, msgs: &[Expected]) {
    for m in msgs {
        if m.headers.is_empty() {
            client
                .publish(m.subject.clone(), m.payload.clone())
                .await
                .unwrap();
        } else {
            let mut h = HeaderMap::new();
            for (k, v) in &m.headers {
                h.append(k.as_str(), v.as_str());
            }
            client
                .publish_with_headers(m.subject.clone(), h, m.payload.clone())
                .await
                .unwrap();
        }
    }
    support::settle(client).await;
}

#[tokio::test]
async fn every_published_event_arrives_with_subject_headers_and_payload_intact() {
    let server = support::server();
    let live = support::attach(&server, &[">"], SessionSettings::default()).await;
    let publisher = support::client(&server.url()).await;
    let msgs = workload(4000);
    publish_all(&publisher, &msgs).await;

    let snap = support::wait_for(&live, WAIT, "4000 events", |s| {
        s.status.total_events >= 4000
    })
    .await;
    assert_eq!(snap.status.total_events, 4000);
    assert_eq!(snap.status.dropped_client + snap.status.dropped_queue, 0);
    for (i, (want, got)) in msgs.iter().zip(snap.events.iter()).enumerate() {
        let env = &got.env;
        assert_eq!(&*env.subject, want.subject, "subject of message {i}");
        assert_eq!(env.payload, want.payload, "payload of message {i}");
        let headers: Vec<(String, String)> = env
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(headers, want.headers, "headers of message {i}");
        assert_eq!(env.index, i as u64);
    }
    // Type and key come from the payload where it has them.
    assert_eq!(&*snap.events[0].event_type, "Thing0");
    assert_eq!(&*snap.events[0].key, "k-0");
    assert_eq!(
        &*snap.events[1].event_type, "bin",
        "binary falls back to the last token"
    );
    live.stop();
}

#[tokio::test]
async fn internal_traffic_is_excluded_unless_asked_for() {
    let server = support::server();
    let quiet = support::attach(&server, &[">"], SessionSettings::default()).await;
    let all = support::attach(
        &server,
        &[">"],
        SessionSettings {
            include_internal: true,
            ..SessionSettings::default()
        },
    )
    .await;
    let publisher = support::client(&server.url()).await;
    // JetStream API traffic with _INBOX replies, system-ish and inbox subjects.
    let js = async_nats::jetstream::new(publisher.clone());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "T".into(),
        subjects: vec!["t.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    publisher
        .publish("_INBOX.someone", "x".into())
        .await
        .unwrap();
    publisher
        .publish("$SYS.fake.event", "x".into())
        .await
        .unwrap();
    publisher.publish("app.event", "x".into()).await.unwrap();
    support::settle(&publisher).await;

    let snap = support::wait_for(&all, WAIT, "internal events", |s| {
        s.events.iter().any(|e| &*e.env.subject == "app.event")
    })
    .await;
    let subjects: Vec<&str> = snap.events.iter().map(|e| &*e.env.subject).collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("$JS.API.STREAM.CREATE")),
        "{subjects:?}"
    );
    assert!(subjects.contains(&"_INBOX.someone"));
    assert!(subjects.contains(&"$SYS.fake.event"));

    let snap = support::wait_for(&quiet, WAIT, "app.event", |s| s.status.total_events >= 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let snap2 = quiet.host.snapshots.borrow().clone();
    let subjects: Vec<&str> = snap2.events.iter().map(|e| &*e.env.subject).collect();
    assert_eq!(
        subjects,
        vec!["app.event"],
        "first snapshot: {:?}",
        snap.status
    );
    quiet.stop();
    all.stop();
}

/// Publishes a burst of `n` JSON events with flowscope attached with
/// `view`, and waits until every one was either ingested or counted as
/// dropped.
async fn burst(view: SessionSettings, n: u64) -> flowscope::analysis::snapshot::Status {
    let server = support::server();
    let live = support::attach(&server, &["burst.>"], view).await;
    let publisher = support::client(&server.url()).await;
    for i in 0..n {
        let payload = format!(r#"{{"type":"B","n":{i},"pad":"{}"}}"#, "x".repeat(200));
        publisher
            .publish("burst.x", Bytes::from(payload))
            .await
            .unwrap();
    }
    support::settle(&publisher).await;
    let snap = support::wait_for(&live, WAIT, "received + dropped = published", |s| {
        s.status.total_events + s.status.dropped_queue + s.status.dropped_client == n
    })
    .await;
    live.stop();
    snap.status.clone()
}

#[tokio::test]
async fn a_full_ingest_queue_drops_and_counts_every_drop() {
    let tiny_queue = SessionSettings {
        queue_capacity: 1,
        ..SessionSettings::default()
    };
    let status = burst(tiny_queue, 50_000).await;
    assert!(
        status.dropped_queue > 0,
        "a 1-slot queue must overflow: {status:?}"
    );
    assert_eq!(status.dropped_client, 0);
}

#[tokio::test]
async fn messages_the_client_drops_are_counted() {
    let tiny_subscription = SessionSettings {
        subscription_capacity: 1,
        ..SessionSettings::default()
    };
    let status = burst(tiny_subscription, 50_000).await;
    assert!(
        status.dropped_client > 0,
        "a 1-slot subscription must overflow: {status:?}"
    );
}

#[tokio::test]
async fn the_session_survives_a_server_restart() {
    let mut server = support::server();
    let live = support::attach(&server, &["r.>"], SessionSettings::default()).await;
    let publisher = support::client(&server.url()).await;
    for i in 0..10 {
        publisher
            .publish("r.before", format!("{i}").into())
            .await
            .unwrap();
    }
    support::settle(&publisher).await;
    support::wait_for(&live, WAIT, "10 events", |s| s.status.total_events == 10).await;

    server.kill();
    support::wait_for(&live, WAIT, "reconnecting", |s| {
        s.status.link == LinkState::Reconnecting
    })
    .await;
    server.restart().expect("restart on the same port");
    let snap = support::wait_for(&live, WAIT, "connected again", |s| {
        s.status.link == LinkState::Connected && s.status.reconnects == 1
    })
    .await;
    assert!(snap.status.server_version.is_some());

    // The subscription is back: events published now are seen.
    let after = support::client(&server.url()).await;
    // Give the reconnected client a moment to resend its subscription.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..10 {
        after
            .publish("r.after", format!("{i}").into())
            .await
            .unwrap();
    }
    support::settle(&after).await;
    let snap = support::wait_for(&live, WAIT, "20 events", |s| s.status.total_events == 20).await;
    assert_eq!(
        snap.events
            .iter()
            .filter(|e| &*e.env.subject == "r.after")
            .count(),
        10
    );
    live.stop();
}
