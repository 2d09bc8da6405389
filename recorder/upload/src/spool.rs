//! The local spool: a private copy of every whole object until S3 has it.
//!
//! The recorder may delete or rewrite its files right after handing them over (HLS sinks drop
//! old segments; the playlist is rewritten in place), so a put snapshots the file into the
//! spool folder first. The copy is deleted only once S3 confirmed the object, or when a newer
//! version of the same key supersedes it; during an outage the spool simply grows on disk.
//! Growing files (the MP4) are not copied: they are read from the recorder's own file, which
//! stays in place until the recording ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::warn;

use crate::error::UploadError;

/// A folder of snapshot files with unique names.
pub(crate) struct Spool {
    dir: PathBuf,
    next: AtomicU64,
}

impl Spool {
    /// Creates the folder if needed.
    pub(crate) fn open(dir: &Path) -> Result<Self, UploadError> {
        std::fs::create_dir_all(dir).map_err(|source| UploadError::Spool {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            next: AtomicU64::new(0),
        })
    }

    fn fresh_path(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // The pid keeps two uploaders sharing one folder from overwriting each other's copies.
        self.dir
            .join(format!("{}-{n:08}.spool", std::process::id()))
    }

    /// Copies `source` into the spool and returns the copy's path.
    pub(crate) fn copy_in(&self, source: &Path) -> Result<PathBuf, UploadError> {
        let path = self.fresh_path();
        std::fs::copy(source, &path).map_err(|err| UploadError::Spool {
            path: source.to_path_buf(),
            source: err,
        })?;
        Ok(path)
    }

    /// Deletes a snapshot that is no longer needed. Failing to delete only wastes disk.
    pub(crate) fn remove(path: &Path) {
        if let Err(cause) = std::fs::remove_file(path) {
            warn!(path = %path.display(), %cause, "could not delete spooled copy");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_independent_of_the_source_and_have_unique_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(&dir.path().join("spool")).expect("open");
        let source = dir.path().join("playlist.m3u8");
        std::fs::write(&source, b"v1").expect("write");
        let first = spool.copy_in(&source).expect("copy");
        std::fs::write(&source, b"v2").expect("write");
        let second = spool.copy_in(&source).expect("copy");
        assert_ne!(first, second);
        assert_eq!(std::fs::read(&first).expect("read"), b"v1");
        Spool::remove(&first);
        assert!(!first.exists());
        assert_eq!(std::fs::read(&second).expect("read"), b"v2");
    }
}
