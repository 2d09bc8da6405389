//! `drawImage` in its 5- and 9-argument forms, and the missing-image placeholder.
//!
//! Axis-aligned draws (the common case: logos, backgrounds, web frames) are resampled once
//! into a device-sized pixmap cached in [`Assets`] and then copied each frame; rotated or
//! skewed draws fill the destination with a bilinear image pattern.

use std::sync::Arc;

use tiny_skia::{
    FilterQuality, Paint, Pattern, Pixmap, PixmapPaint, Rect as SkRect, SpreadMode, Stroke,
    Transform,
};

use super::assets::{Image, ResampleKey};
use super::exec::{Executor, sk_rect};
use super::path::{normalized, within_limit};
use vcs_scene::{Color, ImageRef, Rect};

impl Executor<'_> {
    pub(super) fn image(&mut self, image: &ImageRef, src: Option<Rect>, dst: Rect) {
        let Some(dst_rect) = sk_rect(dst) else { return };
        let Some(img) = self.assets.image(&image.id) else {
            return self.placeholder(dst_rect);
        };
        let (iw, ih) = (img.width as f32, img.height as f32);
        let (sx, sy, sw, sh) = match src {
            Some(s) => normalized(s),
            None => (0.0, 0.0, iw, ih),
        };
        if sw <= 0.0 || sh <= 0.0 {
            return;
        }
        let (dx, dy, dw, dh) = normalized(dst);
        // Image space → user space: the source rectangle lands exactly on the destination.
        let pattern_ts = Transform::from_translate(dx, dy)
            .pre_scale(dw / sw, dh / sh)
            .pre_translate(-sx, -sy)
            .pre_scale(1.0 / img.density().0, 1.0 / img.density().1);
        // Draw only the part of the destination the source rectangle covers (a crop that
        // reaches past the image edge leaves that part empty, as in Canvas).
        let Some(visible) = SkRect::from_ltrb(
            dx + (0.0 - sx).max(0.0) * dw / sw,
            dy + (0.0 - sy).max(0.0) * dh / sh,
            dx + dw - (sx + sw - iw).max(0.0) * dw / sw,
            dy + dh - (sy + sh - ih).max(0.0) * dh / sh,
        ) else {
            return;
        };
        let ts = self.state.transform;
        if !within_limit(
            ts,
            visible.left(),
            visible.top(),
            visible.right(),
            visible.bottom(),
        ) {
            return;
        }
        if ts.kx == 0.0 && ts.ky == 0.0 && ts.sx > 0.0 && ts.sy > 0.0 {
            self.image_axis_aligned(&img, [sx, sy, sw, sh], pattern_ts, visible);
        } else {
            let paint = image_paint(
                &img.pixmap,
                pattern_ts,
                self.state.alpha,
                FilterQuality::Bilinear,
            );
            let clip = self.state.clip.clone();
            self.pixmap.fill_rect(visible, &paint, ts, clip.as_deref());
        }
    }

    /// Scale and translation only: resample once into a device-sized pixmap (cached in the
    /// assets, at 1/8 px offsets) and copy that each frame.
    fn image_axis_aligned(
        &mut self,
        image: &Arc<Image>,
        src: [f32; 4],
        pattern_ts: Transform,
        visible: SkRect,
    ) {
        let ts = self.state.transform;
        let snap = |v: f32| (v * 8.0).round() / 8.0;
        let left = snap(ts.tx + visible.left() * ts.sx);
        let top = snap(ts.ty + visible.top() * ts.sy);
        let (w, h) = (
            snap(visible.width() * ts.sx),
            snap(visible.height() * ts.sy),
        );
        let (ix, iy) = (left.floor(), top.floor());
        let (fx, fy) = (left - ix, top - iy);
        let (pw, ph) = ((fx + w).ceil() as u32, (fy + h).ceil() as u32);
        if pw == 0 || ph == 0 || pw > 2 * super::MAX_IMAGE_SIDE || ph > 2 * super::MAX_IMAGE_SIDE {
            return;
        }
        let key = ResampleKey {
            image: image.uid,
            src: src.map(f32::to_bits),
            dst: [fx, fy, w, h].map(f32::to_bits),
        };
        // The visible rect's user→device mapping, moved so the rect starts at (fx, fy).
        let to_local = Transform::from_translate(fx, fy)
            .pre_scale(ts.sx, ts.sy)
            .pre_translate(-visible.left(), -visible.top());
        let resampled = self.assets.resampled(key, || {
            let mut out = Pixmap::new(pw, ph)?;
            if let Some(tree) = &image.svg {
                // Vector source: render it at the destination size rather than resample.
                let (kx, ky) = image.density();
                let svg_ts = to_local.pre_concat(pattern_ts).pre_scale(kx, ky);
                resvg::render(tree, svg_ts, &mut out.as_mut());
                return Some(out);
            }
            // Shrinking by more than 2× aliases under bicubic: halve the source first.
            let scale = (ts.sx * pattern_ts.sx).min(ts.sy * pattern_ts.sy);
            let (reduced, reduced_scale) = vcs_text::mip::reduce_for(&image.pixmap, scale);
            let source = reduced.as_ref().unwrap_or(&image.pixmap);
            let f = if reduced.is_some() {
                scale.max(f32::MIN_POSITIVE).recip() * reduced_scale
            } else {
                1.0
            };
            let paint = image_paint(
                source,
                pattern_ts.pre_scale(f, f),
                1.0,
                FilterQuality::Bicubic,
            );
            out.fill_rect(visible, &paint, to_local, None);
            Some(out)
        });
        if let Some(resampled) = resampled {
            let paint = PixmapPaint {
                opacity: self.state.alpha,
                quality: FilterQuality::Nearest,
                ..PixmapPaint::default()
            };
            let clip = self.state.clip.clone();
            self.pixmap.draw_pixmap(
                ix as i32,
                iy as i32,
                (*resampled).as_ref(),
                &paint,
                Transform::identity(),
                clip.as_deref(),
            );
        }
    }

    /// A missing image: a translucent magenta box with a cross, visible in any output.
    fn placeholder(&mut self, r: SkRect) {
        let ts = self.state.transform;
        if !within_limit(ts, r.left(), r.top(), r.right(), r.bottom()) {
            return;
        }
        let clip = self.state.clip.clone();
        let fill = self.paint(Color::rgba(1.0, 0.0, 1.0, 0.35));
        self.pixmap.fill_rect(r, &fill, ts, clip.as_deref());
        let mut pb = tiny_skia::PathBuilder::new();
        pb.push_rect(r);
        pb.move_to(r.left(), r.top());
        pb.line_to(r.right(), r.bottom());
        pb.move_to(r.right(), r.top());
        pb.line_to(r.left(), r.bottom());
        if let Some(path) = pb.finish() {
            let paint = self.paint(Color::rgba(1.0, 0.0, 1.0, 0.9));
            let stroke = Stroke {
                width: 2.0,
                ..Stroke::default()
            };
            self.pixmap
                .stroke_path(&path, &paint, &stroke, ts, clip.as_deref());
        }
    }
}

/// A paint that fills with `image` mapped into user space by `ts`.
fn image_paint(image: &Pixmap, ts: Transform, opacity: f32, quality: FilterQuality) -> Paint<'_> {
    Paint {
        shader: Pattern::new(image.as_ref(), SpreadMode::Pad, quality, opacity, ts),
        anti_alias: true,
        ..Paint::default()
    }
}
