//! `vcs-recorder scene`: inspect what a composition produces (a **contract**).
//!
//! ```text
//! vcs-recorder scene --composition <dir|name> [--params FILE] [--param id=value]...
//!   [--inputs FILE] [--events FILE] [--assets DIR] [--size WxH] [--fps N]
//!   (--time SECONDS | --frames LIST) [--format vcs|daily] [--out-dir DIR]
//! ```
//! - `--time`: prints one scene as JSON (the engine is stepped frame by frame from 0 up to that
//!   time first, so state and animations are what a recording would show).
//! - `--frames` (e.g. `0,15,30-40`): steps frame by frame from 0 — applying the `--events`
//!   file's events at their frames — and writes each requested frame to `--out-dir` as
//!   `<frame>.scene.json`, or with `--format daily` as `vcs-output_<frame>_videolayers.json` and
//!   `vcs-output_<frame>_fgdisplaylist.json`.
//!
//! Size and fps come from the flags, else the events file, else 1280×720 at 30.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Composition, Engine, EngineError, EngineOptions, daily};
use crate::scene::Scene;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SceneFormat {
    /// Our scene: `{width, height, background, videoLayers, foreground}`.
    #[default]
    Vcs,
    /// Daily's: video layers plus one foreground display list with the background clipped.
    Daily,
}

/// Arguments of `vcs-recorder scene`.
#[derive(Clone, Debug, clap::Args)]
pub struct SceneArgs {
    /// A built-in composition name, or a composition file or folder.
    #[arg(long)]
    pub composition: String,
    /// JSON object of params by id.
    #[arg(long = "params")]
    pub params_file: Option<PathBuf>,
    /// One param, `id=value` (value parsed as JSON when it is, else taken as a string).
    #[arg(long = "param")]
    pub param: Vec<String>,
    /// JSON array of video input slots (vcs-api.md §5).
    #[arg(long = "inputs")]
    pub inputs_file: Option<PathBuf>,
    /// Offline events file (vcs-api.md §5).
    #[arg(long = "events")]
    pub events_file: Option<PathBuf>,
    /// Session-assets folder (images, fonts, component overrides).
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Output size, `WxH`.
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(u32, u32)>,
    #[arg(long)]
    pub fps: Option<u32>,
    /// Render the scene at this time (seconds) and print it.
    #[arg(long, conflicts_with = "frames", required_unless_present = "frames")]
    pub time: Option<f64>,
    /// Frames to write, e.g. `0,15,30-40`.
    #[arg(long, value_parser = parse_frames)]
    pub frames: Option<FrameList>,
    #[arg(long, value_enum, default_value_t = SceneFormat::Vcs)]
    pub format: SceneFormat,
    /// Where `--frames` writes its files.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// A set of frame numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameList(pub BTreeSet<u64>);

#[derive(Debug, thiserror::Error)]
pub enum SceneCliError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("frame {frame} (t={time:.3}s): {source}")]
    Frame {
        frame: u64,
        time: f64,
        #[source]
        source: EngineError,
    },
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("size \"{s}\" is not WxH, e.g. 1280x720"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (16..=8192).contains(n))
            .ok_or_else(|| format!("size \"{s}\": {v} is not a number of pixels in 16..=8192"))
    };
    Ok((n(w)?, n(h)?))
}

pub fn parse_frames(s: &str) -> Result<FrameList, String> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("frames \"{s}\": \"{part}\" is not a frame number or a range a-b");
        match part.split_once('-') {
            Some((a, b)) => {
                let a: u64 = a.trim().parse().map_err(|_| bad())?;
                let b: u64 = b.trim().parse().map_err(|_| bad())?;
                if b < a || b - a > 1_000_000 {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => {
                out.insert(part.parse().map_err(|_| bad())?);
            }
        }
    }
    if out.is_empty() {
        return Err(format!("frames \"{s}\" names no frame"));
    }
    Ok(FrameList(out))
}

fn read_json(path: &Path) -> Result<Value, SceneCliError> {
    let file_err = |message: String| SceneCliError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| file_err(format!("invalid JSON: {e}")))
}

fn params_object(v: &Value, path: &Path) -> Result<BTreeMap<String, Value>, SceneCliError> {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .ok_or_else(|| SceneCliError::File {
            path: path.display().to_string(),
            message: "params must be a JSON object of values by param id".into(),
        })
}

/// One frame's worth of events from the events file.
struct FrameEvents {
    slots: Option<Value>,
    params: BTreeMap<String, Value>,
    messages: Vec<(String, Value)>,
}

fn frame_events(v: &Value) -> FrameEvents {
    let mut messages = Vec::new();
    let mut push_msg = |m: &Value| {
        if let Some(id) = m.get("sourceId").and_then(Value::as_str) {
            messages.push((
                id.to_string(),
                m.get("data").cloned().unwrap_or(Value::Null),
            ));
        }
    };
    match v.get("standardSourceMessage") {
        Some(Value::Array(a)) => a.iter().for_each(&mut push_msg),
        Some(m) => push_msg(m),
        None => {}
    }
    FrameEvents {
        slots: v.get("activeVideoInputSlots").cloned(),
        params: v
            .get("params")
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        messages,
    }
}

fn apply(engine: &mut Engine, ev: FrameEvents) {
    if let Some(s) = ev.slots {
        engine.set_video_inputs_json(s);
    }
    if !ev.params.is_empty() {
        engine.set_params(&ev.params);
    }
    for (id, data) in ev.messages {
        engine.push_standard_source_message(&id, data);
    }
}

/// Runs `vcs-recorder scene`; `--time` output goes to `out`.
pub fn run(args: &SceneArgs, out: &mut dyn Write) -> Result<(), SceneCliError> {
    let events = args.events_file.as_deref().map(read_json).transpose()?;
    let ev_size = events.as_ref().and_then(|e| {
        let s = e.get("outputSize")?;
        Some((s.get("w")?.as_u64()? as u32, s.get("h")?.as_u64()? as u32))
    });
    let (width, height) = args.size.or(ev_size).unwrap_or((1280, 720));
    let fps = args
        .fps
        .or_else(|| events.as_ref()?.get("fps")?.as_u64().map(|f| f as u32))
        .unwrap_or(30)
        .clamp(1, 240);

    let mut composition = Composition::resolve(&args.composition)?;
    if let Some(dir) = &args.assets {
        composition = composition.with_session_assets(dir)?;
    }
    let fonts = crate::text::Fonts::with_font_dirs(&composition.font_dirs);
    let mut engine = Engine::new(
        composition,
        EngineOptions {
            width,
            height,
            fps,
            fonts,
        },
    )?;

    // Inspection shows what the composition produces even on a slow or busy machine; the
    // recorder enforces the real per-frame budget.
    engine.set_frame_budget(std::time::Duration::from_secs(5));

    // Initial state: events file, then --params, --param and --inputs on top.
    if let Some(init) = events.as_ref().and_then(|e| e.get("initialState")) {
        apply(&mut engine, frame_events(init));
    }
    if let Some(p) = &args.params_file {
        engine.set_params(&params_object(&read_json(p)?, p)?);
    }
    let mut cli_params = BTreeMap::new();
    for kv in &args.param {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| SceneCliError::Usage(format!("--param \"{kv}\" is not id=value")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        cli_params.insert(k.to_string(), value);
    }
    engine.set_params(&cli_params);
    if let Some(p) = &args.inputs_file {
        let slots = read_json(p)?;
        if !slots.is_array() {
            return Err(SceneCliError::File {
                path: p.display().to_string(),
                message: "inputs must be a JSON array of video input slots".into(),
            });
        }
        engine.set_video_inputs_json(slots);
    }

    let by_frame: BTreeMap<u64, Value> = events
        .as_ref()
        .and_then(|e| e.get("eventsByFrame")?.as_object().cloned())
        .map(|o| {
            o.into_iter()
                .filter_map(|(k, v)| Some((k.trim().parse().ok()?, v)))
                .collect()
        })
        .unwrap_or_default();

    let (last, wanted) = match (&args.time, &args.frames) {
        (Some(t), None) if t.is_finite() && *t >= 0.0 => ((t * fps as f64).floor() as u64, None),
        (Some(t), None) => {
            return Err(SceneCliError::Usage(format!(
                "--time {t} is not a time in seconds >= 0"
            )));
        }
        (None, Some(f)) => {
            if args.out_dir.is_none() {
                return Err(SceneCliError::Usage(
                    "--frames writes files: give --out-dir".into(),
                ));
            }
            (*f.0.last().unwrap_or(&0), Some(&f.0))
        }
        _ => {
            return Err(SceneCliError::Usage(
                "give exactly one of --time or --frames".into(),
            ));
        }
    };
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir)?;
    }

    let mut last_good: Option<Scene> = None;
    for frame in 0..=last {
        if let Some(ev) = by_frame.get(&frame) {
            apply(&mut engine, frame_events(ev));
        }
        let is_final_time_frame = wanted.is_none() && frame == last;
        let time = match (is_final_time_frame, args.time) {
            (true, Some(t)) => t,
            _ => frame as f64 / fps as f64,
        };
        let scene = match engine.render(time) {
            Ok(f) => f.scene,
            Err(source) => {
                // A recording keeps the last good scene; the inspector reports the failure
                // only for frames it was asked to show.
                let asked = wanted.is_some_and(|w| w.contains(&frame)) || is_final_time_frame;
                if asked || last_good.is_none() {
                    return Err(SceneCliError::Frame {
                        frame,
                        time,
                        source,
                    });
                }
                tracing::warn!(frame, cause = %source, "frame failed; keeping the last good scene");
                continue;
            }
        };
        if let Some(w) = wanted
            && w.contains(&frame)
        {
            write_frame(args, frame, &scene)?;
        }
        if is_final_time_frame {
            let doc = match args.format {
                SceneFormat::Vcs => serde_json::to_value(&scene).unwrap_or(Value::Null),
                SceneFormat::Daily => serde_json::json!({
                    "videoLayers": daily::video_layers(&scene),
                    "fgDisplayList": daily::fg_display_list(&scene),
                }),
            };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        last_good = Some(scene);
    }
    Ok(())
}

fn write_frame(args: &SceneArgs, frame: u64, scene: &Scene) -> Result<(), SceneCliError> {
    let dir = args.out_dir.as_deref().unwrap_or(Path::new("."));
    let write = |name: String, v: &Value| -> Result<(), SceneCliError> {
        let text = serde_json::to_string_pretty(v).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(name), text + "\n")?;
        Ok(())
    };
    match args.format {
        SceneFormat::Vcs => write(
            format!("{frame}.scene.json"),
            &serde_json::to_value(scene).unwrap_or(Value::Null),
        ),
        SceneFormat::Daily => {
            write(
                format!("vcs-output_{frame}_videolayers.json"),
                &daily::video_layers(scene),
            )?;
            write(
                format!("vcs-output_{frame}_fgdisplaylist.json"),
                &daily::fg_display_list(scene),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lists_and_sizes_parse() {
        assert_eq!(
            parse_frames("0, 3,5-7")
                .unwrap()
                .0
                .into_iter()
                .collect::<Vec<_>>(),
            [0, 3, 5, 6, 7]
        );
        assert!(parse_frames("7-5").is_err());
        assert!(parse_frames("x").is_err());
        assert_eq!(parse_size("1920x1080").unwrap(), (1920, 1080));
        assert!(parse_size("1920").is_err());
    }
}
