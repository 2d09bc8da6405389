//! Strata compositing: background graphics, video layers, foreground graphics → one frame.
//!
//! This is pixel math over plain buffers, so it is tested without GStreamer. We composite in
//! Rust rather than with GStreamer's `compositor` because the layer semantics (centred crop for
//! `fill`, `zoomFactor`, anti-aliased rounded corners, opacity) map directly onto one pass per
//! layer here, while `compositor` would need a crop/scale element chain per layer that has to be
//! rebuilt whenever the layout changes.
//!
//! Scaling is `fast_image_resize` (SIMD bilinear; its support widens when shrinking by more than
//! 2, so small tiles of big sources do not alias). An opaque, square-cornered layer is scaled
//! straight into the canvas; otherwise it is scaled into a scratch buffer and blended row by row,
//! with per-pixel coverage only in the corner bands.

use fast_image_resize as fr;

use vcs_scene::{IntRect, ScaleMode, VideoAttrs};

/// An RGBA8 image with straight alpha treated as opaque (video frames).
#[derive(Clone, Copy)]
pub struct VideoFrameRef<'a> {
    pub width: u32,
    pub height: u32,
    /// Bytes per row (≥ width × 4, a multiple of 4).
    pub stride: usize,
    pub data: &'a [u8],
}

/// The output frame being composed: RGBA8, tightly packed, opaque; its alpha bytes are whatever
/// the layers left and mean nothing (the encoder reads colour only). Reused from frame to frame
/// (with its scaler and scratch buffer); `data` may be swapped for a recycled buffer of the same
/// size before each frame, since [`fill_from_premultiplied`](Self::fill_from_premultiplied)
/// writes every byte.
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    resizer: fr::Resizer,
    scratch: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; Self::frame_len(width, height)],
            resizer: fr::Resizer::new(),
            scratch: Vec::new(),
        }
    }

    /// Bytes in one frame of this size.
    pub fn frame_len(width: u32, height: u32) -> usize {
        width as usize * height as usize * 4
    }

    /// Replaces the canvas with a premultiplied RGBA layer composited over opaque black.
    pub fn fill_from_premultiplied(&mut self, premul: &[u8]) {
        debug_assert_eq!(premul.len(), self.data.len());
        // Over black the premultiplied colour is the result.
        self.data.copy_from_slice(premul);
    }

    /// Source-over of a premultiplied RGBA layer of the canvas's size; `spans` (computed once
    /// per rasterisation of the layer) limit the work to where the layer has any coverage.
    pub fn over_premultiplied(&mut self, premul: &[u8], spans: &CoverageSpans) {
        debug_assert_eq!(premul.len(), self.data.len());
        let stride = self.width as usize * 4;
        for (y, &(x0, x1)) in spans.rows.iter().enumerate() {
            let range = y * stride + x0 as usize * 4..y * stride + x1 as usize * 4;
            let (dst, src) = (&mut self.data[range.clone()], &premul[range]);
            for (dst, src) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                let a = src[3] as u32;
                if a == 0 {
                    continue;
                }
                if a == 255 {
                    dst[..3].copy_from_slice(&src[..3]);
                    continue;
                }
                let inv = 255 - a;
                for c in 0..3 {
                    dst[c] = (src[c] as u32 + div255(dst[c] as u32 * inv)) as u8;
                }
            }
        }
    }

    /// Draws a video frame into `frame` per the layer attributes.
    pub fn draw_video(&mut self, src: VideoFrameRef<'_>, frame: IntRect, attrs: &VideoAttrs) {
        let Some(map) = LayerMapping::new(src.width, src.height, frame, attrs) else {
            return;
        };
        let opacity = (attrs.opacity.get() * 256.0) as u32;
        if opacity == 0 {
            return;
        }
        let canvas_rect = IntRect {
            x: 0,
            y: 0,
            w: self.width as i32,
            h: self.height as i32,
        };
        let Some(visible) = intersect(map.dst, canvas_rect) else {
            return;
        };
        let Some(src_view) = source_image(&src) else {
            return;
        };
        // Two-tap bilinear while shrinking by at most 2 (every source pixel still contributes);
        // beyond that the filter widens with the scale so small tiles of big sources don't alias.
        let filter = if map.src_per_dst <= 2.0 {
            fr::ResizeAlg::Interpolation(fr::FilterType::Bilinear)
        } else {
            fr::ResizeAlg::Convolution(fr::FilterType::Bilinear)
        };
        let options = fr::ResizeOptions::new().resize_alg(filter).use_alpha(false);
        let crop = map.source_crop(visible, src.width, src.height);
        let options = options.crop(crop.0, crop.1, crop.2, crop.3);
        let radius = attrs
            .corner_radius_px
            .min(map.dst.w as f32 / 2.0)
            .min(map.dst.h as f32 / 2.0)
            .max(0.0);
        let (vw, vh) = (visible.w as u32, visible.h as u32);
        if opacity >= 256 && radius <= 0.0 {
            let mut canvas =
                fr::images::Image::from_slice_u8(self.width, self.height, &mut self.data, U8X4)
                    .expect("canvas buffer matches its size");
            let mut target = fr::images::CroppedImageMut::new(
                &mut canvas,
                visible.x as u32,
                visible.y as u32,
                vw,
                vh,
            )
            .expect("visible rect lies inside the canvas");
            self.resizer
                .resize(&src_view, &mut target, &options)
                .expect("same pixel type, non-empty sizes");
            return;
        }
        self.scratch.resize(Self::frame_len(vw, vh), 0);
        {
            let mut scaled = fr::images::Image::from_slice_u8(vw, vh, &mut self.scratch, U8X4)
                .expect("scratch buffer matches its size");
            self.resizer
                .resize(&src_view, &mut scaled, &options)
                .expect("same pixel type, non-empty sizes");
        }
        let canvas_stride = self.width as usize * 4;
        let row_len = vw as usize * 4;
        let corners = RoundedRect::new(map.dst, radius);
        let mut coverage = vec![0u32; vw as usize];
        for (i, py) in (visible.y..visible.y + visible.h).enumerate() {
            let src_row = &self.scratch[i * row_len..][..row_len];
            let dst_row =
                &mut self.data[py as usize * canvas_stride + visible.x as usize * 4..][..row_len];
            if !corners.row_has_corners(py) {
                blend_row(dst_row, src_row, opacity);
                continue;
            }
            for (c, px) in coverage.iter_mut().zip(visible.x..) {
                *c = corners.coverage(px, py) * opacity / 256;
            }
            for ((d, s), &cover) in dst_row
                .chunks_exact_mut(4)
                .zip(src_row.chunks_exact(4))
                .zip(&coverage)
            {
                blend_px(d, s, cover);
            }
        }
    }
}

/// Per row of a premultiplied RGBA layer, the columns `[x0, x1)` between its first and last
/// pixel with any alpha (empty rows are `(0, 0)`): graphics layers are mostly transparent, and
/// skipping what they do not cover is most of the cost of putting them over the video.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoverageSpans {
    rows: Vec<(u32, u32)>,
}

impl CoverageSpans {
    pub fn of(premul: &[u8], width: u32) -> Self {
        let stride = width as usize * 4;
        if stride == 0 {
            return Self::default();
        }
        let rows = premul
            .chunks_exact(stride)
            .map(|row| {
                let covered = |px: &[u8]| px[3] != 0;
                let mut pixels = row.chunks_exact(4);
                match pixels.position(covered) {
                    None => (0, 0),
                    Some(first) => {
                        let last = row.chunks_exact(4).rposition(covered).unwrap_or(first);
                        (first as u32, last as u32 + 1)
                    }
                }
            })
            .collect();
        Self { rows }
    }
}

const U8X4: fr::PixelType = fr::PixelType::U8x4;

/// The frame's pixels as a scaler source: rows are `stride` apart, so the image is viewed
/// `stride / 4` pixels wide and the crop box keeps to the real width.
fn source_image<'a>(src: &VideoFrameRef<'a>) -> Option<fr::images::ImageRef<'a>> {
    let row_px = (src.stride / 4) as u32;
    if row_px < src.width || !src.stride.is_multiple_of(4) {
        return None;
    }
    let len = src.stride * src.height as usize;
    fr::images::ImageRef::new(row_px, src.height, src.data.get(..len)?, U8X4).ok()
}

/// `dst` = `src` blended over it with `cover` (0..=256) for a whole row.
fn blend_row(dst: &mut [u8], src: &[u8], cover: u32) {
    if cover >= 256 {
        dst.copy_from_slice(src);
        return;
    }
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        blend_px(d, s, cover);
    }
}

fn blend_px(d: &mut [u8], s: &[u8], cover: u32) {
    if cover == 0 {
        return;
    }
    if cover >= 256 {
        d[..3].copy_from_slice(&s[..3]);
        return;
    }
    for c in 0..3 {
        d[c] = ((s[c] as u32 * cover + d[c] as u32 * (256 - cover)) >> 8) as u8;
    }
}

fn div255(v: u32) -> u32 {
    (v + 128 + ((v + 128) >> 8)) >> 8
}

/// Where a source frame lands: the destination rectangle actually covered and the affine map from
/// destination pixel centres back to source coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerMapping {
    /// Destination pixels covered by video (the frame for `fill`, the letterboxed rect for `fit`).
    pub dst: IntRect,
    /// Source coordinate of the destination rect's left/top edge.
    pub src_origin: (f32, f32),
    /// Source pixels per destination pixel.
    pub src_per_dst: f32,
}

impl LayerMapping {
    /// `None` when either size is empty.
    pub fn new(sw: u32, sh: u32, frame: IntRect, attrs: &VideoAttrs) -> Option<Self> {
        if sw == 0 || sh == 0 || frame.w <= 0 || frame.h <= 0 {
            return None;
        }
        let (sw, sh) = (sw as f32, sh as f32);
        let (fw, fh) = (frame.w as f32, frame.h as f32);
        Some(match attrs.scale_mode {
            ScaleMode::Fill => {
                let scale = (fw / sw).max(fh / sh) * attrs.zoom_factor.get();
                let visible_w = fw / scale;
                let visible_h = fh / scale;
                Self {
                    dst: frame,
                    src_origin: ((sw - visible_w) / 2.0, (sh - visible_h) / 2.0),
                    src_per_dst: 1.0 / scale,
                }
            }
            ScaleMode::Fit => {
                let scale = (fw / sw).min(fh / sh);
                let w = (sw * scale).round() as i32;
                let h = (sh * scale).round() as i32;
                let dst = IntRect {
                    x: frame.x + (frame.w - w) / 2,
                    y: frame.y + (frame.h - h) / 2,
                    w,
                    h,
                };
                Self {
                    dst,
                    src_origin: (0.0, 0.0),
                    src_per_dst: sw / w.max(1) as f32,
                }
            }
        })
    }

    /// The source region (left, top, width, height in source pixels) that lands on `visible`,
    /// a part of `dst`; kept inside the source.
    pub fn source_crop(&self, visible: IntRect, sw: u32, sh: u32) -> (f64, f64, f64, f64) {
        let spd = self.src_per_dst as f64;
        let left = self.src_origin.0 as f64 + (visible.x - self.dst.x) as f64 * spd;
        let top = self.src_origin.1 as f64 + (visible.y - self.dst.y) as f64 * spd;
        let left = left.clamp(0.0, sw as f64);
        let top = top.clamp(0.0, sh as f64);
        let width = (visible.w as f64 * spd).min(sw as f64 - left);
        let height = (visible.h as f64 * spd).min(sh as f64 - top);
        (left, top, width, height)
    }
}

/// The overlap of two rectangles, if any.
pub(crate) fn intersect(a: IntRect, b: IntRect) -> Option<IntRect> {
    let x0 = a.x.max(b.x);
    let y0 = a.y.max(b.y);
    let x1 = (a.x + a.w).min(b.x + b.w);
    let y1 = (a.y + a.h).min(b.y + b.h);
    (x0 < x1 && y0 < y1).then_some(IntRect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    })
}

/// A rectangle with rounded corners, for per-pixel coverage near its corners.
pub(crate) struct RoundedRect {
    rect: IntRect,
    radius: f32,
    /// Rows `[rect.y, top_band)` and `[bottom_band, rect.y + rect.h)` hold the corner arcs.
    top_band: i32,
    bottom_band: i32,
}

impl RoundedRect {
    pub(crate) fn new(rect: IntRect, radius: f32) -> Self {
        let band = if radius > 0.0 {
            radius.ceil() as i32
        } else {
            0
        };
        Self {
            rect,
            radius,
            top_band: rect.y + band,
            bottom_band: rect.y + rect.h - band,
        }
    }

    pub(crate) fn row_has_corners(&self, py: i32) -> bool {
        py < self.top_band || py >= self.bottom_band
    }

    /// Anti-aliased coverage (0..=256) of pixel (px, py).
    pub(crate) fn coverage(&self, px: i32, py: i32) -> u32 {
        let (r, radius) = (self.rect, self.radius);
        if radius <= 0.0 {
            return 256;
        }
        let cx = px as f32 + 0.5;
        let cy = py as f32 + 0.5;
        let left = r.x as f32 + radius;
        let right = (r.x + r.w) as f32 - radius;
        let top = r.y as f32 + radius;
        let bottom = (r.y + r.h) as f32 - radius;
        let dx = if cx < left {
            left - cx
        } else if cx > right {
            cx - right
        } else {
            return 256;
        };
        let dy = if cy < top {
            top - cy
        } else if cy > bottom {
            cy - bottom
        } else {
            return 256;
        };
        let d = (dx * dx + dy * dy).sqrt();
        ((radius - d + 0.5).clamp(0.0, 1.0) * 256.0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcs_scene::{Opacity, Zoom};

    fn solid(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
        (0..w * h)
            .flat_map(|_| [rgb[0], rgb[1], rgb[2], 255])
            .collect()
    }

    fn frame(data: &[u8], w: u32, h: u32) -> VideoFrameRef<'_> {
        VideoFrameRef {
            width: w,
            height: h,
            stride: w as usize * 4,
            data,
        }
    }

    fn px(c: &Canvas, x: u32, y: u32) -> [u8; 3] {
        let i = (y * c.width + x) as usize * 4;
        [c.data[i], c.data[i + 1], c.data[i + 2]]
    }

    fn attrs(scale_mode: ScaleMode) -> VideoAttrs {
        VideoAttrs {
            scale_mode,
            ..Default::default()
        }
    }

    #[test]
    fn fill_crops_the_centre_of_a_wider_source() {
        // 200×100 source, left half red, right half blue, into a 50×50 frame: the centre column
        // of the source lands in the centre of the frame and the frame is fully covered.
        let mut data = solid(200, 100, [255, 0, 0]);
        for y in 0..100 {
            for x in 100..200 {
                let i = (y * 200 + x) * 4;
                data[i..i + 3].copy_from_slice(&[0, 0, 255]);
            }
        }
        let mut c = Canvas::new(100, 100);
        let f = IntRect {
            x: 25,
            y: 25,
            w: 50,
            h: 50,
        };
        c.draw_video(frame(&data, 200, 100), f, &attrs(ScaleMode::Fill));
        assert_eq!(px(&c, 26, 50), [255, 0, 0]);
        assert_eq!(px(&c, 73, 50), [0, 0, 255]);
        assert_eq!(px(&c, 40, 25), [255, 0, 0], "top edge still covered");
        assert_eq!(px(&c, 10, 10), [0, 0, 0], "outside the frame untouched");
    }

    #[test]
    fn fit_letterboxes_and_leaves_the_bars_alone() {
        let data = solid(200, 100, [0, 255, 0]);
        let mut c = Canvas::new(100, 100);
        let map = LayerMapping::new(
            200,
            100,
            IntRect {
                x: 0,
                y: 0,
                w: 100,
                h: 100,
            },
            &attrs(ScaleMode::Fit),
        )
        .unwrap();
        assert_eq!(
            map.dst,
            IntRect {
                x: 0,
                y: 25,
                w: 100,
                h: 50
            }
        );
        c.draw_video(
            frame(&data, 200, 100),
            IntRect {
                x: 0,
                y: 0,
                w: 100,
                h: 100,
            },
            &attrs(ScaleMode::Fit),
        );
        assert_eq!(px(&c, 50, 10), [0, 0, 0]);
        assert_eq!(px(&c, 50, 50), [0, 255, 0]);
        assert_eq!(px(&c, 50, 90), [0, 0, 0]);
    }

    #[test]
    fn zoom_shows_a_smaller_centred_region() {
        let unzoomed = LayerMapping::new(
            100,
            100,
            IntRect {
                x: 0,
                y: 0,
                w: 100,
                h: 100,
            },
            &attrs(ScaleMode::Fill),
        )
        .unwrap();
        let zoomed = LayerMapping::new(
            100,
            100,
            IntRect {
                x: 0,
                y: 0,
                w: 100,
                h: 100,
            },
            &VideoAttrs {
                zoom_factor: Zoom::new(2.0),
                ..attrs(ScaleMode::Fill)
            },
        )
        .unwrap();
        assert_eq!(unzoomed.src_origin, (0.0, 0.0));
        assert_eq!(zoomed.src_origin, (25.0, 25.0));
        assert_eq!(zoomed.src_per_dst, 0.5);
    }

    #[test]
    fn rounded_corners_are_transparent_at_the_corner_and_antialiased_on_the_edge() {
        let data = solid(100, 100, [255, 255, 255]);
        let mut c = Canvas::new(100, 100);
        let a = VideoAttrs {
            corner_radius_px: 20.0,
            ..attrs(ScaleMode::Fill)
        };
        c.draw_video(
            frame(&data, 100, 100),
            IntRect {
                x: 0,
                y: 0,
                w: 100,
                h: 100,
            },
            &a,
        );
        assert_eq!(px(&c, 0, 0), [0, 0, 0]);
        assert_eq!(px(&c, 50, 50), [255, 255, 255]);
        assert_eq!(px(&c, 0, 50), [255, 255, 255]);
        // Somewhere along the arc there is a partially covered pixel.
        let partial = (0..20 * 20).any(|i| {
            let v = px(&c, i % 20, i / 20)[0];
            v > 0 && v < 255
        });
        assert!(partial, "expected anti-aliased pixels on the corner arc");
    }

    #[test]
    fn opacity_blends_with_what_is_beneath() {
        let data = solid(10, 10, [200, 200, 200]);
        let mut c = Canvas::new(10, 10);
        let a = VideoAttrs {
            opacity: Opacity::new(0.5),
            ..attrs(ScaleMode::Fill)
        };
        c.draw_video(
            frame(&data, 10, 10),
            IntRect {
                x: 0,
                y: 0,
                w: 10,
                h: 10,
            },
            &a,
        );
        assert_eq!(px(&c, 5, 5), [100, 100, 100]);
    }

    #[test]
    fn layers_partly_off_canvas_are_clipped_and_padded_rows_are_skipped() {
        // A 4×2 source whose rows are 6 pixels apart (padding full of 9s), drawn 1:1 at x = -2.
        let mut data = vec![9u8; 6 * 4 * 2];
        for y in 0..2 {
            for x in 0..4 {
                let i = y * 24 + x * 4;
                data[i..i + 4].copy_from_slice(&[x as u8 * 50, y as u8 * 10, 0, 255]);
            }
        }
        let src = VideoFrameRef {
            width: 4,
            height: 2,
            stride: 24,
            data: &data,
        };
        // Opaque (scaled straight into the canvas) and half transparent (through the scratch
        // buffer and the blend).
        for (opacity, half) in [(1.0, 0), (0.5, 1)] {
            let a = VideoAttrs {
                opacity: Opacity::new(opacity),
                ..attrs(ScaleMode::Fill)
            };
            let mut c = Canvas::new(4, 2);
            c.draw_video(
                src,
                IntRect {
                    x: -2,
                    y: 0,
                    w: 4,
                    h: 2,
                },
                &a,
            );
            assert_eq!(px(&c, 0, 0), [100 >> half, 0, 0]);
            assert_eq!(px(&c, 1, 1), [150 >> half, 10 >> half, 0]);
            assert_eq!(px(&c, 2, 0), [0, 0, 0], "right of the layer untouched");
            assert_eq!(px(&c, 3, 1), [0, 0, 0], "the padding never shows");
        }
    }

    #[test]
    fn premultiplied_foreground_goes_over() {
        let mut c = Canvas::new(1, 1);
        c.fill_from_premultiplied(&[0, 0, 200, 255]);
        let fg = [128, 0, 0, 128];
        c.over_premultiplied(&fg, &CoverageSpans::of(&fg, 1));
        assert_eq!(px(&c, 0, 0), [128, 0, 100]);
    }

    #[test]
    fn coverage_spans_bound_each_row_and_limit_the_blend() {
        // 4×3: row 0 empty, row 1 covered at x = 1 and 2, row 2 at x = 3 only.
        let mut fg = vec![0u8; 4 * 3 * 4];
        for (x, y) in [(1, 1), (2, 1), (3, 2)] {
            fg[(y * 4 + x) * 4..][..4].copy_from_slice(&[0, 255, 0, 255]);
        }
        let spans = CoverageSpans::of(&fg, 4);
        assert_eq!(spans.rows, vec![(0, 0), (1, 3), (3, 4)]);
        let mut c = Canvas::new(4, 3);
        c.fill_from_premultiplied(&solid(4, 3, [9, 9, 9]));
        c.over_premultiplied(&fg, &spans);
        assert_eq!(px(&c, 0, 1), [9, 9, 9]);
        assert_eq!(px(&c, 2, 1), [0, 255, 0]);
        assert_eq!(px(&c, 3, 2), [0, 255, 0]);
        assert_eq!(px(&c, 3, 0), [9, 9, 9]);
    }
}
