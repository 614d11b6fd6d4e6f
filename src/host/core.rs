//! What the engine host owns while it runs: the engine, the recording, the
//! filter the user asked for, and the notice on the hint line. Events, source
//! events and recorded records all reach the engine through here, so the
//! capture index is assigned in one place (the engine) and the recorder
//! writes what the engine stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::messages::SourceEvent;
use super::recorder::{Ended, Recordings};
use crate::analysis::blind::{BlindWindow, Why};
use crate::analysis::filter::Filter;
use crate::analysis::{Engine, Snapshot};
use crate::envelope::Envelope;
use crate::recording::Record;
use crate::recording::format::Drops;

/// How long a passing notice (a recording started or stopped) stays on the
/// hint line.
pub const PASSING_NOTICE: Duration = Duration::from_secs(8);

/// Wall-clock time, ns since the Unix epoch (0 before 1970, saturating
/// after 2262). Cheap enough to stamp every live message.
pub fn wall_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The engine and what goes with it on the host.
pub struct Core {
    pub engine: Engine,
    pub recordings: Recordings,
    /// The filter asked for (kept so that a replaced engine gets it too).
    filter: Option<Filter>,
    /// A notice that goes away by itself, and when.
    passing: Option<(String, Instant)>,
    /// Events the live ingest queue dropped (none for other feeds).
    queue_drops: Option<Arc<AtomicU64>>,
    /// Client drops whose blind time the recording has.
    client_drops_written: u64,
}

impl Core {
    pub fn new(engine: Engine, recordings: Recordings) -> Self {
        let mut core = Core {
            engine,
            recordings,
            filter: None,
            passing: None,
            queue_drops: None,
            client_drops_written: 0,
        };
        core.sync_recording_status();
        core
    }

    /// Counts the drops of a live ingest queue.
    pub fn with_queue_drops(mut self, counter: Arc<AtomicU64>) -> Self {
        self.queue_drops = Some(counter);
        self
    }

    /// Takes in one captured message: the engine stores it (assigning its
    /// capture index), then the recording writes it as stored.
    pub fn ingest(&mut self, env: Envelope) {
        let before = self.engine.total_events();
        self.engine.ingest(env);
        self.record_newest(before);
    }

    /// Takes in an envelope described on another thread (see
    /// [`crate::analysis::Engine::ingest_described`]).
    pub fn ingest_described(&mut self, env: Envelope, d: &crate::analysis::fields::Described) {
        let before = self.engine.total_events();
        self.engine.ingest_described(env, d);
        self.record_newest(before);
    }

    /// Records the newest event when one came in since `before` events.
    fn record_newest(&mut self, before: u64) {
        if self.engine.total_events() > before
            && self.recordings.is_recording()
            && let Some(ev) = self.engine.newest()
        {
            let ev = ev.clone();
            let ended = self.recordings.event(&ev.env);
            self.ended(ended);
        }
    }

    /// Takes in what a source reports.
    pub fn source(&mut self, ev: SourceEvent) {
        match ev {
            SourceEvent::Link(link, at) => {
                let ended = self.recordings.link(&link, at);
                self.ended(ended);
                self.engine.link(link, at);
            }
            SourceEvent::ClientDrops { total, since_ns } => {
                self.engine.client_drops(total, since_ns)
            }
            SourceEvent::ClientCaughtUp(at) => {
                if let Some(w) = self.engine.client_caught_up(at) {
                    self.blind_recorded(w);
                }
            }
            SourceEvent::Notice(n) => self.engine.set_notice(n),
            SourceEvent::Lag(t, poll) => {
                let ended = self.recordings.lag(t, &poll);
                self.ended(ended);
                self.engine.lag_poll(t, &poll);
            }
            SourceEvent::Flow(t, poll) => self.engine.flow_poll(t, &poll),
            SourceEvent::Reader(r) => self.engine.set_reader(r),
            SourceEvent::Answered(subject) => self.engine.answered(&subject),
        }
    }

    /// flowscope's own queue dropped what it received in `w`.
    pub fn queue_dropped(&mut self, w: BlindWindow, total: u64) {
        self.engine.set_queue_drops(total);
        self.engine.blind(w);
        self.blind_recorded(w);
    }

    /// Writes a time in which flowscope was blind to the recording.
    fn blind_recorded(&mut self, w: BlindWindow) {
        let ended = self.recordings.blind(w.to_ns, w);
        self.ended(ended);
    }

    /// Applies a recorded record (a replay; nothing is recorded again).
    pub fn apply(&mut self, record: Record) {
        record.apply(&mut self.engine);
    }

    /// Sets (or clears) the filter.
    pub fn set_filter(&mut self, filter: Option<Filter>) {
        let started = Instant::now();
        self.filter = filter.clone();
        let spec = filter.as_ref().map(|f| f.spec().to_owned());
        self.engine.set_filter(filter);
        tracing::debug!(filter = ?spec, took = ?started.elapsed(), "filter applied");
    }

    /// Puts another engine in place (a replay after a seek), with the
    /// filter asked for and snapshot numbers that keep increasing.
    pub fn replace_engine(&mut self, mut engine: Engine) {
        engine.continue_generations(&self.engine);
        if self.filter.is_some() {
            engine.set_filter(self.filter.clone());
        }
        self.engine = engine;
    }

    /// Starts recording to `path`.
    pub fn start_recording(&mut self, path: std::path::PathBuf) {
        let ended = self.recordings.stop(None, wall_ns());
        self.ended(ended);
        let notice = self.recordings.start(path, &self.engine, wall_ns());
        if self.recordings.is_recording() {
            self.passing_notice(notice);
        } else {
            self.engine.set_notice(Some(notice));
        }
        self.sync_recording_status();
    }

    /// `r`: stops the recording, or starts one in the recordings folder.
    pub fn toggle_recording(&mut self) {
        if self.recordings.is_recording() {
            self.stop_recording();
        } else {
            let path = self.recordings.defaults.new_path(wall_ns());
            self.start_recording(path);
        }
    }

    /// Stops the recording, if one runs.
    pub fn stop_recording(&mut self) {
        let ended = self.recordings.stop(None, wall_ns());
        self.ended(ended);
    }

    /// Says how a recording ended.
    fn ended(&mut self, ended: Option<Ended>) {
        match ended {
            Some(e @ Ended::Stopped { .. }) => self.passing_notice(e.notice()),
            Some(e @ Ended::Failed(_)) => self.engine.set_notice(Some(e.notice())),
            None => return,
        }
        self.sync_recording_status();
    }

    /// Shows a notice for [`PASSING_NOTICE`].
    pub fn passing_notice(&mut self, notice: String) {
        self.engine.set_notice(Some(notice.clone()));
        self.passing = Some((notice, Instant::now() + PASSING_NOTICE));
    }

    fn sync_recording_status(&mut self) {
        self.engine.set_recording(self.recordings.status());
    }

    /// Before a snapshot: notes queue drops, flushes the recording when
    /// due, lets a passing notice go, and moves a live clock to `now_ns`.
    pub fn housekeeping(&mut self, now_ns: Option<i64>) {
        if let Some(q) = &self.queue_drops {
            self.engine.set_queue_drops(q.load(Ordering::Relaxed));
        }
        let drops = Drops {
            client: self.engine.status().dropped_client,
            queue: self.engine.status().dropped_queue,
        };
        let now = wall_ns();
        // While the client is still dropping, the recording gets the
        // blind time so far (a replay must not trust it either, even if
        // the recording stops before the client catches up).
        if drops.client > self.client_drops_written
            && let Some(from_ns) = self.engine.blindness().open_since(Why::ClientDropped)
        {
            self.client_drops_written = drops.client;
            self.blind_recorded(BlindWindow {
                from_ns,
                to_ns: now,
                why: Why::ClientDropped,
            });
        }
        let ended = self.recordings.housekeeping(now, drops);
        self.ended(ended);
        self.sync_recording_status();
        if let Some((notice, until)) = &self.passing
            && Instant::now() >= *until
        {
            if self.engine.status().notice.as_ref() == Some(notice) {
                self.engine.set_notice(None);
            }
            self.passing = None;
        }
        if let Some(t) = now_ns {
            self.engine.tick(t);
        }
    }

    /// The engine's state for the views.
    pub fn snapshot(&mut self, fresh_tables: bool) -> Snapshot {
        self.engine.snapshot_with(fresh_tables)
    }
}
