//! Four participants with overlays recorded at once to MP4 and HLS on a real S3-compatible
//! server (s3s-fs) and RTMP into nginx-rtmp, through the real binary. Every output is read by
//! ffprobe, and decoded frames show each layer where the `layers` fixture puts it: fill, fit
//! (pillarbox), zoom, rounded corners, opacity and z order.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vcs_test_support::{RtmpServer, S3Server, TempDir, decode_frame_rgb, ffprobe_streams};

const W: u32 = 640;
const H: u32 = 360;
const FPS: u32 = 30;
const SECS: u32 = 6;
const BACKGROUND: [u8; 3] = [0x20, 0x20, 0x20];
const ALICE: [u8; 3] = [0xe0, 0x30, 0x30];
const BOB: [u8; 3] = [0x30, 0xc0, 0x40];
const DAVE: [u8; 3] = [0xe0, 0xc0, 0x20];
/// videotestsrc's SMPTE bars, left to right, as its RGB output has them.
const SMPTE: [[u8; 3]; 7] = [
    [255, 255, 255],
    [255, 255, 0],
    [0, 255, 255],
    [0, 255, 0],
    [255, 0, 255],
    [255, 0, 0],
    [0, 0, 255],
];

fn s3_yaml(s3: &S3Server, key: &str) -> String {
    s3.target_yaml("rec", key)
}

fn render(job: &Path) -> String {
    let run = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .arg(job)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "render failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

/// [`vcs_test_support::median_rgb`] of a frame of this test's width.
fn median_rgb(frame: &[u8], rect: (u32, u32, u32, u32)) -> [u8; 3] {
    vcs_test_support::median_rgb(frame, W, rect)
}

fn assert_close(what: &str, got: [u8; 3], want: [u8; 3]) {
    let off = (0..3)
        .map(|c| (got[c] as i32 - want[c] as i32).abs())
        .max()
        .unwrap();
    // Saturated colours come back from H.264 4:2:0 a few tens of levels off.
    assert!(off <= 40, "{what}: got {got:?}, want {want:?}");
}

fn blend(a: [u8; 3], b: [u8; 3]) -> [u8; 3] {
    [0, 1, 2].map(|c| ((a[c] as u32 + b[c] as u32) / 2) as u8)
}

#[test]
fn four_participants_to_s3_mp4_and_hls_and_rtmp_at_once() {
    let tmp = TempDir::new("record-outputs");
    let dir = tmp.path();
    let s3 = S3Server::start(&dir.join("s3"));
    s3.create_bucket("rec");
    let rtmp = RtmpServer::start(&dir.join("nginx"));
    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layers.jsx");
    let job = dir.join("job.yaml");
    std::fs::write(
        &job,
        format!(
            "composition: {{name: '{composition}'}}\n\
             participants:\n\
             \x20 - {{id: alice, camera: 'test:#e03030', audio: 'test:#e03030'}}\n\
             \x20 - {{id: bob, camera: 'test:#30c040?size=480x360', audio: 'test:'}}\n\
             \x20 - {{id: carol, camera: 'test:#3050e0?pattern=smpte'}}\n\
             \x20 - {{id: dave, camera: 'test:#e0c020'}}\n\
             video: {{width: {W}, height: {H}, fps: {FPS}, bitrateKbps: 1500}}\n\
             durationSecs: {SECS}\n\
             outputs:\n\
             \x20 - {{name: archive, mp4: {{s3: {mp4}}}}}\n\
             \x20 - {{name: web, hls: {{segmentSecs: 2, s3: {hls}}}}}\n\
             \x20 - {{name: live, rtmp: {{url: '{url}'}}}}\n",
            composition = composition.display(),
            mp4 = s3_yaml(&s3, "job1/archive.mp4"),
            hls = s3_yaml(&s3, "job1/hls"),
            url = rtmp.url("stream-key"),
        ),
    )
    .unwrap();
    let summary = render(&job);
    assert!(
        summary.contains("archive"),
        "summary names each output:\n{summary}"
    );

    // MP4 in S3: exact length, H.264 + AAC.
    let mp4 = s3.object_path("rec", "job1/archive.mp4");
    let streams = ffprobe_streams(&mp4);
    let video = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(video["nb_read_frames"], (SECS * FPS).to_string());
    let audio = streams.iter().find(|s| s["codec_type"] == "audio").unwrap();
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(audio["sample_rate"], "48000");

    // HLS in S3: a finished playlist whose every segment is there and plays.
    let playlist_path = hls_playlist(&s3.object_path("rec", "job1/hls"));
    let playlist = std::fs::read_to_string(&playlist_path).unwrap();
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    let segments: Vec<&str> = playlist
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert!(segments.len() >= 2, "{playlist}");
    for seg in &segments {
        let path = playlist_path.parent().unwrap().join(seg);
        assert!(path.is_file(), "segment {seg} is in S3");
    }
    let hls_video = ffprobe_streams(&playlist_path);
    let frames: u64 = hls_video
        .iter()
        .find(|s| s["codec_type"] == "video")
        .and_then(|s| s["nb_read_frames"].as_str()?.parse().ok())
        .unwrap();
    assert!(
        frames.abs_diff((SECS * FPS) as u64) <= 2,
        "HLS holds the whole recording: {frames} frames"
    );

    // RTMP into nginx: what it recorded plays.
    let flv = rtmp.recordings();
    assert!(!flv.is_empty(), "nginx recorded the RTMP stream");
    let rtmp_streams = ffprobe_streams(flv.last().unwrap());
    assert!(rtmp_streams.iter().any(|s| s["codec_type"] == "video"));
    assert!(rtmp_streams.iter().any(|s| s["codec_type"] == "audio"));

    check_layers(&decode_frame_rgb(&mp4, 3.0, W, H));
}

/// The playlist under an HLS prefix, whatever the muxer named it.
fn hls_playlist(prefix: &Path) -> PathBuf {
    std::fs::read_dir(prefix)
        .unwrap_or_else(|e| panic!("HLS prefix {} missing: {e}", prefix.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "m3u8"))
        .expect("a playlist under the HLS prefix")
}

/// Layer frames of `layers.jsx` at 640×360 (fractions of the viewport, rounded).
fn check_layers(frame: &[u8]) {
    // Background where no layer is.
    assert_close(
        "background",
        median_rgb(frame, (300, 10, 20, 10)),
        BACKGROUND,
    );
    // alice, fill, 480×360 source into 256×144 at (32,18): her colour fills the frame.
    assert_close("alice fill", median_rgb(frame, (60, 60, 200, 80)), ALICE);
    assert_close(
        "alice fill reaches the edge",
        median_rgb(frame, (34, 100, 6, 20)),
        ALICE,
    );
    // bob, fit, 4:3 into 256×144 at (352,18): 192 wide, pillarboxed 32 px each side.
    assert_close(
        "bob pillarbox",
        median_rgb(frame, (356, 60, 24, 60)),
        BACKGROUND,
    );
    assert_close("bob fit", median_rgb(frame, (420, 60, 100, 60)), BOB);
    // The foreground box (544,108,64,36) is drawn over bob's video.
    assert_close(
        "overlay over video",
        median_rgb(frame, (548, 112, 24, 28)),
        [255, 255, 255],
    );
    // carol, fill with zoom 2 at (32,198,256,144): the middle half of the SMPTE bars.
    // Output x maps to source x = 160 + (x - 32) * 1.25.
    let bar = |x: u32| SMPTE[((160.0 + (x as f64 + 0.5 - 32.0) * 1.25) * 7.0 / 640.0) as usize];
    assert_close(
        "carol zoomed, left",
        median_rgb(frame, (46, 250, 4, 10)),
        bar(48),
    );
    assert_eq!(
        bar(48),
        SMPTE[1],
        "zoom shows yellow at the left, not white"
    );
    assert_close(
        "carol zoomed, right",
        median_rgb(frame, (176, 220, 4, 10)),
        bar(178),
    );
    // Rounded corners (40 px): the very corner shows the background.
    assert_close(
        "carol rounded corner",
        median_rgb(frame, (33, 199, 4, 4)),
        BACKGROUND,
    );
    // dave at half opacity (192,252,192,90), last layer so on top of carol.
    assert_close(
        "dave over the background",
        median_rgb(frame, (320, 300, 40, 30)),
        blend(DAVE, BACKGROUND),
    );
    assert_close(
        "dave over carol (z order)",
        median_rgb(frame, (230, 268, 4, 4)),
        blend(DAVE, bar(232)),
    );
}
