//! Participant inputs: one GStreamer pipeline per track URI, decoding to I420 frames and 48 kHz
//! stereo f32 samples that the recorder takes once per output frame.
//!
//! ```text
//! Input::start(cfg) ─► uri::parse (bad URI → error now)
//!        │
//!        ├─ offline (render; test: and file: only): one SourcePipeline, pulled by the recorder:
//!        │     video(t)/audio(t, out) block until the source has decoded up to t
//!        │
//!        └─ live: a supervisor thread owns the SourcePipeline and rebuilds it with backoff:
//!              every 100 ms: media arrived? bus error/EOS? ─► Supervisor::step ─► keep/teardown/rebuild
//!              video(t)/audio(t, out) at clock.media(t), the same instant for both; neither blocks
//! ```
//!
//! # Layout
//! - [`uri`]: what each URI kind is, checked at start; redaction for logs.
//! - `pipeline`: the GStreamer pipeline per kind, ending in the appsinks.
//! - `decoder`: the video decoders' thread count.
//! - `store`: where decoded media waits, by timestamp (offline: until the recorder asks; live:
//!   for a playout delay, read through the input's [`clock`]).
//! - [`clock`]: one clock per live input, mapping recording time to the input's media time.
//! - [`supervisor`]: the pure reconnect/backoff state machine.
//! - `whep`: the WHEP client (webrtcbin + HTTP offer/answer).

pub mod clock;
mod decoder;
mod frame;
mod pipeline;
mod store;
pub mod supervisor;
pub mod uri;
pub mod whep;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vcs_job::control::{InputState, InputStatus, TrackKind, error_chain};

use crate::MediaError;
pub use frame::{VideoFrame, YuvMatrix};
use pipeline::{Events, SourcePipeline, Wiring};
use store::Store;
pub use store::{CHANNELS, RATE};
use supervisor::{Action, Event, Policy, Supervisor};
use uri::Kind;

/// One participant track to record.
#[derive(Debug, Clone)]
pub struct InputConfig {
    /// Participant id (errors and logs).
    pub participant: String,
    /// `test:` sources write it on the picture.
    pub display_name: String,
    /// Participant index: a bare `test:` URI picks its colour and tone from it.
    pub index: usize,
    pub track: TrackKind,
    pub uri: String,
    /// `false`: offline render, pulled by the recorder, deterministic, as fast as possible (only
    /// `test:` and `file:` inputs); `true`: real time.
    pub live: bool,
    /// Decode video from this URI.
    pub video: bool,
    /// Decode audio from this URI.
    pub audio: bool,
}

/// A running input. Dropping it stops its pipeline (and its supervisor thread, when live).
pub struct Input {
    participant: String,
    track: TrackKind,
    store: Arc<Store>,
    events: Events,
    run: Run,
}

enum Run {
    /// The recorder pulls; the pipeline lives here (dropping it stops it).
    Offline { _pipeline: SourcePipeline },
    Live {
        status: Arc<Mutex<InputStatus>>,
        /// Dropped to stop the supervisor thread.
        stop: Option<mpsc::Sender<()>>,
        thread: Option<JoinHandle<()>>,
    },
}

impl Input {
    /// Validates the URI now (a bad URI or option is an error naming the URI and what to do),
    /// then connects: offline it waits for the source to start (a broken file fails here); live
    /// it returns at once and (re)connects in the background with backoff.
    pub fn start(cfg: InputConfig) -> Result<Input, MediaError> {
        let policy = if cfg.uri.trim().starts_with("whep+") {
            whep::reconnect_policy()
        } else {
            Policy::default()
        };
        Self::start_with_policy(cfg, policy)
    }

    /// [`Input::start`] with a reconnect policy other than the default.
    pub fn start_with_policy(cfg: InputConfig, policy: Policy) -> Result<Input, MediaError> {
        crate::init()?;
        let what = format!(
            "input {} {:?} ({})",
            cfg.participant,
            cfg.track,
            uri::redact(&cfg.uri)
        );
        let kind = uri::parse(&cfg.uri, cfg.index).map_err(|message| MediaError::Build {
            what: what.clone(),
            message,
        })?;
        if !cfg.video && !cfg.audio {
            return Err(MediaError::Build {
                what,
                message: "asks for neither video nor audio; set video or audio".into(),
            });
        }
        if !cfg.live && !kind.can_render_offline() {
            return Err(MediaError::Build {
                what,
                message: "only test: and file: inputs can be rendered offline; record this job \
                          live instead"
                    .into(),
            });
        }
        let store = Arc::new(Store::new(!cfg.live));
        let events: Events = Arc::default();
        let wiring = Wiring {
            store: store.clone(),
            events: events.clone(),
            generation: store.next_generation(),
            offline: !cfg.live,
            // Live network streams come at their sender's pace; only local sources need pacing.
            sync: cfg.live && !kind.is_network_stream(),
            video: cfg.video,
            audio: cfg.audio,
            what: what.clone(),
            uri: cfg.uri.clone(),
        };
        let first = SourcePipeline::start(&cfg, &kind, wiring.clone())?;
        tracing::info!(input = %what, live = cfg.live, "input started");
        let run = if !cfg.live {
            first.wait_prerolled(Duration::from_secs(30))?;
            Run::Offline { _pipeline: first }
        } else {
            let status = Arc::new(Mutex::new(InputStatus {
                participant: cfg.participant.clone(),
                track: cfg.track,
                state: InputState::Connecting,
                retries: 0,
                last_error: None,
                av_offset_ms: None,
            }));
            let (stop, stopped) = mpsc::channel();
            let supervise = Supervise {
                cfg: cfg.clone(),
                kind,
                wiring,
                policy,
                status: status.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("input-{}", cfg.participant))
                .spawn(move || supervise.run(first, stopped))
                .map_err(|source| MediaError::Thread { what, source })?;
            Run::Live {
                status,
                stop: Some(stop),
                thread: Some(thread),
            }
        };
        Ok(Input {
            participant: cfg.participant,
            track: cfg.track,
            store,
            events,
            run,
        })
    }

    /// The video frame to show at `t` on the recording timeline (0 when the input started).
    ///
    /// Offline: blocks until the source has decoded a frame at or past `t`, then returns the
    /// newest frame with pts <= `t` (a 25 fps file sampled at 30 fps repeats frames; after the end
    /// the last frame stays; before the first frame, the first frame). Live: without blocking,
    /// the frame at the input clock's media time for `t` (see [`clock`]), the same instant the
    /// audio read at `t` plays; while stalled, the last frame before the loss. `None` until a
    /// first frame exists (or, offline, when the source has no video). `t` must not go
    /// backwards, and live it must advance with real time (the recording's timeline).
    pub fn video(&mut self, t: Duration) -> Option<VideoFrame> {
        self.store.video(t)
    }

    /// Whether the source's video has ended by `t` (a file past its last frame, a live source
    /// whose stream ended): the recorder then shows the participant as paused, not frozen.
    pub fn video_over(&self, t: Duration) -> bool {
        self.store.video_over(t)
    }

    /// Fills `out` (interleaved stereo f32 at 48 kHz; `out.len() / 2` sample frames) with the
    /// audio for [`t`, `t` + len). Offline: exact by timestamps, blocking until decoded, silence
    /// past the end. Live: from the input clock's media time for `t` on (a playout delay of
    /// [`clock::PLAYOUT_DELAY`] s, more for a bursty source, behind what both tracks
    /// delivered), resampled by the clock's rate to absorb drift; silence where nothing arrived. `t` must not go backwards.
    pub fn audio(&mut self, t: Duration, out: &mut [f32]) {
        self.store.audio(t, out)
    }

    /// Where the input is: connecting, live, stalled (shown paused; retried) or ended.
    pub fn status(&self) -> InputStatus {
        match &self.run {
            Run::Live { status, .. } => {
                let mut s = status.lock().unwrap_or_else(|e| e.into_inner()).clone();
                s.av_offset_ms = self.store.av_offset_ms();
                s
            }
            Run::Offline { .. } => {
                let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
                let last_error = events.iter().rev().find_map(|(_, e)| match e {
                    Event::Failed(m) => Some(m.clone()),
                    _ => None,
                });
                let state = if last_error.is_some() || events.iter().any(|(_, e)| *e == Event::Eos)
                {
                    InputState::Ended
                } else if self.store.last_media().is_some() {
                    InputState::Live
                } else {
                    InputState::Connecting
                };
                InputStatus {
                    participant: self.participant.clone(),
                    track: self.track,
                    state,
                    retries: 0,
                    last_error,
                    av_offset_ms: None,
                }
            }
        }
    }

    /// The size of the newest decoded frame.
    pub fn frame_size(&self) -> Option<(u32, u32)> {
        self.store.frame_size()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        // Unblock streaming threads waiting in the store before their pipeline goes to Null.
        self.store.close();
        if let Run::Live { stop, thread, .. } = &mut self.run {
            drop(stop.take());
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The live supervisor thread's state.
struct Supervise {
    cfg: InputConfig,
    kind: Kind,
    wiring: Wiring,
    policy: Policy,
    status: Arc<Mutex<InputStatus>>,
}

impl Supervise {
    fn run(mut self, first: SourcePipeline, stop: mpsc::Receiver<()>) {
        let what = self.wiring.what.clone();
        let mut pipeline = Some(first);
        let mut sup = Supervisor::new(self.policy, self.kind.is_finite(), Instant::now());
        let mut seen_media = None;
        while let Err(mpsc::RecvTimeoutError::Timeout) =
            stop.recv_timeout(Duration::from_millis(100))
        {
            let now = Instant::now();
            let mut actions = Vec::new();
            let media = self.wiring.store.last_media();
            if media.is_some() && media != seen_media {
                seen_media = media;
                actions.push(sup.step(now, Event::Media));
            }
            let events: Vec<_> =
                std::mem::take(&mut *self.wiring.events.lock().unwrap_or_else(|e| e.into_inner()));
            for (generation, event) in events {
                if generation == self.wiring.generation {
                    actions.push(sup.step(now, event));
                }
            }
            actions.push(sup.step(now, Event::Tick));
            for action in actions {
                match action {
                    Action::Keep => {}
                    Action::Teardown => {
                        tracing::warn!(
                            input = %what,
                            cause = sup.last_error().unwrap_or(""),
                            retry_in = ?sup.retry_at().map(|at| at.saturating_duration_since(now)),
                            "input lost; retrying"
                        );
                        pipeline = None;
                    }
                    Action::Rebuild => {
                        pipeline = None;
                        self.wiring.generation = self.wiring.store.next_generation();
                        tracing::info!(input = %what, retries = sup.retries(), "reconnecting");
                        match SourcePipeline::start(&self.cfg, &self.kind, self.wiring.clone()) {
                            Ok(p) => pipeline = Some(p),
                            Err(e) => {
                                sup.step(now, Event::Failed(error_chain(&e)));
                            }
                        }
                    }
                }
            }
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            if status.state != sup.state() {
                tracing::info!(input = %what, from = ?status.state, to = ?sup.state(), "input state");
            }
            status.state = sup.state();
            status.retries = sup.retries();
            status.last_error = sup.last_error().map(str::to_string);
        }
        drop(pipeline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_frames_can_move_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Input>();
        send_sync::<VideoFrame>();
    }
}
