//! The one place the preview touches the engine, renderer and compositor crates: start the
//! composition in its supervised engine process, turn a scene (and the real participants'
//! frames) into pixels, pixels into JPEG or PNG. When those crates change (the compositor's I420
//! frames, the engine process), only this file follows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vcs_engine::{Composition, EngineError};
use vcs_media::input::VideoFrame;
use vcs_render::still::video_placeholders;
use vcs_render::yuv::{I420Layout, I420Ref, Matrix, YuvSpace, i420_to_rgba};
use vcs_render::{Assets, draw_display_list, draw_scene};
use vcs_scene::{DisplayList, Scene, VideoLayer};
use vcs_text::Fonts;

use crate::engine_process::{CompositionState, Limits, SupervisedEngine};
use crate::recording::strata::Strata;

/// JPEG quality of streamed frames: sharp text at a size the encoder keeps up with.
const JPEG_QUALITY: u8 = 80;
/// The colour space frames with real video are composited in: JPEG's (JFIF) YCbCr, so the
/// composited I420 goes to the JPEG encoder as it is.
const JPEG_SPACE: YuvSpace = YuvSpace {
    matrix: Matrix::Bt601,
    full_range: true,
};

/// Starts the composition where `state` says (params, participants, messages, time) in its own
/// engine process; returns the engine and its first scene.
pub fn start_engine(state: &CompositionState) -> Result<(SupervisedEngine, Scene), EngineError> {
    SupervisedEngine::start(state.clone(), Limits::default())
}

/// Draws scenes at the preview's size with the fonts and images the composition uses. Video
/// layers of participants without real video are labelled placeholders; a frame with real video
/// is composited as a recording composites it ([`Strata`]), in JPEG's colour space.
pub struct Painter {
    composition: String,
    session_assets: Option<PathBuf>,
    image_dirs: Vec<PathBuf>,
    fonts: Fonts,
    assets: Assets,
    pixmap: tiny_skia::Pixmap,
    /// The last scene's background and video placeholders, painted: most frames change only
    /// the foreground (a clock, a toast), so only it is drawn again, over a copy of this.
    under: Option<Under>,
    /// The compositor for frames with real video (made at the first such frame).
    strata: Option<Strata>,
    layout: I420Layout,
    /// The last frame with real video.
    i420: Vec<u8>,
    /// Which of `pixmap` and `i420` holds the last frame painted.
    last_had_video: bool,
}

struct Under {
    background: DisplayList,
    video_layers: Vec<VideoLayer>,
    pixmap: tiny_skia::Pixmap,
}

impl Painter {
    /// A painter for `composition` (built-in name, file or folder) with its session assets. A
    /// folder that does not hold a composition yet (no `index.jsx`) is painted with the system
    /// fonts: the page shows the engine's error until the file is written.
    pub fn new(
        composition: &str,
        session_assets: Option<&Path>,
        width: u32,
        height: u32,
    ) -> anyhow::Result<Painter> {
        let fonts = match composition_fonts(composition, session_assets) {
            Ok(fonts) => fonts,
            Err(_) if Path::new(composition).is_dir() => Fonts::system(),
            Err(e) => return Err(e.into()),
        };
        let pixmap = tiny_skia::Pixmap::new(width, height)
            .ok_or_else(|| anyhow::anyhow!("{width}x{height} cannot be drawn"))?;
        let image_dirs = vcs_engine::image_dirs(composition, session_assets);
        Ok(Painter {
            composition: composition.into(),
            session_assets: session_assets.map(Path::to_path_buf),
            assets: Assets::from_dirs(image_dirs.clone()),
            image_dirs,
            fonts,
            pixmap,
            under: None,
            strata: None,
            layout: I420Layout::gstreamer(width, height),
            i420: Vec::new(),
            last_had_video: false,
        })
    }

    /// Loads the composition's fonts again (after its files changed: a font may have been
    /// added); keeps the old ones while the composition does not resolve.
    pub fn reload_fonts(&mut self) {
        if let Ok(fonts) = composition_fonts(&self.composition, self.session_assets.as_deref()) {
            self.fonts = fonts;
        }
        self.under = None;
        self.strata = None;
    }

    /// Draws `scene` over black (what the recording's video starts from), its video layers
    /// showing `frames` (by layer id) where there is one and placeholders elsewhere.
    pub fn paint(&mut self, scene: &Scene, frames: &BTreeMap<String, VideoFrame>) {
        self.last_had_video = scene
            .video_layers
            .iter()
            .any(|l| frames.contains_key(&l.id));
        if self.last_had_video {
            self.paint_with_video(scene, frames);
        } else {
            self.paint_placeholders(scene);
        }
    }

    /// Composites `scene` with the real `frames` in YUV, as a recording does; the layers without
    /// a frame are placeholders drawn with the background.
    fn paint_with_video(&mut self, scene: &Scene, frames: &BTreeMap<String, VideoFrame>) {
        let placeholders: Vec<VideoLayer> = scene
            .video_layers
            .iter()
            .filter(|l| !frames.contains_key(&l.id))
            .cloned()
            .collect();
        let mut background = scene.background.clone();
        background
            .commands
            .extend(video_placeholders(&placeholders, scene.height).commands);
        let scene = Scene {
            background,
            ..scene.clone()
        };
        let strata = self.strata.get_or_insert_with(|| {
            Strata::with_space(
                self.layout,
                JPEG_SPACE,
                self.fonts.clone(),
                self.image_dirs.clone(),
            )
        });
        let mut buffer = std::mem::take(&mut self.i420);
        buffer.resize(self.layout.frame_len(), 0);
        self.i420 = strata.composite(&scene, frames, buffer);
    }

    /// Draws `scene` as [`draw_scene`] does: background, video placeholders, then foreground.
    fn paint_placeholders(&mut self, scene: &Scene) {
        let fresh = self.under.as_ref().is_some_and(|u| {
            u.background == scene.background && u.video_layers == scene.video_layers
        });
        if !fresh {
            let mut pixmap = self.pixmap.clone();
            pixmap.fill(tiny_skia::Color::BLACK);
            let under = Scene {
                foreground: DisplayList::default(),
                ..scene.clone()
            };
            draw_scene(&mut pixmap, &under, &self.fonts, &self.assets);
            self.under = Some(Under {
                background: scene.background.clone(),
                video_layers: scene.video_layers.clone(),
                pixmap,
            });
        }
        if let Some(under) = &self.under {
            self.pixmap.data_mut().copy_from_slice(under.pixmap.data());
        }
        draw_display_list(
            &mut self.pixmap,
            &scene.foreground,
            scene.width,
            scene.height,
            &self.fonts,
            &self.assets,
        );
    }

    /// The last frame painted as a baseline JPEG.
    pub fn jpeg(&self) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
        let mut out = Vec::with_capacity(256 * 1024);
        let encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
        if self.last_had_video {
            encoder.encode_image(JfifI420 {
                layout: self.layout,
                data: &self.i420,
            })?;
        } else {
            // Opaque (painted over black), so premultiplied RGBA is plain RGBA.
            encoder.encode(
                self.pixmap.data(),
                edge(self.pixmap.width()),
                edge(self.pixmap.height()),
                jpeg_encoder::ColorType::Rgba,
            )?;
        }
        Ok(out)
    }

    /// The last frame painted as PNG (the snapshot button).
    pub fn png(&self) -> Result<Vec<u8>, png::EncodingError> {
        if !self.last_had_video {
            return self.pixmap.encode_png();
        }
        let rgba = i420_to_rgba(&I420Ref {
            layout: self.layout,
            space: JPEG_SPACE,
            data: &self.i420,
        });
        let size = tiny_skia::IntSize::from_wh(self.layout.width, self.layout.height);
        match size.and_then(|size| tiny_skia::Pixmap::from_vec(rgba, size)) {
            Some(pixmap) => pixmap.encode_png(),
            None => self.pixmap.encode_png(),
        }
    }
}

/// A JPEG edge length (the preview's sizes are far below the limit).
fn edge(n: u32) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// A composited I420 frame in [`JPEG_SPACE`] as the JPEG encoder reads it: rows of Y, Cb, Cr
/// (chroma repeated over its two pixels; the encoder subsamples it again to 4:2:0).
struct JfifI420<'a> {
    layout: I420Layout,
    data: &'a [u8],
}

impl jpeg_encoder::ImageBuffer for JfifI420<'_> {
    fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
        jpeg_encoder::JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        edge(self.layout.width)
    }

    fn height(&self) -> u16 {
        edge(self.layout.height)
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let [py, pu, pv] = self.layout.planes(self.data);
        let s = self.layout.strides;
        let (w, y) = (self.layout.width as usize, usize::from(y));
        let (u, v) = (&pu[(y / 2) * s[1]..], &pv[(y / 2) * s[2]..]);
        buffers[0].extend_from_slice(&py[y * s[0]..][..w]);
        buffers[1].extend((0..w).map(|x| u[x / 2]));
        buffers[2].extend((0..w).map(|x| v[x / 2]));
    }
}

/// The fonts the composition draws with: the system's plus its own and its session's `fonts/`.
fn composition_fonts(
    composition: &str,
    session_assets: Option<&Path>,
) -> Result<Fonts, EngineError> {
    let mut resolved = Composition::resolve(composition)?;
    if let Some(dir) = session_assets {
        resolved = resolved.with_session_assets(dir)?;
    }
    Ok(Fonts::with_font_dirs(&resolved.font_dirs))
}

/// The files whose edits re-run the composition: every file under its folder (or the file
/// itself) and under the session-assets folder. Built-in names have none.
pub fn watched_roots(composition: &str, session_assets: Option<&Path>) -> Vec<PathBuf> {
    let path = PathBuf::from(composition);
    let mut roots = Vec::new();
    if path.exists() {
        roots.push(path);
    }
    roots.extend(session_assets.map(Path::to_path_buf));
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::ImageBuffer;

    #[test]
    fn an_i420_frame_goes_to_the_jpeg_encoder_as_rows_of_ycbcr() {
        // 4×2: luma 0..8, one chroma row of two samples each, each repeated over two pixels.
        let layout = I420Layout::gstreamer(4, 2);
        let mut data = vec![0; layout.frame_len()];
        {
            let [y, u, v] = layout.planes_mut(&mut data);
            y[..4].copy_from_slice(&[0, 1, 2, 3]);
            y[layout.strides[0]..][..4].copy_from_slice(&[4, 5, 6, 7]);
            u[..2].copy_from_slice(&[100, 110]);
            v[..2].copy_from_slice(&[200, 210]);
        }
        let image = JfifI420 {
            layout,
            data: &data,
        };
        let mut rows: [Vec<u8>; 4] = Default::default();
        image.fill_buffers(1, &mut rows);
        assert_eq!(rows[0], [4, 5, 6, 7]);
        assert_eq!(rows[1], [100, 100, 110, 110]);
        assert_eq!(rows[2], [200, 200, 210, 210]);
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
            .encode_image(image)
            .expect("a 4×2 frame encodes");
        assert_eq!(out[..2], [0xff, 0xd8], "a JPEG");
    }
}
