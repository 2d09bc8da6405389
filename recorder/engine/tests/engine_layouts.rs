//! The standard layout functions against Daily's arithmetic (daily-compat.md §1.7), pinned by
//! tables: a grid reference written here from the document's words, the document's own examples
//! (which match Daily's golden files), and hand-computed cases for every function.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use serde_json::{Value, json};
use vcs_engine::layout::{Frame, LayoutProbe};

fn full(w: u32, h: u32) -> Frame {
    Frame {
        x: 0.0,
        y: 0.0,
        w: w as f64,
        h: h as f64,
    }
}

/// Daily's grid in the document's words: columns by total, margins only above one item, the
/// automatic margins from the viewport, the shared grid-item routine with remainder centring,
/// x/y floored and w/h ceiled.
fn grid_reference(index: usize, total: usize, vw: f64, vh: f64) -> (f64, f64, f64, f64) {
    let cols = match total {
        t if t > 16 => 5,
        t if t > 9 => 4,
        t if t > 4 => 3,
        t if t > 1 => 2,
        _ => 1,
    };
    let rows = total.div_ceil(cols);
    let (mut inner, mut oy) = (0.0, 0.0);
    if total > 1 {
        let landscape = vw / vh > 1.0;
        let rel = if landscape {
            (vh * 0.05).round()
        } else {
            vw * 0.04
        };
        inner = rel;
        if cols == rows {
            oy = if landscape {
                (rel * 0.7).round()
            } else {
                rel.round()
            };
        }
    }
    let (mut x, mut y, w, h) = (0.0, oy, vw, vh - 2.0 * oy);
    let aspect = vw / vh;
    let (c, r) = (cols as f64, rows as f64);
    let (iw, ih);
    if c * aspect / r >= w / h {
        iw = (w - (c - 1.0) * inner) / c;
        ih = iw / aspect;
        y += (h - (r * ih + (r - 1.0) * inner)) / 2.0;
    } else {
        ih = (h - (r - 1.0) * inner) / r;
        iw = ih * aspect;
        x += (w - (c * iw + (c - 1.0) * inner)) / 2.0;
    }
    let (col, row) = (index % cols, index / cols);
    let rem = total % cols;
    if rem > 0 && row == rows - 1 {
        x += (iw + inner) * (cols - rem) as f64 / 2.0;
    }
    x += col as f64 * (iw + inner);
    y += row as f64 * (ih + inner);
    (x.floor(), y.floor(), iw.ceil(), ih.ceil())
}

fn call(
    p: &mut LayoutProbe,
    name: &str,
    parent: Frame,
    params: &Value,
    vp: (u32, u32),
) -> (f64, f64, f64, f64) {
    let f = p.call(name, parent, params, vp).unwrap();
    (f.x, f.y, f.w, f.h)
}

#[test]
fn grid_matches_dailys_arithmetic_for_1_to_20_items_at_five_sizes() {
    let mut p = LayoutProbe::new().unwrap();
    for (w, h) in [
        (1280, 720),
        (1920, 1080),
        (720, 1280),
        (1000, 1000),
        (640, 360),
    ] {
        for total in 1..=20 {
            for index in 0..total {
                let got = call(
                    &mut p,
                    "grid",
                    full(w, h),
                    &json!({"index": index, "total": total}),
                    (w, h),
                );
                assert_eq!(
                    got,
                    grid_reference(index, total, w as f64, h as f64),
                    "{w}x{h} total {total} index {index}"
                );
            }
        }
    }
}

#[test]
fn grid_and_column_match_dailys_examples() {
    let mut p = LayoutProbe::new().unwrap();
    let vp = (1280, 720);
    let mut g = |params: Value| call(&mut p, "grid", full(1280, 720), &params, vp);
    // daily-compat.md §1.7, = golden baseline-modes/vcs-output_0_videolayers.json
    assert_eq!(
        g(json!({"index": 0, "total": 4})),
        (58.0, 25.0, 564.0, 317.0)
    );
    // one item fills the parent, even with explicit margins
    assert_eq!(
        g(json!({"index": 0, "total": 1})),
        (0.0, 0.0, 1280.0, 720.0)
    );
    assert_eq!(
        g(json!({"index": 0, "total": 1, "innerMargin_gu": 2, "outerMargin_gu": 2})),
        (0.0, 0.0, 1280.0, 720.0)
    );
    assert_eq!(
        g(json!({"index": 0, "total": 2})),
        (0.0, 185.0, 622.0, 350.0)
    );
    // total 0: a copy of the parent
    assert_eq!(
        g(json!({"index": 0, "total": 0})),
        (0.0, 0.0, 1280.0, 720.0)
    );
    // explicit margins, stretched items: outer 20 all round, inner 20, 2 columns of 610 × 680
    assert_eq!(
        g(
            json!({"index": 1, "total": 2, "innerMargin_gu": 1, "outerMargin_gu": 1, "preserveItemAspectRatio": false})
        ),
        (650.0, 20.0, 610.0, 680.0)
    );
    // the dominant layout's chiclets (= golden baseline-modes/vcs-output_10_videolayers.json)
    let parent = Frame {
        x: 1024.0,
        y: 0.0,
        w: 256.0,
        h: 720.0,
    };
    let ys: Vec<_> = (0..3)
        .map(|i| {
            call(
                &mut p,
                "column",
                parent,
                &json!({"index": i, "total": 5}),
                vp,
            )
        })
        .collect();
    assert_eq!(
        ys,
        [
            (1034.0, 10.0, 236.0, 129.0),
            (1034.0, 152.0, 236.0, 129.0),
            (1034.0, 295.0, 236.0, 129.0)
        ]
    );
}

#[test]
fn splits_pad_offset_fit_column_and_line_grid() {
    let mut p = LayoutProbe::new().unwrap();
    let land = (1280, 720);
    let portrait = (720, 1280);
    let parent = Frame {
        x: 100.0,
        y: 50.0,
        w: 1000.0,
        h: 600.0,
    };
    type Case = (&'static str, Value, (u32, u32), (f64, f64, f64, f64));
    let third = 1000.0 / 3.0;
    let cases: &[Case] = &[
        (
            "splitVertical",
            json!({"index": 0}),
            land,
            (100.0, 50.0, 500.0, 600.0),
        ),
        // the document's example: margin after the pos line, 294 / x+314 686
        (
            "splitVertical",
            json!({"index": 0, "pos": 0.3, "margin_gu": 1}),
            land,
            (100.0, 50.0, 294.0, 600.0),
        ),
        (
            "splitVertical",
            json!({"index": 1, "pos": 0.3, "margin_gu": 1}),
            land,
            (414.0, 50.0, 686.0, 600.0),
        ),
        // an undefined index is the second part
        (
            "splitVertical",
            json!({}),
            land,
            (600.0, 50.0, 500.0, 600.0),
        ),
        (
            "splitHorizontal",
            json!({"index": 1}),
            land,
            (100.0, 350.0, 1000.0, 300.0),
        ),
        // decided by the viewport, not the (wide) parent
        (
            "splitAcrossLongerDimension",
            json!({"index": 1}),
            land,
            (600.0, 50.0, 500.0, 600.0),
        ),
        (
            "splitAcrossLongerDimension",
            json!({"index": 1}),
            portrait,
            (100.0, 350.0, 1000.0, 300.0),
        ),
        ("pad", json!({"pad": 10}), land, (110.0, 60.0, 980.0, 580.0)),
        // `pad` wins over `pad_gu`, `pad_gu` over `pad_viewportRelative`
        (
            "pad",
            json!({"pad": 10, "pad_gu": 3}),
            land,
            (110.0, 60.0, 980.0, 580.0),
        ),
        (
            "pad",
            json!({"pad_gu": 1, "pad_viewportRelative": {"l": 0.5}}),
            land,
            (120.0, 70.0, 960.0, 560.0),
        ),
        (
            "pad",
            json!({"pad_gu": {"l": 1, "r": 2, "t": 0, "b": 0.5}}),
            land,
            (120.0, 50.0, 940.0, 590.0),
        ),
        (
            "pad",
            json!({"pad_viewportRelative": {"l": 0.1, "t": 0.1}}),
            land,
            (228.0, 122.0, 872.0, 528.0),
        ),
        (
            "offset",
            json!({"offsets": {"x": 5, "y": -5}}),
            land,
            (105.0, 45.0, 1000.0, 600.0),
        ),
        (
            "offset",
            json!({"x": 7}),
            land,
            (107.0, 50.0, 1000.0, 600.0),
        ),
        (
            "fit",
            json!({"contentAspectRatio": 1.0}),
            land,
            (300.0, 50.0, 600.0, 600.0),
        ),
        (
            "fit",
            json!({"contentAspectRatio": 4.0}),
            land,
            (100.0, 225.0, 1000.0, 250.0),
        ),
        (
            "fit",
            json!({"contentAspectRatio": 0.0}),
            land,
            (600.0, 50.0, 0.0, 600.0),
        ),
        ("fit", json!({}), land, (100.0, 50.0, 1000.0, 600.0)),
        // column: outer 0.5 gu = 10 on every side, inner 0.7 gu = 14; items 980 × 184
        (
            "column",
            json!({"index": 1, "total": 3}),
            land,
            (110.0, 258.0, 980.0, 184.0),
        ),
        (
            "column",
            json!({"index": 0, "total": 2, "makeRow": true, "innerMargin_gu": 0, "outerMargin_gu": 0}),
            land,
            (100.0, 50.0, 500.0, 600.0),
        ),
        // centred row of squares: the parent becomes 1200 wide (overflowing) and centred
        (
            "column",
            json!({"index": 1, "total": 2, "makeRow": true, "innerMargin_gu": 0, "outerMargin_gu": 0, "itemAspectRatio": 1.0, "center": true}),
            land,
            (600.0, 50.0, 600.0, 600.0),
        ),
        // rows 1.2 × the text size
        (
            "simpleLineGrid",
            json!({"index": 5, "numCols": 4}),
            land,
            (350.0, 74.0, 250.0, 24.0),
        ),
        (
            "simpleLineGrid",
            json!({"index": 3, "numCols": 3, "numTextLines": 5, "textSize_gu": 2}),
            land,
            (100.0, 290.0, third, 240.0),
        ),
    ];
    for (name, params, vp, want) in cases {
        let got = call(&mut p, name, parent, params, *vp);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(
            close(got.0, want.0)
                && close(got.1, want.1)
                && close(got.2, want.2)
                && close(got.3, want.3),
            "{name} {params}: got {got:?}, want {want:?}"
        );
    }
}
