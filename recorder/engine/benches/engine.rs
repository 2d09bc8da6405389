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

fn engine(animate: bool) -> Engine {
    let c = Composition::from_sources(
        "bench",
        "index.jsx",
        [("index.jsx".to_string(), COMPOSITION.to_string())],
    );
    let opts = common::opts(1920, 1080, 30);
    let mut e = Engine::new(c, opts).expect("bench composition loads");
    e.set_video_inputs(
        (0..9)
            .map(|i| VideoInputSlot {
                id: format!("p{i}"),
                kind: VideoKind::Camera,
                display_name: format!("Participant {i}"),
                paused: false,
                dominant: i == 0,
                frame_size: (1280, 720),
            })
            .collect(),
    );
    e.set_params(&BTreeMap::from([(
        "animate".to_string(),
        serde_json::json!(animate),
    )]));
    e.render(0.0).expect("first frame");
    e
}

fn main() {
    const N: usize = 300;
    let fps = 30.0;

    let mut e = engine(true);
    let mut full = Vec::with_capacity(N);
    for i in 1..=N {
        e.set_params(&BTreeMap::from([(
            "title".to_string(),
            serde_json::json!(format!("Bench {i}")),
        )]));
        let t = Instant::now();
        e.render(i as f64 / fps).expect("frame");
        full.push(t.elapsed().as_secs_f64() * 1e3);
    }

    let mut time_only = Vec::with_capacity(N);
    for i in N + 1..=2 * N {
        let t = Instant::now();
        e.render(i as f64 / fps).expect("frame");
        time_only.push(t.elapsed().as_secs_f64() * 1e3);
    }

    let mut e = engine(false);
    let mut idle = Vec::with_capacity(N);
    for i in 1..=N {
        let t = Instant::now();
        let f = e.render(i as f64 / fps).expect("frame");
        idle.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(!f.foreground_changed && !f.background_changed && !f.video_layers_changed);
    }

    // The built-in baseline, grid of 9 with labels, banner and sidebar: a param change
    // re-renders everything.
    let mut e = Engine::new(
        Composition::resolve("baseline").expect("baseline"),
        common::opts(1920, 1080, 30),
    )
    .expect("baseline loads");
    e.set_video_inputs(
        (0..9)
            .map(|i| VideoInputSlot {
                id: format!("p{i}"),
                kind: VideoKind::Camera,
                display_name: format!("Participant {i}"),
                paused: false,
                dominant: i == 0,
                frame_size: (1280, 720),
            })
            .collect(),
    );
    let on = |k: &str| (k.to_string(), serde_json::json!(true));
    e.set_params(&BTreeMap::from([
        on("videoSettings.showParticipantLabels"),
        on("showBannerOverlay"),
        on("showSidebar"),
    ]));
    e.render(0.0).expect("first frame");
    let mut baseline_full = Vec::with_capacity(N);
    for i in 1..=N {
        e.set_params(&BTreeMap::from([(
            "banner.title".to_string(),
            serde_json::json!(format!("Title {i}")),
        )]));
        let t = Instant::now();
        e.render(i as f64 / fps).expect("frame");
        baseline_full.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut baseline_idle = Vec::with_capacity(N);
    for i in N + 1..=2 * N {
        let t = Instant::now();
        e.render(i as f64 / fps).expect("frame");
        baseline_idle.push(t.elapsed().as_secs_f64() * 1e3);
    }

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
}
