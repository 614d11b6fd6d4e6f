//! The player: a thread that reads a recording as a stream and feeds its
//! records to the engine at their recorded pace (scaled by the speed),
//! publishing snapshots like the live pipeline. It takes the same control
//! messages as live sessions (filters) plus the transport controls.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use tokio::sync::watch;

use super::index::{self, Index, SharedIndex};
use crate::analysis::filter::Filter;
use crate::analysis::playback::{ReplayStatus, Target, Transport, next_speed};
use crate::analysis::{Engine, EngineConfig, Snapshot};
use crate::pipeline::{Control, SNAPSHOT_INTERVAL};
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

/// A running replay.
pub struct Replay {
    pub control: Sender<Control>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
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
        let (ctl_tx, ctl_rx) = unbounded();
        let engine = Engine::new(cfg.clone());
        let mut player = Player::new(path.to_path_buf(), cfg, reader, engine, shared, opts);
        let (snap_tx, snap_rx) = watch::channel(Arc::new(player.snapshot(true)));
        let stop_player = stop.clone();
        let thread = std::thread::Builder::new()
            .name("flowscope-player".into())
            .spawn(move || player.run(ctl_rx, snap_tx, stop_player))
            .map_err(|e| format!("cannot start the player: {e}"))?;
        Ok(Replay {
            control: ctl_tx,
            snapshots: snap_rx,
            stop,
            threads: vec![thread, indexer],
        })
    }

    /// Stops both threads.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.control.send(Control::Shutdown);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.halt();
    }
}

struct Player {
    path: PathBuf,
    cfg: EngineConfig,
    engine: Engine,
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
    filter: Option<Filter>,
    start_ns: i64,
    /// A seek waiting for the indexer to get there.
    pending: Option<Target>,
    /// Time of the latest record applied.
    last_t: i64,
    /// The next snapshot must copy the tables anew (after a jump in the
    /// position, old tables would show counts of another point).
    force_fresh: bool,
    subjects_copied: Instant,
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
        engine: Engine,
        index: SharedIndex,
        opts: ReplayOptions,
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
            engine,
            reader,
            next,
            events: 0,
            playing: !opts.paused,
            speed: opts.speed,
            clock: start_ns,
            anchor: (Instant::now(), start_ns),
            index,
            filter: None,
            start_ns,
            pending: None,
            last_t: start_ns,
            force_fresh: true,
            subjects_copied: Instant::now(),
            notice_shown: false,
            tz: opts.tz,
        };
        if let Some(offset) = opts.start_offset_ns {
            p.seek(Target::Time(start_ns.saturating_add(offset)));
        }
        p
    }

    fn reanchor(&mut self) {
        self.anchor = (Instant::now(), self.clock);
    }

    /// Applies the next record.
    fn step_record(&mut self) -> bool {
        let Some(record) = self.next.take() else {
            return false;
        };
        if matches!(record, Record::Event(_)) {
            self.events += 1;
        }
        self.clock = self.clock.max(record.time());
        self.last_t = self.last_t.max(record.time());
        record.apply(&mut self.engine);
        self.next = self.reader.next();
        true
    }

    /// Applies records up to `target` (not beyond).
    fn fast_forward(&mut self, target: Target) {
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
            self.step_record();
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
    fn seek(&mut self, target: Target) {
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
                    let mut engine = engine;
                    engine.continue_generations(&self.engine);
                    self.engine = engine;
                    self.events = events;
                    self.clock = t;
                    self.last_t = t;
                    if self.filter.is_some() {
                        self.engine.set_filter(self.filter.clone());
                    }
                }
                Err(e) => {
                    self.engine.set_notice(Some(format!("cannot seek: {e}")));
                    return;
                }
            }
        }
        self.fast_forward(target);
        self.force_fresh = true;
        self.reanchor();
    }

    fn transport(&mut self, t: Transport) {
        match t {
            Transport::TogglePause => {
                self.playing = !self.playing;
                if self.playing && self.next.is_none() {
                    // At the end: play again from the start.
                    self.seek(Target::Events(0));
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
                self.fast_forward(Target::Events(self.events + 1));
                self.reanchor();
            }
            Transport::Jump(d) => self.seek(Target::Time(
                self.clock.saturating_add(d).max(self.start_ns),
            )),
            Transport::Start => self.seek(Target::Events(0)),
            Transport::End => self.seek(Target::Events(u64::MAX)),
            Transport::GoTo(target) => self.seek(target),
        }
    }

    fn status(&mut self) -> ReplayStatus {
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

    fn snapshot(&mut self, fresh: bool) -> Snapshot {
        if !self.notice_shown {
            let warnings = lock(&self.index).warnings.clone();
            let (own, _) = self.reader.warnings();
            if let Some(w) = warnings.first().or(own.first()) {
                self.engine.set_notice(Some(w.clone()));
                self.notice_shown = true;
            }
        }
        self.engine.tick(self.clock);
        let status = self.status();
        let mut snap = self.engine.snapshot_with(fresh);
        snap.replay = Some(Arc::new(status));
        snap
    }

    fn run(
        mut self,
        ctl: Receiver<Control>,
        snaps: watch::Sender<Arc<Snapshot>>,
        stop: Arc<AtomicBool>,
    ) {
        let mut next_publish = Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if let Some(target) = self.pending
                && !self.should_wait(target)
            {
                self.seek(target);
                // The length was not known when the seek was asked for.
                if let Some(why) =
                    crate::analysis::playback::goto::outside(target, &self.status(), self.tz)
                {
                    self.engine
                        .set_notice(Some(format!("go to: {why}; showing the end")));
                }
                next_publish = Instant::now();
            }
            // Wait for a control message, the next record, or the next frame.
            let mut wait = next_publish.saturating_duration_since(Instant::now());
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
            let mut dirty = false;
            match ctl.recv_timeout(wait) {
                Ok(c) => {
                    for c in std::iter::once(c).chain(ctl.try_iter()) {
                        match c {
                            Control::Shutdown => return,
                            Control::Filter(f) => {
                                self.filter = f.clone();
                                self.engine.set_filter(f);
                            }
                            Control::Transport(t) => self.transport(t),
                            Control::Notice(n) => self.engine.set_notice(n),
                            Control::ToggleRecording | Control::Record(_) => {
                                self.engine.set_notice(Some(
                                    "a replay is not recorded again; record live sessions".into(),
                                ))
                            }
                            _ => {}
                        }
                    }
                    dirty = true;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            }
            if self.playing && self.pending.is_none() {
                if self.speed.is_finite() {
                    let elapsed = self.anchor.0.elapsed().as_nanos() as f64 * self.speed;
                    let now = self.anchor.1.saturating_add(elapsed as i64);
                    let mut n = 0;
                    while self.next.as_ref().is_some_and(|r| r.time() <= now) && n < MAX_BATCH {
                        self.step_record();
                        n += 1;
                    }
                    self.clock = self
                        .clock
                        .max(now.min(self.next.as_ref().map_or(now, Record::time)));
                } else {
                    for _ in 0..MAX_BATCH {
                        if !self.step_record() {
                            break;
                        }
                    }
                }
                if self.next.is_none() {
                    self.playing = false;
                    self.force_fresh = true;
                    dirty = true;
                }
            }
            if dirty || Instant::now() >= next_publish {
                let fresh = self.force_fresh
                    || self.subjects_copied.elapsed() >= Duration::from_millis(500);
                if fresh {
                    self.subjects_copied = Instant::now();
                    self.force_fresh = false;
                }
                snaps.send_replace(Arc::new(self.snapshot(fresh)));
                next_publish = Instant::now() + SNAPSHOT_INTERVAL;
            }
        }
    }
}
