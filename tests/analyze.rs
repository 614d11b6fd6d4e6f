//! `flowscope analyze --live` end to end against a real nats-server: the
//! simulator injects known faults, the JSON report counts exactly those, and
//! `--fail-on` sets the exit status.

mod support;

use std::io::Read;
use std::process::Child;

use flowscope::sim::{SimConfig, SimReport};
use serde_json::Value;

/// Starts `flowscope analyze --live ARGS`, waits until it has subscribed,
/// and returns it with the line it said so in.
fn start_analyze(url: &str, args: &[&str]) -> (Child, String) {
    let all: Vec<&str> = ["analyze", "--live", "-s", url]
        .iter()
        .chain(args)
        .copied()
        .collect();
    let s = support::spawn_flowscope(&all, "flowscope: analysing");
    (s.child, s.first_line)
}

fn finish(mut child: Child) -> (i32, Value) {
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    (status.code().unwrap_or(-1), report)
}

async fn simulate(url: &str, seed: u64) -> SimReport {
    support::simulate(url, support::faulty(seed), 1_000.0, 1500).await
}

#[tokio::test]
async fn the_report_counts_exactly_the_injected_faults() {
    let server = support::server();
    let url = server.url();
    let (analyze, _) = start_analyze(&url, &["--format", "json", "--duration", "5s"]);
    let sim = simulate(&url, 11).await;
    let (code, r) = tokio::task::spawn_blocking(move || finish(analyze))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(r["flowscope_report"], 1);
    assert_eq!(r["source"]["kind"], "live");
    assert_eq!(r["events"], sim.events, "{sim:?}");
    assert_eq!(r["dropped"], 0);
    assert_eq!(r["duplicates"]["count"], sim.duplicates);
    assert_eq!(r["duplicates"]["identical"], sim.duplicates);
    assert_eq!(r["duplicates"]["conflicting"], 0);
    assert_eq!(r["out_of_order"]["count"], sim.out_of_order);
    assert_eq!(r["out_of_order"]["resets"], 0);
    assert_eq!(r["gaps"]["missing"], sim.gaps);
    assert_eq!(
        r["gaps"]["open"], sim.gaps,
        "each skip leaves one number missing"
    );
    assert_eq!(r["redeliveries"]["count"], 0);
    assert_eq!(r["schema_drift"], Value::Array(vec![]));
    assert!(
        sim.duplicates > 5 && sim.out_of_order > 5 && sim.gaps > 3,
        "{sim:?}"
    );
    let dup_items = r["duplicates"]["items"].as_array().unwrap();
    assert_eq!(dup_items.len() as u64, sim.duplicates.min(1000));
    assert!(dup_items.iter().all(|d| d["identical"] == true));
    let types: Vec<&str> = r["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    for t in [
        "OrderCreated",
        "InventoryReserved",
        "PaymentProcessed",
        "OrderShipped",
    ] {
        assert!(types.contains(&t), "{types:?}");
    }
    let subjects = r["subjects"].as_array().unwrap();
    let total: u64 = subjects.iter().map(|s| s["events"].as_u64().unwrap()).sum();
    assert_eq!(total, sim.events);
}

#[tokio::test]
async fn fail_on_sets_exit_status_3_only_for_anomalies_that_occurred() {
    let server = support::server();
    let url = server.url();
    let (failing, _) = start_analyze(
        &url,
        &[
            "--format",
            "json",
            "--duration",
            "4s",
            "--fail-on",
            "dup,ooo",
        ],
    );
    let (passing, _) = start_analyze(
        &url,
        &[
            "--format",
            "json",
            "--duration",
            "4s",
            "--fail-on",
            "drift,conflict,reset",
        ],
    );
    let sim = simulate(&url, 12).await;
    assert!(sim.duplicates > 0);
    let (code, _) = tokio::task::spawn_blocking(move || finish(failing))
        .await
        .unwrap();
    assert_eq!(code, 3);
    let (code, r) = tokio::task::spawn_blocking(move || finish(passing))
        .await
        .unwrap();
    assert_eq!(code, 0, "{r:#}");
}

#[tokio::test]
async fn count_stops_after_exactly_n_events_and_text_is_the_default() {
    let server = support::server();
    let url = server.url();
    let (child, said) = start_analyze(&url, &["--count", "50", "counted.>"]);
    assert!(said.contains("until 50 events"), "{said}");
    let client = support::client(&url).await;
    for i in 0..80 {
        client
            .publish(
                "counted.x",
                format!(
                    r#"{{"id":"c{i}","type":"Counted","aggregate_id":"k","seq":{}}}"#,
                    i + 1
                )
                .into(),
            )
            .await
            .unwrap();
    }
    support::settle(&client).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("flowscope analysis: live from"), "{text}");
    assert!(text.contains("\n50 events,"), "{text}");
    assert!(text.contains("Counted"), "{text}");
}

#[tokio::test]
async fn the_demo_flow_shows_its_schema_drift_and_event_kinds() {
    let server = support::server();
    let url = server.url();
    let (analyze, _) = start_analyze(
        &url,
        &["--format", "json", "--duration", "4s", "--fail-on", "drift"],
    );
    let cfg = SimConfig {
        seed: 5,
        drift_after: Some(40),
        ..SimConfig::default()
    };
    let sim = support::simulate(&url, cfg, 1_000.0, 1200).await;
    assert!(sim.orders > 100, "{sim:?}");
    let (code, r) = tokio::task::spawn_blocking(move || finish(analyze))
        .await
        .unwrap();
    assert_eq!(code, 3, "drift occurred, so --fail-on drift fails");
    let drift: Vec<(String, String, String)> = r["schema_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap().to_owned();
            (s("type"), s("change"), s("field"))
        })
        .collect();
    assert_eq!(
        drift,
        vec![
            (
                "PaymentProcessed".into(),
                "type_changed".into(),
                "/data/amount".into()
            ),
            ("OrderShipped".into(), "added".into(), "/data/eta".into()),
        ]
    );
    let types = r["types"].as_array().unwrap();
    let kind = |name: &str| {
        let t = types
            .iter()
            .find(|t| t["type"] == name)
            .unwrap_or_else(|| panic!("no {name}"));
        (
            t["kind"].as_str().unwrap().to_owned(),
            t.get("passive_aggressive").is_some(),
        )
    };
    assert_eq!(kind("OrderPlaced"), ("notification".into(), false));
    assert_eq!(
        kind("CustomerProfileUpdated"),
        ("state_transfer".into(), false)
    );
    assert_eq!(kind("ReserveInventory"), ("command".into(), true));
    assert_eq!(kind("OrderCreated"), ("domain".into(), false));
}

/// `analyze --live --format json` with this flowscope.toml and more
/// arguments, over 1.5 s of orders without delivery faults (20% of payments
/// failing, 10% of orders stopping mid-way) and, a second later, one more
/// event that moves the event clock past every order's timeout (700 ms in
/// these tests): the exit status, the report and what the simulation did.
/// Orders without delivery faults for 1.5 s at 1,000 events/s, `fail_rate`
/// of payments failing and 10% stopping; then, a second later, one more
/// event moves the clock so that stalled orders are judged.
async fn run_orders(url: &str, seed: u64, fail_rate: f64) -> SimReport {
    let sim = support::simulate(
        url,
        SimConfig {
            seed,
            dup_rate: 0.0,
            ooo_rate: 0.0,
            gap_rate: 0.0,
            fail_rate,
            stuck_rate: 0.1,
            drift_after: None,
            ..SimConfig::default()
        },
        1_000.0,
        1500,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let client = support::client(url).await;
    client.publish("clock.tick", "{}".into()).await.unwrap();
    support::settle(&client).await;
    sim
}

async fn analyze_orders(config: &str, args: &[&str], seed: u64) -> (i32, Value, SimReport) {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("flowscope.toml");
    std::fs::write(&cfg, config).unwrap();
    let all: Vec<&str> = [
        "-c",
        cfg.to_str().unwrap(),
        "--format",
        "json",
        "--duration",
        "5s",
    ]
    .into_iter()
    .chain(args.iter().copied())
    .collect();
    let (analyze, _) = start_analyze(&url, &all);
    let sim = run_orders(&url, seed, 0.2).await;
    let (code, report) = tokio::task::spawn_blocking(move || finish(analyze))
        .await
        .unwrap();
    (code, report, sim)
}

/// The demo's order saga, as a user would define it.
const ORDER_SAGA: &str = r#"
[[sagas]]
name         = "order"
steps        = ["OrderCreated", "InventoryReserved", "PaymentProcessed", "OrderShipped"]
failure      = ["PaymentFailed"]
compensation = ["InventoryReleased", "OrderCancelled"]
timeout      = "700ms"
"#;

#[tokio::test]
async fn saga_states_match_what_the_simulation_did() {
    let (code, r, sim) = analyze_orders(ORDER_SAGA, &["--fail-on", "stuck"], 21).await;
    let s = &r["sagas"];
    assert_eq!(s["completed"], sim.completed, "{sim:?} {s}");
    assert_eq!(s["compensated"], sim.compensated, "{sim:?}");
    assert_eq!(s["failed"], sim.failed, "{sim:?}");
    assert_eq!(s["stuck"], sim.stuck, "{sim:?}");
    assert_eq!(s["in_progress"], 0);
    assert_eq!(s["total"], sim.orders);
    assert!(sim.stuck > 0 && sim.failed + sim.compensated > 0, "{sim:?}");
    let order = &s["types"][0];
    assert_eq!(order["name"], "order");
    assert!(order["end_to_end_ms"]["p50"].as_u64().is_some());
    assert!(
        order["step_durations_ms"]["OrderCreated → InventoryReserved"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    let first = &s["items"][0];
    assert_eq!(first["state"], "stuck", "stuck first");
    assert_eq!(code, 3, "--fail-on stuck");
}

#[tokio::test]
async fn without_definitions_the_sagas_are_inferred_and_their_happy_path_learned() {
    let (code, r, sim) = analyze_orders("[saga_inference]\ntimeout = \"700ms\"\n", &[], 22).await;
    assert_eq!(code, 0);
    let s = &r["sagas"];
    assert!(
        sim.stuck > 0 && sim.compensated > 0 && sim.failed > 0,
        "{sim:?}"
    );
    assert_eq!(s["total"], sim.orders, "{sim:?} {s}");
    // Without a definition the failure (PaymentFailed) and its
    // compensations (InventoryReleased, OrderCancelled) are learned too: a
    // compensated order is compensated, one left at PaymentFailed failed,
    // as with the definition.
    assert_eq!(s["completed"], sim.completed, "{sim:?} {s:#}");
    assert_eq!(s["compensated"], sim.compensated, "{sim:?}");
    assert_eq!(s["failed"], sim.failed, "{sim:?}");
    assert_eq!(s["stuck"], sim.stuck, "{sim:?}");
    assert_eq!(s["in_progress"], 0);
    let t = &s["types"][0];
    assert_eq!(t["name"], "inferred");
    assert_eq!(t["inferred"], true);
    let learned = &t["learned"];
    assert_eq!(
        learned["path"],
        serde_json::json!([
            "OrderCreated",
            "InventoryReserved",
            "PaymentProcessed",
            "OrderShipped"
        ])
    );
    assert_eq!(learned["instances"], sim.completed);
    assert_eq!(learned["finished"], sim.orders);
    assert!(
        learned["toml"].as_str().unwrap().contains(
            r#"steps = ["OrderCreated", "InventoryReserved", "PaymentProcessed", "OrderShipped"]"#
        ),
        "{learned}"
    );
    assert_eq!(learned["failure"], serde_json::json!(["PaymentFailed"]));
    assert_eq!(
        learned["compensation"],
        serde_json::json!(["InventoryReleased", "OrderCancelled"])
    );
}

/// A recording carries the session's saga definitions: analysing it (or
/// replaying it) gives the picture the session had, unless -c says else.
#[tokio::test]
async fn a_recording_is_analysed_with_the_sagas_its_session_had() {
    let server = support::server();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("order.toml");
    std::fs::write(&cfg, ORDER_SAGA).unwrap();
    let file = dir.path().join("orders.jsonl");
    let mut rec = support::spawn_flowscope(
        &[
            "record",
            "-s",
            &url,
            "-c",
            cfg.to_str().unwrap(),
            "-o",
            file.to_str().unwrap(),
            "--duration",
            "4s",
        ],
        "flowscope: recording",
    );
    let sim = run_orders(&url, 23, 0.3).await;
    assert!(rec.child.wait().unwrap().success(), "{}", rec.stderr());

    let analyze = |extra: &[&str]| -> Value {
        let out = assert_cmd::Command::cargo_bin("flowscope")
            .unwrap()
            .args(["analyze", file.to_str().unwrap(), "--format", "json"])
            .args(extra)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let r = analyze(&[]);
    let s = &r["sagas"];
    assert_eq!(
        s["types"][0]["name"], "order",
        "the recorded definition: {s}"
    );
    assert_eq!(s["compensated"], sim.compensated, "{sim:?} {s}");
    assert_eq!(s["failed"], sim.failed, "{sim:?}");
    assert_eq!(s["completed"], sim.completed, "{sim:?}");

    // -c overrides what the recording says.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "[saga_inference]\nenabled = false\n").unwrap();
    let r = analyze(&["-c", other.to_str().unwrap()]);
    assert!(
        r.get("sagas").is_none(),
        "no sagas with -c other.toml: {}",
        r["sagas"]
    );
}

/// Publishes `n` events of a gapless, duplicate-free, in-order workload
/// (50 keys, each numbered 1, 2, 3, … in order) as fast as it can.
async fn publish_gapless(url: &str, n: u64) {
    let client = support::client(url).await;
    for i in 0..n {
        let payload = format!(
            r#"{{"id":"e-{i}","type":"Tick","aggregate_id":"k-{}","seq":{},"pad":"{}"}}"#,
            i % 50,
            i / 50 + 1,
            "x".repeat(120)
        );
        client
            .publish("gapless.tick", payload.into())
            .await
            .unwrap();
    }
    support::settle(&client).await;
}

#[tokio::test]
async fn flowscope_never_reports_its_own_drops_as_the_systems_gaps() {
    // Buffers far too small for the rate: flowscope must drop, count every
    // drop, and report the gaps its drops open as unverifiable.
    const N: u64 = 100_000;
    let server = support::server();
    let url = server.url();
    let (analyze, _) = start_analyze(
        &url,
        &[
            "--format",
            "json",
            "--duration",
            "6s",
            "--subscription-capacity",
            "64",
            "--queue-capacity",
            "64",
            "--fail-on",
            "gap,dup,ooo",
            "gapless.>",
        ],
    );
    publish_gapless(&url, N).await;
    let (code, r) = tokio::task::spawn_blocking(move || finish(analyze))
        .await
        .unwrap();
    let events = r["events"].as_u64().unwrap();
    let dropped = r["dropped"].as_u64().unwrap();
    assert_eq!(
        events + dropped,
        N,
        "every event arrived or was counted as dropped"
    );
    assert!(dropped > 0, "the buffers were meant to overflow: {r}");
    let (missing, jumps) = (&r["gaps"]["missing"], &r["gaps"]["jumps"]);
    assert_eq!(
        missing, 0,
        "flowscope's drops claimed as missing numbers ({jumps} jumps)"
    );
    assert_eq!(jumps, 0);
    assert_eq!(r["out_of_order"]["count"], 0);
    assert_eq!(r["duplicates"]["count"], 0);
    let blind = &r["blind"];
    assert_eq!(
        blind["dropped_client"].as_u64().unwrap() + blind["dropped_queue"].as_u64().unwrap(),
        dropped
    );
    assert!(
        r["gaps"]["unverifiable"].as_u64().unwrap() > 0,
        "set apart, not lost"
    );
    assert!(!blind["windows"].as_array().unwrap().is_empty(), "{blind}");
    assert_eq!(code, 0, "--fail-on does not fire on unverifiable findings");
}
