//! Writes a recording as events arrive. Lines are buffered and flushed at
//! least every [`FLUSH_EVERY`], so a crash or `kill -9` loses at most the
//! last second; a clean stop writes an end record. New files are readable
//! by their owner only, and an existing file is never overwritten.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::format::{Drops, Header, Line, LinkRecord, event_line};
use super::redact::Redactor;
use crate::analysis::blind::BlindWindow;
use crate::envelope::Envelope;

/// The longest time written data waits in buffers.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A compressed recording also ends its zstd frame after this much text,
/// so a reader can start near any point of a file written fast.
const MAX_FRAME_BYTES: usize = 4 << 20;
/// zstd compression level for `.zst` recordings.
const ZSTD_LEVEL: i32 = 3;

type ZstdOut = zstd::stream::write::Encoder<'static, BufWriter<File>>;

enum Out {
    Plain(BufWriter<File>),
    /// `None` after ending a frame failed: nothing more can be written.
    Zstd(Option<ZstdOut>),
}

fn broken() -> io::Error {
    io::Error::other("the compressed stream broke at an earlier write")
}

impl Out {
    fn writer(&mut self) -> io::Result<&mut dyn Write> {
        match self {
            Out::Plain(w) => Ok(w),
            Out::Zstd(w) => Ok(w.as_mut().ok_or_else(broken)?),
        }
    }
}

/// True when `path` names a compressed recording (`.zst`).
pub fn is_compressed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zst")
}

/// An open recording.
pub struct Recorder {
    path: PathBuf,
    out: Out,
    redactor: Redactor,
    last_flush: Instant,
    events: u64,
    drops: Drops,
    buf: Vec<u8>,
    /// Something was written since the last flush.
    unflushed: bool,
    /// Text written into the current zstd frame.
    frame_bytes: usize,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .field("events", &self.events)
            .finish()
    }
}

fn open_new(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

impl Recorder {
    /// Creates the file and writes the header. The redactor's specs go into
    /// the header.
    pub fn create(path: &Path, mut header: Header, redactor: Redactor) -> Result<Recorder, String> {
        let file = open_new(path).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                format!("{} already exists; flowscope never overwrites a recording, choose another name", path.display())
            }
            _ => format!("cannot create recording {}: {e}", path.display()),
        })?;
        let buffered = BufWriter::with_capacity(256 * 1024, file);
        let out = if is_compressed(path) {
            Out::Zstd(Some(
                zstd::stream::write::Encoder::new(buffered, ZSTD_LEVEL)
                    .map_err(|e| format!("cannot start compressing {}: {e}", path.display()))?,
            ))
        } else {
            Out::Plain(buffered)
        };
        header.redacted = redactor.specs().to_vec();
        let mut r = Recorder {
            path: path.to_path_buf(),
            out,
            redactor,
            last_flush: Instant::now(),
            events: 0,
            drops: Drops::default(),
            buf: Vec::with_capacity(1024),
            unflushed: false,
            frame_bytes: 0,
        };
        r.write_value(&header)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        r.flush()
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(r)
    }

    fn write_value<T: serde::Serialize>(&mut self, v: &T) -> io::Result<()> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v)?;
        self.buf.push(b'\n');
        self.unflushed = true;
        self.out.writer()?.write_all(&self.buf)?;
        self.frame_bytes += self.buf.len();
        if self.frame_bytes >= MAX_FRAME_BYTES && matches!(self.out, Out::Zstd(_)) {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes one event (redacted as configured).
    pub fn event(&mut self, env: &Envelope) -> io::Result<()> {
        let env = self.redactor.apply(env);
        self.write_value(&event_line(&env))?;
        self.events += 1;
        Ok(())
    }

    /// Writes a connection change.
    pub fn link(&mut self, rec: &LinkRecord) -> io::Result<()> {
        self.write_value(rec)
    }

    /// Writes drop totals when they changed.
    pub fn drops(&mut self, t: i64, drops: Drops) -> io::Result<()> {
        if drops == self.drops {
            return Ok(());
        }
        self.drops = drops;
        self.write_value(&Line {
            t,
            drops: Some(drops),
            ..Line::default()
        })
    }

    /// Writes a time in which the recorder was blind.
    pub fn blind(&mut self, t: i64, window: BlindWindow) -> io::Result<()> {
        self.write_value(&Line {
            t,
            blind: Some(window),
            ..Line::default()
        })
    }

    /// Writes a lag sample from the lag poller.
    pub fn lag(&mut self, t: i64, poll: &crate::analysis::lag::LagPoll) -> io::Result<()> {
        let sample = serde_json::to_value(poll).map_err(io::Error::other)?;
        self.write_value(&Line {
            t,
            lag: Some(sample),
            ..Line::default()
        })
    }

    /// Writes out what is buffered. A compressed recording ends its zstd
    /// frame here and starts a new one: everything flushed can be read after
    /// a crash, and a reader can start decoding at any flush.
    fn flush(&mut self) -> io::Result<()> {
        self.last_flush = Instant::now();
        if !std::mem::take(&mut self.unflushed) {
            return Ok(());
        }
        self.frame_bytes = 0;
        match &mut self.out {
            Out::Plain(w) => w.flush(),
            Out::Zstd(slot) => {
                let enc = slot.take().ok_or_else(broken)?;
                let mut inner = enc.finish()?;
                inner.flush()?;
                *slot = Some(zstd::stream::write::Encoder::new(inner, ZSTD_LEVEL)?);
                Ok(())
            }
        }
    }

    /// Flushes when the last flush is [`FLUSH_EVERY`] old.
    pub fn flush_if_due(&mut self) -> io::Result<()> {
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the end record, flushes and closes; returns the events written.
    pub fn finish(mut self, t: i64) -> io::Result<u64> {
        let events = self.events;
        self.write_value(&Line {
            t,
            end: Some(events),
            ..Line::default()
        })?;
        let file = match self.out {
            Out::Plain(w) => w.into_inner().map_err(|e| e.into_error())?,
            Out::Zstd(w) => w
                .ok_or_else(broken)?
                .finish()?
                .into_inner()
                .map_err(|e| e.into_error())?,
        };
        file.sync_all()?;
        Ok(events)
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
