//! The built-in `baseline` composition: its params contract and its main behaviours.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use vcs_engine::{Composition, Engine, VideoInputSlot, VideoKind};
use vcs_scene::Op;

fn baseline(params: Value, n: usize) -> Engine {
    let mut e = Engine::new(
        Composition::resolve("baseline").unwrap(),
        common::opts(1280, 720, 30),
    )
    .unwrap();
    // These tests are about what the composition draws, not how fast: on a loaded machine a
    // frame of the baseline can take longer than the default 40 ms budget.
    e.set_frame_budget(Duration::from_secs(120));
    let p: BTreeMap<String, Value> = serde_json::from_value(params).unwrap();
    e.set_params(&p);
    e.set_video_inputs(
        (0..n)
            .map(|i| VideoInputSlot {
                id: format!("p{i}"),
                kind: VideoKind::Camera,
                display_name: format!("Person {i}"),
                paused: false,
                dominant: i == 1,
                frame_size: (1280, 720),
            })
            .collect(),
    );
    e
}

fn texts(f: &vcs_engine::FrameScene) -> Vec<String> {
    f.scene
        .background
        .commands
        .iter()
        .chain(&f.scene.foreground.commands)
        .filter_map(|c| match c {
            Op::FillText(t, ..) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn declares_exactly_the_contract_params() {
    let e = baseline(json!({}), 0);
    let params = e.interface()["params"].as_array().unwrap();
    assert_eq!(params.len(), 196);
    let by_id = |id: &str| params.iter().find(|p| p["id"] == id).cloned().unwrap();
    assert_eq!(by_id("mode")["defaultValue"], json!("grid"));
    assert_eq!(
        by_id("mode")["values"],
        json!(["single", "split", "grid", "dominant", "pip"])
    );
    assert_eq!(by_id("videoSettings.cornerRadius_gu")["step"], json!(0.1));
    assert_eq!(
        by_id("text.fontFamily")["values"].as_array().unwrap().len(),
        11
    );
    assert_eq!(
        by_id("toast.text.fontFamily")["values"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert_eq!(
        by_id("highlightLines.items")["defaultValue"],
        json!("Introduction\nNotes from the conference\nInterview with Jane Doe\nQ & A")
    );
    assert_eq!(
        e.params()["videoSettings.grid.highlightDominant"],
        json!(true)
    );
}

#[test]
fn modes_place_the_expected_videos() {
    let count = |mode: &str, n: usize| {
        let mut e = baseline(json!({ "mode": mode }), n);
        e.render(0.0).unwrap().scene.video_layers.len()
    };
    assert_eq!(count("grid", 4), 4);
    assert_eq!(count("single", 4), 1);
    assert_eq!(count("split", 4), 2);
    assert_eq!(count("pip", 4), 2);
    assert_eq!(count("dominant", 9), 6, "main plus 5 chiclets");
    let mut e = baseline(json!({}), 4);
    let f = e.render(0.0).unwrap();
    let first = &f.scene.video_layers[0].frame;
    assert_eq!(
        (first.x, first.y, first.w, first.h),
        (58, 25, 564, 317),
        "the stdlib grid (Daily's: x floored, w ceiled)"
    );
}

#[test]
fn dominant_mode_follows_the_active_speaker_and_pip_sits_in_its_corner() {
    let mut e = baseline(json!({ "mode": "dominant" }), 3);
    let f = e.render(0.0).unwrap();
    assert_eq!(f.scene.video_layers[0].id, "p1");
    assert!(f.scene.video_layers[0].frame.w > 900);
    let mut e = baseline(json!({ "mode": "pip" }), 2);
    let f = e.render(0.0).unwrap();
    let pip = &f.scene.video_layers[1].frame;
    assert_eq!((pip.w, pip.h), (240, 240));
    assert_eq!(pip.x + pip.w, 1280 - 30);
}

#[test]
fn labels_banner_sidebar_and_title_slate() {
    let mut e = baseline(
        json!({ "videoSettings.showParticipantLabels": true, "showBannerOverlay": true, "showSidebar": true, "showTitleSlate": false }),
        2,
    );
    e.render(0.0).unwrap();
    // the banner fades in over 0.35 s
    let t = texts(&e.render(0.5).unwrap());
    for s in [
        "Person 0",
        "Person 1",
        "Hello world",
        "This is an example subtitle",
        "Introduction",
        "Q & A",
    ] {
        assert!(t.iter().any(|x| x == s), "{s} missing from {t:?}");
    }
    e.set_params(&BTreeMap::from([(
        "showTitleSlate".to_string(),
        json!(true),
    )]));
    e.render(1.0).unwrap();
    let t = texts(&e.render(1.5).unwrap());
    assert!(t.iter().any(|x| x == "Title slate"), "{t:?}");
}

#[test]
fn toast_shows_for_its_duration_when_the_key_increments() {
    let mut e = baseline(json!({ "toast.duration_secs": 2 }), 1);
    assert!(
        !texts(&e.render(0.0).unwrap())
            .iter()
            .any(|x| x == "Hello world")
    );
    e.set_params(&BTreeMap::from([("toast.key".to_string(), json!(1))]));
    e.render(0.1).unwrap();
    assert!(
        texts(&e.render(1.0).unwrap())
            .iter()
            .any(|x| x == "Hello world")
    );
    e.render(2.2).unwrap();
    assert!(
        !texts(&e.render(2.3).unwrap())
            .iter()
            .any(|x| x == "Hello world"),
        "gone after 2 s"
    );
}

#[test]
fn opening_slate_leaves_after_its_duration_and_closing_slate_shows_in_postroll() {
    let mut e = baseline(
        json!({ "enableAutoOpeningSlate": true, "openingSlate.duration_secs": 1 }),
        1,
    );
    assert!(
        texts(&e.render(0.0).unwrap())
            .iter()
            .any(|x| x == "Welcome")
    );
    e.render(1.1).unwrap();
    assert!(
        !texts(&e.render(1.5).unwrap())
            .iter()
            .any(|x| x == "Welcome")
    );
    e.stop();
    e.render(2.0).unwrap();
    // fades in over 0.25 s
    let f = e.render(2.3).unwrap();
    let fg = serde_json::to_string(&f.scene.foreground).unwrap();
    assert!(fg.contains("rgba(0, 0, 0, 1)"), "closing slate background");
}

#[test]
fn steady_grid_frames_do_not_reenter_js() {
    let mut e = baseline(json!({}), 4);
    e.render(0.0).unwrap();
    e.render(0.1).unwrap();
    let f = e.render(0.2).unwrap();
    assert!(!f.background_changed && !f.foreground_changed && !f.video_layers_changed);
}
