//! A working podman (or why there is none), and the images built once per test process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::workspace_root;

/// The images `scripts/build-images prebuilt` tags.
pub const RECORDER_IMAGE: &str = "localhost/vcs-recorder:prebuilt";
pub const OPERATOR_IMAGE: &str = "localhost/vcs-operator:prebuilt";

/// `podman` with the repository's settings (images/containers.conf: runc, inherited ulimits).
pub fn podman() -> Command {
    let mut c = Command::new("podman");
    c.env(
        "CONTAINERS_CONF",
        workspace_root().join("images/containers.conf"),
    );
    c
}

/// Why podman cannot run containers here, or `None` when it can.
fn unavailable() -> Option<String> {
    match podman()
        .args(["info", "--format", "{{.Host.OCIRuntime.Name}}"])
        .output()
    {
        Err(e) => Some(format!(
            "podman cannot be started ({e}); scripts/install-deps installs it"
        )),
        Ok(out) if !out.status.success() => Some(format!(
            "`podman info` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// The folder of workspace binary `name` (`env` overrides its path).
fn binary(name: &str, env: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    // The test executable lives in `<target>/<profile>/deps/`.
    let exe = std::env::current_exe().expect("the test executable's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable is in <target>/<profile>/deps")
        .join(name);
    assert!(
        path.is_file(),
        "{name} not found at {}: build it first (cargo build --workspace --bins) or set {env}",
        path.display()
    );
    path
}

/// Builds both images from the workspace binaries once per test process; `None` (after saying
/// on stderr that `test` is skipped and why) when podman cannot run here. A failed build fails
/// every test that needs the images, with the script's output.
pub fn images(test: &str) -> Option<()> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Some(why) = unavailable() {
        // Straight to stderr rather than eprintln!, which the harness captures for passing
        // tests: the skip must show in a plain `cargo test` run.
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: image test `{test}` needs podman: {why}"
        );
        return None;
    }
    let built = BUILT.get_or_init(|| {
        // build-images takes a folder; both binaries are copied from it.
        let recorder = binary("vcs-recorder", "VCS_RECORDER_BIN");
        let operator = binary("vcs-operator", "VCS_OPERATOR_BIN");
        let dir = std::env::temp_dir().join(format!("vcs-image-bins-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (from, name) in [(&recorder, "vcs-recorder"), (&operator, "vcs-operator")] {
            let to = dir.join(name);
            // A hard link when on the same file system: the debug binaries are large.
            let _ = std::fs::remove_file(&to);
            std::fs::hard_link(from, &to)
                .or_else(|_| std::fs::copy(from, &to).map(|_| ()))
                .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))?;
        }
        let out = Command::new(workspace_root().join("scripts/build-images"))
            .arg("prebuilt")
            .arg(&dir)
            .output()
            .map_err(|e| format!("scripts/build-images: {e}"))?;
        let _ = std::fs::remove_dir_all(&dir);
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{log}");
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("scripts/build-images prebuilt failed:\n{log}"))
        }
    });
    match built {
        Ok(()) => Some(()),
        Err(e) => panic!("{e}"),
    }
}
