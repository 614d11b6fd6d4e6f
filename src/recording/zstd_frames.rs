//! Reading zstd-compressed recordings a frame at a time: recordings end a
//! frame at every flush, so the decoder notes where each frame starts (in
//! the file and in the decompressed text) and a position can be reopened
//! from its frame instead of from the start.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

/// The first bytes of a zstd frame.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Frame starts seen by a [`Frames`] decoder, oldest first.
pub type FrameStarts = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u64, u64)>>>;
/// Frame starts remembered ahead of the reader's position.
const MAX_FRAME_STARTS: usize = 4096;

/// A buffered reader that counts the bytes consumed from it.
pub struct Consumed<R> {
    pub inner: R,
    pub consumed: u64,
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
pub struct Frames {
    dec: Option<FrameDecoder>,
    /// Decompressed bytes produced so far.
    out: u64,
    starts: FrameStarts,
}

impl Frames {
    pub fn new(
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
pub struct Counted {
    pub file: File,
    pub read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}
