//! One output frame from a scene: the background stratum, the participants' video layers and
//! the foreground stratum composited in YUV into an I420 encoder buffer
//! ([`vcs_render::yuv::YuvCompositor`]): decoded video is never turned into RGB.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vcs_media::input::{VideoFrame, YuvMatrix};
use vcs_render::yuv::{I420Layout, I420Ref, Matrix, VideoLayerRef, YuvCompositor, YuvSpace};
use vcs_render::{Assets, StratumRenderer};
use vcs_scene::{IntRect, Scene};
use vcs_text::Fonts;

/// The strata renderers and the compositor they feed, kept from frame to frame so an unchanged
/// stratum is neither rasterised nor converted again and an unchanged video frame is not scaled
/// again.
pub struct Strata {
    width: u32,
    height: u32,
    background: StratumRenderer,
    foreground: StratumRenderer,
    compositor: YuvCompositor,
}

impl Strata {
    /// Strata for an output laid out as `layout` (the encoder's I420, in its colour space),
    /// drawing text with `fonts` and images from `image_dirs`.
    pub fn new(layout: I420Layout, fonts: Fonts, image_dirs: Vec<PathBuf>) -> Self {
        let space = YuvSpace::for_output(layout.height);
        Self::with_space(layout, space, fonts, image_dirs)
    }

    /// [`Strata::new`] composing in `space` rather than the encoder's (the preview composes in
    /// JPEG's full-range BT.601, so its frames go to the JPEG encoder without a conversion).
    pub fn with_space(
        layout: I420Layout,
        space: YuvSpace,
        fonts: Fonts,
        image_dirs: Vec<PathBuf>,
    ) -> Self {
        let (width, height) = (layout.width, layout.height);
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
            compositor: YuvCompositor::new(layout, space),
        }
    }

    /// Composites `scene` with the participants' `frames` into `buffer` (a recycled I420 encoder
    /// buffer of the output's layout, every byte of which is written) and returns it.
    pub fn composite(
        &mut self,
        scene: &Scene,
        frames: &BTreeMap<String, VideoFrame>,
        mut buffer: Vec<u8>,
    ) -> Vec<u8> {
        let (bg, rasterised) = self
            .background
            .render(&scene.background, scene.width, scene.height);
        if rasterised {
            self.compositor.set_background(bg.data());
        }
        let (fg, rasterised) = self
            .foreground
            .render(&scene.foreground, scene.width, scene.height);
        if rasterised {
            self.compositor.set_foreground(fg.data());
        }
        let layers: Vec<VideoLayerRef<'_>> = scene
            .video_layers
            .iter()
            .filter_map(|layer| {
                let frame = frames.get(&layer.id)?;
                Some(VideoLayerRef {
                    id: &layer.id,
                    frame_id: frame.id,
                    src: frame_ref(frame),
                    rect: scale_frame(layer.frame, scene, self.width, self.height),
                    attrs: &layer.attrs,
                })
            })
            .collect();
        self.compositor.compose(&mut buffer, &layers);
        buffer
    }
}

/// A decoded frame as the compositor reads it.
fn frame_ref(frame: &VideoFrame) -> I420Ref<'_> {
    I420Ref {
        layout: I420Layout {
            width: frame.width,
            height: frame.height,
            offsets: frame.offsets,
            strides: frame.strides,
        },
        space: YuvSpace {
            matrix: match frame.matrix {
                YuvMatrix::Bt601 => Matrix::Bt601,
                YuvMatrix::Bt709 => Matrix::Bt709,
                YuvMatrix::Bt2020 => Matrix::Bt2020,
            },
            full_range: frame.full_range,
        },
        data: frame.data.as_slice(),
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
