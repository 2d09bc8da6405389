//! The workspace binaries an e2e test runs, found by [`vcs_test_support::workspace_bin`]:
//! next to the test executable's profile directory, or where an environment variable says.

use std::path::PathBuf;

use vcs_test_support::workspace_bin;

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
