//! Scene → pixels: display lists rasterised onto tiny-skia pixmaps, and the strata compositor
//! that lays background, participants' video and foreground into one output frame.
//!
//! Input is validated upstream ([`vcs_scene`]); the renderer never fails or panics on it —
//! what it cannot draw (a missing image, an unshapeable string, coordinates beyond ±1e6 device
//! px, which are clamped) is logged and skipped, and each op runs under `catch_unwind`.
//!
//! # Layout
//! - [`draw_display_list`] executes every op of vcs-api.md §7 with Canvas2D semantics
//!   (`exec.rs`), building paths in device space (`path.rs`), drawing text through the shared
//!   [`vcs_text::Fonts`] so drawn runs are exactly as wide as layout measured them, and images
//!   (`image.rs`) from [`Assets`] (`assets.rs`: PNG, JPEG, SVG via resvg; decoded once;
//!   resampled once per placement; a missing one is a magenta placeholder, warned about once by
//!   name). Bitmaps shrunk by more than 2× are box-filtered first ([`vcs_text::mip`]).
//! - [`StratumRenderer`]: keeps the last list and its pixels, so an unchanged stratum costs a
//!   comparison, not a rasterisation.
//! - [`still`]: a whole scene as one picture, video layers as labelled placeholders.
//! - [`yuv`]: the strata compositor the recorder uses — decoded I420 video scaled, cropped,
//!   rounded and blended straight into the encoder's I420 frame, graphics converted to YUV only
//!   when rasterised again (no GStreamer).
//! - [`compose`]: the same layer semantics over an RGBA canvas (pictures of a scene).

mod assets;
pub mod compose;
mod exec;
mod image;
mod path;
pub mod still;
pub mod yuv;

use tiny_skia::{Pixmap, Transform};

use vcs_scene::DisplayList;
use vcs_text::Fonts;

pub use assets::{Assets, Image, MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, decode as decode_image};
pub use still::draw_scene;

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
/// the list (or its authored size) changed. The background is transparent.
pub struct StratumRenderer {
    pixmap: Pixmap,
    fonts: Fonts,
    assets: Assets,
    /// The last list drawn and its authored size.
    last: Option<(DisplayList, u32, u32)>,
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

    /// Forgets the cached list so the next [`render`](Self::render) rasterises.
    #[cfg(test)]
    pub(crate) fn invalidate(&mut self) {
        self.last = None;
    }

    /// Premultiplied RGBA; `rasterised` tells whether work was done this call.
    pub fn render(&mut self, list: &DisplayList, list_w: u32, list_h: u32) -> (&Pixmap, bool) {
        if let Some((last, w, h)) = &self.last
            && *w == list_w
            && *h == list_h
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
        self.last = Some((list.clone(), list_w, list_h));
        (&self.pixmap, true)
    }
}

#[cfg(test)]
mod tests;
