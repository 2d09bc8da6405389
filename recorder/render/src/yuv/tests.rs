//! The RGBA compositor's placement, scale-mode, zoom, corner and opacity cases again in YUV (read
//! back as RGB, within the two levels 4:2:0 and 8-bit YUV round trips cost), plus what only YUV
//! has: odd sizes and offsets, chroma at layer edges, other matrices, tiles kept between frames.

use vcs_scene::{IntRect, Opacity, ScaleMode, VideoAttrs, Zoom};

use super::*;

const LIMITED_601: YuvSpace = YuvSpace {
    matrix: Matrix::Bt601,
    full_range: false,
};

/// An I420 frame (GStreamer layout) of `w`×`h` whose pixel (x, y) is `rgb(x, y)`; chroma is the
/// mean of each 2×2 block.
fn source(
    w: u32,
    h: u32,
    space: YuvSpace,
    rgb: impl Fn(u32, u32) -> [u8; 3],
) -> (I420Layout, Vec<u8>) {
    let layout = I420Layout::gstreamer(w, h);
    let mut data = vec![0u8; layout.frame_len()];
    let s = layout.strides;
    let [py, pu, pv] = layout.planes_mut(&mut data);
    let conv = |c: [u8; 3]| space.rgb_to_yuv_premultiplied(c.map(f32::from), 255.0);
    for y in 0..h {
        for x in 0..w {
            py[y as usize * s[0] + x as usize] = conv(rgb(x, y))[0].round() as u8;
        }
    }
    let (cw, ch) = layout.chroma_size();
    for cy in 0..ch {
        for cx in 0..cw {
            let mut sum = [0f32; 2];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = ((2 * cx + dx).min(w - 1), (2 * cy + dy).min(h - 1));
                let [_, u, v] = conv(rgb(x, y));
                sum[0] += u / 4.0;
                sum[1] += v / 4.0;
            }
            pu[cy as usize * s[1] + cx as usize] = sum[0].round() as u8;
            pv[cy as usize * s[2] + cx as usize] = sum[1].round() as u8;
        }
    }
    (layout, data)
}

fn solid(w: u32, h: u32, rgb: [u8; 3]) -> (I420Layout, Vec<u8>) {
    source(w, h, LIMITED_601, |_, _| rgb)
}

struct Out {
    c: YuvCompositor,
    data: Vec<u8>,
}

impl Out {
    fn new(w: u32, h: u32) -> Self {
        let layout = I420Layout::gstreamer(w, h);
        Out {
            c: YuvCompositor::new(layout, LIMITED_601),
            data: vec![0; layout.frame_len()],
        }
    }

    fn draw(&mut self, src: &(I420Layout, Vec<u8>), rect: IntRect, attrs: &VideoAttrs) {
        self.draw_id(src, 1, rect, attrs);
    }

    fn draw_id(&mut self, src: &(I420Layout, Vec<u8>), id: u64, rect: IntRect, attrs: &VideoAttrs) {
        let layer = layer("a", src, id, rect, attrs);
        self.c.compose(&mut self.data, &[layer]);
    }

    fn px(&self, x: u32, y: u32) -> [u8; 3] {
        frame_ref(&self.c, &self.data).rgb(x, y)
    }

    /// Raw samples of a plane.
    fn sample(&self, plane: usize, x: u32, y: u32) -> u8 {
        let l = self.c.layout();
        l.planes(&self.data)[plane][y as usize * l.strides[plane] + x as usize]
    }
}

fn frame_ref<'a>(c: &YuvCompositor, data: &'a [u8]) -> I420Ref<'a> {
    I420Ref {
        layout: *c.layout(),
        space: c.space(),
        data,
    }
}

fn layer<'a>(
    id: &'a str,
    src: &'a (I420Layout, Vec<u8>),
    frame_id: u64,
    rect: IntRect,
    attrs: &'a VideoAttrs,
) -> VideoLayerRef<'a> {
    VideoLayerRef {
        id,
        frame_id,
        src: I420Ref {
            layout: src.0,
            space: LIMITED_601,
            data: &src.1,
        },
        rect,
        attrs,
    }
}

fn rect(x: i32, y: i32, w: i32, h: i32) -> IntRect {
    IntRect { x, y, w, h }
}

fn attrs(scale_mode: ScaleMode) -> VideoAttrs {
    VideoAttrs {
        scale_mode,
        ..Default::default()
    }
}

#[track_caller]
fn assert_near(got: [u8; 3], want: [u8; 3], what: &str) {
    let far = got
        .iter()
        .zip(want)
        .any(|(&g, w)| (g as i32 - w as i32).abs() > 2);
    assert!(!far, "{what}: got {got:?}, want {want:?}");
}

#[test]
fn fill_crops_the_centre_of_a_wider_source() {
    let src = source(200, 100, LIMITED_601, |x, _| {
        if x < 100 { [255, 0, 0] } else { [0, 0, 255] }
    });
    let mut o = Out::new(100, 100);
    o.draw(&src, rect(25, 25, 50, 50), &attrs(ScaleMode::Fill));
    assert_near(o.px(26, 50), [255, 0, 0], "left");
    assert_near(o.px(73, 50), [0, 0, 255], "right");
    // Row 25 is odd: its chroma row is shared with the (black) row above, so check its luma,
    // then the next row's colour.
    assert!(
        (o.sample(0, 40, 25) as i32 - 81).abs() <= 1,
        "top edge still covered"
    );
    assert_near(o.px(40, 26), [255, 0, 0], "top edge still covered");
    assert_near(o.px(10, 10), [0, 0, 0], "outside the frame untouched");
}

#[test]
fn fit_letterboxes_and_leaves_the_bars_alone() {
    let src = solid(200, 100, [0, 255, 0]);
    let mut o = Out::new(100, 100);
    o.draw(&src, rect(0, 0, 100, 100), &attrs(ScaleMode::Fit));
    assert_near(o.px(50, 10), [0, 0, 0], "top bar");
    assert_near(o.px(50, 50), [0, 255, 0], "picture");
    assert_near(o.px(50, 90), [0, 0, 0], "bottom bar");
    // The picture starts on an odd row: luma is exact there, the chroma row shared by rows 24
    // and 25 is half green.
    assert_eq!(o.sample(0, 50, 24), 16, "last bar row");
    assert!(o.sample(0, 50, 25) > 100, "first picture row");
}

#[test]
fn zoom_shows_a_smaller_centred_region() {
    // Left quarter red, the rest white: zoomed 2× the red is cropped away.
    let src = source(100, 100, LIMITED_601, |x, _| {
        if x < 25 { [255, 0, 0] } else { [255, 255, 255] }
    });
    let mut o = Out::new(100, 100);
    o.draw(&src, rect(0, 0, 100, 100), &attrs(ScaleMode::Fill));
    assert_near(o.px(4, 50), [255, 0, 0], "unzoomed: red on the left");
    let zoomed = VideoAttrs {
        zoom_factor: Zoom::new(2.0),
        ..attrs(ScaleMode::Fill)
    };
    o.draw(&src, rect(0, 0, 100, 100), &zoomed);
    assert_near(o.px(4, 50), [255, 255, 255], "zoomed: the centre only");
}

#[test]
fn rounded_corners_are_transparent_at_the_corner_and_antialiased_on_the_edge() {
    let src = solid(100, 100, [255, 255, 255]);
    let mut o = Out::new(100, 100);
    let a = VideoAttrs {
        corner_radius_px: 20.0,
        ..attrs(ScaleMode::Fill)
    };
    o.draw(&src, rect(0, 0, 100, 100), &a);
    assert_near(o.px(0, 0), [0, 0, 0], "corner");
    assert_near(o.px(99, 99), [0, 0, 0], "opposite corner");
    assert_near(o.px(50, 50), [255, 255, 255], "centre");
    assert_near(o.px(0, 50), [255, 255, 255], "edge between corners");
    let partial = (0..20 * 20).any(|i| {
        let v = o.px(i % 20, i / 20)[0];
        v > 5 && v < 250
    });
    assert!(partial, "expected anti-aliased pixels on the corner arc");
}

#[test]
fn opacity_blends_with_what_is_beneath() {
    let src = solid(10, 10, [200, 200, 200]);
    let mut o = Out::new(10, 10);
    let a = VideoAttrs {
        opacity: Opacity::new(0.5),
        ..attrs(ScaleMode::Fill)
    };
    o.draw(&src, rect(0, 0, 10, 10), &a);
    assert_near(o.px(5, 5), [100, 100, 100], "half of 200 over black");
}

#[test]
fn layers_partly_off_canvas_are_clipped_and_padded_rows_are_skipped() {
    // A 4×2 grey ramp whose rows are 8 bytes apart (padding full of 250s), drawn 1:1 at x = -2.
    let mut layout = I420Layout::gstreamer(4, 2);
    layout.strides = [8, 8, 8];
    layout.offsets = [0, 16, 24];
    let mut data = vec![250u8; layout.frame_len()];
    for y in 0..2 {
        for x in 0..4 {
            data[y * 8 + x] = 16 + 40 * x as u8;
        }
    }
    for i in [16, 17, 24, 25] {
        data[i] = 128;
    }
    let src = (layout, data);
    for (opacity, half) in [(1.0, false), (0.5, true)] {
        let a = VideoAttrs {
            opacity: Opacity::new(opacity),
            ..attrs(ScaleMode::Fill)
        };
        let mut o = Out::new(4, 2);
        o.draw(&src, rect(-2, 0, 4, 2), &a);
        let want = |y: u8| {
            if half {
                (y as u32 + 16).div_ceil(2) as u8
            } else {
                y
            }
        };
        assert_eq!(o.sample(0, 0, 0), want(96), "opacity {opacity}");
        assert_eq!(o.sample(0, 1, 1), want(136), "opacity {opacity}");
        assert_eq!(o.sample(0, 2, 0), 16, "right of the layer untouched");
        assert_eq!(o.sample(0, 3, 1), 16, "the padding never shows");
    }
}

#[test]
fn premultiplied_foreground_goes_over() {
    let mut o = Out::new(2, 2);
    o.c.set_background(&[0, 0, 200, 255].repeat(4));
    o.c.set_foreground(&[128, 0, 0, 128].repeat(4));
    o.c.compose(&mut o.data, &[]);
    assert_near(o.px(0, 0), [128, 0, 100], "half red over blue");
}

#[test]
fn foreground_is_blended_only_where_it_covers() {
    // 4×4: one opaque green pixel in the foreground at (1, 1) over a grey background.
    let mut fg = vec![0u8; 4 * 4 * 4];
    fg[(4 + 1) * 4..][..4].copy_from_slice(&[0, 255, 0, 255]);
    let mut o = Out::new(4, 4);
    o.c.set_background(&[90, 90, 90, 255].repeat(16));
    o.c.set_foreground(&fg);
    o.c.compose(&mut o.data, &[]);
    let grey_y = o.sample(0, 3, 3);
    assert_eq!(o.sample(0, 0, 0), grey_y, "uncovered luma untouched");
    assert!(
        o.sample(0, 1, 1) > grey_y,
        "green is brighter than this grey"
    );
    assert_eq!(
        o.sample(1, 1, 1),
        128,
        "chroma of an uncovered block untouched"
    );
    assert_ne!(
        o.sample(1, 0, 0),
        128,
        "the covered block's chroma has a quarter of green"
    );
}

#[test]
fn odd_offsets_and_sizes_half_cover_the_edge_chroma() {
    // A 5×5 red layer at (3, 3) over blue, 1:1: luma exactly in the rectangle; chroma samples
    // wholly inside are red's, those the odd edges cut hold the mean of red and blue, and those
    // outside stay blue's.
    let red = solid(5, 5, [255, 0, 0]);
    let blue = LIMITED_601.rgb_to_yuv_premultiplied([0.0, 0.0, 255.0], 255.0);
    let redv = LIMITED_601.rgb_to_yuv_premultiplied([255.0, 0.0, 0.0], 255.0);
    let mut o = Out::new(12, 12);
    o.c.set_background(&[0, 0, 255, 255].repeat(144));
    o.draw(&red, rect(3, 3, 5, 5), &attrs(ScaleMode::Fill));
    let (ry, by) = (redv[0].round() as u8, blue[0].round() as u8);
    for y in 0..12 {
        for x in 0..12 {
            let inside = (3..8).contains(&x) && (3..8).contains(&y);
            assert_eq!(
                o.sample(0, x, y),
                if inside { ry } else { by },
                "luma ({x}, {y})"
            );
        }
    }
    let (ru, bu) = (redv[1].round() as i32, blue[1].round() as i32);
    let u = |cx, cy| o.sample(1, cx, cy) as i32;
    assert!(
        (u(2, 2) - ru).abs() <= 1,
        "chroma wholly inside: {}",
        u(2, 2)
    );
    assert!((u(0, 0) - bu).abs() <= 1, "chroma outside: {}", u(0, 0));
    // (1, 2): luma columns 2, 3 → one of two inside; rows 4, 5 inside: half.
    let half = (ru + bu) / 2;
    assert!(
        (u(1, 2) - half).abs() <= 2,
        "left edge: {} want {half}",
        u(1, 2)
    );
    // (1, 1): columns 2, 3 and rows 2, 3 → one of four inside: a quarter.
    let quarter = (ru + 3 * bu) / 4;
    assert!(
        (u(1, 1) - quarter).abs() <= 2,
        "corner: {} want {quarter}",
        u(1, 1)
    );
    // (3, 2): columns 6, 7 both inside (the layer ends at 8): wholly red.
    assert!(
        (u(3, 2) - ru).abs() <= 1,
        "right column inside: {}",
        u(3, 2)
    );
    assert!((u(4, 2) - bu).abs() <= 1, "right of the layer: {}", u(4, 2));
}

#[test]
fn even_edges_keep_colour_from_bleeding_either_way() {
    // Red layer at (4, 4)-(8, 8) over blue: the chroma just outside is exactly blue's.
    let red = solid(4, 4, [255, 0, 0]);
    let mut o = Out::new(12, 12);
    o.c.set_background(&[0, 0, 255, 255].repeat(144));
    o.c.compose(&mut o.data, &[]);
    let before = o.sample(1, 1, 2);
    o.draw(&red, rect(4, 4, 4, 4), &attrs(ScaleMode::Fill));
    assert_eq!(o.sample(1, 1, 2), before, "left neighbour");
    assert_eq!(o.sample(1, 4, 2), before, "right neighbour");
    assert_eq!(o.sample(1, 2, 1), before, "top neighbour");
    assert_near(o.px(4, 4), [255, 0, 0], "first pixel of the layer");
    assert_near(o.px(7, 7), [255, 0, 0], "last pixel of the layer");
}

#[test]
fn odd_sized_sources_are_read_to_their_last_column_and_row() {
    // 5×3, last column and last row white, the rest black; drawn 1:1.
    let src = source(5, 3, LIMITED_601, |x, y| {
        if x == 4 || y == 2 {
            [255, 255, 255]
        } else {
            [0, 0, 0]
        }
    });
    let mut o = Out::new(6, 4);
    o.draw(&src, rect(0, 0, 5, 3), &attrs(ScaleMode::Fill));
    assert_near(o.px(4, 0), [255, 255, 255], "last column");
    assert_near(o.px(0, 2), [255, 255, 255], "last row");
    assert_near(o.px(1, 1), [0, 0, 0], "inside");
    assert_near(o.px(5, 0), [0, 0, 0], "right of the layer");
}

#[test]
fn frames_of_other_matrices_and_ranges_keep_their_colour() {
    let full_709 = YuvSpace {
        matrix: Matrix::Bt709,
        full_range: true,
    };
    for rgb in [[255, 0, 0], [0, 255, 0], [30, 60, 200], [255, 255, 255]] {
        let src = source(8, 8, full_709, |_, _| rgb);
        let mut o = Out::new(8, 8);
        let a = attrs(ScaleMode::Fill);
        let l = VideoLayerRef {
            id: "a",
            frame_id: 1,
            src: I420Ref {
                layout: src.0,
                space: full_709,
                data: &src.1,
            },
            rect: rect(0, 0, 8, 8),
            attrs: &a,
        };
        o.c.compose(&mut o.data, &[l]);
        assert_near(o.px(3, 3), rgb, "BT.709 full range into BT.601 limited");
    }
}

#[test]
fn an_unchanged_frame_is_not_scaled_again() {
    let src = solid(64, 36, [10, 200, 30]);
    let mut o = Out::new(32, 18);
    let a = attrs(ScaleMode::Fill);
    for _ in 0..3 {
        o.draw_id(&src, 7, rect(0, 0, 32, 18), &a);
    }
    assert_eq!(o.c.tiles_scaled, 1, "same frame, same place: scaled once");
    assert_near(o.px(10, 10), [10, 200, 30], "and still drawn every frame");
    o.draw_id(&src, 8, rect(0, 0, 32, 18), &a);
    assert_eq!(o.c.tiles_scaled, 2, "a new frame is scaled");
    o.draw_id(&src, 8, rect(2, 0, 30, 18), &a);
    assert_eq!(o.c.tiles_scaled, 3, "so is a moved layer");
}

#[test]
fn a_layer_covered_by_an_opaque_one_is_not_drawn() {
    let under = solid(16, 16, [255, 0, 0]);
    let over = solid(16, 16, [0, 0, 255]);
    let a = attrs(ScaleMode::Fill);
    let mut o = Out::new(32, 32);
    let layers = [
        layer("under", &under, 1, rect(4, 4, 8, 8), &a),
        layer("over", &over, 1, rect(0, 0, 16, 16), &a),
    ];
    o.c.compose(&mut o.data, &layers);
    assert_eq!(o.c.tiles_scaled, 1, "only the top layer was scaled");
    assert_near(o.px(6, 6), [0, 0, 255], "the top layer shows");
    // Half transparent on top: the one beneath is drawn.
    let half = VideoAttrs {
        opacity: Opacity::new(0.5),
        ..a.clone()
    };
    let layers = [
        layer("under", &under, 1, rect(4, 4, 8, 8), &a),
        layer("over", &over, 1, rect(0, 0, 16, 16), &half),
    ];
    o.c.compose(&mut o.data, &layers);
    assert_eq!(o.c.tiles_scaled, 2, "now the layer beneath is scaled too");
    assert_near(o.px(6, 6), [128, 0, 128], "half blue over red");
}

#[test]
fn two_views_of_one_participant_keep_a_tile_each() {
    let src = solid(64, 36, [10, 200, 30]);
    let a = attrs(ScaleMode::Fill);
    let mut o = Out::new(64, 36);
    let layers = [
        layer("alice", &src, 1, rect(0, 0, 64, 36), &a),
        layer("alice", &src, 1, rect(40, 20, 16, 9), &a),
    ];
    for _ in 0..3 {
        o.c.compose(&mut o.data, &layers);
    }
    assert_eq!(o.c.tiles_scaled, 2, "one scaling per view, then kept");
    o.c.compose(&mut o.data, &layers[..1]);
    o.c.compose(&mut o.data, &layers);
    assert_eq!(
        o.c.tiles_scaled, 3,
        "a view that went is not kept: when it comes back it is scaled again"
    );
}

#[test]
fn a_frame_is_the_same_whatever_its_buffer_held_before() {
    // Encoder buffers are recycled: composing must write every byte. Odd offsets and sizes,
    // rounded corners, a layer off the canvas, a translucent one beneath opaque ones.
    let a = source(41, 23, LIMITED_601, |x, y| {
        [(x * 6) as u8, (y * 11) as u8, 90]
    });
    let b = solid(30, 30, [250, 240, 10]);
    let square = attrs(ScaleMode::Fill);
    let rounded = VideoAttrs {
        corner_radius_px: 3.5,
        ..square.clone()
    };
    let half = VideoAttrs {
        opacity: Opacity::new(0.5),
        ..square.clone()
    };
    let layers = [
        layer("b", &b, 1, rect(2, 2, 20, 12), &half),
        layer("a", &a, 1, rect(3, 1, 17, 15), &rounded),
        layer("c", &b, 1, rect(21, 5, 9, 7), &square),
        layer("d", &a, 1, rect(30, 9, 12, 11), &square),
        layer("e", &b, 1, rect(-3, 17, 11, 4), &rounded),
    ];
    let background = vec![40; 37 * 21 * 4];
    let mut clean = Out::new(37, 21);
    clean.c.set_background(&background);
    clean.c.compose(&mut clean.data, &layers);
    let mut dirty = Out::new(37, 21);
    dirty.c.set_background(&background);
    for fill in [0x00, 0xff, 0x5a] {
        dirty.data.fill(fill);
        dirty.c.compose(&mut dirty.data, &layers);
        let differ = (0..dirty.data.len())
            .filter(|&i| dirty.data[i] != clean.data[i])
            .collect::<Vec<_>>();
        assert!(
            differ.is_empty(),
            "buffer filled with {fill:#x}: bytes {differ:?} differ"
        );
    }
}

#[test]
fn output_colours_land_where_the_standard_puts_them() {
    // The encoder's spaces: BT.709 limited from 720 lines (white Y 235, red Y 63 and Cr 240),
    // BT.601 limited below (red Y 81).
    let s709 = YuvSpace::for_output(720);
    let red = s709.rgb_to_yuv_premultiplied([255.0, 0.0, 0.0], 255.0);
    assert_eq!(red.map(|c| c.round() as i32), [63, 102, 240]);
    let white = s709.rgb_to_yuv_premultiplied([255.0; 3], 255.0);
    assert_eq!(white.map(|c| c.round() as i32), [235, 128, 128]);
    let red601 = YuvSpace::for_output(360).rgb_to_yuv_premultiplied([255.0, 0.0, 0.0], 255.0);
    assert_eq!(red601[0].round() as i32, 81);
}

#[test]
fn a_composed_frame_reads_back_as_rgba() {
    let src = solid(4, 4, [40, 120, 220]);
    let mut o = Out::new(4, 4);
    o.draw(&src, rect(0, 0, 4, 4), &attrs(ScaleMode::Fill));
    let rgba = i420_to_rgba(&frame_ref(&o.c, &o.data));
    assert_eq!(rgba.len(), 4 * 4 * 4);
    assert_near(
        [rgba[20], rgba[21], rgba[22]],
        [40, 120, 220],
        "pixel (1, 1)",
    );
    assert_eq!(rgba[23], 255);
}

#[test]
fn gstreamer_layout_of_odd_widths() {
    // GStreamer: strides rounded up to 4, chroma of the rounded-up half size.
    let l = I420Layout::gstreamer(1270, 715);
    assert_eq!(l.strides, [1272, 636, 636]);
    assert_eq!(l.offsets, [0, 1272 * 716, 1272 * 716 + 636 * 358]);
    assert_eq!(l.frame_len(), 1272 * 716 + 2 * 636 * 358);
    assert!(l.is_valid());
}
