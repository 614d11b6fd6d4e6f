//! The demo's simulator against a real nats-server: what a subscriber sees
//! has exactly the faults the simulator says it injected. And the headless
//! demo command runs against a given server.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use assert_cmd::Command;
use flowscope::session::SessionSettings;

/// Faults as a consumer sees them: repeated ids, sequences lower than the
/// highest seen per order, and sequence numbers never seen.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    events: u64,
    duplicates: u64,
    out_of_order: u64,
    missing: u64,
}

fn recount(payloads: &[serde_json::Value]) -> Seen {
    let mut ids = HashSet::new();
    let mut highest: HashMap<String, u64> = HashMap::new();
    let mut seqs: HashMap<String, HashSet<u64>> = HashMap::new();
    let mut s = Seen::default();
    for p in payloads {
        s.events += 1;
        if !ids.insert(p["id"].as_str().unwrap().to_owned()) {
            s.duplicates += 1;
            continue;
        }
        if p["seq"].is_null() {
            continue; // side traffic has no sequence
        }
        let key = p["aggregate_id"].as_str().unwrap().to_owned();
        let seq = p["seq"].as_u64().unwrap();
        let h = highest.entry(key.clone()).or_insert(0);
        if seq < *h {
            s.out_of_order += 1;
        }
        *h = (*h).max(seq);
        seqs.entry(key).or_default().insert(seq);
    }
    s.missing = seqs
        .values()
        .map(|set| {
            (1..=*set.iter().max().unwrap())
                .filter(|n| !set.contains(n))
                .count() as u64
        })
        .sum();
    s
}

#[tokio::test]
async fn the_simulator_produces_the_configured_faults_on_a_real_server() {
    let server = support::server();
    let live = support::attach(&server, &[">"], SessionSettings::default()).await;
    let report = support::simulate(&server.url(), support::faulty(42), 2_000.0, 1500).await;
    assert!(report.events > 1_000, "{report:?}");
    let snap = support::wait_for(
        &live,
        Duration::from_secs(20),
        "every simulated event",
        |s| s.status.total_events >= report.events,
    )
    .await;
    let payloads: Vec<serde_json::Value> = snap
        .events
        .iter()
        .map(|e| serde_json::from_slice(&e.env.payload).unwrap())
        .collect();
    let seen = recount(&payloads);
    assert_eq!(
        seen,
        Seen {
            events: report.events,
            duplicates: report.duplicates,
            out_of_order: report.out_of_order,
            missing: report.gaps,
        }
    );
    assert!(report.duplicates > 0 && report.out_of_order > 0 && report.gaps > 0);
    assert!(report.compensated > 0 && report.stuck > 0, "{report:?}");
    // Every message carries its id in the Nats-Msg-Id header.
    for e in snap.events.iter() {
        let p: serde_json::Value = serde_json::from_slice(&e.env.payload).unwrap();
        assert_eq!(e.env.header("Nats-Msg-Id"), p["id"].as_str());
    }
    live.stop();
}

/// Runs `flowscope demo --no-tui` for a second at `rate` against `url`.
fn headless_demo(url: &str, rate: &str) -> std::process::Output {
    Command::cargo_bin("flowscope")
        .unwrap()
        .args([
            "demo",
            "--no-tui",
            "--duration",
            "1s",
            "--rate",
            rate,
            "-s",
            url,
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap()
}

#[test]
fn headless_demo_publishes_against_a_given_server_and_creates_the_stream() {
    let server = support::server();
    let out = headless_demo(&server.url(), "300");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("published "), "{stdout}");
    assert!(stdout.contains(" orders (and "), "{stdout}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(support::client(&server.url()).await);
        let mut stream = js
            .get_stream("ORDERS")
            .await
            .expect("the demo stream exists");
        let info = stream.info().await.unwrap();
        assert!(info.state.messages > 0);
        assert_eq!(info.state.consumer_count, 3);
    });
}

#[test]
fn an_impossible_rate_still_stops_on_time() {
    let server = support::server();
    let started = std::time::Instant::now();
    let out = headless_demo(&server.url(), "5000000");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "a 1 s run took {took:?}");
}
