//! The container image test tier (issue 15): the `vcs-recorder` and `vcs-operator` images,
//! built with podman from the binaries `cargo build` already made (`scripts/build-images
//! prebuilt`: the runtime stages of the `Containerfile` only; the full multi-stage build is
//! `make images`), and run the way a locked-down pod runs them.
//!
//! The tests need podman (and mmdebstrap for the local base the first time), which
//! `scripts/install-deps` installs. Without a working podman they print `skipped: …` and why,
//! and pass. The binaries come from the test executable's profile folder (`target/debug` under
//! `cargo test --workspace`), or `VCS_RECORDER_BIN`/`VCS_OPERATOR_BIN`.
//!
//! # Layout
//! - [`podman`]: finding a working podman, building the images once per test run.
//! - [`container`]: running a container, and removing it whatever happens.

pub mod container;
pub mod podman;

use std::path::PathBuf;

/// The workspace root (for `scripts/`, `images/` and the demo job).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("images/ is inside the workspace")
        .to_path_buf()
}

/// A loopback TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
