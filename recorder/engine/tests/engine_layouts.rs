//! The standard layout functions, pinned by tables.

use serde_json::json;
use vcs_engine::layout::{Frame, LayoutProbe};

fn full(w: u32, h: u32) -> Frame {
    Frame {
        x: 0.0,
        y: 0.0,
        w: w as f64,
        h: h as f64,
    }
}

/// The grid as vcs-api.md §4 states it, written independently of the JS.
fn grid_reference(index: usize, total: usize, w: f64, h: f64) -> (i64, i64, i64, i64) {
    let cols = match total {
        0 | 1 => 1,
        2..=4 => 2,
        5..=9 => 3,
        10..=16 => 4,
        _ => 5,
    };
    let rows = total.div_ceil(cols);
    let auto = if w >= h { h * 0.05 } else { w * 0.04 };
    let (inner, ox) = (auto, auto);
    let oy = if cols == rows { auto * 0.7 } else { auto };
    let mut iw = (w - 2.0 * ox - inner * (cols as f64 - 1.0)) / cols as f64;
    let mut ih = (h - 2.0 * oy - inner * (rows as f64 - 1.0)) / rows as f64;
    let ar = w / h;
    if iw / ih > ar {
        iw = ih * ar;
    } else {
        ih = iw / ar;
    }
    let gw = iw * cols as f64 + inner * (cols as f64 - 1.0);
    let gh = ih * rows as f64 + inner * (rows as f64 - 1.0);
    let (row, col) = (index / cols, index % cols);
    let mut x = (w - gw) / 2.0 + col as f64 * (iw + inner);
    let last = total - (rows - 1) * cols;
    if row == rows - 1 && last < cols {
        x += (cols - last) as f64 * (iw + inner) / 2.0;
    }
    let y = (h - gh) / 2.0 + row as f64 * (ih + inner);
    let (rx, ry) = (x.round(), y.round());
    (
        rx as i64,
        ry as i64,
        ((x + iw).round() - rx) as i64,
        ((y + ih).round() - ry) as i64,
    )
}

#[test]
fn grid_matches_the_spec_for_1_to_20_items_at_three_sizes() {
    let mut p = LayoutProbe::new().unwrap();
    for (w, h) in [(1280, 720), (1920, 1080), (720, 1280)] {
        for total in 1..=20 {
            for index in 0..total {
                let f = p
                    .call(
                        "grid",
                        full(w, h),
                        &json!({"index": index, "total": total}),
                        (w, h),
                    )
                    .unwrap();
                let got = (f.x as i64, f.y as i64, f.w as i64, f.h as i64);
                assert_eq!(
                    got,
                    grid_reference(index, total, w as f64, h as f64),
                    "{w}x{h} total {total} index {index}"
                );
                assert_eq!(
                    (f.x.fract(), f.y.fract(), f.w.fract(), f.h.fract()),
                    (0.0, 0.0, 0.0, 0.0),
                    "integer frames"
                );
            }
        }
    }
}

#[test]
fn grid_pinned_cases() {
    let mut p = LayoutProbe::new().unwrap();
    let mut g = |i: usize, t: usize, w: u32, h: u32| {
        let f = p
            .call("grid", full(w, h), &json!({"index": i, "total": t}), (w, h))
            .unwrap();
        (f.x, f.y, f.w, f.h)
    };
    // one item: 1×1 is square, so the outer y margin is 0.7 × 36; viewport aspect, centred
    assert_eq!(g(0, 1, 1280, 720), (45.0, 25.0, 1190.0, 670.0));
    // 2 items side by side: not square, 36 px all round
    assert_eq!(g(1, 2, 1280, 720), (658.0, 195.0, 586.0, 330.0));
    // 2x2: outer y margin 0.7 × 36
    assert_eq!(g(0, 4, 1280, 720), (59.0, 25.0, 563.0, 317.0));
    assert_eq!(g(3, 4, 1280, 720), (658.0, 378.0, 563.0, 317.0));
    // 3 items: the partial last row is centred
    // (unrounded: left 58.8 + (563.2 + 36) / 2 = 358.4)
    assert_eq!(g(2, 3, 1280, 720), (358.0, 378.0, 564.0, 317.0));
    // portrait: 4 % of the width (28.8 px), items keep the portrait aspect
    assert_eq!(g(0, 2, 720, 1280), (29.0, 358.0, 317.0, 564.0));
}

#[test]
fn grid_explicit_margins_and_stretch() {
    let mut p = LayoutProbe::new().unwrap();
    let f = p
        .call("grid", full(1280, 720), &json!({"index": 1, "total": 2, "innerMargin_gu": 1, "outerMargin_gu": 0, "preserveItemAspectRatio": false}), (1280, 720))
        .unwrap();
    assert_eq!((f.x, f.y, f.w, f.h), (650.0, 0.0, 630.0, 720.0));
}

#[test]
fn splits_column_and_simple_layouts() {
    let mut p = LayoutProbe::new().unwrap();
    let vp = (1280, 720);
    let parent = Frame {
        x: 100.0,
        y: 50.0,
        w: 1000.0,
        h: 600.0,
    };
    type Case = (&'static str, serde_json::Value, (f64, f64, f64, f64));
    let cases: &[Case] = &[
        (
            "splitVertical",
            json!({"index": 0}),
            (100.0, 50.0, 500.0, 600.0),
        ),
        (
            "splitVertical",
            json!({"index": 1, "pos": 0.3, "margin_gu": 1}),
            (410.0, 50.0, 690.0, 600.0),
        ),
        (
            "splitVertical",
            json!({"index": 0, "pos": 0.3, "margin_gu": 1}),
            (100.0, 50.0, 290.0, 600.0),
        ),
        (
            "splitHorizontal",
            json!({"index": 1}),
            (100.0, 350.0, 1000.0, 300.0),
        ),
        (
            "splitAcrossLongerDimension",
            json!({"index": 1}),
            (600.0, 50.0, 500.0, 600.0),
        ),
        ("pad", json!({"pad": 10}), (110.0, 60.0, 980.0, 580.0)),
        (
            "pad",
            json!({"pad_gu": {"l": 1, "r": 2, "t": 0, "b": 0.5}}),
            (120.0, 50.0, 940.0, 590.0),
        ),
        (
            "pad",
            json!({"pad_viewportRelative": {"l": 0.1, "t": 0.1}}),
            (228.0, 122.0, 872.0, 528.0),
        ),
        (
            "offset",
            json!({"offsets": {"x": 5, "y": -5}}),
            (105.0, 45.0, 1000.0, 600.0),
        ),
        ("offset", json!({"x": 7}), (107.0, 50.0, 1000.0, 600.0)),
        (
            "fit",
            json!({"contentAspectRatio": 1.0}),
            (300.0, 50.0, 600.0, 600.0),
        ),
        (
            "fit",
            json!({"contentAspectRatio": 4.0}),
            (100.0, 225.0, 1000.0, 250.0),
        ),
        ("fit", json!({}), (100.0, 50.0, 1000.0, 600.0)),
        // column: outer 0.5 gu = 10, inner 0.7 gu = 14; 3 items in 580 px
        (
            "column",
            json!({"index": 1, "total": 3}),
            (
                110.0,
                50.0 + 10.0 + (580.0 - 28.0) / 3.0 + 14.0,
                980.0,
                (580.0 - 28.0) / 3.0,
            ),
        ),
        (
            "column",
            json!({"index": 0, "total": 2, "makeRow": true, "innerMargin_gu": 0, "outerMargin_gu": 0}),
            (100.0, 50.0, 500.0, 600.0),
        ),
        (
            "column",
            json!({"index": 1, "total": 2, "makeRow": true, "innerMargin_gu": 0, "outerMargin_gu": 0, "itemAspectRatio": 1.0, "center": true}),
            (600.0, 100.0, 500.0, 500.0),
        ),
        (
            "simpleLineGrid",
            json!({"index": 5, "numCols": 4}),
            (350.0, 80.0, 250.0, 30.0),
        ),
    ];
    for (name, params, want) in cases {
        let f = p.call(name, parent, params, vp).unwrap();
        let got = (f.x, f.y, f.w, f.h);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(
            close(got.0, want.0)
                && close(got.1, want.1)
                && close(got.2, want.2)
                && close(got.3, want.3),
            "{name} {params}: got {got:?}, want {want:?}"
        );
    }
}
