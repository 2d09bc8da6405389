//! The one encode: composed I420 frames (or RGBA, converted in `push`) and mixed f32 audio in,
//! one H.264 and one AAC stream out to every output.
//!
//! ```text
//! I420 (push_i420, or push: RGBA ─► I420) ─► appsrc video ─► x264enc ─► h264parse ─► appsink h264 ─┐
//!                                                                                         ├─► Fanout ─► outputs
//! appsrc audio (F32 stereo 48 kHz) ─► audioconvert ─► AAC enc ─► aacparse ─► appsink aac ─────────────┘
//! ```
//!
//! Timestamps come from the frame number and the sample count, never from a clock, so audio and
//! video stay in sync by construction and a render runs as fast as the machine allows. The
//! appsrcs block when the encoder is behind: that is the back-pressure `push` applies.
//! x264 runs without B-frames (`tune=zerolatency`) so DTS = PTS, which keeps re-timestamping an
//! output that starts mid-recording trivial. Keyframes come exactly every 2 s (`scenecut=0`), so
//! HLS segments and RTMP restarts line up, plus one forced whenever an output (re)starts.
//! The AAC encoder (`avenc_aac`, else `voaacenc`: see [`crate::aac`]) primes with a fixed number of
//! samples; they are taken out in the fan-out (see `outputs`), so audio lines
//! up with video to the sample in every output (tested by decoding flashes and beeps).

use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_audio as gst_audio;
use gstreamer_video as gst_video;

use crate::MediaError;
use crate::frame_pool::FramePool;
use crate::gst_util::{bus_error, by_name, format_error, launch, play};
use crate::i420::I420;
use crate::outputs::{
    Fanout, KeyframeRequest, OutputEvent, OutputHandle, OutputProgress, OutputSummary, OutputTarget,
};

/// Audio sample rate of the recording (stereo, interleaved f32).
pub const AUDIO_RATE: u32 = 48_000;

/// How the one encode is set up.
#[derive(Clone, Debug)]
pub struct EncoderConfig {
    /// Even (4:2:0 chroma).
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_bitrate_kbps: u32,
    pub audio_bitrate_kbps: u32,
}

/// The running encode and its outputs. Dropping it without [`Encoder::finish`] stops the encode
/// and still finalises each output with what it has.
pub struct Encoder {
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    cfg: EncoderConfig,
    /// Composed RGBA frames, handed out again once converted.
    frames: FramePool,
    i420: I420,
    /// I420 frames, back from GStreamer once encoded.
    i420_frames: FramePool,
    fanout: Arc<Fanout>,
    outputs: Vec<OutputHandle>,
    events: (
        async_channel::Sender<OutputEvent>,
        async_channel::Receiver<OutputEvent>,
    ),
    keyframe: KeyframeRequest,
    /// The next frame number `push` expects (frames may be skipped, never repeated).
    next_frame: u64,
    /// The first audio sample not yet pushed.
    next_sample: u64,
}

impl Encoder {
    /// Starts the encode and every output. Fails fast on an unwritable path, a bad URL or a
    /// duplicate output name, before any frame is pushed.
    pub fn start(cfg: EncoderConfig, outputs: Vec<OutputTarget>) -> Result<Encoder, MediaError> {
        crate::init()?;
        let i420 = check_config(&cfg)?;
        let aac = crate::aac::AacEncoder::find()?;
        let (pipeline, video, audio) = launch_encode(&cfg, &i420, aac.factory)?;
        let fanout = Arc::new(Fanout::new(aac.priming()));
        let keyframe = feed_fanout(&pipeline, &fanout)?;
        let mut encoder = Encoder {
            pipeline,
            video,
            audio,
            frames: FramePool::new(cfg.width as usize * cfg.height as usize * 4),
            i420_frames: FramePool::new(i420.frame_len()),
            i420,
            cfg,
            fanout,
            outputs: Vec::new(),
            events: async_channel::unbounded(),
            keyframe,
            next_frame: 0,
            next_sample: 0,
        };
        for target in outputs {
            encoder.add_output(target)?;
        }
        play(&encoder.pipeline, "encoder")?;
        tracing::info!(
            width = encoder.cfg.width,
            height = encoder.cfg.height,
            fps = encoder.cfg.fps,
            outputs = encoder.outputs.len(),
            "encoder started"
        );
        Ok(encoder)
    }

    /// A buffer for the next frame (RGBA8, tightly packed, this encode's size), recycled from
    /// frames already encoded; its contents are stale, so the caller writes every byte.
    pub fn frame_buffer(&self) -> Vec<u8> {
        self.frames.take()
    }

    /// Frame `n` of the recording: RGBA8, tightly packed; `audio` is interleaved stereo f32 at
    /// 48 kHz covering `[n/fps, (n+1)/fps)`, i.e. [`audio_samples_for_frame`]`(n, fps)` samples
    /// per channel. Video PTS is `n/fps`; audio continues from the samples pushed so far (and
    /// jumps ahead to `n/fps` when frames were skipped), so A/V stay in sync by construction.
    /// Blocks while the encoder is behind.
    pub fn push(&mut self, n: u64, rgba: Vec<u8>, audio: &[f32]) -> Result<(), MediaError> {
        let expected = self.cfg.width as usize * self.cfg.height as usize * 4;
        if rgba.len() != expected {
            return Err(self.runtime(format!(
                "frame {n} is {} bytes; {}x{} RGBA needs {expected}",
                rgba.len(),
                self.cfg.width,
                self.cfg.height
            )));
        }
        let mut yuv = self.i420_frames.take();
        self.i420
            .convert(&rgba, &mut yuv)
            .map_err(|e| self.runtime(format!("frame {n}: {e}")))?;
        self.frames.give_back(rgba);
        self.push_i420(n, yuv, audio)
    }

    /// Where the planes of the I420 frames [`push_i420`](Self::push_i420) takes lie: byte
    /// offsets and strides of Y, U, V (GStreamer's default layout for this size).
    pub fn i420_layout(&self) -> ([usize; 3], [usize; 3]) {
        let info = &self.i420.info;
        let strides = [0, 1, 2].map(|i| info.stride()[i] as usize);
        let offsets = [0, 1, 2].map(|i| info.offset()[i]);
        (offsets, strides)
    }

    /// A buffer for the next I420 frame ([`i420_layout`](Self::i420_layout)), recycled from
    /// frames already encoded; its contents are stale, so the caller writes every byte.
    pub fn i420_buffer(&self) -> Vec<u8> {
        self.i420_frames.take()
    }

    /// As [`push`](Self::push) with a frame already in I420, in this encode's colorimetry
    /// (BT.709 from 720 lines up, BT.601 below, limited range): what the compositor writes.
    pub fn push_i420(&mut self, n: u64, yuv: Vec<u8>, audio: &[f32]) -> Result<(), MediaError> {
        if let Some(err) = bus_error(&self.pipeline) {
            return Err(self.runtime(err));
        }
        if yuv.len() != self.i420.frame_len() {
            return Err(self.runtime(format!(
                "frame {n} is {} bytes; {}x{} I420 needs {}",
                yuv.len(),
                self.cfg.width,
                self.cfg.height,
                self.i420.frame_len()
            )));
        }
        if n < self.next_frame {
            return Err(self.runtime(format!(
                "frame {n} pushed after frame {}; frames must move forward",
                self.next_frame - 1
            )));
        }
        if !audio.len().is_multiple_of(2) {
            return Err(self.runtime(format!(
                "frame {n}: {} audio values is not whole stereo samples",
                audio.len()
            )));
        }
        let fps = self.cfg.fps;
        let pts = frame_time(n, fps);
        let mut buffer = gst::Buffer::from_mut_slice(self.i420_frames.wrap(yuv));
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(pts);
            b.set_duration(frame_time(n + 1, fps) - pts);
        }
        self.video
            .push_buffer(buffer)
            .map_err(|source| MediaError::Refused {
                what: "encoder".into(),
                item: format!("frame {n}"),
                source,
            })?;
        self.next_frame = n + 1;

        if !audio.is_empty() {
            let start = self.next_sample.max(sample_index(n, fps));
            let samples = audio.len() as u64 / 2;
            let bytes: Vec<u8> = audio.iter().flat_map(|s| s.to_le_bytes()).collect();
            let mut buffer = gst::Buffer::from_mut_slice(bytes);
            {
                let b = buffer.get_mut().expect("fresh buffer is writable");
                let pts = sample_time(start);
                b.set_pts(pts);
                b.set_duration(sample_time(start + samples) - pts);
            }
            self.audio
                .push_buffer(buffer)
                .map_err(|source| MediaError::Refused {
                    what: "encoder".into(),
                    item: format!("audio of frame {n}"),
                    source,
                })?;
            self.next_sample = start + samples;
        }
        Ok(())
    }

    /// Adds an output mid-recording (or before the first frame). It starts at the next
    /// keyframe, which is forced, so its timestamps start near 0.
    pub fn add_output(&mut self, target: OutputTarget) -> Result<(), MediaError> {
        if self.outputs.iter().any(|o| o.name() == target.name) {
            return Err(MediaError::Build {
                what: format!("output {}", target.name),
                message: "an output with this name already exists; names must be unique".into(),
            });
        }
        let handle = OutputHandle::start(
            target,
            &self.fanout,
            self.events.0.clone(),
            self.keyframe.clone(),
        )?;
        self.outputs.push(handle);
        Ok(())
    }

    /// Finalises one output (EOS through its muxer, files moved into place) while the others
    /// keep recording.
    pub fn remove_output(&mut self, name: &str) -> Result<OutputSummary, MediaError> {
        let Some(i) = self.outputs.iter().position(|o| o.name() == name) else {
            let names: Vec<&str> = self.outputs.iter().map(|o| o.name()).collect();
            return Err(MediaError::Runtime {
                what: format!("output {name}"),
                message: format!("no such output; outputs are: {}", names.join(", ")),
            });
        };
        Ok(self.outputs.remove(i).finish(&self.fanout))
    }

    /// Progress of every output, in the order they were added.
    pub fn status(&self) -> Vec<OutputProgress> {
        self.outputs.iter().map(|o| o.slot.progress()).collect()
    }

    /// Events for the uploader (segments closed, playlist rewritten, files finished). Every
    /// receiver sees each event once between them (a channel, not a broadcast); unread events
    /// queue without bound, and there are only a few per segment.
    pub fn events(&self) -> async_channel::Receiver<OutputEvent> {
        self.events.1.clone()
    }

    /// EOS through the encoder and then every output; each muxer is finalised and its files
    /// moved into place. Outputs that failed are reported as `Failed` with their last error;
    /// an error is returned only when the encoder itself failed (the outputs are still
    /// finalised with what they got).
    pub fn finish(mut self) -> Result<Vec<OutputSummary>, MediaError> {
        let _ = self.video.end_of_stream();
        let _ = self.audio.end_of_stream();
        let bus = self.pipeline.bus().expect("pipelines have a bus");
        // Flushing x264 and the AAC encoder takes well under a second; a minute is stuck.
        let encoded = match bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(msg) => match msg.view() {
                gst::MessageView::Error(e) => Err(format_error(e)),
                _ => Ok(()),
            },
            None => Err("timed out waiting for the encoders to flush".into()),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        let outputs = std::mem::take(&mut self.outputs);
        for o in &outputs {
            o.request_finish();
        }
        let summaries: Vec<OutputSummary> = outputs
            .into_iter()
            .map(|o| o.finish(&self.fanout))
            .collect();
        tracing::info!(
            frames = self.next_frame,
            outputs = summaries.len(),
            "encoder finished"
        );
        encoded.map_err(|message| self.runtime(message))?;
        Ok(summaries)
    }

    fn runtime(&self, message: String) -> MediaError {
        MediaError::Runtime {
            what: "encoder".into(),
            message,
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        for o in std::mem::take(&mut self.outputs) {
            o.finish(&self.fanout);
        }
    }
}

/// The encode can take this configuration: even, non-zero sides and a frame rate. Returns the
/// RGBA → I420 converter for its size.
fn check_config(cfg: &EncoderConfig) -> Result<I420, MediaError> {
    let build_err = |message: String| MediaError::Build {
        what: "encoder".into(),
        message,
    };
    if cfg.width == 0
        || cfg.height == 0
        || !cfg.width.is_multiple_of(2)
        || !cfg.height.is_multiple_of(2)
    {
        return Err(build_err(format!(
            "frame size {}x{} must be non-zero and even",
            cfg.width, cfg.height
        )));
    }
    if cfg.fps == 0 {
        return Err(build_err("fps must be at least 1".into()));
    }
    I420::new(cfg.width, cfg.height).map_err(build_err)
}

/// The encode pipeline (see the module's diagram), not yet playing, with its two appsrcs
/// (video, audio) set to the caps they will be fed.
fn launch_encode(
    cfg: &EncoderConfig,
    i420: &I420,
    aac_factory: &str,
) -> Result<(gst::Pipeline, gst_app::AppSrc, gst_app::AppSrc), MediaError> {
    let caps_err = |source: gst::glib::BoolError| MediaError::Wiring {
        what: "encoder caps".into(),
        source: source.into(),
    };
    // `trellis=false`: x264's veryfast preset has trellis off, but GStreamer's x264enc turns it on
    // whatever the preset says; it cost a sixth of the encode on real video for no visible gain,
    // and ffmpeg's `-preset veryfast` (what we are compared with) leaves it off.
    let desc = format!(
        "appsrc name=video format=time block=true max-bytes={video_queue} \
           ! x264enc speed-preset=veryfast tune=zerolatency bitrate={vb} key-int-max={gop} \
             trellis=false option-string=scenecut=0 \
           ! video/x-h264,profile=high ! h264parse \
           ! video/x-h264,stream-format=avc,alignment=au \
           ! appsink name=h264 sync=false \
         appsrc name=audio format=time block=true max-bytes={audio_queue} \
           ! audioconvert ! {aac_factory} bitrate={ab} ! aacparse \
           ! audio/mpeg,stream-format=raw ! appsink name=aac sync=false",
        // Two frames queued: enough to keep x264 busy, little memory at 1080p.
        video_queue = 2 * i420.frame_len() as u64,
        // 1 s of audio: never the limit while video keeps up.
        audio_queue = AUDIO_RATE as u64 * 2 * 4,
        vb = cfg.video_bitrate_kbps,
        gop = cfg.fps * 2,
        ab = cfg.audio_bitrate_kbps * 1000,
    );
    let pipeline = launch(&desc, "encoder")?;
    let video = crate::outputs::appsrc(&pipeline, "video")?;
    let audio = crate::outputs::appsrc(&pipeline, "audio")?;
    let vinfo = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, cfg.width, cfg.height)
        .colorimetry(&i420.info.colorimetry())
        .fps(gst::Fraction::new(cfg.fps as i32, 1))
        .build()
        .map_err(caps_err)?;
    video.set_caps(Some(&vinfo.to_caps().map_err(caps_err)?));
    let ainfo = gst_audio::AudioInfo::builder(gst_audio::AudioFormat::F32le, AUDIO_RATE, 2)
        .build()
        .map_err(caps_err)?;
    audio.set_caps(Some(&ainfo.to_caps().map_err(caps_err)?));
    Ok((pipeline, video, audio))
}

/// Hands every encoded H.264 and AAC buffer to `fanout`, and returns how outputs ask the
/// encoder for a keyframe (an upstream force-key-unit event from the H.264 appsink).
fn feed_fanout(
    pipeline: &gst::Pipeline,
    fanout: &Arc<Fanout>,
) -> Result<KeyframeRequest, MediaError> {
    let h264 = appsink(pipeline, "h264")?;
    let aac = appsink(pipeline, "aac")?;
    for (sink, is_video) in [(&h264, true), (&aac, false)] {
        let fanout = fanout.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if is_video {
                        fanout.video(&sample);
                    } else {
                        fanout.audio(&sample);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }
    // Weak: the appsink's callbacks own the fan-out, which owns this request.
    let weak = h264.downgrade();
    Ok(Arc::new(move || {
        if let Some(sink) = weak.upgrade() {
            let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build();
            sink.send_event(event);
        }
    }))
}

fn appsink(pipeline: &gst::Pipeline, name: &str) -> Result<gst_app::AppSink, MediaError> {
    by_name(pipeline, name)?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| MediaError::Build {
            what: name.to_string(),
            message: "is not an appsink".into(),
        })
}

/// Presentation time of frame `n` at `fps`, exact to the nanosecond (no drift over long runs).
pub fn frame_time(n: u64, fps: u32) -> gst::ClockTime {
    gst::ClockTime::from_nseconds((n as u128 * 1_000_000_000u128 / fps as u128) as u64)
}

/// How long a recording of `frames` frames is.
pub fn frames_duration(frames: u64, fps: u32) -> Duration {
    Duration::from_nanos(frame_time(frames, fps).nseconds())
}

/// The audio sample (per channel) at which frame `n` starts: `round(n * 48000 / fps)`.
pub fn sample_index(n: u64, fps: u32) -> u64 {
    ((2 * n as u128 * AUDIO_RATE as u128 + fps as u128) / (2 * fps as u128)) as u64
}

/// Samples per channel that cover frame `n` exactly; summed over frames they never drift.
pub fn audio_samples_for_frame(n: u64, fps: u32) -> usize {
    (sample_index(n + 1, fps) - sample_index(n, fps)) as usize
}

/// The audio of frame `n` for `test:` participants: their sine tones mixed (interleaved stereo,
/// [`audio_samples_for_frame`] samples), continuous across frames; silence when there are none.
/// What the encoder used to synthesise itself before audio came from the recorder's mix.
pub fn test_tones(n: u64, fps: u32, tones_hz: &[f64]) -> Vec<f32> {
    let start = sample_index(n, fps);
    let count = audio_samples_for_frame(n, fps) as u64;
    // Mixed tones add up; keep the sum well clear of clipping.
    let volume = 0.5 / tones_hz.len().max(1) as f64;
    let mut out = Vec::with_capacity(count as usize * 2);
    for i in start..start + count {
        let t = i as f64 / AUDIO_RATE as f64;
        let v: f64 = tones_hz
            .iter()
            .map(|hz| volume * (std::f64::consts::TAU * hz * t).sin())
            .sum();
        out.extend([v as f32, v as f32]);
    }
    out
}

fn sample_time(sample: u64) -> gst::ClockTime {
    gst::ClockTime::from_nseconds((sample as u128 * 1_000_000_000 / AUDIO_RATE as u128) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_samples_per_frame_add_up_without_drift() {
        for fps in [24, 25, 30, 60, 7] {
            let frames = fps as u64 * 3600;
            let total: u64 = (0..frames)
                .map(|n| audio_samples_for_frame(n, fps) as u64)
                .sum();
            assert_eq!(total, 3600 * AUDIO_RATE as u64, "fps {fps}");
        }
        assert_eq!(audio_samples_for_frame(0, 30), 1600);
    }

    #[test]
    fn test_tones_are_continuous_across_frames_and_never_clip() {
        let a = test_tones(0, 30, &[440.0, 660.0]);
        let b = test_tones(1, 30, &[440.0, 660.0]);
        assert_eq!((a.len(), b.len()), (3200, 3200));
        // The first sample of frame 1 follows the last of frame 0 as one continuous wave would.
        let joined = test_tones(0, 15, &[440.0, 660.0]);
        assert_eq!(&joined[..3200], &a[..]);
        assert_eq!(&joined[3200..], &b[..]);
        assert!(a.iter().chain(&b).all(|s| s.abs() <= 0.5));
        assert!(a.iter().any(|s| s.abs() > 0.1), "audible");
        assert!(test_tones(5, 30, &[]).iter().all(|&s| s == 0.0));
    }

    #[test]
    fn frame_times_are_exact() {
        assert_eq!(frame_time(30, 30), gst::ClockTime::SECOND);
        assert_eq!(frame_time(1, 3).nseconds(), 333_333_333);
        assert_eq!(frames_duration(90, 30), Duration::from_secs(3));
    }
}
