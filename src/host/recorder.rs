//! Recording on the engine host: the recording in progress (if any), the
//! settings new recordings take (`r` starts one in `./recordings`), and the
//! connection changes as recordings write them: each change once, and the
//! window in which core NATS events may have been missed on a reconnect.
//!
//! Every method that writes reports a failure as the notice to show; the
//! recording then stops, and what was written is kept.

use std::path::PathBuf;

use crate::analysis::blind::BlindWindow;
use crate::analysis::snapshot::RecordingStatus;
use crate::analysis::{Engine, LinkEvent};
use crate::envelope::Envelope;
use crate::recording::format::{Drops, Link, LinkRecord};
use crate::recording::redact::Redactor;
use crate::recording::{Header, Recorder, SourceInfo};

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

    /// A recording's header for a recording starting at `now_ns`.
    pub fn header(&self, now_ns: i64) -> Header {
        Header::new(now_ns, self.source.clone(), Vec::new()).with_analysis(self.analysis.clone())
    }
}

/// How a recording ended, for the notice.
pub enum Ended {
    /// Stopped as asked, with the events written.
    Stopped { path: String, events: u64 },
    /// Stopped because it could not go on.
    Failed(String),
}

impl Ended {
    pub fn notice(&self) -> String {
        match self {
            Ended::Stopped { path, events } => format!(
                "recorded {} to {path}",
                crate::format::plural(*events, "event")
            ),
            Ended::Failed(why) => why.clone(),
        }
    }
}

/// The recording in progress, and what recordings need to know.
pub struct Recordings {
    recorder: Option<Recorder>,
    pub defaults: RecordingDefaults,
    /// When the connection was lost, until it is back.
    disconnected_at: Option<i64>,
    /// The last connection change seen, to write each change once (the
    /// session and the client both report the first connect).
    last_link: Option<Link>,
}

impl Recordings {
    pub fn new(defaults: RecordingDefaults, initial: Option<Recorder>) -> Self {
        Recordings {
            recorder: initial,
            defaults,
            disconnected_at: None,
            last_link: None,
        }
    }

    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// The recording in progress, for the status bar.
    pub fn status(&self) -> Option<RecordingStatus> {
        self.recorder.as_ref().map(|r| RecordingStatus {
            path: r.path().display().to_string(),
            events: r.events(),
        })
    }

    /// Starts recording to `path` (stopping a running recording first);
    /// returns what to tell the user.
    pub fn start(&mut self, path: PathBuf, engine: &Engine, now_ns: i64) -> String {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            return format!("cannot record: cannot create {}: {e}", dir.display());
        }
        let header = self.defaults.header(now_ns);
        let mut r = match Recorder::create(&path, header, self.defaults.redactor.clone()) {
            Ok(r) => r,
            Err(e) => return format!("cannot record: {e}"),
        };
        tracing::info!(path = %path.display(), "recording started");
        // A recording started mid-session opens with the link state.
        if self.last_link == Some(Link::Connected) {
            let rec = LinkRecord {
                version: engine.status().server_version.clone(),
                ..LinkRecord::change(Link::Connected, now_ns)
            };
            if let Err(e) = r.link(&rec) {
                return format!("cannot record: {e}");
            }
        }
        self.recorder = Some(r);
        // Only what arrives from now on is written.
        match engine.total_events() {
            0 => format!("recording to {}", path.display()),
            n => format!(
                "recording to {} from now on (the {} before are not in it)",
                path.display(),
                crate::format::plural(n, "event")
            ),
        }
    }

    /// Stops the recording, if one runs; `problem` says why it must.
    pub fn stop(&mut self, problem: Option<String>, now_ns: i64) -> Option<Ended> {
        let rec = self.recorder.take()?;
        let path = rec.path().display().to_string();
        let ended = match (rec.finish(now_ns), problem) {
            (_, Some(p)) => Ended::Failed(format!(
                "recording to {path} stopped: {p}; what was written is kept"
            )),
            (Ok(events), None) => Ended::Stopped { path, events },
            (Err(e), None) => Ended::Failed(format!("recording to {path} may be incomplete: {e}")),
        };
        tracing::info!(notice = %ended.notice(), "recording stopped");
        Some(ended)
    }

    /// Runs `write` on the recorder; a failure stops the recording.
    fn write(
        &mut self,
        now_ns: i64,
        write: impl FnOnce(&mut Recorder) -> std::io::Result<()>,
    ) -> Option<Ended> {
        let r = self.recorder.as_mut()?;
        match write(r) {
            Ok(()) => None,
            Err(e) => self.stop(Some(format!("cannot write: {e}")), now_ns),
        }
    }

    /// Writes an event as the engine stored it.
    pub fn event(&mut self, env: &Envelope) -> Option<Ended> {
        self.write(env.received_ns, |r| r.event(env))
    }

    /// Writes a connection change (once per change, with the window in
    /// which events may have been missed when it comes back).
    pub fn link(&mut self, ev: &LinkEvent, at: i64) -> Option<Ended> {
        let rec = match ev {
            LinkEvent::Connected { .. } if self.last_link == Some(Link::Connected) => return None,
            LinkEvent::Connected { version } => {
                let missed = self.disconnected_at.take();
                LinkRecord {
                    version: version.clone(),
                    missed_from: missed,
                    missed_to: missed.map(|_| at),
                    ..LinkRecord::change(Link::Connected, at)
                }
            }
            LinkEvent::Disconnected => {
                self.disconnected_at.get_or_insert(at);
                LinkRecord::change(Link::Disconnected, at)
            }
            LinkEvent::Closed => LinkRecord::change(Link::Closed, at),
            LinkEvent::Offline => LinkRecord::change(Link::Offline, at),
        };
        self.last_link = Some(rec.link);
        self.write(at, |r| r.link(&rec))
    }

    /// Writes a lag poll.
    pub fn lag(&mut self, t: i64, poll: &crate::analysis::lag::LagPoll) -> Option<Ended> {
        self.write(t, |r| r.lag(t, poll))
    }

    /// Writes a time in which flowscope was blind.
    pub fn blind(&mut self, t: i64, window: BlindWindow) -> Option<Ended> {
        self.write(t, |r| r.blind(t, window))
    }

    /// Notes the drop totals (when they changed) and flushes when due.
    pub fn housekeeping(&mut self, now_ns: i64, drops: Drops) -> Option<Ended> {
        self.write(now_ns, |r| {
            r.drops(now_ns, drops).and_then(|_| r.flush_if_due())
        })
    }
}
