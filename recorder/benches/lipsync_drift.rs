//! Lip sync over a long live RTMP input whose clock is 0.1% off the recorder's (issue 21's
//! bench): the marker source (flash + beep every 2 s) is published to nginx-rtmp by
//! `ffmpeg -readrate 1.001 -c copy` (0.1% fast; `VCS_BENCH_DRIFT_RATE` changes it, e.g. 0.999),
//! recorded by `vcs-recorder render` for `VCS_BENCH_DRIFT_SECS` (1200: 20 minutes), and the
//! beep − flash offset printed per minute of the recording (positive: audio late), with the
//! worst. A growing offset or one past a frame (33 ms) is the failure it looks for.
//!
//! `cargo bench -p vcs-recorder --bench lipsync_drift`.
#![expect(
    clippy::unwrap_used,
    reason = "bench code: an unwrap that fails is a failed run at that line"
)]

use std::process::Command;
use std::time::Duration;

use vcs_test_support::lipsync::{
    MARKER_FPS, MARKER_H, MARKER_W, marker_offsets, write_marker_source,
};
use vcs_test_support::{Proc, RtmpServer, TempDir, wait_for};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let secs: u32 = env_or("VCS_BENCH_DRIFT_SECS", 1200);
    let rate: f64 = env_or("VCS_BENCH_DRIFT_RATE", 1.001);
    let tmp = TempDir::new("lipsync-drift");
    let source = tmp.path().join("marker.mp4");
    // Longer than the recording at the faster rate, plus the time to connect.
    write_marker_source(&source, secs + secs / 100 + 30);
    let nginx = RtmpServer::start(&tmp.path().join("nginx"));
    let url = nginx.url("drift");
    let mut publish = Command::new("ffmpeg");
    publish
        .args(["-v", "error", "-readrate", &rate.to_string(), "-i"])
        .arg(&source)
        .args(["-c", "copy", "-f", "flv", &url]);
    let _publisher = Proc::spawn("ffmpeg rtmp publisher", &mut publish);
    wait_for("the publish to start", Duration::from_secs(20), || {
        (!nginx.recordings().is_empty()).then_some(())
    });
    let composition =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fullframe.jsx");
    let job = tmp.path().join("job.yaml");
    std::fs::write(
        &job,
        format!(
            "composition: {{name: '{}'}}\n\
             participants:\n  - {{id: src, camera: '{url}', audio: '{url}'}}\n\
             video: {{width: {MARKER_W}, height: {MARKER_H}, fps: {MARKER_FPS}}}\n\
             durationSecs: {secs}\n",
            composition.display(),
        ),
    )
    .unwrap();
    let out = tmp.path().join("out.mp4");
    eprintln!("recording {secs} s of an RTMP input running at {rate}× the recorder's clock");
    let run = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .arg(&job)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let offsets = marker_offsets(&out, MARKER_FPS);
    assert!(!offsets.is_empty(), "no markers in the recording");
    println!(
        "lip sync, source clock {rate}× ({} markers):",
        offsets.len()
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10}",
        "minute", "min ms", "max ms", "mean ms"
    );
    let minutes = (f64::from(secs) / 60.0).ceil() as usize;
    for m in 0..minutes.max(1) {
        let in_minute: Vec<f64> = offsets
            .iter()
            .filter(|o| (o.at_secs / 60.0) as usize == m)
            .map(|o| o.offset_ms)
            .collect();
        if in_minute.is_empty() {
            continue;
        }
        let min = in_minute.iter().copied().fold(f64::INFINITY, f64::min);
        let max = in_minute.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = in_minute.iter().sum::<f64>() / in_minute.len() as f64;
        println!("{m:>8} {min:>+10.1} {max:>+10.1} {mean:>+10.1}");
    }
    let worst = offsets
        .iter()
        .map(|o| o.offset_ms.abs())
        .fold(0.0, f64::max);
    let (first, last) = (offsets[0], offsets[offsets.len() - 1]);
    println!(
        "offset at start {:+.1} ms, at end {:+.1} ms, worst |offset| {worst:.1} ms (one frame: {:.1} ms)",
        first.offset_ms,
        last.offset_ms,
        1000.0 / f64::from(MARKER_FPS)
    );
}
