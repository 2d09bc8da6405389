//! Strata compositing: background graphics, video layers, foreground graphics → one frame.
//!
//! This is pure pixel math over plain buffers, so it is tested without GStreamer. We composite in
//! Rust rather than with GStreamer's `compositor` because the layer semantics (centred crop for
//! `fill`, `zoomFactor`, anti-aliased rounded corners, opacity) map directly onto one pass per
//! layer here, while `compositor` would need a crop/scale element chain per layer that has to be
//! rebuilt whenever the layout changes.

use crate::scene::{IntRect, ScaleMode, VideoAttrs};

/// An RGBA8 image with straight alpha treated as opaque (video frames).
#[derive(Clone, Copy)]
pub struct VideoFrameRef<'a> {
    pub width: u32,
    pub height: u32,
    /// Bytes per row (≥ width × 4).
    pub stride: usize,
    pub data: &'a [u8],
}

/// The output frame being composed: RGBA8, opaque, tightly packed.
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize * 4],
        }
    }

    /// Replaces the canvas with a premultiplied RGBA layer composited over opaque black.
    pub fn fill_from_premultiplied(&mut self, premul: &[u8]) {
        debug_assert_eq!(premul.len(), self.data.len());
        for (dst, src) in self.data.chunks_exact_mut(4).zip(premul.chunks_exact(4)) {
            // Over black: premultiplied colour is the result.
            dst[0] = src[0];
            dst[1] = src[1];
            dst[2] = src[2];
            dst[3] = 255;
        }
    }

    /// Source-over of a premultiplied RGBA layer of the canvas's size.
    pub fn over_premultiplied(&mut self, premul: &[u8]) {
        debug_assert_eq!(premul.len(), self.data.len());
        for (dst, src) in self.data.chunks_exact_mut(4).zip(premul.chunks_exact(4)) {
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

    /// Draws a video frame into `frame` per the layer attributes.
    pub fn draw_video(&mut self, src: VideoFrameRef<'_>, frame: IntRect, attrs: &VideoAttrs) {
        let Some(map) = LayerMapping::new(src.width, src.height, frame, attrs) else {
            return;
        };
        let opacity = (attrs.opacity.clamp(0.0, 1.0) * 256.0) as u32;
        if opacity == 0 {
            return;
        }
        let x0 = map.dst.x.max(0);
        let y0 = map.dst.y.max(0);
        let x1 = (map.dst.x + map.dst.w).min(self.width as i32);
        let y1 = (map.dst.y + map.dst.h).min(self.height as i32);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let radius = attrs
            .corner_radius_px
            .min(map.dst.w as f32 / 2.0)
            .min(map.dst.h as f32 / 2.0)
            .max(0.0);
        let canvas_stride = self.width as usize * 4;
        for py in y0..y1 {
            let v = map.src_y(py);
            let row = &mut self.data[py as usize * canvas_stride..][..canvas_stride];
            for px in x0..x1 {
                let mut cover = opacity;
                if radius > 0.0 {
                    let c = corner_coverage(px, py, map.dst, radius);
                    if c == 0 {
                        continue;
                    }
                    cover = cover * c / 256;
                }
                let rgb = sample_bilinear(&src, map.src_x(px), v);
                let d = &mut row[px as usize * 4..][..3];
                if cover >= 256 {
                    d.copy_from_slice(&rgb);
                } else {
                    for c in 0..3 {
                        d[c] = ((rgb[c] as u32 * cover + d[c] as u32 * (256 - cover)) >> 8) as u8;
                    }
                }
            }
        }
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
                let scale = (fw / sw).max(fh / sh) * attrs.zoom_factor.clamp(1.0, 4.0);
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

    /// Source x (in pixel-centre coordinates) for destination column `px`.
    pub fn src_x(&self, px: i32) -> f32 {
        self.src_origin.0 + (px - self.dst.x) as f32 * self.src_per_dst + self.src_per_dst / 2.0
            - 0.5
    }

    pub fn src_y(&self, py: i32) -> f32 {
        self.src_origin.1 + (py - self.dst.y) as f32 * self.src_per_dst + self.src_per_dst / 2.0
            - 0.5
    }
}

/// Anti-aliased coverage (0..=256) of pixel (px, py) inside a rounded rect.
fn corner_coverage(px: i32, py: i32, r: IntRect, radius: f32) -> u32 {
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

fn sample_bilinear(src: &VideoFrameRef<'_>, x: f32, y: f32) -> [u8; 3] {
    let max_x = src.width as f32 - 1.0;
    let max_y = src.height as f32 - 1.0;
    let x = x.clamp(0.0, max_x);
    let y = y.clamp(0.0, max_y);
    let x0 = x as usize;
    let y0 = y as usize;
    let x1 = (x0 + 1).min(src.width as usize - 1);
    let y1 = (y0 + 1).min(src.height as usize - 1);
    let fx = ((x - x0 as f32) * 256.0) as u32;
    let fy = ((y - y0 as f32) * 256.0) as u32;
    let px = |xx: usize, yy: usize| &src.data[yy * src.stride + xx * 4..][..3];
    let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    let mut out = [0u8; 3];
    for i in 0..3 {
        let top = a[i] as u32 * (256 - fx) + b[i] as u32 * fx;
        let bottom = c[i] as u32 * (256 - fx) + d[i] as u32 * fx;
        out[i] = ((top * (256 - fy) + bottom * fy) >> 16) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
                zoom_factor: 2.0,
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
            opacity: 0.5,
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
    fn premultiplied_foreground_goes_over() {
        let mut c = Canvas::new(1, 1);
        c.fill_from_premultiplied(&[0, 0, 200, 255]);
        c.over_premultiplied(&[128, 0, 0, 128]);
        assert_eq!(px(&c, 0, 0), [128, 0, 100]);
    }
}
