//! Appending a request body to a file with few copies and an early start
//! on the disk: aligned batches around the page cache (`O_DIRECT`), written
//! on the blocking pool while the next bytes arrive.

use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinHandle;

use crate::fsync::start_writeback;

/// Bytes gathered before they are written in one go on the blocking pool.
const BATCH: usize = 1024 * 1024;

/// A second handle on a file that bypasses the page cache, or `None`
/// where the filesystem refuses `O_DIRECT` (tmpfs on older kernels, some
/// network filesystems): then every byte goes through the page cache.
pub(crate) fn open_direct(path: &Path) -> Option<std::fs::File> {
    #[cfg(target_os = "linux")]
    {
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
            .ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// The two handles of one file.
struct Handles {
    /// Through the page cache: the unaligned ends, truncation, fsync.
    file: std::fs::File,
    /// Around the page cache (`O_DIRECT`), for the aligned middle of a batch.
    direct: Option<std::fs::File>,
}

/// Block size `O_DIRECT` needs for buffer address, file offset and length;
/// 4 KiB suits every logical block size in use (512 B and 4 KiB).
const ALIGN: usize = 4096;

/// Bytes gathered for one write, laid out so that a byte's place in memory
/// has the same alignment as its place in the file: whole blocks can then go
/// to the disk straight from this buffer.
struct Batch {
    /// Room for a batch plus `ALIGN` bytes of slack to align `start`.
    buf: Vec<u8>,
    /// The memory-aligned index of `buf` that stands for file offset `base`.
    start: usize,
    /// The block-aligned file offset of `buf[start]`.
    base: u64,
    /// The bytes held are `buf[start + skip .. start + skip + len]`, for the
    /// file from `base + skip`.
    skip: usize,
    len: usize,
}

impl Batch {
    fn starting_at(offset: u64) -> Self {
        let mut batch = Self {
            buf: vec![0; BATCH + 2 * ALIGN],
            start: 0,
            base: 0,
            skip: 0,
            len: 0,
        };
        batch.reset(offset);
        batch
    }

    /// Empties the batch so that it next holds the bytes from `offset`.
    fn reset(&mut self, offset: u64) {
        self.start = self.buf.as_ptr().align_offset(ALIGN).min(ALIGN);
        self.skip = (offset % ALIGN as u64) as usize;
        self.base = offset - self.skip as u64;
        self.len = 0;
    }

    /// The file offset just past the bytes held.
    fn end(&self) -> u64 {
        self.base + (self.skip + self.len) as u64
    }

    fn is_full(&self) -> bool {
        self.skip + self.len >= BATCH
    }

    /// Copies in as much of `bytes` as fits; returns how much that was.
    fn fill(&mut self, bytes: &[u8]) -> usize {
        let used = self.skip + self.len;
        let n = (BATCH + ALIGN - used).min(bytes.len());
        let at = self.start + used;
        self.buf[at..at + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    /// Moves the partial last block, if any, to `next` (emptied first), so
    /// that this batch ends on a block boundary.
    fn move_tail_to(&mut self, next: &mut Batch) {
        let used = self.skip + self.len;
        let tail = (used % ALIGN).min(self.len);
        next.reset(self.end() - tail as u64);
        next.fill(self.slice(used - tail, used));
        self.len -= tail;
    }

    /// Writes the bytes held. With a direct handle, the whole blocks go
    /// around the page cache and a partial first or last block through it;
    /// without one, everything goes through it, followed by a writeback hint.
    fn write(&self, files: &Handles) -> std::io::Result<()> {
        let (mut from, to) = (self.skip, self.skip + self.len);
        let at = |i: usize| self.base + i as u64;
        if let Some(direct) = &files.direct {
            let first_whole = from.next_multiple_of(ALIGN).min(to);
            if first_whole > from {
                files
                    .file
                    .write_all_at(self.slice(from, first_whole), at(from))?;
                from = first_whole;
            }
            let blocks_end = to - to % ALIGN;
            if blocks_end > from {
                match direct.write_all_at(self.slice(from, blocks_end), at(from)) {
                    Ok(()) => from = blocks_end,
                    // Opened, yet refused: the page cache path below takes it.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if to > from {
            files.file.write_all_at(self.slice(from, to), at(from))?;
            start_writeback(&files.file, at(from), (to - from) as u64);
        }
        Ok(())
    }

    fn slice(&self, from: usize, to: usize) -> &[u8] {
        &self.buf[self.start + from..self.start + to]
    }
}

/// Appends bytes arriving in a request body to a file (an upload's part
/// file) from async code. Bytes are gathered into batches of about 1 MiB;
/// each batch is written on the blocking pool while the next one is
/// received and hashed. Whole aligned
/// blocks go around the page cache (`O_DIRECT`): on a large upload, copying
/// into the page cache and writing it back was a third of the station's CPU,
/// and the fsync at the end of a request then finds nearly nothing to do.
/// Where direct I/O is refused, batches go through the page cache with a
/// writeback hint. One batch is in flight at a time, and every method that
/// ends a request's writing ([`Appender::sync`], [`Appender::cut`])
/// waits for it: no write outlives the upload's lock.
pub struct Appender {
    files: Arc<Handles>,
    batch: Batch,
    /// The batch being written; it comes back to be filled again.
    in_flight: Option<JoinHandle<(Batch, std::io::Result<()>)>>,
    /// A batch buffer ready for reuse.
    spare: Option<Batch>,
}

impl Appender {
    /// Appends to `file` from `offset`, through `direct` (the same file
    /// opened with [`open_direct`]) where there is one.
    pub fn new(file: std::fs::File, direct: Option<std::fs::File>, offset: u64) -> Self {
        Self {
            files: Arc::new(Handles { file, direct }),
            batch: Batch::starting_at(offset),
            in_flight: None,
            spare: None,
        }
    }

    /// Sends every byte through the page cache (tests of both paths).
    #[cfg(test)]
    pub fn without_direct_io(&mut self) {
        if let Some(files) = Arc::get_mut(&mut self.files) {
            files.direct = None;
        }
    }

    /// Accepts the next bytes. A failed earlier batch surfaces here or in
    /// [`Appender::sync`].
    pub async fn write(&mut self, bytes: Bytes) -> std::io::Result<()> {
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n = self.batch.fill(rest);
            rest = &rest[n..];
            if self.batch.is_full() {
                self.submit(true).await?;
            }
        }
        Ok(())
    }

    /// Waits for the batch in flight and keeps its buffer for reuse.
    async fn wait(&mut self) -> std::io::Result<()> {
        let Some(task) = self.in_flight.take() else {
            return Ok(());
        };
        let (batch, written) = task.await.map_err(std::io::Error::other)?;
        self.spare = Some(batch);
        written
    }

    /// Hands the gathered bytes to the blocking pool and starts the next
    /// batch. Mid-request (`keep_tail`) a partial last block is carried into
    /// the next batch rather than written, so that only a request's two ends
    /// go through the page cache.
    async fn submit(&mut self, keep_tail: bool) -> std::io::Result<()> {
        self.wait().await?;
        if self.batch.len == 0 {
            return Ok(());
        }
        let end = self.batch.end();
        let mut next = self.spare.take().unwrap_or_else(|| Batch::starting_at(end));
        if keep_tail && self.files.direct.is_some() {
            self.batch.move_tail_to(&mut next);
        } else {
            next.reset(end);
        }
        let batch = std::mem::replace(&mut self.batch, next);
        let files = Arc::clone(&self.files);
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let written = batch.write(&files);
            (batch, written)
        }));
        Ok(())
    }

    /// Writes what is gathered and fsyncs the file's data: every byte accepted
    /// so far is durable when this returns.
    pub async fn sync(&mut self) -> std::io::Result<()> {
        self.submit(false).await?;
        self.wait().await?;
        let files = Arc::clone(&self.files);
        tokio::task::spawn_blocking(move || files.file.sync_data())
            .await
            .map_err(std::io::Error::other)?
    }

    /// Drops what is gathered, waits for the batch in flight (its error no
    /// longer matters), and cuts the file to `len` bytes.
    pub async fn cut(&mut self, len: u64) -> std::io::Result<()> {
        let _ = self.wait().await;
        self.batch.reset(len);
        let files = Arc::clone(&self.files);
        tokio::task::spawn_blocking(move || files.file.set_len(len))
            .await
            .map_err(std::io::Error::other)?
    }
}
