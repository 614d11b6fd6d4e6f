//! The feed of headless analysis: recordings read as fast as they parse
//! (several files as one session in time order), with a progress bar on
//! stderr for large files when it is a terminal.

use std::time::Instant;

use crossbeam_channel::Receiver;

use super::core::Core;
use super::messages::Request;
use super::{Feed, Flow};
use crate::analysis::playback::{ReplayStatus, Transport};
use crate::recording::Merged;

/// Records applied between two looks at the clock.
const BATCH: usize = 20_000;

/// Recordings read to their end.
pub struct FileFeed {
    merged: Merged,
    progress: Option<indicatif::ProgressBar>,
}

impl FileFeed {
    /// Reads `merged`; `progress` shows how far it got.
    pub fn new(merged: Merged, progress: Option<indicatif::ProgressBar>) -> Self {
        FileFeed { merged, progress }
    }

    /// The recordings, for their warnings once read.
    pub fn merged(&self) -> &Merged {
        &self.merged
    }
}

impl Feed for FileFeed {
    fn pump(&mut self, core: &mut Core, _requests: &Receiver<Request>, _until: Instant) -> Flow {
        for _ in 0..BATCH {
            if core.engine.is_full() {
                return Flow::Ended;
            }
            match self.merged.next() {
                Some(record) => core.apply(record),
                None => return Flow::Ended,
            }
        }
        if let Some(bar) = &self.progress {
            bar.set_message(crate::format::plural(core.engine.total_events(), "event"));
            bar.set_position(self.merged.progress().0);
        }
        Flow::Busy
    }

    fn transport(&mut self, _core: &mut Core, _t: Transport) {}

    fn finish(&mut self, _core: &mut Core) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }

    fn clock(&self) -> Option<i64> {
        None
    }

    fn status(&mut self) -> Option<ReplayStatus> {
        None
    }

    fn records(&self) -> bool {
        false
    }
}
