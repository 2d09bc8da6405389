//! Golden PNG tests for the display-list renderer, one per op family.
//!
//! Each case draws a display list and compares it with `tests/golden/<name>.png`
//! (per-channel tolerance, a small share of pixels may differ). On failure the actual frame
//! and a diff image are written under the target tmp dir and their paths printed.
//! Regenerate references with `VCS_BLESS=1 cargo test -p vcs-render --test render_golden`.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]
#![recursion_limit = "512"]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tiny_skia::Pixmap;
use vcs_render::still::draw_document;
use vcs_render::{Assets, draw_display_list};
use vcs_scene::display_list_from_json;
use vcs_text::Fonts;

/// Largest per-channel difference that still counts as equal.
const CHANNEL_TOLERANCE: u8 = 6;
/// Share of pixels allowed beyond the tolerance (anti-aliasing noise across machines).
const MAX_DIFF_SHARE: f64 = 0.001;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("render-golden");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 160×120 PNG with transparency, built here rather than checked in: a blue disc on a
/// transparent field with a yellow bar.
/// The generated image fixtures, written once per test process: tests run side by side, and
/// one rewriting `disc.png` while another decodes it drew a torn image (a flaky `golden_images`).
fn png_fixture_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(write_png_fixtures).clone()
}

fn write_png_fixtures() -> PathBuf {
    let dir = out_dir().join("assets");
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut p = Pixmap::new(160, 120).unwrap();
    let mut paint = tiny_skia::Paint::default();
    paint.set_color_rgba8(30, 136, 229, 255);
    let disc = tiny_skia::PathBuilder::from_circle(80.0, 60.0, 50.0).unwrap();
    p.fill_path(
        &disc,
        &paint,
        tiny_skia::FillRule::Winding,
        tiny_skia::Transform::identity(),
        None,
    );
    paint.set_color_rgba8(253, 216, 53, 200);
    p.fill_rect(
        tiny_skia::Rect::from_xywh(0.0, 50.0, 160.0, 20.0).unwrap(),
        &paint,
        tiny_skia::Transform::identity(),
        None,
    );
    p.save_png(dir.join("images/disc.png")).unwrap();
    // A 40×30 vector logo: drawn enlarged it must stay sharp.
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" viewBox="0 0 40 30">
        <rect x="1" y="1" width="38" height="28" rx="6" fill="#7e57c2" stroke="#fff" stroke-width="1.5"/>
        <path d="M8 22 L16 8 L24 22 Z" fill="#ffca28"/>
        <circle cx="30" cy="15" r="5" fill="none" stroke="#4dd0e1" stroke-width="2"/>
    </svg>"##;
    std::fs::write(dir.join("images/logo.svg"), svg).unwrap();
    dir
}

fn assets() -> Assets {
    let png = png_fixture_dir();
    Assets::from_dirs(vec![png.join("images"), golden_dir().join("assets")])
}

fn render(w: u32, h: u32, commands: Value, assets: &Assets) -> Pixmap {
    let (lw, lh, list) =
        display_list_from_json(&json!({"width": w, "height": h, "commands": commands}))
            .expect("test list is valid");
    let mut p = Pixmap::new(lw, lh).unwrap();
    p.fill(tiny_skia::Color::from_rgba8(24, 28, 36, 255));
    draw_display_list(&mut p, &list, lw, lh, &Fonts::system(), assets);
    p
}

/// Compares with the reference (or writes it under VCS_BLESS=1).
fn check(name: &str, actual: &Pixmap) {
    let reference = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("VCS_BLESS").is_some() {
        actual.save_png(&reference).unwrap();
        return;
    }
    let expected = Pixmap::load_png(&reference).unwrap_or_else(|e| {
        panic!(
            "{name}: no reference {} ({e}); run with VCS_BLESS=1",
            reference.display()
        )
    });
    let actual_path = out_dir().join(format!("{name}.actual.png"));
    if (expected.width(), expected.height()) != (actual.width(), actual.height()) {
        actual.save_png(&actual_path).unwrap();
        panic!(
            "{name}: size {}×{} differs from the reference {}×{}; actual at {}",
            actual.width(),
            actual.height(),
            expected.width(),
            expected.height(),
            actual_path.display()
        );
    }
    let mut diff = Pixmap::new(actual.width(), actual.height()).unwrap();
    let mut bad = 0usize;
    for ((a, e), d) in actual
        .data()
        .chunks_exact(4)
        .zip(expected.data().chunks_exact(4))
        .zip(diff.data_mut().chunks_exact_mut(4))
    {
        let worst = a
            .iter()
            .zip(e)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        if worst > CHANNEL_TOLERANCE {
            bad += 1;
            d.copy_from_slice(&[255, 0, 0, 255]);
        } else {
            // The reference, faded, so differences can be located.
            let g = (u16::from(e[0]) + u16::from(e[1]) + u16::from(e[2])) / 12;
            d.copy_from_slice(&[g as u8, g as u8, g as u8, 255]);
        }
    }
    let total = (actual.width() * actual.height()) as usize;
    if bad as f64 > total as f64 * MAX_DIFF_SHARE {
        let diff_path = out_dir().join(format!("{name}.diff.png"));
        actual.save_png(&actual_path).unwrap();
        diff.save_png(&diff_path).unwrap();
        panic!(
            "{name}: {bad} of {total} pixels differ from {} by more than {CHANNEL_TOLERANCE}; \
             actual {}, diff {}",
            reference.display(),
            actual_path.display(),
            diff_path.display()
        );
    }
}

#[test]
fn golden_paths() {
    let p = render(
        320,
        200,
        json!([
            ["fillStyle", "#42a5f5"],
            ["beginPath"],
            ["rect", [10, 10, 60, 40]],
            ["fill"],
            ["beginPath"],
            ["roundRect", [80, 10, 90, 60, 0, 10, 20, 30]],
            ["fill"],
            ["strokeStyle", "#ffca28"],
            ["lineWidth", 4],
            ["stroke"],
            ["beginPath"],
            ["moveTo", [190, 20]],
            ["lineTo", [300, 20]],
            ["lineTo", [245, 70]],
            ["closePath"],
            ["fillStyle", "#66bb6a"],
            ["fill"],
            ["beginPath"],
            ["moveTo", [10, 120]],
            ["quadraticCurveTo", [60, 60, 110, 120]],
            ["lineWidth", 3],
            ["strokeStyle", "#ef5350"],
            ["stroke"],
            ["beginPath"],
            ["moveTo", [130, 180]],
            ["arcTo", [130, 100, 210, 100, 30]],
            ["arcTo", [290, 100, 290, 180, 50]],
            ["lineTo", [290, 180]],
            ["lineWidth", 6],
            ["strokeStyle", "#ab47bc"],
            ["stroke"],
            ["lineWidth", 12],
            ["strokeStyle", "#ffffff"],
            ["lineJoin", "miter"],
            ["beginPath"],
            ["moveTo", [20, 190]],
            ["lineTo", [40, 150]],
            ["lineTo", [60, 190]],
            ["stroke"],
            ["lineJoin", "round"],
            ["beginPath"],
            ["moveTo", [70, 190]],
            ["lineTo", [90, 150]],
            ["lineTo", [110, 190]],
            ["stroke"],
            ["lineJoin", "bevel"],
            ["beginPath"],
            ["moveTo", [120, 190]],
            ["lineTo", [140, 150]],
            ["lineTo", [160, 190]],
            ["stroke"],
            ["lineWidth", 2],
            ["strokeStyle", "#26c6da"],
            ["strokeRect", [180, 130, 40, 40]],
            ["fillStyle", "#8d6e63"],
            ["fillRect", [230, 130, 40, 40]],
        ]),
        &Assets::none(),
    );
    check("paths", &p);
}

#[test]
fn golden_clips() {
    let p = render(
        320,
        200,
        json!([
            ["save"],
            ["beginPath"],
            ["roundRect", [10, 10, 140, 180, 40, 40, 40, 40]],
            ["clip", []],
            ["fillStyle", "#42a5f5"],
            ["fillRect", [0, 0, 320, 200]],
            ["beginPath"],
            ["rect", [60, 0, 200, 100]],
            ["clip", []],
            ["fillStyle", "#ffca28"],
            ["fillRect", [0, 0, 320, 200]],
            ["restore"],
            ["save"],
            ["beginPath"],
            ["rect", [170, 10, 140, 180]],
            ["rect", [200, 50, 80, 100]],
            ["clip", ["evenodd"]],
            ["fillStyle", "#66bb6a"],
            ["fillRect", [0, 0, 320, 200]],
            ["restore"],
            ["fillStyle", "rgba(255,255,255,0.8)"],
            ["fillRect", [150, 90, 40, 20]],
        ]),
        &Assets::none(),
    );
    check("clips", &p);
}

#[test]
fn golden_transforms() {
    let mut cmds = vec![];
    for i in 0..8 {
        cmds.extend([
            json!(["save"]),
            json!(["translate", [160, 100]]),
            json!(["rotate", [i as f64 * std::f64::consts::PI / 4.0]]),
            json!(["scale", [1.0 + i as f64 * 0.1, 1.0]]),
            json!(["fillStyle", format!("hsl({}, 70%, 55%)", i * 45)]),
            json!(["fillRect", [30, -6, 50, 12]]),
            json!(["restore"]),
        ]);
    }
    cmds.extend([
        json!(["save"]),
        json!(["translate", [40, 160]]),
        json!(["scale", [2, 0.5]]),
        json!(["beginPath"]),
        json!(["roundRect", [-15, -30, 30, 60, 10, 10, 10, 10]]),
        json!(["lineWidth", 4]),
        json!(["strokeStyle", "#ffffff"]),
        json!(["stroke"]),
        json!(["restore"]),
    ]);
    let p = render(320, 200, Value::Array(cmds.clone()), &Assets::none());
    check("transforms", &p);

    // The same list authored at 320×200, drawn at 640×400: scaled, not cropped.
    let (_, _, list) =
        display_list_from_json(&json!({"width": 320, "height": 200, "commands": cmds})).unwrap();
    let mut big = Pixmap::new(640, 400).unwrap();
    big.fill(tiny_skia::Color::from_rgba8(24, 28, 36, 255));
    draw_display_list(&mut big, &list, 320, 200, &Fonts::system(), &Assets::none());
    check("transforms_scaled_2x", &big);
}

#[test]
fn golden_alpha() {
    let p = render(
        320,
        120,
        json!([
            ["fillStyle", "#ffffff"],
            ["globalAlpha", 0.25],
            ["fillRect", [10, 10, 60, 100]],
            ["save"],
            ["globalAlpha", 0.5],
            ["fillRect", [80, 10, 60, 100]],
            ["save"],
            ["globalAlpha", 1.0],
            ["fillRect", [150, 10, 60, 100]],
            ["restore"],
            ["fillRect", [220, 10, 40, 100]],
            ["restore"],
            ["fillStyle", "rgba(255, 80, 80, 0.5)"],
            ["fillRect", [265, 10, 45, 100]],
            ["globalAlpha", 1.0],
            ["fillStyle", "#42a5f5"],
            ["globalAlpha", 0.6],
            ["fillRect", [0, 50, 320, 20]],
        ]),
        &Assets::none(),
    );
    check("alpha", &p);
}

/// The strings every text check runs on: one per script family the issue names.
const SAMPLES: &[(&str, &str)] = &[
    ("latin", "Quick brown fox — ÀÉÎõü"),
    ("arabic", "مرحبا بالعالم"),
    ("hebrew", "שלום עולם"),
    ("cjk", "你好世界 こんにちは カタカナ"),
    ("devanagari", "नमस्ते दुनिया"),
    ("emoji", "Hi 😀🎉👍🏽"),
];

fn font(size: f32) -> vcs_scene::FontSpec {
    vcs_scene::FontSpec {
        weight: 400,
        italic: false,
        size_px: size,
        family: "Roboto".into(),
    }
}

#[test]
fn golden_text_scripts_with_measured_boxes() {
    // Each sample drawn on its baseline with the measured width shown as a bar below it:
    // the ink must sit on the bar.
    let fonts = Fonts::system();
    let mut cmds = vec![json!(["font", ["400", "", 28, "Roboto"]])];
    for (i, (_, text)) in SAMPLES.iter().enumerate() {
        let y = 40.0 + i as f32 * 48.0;
        let w = fonts.measure(text, &font(28.0));
        cmds.extend([
            json!(["fillStyle", "#ef5350"]),
            json!(["fillRect", [20, y + 4.0, w, 3]]),
            json!(["fillStyle", "#ffffff"]),
            json!(["fillText", [text, 20, y]]),
        ]);
    }
    let p = render(480, 300, Value::Array(cmds), &Assets::none());
    check("text_scripts", &p);
}

#[test]
fn golden_text_styles() {
    let p = render(
        480,
        260,
        json!([
            ["fillStyle", "#ffffff"],
            ["font", ["300", "", 30, "Roboto"]],
            ["fillText", ["Light 300", 20, 40]],
            ["font", ["700", "", 30, "Roboto"]],
            ["fillText", ["Bold 700", 200, 40]],
            ["font", ["400", "italic", 30, "Roboto"]],
            ["fillText", ["Italic", 20, 85]],
            ["font", ["400", "italic", 30, "DejaVu Sans Mono"]],
            ["fillText", ["Mono italic", 200, 85]],
            ["font", ["500", "", 30, "DMSans"]],
            ["fillText", ["Missing family", 20, 130]],
            ["font", ["900", "", 44, "Roboto"]],
            ["strokeStyle", "#ef5350"],
            ["lineWidth", 6],
            ["lineJoin", "round"],
            ["strokeText", ["Outline", 20, 190]],
            ["fillText", ["Outline", 20, 190]],
            ["save"],
            ["translate", [330, 200]],
            ["rotate", [-0.3]],
            ["scale", [1.5, 1.5]],
            ["font", ["400", "", 20, "Roboto"]],
            ["fillStyle", "#ffca28"],
            ["fillText", ["Turned", 0, 0]],
            ["restore"],
            ["globalAlpha", 0.5],
            ["font", ["400", "", 20, "Roboto"]],
            ["fillText", ["half alpha", 20, 240]],
        ]),
        &Assets::none(),
    );
    check("text_styles", &p);
}

/// `fillText_emoji` y is the baseline (Daily's meaning): these boxes start at the same tops as
/// before the baseline change (y − 0.88·h), so the golden picture is unchanged.
#[test]
fn golden_emoji() {
    let p = render(
        320,
        120,
        json!([
            ["fillText_emoji", ["😀", 10, 98, 100, 100]],
            ["fillText_emoji", ["🎉", 120, 82.8, 60, 60]],
            ["save"],
            ["globalAlpha", 0.5],
            ["fillText_emoji", ["👍", 190, 75.2, 40, 40]],
            ["restore"],
            ["save"],
            ["translate", [280, 60]],
            ["rotate", [0.5]],
            ["fillText_emoji", ["🚀", -25, 19, 50, 50]],
            ["restore"],
        ]),
        &Assets::none(),
    );
    check("emoji", &p);
}

#[test]
fn golden_images() {
    let assets = assets();
    let p = render(
        480,
        260,
        json!([
            ["drawImage", [{"type": "compositionAsset", "id": "disc"}, 10, 10, 160, 120]],
            ["drawImage", [{"type": "compositionAsset", "id": "photo.jpg"}, 180, 10, 160, 120]],
            // 9-argument crop: the centre of the photo, enlarged.
            ["drawImage", [{"type": "compositionAsset", "id": "photo"}, 40, 30, 80, 60, 350, 10, 120, 90]],
            ["save"], ["globalAlpha", 0.5],
            ["drawImage", [{"type": "compositionAsset", "id": "photo"}, 10, 140, 120, 90]],
            ["restore"],
            ["save"],
            ["beginPath"], ["roundRect", [150, 140, 120, 90, 30, 30, 30, 30]], ["clip", []],
            ["drawImage", [{"type": "compositionAsset", "id": "photo"}, 150, 140, 120, 90]],
            ["restore"],
            ["drawImage", [{"type": "compositionAsset", "id": "missing-logo"}, 290, 140, 120, 90]],
        ]),
        &assets,
    );
    check("images", &p);
}

#[test]
fn golden_images_svg() {
    let assets = assets();
    let p = render(
        320,
        160,
        json!([
            ["drawImage", [{"type": "compositionAsset", "id": "logo"}, 10, 10, 40, 30]],
            ["drawImage", [{"type": "compositionAsset", "id": "logo.svg"}, 60, 10, 240, 140]],
            // 9-argument crop of the triangle, in the SVG's own units.
            ["drawImage", [{"type": "compositionAsset", "id": "logo"}, 6, 6, 20, 18, 10, 60, 40, 36]],
        ]),
        &assets,
    );
    check("images_svg", &p);
    assert_eq!(assets.intrinsic_size("logo"), Some((40, 30)));
}

#[test]
fn images_have_intrinsic_sizes() {
    let assets = assets();
    assert_eq!(assets.intrinsic_size("disc"), Some((160, 120)));
    assert_eq!(assets.intrinsic_size("photo.jpg"), Some((160, 120)));
    assert_eq!(assets.intrinsic_size("photo"), Some((160, 120)));
    assert_eq!(assets.intrinsic_size("missing-logo"), None);
    assert_eq!(assets.intrinsic_size("../assets/photo.jpg"), None);
}

/// The ink of `text` drawn alone must lie on [x, x + measure]: a side bearing's worth of
/// slack at each end, no more (an RTL run drawn right-to-left of x, or a fallback glyph
/// measured with one font and drawn with another, would break this).
#[test]
fn measured_width_equals_drawn_width_for_every_script() {
    let fonts = Fonts::system();
    let size = 40.0;
    for (name, text) in SAMPLES.iter().chain(&[("mixed", "abc שלום 123 مرحبا xyz")]) {
        let width = fonts.measure(text, &font(size));
        assert_eq!(width, fonts.drawable_run(text, &font(size)).width, "{name}");
        let x0 = 50.0;
        let p = render(
            (width + 100.0) as u32,
            100,
            json!([
                ["font", ["400", "", size, "Roboto"]],
                ["fillStyle", "#ffffff"],
                ["fillText", [text, x0, 70]]
            ]),
            &Assets::none(),
        );
        // Background is opaque dark grey; ink is anything noticeably brighter or coloured.
        let inked_cols: Vec<u32> = (0..p.width())
            .filter(|&x| {
                (0..p.height()).any(|y| {
                    let c = p.pixel(x, y).unwrap();
                    c.red().max(c.green()).max(c.blue()) > 120
                })
            })
            .collect();
        let (left, right) = (
            inked_cols[0] as f32,
            *inked_cols.last().unwrap() as f32 + 1.0,
        );
        let slack = size * 0.15;
        assert!(
            (left - x0).abs() <= slack && (right - (x0 + width)).abs() <= slack,
            "{name}: ink spans {left}..{right}, measured {x0}..{}",
            x0 + width
        );
    }
}

#[test]
fn draw_cli_renders_a_scene_with_video_placeholders() {
    let scene = json!({
        "width": 640, "height": 360,
        "background": {"commands": [["fillStyle", "#1a237e"], ["fillRect", [0, 0, 640, 360]]]},
        "videoLayers": [
            {"id": "alice", "frame": {"x": 20, "y": 20, "w": 290, "h": 220},
             "attrs": {"scaleMode": "fill", "zoomFactor": 1, "cornerRadiusPx": 16, "opacity": 1}},
            {"id": "bob", "frame": {"x": 330, "y": 20, "w": 290, "h": 220},
             "attrs": {"scaleMode": "fit", "zoomFactor": 1, "cornerRadiusPx": 0, "opacity": 0.6}}
        ],
        "foreground": {"commands": [
            ["font", ["500", "", 28, "Roboto"]], ["fillStyle", "#ffffff"],
            ["fillText", ["Foreground title", 20, 300]],
            ["drawImage", [{"type": "compositionAsset", "id": "photo"}, 500, 260, 120, 90]]
        ]}
    });
    let fonts = Fonts::system();
    let photo = golden_dir().join("assets");
    let with_photo = Assets::from_dirs(vec![photo.clone(), photo.join("images")]);
    let drawn = draw_document(&scene, None, &fonts, &with_photo).unwrap();
    check("cli_scene", &drawn);

    // The Daily export shape and a --size override.
    let daily = json!({
        "videoLayers": scene["videoLayers"],
        "fgDisplayList": {"width": 640, "height": 360, "commands": scene["foreground"]["commands"]}
    });
    let small = draw_document(&daily, Some((320, 180)), &fonts, &Assets::none()).unwrap();
    assert_eq!((small.width(), small.height()), (320, 180));
    check("cli_daily_small", &small);

    let err = draw_document(&json!({"nope": 1}), None, &fonts, &Assets::none()).unwrap_err();
    assert!(err.to_string().contains("not a display list"), "{err}");
}

/// A document in Daily's format (as `scene --format daily` writes it, integer layer ids and
/// the clip-out prologue) draws text, emoji on their baseline and translucent fills where
/// Daily's document says they go. Checked by eye once (`daily_document.png`), and by pixels.
#[test]
fn golden_daily_document() {
    let doc = json!({
        "videoLayers": [
            {"type": "video", "id": 0, "frame": {"x": 20, "y": 20, "w": 280, "h": 160},
             "attrs": {"cornerRadiusPx": 12, "scaleMode": "fill", "zoomFactor": 1}}
        ],
        "fgDisplayList": {"width": 480, "height": 270, "commands": [
            ["save"], ["beginPath"], ["rect", [0, 0, 480, 270]],
            ["roundRect", [20, 20, 280, 160, 12, 12, 12, 12]], ["clip", ["evenodd"]],
            ["fillStyle", "#1a237e"], ["fillRect", [0, 0, 480, 270]],
            ["restore"],
            ["save"],
            // a translucent fill over the video hole
            ["save"], ["fillStyle", "rgba(255, 255, 255, 0.5)"], ["fillRect", [200, 100, 160, 60]], ["restore"],
            // globalAlpha replaces: 0.5 inside 0.5 is 0.5
            ["save"], ["globalAlpha", 0.5], ["save"], ["globalAlpha", 0.5],
            ["fillStyle", "#ff0000"], ["fillRect", [320, 20, 140, 60]], ["restore"], ["restore"],
            // Daily's unterminated colour: alpha reads 0, nothing is drawn
            ["save"], ["fillStyle", "rgba(50, 60, 160, 0.9"], ["fillRect", [320, 100, 140, 60]], ["restore"],
            // text and an emoji run on one baseline (y = 230), and an Emoji component's box
            ["save"], ["fillStyle", "#ffffff"], ["font", ["", "", 30, "Roboto"]],
            ["fillText", ["Hello", 20, 230]],
            ["fillText_emoji", ["😀", 100, 230, 30, 30]],
            ["fillStyle", "#ffffff"], ["font", ["700", "italic", 30, "Roboto"]],
            ["fillText", ["bold", 140, 230]],
            ["restore"],
            ["save"], ["fillStyle", "#ffffff"], ["fillText_emoji", ["🎉", 380, 233, 66, 66]], ["restore"],
            ["restore"]
        ]}
    });
    let fonts = Fonts::system();
    let p = draw_document(&doc, None, &fonts, &Assets::none()).unwrap();
    let px = |x: u32, y: u32| {
        let c = p.pixel(x, y).unwrap();
        [c.red(), c.green(), c.blue()]
    };
    // The unterminated colour drew nothing: the background shows.
    assert_eq!(
        px(390, 130),
        px(390, 200),
        "rgba(50, 60, 160, 0.9 must not paint"
    );
    // Nested globalAlpha 0.5 is half red over the background, not a quarter.
    let [r, _, b] = px(390, 50);
    assert!(
        (130..=150).contains(&r) && b < 80,
        "half red: {:?}",
        px(390, 50)
    );
    // Emoji sit on the baseline: ink of the 30 px emoji lies within y 230-26 .. 230+4.
    let ink = |x0: u32, x1: u32, y: u32| {
        (x0..x1).any(|x| {
            let [r, g, b] = px(x, y);
            r > 120 && g > 80 && b < 120
        })
    };
    assert!(ink(100, 130, 218), "emoji above the baseline");
    assert!(
        !ink(100, 130, 238) && !ink(100, 130, 198),
        "emoji only around its baseline"
    );
    check("daily_document", &p);
}
