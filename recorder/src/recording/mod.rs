//! One recording, offline or live: composition → scene per frame → strata composited with the
//! participants' video, their audio mixed → one encode → every output (and S3).
//!
//! `render` runs it on the calling thread as fast as the inputs allow; `serve` runs it on its own
//! thread at real time and drives it through [`LiveCommand`]s while reading [`JobStatus`](vcs_job::control::JobStatus)
//! snapshots.
//!
//! A [`Recorder`] is [started](Recorder::start), [ticked](Recorder::tick) once per output frame
//! until the duration is reached or a stop arrives, then [finished](Recorder::finish). Each tick
//! runs the same named stages:
//!
//! ```text
//! take_commands → mix_audio → read_video → render_scene → composite → push_frames → report_status
//! (pace, apply    (levels pick   (slots and    (JS; last good   (strata +    (skipped ticks    (JobStatus,
//!  live changes)   the speaker)   peers → JS)   scene on error)  video)       repeat the frame)  hooks)
//! ```
//!
//! Order matters for failing fast without leaving debris: the composition is loaded and its
//! first frame rendered before any input starts or any file is created, so a bad composition
//! fails in milliseconds with nothing written; outputs are created next, so an unwritable path or
//! an unusable S3 bucket fails before any encoding work.
//!
//! # Layout
//! - this file: [`Recorder`] and its stages, [`record`].
//! - `live.rs`: [`LiveCommand`]s — patches, room events, stop — applied between frames.
//! - `strata.rs`: one output frame composited from a scene and the participants' video.
//! - `status.rs`: the [`JobStatus`] snapshot and the measured frame rate.
//! - `rate_limit.rs`: at most one warning line every few seconds for per-frame failures.
//! - `lipsync.rs`: a warning when an input's measured A/V offset passes a frame.
//! - [`audio`]: mixing, levels and the active speaker (pure).
//! - [`pacing`]: real-time frame pacing for live jobs (pure).
//! - [`participants`]: the input tracks, joined and left live, read once per frame.
//! - [`outputs`]: the job's outputs as encoder targets, and their uploads to S3.
//! - `delivery.rs`: what each input delivered, and the faults (exit codes) of a finished job.
//! - [`timeline`]: the composition's video time of the first frame (a continuation goes on).

pub mod audio;
mod delivery;
mod lipsync;
mod live;
pub mod outputs;
pub mod pacing;
pub mod participants;
mod rate_limit;
mod status;
pub(crate) mod strata;
pub mod timeline;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::json;
use vcs_engine::{Composition, EngineError, VideoInputSlot, VideoKind};
use vcs_job::control::{Fault, InputDelivery, JobState, rfc3339_now};
use vcs_job::{JobSpec, SpecError, UriScheme};
use vcs_media::MediaError;
use vcs_media::encode::{Encoder, EncoderConfig};
use vcs_scene::Scene;
use vcs_upload::UploadError;

use crate::engine_process::{CompositionState, Limits, SupervisedEngine};

use audio::{ActiveSpeaker, SpeakerTuning, sample_start, sample_time, samples_for_frame};
use outputs::{OutputReport, Outputs};
use pacing::{Pacer, Tick};
use participants::{FrameInputs, Participants};
use rate_limit::RateLimit;
use status::{FpsMeter, set_state};
use strata::Strata;

pub use delivery::{exit_code, faults};
pub use live::LiveCommand;
pub use outputs::{hls_playlist_key, note_signal};
pub use status::SharedStatus;

/// Why a recording could not be made. Variants that wrap an error keep it as their
/// [`source`](std::error::Error::source) and do not repeat it in their own message: print them
/// with [`vcs_job::control::error_chain`] (or anyhow's `{:#}`).
///
/// Engine and media errors are boxed: they are large, and every step of a recording returns this
/// type, so unboxed they would make every `Result` on the frame path that large.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Engine(Box<EngineError>),
    #[error(transparent)]
    Media(Box<MediaError>),
    #[error("{field}")]
    Input {
        field: String,
        #[source]
        source: Box<MediaError>,
    },
    /// The job (or the job a patch would make) breaks a rule of the spec.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A change that cannot apply to this recording (such as removing an unknown output).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{field}")]
    Upload {
        field: String,
        /// Boxed: S3 errors are large, and every recording call returns this type.
        #[source]
        source: Box<UploadError>,
    },
    #[error("--spool-dir: cannot create {}", path.display())]
    SpoolDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<EngineError> for RecordError {
    fn from(e: EngineError) -> Self {
        Self::Engine(Box::new(e))
    }
}

impl From<MediaError> for RecordError {
    fn from(e: MediaError) -> Self {
        Self::Media(Box::new(e))
    }
}

/// How a recording runs.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Real-time pacing and live inputs (`serve`); otherwise as fast as the inputs allow.
    pub live: bool,
    /// Where outputs that go only to S3 are written before upload, and the upload spool.
    pub spool_dir: PathBuf,
    /// An offline events file (`render --events`): params and standard-source messages applied
    /// at their frames, as `scene --events` does. Its video input slots are not used: the job's
    /// participants are the video.
    pub events: Option<ScheduledEvents>,
}

/// An events file and where it came from (for errors).
#[derive(Debug, Clone)]
pub struct ScheduledEvents {
    /// The file's path, as the user gave it.
    pub origin: String,
    pub file: vcs_engine::events_file::EventsFile,
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
    /// What each input track delivered.
    pub inputs: Vec<InputDelivery>,
    /// How the recording fell short of the job (empty when it did not); see [`exit_code`].
    pub faults: Vec<Fault>,
    /// A continuation: the seconds of media the lost recorder left, and the gap measured from
    /// the frames (see [`vcs_job::control::JobStatus::measured_gap_secs`]), when known.
    pub lost_part_secs: Option<f64>,
    pub measured_gap_secs: Option<f64>,
}

/// What a recording's controller hears about as it runs.
pub trait RecordHooks {
    /// The first frame has been handed to the encoder.
    fn first_frame(&mut self) {}
    /// A frame took `took` to render (composition, graphics, compositing).
    fn frame_rendered(&mut self, _took: Duration) {}
}

/// No hooks (`render`).
impl RecordHooks for () {}

/// Whether a job must run at real time: network inputs and RTMP outputs do; test and file
/// inputs to files render as fast as the machine allows.
pub fn runs_in_real_time(job: &JobSpec) -> bool {
    let network_input = job.participants.iter().any(|p| {
        [&p.camera, &p.screenshare, &p.audio]
            .into_iter()
            .flatten()
            .any(|uri| !matches!(UriScheme::of(uri), Some(UriScheme::Test | UriScheme::File)))
    });
    network_input || job.outputs.iter().any(|o| o.rtmp.is_some())
}

/// Records `job` until its duration is reached or [`LiveCommand::Stop`] arrives.
pub fn record(
    job: &JobSpec,
    opts: &RecordOptions,
    commands: &Receiver<LiveCommand>,
    status: &SharedStatus,
    hooks: &mut dyn RecordHooks,
) -> Result<RecordSummary, RecordError> {
    let mut recorder = Recorder::start(job, opts, status)?;
    while recorder.tick(commands, hooks)? {}
    recorder.finish()
}

/// The frames one tick produces: a fresh frame for the newest due tick, which also stands for
/// the ticks that were skipped since the last one.
#[derive(Clone, Copy)]
struct FrameSpan {
    /// The first frame number this tick pushes (the skipped ticks come first).
    first: u64,
    /// The frame number rendered now; `first..=last` are pushed.
    last: u64,
}

/// One recording in progress: everything its frame loop owns.
pub struct Recorder<'s> {
    /// The job as it is now (live patches change it).
    job: JobSpec,
    live: bool,
    started: Instant,
    status: &'s SharedStatus,
    engine: SupervisedEngine,
    participants: Participants,
    encoder: Encoder,
    outputs: Outputs,
    strata: Strata,
    speaker: ActiveSpeaker,
    /// The active speaker named by an event; wins over the detected one.
    named_speaker: Option<String>,
    /// The last good scene: shown again when the composition fails a frame.
    scene: Scene,
    /// What the engine was last told, so it hears only about changes.
    last_slots: Option<Vec<VideoInputSlot>>,
    last_peers: Option<serde_json::Value>,
    /// Key of the last standard-source message handed to the composition.
    message_key: u64,
    /// The room events on screen, reported for a continuation should this recorder be lost.
    screen: vcs_job::screen::ScreenEvents,
    /// Frames pushed so far (the next frame number).
    frames: u64,
    /// The composition's video time of frame 0: 0, or where a lost recorder's timeline goes on.
    time_origin: f64,
    /// Frames that repeated the previous one because the recorder fell behind.
    dropped: u64,
    composition_errors: u64,
    /// The last few composition errors, for the status.
    composition_messages: Vec<String>,
    /// Composition errors are logged at most once every few seconds.
    composition_warnings: RateLimit,
    /// Dropped frames likewise.
    drop_warnings: RateLimit,
    /// Frames in the job's duration, if it has one.
    limit: Option<u64>,
    pacer: Pacer,
    fps_meter: FpsMeter,
    stopping: bool,
    /// The events file's events not yet applied (`render --events`).
    events: vcs_engine::events_file::EventsFile,
    /// What each input delivered so far, and the frame count when it was last told.
    input_tally: delivery::InputTally,
    tallied_frames: u64,
    /// Warns when an input's lip sync is off by more than a frame.
    sync_watch: lipsync::SyncWatch,
    /// A continuation's recovery of the lost recorders' MP4 parts, joined with its own at the
    /// end (see [`crate::resume`]).
    lost_parts: crate::resume::LostParts,
}

impl<'s> Recorder<'s> {
    /// Loads the composition and renders its first frame, then starts the inputs, the outputs
    /// and the encoder (in that order, see the module doc).
    pub fn start(
        job: &JobSpec,
        opts: &RecordOptions,
        status: &'s SharedStatus,
    ) -> Result<Recorder<'s>, RecordError> {
        let started = Instant::now();
        let job = job.clone();
        let v = job.video.clone();
        set_state(status, JobState::Starting, |_| {});

        let session_assets = job.composition.assets.as_deref().map(Path::new);
        // Resolved here too (the engine process resolves it again): an unknown composition is
        // the job's error, and the renderer draws text with the fonts the composition measures.
        let mut composition = Composition::resolve(&job.composition.name)?;
        if let Some(dir) = session_assets {
            composition = composition.with_session_assets(dir)?;
        }
        let fonts = vcs_text::Fonts::with_font_dirs(&composition.font_dirs);
        let time_origin =
            timeline::time_origin(job.resume.as_ref(), time::OffsetDateTime::now_utc());
        // Kept: if the next frames fail (a slow first layout on a loaded machine), they show this.
        let (engine, first_scene) = SupervisedEngine::start(
            CompositionState {
                composition: job.composition.name.clone(),
                session_assets: session_assets.map(Path::to_path_buf),
                width: v.width,
                height: v.height,
                fps: v.fps,
                params: job.composition.params.clone(),
                video_time: time_origin,
                ..CompositionState::default()
            },
            Limits::default(),
        )?;
        vcs_engine::check_params(engine.interface(), &job.composition.params).map_err(|e| {
            RecordError::Invalid {
                field: format!("composition.params.{}", e.id),
                message: e.message,
            }
        })?;

        let events = opts
            .events
            .clone()
            .map(|e| live::check_scheduled(e, engine.interface()))
            .transpose()?
            .unwrap_or_default();

        vcs_media::init()?;
        let mut participants = Participants::new(opts.live);
        participants.set(&job.participants, Duration::ZERO)?;
        // A continuation checks the bucket and learns what its HLS outputs continue before
        // anything is recorded (see `crate::resume::hls`).
        crate::resume::hls::check_mp4_parts(&job, &opts.spool_dir)?;
        let continues = crate::resume::hls::continuations(&job, &opts.spool_dir)?;
        let lost_parts = crate::resume::LostParts::recover_in_background(&job, status.clone());
        let (targets, outputs) = Outputs::start(&job.outputs, &opts.spool_dir, continues)?;
        let encoder = Encoder::start(
            EncoderConfig {
                width: v.width,
                height: v.height,
                fps: v.fps,
                video_bitrate_kbps: v.bitrate_kbps,
                audio_bitrate_kbps: job.audio.bitrate_kbps,
            },
            targets,
        )
        .map_err(|e| outputs::output_error("outputs", e))?;

        let image_dirs = vcs_engine::image_dirs(&job.composition.name, session_assets);
        let (offsets, strides) = encoder.i420_layout();
        let layout = vcs_render::yuv::I420Layout {
            width: v.width,
            height: v.height,
            offsets,
            strides,
        };
        let replayed = job.resume.as_ref().map(|r| r.screen.replay());
        let mut recorder = Recorder {
            strata: Strata::new(layout, fonts, image_dirs),
            limit: job.duration_secs.map(|d| (d * v.fps as f64).round() as u64),
            pacer: Pacer::new(Instant::now(), v.fps),
            live: opts.live,
            job,
            started,
            status,
            engine,
            participants,
            encoder,
            outputs,
            speaker: ActiveSpeaker::new(SpeakerTuning::default()),
            named_speaker: None,
            scene: first_scene,
            last_slots: None,
            last_peers: None,
            message_key: 0,
            screen: Default::default(),
            frames: 0,
            time_origin,
            dropped: 0,
            composition_errors: 0,
            composition_messages: Vec::new(),
            composition_warnings: RateLimit::new(Duration::from_secs(5)),
            drop_warnings: RateLimit::new(Duration::from_secs(2)),
            fps_meter: FpsMeter::default(),
            stopping: false,
            events,
            input_tally: delivery::InputTally::default(),
            sync_watch: lipsync::SyncWatch::default(),
            tallied_frames: 0,
            lost_parts,
        };
        // A continuation shows what the lost recorder showed of the room's events.
        if let Some(events) = replayed.filter(|e| !e.is_empty()) {
            recorder.push_events(events);
        }
        Ok(recorder)
    }

    /// Makes the next output frame (and copies for ticks skipped since the last); `false` once
    /// the recording should finish.
    pub fn tick(
        &mut self,
        commands: &Receiver<LiveCommand>,
        hooks: &mut dyn RecordHooks,
    ) -> Result<bool, RecordError> {
        if self.limit.is_some_and(|l| self.frames >= l) || self.stopping {
            return Ok(false);
        }
        let skipped = self.take_commands(commands)?;
        if self.stopping {
            return Ok(false);
        }
        let span = FrameSpan {
            first: self.frames,
            last: self.frames + skipped,
        };
        let fps = self.job.video.fps;
        let t = span.last as f64 / fps as f64;

        let (mix, dominant) = self.mix_audio(span);
        let inputs = self.read_video(Duration::from_secs_f64(t), dominant.as_deref());
        if span.first == 0 {
            // A continuation's timeline goes on from its FIRST FRAME, not from when the job
            // arrived: starting the engine and connecting the inputs took seconds under load
            // (5.5 s seen in the e2e kill flow), and the joined MP4 places this part there.
            self.time_origin =
                timeline::time_origin(self.job.resume.as_ref(), time::OffsetDateTime::now_utc());
        }
        let render_started = Instant::now();
        self.render_scene(span.last, self.time_origin + t);
        let scene_time = render_started.elapsed();
        let yuv = self
            .strata
            .composite(&self.scene, &inputs.frames, self.encoder.i420_buffer());
        let render_time = render_started.elapsed();
        self.push_frames(span, yuv, &mix)?;
        if span.first == 0 {
            // Real time runs from the first frame: making it (the composition's first layout,
            // the first rasterisation, the encoder's start) is start-up, reported as the start
            // latency, not ticks the recording skipped (see `pacing`).
            self.pacer.first_frame_made(Instant::now());
        }

        if skipped > 0 {
            self.note_dropped(span, scene_time, render_time);
        }
        self.dropped += skipped;
        self.frames = span.last + 1;
        self.fps_meter.tick(Instant::now(), skipped + 1);
        self.report_status();
        hooks.frame_rendered(render_time);
        if span.first == 0 {
            hooks.first_frame();
        }
        Ok(true)
    }

    /// Logs (at most once every few seconds) that ticks were skipped: when in the recording and
    /// how slow this frame's scene and compositing were, which tells a start-up stall from a
    /// machine that cannot keep up.
    fn note_dropped(&mut self, span: FrameSpan, scene_time: Duration, render_time: Duration) {
        if let Some(not_logged) = self.drop_warnings.allow(Instant::now()) {
            tracing::warn!(
                frame = span.last,
                skipped = span.last - span.first,
                dropped_so_far = self.dropped,
                recording_secs = format!("{:.2}", self.pacer.elapsed(Instant::now()).as_secs_f64()),
                scene_ms = scene_time.as_millis() as u64,
                composite_ms = (render_time - scene_time).as_millis() as u64,
                drops_not_logged = not_logged,
                "fell behind real time: the frame is repeated for the ticks it skipped"
            );
        }
    }

    /// Live jobs wait until the next frame is due; commands that arrived meanwhile are applied
    /// together before it. Returns how many ticks were skipped (limited to the job's duration).
    fn take_commands(&mut self, commands: &Receiver<LiveCommand>) -> Result<u64, RecordError> {
        let mut skipped = 0;
        let mut arrived = Vec::new();
        if self.live {
            loop {
                match self.pacer.tick(self.frames, Instant::now()) {
                    Tick::Wait(d) => match commands.recv_timeout(d) {
                        Ok(cmd) => arrived.push(cmd),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            self.stopping = true;
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
            self.apply(cmd)?;
        }
        if let Some(l) = self.limit {
            skipped = skipped.min(l.saturating_sub(self.frames + 1));
        }
        self.apply_scheduled(self.frames + skipped);
        Ok(skipped)
    }

    /// Audio first: its levels choose the dominant speaker this frame shows. Returns the mix for
    /// every frame of `span` and the dominant speaker.
    fn mix_audio(&mut self, span: FrameSpan) -> (Vec<f32>, Option<String>) {
        let fps = self.job.video.fps;
        let first_sample = sample_start(span.first, fps);
        let sample_count = (sample_start(span.last + 1, fps) - first_sample) as usize;
        let mut mix = vec![0.0f32; sample_count * audio::CHANNELS];
        let levels = self
            .participants
            .mix_audio(sample_time(first_sample), &mut mix);
        audio::clip(&mut mix);
        let dt = sample_time(sample_count as u64);
        let level_refs: Vec<(&str, f32)> = levels.iter().map(|(i, l)| (i.as_str(), *l)).collect();
        let detected = self.speaker.update(&level_refs, dt).map(str::to_string);
        (mix, self.named_speaker.clone().or(detected))
    }

    /// The participants' frames at `t`; the composition hears about changed video slots and
    /// room peers.
    fn read_video(&mut self, t: Duration, dominant: Option<&str>) -> FrameInputs {
        let inputs = self.participants.read_video(t, dominant);
        if self.last_slots.as_ref() != Some(&inputs.slots) {
            self.engine.set_video_inputs(&inputs.slots);
            self.last_slots = Some(inputs.slots.clone());
        }
        let peers = room_peers(&inputs.audio_only, &inputs.slots);
        if self.last_peers.as_ref() != Some(&peers) {
            self.engine.set_room_peers(peers.clone());
            self.last_peers = Some(peers);
        }
        inputs
    }

    /// The composition's scene at `t`; when it fails, video keeps recording with the last good
    /// scene and the error is counted.
    fn render_scene(&mut self, frame: u64, t: f64) {
        match self.engine.render(t) {
            Ok(Some(scene)) => self.scene = scene,
            Ok(None) => {}
            Err(e) => {
                self.composition_errors += 1;
                if let Some(not_logged) = self.composition_warnings.allow(Instant::now()) {
                    tracing::warn!(
                        frame,
                        error = %e,
                        failed_frames_not_logged = not_logged,
                        "composition frame failed; keeping the last good scene"
                    );
                }
                self.composition_messages.push(e.to_string());
                if self.composition_messages.len() > 5 {
                    self.composition_messages.remove(0);
                }
            }
        }
    }

    /// Pushes the frame for every tick of `span`: skipped ticks get copies of it, each with its
    /// own share of the audio.
    fn push_frames(
        &mut self,
        span: FrameSpan,
        mut yuv: Vec<u8>,
        mix: &[f32],
    ) -> Result<(), RecordError> {
        let fps = self.job.video.fps;
        let mut offset = 0usize;
        for k in span.first..=span.last {
            let len = samples_for_frame(k, fps) * audio::CHANNELS;
            let frame = if k == span.last {
                std::mem::take(&mut yuv)
            } else {
                let mut copy = self.encoder.i420_buffer();
                copy.copy_from_slice(&yuv);
                copy
            };
            self.encoder
                .push_i420(k, frame, &mix[offset..offset + len])?;
            offset += len;
        }
        Ok(())
    }

    /// Hands finished files to the uploads and refreshes the status snapshot.
    fn report_status(&mut self) {
        let events = self.encoder.events();
        while let Ok(ev) = events.try_recv() {
            self.outputs.on_event(ev);
        }
        let fps = self.job.video.fps;
        let n = self.frames;
        let mut s = self.status.lock().expect("status lock");
        if s.state == JobState::Starting {
            s.state = JobState::Recording;
            s.timestamps.first_frame = Some(rfc3339_now());
            s.start_latency_ms = Some(self.started.elapsed().as_secs_f64() * 1000.0);
        }
        s.frames = n;
        s.fps = self.fps_meter.fps();
        s.dropped_frames = self.dropped;
        // Audio and video PTS both derive from the frame counter, so at the encoder's input
        // they differ only by the rounding of the sample count. Lip sync is per input
        // (`inputs[].avOffsetMs`, from the input's clock).
        s.av_offset_ms =
            (sample_time(sample_start(n, fps)).as_secs_f64() - n as f64 / fps as f64) * 1000.0;
        s.composition_errors = self.composition_errors;
        s.composition_messages = self.composition_messages.clone();
        let inputs = self.participants.status();
        let dt = Duration::from_secs_f64((n - self.tallied_frames.min(n)) as f64 / fps as f64);
        self.tallied_frames = n;
        self.input_tally.observe(&inputs, dt);
        self.sync_watch.observe(&inputs, fps);
        s.inputs = inputs;
        s.input_delivery = self.input_tally.deliveries();
        s.recorded_secs = n as f64 / fps as f64;
        s.outputs = self.outputs.status(&self.encoder.status());
        measure_gap(&mut s, self.job.resume.as_ref());
    }

    /// Stops: EOS through everything, every muxer finalised, every upload completed.
    pub fn finish(self) -> Result<RecordSummary, RecordError> {
        set_state(self.status, JobState::Finalising, |s| {
            s.timestamps.stopped = Some(rfc3339_now());
        });
        let Recorder {
            job,
            started,
            participants,
            encoder,
            mut outputs,
            engine,
            frames,
            dropped,
            composition_errors,
            input_tally,
            status,
            lost_parts,
            time_origin,
            ..
        } = self;
        drop(participants);
        let events = encoder.events();
        let summaries = encoder.finish()?;
        while let Ok(ev) = events.try_recv() {
            outputs.on_event(ev);
        }
        let duration = vcs_media::encode::frames_duration(frames, job.video.fps);
        let mut outputs = outputs.finish(summaries);
        // A continuation's MP4 becomes one object with the earlier parts, before the job is
        // done (the operator may recycle the pod once it is).
        lost_parts.wait();
        let join_faults = crate::resume::join_parts(&job, &mut outputs, time_origin);
        let inputs = input_tally.deliveries();
        let composition_failed = engine.has_failed();
        let mut faults = faults(duration, &outputs, &inputs, composition_failed);
        faults.extend(join_faults);
        faults.sort_by_key(|f| f.kind);
        let (lost_part_secs, measured_gap_secs) = {
            let mut s = status.lock().expect("status lock");
            s.input_delivery = inputs.clone();
            s.recorded_secs = duration.as_secs_f64();
            s.faults = faults.clone();
            measure_gap(&mut s, job.resume.as_ref());
            (s.lost_part_secs, s.measured_gap_secs)
        };
        Ok(RecordSummary {
            frames,
            duration,
            wall: started.elapsed(),
            dropped_frames: dropped,
            outputs,
            composition_errors,
            composition_failed,
            inputs,
            faults,
            lost_part_secs,
            measured_gap_secs,
        })
    }
}

/// Audio-only participants as the composition's room peers (vcs-api.md §5).
fn room_peers(audio_only: &[(String, String)], slots: &[VideoInputSlot]) -> serde_json::Value {
    let mut peers: Vec<serde_json::Value> = slots
        .iter()
        .filter(|s| s.kind == VideoKind::Camera)
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

/// Once a continuation knows its first frame and what the lost recorder left, the gap measured
/// from the frames (see [`timeline::measured_gap`]).
fn measure_gap(s: &mut vcs_job::control::JobStatus, resume: Option<&vcs_job::ResumeSpec>) {
    if s.measured_gap_secs.is_none() {
        s.measured_gap_secs = timeline::measured_gap(
            resume,
            s.lost_part_secs,
            s.timestamps.first_frame.as_deref(),
        );
    }
}
