//! Recordings: the format, writing as events arrive, reading back (also
//! `nats sub --dump` captures), redaction, and reading several files as one
//! session in time order.

pub mod dump;
pub mod format;
mod open;
pub mod reader;
pub mod redact;
pub mod writer;
pub mod zstd_frames;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, bounded};

pub use format::{Header, Record, SourceInfo};
pub use reader::{Position, Reader};
pub use writer::Recorder;

/// Records read ahead in batches of this many.
const READ_AHEAD_BATCH: usize = 1024;
/// Batches waiting to be taken.
const READ_AHEAD_BATCHES: usize = 16;

/// The analysis settings recorded in the header of the recording at
/// `path` (none when it has none or cannot be read: reading it later says
/// why).
pub fn recorded_analysis(path: &Path) -> Option<serde_json::Value> {
    Reader::open(path).ok()?.header()?.analysis.clone()
}

/// A reader on its own thread: parsing runs in parallel with whatever
/// consumes the records (the engine). Each record comes with the reader's
/// position after it.
pub struct ReadAhead {
    path: PathBuf,
    header: Option<Header>,
    source: SourceInfo,
    progress: Arc<dyn Fn() -> (u64, u64) + Send + Sync>,
    compressed: bool,
    rx: Receiver<Vec<(Record, Position)>>,
    batch: std::vec::IntoIter<(Record, Position)>,
    thread: Option<JoinHandle<Reader>>,
    /// The reader's warnings, once it has finished.
    warnings: Option<(Vec<String>, u64)>,
}

impl ReadAhead {
    pub fn new(mut reader: Reader) -> std::io::Result<ReadAhead> {
        let (tx, rx) = bounded(READ_AHEAD_BATCHES);
        let header = reader.header().cloned();
        let source = reader.source();
        let path = reader.path().to_path_buf();
        let progress = reader.progress_handle();
        let compressed = reader.is_compressed();
        let thread = std::thread::Builder::new()
            .name("flowscope-read".into())
            .spawn(move || {
                loop {
                    let mut batch = Vec::with_capacity(READ_AHEAD_BATCH);
                    while batch.len() < READ_AHEAD_BATCH {
                        match reader.next_record() {
                            Some(r) => batch.push((r, reader.position())),
                            None => break,
                        }
                    }
                    let last = batch.len() < READ_AHEAD_BATCH;
                    if (!batch.is_empty() && tx.send(batch).is_err()) || last {
                        return reader;
                    }
                }
            })?;
        Ok(ReadAhead {
            path,
            header,
            source,
            progress: Arc::new(progress),
            compressed,
            rx,
            batch: Vec::new().into_iter(),
            thread: Some(thread),
            warnings: None,
        })
    }

    /// Opens `path` and starts reading it.
    pub fn open(path: &Path) -> Result<ReadAhead, String> {
        let reader = Reader::open(path)?;
        ReadAhead::new(reader).map_err(|e| format!("cannot start reading {}: {e}", path.display()))
    }

    /// The next record and the position after it.
    pub fn next_with_position(&mut self) -> Option<(Record, Position)> {
        loop {
            if let Some(r) = self.batch.next() {
                return Some(r);
            }
            match self.rx.recv() {
                Ok(b) => self.batch = b.into_iter(),
                Err(_) => {
                    self.collect_warnings();
                    return None;
                }
            }
        }
    }

    fn collect_warnings(&mut self) {
        if let Some(t) = self.thread.take() {
            self.warnings = Some(match t.join() {
                Ok(reader) => {
                    let (w, more) = reader.warnings();
                    (w.to_vec(), more)
                }
                Err(_) => (
                    vec![format!(
                        "{}: reading stopped unexpectedly",
                        self.path.display()
                    )],
                    0,
                ),
            });
        }
    }

    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    pub fn source(&self) -> SourceInfo {
        self.source.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// See [`Reader::progress`]: how far reading has got (which may be
    /// ahead of the records taken).
    pub fn progress(&self) -> (u64, u64) {
        (self.progress)()
    }

    /// How far the records taken have got: the bytes of the file up to
    /// `pos` (for compressed files, up to the start of its frame), and the
    /// file's size.
    pub fn progress_at(&self, pos: Position) -> (u64, u64) {
        let done = if self.compressed {
            pos.frame.0
        } else {
            pos.offset
        };
        (done, self.progress().1)
    }

    /// Warnings of the whole file (available once it has been read).
    pub fn warnings(&self) -> (&[String], u64) {
        match &self.warnings {
            Some((w, more)) => (w, *more),
            None => (&[], 0),
        }
    }
}

impl Iterator for ReadAhead {
    type Item = Record;
    fn next(&mut self) -> Option<Record> {
        self.next_with_position().map(|(r, _)| r)
    }
}

/// Several recordings read as one, in time order (a k-way merge; records
/// of equal time keep the order of the files given).
pub struct Merged {
    readers: Vec<ReadAhead>,
    heads: Vec<Option<Record>>,
}

impl Merged {
    pub fn open(paths: &[PathBuf]) -> Result<Merged, String> {
        let mut readers = paths
            .iter()
            .map(|p| ReadAhead::open(p))
            .collect::<Result<Vec<_>, _>>()?;
        let heads = readers.iter_mut().map(|r| r.next()).collect();
        Ok(Merged { readers, heads })
    }

    pub fn readers(&self) -> &[ReadAhead] {
        &self.readers
    }

    /// Bytes read of all files and their total size (see [`Reader::progress`]).
    pub fn progress(&self) -> (u64, u64) {
        self.readers
            .iter()
            .map(ReadAhead::progress)
            .fold((0, 0), |(a, b), (r, t)| (a + r, b + t))
    }

    /// Warnings of every file read to its end.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.readers {
            let (w, more) = r.warnings();
            out.extend(w.iter().cloned());
            if more > 0 {
                out.push(format!(
                    "{}: {}",
                    r.path().display(),
                    crate::format::counted(more, "more warning", "more warnings")
                ));
            }
        }
        out
    }
}

impl Iterator for Merged {
    type Item = Record;
    fn next(&mut self) -> Option<Record> {
        let (i, _) = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|r| (i, r.time())))
            .min_by_key(|(i, t)| (*t, *i))?;
        let next = self.readers[i].next();
        std::mem::replace(&mut self.heads[i], next)
    }
}
