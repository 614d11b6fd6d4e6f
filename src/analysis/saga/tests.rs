//! Tests of the saga book: states, marks, durations, bounds and inference.

use std::time::Duration;

use super::*;
use crate::subject::SubjectPattern;

const S: i64 = 1_000_000_000;

fn order() -> SagaDef {
    crate::sim::order_saga()
}

fn feed(book: &mut SagaBook, events: &[(i64, &str, &str)]) {
    for (i, (t, ty, id)) in events.iter().enumerate() {
        let ids = vec![Some(*id); book.defs().len()];
        book.observe(i as u64, t * S, "orders.x", &(*ty).into(), &ids);
    }
}

fn state_of(book: &SagaBook, id: &str) -> SagaState {
    let i = book.instances().find(|i| i.id == id).unwrap();
    book.state(i)
}

#[test]
fn every_state_from_its_events() {
    let mut b = SagaBook::new(vec![order()]);
    feed(
        &mut b,
        &[
            (0, "OrderCreated", "done"),
            (1, "InventoryReserved", "done"),
            (2, "PaymentProcessed", "done"),
            (3, "OrderShipped", "done"),
            (0, "OrderCreated", "comp"),
            (1, "InventoryReserved", "comp"),
            (2, "PaymentFailed", "comp"),
            (3, "InventoryReleased", "comp"),
            (4, "OrderCancelled", "comp"),
            (0, "OrderCreated", "fail"),
            (2, "PaymentFailed", "fail"),
            (3, "InventoryReleased", "fail"),
            (5, "OrderCreated", "stuck"),
            (40, "OrderCreated", "busy"),
        ],
    );
    assert_eq!(state_of(&b, "done"), SagaState::Completed);
    assert_eq!(state_of(&b, "comp"), SagaState::Compensated);
    assert_eq!(
        state_of(&b, "fail"),
        SagaState::Failed,
        "never merely stuck"
    );
    assert_eq!(
        state_of(&b, "stuck"),
        SagaState::Stuck,
        "35 s idle at clock 40 s"
    );
    assert_eq!(state_of(&b, "busy"), SagaState::InProgress);
    let counts = b.counts(0);
    assert_eq!(
        counts.values().sum::<u64>(),
        5,
        "each instance in one state"
    );
}

#[test]
fn stuck_is_judged_on_the_event_clock_and_a_move_resumes_it() {
    let mut b = SagaBook::new(vec![order()]);
    feed(
        &mut b,
        &[(0, "OrderCreated", "a"), (30, "OrderCreated", "b")],
    );
    assert_eq!(
        state_of(&b, "a"),
        SagaState::InProgress,
        "30 s is not longer than 30 s"
    );
    feed(&mut b, &[(31, "OrderCreated", "c")]);
    assert_eq!(state_of(&b, "a"), SagaState::Stuck);
    feed(&mut b, &[(32, "InventoryReserved", "a")]);
    assert_eq!(state_of(&b, "a"), SagaState::InProgress);
    let a = b.instances().find(|i| i.id == "a").unwrap();
    assert_eq!(a.events[1].marks, vec![Mark::Resumed]);
}

#[test]
fn out_of_place_events_are_marked() {
    let mut other = order();
    other.name = "shipping".into();
    other.steps = vec!["OrderShipped".into(), "OrderDelivered".into()];
    other.failure = vec![];
    other.compensation = vec![];
    let mut b = SagaBook::new(vec![order(), other]);
    feed(
        &mut b,
        &[
            (0, "OrderCreated", "x"),
            (1, "PaymentProcessed", "x"),
            (2, "InventoryReserved", "x"),
            (3, "InventoryReserved", "x"),
            (4, "OrderShipped", "x"),
            (5, "OrderCreated", "x"),
        ],
    );
    let x = b.instances().find(|i| i.saga == 0).unwrap();
    let marks: Vec<_> = x.events.iter().map(|e| e.marks.clone()).collect();
    assert_eq!(marks[1], vec![Mark::BeforePredecessor]);
    assert_eq!(marks[3], vec![Mark::Repeated]);
    assert_eq!(marks[5][0], Mark::AfterCompletion);
    let ship = b.instances().find(|i| i.saga == 1).unwrap();
    assert_eq!(ship.events[0].marks, vec![Mark::OtherSaga("order".into())]);
}

#[test]
fn step_durations_and_end_to_end() {
    let mut b = SagaBook::new(vec![order()]);
    for n in 0..10 {
        let id = format!("o{n}");
        feed(
            &mut b,
            &[
                (100 * n, "OrderCreated", &id),
                (100 * n + 1, "InventoryReserved", &id),
                (100 * n + 3, "PaymentProcessed", &id),
                (100 * n + 6, "OrderShipped", &id),
            ],
        );
    }
    let st = b.stats(0);
    let p = st.steps[1].percentiles().unwrap();
    assert_eq!((p.count, p.p50 / 100, p.max / 100), (10, 20, 20), "~2 s");
    let e = st.end_to_end.percentiles().unwrap();
    assert_eq!(e.p99 / 1000, 6);
}

#[test]
fn memory_is_bounded_and_forgotten_instances_still_count() {
    let mut b = SagaBook::new(vec![order()]);
    for n in 0..(MAX_INSTANCES as i64 + 10) {
        let id = format!("o{n}");
        feed(
            &mut b,
            &[
                (n, "OrderCreated", &id),
                (n, "InventoryReserved", &id),
                (n, "PaymentProcessed", &id),
                (n, "OrderShipped", &id),
            ],
        );
    }
    assert_eq!(b.instances().count(), MAX_INSTANCES);
    assert_eq!(
        b.counts(0)[&SagaState::Completed],
        MAX_INSTANCES as u64 + 10
    );
}

#[test]
fn without_definitions_the_happy_path_is_learned_and_deviations_marked() {
    let mut b = SagaBook::inferring(Duration::from_secs(30));
    let mut events = Vec::new();
    for n in 0..5 {
        let id = format!("ok{n}");
        for (k, ty) in ["Placed", "Reserved", "Shipped"].iter().enumerate() {
            events.push((n + k as i64, *ty, id.clone()));
        }
    }
    for n in 0..2 {
        let id = format!("off{n}");
        for (k, ty) in ["Placed", "Reserved", "Refunded"].iter().enumerate() {
            events.push((n + k as i64, *ty, id.clone()));
        }
    }
    events.push((3, "Placed", "short".into()));
    events.push((50, "Placed", "busy".into()));
    let evs: Vec<(i64, &str, &str)> = events
        .iter()
        .map(|(t, ty, id)| (*t, *ty, id.as_str()))
        .collect();
    feed(&mut b, &evs);
    let learned = b.learned().expect("learned from the quiet instances");
    assert_eq!(learned.path, ["Placed", "Reserved", "Shipped"]);
    assert_eq!((learned.instances, learned.finished), (5, 8));
    assert_eq!(state_of(&b, "ok3"), SagaState::Completed);
    assert_eq!(
        state_of(&b, "off1"),
        SagaState::Completed,
        "off the happy path, but ends where the paths it takes end"
    );
    assert_eq!(
        state_of(&b, "short"),
        SagaState::Stuck,
        "stopped where instances go on"
    );
    assert_eq!(state_of(&b, "busy"), SagaState::InProgress);
    let view = b.view(100);
    let row = |id: &str| view.rows.iter().find(|r| r.id == id).unwrap();
    assert_eq!(row("off0").off_path, Some(2), "Refunded leaves the path");
    assert_eq!((row("off0").steps_done, row("off0").steps_total), (2, 3));
    assert_eq!(row("ok0").off_path, None);
    assert_eq!(view.types[0].name, INFERRED);
    assert_eq!(
        view.types[0].counts,
        [7, 0, 0, 1, 1, 0],
        "completed, compensated, failed, in progress, stuck, unverifiable"
    );

    // A quiet instance that moves again is no longer counted as finished.
    feed(&mut b, &[(51, "Shipped", "short")]);
    assert_eq!(state_of(&b, "short"), SagaState::InProgress);
    assert_eq!(b.learned().unwrap().finished, 7);
    let short = b.instances().find(|i| i.id == "short").unwrap();
    assert_eq!(short.events[1].marks, vec![Mark::Resumed]);

    // Out of order: off the path at its first event, yet both steps done.
    feed(&mut b, &[(52, "Reserved", "swap"), (52, "Placed", "swap")]);
    let view = b.view(100);
    let swap = view.rows.iter().find(|r| r.id == "swap").unwrap();
    assert_eq!((swap.steps_done, swap.off_path), (2, Some(0)));
}

#[test]
fn inference_learns_failures_and_compensations() {
    let mut b = SagaBook::inferring(Duration::from_secs(10));
    let happy = [
        "OrderCreated",
        "InventoryReserved",
        "PaymentProcessed",
        "OrderShipped",
    ];
    let comp = [
        "OrderCreated",
        "InventoryReserved",
        "PaymentFailed",
        "InventoryReleased",
        "OrderCancelled",
    ];
    let mut events: Vec<(i64, &str, String)> = Vec::new();
    for n in 0..6 {
        for (k, ty) in happy.iter().enumerate() {
            events.push((n + k as i64, ty, format!("ok{n}")));
        }
    }
    for n in 0..3 {
        for (k, ty) in comp.iter().enumerate() {
            events.push((n + k as i64, ty, format!("comp{n}")));
        }
    }
    for (k, ty) in comp[..3].iter().enumerate() {
        events.push((k as i64, ty, "fail".into()));
    }
    // Every step, the last two swapped: done, not stuck.
    for (k, ty) in [
        "OrderCreated",
        "InventoryReserved",
        "OrderShipped",
        "PaymentProcessed",
    ]
    .iter()
    .enumerate()
    {
        events.push((k as i64, ty, "swapped".into()));
    }
    events.push((40, "OrderCreated", "clock".into()));
    let evs: Vec<(i64, &str, &str)> = events
        .iter()
        .map(|(t, ty, id)| (*t, *ty, id.as_str()))
        .collect();
    feed(&mut b, &evs);
    assert_eq!(state_of(&b, "ok0"), SagaState::Completed);
    assert_eq!(state_of(&b, "comp0"), SagaState::Compensated);
    assert_eq!(state_of(&b, "fail"), SagaState::Failed);
    assert_eq!(
        state_of(&b, "swapped"),
        SagaState::Completed,
        "every step done is never stuck"
    );
    let learned = b.learned().unwrap();
    assert_eq!(learned.failure, ["PaymentFailed"]);
    assert_eq!(
        learned.compensation,
        ["InventoryReleased", "OrderCancelled"]
    );
    assert!(learned.toml().contains(r#"failure = ["PaymentFailed"]"#));
    let view = b.view(100);
    let row = |id: &str| view.rows.iter().find(|r| r.id == id).unwrap();
    assert_eq!(
        row("comp0").off_path,
        None,
        "a compensation is not out of place"
    );
    assert_eq!(row("comp0").marks, 0);
    assert_eq!(
        (row("swapped").steps_done, row("swapped").steps_total),
        (4, 4)
    );
    let lanes = &view.types[0].lanes;
    assert!(lanes.contains(&("PaymentFailed".into(), LaneKind::Failure)));
    assert!(lanes.contains(&("OrderCancelled".into(), LaneKind::Compensation)));
    assert_eq!(
        view.types[0].counts,
        [7, 3, 1, 1, 0, 0],
        "the clock instance is in progress"
    );
}

#[test]
fn an_inferred_instance_is_learned_as_soon_as_it_goes_quiet() {
    // Timeout 10 s. `a` moves after it was queued; `b` and `c` start
    // later. At 16 s `a` has been quiet since 15 s and must be counted
    // then, not after the instances queued behind it.
    let mut b = SagaBook::inferring(Duration::from_secs(10));
    feed(
        &mut b,
        &[
            (0, "Placed", "a"),
            (5, "Shipped", "a"),
            (6, "Placed", "b"),
            (11, "Placed", "c"),
        ],
    );
    assert_eq!(b.learned(), None, "nothing quiet at 11 s");
    feed(&mut b, &[(16, "Placed", "d")]);
    let learned = b.learned().expect("a is quiet at 16 s");
    assert_eq!((learned.instances, learned.finished), (1, 1));
    assert_eq!(learned.path, ["Placed", "Shipped"]);
    feed(&mut b, &[(17, "Placed", "e")]);
    assert_eq!(b.learned().unwrap().finished, 2, "b is quiet at 17 s");
    assert_eq!(state_of(&b, "c"), SagaState::InProgress);
}

#[test]
fn a_step_with_its_own_timeout_may_wait_longer() {
    let mut def = order();
    def.step_timeouts = vec![None, None, Some(Duration::from_secs(120)), None];
    let mut b = SagaBook::new(vec![def]);
    feed(
        &mut b,
        &[
            (0, "OrderCreated", "paying"),
            (1, "InventoryReserved", "paying"),
            (0, "OrderCreated", "reserving"),
            (60, "OrderCreated", "clock"),
        ],
    );
    assert_eq!(
        state_of(&b, "paying"),
        SagaState::InProgress,
        "waits for PaymentProcessed: 120 s"
    );
    assert_eq!(
        state_of(&b, "reserving"),
        SagaState::Stuck,
        "waits for InventoryReserved: the saga's 30 s"
    );
    feed(&mut b, &[(122, "OrderCreated", "later")]);
    assert_eq!(state_of(&b, "paying"), SagaState::Stuck);
}

#[test]
fn events_on_other_subjects_are_not_the_sagas() {
    let mut def = order();
    def.subjects = vec![SubjectPattern::parse("orders.>").unwrap()];
    let mut b = SagaBook::new(vec![def]);
    let id = [Some("o-1")];
    b.observe(0, 0, "audit.orders", &"OrderCreated".into(), &id);
    assert_eq!(b.instances().count(), 0, "audit.orders is not orders.>");
    b.observe(1, S, "orders.created", &"OrderCreated".into(), &id);
    b.observe(2, 2 * S, "audit.orders", &"InventoryReserved".into(), &id);
    let inst = b.instances().next().unwrap();
    assert_eq!(inst.events.len(), 1);
    assert_eq!(inst.steps_done(), 1);
}
