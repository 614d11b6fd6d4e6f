//! The indexer: reads a whole recording ahead of the player with its own
//! engine, and leaves checkpoints (the engine's state and the reader's
//! position every [`CHECKPOINT_EVERY`] events), the total duration and the
//! timeline's markers. Seeking restores the nearest checkpoint before the
//! target and plays forward from there.
//!
//! Markers stay bounded: when there are [`MAX_MARKERS`], anomaly markers
//! closer together than a minimum gap are thinned out and the gap doubles,
//! so they keep covering the whole recording.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::analysis::anomalies::AnomalyKind;
use crate::analysis::playback::{Marker, Target};
use crate::analysis::{Engine, EngineConfig};
use crate::recording::format::Link;
use crate::recording::reader::Position;
use crate::recording::{ReadAhead, Record};

/// Events between two checkpoints at first: a seek plays at most this many
/// events from the checkpoint before it.
pub const CHECKPOINT_EVERY: u64 = 50_000;
/// Memory the checkpoints may take (estimated; retained events are shared
/// and not counted). When more would be needed, every other checkpoint is
/// dropped and the spacing doubles: long recordings seek a little slower
/// instead of taking more memory.
pub const CHECKPOINT_BUDGET: usize = 1 << 30;
/// Markers kept for the timeline.
pub const MAX_MARKERS: usize = 20_000;
/// Events between two updates of the shared index.
const PUBLISH_EVERY: u64 = 5_000;

/// The engine's state after `events` events, and where the reader was.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub events: u64,
    /// Time of the last record applied (or the recording's start).
    pub t: i64,
    pub pos: Position,
    pub engine: Engine,
    /// Estimated memory of this checkpoint.
    pub bytes: usize,
}

/// What the indexer knows so far.
#[derive(Debug, Default)]
pub struct Index {
    pub checkpoints: Vec<Arc<Checkpoint>>,
    pub markers: Arc<Vec<Marker>>,
    pub start_ns: i64,
    /// Time of the last record read so far.
    pub end_ns: i64,
    pub events: u64,
    /// True when the whole file was read.
    pub done: bool,
    /// Bytes of the file read and its size (size 0: unknown).
    pub progress: (u64, u64),
    pub warnings: Vec<String>,
    /// Events between checkpoints now.
    pub spacing: u64,
}

impl Index {
    /// Whether to keep a checkpoint after `events` of `bytes`; makes room
    /// within [`CHECKPOINT_BUDGET`] by thinning. Only multiples of the
    /// current spacing are kept.
    fn wants(&mut self, events: u64, bytes: usize) -> bool {
        if self.spacing == 0 {
            self.spacing = CHECKPOINT_EVERY;
        }
        if !events.is_multiple_of(self.spacing) {
            return false;
        }
        let used = |ix: &Index| ix.checkpoints.iter().map(|c| c.bytes).sum::<usize>();
        while events > 0 && used(self) + bytes > CHECKPOINT_BUDGET && self.checkpoints.len() > 1 {
            self.spacing *= 2;
            let spacing = self.spacing;
            self.checkpoints
                .retain(|c| c.events.is_multiple_of(spacing));
        }
        events.is_multiple_of(self.spacing)
    }

    /// The latest checkpoint at or before `target`.
    pub fn checkpoint_for(&self, target: Target) -> Option<Arc<Checkpoint>> {
        self.checkpoints
            .iter()
            .rev()
            .find(|c| match target {
                Target::Events(n) => c.events <= n,
                Target::Time(t) => c.t <= t,
            })
            .cloned()
    }
}

pub type SharedIndex = Arc<Mutex<Index>>;

/// Starts indexing `path` with checkpoints every `spacing` events (before
/// thinning); `stop` ends it early.
pub fn spawn(
    path: PathBuf,
    cfg: EngineConfig,
    spacing: u64,
    shared: SharedIndex,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    lock(&shared).spacing = spacing.max(1);
    std::thread::Builder::new()
        .name("flowscope-index".into())
        .spawn(move || run(path, cfg, shared, stop))
}

fn lock(shared: &SharedIndex) -> std::sync::MutexGuard<'_, Index> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Timeline markers, thinned to stay under [`MAX_MARKERS`].
#[derive(Debug, Default)]
struct Markers {
    list: Vec<Marker>,
    /// Anomaly markers closer than this (ns) to the previous one are left out.
    min_gap: i64,
    last_anomaly: Option<i64>,
    changed: bool,
}

impl Markers {
    fn add(&mut self, m: Marker) {
        if self.list.len() >= MAX_MARKERS {
            self.thin();
            if self.list.len() >= MAX_MARKERS {
                return;
            }
        }
        if let Marker::Anomaly(t, _) = m {
            if self.last_anomaly.is_some_and(|l| t - l < self.min_gap) {
                return;
            }
            self.last_anomaly = Some(t);
        }
        self.list.push(m);
        self.changed = true;
    }

    /// Doubles the gap and drops the anomaly markers that break it.
    fn thin(&mut self) {
        self.min_gap = (self.min_gap * 2).max(1_000_000);
        let mut last: Option<i64> = None;
        let gap = self.min_gap;
        self.list.retain(|m| match m {
            Marker::Disconnect(_) => true,
            Marker::Anomaly(t, _) => {
                let keep = last.is_none_or(|l| t - l >= gap);
                if keep {
                    last = Some(*t);
                }
                keep
            }
        });
        self.last_anomaly = last;
        self.changed = true;
    }
}

fn run(path: PathBuf, cfg: EngineConfig, shared: SharedIndex, stop: Arc<AtomicBool>) {
    let mut reader = match ReadAhead::open(&path) {
        Ok(r) => r,
        Err(e) => {
            let mut ix = lock(&shared);
            ix.warnings.push(e);
            ix.done = true;
            return;
        }
    };
    let mut engine = Engine::new(cfg);
    let start = reader.header().map(|h| h.started_ns);
    let mut events = 0u64;
    let mut last_t = start.unwrap_or(0);
    let mut markers = Markers::default();
    let spacing = lock(&shared).spacing;
    // The beginning: a reader opened there skips the header by itself.
    let first_pos = Position::default();
    let mut first = true;
    while let Some((record, pos)) = reader.next_with_position() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let t = record.time();
        if first {
            first = false;
            let start_ns = start.unwrap_or(t).min(t);
            last_t = start_ns;
            lock(&shared).start_ns = start_ns;
            checkpoint(&shared, 0, start_ns, first_pos, &engine);
        }
        let is_event = matches!(record, Record::Event(_));
        if let Record::Link(l) = &record
            && l.link == Link::Disconnected
        {
            markers.add(Marker::Disconnect(t));
        }
        let flags = record.apply(&mut engine);
        if let Some(kind) = AnomalyKind::ALL.iter().find(|k| flags.has(**k)) {
            markers.add(Marker::Anomaly(t, *kind));
        }
        last_t = last_t.max(t);
        if is_event {
            events += 1;
            if events.is_multiple_of(spacing) {
                checkpoint(&shared, events, last_t, pos, &engine);
            }
            if events.is_multiple_of(PUBLISH_EVERY) {
                let progress = reader.progress_at(pos);
                publish(
                    &shared,
                    &mut markers,
                    events,
                    last_t,
                    progress,
                    false,
                    &reader,
                );
            }
        }
    }
    if first {
        // An empty recording still has its start.
        let start_ns = start.unwrap_or(0);
        lock(&shared).start_ns = start_ns;
        checkpoint(&shared, 0, start_ns, first_pos, &engine);
        last_t = start_ns;
    }
    let progress = reader.progress();
    publish(
        &shared,
        &mut markers,
        events,
        last_t,
        progress,
        true,
        &reader,
    );
}

/// Keeps a checkpoint when the index wants one (copying the engine outside
/// the lock, so the player is not held up).
fn checkpoint(shared: &SharedIndex, events: u64, t: i64, pos: Position, engine: &Engine) {
    let bytes = engine.approx_clone_bytes();
    if !lock(shared).wants(events, bytes) {
        return;
    }
    let cp = Arc::new(Checkpoint {
        events,
        t,
        pos,
        engine: engine.clone(),
        bytes,
    });
    lock(shared).checkpoints.push(cp);
}

fn publish(
    shared: &SharedIndex,
    markers: &mut Markers,
    events: u64,
    end: i64,
    progress: (u64, u64),
    done: bool,
    reader: &ReadAhead,
) {
    let mut ix = lock(shared);
    if markers.changed {
        ix.markers = Arc::new(markers.list.clone());
        markers.changed = false;
    }
    ix.events = events;
    ix.end_ns = end;
    ix.progress = progress;
    if done {
        ix.done = true;
        let (w, more) = reader.warnings();
        ix.warnings.extend(w.iter().cloned());
        if more > 0 {
            ix.warnings.push(format!(
                "{}: {}",
                reader.path().display(),
                crate::format::counted(more, "more warning", "more warnings")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_thin_out_to_stay_in_the_budget() {
        let mut ix = Index::default();
        let engine = Engine::new(EngineConfig::default());
        let each = CHECKPOINT_BUDGET / 8;
        let mut n = 0;
        while n <= 100 * CHECKPOINT_EVERY {
            if ix.wants(n, each) {
                ix.checkpoints.push(Arc::new(Checkpoint {
                    events: n,
                    t: 0,
                    pos: Position::default(),
                    engine: engine.clone(),
                    bytes: each,
                }));
            }
            n += CHECKPOINT_EVERY;
        }
        let used: usize = ix.checkpoints.iter().map(|c| c.bytes).sum();
        assert!(used <= CHECKPOINT_BUDGET, "{used}");
        assert_eq!(ix.checkpoints[0].events, 0, "the start is always there");
        assert!(
            ix.checkpoints.len() >= 4,
            "{} checkpoints",
            ix.checkpoints.len()
        );
        let gaps: Vec<u64> = ix
            .checkpoints
            .windows(2)
            .map(|w| w[1].events - w[0].events)
            .collect();
        assert!(
            gaps.iter().all(|g| *g == ix.spacing),
            "evenly spaced: {gaps:?}"
        );
        assert!(100 * CHECKPOINT_EVERY - ix.checkpoints.last().unwrap().events <= ix.spacing);
    }

    #[test]
    fn markers_thin_out_but_cover_the_whole_recording() {
        let mut m = Markers::default();
        m.add(Marker::Disconnect(5));
        for i in 0..200_000i64 {
            m.add(Marker::Anomaly(i * 1_000_000, AnomalyKind::Duplicate));
        }
        assert!(m.list.len() <= MAX_MARKERS);
        assert!(
            m.list.contains(&Marker::Disconnect(5)),
            "disconnects are kept"
        );
        let last = m.list.iter().map(|m| m.time()).max().unwrap();
        assert!(
            last > 199_000 * 1_000_000 - m.min_gap * 2,
            "the end is still marked: {last}"
        );
        let anomalies = m
            .list
            .iter()
            .filter(|m| matches!(m, Marker::Anomaly(..)))
            .count();
        assert!(
            anomalies > MAX_MARKERS / 4,
            "{anomalies} anomaly markers left"
        );
    }
}
