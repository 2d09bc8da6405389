//! Hot reload's trigger: a fingerprint of the composition's files (paths, sizes, modification
//! times), compared a few times a second. Polling a small folder costs microseconds and needs no
//! file-system notification API, which differs across platforms and misses editors that replace
//! files by renaming.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the files under some roots look like now; two equal fingerprints mean nothing changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

/// How deep folders are followed: a composition is a few levels at most.
const MAX_DEPTH: usize = 6;

impl Fingerprint {
    pub fn of(roots: &[PathBuf]) -> Fingerprint {
        let mut entries = Vec::new();
        for root in roots {
            walk(root, 0, &mut entries);
        }
        entries.sort();
        Fingerprint(entries)
    }
}

fn walk(path: &Path, depth: usize, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_dir() {
        if depth >= MAX_DEPTH {
            return;
        }
        let Ok(dir) = std::fs::read_dir(path) else {
            return;
        };
        for entry in dir.flatten() {
            walk(&entry.path(), depth + 1, out);
        }
    } else {
        out.push((path.to_path_buf(), meta.len(), meta.modified().ok()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_changes_the_fingerprint() {
        let dir = std::env::temp_dir().join(format!("vcs-watch-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("components")).unwrap();
        std::fs::write(dir.join("index.jsx"), "a").unwrap();
        let roots = vec![dir.clone()];
        let before = Fingerprint::of(&roots);
        assert_eq!(before, Fingerprint::of(&roots));
        std::fs::write(dir.join("components/Title.jsx"), "b").unwrap();
        assert_ne!(before, Fingerprint::of(&roots));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
