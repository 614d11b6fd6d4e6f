//! Driving the TUI in tests: an app over an engine, keys through the real
//! keymap (filters applied to the engine as the event loop would), and the
//! screen as text.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flowscope::analysis::Engine;
use flowscope::format::TimeZone;
use flowscope::host::Request;
use flowscope::tui::app::{App, UiOptions};
use flowscope::tui::theme::Theme;
use flowscope::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-11-23 09:00:00 UTC
pub const T0: i64 = 1_795_424_400_000_000_000;
pub const MS: i64 = 1_000_000;

/// Times in UTC, the default theme.
pub fn ui() -> UiOptions {
    UiOptions {
        tz: TimeZone::Utc,
        theme: Theme::builtin(),
        notices: Vec::new(),
    }
}

/// An app showing the engine's state, times in UTC, the default theme.
pub fn app(e: &mut Engine) -> App {
    App::new(Arc::new(e.snapshot()), ui())
}

/// Presses a key; filter requests reach the engine, and the app gets the
/// engine's next snapshot.
pub fn key(app: &mut App, e: &mut Engine, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    for c in app.take_outbox() {
        if let Request::Filter(f) = c {
            e.set_filter(f);
        }
    }
    app.on_snapshot(Arc::new(e.snapshot()));
}

/// Types text, a key at a time.
pub fn typed(app: &mut App, e: &mut Engine, text: &str) {
    for ch in text.chars() {
        key(app, e, KeyCode::Char(ch));
    }
}

/// Draws the whole screen at `w`×`h` and returns it as text.
pub fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| views::render(app, f)).unwrap();
    t.backend().to_string()
}
