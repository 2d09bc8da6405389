//! The workspace binaries an e2e test runs: next to the test executable's profile directory
//! (`target/debug` for `cargo test`, `target/release` for `cargo bench`), or where an
//! environment variable says.

use std::path::PathBuf;

/// The path of workspace binary `name`; `env` overrides it. Panics with how to build it.
pub fn workspace_bin(name: &str, env: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    // The test or bench executable lives in `<target>/<profile>/deps/`.
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable is in <target>/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{name} not found at {}: build it first (cargo build --workspace --bins, with --release \
         for benches) or set {env} to its path",
        path.display()
    );
    path
}

/// `vcs-operator`.
pub fn operator() -> PathBuf {
    workspace_bin("vcs-operator", "VCS_OPERATOR_BIN")
}

/// `vcs-recorder`.
pub fn recorder() -> PathBuf {
    workspace_bin("vcs-recorder", "VCS_RECORDER_BIN")
}

/// The workspace root (for `crds/` and the fixtures).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ is inside the workspace")
        .to_path_buf()
}

/// A tool on PATH, or in `~/.local/bin` where `scripts/install-deps` puts helm. Panics with how
/// to get it: the flows use them as users do.
pub fn tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".local/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found on PATH or in ~/.local/bin: scripts/install-deps installs helm; \
                 `make e2e` puts the control plane's kubectl on PATH"
            )
        })
}

/// `helm` (3.x).
pub fn helm() -> PathBuf {
    tool("helm")
}

/// `kubectl`.
pub fn kubectl() -> PathBuf {
    tool("kubectl")
}
