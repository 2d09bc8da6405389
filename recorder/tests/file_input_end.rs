//! A `file://` participant whose file ends before the recording does shows as paused (the
//! composition's placeholder), not frozen on its last frame (issue 17, lesser items).

use std::process::Command;

use vcs_test_support::{TempDir, decode_frame_rgb, median_rgb};

const W: u32 = 320;
const H: u32 = 180;

#[test]
fn a_file_that_ends_early_shows_as_paused_after_its_last_frame() {
    let dir = TempDir::new("file-end");
    let source = dir.path().join("red.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=320x180:r=30:d=1",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&source)
        .output()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = dir.path().join("out.mp4");
    let run = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .args([
            "render",
            "--composition",
            "demo",
            "--duration",
            "2.5",
            "--fps",
            "30",
        ])
        .args(["--size", &format!("{W}x{H}")])
        .arg("--participant")
        .arg(format!("ann=file://{}", source.display()))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("vcs-recorder runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let centre = (W / 2 - 20, H / 2 - 10, 40, 20);
    let during = median_rgb(&decode_frame_rgb(&out, 0.5, W, H), W, centre);
    assert!(
        during[0] > 200 && during[1] < 60 && during[2] < 60,
        "the file's red picture shows while it plays: {during:?}"
    );
    let after = median_rgb(&decode_frame_rgb(&out, 2.0, W, H), W, centre);
    assert!(
        !(after[0] > 150 && after[1] < 80 && after[2] < 80),
        "after the file's end the tile is paused, not frozen on its last (red) frame: {after:?}"
    );
}
