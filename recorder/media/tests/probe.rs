//! `probe::video_format` reads codec, size and frame rate from files like the recorder writes
//! (video and audio): an MPEG-TS HLS segment and a fragmented MP4 (cut after its first fragment, as a continuation
//! reads only the head of a big object).

use std::path::Path;
use std::process::Command;

use vcs_media::probe::video_format;
use vcs_test_support::TempDir;

/// 2.4 s of H.264 320x240@25 and AAC, muxed by `mux` into `out`.
fn encode(mux: &str, out: &Path) {
    let desc = format!(
        "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=25/1 \
         ! x264enc key-int-max=25 ! h264parse ! {mux} name=mux ! filesink location={} \
         audiotestsrc num-buffers=110 ! avenc_aac ! aacparse ! mux.",
        out.display()
    );
    let status = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(desc.split_whitespace())
        .status()
        .expect("run gst-launch-1.0");
    assert!(status.success(), "{desc}");
}

#[test]
fn the_video_format_of_a_segment_and_of_an_mp4_head() {
    let dir = TempDir::new("probe");
    let ts = dir.path().join("segment.ts");
    encode("mpegtsmux", &ts);
    let mp4 = dir.path().join("rec.mp4");
    encode("mp4mux fragment-duration=1000", &mp4);
    for path in [&ts, &mp4] {
        let found = video_format(path).expect("a video format");
        assert_eq!(
            found.to_string(),
            "video/x-h264 320x240 @ 25 fps",
            "{}",
            path.display()
        );
    }
    let bytes = std::fs::read(&mp4).expect("mp4");
    let head = dir.path().join("head.mp4");
    std::fs::write(&head, &bytes[..bytes.len() * 2 / 3]).expect("head");
    assert_eq!(
        video_format(&head).expect("the head's format").to_string(),
        "video/x-h264 320x240 @ 25 fps"
    );
    let empty = dir.path().join("empty.ts");
    std::fs::write(&empty, b"not video at all").expect("write");
    let err = video_format(&empty).expect_err("no video in it");
    assert!(err.to_string().contains("empty.ts"), "{err}");
}
