//! The sagas view's model: per type, counts by state, step durations and
//! the lanes of a timeline; the instances, stuck and failed first; the most
//! recently started instances for the waterfall.

use std::sync::Arc;

use super::infer::{self, Learned};
use super::{Instance, Percentiles, SagaBook, SagaEvent, SagaState};

/// Instances the waterfall can show (the most recently started).
pub const WATERFALL_ROWS: usize = 200;

/// What a timeline lane holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneKind {
    Step,
    Failure,
    Compensation,
    /// Inferred: a type off the learned path.
    Other,
}

/// A saga type as the sagas view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaTypeRow {
    pub name: String,
    /// Instances by state, in [`SagaState::ALL`] order.
    pub counts: [u64; SagaState::ALL.len()],
    /// From each step to the next: ("A → B", durations).
    pub steps: Vec<(String, Option<Percentiles>)>,
    pub end_to_end: Option<Percentiles>,
    /// The timeline's lanes in order: steps, failures, compensations
    /// (inferred: the learned path).
    pub lanes: Vec<(String, LaneKind)>,
    /// Inferred types only: the learned happy path, once there is one.
    pub learned: Option<Learned>,
    pub inferred: bool,
}

/// An instance as the sagas view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaRow {
    pub saga: String,
    /// Index of its type in [`SagaView::types`].
    pub type_index: usize,
    pub id: String,
    pub state: SagaState,
    pub steps_done: usize,
    pub steps_total: usize,
    pub started_ns: i64,
    pub last_ns: i64,
    pub last_type: String,
    /// Out-of-place events in it (leaving the learned path counts).
    pub marks: usize,
    /// Its events, in arrival order (at most [`super::MAX_EVENTS`]).
    pub events: Arc<Vec<SagaEvent>>,
    /// Events beyond those, counted only.
    pub more_events: u64,
    /// Inferred: the event (index into `events`) where it leaves the
    /// learned path.
    pub off_path: Option<usize>,
}

/// The sagas view's model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SagaView {
    pub types: Vec<SagaTypeRow>,
    /// Instances, stuck and failed first, then by start (at most `max_rows`).
    pub rows: Vec<SagaRow>,
    /// The most recently started instances, oldest first (the waterfall).
    pub recent: Vec<SagaRow>,
    /// Instances kept in all (rows may be fewer).
    pub kept: usize,
    pub clock_ns: i64,
}

/// The event where `events` first leaves the learned happy path (other
/// than by a learned failure and its compensations).
fn off_path(events: &[SagaEvent], learner: &infer::Learner) -> Option<usize> {
    let path = infer::path_of(events);
    let at = learner.off_path_at(&path)?;
    events.iter().position(|e| *e.event_type == *path[at])
}

impl SagaBook {
    fn lanes(&self, saga: usize) -> Vec<(String, LaneKind)> {
        if let (Some(h), Some(l)) = (self.happy_path(), &self.infer) {
            let mut lanes: Vec<(String, LaneKind)> =
                h.iter().map(|t| (t.to_string(), LaneKind::Step)).collect();
            let failures = l.branches().failures();
            for (f, _) in &failures {
                lanes.push((f.clone(), LaneKind::Failure));
            }
            for (_, comps) in failures {
                for c in comps {
                    if !lanes.iter().any(|(n, _)| *n == c) {
                        lanes.push((c, LaneKind::Compensation));
                    }
                }
            }
            return lanes;
        }
        let d = &self.defs[saga];
        let lane = |names: &[String], kind| {
            names
                .iter()
                .map(move |n| (n.clone(), kind))
                .collect::<Vec<_>>()
        };
        [
            lane(&d.steps, LaneKind::Step),
            lane(&d.failure, LaneKind::Failure),
            lane(&d.compensation, LaneKind::Compensation),
        ]
        .concat()
    }

    fn row(&self, state: SagaState, i: &Instance) -> SagaRow {
        let happy = self.happy_path();
        let off = self.infer.as_ref().and_then(|l| off_path(&i.events, l));
        let (steps_done, steps_total) = match happy {
            // The happy path's types it had, in whatever order.
            Some(h) => {
                let path = infer::path_of(&i.events);
                (h.iter().filter(|t| path.contains(t)).count(), h.len())
            }
            None if self.is_inferred() => (0, 0),
            None => (i.steps_done(), self.defs[i.saga].steps.len()),
        };
        SagaRow {
            saga: self.defs[i.saga].name.clone(),
            type_index: i.saga,
            id: i.id.clone(),
            state,
            steps_done,
            steps_total,
            started_ns: i.started_ns,
            last_ns: i.last_ns,
            last_type: i
                .events
                .last()
                .map_or(String::new(), |e| e.event_type.to_string()),
            marks: i.events.iter().filter(|e| !e.marks.is_empty()).count()
                + usize::from(off.is_some()),
            events: i.events.clone(),
            more_events: i.more_events,
            off_path: off,
        }
    }

    /// The view model: every type's counts and durations, and the first
    /// `max_rows` instances in view order.
    pub fn view(&self, max_rows: usize) -> SagaView {
        let types = self
            .defs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let counts = self.counts(i);
                SagaTypeRow {
                    name: d.name.clone(),
                    counts: SagaState::ALL.map(|s| counts.get(&s).copied().unwrap_or(0)),
                    steps: d
                        .steps
                        .windows(2)
                        .zip(&self.stats[i].steps)
                        .map(|(w, h)| (format!("{} → {}", w[0], w[1]), h.percentiles()))
                        .collect(),
                    end_to_end: self.stats[i].end_to_end.percentiles(),
                    lanes: self.lanes(i),
                    learned: self.learned(),
                    inferred: self.is_inferred(),
                }
            })
            .collect();
        let mut all: Vec<(SagaState, &Instance)> =
            self.instances().map(|i| (self.state(i), i)).collect();
        let kept = all.len();
        let recent = all
            .iter()
            .rev()
            .take(WATERFALL_ROWS)
            .rev()
            .map(|(s, i)| self.row(*s, i))
            .collect();
        let cut = max_rows.min(all.len());
        if cut > 0 && cut < all.len() {
            all.select_nth_unstable_by_key(cut - 1, |(s, i)| (*s, i.started_ns));
            all.truncate(cut);
        }
        all.sort_by_key(|(s, i)| (*s, i.started_ns));
        let rows = all.into_iter().map(|(s, i)| self.row(s, i)).collect();
        SagaView {
            types,
            rows,
            recent,
            kept,
            clock_ns: self.clock_ns,
        }
    }
}
