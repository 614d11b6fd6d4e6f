//! The immutable view model the engine publishes for the front ends.
//!
//! Cloning a snapshot is cheap: the event history is a persistent vector and
//! the subject tree is shared behind an `Arc`. Views render only the rows
//! they show.

use std::sync::Arc;

use super::anomalies::{Counts, Incident};
use super::classify::Kind;
use super::json::JsonType;
use super::schema::Drift;
use super::store::{Retention, StoredEvent};
use super::subjects::SubjectNode;

/// State of the connection to the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkState {
    /// Not yet connected.
    #[default]
    Connecting,
    Connected,
    /// The connection dropped; the client is trying to get it back.
    Reconnecting,
    /// The connection is closed and will not come back.
    Disconnected,
    /// No network source (an in-process simulation or a recording).
    Offline,
}

impl LinkState {
    pub fn label(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Reconnecting => "reconnecting",
            LinkState::Disconnected => "disconnected",
            LinkState::Offline => "offline",
        }
    }
}

/// What the status bar shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Where events come from: a server URL, or a description.
    pub source: String,
    /// Server version, when connected to a server.
    pub server_version: Option<String>,
    pub link: LinkState,
    /// When `link` last changed (ns since the epoch).
    pub link_since_ns: i64,
    /// Reconnects since the session started.
    pub reconnects: u64,
    /// The engine's clock: the latest of event and wall time (ns).
    pub clock_ns: i64,
    pub events_per_sec: f64,
    pub total_events: u64,
    pub total_bytes: u64,
    /// Messages the NATS client dropped (slow consumer).
    pub dropped_client: u64,
    /// Messages flowscope's own ingest queue had to drop.
    pub dropped_queue: u64,
    /// The last time flowscope was blind (dropped messages or was
    /// disconnected), ns; `i64::MAX` while it still is. Findings whose
    /// evidence falls in such a time are unverifiable.
    pub blind_until_ns: Option<i64>,
    pub retained_events: usize,
    pub retained_bytes: u64,
    pub retention: Retention,
    /// Events counted only at an ancestor because the subject tree is full.
    pub untracked_subject_events: u64,
    /// A notice for the user (shown in the status line), e.g. a fallback.
    pub notice: Option<String>,
    /// The recording being written, if any.
    pub recording: Option<RecordingStatus>,
    /// JetStream stream readers (`--stream`), in the order given.
    pub readers: Vec<ReaderStatus>,
}

/// How a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// A supervised ordered consumer (ephemeral, no acks, in memory).
    #[default]
    Ordered,
    /// Message by message with get-by-sequence (work queue streams).
    DirectGet,
}

/// A stream reader as the status bar shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderStatus {
    pub stream: String,
    pub mode: ReadMode,
    /// The last stream sequence delivered (0: none yet).
    pub last_seq: u64,
    /// Messages still to read, as the server last said.
    pub pending: u64,
    /// Times the reader was recreated after an error or a server restart.
    pub restarts: u64,
    /// What it is doing when it is not simply reading (recreating, waiting).
    pub state: Option<String>,
    /// A standing warning (interest retention, messages removed before read).
    pub warning: Option<String>,
}

/// A recording in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingStatus {
    pub path: String,
    pub events: u64,
}

/// The active filter and the capture indices of matching events.
#[derive(Debug, Clone, Default)]
pub struct FilterView {
    pub spec: String,
    /// Capture indices of retained events that match, ascending.
    pub matches: imbl::Vector<u64>,
}

/// The anomalies view's model.
#[derive(Debug, Clone, Default)]
pub struct AnomalySummary {
    /// Incidents by kind (index: `AnomalyKind as usize`).
    pub counts: Counts,
    /// Incidents per second for the last minute, by kind.
    pub history: Vec<Vec<u32>>,
    /// Recent incidents, oldest first.
    pub recent: imbl::Vector<Arc<Incident>>,
    /// Subjects and types with the most incidents.
    pub top_subjects: Vec<(String, Counts)>,
    pub top_types: Vec<(String, Counts)>,
    /// Sequence numbers missing now, and the ranges they form.
    pub gaps_missing: u64,
    pub gaps_open: u64,
    /// Missing numbers that would have come while flowscope was blind.
    pub gaps_unverifiable: u64,
}

/// One row of the event kinds view.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeRow {
    pub name: String,
    pub kind: Kind,
    /// Why it is that kind.
    pub reason: String,
    pub passive_aggressive: Option<String>,
    pub events: u64,
    pub avg_size: u64,
    pub max_size: u64,
    /// Fields in its learned schema.
    pub fields: usize,
    /// The learned fields with their types, sorted by path.
    pub schema: Vec<(String, Vec<JsonType>)>,
    /// Whether the schema is learned yet.
    pub learned: bool,
    pub drift_changes: u64,
    pub drift: Vec<Drift>,
}

/// Everything the views need for one frame.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Increases with every published snapshot.
    pub generation: u64,
    /// Retained events, oldest first; capture indices are consecutive.
    pub events: imbl::Vector<Arc<StoredEvent>>,
    pub filter: Option<FilterView>,
    pub subjects: Arc<SubjectNode>,
    /// Event types, most events first.
    pub types: Arc<Vec<TypeRow>>,
    pub anomalies: Arc<AnomalySummary>,
    pub status: Status,
    /// JetStream streams and consumers, from the lag poller.
    pub lag: Arc<super::lag::LagView>,
    /// Who subscribes to what, from the servers' CONNZ.
    pub flow: Arc<super::flow::FlowView>,
    /// Saga instances (with `[[sagas]]` defined).
    pub sagas: Arc<super::saga::SagaView>,
    /// Set when the events come from a recording being replayed.
    pub replay: Option<Arc<super::playback::ReplayStatus>>,
}

impl Snapshot {
    /// Capture index of the oldest retained event.
    pub fn first_index(&self) -> u64 {
        self.events.front().map_or(0, |e| e.env.index)
    }

    /// Looks up a retained event by capture index.
    pub fn event(&self, index: u64) -> Option<&Arc<StoredEvent>> {
        let pos = index.checked_sub(self.first_index())?;
        self.events.get(usize::try_from(pos).ok()?)
    }

    /// Number of rows in the event table (matching events when filtered).
    pub fn row_count(&self) -> usize {
        match &self.filter {
            Some(f) => f.matches.len(),
            None => self.events.len(),
        }
    }

    /// Capture index of the event shown at table row `row`.
    pub fn row_index(&self, row: usize) -> Option<u64> {
        match &self.filter {
            Some(f) => f.matches.get(row).copied(),
            None => self.events.get(row).map(|e| e.env.index),
        }
    }

    /// Table row of capture index `index`, or the row where it would be.
    pub fn row_of(&self, index: u64) -> usize {
        match &self.filter {
            Some(f) => f.matches.binary_search(&index).unwrap_or_else(|r| r),
            None => usize::try_from(index.saturating_sub(self.first_index())).unwrap_or(usize::MAX),
        }
    }
}
