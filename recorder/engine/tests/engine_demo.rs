//! The built-in `demo` composition end to end: JSX → boa → scene.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::collections::BTreeMap;

use vcs_engine::{Composition, Engine, VideoInputSlot, VideoKind};
use vcs_scene::Op;

fn slots(n: usize) -> Vec<VideoInputSlot> {
    (0..n)
        .map(|i| VideoInputSlot {
            id: format!("p{i}"),
            kind: VideoKind::Camera,
            display_name: format!("Person {i}"),
            paused: false,
            dominant: i == 0,
            frame_size: (1280, 720),
        })
        .collect()
}

fn demo() -> Engine {
    let opts = common::opts(1280, 720, 30);
    Engine::new(Composition::resolve("demo").unwrap(), opts).unwrap()
}

fn texts(cmds: &[Op]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            Op::FillText(t, ..) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn demo_shows_four_tiles_labels_title_and_countdown() {
    let mut e = demo();
    e.set_video_inputs(slots(4));
    let f = e.render(0.0).unwrap();
    let s = &f.scene;
    println!("{}", serde_json::to_string(s).unwrap());
    assert_eq!(s.video_layers.len(), 4);
    let ids: Vec<_> = s.video_layers.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["p0", "p1", "p2", "p3"]);
    let t = texts(&s.foreground.commands);
    for name in [
        "Person 0", "Person 1", "Person 2", "Person 3", "VCS demo", "00:10",
    ] {
        assert!(t.iter().any(|x| x == name), "{name} missing from {t:?}");
    }
    assert!(
        s.background
            .commands
            .iter()
            .any(|op| matches!(op, Op::FillStyle(_))),
        "{:?}",
        s.background.commands
    );
}

#[test]
fn countdown_follows_video_time_and_only_foreground_changes() {
    let mut e = demo();
    e.set_video_inputs(slots(4));
    e.render(0.0).unwrap();
    let f = e.render(1.0).unwrap();
    assert!(texts(&f.scene.foreground.commands).contains(&"00:09".to_string()));
    assert!(f.foreground_changed && !f.background_changed && !f.video_layers_changed);
    let f = e.render(1.5).unwrap();
    assert!(!f.foreground_changed, "00:09 still");
}

#[test]
fn title_param_merges() {
    let mut e = demo();
    e.set_params(&BTreeMap::from([(
        "title".to_string(),
        serde_json::json!("Hello"),
    )]));
    let f = e.render(0.0).unwrap();
    // no videos: everything is background
    assert!(f.scene.foreground.is_empty());
    let t = texts(&f.scene.background.commands);
    assert!(t.contains(&"Hello".to_string()), "{t:?}");
    assert_eq!(e.params()["countdownSecs"], serde_json::json!(10));
}

#[test]
fn a_paused_camera_shows_as_a_tile_not_a_hole() {
    let mut e = demo();
    let mut s = slots(2);
    s[1].paused = true;
    e.set_video_inputs(s);
    let f = e.render(0.0).unwrap();
    let ids: Vec<_> = f.scene.video_layers.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["p0"], "no video for the paused camera");
    let tile = vcs_scene::Color::parse("#2b2f3d").unwrap();
    let all = f
        .scene
        .background
        .commands
        .iter()
        .chain(&f.scene.foreground.commands);
    assert!(
        all.clone()
            .any(|c| matches!(c, Op::FillStyle(col) if col.to_u8() == tile.to_u8())),
        "no paused tile drawn"
    );
    let mut t = texts(&f.scene.background.commands);
    t.extend(texts(&f.scene.foreground.commands));
    assert!(t.contains(&"Person 1".to_string()), "{t:?}");
}
