//! Who consumes what, against a real nats-server: flowscope asks the
//! server for its connections and subscriptions and shows, per subject,
//! the connections that take it, queue groups with their members, and how
//! many copies of each message the server delivers.

mod support;

use std::time::Duration;

use flowscope::analysis::snapshot::Snapshot;
use flowscope::session::SessionSettings;

async fn named(url: &str, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(url)
        .await
        .unwrap()
}

#[tokio::test]
async fn subscribers_queue_groups_and_fan_out_come_from_the_server() {
    let server = support::server();
    let url = server.url();
    let orders = named(&url, "orders-svc").await;
    let _o = orders.subscribe("orders.*").await.unwrap();
    let w1 = named(&url, "worker-1").await;
    let _q1 = w1
        .queue_subscribe("payments.>", "workers".into())
        .await
        .unwrap();
    let w2 = named(&url, "worker-2").await;
    let _q2 = w2
        .queue_subscribe("payments.>", "workers".into())
        .await
        .unwrap();
    let audit = named(&url, "audit").await;
    let _a = audit.subscribe(">").await.unwrap();
    for c in [&orders, &w1, &w2, &audit] {
        support::settle(c).await;
    }
    let publisher = support::client(&url).await;
    for i in 0..4 {
        publisher
            .publish(format!("payments.card.{i}"), "{}".into())
            .await
            .unwrap();
    }
    support::settle(&publisher).await;

    let live = support::attach(
        &server,
        &[">"],
        SessionSettings {
            lag_interval: Duration::from_millis(200),
            ..SessionSettings::default()
        },
    )
    .await;
    let seen = |s: &Snapshot| s.flow.polls > 0 && !s.flow.subscribers("payments.card.1").is_empty();
    let snap = support::wait_for(&live, Duration::from_secs(20), "a CONNZ poll", seen).await;
    let flow = &snap.flow;
    assert_eq!(flow.error, None);
    assert_eq!(flow.servers, 1);

    let mut names: Vec<_> = flow
        .subscribers("orders.created")
        .iter()
        .map(|s| s.connection.name.clone())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["audit", "orders-svc"],
        "flowscope itself is not listed"
    );

    let fan = flow.fan_out("payments.card.1");
    assert_eq!(fan.plain, 1, "audit takes every message");
    assert_eq!(fan.groups, vec![("workers".to_owned(), 2)]);
    assert_eq!(fan.deliveries(), 2);
    let shared: u64 = flow
        .subscribers("payments.card.1")
        .iter()
        .filter(|s| s.subscription.queue.is_some())
        .map(|s| s.subscription.msgs)
        .sum();
    assert_eq!(shared, 4, "the group shared the four messages");
    assert!(flow.fan_out("customers.profile").plain == 1, "only audit");
    live.stop();
}

#[tokio::test]
async fn the_http_monitoring_port_gives_the_same_map() {
    let http = flowscope::demo::server::free_port().unwrap();
    let server = support::server_with(flowscope::demo::server::ServerOptions {
        config: Some(format!("http_port: {http}\n")),
        ..Default::default()
    });
    let url = server.url();
    let billing = named(&url, "billing").await;
    let _b = billing.subscribe("invoices.>").await.unwrap();
    support::settle(&billing).await;
    let live = support::attach(
        &server,
        &[">"],
        SessionSettings {
            lag_interval: Duration::from_millis(200),
            monitor: Some(format!("http://127.0.0.1:{http}")),
            ..SessionSettings::default()
        },
    )
    .await;
    let seen = |s: &Snapshot| s.flow.polls > 0 && !s.flow.subscribers("invoices.new").is_empty();
    let snap = support::wait_for(&live, Duration::from_secs(20), "a /connz poll", seen).await;
    let subs = snap.flow.subscribers("invoices.new");
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].connection.name, "billing");
    assert_eq!(subs[0].subscription.subject, "invoices.>");
    live.stop();

    // A wrong address is said plainly in the view, and nothing else breaks.
    let live = support::attach(
        &server,
        &[">"],
        SessionSettings {
            lag_interval: Duration::from_millis(200),
            monitor: Some("http://127.0.0.1:1".into()),
            ..SessionSettings::default()
        },
    )
    .await;
    let failed = |s: &Snapshot| s.flow.error.is_some();
    let snap = support::wait_for(&live, Duration::from_secs(20), "a failed poll", failed).await;
    let e = snap.flow.error.clone().unwrap();
    assert!(e.contains("cannot read http://127.0.0.1:1/connz"), "{e}");
    live.stop();
}

#[tokio::test]
async fn with_the_monitoring_port_slow_consumers_the_server_closed_are_counted() {
    use std::io::Write;
    let http = flowscope::demo::server::free_port().unwrap();
    let server = support::server_with(flowscope::demo::server::ServerOptions {
        config: Some(format!(
            "http_port: {http}\nmax_payload: 65536\nmax_pending: 262144\nwrite_deadline: \"500ms\"\n"
        )),
        ..Default::default()
    });
    let url = server.url();
    // A client that subscribes and then never reads.
    let mut sluggish = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    sluggish
        .write_all(b"CONNECT {\"name\":\"sluggish\",\"verbose\":false}\r\nSUB big.> 1\r\nPING\r\n")
        .unwrap();
    let publisher = support::client(&url).await;
    support::settle(&publisher).await;
    let payload = bytes::Bytes::from(vec![b'x'; 60 * 1024]);
    for _ in 0..800 {
        publisher.publish("big.x", payload.clone()).await.unwrap();
    }
    support::settle(&publisher).await;
    // It comes back under the same name, as clients do.
    let again = named(&url, "sluggish").await;
    let _s = again.subscribe("big.>").await.unwrap();
    support::settle(&again).await;
    let live = support::attach(
        &server,
        &["nothing.here"],
        SessionSettings {
            lag_interval: Duration::from_millis(200),
            monitor: Some(format!("http://127.0.0.1:{http}")),
            ..SessionSettings::default()
        },
    )
    .await;
    let seen = |s: &Snapshot| {
        s.flow
            .subscribers("big.x")
            .iter()
            .any(|x| x.connection.name == "sluggish" && x.connection.slow_closed > 0)
    };
    let snap = support::wait_for(
        &live,
        Duration::from_secs(20),
        "a counted slow consumer",
        seen,
    )
    .await;
    let subs = snap.flow.subscribers("big.x");
    assert_eq!(subs[0].connection.slow_closed, 1);
    drop(sluggish);
    live.stop();
}
