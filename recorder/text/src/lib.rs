//! The one font resolver and text shaper.
//!
//! The engine's layout measures text with [`Fonts::measure`] / [`Fonts::wrap`], and the renderer
//! draws the very same shaped glyphs ([`Fonts::drawable_run`]), so what layout measured is what
//! gets drawn: both go through one cached shaping function keyed by `(text, resolved font)`.
//!
//! # Font resolution
//! - The requested family is looked up case-insensitively, also ignoring spaces
//!   (`"DMSans"` finds `"DM Sans"`). Generic names map to installed families: `sans-serif` →
//!   Roboto, `serif` → DejaVu Serif, `monospace` → DejaVu Sans Mono.
//! - A family that is not installed (nor in a composition's `fonts/`) falls back to the default,
//!   [`DEFAULT_FAMILY`] (Roboto), else [`LAST_RESORT_FAMILY`] (DejaVu Sans), with one
//!   `tracing::warn!` per family per process.
//! - Weight and style are matched within the family with CSS font matching (nearest weight);
//!   a family without an italic face gets a synthesised slant.
//! - Glyphs the chosen face lacks come from per-script fallbacks (Noto Sans Arabic / Hebrew /
//!   Devanagari …, Droid Sans Fallback or Noto CJK for Han and kana), then Noto Sans, then Noto
//!   Color Emoji, then DejaVu Sans ([`resolve::VcsFallback`]).
//!
//! Shaping is cosmic-text (harfrust) with bidi, so Arabic and Hebrew runs come out in visual
//! order with their joins; a run's `x` is always its left edge.
//!
//! # Layout
//! - this file: [`Fonts`] — measuring, wrapping, line metrics, emoji segments, the caches.
//! - `resolve.rs`: family lookup and the per-script fallback chain.
//! - `shape.rs`: one line shaped into positioned glyphs ([`ShapedRun`]).
//! - `wrap.rs`: line breaking at a width.
//! - `glyphs.rs`: shaped runs as drawable outlines and colour bitmaps ([`DrawableRun`]).
//! - [`mip`]: box-filtered halving, so bitmaps (colour glyphs here, images in `vcs-render`)
//!   drawn much smaller than their pixels do not alias.

mod glyphs;
pub mod mip;
mod resolve;
mod shape;
mod wrap;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cosmic_text::FontSystem;

use vcs_scene::FontSpec;

pub use glyphs::{ColorGlyph, DrawableRun, PlacedColorGlyph};
pub use resolve::{DEFAULT_FAMILY, LAST_RESORT_FAMILY};
pub use shape::{PositionedGlyph, ShapedRun};

/// One line produced by [`Fonts::wrap`]: its text (without the trailing spaces it broke at) and
/// its width, which equals `measure(text)`.
#[derive(Clone, Debug, PartialEq)]
pub struct TextLine {
    pub text: String,
    pub width: f32,
}

/// A piece of text from [`Fonts::emoji_segments`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextSegment<'t> {
    pub text: &'t str,
    pub emoji: bool,
}

/// Vertical metrics of a font at a size, in px. `ascent` and `descent` are both positive
/// distances from the baseline; `line_height` is the font's natural line height
/// (ascent + descent + line gap).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineMetrics {
    pub ascent: f32,
    pub descent: f32,
    pub line_height: f32,
}

/// Most shaped runs kept per cache before it is emptied (a frame rarely shows more than a few
/// hundred distinct runs; layout's wrapping probes many prefixes, so allow generously).
const RUN_CACHE_CAP: usize = 8192;

/// The font database, shaper and glyph caches. Cloning is cheap and clones share everything;
/// `Send + Sync` (one mutex: shaping is short and cosmic-text's `FontSystem` needs `&mut`).
#[derive(Clone)]
pub struct Fonts {
    inner: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts").finish_non_exhaustive()
    }
}

/// The requested font after family, weight and style resolution; the cache key for runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ResolvedFont {
    pub family: Arc<str>,
    /// The weight of the face that will be used (CSS matching already applied).
    pub weight: u16,
    pub italic: bool,
    pub size_bits: u32,
}

impl ResolvedFont {
    pub fn size(&self) -> f32 {
        f32::from_bits(self.size_bits)
    }
}

pub(crate) struct State {
    pub system: FontSystem,
    pub scale: swash::scale::ScaleContext,
    /// Requested family (as written) → installed family name.
    families: HashMap<String, Arc<str>>,
    /// (family, weight, italic) → weight of the matched face.
    weights: HashMap<(Arc<str>, u16, bool), u16>,
    runs: HashMap<(String, ResolvedFont), Arc<ShapedRun>>,
    drawables: HashMap<(String, ResolvedFont), Arc<DrawableRun>>,
    pub(crate) glyphs: glyphs::GlyphCache,
}

fn system_db() -> &'static fontdb::Database {
    static DB: OnceLock<fontdb::Database> = OnceLock::new();
    DB.get_or_init(|| {
        let started = std::time::Instant::now();
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        tracing::debug!(
            faces = db.len(),
            ms = started.elapsed().as_millis() as u64,
            "loaded system fonts"
        );
        db
    })
}

impl Fonts {
    /// System fonts (Debian) loaded once per process; every call returns the same shared value.
    pub fn system() -> Fonts {
        static SYSTEM: OnceLock<Fonts> = OnceLock::new();
        SYSTEM
            .get_or_init(|| Fonts::from_db(system_db().clone()))
            .clone()
    }

    /// System fonts plus every TTF/OTF/TTC under the given folders (a composition's `fonts/`).
    /// Folders that do not exist are skipped.
    pub fn with_font_dirs(dirs: &[PathBuf]) -> Fonts {
        if dirs.is_empty() {
            return Fonts::system();
        }
        let mut db = system_db().clone();
        for dir in dirs {
            if dir.is_dir() {
                let before = db.len();
                db.load_fonts_dir(dir);
                tracing::debug!(dir = %dir.display(), faces = db.len() - before, "loaded composition fonts");
            }
        }
        Fonts::from_db(db)
    }

    fn from_db(mut db: fontdb::Database) -> Fonts {
        resolve::set_generic_families(&mut db);
        // A fixed locale keeps shaping and fallback identical on every machine.
        let system = FontSystem::new_with_locale_and_db_and_fallback(
            "en-US".into(),
            db,
            resolve::VcsFallback,
        );
        Fonts {
            inner: Arc::new(Mutex::new(State {
                system,
                scale: swash::scale::ScaleContext::new(),
                families: HashMap::new(),
                weights: HashMap::new(),
                runs: HashMap::new(),
                drawables: HashMap::new(),
                glyphs: glyphs::GlyphCache::default(),
            })),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while shaping must not take every later frame down with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Width in px of `text` shaped as one line (no wrapping). Line breaks count as spaces.
    pub fn measure(&self, text: &str, font: &FontSpec) -> f32 {
        self.shape(text, font).width
    }

    /// Breaks text into lines no wider than `max_width` (None = only at '\n'), at word boundaries
    /// (Unicode line breaking, so CJK may break between ideographs). A word wider than
    /// `max_width` stays whole on its own line. Each line's width is `measure(line.text)`.
    pub fn wrap(&self, text: &str, font: &FontSpec, max_width: Option<f32>) -> Vec<TextLine> {
        wrap::wrap(text, max_width, |s| self.measure(s, font))
    }

    /// Ascent, descent (positive) and natural line height, in px, of the resolved primary face.
    pub fn line_metrics(&self, font: &FontSpec) -> LineMetrics {
        let mut st = self.lock();
        let resolved = st.resolve(font);
        st.line_metrics(&resolved)
    }

    /// The installed family `family` resolves to (after the documented fallback).
    pub fn resolve_family(&self, family: &str) -> String {
        self.lock().family(family).to_string()
    }

    /// The family name of a face, e.g. the fallback a glyph of [`Fonts::shape`] came from.
    #[cfg(test)]
    pub(crate) fn face_family(&self, id: fontdb::ID) -> Option<String> {
        let st = self.lock();
        let face = st.system.db().face(id)?;
        face.families.first().map(|(name, _)| name.clone())
    }

    /// Number of font faces available (system plus composition fonts).
    #[cfg(test)]
    pub(crate) fn face_count(&self) -> usize {
        self.lock().system.db().len()
    }

    /// `text` shaped as one line: glyphs with positions relative to the left end of the
    /// baseline, and the advance width.
    pub fn shape(&self, text: &str, font: &FontSpec) -> Arc<ShapedRun> {
        let mut st = self.lock();
        let resolved = st.resolve(font);
        st.shaped(text, &resolved)
    }

    /// `text` shaped as one line and turned into drawable outlines (one path, px, baseline at
    /// y = 0, left end at x = 0) plus colour glyph bitmaps. `width` equals [`Fonts::measure`].
    pub fn drawable_run(&self, text: &str, font: &FontSpec) -> Arc<DrawableRun> {
        let mut st = self.lock();
        let resolved = st.resolve(font);
        let key = (text.to_string(), resolved);
        if let Some(d) = st.drawables.get(&key) {
            return d.clone();
        }
        let run = st.shaped(text, &key.1);
        let drawable = Arc::new(st.build_drawable(&run));
        if st.drawables.len() >= RUN_CACHE_CAP {
            st.drawables.clear();
        }
        st.drawables.insert(key, drawable.clone());
        drawable
    }

    /// Splits `text` into alternating plain and emoji segments, where "emoji" means "drawn
    /// from a colour font" — decided by the same shaping that draws, so a layout that puts
    /// emoji into `fillText_emoji` squares agrees with the renderer. (`fillText` also draws
    /// colour emoji itself, so splitting is optional.)
    pub fn emoji_segments<'t>(&self, text: &'t str, font: &FontSpec) -> Vec<TextSegment<'t>> {
        if text.is_empty() {
            return Vec::new();
        }
        let run = self.shape(text, font);
        let mut emoji = vec![false; text.len()];
        {
            let mut st = self.lock();
            for g in &run.glyphs {
                if st.color_glyph(g.font_id, g.glyph_id).is_some() {
                    let end = g.range.end.min(text.len());
                    emoji[g.range.start.min(end)..end].fill(true);
                }
            }
        }
        let mut out: Vec<TextSegment<'t>> = Vec::new();
        let mut start = 0;
        let boundaries = text.char_indices().map(|(i, _)| i).skip(1);
        for i in boundaries.chain([text.len()]) {
            // Segment boundaries only between characters whose emoji-ness differs; joiners
            // and variation selectors inside a cluster share the cluster's byte range.
            if i == text.len() || emoji[i] != emoji[start] {
                out.push(TextSegment {
                    text: &text[start..i],
                    emoji: emoji[start],
                });
                start = i;
            }
        }
        out
    }

    /// Shapes a sample of each script the fallbacks cover, so the first real frame does not pay
    /// for loading those fonts (tens of ms).
    pub fn warm_up(&self) {
        let f = FontSpec::default();
        for sample in ["Ag", "مرحبا", "שלום", "你好", "こんにちは", "नमस्ते", "😀"]
        {
            self.drawable_run(sample, &f);
        }
    }

    /// One emoji (the first grapheme of `emoji`) as a colour glyph, for `fillText_emoji`.
    /// `None` when no installed font draws it in colour.
    pub fn emoji_glyph(&self, emoji: &str) -> Option<(Arc<ColorGlyph>, f32)> {
        let spec = FontSpec {
            weight: 400,
            italic: false,
            size_px: 64.0,
            family: "Noto Color Emoji".into(),
        };
        let mut st = self.lock();
        let resolved = st.resolve(&spec);
        let run = st.shaped(emoji, &resolved);
        let g = run.glyphs.first()?;
        let glyph = st.color_glyph(g.font_id, g.glyph_id)?;
        Some((glyph, run.width.max(1.0) / resolved.size()))
    }
}

impl State {
    pub(crate) fn resolve(&mut self, font: &FontSpec) -> ResolvedFont {
        let family = self.family(&font.family);
        let key = (family.clone(), font.weight, font.italic);
        let weight = match self.weights.get(&key) {
            Some(&w) => w,
            None => {
                let w =
                    resolve::matched_weight(self.system.db(), &family, font.weight, font.italic);
                self.weights.insert(key, w);
                w
            }
        };
        let size = if font.size_px.is_finite() && font.size_px > 0.0 {
            font.size_px
        } else {
            1.0
        };
        ResolvedFont {
            family,
            weight,
            italic: font.italic,
            size_bits: size.to_bits(),
        }
    }

    fn family(&mut self, requested: &str) -> Arc<str> {
        if let Some(f) = self.families.get(requested) {
            return f.clone();
        }
        let f: Arc<str> = resolve::resolve_family(self.system.db(), requested).into();
        self.families.insert(requested.to_string(), f.clone());
        f
    }

    fn shaped(&mut self, text: &str, font: &ResolvedFont) -> Arc<ShapedRun> {
        let key = (text.to_string(), font.clone());
        if let Some(r) = self.runs.get(&key) {
            return r.clone();
        }
        let run = Arc::new(shape::shape_line(&mut self.system, text, font));
        if self.runs.len() >= RUN_CACHE_CAP {
            self.runs.clear();
        }
        self.runs.insert(key, run.clone());
        run
    }
}

#[cfg(test)]
mod tests;
