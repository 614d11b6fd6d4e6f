//! Tests of the lag book and the health rules.

use super::*;

fn s(t: i64, unprocessed: u64, outstanding: u64, delivered: u64, floor: u64) -> Sample {
    Sample {
        t: t * 1_000_000_000,
        unprocessed,
        outstanding,
        redelivered: 0,
        delivered_seq: delivered,
        delivered_cseq: delivered,
        ack_floor_seq: floor,
    }
}

const RULES: HealthRules = HealthRules {
    window: 3,
    allowed_lag: 0,
};

#[test]
fn too_few_samples_are_unknown_but_a_rewind_shows_at_once() {
    assert_eq!(judge(&[s(0, 5, 0, 1, 1)], RULES).0, Health::Unknown);
    assert_eq!(
        judge(&[s(0, 5, 0, 10, 10), s(2, 5, 0, 3, 3)], RULES).0,
        Health::Rewind
    );
}

#[test]
fn a_rewind_is_forgotten_once_it_leaves_the_window() {
    let mut h = vec![s(0, 5, 0, 10, 10), s(2, 5, 0, 3, 3)];
    assert_eq!(judge(&h, RULES).0, Health::Rewind);
    h.extend([s(4, 0, 0, 5, 5), s(6, 0, 0, 7, 7), s(8, 0, 0, 9, 9)]);
    assert_eq!(judge(&h, RULES).0, Health::Ok);
}

#[test]
fn caught_up_once_is_ok() {
    let w = [s(0, 5, 0, 10, 10), s(2, 0, 0, 15, 15), s(4, 9, 0, 15, 15)];
    assert_eq!(judge(&w, RULES).0, Health::Ok);
    let loose = HealthRules {
        allowed_lag: 9,
        ..RULES
    };
    let w = [s(0, 20, 0, 1, 1), s(2, 30, 0, 1, 1), s(4, 9, 0, 1, 1)];
    assert_eq!(judge(&w, loose).0, Health::Ok);
}

#[test]
fn behind_without_progress_is_stop() {
    let w = [s(0, 5, 0, 10, 10), s(2, 8, 0, 10, 10), s(4, 12, 0, 10, 10)];
    assert_eq!(judge(&w, RULES).0, Health::Stop);
}

#[test]
fn deliveries_without_acks_are_stall() {
    let w = [
        s(0, 90, 10, 10, 0),
        s(2, 80, 20, 20, 0),
        s(4, 70, 30, 30, 0),
    ];
    assert_eq!(judge(&w, RULES).0, Health::Stall);
}

#[test]
fn climbing_redeliveries_are_stall() {
    let mut w = [s(0, 0, 5, 10, 5), s(2, 0, 5, 11, 6), s(4, 0, 5, 12, 7)];
    for (i, x) in w.iter_mut().enumerate() {
        x.redelivered = i as u64 + 1;
    }
    assert_eq!(judge(&w, RULES).0, Health::Stall);
}

#[test]
fn growing_lag_with_progress_is_warn_and_shrinking_is_ok() {
    let w = [
        s(0, 10, 0, 10, 10),
        s(2, 12, 0, 15, 15),
        s(4, 15, 0, 20, 20),
    ];
    assert_eq!(judge(&w, RULES).0, Health::Warn);
    let w = [
        s(0, 15, 0, 10, 10),
        s(2, 12, 0, 15, 15),
        s(4, 10, 0, 20, 20),
    ];
    assert_eq!(judge(&w, RULES).0, Health::Ok);
    assert_eq!(lag_rate(&w), Some(-1.25));
    assert_eq!(catch_up_secs(&w), Some(8.0));
    let steady = [
        s(0, 10, 0, 10, 10),
        s(2, 10, 0, 15, 15),
        s(4, 10, 0, 20, 20),
    ];
    assert_eq!(judge(&steady, RULES).0, Health::Ok, "holding while working");
    assert_eq!(catch_up_secs(&steady), None);
}

#[test]
fn the_most_specific_override_wins() {
    let cfg = LagConfig {
        rules: HealthRules::default(),
        overrides: vec![
            RulesOverride {
                stream: "ORDERS".into(),
                consumer: Some("slow".into()),
                window: None,
                allowed_lag: Some(1000),
            },
            RulesOverride {
                stream: "ORDERS".into(),
                consumer: None,
                window: Some(10),
                allowed_lag: Some(50),
            },
        ],
    };
    assert_eq!(
        cfg.rules_for("ORDERS", "slow"),
        HealthRules {
            window: 10,
            allowed_lag: 1000
        }
    );
    assert_eq!(cfg.rules_for("ORDERS", "fast").allowed_lag, 50);
    assert_eq!(cfg.rules_for("OTHER", "slow"), HealthRules::default());
}

#[test]
fn the_book_keeps_history_and_sorts_worst_first() {
    let mut book = LagBook::new(LagConfig {
        rules: RULES,
        overrides: vec![],
    });
    let stream = StreamState {
        name: "S".into(),
        ..StreamState::default()
    };
    for i in 0..3u64 {
        let poll = LagPoll {
            streams: vec![stream.clone()],
            consumers: vec![
                ConsumerState {
                    stream: "S".into(),
                    name: "good".into(),
                    delivered_seq: 10 * i,
                    ack_floor_seq: 10 * i,
                    ..ConsumerState::default()
                },
                ConsumerState {
                    stream: "S".into(),
                    name: "stuck".into(),
                    unprocessed: 5 + i,
                    ..ConsumerState::default()
                },
            ],
            error: None,
        };
        book.poll(i as i64 * 2_000_000_000, &poll);
    }
    let view = book.view();
    let names: Vec<_> = view.consumers().map(|c| c.state.name.as_str()).collect();
    assert_eq!(names, ["stuck", "good"]);
    assert_eq!(view.streams[0].worst(), Health::Stop);
    assert_eq!(view.streams[0].consumers[0].history.len(), 3);
    assert_eq!(view.polls, 3);
}
