//! The encode side: composed frames in, one H.264 and one AAC encode, muxed to fragmented MP4.
//!
//! ```text
//! appsrc (RGBA frames) ─► videoconvert ─► x264enc ─► h264parse ─► queue ─┐
//!                                                                         ├─► mp4mux (fragmented) ─► filesink <path>.part
//! audiotestsrc (silence, sets the duration) ─┐                            │
//! audiotestsrc (tone per test participant) ──┴► audiomixer ─► avenc_aac ─┘
//! ```
//!
//! The MP4 is fragmented so a crash still leaves a playable file; it is written to `<path>.part`
//! and renamed only after the muxer has finalised it, so a file at `path` is always complete.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::MediaError;
use crate::gst_util::{bus_error, by_name, format_error, launch};

/// What the encoder needs to know.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_bitrate_kbps: u32,
    pub audio_bitrate_kbps: u32,
    /// Total length; audio sources stop here.
    pub duration_secs: f64,
    /// Sine tones mixed into the audio (one per `test:` audio track).
    pub tones_hz: Vec<f64>,
    pub mp4_path: PathBuf,
}

/// The running encode pipeline.
pub struct Output {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    fps: u32,
    frames: u64,
    part_path: PathBuf,
    final_path: PathBuf,
}

/// Audio is produced in 10 ms buffers, so durations are honoured to 10 ms.
const AUDIO_BUFFER_SAMPLES: u64 = 480;

/// The `.part` path an output is written to until it is complete.
pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

impl Output {
    pub fn start(cfg: &OutputConfig) -> Result<Self, MediaError> {
        let part = part_path(&cfg.mp4_path);
        // Fail fast on an unwritable destination, before any work is done.
        std::fs::File::create(&part).map_err(|e| MediaError::Output {
            path: cfg.mp4_path.clone(),
            message: format!("cannot write {}: {e}", part.display()),
        })?;
        let audio_buffers =
            ((cfg.duration_secs * 48_000.0) / AUDIO_BUFFER_SAMPLES as f64).round() as u64;
        let audio_src = |wave: &str, freq: f64, volume: f64| {
            format!(
                "audiotestsrc is-live=false wave={wave} freq={freq} volume={volume} \
                   samplesperbuffer={AUDIO_BUFFER_SAMPLES} num-buffers={audio_buffers} \
                 ! audio/x-raw,rate=48000,channels=2 ! amix. "
            )
        };
        let mut desc = format!(
            "appsrc name=video format=time is-live=false block=true max-bytes={max_bytes} \
             ! videoconvert ! video/x-raw,format=I420 \
             ! x264enc speed-preset=veryfast bitrate={vb} key-int-max={gop} \
             ! video/x-h264,profile=high ! h264parse ! queue ! mux. \
             audiomixer name=amix ! audioconvert ! audioresample \
               ! audio/x-raw,rate=48000,channels=2 ! avenc_aac bitrate={ab} ! aacparse ! queue ! mux. \
             mp4mux name=mux fragment-duration=1000 ! filesink name=file ",
            max_bytes = cfg.width as u64 * cfg.height as u64 * 4 * 4,
            vb = cfg.video_bitrate_kbps,
            gop = cfg.fps * 2,
            ab = cfg.audio_bitrate_kbps * 1000,
        );
        desc.push_str(&audio_src("silence", 440.0, 0.0));
        // Mixed tones add up; keep the sum well clear of clipping.
        let volume = 0.5 / cfg.tones_hz.len().max(1) as f64;
        for &hz in &cfg.tones_hz {
            desc.push_str(&audio_src("sine", hz, volume));
        }
        let pipeline = launch(&desc, "output")?;
        by_name(&pipeline, "file")?.set_property("location", part.to_string_lossy().as_ref());
        let appsrc = by_name(&pipeline, "video")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| MediaError::Build {
                what: "output".into(),
                message: "video source is not an appsrc".into(),
            })?;
        let info =
            gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgba, cfg.width, cfg.height)
                .fps(gst::Fraction::new(cfg.fps as i32, 1))
                .build()
                .map_err(|e| MediaError::Build {
                    what: "output caps".into(),
                    message: e.to_string(),
                })?;
        let caps = info.to_caps().map_err(|e| MediaError::Build {
            what: "output caps".into(),
            message: e.to_string(),
        })?;
        appsrc.set_caps(Some(&caps));
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| MediaError::State {
                what: "output".into(),
                message: format!("{e}: {}", bus_error(&pipeline).unwrap_or_default()),
            })?;
        Ok(Self {
            pipeline,
            appsrc,
            fps: cfg.fps,
            frames: 0,
            part_path: part,
            final_path: cfg.mp4_path.clone(),
        })
    }

    /// Pushes the next composed frame (RGBA, tightly packed).
    pub fn push_frame(&mut self, rgba: Vec<u8>) -> Result<(), MediaError> {
        if let Some(err) = bus_error(&self.pipeline) {
            return Err(MediaError::Runtime {
                what: "output".into(),
                message: err,
            });
        }
        let pts = frame_time(self.frames, self.fps);
        let next = frame_time(self.frames + 1, self.fps);
        let mut buffer = gst::Buffer::from_mut_slice(rgba);
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(pts);
            b.set_duration(next - pts);
        }
        self.appsrc
            .push_buffer(buffer)
            .map_err(|e| MediaError::Runtime {
                what: "output".into(),
                message: format!(
                    "encoder refused a frame: {e:?}; {}",
                    bus_error(&self.pipeline).unwrap_or_default()
                ),
            })?;
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Sends EOS, waits for the muxer to finalise the file, then moves it into place.
    pub fn finish(self) -> Result<PathBuf, MediaError> {
        let _ = self.appsrc.end_of_stream();
        let bus = self.pipeline.bus().expect("pipelines have a bus");
        // Generous: finishing only flushes the encoder and writes the index.
        let deadline = gst::ClockTime::from_seconds(120);
        let result = match bus
            .timed_pop_filtered(deadline, &[gst::MessageType::Eos, gst::MessageType::Error])
        {
            Some(msg) => match msg.view() {
                gst::MessageView::Eos(_) => Ok(()),
                gst::MessageView::Error(e) => Err(format_error(e)),
                _ => unreachable!("filtered"),
            },
            None => Err("timed out waiting for the muxer to finish".into()),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        match result {
            Ok(()) => {
                std::fs::rename(&self.part_path, &self.final_path).map_err(|e| {
                    MediaError::Output {
                        path: self.final_path.clone(),
                        message: format!(
                            "cannot move finished {} into place: {e}",
                            self.part_path.display()
                        ),
                    }
                })?;
                Ok(self.final_path.clone())
            }
            Err(message) => Err(MediaError::Runtime {
                what: "output".into(),
                message: format!(
                    "{message}; what was recorded is kept in {}",
                    self.part_path.display()
                ),
            }),
        }
    }

    /// The path being written while recording.
    pub fn part_path(&self) -> &Path {
        &self.part_path
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Presentation time of frame `n` at `fps`, exact to the nanosecond (no drift over long runs).
pub fn frame_time(n: u64, fps: u32) -> gst::ClockTime {
    gst::ClockTime::from_nseconds((n as u128 * 1_000_000_000u128 / fps as u128) as u64)
}

/// How long a recording of `frames` frames is.
pub fn frames_duration(frames: u64, fps: u32) -> Duration {
    Duration::from_nanos(frame_time(frames, fps).nseconds())
}
