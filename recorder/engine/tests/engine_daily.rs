//! Daily compatibility (daily-compat.md): each export and hook with Daily's semantics, and the
//! `--format daily` documents byte for byte. Expected values come from the document's
//! arithmetic and examples, not from our own output.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use serde_json::{Value, json};
use vcs_engine::{Composition, DailyDocuments, Engine};

const IMPORTS: &str = "import * as React from 'react';
import { Box, Text, Image, Video, Emoji, WebFrame } from '#vcs-react/components';
import { useParams, useActiveVideo, useVideoTime, PlaybackStateType, useAudioOnlyPeers,
  useUnpausedPeers, useMediaInput } from '#vcs-react/hooks';
import { RoomContext, RenderingEnvironmentType, RenderEngineType,
  PlaybackStateType as PlaybackStateType2, CompositionDataContext } from '#vcs-react/contexts';
import { pad, grid } from '#vcs-stdlib/layouts';
const at = (x, y, w, h) => [() => ({ x, y, w, h })];
";

/// An engine for `body` (JSX module code after the shared imports) at 1280×720.
fn engine(body: &str) -> Engine {
    let src = format!("{IMPORTS}{body}");
    let c = Composition::from_sources("c", "index.jsx", [("index.jsx".to_string(), src)]);
    let mut e = Engine::new(c, common::opts(1280, 720, 30)).unwrap();
    e.set_daily_format(true);
    e
}

fn docs(e: &mut Engine, t: f64) -> DailyDocuments {
    e.render(t).unwrap();
    e.daily_documents().expect("daily documents").clone()
}

fn commands(d: &DailyDocuments) -> Vec<Value> {
    let v: Value = serde_json::from_str(&d.fg_display_list).unwrap();
    v["commands"].as_array().unwrap().clone()
}

/// Every fillText string of the frame, in order.
fn texts(d: &DailyDocuments) -> Vec<String> {
    commands(d)
        .iter()
        .filter(|c| c[0] == "fillText")
        .map(|c| c[1][0].as_str().unwrap().to_string())
        .collect()
}

/// A composition printing `expr` (JSON) as one line of text.
fn print(expr: &str) -> String {
    let body = format!(
        "export default function C() {{
  const v = ({expr});
  return <Text layout={{at(0, 0, 100000, 100)}}>{{JSON.stringify(v)}}</Text>;
}}"
    );
    let mut e = engine(&body);
    texts(&docs(&mut e, 0.0)).join("")
}

#[test]
fn documents_are_byte_compatible_with_dailys() {
    let mut e = engine(
        "export default function C() {
  const { activeIds } = useActiveVideo();
  return (
    <Box>
      {activeIds.map((id, i) => (
        <Video key={i} src={id} style={{ cornerRadius_px: 25 }}
          layout={[grid, { index: i, total: activeIds.length }]} />
      ))}
      <Box style={{ fillColor: 'rgba(50, 60, 160, 0.9' }}
        layout={at(0, 372.4179614579054, 467.11103328054855, 267.5820385420946)} />
    </Box>
  );
}",
    );
    e.set_video_inputs_json(json!([{"type": "camera"}, {"type": "camera"}]));
    let d = docs(&mut e, 0.0);
    // grid of 2 at 1280×720: {0,185,622,350} and {658,185,622,350} (daily-compat.md §1.7)
    assert_eq!(
        d.video_layers,
        r#"[{"type":"video","id":0,"frame":{"x":0,"y":185,"w":622,"h":350},"attrs":{"cornerRadiusPx":25,"scaleMode":"fill","zoomFactor":1}},{"type":"video","id":1,"frame":{"x":658,"y":185,"w":622,"h":350},"attrs":{"cornerRadiusPx":25,"scaleMode":"fill","zoomFactor":1}}]"#
    );
    assert_eq!(
        d.fg_display_list,
        r#"{"width":1280,"height":720,"commands":[["save"],["beginPath"],["rect",[0,0,1280,720]],["roundRect",[0,185,622,350,25,25,25,25]],["roundRect",[658,185,622,350,25,25,25,25]],["clip",["evenodd"]],["restore"],["save"],["save"],["save"],["fillStyle","rgba(50, 60, 160, 0.9"],["fillRect",[0,372.4179614579054,467.11103328054855,267.5820385420946]],["restore"],["restore"],["restore"]]}"#
    );
    // Our own scene draws the same frame: the unterminated colour does not fail it.
    let scene = e.render(1.0 / 30.0).unwrap().scene;
    assert_eq!(scene.video_layers.len(), 2);
}

#[test]
fn video_attrs_are_written_only_as_daily_writes_them() {
    let mut e = engine(
        "export default function C() {
  return (
    <Box>
      <Video src={3} layout={at(0.4, 10.6, 100.5, 50)} style={{ cornerRadius_px: 0.4 }} blend={{ opacity: 0.5 }} />
      <Video src={'cam'} scaleMode=\"fit\" zoom={2.5} layout={at(0, 0, 10, 10)} style={{ cornerRadius_px: 7.6 }} />
      <Video src={5} blend={{ opacity: 0 }} />
      <Box blend={{ opacity: 0.5 }}><Video src={6} layout={at(0, 0, 1, 1)} /></Box>
    </Box>
  );
}",
    );
    let d = docs(&mut e, 0.0);
    assert_eq!(
        d.video_layers,
        r#"[{"type":"video","id":3,"frame":{"x":0,"y":11,"w":101,"h":50},"attrs":{"scaleMode":"fill","zoomFactor":1,"opacity":0.5}},{"type":"video","id":"cam","frame":{"x":0,"y":0,"w":10,"h":10},"attrs":{"cornerRadiusPx":8,"scaleMode":"fit","zoomFactor":2.5}},{"type":"video","id":6,"frame":{"x":0,"y":0,"w":1,"h":1},"attrs":{"scaleMode":"fill","zoomFactor":1}}]"#
    );
}

#[test]
fn opacity_replaces_and_is_written_even_at_one() {
    let mut e = engine(
        "export default function C() {
  return (
    <Box blend={{ opacity: 0.5 }}>
      <Box blend={{ opacity: 0.5 }} style={{ fillColor: 'white' }} layout={at(0, 0, 10, 10)} />
      <Box blend={{ opacity: 1 }} style={{ fillColor: [1, 2, 3] }} layout={at(0, 0, 10, 10)} />
    </Box>
  );
}",
    );
    let d = docs(&mut e, 0.0);
    let want = json!([
        ["save"],
        ["save"],
        ["globalAlpha", 0.5],
        ["save"],
        ["globalAlpha", 0.5],
        ["fillStyle", "#ffffff"],
        ["fillRect", [0, 0, 10, 10]],
        ["restore"],
        ["save"],
        ["globalAlpha", 1],
        ["fillStyle", "rgba(1, 2, 3, 1)"],
        ["fillRect", [0, 0, 10, 10]],
        ["restore"],
        ["restore"],
        ["restore"]
    ]);
    assert_eq!(Value::Array(commands(&d)), want);
}

#[test]
fn colours_follow_dailys_encoder() {
    let mut e = engine(
        "export default function C() {
  const colours = ['white', 'transparent', 'hsl(0, 50%, 50%)', 'White', '#abc', 'rgb(0 50 80)', 'nonsense'];
  return <Box>{colours.map((c, i) => <Box key={i} style={{ fillColor: c }} layout={at(i, 0, 1, 1)} />)}</Box>;
}",
    );
    let d = docs(&mut e, 0.0);
    let fills: Vec<Value> = commands(&d)
        .into_iter()
        .filter(|c| c[0] == "fillStyle")
        .map(|c| c[1].clone())
        .collect();
    assert_eq!(
        fills,
        [
            json!("#ffffff"),
            json!("#fff"),
            json!("#fff"),
            json!("#fff"),
            json!("#abc"),
            json!("rgb(0 50 80)"),
            json!("#fff")
        ]
    );
}

#[test]
fn box_radius_clips_only_its_own_fill_and_strokes_inset_with_the_same_radius() {
    let mut e = engine(
        "export default function C() {
  return (
    <Box style={{ fillColor: '#102030', cornerRadius_px: 8, strokeColor: 'red', strokeWidth_px: '4' }} layout={at(10, 20, 100, 50)}>
      <Box style={{ fillColor: '#000' }} layout={at(0, 0, 5, 5)} />
    </Box>
  );
}",
    );
    let d = docs(&mut e, 0.0);
    let want = json!([
        ["save"],
        ["save"],
        ["save"],
        ["beginPath"],
        ["roundRect", [10, 20, 100, 50, 8, 8, 8, 8]],
        ["closePath"],
        ["clip", []],
        ["fillStyle", "#102030"],
        ["fillRect", [10, 20, 100, 50]],
        ["restore"],
        ["strokeStyle", "#ff0000"],
        ["lineWidth", 4],
        ["beginPath"],
        ["roundRect", [12, 22, 96, 46, 8, 8, 8, 8]],
        ["stroke"],
        ["save"],
        ["fillStyle", "#000"],
        ["fillRect", [0, 0, 5, 5]],
        ["restore"],
        ["restore"],
        ["restore"]
    ]);
    assert_eq!(Value::Array(commands(&d)), want);
}

#[test]
fn emoji_is_drawn_on_its_baseline_from_the_first_emoji_anywhere() {
    let mut e = engine(
        "export default function C() {
  return <Box><Emoji value=\"abc😀x\" layout={at(10, 20, 40, 40)} /><Emoji value=\"none\" layout={at(0, 0, 9, 9)} /></Box>;
}",
    );
    let d = docs(&mut e, 0.0);
    // baseline round(20 + 0.73·40) = 49, size round(0.83·40) = 33
    let want = json!([
        ["save"],
        ["save"],
        ["save"],
        ["fillStyle", "#ffffff"],
        ["fillText_emoji", ["😀", 10, 49, 33, 33]],
        ["restore"],
        ["restore"],
        ["restore"]
    ]);
    assert_eq!(Value::Array(commands(&d)), want);
}

#[test]
fn images_name_and_missing_assets_as_daily() {
    let mut e = engine(
        "export default function C() {
  return <Box><Image src=\"logo\" layout={at(0, 0, 10, 10)} /><Image src=\"a.b\" layout={at(0, 0, 4, 4)} /></Box>;
}",
    );
    let d = docs(&mut e, 0.0);
    let fills: Vec<Value> = commands(&d)
        .into_iter()
        .filter(|c| c[0] == "fillStyle" || c[0] == "fillRect")
        .collect();
    assert_eq!(
        fills,
        [
            json!(["fillStyle", "rgba(0, 150, 60, 0.5)"]),
            json!(["fillRect", [0, 0, 10, 10]]),
            json!(["fillStyle", "rgba(0, 150, 60, 0.5)"]),
            json!(["fillRect", [0, 0, 4, 4]])
        ]
    );
}

#[test]
fn text_font_op_carries_weight_and_style_as_given_and_an_integer_size() {
    let mut e = engine(
        "export default function C() {
  return (
    <Box>
      <Text style={{ fontSize_px: 30.4, fontSize_gu: 1.5, fontWeight: '300', fontStyle: 'italic' }} layout={at(0, 0, 1000, 100)}>A</Text>
      <Text style={{ fontSize_px: 17.5 }} layout={at(0, 0, 1000, 100)}>B</Text>
      <Text layout={at(0, 0, 1000, 100)}>{['a', null, false, 0]}</Text>
      <Text layout={at(0, 0, 1000, 100)}>{0}</Text>
    </Box>
  );
}",
    );
    let d = docs(&mut e, 0.0);
    let fonts: Vec<Value> = commands(&d)
        .into_iter()
        .filter(|c| c[0] == "font")
        .map(|c| c[1].clone())
        .collect();
    // gu beats px (1.5 gu = 30 px); px rounds (17.5 -> 18); no size is 1 gu = 20 px
    assert_eq!(
        fonts,
        [
            json!(["300", "italic", 30, "Roboto"]),
            json!(["", "", 18, "Roboto"]),
            json!(["", "", 20, "Roboto"])
        ]
    );
    assert_eq!(texts(&d), ["A", "B", "a  false 0"]);
    for c in commands(&d).iter().filter(|c| c[0] == "fillText") {
        assert!(
            c[1][1].is_i64() && c[1][2].is_i64(),
            "integer text positions: {c}"
        );
    }
}

#[test]
fn use_params_splits_at_the_first_dot_only() {
    let src = "export const compositionInterface = { params: [
  { id: 'videoSettings.highlight.color', type: 'text', defaultValue: 'red' },
  { id: 'plain', type: 'number', defaultValue: 3 },
  { id: 'noDefault', type: 'text' } ] };
export default function C() {
  const p = useParams();
  return <Text layout={at(0, 0, 100000, 100)}>{JSON.stringify([p.videoSettings, p.plain, 'noDefault' in p])}</Text>;
}";
    let mut e = engine(src);
    assert_eq!(
        texts(&docs(&mut e, 0.0)).join(""),
        r#"[{"highlight.color":"red"},3,false]"#
    );
}

#[test]
fn use_active_video_picks_as_daily() {
    let body = "export default function C() {
  const a = useActiveVideo({ maxCamStreams: 1 });
  const b = useActiveVideo({ maxCamStreams: 0, preferScreenshare: true, omitPaused: true });
  return <Text layout={at(0, 0, 100000, 100)}>{JSON.stringify([a.activeIds, a.dominantId, a.maxSimultaneousVideoInputs,
    b.activeIds, b.dominantId, a.displayNamesById, a.frameSizesById[0]])}</Text>;
}";
    let mut e = engine(body);
    e.set_video_inputs_json(json!([
        {"type": "camera", "displayName": "zero"},
        false,
        {"type": "screenshare", "id": "s", "dominant": true},
        {"type": "camera", "id": "p", "paused": true},
        {"type": "camera", "id": "d", "dominant": true}
    ]));
    // a: camera 0 (cap 1), screenshare s; camera p over the cap is dropped; dominant camera d
    //    replaces the last entry (s); the dominant id is s (the first dominant, any type).
    // b: cap 0 means 25; paused p omitted; screenshares first.
    assert_eq!(
        texts(&docs(&mut e, 0.0)).join(""),
        r#"[[0,"d"],"s",5,["s",0,"d"],"s",{"0":"zero"},{"w":0,"h":0}]"#
    );
}

#[test]
fn peers_hooks_use_track_ids() {
    let body = "export default function C() {
  const a = useAudioOnlyPeers().map((p) => p.id);
  const u = useUnpausedPeers().map((p) => p.id);
  const v = useUnpausedPeers('video').map((p) => p.id);
  return <Text layout={at(0, 0, 100000, 100)}>{JSON.stringify([a, u, v])}</Text>;
}";
    let mut e = engine(body);
    e.set_room_peers(json!([
        {"id": "audioOnly", "video": {"id": null, "paused": false}, "audio": {"id": "a1", "paused": true}},
        {"id": "pausedVideo", "video": {"id": "v2", "paused": true}, "audio": {"id": "a2", "paused": false}},
        {"id": "empty", "video": {"id": null, "paused": false}, "audio": {"id": null, "paused": false}}
    ]));
    assert_eq!(
        texts(&docs(&mut e, 0.0)).join(""),
        r#"[["audioOnly"],["pausedVideo"],[]]"#
    );
}

#[test]
fn enums_have_dailys_members() {
    let got = print(
        "[PlaybackStateType === PlaybackStateType2, PlaybackStateType, RenderingEnvironmentType, RenderEngineType]",
    );
    assert_eq!(
        got,
        r#"[true,{"PLAYING":"playing","POSTROLL":"postroll"},{"UNKNOWN":"","OFFLINE":"offline","MEDIA_SERVER":"media-server","PARTICIPANT_CLIENT":"participant-client","PASSIVE_VIEWER_CLIENT":"passive-viewer-client"},{"UNKNOWN":"","LEGACY_GST":"legacy-gst","VCSRENDER":"vcsrender"}]"#
    );
}

#[test]
fn random_seed_gives_dailys_sequence() {
    // daily-compat.md §1.8: Daily's values for this seed.
    let body = "import Rand from 'random-seed';
export default function C() {
  const a = Rand.create('this is the random seed');
  const b = Rand('this is the random seed');
  const xs = [a.random(), a.random(), a.random()].map((x) => x.toFixed(5));
  return <Text layout={at(0, 0, 100000, 100)}>{xs.join(' ') + ' ' + (b.random() === Rand.create('this is the random seed').random())}</Text>;
}";
    let mut e = engine(body);
    assert_eq!(
        texts(&docs(&mut e, 0.0)).join(""),
        "0.31029 0.38363 0.10713 true"
    );
}

#[test]
fn uuid_has_the_packages_functions() {
    // Name-based ids are fixed by RFC 4122 (these are Python's documented examples).
    let body = "import { v3, v5, v4, v7, validate, version, parse, stringify, NIL, MAX, v1, v6, v1ToV6, v6ToV1 } from 'uuid';
export default function C() {
  const one = v1();
  const out = [v5('python.org', v5.DNS), v3('python.org', v3.DNS), validate(v4()), version(v4()), version(v7()),
    stringify(parse(MAX)), validate(NIL), v6ToV1(v1ToV6(one)) === one, version(v6())];
  return <Text layout={at(0, 0, 100000, 100)}>{JSON.stringify(out)}</Text>;
}";
    let mut e = engine(body);
    assert_eq!(
        texts(&docs(&mut e, 0.0)).join(""),
        r#"["886313e1-3b8a-5372-9b90-0c9aee199e5d","6fa459ea-ee8a-3ca4-894e-db77e160355e",true,4,7,"ffffffff-ffff-ffff-ffff-ffffffffffff",true,true,6]"#
    );
}

/// A composition importing every name daily-compat.md §1 lists links and renders.
#[test]
fn every_daily_export_links() {
    let src = "import React, { Fragment, StrictMode, Profiler, Suspense, Children, Component, PureComponent,
  __SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED, cloneElement, createContext, createElement,
  createFactory, createRef, forwardRef, isValidElement, lazy, memo, useCallback, useContext,
  useDebugValue, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useReducer, useRef,
  useState, version } from 'react';
import { Box, Emoji, Image, Text, Video, WebFrame } from '#vcs-react/components';
import { useParams, useStandardSources, useVideoTime, useVideoPlaybackState, PlaybackStateType,
  useMediaInput, useViewportSize, useGrid, useActiveVideo, useAudioOnlyPeers,
  useUnpausedPeers } from '#vcs-react/hooks';
import { CompositionDataContext, TimeContext, PlaybackStateType as P2, MediaInputContext,
  RoomContext, RenderingEnvironmentType, RenderEngineType } from '#vcs-react/contexts';
import { debug } from '#vcs-stdlib/components';
import { pad, offset, fit, splitVertical, splitHorizontal, splitAcrossLongerDimension, column, grid,
  simpleLineGrid } from '#vcs-stdlib/layouts';
import { MAX, NIL, parse, stringify, v1, v1ToV6, v3, v4, v5, v6, v6ToV1, v7, validate,
  version as uuidVersion } from 'uuid';
import Rand from 'random-seed';
export default function C() {
  const room = useContext(RoomContext);
  return (
    <StrictMode>
      <Box id=\"root\">
        <debug.MediaInputPrintout layout={[splitVertical, { index: 0 }]} />
        <debug.RoomPrintout room={room} layout={[splitVertical, { index: 1 }]} />
      </Box>
    </StrictMode>
  );
}";
    let c = Composition::from_sources(
        "c",
        "index.jsx",
        [("index.jsx".to_string(), src.to_string())],
    );
    let mut e = Engine::new(c, common::opts(1280, 720, 30)).unwrap();
    e.set_daily_format(true);
    e.set_video_inputs_json(json!([{"type": "camera", "id": "a", "dominant": true}, {"type": "screenshare", "id": "b", "paused": true}]));
    e.set_room_peers(json!([{"id": "p1", "displayName": "Ann", "video": {"id": "v1", "paused": false}, "audio": {"id": "a1", "paused": true}}]));
    let d = docs(&mut e, 0.0);
    let t = texts(&d);
    let header = format!(
        "Video inputs{}[viewport = 1280*720, px/gu = 20]",
        " ".repeat(9)
    );
    assert_eq!(
        t,
        [
            header.as_str(),
            "D 1: a (camera)",
            "2: b (screenshare)",
            "Room peers",
            "id = p1",
            "\"Ann\"",
            "video v1",
            "audio a1 (paused)",
        ],
        "{}",
        d.fg_display_list
    );
}

#[test]
fn layout_context_hooks_follow_daily() {
    // The container stacks its children (Text boxes measured, interval 10); the box around it
    // hugs its content with the padding added back; the viewport has x/y; NaN params are deleted
    // so the default applies; useChildSizes is null in the first pass.
    let body = "const stack = (p, params, ctx) => { ctx.useChildStacking({ direction: 'y', interval_px: 10 }); return p; };
const hug = (p, params, ctx) => { const c = ctx.useContentSize(); return { x: p.x, y: p.y, w: c.w, h: c.h }; };
const seen = [];
const probe = (p, { v = 'default' }, ctx) => { seen.push([ctx.viewport, v, ctx.useChildSizes()]); return p; };
export default function C() {
  return (
    <Box>
      <Box id=\"hug\" style={{ fillColor: 'red' }} layout={[hug]}>
        <Box layout={[pad, { pad: 5 }]}>
          <Box layout={[stack]}>
            <Box layout={at(0, 0, 30, 40)} />
            <Box style={{ fillColor: 'blue' }} layout={[(p) => ({ x: p.x, y: p.y, w: 50, h: 20 })]} />
          </Box>
        </Box>
      </Box>
      <Box layout={[probe, { v: NaN }]} />
      <Seen />
    </Box>
  );
}
// Layout runs after rendering: the second frame shows what the first frame's passes saw.
function Seen() {
  useVideoTime();
  return <Text layout={at(0, 600, 100000, 100)}>{JSON.stringify(seen.slice(0, 2))}</Text>;
}";
    let mut e = engine(body);
    docs(&mut e, 0.0);
    let d = docs(&mut e, 1.0 / 30.0);
    let rects: Vec<Value> = commands(&d)
        .into_iter()
        .filter(|c| c[0] == "fillRect")
        .map(|c| c[1].clone())
        .collect();
    // content: stacked 40 + 10 + 20 = 70 high, 50 wide; padding 5 each side added back
    assert_eq!(rects, [json!([0, 0, 60, 80]), json!([5, 55, 50, 20])]);
    assert_eq!(
        texts(&d).join(""),
        r#"[[{"x":0,"y":0,"w":1280,"h":720},"default",null],[{"x":0,"y":0,"w":1280,"h":720},"default",[]]]"#
    );
}
