//! A small real file system that can be filled to the last byte: a tmpfs
//! mounted for the test. Mounting needs root (CI runs tests as root); when it
//! is not allowed the test fails and says why, it never passes silently.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A mounted tmpfs, unmounted when dropped.
pub struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` on a fresh temp dir.
    pub fn mount(bytes: u64) -> Self {
        let dir = tempfile::tempdir().expect("mount point");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount(8) for the full-disk test: {e}"));
        assert!(
            out.status.success(),
            "the full-disk test needs a real small file system: `mount -t tmpfs` failed \
             (run the tests as root, as `cargo xtask test` does in CI): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Self { dir }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the file system is full; returns it (remove
    /// it to free the space again).
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0xA5u8; 4096];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        let _ = file.sync_all();
        path
    }

    /// Every file under the mount but the filler and the blob store's spare
    /// files while they are still empty (a spare holding bytes is a leftover).
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), &mut out);
        out.retain(|p| p.file_name().is_none_or(|n| n != "filler"));
        out.retain(|p| {
            let spare = p.components().any(|c| c.as_os_str() == ".spares");
            !(spare && std::fs::metadata(p).is_ok_and(|m| m.len() == 0))
        });
        out
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
