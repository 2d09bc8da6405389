//! Shaped glyphs turned into things tiny-skia can draw: outlines as paths (so transforms and
//! scaling stay vector-sharp) and colour emoji bitmaps (Noto Color Emoji is CBDT, bitmaps only).

use std::collections::HashMap;
use std::sync::Arc;

use fontdb::{Family, Query, Stretch, Style, Weight};
use swash::zeno::{Command as Zc, PathData as _};
use tiny_skia::{Path, PathBuilder, Pixmap, Transform};

use super::shape::{PositionedGlyph, ShapedRun};
use super::{LineMetrics, ResolvedFont, State};

/// The slant cosmic-text and browsers use to synthesise italics.
const FAKE_ITALIC_DEGREES: f32 = 14.0;

/// A colour glyph bitmap at its native strike size. `left`/`top` place the bitmap's top-left
/// corner relative to the glyph origin (`top` is up from the baseline), in strike pixels.
#[derive(Debug)]
pub struct ColorGlyph {
    /// Premultiplied RGBA.
    pub pixmap: Pixmap,
    pub left: f32,
    pub top: f32,
    /// The strike's pixels per em: draw at `size / ppem` to get a `size` px glyph.
    pub ppem: f32,
    /// `pixmap` halved again and again, made on first small draw.
    mips: std::sync::OnceLock<Vec<Pixmap>>,
}

impl ColorGlyph {
    /// The bitmap to draw at `scale` device px per strike px, and how many strike px each of
    /// its px covers (1, 2, 4, …): reduced so the draw itself shrinks by at most 2×.
    pub fn level(&self, scale: f32) -> (&Pixmap, f32) {
        let mut level = 0;
        let mut s = scale;
        while s > 0.0 && s < 0.5 && level < 8 {
            s *= 2.0;
            level += 1;
        }
        if level == 0 {
            return (&self.pixmap, 1.0);
        }
        let mips = self.mips.get_or_init(|| {
            let mut chain: Vec<Pixmap> = Vec::new();
            while chain.len() < 8 {
                let next = match chain.last() {
                    Some(p) => crate::mip::halve(p),
                    None => crate::mip::halve(&self.pixmap),
                };
                match next {
                    Some(p) => chain.push(p),
                    None => break,
                }
            }
            chain
        });
        let level = level.min(mips.len());
        match level.checked_sub(1).and_then(|i| mips.get(i)) {
            Some(p) => (p, (1u32 << level) as f32),
            None => (&self.pixmap, 1.0),
        }
    }
}

/// A colour glyph placed in a run: origin at (`x`, `y`) from the run's baseline start, drawn at
/// `scale` strike pixels → run pixels.
#[derive(Clone, Debug)]
pub struct PlacedColorGlyph {
    pub glyph: Arc<ColorGlyph>,
    pub x: f32,
    pub y: f32,
    pub scale: f32,
}

/// A run ready to draw: `outline` holds every outline glyph in one path (px, baseline at y = 0,
/// left end at x = 0, y down), `color` the bitmap glyphs. `width` equals the measured width.
#[derive(Debug, Default)]
pub struct DrawableRun {
    pub width: f32,
    pub outline: Option<Path>,
    pub color: Vec<PlacedColorGlyph>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct OutlineKey {
    font_id: fontdb::ID,
    glyph_id: u16,
    weight: u16,
    size_bits: u32,
    fake_italic: bool,
}

#[derive(Default)]
pub(crate) struct GlyphCache {
    outlines: HashMap<OutlineKey, Option<Arc<Path>>>,
    color: HashMap<(fontdb::ID, u16), Option<Arc<ColorGlyph>>>,
}

/// Most glyph outlines kept before the cache is emptied.
const OUTLINE_CACHE_CAP: usize = 32_768;

impl State {
    pub(super) fn build_drawable(&mut self, run: &ShapedRun) -> DrawableRun {
        let mut pb = PathBuilder::new();
        let mut color = Vec::new();
        for g in &run.glyphs {
            if let Some(glyph) = self.color_glyph(g.font_id, g.glyph_id) {
                let scale = g.size / glyph.ppem;
                color.push(PlacedColorGlyph {
                    glyph,
                    x: g.x,
                    y: g.y,
                    scale,
                });
                continue;
            }
            if let Some(path) = self.outline(g)
                && let Some(p) = (*path)
                    .clone()
                    .transform(Transform::from_translate(g.x, g.y))
            {
                pb.push_path(&p);
            }
        }
        DrawableRun {
            width: run.width,
            outline: pb.finish(),
            color,
        }
    }

    fn outline(&mut self, g: &PositionedGlyph) -> Option<Arc<Path>> {
        let key = OutlineKey {
            font_id: g.font_id,
            glyph_id: g.glyph_id,
            weight: g.weight,
            size_bits: g.size.to_bits(),
            fake_italic: g.fake_italic,
        };
        if let Some(p) = self.glyphs.outlines.get(&key) {
            return p.clone();
        }
        let path = self.scale_outline(g).map(Arc::new);
        if self.glyphs.outlines.len() >= OUTLINE_CACHE_CAP {
            self.glyphs.outlines.clear();
        }
        self.glyphs.outlines.insert(key, path.clone());
        path
    }

    fn scale_outline(&mut self, g: &PositionedGlyph) -> Option<Path> {
        let font = self.system.get_font(g.font_id, Weight(g.weight))?;
        let sw = font.as_swash();
        let wght = swash::Tag::from_be_bytes(*b"wght");
        let coords: Vec<_> = match sw.variations().find_by_tag(wght) {
            Some(axis) => sw
                .variations()
                .normalized_coords([(
                    wght,
                    f32::from(g.weight).clamp(axis.min_value(), axis.max_value()),
                )])
                .collect(),
            None => Vec::new(),
        };
        let mut scaler = self
            .scale
            .builder(sw)
            .size(g.size)
            .hint(false)
            .normalized_coords(&coords)
            .build();
        let outline = scaler.scale_outline(g.glyph_id)?;
        let skew = if g.fake_italic {
            FAKE_ITALIC_DEGREES.to_radians().tan()
        } else {
            0.0
        };
        // Font space is y-up; the canvas is y-down.
        let pt = |p: swash::zeno::Point| (p.x + skew * p.y, -p.y);
        let mut pb = PathBuilder::new();
        for cmd in outline.path().commands() {
            match cmd {
                Zc::MoveTo(p) => {
                    let (x, y) = pt(p);
                    pb.move_to(x, y);
                }
                Zc::LineTo(p) => {
                    let (x, y) = pt(p);
                    pb.line_to(x, y);
                }
                Zc::QuadTo(c, p) => {
                    let ((cx, cy), (x, y)) = (pt(c), pt(p));
                    pb.quad_to(cx, cy, x, y);
                }
                Zc::CurveTo(c1, c2, p) => {
                    let ((ax, ay), (bx, by), (x, y)) = (pt(c1), pt(c2), pt(p));
                    pb.cubic_to(ax, ay, bx, by, x, y);
                }
                Zc::Close => pb.close(),
            }
        }
        pb.finish()
    }

    /// The glyph's colour bitmap at the font's largest strike, if the font has one for it.
    pub(super) fn color_glyph(
        &mut self,
        font_id: fontdb::ID,
        glyph_id: u16,
    ) -> Option<Arc<ColorGlyph>> {
        if let Some(c) = self.glyphs.color.get(&(font_id, glyph_id)) {
            return c.clone();
        }
        let glyph = self.scale_color_glyph(font_id, glyph_id).map(Arc::new);
        self.glyphs.color.insert((font_id, glyph_id), glyph.clone());
        glyph
    }

    fn scale_color_glyph(&mut self, font_id: fontdb::ID, glyph_id: u16) -> Option<ColorGlyph> {
        let font = self.system.get_font(font_id, Weight::NORMAL)?;
        let sw = font.as_swash();
        let ppem = sw.color_strikes().find_by_largest_ppem(glyph_id)?.ppem();
        let mut scaler = self.scale.builder(sw).size(f32::from(ppem)).build();
        let image = scaler.scale_color_bitmap(glyph_id, swash::scale::StrikeWith::LargestSize)?;
        let p = image.placement;
        if image.content != swash::scale::image::Content::Color || p.width == 0 || p.height == 0 {
            return None;
        }
        let mut data = image.data;
        // swash hands out straight alpha; tiny-skia wants premultiplied.
        for px in data.chunks_exact_mut(4) {
            let a = u16::from(px[3]);
            for c in &mut px[..3] {
                *c = ((u16::from(*c) * a + 127) / 255) as u8;
            }
        }
        let size = tiny_skia::IntSize::from_wh(p.width, p.height)?;
        let pixmap = Pixmap::from_vec(data, size)?;
        Some(ColorGlyph {
            pixmap,
            left: p.left as f32,
            top: p.top as f32,
            ppem: f32::from(ppem),
            mips: Default::default(),
        })
    }

    pub(super) fn line_metrics(&mut self, font: &ResolvedFont) -> LineMetrics {
        let size = font.size();
        let query = Query {
            families: &[Family::Name(&font.family)],
            weight: Weight(font.weight),
            stretch: Stretch::Normal,
            style: if font.italic {
                Style::Italic
            } else {
                Style::Normal
            },
        };
        let metrics = self
            .system
            .db()
            .query(&query)
            .and_then(|id| self.system.get_font(id, Weight(font.weight)))
            .map(|f| f.as_swash().metrics(&[]));
        match metrics {
            Some(m) if m.units_per_em > 0 => {
                let k = size / f32::from(m.units_per_em);
                let (ascent, descent) = (m.ascent * k, m.descent.abs() * k);
                LineMetrics {
                    ascent,
                    descent,
                    line_height: ascent + descent + m.leading.max(0.0) * k,
                }
            }
            // Typical sans proportions, so layout still has something sensible.
            _ => LineMetrics {
                ascent: size * 0.93,
                descent: size * 0.24,
                line_height: size * 1.17,
            },
        }
    }
}
