//! `render --events FILE`: what was tried in `preview` (or written by hand) renders to MP4 — the
//! events file's params and standard-source messages are applied at their frames, and a file
//! with a param the composition cannot take fails before anything is recorded.

use std::path::Path;
use std::process::{Command, Output};

use vcs_test_support::{TempDir, decode_frame_rgb, median_rgb};

const W: u32 = 320;
const H: u32 = 180;

fn render(dir: &Path, events: &str) -> (Output, std::path::PathBuf) {
    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live.jsx");
    let events_file = dir.join("events.json");
    std::fs::write(&events_file, events).expect("write the events file");
    let out = dir.join("out.mp4");
    let run = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .arg("--composition")
        .arg(&composition)
        .args([
            "--size",
            &format!("{W}x{H}"),
            "--fps",
            "10",
            "--duration",
            "3",
        ])
        .arg("--events")
        .arg(&events_file)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("vcs-recorder runs");
    (run, out)
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (x as i32 - y as i32).abs() <= 24)
}

#[test]
fn params_and_messages_apply_at_their_frames() {
    let dir = TempDir::new("render-events");
    let (run, out) = render(
        dir.path(),
        r##"{
          "fps": 10,
          "initialState": {"params": {"bg": "#000080"}},
          "eventsByFrame": {
            "10": {"params": {"bg": "#008000"}},
            "20": {"standardSourceMessage": {"sourceId": "chatMessages",
                   "data": {"key": 1, "senderDisplayName": "Ann", "text": "#ff0000"}}}
          }
        }"##,
    );
    assert!(
        run.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let background = (10, 10, 40, 20);
    let chat_box = (262, 144, 40, 25);
    let at = |t: f64| decode_frame_rgb(&out, t, W, H);
    let (start, middle, end) = (at(0.5), at(1.5), at(2.5));
    assert!(
        close(median_rgb(&start, W, background), [0, 0, 128]),
        "{:?}",
        median_rgb(&start, W, background)
    );
    assert!(
        close(median_rgb(&middle, W, background), [0, 128, 0]),
        "{:?}",
        median_rgb(&middle, W, background)
    );
    assert!(
        close(median_rgb(&middle, W, chat_box), [0, 128, 0]),
        "no chat box yet"
    );
    assert!(
        close(median_rgb(&end, W, chat_box), [255, 0, 0]),
        "{:?}",
        median_rgb(&end, W, chat_box)
    );
}

#[test]
fn a_param_the_composition_cannot_take_fails_naming_file_frame_and_param() {
    let dir = TempDir::new("render-events-bad");
    let (run, out) = render(
        dir.path(),
        r##"{"eventsByFrame": {"7": {"params": {"bgg": "#008000"}}}}"##,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("events.json") && stderr.contains("eventsByFrame.7.params.bgg"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is recorded");
}
