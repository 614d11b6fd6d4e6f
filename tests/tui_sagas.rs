//! Screens of the sagas view beyond the list: one instance's timeline
//! (lanes, compensation, failure, selected event, zoom), the waterfall of
//! recent instances, the list's sort, and sagas inferred without
//! definitions with their learned path. Keys go through the keymap.

mod support;

use crossterm::event::KeyCode;
use flowscope::analysis::saga::SagaDef;
use flowscope::analysis::{AnalysisConfig, Engine, EngineConfig};
use flowscope::envelope::Envelope;
use support::screen::{MS, T0, app, key, screen};

fn engine(sagas: Vec<SagaDef>) -> Engine {
    Engine::new(EngineConfig {
        source: "nats://127.0.0.1:4222".into(),
        analysis: AnalysisConfig {
            sagas,
            ..AnalysisConfig::default()
        },
        ..EngineConfig::default()
    })
}

fn order_saga() -> SagaDef {
    SagaDef {
        timeout: std::time::Duration::from_secs(5),
        ..flowscope::sim::order_saga()
    }
}

fn feed(e: &mut Engine, events: &[(i64, &str, &str)]) {
    for (ms, ty, id) in events {
        e.ingest(Envelope::new(
            T0 + ms * MS,
            "orders.x",
            format!(r#"{{"type":"{ty}","correlation_id":"{id}","at_ms":{ms}}}"#),
        ));
    }
}

/// The lines of a screen whose text contains `needle`.
fn line_with<'a>(s: &'a str, needle: &str) -> &'a str {
    s.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}:\n{s}"))
}

#[test]
fn a_compensated_instance_has_its_failure_and_compensations_on_the_timeline() {
    let mut e = engine(vec![order_saga()]);
    feed(
        &mut e,
        &[
            (0, "OrderCreated", "o-comp"),
            (100, "InventoryReserved", "o-comp"),
            (400, "PaymentFailed", "o-comp"),
            (700, "InventoryReleased", "o-comp"),
            (1000, "OrderCancelled", "o-comp"),
        ],
    );
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('6'));
    key(&mut app, &mut e, KeyCode::Enter);
    let s = screen(&mut app, 100, 30);
    assert!(
        s.contains("Saga order · o-comp · compensated · 5 events over 1s · zoom 1×"),
        "{s}"
    );
    // Lanes: the steps, the failure, then the compensations, in order.
    let lanes: Vec<usize> = [
        "│OrderCreated ",
        "│InventoryReserved ",
        "│PaymentProcessed ",
        "│OrderShipped ",
        "│PaymentFailed ",
        "│InventoryReleased ",
        "│OrderCancelled ",
    ]
    .iter()
    .map(|l| s.find(l).unwrap_or_else(|| panic!("lane {l}:\n{s}")))
    .collect();
    assert!(lanes.windows(2).all(|w| w[0] < w[1]), "{s}");
    assert!(line_with(&s, "│PaymentFailed ").contains("─✗"), "{s}");
    assert!(line_with(&s, "│InventoryReleased ").contains("─◆"), "{s}");
    assert!(line_with(&s, "│OrderCancelled ").contains("─◆"), "{s}");
    assert!(
        !line_with(&s, "│PaymentProcessed ").contains('●'),
        "a step never reached stays empty: {s}"
    );
    // Bars start where the triggering event was: the failure's bar starts
    // at the reservation (10% of the way), right of the creation point.
    let created = line_with(&s, "│OrderCreated ").find('●').unwrap();
    let fail_bar = line_with(&s, "│PaymentFailed ").find('─').unwrap();
    assert!(fail_bar > created, "{s}");
    assert!(s.contains("#0 OrderCreated at +0ms"), "{s}");
    insta::assert_snapshot!("saga_timeline_compensated", s);

    // → moves to the failure; its event is in the pane below.
    key(&mut app, &mut e, KeyCode::Right);
    key(&mut app, &mut e, KeyCode::Right);
    let s = screen(&mut app, 100, 30);
    assert!(
        s.contains("#2 PaymentFailed at +400ms, 300ms after InventoryReserved"),
        "{s}"
    );
    assert!(s.contains("\"at_ms\": 400"), "the event's JSON: {s}");

    // + zooms in around the selected event; - and 0 zoom back out.
    key(&mut app, &mut e, KeyCode::Char('+'));
    key(&mut app, &mut e, KeyCode::Char('+'));
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("zoom 4×"), "{s}");
    assert!(
        !line_with(&s, "│OrderCancelled ").contains('◆'),
        "1.0s at 4× shows 250ms around +400ms: {s}"
    );
    assert!(line_with(&s, "│PaymentFailed ").contains('✗'), "{s}");
    key(&mut app, &mut e, KeyCode::Char('0'));
    assert!(screen(&mut app, 100, 30).contains("zoom 1×"));

    // Esc goes back to the list.
    key(&mut app, &mut e, KeyCode::Esc);
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("Instances · 1"), "{s}");
}

#[test]
fn a_stuck_instance_waits_on_its_next_step_until_the_clock() {
    let mut e = engine(vec![order_saga()]);
    feed(
        &mut e,
        &[
            (0, "OrderCreated", "o-stuck"),
            (500, "InventoryReserved", "o-stuck"),
            (10_000, "OrderCreated", "o-new"),
        ],
    );
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('6'));
    key(&mut app, &mut e, KeyCode::Enter);
    let s = screen(&mut app, 100, 24);
    assert!(s.contains("o-stuck · stuck"), "stuck first: {s}");
    let waiting = line_with(&s, "│PaymentProcessed ");
    assert!(
        waiting.contains("┄┄┄"),
        "the wait for the payment runs to the clock: {s}"
    );
    assert!(s.contains("over 10s"), "{s}");
}

#[test]
fn the_waterfall_puts_recent_instances_on_one_time_axis() {
    let mut e = engine(vec![order_saga()]);
    let mut events = Vec::new();
    let ids: Vec<String> = (0..6).map(|n| format!("o-{n}")).collect();
    for (n, id) in ids.iter().enumerate() {
        let t = n as i64 * 1000;
        events.push((t, "OrderCreated", id.as_str()));
        events.push((t + 300, "InventoryReserved", id.as_str()));
        if n == 2 {
            events.push((t + 600, "PaymentFailed", id.as_str()));
            continue;
        }
        if n == 0 {
            continue; // stuck by the end
        }
        events.push((t + 600, "PaymentProcessed", id.as_str()));
        events.push((t + 900, "OrderShipped", id.as_str()));
    }
    feed(&mut e, &events);
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('6'));
    key(&mut app, &mut e, KeyCode::Char('w'));
    let s = screen(&mut app, 100, 16);
    assert!(
        s.contains("Waterfall · 6 most recently started instances"),
        "{s}"
    );
    let rows: Vec<&str> = ids
        .iter()
        .map(|id| line_with(&s, &format!("│{id} ")))
        .collect();
    let starts: Vec<usize> = rows
        .iter()
        .map(|l| l.find('━').unwrap_or_else(|| panic!("bar: {s}")))
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "later starts further right: {s}"
    );
    assert!(rows[2].contains('✗'), "the failure is marked: {s}");
    assert!(
        rows[0].contains('┄'),
        "the stuck one waits to the clock: {s}"
    );
    insta::assert_snapshot!("saga_waterfall", s);

    // Enter on a row opens its timeline; Esc back to the waterfall, w to the list.
    key(&mut app, &mut e, KeyCode::End);
    key(&mut app, &mut e, KeyCode::Up);
    key(&mut app, &mut e, KeyCode::Enter);
    assert!(screen(&mut app, 100, 16).contains("Saga order · o-4 · completed"));
    key(&mut app, &mut e, KeyCode::Esc);
    assert!(screen(&mut app, 100, 16).contains("Waterfall"));
    key(&mut app, &mut e, KeyCode::Char('w'));
    assert!(screen(&mut app, 100, 16).contains("Instances · 6"));
}

#[test]
fn s_sorts_the_instances() {
    let mut e = engine(vec![order_saga()]);
    feed(
        &mut e,
        &[
            (0, "OrderCreated", "o-b"),
            (100, "OrderCreated", "o-c"),
            (200, "OrderCreated", "o-a"),
            (300, "InventoryReserved", "o-a"),
        ],
    );
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('6'));
    let pos = |s: &str, ids: [&str; 3]| ids.map(|id| s.find(&format!(" {id} ")).unwrap());
    key(&mut app, &mut e, KeyCode::Char('s'));
    let s = screen(&mut app, 120, 20);
    assert!(s.contains("by started (s)"), "{s}");
    let p = pos(&s, ["o-a", "o-c", "o-b"]);
    assert!(p[0] < p[1] && p[1] < p[2], "newest first: {s}");
    key(&mut app, &mut e, KeyCode::Char('s'));
    key(&mut app, &mut e, KeyCode::Char('s'));
    let s = screen(&mut app, 120, 20);
    assert!(s.contains("by id (s)"), "{s}");
    let p = pos(&s, ["o-a", "o-b", "o-c"]);
    assert!(p[0] < p[1] && p[1] < p[2], "{s}");
    key(&mut app, &mut e, KeyCode::Char('S'));
    let s = screen(&mut app, 120, 20);
    assert!(s.contains("by id, reversed (s)"), "{s}");
    let p = pos(&s, ["o-c", "o-b", "o-a"]);
    assert!(p[0] < p[1] && p[1] < p[2], "{s}");
}

#[test]
fn a_narrow_terminal_drops_columns_before_it_cuts_the_id() {
    let long = "order-2026-12-03-000042";
    let mut e = engine(vec![
        order_saga(),
        SagaDef::new(
            "refund",
            &["RefundRequested", "RefundPaid"],
            &[],
            &[],
            std::time::Duration::from_secs(5),
        ),
    ]);
    feed(
        &mut e,
        &[
            (0, "OrderCreated", long),
            (10, "InventoryReserved", long),
            (20, "RefundRequested", "r-1"),
        ],
    );
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('6'));
    let wide = screen(&mut app, 140, 20);
    let row = line_with(&wide, long);
    assert!(
        row.contains(" order ") && row.contains("09:00:00.000") && row.contains(" ago "),
        "two saga types: the Saga column shows; wide: every column\n{wide}"
    );
    let narrow = screen(&mut app, 80, 20);
    let row = line_with(&narrow, long);
    assert!(
        row.contains("InventoryReserved") && row.contains("2/4") && row.contains("10ms"),
        "{narrow}"
    );
    assert!(
        !row.contains("09:00:00.000") && !row.contains(" order "),
        "Saga and Started went first: {narrow}"
    );
}

#[test]
fn without_definitions_the_learned_path_is_shown_and_deviations_marked() {
    let mut e = engine(Vec::new());
    let mut events = Vec::new();
    let ids: Vec<String> = (0..4).map(|n| format!("o-{n}")).collect();
    for (n, id) in ids.iter().enumerate() {
        let t = n as i64 * 100;
        events.push((t, "OrderPlaced", id.as_str()));
        events.push((t + 10, "StockReserved", id.as_str()));
        events.push((
            t + 20,
            if n == 3 {
                "StockReleased"
            } else {
                "OrderShipped"
            },
            id.as_str(),
        ));
    }
    events.push((400, "OrderPlaced", "o-4"));
    events.push((410, "StockReserved", "o-4"));
    events.push((60_000, "OrderPlaced", "o-late"));
    feed(&mut e, &events);
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('6'));
    let s = screen(&mut app, 160, 24);
    assert!(
        s.contains("learned path  OrderPlaced → StockReserved → OrderShipped  (3 of 5 finished)"),
        "{s}"
    );
    assert!(
        s.contains(r#"steps = ["OrderPlaced", "StockReserved", "OrderShipped"]"#),
        "{s}"
    );
    assert!(
        s.contains("completed 4  compensated 0  failed 0  in progress 1  stuck 1"),
        "{s}"
    );
    // o-3 left the path but ended where paths end (StockReleased is never
    // followed); o-4 stopped at StockReserved, where the others went on.
    let off = line_with(&s, " o-3 ");
    assert!(
        off.contains("│completed") && off.contains("2/3") && off.contains(" 1!│"),
        "{s}"
    );
    let stopped = line_with(&s, " o-4 ");
    assert!(stopped.contains("│stuck") && stopped.contains("2/3"), "{s}");
    assert!(s.find(" o-4 ") < s.find(" o-late "), "stuck first: {s}");
    insta::assert_snapshot!("sagas_inferred", s);

    key(&mut app, &mut e, KeyCode::End);
    key(&mut app, &mut e, KeyCode::Enter);
    key(&mut app, &mut e, KeyCode::End);
    let s = screen(&mut app, 160, 24);
    assert!(s.contains("Saga inferred · o-3 · completed"), "{s}");
    assert!(line_with(&s, "│StockReleased ").contains('▲'), "{s}");
    assert!(s.contains("▲ leaves the learned path"), "{s}");
}
