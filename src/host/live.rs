//! The live feed: envelopes from the sources on a bounded queue (a full
//! queue drops and counts, never blocking a source), and the sources'
//! events on their own unbounded channel so they are never dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, Sender, TrySendError, bounded, unbounded};

use super::core::{Core, wall_ns};
use super::extract::Extract;
use super::messages::{Request, SourceEvent};
use super::{Feed, Flow};
use crate::analysis::blind::{BlindWindow, Why};
use crate::analysis::fields::Extractor;
use crate::analysis::playback::{ReplayStatus, Transport};
use crate::envelope::Envelope;

/// Default capacity of the ingest queue, in events.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;
/// Most envelopes ingested between two looks at the other channels.
const MAX_BATCH: usize = 4_096;

/// The receive times of the envelopes the queue dropped since the host
/// last looked: the time in which flowscope was blind.
type Lost = Arc<Mutex<Option<(i64, i64)>>>;

/// The sending side of the ingest queue; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    tx: Sender<Envelope>,
    dropped: Arc<AtomicU64>,
    lost: Lost,
}

impl Ingest {
    /// Queues an envelope without waiting. Returns false (and counts the
    /// drop) when the queue is full or the engine has stopped.
    pub fn offer(&self, env: Envelope) -> bool {
        match self.tx.try_send(env) {
            Ok(()) => true,
            Err(TrySendError::Full(env) | TrySendError::Disconnected(env)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                let t = env.received_ns;
                let mut lost = self.lost.lock().unwrap_or_else(|e| e.into_inner());
                let (from, to) = lost.get_or_insert((t, t));
                (*from, *to) = ((*from).min(t), (*to).max(t));
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

/// Where live sources put what they capture.
#[derive(Clone)]
pub struct Inputs {
    pub ingest: Ingest,
    pub events: Sender<SourceEvent>,
}

impl Inputs {
    /// Sends a source event (ignored once the host has stopped).
    pub fn send(&self, ev: SourceEvent) {
        let _ = self.events.send(ev);
    }
}

/// The host's side of the live queues.
pub struct LiveFeed {
    /// The ingest queue (the extract stage reads it; what it leaves at
    /// the end is read here).
    envelopes: Receiver<Envelope>,
    /// The envelopes described on the second core, in arrival order.
    extract: Extract,
    events: Receiver<SourceEvent>,
    dropped: Arc<AtomicU64>,
    lost: Lost,
}

impl LiveFeed {
    /// A feed with an ingest queue of `capacity` events whose fields
    /// `extractor` reads on a thread of its own, and the inputs the
    /// sources write to.
    pub fn new(capacity: usize, extractor: Extractor) -> (LiveFeed, Inputs) {
        let (tx, envelopes) = bounded(capacity.max(1));
        let extract = Extract::start(envelopes.clone(), extractor, capacity);
        let (events_tx, events) = unbounded();
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = Lost::default();
        let inputs = Inputs {
            ingest: Ingest {
                tx,
                dropped: dropped.clone(),
                lost: lost.clone(),
            },
            events: events_tx,
        };
        (
            LiveFeed {
                envelopes,
                extract,
                events,
                dropped,
                lost,
            },
            inputs,
        )
    }

    /// The queue's drop counter, for the core.
    pub fn drop_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    /// Tells the engine when the queue dropped what it received, before
    /// it takes in what came after.
    fn take_lost(&self, core: &mut Core) {
        let lost = self.lost.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((from_ns, to_ns)) = lost {
            let w = BlindWindow {
                from_ns,
                to_ns,
                why: Why::QueueDropped,
            };
            core.queue_dropped(w, self.dropped.load(Ordering::Relaxed));
        }
    }

    fn take_events(&mut self, core: &mut Core) -> bool {
        let mut any = false;
        for ev in self.events.try_iter() {
            core.source(ev);
            any = true;
        }
        any
    }
}

impl Feed for LiveFeed {
    fn pump(&mut self, core: &mut Core, requests: &Receiver<Request>, until: Instant) -> Flow {
        let mut sel = Select::new();
        let envelopes = sel.recv(self.extract.receiver());
        let events = sel.recv(&self.events);
        sel.recv(requests);
        let Ok(i) = sel.ready_timeout(until.saturating_duration_since(Instant::now())) else {
            return Flow::Idle;
        };
        if i == envelopes {
            self.take_lost(core);
            for (env, d) in self.extract.receiver().try_iter().take(MAX_BATCH) {
                core.ingest_described(env, &d);
                self.extract.recycle(d);
            }
            Flow::Busy
        } else if i == events {
            if self.take_events(core) {
                Flow::Changed
            } else {
                Flow::Busy
            }
        } else {
            Flow::Busy
        }
    }

    fn transport(&mut self, core: &mut Core, _t: Transport) {
        core.passing_notice("replay controls work in replays (flowscope replay FILE)".into());
    }

    fn finish(&mut self, core: &mut Core) {
        self.take_lost(core);
        // What the stage described, then what it had not taken, in order.
        for (env, d) in self.extract.stop() {
            core.ingest_described(env, &d);
        }
        for env in self.envelopes.try_iter() {
            core.ingest(env);
        }
        self.take_lost(core);
        self.take_events(core);
    }

    fn clock(&self) -> Option<i64> {
        Some(wall_ns())
    }

    fn status(&mut self) -> Option<ReplayStatus> {
        None
    }

    fn records(&self) -> bool {
        true
    }
}

/// Starts a host for a live session: an ingest queue of `capacity`
/// events, `r` making recordings with `defaults`, recording to `initial`
/// from the first event when given. Returns the host and the inputs the
/// sources write to.
pub fn start(
    engine: crate::analysis::Engine,
    capacity: usize,
    defaults: super::RecordingDefaults,
    initial: Option<crate::recording::Recorder>,
) -> (super::Host, Inputs) {
    let (feed, inputs) = LiveFeed::new(capacity, engine.extractor().clone());
    let core = Core::new(engine, super::recorder::Recordings::new(defaults, initial))
        .with_queue_drops(feed.drop_counter());
    (super::Host::spawn(core, feed), inputs)
}
