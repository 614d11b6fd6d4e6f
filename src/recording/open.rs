//! Opening a recording: what kind of input it is (a flowscope recording,
//! plain or zstd; a `nats sub --dump` stream or directory), its header,
//! and continuing from a [`Position`] of an earlier reader.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::dump::{DUMP_STEP_NS, dump_files, looks_like_dump, mtime_ns};
use super::format::{FORMAT_VERSION, Header};
use super::reader::{Kind, Position, Reader};
use super::zstd_frames::{Consumed, Counted, FrameStarts, Frames, ZSTD_MAGIC};

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
        // What is it? Look at the start (a fresh reader of the same file,
        // read once for both the kind and the header).
        let first = Self::first_record(path, zstd)?;
        let (kind, separator) = Self::sniff(path, &first)?;
        let mut r = Reader::new(path, kind, src);
        r.frames = frames;
        r.file_read = file_read;
        r.file_len = file_len;
        r.separator = separator;
        r.clock = mtime_ns(path);
        if kind == Kind::Flowscope {
            r.header = Some(Self::read_header(path, &first)?);
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

    fn sniff(path: &Path, first: &[u8]) -> Result<(Kind, u8), String> {
        if first.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        let neither = || {
            format!(
                "{} is neither a flowscope recording (its first line is not a header) nor a `nats sub --dump` capture",
                path.display()
            )
        };
        if let Some(nul) = first.iter().position(|b| *b == 0) {
            // `nats sub --dump=-`: records end with NUL.
            return if looks_like_dump(&first[..nul]) {
                Ok((Kind::NatsDump, 0))
            } else {
                Err(neither())
            };
        }
        match serde_json::from_slice::<serde_json::Value>(first.trim_ascii()) {
            Ok(v) if v.get("flowscope_recording").is_some() => Ok((Kind::Flowscope, b'\n')),
            _ if looks_like_dump(first) => Ok((Kind::NatsDump, b'\n')),
            _ => Err(neither()),
        }
    }

    fn read_header(path: &Path, first: &[u8]) -> Result<Header, String> {
        let v: serde_json::Value = serde_json::from_slice(first)
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
}
