//! One output frame from a scene: the background stratum, the participants' video layers and
//! the foreground stratum composited into an encoder buffer ([`vcs_render::compose`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use vcs_media::input::VideoFrame;
use vcs_render::compose::{Canvas, CoverageSpans, VideoFrameRef};
use vcs_render::{Assets, StratumRenderer};
use vcs_scene::{IntRect, Scene};
use vcs_text::Fonts;

/// The strata renderers and the canvas they are composited on, kept from frame to frame so an
/// unchanged stratum is not rasterised again.
pub struct Strata {
    width: u32,
    height: u32,
    background: StratumRenderer,
    foreground: StratumRenderer,
    canvas: Canvas,
    /// Where the foreground has coverage; recomputed only when it was rasterised again.
    fg_spans: CoverageSpans,
}

impl Strata {
    /// Strata for a `width`×`height` output, drawing text with `fonts` and images from
    /// `image_dirs`.
    pub fn new(width: u32, height: u32, fonts: Fonts, image_dirs: Vec<PathBuf>) -> Self {
        Self {
            width,
            height,
            background: StratumRenderer::new(
                width,
                height,
                fonts.clone(),
                Assets::from_dirs(image_dirs.clone()),
            ),
            foreground: StratumRenderer::new(width, height, fonts, Assets::from_dirs(image_dirs)),
            canvas: Canvas::new(width, height),
            fg_spans: CoverageSpans::default(),
        }
    }

    /// Composites `scene` with the participants' `frames` into `buffer` (a recycled encoder
    /// buffer of the output size) and returns it.
    pub fn composite(
        &mut self,
        scene: &Scene,
        frames: &BTreeMap<String, VideoFrame>,
        buffer: Vec<u8>,
    ) -> Vec<u8> {
        self.canvas.data = buffer;
        let (bg, _) = self
            .background
            .render(&scene.background, scene.width, scene.height);
        self.canvas.fill_from_premultiplied(bg.data());
        for layer in &scene.video_layers {
            let Some(frame) = frames.get(&layer.id) else {
                continue;
            };
            let src = VideoFrameRef {
                width: frame.width,
                height: frame.height,
                stride: frame.stride,
                data: frame.data.as_slice(),
            };
            self.canvas.draw_video(
                src,
                scale_frame(layer.frame, scene, self.width, self.height),
                &layer.attrs,
            );
        }
        let (fg, rasterised) = self
            .foreground
            .render(&scene.foreground, scene.width, scene.height);
        if rasterised {
            self.fg_spans = CoverageSpans::of(fg.data(), fg.width());
        }
        self.canvas.over_premultiplied(fg.data(), &self.fg_spans);
        std::mem::take(&mut self.canvas.data)
    }
}

/// Maps a layer frame from scene pixels to output pixels (they differ only when a composition
/// emits a scene of another size).
fn scale_frame(f: IntRect, scene: &Scene, width: u32, height: u32) -> IntRect {
    if scene.width == width && scene.height == height {
        return f;
    }
    let sx = width as f32 / scene.width as f32;
    let sy = height as f32 / scene.height as f32;
    IntRect {
        x: (f.x as f32 * sx).round() as i32,
        y: (f.y as f32 * sy).round() as i32,
        w: (f.w as f32 * sx).round() as i32,
        h: (f.h as f32 * sy).round() as i32,
    }
}
