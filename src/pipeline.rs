//! Sources → bounded queue → engine thread → snapshots.
//!
//! Sources call [`Ingest::offer`], which never blocks: when the queue is full
//! the envelope is dropped and counted, and the count reaches the status bar.
//! Control messages (connection changes, filters) travel on their own
//! unbounded channel so they are never dropped. The engine thread publishes an
//! `Arc<Snapshot>` on a `watch` channel a few times a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select, unbounded};
use tokio::sync::watch;

use std::path::PathBuf;

use crate::analysis::filter::Filter;
use crate::analysis::playback::Transport;
use crate::analysis::snapshot::RecordingStatus;
use crate::analysis::{Engine, LinkEvent, Snapshot};
use crate::envelope::Envelope;
use crate::recording::format::{Drops, Link, LinkRecord};
use crate::recording::redact::Redactor;
use crate::recording::{Header, Recorder, SourceInfo};

/// Default capacity of the ingest queue, in events.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;
/// How often the engine publishes a snapshot.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(100);
/// Within a second, new subject counts are published at most this often (a
/// copy of a large subject tree is not free).
const SUBJECTS_REFRESH: Duration = Duration::from_millis(500);
/// Most envelopes ingested between two looks at the control channel.
const MAX_BATCH: usize = 4_096;
/// How long a passing notice (a recording started or stopped) stays on the
/// hint line.
const PASSING_NOTICE: Duration = Duration::from_secs(8);

/// The sending side of the ingest queue; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    tx: Sender<Envelope>,
    dropped: Arc<AtomicU64>,
}

impl Ingest {
    /// Queues an envelope without waiting. Returns false (and counts the
    /// drop) when the queue is full or the engine has stopped.
    pub fn offer(&self, env: Envelope) -> bool {
        match self.tx.try_send(env) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Queues an envelope, waiting while the queue is full: for sources that
    /// can be paced (a stream reader pulls no faster than the engine takes).
    /// Returns false when the engine has stopped.
    pub async fn send(&self, mut env: Envelope) -> bool {
        let mut wait = Duration::from_micros(200);
        loop {
            match self.tx.try_send(env) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    env = back;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(20));
                }
            }
        }
    }

    /// Envelopes dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Messages to the engine thread besides events.
#[derive(Debug)]
pub enum Control {
    Link(LinkEvent, i64),
    /// Running total of messages the NATS client dropped.
    ClientDrops(u64),
    Notice(Option<String>),
    /// A poll of the consumers' lag, taken at this time (ns).
    Lag(i64, Box<crate::analysis::lag::LagPoll>),
    /// A poll of the servers' connections and subscriptions.
    Flow(i64, Box<crate::analysis::flow::FlowPoll>),
    /// A stream reader's state changed.
    Reader(crate::analysis::snapshot::ReaderStatus),
    Filter(Option<Filter>),
    /// A hidden message arrived on this subject (an inbox reply).
    Answered(Box<str>),
    /// Start recording to this file (a running recording stops first).
    Record(PathBuf),
    /// `r`: stop the recording, or start one in the recordings folder.
    ToggleRecording,
    /// Replay controls (ignored by live sessions).
    Transport(Transport),
    /// Ingest what is queued, publish, and stop.
    Shutdown,
}

/// A running engine thread with its queues.
pub struct Pipeline {
    pub ingest: Ingest,
    pub control: Sender<Control>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    thread: Option<JoinHandle<Engine>>,
}

impl Pipeline {
    /// Starts the engine thread with a queue of `capacity` events.
    pub fn start(engine: Engine, capacity: usize) -> Pipeline {
        Self::start_with(engine, capacity, RecordingDefaults::default())
    }

    /// [`Pipeline::start`] with what `r` needs to start recordings.
    pub fn start_with(engine: Engine, capacity: usize, defaults: RecordingDefaults) -> Pipeline {
        Self::start_recording(engine, capacity, defaults, None)
    }

    /// [`Pipeline::start_with`], recording to `initial` from the first event.
    pub fn start_recording(
        mut engine: Engine,
        capacity: usize,
        defaults: RecordingDefaults,
        initial: Option<Recorder>,
    ) -> Pipeline {
        let (tx, rx) = bounded(capacity.max(1));
        let (ctl_tx, ctl_rx) = unbounded();
        let (snap_tx, snap_rx) = watch::channel(Arc::new(engine.snapshot()));
        let dropped = Arc::new(AtomicU64::new(0));
        let queue_drops = dropped.clone();
        let thread = std::thread::Builder::new()
            .name("flowscope-engine".into())
            .spawn(move || run(engine, rx, ctl_rx, snap_tx, queue_drops, defaults, initial))
            .expect("spawning the engine thread");
        Pipeline {
            ingest: Ingest { tx, dropped },
            control: ctl_tx,
            snapshots: snap_rx,
            thread: Some(thread),
        }
    }

    /// Sends a control message (ignored once the engine has stopped).
    pub fn send(&self, c: Control) {
        let _ = self.control.send(c);
    }

    /// Ingests what is queued, publishes a last snapshot and returns the engine.
    pub fn shutdown(mut self) -> Engine {
        let _ = self.control.send(Control::Shutdown);
        self.thread
            .take()
            .expect("shutdown runs once")
            .join()
            .expect("the engine thread panicked")
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.control.send(Control::Shutdown);
            let _ = t.join();
        }
    }
}

fn wall_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// What `r` (start/stop recording) needs to make a new recording.
#[derive(Debug, Clone)]
pub struct RecordingDefaults {
    /// Folder for new recordings (`./recordings`).
    pub dir: PathBuf,
    pub source: SourceInfo,
    pub redactor: Redactor,
    /// The session's analysis settings, written into every recording's
    /// header ([`crate::config::document`]).
    pub analysis: Option<serde_json::Value>,
}

impl Default for RecordingDefaults {
    fn default() -> Self {
        RecordingDefaults {
            dir: PathBuf::from("recordings"),
            source: SourceInfo::default(),
            redactor: Redactor::default(),
            analysis: None,
        }
    }
}

impl RecordingDefaults {
    /// A new timestamped file name in `dir`, not yet taken (`-2`, `-3`, …
    /// when several recordings start in the same second).
    pub fn new_path(&self, now_ns: i64) -> PathBuf {
        let stamp = chrono::DateTime::from_timestamp_nanos(now_ns).format("%Y%m%d-%H%M%S");
        let mut path = self.dir.join(format!("flowscope-{stamp}.jsonl"));
        let mut n = 2;
        while path.exists() {
            path = self.dir.join(format!("flowscope-{stamp}-{n}.jsonl"));
            n += 1;
        }
        path
    }
}

/// The engine thread's state: the engine, and the recording when one runs.
struct Live {
    engine: Engine,
    recorder: Option<Recorder>,
    defaults: RecordingDefaults,
    queue_drops: Arc<AtomicU64>,
    disconnected_at: Option<i64>,
    /// The last connection change written, to write each change once (the
    /// session and the client both report the first connect).
    last_link: Option<Link>,
    /// A notice that goes away by itself, and when.
    passing: Option<(String, Instant)>,
}

impl Live {
    fn ingest(&mut self, mut env: Envelope) {
        if self.engine.is_full() {
            return;
        }
        if let Some(rec) = &mut self.recorder {
            env.index = self.engine.total_events();
            if let Err(e) = rec.event(&env) {
                self.stop_recording(Some(format!("cannot write: {e}")));
            }
        }
        self.engine.ingest(env);
    }

    fn link(&mut self, ev: LinkEvent, at: i64) {
        let rec = match &ev {
            LinkEvent::Connected { .. } if self.last_link == Some(Link::Connected) => None,
            LinkEvent::Connected { version } => {
                let missed = self.disconnected_at.take();
                Some(LinkRecord {
                    link: Link::Connected,
                    t: at,
                    version: version.clone(),
                    missed_from: missed,
                    missed_to: missed.map(|_| at),
                })
            }
            LinkEvent::Disconnected => {
                self.disconnected_at.get_or_insert(at);
                Some(LinkRecord::change(Link::Disconnected, at))
            }
            LinkEvent::Closed => Some(LinkRecord::change(Link::Closed, at)),
            LinkEvent::Offline => Some(LinkRecord::change(Link::Offline, at)),
        };
        if let Some(rec) = &rec {
            self.last_link = Some(rec.link);
        }
        if let Some(r) = &mut self.recorder
            && let Some(rec) = rec
            && let Err(e) = r.link(&rec)
        {
            self.stop_recording(Some(format!("cannot write: {e}")));
        }
        self.engine.link(ev, at);
    }

    fn lag(&mut self, t: i64, poll: &crate::analysis::lag::LagPoll) {
        if let Some(r) = &mut self.recorder
            && let Err(e) = r.lag(t, poll)
        {
            self.stop_recording(Some(format!("cannot write: {e}")));
        }
        self.engine.lag_poll(t, poll);
    }

    /// Shows a notice for [`PASSING_NOTICE`].
    fn passing_notice(&mut self, notice: String) {
        self.engine.set_notice(Some(notice.clone()));
        self.passing = Some((notice, Instant::now() + PASSING_NOTICE));
    }

    /// Clears a passing notice whose time is up (unless another replaced it).
    fn expire_notice(&mut self) {
        if let Some((notice, until)) = &self.passing
            && Instant::now() >= *until
        {
            if self.engine.status().notice.as_ref() == Some(notice) {
                self.engine.set_notice(None);
            }
            self.passing = None;
        }
    }

    fn start_recording(&mut self, path: PathBuf) {
        if self.recorder.is_some() {
            self.stop_recording(None);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            self.engine.set_notice(Some(format!(
                "cannot record: cannot create {}: {e}",
                dir.display()
            )));
            return;
        }
        let now = wall_ns();
        let header = Header::new(now, self.defaults.source.clone(), Vec::new())
            .with_analysis(self.defaults.analysis.clone());
        match Recorder::create(&path, header, self.defaults.redactor.clone()) {
            Ok(mut r) => {
                tracing::info!(path = %path.display(), "recording started");
                // A recording started mid-session opens with the link state.
                let status = self.engine.status();
                if self.last_link == Some(Link::Connected) {
                    let rec = LinkRecord {
                        version: status.server_version.clone(),
                        ..LinkRecord::change(Link::Connected, now)
                    };
                    if let Err(e) = r.link(&rec) {
                        self.engine.set_notice(Some(format!("cannot record: {e}")));
                        return;
                    }
                }
                // Only what arrives from now on is written.
                let retained = self.engine.total_events();
                let notice = if retained == 0 {
                    format!("recording to {}", path.display())
                } else {
                    format!(
                        "recording to {} from now on (the {} before are not in it)",
                        path.display(),
                        crate::format::plural(retained, "event")
                    )
                };
                self.passing_notice(notice);
                self.recorder = Some(r);
            }
            Err(e) => self.engine.set_notice(Some(format!("cannot record: {e}"))),
        }
        self.sync_recording_status();
    }

    fn stop_recording(&mut self, problem: Option<String>) {
        let Some(rec) = self.recorder.take() else {
            return;
        };
        let path = rec.path().display().to_string();
        let notice = match (rec.finish(wall_ns()), problem) {
            (_, Some(p)) => format!("recording to {path} stopped: {p}; what was written is kept"),
            (Ok(n), None) => {
                let notice = format!("recorded {} to {path}", crate::format::plural(n, "event"));
                tracing::info!(%notice, "recording stopped");
                self.passing_notice(notice);
                self.sync_recording_status();
                return;
            }
            (Err(e), None) => format!("recording to {path} may be incomplete: {e}"),
        };
        tracing::info!(%notice, "recording stopped");
        self.engine.set_notice(Some(notice));
        self.sync_recording_status();
    }

    fn sync_recording_status(&mut self) {
        let status = self.recorder.as_ref().map(|r| RecordingStatus {
            path: r.path().display().to_string(),
            events: r.events(),
        });
        self.engine.set_recording(status);
    }

    /// Flushes the recording when due and notes its drop totals.
    fn housekeeping(&mut self) {
        let drops = Drops {
            client: self.engine.status().dropped_client,
            queue: self.queue_drops.load(Ordering::Relaxed),
        };
        if let Some(r) = &mut self.recorder
            && let Err(e) = r.drops(wall_ns(), drops).and_then(|_| r.flush_if_due())
        {
            self.stop_recording(Some(format!("cannot write: {e}")));
        }
        self.sync_recording_status();
    }
}

fn run(
    engine: Engine,
    rx: Receiver<Envelope>,
    ctl: Receiver<Control>,
    snaps: watch::Sender<Arc<Snapshot>>,
    queue_drops: Arc<AtomicU64>,
    defaults: RecordingDefaults,
    initial: Option<Recorder>,
) -> Engine {
    let mut live = Live {
        engine,
        recorder: initial,
        defaults,
        queue_drops: queue_drops.clone(),
        disconnected_at: None,
        last_link: None,
        passing: None,
    };
    live.sync_recording_status();
    let mut next_publish = Instant::now() + SNAPSHOT_INTERVAL;
    let mut dirty = false;
    let mut subjects_copied = Instant::now();
    let mut publish = |live: &mut Live| {
        live.housekeeping();
        live.expire_notice();
        live.engine
            .set_queue_drops(queue_drops.load(Ordering::Relaxed));
        live.engine.tick(wall_ns());
        let fresh = subjects_copied.elapsed() >= SUBJECTS_REFRESH;
        if fresh {
            subjects_copied = Instant::now();
        }
        snaps.send_replace(Arc::new(live.engine.snapshot_with(fresh)));
    };
    loop {
        let wait = next_publish.saturating_duration_since(Instant::now());
        select! {
            recv(rx) -> env => {
                if let Ok(env) = env {
                    live.ingest(env);
                    for env in rx.try_iter().take(MAX_BATCH) {
                        live.ingest(env);
                    }
                }
            }
            recv(ctl) -> c => match c {
                Ok(Control::Link(ev, at)) => { live.link(ev, at); dirty = true; }
                Ok(Control::ClientDrops(n)) => live.engine.set_client_drops(n),
                Ok(Control::Answered(subject)) => live.engine.answered(&subject),
                Ok(Control::Notice(n)) => { live.engine.set_notice(n); dirty = true; }
                Ok(Control::Reader(r)) => { live.engine.set_reader(r); dirty = true; }
                Ok(Control::Lag(t, poll)) => { live.lag(t, &poll); dirty = true; }
                Ok(Control::Flow(t, poll)) => { live.engine.flow_poll(t, &poll); dirty = true; }
                Ok(Control::Filter(f)) => {
                    let started = Instant::now();
                    let spec = f.as_ref().map(|f| f.spec().to_owned());
                    live.engine.set_filter(f);
                    tracing::debug!(filter = ?spec, took = ?started.elapsed(), "filter applied");
                    dirty = true;
                }
                Ok(Control::Record(path)) => { live.start_recording(path); dirty = true; }
                Ok(Control::ToggleRecording) => {
                    if live.recorder.is_some() {
                        live.stop_recording(None);
                    } else {
                        let path = live.defaults.new_path(wall_ns());
                        live.start_recording(path);
                    }
                    dirty = true;
                }
                Ok(Control::Transport(_)) => {}
                Ok(Control::Shutdown) | Err(_) => {
                    for env in rx.try_iter() {
                        live.ingest(env);
                    }
                    live.stop_recording(None);
                    publish(&mut live);
                    return live.engine;
                }
            },
            default(wait) => {}
        }
        if dirty || Instant::now() >= next_publish {
            publish(&mut live);
            dirty = false;
            next_publish = Instant::now() + SNAPSHOT_INTERVAL;
        }
    }
}
