//! The one place the preview touches the engine, renderer and compositor crates: start the
//! composition in its supervised engine process, turn a scene into pixels, pixels into JPEG or
//! PNG. When those crates change (the compositor's I420 frames, the engine process), only this
//! file follows.

use std::path::{Path, PathBuf};

use vcs_engine::{Composition, EngineError};
use vcs_render::{Assets, draw_display_list, draw_scene};
use vcs_scene::{DisplayList, Scene, VideoLayer};
use vcs_text::Fonts;

use crate::engine_process::{CompositionState, Limits, SupervisedEngine};

/// JPEG quality of streamed frames: sharp text at a size the encoder keeps up with.
const JPEG_QUALITY: u8 = 80;

/// Starts the composition where `state` says (params, participants, messages, time) in its own
/// engine process; returns the engine and its first scene.
pub fn start_engine(state: &CompositionState) -> Result<(SupervisedEngine, Scene), EngineError> {
    SupervisedEngine::start(state.clone(), Limits::default())
}

/// Draws scenes at the preview's size with the fonts and images the composition uses; video
/// layers are labelled placeholders.
pub struct Painter {
    composition: String,
    session_assets: Option<PathBuf>,
    fonts: Fonts,
    assets: Assets,
    pixmap: tiny_skia::Pixmap,
    /// The last scene's background and video placeholders, painted: most frames change only
    /// the foreground (a clock, a toast), so only it is drawn again, over a copy of this.
    under: Option<Under>,
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
        Ok(Painter {
            composition: composition.into(),
            session_assets: session_assets.map(Path::to_path_buf),
            fonts,
            assets: Assets::from_dirs(vcs_engine::image_dirs(composition, session_assets)),
            pixmap,
            under: None,
        })
    }

    /// Loads the composition's fonts again (after its files changed: a font may have been
    /// added); keeps the old ones while the composition does not resolve.
    pub fn reload_fonts(&mut self) {
        if let Ok(fonts) = composition_fonts(&self.composition, self.session_assets.as_deref()) {
            self.fonts = fonts;
        }
        self.under = None;
    }

    /// Draws `scene` over black (what the recording's video starts from). The same pixels as
    /// [`draw_scene`]: background, video placeholders, then foreground.
    pub fn paint(&mut self, scene: &Scene) -> &tiny_skia::Pixmap {
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
        &self.pixmap
    }

    pub fn pixmap(&self) -> &tiny_skia::Pixmap {
        &self.pixmap
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

/// The pixmap as a baseline JPEG. The pixmap is opaque (painted over black), so premultiplied
/// RGBA is plain RGBA.
pub fn encode_jpeg(pixmap: &tiny_skia::Pixmap) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    let mut out = Vec::with_capacity(256 * 1024);
    let width = u16::try_from(pixmap.width()).unwrap_or(u16::MAX);
    let height = u16::try_from(pixmap.height()).unwrap_or(u16::MAX);
    jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY).encode(
        pixmap.data(),
        width,
        height,
        jpeg_encoder::ColorType::Rgba,
    )?;
    Ok(out)
}

/// The pixmap as PNG (the snapshot button).
pub fn encode_png(pixmap: &tiny_skia::Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    pixmap.encode_png()
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
