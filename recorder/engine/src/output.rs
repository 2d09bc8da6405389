//! The strata leaving JS: validated with [`vcs_scene`] and diffed against the last frame.
//!
//! The runtime hands each stratum over as a JSON string. A stratum whose string equals the
//! last frame's is unchanged and is neither parsed nor validated again.

use serde_json::{Value, json};

use super::{EngineError, FrameScene};
use vcs_scene::{ParseError, Scene};

/// The last good frame: its strata as JSON (for diffing) and as a validated scene.
#[derive(Debug)]
pub struct Strata {
    json: [String; 3],
    scene: Scene,
}

impl Strata {
    /// The last scene again, every stratum unchanged.
    pub fn unchanged(&self) -> FrameScene {
        FrameScene {
            scene: self.scene.clone(),
            background_changed: false,
            video_layers_changed: false,
            foreground_changed: false,
        }
    }

    /// Validates what changed since `prev` and builds the new frame. `owners` names, per
    /// stratum, the component that emitted each command range (`[[start, name, ...], [layer
    /// names], [start, name, ...]]`), so a rejected op can be blamed on its component.
    pub fn update(
        prev: Option<&Strata>,
        width: u32,
        height: u32,
        json: [String; 3],
        owners: &str,
    ) -> Result<(Strata, FrameScene), EngineError> {
        let same = |i: usize| prev.is_some_and(|p| p.json[i] == json[i]);
        let changed = [!same(0), !same(1), !same(2)];
        let mut scene = match prev {
            Some(p) if !changed.iter().any(|c| *c) => p.scene.clone(),
            Some(p) => Scene {
                width,
                height,
                background: if changed[0] {
                    Default::default()
                } else {
                    p.scene.background.clone()
                },
                video_layers: if changed[1] {
                    Vec::new()
                } else {
                    p.scene.video_layers.clone()
                },
                foreground: if changed[2] {
                    Default::default()
                } else {
                    p.scene.foreground.clone()
                },
            },
            None => Scene::empty(width, height),
        };
        let blame = |stratum: usize, e: ParseError, list: &Value| -> EngineError {
            invalid(stratum, e, list, owners)
        };
        for (i, stratum) in [0usize, 2].into_iter().enumerate() {
            if !changed[stratum] {
                continue;
            }
            let commands: Value = parse_json(&json[stratum])?;
            let wrapped = json!({"width": width, "height": height, "commands": commands});
            let (_, _, list) = vcs_scene::display_list_from_json(&wrapped)
                .map_err(|e| blame(stratum, e, &wrapped["commands"]))?;
            if i == 0 {
                scene.background = list;
            } else {
                scene.foreground = list;
            }
        }
        if changed[1] {
            let layers: Value = parse_json(&json[1])?;
            let wrapped = json!({"width": width, "height": height, "videoLayers": layers});
            scene.video_layers = vcs_scene::scene_from_json(&wrapped)
                .map_err(|e| blame(1, e, &wrapped["videoLayers"]))?
                .video_layers;
        }
        let frame = FrameScene {
            scene: scene.clone(),
            background_changed: changed[0],
            video_layers_changed: changed[1],
            foreground_changed: changed[2],
        };
        Ok((Strata { json, scene }, frame))
    }
}

fn parse_json(s: &str) -> Result<Value, EngineError> {
    serde_json::from_str(s).map_err(|e| EngineError::Composition {
        what: "runtime error",
        detail: format!("stratum is not JSON: {e}"),
    })
}

/// The index in `at` (`commands[12]`, `videoLayers[3].frame.x`).
fn index_in(at: &str) -> Option<usize> {
    let open = at.find('[')?;
    let close = at[open..].find(']')? + open;
    at[open + 1..close].parse().ok()
}

fn invalid(stratum: usize, e: ParseError, list: &Value, owners: &str) -> EngineError {
    let owners: Value = serde_json::from_str(owners).unwrap_or(Value::Null);
    let idx = index_in(&e.at);
    let component = idx
        .and_then(|i| {
            let o = owners.get(stratum)?.as_array()?;
            if stratum == 1 {
                return o.get(i)?.as_str().map(str::to_string);
            }
            // flat [start, name, start, name, ...], ascending starts
            o.chunks(2)
                .rev()
                .find(|c| c.len() == 2 && c[0].as_u64().is_some_and(|s| s as usize <= i))
                .and_then(|c| c[1].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "unknown".into());
    let op = match (stratum, idx) {
        (1, _) => e.at.clone(),
        (_, Some(i)) => list
            .get(i)
            .and_then(|c| c.get(0))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
        _ => e.at.clone(),
    };
    let where_ = ["background", "videoLayers", "foreground"][stratum];
    EngineError::InvalidScene {
        component,
        op,
        message: format!(
            "{} (at {where_}{})",
            e.message,
            e.at.trim_start_matches("videoLayers")
                .trim_start_matches("commands")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(bg: &str, vl: &str, fg: &str) -> [String; 3] {
        [bg.into(), vl.into(), fg.into()]
    }

    #[test]
    fn unchanged_strata_are_marked_unchanged() {
        let bg = r##"[["fillStyle","#102030"],["fillRect",[0,0,1280,720]]]"##;
        let vl = r#"[{"id":"a","frame":{"x":0,"y":0,"w":640,"h":360},"attrs":{"scaleMode":"fill","zoomFactor":1,"cornerRadiusPx":0,"opacity":1}}]"#;
        let (s1, f1) =
            Strata::update(None, 1280, 720, strings(bg, vl, "[]"), "[[],[],[]]").unwrap();
        assert!(f1.background_changed && f1.video_layers_changed && f1.foreground_changed);
        let fg = r#"[["font",["500","",32,"Roboto"]],["fillText",["Hi",20,60]]]"#;
        let (_, f2) =
            Strata::update(Some(&s1), 1280, 720, strings(bg, vl, fg), "[[],[],[]]").unwrap();
        assert!(!f2.background_changed && !f2.video_layers_changed && f2.foreground_changed);
        assert_eq!(f2.scene.background, f1.scene.background);
        assert_eq!(f2.scene.foreground.commands.len(), 2);
    }

    #[test]
    fn a_bad_op_names_its_component_and_op() {
        let fg = r#"[["save"],["fillRect",[0,0,null,10]],["restore"]]"#;
        let owners = r#"[[],[],[0,"Box id=\"title\""]]"#;
        let e = Strata::update(None, 1280, 720, strings("[]", "[]", fg), owners).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("<Box id=\"title\">"), "{msg}");
        assert!(msg.contains("fillRect"), "{msg}");
        assert!(msg.contains("not a finite number"), "{msg}");
    }
}
