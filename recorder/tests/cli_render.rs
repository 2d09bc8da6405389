//! `vcs-recorder render` end to end: the demo composition with four synthetic participants,
//! recorded through the real binary and checked on decoded frames and audio.
//!
//! Where things are on screen comes from the engine's own scene for the same inputs (tile frames,
//! text positions), so the checks follow the composition rather than hard-coded pixels.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use vcs_engine::{Composition, Engine, EngineOptions, VideoInputSlot, VideoKind};
use vcs_scene::{FontSpec, Op, Scene};
use vcs_test_support::{
    TempDir, decode_audio, decode_frame_rgb, ffprobe_streams, region_difference, rms,
};
use vcs_text::Fonts;

const W: u32 = 960;
const H: u32 = 540;
const FPS: u32 = 25;
const SECS: f64 = 6.0;
const PARTICIPANTS: [(&str, [u8; 3]); 4] = [
    ("Alice", [220, 40, 40]),
    ("Bob", [40, 170, 60]),
    ("Carol", [40, 90, 220]),
    ("Dave", [230, 180, 20]),
];

fn scene_at(time: f64) -> Scene {
    let mut engine = Engine::new(
        Composition::resolve("demo").unwrap(),
        EngineOptions {
            width: W,
            height: H,
            fps: FPS,
            fonts: Fonts::system(),
        },
    )
    .unwrap();
    let mut params = BTreeMap::new();
    params.insert("title".to_string(), serde_json::json!("Test banner"));
    engine.set_params(&params);
    engine.set_video_inputs(
        PARTICIPANTS
            .iter()
            .map(|(name, _)| VideoInputSlot {
                id: name.to_lowercase(),
                kind: VideoKind::Camera,
                display_name: name.to_string(),
                paused: false,
                dominant: false,
                frame_size: (640, 360),
            })
            .collect(),
    );
    // Step through time as the recorder does, so time-driven state matches.
    let frames = (time * FPS as f64).round() as u64;
    let mut scene = None;
    for n in 0..=frames {
        scene = Some(engine.render(n as f64 / FPS as f64).unwrap().scene);
    }
    scene.unwrap()
}

/// Bounding boxes (x, y, w, h) of every `fillText` in the foreground, with their text.
fn text_boxes(scene: &Scene) -> Vec<(String, (u32, u32, u32, u32))> {
    let fonts = Fonts::system();
    let mut font = FontSpec::default();
    let mut translate = (0.0f32, 0.0f32);
    let mut stack = vec![];
    let mut boxes = vec![];
    for op in &scene.foreground.commands {
        match op {
            Op::Save => stack.push((font.clone(), translate)),
            Op::Restore => {
                if let Some((f, t)) = stack.pop() {
                    font = f;
                    translate = t;
                }
            }
            Op::Translate(x, y) => translate = (translate.0 + x, translate.1 + y),
            Op::Font(f) => font = f.clone(),
            Op::FillText(text, x, y) => {
                let width = fonts.measure(text, &font);
                let (x, y) = (x + translate.0, y + translate.1);
                let top = y - font.size_px * 0.7;
                boxes.push((
                    text.clone(),
                    (
                        x.max(0.0) as u32,
                        top.max(0.0) as u32,
                        width.max(1.0) as u32,
                        (font.size_px * 0.7) as u32,
                    ),
                ));
            }
            _ => {}
        }
    }
    boxes
}

/// [`vcs_test_support::median_rgb`] of a frame of this test's width.
fn median_rgb(frame: &[u8], rect: (u32, u32, u32, u32)) -> [u8; 3] {
    vcs_test_support::median_rgb(frame, W, rect)
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (*x as i32 - y as i32).abs() <= tolerance)
}

fn render_demo(out: &Path) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"));
    cmd.args([
        "render",
        "--composition",
        "demo",
        "--param",
        "title=Test banner",
    ]);
    for (name, [r, g, b]) in PARTICIPANTS {
        cmd.args([
            "--participant",
            &format!("{}=test:rgb({r},{g},{b})", name.to_lowercase()),
        ]);
    }
    let status = cmd
        .args([
            "--duration",
            &SECS.to_string(),
            "--size",
            &format!("{W}x{H}"),
            "--fps",
            &FPS.to_string(),
        ])
        .arg("-o")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "render exited with {status}");
}

#[test]
fn demo_recording_shows_tiles_labels_banner_and_a_running_timer() {
    let tmp = TempDir::new("cli-render-demo");
    let dir = tmp.path();
    let out = dir.join("demo.mp4");
    render_demo(&out);

    // Container: resolution, frame rate and duration exactly as asked; audio present.
    let streams = ffprobe_streams(&out);
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("video stream");
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(W as u64), Some(H as u64))
    );
    assert_eq!(video["r_frame_rate"], format!("{FPS}/1"));
    assert_eq!(
        video["nb_read_frames"],
        format!("{}", (SECS * FPS as f64) as u64),
        "frame count"
    );
    let video_secs: f64 = video["duration"].as_str().unwrap().parse().unwrap();
    assert!(
        (video_secs - SECS).abs() < 1.0 / FPS as f64,
        "video lasts {video_secs} s"
    );
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .expect("audio stream");
    assert_eq!(audio["codec_name"], "aac");
    assert!(
        rms(&decode_audio(&out, 1.0, 1.0)) > 0.01,
        "audio is not silent"
    );

    let at1 = decode_frame_rgb(&out, 1.0, W, H);
    let at5 = decode_frame_rgb(&out, 5.0, W, H);
    let scene1 = scene_at(1.0);
    let scene5 = scene_at(5.0);

    // Each participant's tile shows its colour where the scene puts it.
    assert_eq!(scene1.video_layers.len(), 4, "four tiles");
    for (name, rgb) in PARTICIPANTS {
        let layer = scene1
            .video_layers
            .iter()
            .find(|l| l.id == name.to_lowercase())
            .unwrap_or_else(|| panic!("no tile for {name}"));
        let f = layer.frame;
        let centre = (
            (f.x + f.w / 3) as u32,
            (f.y + f.h / 3) as u32,
            (f.w / 3) as u32,
            (f.h / 3) as u32,
        );
        let seen = median_rgb(&at1, centre);
        assert!(
            close(seen, rgb, 40),
            "{name}'s tile at {f:?} is {seen:?}, want about {rgb:?}"
        );
    }
    // The tiles are in a 2×2 grid: two distinct columns and two distinct rows.
    let mut xs: Vec<i32> = scene1.video_layers.iter().map(|l| l.frame.x).collect();
    let mut ys: Vec<i32> = scene1.video_layers.iter().map(|l| l.frame.y).collect();
    xs.sort();
    xs.dedup();
    ys.sort();
    ys.dedup();
    assert_eq!((xs.len(), ys.len()), (2, 2), "2×2 grid");

    // Labels and the banner stand out from the video beneath them.
    let boxes = text_boxes(&scene1);
    for (name, rgb) in PARTICIPANTS
        .iter()
        .copied()
        .chain([("Test banner", [0, 0, 0])])
    {
        let (_, bbox) = boxes
            .iter()
            .find(|(t, _)| t == name)
            .unwrap_or_else(|| panic!("no text {name:?} in {boxes:?}"));
        let seen = median_rgb(&at1, *bbox);
        if name == "Test banner" {
            let beneath = median_rgb(&at1, (bbox.0, bbox.1 + bbox.3 + 60, bbox.2, 4));
            assert!(
                !close(seen, beneath, 20),
                "banner {seen:?} vs below it {beneath:?}"
            );
        } else {
            assert!(
                !close(seen, rgb, 30),
                "label {name} at {bbox:?} looks like the tile: {seen:?}"
            );
        }
    }

    // The countdown's pixels change between t = 1 s and t = 5 s.
    let timer = |s: &Scene| {
        text_boxes(s)
            .into_iter()
            .find(|(t, _)| t.len() == 5 && t.as_bytes()[2] == b':')
            .unwrap_or_else(|| panic!("no mm:ss timer text"))
    };
    let (t1, bbox) = timer(&scene1);
    let (t5, _) = timer(&scene5);
    assert_ne!(t1, t5, "timer text changes");
    assert!(
        region_difference(&at1, &at5, W, bbox) > 10.0,
        "timer pixels change between 1 s and 5 s"
    );
}
