//! Containers run the way a `restricted` pod runs them, and removed when dropped.

use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::podman::podman;

/// What a locked-down pod allows: a read-only root file system with only `/tmp` writable (the
/// pod's emptyDir), a non-root uid, no capabilities, no privilege escalation.
pub const LOCKED_DOWN: &[&str] = &[
    "--read-only",
    "--read-only-tmpfs=false",
    "--tmpfs=/tmp:rw,mode=1777",
    "--user=65532:65532",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
];

/// Runs `image` with `options` and `args` in the foreground (`podman run --rm`).
pub fn run(image: &str, options: &[&str], args: &[&str]) -> Output {
    podman()
        .args(["run", "--rm"])
        .args(options)
        .arg(image)
        .args(args)
        .output()
        .expect("podman runs")
}

/// A container started in the background; removed (killed if need be) when dropped.
pub struct Container {
    pub name: String,
}

impl Container {
    /// Starts `image` detached with `options` and `args`.
    pub fn start(image: &str, options: &[&str], args: &[&str]) -> Container {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "vcs-image-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let out = podman()
            .args(["run", "--detach", "--name", &name])
            .args(options)
            .arg(image)
            .args(args)
            .output()
            .expect("podman runs");
        assert!(
            out.status.success(),
            "podman run {image} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Container { name }
    }

    /// Whether the container is still running.
    pub fn running(&self) -> bool {
        self.inspect("{{.State.Running}}") == "true"
    }

    /// Sends SIGTERM, waits up to `grace_secs` for the exit (then SIGKILL), and returns the
    /// exit code.
    pub fn stop(&self, grace_secs: u32) -> i32 {
        let out = podman()
            .args(["stop", "--time", &grace_secs.to_string(), &self.name])
            .output()
            .expect("podman runs");
        assert!(
            out.status.success(),
            "podman stop {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        self.inspect("{{.State.ExitCode}}")
            .parse()
            .expect("an exit code")
    }

    /// The container's stdout and stderr so far.
    pub fn logs(&self) -> String {
        let out = podman()
            .args(["logs", &self.name])
            .output()
            .expect("podman runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn inspect(&self, format: &str) -> String {
        let out = podman()
            .args(["inspect", "--format", format, &self.name])
            .output()
            .expect("podman runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "--force", &self.name]).output();
    }
}
