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

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::Deserialize;

use super::format::{FORMAT_VERSION, Header, Line, Record, SourceInfo};
use crate::envelope::{Envelope, JsMeta};

/// Warnings kept per file; more are counted.
const MAX_WARNINGS: usize = 100;
/// Time between records of a capture that has no times (natscli dumps).
const DUMP_STEP_NS: i64 = 1_000_000;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

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

/// Frame starts seen by a [`Frames`] decoder, oldest first.
type FrameStarts = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u64, u64)>>>;
/// Frame starts remembered ahead of the reader's position.
const MAX_FRAME_STARTS: usize = 4096;

/// A buffered reader that counts the bytes consumed from it.
struct Consumed<R> {
    inner: R,
    consumed: u64,
}

impl<R: Read> Read for Consumed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Consumed<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n);
    }
}

type FrameDecoder = zstd::stream::read::Decoder<'static, Consumed<BufReader<Counted>>>;

/// A zstd stream decoded a frame at a time, noting where each frame starts
/// in the file and in the decompressed text (recordings end a frame at each
/// flush, so a position can be reopened from its frame).
struct Frames {
    dec: Option<FrameDecoder>,
    /// Decompressed bytes produced so far.
    out: u64,
    starts: FrameStarts,
}

impl Frames {
    fn new(
        input: Consumed<BufReader<Counted>>,
        out: u64,
        starts: FrameStarts,
    ) -> io::Result<Frames> {
        starts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back((input.consumed, out));
        Ok(Frames {
            dec: Some(zstd::stream::read::Decoder::with_buffer(input)?.single_frame()),
            out,
            starts,
        })
    }
}

impl Read for Frames {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                self.out += n as u64;
                return Ok(n);
            }
            // The frame is done: is there another one?
            let mut input = self.dec.take().expect("checked above").finish();
            if input.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let mut starts = self.starts.lock().unwrap_or_else(|p| p.into_inner());
            if starts.len() >= MAX_FRAME_STARTS {
                starts.pop_front();
            }
            starts.push_back((input.consumed, self.out));
            drop(starts);
            self.dec = Some(zstd::stream::read::Decoder::with_buffer(input)?.single_frame());
        }
    }
}

/// A file that counts the bytes read from it (progress of a reader).
struct Counted {
    file: File,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
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

/// A `nats sub --dump` record (Go's JSON of a `nats.Msg`).
#[derive(Debug, Deserialize)]
struct DumpRecord {
    #[serde(rename = "Subject")]
    subject: String,
    #[serde(rename = "Reply", default)]
    reply: Option<String>,
    #[serde(rename = "Header", default)]
    header: Option<std::collections::BTreeMap<String, Vec<String>>>,
    #[serde(rename = "Data", default)]
    data: Option<String>,
}

impl DumpRecord {
    fn into_envelope(self, t: i64) -> Result<Envelope, String> {
        let payload = match self.data {
            Some(d) => B64
                .decode(d.as_bytes())
                .map_err(|e| format!("bad base64 in Data: {e}"))?,
            None => Vec::new(),
        };
        let mut env = Envelope::new(t, &self.subject, Bytes::from(payload));
        env.reply = self.reply.filter(|r| !r.is_empty()).map(Into::into);
        for (name, values) in self.header.unwrap_or_default() {
            for v in values {
                env.headers.push((name.as_str().into(), v.into()));
            }
        }
        env.js = env.reply.as_deref().and_then(JsMeta::from_ack_subject);
        Ok(env)
    }
}

/// A stream of records from one file or directory.
pub struct Reader {
    path: PathBuf,
    kind: Kind,
    src: Box<dyn BufRead + Send>,
    separator: u8,
    header: Option<Header>,
    pos: Position,
    warnings: Vec<String>,
    more_warnings: u64,
    finished: bool,
    /// Next synthetic time for dumps.
    clock: i64,
    dir: Vec<(PathBuf, i64)>,
    buf: Vec<u8>,
    /// Bytes read from the file (compressed, for `.zst`), and its size.
    file_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    file_len: u64,
    /// Compressed files: where frames start (see [`Position::frame`]).
    frames: Option<FrameStarts>,
}

fn mtime_ns(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

fn dump_files(dir: &Path) -> Result<Vec<(PathBuf, i64)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<(u64, bool, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_owned();
            let (num, reply) = match stem.strip_suffix("_reply") {
                Some(n) => (n.parse().ok()?, true),
                None => (stem.parse().ok()?, false),
            };
            Some((num, reply, p))
        })
        .collect();
    if files.is_empty() {
        return Err(format!(
            "{} has no N.json files: it is not a `nats sub --dump` directory",
            dir.display()
        ));
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|(_, _, p)| {
            let t = mtime_ns(&p);
            (p, t)
        })
        .collect())
}

impl Reader {
    /// Opens a recording, a `nats sub --dump` file or a dump directory.
    pub fn open(path: &Path) -> Result<Reader, String> {
        Self::open_at(path, Position::default())
    }

    /// Opens and continues from `pos` (from [`Reader::position`] of an
    /// earlier reader of the same file).
    pub fn open_at(path: &Path, pos: Position) -> Result<Reader, String> {
        let display = path.display();
        if path.is_dir() {
            let dir = dump_files(path)?;
            let mut r = Reader::new(path, Kind::NatsDumpDir, Box::new(io::empty()));
            r.dir = dir;
            r.dir.reverse();
            for _ in 0..pos.line {
                r.dir.pop();
            }
            r.pos = pos;
            return Ok(r);
        }
        let mut file = File::open(path).map_err(|e| format!("cannot open {display}: {e}"))?;
        let mut magic = [0u8; 4];
        let n = file
            .read(&mut magic)
            .map_err(|e| format!("cannot read {display}: {e}"))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| format!("cannot read {display}: {e}"))?;
        let zstd = n == 4 && magic == ZSTD_MAGIC;
        if super::writer::is_compressed(path) && !zstd {
            return Err(format!(
                "{display} is named .zst but is not zstd-compressed"
            ));
        }
        let file_len = file.metadata().map_or(0, |m| m.len());
        let file_read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut frames = None;
        let mut src: Box<dyn BufRead + Send> = if zstd {
            let (at, out) = pos.frame;
            let mut file = file;
            file.seek(SeekFrom::Start(at))
                .map_err(|e| format!("cannot read {display}: {e}"))?;
            file_read.store(at, std::sync::atomic::Ordering::Relaxed);
            let input = Consumed {
                inner: BufReader::with_capacity(
                    128 * 1024,
                    Counted {
                        file,
                        read: file_read.clone(),
                    },
                ),
                consumed: at,
            };
            let starts = FrameStarts::default();
            let dec = Frames::new(input, out, starts.clone())
                .map_err(|e| format!("cannot read {display}: {e}"))?;
            frames = Some(starts);
            Box::new(BufReader::with_capacity(256 * 1024, dec))
        } else {
            let mut file = file;
            file.seek(SeekFrom::Start(pos.offset))
                .map_err(|e| format!("cannot read {display}: {e}"))?;
            file_read.store(pos.offset, std::sync::atomic::Ordering::Relaxed);
            Box::new(BufReader::with_capacity(
                256 * 1024,
                Counted {
                    file,
                    read: file_read.clone(),
                },
            ))
        };
        if zstd && pos.offset > pos.frame.1 {
            // Decode from the frame's start up to the position.
            io::copy(
                &mut (&mut src).take(pos.offset - pos.frame.1),
                &mut io::sink(),
            )
            .map_err(|e| format!("cannot read {display}: {e}"))?;
        }
        // What is it? Look at the start (a fresh reader of the same file).
        let first = Self::sniff(path, zstd)?;
        let (kind, separator) = first;
        let mut r = Reader::new(path, kind, src);
        r.frames = frames;
        r.file_read = file_read;
        r.file_len = file_len;
        r.separator = separator;
        r.clock = mtime_ns(path);
        if kind == Kind::Flowscope {
            r.header = Some(Self::read_header(path, zstd)?);
        }
        if pos.line > 0 {
            r.pos = pos;
            r.clock += DUMP_STEP_NS * pos.line as i64;
        } else if kind == Kind::Flowscope {
            // Skip the header line.
            r.next_line();
        }
        Ok(r)
    }

    fn new(path: &Path, kind: Kind, src: Box<dyn BufRead + Send>) -> Reader {
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

    /// The first line that is not blank (at most 16 MiB are looked at);
    /// empty when there is none.
    fn first_record(path: &Path, zstd: bool) -> Result<Vec<u8>, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let src: Box<dyn BufRead> = if zstd {
            Box::new(BufReader::new(
                zstd::stream::read::Decoder::new(file)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            ))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut src = src.take(16 * 1024 * 1024);
        let mut first = Vec::new();
        loop {
            first.clear();
            let n = src
                .read_until(b'\n', &mut first)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if n == 0 || first.iter().any(|b| !b.is_ascii_whitespace()) {
                return Ok(first);
            }
        }
    }

    fn sniff(path: &Path, zstd: bool) -> Result<(Kind, u8), String> {
        let first = Self::first_record(path, zstd)?;
        if first.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        let neither = || {
            format!(
                "{} is neither a flowscope recording (its first line is not a header) nor a `nats sub --dump` capture",
                path.display()
            )
        };
        let is_dump = |record: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(record.trim_ascii())
                .is_ok_and(|v| v.get("Subject").is_some())
        };
        if let Some(nul) = first.iter().position(|b| *b == 0) {
            // `nats sub --dump=-`: records end with NUL.
            return if is_dump(&first[..nul]) {
                Ok((Kind::NatsDump, 0))
            } else {
                Err(neither())
            };
        }
        match serde_json::from_slice::<serde_json::Value>(first.trim_ascii()) {
            Ok(v) if v.get("flowscope_recording").is_some() => Ok((Kind::Flowscope, b'\n')),
            _ if is_dump(&first) => Ok((Kind::NatsDump, b'\n')),
            _ => Err(neither()),
        }
    }

    fn read_header(path: &Path, zstd: bool) -> Result<Header, String> {
        let first = Self::first_record(path, zstd)?;
        let v: serde_json::Value = serde_json::from_slice(&first)
            .map_err(|e| format!("{}:1: the header is not valid JSON: {e}", path.display()))?;
        let version = v["flowscope_recording"].as_u64().unwrap_or(0);
        if version > FORMAT_VERSION as u64 {
            return Err(format!(
                "{} uses recording format {version}, written by a newer flowscope; this one reads format {FORMAT_VERSION}",
                path.display()
            ));
        }
        serde_json::from_value(v).map_err(|e| format!("{}:1: bad header: {e}", path.display()))
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
    fn next_line(&mut self) -> bool {
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
    use crate::recording::redact::Redactor;
    use crate::recording::{Recorder, SourceInfo};

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
