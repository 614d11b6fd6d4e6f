//! The player: a feed for the engine host that reads a recording as a
//! stream and hands its records to the engine at their recorded pace
//! (scaled by the speed), and carries out the transport controls: pause,
//! speed, step, and seeks from the indexer's checkpoints.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, Sender};
use tokio::sync::watch;

use super::index::{self, Index, SharedIndex};
use crate::analysis::playback::{ReplayStatus, Target, Transport, next_speed};
use crate::analysis::{Engine, EngineConfig, Snapshot};
use crate::host::recorder::{RecordingDefaults, Recordings};
use crate::host::{Core, Feed, Flow, Host, Request};
use crate::recording::ReadAhead;
use crate::recording::Record;
use crate::recording::reader::{Position, Reader};

/// Records applied between two looks at the controls when playing as fast
/// as possible.
const MAX_BATCH: usize = 20_000;
/// A seek forward plays on from the current position when the nearest
/// checkpoint is no more than this many events ahead.
const FORWARD_PLAY_MAX: u64 = 20_000;
/// How often a waiting seek looks at the indexer.
const PENDING_POLL: Duration = Duration::from_millis(10);

/// How a replay starts.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// Speed factor (infinite: as fast as possible).
    pub speed: f64,
    pub paused: bool,
    /// Offset from the recording's start to begin at.
    pub start_offset_ns: Option<i64>,
    /// Events between the indexer's checkpoints at first (see
    /// [`index::CHECKPOINT_EVERY`]): fewer make seeks faster and take more
    /// memory.
    pub checkpoint_every: u64,
    /// How the player's own messages write clock times.
    pub tz: crate::format::TimeZone,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            speed: 1.0,
            paused: false,
            start_offset_ns: None,
            checkpoint_every: index::CHECKPOINT_EVERY,
            tz: crate::format::TimeZone::default(),
        }
    }
}

/// A running replay: the player on the engine host, and the indexer.
pub struct Replay {
    pub requests: Sender<Request>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    host: Option<Host>,
    stop: Arc<AtomicBool>,
    indexer: Option<JoinHandle<()>>,
}

impl Replay {
    /// Opens `path` (errors are clear sentences) and starts playing.
    pub fn start(path: &Path, cfg: EngineConfig, opts: ReplayOptions) -> Result<Replay, String> {
        let reader = ReadAhead::new(Reader::open(path)?)
            .map_err(|e| format!("cannot start reading {}: {e}", path.display()))?;
        let shared: SharedIndex = Arc::new(Mutex::new(Index::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let indexer = index::spawn(
            path.to_path_buf(),
            cfg.clone(),
            opts.checkpoint_every,
            shared.clone(),
            stop.clone(),
        )
        .map_err(|e| format!("cannot start reading {}: {e}", path.display()))?;
        let mut core = Core::new(
            Engine::new(cfg.clone()),
            Recordings::new(RecordingDefaults::default(), None),
        );
        let player = Player::new(path.to_path_buf(), cfg, reader, shared, opts, &mut core);
        let host = Host::spawn(core, player);
        Ok(Replay {
            requests: host.requests.clone(),
            snapshots: host.snapshots.clone(),
            host: Some(host),
            stop,
            indexer: Some(indexer),
        })
    }

    /// Sends a request to the player.
    pub fn send(&self, r: Request) {
        let _ = self.requests.send(r);
    }

    /// Stops the player and the indexer.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(host) = self.host.take() {
            host.shutdown();
        }
        if let Some(t) = self.indexer.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The feed that plays a recording.
struct Player {
    path: PathBuf,
    cfg: EngineConfig,
    /// Parses ahead on its own thread, so playing forward after a seek
    /// overlaps reading and analysis.
    reader: ReadAhead,
    next: Option<Record>,
    /// Events applied.
    events: u64,
    playing: bool,
    speed: f64,
    /// The replay clock (recorded ns).
    clock: i64,
    /// Wall instant and replay clock when pacing last restarted.
    anchor: (Instant, i64),
    index: SharedIndex,
    start_ns: i64,
    /// A seek waiting for the indexer to get there.
    pending: Option<Target>,
    /// Time of the latest record applied.
    last_t: i64,
    /// The next snapshot must copy the tables anew (after a jump in the
    /// position, old tables would show counts of another point).
    force_fresh: bool,
    notice_shown: bool,
    tz: crate::format::TimeZone,
}

fn lock(shared: &SharedIndex) -> std::sync::MutexGuard<'_, Index> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

impl Player {
    fn new(
        path: PathBuf,
        cfg: EngineConfig,
        mut reader: ReadAhead,
        index: SharedIndex,
        opts: ReplayOptions,
        core: &mut Core,
    ) -> Player {
        let next = reader.next();
        let start_ns = reader
            .header()
            .map(|h| h.started_ns)
            .into_iter()
            .chain(next.as_ref().map(Record::time))
            .min()
            .unwrap_or(0);
        let mut p = Player {
            path,
            cfg,
            reader,
            next,
            events: 0,
            playing: !opts.paused,
            speed: opts.speed,
            clock: start_ns,
            anchor: (Instant::now(), start_ns),
            index,
            start_ns,
            pending: None,
            last_t: start_ns,
            force_fresh: true,
            notice_shown: false,
            tz: opts.tz,
        };
        if let Some(offset) = opts.start_offset_ns {
            p.seek(core, Target::Time(start_ns.saturating_add(offset)));
        }
        p
    }

    fn reanchor(&mut self) {
        self.anchor = (Instant::now(), self.clock);
    }

    /// Applies the next record.
    fn step_record(&mut self, core: &mut Core) -> bool {
        let Some(record) = self.next.take() else {
            return false;
        };
        if matches!(record, Record::Event(_)) {
            self.events += 1;
        }
        self.clock = self.clock.max(record.time());
        self.last_t = self.last_t.max(record.time());
        core.apply(record);
        self.next = self.reader.next();
        true
    }

    /// Applies records up to `target` (not beyond).
    fn fast_forward(&mut self, core: &mut Core, target: Target) {
        while let Some(r) = &self.next {
            // Records between events (connection changes, drop counts)
            // belong to the time before the next event.
            let stop = match target {
                Target::Events(n) => matches!(r, Record::Event(_)) && self.events >= n,
                Target::Time(t) => r.time() > t,
            };
            if stop {
                break;
            }
            self.step_record(core);
        }
        if let Target::Time(t) = target {
            self.clock = self.clock.max(t.min(self.end_ns().unwrap_or(t)));
        }
    }

    fn end_ns(&self) -> Option<i64> {
        let ix = lock(&self.index);
        ix.done.then_some(ix.end_ns)
    }

    fn behind(&self, target: Target) -> bool {
        match target {
            Target::Events(n) => n < self.events,
            Target::Time(t) => t < self.clock,
        }
    }

    /// True when the indexer has not got to `target` yet and playing on
    /// from here would be long: the indexer will leave a checkpoint.
    fn should_wait(&self, target: Target) -> bool {
        let ix = lock(&self.index);
        if ix.done {
            return false;
        }
        match target {
            Target::Events(n) => n > ix.events && n > self.events.saturating_add(FORWARD_PLAY_MAX),
            Target::Time(t) => t > ix.end_ns,
        }
    }

    /// Goes to `target` from the nearest checkpoint before it (or the
    /// start), unless playing on from here is shorter. A target the indexer
    /// has not reached waits for it (see [`Player::should_wait`]).
    fn seek(&mut self, core: &mut Core, target: Target) {
        self.pending = None;
        if self.should_wait(target) {
            self.pending = Some(target);
            return;
        }
        let checkpoint = lock(&self.index).checkpoint_for(target);
        let ahead = checkpoint
            .as_ref()
            .is_some_and(|c| c.events > self.events.saturating_add(FORWARD_PLAY_MAX));
        if self.behind(target) || ahead {
            let (engine, pos, events, t) = match checkpoint {
                Some(c) => (c.engine.clone(), c.pos, c.events, c.t),
                None => (
                    Engine::new(self.cfg.clone()),
                    Position::default(),
                    0,
                    self.start_ns,
                ),
            };
            let reader = Reader::open_at(&self.path, pos).and_then(|r| {
                ReadAhead::new(r).map_err(|e| format!("cannot read {}: {e}", self.path.display()))
            });
            match reader {
                Ok(mut reader) => {
                    self.next = reader.next();
                    self.reader = reader;
                    core.replace_engine(engine);
                    self.events = events;
                    self.clock = t;
                    self.last_t = t;
                }
                Err(e) => {
                    core.engine.set_notice(Some(format!("cannot seek: {e}")));
                    return;
                }
            }
        }
        self.fast_forward(core, target);
        self.force_fresh = true;
        self.reanchor();
    }

    fn replay_status(&self) -> ReplayStatus {
        let ix = lock(&self.index);
        // At the end the player knows the length even before the indexer.
        let at_end = self.next.is_none() && self.pending.is_none();
        let end_ns = ix
            .done
            .then_some(ix.end_ns)
            .or(at_end.then_some(self.last_t));
        let total_events = ix
            .done
            .then_some(ix.events)
            .or(at_end.then_some(self.events));
        ReplayStatus {
            file: self.path.display().to_string(),
            playing: self.playing,
            speed: self.speed,
            position_ns: self.clock,
            start_ns: self.start_ns,
            end_ns,
            events_played: self.events,
            total_events,
            indexed_events: ix.events,
            markers: ix.markers.clone(),
            index_progress: ix.progress,
            seeking: self.pending.is_some(),
            at_end: self.next.is_none(),
        }
    }

    /// Shows the first warning about the file, once.
    fn show_warning(&mut self, core: &mut Core) {
        if self.notice_shown {
            return;
        }
        let warnings = lock(&self.index).warnings.clone();
        let (own, _) = self.reader.warnings();
        if let Some(w) = warnings.first().or(own.first()) {
            core.engine.set_notice(Some(w.clone()));
            self.notice_shown = true;
        }
    }

    /// How long until the next thing to do.
    fn wait(&self, until: Instant) -> Duration {
        let mut wait = until.saturating_duration_since(Instant::now());
        if self.pending.is_some() {
            // Look at the indexer again soon; play nothing meanwhile.
            wait = wait.min(PENDING_POLL);
        } else if self.playing && self.speed.is_finite() {
            if let Some(r) = &self.next {
                let due = (r.time() - self.anchor.1) as f64 / self.speed;
                let due = self.anchor.0 + Duration::from_nanos(due.max(0.0) as u64);
                wait = wait.min(due.saturating_duration_since(Instant::now()));
            }
        } else if self.playing {
            wait = Duration::ZERO;
        }
        wait
    }

    /// Plays what is due at the current speed.
    fn play(&mut self, core: &mut Core) {
        if self.speed.is_finite() {
            let elapsed = self.anchor.0.elapsed().as_nanos() as f64 * self.speed;
            let now = self.anchor.1.saturating_add(elapsed as i64);
            let mut n = 0;
            while self.next.as_ref().is_some_and(|r| r.time() <= now) && n < MAX_BATCH {
                self.step_record(core);
                n += 1;
            }
            self.clock = self
                .clock
                .max(now.min(self.next.as_ref().map_or(now, Record::time)));
        } else {
            for _ in 0..MAX_BATCH {
                if !self.step_record(core) {
                    break;
                }
            }
        }
    }
}

impl Feed for Player {
    fn pump(&mut self, core: &mut Core, requests: &Receiver<Request>, until: Instant) -> Flow {
        self.show_warning(core);
        if let Some(target) = self.pending
            && !self.should_wait(target)
        {
            self.seek(core, target);
            // The length was not known when the seek was asked for.
            if let Some(why) =
                crate::analysis::playback::goto::outside(target, &self.replay_status(), self.tz)
            {
                core.engine
                    .set_notice(Some(format!("go to: {why}; showing the end")));
            }
            return Flow::Changed;
        }
        let wait = self.wait(until);
        if !wait.is_zero() {
            let mut sel = Select::new();
            sel.recv(requests);
            if sel.ready_timeout(wait).is_ok() {
                return Flow::Busy;
            }
        }
        if !self.playing || self.pending.is_some() {
            return Flow::Idle;
        }
        self.play(core);
        if self.next.is_none() {
            self.playing = false;
            self.force_fresh = true;
            return Flow::Changed;
        }
        Flow::Busy
    }

    fn transport(&mut self, core: &mut Core, t: Transport) {
        match t {
            Transport::TogglePause => {
                self.playing = !self.playing;
                if self.playing && self.next.is_none() {
                    // At the end: play again from the start.
                    self.seek(core, Target::Events(0));
                }
                self.reanchor();
            }
            Transport::Faster => {
                self.speed = next_speed(self.speed, true);
                self.reanchor();
            }
            Transport::Slower => {
                self.speed = next_speed(self.speed, false);
                self.reanchor();
            }
            Transport::Step => {
                self.playing = false;
                self.force_fresh = true;
                self.fast_forward(core, Target::Events(self.events + 1));
                self.reanchor();
            }
            Transport::Jump(d) => self.seek(
                core,
                Target::Time(self.clock.saturating_add(d).max(self.start_ns)),
            ),
            Transport::Start => self.seek(core, Target::Events(0)),
            Transport::End => self.seek(core, Target::Events(u64::MAX)),
            Transport::GoTo(target) => self.seek(core, target),
        }
    }

    fn finish(&mut self, _core: &mut Core) {}

    fn clock(&self) -> Option<i64> {
        Some(self.clock)
    }

    fn status(&mut self) -> Option<ReplayStatus> {
        Some(self.replay_status())
    }

    fn records(&self) -> bool {
        false
    }

    fn fresh_tables(&mut self) -> bool {
        std::mem::take(&mut self.force_fresh)
    }
}
