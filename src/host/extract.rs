//! The live feed's second stage: a thread that reads each envelope's
//! fields (the JSON scan, the engine's costliest step) while the engine
//! thread analyses the ones before, so a live session uses two cores.
//! One thread keeps the arrival order; the engine takes the envelopes
//! described, in that order.
//!
//! ```text
//!  Ingest (bounded) ──Envelope──> extract thread ──(Envelope, Described)──> engine
//!                                      ^───────────── spent Described ─────────┘
//! ```
//!
//! The described buffers go back to the thread to be reused, so nothing
//! is allocated per event for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, bounded};

use crate::analysis::fields::{Described, Extractor};
use crate::envelope::Envelope;

/// Most described envelopes waiting for the engine.
const MAX_AHEAD: usize = 1_024;
/// How often a waiting thread looks whether it should stop.
const LOOK: Duration = Duration::from_millis(50);

/// An envelope with its fields read.
pub type Prepared = (Envelope, Box<Described>);

/// The running stage.
pub struct Extract {
    out: Receiver<Prepared>,
    spent: Sender<Box<Described>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Extract {
    /// Starts the thread reading `input` with `extractor`; at most
    /// `ahead` (capped at [`MAX_AHEAD`]) described envelopes wait.
    pub fn start(input: Receiver<Envelope>, extractor: Extractor, ahead: usize) -> Extract {
        let ahead = ahead.clamp(1, MAX_AHEAD);
        let (tx, out) = bounded(ahead);
        let (spent, pool) = bounded(ahead + 1);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("flowscope-extract".into())
            .spawn(move || run(&input, &extractor, &tx, &pool, &flag))
            .expect("spawning the extract thread");
        Extract {
            out,
            spent,
            stop,
            thread: Some(thread),
        }
    }

    /// Where the described envelopes come out, in arrival order.
    pub fn receiver(&self) -> &Receiver<Prepared> {
        &self.out
    }

    /// Gives back a described buffer once the engine has taken it in.
    pub fn recycle(&self, d: Box<Described>) {
        let _ = self.spent.try_send(d);
    }

    /// Stops the thread once it has passed on the envelope it holds and
    /// returns what it passed on and had not been taken yet; what is left
    /// in `input` after that is the caller's.
    pub fn stop(&mut self) -> Vec<Prepared> {
        self.stop.store(true, Ordering::Relaxed);
        let mut taken = Vec::new();
        if let Some(t) = self.thread.take() {
            // Draining while it finishes: it may wait to pass one on.
            while !t.is_finished() {
                match self.out.recv_timeout(Duration::from_millis(1)) {
                    Ok(p) => taken.push(p),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            let _ = t.join();
        }
        taken.extend(self.out.try_iter());
        taken
    }
}

impl Drop for Extract {
    fn drop(&mut self) {
        // The thread ends on its own: the receiver goes with this.
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn run(
    input: &Receiver<Envelope>,
    extractor: &Extractor,
    out: &Sender<Prepared>,
    pool: &Receiver<Box<Described>>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let env = match input.recv_timeout(LOOK) {
            Ok(env) => env,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut d = pool.try_recv().unwrap_or_default();
        extractor.describe_into(&env, true, &mut d);
        // Waits while the engine is behind: the ingest queue before this
        // fills, and what it cannot take is dropped there and counted.
        let mut item = (env, d);
        loop {
            match out.send_timeout(item, LOOK) {
                Ok(()) => break,
                Err(SendTimeoutError::Timeout(back)) => item = back,
                Err(SendTimeoutError::Disconnected(_)) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_come_out_described_in_order_and_stop_keeps_them_all() {
        let (tx, rx) = bounded(10_000);
        let left = rx.clone();
        let mut stage = Extract::start(rx, Extractor::default(), 4);
        for i in 0..1_000 {
            let payload = format!(r#"{{"type":"T{i}","id":"{i}"}}"#);
            tx.send(Envelope::new(i, "orders.x", payload)).unwrap();
        }
        let mut seen = Vec::new();
        for _ in 0..500 {
            let (env, d) = stage.receiver().recv().unwrap();
            assert_eq!(d.event_type, format!("T{}", env.received_ns));
            seen.push(env.received_ns);
            stage.recycle(d);
        }
        let rest = stage.stop();
        seen.extend(rest.iter().map(|(e, _)| e.received_ns));
        seen.extend(left.try_iter().map(|e| e.received_ns));
        // Nothing lost, nothing repeated, in order, whatever the thread
        // had taken when it stopped.
        assert_eq!(seen, (0..1_000).collect::<Vec<_>>());
    }
}
