//! Small filesystem helpers for crash-safe writes.

use std::fs::File;
use std::path::Path;

/// Fsyncs a directory so that a rename or a new file inside it survives a power
/// cut; without it the file's data may be on disk but its name not.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
