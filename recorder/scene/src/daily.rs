//! Daily's VCS documents, read ([`import`], `vcs-recorder draw`): a scene from a Daily export
//! `{fgDisplayList, videoLayers?}` (what `vcs-recorder scene --format daily` prints), from a
//! bare display list such as Daily's `*_fgdisplaylist.canvex.json`, or from our own scene
//! documents. Daily's documents are *written* by the engine's runtime (`vcs-engine`
//! `DailyDocuments`), with JavaScript's own JSON, so that they are byte-compatible.

use serde_json::{Value, json};

use crate::{ParseError, Scene, display_list_from_json, scene_from_json};

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
