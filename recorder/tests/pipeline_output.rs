//! The media path without a composition: test inputs → compositor → encoder → fragmented MP4,
//! checked with ffprobe and decoded frames.

mod common;

use common::{decode_frame_rgb, ffprobe_streams, mean_rgb, temp_dir};
use vcs_recorder::pipeline::compose::{Canvas, VideoFrameRef};
use vcs_recorder::pipeline::input::VideoInput;
use vcs_recorder::pipeline::output::{Output, OutputConfig, part_path};
use vcs_recorder::pipeline::testsrc::TestSource;
use vcs_recorder::scene::{IntRect, ScaleMode, VideoAttrs};

#[test]
fn two_inputs_side_by_side_encode_to_an_mp4_of_the_exact_length() {
    vcs_recorder::pipeline::init().unwrap();
    let dir = temp_dir("pipeline-output");
    let path = dir.join("two.mp4");
    let (w, h, fps, frames) = (320u32, 180u32, 25u32, 30u64);
    let red = TestSource::parse("test:rgb(220,30,30)", 0).unwrap();
    let blue = TestSource::parse("test:rgb(30,30,220)", 1).unwrap();
    let mut left = VideoInput::test("l", "Left", &red, fps).unwrap();
    let mut right = VideoInput::test("r", "Right", &blue, fps).unwrap();
    let mut out = Output::start(&OutputConfig {
        width: w,
        height: h,
        fps,
        video_bitrate_kbps: 1000,
        audio_bitrate_kbps: 128,
        duration_secs: frames as f64 / fps as f64,
        tones_hz: vec![440.0],
        mp4_path: path.clone(),
    })
    .unwrap();
    assert!(
        part_path(&path).exists(),
        "written as .part while recording"
    );
    let attrs = VideoAttrs {
        scale_mode: ScaleMode::Fill,
        ..Default::default()
    };
    for _ in 0..frames {
        left.advance().unwrap();
        right.advance().unwrap();
        let mut canvas = Canvas::new(w, h);
        for (input, x) in [(&left, 0), (&right, 160)] {
            let f = input.frame().unwrap();
            let src = VideoFrameRef {
                width: f.width,
                height: f.height,
                stride: f.stride,
                data: f.data.as_slice(),
            };
            canvas.draw_video(
                src,
                IntRect {
                    x,
                    y: 0,
                    w: 160,
                    h: 180,
                },
                &attrs,
            );
        }
        out.push_frame(canvas.data).unwrap();
    }
    let written = out.finish().unwrap();
    assert_eq!(written, path);
    assert!(!part_path(&path).exists(), ".part is renamed when complete");

    let streams = ffprobe_streams(&path);
    let video = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(video["width"], 320);
    assert_eq!(video["height"], 180);
    assert_eq!(video["r_frame_rate"], "25/1");
    assert_eq!(video["nb_read_frames"], "30");
    let audio = streams.iter().find(|s| s["codec_type"] == "audio").unwrap();
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(audio["sample_rate"], "48000");
    assert_eq!(audio["channels"], 2);

    let frame = decode_frame_rgb(&path, 0.5, w, h);
    // Sample the lower middle of each half: the name is written at the top-left of each source.
    let l = mean_rgb(&frame, w, (40, 120, 80, 40));
    let r = mean_rgb(&frame, w, (200, 120, 80, 40));
    assert!(l[0] > 150 && l[2] < 100, "left half is red: {l:?}");
    assert!(r[2] > 150 && r[0] < 100, "right half is blue: {r:?}");
}

#[test]
fn an_unwritable_output_fails_before_anything_starts() {
    vcs_recorder::pipeline::init().unwrap();
    let err = Output::start(&OutputConfig {
        width: 64,
        height: 64,
        fps: 10,
        video_bitrate_kbps: 500,
        audio_bitrate_kbps: 64,
        duration_secs: 1.0,
        tones_hz: vec![],
        mp4_path: "/nonexistent-dir/x.mp4".into(),
    })
    .err()
    .expect("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent-dir/x.mp4") && msg.contains("cannot write"),
        "{msg}"
    );
}
