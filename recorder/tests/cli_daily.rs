//! Daily's own compositions (`shared/daily-vcs`, used from there, never copied) through the
//! `vcs-recorder` binary as a user runs it: `scene --format daily`, `still` and `render`, with no
//! error and no warning. Skipped, saying so, when the folder is not there; `VCS_DAILY_VCS` points
//! at it explicitly. The engine-level suite (recorder/engine/tests/engine_daily_compositions.rs)
//! checks what the scenes hold; this one checks the commands users run.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vcs_test_support::{TempDir, duration_secs};

/// `$VCS_DAILY_VCS`, else the first `shared/daily-vcs` beside an ancestor of this crate.
fn daily_vcs() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VCS_DAILY_VCS") {
        return Some(PathBuf::from(p));
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/daily-vcs"))
        .find(|p| p.join("compositions/daily-baseline/index.jsx").is_file())
}

/// Runs the recorder; panics with its output unless it succeeded without a warning.
fn recorder(what: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{what}: {args:?} failed:\n{stderr}");
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "{what}: {args:?} warned:\n{stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const COMPOSITIONS: [&str; 4] = [
    "compositions/daily-baseline",
    "js/example/hello.jsx",
    "js/example/graphics-test.jsx",
    "js/example/stretchbox.jsx",
];

#[test]
fn daily_compositions_through_scene_still_and_render() {
    let Some(root) = daily_vcs() else {
        eprintln!(
            "skipped: shared/daily-vcs (Daily's compositions) is not there; set VCS_DAILY_VCS"
        );
        return;
    };
    let tmp = TempDir::new("cli-daily");
    for rel in COMPOSITIONS {
        let comp = root.join(rel);
        let comp = comp.to_str().unwrap();
        let name = rel.rsplit('/').next().unwrap();
        let dir = tmp.path().join(name);
        let dir_s = dir.to_str().unwrap();
        recorder(
            name,
            &[
                "scene",
                "--composition",
                comp,
                "--format",
                "daily",
                "--frames",
                "0,30",
                "--out-dir",
                dir_s,
            ],
        );
        for f in [0, 30] {
            for doc in ["videolayers.json", "fgdisplaylist.canvex.json"] {
                let path = dir.join(format!("vcs-output_{f}_{doc}"));
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{name}: {} not written: {e}", path.display()));
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|e| panic!("{name}: {} is not JSON: {e}", path.display()));
            }
        }
        let png = tmp.path().join(format!("{name}.png"));
        recorder(
            name,
            &[
                "still",
                "--composition",
                comp,
                "--time",
                "1",
                "-o",
                png.to_str().unwrap(),
            ],
        );
        assert!(
            png.metadata().unwrap().len() > 1000,
            "{name}: still wrote an empty PNG"
        );
    }
    // Every baseline mode renders to a video of the asked length.
    for mode in ["grid", "split", "single", "pip", "dominant"] {
        let mp4 = tmp.path().join(format!("baseline-{mode}.mp4"));
        let comp = root.join(COMPOSITIONS[0]);
        recorder(
            mode,
            &[
                "render",
                "--composition",
                comp.to_str().unwrap(),
                "--participant",
                "alice=test:red",
                "--participant",
                "bob=test:blue",
                "--param",
                &format!("mode={mode}"),
                "--duration",
                "1",
                "--size",
                "640x360",
                "-o",
                mp4.to_str().unwrap(),
            ],
        );
        let secs = duration_secs(&mp4);
        assert!(
            (secs - 1.0).abs() < 0.1,
            "baseline {mode}: {secs} s, want 1 s"
        );
    }
}
