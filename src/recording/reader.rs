//! Reads recordings as a stream: flowscope's JSON Lines (plain or zstd),
//! and captures made with `nats sub --dump` (a directory of one JSON file per
//! message, or the NUL-separated stream of `--dump=-`, or one such record
//! per line).
//!
//! Problems never hide the rest: a bad line is skipped with a warning naming
//! the file and line; a truncated last record (or compressed data that ends
//! early, as after `kill -9`) ends the reading with a warning. A format
//! version newer than this flowscope, or a `.zst` file that is not zstd, is
//! an error.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::dump::{DUMP_STEP_NS, DumpRecord};
use super::format::{Header, Line, Record, SourceInfo};
use super::zstd_frames::FrameStarts;

/// Warnings kept per file; more are counted.
const MAX_WARNINGS: usize = 100;

/// Where a reader is, to come back to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Bytes of (decompressed) text consumed.
    pub offset: u64,
    /// Lines (records) consumed, the header included.
    pub line: u64,
    /// Compressed files: the zstd frame that holds `offset`, as (its start
    /// in the file, decompressed bytes before it). Opening there decodes
    /// only from that frame on.
    pub frame: (u64, u64),
}

/// The kinds of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Flowscope,
    /// `nats sub --dump` records, one per line or NUL-separated.
    NatsDump,
    /// A directory written by `nats sub --dump DIR`.
    NatsDumpDir,
}

/// A stream of records from one file or directory.
pub struct Reader {
    pub(super) path: PathBuf,
    pub(super) kind: Kind,
    pub(super) src: Box<dyn BufRead + Send>,
    pub(super) separator: u8,
    pub(super) header: Option<Header>,
    pub(super) pos: Position,
    pub(super) warnings: Vec<String>,
    pub(super) more_warnings: u64,
    pub(super) finished: bool,
    /// Next synthetic time for dumps.
    pub(super) clock: i64,
    pub(super) dir: Vec<(PathBuf, i64)>,
    pub(super) buf: Vec<u8>,
    /// Bytes read from the file (compressed, for `.zst`), and its size.
    pub(super) file_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub(super) file_len: u64,
    /// Compressed files: where frames start (see [`Position::frame`]).
    pub(super) frames: Option<FrameStarts>,
}

impl Reader {
    pub(super) fn new(path: &Path, kind: Kind, src: Box<dyn BufRead + Send>) -> Reader {
        Reader {
            path: path.to_path_buf(),
            kind,
            src,
            separator: b'\n',
            header: None,
            pos: Position::default(),
            warnings: Vec::new(),
            more_warnings: 0,
            finished: false,
            clock: 0,
            dir: Vec::new(),
            buf: Vec::with_capacity(4096),
            file_read: Default::default(),
            file_len: 0,
            frames: None,
        }
    }

    /// The header (flowscope recordings).
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// What the recording says about its source (dumps: their path).
    pub fn source(&self) -> SourceInfo {
        match &self.header {
            Some(h) => h.source.clone(),
            None => SourceInfo {
                kind: "nats sub --dump".into(),
                ..SourceInfo::default()
            },
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file read so far and its size, for progress: files
    /// (compressed or not) count bytes, dump directories count files.
    pub fn progress(&self) -> (u64, u64) {
        match self.kind {
            Kind::NatsDumpDir => (self.pos.line, self.pos.line + self.dir.len() as u64),
            _ => (
                self.file_read.load(std::sync::atomic::Ordering::Relaxed),
                self.file_len,
            ),
        }
    }

    /// [`Reader::progress`] that can be asked from another thread (dump
    /// directories: the number of files, without progress).
    pub fn progress_handle(&self) -> impl Fn() -> (u64, u64) + Send + Sync + 'static {
        let read = self.file_read.clone();
        let len = match self.kind {
            Kind::NatsDumpDir => 0,
            _ => self.file_len,
        };
        move || (read.load(std::sync::atomic::Ordering::Relaxed), len)
    }

    /// True for zstd-compressed files.
    pub fn is_compressed(&self) -> bool {
        self.frames.is_some()
    }

    /// Where the next record starts.
    pub fn position(&self) -> Position {
        let mut pos = self.pos;
        if let Some(frames) = &self.frames {
            let mut starts = frames.lock().unwrap_or_else(|p| p.into_inner());
            // Positions only move forward: frames before the one holding
            // this position are not needed again.
            while starts.len() > 1 && starts[1].1 <= pos.offset {
                starts.pop_front();
            }
            if let Some(&f) = starts.front().filter(|f| f.1 <= pos.offset) {
                pos.frame = f;
            }
        }
        pos
    }

    fn warn(&mut self, msg: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(msg);
        } else {
            self.more_warnings += 1;
        }
    }

    /// Warnings so far (and how many more were not kept).
    pub fn warnings(&self) -> (&[String], u64) {
        (&self.warnings, self.more_warnings)
    }

    /// Reads the next raw line into `self.buf`; false at the end.
    pub(super) fn next_line(&mut self) -> bool {
        if self.finished {
            return false;
        }
        self.buf.clear();
        match self.src.read_until(self.separator, &mut self.buf) {
            Ok(0) => {
                self.finished = true;
                false
            }
            Ok(n) => {
                self.pos.offset += n as u64;
                self.pos.line += 1;
                true
            }
            Err(e) => {
                let line = self.pos.line + 1;
                let msg = format!(
                    "{}: the data ends early near line {line} ({e}); the recording was cut off, everything before is read",
                    self.path.display()
                );
                self.warn(msg);
                self.finished = true;
                false
            }
        }
    }

    /// The next record; bad lines are skipped with a warning.
    pub fn next_record(&mut self) -> Option<Record> {
        if self.kind == Kind::NatsDumpDir {
            return self.next_from_dir();
        }
        loop {
            if !self.next_line() {
                return None;
            }
            let complete = self.buf.last() == Some(&self.separator);
            let body = self
                .buf
                .strip_suffix(&[self.separator])
                .unwrap_or(&self.buf);
            if body.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let parsed = match self.kind {
                Kind::Flowscope => serde_json::from_slice::<Line>(body)
                    .map_err(|e| e.to_string())
                    .and_then(Line::into_record),
                _ => serde_json::from_slice::<DumpRecord>(body)
                    .map_err(|e| e.to_string())
                    .and_then(|d| {
                        self.clock += DUMP_STEP_NS;
                        d.into_envelope(self.clock)
                    })
                    .map(Record::Event),
            };
            match parsed {
                Ok(r) => return Some(r),
                Err(e) if !complete => {
                    let msg = format!(
                        "{}:{}: the last record is truncated ({e}); it was skipped",
                        self.path.display(),
                        self.pos.line
                    );
                    self.warn(msg);
                    return None;
                }
                Err(e) => {
                    let msg = format!(
                        "{}:{}: not a valid record, skipped ({e})",
                        self.path.display(),
                        self.pos.line
                    );
                    self.warn(msg);
                }
            }
        }
    }

    fn next_from_dir(&mut self) -> Option<Record> {
        loop {
            let (path, t) = self.dir.pop()?;
            self.pos.line += 1;
            let parsed = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<DumpRecord>(&b).map_err(|e| e.to_string()))
                .and_then(|d| d.into_envelope(t.max(self.clock + 1)));
            match parsed {
                Ok(env) => {
                    self.clock = env.received_ns;
                    return Some(Record::Event(env));
                }
                Err(e) => {
                    let msg = format!(
                        "{}: not a valid `nats sub --dump` record, skipped ({e})",
                        path.display()
                    );
                    self.warn(msg);
                }
            }
        }
    }
}

impl Iterator for Reader {
    type Item = Record;
    fn next(&mut self) -> Option<Record> {
        self.next_record()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Envelope;
    use crate::recording::redact::Redactor;
    use crate::recording::{Recorder, SourceInfo};
    use bytes::Bytes;

    /// Writes `n` events of about 1 KiB each.
    fn write(path: &Path, n: u64) {
        let header = Header::new(0, SourceInfo::default(), Vec::new());
        let mut rec = Recorder::create(path, header, Redactor::default()).unwrap();
        for i in 0..n {
            let mut env = Envelope::new(i as i64, "a.b", Bytes::from(format!("{i:01024}")));
            env.index = i;
            rec.event(&env).unwrap();
        }
        rec.finish(n as i64).unwrap();
    }

    fn index_of(r: Option<Record>) -> u64 {
        match r {
            Some(Record::Event(e)) => e.index,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn a_position_reopens_at_the_same_record_plain_and_compressed() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["p.jsonl", "c.jsonl.zst"] {
            let path = dir.path().join(name);
            // About 12 MiB of text: several zstd frames.
            write(&path, 12_000);
            let mut r = Reader::open(&path).unwrap();
            let mut marks = Vec::new();
            for i in 0..12_000u64 {
                if i % 2_500 == 1_234 {
                    marks.push((i, r.position()));
                }
                assert_eq!(index_of(r.next_record()), i);
            }
            let frames: Vec<u64> = marks.iter().map(|(_, p)| p.frame.0).collect();
            if name.ends_with(".zst") {
                let mut distinct = frames.clone();
                distinct.dedup();
                assert!(
                    frames.windows(2).all(|w| w[0] <= w[1]) && distinct.len() >= 3,
                    "later positions start in later frames: {frames:?}"
                );
            }
            for (i, pos) in marks {
                let mut again = Reader::open_at(&path, pos).unwrap();
                assert_eq!(index_of(again.next_record()), i, "{name} at {pos:?}");
                assert!(again.warnings().0.is_empty());
            }
        }
    }
}
