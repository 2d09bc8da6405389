//! What a composition produces, frame by frame, without recording (a **contract**): the logic of
//! `vcs-recorder scene` and `vcs-recorder still` (their flags live in the recorder's `cli/`).
//!
//! - `time`: the scene at one time (the engine is stepped frame by frame from 0 up to that
//!   time first, so state and animations are what a recording would show); [`run`] prints it
//!   as JSON, [`scene_at_time`] returns it.
//! - `frames` (e.g. `0,15,30-40`): steps frame by frame from 0 — applying the events file's
//!   events at their frames — and writes each requested frame to `out_dir` as
//!   `<frame>.scene.json`, or in the Daily format as `vcs-output_<frame>_videolayers.json` and
//!   `vcs-output_<frame>_fgdisplaylist.canvex.json`, byte for byte as Daily's test runner writes
//!   them (compact JSON, no trailing newline; daily-compat.md §3).
//!
//! Size and fps come from the request, else the events file, else 1280×720 at 30.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vcs_scene::Scene;

use crate::events_file::{EventsFile, FrameEvents};
use crate::{DailyDocuments, Engine, EngineError, param_from_flag};

/// How a scene is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SceneFormat {
    /// Our scene: `{width, height, background, videoLayers, foreground}`.
    #[default]
    Vcs,
    /// Daily's: video layers plus one foreground display list with the background clipped.
    Daily,
}

/// What to inspect. Exactly one of `time` and `frames` is given (`frames` with `out_dir`).
#[derive(Clone, Debug, Default)]
pub struct SceneRequest {
    /// A built-in composition name, or a composition file or folder.
    pub composition: String,
    /// JSON object of params by id.
    pub params_file: Option<PathBuf>,
    /// Params as `id=value` (value parsed as JSON when it is, else taken as a string).
    pub param: Vec<String>,
    /// JSON array of video input slots (vcs-api.md §5).
    pub inputs_file: Option<PathBuf>,
    /// Offline events file (vcs-api.md §5).
    pub events_file: Option<PathBuf>,
    /// Session-assets folder (images, fonts, component overrides).
    pub assets: Option<PathBuf>,
    /// Output size.
    pub size: Option<(u32, u32)>,
    pub fps: Option<u32>,
    /// The scene at this time (seconds).
    pub time: Option<f64>,
    /// Frames to write.
    pub frames: Option<FrameList>,
    pub format: SceneFormat,
    /// Where `frames` are written.
    pub out_dir: Option<PathBuf>,
}

/// A set of frame numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameList(pub BTreeSet<u64>);

/// Why a composition could not be inspected. A wrapped I/O or JSON error is the
/// [`source`](std::error::Error::source), not repeated in the message.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Shape { path: String, message: &'static str },
    #[error("{0}")]
    Usage(String),
    #[error("frame {frame} (t={time:.3}s)")]
    Frame {
        frame: u64,
        time: f64,
        #[source]
        source: EngineError,
    },
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

/// Parses a frame list such as `0,15,30-40`.
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

/// Runs the inspection: prints the `time` scene to `out`, or writes the `frames` to `out_dir`.
pub fn run(req: &SceneRequest, out: &mut dyn Write) -> Result<(), InspectError> {
    let steps = Steps::of(req)?;
    if let Some(dir) = &req.out_dir {
        std::fs::create_dir_all(dir)?;
    }
    let mut inspection = Inspection::open(req)?;
    let scene = inspection.step_to(&steps, |frame, scene, daily| {
        write_frame(req, frame, scene, daily)
    })?;
    if let Some((scene, daily)) = scene {
        match (req.format, daily) {
            // Daily's documents as they are, in one object `draw` reads back.
            (SceneFormat::Daily, Some(d)) => writeln!(
                out,
                "{{\"videoLayers\":{},\"fgDisplayList\":{}}}",
                d.video_layers, d.fg_display_list
            )?,
            _ => {
                serde_json::to_writer_pretty(&mut *out, &scene).map_err(std::io::Error::other)?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// The scene at `req.time` (what [`run`] prints), for a still picture.
pub fn scene_at_time(req: &SceneRequest) -> Result<Scene, InspectError> {
    let steps = Steps::of(req)?;
    if let Steps::Frames(_) = steps {
        return Err(InspectError::Usage(
            "a single scene needs a time, not a frame list".into(),
        ));
    }
    let mut inspection = Inspection::open(req)?;
    let scene = inspection.step_to(&steps, |_, _, _| Ok(()))?;
    Ok(scene.expect("a time request ends with its scene").0)
}

/// What to step to: the frame at a time, or a list of frames to write.
enum Steps<'r> {
    Time(f64),
    Frames(&'r BTreeSet<u64>),
}

impl<'r> Steps<'r> {
    /// Checks the request: the library type can hold both or neither of `time` and `frames`,
    /// which the command line's flags rule out.
    fn of(req: &'r SceneRequest) -> Result<Steps<'r>, InspectError> {
        match (&req.time, &req.frames) {
            (Some(t), None) if t.is_finite() && *t >= 0.0 => Ok(Steps::Time(*t)),
            (Some(t), None) => Err(InspectError::Usage(format!(
                "--time {t} is not a time in seconds >= 0"
            ))),
            (None, Some(_)) if req.out_dir.is_none() => Err(InspectError::Usage(
                "--frames writes files: give --out-dir".into(),
            )),
            (None, Some(f)) => Ok(Steps::Frames(&f.0)),
            _ => Err(InspectError::Usage(
                "give exactly one of --time or --frames".into(),
            )),
        }
    }
}

/// An engine set up as the request says, with the events file's per-frame events.
struct Inspection {
    engine: Engine,
    fps: u32,
    by_frame: BTreeMap<u64, FrameEvents>,
}

impl Inspection {
    /// The engine with its initial state: the events file's, then params file, `param`s and
    /// inputs file on top.
    fn open(req: &SceneRequest) -> Result<Inspection, InspectError> {
        let events = req
            .events_file
            .as_deref()
            .map(EventsFile::read)
            .transpose()?
            .unwrap_or_default();
        let (width, height) = req.size.or(events.output_size).unwrap_or((1280, 720));
        let fps = req.fps.or(events.fps).unwrap_or(30).clamp(1, 240);
        let mut engine = Engine::open(&req.composition, req.assets.as_deref(), width, height, fps)?;
        // Inspection shows what the composition produces even on a slow or busy machine; the
        // recorder enforces the real per-frame budget.
        engine.set_frame_budget(std::time::Duration::from_secs(5));
        engine.set_daily_format(req.format == SceneFormat::Daily);

        if let Some(init) = events.initial.clone() {
            apply(&mut engine, init);
        }
        if let Some(p) = &req.params_file {
            engine.set_params(&params_object(&read_json(p)?, p)?);
        }
        let cli_params = req
            .param
            .iter()
            .map(|kv| param_from_flag(kv).map_err(|m| InspectError::Usage(format!("--param {m}"))))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        engine.set_params(&cli_params);
        if let Some(p) = &req.inputs_file {
            let slots = read_json(p)?;
            if !slots.is_array() {
                return Err(InspectError::Shape {
                    path: p.display().to_string(),
                    message: "inputs must be a JSON array of video input slots",
                });
            }
            engine.set_video_inputs_json(slots);
        }
        let by_frame = events.by_frame;
        Ok(Inspection {
            engine,
            fps,
            by_frame,
        })
    }

    /// Renders every frame from 0 to the last of `steps`, handing each wanted one (with Daily's
    /// documents of it, when asked for) to `show`; returns the final scene for a `time` request.
    fn step_to(
        &mut self,
        steps: &Steps,
        mut show: impl FnMut(u64, &Scene, Option<&DailyDocuments>) -> Result<(), InspectError>,
    ) -> Result<Option<(Scene, Option<DailyDocuments>)>, InspectError> {
        let fps = self.fps;
        let (last, wanted, at) = match *steps {
            Steps::Time(t) => ((t * fps as f64).floor() as u64, None, Some(t)),
            Steps::Frames(f) => (*f.last().unwrap_or(&0), Some(f), None),
        };
        let mut last_good: Option<Scene> = None;
        for frame in 0..=last {
            if let Some(ev) = self.by_frame.get(&frame) {
                apply(&mut self.engine, ev.clone());
            }
            let is_final_time_frame = wanted.is_none() && frame == last;
            let time = match (is_final_time_frame, at) {
                (true, Some(t)) => t,
                _ => frame as f64 / fps as f64,
            };
            let scene = match self.engine.render(time) {
                Ok(f) => f.scene,
                Err(source) => {
                    // A recording keeps the last good scene; the inspector reports the failure
                    // only for frames it was asked to show.
                    let asked = wanted.is_some_and(|w| w.contains(&frame)) || is_final_time_frame;
                    if asked || last_good.is_none() {
                        return Err(InspectError::Frame {
                            frame,
                            time,
                            source,
                        });
                    }
                    tracing::warn!(frame, cause = %source, "frame failed; keeping the last good scene");
                    continue;
                }
            };
            if wanted.is_some_and(|w| w.contains(&frame)) {
                show(frame, &scene, self.engine.daily_documents())?;
            }
            if is_final_time_frame {
                return Ok(Some((scene, self.engine.daily_documents().cloned())));
            }
            last_good = Some(scene);
        }
        Ok(None)
    }
}

fn read_json(path: &Path) -> Result<Value, InspectError> {
    let text = std::fs::read_to_string(path).map_err(|source| InspectError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| InspectError::Json {
        path: path.display().to_string(),
        source,
    })
}

fn params_object(v: &Value, path: &Path) -> Result<BTreeMap<String, Value>, InspectError> {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .ok_or_else(|| InspectError::Shape {
            path: path.display().to_string(),
            message: "params must be a JSON object of values by param id",
        })
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

fn write_frame(
    req: &SceneRequest,
    frame: u64,
    scene: &Scene,
    daily: Option<&DailyDocuments>,
) -> Result<(), InspectError> {
    let dir = req.out_dir.as_deref().unwrap_or(Path::new("."));
    match (req.format, daily) {
        (SceneFormat::Daily, Some(d)) => {
            std::fs::write(
                dir.join(format!("vcs-output_{frame}_videolayers.json")),
                &d.video_layers,
            )?;
            std::fs::write(
                dir.join(format!("vcs-output_{frame}_fgdisplaylist.canvex.json")),
                &d.fg_display_list,
            )?;
            Ok(())
        }
        (SceneFormat::Daily, None) => Err(InspectError::Usage(format!(
            "frame {frame}: the runtime wrote no Daily documents"
        ))),
        (SceneFormat::Vcs, _) => {
            let text = serde_json::to_string_pretty(scene).map_err(std::io::Error::other)?;
            std::fs::write(dir.join(format!("{frame}.scene.json")), text + "\n")?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lists_parse() {
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
    }
}
