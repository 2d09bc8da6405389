//! JSON → validated scene. This is the boundary where untrusted composition output becomes
//! plain data: unknown ops, wrong arguments, NaN and oversized lists are rejected here with an
//! error that says which op and why.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::Value;
use vcs_job::MAX_DRAWING_EDGE;

use super::{
    Color, DisplayList, FillRule, FontSpec, ImageRef, IntRect, LineJoin, Op, Opacity, Rect,
    ScaleMode, Scene, VideoAttrs, VideoLayer, Zoom,
};

/// Most commands one display list may hold.
pub const MAX_COMMANDS: usize = 200_000;
/// Longest text one op may draw, in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most video layers in one scene.
pub const MAX_VIDEO_LAYERS: usize = 256;

/// Why composition output was rejected. `at` says where (`foreground.commands[12]`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ParseError {
    pub at: String,
    pub message: String,
}

fn err(at: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError {
        at: at.into(),
        message: message.into(),
    }
}

/// Parses a scene `{width, height, background, videoLayers, foreground}`.
pub fn scene_from_json(v: &Value) -> Result<Scene, ParseError> {
    let obj = v
        .as_object()
        .ok_or_else(|| err("scene", "is not an object"))?;
    // A scene is drawn, not encoded (a recording's size is a `VideoSize`, checked in its job),
    // and scenes from events files and Daily exports come at any size: vcs-job's drawing rule.
    let dim = |k: &str| -> Result<u32, ParseError> {
        obj.get(k)
            .and_then(Value::as_u64)
            .filter(|&n| (1..=u64::from(MAX_DRAWING_EDGE)).contains(&n))
            .map(|n| n as u32)
            .ok_or_else(|| {
                err(
                    format!("scene.{k}"),
                    format!("must be an integer in 1..={MAX_DRAWING_EDGE}"),
                )
            })
    };
    let stratum = |k: &str| -> Result<DisplayList, ParseError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(DisplayList::default()),
            Some(Value::Object(o)) => commands(o.get("commands"), k),
            Some(Value::Array(_)) => commands(obj.get(k), k),
            Some(_) => Err(err(k, "must be an object with `commands`")),
        }
    };
    let layers = match obj.get("videoLayers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= MAX_VIDEO_LAYERS => a
            .iter()
            .enumerate()
            .map(|(i, l)| video_layer(l, &format!("videoLayers[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) => {
            return Err(err(
                "videoLayers",
                format!("has more than {MAX_VIDEO_LAYERS} layers"),
            ));
        }
        Some(_) => return Err(err("videoLayers", "must be an array")),
    };
    Ok(Scene {
        width: dim("width")?,
        height: dim("height")?,
        background: stratum("background")?,
        video_layers: layers,
        foreground: stratum("foreground")?,
    })
}

/// Parses a standalone display list `{width, height, commands}`; returns it with its size.
pub fn display_list_from_json(v: &Value) -> Result<(u32, u32, DisplayList), ParseError> {
    let dim = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .filter(|&n| (1..=u64::from(MAX_DRAWING_EDGE)).contains(&n))
            .map(|n| n as u32)
            .ok_or_else(|| err(k, format!("must be an integer in 1..={MAX_DRAWING_EDGE}")))
    };
    Ok((
        dim("width")?,
        dim("height")?,
        commands(v.get("commands"), "")?,
    ))
}

fn commands(v: Option<&Value>, stratum: &str) -> Result<DisplayList, ParseError> {
    let prefix = if stratum.is_empty() {
        "commands".to_string()
    } else {
        format!("{stratum}.commands")
    };
    let list = match v {
        None | Some(Value::Null) => return Ok(DisplayList::default()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(err(prefix, "must be an array")),
    };
    if list.len() > MAX_COMMANDS {
        return Err(err(
            prefix,
            format!(
                "has {} commands, more than the cap of {MAX_COMMANDS}",
                list.len()
            ),
        ));
    }
    let mut commands = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        match op_from_json(c).map_err(|m| err(format!("{prefix}[{i}]"), m))? {
            Parsed::Op(op) => commands.push(op),
            Parsed::IgnoredColour(css) => colour_ignored(&css),
        }
    }
    Ok(DisplayList { commands })
}

fn video_layer(v: &Value, at: &str) -> Result<VideoLayer, ParseError> {
    let id = match v.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(err(format!("{at}.id"), "must be a string or number")),
    };
    let f = v
        .get("frame")
        .ok_or_else(|| err(format!("{at}.frame"), "is missing"))?;
    let coord = |k: &str| -> Result<i32, ParseError> {
        f.get(k)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && n.abs() < 1e6)
            .map(|n| n.round() as i32)
            .ok_or_else(|| err(format!("{at}.frame.{k}"), "must be a finite number"))
    };
    let frame = IntRect {
        x: coord("x")?,
        y: coord("y")?,
        w: coord("w")?,
        h: coord("h")?,
    };
    let mut attrs = VideoAttrs::default();
    if let Some(a) = v.get("attrs") {
        let num = |k: &str, default: f32| -> Result<f32, ParseError> {
            match a.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(n) => n
                    .as_f64()
                    .filter(|n| n.is_finite())
                    .map(|n| n as f32)
                    .ok_or_else(|| err(format!("{at}.attrs.{k}"), "must be a finite number")),
            }
        };
        attrs.scale_mode = match a.get("scaleMode").and_then(Value::as_str) {
            None | Some("fill") => ScaleMode::Fill,
            Some("fit") => ScaleMode::Fit,
            Some(other) => {
                return Err(err(
                    format!("{at}.attrs.scaleMode"),
                    format!("\"{other}\" is not fill or fit"),
                ));
            }
        };
        attrs.zoom_factor = Zoom::new(num("zoomFactor", 1.0)?);
        attrs.corner_radius_px = num("cornerRadiusPx", 0.0)?.max(0.0);
        attrs.opacity = Opacity::new(num("opacity", 1.0)?);
    }
    Ok(VideoLayer { id, frame, attrs })
}

/// One op read from JSON.
pub(crate) enum Parsed {
    Op(Op),
    /// A `fillStyle`/`strokeStyle` that is not a colour: as in Canvas, the assignment is
    /// ignored (the frame still draws).
    IgnoredColour(String),
}

/// Warns once per distinct colour string (a composition typically repeats it every frame).
fn colour_ignored(css: &str) {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.len() < 1000 && seen.insert(css.to_string()) {
        tracing::warn!(
            colour = css,
            "not a colour; the fillStyle/strokeStyle is ignored"
        );
    }
}

/// Parses one op. The error message names the op and what is wrong with it.
pub(crate) fn op_from_json(v: &Value) -> Result<Parsed, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("an op must be an array like [\"save\"], got {v}"))?;
    let name = arr
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| "an op must start with its name".to_string())?;
    let arg = arr.get(1);
    let nums = |n: usize| -> Result<Vec<f32>, String> { numbers(name, arg, n) };
    let color = || -> Result<Result<Color, String>, String> {
        let s = arg
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{name}: expects a colour string"))?;
        Ok(Color::parse_lenient(s).ok_or_else(|| s.to_string()))
    };
    let rect = |v: &[f32]| Rect::new(v[0], v[1], v[2], v[3]);
    Ok(Parsed::Op(match name {
        "save" => Op::Save,
        "restore" => Op::Restore,
        "beginPath" => Op::BeginPath,
        "closePath" => Op::ClosePath,
        "fill" => Op::Fill,
        "stroke" => Op::Stroke,
        "scale" => {
            let v = nums(2)?;
            Op::Scale(v[0], v[1])
        }
        "rotate" => Op::Rotate(nums(1)?[0]),
        "translate" => {
            let v = nums(2)?;
            Op::Translate(v[0], v[1])
        }
        "fillStyle" => match color()? {
            Ok(c) => Op::FillStyle(c),
            Err(css) => return Ok(Parsed::IgnoredColour(css)),
        },
        "strokeStyle" => match color()? {
            Ok(c) => Op::StrokeStyle(c),
            Err(css) => return Ok(Parsed::IgnoredColour(css)),
        },
        "lineWidth" => {
            let w = nums(1)?[0];
            if w < 0.0 {
                return Err(format!("lineWidth: {w} is negative"));
            }
            Op::LineWidth(w)
        }
        "lineJoin" => Op::LineJoin(match arg.and_then(Value::as_str) {
            Some("miter") => LineJoin::Miter,
            Some("round") => LineJoin::Round,
            Some("bevel") => LineJoin::Bevel,
            _ => return Err("lineJoin: expects \"miter\", \"round\" or \"bevel\"".into()),
        }),
        "globalAlpha" => Op::GlobalAlpha(nums(1)?[0].clamp(0.0, 1.0)),
        "font" => Op::Font(font(arg)?),
        "rect" => Op::Rect(rect(&nums(4)?)),
        "roundRect" => {
            let v = nums(8)?;
            Op::RoundRect(rect(&v), [v[4], v[5], v[6], v[7]].map(|r| r.max(0.0)))
        }
        "moveTo" => {
            let v = nums(2)?;
            Op::MoveTo(v[0], v[1])
        }
        "lineTo" => {
            let v = nums(2)?;
            Op::LineTo(v[0], v[1])
        }
        "quadraticCurveTo" => {
            let v = nums(4)?;
            Op::QuadraticCurveTo(v[0], v[1], v[2], v[3])
        }
        "arcTo" => {
            let v = nums(5)?;
            if v[4] < 0.0 {
                return Err(format!("arcTo: radius {} is negative", v[4]));
            }
            Op::ArcTo(v[0], v[1], v[2], v[3], v[4])
        }
        "clip" => Op::Clip(match arg {
            None | Some(Value::Null) => FillRule::NonZero,
            Some(Value::Array(a)) if a.is_empty() => FillRule::NonZero,
            Some(Value::Array(a)) if a.len() == 1 && a[0] == "evenodd" => FillRule::EvenOdd,
            Some(Value::Array(a)) if a.len() == 1 && a[0] == "nonzero" => FillRule::NonZero,
            Some(Value::String(s)) if s == "evenodd" => FillRule::EvenOdd,
            Some(other) => return Err(format!("clip: expects [] or [\"evenodd\"], got {other}")),
        }),
        "fillRect" => Op::FillRect(rect(&nums(4)?)),
        "strokeRect" => Op::StrokeRect(rect(&nums(4)?)),
        "fillText" | "strokeText" => {
            let (text, v) = text_and_numbers(name, arg, 2)?;
            if name == "fillText" {
                Op::FillText(text, v[0], v[1])
            } else {
                Op::StrokeText(text, v[0], v[1])
            }
        }
        "fillText_emoji" => {
            let (text, v) = text_and_numbers(name, arg, 4)?;
            Op::FillTextEmoji(text, rect(&v))
        }
        "drawImage" => draw_image(arg)?,
        other => return Err(format!("unknown op \"{other}\"")),
    }))
}

fn numbers(name: &str, arg: Option<&Value>, n: usize) -> Result<Vec<f32>, String> {
    let values: Vec<&Value> = match arg {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Number(_)) if n == 1 => vec![v],
        _ => return Err(format!("{name}: expects {n} number(s)")),
    };
    if values.len() != n {
        return Err(format!(
            "{name}: expects {n} number(s), got {}",
            values.len()
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f as f32)
                .ok_or_else(|| format!("{name}: argument {i} is {v}, not a finite number"))
        })
        .collect()
}

fn text_and_numbers(
    name: &str,
    arg: Option<&Value>,
    n: usize,
) -> Result<(String, Vec<f32>), String> {
    let a = arg
        .and_then(Value::as_array)
        .filter(|a| a.len() == n + 1)
        .ok_or_else(|| format!("{name}: expects [text, {n} numbers]"))?;
    let text = match &a[0] {
        Value::String(s) => s.clone(),
        Value::Number(x) => x.to_string(),
        other => return Err(format!("{name}: text is {other}, not a string")),
    };
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "{name}: text of {} bytes exceeds the cap of {MAX_TEXT_BYTES}",
            text.len()
        ));
    }
    let rest = Value::Array(a[1..].to_vec());
    Ok((text, numbers(name, Some(&rest), n)?))
}

fn font(arg: Option<&Value>) -> Result<FontSpec, String> {
    let a = arg
        .and_then(Value::as_array)
        .filter(|a| a.len() == 4)
        .ok_or("font: expects [weight, style, px, family]")?;
    let weight = match &a[0] {
        Value::Number(n) => n.as_f64().unwrap_or(400.0),
        // As written by the composition (daily-compat.md §3.2): a number, a numeric string or a
        // CSS name; anything else is the normal weight, as a Canvas font it cannot read.
        Value::String(s) => named_weight(s)
            .or_else(|| s.trim().parse::<f64>().ok().filter(|w| w.is_finite()))
            .unwrap_or(400.0),
        other => return Err(format!("font: weight {other} is not a number")),
    };
    let italic = matches!(a[1].as_str(), Some("italic") | Some("oblique"));
    let size_px = a[2]
        .as_f64()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 10_000.0)
        .ok_or_else(|| format!("font: size {} is not a positive number of pixels", a[2]))?;
    let family = a[3]
        .as_str()
        .filter(|f| !f.is_empty())
        .ok_or("font: family must be a non-empty string")?;
    Ok(FontSpec {
        weight: (weight.clamp(1.0, 1000.0)) as u16,
        italic,
        size_px: size_px as f32,
        family: family.to_string(),
    })
}

/// CSS weight keywords (and the common names of weights), as Daily's compositions write them.
fn named_weight(s: &str) -> Option<f64> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "" | "normal" | "regular" => 400.0,
        "thin" | "hairline" => 100.0,
        "extralight" | "extra-light" | "ultralight" => 200.0,
        "light" => 300.0,
        "medium" => 500.0,
        "semibold" | "semi-bold" | "demibold" => 600.0,
        "bold" => 700.0,
        "extrabold" | "extra-bold" | "ultrabold" => 800.0,
        "black" | "heavy" => 900.0,
        _ => return None,
    })
}

fn draw_image(arg: Option<&Value>) -> Result<Op, String> {
    let a = arg
        .and_then(Value::as_array)
        .filter(|a| a.len() == 5 || a.len() == 9)
        .ok_or(
            "drawImage: expects [{type,id}, dx,dy,dw,dh] or [{type,id}, sx,sy,sw,sh, dx,dy,dw,dh]",
        )?;
    let image: ImageRef = serde_json::from_value(a[0].clone()).map_err(|e| {
        format!(
            "drawImage: source must be {{type: compositionAsset|defaultAsset|liveAsset, id}}: {e}"
        )
    })?;
    let rest = Value::Array(a[1..].to_vec());
    let v = numbers("drawImage", Some(&rest), a.len() - 1)?;
    let r = |o: usize| Rect::new(v[o], v[o + 1], v[o + 2], v[o + 3]);
    let (src, dst) = if v.len() == 8 {
        (Some(r(0)), r(4))
    } else {
        (None, r(0))
    };
    Ok(Op::DrawImage { image, src, dst })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_op_round_trips_through_its_wire_form() {
        let ops = json!([
            ["save"], ["restore"], ["beginPath"], ["closePath"], ["fill"], ["stroke"],
            ["scale", [2.0, 0.5]], ["rotate", [0.5]], ["translate", [10.0, 20.0]],
            ["fillStyle", "rgba(255, 0, 0, 1)"], ["strokeStyle", "rgba(0, 0, 255, 0.5)"],
            ["lineWidth", 3.0], ["lineJoin", "round"], ["globalAlpha", 0.25],
            ["font", ["700", "italic", 32.0, "Roboto"]],
            ["rect", [1.0, 2.0, 3.0, 4.0]], ["roundRect", [0.0, 0.0, 10.0, 10.0, 1.0, 2.0, 3.0, 4.0]],
            ["moveTo", [1.0, 1.0]], ["lineTo", [2.0, 2.0]], ["quadraticCurveTo", [1.0, 2.0, 3.0, 4.0]],
            ["arcTo", [1.0, 2.0, 3.0, 4.0, 5.0]], ["clip", []], ["clip", ["evenodd"]],
            ["fillRect", [0.0, 0.0, 5.0, 5.0]], ["strokeRect", [0.0, 0.0, 5.0, 5.0]],
            ["fillText", ["Hello", 20.0, 60.0]], ["strokeText", ["Hi", 1.0, 2.0]],
            ["fillText_emoji", ["🎉", 0.0, 0.0, 20.0, 20.0]],
            ["drawImage", [{"type": "compositionAsset", "id": "logo.png"}, 0.0, 0.0, 10.0, 10.0]],
            ["drawImage", [{"type": "defaultAsset", "id": "user"}, 0.0, 0.0, 5.0, 5.0, 0.0, 0.0, 10.0, 10.0]]
        ]);
        let list = display_list_from_json(&json!({"width": 10, "height": 10, "commands": ops}))
            .unwrap()
            .2;
        assert_eq!(list.commands.len(), ops.as_array().unwrap().len());
        assert_eq!(serde_json::to_value(&list.commands).unwrap(), ops);
    }

    #[test]
    fn a_colour_that_is_not_one_is_ignored_not_fatal() {
        let list = json!({"width": 10, "height": 10, "commands": [
            ["fillStyle", "#00ff00"], ["fillStyle", "blurple"], ["fillRect", [0, 0, 1, 1]]]});
        let (_, _, dl) = display_list_from_json(&list).unwrap();
        assert_eq!(dl.commands.len(), 2, "{:?}", dl.commands);
        assert!(matches!(dl.commands[1], Op::FillRect(_)));
    }

    #[test]
    fn bad_ops_are_rejected_with_the_op_and_reason() {
        let cases = [
            (json!(["frobnicate"]), "unknown op \"frobnicate\""),
            (
                json!(["rect", [1, 2, 3]]),
                "rect: expects 4 number(s), got 3",
            ),
            (json!(["fillRect", [0, 0, "x", 1]]), "fillRect: argument 2"),
            (
                json!(["fillStyle", 3]),
                "fillStyle: expects a colour string",
            ),
            (json!(["font", ["500", "", -3, "Roboto"]]), "font: size"),
            (json!(["lineJoin", "pointy"]), "lineJoin"),
            (
                json!(["drawImage", [{"type": "web", "id": "x"}, 0, 0, 1, 1]]),
                "drawImage: source",
            ),
            (json!("save"), "an op must be an array"),
        ];
        for (op, want) in cases {
            let Err(e) = op_from_json(&op) else {
                panic!("{op} parsed");
            };
            assert!(e.contains(want), "{op}: got {e:?}, want {want:?}");
        }
    }

    #[test]
    fn nan_is_rejected_where_the_scene_says() {
        // serde_json cannot hold NaN, so JS's JSON.stringify turns it into null.
        let scene = json!({"width": 100, "height": 100,
            "foreground": {"commands": [["save"], ["translate", [null, 1]]]}});
        let e = scene_from_json(&scene).unwrap_err();
        assert_eq!(e.at, "foreground.commands[1]");
        assert!(e.message.contains("translate: argument 0 is null"), "{e}");
    }

    #[test]
    fn video_layers_are_rounded_and_clamped() {
        let scene = json!({"width": 100, "height": 100, "videoLayers": [
            {"id": "a", "frame": {"x": 0.4, "y": 1.6, "w": 50, "h": 50},
             "attrs": {"scaleMode": "fit", "zoomFactor": 9, "opacity": 0.5}}]});
        let s = scene_from_json(&scene).unwrap();
        let l = &s.video_layers[0];
        assert_eq!(
            l.frame,
            IntRect {
                x: 0,
                y: 2,
                w: 50,
                h: 50
            }
        );
        assert_eq!(l.attrs.scale_mode, ScaleMode::Fit);
        assert_eq!(l.attrs.zoom_factor, 4.0);
        assert_eq!(l.attrs.opacity, 0.5);
    }

    #[test]
    fn oversized_lists_name_the_cap() {
        let ops: Vec<Value> = (0..MAX_COMMANDS + 1).map(|_| json!(["save"])).collect();
        let e = scene_from_json(&json!({"width": 1, "height": 1, "background": {"commands": ops}}))
            .unwrap_err();
        assert!(e.message.contains("cap"), "{e}");
    }
}
