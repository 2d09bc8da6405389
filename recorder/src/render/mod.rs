//! Display lists rasterised onto tiny-skia pixmaps.
//!
//! - [`draw_display_list`] executes every op of vcs-api.md §7 with Canvas2D semantics
//!   (`exec`), building paths in device space (`path`), drawing text through the shared
//!   [`crate::text::Fonts`] so drawn runs are exactly as wide as layout measured them, and
//!   images (`image`) from [`Assets`] (PNG, JPEG, SVG via resvg; decoded once; resampled once
//!   per placement; a missing one is a magenta placeholder, warned about once by name).
//!   Bitmaps shrunk by more than 2× are box-filtered first (`mip`).
//! - [`StratumRenderer`] keeps the last list and its pixels: an unchanged stratum costs a
//!   comparison, not a rasterisation.
//! - [`draw_cli::run`] is `vcs-recorder draw`: a display list, scene or Daily fgDisplayList file
//!   to a PNG.
//!
//! Input is validated upstream ([`crate::scene`]); the renderer never fails or panics on it —
//! what it cannot draw (a missing image, an unshapeable string, coordinates beyond ±1e6 device
//! px, which are clamped) is logged and skipped, and each op runs under `catch_unwind`.

mod assets;
pub mod draw_cli;
mod exec;
mod image;
mod mip;
mod path;

use tiny_skia::{Pixmap, Transform};

use crate::scene::DisplayList;
use crate::text::Fonts;

pub(crate) use mip::halve;

pub use assets::{Assets, Image, MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, decode as decode_image};

/// Why the `draw` command could not produce its PNG.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("{width}×{height} is not a drawable size (1..=16384 each)")]
    Size { width: u32, height: u32 },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
}

/// Draws `list` (authored at `list_w`×`list_h`) onto `pixmap`, scaling if sizes differ. Never
/// panics; logs and skips what it cannot draw.
pub fn draw_display_list(
    pixmap: &mut Pixmap,
    list: &DisplayList,
    list_w: u32,
    list_h: u32,
    fonts: &Fonts,
    assets: &Assets,
) {
    if list.is_empty() || list_w == 0 || list_h == 0 {
        return;
    }
    let base = Transform::from_scale(
        pixmap.width() as f32 / list_w as f32,
        pixmap.height() as f32 / list_h as f32,
    );
    let mut exec = exec::Executor::new(pixmap, base, fonts, assets);
    exec.run(list);
}

/// One stratum's renderer: caches the last list and its pixmap and re-rasterises only when
/// the list (or its authored size, or a live image) changed. The background is transparent.
pub struct StratumRenderer {
    pixmap: Pixmap,
    fonts: Fonts,
    assets: Assets,
    /// The last list drawn, its authored size, and the assets generation it saw.
    last: Option<(DisplayList, u32, u32, u64)>,
}

impl StratumRenderer {
    /// A renderer for a `width`×`height` target (each clamped to at least 1 px).
    pub fn new(width: u32, height: u32, fonts: Fonts, assets: Assets) -> Self {
        let pixmap = Pixmap::new(width.max(1), height.max(1))
            .or_else(|| Pixmap::new(1, 1))
            .expect("a 1×1 pixmap always allocates");
        Self {
            pixmap,
            fonts,
            assets,
            last: None,
        }
    }

    /// The assets images are drawn from (to set live images or ask intrinsic sizes).
    pub fn assets(&self) -> &Assets {
        &self.assets
    }

    /// Forgets the cached list so the next [`render`](Self::render) rasterises. (Setting a
    /// live image through [`StratumRenderer::assets`] already does.)
    pub fn invalidate(&mut self) {
        self.last = None;
    }

    /// Premultiplied RGBA; `rasterised` tells whether work was done this call.
    pub fn render(&mut self, list: &DisplayList, list_w: u32, list_h: u32) -> (&Pixmap, bool) {
        let generation = self.assets.generation();
        if let Some((last, w, h, g)) = &self.last
            && *w == list_w
            && *h == list_h
            && *g == generation
            && last == list
        {
            return (&self.pixmap, false);
        }
        self.pixmap.fill(tiny_skia::Color::TRANSPARENT);
        draw_display_list(
            &mut self.pixmap,
            list,
            list_w,
            list_h,
            &self.fonts,
            &self.assets,
        );
        self.last = Some((list.clone(), list_w, list_h, generation));
        (&self.pixmap, true)
    }
}

#[cfg(test)]
mod tests;
