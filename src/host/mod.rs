//! The engine host: one loop that drains a feed into the engine, records,
//! handles what the user asks for and publishes snapshots at a set
//! interval. Live sessions ([`live::LiveFeed`]), replays
//! (`crate::replay::ReplayFeed`) and headless analysis of recordings
//! ([`file::FileFeed`]) all run through it; only the feed differs.
//!
//! ```text
//!  sources ──Envelope──> Ingest (bounded) ──> extract thread ──┐
//!          ──SourceEvent──────────────────────────> LiveFeed ──┤
//!  recording reader ──────────> ReplayFeed / FileFeed ─────────┼─> Core (engine,
//!  TUI, commands ──Request─────────────────────────────────────┘    recording)
//!                                            watch<Arc<Snapshot>> <─┘
//! ```

pub mod core;
pub mod extract;
pub mod file;
pub mod live;
pub mod messages;
pub mod recorder;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, unbounded};
use tokio::sync::watch;

use crate::analysis::playback::{ReplayStatus, Transport};
use crate::analysis::{Engine, Snapshot};
pub use core::Core;
pub use messages::{Request, SourceEvent};
pub use recorder::RecordingDefaults;

/// How often snapshots are published.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(100);
/// Within a second, new subject counts are copied at most this often (a
/// copy of a large subject tree is not free).
pub const TABLES_REFRESH: Duration = Duration::from_millis(500);

/// What moved in one [`Feed::pump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Nothing came before the deadline.
    Idle,
    /// Events were taken in.
    Busy,
    /// Something the views should show at once (a connection change).
    Changed,
    /// The feed has nothing more (a recording read to its end, headless).
    Ended,
}

/// Where the host's events come from.
pub trait Feed {
    /// Takes in what is there or due, returning when something was taken
    /// in, a request is waiting on `requests` (left for the host), or
    /// `until` has come.
    fn pump(&mut self, core: &mut Core, requests: &Receiver<Request>, until: Instant) -> Flow;
    /// A replay control; feeds that cannot play say so.
    fn transport(&mut self, core: &mut Core, t: Transport);
    /// Takes in what is still queued before the host stops.
    fn finish(&mut self, core: &mut Core);
    /// The time the engine's clock moves to before each snapshot (wall time
    /// live, the replay clock in a replay).
    fn clock(&self) -> Option<i64>;
    /// The replay's state, shown with each snapshot.
    fn status(&mut self) -> Option<ReplayStatus>;
    /// Whether `r` may record what this feed brings (not a replay).
    fn records(&self) -> bool;
    /// Whether the next snapshot must copy the tables anew (after a jump).
    fn fresh_tables(&mut self) -> bool {
        false
    }
}

/// A running host thread.
pub struct Host {
    pub requests: Sender<Request>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    thread: Option<JoinHandle<Engine>>,
}

impl Host {
    /// Starts the host on its own thread with `feed`.
    pub fn spawn<F: Feed + Send + 'static>(mut core: Core, mut feed: F) -> Host {
        let (tx, rx) = unbounded();
        let (snap_tx, snap_rx) = watch::channel(Arc::new(snapshot(&mut core, &mut feed, true)));
        let thread = std::thread::Builder::new()
            .name("flowscope-engine".into())
            .spawn(move || run(core, &mut feed, rx, Some(snap_tx)))
            .expect("spawning the engine thread");
        Host {
            requests: tx,
            snapshots: snap_rx,
            thread: Some(thread),
        }
    }

    /// Sends a request (ignored once the host has stopped).
    pub fn send(&self, r: Request) {
        let _ = self.requests.send(r);
    }

    /// Takes in what is queued, publishes a last snapshot and returns the
    /// engine.
    pub fn shutdown(mut self) -> Engine {
        let _ = self.requests.send(Request::Shutdown);
        self.thread
            .take()
            .expect("shutdown runs once")
            .join()
            .expect("the engine thread panicked")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.requests.send(Request::Shutdown);
            let _ = t.join();
        }
    }
}

/// Runs `feed` to its end on this thread, without snapshots (headless).
pub fn run_to_end<F: Feed>(core: Core, feed: &mut F) -> Engine {
    let (_keep, rx) = unbounded();
    run(core, feed, rx, None)
}

/// A snapshot of the engine, with the feed's clock and replay state.
fn snapshot<F: Feed>(core: &mut Core, feed: &mut F, fresh_tables: bool) -> Snapshot {
    core.housekeeping(feed.clock());
    let mut snap = core.snapshot(fresh_tables);
    snap.replay = feed.status().map(Arc::new);
    snap
}

/// The host loop; see the module docs.
fn run<F: Feed>(
    mut core: Core,
    feed: &mut F,
    requests: Receiver<Request>,
    snaps: Option<watch::Sender<Arc<Snapshot>>>,
) -> Engine {
    let interval = if snaps.is_some() {
        SNAPSHOT_INTERVAL
    } else {
        Duration::from_secs(3600)
    };
    // The first snapshot with what the feed has goes out at once.
    let mut next_publish = Instant::now();
    let mut tables_copied = Instant::now();
    let mut dirty = false;
    let mut publish = |core: &mut Core, feed: &mut F| {
        let Some(snaps) = &snaps else { return };
        let fresh = feed.fresh_tables() || tables_copied.elapsed() >= TABLES_REFRESH;
        if fresh {
            tables_copied = Instant::now();
        }
        snaps.send_replace(Arc::new(snapshot(core, feed, fresh)));
    };
    loop {
        let mut stop = false;
        loop {
            match requests.try_recv() {
                Ok(Request::Filter(f)) => core.set_filter(f),
                Ok(Request::Record(path)) if feed.records() => core.start_recording(path),
                Ok(Request::ToggleRecording) if feed.records() => core.toggle_recording(),
                Ok(Request::Record(_) | Request::ToggleRecording) => core
                    .passing_notice("a replay is not recorded again; record live sessions".into()),
                Ok(Request::Transport(t)) => feed.transport(&mut core, t),
                Ok(Request::Shutdown) | Err(TryRecvError::Disconnected) => stop = true,
                Err(TryRecvError::Empty) => break,
            }
            dirty = true;
            if stop {
                break;
            }
        }
        let flow = if stop {
            Flow::Idle
        } else {
            feed.pump(&mut core, &requests, next_publish)
        };
        dirty |= flow == Flow::Changed;
        let ended = flow == Flow::Ended;
        if stop || ended {
            feed.finish(&mut core);
            core.stop_recording();
            publish(&mut core, feed);
            return core.engine;
        }
        if dirty || Instant::now() >= next_publish {
            publish(&mut core, feed);
            dirty = false;
            next_publish = Instant::now() + interval;
        }
    }
}
