//! What the process benches share.

use std::path::PathBuf;

/// The `vcs-recorder` binary built beside the bench executable (release, else the profile the
/// bench itself was built with).
pub fn recorder() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap();
    for dir in [target.join("release"), target.to_path_buf()] {
        let p = dir.join("vcs-recorder");
        if p.is_file() {
            return p;
        }
    }
    panic!("vcs-recorder is not built under {}", target.display());
}
