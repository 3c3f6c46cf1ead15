//! Server-made thumbnails of stored photos, cached in `DATA_DIR/thumbs/`.
//!
//! Supervisors' inbox lists show many photos at once; a 320 px JPEG is a few
//! dozen KB instead of a few MB. Thumbnails are derived data: written via a
//! temp file and rename so a reader never sees half a file, but not fsynced
//! (a lost one is simply made again).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::codecs::jpeg::JpegEncoder;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use crate::blob::{BlobError, BlobStore, check_key};

/// Longest edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 320;

/// JPEG quality of thumbnails.
const THUMB_QUALITY: u8 = 80;

/// Largest photo dimension the decoder accepts (guards against decompression bombs).
const MAX_DIMENSION: u32 = 16_384;

/// Thumbnails made at once; decoding a 12 MP JPEG takes a core for a while.
const CONCURRENT_DECODES: usize = 2;

/// Why a thumbnail could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The photo's bytes are not an image the decoder accepts.
    #[error("the photo cannot be decoded: {0}")]
    Undecodable(String),
    /// Reading the blob failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Reading or writing the cache failed.
    #[error("thumbnail cache I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The thumbnail cache.
pub struct Thumbnails {
    dir: PathBuf,
    blobs: Arc<dyn BlobStore>,
    decoding: Semaphore,
}

/// Decodes a photo and encodes its thumbnail as JPEG.
fn make(bytes: &[u8]) -> Result<Vec<u8>, ThumbError> {
    let undecodable = |e: image::ImageError| ThumbError::Undecodable(e.to_string());
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(ThumbError::Io)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    reader.limits(limits);
    let image = reader.decode().map_err(undecodable)?;
    let thumb = image.thumbnail(THUMB_EDGE, THUMB_EDGE).to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY)
        .encode_image(&thumb)
        .map_err(undecodable)?;
    Ok(out)
}

impl Thumbnails {
    /// Uses (creating) `dir` as the cache of thumbnails of `blobs`.
    pub fn open(dir: &Path, blobs: Arc<dyn BlobStore>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            blobs,
            decoding: Semaphore::new(CONCURRENT_DECODES),
        })
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{THUMB_EDGE}.jpg"))
    }

    /// The JPEG thumbnail of a stored photo; `None` when the blob is absent.
    pub async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, ThumbError> {
        check_key(sha256)?;
        let path = self.path_of(sha256);
        match tokio::fs::read(&path).await {
            Ok(bytes) => return Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let _permit = self
            .decoding
            .acquire()
            .await
            .map_err(|e| ThumbError::Io(std::io::Error::other(e)))?;
        let Some(mut blob) = self.blobs.open(sha256).await? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(blob.len).unwrap_or(0));
        blob.reader.read_to_end(&mut bytes).await?;
        let thumb = tokio::task::spawn_blocking(move || make(&bytes))
            .await
            .map_err(|e| ThumbError::Io(std::io::Error::other(e)))??;
        let temp = self
            .dir
            .join(format!(".{sha256}-{}.tmp", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&temp, &thumb).await?;
        if let Err(e) = tokio::fs::rename(&temp, &path).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e.into());
        }
        Ok(Some(thumb))
    }
}
