//! The participants' input tracks while recording: started from the job, changed live (join,
//! leave, new track URIs), read once per output frame into the composition's video slots, the
//! compositor's frames and the audio mix.

use std::collections::BTreeMap;
use std::time::Duration;

use vcs_job::Participant;
use vcs_job::control::{InputState, InputStatus, TrackKind};
use vcs_media::input::{Input, InputConfig, VideoFrame};

use super::RecordError;
use super::audio::{dbfs, mix_in};
use vcs_engine::{VideoInputSlot, VideoKind};

/// One participant's running tracks. A URI shared by camera and audio (`alice=test:red`) runs
/// as one input that decodes both.
struct Tracks {
    participant: Participant,
    index: usize,
    camera: Option<Input>,
    screenshare: Option<Input>,
    /// Audio from its own URI; `None` when it comes from the camera input or there is none.
    audio: Option<Input>,
    audio_from_camera: bool,
    /// Recording time at which these tracks started: inputs count their own time from 0.
    started_at: Duration,
}

/// What one frame read from the inputs.
pub struct FrameInputs {
    /// Slots for the composition, cameras then screenshares, in participant order.
    pub slots: Vec<VideoInputSlot>,
    /// The frame each video layer id shows (`alice`, `alice-screen`).
    pub frames: BTreeMap<String, VideoFrame>,
    /// Participants with audio but no video, for the composition's room peers.
    pub audio_only: Vec<(String, String)>,
}

/// Every participant's tracks.
pub struct Participants {
    live: bool,
    tracks: Vec<Tracks>,
    scratch: Vec<f32>,
}

/// The video layer id a participant's screenshare is shown under.
pub fn screenshare_id(participant: &str) -> String {
    format!("{participant}-screen")
}

impl Participants {
    pub fn new(live: bool) -> Self {
        Self {
            live,
            tracks: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Makes the running set match `wanted`: new participants join, missing ones leave, and a
    /// participant whose track URIs changed has those tracks restarted.
    pub fn set(&mut self, wanted: &[Participant], now: Duration) -> Result<(), RecordError> {
        let mut old = std::mem::take(&mut self.tracks);
        let mut next = Vec::with_capacity(wanted.len());
        for (index, p) in wanted.iter().enumerate() {
            let existing = old
                .iter()
                .position(|t| t.participant.id == p.id)
                .map(|i| old.remove(i));
            let tracks = match existing {
                Some(t) if t.participant == *p => Tracks { index, ..t },
                // A changed participant's tracks are restarted: cheap next to patching a
                // running pipeline, and a URI change needs a new source anyway.
                changed => match self.start(index, p, now) {
                    Ok(t) => t,
                    Err(e) => {
                        // Nothing changes when a new track cannot start.
                        next.extend(changed);
                        next.extend(old);
                        self.tracks = next;
                        return Err(e);
                    }
                },
            };
            next.push(tracks);
        }
        // Participants left in `old` have left: dropping them stops their inputs.
        self.tracks = next;
        Ok(())
    }

    fn start(&self, index: usize, p: &Participant, now: Duration) -> Result<Tracks, RecordError> {
        let audio_from_camera = p.audio.is_some() && p.audio == p.camera;
        let input = |track: TrackKind, uri: &str, video: bool, audio: bool| {
            Input::start(InputConfig {
                participant: p.id.clone(),
                display_name: p.name().to_string(),
                index,
                track,
                uri: uri.to_string(),
                live: self.live,
                video,
                audio,
            })
            .map_err(|source| RecordError::Input {
                field: format!("participants[{index}].{}", track_field(track)),
                source: Box::new(source),
            })
        };
        let camera = p
            .camera
            .as_deref()
            .map(|uri| input(TrackKind::Camera, uri, true, audio_from_camera))
            .transpose()?;
        let screenshare = p
            .screenshare
            .as_deref()
            .map(|uri| input(TrackKind::Screenshare, uri, true, false))
            .transpose()?;
        let audio = match (&p.audio, audio_from_camera) {
            (Some(uri), false) => Some(input(TrackKind::Audio, uri, false, true)?),
            _ => None,
        };
        Ok(Tracks {
            participant: p.clone(),
            index,
            camera,
            screenshare,
            audio,
            audio_from_camera,
            started_at: now,
        })
    }

    /// Reads every video track at time `t`.
    pub fn read_video(&mut self, t: Duration, dominant: Option<&str>) -> FrameInputs {
        let mut out = FrameInputs {
            slots: Vec::new(),
            frames: BTreeMap::new(),
            audio_only: Vec::new(),
        };
        let mut screens = Vec::new();
        for tr in &mut self.tracks {
            let p = &tr.participant;
            let is_dominant = dominant == Some(p.id.as_str());
            for (input, kind) in [
                (&mut tr.camera, VideoKind::Camera),
                (&mut tr.screenshare, VideoKind::Screenshare),
            ] {
                let Some(input) = input else { continue };
                let id = match kind {
                    VideoKind::Camera => p.id.clone(),
                    VideoKind::Screenshare => screenshare_id(&p.id),
                };
                let local_t = t.saturating_sub(tr.started_at);
                let frame = input.video(local_t);
                // Paused until media flows; a stalled input shows as paused (placeholder) while
                // it is retried, then comes back by itself; a file past its end stays paused.
                let paused = frame.is_none()
                    || input.video_over(local_t)
                    || matches!(
                        input.status().state,
                        InputState::Connecting | InputState::Stalled
                    );
                let slot = VideoInputSlot {
                    id: id.clone(),
                    kind,
                    display_name: p.name().to_string(),
                    paused,
                    dominant: is_dominant && kind == VideoKind::Camera,
                    frame_size: input.frame_size().unwrap_or((0, 0)),
                };
                if let Some(f) = frame
                    && !paused
                {
                    out.frames.insert(id, f);
                }
                match kind {
                    VideoKind::Camera => out.slots.push(slot),
                    VideoKind::Screenshare => screens.push(slot),
                }
            }
            if tr.camera.is_none() && tr.screenshare.is_none() && tr.audio.is_some() {
                out.audio_only.push((p.id.clone(), p.name().to_string()));
            }
        }
        out.slots.extend(screens);
        out
    }

    /// Mixes every audio track for `[t, t + mix.len()/2 samples)` into `mix` (which the caller
    /// zeroed) and returns each participant's level in dBFS.
    pub fn mix_audio(&mut self, t: Duration, mix: &mut [f32]) -> Vec<(String, f32)> {
        self.scratch.resize(mix.len(), 0.0);
        let mut levels = Vec::new();
        for tr in &mut self.tracks {
            let input = if tr.audio_from_camera {
                tr.camera.as_mut()
            } else {
                tr.audio.as_mut()
            };
            let Some(input) = input else { continue };
            self.scratch.fill(0.0);
            input.audio(t.saturating_sub(tr.started_at), &mut self.scratch);
            let rms = mix_in(mix, &self.scratch);
            levels.push((tr.participant.id.clone(), dbfs(rms)));
        }
        levels
    }

    /// Each track's state, for the status API.
    pub fn status(&self) -> Vec<InputStatus> {
        let mut out = Vec::new();
        for tr in &self.tracks {
            for (input, track) in [
                (&tr.camera, TrackKind::Camera),
                (&tr.screenshare, TrackKind::Screenshare),
                (&tr.audio, TrackKind::Audio),
            ] {
                if let Some(input) = input {
                    let mut s = input.status();
                    s.participant = tr.participant.id.clone();
                    s.track = track;
                    out.push(s);
                }
            }
        }
        out
    }

    /// The participant order the job gave (for diagnostics).
    pub fn ids(&self) -> Vec<(usize, &str)> {
        self.tracks
            .iter()
            .map(|t| (t.index, t.participant.id.as_str()))
            .collect()
    }
}

/// The job-spec field name of a track.
pub fn track_field(track: TrackKind) -> &'static str {
    match track {
        TrackKind::Camera => "camera",
        TrackKind::Screenshare => "screenshare",
        TrackKind::Audio => "audio",
    }
}
