//! One recording, offline: composition → scene → rasterised strata → composited with the
//! participants' video → encoded. This is what `vcs-recorder render` runs.
//!
//! Order matters for failing fast without leaving debris: the composition is loaded and its
//! first frame rendered before any input starts or any file is created, so a bad composition
//! fails in milliseconds with nothing written; the output file is created next, so an
//! unwritable path fails before any encoding work.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::engine::{Composition, Engine, EngineError, EngineOptions, VideoInputSlot, VideoKind};
use crate::job::{JobSpec, UriScheme};
use crate::pipeline::compose::{Canvas, VideoFrameRef};
use crate::pipeline::input::VideoInput;
use crate::pipeline::output::{Output, OutputConfig, frames_duration};
use crate::pipeline::testsrc::{TestSource, TestUriError};
use crate::pipeline::{self, PipelineError};
use crate::render::{Assets, StratumRenderer};
use crate::text::Fonts;

/// Why a recording could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("participants[{index}].{track}: {error}")]
    TestUri {
        index: usize,
        track: &'static str,
        error: TestUriError,
    },
    #[error("{field}: {message}")]
    Unsupported { field: String, message: String },
}

/// What a finished recording produced.
#[derive(Debug, Clone)]
pub struct RenderSummary {
    pub path: PathBuf,
    pub frames: u64,
    pub duration: Duration,
    pub wall: Duration,
    /// Frames whose composition render failed (the last good scene was reused).
    pub composition_errors: u64,
    /// The composition kept failing (the engine gave up on it); the video was still recorded.
    pub composition_failed: bool,
}

/// Records `job` to its local MP4 output, as fast as the machine allows.
pub fn render_job(job: &JobSpec) -> Result<RenderSummary, RecordError> {
    let started = Instant::now();
    let duration = job.duration_secs.ok_or_else(|| RecordError::Unsupported {
        field: "durationSecs".into(),
        message: "render needs a duration (--duration SECONDS)".into(),
    })?;
    let mp4_path = local_mp4_path(job)?;
    let v = &job.video;

    // 1. The composition, and its first frame: fails fast, before anything is started or written.
    let composition = Composition::resolve(&job.composition.name)?;
    // The composition's own `fonts/` join the system fonts for measuring and drawing alike.
    let fonts = Fonts::with_font_dirs(&composition.font_dirs);
    let mut engine = Engine::new(
        composition,
        EngineOptions {
            width: v.width,
            height: v.height,
            fps: v.fps,
            fonts: fonts.clone(),
        },
    )?;
    engine.set_params(&job.composition.params);
    let sources = test_sources(job)?;
    engine.set_video_inputs(
        job.participants
            .iter()
            .zip(&sources)
            .filter_map(|(p, s)| {
                s.video.as_ref().map(|src| VideoInputSlot {
                    id: p.id.clone(),
                    kind: VideoKind::Camera,
                    display_name: p.name().to_string(),
                    paused: false,
                    dominant: false,
                    frame_size: (src.width, src.height),
                })
            })
            .collect(),
    );
    let mut scene = engine.render(0.0)?.scene;

    // 2. Inputs and the output file.
    pipeline::init()?;
    let mut inputs: HashMap<String, VideoInput> = HashMap::new();
    for (p, s) in job.participants.iter().zip(&sources) {
        if let Some(src) = &s.video {
            inputs.insert(p.id.clone(), VideoInput::test(&p.id, p.name(), src, v.fps)?);
        }
    }
    let frames = (duration * v.fps as f64).round() as u64;
    let mut output = Output::start(&OutputConfig {
        width: v.width,
        height: v.height,
        fps: v.fps,
        video_bitrate_kbps: v.bitrate_kbps,
        audio_bitrate_kbps: job.audio.bitrate_kbps,
        duration_secs: frames_duration(frames, v.fps).as_secs_f64(),
        tones_hz: sources.iter().filter_map(|s| s.tone_hz).collect(),
        mp4_path,
    })?;

    // 3. Frame by frame.
    let assets = Assets::none();
    let mut background = StratumRenderer::new(v.width, v.height, fonts.clone(), assets);
    let mut foreground = StratumRenderer::new(v.width, v.height, fonts, Assets::none());
    let mut composition_errors = 0u64;
    for n in 0..frames {
        if n > 0 {
            match engine.render(n as f64 / v.fps as f64) {
                Ok(frame) => scene = frame.scene,
                Err(e) => {
                    // Video keeps recording with the last good scene.
                    composition_errors += 1;
                    tracing::warn!(frame = n, error = %e, "composition frame failed; keeping the last good scene");
                }
            }
        }
        for input in inputs.values_mut() {
            input.advance()?;
        }
        let mut canvas = Canvas::new(v.width, v.height);
        let (bg, _) = background.render(&scene.background, scene.width, scene.height);
        canvas.fill_from_premultiplied(bg.data());
        for layer in &scene.video_layers {
            let Some(frame) = inputs.get(&layer.id).and_then(VideoInput::frame) else {
                continue;
            };
            let src = VideoFrameRef {
                width: frame.width,
                height: frame.height,
                stride: frame.stride,
                data: frame.data.as_slice(),
            };
            canvas.draw_video(
                src,
                scale_frame(layer.frame, &scene, v.width, v.height),
                &layer.attrs,
            );
        }
        let (fg, _) = foreground.render(&scene.foreground, scene.width, scene.height);
        canvas.over_premultiplied(fg.data());
        output.push_frame(canvas.data)?;
    }
    drop(inputs);
    let path = output.finish()?;
    Ok(RenderSummary {
        path,
        frames,
        duration: frames_duration(frames, v.fps),
        wall: started.elapsed(),
        composition_errors,
        composition_failed: engine.has_failed(),
    })
}

/// Maps a layer frame from scene pixels to output pixels (they differ only when a composition
/// emits a scene of another size).
fn scale_frame(
    f: crate::scene::IntRect,
    scene: &crate::scene::Scene,
    width: u32,
    height: u32,
) -> crate::scene::IntRect {
    if scene.width == width && scene.height == height {
        return f;
    }
    let sx = width as f32 / scene.width as f32;
    let sy = height as f32 / scene.height as f32;
    crate::scene::IntRect {
        x: (f.x as f32 * sx).round() as i32,
        y: (f.y as f32 * sy).round() as i32,
        w: (f.w as f32 * sx).round() as i32,
        h: (f.h as f32 * sy).round() as i32,
    }
}

fn local_mp4_path(job: &JobSpec) -> Result<PathBuf, RecordError> {
    let mut mp4 = None;
    for (i, o) in job.outputs.iter().enumerate() {
        let unsupported = |kind: &str| RecordError::Unsupported {
            field: format!("outputs[{i}].{kind}"),
            message: format!("render writes local MP4 files only; {kind} outputs need `serve`"),
        };
        match (&o.mp4, &o.hls, &o.rtmp) {
            (Some(m), None, None) if m.s3.is_none() => {
                if mp4.is_some() {
                    return Err(RecordError::Unsupported {
                        field: format!("outputs[{i}]"),
                        message: "render writes one MP4 file; remove the extra output".into(),
                    });
                }
                mp4 = m.path.clone();
            }
            (Some(_), _, _) => return Err(unsupported("mp4.s3")),
            (_, Some(_), _) => return Err(unsupported("hls")),
            _ => return Err(unsupported("rtmp")),
        }
    }
    mp4.map(PathBuf::from)
        .ok_or_else(|| RecordError::Unsupported {
            field: "outputs".into(),
            message: "no MP4 output; give one with -o out.mp4".into(),
        })
}

/// The synthetic sources each participant's tracks ask for.
struct ParticipantSources {
    video: Option<TestSource>,
    tone_hz: Option<f64>,
}

fn test_sources(job: &JobSpec) -> Result<Vec<ParticipantSources>, RecordError> {
    job.participants
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let parse = |track: &'static str, uri: &Option<String>| -> Result<Option<TestSource>, RecordError> {
                let Some(uri) = uri else { return Ok(None) };
                match UriScheme::of(uri) {
                    Some(UriScheme::Test) => TestSource::parse(uri, index)
                        .map(Some)
                        .map_err(|error| RecordError::TestUri { index, track, error }),
                    _ => Err(RecordError::Unsupported {
                        field: format!("participants[{index}].{track}"),
                        message: format!(
                            "\"{uri}\": this build records test: sources only; file, http, rtsp, srt, rtmp and whep inputs are not implemented yet"
                        ),
                    }),
                }
            };
            if p.screenshare.is_some() {
                return Err(RecordError::Unsupported {
                    field: format!("participants[{index}].screenshare"),
                    message: "screenshare tracks are not implemented yet".into(),
                });
            }
            Ok(ParticipantSources {
                video: parse("camera", &p.camera)?,
                tone_hz: parse("audio", &p.audio)?.map(|s| s.tone_hz),
            })
        })
        .collect()
}
