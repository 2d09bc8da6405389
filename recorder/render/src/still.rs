//! A whole scene as one still picture (`vcs-recorder still` and `draw`): all three strata,
//! with each video layer shown as a labelled placeholder where the video would be.

use serde_json::Value;
use tiny_skia::Pixmap;
use vcs_job::MAX_DRAWING_EDGE;
use vcs_scene::daily::{self, ImportError};
use vcs_scene::{Color, DisplayList, FillRule, FontSpec, Op, Rect, Scene, VideoLayer};
use vcs_text::Fonts;

use crate::{Assets, draw_display_list};

/// Why a document could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum StillError {
    #[error(transparent)]
    Document(#[from] ImportError),
    #[error("{width}×{height} is not a drawable size (1..={MAX_DRAWING_EDGE} each)")]
    Size { width: u32, height: u32 },
}

/// Draws a document — a display list, a scene or a Daily export (see [`daily::import`]) — at
/// `size` (default: the document's own size; the drawing is scaled to it).
pub fn draw_document(
    document: &Value,
    size: Option<(u32, u32)>,
    fonts: &Fonts,
    assets: &Assets,
) -> Result<Pixmap, StillError> {
    let scene = daily::import(document)?;
    let (width, height) = size.unwrap_or((scene.width, scene.height));
    let drawable = |n: u32| (1..=MAX_DRAWING_EDGE).contains(&n);
    let mut pixmap = Some(())
        .filter(|_| drawable(width) && drawable(height))
        .and_then(|_| Pixmap::new(width, height))
        .ok_or(StillError::Size { width, height })?;
    draw_scene(&mut pixmap, &scene, fonts, assets);
    Ok(pixmap)
}

/// All three strata of `scene` onto `pixmap`, video layers as placeholders.
pub fn draw_scene(pixmap: &mut Pixmap, scene: &Scene, fonts: &Fonts, assets: &Assets) {
    let (w, h) = (scene.width, scene.height);
    draw_display_list(pixmap, &scene.background, w, h, fonts, assets);
    let videos = video_placeholders(&scene.video_layers, h);
    draw_display_list(pixmap, &videos, w, h, fonts, assets);
    draw_display_list(pixmap, &scene.foreground, w, h, fonts, assets);
}

/// Video layers as display-list ops: a dark rounded box with the layer id, at the layer's
/// opacity, so a still shows where each video would be (and the preview, where a participant
/// has no real video).
pub fn video_placeholders(layers: &[VideoLayer], scene_h: u32) -> DisplayList {
    let mut commands = Vec::new();
    let label = (scene_h as f32 / 36.0).max(10.0);
    for layer in layers {
        let f = layer.frame;
        let r = Rect::new(f.x as f32, f.y as f32, f.w as f32, f.h as f32);
        let rad = layer.attrs.corner_radius_px;
        commands.extend([
            Op::Save,
            Op::GlobalAlpha(layer.attrs.opacity.get()),
            Op::BeginPath,
            Op::RoundRect(r, [rad; 4]),
            Op::Clip(FillRule::NonZero),
            Op::FillStyle(Color::rgba(0.16, 0.2, 0.27, 1.0)),
            Op::FillRect(r),
            Op::StrokeStyle(Color::rgba(0.45, 0.55, 0.7, 1.0)),
            Op::LineWidth(2.0),
            Op::BeginPath,
            Op::MoveTo(r.x, r.y),
            Op::LineTo(r.x + r.w, r.y + r.h),
            Op::MoveTo(r.x + r.w, r.y),
            Op::LineTo(r.x, r.y + r.h),
            Op::Stroke,
            Op::StrokeRect(Rect::new(r.x + 1.0, r.y + 1.0, r.w - 2.0, r.h - 2.0)),
            Op::Font(FontSpec {
                weight: 500,
                italic: false,
                size_px: label,
                family: "Roboto".into(),
            }),
            Op::FillStyle(Color::WHITE),
            Op::FillText(
                format!("video: {}", layer.id),
                r.x + label * 0.5,
                r.y + label * 1.4,
            ),
            Op::Restore,
        ]);
    }
    DisplayList { commands }
}
