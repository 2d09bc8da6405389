//! Engine frame cost (harness = false, std::time, median of many frames).
//!
//! A composition with 9 video inputs, 6 text elements and one animated element at 1920×1080:
//! - full frame: a param the root reads changes every frame, so every component re-renders,
//!   then layout and scene emission and validation run;
//! - time frame: only time advances; the animated element re-renders;
//! - idle frame: nothing changed and nothing reads time.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use vcs_engine::{Composition, Engine, VideoInputSlot, VideoKind};

const COMPOSITION: &str = r#"
import * as React from 'react';
import { Box, Text, Video } from '#vcs-react/components';
import { useActiveVideo, useParams, useVideoTime } from '#vcs-react/hooks';
import { grid, pad } from '#vcs-stdlib/layouts';

export const compositionInterface = { params: [
  { id: 'title', type: 'text', defaultValue: 'Bench' },
  { id: 'animate', type: 'boolean', defaultValue: true },
] };

function Mover() {
  const t = useVideoTime();
  return <Box id="mover" layout={[moverLayout, { t }]} style={{ fillColor: '#f80', cornerRadius_px: 6 }} />;
}
function moverLayout(p, { t }) {
  return { x: p.x + 100 + 400 * Math.abs(Math.sin(t)), y: p.y + 900, w: 120, h: 60 };
}

export default function Bench() {
  const { activeIds, displayNamesById } = useActiveVideo();
  const { title, animate } = useParams();
  return (
    <Box id="root" style={{ fillColor: '#111' }}>
      {activeIds.map((id, index) => (
        <Video key={id} src={id} layout={[grid, { index, total: activeIds.length }]} />
      ))}
      {activeIds.slice(0, 5).map((id, index) => (
        <Box key={id} layout={[grid, { index, total: activeIds.length }]}>
          <Text layout={[pad, { pad_gu: 1 }]} style={{ fontSize_gu: 1.2 }}>{displayNamesById[id]}</Text>
        </Box>
      ))}
      <Text id="title" layout={[pad, { pad_gu: 2 }]} style={{ fontSize_gu: 2, textAlign: 'center' }}>{title}</Text>
      {animate ? <Mover /> : null}
    </Box>
  );
}
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Nine 720p cameras, the first one speaking.
fn nine_cameras() -> Vec<VideoInputSlot> {
    (0..9)
        .map(|i| VideoInputSlot {
            id: format!("p{i}"),
            kind: VideoKind::Camera,
            display_name: format!("Participant {i}"),
            paused: false,
            dominant: i == 0,
            frame_size: (1280, 720),
        })
        .collect()
}

fn engine(animate: bool) -> Engine {
    let c = Composition::from_sources(
        "bench",
        "index.jsx",
        [("index.jsx".to_string(), COMPOSITION.to_string())],
    );
    let opts = common::opts(1920, 1080, 30);
    let mut e = Engine::new(c, opts).expect("bench composition loads");
    e.set_video_inputs(nine_cameras());
    e.set_params(&BTreeMap::from([(
        "animate".to_string(),
        serde_json::json!(animate),
    )]));
    e.render(0.0).expect("first frame");
    e
}

/// Milliseconds each frame of `frames` took to render (at `fps`), with `before` run ahead of
/// each frame, untimed (a param change, say), and `check` run on each rendered frame.
fn time_frames(
    e: &mut Engine,
    frames: std::ops::RangeInclusive<usize>,
    fps: f64,
    mut before: impl FnMut(&mut Engine, usize),
    check: impl Fn(&vcs_engine::FrameScene),
) -> Vec<f64> {
    frames
        .map(|i| {
            before(e, i);
            let t = Instant::now();
            let f = e.render(i as f64 / fps).expect("frame");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            check(&f);
            ms
        })
        .collect()
}

/// Sets one param to a string.
fn set_param(e: &mut Engine, key: &str, value: String) {
    e.set_params(&BTreeMap::from([(
        key.to_string(),
        serde_json::json!(value),
    )]));
}

fn main() {
    const N: usize = 300;
    let fps = 30.0;
    let no_change = |_: &mut Engine, _| {};
    let any = |_: &vcs_engine::FrameScene| {};

    let mut e = engine(true);
    let title = |e: &mut Engine, i| set_param(e, "title", format!("Bench {i}"));
    let full = time_frames(&mut e, 1..=N, fps, title, any);
    let time_only = time_frames(&mut e, N + 1..=2 * N, fps, no_change, any);

    let mut e = engine(false);
    let idle = time_frames(&mut e, 1..=N, fps, no_change, |f| {
        assert!(!f.foreground_changed && !f.background_changed && !f.video_layers_changed);
    });

    // The built-in baseline, grid of 9 with labels, banner and sidebar: a param change
    // re-renders everything.
    let mut e = Engine::new(
        Composition::resolve("baseline").expect("baseline"),
        common::opts(1920, 1080, 30),
    )
    .expect("baseline loads");
    e.set_video_inputs(nine_cameras());
    let on = |k: &str| (k.to_string(), serde_json::json!(true));
    e.set_params(&BTreeMap::from([
        on("videoSettings.showParticipantLabels"),
        on("showBannerOverlay"),
        on("showSidebar"),
    ]));
    e.render(0.0).expect("first frame");
    let banner = |e: &mut Engine, i| set_param(e, "banner.title", format!("Title {i}"));
    let baseline_full = time_frames(&mut e, 1..=N, fps, banner, any);
    let baseline_idle = time_frames(&mut e, N + 1..=2 * N, fps, no_change, any);

    // The built-in demo as the real-input recorder bench runs it (issue 20): four 720p cameras
    // at 1280×720; only its countdown reads time, and its text changes once a second.
    let mut e = Engine::new(
        Composition::resolve("demo").expect("demo"),
        common::opts(1280, 720, 30),
    )
    .expect("demo loads");
    e.set_video_inputs(nine_cameras().into_iter().take(4).collect());
    e.render(0.0).expect("first frame");
    let demo_time = time_frames(&mut e, 1..=2 * N, fps, no_change, any);

    println!("engine bench: 9 videos, 6 texts, 1 animated element, 1920x1080, {N} frames each");
    println!(
        "  full re-render frame (JS render + layout + scene): median {:.3} ms (target <= 2 ms)",
        median(full)
    );
    println!(
        "  time-only frame (animated element re-renders):     median {:.3} ms",
        median(time_only)
    );
    println!(
        "  nothing-changed frame:                             median {:.4} ms (target <= 0.1 ms)",
        median(idle)
    );
    println!(
        "  baseline, grid of 9 + labels/banner/sidebar, param change: median {:.3} ms",
        median(baseline_full)
    );
    println!(
        "  baseline, same, nothing changed:                   median {:.4} ms",
        median(baseline_idle)
    );
    println!(
        "  demo, 4 cameras at 1280x720, only time advances:   median {:.3} ms",
        median(demo_time)
    );
}
