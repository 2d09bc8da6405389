//! The display-list executor: Canvas2D semantics on a tiny-skia pixmap.
//!
//! Canvas rules followed here: the path is built in device space (points transformed when
//! added), `fill`/`stroke` use the transform current at that time, `globalAlpha` is absolute
//! state, `clip` intersects and is part of the saved state, `fillRect`/`strokeRect`/text and
//! images do not touch the current path, `restore` without a `save` is ignored.

use std::sync::Arc;

use tiny_skia::{
    FillRule as SkFillRule, FilterQuality, LineJoin as SkLineJoin, Mask, Paint, Pixmap,
    PixmapPaint, Rect as SkRect, Stroke, Transform,
};

use super::assets::Assets;
use super::path::{CanvasPath, DEVICE_LIMIT, normalized, within_limit};
use vcs_scene::{Color, DisplayList, FillRule, FontSpec, LineJoin, Op, Rect};
use vcs_text::Fonts;

/// Deepest save stack honoured; further `save`s are counted but not stored.
const MAX_SAVE_DEPTH: usize = 1024;
/// Canvas default miter limit (tiny-skia's default is 4).
const MITER_LIMIT: f32 = 10.0;

#[derive(Clone)]
pub(super) struct DrawState {
    pub(super) transform: Transform,
    /// Intersection of all clips so far; shared between saved states until one changes it.
    pub(super) clip: Option<Arc<Mask>>,
    fill: Color,
    stroke: Color,
    line_width: f32,
    line_join: LineJoin,
    pub(super) alpha: f32,
    font: FontSpec,
}

pub(super) struct Executor<'a> {
    pub(super) pixmap: &'a mut Pixmap,
    pub(super) fonts: &'a Fonts,
    pub(super) assets: &'a Assets,
    pub(super) state: DrawState,
    stack: Vec<DrawState>,
    /// `save`s beyond [`MAX_SAVE_DEPTH`] whose `restore`s must be swallowed.
    overflow: usize,
    path: CanvasPath,
}

impl<'a> Executor<'a> {
    pub fn new(
        pixmap: &'a mut Pixmap,
        base: Transform,
        fonts: &'a Fonts,
        assets: &'a Assets,
    ) -> Self {
        Self {
            pixmap,
            fonts,
            assets,
            state: DrawState {
                transform: base,
                clip: None,
                fill: Color::BLACK,
                stroke: Color::BLACK,
                line_width: 1.0,
                line_join: LineJoin::Miter,
                alpha: 1.0,
                font: FontSpec::default(),
            },
            stack: Vec::new(),
            overflow: 0,
            path: CanvasPath::default(),
        }
    }

    pub fn run(&mut self, list: &DisplayList) {
        for (i, cmd) in list.commands.iter().enumerate() {
            // Last line of defence: a panic inside tiny-skia or the shaper on some input we
            // did not foresee costs that op, not the recording.
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.exec(cmd)));
            if done.is_err() {
                tracing::warn!(
                    op = cmd.name(),
                    index = i,
                    "drawing this op panicked; skipped"
                );
            }
        }
    }

    fn exec(&mut self, cmd: &Op) {
        let ts = self.state.transform;
        match cmd {
            Op::Save => {
                if self.stack.len() < MAX_SAVE_DEPTH {
                    self.stack.push(self.state.clone());
                } else {
                    self.overflow += 1;
                }
            }
            Op::Restore => {
                if self.overflow > 0 {
                    self.overflow -= 1;
                } else if let Some(s) = self.stack.pop() {
                    self.state = s;
                }
            }
            Op::BeginPath => self.path.clear(),
            Op::ClosePath => self.path.close(),
            Op::Fill => {
                if let Some(p) = self.path.finish() {
                    let paint = self.paint(self.state.fill);
                    let clip = self.state.clip.clone();
                    self.pixmap.fill_path(
                        &p,
                        &paint,
                        SkFillRule::Winding,
                        Transform::identity(),
                        clip.as_deref(),
                    );
                }
            }
            Op::Stroke => {
                // Canvas strokes with the transform current now; the path is in device space,
                // so take it back to user space and stroke through the transform.
                if let (Some(p), Some(inv)) = (self.path.finish(), ts.invert())
                    && let Some(user) = p.transform(inv)
                {
                    self.stroke_path(&user, ts);
                }
            }
            Op::Scale(x, y) => self.state.transform = ts.pre_scale(*x, *y),
            Op::Rotate(rad) => {
                self.state.transform = ts.pre_concat(Transform::from_rotate(rad.to_degrees()))
            }
            Op::Translate(x, y) => self.state.transform = ts.pre_translate(*x, *y),
            Op::FillStyle(c) => self.state.fill = *c,
            Op::StrokeStyle(c) => self.state.stroke = *c,
            Op::LineWidth(w) => {
                // Canvas ignores non-positive widths; beyond the device limit nothing changes
                // visibly but tiny-skia's stroker would overflow.
                if *w > 0.0 {
                    self.state.line_width = w.min(DEVICE_LIMIT);
                }
            }
            Op::LineJoin(j) => self.state.line_join = *j,
            Op::GlobalAlpha(a) => {
                if (0.0..=1.0).contains(a) {
                    self.state.alpha = *a;
                }
            }
            Op::Font(f) => self.state.font = f.clone(),
            Op::Rect(r) => self.path.rect(ts, *r),
            Op::RoundRect(r, radii) => self.path.round_rect(ts, *r, *radii),
            Op::MoveTo(x, y) => self.path.move_to(ts, *x, *y),
            Op::LineTo(x, y) => self.path.line_to(ts, *x, *y),
            Op::QuadraticCurveTo(cx, cy, x, y) => self.path.quad_to(ts, *cx, *cy, *x, *y),
            Op::ArcTo(x1, y1, x2, y2, r) => self.path.arc_to(ts, *x1, *y1, *x2, *y2, *r),
            Op::Clip(rule) => self.clip(*rule),
            Op::FillRect(r) => {
                let Some(rect) = sk_rect(*r) else { return };
                let paint = self.paint(self.state.fill);
                let clip = self.state.clip.clone();
                if within_limit(ts, rect.left(), rect.top(), rect.right(), rect.bottom()) {
                    self.pixmap.fill_rect(rect, &paint, ts, clip.as_deref());
                } else {
                    // Huge rects go through the clamped device-space path.
                    let mut p = CanvasPath::default();
                    p.rect(ts, *r);
                    if let Some(path) = p.finish() {
                        self.pixmap.fill_path(
                            &path,
                            &paint,
                            SkFillRule::Winding,
                            Transform::identity(),
                            clip.as_deref(),
                        );
                    }
                }
            }
            Op::StrokeRect(r) => {
                let mut p = CanvasPath::default();
                p.rect(ts, *r);
                if let (Some(path), Some(inv)) = (p.finish(), ts.invert())
                    && let Some(user) = path.transform(inv)
                {
                    self.stroke_path(&user, ts);
                }
            }
            Op::FillText(text, x, y) => self.text(text, *x, *y, false),
            Op::StrokeText(text, x, y) => self.text(text, *x, *y, true),
            Op::FillTextEmoji(emoji, r) => self.emoji(emoji, *r),
            Op::DrawImage { image, src, dst } => self.image(image, *src, *dst),
        }
    }

    pub(super) fn paint(&self, color: Color) -> Paint<'static> {
        let mut paint = Paint::default();
        paint.set_color_rgba8(
            (color.r.clamp(0.0, 1.0) * 255.0).round() as u8,
            (color.g.clamp(0.0, 1.0) * 255.0).round() as u8,
            (color.b.clamp(0.0, 1.0) * 255.0).round() as u8,
            (color.a.clamp(0.0, 1.0) * self.state.alpha * 255.0).round() as u8,
        );
        paint.anti_alias = true;
        paint
    }

    fn stroke_style(&self) -> Stroke {
        Stroke {
            width: self.state.line_width,
            miter_limit: MITER_LIMIT,
            line_join: match self.state.line_join {
                LineJoin::Miter => SkLineJoin::Miter,
                LineJoin::Round => SkLineJoin::Round,
                LineJoin::Bevel => SkLineJoin::Bevel,
            },
            ..Stroke::default()
        }
    }

    fn stroke_path(&mut self, path: &tiny_skia::Path, ts: Transform) {
        let paint = self.paint(self.state.stroke);
        let stroke = self.stroke_style();
        let clip = self.state.clip.clone();
        self.pixmap
            .stroke_path(path, &paint, &stroke, ts, clip.as_deref());
    }

    fn clip(&mut self, rule: FillRule) {
        let rule = match rule {
            FillRule::NonZero => SkFillRule::Winding,
            FillRule::EvenOdd => SkFillRule::EvenOdd,
        };
        let (w, h) = (self.pixmap.width(), self.pixmap.height());
        let Some(path) = self.path.finish() else {
            // Clipping to an empty path hides everything after it.
            self.state.clip = Mask::new(w, h).map(Arc::new);
            return;
        };
        let mask = match self.state.clip.take() {
            Some(mut existing) => {
                Arc::make_mut(&mut existing).intersect_path(
                    &path,
                    rule,
                    true,
                    Transform::identity(),
                );
                Some(existing)
            }
            None => Mask::new(w, h).map(|mut m| {
                m.fill_path(&path, rule, true, Transform::identity());
                Arc::new(m)
            }),
        };
        self.state.clip = mask;
    }

    fn text(&mut self, text: &str, x: f32, y: f32, stroke: bool) {
        if text.is_empty() {
            return;
        }
        let run = self.fonts.drawable_run(text, &self.state.font);
        let ts = self.state.transform.pre_translate(x, y);
        let size = self.state.font.size_px;
        if !within_limit(ts, -size, -2.0 * size, run.width + size, 2.0 * size) {
            return;
        }
        if let Some(outline) = &run.outline {
            if stroke {
                self.stroke_path(outline, ts);
            } else {
                let paint = self.paint(self.state.fill);
                let clip = self.state.clip.clone();
                self.pixmap
                    .fill_path(outline, &paint, SkFillRule::Winding, ts, clip.as_deref());
            }
        }
        if stroke {
            // Colour emoji have no outline to stroke; the fill draws them.
            return;
        }
        let device_scale = (ts.sx * ts.sy - ts.kx * ts.ky).abs().sqrt();
        for g in &run.color {
            let (bitmap, factor) = g.glyph.level(g.scale * device_scale);
            let gts = ts
                .pre_translate(g.x, g.y)
                .pre_scale(g.scale, g.scale)
                .pre_translate(g.glyph.left, -g.glyph.top)
                .pre_scale(factor, factor);
            self.draw_pixmap(bitmap, gts);
        }
    }

    pub(super) fn draw_pixmap(&mut self, pixmap: &Pixmap, ts: Transform) {
        let paint = PixmapPaint {
            opacity: self.state.alpha,
            quality: FilterQuality::Bilinear,
            ..PixmapPaint::default()
        };
        let clip = self.state.clip.clone();
        self.pixmap
            .draw_pixmap(0, 0, pixmap.as_ref(), &paint, ts, clip.as_deref());
    }

    /// The emoji's colour bitmap fitted (aspect kept, centred) into `r`.
    /// `fillText_emoji [emoji, x, baselineY, w, h]` as Daily's renderer reads it: the emoji at
    /// `h` px, its left edge at `x` and sitting on the baseline like a glyph of a colour emoji
    /// font (EMOJI_ASCENT of its height above the baseline).
    fn emoji(&mut self, emoji: &str, r: Rect) {
        let (x, baseline, w, h) = (r.x, r.y, r.w, r.h);
        if w <= 0.0 || h <= 0.0 {
            return;
        }
        let y = baseline - EMOJI_ASCENT * h;
        match self.fonts.emoji_glyph(emoji) {
            Some((glyph, _)) => {
                let (gw, gh) = (glyph.pixmap.width() as f32, glyph.pixmap.height() as f32);
                let k = (w / gw).min(h / gh);
                if !within_limit(self.state.transform, x, y, x + w, y + h) {
                    return;
                }
                let t = self.state.transform;
                let device_scale = (t.sx * t.sy - t.kx * t.ky).abs().sqrt();
                let (bitmap, factor) = glyph.level(k * device_scale);
                let ts = t
                    .pre_translate(x + (w - gw * k) / 2.0, y + (h - gh * k) / 2.0)
                    .pre_scale(k * factor, k * factor);
                self.draw_pixmap(bitmap, ts);
            }
            None => {
                // No colour glyph: draw it as text at the size, on the baseline.
                let saved = self.state.font.clone();
                self.state.font = FontSpec {
                    size_px: h,
                    ..saved.clone()
                };
                self.text(emoji, x, baseline, false);
                self.state.font = saved;
            }
        }
    }
}

/// How far above the baseline an emoji's box starts, as a fraction of its size: where Noto
/// Color Emoji's glyphs sit (so Daily's Emoji, whose baseline is at 73 % of its frame at 83 %
/// of its size, starts at the frame's top).
const EMOJI_ASCENT: f32 = 0.88;

pub(super) fn sk_rect(r: Rect) -> Option<SkRect> {
    let (x, y, w, h) = normalized(r);
    SkRect::from_xywh(x, y, w, h)
}
