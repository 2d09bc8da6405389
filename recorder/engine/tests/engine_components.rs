//! How each component becomes display-list commands and video layers (vcs-api.md §7).
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use serde_json::{Value, json};
use vcs_engine::{Composition, Engine, FrameScene};
use vcs_text::Fonts;

fn render(jsx: &str, images: &[(&str, (u32, u32))]) -> FrameScene {
    let src = format!(
        "import * as React from 'react';\nimport {{ Box, Text, Image, Video, Emoji, WebFrame }} from '#vcs-react/components';\nimport {{ pad }} from '#vcs-stdlib/layouts';\nconst at = (x, y, w, h) => [() => ({{ x, y, w, h }})];\nexport default function C() {{\n  return ({jsx});\n}}\n"
    );
    let mut c = Composition::from_sources("c", "index.jsx", [("index.jsx".to_string(), src)]);
    for (name, size) in images {
        c.images.insert(name.to_string(), Some(*size));
    }
    let mut e = Engine::new(c, common::opts(640, 360, 30)).unwrap();
    e.render(0.0).unwrap()
}

fn bg(f: &FrameScene) -> Value {
    serde_json::to_value(&f.scene.background.commands).unwrap()
}
fn fg(f: &FrameScene) -> Value {
    serde_json::to_value(&f.scene.foreground.commands).unwrap()
}

/// The first op named `name`.
fn first<'a>(ops: &'a Value, name: &str) -> &'a Value {
    ops.as_array()
        .and_then(|a| a.iter().find(|o| o[0] == name))
        .unwrap_or_else(|| panic!("no {name} in {ops}"))
}

// Every stratum is wrapped in the root's save/restore and every node in its own (Daily's
// structure, daily-compat.md §3.2).

#[test]
fn box_fill_inset_stroke_and_rounded_clip() {
    let f = render(
        "<Box layout={at(10, 20, 100, 50)} style={{ fillColor: '#ff0000', strokeColor: 'blue', strokeWidth_px: 4 }} />",
        &[],
    );
    assert_eq!(
        bg(&f),
        json!([
            ["save"],
            ["save"],
            ["fillStyle", "rgba(255, 0, 0, 1)"],
            ["fillRect", [10.0, 20.0, 100.0, 50.0]],
            ["strokeStyle", "rgba(0, 0, 255, 1)"],
            ["lineWidth", 4.0],
            ["strokeRect", [12.0, 22.0, 96.0, 46.0]],
            ["restore"],
            ["restore"]
        ])
    );
    let f = render(
        "<Box layout={at(0, 0, 100, 50)} style={{ fillColor: [0, 128, 0, 0.5], cornerRadius_px: 8 }} />",
        &[],
    );
    assert_eq!(
        bg(&f),
        json!([
            ["save"],
            ["save"],
            ["save"],
            ["beginPath"],
            ["roundRect", [0.0, 0.0, 100.0, 50.0, 8.0, 8.0, 8.0, 8.0]],
            ["closePath"],
            ["clip", []],
            ["fillStyle", "rgba(0, 128, 0, 0.5)"],
            ["fillRect", [0.0, 0.0, 100.0, 50.0]],
            ["restore"],
            ["restore"],
            ["restore"]
        ])
    );
}

#[test]
fn transform_clip_and_opacity_wrap_the_node_and_its_children() {
    let f = render(
        "<Box layout={at(0, 0, 100, 100)} transform={{ rotate_deg: 90, scale: 2 }} clip blend={{ opacity: 0.5 }}><Box style={{ fillColor: '#fff' }} blend={{ opacity: 0.5 }} /><Box style={{ fillColor: '#000' }} blend={{ opacity: 0 }} /></Box>",
        &[],
    );
    let rot = std::f64::consts::FRAC_PI_2 as f32 as f64;
    // opacity replaces (0.5 inside 0.5 is 0.5), as Canvas globalAlpha
    assert_eq!(
        bg(&f),
        json!([
            ["save"],
            ["save"],
            ["globalAlpha", 0.5],
            ["translate", [50.0, 50.0]],
            ["rotate", [rot]],
            ["scale", [2.0, 2.0]],
            ["translate", [-50.0, -50.0]],
            ["beginPath"],
            ["rect", [0.0, 0.0, 100.0, 100.0]],
            ["clip", []],
            ["save"],
            ["globalAlpha", 0.5],
            ["fillStyle", "rgba(255, 255, 255, 1)"],
            ["fillRect", [0.0, 0.0, 100.0, 100.0]],
            ["restore"],
            ["save"],
            ["globalAlpha", 0.0],
            ["fillStyle", "rgba(0, 0, 0, 1)"],
            ["fillRect", [0.0, 0.0, 100.0, 100.0]],
            ["restore"],
            ["restore"],
            ["restore"]
        ])
    );
}

#[test]
fn text_sets_font_and_colour_draws_stroke_first_and_aligns() {
    let f = render(
        "<Text layout={at(0, 0, 600, 100)} style={{ fontSize_px: 30, fontWeight: 'bold', fontStyle: 'italic', fontFamily: 'DejaVu Sans', textColor: 'yellow', strokeColor: 'black', strokeWidth_px: 2, textAlign: 'center' }}>Hello</Text>",
        &[],
    );
    let ops = bg(&f);
    let names: Vec<&str> = ops
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o[0].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "save",
            "save",
            "strokeStyle",
            "lineWidth",
            "lineJoin",
            "font",
            "strokeText",
            "fillStyle",
            "font",
            "fillText",
            "restore",
            "restore"
        ]
    );
    assert_eq!(ops[5][1], json!(["700", "italic", 30.0, "DejaVu Sans"]));
    assert_eq!(ops[7][1], json!("rgba(255, 255, 0, 1)"));
    let fonts = Fonts::system();
    let spec = vcs_scene::FontSpec {
        weight: 700,
        italic: true,
        size_px: 30.0,
        family: "DejaVu Sans".into(),
    };
    let w = fonts.measure("Hello", &spec);
    let x = ops[9][1][1].as_f64().unwrap();
    assert_eq!(
        x,
        ((600.0 - w as f64) / 2.0).round(),
        "centred, whole pixels"
    );
    assert_eq!(ops[6][1], ops[9][1], "stroke and fill at the same place");
}

#[test]
fn text_wraps_at_its_frame_width_one_fill_text_per_line() {
    let f = render(
        "<Text layout={at(0, 0, 120, 300)} style={{ fontSize_px: 20, lineHeight_rel: 1.5 }}>one two three four five six</Text>",
        &[],
    );
    let ops = bg(&f);
    let lines: Vec<&Value> = ops
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o[0] == "fillText")
        .collect();
    assert!(lines.len() >= 2, "{ops}");
    let y0 = lines[0][1][2].as_f64().unwrap();
    let y1 = lines[1][1][2].as_f64().unwrap();
    assert_eq!(y1 - y0, 30.0, "line height 1.5 × 20");
    assert_eq!(first(&ops, "font")[1], json!(["400", "", 20.0, "Roboto"]));
}

#[test]
fn default_text_size_is_one_grid_unit_and_white() {
    let f = render("<Text>hi</Text>", &[]);
    let ops = bg(&f);
    assert_eq!(
        first(&ops, "font")[1],
        json!(["400", "", 10.0, "Roboto"]),
        "360p: 1 gu = 10 px"
    );
    assert_eq!(first(&ops, "fillStyle")[1], json!("rgba(255, 255, 255, 1)"));
}

#[test]
fn image_fit_fill_and_stretch() {
    let imgs = [("logo.png", (200, 100))];
    let draw = |jsx: &str| first(&bg(&render(jsx, &imgs)), "drawImage")[1].clone();
    assert_eq!(
        draw("<Image src=\"logo\" layout={at(0, 0, 100, 100)} />"),
        json!([{"type": "compositionAsset", "id": "logo.png"}, 0.0, 25.0, 100.0, 50.0])
    );
    assert_eq!(
        draw("<Image src=\"logo.png\" scaleMode=\"fill\" layout={at(0, 0, 100, 100)} />"),
        json!([{"type": "compositionAsset", "id": "logo.png"}, 50.0, 0.0, 100.0, 100.0, 0.0, 0.0, 100.0, 100.0])
    );
    assert_eq!(
        draw("<Image src=\"logo\" scaleMode=\"stretch\" layout={at(0, 0, 100, 100)} />"),
        json!([{"type": "compositionAsset", "id": "logo.png"}, 0.0, 0.0, 100.0, 100.0])
    );
}

#[test]
fn videos_become_layers_and_split_the_strata() {
    let f = render(
        "<Box id=\"outer\" layout={at(0, 0, 640, 360)} blend={{ opacity: 0.5 }} style={{ fillColor: '#111' }}>
           <Video src=\"a\" layout={at(10.4, 10.6, 300, 200)} scaleMode=\"fit\" zoom={9} style={{ cornerRadius_px: 12 }} />
           <Video src=\"b\" zoom={9} layout={at(0, 0, 10, 10)} />
           <Video src=\"hidden\" blend={{ opacity: 0 }} />
           <Text>after</Text>
         </Box>",
        &[],
    );
    // A video's opacity is its own (the box's 0.5 is not multiplied in); our scene clamps the
    // zoom to what the compositor does (1..4), in fit too.
    let layers = serde_json::to_value(&f.scene.video_layers).unwrap();
    assert_eq!(
        layers,
        json!([
            {"id": "a", "frame": {"x": 10, "y": 11, "w": 300, "h": 200}, "attrs": {"scaleMode": "fit", "zoomFactor": 4.0, "cornerRadiusPx": 12.0, "opacity": 1.0}},
            {"id": "b", "frame": {"x": 0, "y": 0, "w": 10, "h": 10}, "attrs": {"scaleMode": "fill", "zoomFactor": 4.0, "cornerRadiusPx": 0.0, "opacity": 1.0}}
        ])
    );
    // background: the box up to the first video; the foreground walk opens it again (state only)
    assert_eq!(
        bg(&f),
        json!([
            ["save"],
            ["save"],
            ["globalAlpha", 0.5],
            ["fillStyle", "rgba(17, 17, 17, 1)"],
            ["fillRect", [0.0, 0.0, 640.0, 360.0]],
            ["restore"],
            ["restore"]
        ])
    );
    let fg = fg(&f);
    assert_eq!(fg[1], json!(["save"]));
    assert_eq!(fg[2], json!(["globalAlpha", 0.5]));
    assert!(fg.to_string().contains("after"));
    assert!(
        !fg.to_string().contains("fillRect"),
        "the box's fill is background only"
    );
    let count = |name: &str| {
        fg.as_array()
            .unwrap()
            .iter()
            .filter(|o| o[0] == name)
            .count()
    };
    assert_eq!(count("save"), count("restore"));
}

#[test]
fn emoji_and_webframe() {
    let f = render(
        "<Box><Emoji value=\"👍🏽 and more\" layout={at(0, 0, 40, 20)} /><WebFrame src=\"https://example.com\" layout={at(0, 0, 320, 360)} /></Box>",
        &[],
    );
    let ops = bg(&f);
    // Daily's Emoji: baseline round(0.73·20) = 15, size round(0.83·40) × round(0.83·20)
    assert_eq!(
        first(&ops, "fillText_emoji")[1],
        json!(["👍🏽", 0.0, 15.0, 33.0, 17.0])
    );
    assert_eq!(
        first(&ops, "drawImage")[1],
        json!([{"type": "liveAsset", "id": "webframe"}, 0.0, 90.0, 320.0, 180.0])
    );
}

#[test]
fn nodes_without_layout_fill_their_parent() {
    let f = render(
        "<Box layout={at(5, 6, 70, 80)}><Box style={{ fillColor: 'red' }} /></Box>",
        &[],
    );
    assert_eq!(
        first(&bg(&f), "fillRect"),
        &json!(["fillRect", [5.0, 6.0, 70.0, 80.0]])
    );
}

#[test]
fn layout_hooks_get_a_second_pass() {
    let f = render(
        "<Box id=\"wrap\" layout={[(p, _, ctx) => { const s = ctx.useContentSize(); return { x: 0, y: 0, w: s.w + 10, h: s.h + 10 }; }]} style={{ fillColor: 'red' }}>
           <Text layout={[(p, _, ctx) => { const s = ctx.useIntrinsicSize(); return { x: p.x + 5, y: p.y + 5, w: s.w, h: s.h }; }]} style={{ fontSize_px: 20 }}>Sized</Text>
         </Box>",
        &[],
    );
    let fonts = Fonts::system();
    let spec = vcs_scene::FontSpec {
        weight: 400,
        italic: false,
        size_px: 20.0,
        family: "Roboto".into(),
    };
    // the Text contributes its measured box (width rounded up) at its offset of 5
    let w = (fonts.measure("Sized", &spec) as f64).ceil();
    let ops = bg(&f);
    let rect = &first(&ops, "fillRect")[1];
    assert_eq!(
        rect[2].as_f64().unwrap(),
        w + 15.0,
        "{rect} vs text width {w}"
    );
}

#[test]
fn emoji_in_text_are_drawn_as_squares_between_text_runs() {
    let f = render(
        "<Text layout={at(0, 0, 600, 100)} style={{ fontSize_px: 20 }}>Hi 👋🏽 there 🇫🇷!</Text>",
        &[],
    );
    let ops = bg(&f);
    let draw: Vec<(String, String)> = ops
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o[0] == "fillText" || o[0] == "fillText_emoji")
        .map(|o| {
            (
                o[0].as_str().unwrap().to_string(),
                o[1][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("fillText", "Hi "),
        ("fillText_emoji", "👋🏽"),
        ("fillText", " there "),
        ("fillText_emoji", "🇫🇷"),
        ("fillText", "!"),
    ];
    assert_eq!(draw, expect.map(|(a, b)| (a.to_string(), b.to_string())));
    let emoji = ops
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o[0] == "fillText_emoji")
        .unwrap();
    assert_eq!(
        (emoji[1][3].as_f64(), emoji[1][4].as_f64()),
        (Some(20.0), Some(20.0))
    );
}
