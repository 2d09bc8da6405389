//! Layout animations (vcs-api.md §6) at chosen frames, and the active-video view of the slots.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vcs_engine::{Composition, Engine, VideoInputSlot, VideoKind};

fn engine(body: &str) -> Engine {
    let src = format!(
        "import * as React from 'react';\nimport {{ Box, Text, Video }} from '#vcs-react/components';\nimport {{ useParams, useActiveVideo }} from '#vcs-react/hooks';\nexport const compositionInterface = {{ params: [{{ id: 'p', type: 'number', defaultValue: 0 }}] }};\nconst at = (x, y, w, h) => [() => ({{ x, y, w, h }})];\n{body}\n"
    );
    let c = Composition::from_sources("anim", "index.jsx", [("index.jsx".to_string(), src)]);
    Engine::new(c, common::opts(640, 360, 10)).unwrap()
}

fn set_p(e: &mut Engine, v: i64) {
    e.set_params(&BTreeMap::from([("p".to_string(), json!(v))]));
}

/// The first fillRect and the globalAlpha before it, if any.
fn rect_and_alpha(e: &mut Engine, t: f64) -> (Option<Value>, Option<f64>) {
    let f = e.render(t).unwrap();
    let ops = serde_json::to_value(&f.scene.background.commands).unwrap();
    let mut alpha = None;
    for o in ops.as_array().unwrap() {
        if o[0] == "globalAlpha" {
            alpha = o[1].as_f64();
        }
        if o[0] == "fillRect" {
            return (Some(o[1].clone()), alpha);
        }
    }
    (None, alpha)
}

const MOVER: &str = "export const layoutAnimations = [{ animationId: 'm', properties: ['x', 'y', 'w', 'h'], duration: 1, function: 'linear' }];
export default function C() { const { p } = useParams(); return <Box id=\"m\" layout={at(p ? 200 : 0, 0, 100, 50)} style={{ fillColor: 'red' }} />; }";

#[test]
fn a_frame_change_animates_linearly_over_the_duration() {
    let mut e = engine(MOVER);
    assert_eq!(
        rect_and_alpha(&mut e, 0.0).0,
        Some(json!([0.0, 0.0, 100.0, 50.0]))
    );
    set_p(&mut e, 1);
    assert_eq!(
        rect_and_alpha(&mut e, 1.0).0,
        Some(json!([0.0, 0.0, 100.0, 50.0])),
        "starts where it was"
    );
    assert_eq!(
        rect_and_alpha(&mut e, 1.25).0,
        Some(json!([50.0, 0.0, 100.0, 50.0]))
    );
    assert_eq!(
        rect_and_alpha(&mut e, 1.5).0,
        Some(json!([100.0, 0.0, 100.0, 50.0]))
    );
    assert_eq!(
        rect_and_alpha(&mut e, 2.0).0,
        Some(json!([200.0, 0.0, 100.0, 50.0]))
    );
    // settled: nothing changes any more, JS is not even entered
    let f = e.render(2.5).unwrap();
    assert!(!f.background_changed);
}

#[test]
fn easing_and_delay() {
    let mut e = engine(&MOVER.replace("function: 'linear'", "function: 'ease-in', delay: 0.5"));
    e.render(0.0).unwrap();
    set_p(&mut e, 1);
    assert_eq!(rect_and_alpha(&mut e, 1.0).0.unwrap()[0], json!(0.0));
    assert_eq!(
        rect_and_alpha(&mut e, 1.5).0.unwrap()[0],
        json!(0.0),
        "delay"
    );
    let x = rect_and_alpha(&mut e, 2.0).0.unwrap()[0].as_f64().unwrap();
    // ease-in (0.42,0,1,1) at t=0.5 is ≈ 0.3153
    assert!((x - 200.0 * 0.3153).abs() < 0.5, "{x}");
    assert_eq!(rect_and_alpha(&mut e, 2.5).0.unwrap()[0], json!(200.0));
}

#[test]
fn default_predicate_ignores_changes_from_zero_size() {
    let mut e = engine(
        "export const layoutAnimations = [{ animationId: 'm', duration: 1, function: 'linear' }];
         export default function C() { const { p } = useParams(); return <Box id=\"m\" layout={at(100, 0, p ? 100 : 0, 50)} style={{ fillColor: 'red' }} />; }",
    );
    e.render(0.0).unwrap();
    set_p(&mut e, 1);
    assert_eq!(
        rect_and_alpha(&mut e, 0.5).0,
        Some(json!([100.0, 0.0, 100.0, 50.0])),
        "zero → non-zero jumps"
    );
}

#[test]
fn appear_and_disappear_fade_and_removed_nodes_are_kept_until_faded() {
    let mut e = engine(
        "export const layoutAnimations = [{ animationId: 'm', opacity: { appear: { from: 0, to: 1, duration: 1, function: 'linear' }, disappear: { from: 1, to: 0, duration: 1, function: 'linear' } } }];
         export default function C() { const { p } = useParams(); return <Box>{p === 1 ? <Box id=\"m\" layout={at(10, 10, 20, 20)} style={{ fillColor: 'red' }} /> : null}</Box>; }",
    );
    assert_eq!(rect_and_alpha(&mut e, 0.0).0, None);
    set_p(&mut e, 1);
    assert_eq!(
        rect_and_alpha(&mut e, 1.0),
        (Some(json!([10.0, 10.0, 20.0, 20.0])), Some(0.0)),
        "appears at opacity 0 (drawn with globalAlpha 0, as Daily)"
    );
    assert_eq!(
        rect_and_alpha(&mut e, 1.5),
        (Some(json!([10.0, 10.0, 20.0, 20.0])), Some(0.5))
    );
    let shown = rect_and_alpha(&mut e, 2.0).1;
    assert!(
        shown.is_none_or(|a| a == 1.0),
        "fully shown: opaque, got {shown:?}"
    );
    set_p(&mut e, 2);
    assert_eq!(
        rect_and_alpha(&mut e, 3.0),
        (Some(json!([10.0, 10.0, 20.0, 20.0])), Some(1.0)),
        "kept while fading (still at full opacity)"
    );
    assert_eq!(rect_and_alpha(&mut e, 3.75).1, Some(0.25));
    assert_eq!(rect_and_alpha(&mut e, 4.0).0, None, "gone once faded");
}

#[test]
fn children_follow_an_animated_parent() {
    let mut e = engine(
        "export const layoutAnimations = [{ animationId: 'm', properties: ['x'], duration: 1, function: 'linear' }];
         export default function C() { const { p } = useParams();
           return <Box id=\"m\" layout={at(p ? 200 : 0, 0, 100, 100)}><Box layout={[(f) => ({ x: f.x + 10, y: f.y + 10, w: 20, h: 20 })]} style={{ fillColor: 'red' }} /></Box>; }",
    );
    e.render(0.0).unwrap();
    set_p(&mut e, 1);
    e.render(1.0).unwrap();
    assert_eq!(
        rect_and_alpha(&mut e, 1.5).0,
        Some(json!([110.0, 10.0, 20.0, 20.0]))
    );
}

fn slot(id: &str, kind: VideoKind, paused: bool, dominant: bool) -> VideoInputSlot {
    VideoInputSlot {
        id: id.into(),
        kind,
        display_name: id.to_uppercase(),
        paused,
        dominant,
        frame_size: (640, 480),
    }
}

fn active(opts: &str, slots: Vec<VideoInputSlot>) -> Value {
    let mut e = engine(&format!(
        "export default function C() {{ const a = useActiveVideo({opts}); return <Text>{{JSON.stringify(a)}}</Text>; }}"
    ));
    e.set_video_inputs(slots);
    let f = e.render(0.0).unwrap();
    // the JSON has no spaces, so its wrapped lines concatenate back to it
    let s: String = f
        .scene
        .background
        .commands
        .iter()
        .filter_map(|c| match c {
            vcs_scene::Op::FillText(t, ..) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    serde_json::from_str(&s).unwrap()
}

#[test]
fn active_video_orders_caps_and_swaps_in_the_dominant_speaker() {
    use VideoKind::*;
    let slots = || {
        vec![
            slot("a", Camera, false, false),
            slot("s", Screenshare, false, false),
            slot("b", Camera, true, false),
            slot("c", Camera, false, true),
        ]
    };
    let a = active("{}", slots());
    assert_eq!(a["activeIds"], json!(["a", "s", "b", "c"]));
    assert_eq!(a["activeScreenshareIds"], json!(["s"]));
    assert_eq!(a["dominantId"], json!("c"));
    assert_eq!(a["displayNamesById"]["b"], json!("B"));
    assert_eq!(a["pausedById"]["b"], json!(true));
    assert_eq!(a["frameSizesById"]["a"], json!({"w": 640, "h": 480}));
    assert_eq!(
        active("{ preferScreenshare: true }", slots())["activeIds"],
        json!(["s", "a", "b", "c"])
    );
    assert_eq!(
        active("{ omitPaused: true }", slots())["activeIds"],
        json!(["a", "s", "c"])
    );
    assert_eq!(
        active("{ maxCamStreams: 2 }", slots())["activeIds"],
        json!(["a", "s", "c"]),
        "over the cap the last camera is swapped for the dominant"
    );
}
