//! The fan-out: every encoded buffer, retimed to running time, to every output's [`Slot`].
//!
//! A slot holds the output's current appsrcs, the keyframe gate (an output starts, and an RTMP
//! output restarts, at a keyframe), the timestamp offset that puts an output added mid-recording
//! near 0, and the audio that goes with the keyframe it starts at (audio encodes ahead of video).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer_app as gst_app;

use vcs_job::control::{OutputKind, OutputState};

use super::{KeyframeRequest, OutputProgress, lock};

/// How long an RTMP output may queue before it drops to the next keyframe rather than hold up
/// the encoder: about 16 s at 4 Mbit/s.
pub(super) const LOSSY_QUEUE_BYTES: u64 = 8 << 20;

/// Audio kept while an output waits for its first keyframe: about 5 s of AAC frames.
const MAX_PENDING_AUDIO: usize = 256;

/// The encoder's side of the outputs: every encoded buffer goes to every slot.
pub(crate) struct Fanout {
    slots: Mutex<Vec<Arc<Slot>>>,
    recent_audio: Arc<AudioHistory>,
    /// The AAC encoder's delay (see [`crate::aac`]).
    aac_priming: gst::ClockTime,
}

/// The last couple of seconds of encoded audio. Audio encodes faster than video, so when an
/// output (re)starts at a keyframe, the audio that goes with that keyframe has usually already
/// gone past; the slot starts from this history instead of a gap.
#[derive(Default)]
pub(crate) struct AudioHistory(Mutex<std::collections::VecDeque<(gst::Buffer, Option<gst::Caps>)>>);

/// About 2 s of AAC frames.
const AUDIO_HISTORY: usize = 96;

impl Fanout {
    pub(crate) fn new(aac_priming: gst::ClockTime) -> Self {
        Fanout {
            slots: Mutex::default(),
            recent_audio: Arc::default(),
            aac_priming,
        }
    }

    pub(crate) fn video(&self, sample: &gst::Sample) {
        self.push(Stream::Video, sample);
    }

    pub(crate) fn audio(&self, sample: &gst::Sample) {
        self.push(Stream::Audio, sample);
    }

    fn push(&self, stream: Stream, sample: &gst::Sample) {
        let Some(mut buffer) = running_time(sample) else {
            return;
        };
        if stream == Stream::Audio {
            // The AAC encoder's output lags its input by its priming samples, and nothing downstream
            // (no MP4 edit list, FLV, TS) takes that into account: move the audio back into
            // place and drop the packet that is only priming.
            let Some(pts) = buffer.pts().and_then(|p| p.checked_sub(self.aac_priming)) else {
                return;
            };
            let b = buffer.make_mut();
            b.set_pts(pts);
            b.set_dts(b.dts().and_then(|d| d.checked_sub(self.aac_priming)));
        }
        let caps = sample.caps_owned();
        if stream == Stream::Audio {
            let mut recent = lock(&self.recent_audio.0);
            recent.push_back((buffer.clone(), caps.clone()));
            if recent.len() > AUDIO_HISTORY {
                recent.pop_front();
            }
        }
        for slot in self.snapshot() {
            slot.push(stream, &buffer, caps.as_ref());
        }
    }

    /// Pushing happens outside the lock: a file output blocking on its queue must not stop the
    /// other stream reaching the muxer it waits for.
    fn snapshot(&self) -> Vec<Arc<Slot>> {
        lock(&self.slots).clone()
    }

    pub(super) fn add(&self, slot: Arc<Slot>) {
        lock(&self.slots).push(slot);
    }

    pub(super) fn remove(&self, slot: &Arc<Slot>) {
        lock(&self.slots).retain(|s| !Arc::ptr_eq(s, slot));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Video,
    Audio,
}

/// Where the fan-out meets one output.
pub(crate) struct Slot {
    pub(super) name: String,
    /// Drop to the next keyframe instead of blocking when the output falls behind (RTMP).
    pub(super) lossy: bool,
    keyframe: KeyframeRequest,
    recent_audio: Arc<AudioHistory>,
    feed: Mutex<Feed>,
    progress: Mutex<OutputProgress>,
    pub(super) bytes: AtomicU64,
}

#[derive(Default)]
struct Feed {
    /// The current pipeline's (video, audio) appsrcs; `None` while (re)connecting or closed.
    srcs: Option<(gst_app::AppSrc, gst_app::AppSrc)>,
    /// Waiting for a keyframe before passing anything on.
    gated: bool,
    /// Encoder time that is 0 in this pipeline (set by its first keyframe).
    offset: Option<gst::ClockTime>,
    video_caps: bool,
    audio_caps: bool,
    /// Media carried by earlier pipelines of this output (RTMP reconnects).
    base: Duration,
    /// Newest audio (encoder time) this pipeline has taken, pending or sent: history and live
    /// delivery overlap, and this drops the repeats.
    last_audio: Option<gst::ClockTime>,
    /// Audio that arrived before the first keyframe, with its caps.
    pending_audio: Vec<(gst::Buffer, Option<gst::Caps>)>,
}

impl Slot {
    pub(super) fn new(
        name: &str,
        kind: OutputKind,
        lossy: bool,
        keyframe: KeyframeRequest,
        fanout: &Fanout,
    ) -> Slot {
        Slot {
            name: name.to_string(),
            lossy,
            keyframe,
            recent_audio: fanout.recent_audio.clone(),
            feed: Mutex::default(),
            progress: Mutex::new(OutputProgress {
                name: name.to_string(),
                kind,
                state: OutputState::Starting,
                bytes: 0,
                duration: Duration::ZERO,
                reconnects: 0,
                last_error: None,
            }),
            bytes: AtomicU64::new(0),
        }
    }

    /// `buffer` is timestamped in running time.
    fn push(&self, stream: Stream, buffer: &gst::Buffer, caps: Option<&gst::Caps>) {
        let Some(pts) = buffer.pts() else {
            return;
        };
        let mut feed = lock(&self.feed);
        let Some((video, audio)) = feed.srcs.clone() else {
            return;
        };
        if stream == Stream::Video
            && self.lossy
            && !feed.gated
            && video.current_level_bytes() > LOSSY_QUEUE_BYTES
        {
            tracing::warn!(output = %self.name, queued = video.current_level_bytes(),
                "output is falling behind; dropping to the next keyframe");
            feed.gated = true;
            (self.keyframe)();
        }
        if feed.gated {
            let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
            match stream {
                Stream::Audio => {
                    // Audio encodes faster than video: what arrives before the first keyframe
                    // may still belong after it, so keep it until the offset is known.
                    if feed.offset.is_none() && feed.last_audio.is_none_or(|l| pts > l) {
                        feed.last_audio = Some(pts);
                        feed.pending_audio.push((buffer.clone(), caps.cloned()));
                        let excess = feed.pending_audio.len().saturating_sub(MAX_PENDING_AUDIO);
                        feed.pending_audio.drain(..excess);
                    }
                    return;
                }
                Stream::Video if !keyframe => return,
                Stream::Video => {
                    feed.gated = false;
                    let offset = *feed.offset.get_or_insert(pts);
                    // Under the lock, so the audio thread cannot overtake these.
                    for (pending, caps) in std::mem::take(&mut feed.pending_audio) {
                        if pending
                            .pts()
                            .is_some_and(|p| starts_after(p, &pending, offset))
                        {
                            self.send(
                                &mut feed,
                                Stream::Audio,
                                &audio,
                                &pending,
                                caps.as_ref(),
                                offset,
                            );
                        }
                    }
                }
            }
        }
        let Some(offset) = feed.offset else {
            return;
        };
        if stream == Stream::Audio {
            if !starts_after(pts, buffer, offset) || feed.last_audio.is_some_and(|l| pts <= l) {
                // Before the keyframe this output starts at, or already taken from history.
                return;
            }
            feed.last_audio = Some(pts);
        }
        let src = if stream == Stream::Video {
            video
        } else {
            audio
        };
        let out = self.prepare(&mut feed, stream, &src, buffer, caps, offset);
        // Pushing happens outside the lock: a file output blocking on its queue must not stop
        // the other stream reaching the muxer it waits for.
        drop(feed);
        self.push_to(&src, stream, out);
    }

    fn send(
        &self,
        feed: &mut Feed,
        stream: Stream,
        src: &gst_app::AppSrc,
        buffer: &gst::Buffer,
        caps: Option<&gst::Caps>,
        offset: gst::ClockTime,
    ) {
        let out = self.prepare(feed, stream, src, buffer, caps, offset);
        self.push_to(src, stream, out);
    }

    /// Sets caps on first use and moves the buffer to this output's timeline.
    fn prepare(
        &self,
        feed: &mut Feed,
        stream: Stream,
        src: &gst_app::AppSrc,
        buffer: &gst::Buffer,
        caps: Option<&gst::Caps>,
        offset: gst::ClockTime,
    ) -> gst::Buffer {
        let caps_set = match stream {
            Stream::Video => &mut feed.video_caps,
            Stream::Audio => &mut feed.audio_caps,
        };
        if !*caps_set {
            src.set_caps(caps);
            *caps_set = true;
        }
        let pts = buffer.pts().unwrap_or(offset).saturating_sub(offset);
        let mut out = buffer.copy();
        {
            let out = out.get_mut().expect("a fresh copy is writable");
            out.set_pts(pts);
            out.set_dts(buffer.dts().map(|dts| dts.saturating_sub(offset)));
        }
        if stream == Stream::Video {
            let end = pts + buffer.duration().unwrap_or(gst::ClockTime::ZERO);
            let mut progress = lock(&self.progress);
            progress.duration = feed.base + Duration::from_nanos(end.nseconds());
        }
        out
    }

    fn push_to(&self, src: &gst_app::AppSrc, stream: Stream, buffer: gst::Buffer) {
        if let Err(err) = src.push_buffer(buffer) {
            // The pipeline is being torn down (EOS, error, reconnect): its bus says why.
            tracing::debug!(output = %self.name, ?err, ?stream, "output refused a buffer");
        }
    }

    pub(super) fn attach(&self, video: gst_app::AppSrc, audio: gst_app::AppSrc) {
        let base = lock(&self.progress).duration;
        let mut feed = lock(&self.feed);
        // Copied under the feed lock: audio fanned out after the copy reaches this feed.
        let pending_audio: Vec<_> = lock(&self.recent_audio.0).iter().cloned().collect();
        *feed = Feed {
            srcs: Some((video, audio)),
            base,
            gated: true,
            last_audio: pending_audio.last().and_then(|(b, _)| b.pts()),
            pending_audio,
            ..Feed::default()
        };
    }

    pub(super) fn detach(&self) -> Option<(gst_app::AppSrc, gst_app::AppSrc)> {
        lock(&self.feed).srcs.take()
    }

    /// Stops feeding and lets the muxer finish what it has.
    pub(super) fn end_of_stream(&self) {
        if let Some((video, audio)) = self.detach() {
            let _ = video.end_of_stream();
            let _ = audio.end_of_stream();
        }
    }

    /// Bytes waiting in the current pipeline's appsrcs.
    pub(super) fn queued_bytes(&self) -> u64 {
        lock(&self.feed).srcs.as_ref().map_or(0, |(v, a)| {
            v.current_level_bytes() + a.current_level_bytes()
        })
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut OutputProgress)) {
        f(&mut lock(&self.progress));
    }

    pub(crate) fn progress(&self) -> OutputProgress {
        let mut progress = lock(&self.progress).clone();
        progress.bytes = self.bytes.load(Ordering::Relaxed);
        progress
    }
}

/// Whether an audio buffer belongs to an output whose timeline starts at `offset`: it starts at
/// or after it, or straddles it by less than half (then it is moved to 0, at most 10.7 ms early,
/// rather than leave a gap muxers would close by moving all audio early).
fn starts_after(pts: gst::ClockTime, buffer: &gst::BufferRef, offset: gst::ClockTime) -> bool {
    let half = buffer.duration().unwrap_or(gst::ClockTime::ZERO) / 2;
    pts + half >= offset
}

/// The sample's buffer with PTS/DTS in running time: x264enc shifts its output 1000 h ahead
/// (room for negative DTS) and says so in the segment, so raw timestamps are not comparable.
fn running_time(sample: &gst::Sample) -> Option<gst::Buffer> {
    let buffer = sample.buffer()?;
    let segment = sample.segment();
    let segment = segment
        .as_ref()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>());
    let to_rt = |t: Option<gst::ClockTime>| {
        t.and_then(|t| match segment {
            Some(seg) => seg.to_running_time(t),
            None => Some(t),
        })
    };
    let mut out = buffer.copy();
    {
        let out = out.get_mut().expect("a fresh copy is writable");
        out.set_pts(to_rt(buffer.pts())?);
        out.set_dts(to_rt(buffer.dts()));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use gstreamer::prelude::*;

    use super::*;

    fn buffer(n: u64, keyframe: bool) -> gst::Buffer {
        let mut b = gst::Buffer::with_size(1 << 20).unwrap();
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(n * 33));
            if !keyframe {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        b
    }

    #[test]
    fn a_lossy_output_that_falls_behind_drops_to_the_next_keyframe() {
        gst::init().unwrap();
        // Paused: the sinks preroll and then take nothing, like a connection that stalled.
        let pipeline =
            gst::parse::launch("appsrc name=video ! fakesink appsrc name=audio ! fakesink")
                .unwrap()
                .downcast::<gst::Pipeline>()
                .unwrap();
        let video = crate::outputs::appsrc(&pipeline, "video").unwrap();
        let audio = crate::outputs::appsrc(&pipeline, "audio").unwrap();
        for src in [&video, &audio] {
            src.set_format(gst::Format::Time);
            src.set_block(false);
            src.set_max_bytes(4 * LOSSY_QUEUE_BYTES);
        }
        let _ = pipeline.set_state(gst::State::Paused);
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let keyframe: KeyframeRequest = Arc::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let slot = Slot::new(
            "t",
            OutputKind::Rtmp,
            true,
            keyframe,
            &Fanout::new(gst::ClockTime::ZERO),
        );
        slot.attach(video.clone(), audio);

        let mut n = 0;
        slot.push(Stream::Video, &buffer(n, true), None);
        while requests.load(Ordering::Relaxed) == 0 {
            n += 1;
            assert!(
                n < 30,
                "never gated with {} bytes queued",
                video.current_level_bytes()
            );
            slot.push(Stream::Video, &buffer(n, false), None);
        }
        let queued = video.current_level_bytes();
        for _ in 0..3 {
            n += 1;
            slot.push(Stream::Video, &buffer(n, false), None);
        }
        assert_eq!(
            video.current_level_bytes(),
            queued,
            "delta frames are dropped while gated"
        );
        n += 1;
        slot.push(Stream::Video, &buffer(n, true), None);
        assert!(
            video.current_level_bytes() > queued,
            "the next keyframe goes through"
        );
        assert_eq!(requests.load(Ordering::Relaxed), 1);
        let _ = pipeline.set_state(gst::State::Null);
    }
}
