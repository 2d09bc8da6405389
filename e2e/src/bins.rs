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
