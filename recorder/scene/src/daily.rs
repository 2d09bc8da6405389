//! Daily's VCS document formats, both ways.
//!
//! - Export ([`video_layers`], [`fg_display_list`], `vcs-recorder scene --format daily`): a
//!   scene written the way Daily's VCS tools write it — the video layers, and one foreground
//!   display list that first draws the background with the video frames clipped out (so drawing
//!   it over the videos leaves them visible), then the foreground.
//! - Import ([`import`], `vcs-recorder draw`): a scene from a Daily export
//!   `{fgDisplayList, videoLayers?}`, or from our own display list or scene documents.

use serde_json::{Value, json};

use crate::{FillRule, Op, ParseError, Rect, Scene, display_list_from_json, scene_from_json};

/// Why a document is not a scene.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("{0}")]
    Shape(&'static str),
}

/// A scene from any document `draw` accepts, recognised by shape:
/// - a display list `{width, height, commands}` (drawn as the foreground);
/// - a scene `{width, height, background, videoLayers, foreground}`;
/// - a Daily export `{fgDisplayList: {width, height, commands}, videoLayers?}`.
pub fn import(json: &Value) -> Result<Scene, ImportError> {
    let obj = json
        .as_object()
        .ok_or(ImportError::Shape("the file must hold a JSON object"))?;
    if obj.contains_key("commands") {
        let (w, h, list) = display_list_from_json(json)?;
        return Ok(Scene {
            foreground: list,
            ..Scene::empty(w, h)
        });
    }
    if let Some(fg) = obj.get("fgDisplayList") {
        let (w, h, list) = display_list_from_json(fg).map_err(|e| ParseError {
            at: format!("fgDisplayList.{}", e.at),
            message: e.message,
        })?;
        let layers = match obj.get("videoLayers") {
            Some(layers) => {
                let probe = json!({"width": w, "height": h, "videoLayers": layers});
                scene_from_json(&probe)?.video_layers
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
        return Ok(scene_from_json(json)?);
    }
    Err(ImportError::Shape(
        "not a display list ({width,height,commands}), a scene ({width,height,background,videoLayers,foreground}) or a Daily export ({fgDisplayList})",
    ))
}

/// The `videolayers` document: the layers in z order, frames as integers.
pub fn video_layers(scene: &Scene) -> Value {
    serde_json::to_value(&scene.video_layers).unwrap_or(Value::Array(Vec::new()))
}

/// The `fgdisplaylist` document `{width, height, commands}`.
pub fn fg_display_list(scene: &Scene) -> Value {
    let mut commands: Vec<Op> = Vec::new();
    if !scene.background.is_empty() {
        commands.push(Op::Save);
        if !scene.video_layers.is_empty() {
            commands.push(Op::BeginPath);
            commands.push(Op::Rect(Rect::new(
                0.0,
                0.0,
                scene.width as f32,
                scene.height as f32,
            )));
            for l in &scene.video_layers {
                let r = Rect::new(
                    l.frame.x as f32,
                    l.frame.y as f32,
                    l.frame.w as f32,
                    l.frame.h as f32,
                );
                let rad = l.attrs.corner_radius_px;
                commands.push(if rad > 0.0 {
                    Op::RoundRect(r, [rad; 4])
                } else {
                    Op::Rect(r)
                });
            }
            commands.push(Op::Clip(FillRule::EvenOdd));
        }
        commands.extend(scene.background.commands.iter().cloned());
        commands.push(Op::Restore);
    }
    commands.extend(scene.foreground.commands.iter().cloned());
    json!({
        "width": scene.width,
        "height": scene.height,
        "commands": serde_json::to_value(&commands).unwrap_or(Value::Array(Vec::new())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Color, DisplayList, IntRect, VideoAttrs, VideoLayer};

    #[test]
    fn background_is_clipped_out_where_videos_sit() {
        let mut s = Scene::empty(1280, 720);
        s.background = DisplayList {
            commands: vec![
                Op::FillStyle(Color::parse("#102030").unwrap()),
                Op::FillRect(Rect::new(0.0, 0.0, 1280.0, 720.0)),
            ],
        };
        s.video_layers.push(VideoLayer {
            id: "a".into(),
            frame: IntRect {
                x: 10,
                y: 20,
                w: 300,
                h: 200,
            },
            attrs: VideoAttrs {
                corner_radius_px: 8.0,
                ..VideoAttrs::default()
            },
        });
        s.foreground = DisplayList {
            commands: vec![Op::FillText("hi".into(), 1.0, 2.0)],
        };
        let fg = fg_display_list(&s);
        let ops: Vec<&str> = fg["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[0].as_str().unwrap())
            .collect();
        assert_eq!(
            ops,
            [
                "save",
                "beginPath",
                "rect",
                "roundRect",
                "clip",
                "fillStyle",
                "fillRect",
                "restore",
                "fillText"
            ]
        );
        assert_eq!(fg["commands"][4][1], json!(["evenodd"]));
        assert_eq!(
            fg["commands"][3][1],
            json!([10.0, 20.0, 300.0, 200.0, 8.0, 8.0, 8.0, 8.0])
        );
        assert_eq!(
            video_layers(&s)[0]["frame"],
            json!({"x":10,"y":20,"w":300,"h":200})
        );
    }
}
