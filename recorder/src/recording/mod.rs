//! One recording, offline or live: composition → scene per frame → strata composited with the
//! participants' video, their audio mixed → one encode → every output (and S3).
//!
//! `render` runs it on the calling thread as fast as the inputs allow; `serve` runs it on its own
//! thread at real time and drives it through [`Command`]s while reading [`JobStatus`] snapshots.
//!
//! Order matters for failing fast without leaving debris: the composition is loaded and its
//! first frame rendered before any input starts or any file is created, so a bad composition
//! fails in milliseconds with nothing written; outputs are created next, so an unwritable path or
//! an unusable S3 bucket fails before any encoding work.
//!
//! # Layout
//! - [`audio`]: mixing, levels and the active speaker (pure).
//! - [`pacing`]: real-time frame pacing for live jobs (pure).
//! - [`participants`]: the input tracks, joined and left live, read once per frame.
//! - [`outputs`]: the job's outputs as encoder targets, and their uploads to S3.

pub mod audio;
pub mod outputs;
pub mod pacing;
pub mod participants;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use vcs_job::control::{JobEvent, JobPatch, JobState, JobStatus};
use vcs_media::MediaError;
use vcs_media::encode::{Encoder, EncoderConfig};

use crate::engine::{Composition, Engine, EngineError, EngineOptions};
use crate::job::JobSpec;
use crate::pipeline::compose::{Canvas, CoverageSpans, VideoFrameRef};
use crate::render::{Assets, StratumRenderer};
use crate::scene::{IntRect, Scene};
use crate::text::Fonts;
use audio::{ActiveSpeaker, SpeakerTuning, sample_start, sample_time, samples_for_frame};
use outputs::{OutputReport, Outputs};
use pacing::{Pacer, Tick};
use participants::Participants;

/// Why a recording could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("{field}: {error}")]
    Input { field: String, error: MediaError },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{field}: {message}")]
    Upload { field: String, message: String },
}

/// A live change, applied at the next frame.
#[derive(Debug, Clone)]
pub enum Command {
    /// Applied at the next frame; the outcome goes to `reply` when given. A patch that cannot
    /// be applied changes nothing and never stops the recording.
    Patch {
        patch: JobPatch,
        reply: Option<std::sync::mpsc::Sender<Result<(), RecordError>>>,
    },
    Events(Vec<JobEvent>),
    /// Finish: EOS through the encoder, every output finalised and uploaded.
    Stop,
}

/// How a recording runs.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Real-time pacing and live inputs (`serve`); otherwise as fast as the inputs allow.
    pub live: bool,
    /// Where outputs that go only to S3 are written before upload, and the upload spool.
    pub spool_dir: PathBuf,
}

/// What a finished recording produced.
#[derive(Debug, Clone)]
pub struct RecordSummary {
    pub frames: u64,
    pub duration: Duration,
    pub wall: Duration,
    pub dropped_frames: u64,
    pub outputs: Vec<OutputReport>,
    /// Frames whose composition render failed (the last good scene was reused).
    pub composition_errors: u64,
    /// The composition kept failing (the engine gave up on it); the video was still recorded.
    pub composition_failed: bool,
}

/// The status snapshot a recording keeps current for its controller.
pub type SharedStatus = Arc<Mutex<JobStatus>>;

/// What a recording's controller hears about as it runs.
pub trait RecordHooks {
    /// The first frame has been handed to the encoder.
    fn first_frame(&mut self) {}
    /// A frame took `took` to render (composition, graphics, compositing).
    fn frame_rendered(&mut self, _took: Duration) {}
}

/// No hooks (`render`).
impl RecordHooks for () {}

/// Records `job` until its duration is reached or [`Command::Stop`] arrives.
pub fn record(
    job: &JobSpec,
    opts: &RecordOptions,
    commands: &Receiver<Command>,
    status: &SharedStatus,
    hooks: &mut dyn RecordHooks,
) -> Result<RecordSummary, RecordError> {
    let started = Instant::now();
    let mut job = job.clone();
    let v = job.video.clone();
    set_state(status, JobState::Starting, |_| {});

    // 1. The composition and its first frame: fails fast, before anything is started or written.
    let mut composition = Composition::resolve(&job.composition.name)?;
    if let Some(dir) = &job.composition.assets {
        composition = composition.with_session_assets(Path::new(dir))?;
    }
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
    // Kept: if the next frames fail (a slow first layout on a loaded machine), they show this.
    let first_scene = engine.render(0.0)?.scene;

    // 2. Inputs, then outputs.
    crate::pipeline::init()?;
    let mut participants = Participants::new(opts.live);
    participants.set(&job.participants, Duration::ZERO)?;
    let (targets, mut outputs) = Outputs::start(&job.outputs, &opts.spool_dir)?;
    let mut encoder = Encoder::start(
        EncoderConfig {
            width: v.width,
            height: v.height,
            fps: v.fps,
            video_bitrate_kbps: v.bitrate_kbps,
            audio_bitrate_kbps: job.audio.bitrate_kbps,
        },
        targets,
    )?;
    let events = encoder.events();

    // 3. Frame by frame.
    let dirs = asset_dirs(&job);
    let mut background = StratumRenderer::new(
        v.width,
        v.height,
        fonts.clone(),
        Assets::from_dirs(dirs.clone()),
    );
    let mut foreground = StratumRenderer::new(v.width, v.height, fonts, Assets::from_dirs(dirs));
    let mut speaker = ActiveSpeaker::new(SpeakerTuning::default());
    let mut named_speaker: Option<String> = None;
    let mut scene: Scene = first_scene;
    let mut last_slots = None;
    let mut audio_only_peers = None;
    let mut composition_errors = 0u64;
    let mut composition_messages: Vec<String> = Vec::new();
    let mut dropped = 0u64;
    let mut message_key = 0u64;
    let limit = job.duration_secs.map(|d| (d * v.fps as f64).round() as u64);
    let pacer = Pacer::new(Instant::now(), v.fps);
    let mut fps_meter = FpsMeter::default();
    let mut n = 0u64;
    let mut stopping = false;
    let mut canvas = Canvas::new(v.width, v.height);
    let mut fg_spans = CoverageSpans::default();
    loop {
        if limit.is_some_and(|l| n >= l) || stopping {
            break;
        }
        // Live changes arriving between two frames are applied together with the next one.
        let mut skipped = 0;
        let mut arrived = Vec::new();
        if opts.live {
            loop {
                match pacer.tick(n, Instant::now()) {
                    Tick::Wait(d) => match commands.recv_timeout(d) {
                        Ok(cmd) => arrived.push(cmd),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            stopping = true;
                            std::thread::sleep(d);
                        }
                    },
                    Tick::Render { skipped: s } => {
                        skipped = s;
                        break;
                    }
                }
            }
        }
        arrived.extend(commands.try_iter());
        for cmd in arrived {
            apply(
                cmd,
                &mut job,
                n,
                &mut engine,
                &mut participants,
                &mut encoder,
                &mut outputs,
                &mut named_speaker,
                &mut message_key,
                &mut stopping,
            )?;
        }
        if stopping {
            break;
        }
        if let Some(l) = limit {
            skipped = skipped.min(l.saturating_sub(n + 1));
        }
        // The frame rendered now stands for the newest due tick; skipped ticks repeat it.
        let frame_n = n + skipped;
        let t = frame_n as f64 / v.fps as f64;
        let t_dur = Duration::from_secs_f64(t);

        // Audio first: its levels choose the dominant speaker this frame shows.
        let first_sample = sample_start(n, v.fps);
        let sample_count = (sample_start(frame_n + 1, v.fps) - first_sample) as usize;
        let mut mix = vec![0.0f32; sample_count * audio::CHANNELS];
        let levels = participants.mix_audio(sample_time(first_sample), &mut mix);
        audio::clip(&mut mix);
        let dt = sample_time(sample_count as u64);
        let level_refs: Vec<(&str, f32)> = levels.iter().map(|(i, l)| (i.as_str(), *l)).collect();
        let detected = speaker.update(&level_refs, dt).map(str::to_string);
        let dominant = named_speaker.clone().or(detected);

        let inputs = participants.read_video(t_dur, dominant.as_deref());
        if last_slots.as_ref() != Some(&inputs.slots) {
            engine.set_video_inputs(inputs.slots.clone());
            last_slots = Some(inputs.slots.clone());
        }
        let peers = room_peers(&inputs.audio_only, &inputs.slots);
        if audio_only_peers.as_ref() != Some(&peers) {
            engine.set_room_peers(peers.clone());
            audio_only_peers = Some(peers);
        }
        let render_started = Instant::now();
        match engine.render(t) {
            Ok(frame) => scene = frame.scene,
            Err(e) => {
                // Video keeps recording with the last good scene.
                composition_errors += 1;
                tracing::warn!(frame = frame_n, error = %e, "composition frame failed; keeping the last good scene");
                composition_messages.push(e.to_string());
                if composition_messages.len() > 5 {
                    composition_messages.remove(0);
                }
            }
        }
        canvas.data = encoder.frame_buffer();
        let (bg, _) = background.render(&scene.background, scene.width, scene.height);
        canvas.fill_from_premultiplied(bg.data());
        for layer in &scene.video_layers {
            let Some(frame) = inputs.frames.get(&layer.id) else {
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
        let (fg, rasterised) = foreground.render(&scene.foreground, scene.width, scene.height);
        if rasterised {
            fg_spans = CoverageSpans::of(fg.data(), fg.width());
        }
        canvas.over_premultiplied(fg.data(), &fg_spans);
        let render_time = render_started.elapsed();

        // Skipped ticks get copies of this frame with their own share of the audio.
        let mut offset = 0usize;
        for k in n..=frame_n {
            let len = samples_for_frame(k, v.fps) * audio::CHANNELS;
            let rgba = if k == frame_n {
                std::mem::take(&mut canvas.data)
            } else {
                let mut copy = encoder.frame_buffer();
                copy.copy_from_slice(&canvas.data);
                copy
            };
            encoder.push(k, rgba, &mix[offset..offset + len])?;
            offset += len;
        }
        let first = n == 0;
        dropped += skipped;
        n = frame_n + 1;
        fps_meter.tick(Instant::now(), skipped + 1);
        while let Ok(ev) = events.try_recv() {
            outputs.on_event(ev);
        }
        {
            let mut s = status.lock().expect("status lock");
            if s.state == JobState::Starting {
                s.state = JobState::Recording;
                s.timestamps.first_frame = Some(rfc3339_now());
                s.start_latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
            s.frames = n;
            s.fps = fps_meter.fps();
            s.dropped_frames = dropped;
            // Audio and video PTS both derive from the frame counter, so at the encoder's input
            // they differ only by the rounding of the sample count.
            s.av_offset_ms = (sample_time(sample_start(n, v.fps)).as_secs_f64()
                - n as f64 / v.fps as f64)
                * 1000.0;
            s.composition_errors = composition_errors;
            s.composition_messages = composition_messages.clone();
            s.inputs = participants.status();
            s.outputs = outputs.status(&encoder.status());
        }
        hooks.frame_rendered(render_time);
        if first {
            hooks.first_frame();
        }
    }

    // 4. Stop: EOS through everything, every muxer finalised, every upload completed.
    set_state(status, JobState::Finalising, |s| {
        s.timestamps.stopped = Some(rfc3339_now());
    });
    drop(participants);
    let summaries = encoder.finish()?;
    while let Ok(ev) = events.try_recv() {
        outputs.on_event(ev);
    }
    let reports = outputs.finish(summaries);
    let summary = RecordSummary {
        frames: n,
        duration: vcs_media::encode::frames_duration(n, v.fps),
        wall: started.elapsed(),
        dropped_frames: dropped,
        outputs: reports,
        composition_errors,
        composition_failed: engine.has_failed(),
    };
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn apply(
    cmd: Command,
    job: &mut JobSpec,
    frame: u64,
    engine: &mut Engine,
    participants: &mut Participants,
    encoder: &mut Encoder,
    outputs: &mut Outputs,
    named_speaker: &mut Option<String>,
    message_key: &mut u64,
    stopping: &mut bool,
) -> Result<(), RecordError> {
    match cmd {
        Command::Stop => *stopping = true,
        Command::Patch { patch, reply } => {
            let now = Duration::from_secs_f64(frame as f64 / job.video.fps as f64);
            let result = apply_patch(patch, job, now, engine, participants, encoder, outputs);
            if let Err(e) = &result {
                tracing::warn!(error = %e, "live change not applied");
            }
            match reply {
                Some(reply) => {
                    let _ = reply.send(result);
                }
                None => result?,
            }
        }
        Command::Events(events) => {
            for e in events {
                *message_key += 1;
                let (source, sender, text) = match e {
                    JobEvent::ActiveSpeaker { participant_id } => {
                        *named_speaker = participant_id;
                        continue;
                    }
                    JobEvent::Chat {
                        sender_display_name,
                        text,
                    } => ("chatMessages", sender_display_name, text),
                    JobEvent::Transcript {
                        sender_display_name,
                        text,
                    } => ("transcript", sender_display_name, text),
                    JobEvent::Emoji {
                        sender_display_name,
                        text,
                    } => ("emojiReactions", sender_display_name, text),
                };
                engine.push_standard_source_message(
                    source,
                    json!({"key": *message_key, "senderDisplayName": sender, "text": text}),
                );
            }
        }
    }
    Ok(())
}

/// Applies a live change. Everything is checked before anything changes, so a bad patch
/// leaves the recording as it was.
fn apply_patch(
    patch: JobPatch,
    job: &mut JobSpec,
    now: Duration,
    engine: &mut Engine,
    participants: &mut Participants,
    encoder: &mut Encoder,
    outputs: &mut Outputs,
) -> Result<(), RecordError> {
    let params = with_defaults_for_nulls(patch.params.clone(), engine.interface());
    let mut next = job.clone();
    next.composition.params.extend(params.clone());
    if let Some(list) = &patch.participants {
        next.participants = list.clone();
    }
    for name in &patch.remove_outputs {
        let before = next.outputs.len();
        next.outputs.retain(|o| &o.name != name);
        if next.outputs.len() == before {
            return Err(RecordError::Invalid {
                field: "removeOutputs".into(),
                message: format!("no output named \"{name}\""),
            });
        }
    }
    next.outputs.extend(patch.add_outputs.iter().cloned());
    next.validate().map_err(|e| RecordError::Invalid {
        field: e.path,
        message: e.message,
    })?;
    if let Some(list) = &patch.participants {
        participants.set(list, now)?;
    }
    if !params.is_empty() {
        engine.set_params(&params);
    }
    for name in &patch.remove_outputs {
        let summary = encoder.remove_output(name)?;
        outputs.removed(summary);
    }
    for o in &patch.add_outputs {
        let target = outputs.add(o)?;
        encoder.add_output(target)?;
    }
    *job = next;
    Ok(())
}

/// A `null` param value in a patch means "back to the default" (the composition's
/// `compositionInterface.params[].defaultValue`).
fn with_defaults_for_nulls(
    mut params: BTreeMap<String, serde_json::Value>,
    interface: &serde_json::Value,
) -> BTreeMap<String, serde_json::Value> {
    for (id, value) in params.iter_mut() {
        if value.is_null()
            && let Some(default) = interface["params"].as_array().and_then(|ps| {
                ps.iter()
                    .find(|p| p["id"] == *id)
                    .map(|p| p["defaultValue"].clone())
            })
        {
            *value = default;
        }
    }
    params
}

/// Audio-only participants as the composition's room peers (vcs-api.md §5).
fn room_peers(
    audio_only: &[(String, String)],
    slots: &[crate::engine::VideoInputSlot],
) -> serde_json::Value {
    let mut peers: Vec<serde_json::Value> = slots
        .iter()
        .filter(|s| s.kind == crate::engine::VideoKind::Camera)
        .map(|s| {
            json!({"id": s.id, "displayName": s.display_name,
                   "video": {"id": s.id, "paused": s.paused},
                   "audio": {"id": s.id, "paused": false, "dominant": s.dominant}})
        })
        .collect();
    peers.extend(audio_only.iter().map(
        |(id, name)| json!({"id": id, "displayName": name, "audio": {"id": id, "paused": false}}),
    ));
    serde_json::Value::Array(peers)
}

/// Image folders the renderer resolves composition and session images from.
fn asset_dirs(job: &JobSpec) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let composition = PathBuf::from(&job.composition.name);
    if composition.is_dir() {
        dirs.push(composition.join("images"));
    } else if let Some(parent) = composition.parent()
        && composition.is_file()
    {
        dirs.push(parent.join("images"));
    }
    if let Some(assets) = &job.composition.assets {
        let assets = PathBuf::from(assets);
        dirs.extend([assets.join("images"), assets]);
    }
    dirs
}

fn set_state(status: &SharedStatus, state: JobState, f: impl FnOnce(&mut JobStatus)) {
    let mut s = status.lock().expect("status lock");
    s.state = state;
    f(&mut s);
}

/// Encoded frames per second over the last few seconds.
#[derive(Default)]
struct FpsMeter {
    window: std::collections::VecDeque<(Instant, u64)>,
}

impl FpsMeter {
    fn tick(&mut self, now: Instant, frames: u64) {
        self.window.push_back((now, frames));
        while self
            .window
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(3))
        {
            self.window.pop_front();
        }
    }

    fn fps(&self) -> f64 {
        let (Some((first, _)), Some((last, _))) = (self.window.front(), self.window.back()) else {
            return 0.0;
        };
        let span = last.duration_since(*first).as_secs_f64();
        if span <= 0.0 {
            return 0.0;
        }
        let frames: u64 = self.window.iter().skip(1).map(|(_, f)| f).sum();
        frames as f64 / span
    }
}

/// Now as RFC 3339 UTC, formatted as the control API formats its own timestamps.
pub fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Maps a layer frame from scene pixels to output pixels (they differ only when a composition
/// emits a scene of another size).
fn scale_frame(f: IntRect, scene: &Scene, width: u32, height: u32) -> IntRect {
    if scene.width == width && scene.height == height {
        return f;
    }
    let sx = width as f32 / scene.width as f32;
    let sy = height as f32 / scene.height as f32;
    IntRect {
        x: (f.x as f32 * sx).round() as i32,
        y: (f.y as f32 * sy).round() as i32,
        w: (f.w as f32 * sx).round() as i32,
        h: (f.h as f32 * sy).round() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_meter_counts_frames_per_second() {
        let mut m = FpsMeter::default();
        let t0 = Instant::now();
        for i in 0..=60 {
            m.tick(t0 + Duration::from_millis(i * 1000 / 30), 1);
        }
        assert!((m.fps() - 30.0).abs() < 0.6, "{}", m.fps());
    }
}
