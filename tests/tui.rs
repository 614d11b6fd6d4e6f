//! Whole-screen tests of the TUI: the engine is fed fixed events, the app
//! renders into a `TestBackend`, and the screen is compared with a reviewed
//! snapshot. Keys go through the real keymap.

mod support;

use std::sync::Arc;

use crossterm::event::KeyCode;
use flowscope::analysis::{Engine, EngineConfig, LinkEvent};
use flowscope::envelope::Envelope;
use flowscope::sim::{SimConfig, Simulation};
use support::screen::{MS, T0, app, key, screen, typed};

/// An engine with 40 simulated order events, one binary and one text event.
fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig {
        source: "nats://127.0.0.1:4222".into(),
        ..EngineConfig::default()
    });
    e.link(
        LinkEvent::Connected {
            version: Some("2.10.22".into()),
        },
        T0 - 90_000 * MS,
    );
    let mut sim = Simulation::new(SimConfig {
        seed: 3,
        ..SimConfig::default()
    });
    for i in 0..40 {
        let t = T0 + i * 150 * MS;
        let m = sim.next(t).unwrap();
        e.ingest(m.envelope(t));
        if i == 30 {
            e.ingest(Envelope::new(
                t + MS,
                "telemetry.raw",
                vec![0u8, 159, 146, 150, 7, 255, b'h', b'i'],
            ));
        }
        if i == 35 {
            e.ingest(Envelope::new(
                t + MS,
                "logs.audit",
                "user alice logged in\nfrom 10.0.0.7",
            ));
        }
    }
    e
}

#[test]
fn stream_view_follows_the_newest_event_and_shows_its_json() {
    let mut e = engine();
    let mut a = app(&mut e);
    let s = screen(&mut a, 140, 32);
    assert!(s.contains("FOLLOW"));
    assert!(s.contains("Payload (JSON)"));
    insta::assert_snapshot!(s);
    // Narrower: the detail pane goes below the table.
    insta::assert_snapshot!("stream_stacked", screen(&mut a, 100, 36));
}

#[test]
fn moving_up_pauses_following_and_shows_a_binary_payload_as_hex() {
    let mut e = engine();
    let mut a = app(&mut e);
    // The binary event is 10 rows above the newest one.
    for _ in 0..10 {
        key(&mut a, &mut e, KeyCode::Up);
    }
    let s = screen(&mut a, 120, 32);
    assert!(s.contains("PAUSED"), "{s}");
    assert!(s.contains("Payload (binary, 8 bytes, hex)"), "{s}");
    insta::assert_snapshot!(s);

    // New events do not move a paused selection; `f` follows again.
    e.ingest(Envelope::new(
        T0 + 10_000 * MS,
        "orders.created",
        r#"{"type":"Late"}"#,
    ));
    a.on_snapshot(Arc::new(e.snapshot()));
    assert!(screen(&mut a, 120, 32).contains("Payload (binary"));
    key(&mut a, &mut e, KeyCode::Char('f'));
    let s = screen(&mut a, 120, 32);
    assert!(s.contains("FOLLOW") && s.contains("Late"), "{s}");
}

#[test]
fn text_payloads_are_shown_as_text() {
    let mut e = engine();
    let mut a = app(&mut e);
    for _ in 0..4 {
        key(&mut a, &mut e, KeyCode::Char('k'));
    }
    let s = screen(&mut a, 120, 32);
    assert!(
        s.contains("Payload (text)") && s.contains("user alice logged in"),
        "{s}"
    );
}

#[test]
fn a_subject_filter_shows_matching_events_and_their_count() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('/'));
    typed(&mut a, &mut e, "payments.*");
    let typing = screen(&mut a, 120, 32);
    assert!(typing.contains("/payments.*█"), "{typing}");
    key(&mut a, &mut e, KeyCode::Enter);
    let s = screen(&mut a, 120, 32);
    let matches = e.snapshot().row_count();
    assert!(matches > 0 && matches < 42);
    assert!(
        s.contains(&format!("filter payments.* · {matches} of 42")),
        "{s}"
    );
    insta::assert_snapshot!(s);

    key(&mut a, &mut e, KeyCode::Esc);
    assert!(screen(&mut a, 120, 32).contains("Events · 42"));
}

#[test]
fn free_text_filter_and_a_bad_pattern() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('/'));
    typed(&mut a, &mut e, "alice");
    key(&mut a, &mut e, KeyCode::Enter);
    assert_eq!(
        e.snapshot().row_count(),
        1,
        "only the text payload mentions alice"
    );

    key(&mut a, &mut e, KeyCode::Char('/'));
    key(&mut a, &mut e, KeyCode::Backspace);
    typed(&mut a, &mut e, "orders.>.x");
    key(&mut a, &mut e, KeyCode::Enter);
    let s = screen(&mut a, 120, 32);
    assert!(s.contains("'>' may only be the last token"), "{s}");
}

#[test]
fn help_overlay_lists_the_keymap() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('?'));
    let s = screen(&mut a, 160, 90);
    for binding in flowscope::tui::keymap::BINDINGS {
        // Long descriptions wrap under themselves: their start is on one
        // line, and every word is there.
        let start: Vec<&str> = binding.help.split(' ').take(3).collect();
        assert!(
            s.contains(&start.join(" ")),
            "help lacks '{}'",
            binding.help
        );
        for word in binding.help.split(' ') {
            assert!(
                s.contains(word),
                "help lacks '{word}' of '{}'",
                binding.help
            );
        }
    }
    insta::assert_snapshot!(s);
    key(&mut a, &mut e, KeyCode::Esc);
    assert!(!screen(&mut a, 160, 60).contains("Keys ("));
    // On a narrow terminal the help is one column that scrolls to the end.
    key(&mut a, &mut e, KeyCode::Char('?'));
    let top = screen(&mut a, 80, 30);
    assert!(top.contains("quit") && !top.contains("This help"));
    for _ in 0..120 {
        key(&mut a, &mut e, KeyCode::Down);
    }
    let bottom = screen(&mut a, 80, 30);
    assert!(
        bottom.contains("This help") && bottom.contains("close"),
        "{bottom}"
    );
}

#[test]
fn subjects_view_shows_the_tree_with_counts() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('2'));
    let s = screen(&mut a, 120, 20);
    insta::assert_snapshot!(s);
    // Enter on the first branch filters the stream to it.
    key(&mut a, &mut e, KeyCode::Enter);
    let s = screen(&mut a, 120, 20);
    assert!(s.contains("filter subtree:customers"), "{s}");
}

#[test]
fn a_60_by_15_terminal_degrades_gracefully() {
    let mut e = engine();
    let mut a = app(&mut e);
    insta::assert_snapshot!("small_stream", screen(&mut a, 60, 15));
    key(&mut a, &mut e, KeyCode::Char('?'));
    insta::assert_snapshot!("small_help", screen(&mut a, 60, 15));
    key(&mut a, &mut e, KeyCode::Esc);
    key(&mut a, &mut e, KeyCode::Char('2'));
    insta::assert_snapshot!("small_subjects", screen(&mut a, 60, 15));
    // Tiny and empty terminals must not panic either.
    for (w, h) in [(1, 1), (10, 3), (1, 40), (200, 2), (30, 5)] {
        screen(&mut a, w, h);
        key(&mut a, &mut e, KeyCode::Char('1'));
        screen(&mut a, w, h);
    }
}

#[test]
fn subjects_collapse_and_sort() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('2'));
    assert!(screen(&mut a, 120, 24).contains("    profile"));
    key(&mut a, &mut e, KeyCode::Left); // collapse the selected first branch
    let s = screen(&mut a, 120, 24);
    assert!(
        s.contains("▸ customers") && !s.contains("    profile"),
        "{s}"
    );
    key(&mut a, &mut e, KeyCode::Char(' '));
    assert!(screen(&mut a, 120, 24).contains("    profile"));

    key(&mut a, &mut e, KeyCode::Char('s')); // by events, most first
    let s = screen(&mut a, 120, 24);
    assert!(s.contains("Events▼"), "{s}");
    let first = s.lines().nth(3).unwrap();
    assert!(
        first.contains("▾ inventory"),
        "inventory has the most events: {s}"
    );
    key(&mut a, &mut e, KeyCode::Char('S'));
    let s = screen(&mut a, 120, 24);
    assert!(
        s.contains("Events▲") && s.lines().nth(3).unwrap().contains("logs"),
        "{s}"
    );
}

#[test]
fn a_paused_table_stays_put_while_old_events_are_evicted() {
    let mut e = Engine::new(EngineConfig {
        retention: flowscope::analysis::store::Retention {
            max_events: 40,
            max_bytes: u64::MAX,
        },
        ..EngineConfig::default()
    });
    let ingest = |e: &mut Engine, i: i64| {
        e.ingest(Envelope::new(T0 + i * MS, &format!("s.n{i:03}"), "{}"));
    };
    for i in 0..40 {
        ingest(&mut e, i);
    }
    let mut a = app(&mut e);
    for _ in 0..10 {
        key(&mut a, &mut e, KeyCode::Up);
    }
    let before = screen(&mut a, 100, 20);
    // Ten more events evict the ten oldest; the rows on screen stay the same.
    for i in 40..50 {
        ingest(&mut e, i);
    }
    a.on_snapshot(Arc::new(e.snapshot()));
    let after = screen(&mut a, 100, 20);
    let table = |s: &str| {
        s.lines()
            .skip(3)
            .take(8)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        table(&before),
        table(&after),
        "before:\n{before}\nafter:\n{after}"
    );
    assert!(
        after.contains("s.n029"),
        "the selected event is still shown: {after}"
    );
}

#[test]
fn a_selected_subject_hidden_by_auto_collapse_selects_its_parent() {
    let mut e = engine();
    let mut a = app(&mut e);
    e.ingest(Envelope::new(T0, "zeta.c0", "{}"));
    a.on_snapshot(Arc::new(e.snapshot()));
    key(&mut a, &mut e, KeyCode::Char('2'));
    key(&mut a, &mut e, KeyCode::End); // the last row: zeta.c0
    assert!(screen(&mut a, 120, 40).contains("    c0"));
    // zeta grows past 20 children and collapses by itself.
    for i in 1..=25 {
        e.ingest(Envelope::new(T0, &format!("zeta.c{i}"), "{}"));
    }
    a.on_snapshot(Arc::new(e.snapshot()));
    let s = screen(&mut a, 120, 40);
    assert!(s.contains("▸ zeta"), "{s}");
    // The selection is on zeta (not back at the top): Enter filters to it.
    key(&mut a, &mut e, KeyCode::Enter);
    assert!(screen(&mut a, 120, 40).contains("filter subtree:zeta"));
}
