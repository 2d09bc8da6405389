//! `vcs-recorder draw <file.json> -o out.png [--size WxH] [--assets DIR]`: look at a display
//! list, a scene or a Daily-format export without running a recording.
//!
//! The input is recognised by shape:
//! - a display list `{width, height, commands}`;
//! - a scene `{width, height, background, videoLayers, foreground}` — all three strata, video
//!   layers as labelled placeholder rectangles;
//! - a Daily export `{fgDisplayList: {width, height, commands}, videoLayers?}` — placeholders
//!   for the layers under the foreground list.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tiny_skia::Pixmap;

use super::{Assets, RenderError, draw_display_list};
use crate::scene::{
    self, Color, Command, DisplayList, FontSpec, Rect, Scene, VideoLayer, display_list_from_json,
};
use crate::text::Fonts;

/// Renders `input` to the PNG `out`, at `size` (default: the input's own size), resolving images
/// by name in `assets` and `assets/images`.
pub fn run(
    input: &Path,
    out: &Path,
    size: Option<(u32, u32)>,
    assets: Option<&Path>,
) -> Result<(), RenderError> {
    let path = input.display().to_string();
    let text = std::fs::read_to_string(input).map_err(|source| RenderError::Read {
        path: path.clone(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|source| RenderError::Json {
        path: path.clone(),
        source,
    })?;
    let scene = scene_of(&json).map_err(|message| RenderError::Input {
        path: path.clone(),
        message,
    })?;
    let (w, h) = size.unwrap_or((scene.width, scene.height));
    if !(1..=16384).contains(&w) || !(1..=16384).contains(&h) {
        return Err(RenderError::Size {
            width: w,
            height: h,
        });
    }
    let mut pixmap = Pixmap::new(w, h).ok_or(RenderError::Size {
        width: w,
        height: h,
    })?;
    let assets = match assets {
        Some(dir) => Assets::from_dirs(vec![dir.to_path_buf(), dir.join("images")]),
        None => Assets::none(),
    };
    let font_dirs: Vec<PathBuf> = assets_font_dir(input);
    let fonts = Fonts::with_font_dirs(&font_dirs);
    draw_scene(&mut pixmap, &scene, &fonts, &assets);
    pixmap.save_png(out).map_err(|e| RenderError::Write {
        path: out.display().to_string(),
        message: e.to_string(),
    })
}

/// Parses `--size WxH` (`1280x720`, also `1280X720` or `1280×720`); each side 1..=16384.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("\"{s}\" is not a size like 1280x720");
    let (w, h) = s.split_once(['x', 'X', '×']).ok_or_else(bad)?;
    let side = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=16384).contains(n))
            .ok_or_else(bad)
    };
    Ok((side(w)?, side(h)?))
}

/// A `fonts/` folder beside the input file, if any, so a composition's own fonts are used.
fn assets_font_dir(input: &Path) -> Vec<PathBuf> {
    input
        .parent()
        .map(|d| d.join("fonts"))
        .filter(|d| d.is_dir())
        .into_iter()
        .collect()
}

/// All three strata of `scene` onto `pixmap`, video layers as placeholders.
pub fn draw_scene(pixmap: &mut Pixmap, scene: &Scene, fonts: &Fonts, assets: &Assets) {
    let (w, h) = (scene.width, scene.height);
    draw_display_list(pixmap, &scene.background, w, h, fonts, assets);
    let videos = video_placeholders(&scene.video_layers, h);
    draw_display_list(pixmap, &videos, w, h, fonts, assets);
    draw_display_list(pixmap, &scene.foreground, w, h, fonts, assets);
}

fn scene_of(json: &Value) -> Result<Scene, String> {
    let obj = json.as_object().ok_or("the file must hold a JSON object")?;
    if obj.contains_key("commands") {
        let (w, h, list) = display_list_from_json(json).map_err(|e| e.to_string())?;
        return Ok(Scene {
            foreground: list,
            ..Scene::empty(w, h)
        });
    }
    if let Some(fg) = obj.get("fgDisplayList") {
        let (w, h, list) = display_list_from_json(fg).map_err(|e| format!("fgDisplayList.{e}"))?;
        let layers = match obj.get("videoLayers") {
            Some(layers) => {
                let probe = serde_json::json!({"width": w, "height": h, "videoLayers": layers});
                scene::scene_from_json(&probe)
                    .map_err(|e| e.to_string())?
                    .video_layers
            }
            None => Vec::new(),
        };
        return Ok(Scene {
            video_layers: layers,
            foreground: list,
            ..Scene::empty(w, h)
        });
    }
    if obj.contains_key("background")
        || obj.contains_key("foreground")
        || obj.contains_key("videoLayers")
    {
        return scene::scene_from_json(json).map_err(|e| e.to_string());
    }
    Err("not a display list ({width,height,commands}), a scene ({width,height,background,videoLayers,foreground}) or a Daily export ({fgDisplayList})".into())
}

/// Video layers as display-list ops: a dark rounded box with the layer id, at the layer's
/// opacity, so a still shows where each video would be.
fn video_placeholders(layers: &[VideoLayer], scene_h: u32) -> DisplayList {
    let mut commands = Vec::new();
    let label = (scene_h as f32 / 36.0).max(10.0);
    for layer in layers {
        let f = layer.frame;
        let r = Rect::new(f.x as f32, f.y as f32, f.w as f32, f.h as f32);
        let rad = layer.attrs.corner_radius_px;
        commands.extend([
            Command::Save,
            Command::GlobalAlpha(layer.attrs.opacity),
            Command::BeginPath,
            Command::RoundRect(r, [rad; 4]),
            Command::Clip(scene::FillRule::NonZero),
            Command::FillStyle(Color::rgba(0.16, 0.2, 0.27, 1.0)),
            Command::FillRect(r),
            Command::StrokeStyle(Color::rgba(0.45, 0.55, 0.7, 1.0)),
            Command::LineWidth(2.0),
            Command::BeginPath,
            Command::MoveTo(r.x, r.y),
            Command::LineTo(r.x + r.w, r.y + r.h),
            Command::MoveTo(r.x + r.w, r.y),
            Command::LineTo(r.x, r.y + r.h),
            Command::Stroke,
            Command::StrokeRect(Rect::new(r.x + 1.0, r.y + 1.0, r.w - 2.0, r.h - 2.0)),
            Command::Font(FontSpec {
                weight: 500,
                italic: false,
                size_px: label,
                family: "Roboto".into(),
            }),
            Command::FillStyle(Color::WHITE),
            Command::FillText(
                format!("video: {}", layer.id),
                r.x + label * 0.5,
                r.y + label * 1.4,
            ),
            Command::Restore,
        ]);
    }
    DisplayList { commands }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_the_usual_spellings() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        assert_eq!(parse_size("640X360"), Ok((640, 360)));
        assert_eq!(parse_size("1920×1080"), Ok((1920, 1080)));
        for bad in ["", "1280", "0x10", "10x", "axb", "20000x10"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
