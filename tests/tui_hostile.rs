//! The TUI with a hostile producer: subjects, types, keys, headers,
//! payloads and consumer names with escape sequences, bidi overrides and C1
//! controls are drawn escaped (`\x1b`, `\u202e`), the same way in the table,
//! the detail pane and the other views, in the escape style, and the
//! columns stay in line.

mod support;

use crossterm::event::KeyCode;
use flowscope::analysis::lag::{ConsumerState, LagPoll, StreamState};
use flowscope::analysis::{Engine, EngineConfig};
use flowscope::envelope::Envelope;
use flowscope::tui::theme::Theme;
use flowscope::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use support::screen::{MS, T0, app, key, screen};

const TITLE: &str = "shop.\x1b]0;pwned\x07";
const RED: &str = "shop.\x1b[31mRED\x1b[0m";

fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    let json = |ty: &str| {
        serde_json::json!({"type": ty, "aggregate_id": "k\u{9b}1", "note": "a\u{202e}b"})
            .to_string()
    };
    e.ingest(
        Envelope::new(T0, TITLE, json("T\x1b[2J"))
            .with_header("X-Evil", "\x1b]0;pwned\x07")
            .with_header("Nats-Msg-Id", "e1"),
    );
    e.ingest(Envelope::new(T0 + MS, RED, json("Plain")).with_header("Nats-Msg-Id", "e2"));
    e.ingest(Envelope::new(T0 + 2 * MS, "shop.ok", json("Plain")));
    e.ingest(Envelope::new(
        T0 + 3 * MS,
        "shop.text",
        "a bell\x07 here\nand a\x1b[2J clear",
    ));
    e
}

/// Column (in cells) where `needle` starts on the screen line holding it.
fn column_of(screen: &str, line_with: &str, needle: &str) -> usize {
    let line = screen
        .lines()
        .find(|l| l.contains(line_with))
        .unwrap_or_else(|| panic!("no line with {line_with:?}: {screen}"));
    unicode_width::UnicodeWidthStr::width(&line[..line.find(needle).unwrap()])
}

/// Bidi controls and invisible characters pass through ratatui (it drops
/// only control characters), so the sanitizer is what keeps them off the
/// screen.
fn no_controls(s: &str) {
    assert!(
        !s.chars().any(|c| matches!(c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}')),
        "a bidi or invisible character reached the screen: {s:?}"
    );
}

#[test]
fn the_event_table_shows_escapes_and_keeps_its_columns() {
    let mut e = engine();
    let mut a = app(&mut e);
    let s = screen(&mut a, 110, 30);
    no_controls(&s);
    assert!(s.contains("shop.\\x1b]0;pwned\\x07"), "{s}");
    assert!(s.contains("shop.\\x1b[31mRED\\x1b[0m"), "{s}");
    assert!(s.contains("T\\x1b[2J"), "the type: {s}");
    assert!(s.contains("k\\u009b1"), "the key: {s}");
    // The Type column starts at the same place on every row.
    let at = column_of(&s, "Time", "Type");
    assert_eq!(column_of(&s, "pwned", "T\\x1b"), at, "{s}");
    assert_eq!(column_of(&s, "RED", "Plain"), at, "{s}");
    assert_eq!(column_of(&s, "shop.ok", "Plain"), at, "{s}");
}

#[test]
fn the_detail_pane_shows_the_event_as_the_table_does() {
    let mut e = engine();
    let mut a = app(&mut e);
    for _ in 0..3 {
        key(&mut a, &mut e, KeyCode::Up);
    }
    let s = screen(&mut a, 160, 40);
    no_controls(&s);
    assert!(s.contains("Subject   shop.\\x1b]0;pwned\\x07  #0"), "{s}");
    assert!(s.contains("Type      T\\x1b[2J"), "{s}");
    assert!(s.contains("X-Evil: \\x1b]0;pwned\\x07"), "the header: {s}");
    assert!(
        s.contains(r#""type": "T\x1b[2J""#),
        "the JSON shows the same escape, not \\u001b: {s}"
    );
    assert!(s.contains(r#""note": "a\u202eb""#), "{s}");

    // A text payload: line breaks kept, other controls escaped.
    key(&mut a, &mut e, KeyCode::Char('G'));
    let s = screen(&mut a, 160, 40);
    no_controls(&s);
    assert!(s.contains("a bell\\x07 here"), "{s}");
    assert!(s.contains("and a\\x1b[2J clear"), "{s}");
}

#[test]
fn escapes_are_drawn_in_the_escape_style() {
    let mut e = engine();
    let mut a = app(&mut e);
    let mut t = Terminal::new(TestBackend::new(160, 30)).unwrap();
    t.draw(|f| views::render(&mut a, f)).unwrap();
    let buf: &Buffer = t.backend().buffer();
    let theme = Theme::builtin();
    // The first escape on screen: the first row's subject.
    let (x, y) = (0..buf.area.height)
        .flat_map(|y| (0..buf.area.width).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "\\")
        .expect("an escape on screen");
    let escape = &buf[(x, y)];
    assert_eq!(escape.symbol(), "\\");
    assert_eq!(escape.fg, theme.subject.patch(theme.escape).fg.unwrap());
    let before = &buf[(x - 1, y)];
    assert_eq!(before.symbol(), ".");
    assert_eq!(before.fg, theme.subject.fg.unwrap());
}

#[test]
fn a_consumer_name_with_a_control_character_keeps_the_lag_table_in_line() {
    let mut e = engine();
    let consumer = |name: &str| ConsumerState {
        stream: "SHOP".into(),
        name: name.into(),
        durable: true,
        pull: true,
        ack_policy: "explicit".into(),
        delivered_seq: 4,
        ack_floor_seq: 4,
        ..ConsumerState::default()
    };
    for i in 0..3 {
        e.lag_poll(
            T0 + i * 1_000 * MS,
            &LagPoll {
                streams: vec![StreamState {
                    name: "SHOP".into(),
                    retention: "limits".into(),
                    messages: 4,
                    last_seq: 4,
                    consumers: 2,
                    ..StreamState::default()
                }],
                consumers: vec![consumer("ev\x1b[31mil"), consumer("plain")],
                error: None,
            },
        );
    }
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('5'));
    let s = screen(&mut a, 160, 30);
    no_controls(&s);
    assert!(s.contains("ev\\x1b[31mil"), "{s}");
    let kind = column_of(&s, "Stream / consumer", "Kind");
    assert_eq!(column_of(&s, "ev\\x1b", "D pull"), kind, "{s}");
    assert_eq!(column_of(&s, "plain", "D pull"), kind, "{s}");
}

#[test]
fn the_subject_tree_shows_escaped_tokens() {
    let mut e = engine();
    let mut a = app(&mut e);
    key(&mut a, &mut e, KeyCode::Char('2'));
    let s = screen(&mut a, 120, 30);
    no_controls(&s);
    assert!(s.contains("\\x1b]0;pwned\\x07"), "{s}");
    assert!(s.contains("\\x1b[31mRED\\x1b[0m"), "{s}");
}
