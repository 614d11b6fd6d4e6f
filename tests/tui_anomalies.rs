//! Screens of the analysis in the TUI: the flags column, the detail pane's
//! explanation with the jump to the related event, the anomalies view with
//! its comparison, and the event kinds view. Keys go through the keymap.

mod support;

use crossterm::event::KeyCode;
use flowscope::analysis::{AnalysisConfig, Engine, EngineConfig, LinkEvent};
use flowscope::envelope::{Envelope, JsMeta};
use support::screen::{MS, T0, app, key, screen};

fn ev(i: i64, subject: &str, id: &str, json: &str) -> Envelope {
    Envelope::new(T0 + i * 100 * MS, subject, json.to_owned()).with_header("Nats-Msg-Id", id)
}

/// One event of every anomaly kind the demo can show, in order:
/// #1 DUP of #0, #3 GAP, #4 DUP! of #2, #5 OOO, #6 REDELIVERED, #9 DRIFT.
fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig {
        source: "nats://127.0.0.1:4222".into(),
        analysis: AnalysisConfig {
            schema_learn: 2,
            ..AnalysisConfig::default()
        },
        ..EngineConfig::default()
    });
    e.link(
        LinkEvent::Connected {
            version: Some("2.10.22".into()),
        },
        T0 - 60_000 * MS,
    );
    let created = r#"{"type":"OrderCreated","aggregate_id":"o1","seq":1,"total":10}"#;
    e.ingest(ev(0, "orders.created", "a", created));
    e.ingest(ev(1, "orders.created", "a", created));
    e.ingest(ev(
        2,
        "inventory.reserved",
        "b",
        r#"{"type":"InventoryReserved","aggregate_id":"o1","seq":2}"#,
    ));
    e.ingest(ev(
        3,
        "payments.processed",
        "c",
        r#"{"type":"PaymentProcessed","aggregate_id":"o1","seq":4}"#,
    ));
    e.ingest(ev(
        4,
        "inventory.reserved",
        "b",
        r#"{"type":"InventoryReserved","aggregate_id":"o1","seq":2,"extra":1}"#,
    ));
    e.ingest(ev(
        5,
        "shipping.shipped",
        "d",
        r#"{"type":"OrderShipped","aggregate_id":"o1","seq":3}"#,
    ));
    let mut redelivered = ev(
        6,
        "orders.created",
        "e",
        r#"{"type":"OrderCreated","aggregate_id":"o2","seq":1}"#,
    );
    redelivered.js = Some(JsMeta {
        stream: "ORDERS".into(),
        consumer: "flowscope".into(),
        stream_seq: 7,
        consumer_seq: 7,
        delivered: 2,
        published_ns: T0,
        pending: 0,
    });
    e.ingest(redelivered);
    e.ingest(ev(7, "metrics.ping", "p1", r#"{"type":"Ping","value":1}"#));
    e.ingest(ev(8, "metrics.ping", "p2", r#"{"type":"Ping","value":2}"#));
    e.ingest(ev(
        9,
        "metrics.ping",
        "p3",
        r#"{"type":"Ping","value":"3"}"#,
    ));
    e
}

#[test]
fn the_flags_column_marks_every_anomaly() {
    let mut e = engine();
    let mut a = app(&mut e);
    let s = screen(&mut a, 150, 20);
    for flag in ["DUP ", "DUP!", "GAP", "OOO", "REDELIVERED", "DRIFT"] {
        assert!(s.contains(flag), "no {flag} in\n{s}");
    }
    insta::assert_snapshot!(s);
}

#[test]
fn the_detail_explains_a_flag_and_enter_goes_to_the_related_event() {
    let mut e = engine();
    let mut a = app(&mut e);
    // #4, the conflicting duplicate, is 5 rows above the newest (#9).
    for _ in 0..5 {
        key(&mut a, &mut e, KeyCode::Up);
    }
    let s = screen(&mut a, 150, 24);
    assert!(
        s.contains("DUP! duplicate of #2 (same id, different content"),
        "{s}"
    );
    assert!(s.contains("(Enter: go to #2, the original copy)"), "{s}");
    insta::assert_snapshot!(s);
    key(&mut a, &mut e, KeyCode::Enter);
    assert_eq!(a.selected_index(), Some(2));
    assert!(screen(&mut a, 150, 24).contains("Subject   inventory.reserved  #2"));
    // An event without findings has nowhere to go, and says so.
    key(&mut a, &mut e, KeyCode::Enter);
    assert!(screen(&mut a, 150, 24).contains("this event has no related event"));
}

#[test]
fn n_and_shift_n_walk_the_flagged_events() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('g'));
    let mut seen = Vec::new();
    for _ in 0..6 {
        key(&mut a, &mut e, KeyCode::Char('n'));
        seen.push(a.selected_index().unwrap());
    }
    assert_eq!(seen, vec![1, 3, 4, 5, 6, 9]);
    key(&mut a, &mut e, KeyCode::Char('n'));
    assert!(screen(&mut a, 150, 24).contains("no flagged event below"));
    key(&mut a, &mut e, KeyCode::Char('N'));
    assert_eq!(a.selected_index(), Some(6));
}

#[test]
fn the_anomalies_view_counts_lists_and_compares() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('3'));
    let s = screen(&mut a, 150, 32);
    assert!(s.contains("3 Anomalies 6"), "the tab shows the count: {s}");
    insta::assert_snapshot!(s);

    // Only duplicates: the identical one and the conflicting one.
    key(&mut a, &mut e, KeyCode::Char('t'));
    let s = screen(&mut a, 150, 32);
    assert!(s.contains("kind DUP (t) · 1"), "{s}");
    key(&mut a, &mut e, KeyCode::Char('t'));
    assert!(screen(&mut a, 150, 32).contains("kind DUP! (t) · 1"));

    // Side by side: the conflicting copy and its original.
    key(&mut a, &mut e, KeyCode::Enter);
    let s = screen(&mut a, 150, 32);
    assert!(
        s.contains("#4 · this event") && s.contains("#2 · the original copy"),
        "{s}"
    );
    insta::assert_snapshot!("compare", s);
    key(&mut a, &mut e, KeyCode::Esc);
    assert!(screen(&mut a, 150, 32).contains("Incidents · newest first"));

    // The event filter narrows the incidents too.
    key(&mut a, &mut e, KeyCode::Char('t')); // OOO
    key(&mut a, &mut e, KeyCode::Char('/'));
    for ch in "payments.*".chars() {
        key(&mut a, &mut e, KeyCode::Char(ch));
    }
    key(&mut a, &mut e, KeyCode::Enter);
    assert!(screen(&mut a, 150, 32).contains("No incidents match"));
}

#[test]
fn the_kinds_view_shows_kinds_and_drift() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('4'));
    key(&mut a, &mut e, KeyCode::Down); // Ping, the type whose schema drifted
    let s = screen(&mut a, 120, 30);
    assert!(s.contains("Schema drift (1 change, newest first)"), "{s}");
    assert!(
        s.contains("event #9        field /value changed type number → string"),
        "{s}"
    );
    insta::assert_snapshot!(s);
    // Enter shows that type's events in the stream.
    let selected = a.snapshot.types[a.selected_type()].name.clone();
    key(&mut a, &mut e, KeyCode::Enter);
    assert!(screen(&mut a, 120, 30).contains(&format!("filter type:{selected}")));
}

#[test]
fn anomaly_views_fit_a_small_terminal() {
    let mut e = engine();
    let mut a = app(&mut e);
    for view in ['3', '4'] {
        key(&mut a, &mut e, KeyCode::Char(view));
        insta::assert_snapshot!(format!("small_{view}"), screen(&mut a, 60, 15));
        for (w, h) in [(1, 1), (20, 4), (200, 3)] {
            screen(&mut a, w, h);
        }
    }
    key(&mut a, &mut e, KeyCode::Char('3'));
    key(&mut a, &mut e, KeyCode::Enter);
    insta::assert_snapshot!("small_compare", screen(&mut a, 60, 15));
}

#[test]
fn two_incidents_of_one_event_are_two_rows_to_move_through() {
    let mut e = Engine::new(EngineConfig {
        analysis: AnalysisConfig {
            schema_learn: 1,
            ..AnalysisConfig::default()
        },
        ..EngineConfig::default()
    });
    e.ingest(ev(0, "t", "1", r#"{"type":"T","a":1}"#));
    e.ingest(ev(1, "t", "2", r#"{"type":"T","a":1,"b":1,"c":1}"#)); // two drifts
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('3'));
    let rows: Vec<u64> = a.incident_rows().iter().map(|i| i.seq).collect();
    assert_eq!(rows.len(), 2);
    key(&mut a, &mut e, KeyCode::Down);
    assert_eq!(a.anomalies.selected, Some(rows[1]));
    key(&mut a, &mut e, KeyCode::Up);
    assert_eq!(a.anomalies.selected, Some(rows[0]));
}

#[test]
fn the_sagas_view_counts_states_and_lists_stuck_and_failed_first() {
    use flowscope::analysis::saga::SagaDef;
    let mut e = Engine::new(EngineConfig {
        source: "nats://127.0.0.1:4222".into(),
        analysis: AnalysisConfig {
            sagas: vec![SagaDef {
                timeout: std::time::Duration::from_secs(5),
                ..flowscope::sim::order_saga()
            }],
            ..AnalysisConfig::default()
        },
        ..EngineConfig::default()
    });
    let step = |e: &mut Engine, ms: i64, ty: &str, id: &str| {
        e.ingest(Envelope::new(
            T0 + ms * MS,
            "orders.x",
            format!(r#"{{"type":"{ty}","correlation_id":"{id}"}}"#),
        ));
    };
    for (ms, ty, id) in [
        (0, "OrderCreated", "o-done"),
        (100, "InventoryReserved", "o-done"),
        (300, "PaymentProcessed", "o-done"),
        (600, "OrderShipped", "o-done"),
        (0, "OrderCreated", "o-comp"),
        (200, "PaymentFailed", "o-comp"),
        (400, "InventoryReleased", "o-comp"),
        (500, "OrderCancelled", "o-comp"),
        (0, "OrderCreated", "o-fail"),
        (300, "PaymentFailed", "o-fail"),
        (1000, "OrderCreated", "o-stuck"),
        (9000, "OrderCreated", "o-busy"),
    ] {
        step(&mut e, ms, ty, id);
    }
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('6'));
    let s = screen(&mut app, 120, 24);
    assert!(
        s.contains("completed 1  compensated 1  failed 1  in progress 1  stuck 1"),
        "{s}"
    );
    let order: Vec<usize> = ["o-stuck", "o-fail", "o-busy", "o-comp", "o-done"]
        .iter()
        .map(|n| s.find(n).unwrap_or_else(|| panic!("{n}:\n{s}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{s}");
    insta::assert_snapshot!("sagas_view", s);
    // t shows one state at a time.
    key(&mut app, &mut e, KeyCode::Char('t'));
    let s = screen(&mut app, 120, 24);
    assert!(s.contains("Instances · 1 · completed"), "{s}");
    assert!(!s.contains("o-stuck"), "{s}");
}

#[test]
fn while_flowscope_is_blind_the_views_say_their_counts_are_incomplete() {
    use flowscope::analysis::blind::{BlindWindow, Why};
    let mut e = engine();
    // flowscope's queue dropped what came between #9 and the next event,
    // which then skips numbers: not the system's gap.
    e.blind(BlindWindow {
        from_ns: T0 + 950 * MS,
        to_ns: T0 + 960 * MS,
        why: Why::QueueDropped,
    });
    e.set_queue_drops(40);
    e.ingest(ev(
        10,
        "orders.created",
        "z",
        r#"{"type":"OrderCreated","aggregate_id":"o1","seq":8}"#,
    ));
    let mut a = app(&mut e);
    let s = screen(&mut a, 150, 24);
    assert!(s.contains("dropped 40 (client 0, queue 40)"), "{s}");
    assert!(
        s.contains("BLIND"),
        "the event is flagged as unverifiable: {s}"
    );
    // The drop count is shown in the warning style.
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(150, 24)).unwrap();
    t.draw(|f| flowscope::tui::views::render(&mut a, f))
        .unwrap();
    let buf = t.backend().buffer();
    let last = buf.area.height - 2;
    let at = (0..buf.area.width)
        .find(|x| buf[(*x, last)].symbol() == "d" && buf[(*x + 1, last)].symbol() == "r")
        .expect("the status bar shows the drops");
    let warn = flowscope::tui::theme::Theme::builtin().warn;
    assert_eq!(buf[(at, last)].fg, warn.fg.unwrap());

    key(&mut a, &mut e, KeyCode::Char('3'));
    let s = screen(&mut a, 150, 32);
    assert!(
        s.contains("INCOMPLETE: flowscope dropped 40 messages"),
        "{s}"
    );
    assert!(
        s.contains("BLIND       unverifiable                   1"),
        "{s}"
    );
    assert!(s.contains("3 missing, maybe flowscope's own drops"), "{s}");
    key(&mut a, &mut e, KeyCode::Char('6'));
    assert!(screen(&mut a, 150, 32).contains("INCOMPLETE: flowscope dropped 40 messages"));
    // A minute later the views no longer say so; the counts stay apart.
    e.tick(T0 + 70_000 * MS);
    key(&mut a, &mut e, KeyCode::Char('3'));
    let s = screen(&mut a, 150, 32);
    assert!(!s.contains("INCOMPLETE"), "{s}");
    assert!(
        s.contains("BLIND       unverifiable                   1"),
        "{s}"
    );
}
