//! Lip sync on live inputs: a marker source (white flash + 1 kHz beep at the same instant every
//! 2 s) published live to each scheme's real server — nginx-rtmp, gst-rtsp-server, an SRT
//! listener — and a `file://` input paced in real time, recorded by `vcs-recorder render` for
//! about 16 s; the beep−flash offset measured in the decoded recording must stay within one
//! frame (33 ms at 30 fps) at the first and the last marker, and at every one in between.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vcs_test_support::lipsync::{
    MARKER_FPS, MARKER_H, MARKER_W, MarkerOffset, RtspFileServer, marker_offsets, publish_rtmp,
    publish_srt_listener, write_marker_source,
};
use vcs_test_support::{RtmpServer, TempDir, free_udp_port, wait_for};

/// Seconds recorded per scheme.
const RECORD_SECS: u32 = 16;

/// One live recording at a time: four real-time recordings and their publishers at once on a
/// loaded 2-core machine fall behind real time, which is not what these tests measure.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
/// Seconds of marker source: longer than the recording plus the time to connect.
const SOURCE_SECS: u32 = 40;
/// One frame at the output's rate: the tolerance.
const FRAME_MS: f64 = 1000.0 / MARKER_FPS as f64;

/// Records `uri` (camera and audio) for [`RECORD_SECS`] with `vcs-recorder render` and returns
/// the offsets measured at each marker of the output.
fn record(dir: &Path, uri: &str, realtime: bool) -> Vec<MarkerOffset> {
    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fullframe.jsx");
    let job = dir.join("job.yaml");
    let out = dir.join("out.mp4");
    std::fs::write(
        &job,
        format!(
            "composition: {{name: '{}'}}\n\
             participants:\n  - {{id: src, camera: '{uri}', audio: '{uri}'}}\n\
             video: {{width: {MARKER_W}, height: {MARKER_H}, fps: {MARKER_FPS}}}\n\
             durationSecs: {RECORD_SECS}\n",
            composition.display(),
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"));
    cmd.arg("render").arg(&job).arg("-o").arg(&out);
    if realtime {
        cmd.arg("--realtime");
    }
    let run = cmd.output().unwrap();
    assert!(
        run.status.success(),
        "render of {uri} failed: {}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    marker_offsets(&out, MARKER_FPS)
}

/// Prints the offsets and checks there are markers from near the start to near the end, each
/// within one frame.
fn assert_in_sync(scheme: &str, offsets: &[MarkerOffset]) {
    let list: Vec<String> = offsets
        .iter()
        .map(|m| format!("{:.1}s:{:+.0}", m.at_secs, m.offset_ms))
        .collect();
    eprintln!(
        "{scheme}: offsets (at: ms, + = audio late): {}",
        list.join(" ")
    );
    let (first, last) = (offsets.first(), offsets.last());
    let (Some(first), Some(last)) = (first, last) else {
        panic!("{scheme}: no marker found in the recording");
    };
    eprintln!(
        "{scheme}: offset at start {:+.1} ms, at end {:+.1} ms",
        first.offset_ms, last.offset_ms
    );
    // Connecting takes a few seconds at most: markers must cover most of the recording.
    assert!(
        first.at_secs < 8.0 && last.at_secs > f64::from(RECORD_SECS) - 3.0,
        "{scheme}: markers only from {:.1} s to {:.1} s: {list:?}",
        first.at_secs,
        last.at_secs
    );
    for m in offsets {
        assert!(
            m.offset_ms.abs() <= FRAME_MS,
            "{scheme}: marker at {:.1} s is {:+.1} ms off (one frame is {FRAME_MS:.1} ms): {list:?}",
            m.at_secs,
            m.offset_ms
        );
    }
}

#[test]
fn rtmp_from_nginx_stays_in_sync() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("lipsync-rtmp");
    let source = tmp.path().join("marker.mp4");
    write_marker_source(&source, SOURCE_SECS);
    let nginx = RtmpServer::start(&tmp.path().join("nginx"));
    let url = nginx.url("marker");
    let mut publisher = publish_rtmp(&source, &url);
    // nginx only serves a stream once it is published.
    wait_for("the publish to start", Duration::from_secs(20), || {
        (!nginx.recordings().is_empty()).then_some(())
    });
    let offsets = record(tmp.path(), &url, false);
    publisher.assert_running();
    assert_in_sync("rtmp", &offsets);
}

#[test]
fn rtsp_from_gst_rtsp_server_stays_in_sync() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("lipsync-rtsp");
    let source = tmp.path().join("marker.mp4");
    write_marker_source(&source, SOURCE_SECS);
    let server = RtspFileServer::start(&source);
    let offsets = record(tmp.path(), &server.url(), false);
    assert_in_sync("rtsp", &offsets);
}

#[test]
fn srt_from_a_listener_stays_in_sync() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("lipsync-srt");
    let source = tmp.path().join("marker.mp4");
    write_marker_source(&source, SOURCE_SECS);
    let port = free_udp_port();
    // ffmpeg's listener ends when its caller hangs up: it is only kept until the test ends.
    let _publisher = publish_srt_listener(&source, port);
    let offsets = record(tmp.path(), &format!("srt://127.0.0.1:{port}"), false);
    assert_in_sync("srt", &offsets);
}

#[test]
fn a_file_paced_in_real_time_stays_in_sync() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("lipsync-file");
    let source = tmp.path().join("marker.mp4");
    write_marker_source(&source, SOURCE_SECS);
    let offsets = record(tmp.path(), &format!("file://{}", source.display()), true);
    assert_in_sync("file", &offsets);
}
