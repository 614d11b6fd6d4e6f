//! The keymap: one table of bindings per context. Key handling and the help
//! overlay both read this table, so the help cannot drift from the keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// Where a binding applies. Lookups try the specific contexts, then Global.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Stream,
    Detail,
    Subjects,
    Anomalies,
    Compare,
    Kinds,
    Lag,
    Sagas,
    SagaTimeline,
    Waterfall,
    Replay,
    Input,
    Help,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Stream => "Event stream",
            Context::Detail => "Detail pane (after Tab)",
            Context::Subjects => "Subjects",
            Context::Anomalies => "Anomalies",
            Context::Compare => "Comparing two events (Enter on an incident)",
            Context::Kinds => "Event kinds",
            Context::Lag => "Consumer lag",
            Context::Sagas => "Sagas",
            Context::SagaTimeline => "Saga timeline (Enter on an instance; before the replay keys)",
            Context::Waterfall => "Saga waterfall (w in the sagas view)",
            Context::Replay => "Replay (flowscope replay; before the view's keys)",
            Context::Input => "Filter and go-to input",
            Context::Help => "This help",
        }
    }

    /// Whether its keys win over the replay's (the timeline's `+`/`-` zoom
    /// rather than change the speed); other views' keys come after them.
    pub fn before_replay(self) -> bool {
        self == Context::SagaTimeline
    }

    /// Order of sections in the help overlay.
    pub const ALL: [Context; 14] = [
        Context::Global,
        Context::Stream,
        Context::Detail,
        Context::Subjects,
        Context::Anomalies,
        Context::Compare,
        Context::Kinds,
        Context::Lag,
        Context::Sagas,
        Context::SagaTimeline,
        Context::Waterfall,
        Context::Replay,
        Context::Input,
        Context::Help,
    ];
}

/// A key with the modifiers that matter (Ctrl, Alt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn c(ch: char) -> Key {
    k(KeyCode::Char(ch))
}

const fn ctrl(ch: char) -> Key {
    Key {
        code: KeyCode::Char(ch),
        mods: KeyModifiers::CONTROL,
    }
}

/// One line of the keymap.
#[derive(Debug)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub action: Action,
    pub help: &'static str,
}

const fn b(context: Context, keys: &'static [Key], action: Action, help: &'static str) -> Binding {
    Binding {
        context,
        keys,
        action,
        help,
    }
}

use Action as A;
use Context::{
    Anomalies, Compare, Detail, Global, Help, Input, Kinds, Lag, Replay, SagaTimeline, Sagas,
    Stream, Subjects, Waterfall,
};
use KeyCode::{Backspace, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up};

/// Every key flowscope knows.
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    b(Global, &[c('q'), ctrl('c')], A::Quit, "quit"),
    b(Global, &[c('?')], A::ToggleHelp, "show or hide this help"),
    b(Global, &[c('1')], A::ShowStream, "event stream view"),
    b(Global, &[c('2')], A::ShowSubjects, "subjects view"),
    b(Global, &[c('3')], A::ShowAnomalies, "anomalies view"),
    b(Global, &[c('4')], A::ShowKinds, "event kinds view"),
    b(Global, &[c('5')], A::ShowLag, "consumer lag view"),
    b(Global, &[c('6')], A::ShowSagas, "sagas view"),
    b(Global, &[c('/')], A::StartFilter, "filter events (subject pattern or text; !negates)"),
    b(Global, &[k(Esc)], A::ClearFilter, "clear the filter"),
    b(Global, &[c('r')], A::ToggleRecording, "start or stop recording to a new file in ./recordings"),
    b(Stream, &[k(Up), c('k')], A::Up, "previous event (pauses following)"),
    b(Stream, &[k(Down), c('j')], A::Down, "next event"),
    b(Stream, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Stream, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Stream, &[k(Home), c('g')], A::Top, "oldest retained event"),
    b(Stream, &[k(End), c('G'), c('f')], A::Follow, "follow new events (tail)"),
    b(Stream, &[c('d')], A::ToggleDetail, "show or hide the detail pane"),
    b(Stream, &[k(Tab)], A::SwitchFocus, "move focus to the detail pane"),
    b(Stream, &[k(Enter)], A::JumpRelated, "go to the related event (original copy, the event that overtook it, the event before a gap)"),
    b(Stream, &[c('n')], A::NextFlagged, "next flagged event"),
    b(Stream, &[c('N')], A::PrevFlagged, "previous flagged event"),
    b(Detail, &[k(Up), c('k')], A::Up, "scroll up"),
    b(Detail, &[k(Down), c('j')], A::Down, "scroll down"),
    b(Detail, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Detail, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Detail, &[k(Home), c('g')], A::Top, "top of the event"),
    b(Detail, &[k(End), c('G')], A::Bottom, "end of the event"),
    b(Detail, &[k(Tab)], A::SwitchFocus, "back to the event table"),
    b(Subjects, &[k(Up), c('k')], A::Up, "previous subject"),
    b(Subjects, &[k(Down), c('j')], A::Down, "next subject"),
    b(Subjects, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Subjects, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Subjects, &[k(Home), c('g')], A::Top, "first subject"),
    b(Subjects, &[k(End), c('G')], A::Bottom, "last subject"),
    b(Subjects, &[k(Right), c('l')], A::Expand, "expand"),
    b(Subjects, &[k(Left), c('h')], A::Collapse, "collapse (or go to parent)"),
    b(Subjects, &[c(' ')], A::ToggleExpand, "expand or collapse"),
    b(Subjects, &[c('s')], A::CycleSort, "sort by name, events, msg/s, bytes/s, bytes"),
    b(Subjects, &[c('S')], A::ReverseSort, "reverse the sort"),
    b(Subjects, &[k(Enter)], A::FilterToSubject, "show this subject's events in the stream"),
    b(Anomalies, &[k(Up), c('k')], A::Up, "newer incident"),
    b(Anomalies, &[k(Down), c('j')], A::Down, "older incident"),
    b(Anomalies, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Anomalies, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Anomalies, &[k(Home), c('g')], A::Top, "newest incident"),
    b(Anomalies, &[k(End), c('G')], A::Bottom, "oldest incident"),
    b(Anomalies, &[c('t')], A::CycleKind, "show one kind of incident at a time (cycles)"),
    b(Anomalies, &[k(Enter)], A::CompareIncident, "compare the event with its related event"),
    b(Anomalies, &[c('e')], A::JumpRelated, "show the event in the stream"),
    b(Compare, &[k(Up), c('k')], A::Up, "scroll up"),
    b(Compare, &[k(Down), c('j')], A::Down, "scroll down"),
    b(Compare, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Compare, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Compare, &[k(Home), c('g')], A::Top, "top"),
    b(Compare, &[c('e')], A::JumpRelated, "show the event in the stream"),
    b(Compare, &[k(Esc), k(Enter)], A::CloseCompare, "back to the incidents"),
    b(Kinds, &[k(Up), c('k')], A::Up, "previous type"),
    b(Kinds, &[k(Down), c('j')], A::Down, "next type"),
    b(Kinds, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Kinds, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Kinds, &[k(Home), c('g')], A::Top, "first type"),
    b(Kinds, &[k(End), c('G')], A::Bottom, "last type"),
    b(Kinds, &[k(Enter)], A::FilterToType, "show this type's events in the stream"),
    b(Lag, &[k(Up), c('k')], A::Up, "previous row"),
    b(Lag, &[k(Down), c('j')], A::Down, "next row"),
    b(Lag, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Lag, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Lag, &[k(Home), c('g')], A::Top, "first row"),
    b(Lag, &[k(End), c('G')], A::Bottom, "last row"),
    b(Lag, &[c('a')], A::ToggleHidden, "show or hide flowscope's own stream readers"),
    b(Sagas, &[k(Up), c('k')], A::Up, "previous instance"),
    b(Sagas, &[k(Down), c('j')], A::Down, "next instance"),
    b(Sagas, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Sagas, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Sagas, &[k(Home), c('g')], A::Top, "first instance"),
    b(Sagas, &[k(End), c('G')], A::Bottom, "last instance"),
    b(Sagas, &[c('t')], A::CycleKind, "show instances in one state at a time (cycles)"),
    b(Sagas, &[c('s')], A::CycleSort, "sort by state (stuck and failed first), started, duration, id, last event"),
    b(Sagas, &[c('S')], A::ReverseSort, "reverse the sort"),
    b(Sagas, &[k(Enter)], A::OpenTimeline, "the instance's timeline"),
    b(Sagas, &[c('w')], A::ToggleWaterfall, "waterfall of the most recently started instances"),
    b(Sagas, &[c('f')], A::FilterToInstance, "show the instance's events in the stream (filter on its id)"),
    b(SagaTimeline, &[k(Left), c('h'), k(Up), c('k')], A::Up, "previous event"),
    b(SagaTimeline, &[k(Right), c('l'), k(Down), c('j')], A::Down, "next event"),
    b(SagaTimeline, &[k(Home)], A::Top, "first event"),
    b(SagaTimeline, &[k(End)], A::Bottom, "last event"),
    b(SagaTimeline, &[c('+'), c('=')], A::ZoomIn, "zoom in (around the selected event)"),
    b(SagaTimeline, &[c('-')], A::ZoomOut, "zoom out"),
    b(SagaTimeline, &[c('0')], A::ZoomFit, "fit the whole instance"),
    b(SagaTimeline, &[c('e')], A::JumpRelated, "show the selected event in the stream"),
    b(SagaTimeline, &[c('f')], A::FilterToInstance, "show the instance's events in the stream"),
    b(SagaTimeline, &[k(Esc), k(Enter)], A::Back, "back"),
    b(Waterfall, &[k(Up), c('k')], A::Up, "earlier instance"),
    b(Waterfall, &[k(Down), c('j')], A::Down, "later instance"),
    b(Waterfall, &[k(PageUp), ctrl('b')], A::PageUp, "page up"),
    b(Waterfall, &[k(PageDown), ctrl('f')], A::PageDown, "page down"),
    b(Waterfall, &[k(Home), c('g')], A::Top, "earliest instance"),
    b(Waterfall, &[k(End), c('G')], A::Bottom, "latest instance"),
    b(Waterfall, &[k(Enter)], A::OpenTimeline, "the instance's timeline"),
    b(Waterfall, &[c('f')], A::FilterToInstance, "show the instance's events in the stream"),
    b(Waterfall, &[k(Esc), c('w')], A::Back, "back to the list"),
    b(Replay, &[c(' ')], A::PlayPause, "pause or resume (at the end: play again)"),
    b(Replay, &[c('+'), c('=')], A::Faster, "faster (up to 100×, then as fast as possible)"),
    b(Replay, &[c('-')], A::Slower, "slower (down to 0.1×)"),
    b(Replay, &[c('.')], A::Step, "one event forward, then pause"),
    b(Replay, &[c('[')], A::JumpBack, "back 10 s"),
    b(Replay, &[c(']')], A::JumpForward, "forward 10 s"),
    b(Replay, &[c('g')], A::GoStart, "go to the start of the recording"),
    b(Replay, &[c('G')], A::GoEnd, "go to the end of the recording"),
    b(Replay, &[c(':')], A::StartGoTo, "go to an event (#1200), offset (90s), clock time (14:03:05), 50% or +10s/-10s"),
    b(Input, &[k(Enter)], A::ApplyInput, "apply"),
    b(Input, &[k(Esc)], A::CancelInput, "cancel"),
    b(Input, &[k(Backspace)], A::DeleteChar, "delete a character"),
    b(Input, &[ctrl('u')], A::ClearInput, "clear the input"),
    b(Help, &[k(Up), c('k')], A::Up, "scroll up"),
    b(Help, &[k(Down), c('j')], A::Down, "scroll down"),
    b(Help, &[k(Esc), c('?')], A::CloseOverlay, "close"),
];

fn matches(key: &Key, ev: &KeyEvent) -> bool {
    let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT;
    key.code == ev.code && (ev.modifiers & relevant) == key.mods
}

/// The action bound to `ev` in the first of `contexts` that binds it.
pub fn lookup(contexts: &[Context], ev: &KeyEvent) -> Option<Action> {
    contexts.iter().find_map(|ctx| {
        BINDINGS
            .iter()
            .filter(|b| b.context == *ctx)
            .find(|b| b.keys.iter().any(|k| matches(k, ev)))
            .map(|b| b.action)
    })
}

/// How a key is written in the help: `q`, `Ctrl-C`, `PgUp`, `Space`.
pub fn label(key: &Key) -> String {
    let base = match key.code {
        KeyCode::Char(' ') => "Space".to_owned(),
        KeyCode::Char(ch) if key.mods.contains(KeyModifiers::CONTROL) => {
            ch.to_ascii_uppercase().to_string()
        }
        KeyCode::Char(ch) => ch.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        other => other.to_string(),
    };
    if key.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// All keys of a binding, joined: `↑/k`.
pub fn keys_label(b: &Binding) -> String {
    b.keys.iter().map(label).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn specific_context_wins_and_global_is_the_fallback() {
        let j = ev(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(lookup(&[Stream, Global], &j), Some(A::Down));
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(lookup(&[Stream, Global], &q), Some(A::Quit));
        let esc = ev(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(lookup(&[Input], &esc), Some(A::CancelInput));
        assert_eq!(lookup(&[Stream, Global], &esc), Some(A::ClearFilter));
    }

    #[test]
    fn shift_is_part_of_the_character_and_ctrl_must_match() {
        let g = ev(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(lookup(&[Stream], &g), Some(A::Follow));
        let ctrl_c = ev(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&[Global], &ctrl_c), Some(A::Quit));
        let plain_c = ev(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(lookup(&[Global], &plain_c), None);
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                if a.context == b.context {
                    for key in a.keys {
                        assert!(
                            !b.keys.contains(key),
                            "{key:?} bound twice in {:?}",
                            a.context
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn labels() {
        assert_eq!(label(&ctrl('c')), "Ctrl-C");
        assert_eq!(label(&c(' ')), "Space");
        assert_eq!(keys_label(&BINDINGS[0]), "q/Ctrl-C");
    }
}
