//! Host inputs: standard sources and their expiry, playback state, room peers, failure
//! reporting.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use serde_json::json;
use vcs_engine::{Composition, Engine, FAILED_AFTER};
use vcs_scene::Op;

fn engine(body: &str) -> Engine {
    let src = format!(
        "import * as React from 'react';\nimport {{ useState, useEffect }} from 'react';\nimport {{ Text }} from '#vcs-react/components';\nimport {{ useStandardSources, useVideoPlaybackState, useAudioOnlyPeers, useUnpausedPeers, useParams }} from '#vcs-react/hooks';\nexport const compositionInterface = {{ params: [], standardSources: ['chatMessages', 'emojiReactions'] }};\n{body}\n"
    );
    let c = Composition::from_sources("inputs", "index.jsx", [("index.jsx".to_string(), src)]);
    Engine::new(c, common::opts(1920, 1080, 30)).unwrap()
}

fn text(e: &mut Engine, t: f64) -> String {
    let f = e.render(t).unwrap();
    f.scene
        .background
        .commands
        .iter()
        .filter_map(|c| match c {
            Op::FillText(s, ..) => Some(s.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn emoji_reactions_expire_after_a_second_and_chat_keeps_twenty_after_a_minute() {
    let mut e = engine(
        "export default function C() { const s = useStandardSources(); return <Text>{s.chatMessages.latest.length + '/' + s.emojiReactions.latest.length + '/' + s.chatMessages.enabled}</Text>; }",
    );
    for i in 0..25 {
        e.push_standard_source_message(
            "chatMessages",
            json!({"key": i, "senderDisplayName": "a", "text": "m"}),
        );
    }
    e.push_standard_source_message(
        "emojiReactions",
        json!({"key": 1, "senderDisplayName": "a", "text": "🎉"}),
    );
    assert_eq!(text(&mut e, 0.0), "25/1/true");
    assert_eq!(text(&mut e, 0.9), "25/1/true");
    assert_eq!(text(&mut e, 1.1), "25/0/true");
    assert_eq!(text(&mut e, 59.0), "25/0/true");
    assert_eq!(text(&mut e, 61.0), "20/0/true");
}

#[test]
fn a_message_after_idle_frames_is_timed_from_the_frame_it_arrives_with() {
    // Nothing reads time, so the host skips JS for frames 1..150; the reaction arriving with
    // frame 150 must still live its full second from then.
    let mut e = engine(
        "export default function C() { const s = useStandardSources(); return <Text>{'emoji:' + s.emojiReactions.latest.length}</Text>; }",
    );
    for n in 0..150 {
        text(&mut e, n as f64 / 30.0);
    }
    e.push_standard_source_message(
        "emojiReactions",
        json!({"key": 1, "senderDisplayName": "a", "text": "🎉"}),
    );
    assert_eq!(text(&mut e, 5.0), "emoji:1");
    assert_eq!(text(&mut e, 5.8), "emoji:1");
    assert_eq!(text(&mut e, 6.1), "emoji:0");
}

#[test]
fn stop_switches_playback_to_postroll() {
    let mut e =
        engine("export default function C() { return <Text>{useVideoPlaybackState()}</Text>; }");
    assert_eq!(text(&mut e, 0.0), "playing");
    e.stop();
    assert_eq!(text(&mut e, 0.1), "postroll");
}

#[test]
fn room_peers_feed_the_peer_hooks() {
    let mut e = engine(
        "export default function C() { const a = useAudioOnlyPeers().map((p) => p.id).join(','); const u = useUnpausedPeers('screenshare').map((p) => p.id).join(','); return <Text>{'audio:' + a + ' share:' + u}</Text>; }",
    );
    e.set_room_peers(json!([
        {"id": "p1", "displayName": "A", "audio": {"id": "a1", "paused": false}},
        {"id": "p2", "displayName": "B", "video": {"id": "v2", "paused": false}, "audio": {"id": "a2", "paused": false}},
        {"id": "p3", "displayName": "C", "screenshareVideo": {"id": "s3", "paused": false}}
    ]));
    assert_eq!(text(&mut e, 0.0), "audio:p1 share:p3");
}

#[test]
fn endless_state_updates_are_an_error_and_the_composition_is_reported_failed() {
    let mut e = engine(
        "export default function C() { const [n, setN] = useState(0); useEffect(() => { setN(n + 1); }); return <Text>{'n' + n}</Text>; }",
    );
    let err = e.render(0.0).unwrap_err().to_string();
    assert!(err.contains("Maximum update depth exceeded"), "{err}");
    for i in 1..FAILED_AFTER {
        assert!(!e.has_failed());
        let _ = e.render(f64::from(i) / 30.0);
    }
    assert!(e.has_failed());
}

#[test]
fn console_output_does_not_disturb_rendering() {
    let mut e = engine(
        "export default function C() { console.log('hello', { a: 1 }); console.error(new Error('x')); return <Text>ok</Text>; }",
    );
    assert_eq!(text(&mut e, 0.0), "ok");
}

#[test]
fn a_web_frame_composition_exposes_its_interface_and_renders_as_keys_change() {
    // The WebFrame's page and key presses have no producer yet (no browser runs in the
    // recorder); the component still lays out and draws its placeholder frame after frame.
    let src = "import * as React from 'react';\nimport { WebFrame } from '#vcs-react/components';\nimport { useParams } from '#vcs-react/hooks';\nexport const compositionInterface = { displayMeta: { name: 'web' }, params: [{ id: 'k', type: 'text', defaultValue: '' }] };\nexport default function C() { const { k } = useParams(); return <WebFrame src=\"https://example.com\" viewportSize={{ w: 800, h: 600 }} keyPressAction={{ name: 'press', key: k, modifiers: ['Shift'] }} />; }\n";
    let c = Composition::from_sources(
        "web",
        "index.jsx",
        [("index.jsx".to_string(), src.to_string())],
    );
    let mut e = Engine::new(c, common::opts(640, 360, 30)).unwrap();
    assert_eq!(e.interface()["displayMeta"]["name"], json!("web"));
    assert_eq!(e.interface()["params"][0]["id"], json!("k"));
    e.render(0.0).unwrap();
    e.set_params(
        &[("k".to_string(), json!("ArrowRight"))]
            .into_iter()
            .collect(),
    );
    e.render(0.1).unwrap();
    e.render(0.2).unwrap();
}
