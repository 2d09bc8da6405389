//! Real video in the preview: one input per `--participant name=URI`, the same `vcs_media`
//! inputs a recording reads (video only: the preview plays no sound).
//!
//! The inputs are live (real time, as a live recording reads them): they keep running while the
//! page pauses, steps or seeks the composition's timeline, so the picture freezes on pause and
//! shows the input as it is now on play, as a call's camera would. A file input starts again
//! from its beginning when it ends, so a long preview session keeps showing it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use vcs_job::control::{InputState, TrackKind};
use vcs_media::input::uri::redact;
use vcs_media::input::{Input, InputConfig, VideoFrame};

use super::participants::{Participant, RealSizes};

/// How long the preview waits at start for each input's first frame (or its error) before it
/// starts without it: a loaded machine can take seconds to start a decoder.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(30);
/// How often the start-up wait looks at the inputs.
const POLL: Duration = Duration::from_millis(20);
/// How long after a failed restart of an ended input it is tried again.
const RESTART_AGAIN: Duration = Duration::from_secs(2);

/// One participant's running input.
struct RealInput {
    /// The participant's id, which is its video layer's id.
    id: String,
    config: InputConfig,
    input: Input,
    /// When `input` started: it counts its own time from 0.
    started: Instant,
    /// The last frame shown, kept while a looping file's next run starts.
    last: Option<VideoFrame>,
    /// No restart is tried before this (after one failed).
    restart_after: Instant,
}

/// The running inputs by participant id.
#[derive(Default)]
pub struct RealVideo {
    inputs: Vec<RealInput>,
}

impl RealVideo {
    /// Starts an input for each participant (`--participant` flags, in order: a bare `test:`
    /// picks its colour from the position) and waits for their first frames. A URI that cannot
    /// be understood or played fails here, naming the flag.
    pub fn start(participants: &[vcs_job::Participant]) -> anyhow::Result<RealVideo> {
        let mut inputs = Vec::with_capacity(participants.len());
        for (index, p) in participants.iter().enumerate() {
            let uri = p.camera.clone().unwrap_or_default();
            let flag = format!("--participant {}={}", p.id, redact(&uri));
            let config = InputConfig {
                participant: p.id.clone(),
                display_name: p.name().to_string(),
                index,
                track: TrackKind::Camera,
                uri,
                live: true,
                video: true,
                audio: false,
            };
            let input = Input::start(config.clone()).with_context(|| flag.clone())?;
            inputs.push(RealInput {
                id: p.id.clone(),
                config,
                input,
                started: Instant::now(),
                last: None,
                restart_after: Instant::now(),
            });
        }
        let mut video = RealVideo { inputs };
        video.wait_for_first_frames()?;
        Ok(video)
    }

    /// Waits until every input has shown a frame; an input that fails before its first frame
    /// (a file that is not media, a source that cannot start) is an error naming its flag.
    fn wait_for_first_frames(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + FIRST_FRAME_WAIT;
        let mut waiting: Vec<usize> = (0..self.inputs.len()).collect();
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for i in waiting {
                let real = &mut self.inputs[i];
                if let Some(frame) = real.input.video(real.started.elapsed()) {
                    real.last = Some(frame);
                    continue;
                }
                let status = real.input.status();
                if let Some(error) = status.last_error {
                    anyhow::bail!(
                        "--participant {}={}: {error}",
                        real.id,
                        redact(&real.config.uri)
                    );
                }
                if status.state == InputState::Ended {
                    anyhow::bail!(
                        "--participant {}={}: the source ended without a video frame; give a \
                         URI with video",
                        real.id,
                        redact(&real.config.uri)
                    );
                }
                still.push(i);
            }
            waiting = still;
            if waiting.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                for &i in &waiting {
                    tracing::warn!(
                        participant = %self.inputs[i].id,
                        "no video yet; the preview starts with a placeholder for it"
                    );
                }
                break;
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    /// Whether `id` is a participant with a real input.
    pub fn has(&self, id: &str) -> bool {
        self.inputs.iter().any(|r| r.id == id)
    }

    /// The sizes of the real participants' `frames` (`None` for one without a frame yet).
    pub fn sizes(
        &self,
        participants: &[Participant],
        frames: &BTreeMap<String, VideoFrame>,
    ) -> RealSizes {
        participants
            .iter()
            .filter(|p| self.has(&p.id))
            .map(|p| {
                let size = frames.get(&p.id).map(|f| (f.width, f.height));
                (p.id.clone(), size)
            })
            .collect()
    }

    /// Each input's frame now, by participant id (none for an input without a frame yet). A
    /// file input that ended starts again; its last frame shows until the new run's first.
    pub fn frames(&mut self) -> BTreeMap<String, VideoFrame> {
        let mut out = BTreeMap::new();
        for real in &mut self.inputs {
            let t = real.started.elapsed();
            if real.input.video_over(t) && Instant::now() >= real.restart_after {
                restart(real);
            }
            let t = real.started.elapsed();
            if let Some(frame) = real.input.video(t) {
                real.last = Some(frame);
            }
            if let Some(frame) = &real.last {
                out.insert(real.id.clone(), frame.clone());
            }
        }
        out
    }
}

/// Starts a finished input again from its beginning (a file played to its end); when that fails
/// the old one stays (showing its last frame) and is tried again on a later frame.
fn restart(real: &mut RealInput) {
    match Input::start(real.config.clone()) {
        Ok(input) => {
            real.input = input;
            real.started = Instant::now();
        }
        Err(e) => {
            tracing::warn!(participant = %real.id, error = %e, "cannot start the input again");
            real.restart_after = Instant::now() + RESTART_AGAIN;
        }
    }
}
