//! UI state and what each action does to it. Rendering lives in `views/`;
//! the event loop in `tui/mod.rs`. The app never touches the engine: it reads
//! snapshots and leaves requests (such as a new filter) in its outbox.
//!
//! One file per view holds that view's state and key handling.

mod anomalies;
mod kinds;
pub mod lag;
pub mod sagas;
mod stream;
mod subjects;

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use anomalies::{AnomaliesState, Compare};
pub use kinds::KindsState;
pub use lag::LagState;
pub use sagas::SagasState;
pub use stream::{DetailCache, Focus, StreamState};
pub use subjects::{SubjectRow, SubjectSort, SubjectsState, selected_position, subject_rows};

use super::action::Action;
use super::keymap::{self, Context};
use super::theme::Theme;
use crate::analysis::Snapshot;
use crate::analysis::filter::Filter;
use crate::analysis::playback::{JUMP_NS, Transport, goto};
use crate::format::TimeZone;
use crate::host::Request;

/// Settings fixed for the session.
#[derive(Debug, Clone, Default)]
pub struct UiOptions {
    pub tz: TimeZone,
    pub theme: Theme,
    /// Problems found while setting up (e.g. a bad theme file), shown in the
    /// hint line.
    pub notices: Vec<String>,
}

/// What the input line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputKind {
    #[default]
    Filter,
    /// A replay position (`:`).
    GoTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Stream,
    Subjects,
    Anomalies,
    Kinds,
    Lag,
    Sagas,
}

/// The whole UI state.
pub struct App {
    pub snapshot: Arc<Snapshot>,
    pub view: View,
    pub help: bool,
    pub help_scroll: usize,
    /// The filter or go-to being typed, while the input line is open.
    pub input: Option<String>,
    pub input_kind: InputKind,
    pub input_error: Option<String>,
    pub stream: StreamState,
    pub subjects: SubjectsState,
    pub anomalies: AnomaliesState,
    pub kinds: KindsState,
    pub lag: LagState,
    pub sagas: SagasState,
    pub opts: UiOptions,
    /// Messages for the user that are not part of a snapshot (theme problems).
    pub notices: Vec<String>,
    /// A one-off message, shown until the next key.
    pub flash: Option<String>,
    pub quit: bool,
    outbox: Vec<Request>,
    pub(crate) detail_cache: Option<DetailCache>,
}

/// Moves a list selection at `at` of `len` rows; `None` for other actions.
pub(crate) fn list_move(action: Action, at: usize, len: usize, page: usize) -> Option<usize> {
    let last = len.checked_sub(1)?;
    Some(match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => (at + 1).min(last),
        Action::PageUp => at.saturating_sub(page.max(1)),
        Action::PageDown => (at + page.max(1)).min(last),
        Action::Top => 0,
        Action::Bottom | Action::Follow => last,
        _ => return None,
    })
}

/// How long after flowscope was last blind the views still say so.
pub const BLIND_RECENT_NS: i64 = 60_000_000_000;

impl App {
    pub fn new(snapshot: Arc<Snapshot>, opts: UiOptions) -> Self {
        App {
            snapshot,
            view: View::Stream,
            help: false,
            help_scroll: 0,
            input: None,
            input_kind: InputKind::Filter,
            input_error: None,
            stream: StreamState::default(),
            subjects: SubjectsState::default(),
            anomalies: AnomaliesState::default(),
            kinds: KindsState::default(),
            lag: LagState::default(),
            sagas: SagasState::default(),
            notices: opts.notices.clone(),
            opts,
            flash: None,
            quit: false,
            outbox: Vec::new(),
            detail_cache: None,
        }
    }

    /// A rate, or `paused` while a replay is paused (`at the end` once
    /// it is over): its clock stands still, so a rate would be a figure of
    /// the past.
    pub fn rate_text(&self, rate: f64, unit: &str) -> String {
        match &self.snapshot.replay {
            Some(r) if r.at_end && !r.playing => "at the end".into(),
            Some(r) if !r.playing => "paused".into(),
            _ => format!("{} {unit}", crate::format::rate(rate)),
        }
    }

    /// While flowscope was blind not long ago (it dropped messages or was
    /// disconnected), what the anomalies and sagas views say about it:
    /// their counts are incomplete, and what fell in that time is set apart
    /// as unverifiable.
    pub fn blind_note(&self) -> Option<String> {
        use crate::format;
        let s = &self.snapshot.status;
        let until = s.blind_until_ns?;
        let dropped = s.dropped_client + s.dropped_queue;
        let lost = if dropped > 0 {
            format!("dropped {}", format::plural(dropped, "message"))
        } else {
            "was disconnected".to_owned()
        };
        if until == i64::MAX {
            let now = match s.link {
                crate::analysis::snapshot::LinkState::Reconnecting
                | crate::analysis::snapshot::LinkState::Disconnected => {
                    "is disconnected".to_owned()
                }
                _ => format!("is dropping messages ({} so far)", format::count(dropped)),
            };
            return Some(format!(
                "INCOMPLETE: flowscope {now}; findings since are unverifiable"
            ));
        }
        let ago = s.clock_ns.saturating_sub(until).max(0);
        (ago <= BLIND_RECENT_NS).then(|| {
            format!(
                "INCOMPLETE: flowscope {lost}, last {} ago; findings then are unverifiable",
                format::duration(ago)
            )
        })
    }

    /// Takes a new snapshot from the engine.
    pub fn on_snapshot(&mut self, snapshot: Arc<Snapshot>) {
        self.snapshot = snapshot;
    }

    /// Requests for the engine produced since the last call.
    pub fn take_outbox(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.outbox)
    }

    fn contexts(&self) -> Vec<Context> {
        if self.input.is_some() {
            return vec![Context::Input];
        }
        if self.help {
            return vec![Context::Help, Context::Global];
        }
        let specific = match (self.view, self.stream.focus) {
            (View::Stream, Focus::Table) => Context::Stream,
            (View::Stream, Focus::Detail) => Context::Detail,
            (View::Subjects, _) => Context::Subjects,
            (View::Anomalies, _) if self.anomalies.compare.is_some() => Context::Compare,
            (View::Anomalies, _) => Context::Anomalies,
            (View::Kinds, _) => Context::Kinds,
            (View::Lag, _) => Context::Lag,
            (View::Sagas, _) if self.sagas.timeline.is_some() => Context::SagaTimeline,
            (View::Sagas, _) if self.sagas.waterfall => Context::Waterfall,
            (View::Sagas, _) => Context::Sagas,
        };
        let replay = self.snapshot.replay.is_some().then_some(Context::Replay);
        let first = if specific.before_replay() {
            [Some(specific), replay]
        } else {
            [replay, Some(specific)]
        };
        first
            .into_iter()
            .flatten()
            .chain([Context::Global])
            .collect()
    }

    /// Sends a transport control; seeks show the newest event there.
    fn transport(&mut self, t: Transport) {
        if self.snapshot.replay.is_none() {
            return;
        }
        if !matches!(
            t,
            Transport::TogglePause | Transport::Faster | Transport::Slower
        ) {
            self.stream.follow = true;
        }
        self.outbox.push(Request::Transport(t));
    }

    /// Handles one key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        self.flash = None;
        match keymap::lookup(&self.contexts(), &key) {
            Some(action) => self.apply(action),
            None => {
                if let (Some(input), KeyCode::Char(ch)) = (&mut self.input, key.code)
                    && !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                {
                    input.push(ch);
                    self.input_error = None;
                }
            }
        }
    }

    /// Carries out an action.
    pub fn apply(&mut self, action: Action) {
        if self.help {
            match action {
                Action::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
                Action::Down => self.help_scroll += 1,
                Action::CloseOverlay | Action::ToggleHelp => self.help = false,
                Action::Quit => self.quit = true,
                _ => {}
            }
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => {
                self.help = true;
                self.help_scroll = 0;
            }
            Action::CloseOverlay => {}
            Action::ShowStream => self.view = View::Stream,
            Action::ShowSubjects => self.view = View::Subjects,
            Action::ShowAnomalies => self.view = View::Anomalies,
            Action::ShowKinds => self.view = View::Kinds,
            Action::ShowLag => self.view = View::Lag,
            Action::ShowSagas => self.view = View::Sagas,
            Action::ToggleRecording => {
                if self.snapshot.replay.is_some() {
                    self.flash =
                        Some("a replay is not recorded again; record live sessions".into());
                } else {
                    self.outbox.push(Request::ToggleRecording);
                }
            }
            Action::PlayPause => self.transport(Transport::TogglePause),
            Action::Faster => self.transport(Transport::Faster),
            Action::Slower => self.transport(Transport::Slower),
            Action::Step => self.transport(Transport::Step),
            Action::JumpBack => self.transport(Transport::Jump(-JUMP_NS)),
            Action::JumpForward => self.transport(Transport::Jump(JUMP_NS)),
            Action::GoStart => self.transport(Transport::Start),
            Action::GoEnd => self.transport(Transport::End),
            Action::StartGoTo => {
                self.input = Some(String::new());
                self.input_kind = InputKind::GoTo;
                self.input_error = None;
            }
            Action::StartFilter => {
                self.input_kind = InputKind::Filter;
                self.input = Some(
                    self.snapshot
                        .filter
                        .as_ref()
                        .map(|f| f.spec.clone())
                        .unwrap_or_default(),
                );
                self.input_error = None;
            }
            Action::ClearFilter => {
                if self.snapshot.filter.is_some() {
                    self.outbox.push(Request::Filter(None));
                }
            }
            Action::ApplyInput => self.apply_input(),
            Action::CancelInput => {
                self.input = None;
                self.input_error = None;
            }
            Action::DeleteChar => {
                if let Some(i) = &mut self.input {
                    i.pop();
                }
                self.input_error = None;
            }
            Action::ClearInput => {
                if let Some(i) = &mut self.input {
                    i.clear();
                }
            }
            _ => match self.view {
                View::Stream => self.stream_action(action),
                View::Subjects => self.subjects_action(action),
                View::Anomalies => self.anomalies_action(action),
                View::Kinds => self.kinds_action(action),
                View::Lag => self.lag_action(action),
                View::Sagas => self.sagas_action(action),
            },
        }
    }

    fn apply_input(&mut self) {
        let Some(text) = self.input.clone() else {
            return;
        };
        if self.input_kind == InputKind::GoTo {
            let Some(status) = self.snapshot.replay.clone() else {
                self.input = None;
                return;
            };
            match goto::parse(&text, &status, self.opts.tz) {
                Ok(target) => {
                    self.input = None;
                    self.input_error = None;
                    self.transport(Transport::GoTo(target));
                }
                Err(e) => self.input_error = Some(e),
            }
            return;
        }
        if text.trim().is_empty() {
            self.outbox.push(Request::Filter(None));
            self.input = None;
            return;
        }
        match Filter::parse(&text) {
            Ok(f) => {
                self.outbox.push(Request::Filter(Some(f)));
                self.input = None;
                self.input_error = None;
            }
            Err(e) => self.input_error = Some(e),
        }
    }

    /// Filters the stream with `spec` and shows it.
    pub(crate) fn show_filtered(&mut self, spec: &str) {
        match Filter::parse(spec) {
            Ok(f) => {
                self.outbox.push(Request::Filter(Some(f)));
                self.view = View::Stream;
                self.stream.focus = Focus::Table;
            }
            Err(e) => self.flash = Some(e),
        }
    }
}
