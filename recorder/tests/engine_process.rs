//! The composition's engine process, driven as the recording drives it: a frame stuck in a
//! native call is abandoned within its budget, the process is restarted from the composition's
//! state (params as last changed, participants, chat, video time), and given up on after its
//! restarts while the caller keeps its last good scene.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use vcs_recorder::engine_process::{CompositionState, Limits, SupervisedEngine};
use vcs_scene::{Op, Scene};
use vcs_test_support::TempDir;

/// Shows the `label` param, the participants' names and the last chat message as text, and
/// gets stuck in a regex while `t` is in `[stuck_from, stuck_to)`.
const SOURCE: &str = r#"import * as React from 'react';
import { Text } from '#vcs-react/components';
import { useActiveVideo, useParams, useStandardSources, useVideoTime } from '#vcs-react/hooks';
export const compositionInterface = {
  params: [
    { id: 'label', type: 'text', defaultValue: 'default' },
    { id: 'stuckFrom', type: 'number', defaultValue: 1 },
    { id: 'stuckTo', type: 'number', defaultValue: 2 },
  ],
  standardSources: ['chatMessages'],
};
export default function C() {
  const t = useVideoTime();
  const { label, stuckFrom, stuckTo } = useParams();
  const { displayNamesById } = useActiveVideo();
  const chat = useStandardSources().chatMessages;
  const last = chat && chat.latest && chat.latest.length ? chat.latest[chat.latest.length - 1].text : '';
  if (t >= stuckFrom && t < stuckTo) /^(a+)+$/.test('a'.repeat(40) + '!');
  return <Text>{[label, Object.values(displayNamesById).join('+'), last].join('|')}</Text>;
}
"#;

fn text(scene: &Scene) -> String {
    scene
        .background
        .commands
        .iter()
        .chain(&scene.foreground.commands)
        .find_map(|op| match op {
            Op::FillText(t, ..) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn start(dir: &TempDir, limits: Limits) -> (SupervisedEngine, Scene) {
    let path = dir.path().join("stuck.jsx");
    std::fs::write(&path, SOURCE).expect("write the composition");
    SupervisedEngine::start(
        CompositionState {
            composition: path.display().to_string(),
            width: 320,
            height: 180,
            fps: 30,
            params: BTreeMap::from([("label".to_string(), json!("first"))]),
            ..CompositionState::default()
        },
        limits,
    )
    .expect("the composition starts")
}

fn limits() -> Limits {
    Limits {
        hard_limit: Duration::from_secs(2),
        ..Limits::default()
    }
}

#[test]
fn a_stuck_frame_is_abandoned_and_the_composition_restarts_from_its_state() {
    let dir = TempDir::new("engine-restart");
    let (mut engine, first) = start(&dir, limits());
    assert_eq!(text(&first), "first||");
    // past the start-up frames (which get the start-up budget)
    engine.render(0.5).expect("a good frame before");
    let started = Instant::now();
    // stuck at 1.0 s: the frame is given up on within its budget (plus grace, plus a loaded
    // machine's scheduling), and the next ones do not wait for it
    let err = engine.render(1.0).expect_err("stuck");
    assert!(err.to_string().contains("abandoned"), "{err}");
    for i in 1..5 {
        let err = engine
            .render(1.0 + i as f64 / 30.0)
            .expect_err("still stuck");
        assert!(err.to_string().contains("still busy"), "{err}");
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    // changes made meanwhile are part of the state a restart starts from
    engine.set_params(&BTreeMap::from([("label".to_string(), json!("patched"))]));
    engine.push_standard_source_message(
        "chatMessages",
        json!({"key": 1, "senderDisplayName": "Ann", "text": "hello"}),
    );
    engine.set_video_inputs(&[vcs_engine::VideoInputSlot {
        id: "bob".into(),
        kind: vcs_engine::VideoKind::Camera,
        display_name: "Bob".into(),
        paused: false,
        dominant: false,
        frame_size: (640, 360),
    }]);
    std::thread::sleep(Duration::from_millis(2100));
    // past the hard limit at 3 s (out of the stuck window): killed and restarted from state
    let err = engine.render(3.0).expect_err("restarted");
    assert!(
        err.to_string()
            .contains("restarted from its state at 3.000 s"),
        "{err}"
    );
    assert_eq!(engine.state().video_time, 3.0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let scene = loop {
        match engine.render(3.1) {
            Ok(Some(scene)) => break scene,
            Ok(None) => panic!("a restarted engine sends its scene"),
            Err(e) => assert!(Instant::now() < deadline, "never came back: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(text(&scene), "patched|Bob|hello");
    assert!(!engine.has_failed());
}

#[test]
fn a_composition_that_keeps_getting_stuck_is_given_up_on() {
    let dir = TempDir::new("engine-give-up");
    let (mut engine, _) = start(
        &dir,
        Limits {
            hard_limit: Duration::from_millis(500),
            // a restarted process gets stuck while loading (its first frame is in the window)
            startup: Duration::from_secs(5),
            max_restarts: 2,
            ..Limits::default()
        },
    );
    engine.set_params(&BTreeMap::from([("stuckTo".to_string(), json!(1e9))]));
    engine.render(0.5).expect("a good frame before");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut t = 1.0;
    let mut errors = Vec::new();
    while !errors
        .iter()
        .any(|e: &String| e.contains("after 2 restarts"))
    {
        assert!(Instant::now() < deadline, "never given up: {errors:#?}");
        errors.push(engine.render(t).expect_err("stuck").to_string());
        t += 1.0 / 30.0;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(engine.has_failed());
    let restarts: Vec<_> = errors.iter().filter(|e| e.contains("restart")).collect();
    assert_eq!(restarts.len(), 3, "{restarts:#?}");
    // from then on every frame answers at once
    let started = Instant::now();
    for _ in 0..30 {
        assert!(engine.render(t).is_err());
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}
