//! The consumer lag view on screen: streams with their consumers worst
//! first, statuses, numbers and trends, the selected consumer's chart and
//! settings, a stream's summary, and flowscope's own readers hidden until
//! asked for. Polls are fed to the engine as the poller (or a replay) would.

mod support;

use crossterm::event::KeyCode;
use flowscope::analysis::lag::{
    ConsumerConfig, ConsumerState, HealthRules, LagConfig, LagPoll, StreamState,
};
use flowscope::analysis::{AnalysisConfig, Engine, EngineConfig, LinkEvent};
use flowscope::source::stream::READER_DESCRIPTION;
use support::screen::{T0, app, key, screen};

const S: i64 = 1_000_000_000;

fn consumer(name: &str, durable: bool) -> ConsumerState {
    ConsumerState {
        stream: "ORDERS".into(),
        name: name.into(),
        durable,
        pull: true,
        ack_policy: "explicit".into(),
        config: ConsumerConfig {
            deliver_policy: "all".into(),
            ack_wait_ms: 30_000,
            max_deliver: -1,
            max_ack_pending: 1000,
            description: None,
        },
        ..ConsumerState::default()
    }
}

/// Ten polls two seconds apart of a stream growing by 20 messages a poll:
/// `shipping` keeps up, `analytics` works but falls behind, `billing`
/// takes messages and never acks, `audit` never reads, and a flowscope
/// reader follows along.
fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig {
        source: "nats://127.0.0.1:4222".into(),
        analysis: AnalysisConfig {
            lag: LagConfig {
                rules: HealthRules {
                    window: 5,
                    allowed_lag: 0,
                },
                overrides: vec![],
            },
            ..AnalysisConfig::default()
        },
        ..EngineConfig::default()
    });
    e.link(
        LinkEvent::Connected {
            version: Some("2.10.22".into()),
        },
        T0 - 60 * S,
    );
    for i in 0..10u64 {
        let t = T0 + i as i64 * 2 * S;
        let last = 100 + 20 * i;
        let mut shipping = consumer("shipping", true);
        shipping.delivered_seq = last;
        shipping.delivered_cseq = last;
        shipping.ack_floor_seq = last;
        shipping.ack_floor_ns = Some(t - S / 2);
        shipping.delivered_ns = Some(t - S / 2);
        let mut analytics = consumer("analytics", true);
        analytics.delivered_seq = 90 + 12 * i;
        analytics.delivered_cseq = 90 + 12 * i;
        analytics.ack_floor_seq = 90 + 12 * i;
        analytics.unprocessed = last - analytics.delivered_seq;
        analytics.ack_floor_ns = Some(t - S);
        analytics.oldest_unacked_ns = Some(t - (8 + i as i64) * S);
        let mut billing = consumer("billing", true);
        billing.config.max_ack_pending = 200;
        billing.delivered_seq = 50 + 10 * i;
        billing.delivered_cseq = 50 + 10 * i;
        billing.outstanding = billing.delivered_seq;
        billing.unprocessed = last - billing.delivered_seq;
        billing.oldest_unacked_ns = Some(T0 - 30 * S);
        billing.config.description = Some("invoices; never acknowledges".into());
        let mut audit = consumer("audit", true);
        audit.pull = false;
        audit.filter = "orders.created".into();
        audit.delivered_seq = 40;
        audit.delivered_cseq = 40;
        audit.ack_floor_seq = 40;
        audit.unprocessed = (last - 40) / 3;
        audit.oldest_unacked_ns = Some(T0 - 90 * S);
        let mut reader = consumer("Xy12ab", false);
        reader.ack_policy = "none".into();
        reader.flowscope = true;
        reader.delivered_seq = last;
        reader.ack_floor_seq = last;
        reader.config.description = Some(READER_DESCRIPTION.into());
        let poll = LagPoll {
            streams: vec![
                StreamState {
                    name: "ORDERS".into(),
                    retention: "limits".into(),
                    messages: last,
                    bytes: last * 250,
                    first_seq: 1,
                    first_ns: T0 - 600 * S,
                    last_seq: last,
                    last_ns: t - S,
                    subjects: 8,
                    consumers: 5,
                    subject_filters: vec!["orders.>".into()],
                },
                StreamState {
                    name: "PAYMENTS".into(),
                    retention: "workqueue".into(),
                    messages: 3,
                    bytes: 900,
                    first_seq: 41,
                    first_ns: T0 - 5 * S,
                    last_seq: 43,
                    last_ns: T0 - S,
                    subjects: 1,
                    consumers: 0,
                    subject_filters: vec!["payments.>".into()],
                },
            ],
            consumers: vec![shipping, analytics, billing, audit, reader],
            error: None,
        };
        e.lag_poll(t, &poll);
    }
    e
}

#[test]
fn the_lag_view_lists_consumers_worst_first_with_the_selected_ones_chart() {
    let mut e = engine();
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('5'));
    let s = screen(&mut app, 150, 40);
    // Worst first: the stream in trouble before the quiet one, and
    // within it STOP, STALL, WARN, OK.
    let order: Vec<usize> = ["audit", "billing", "analytics", "shipping", "PAYMENTS"]
        .iter()
        .map(|n| s.find(n).unwrap_or_else(|| panic!("{n} on screen:\n{s}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{s}");
    assert!(!s.contains("Xy12ab"), "flowscope's reader is hidden:\n{s}");
    insta::assert_snapshot!("lag_view", s);
}

#[test]
fn moving_to_a_consumer_shows_its_numbers_and_a_stream_row_its_summary() {
    let mut e = engine();
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('5'));
    // The first consumer (audit) is selected; down twice is analytics.
    key(&mut app, &mut e, KeyCode::Down);
    key(&mut app, &mut e, KeyCode::Down);
    let s = screen(&mut app, 150, 40);
    assert!(s.contains("ORDERS / analytics · 10 samples"), "{s}");
    assert!(
        s.contains("WARN: lag never decreased across the window"),
        "{s}"
    );
    insta::assert_snapshot!("lag_consumer_chart", s);
    // Up to the top: the stream row and its summary.
    key(&mut app, &mut e, KeyCode::Char('g'));
    let s = screen(&mut app, 150, 40);
    assert!(s.contains("Stream ORDERS"), "{s}");
    assert!(s.contains("STOP 1  STALL 1  WARN 1  OK 1"), "{s}");
    // a shows flowscope's own reader.
    key(&mut app, &mut e, KeyCode::Char('a'));
    let s = screen(&mut app, 150, 40);
    assert!(s.contains("Xy12ab"), "{s}");
}

#[test]
fn a_small_terminal_drops_columns_not_rows() {
    let mut e = engine();
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('5'));
    insta::assert_snapshot!("lag_small", screen(&mut app, 80, 24));
}

#[test]
fn without_polls_the_view_says_why_it_is_empty() {
    let mut e = Engine::new(EngineConfig::default());
    let mut app = app(&mut e);
    key(&mut app, &mut e, KeyCode::Char('5'));
    let s = screen(&mut app, 100, 12);
    assert!(s.contains("No lag poll yet"), "{s}");
}
