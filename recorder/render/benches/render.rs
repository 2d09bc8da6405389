//! Foreground rasterisation cost at 1920×1080: 40 boxes (mixed rounded corners and strokes),
//! 10 text runs and 3 images — target ≤ 4 ms — and the unchanged-frame cost (≈ 0).
//!
//! `cargo bench -p vcs-render --bench render` (plain std::time, median of N runs).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vcs_render::{Assets, StratumRenderer};
use vcs_scene::{DisplayList, display_list_from_json};
use vcs_text::Fonts;

const W: u32 = 1920;
const H: u32 = 1080;
const RUNS: usize = 60;

/// The foreground list; `variant` shifts one box so consecutive lists differ (forcing a
/// rasterisation) while text and images stay warm in their caches, as in a live recording.
fn foreground(variant: u32, parts: Parts) -> DisplayList {
    let mut c: Vec<Value> = Vec::new();
    // An always-changing op, so every variant rasterises even with some parts left out.
    c.push(json!(["fillRect", [0, 0, 1 + variant, 1]]));
    for i in (0..40u32).filter(|_| parts.boxes) {
        let (col, row) = (i % 8, i / 8);
        let (x, y) = (40.0 + col as f32 * 230.0, 40.0 + row as f32 * 200.0);
        let x = if i == 0 { x + variant as f32 } else { x };
        let r = [0.0, 8.0, 24.0, 60.0][(i % 4) as usize];
        c.extend([
            json!(["save"]),
            json!(["globalAlpha", if i % 5 == 0 { 0.7 } else { 1.0 }]),
            json!(["fillStyle", format!("hsl({}, 60%, 45%)", i * 9)]),
            json!(["beginPath"]),
            json!(["roundRect", [x, y, 210, 170, r, r, r, r]]),
            json!(["fill"]),
        ]);
        if i % 2 == 0 {
            c.extend([
                json!(["strokeStyle", "#ffffff"]),
                json!(["lineWidth", 3]),
                json!(["stroke"]),
            ]);
        }
        c.push(json!(["restore"]));
    }
    let texts = [
        "Alice Johnson",
        "Bob — speaking",
        "مرحبا بالعالم",
        "שלום עולם",
        "你好世界",
        "नमस्ते दुनिया",
        "Live from the studio 🎙️",
        "Q&A in 5 minutes",
        "Recording… 00:12:34",
        "VCS lower third",
    ];
    for (i, t) in texts.iter().enumerate().filter(|_| parts.text) {
        c.extend([
            json!([
                "font",
                [if i % 2 == 0 { "700" } else { "400" }, "", 36, "Roboto"]
            ]),
            json!(["fillStyle", "#ffffff"]),
            json!(["fillText", [t, 60 + (i % 2) * 900, 980 - (i / 2) * 50]]),
        ]);
    }
    for (i, id) in ["photo", "photo.jpg", "photo"]
        .iter()
        .enumerate()
        .filter(|_| parts.images)
    {
        c.push(json!(["drawImage", [{"type": "compositionAsset", "id": id}, 1300 + i * 200, 60, 180, 135]]));
    }
    display_list_from_json(&json!({"width": W, "height": H, "commands": c}))
        .expect("bench list is valid")
        .2
}

#[derive(Clone, Copy)]
struct Parts {
    boxes: bool,
    text: bool,
    images: bool,
}

const ALL: Parts = Parts {
    boxes: true,
    text: true,
    images: true,
};

/// Median ms to rasterise alternating variants of the list (caches warm).
fn changed_ms(r: &mut StratumRenderer, parts: Parts) -> f64 {
    let lists = [foreground(0, parts), foreground(1, parts)];
    r.render(&lists[1], W, H);
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let t = Instant::now();
        let (_, done) = r.render(&lists[i % 2], W, H);
        times.push(t.elapsed());
        assert!(done);
    }
    median(times)
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let assets_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/assets");
    let fonts = Fonts::system();
    let mut r = StratumRenderer::new(W, H, fonts, Assets::from_dirs(vec![assets_dir]));

    let first = foreground(7, ALL);
    let t = Instant::now();
    assert!(r.render(&first, W, H).1);
    let cold = t.elapsed().as_secs_f64() * 1000.0;

    let changed = changed_ms(&mut r, ALL);

    let mut unchanged = Vec::with_capacity(RUNS);
    let same = foreground(0, ALL);
    r.render(&same, W, H);
    for _ in 0..RUNS {
        let t = Instant::now();
        let (_, done) = r.render(&same, W, H);
        unchanged.push(t.elapsed());
        assert!(!done);
    }

    let none = Parts {
        boxes: false,
        text: false,
        images: false,
    };
    let only = |p: fn(&mut Parts)| {
        let mut parts = none;
        p(&mut parts);
        parts
    };
    println!("render 1920x1080 foreground: 40 boxes, 10 text runs, 3 images");
    println!("  first frame (cold caches, decode, shaping): {cold:.2} ms");
    println!("  changed frame, median of {RUNS}: {changed:.2} ms (target <= 4 ms)");
    println!(
        "  unchanged frame, median of {RUNS}: {:.4} ms",
        median(unchanged)
    );
    println!("  breakdown (median ms, each includes the clear):");
    println!("    clear only  {:.2}", changed_ms(&mut r, none));
    println!(
        "    boxes only  {:.2}",
        changed_ms(&mut r, only(|p| p.boxes = true))
    );
    println!(
        "    text only   {:.2}",
        changed_ms(&mut r, only(|p| p.text = true))
    );
    println!(
        "    images only {:.2}",
        changed_ms(&mut r, only(|p| p.images = true))
    );
}
