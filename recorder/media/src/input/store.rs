//! Where an input's decoded media waits for the recorder: appsink callbacks (GStreamer streaming
//! threads) push into a [`Store`], the recorder's frame loop takes from it.
//!
//! - **Offline** (render): every frame and sample is kept by timestamp and the streaming threads
//!   block while they are far enough ahead of what the recorder asked for, so the source runs
//!   exactly as fast as the recorder consumes it and output is deterministic.
//! - **Live**: the newest frame replaces the previous one; audio goes through a small jitter
//!   buffer (silence on underrun, oldest dropped on overrun) so latency stays bounded.
//!
//! A generation number ties pushes to the pipeline that made them, so a torn-down pipeline's late
//! buffers never land after its replacement's.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::VideoFrame;

/// Audio sample rate handed to the recorder.
pub const RATE: u64 = 48_000;
/// Interleaved channels handed to the recorder.
pub const CHANNELS: usize = 2;

/// Offline: decoded frames kept ahead of the recorder (bounds memory: a 1080p I420 frame is 3 MB).
const VIDEO_AHEAD_FRAMES: usize = 4;
/// Offline: decoded audio kept ahead of the recorder.
const AUDIO_AHEAD: Duration = Duration::from_millis(500);
/// Offline: media this far behind the furthest request is dropped even if a track was not read
/// (a caller reading only video of a file with sound must not grow memory without bound).
const KEEP_BEHIND: Duration = Duration::from_secs(2);
/// Offline: how long a read waits for a source that makes no progress before giving up on it.
const STUCK_AFTER: Duration = Duration::from_secs(20);
/// Offline: audio timestamps within this many sample frames of where the previous buffer ended
/// are taken as contiguous (40 ms, as GStreamer's audio sinks do).
const ALIGN_THRESHOLD: u64 = RATE * 40 / 1000;
/// Live: jitter buffer target and ceiling, in sample frames.
const JITTER_TARGET: usize = (RATE as usize) * 150 / 1000;
const JITTER_MAX: usize = (RATE as usize) * 400 / 1000;

/// A streaming thread must stop: the input is closing.
#[derive(Debug)]
pub struct Closing;

pub struct Store {
    offline: bool,
    state: Mutex<State>,
    cond: Condvar,
}

#[derive(Default)]
struct State {
    closing: bool,
    generation: u64,
    video: VecDeque<VideoFrame>,
    video_eos: bool,
    /// Offline: interleaved samples starting at sample frame `audio_start`.
    audio: VecDeque<f32>,
    audio_start: u64,
    audio_eos: bool,
    /// Offline: a first audio buffer has been placed (by its own timestamp).
    audio_started: bool,
    /// Live: waiting for the jitter buffer to fill to its target before playing.
    prebuffering: bool,
    /// Offline: the furthest point in time the recorder asked for.
    wanted: Duration,
    last_media: Option<Instant>,
    size: Option<(u32, u32)>,
}

fn samples_at(t: Duration) -> u64 {
    (t.as_nanos() * RATE as u128 / 1_000_000_000) as u64
}

impl Store {
    pub fn new(offline: bool) -> Self {
        Self {
            offline,
            state: Mutex::new(State {
                prebuffering: true,
                ..State::default()
            }),
            cond: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a new pipeline generation (a rebuild): its pushes count, older ones are dropped.
    pub fn next_generation(&self) -> u64 {
        let mut s = self.lock();
        s.generation += 1;
        s.video_eos = false;
        s.audio_eos = false;
        s.prebuffering = true;
        s.audio_started = false;
        if !self.offline {
            s.audio.clear();
        }
        s.generation
    }

    /// Wakes and stops every streaming thread waiting here; reads stop waiting.
    pub fn close(&self) {
        self.lock().closing = true;
        self.cond.notify_all();
    }

    pub fn last_media(&self) -> Option<Instant> {
        self.lock().last_media
    }

    pub fn frame_size(&self) -> Option<(u32, u32)> {
        self.lock().size
    }

    /// A decoded frame from pipeline `generation`. Offline this blocks while enough frames wait.
    pub fn push_video(&self, generation: u64, frame: VideoFrame) -> Result<(), Closing> {
        let mut s = self.lock();
        if self.offline {
            while !s.closing
                && s.generation == generation
                && s.video.iter().filter(|f| f.pts > s.wanted).count() >= VIDEO_AHEAD_FRAMES
            {
                s = self.cond.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }
        if s.closing {
            return Err(Closing);
        }
        if s.generation != generation {
            return Ok(());
        }
        s.size = Some((frame.width, frame.height));
        s.last_media = Some(Instant::now());
        if self.offline {
            s.video.push_back(frame);
            let horizon = s.wanted.saturating_sub(KEEP_BEHIND);
            while s.video.len() > 1 && s.video[1].pts <= horizon {
                s.video.pop_front();
            }
        } else {
            s.video.clear();
            s.video.push_back(frame);
        }
        drop(s);
        self.cond.notify_all();
        Ok(())
    }

    /// Decoded interleaved stereo samples from pipeline `generation`, starting at running time
    /// `pts` (offline: placed exactly there, gaps filled with silence, overlaps dropped).
    pub fn push_audio(
        &self,
        generation: u64,
        pts: Option<Duration>,
        samples: &[f32],
    ) -> Result<(), Closing> {
        let mut s = self.lock();
        if self.offline {
            while !s.closing
                && s.generation == generation
                && audio_end(&s) > samples_at(s.wanted + AUDIO_AHEAD)
            {
                s = self.cond.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }
        if s.closing {
            return Err(Closing);
        }
        if s.generation != generation {
            return Ok(());
        }
        s.last_media = Some(Instant::now());
        if self.offline {
            let end = audio_end(&s);
            // Timestamps only move audio when they disagree by more than a jitter threshold:
            // containers round them (Matroska to the millisecond), and following every rounding
            // would cut or pad a few samples at each buffer.
            let start = match pts.map(samples_at) {
                Some(at) if s.audio_started && at.abs_diff(end) <= ALIGN_THRESHOLD => end,
                Some(at) => at,
                None => end,
            };
            s.audio_started = true;
            let mut samples = samples;
            if start > end {
                let gap = ((start - end) as usize) * CHANNELS;
                s.audio.extend(std::iter::repeat_n(0.0, gap));
            } else {
                let overlap = ((end - start) as usize * CHANNELS).min(samples.len());
                samples = &samples[overlap..];
            }
            s.audio.extend(samples.iter().copied());
            let keep_from = samples_at(s.wanted.saturating_sub(KEEP_BEHIND));
            if keep_from > s.audio_start {
                let drop = ((keep_from - s.audio_start) as usize * CHANNELS).min(s.audio.len());
                s.audio.drain(..drop);
                s.audio_start += (drop / CHANNELS) as u64;
            }
        } else {
            s.audio.extend(samples.iter().copied());
            if s.audio.len() > JITTER_MAX * CHANNELS {
                let drop = s.audio.len() - JITTER_TARGET * CHANNELS;
                s.audio.drain(..drop);
            }
        }
        drop(s);
        self.cond.notify_all();
        Ok(())
    }

    /// The video track of pipeline `generation` ended (or the pipeline failed).
    pub fn end_video(&self, generation: u64) {
        let mut s = self.lock();
        if s.generation == generation {
            s.video_eos = true;
        }
        drop(s);
        self.cond.notify_all();
    }

    pub fn end_audio(&self, generation: u64) {
        let mut s = self.lock();
        if s.generation == generation {
            s.audio_eos = true;
        }
        drop(s);
        self.cond.notify_all();
    }

    /// Offline: the newest frame with pts <= `t` once a frame at or past `t` (or the end) is
    /// decoded; the first frame if `t` is before it. Live: the newest frame.
    pub fn video(&self, t: Duration) -> Option<VideoFrame> {
        let mut s = self.lock();
        if !self.offline {
            return s.video.back().cloned();
        }
        if t > s.wanted {
            s.wanted = t;
            self.cond.notify_all();
        }
        let deadline = Instant::now() + STUCK_AFTER;
        while !s.closing && !s.video_eos && !s.video.iter().any(|f| f.pts >= t) {
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(at = ?t, "input made no video progress; using the last frame");
                break;
            }
            s = self
                .cond
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        // Time only moves forward: frames before the newest one at or before t are done.
        while s.video.len() > 1 && s.video[1].pts <= t {
            s.video.pop_front();
        }
        let frame = s.video.front().cloned();
        drop(s);
        self.cond.notify_all();
        frame
    }

    /// Fills `out` (interleaved stereo) with the audio for [t, t + len).
    pub fn audio(&self, t: Duration, out: &mut [f32]) {
        let frames = (out.len() / CHANNELS) as u64;
        let mut s = self.lock();
        if !self.offline {
            let have = s.audio.len() / CHANNELS;
            if s.prebuffering && have < JITTER_TARGET {
                out.fill(0.0);
                return;
            }
            s.prebuffering = false;
            let n = out.len().min(s.audio.len());
            for (o, v) in out.iter_mut().zip(s.audio.drain(..n)) {
                *o = v;
            }
            if n < out.len() {
                out[n..].fill(0.0);
                s.prebuffering = true; // underrun: refill before playing again
            }
            return;
        }
        let start = samples_at(t);
        let end_t = t + Duration::from_nanos(frames * 1_000_000_000 / RATE);
        if end_t > s.wanted {
            s.wanted = end_t;
            self.cond.notify_all();
        }
        let deadline = Instant::now() + STUCK_AFTER;
        while !s.closing && !s.audio_eos && audio_end(&s) < start + frames {
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(at = ?t, "input made no audio progress; playing silence");
                break;
            }
            s = self
                .cond
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        for (i, o) in out.iter_mut().enumerate() {
            let frame = start + (i / CHANNELS) as u64;
            *o = frame
                .checked_sub(s.audio_start)
                .and_then(|f| s.audio.get(f as usize * CHANNELS + i % CHANNELS))
                .copied()
                .unwrap_or(0.0);
        }
        if start > s.audio_start {
            let drop = ((start - s.audio_start) as usize * CHANNELS).min(s.audio.len());
            s.audio.drain(..drop);
            s.audio_start += (drop / CHANNELS) as u64;
        }
        drop(s);
        self.cond.notify_all();
    }
}

fn audio_end(s: &State) -> u64 {
    s.audio_start + (s.audio.len() / CHANNELS) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn frame(pts_ms: u64) -> VideoFrame {
        VideoFrame::solid(
            2,
            2,
            [pts_ms as u8, 0, 0, 255],
            Duration::from_millis(pts_ms),
        )
    }

    #[test]
    fn offline_video_picks_the_newest_frame_at_or_before_t() {
        crate::init().unwrap();
        let store = Store::new(true);
        let g = store.next_generation();
        // 25 fps frames: 0, 40, 80, 120 ms.
        for pts in [0, 40, 80, 120] {
            store.push_video(g, frame(pts)).unwrap();
        }
        store.end_video(g);
        // Sampled at 30 fps: 0, 33, 67, 100, 133 ms.
        let picked: Vec<u64> = [0, 33, 67, 100, 133]
            .map(|t| {
                store
                    .video(Duration::from_millis(t))
                    .unwrap()
                    .pts
                    .as_millis() as u64
            })
            .to_vec();
        assert_eq!(picked, [0, 0, 40, 80, 120]);
    }

    #[test]
    fn offline_producers_wait_for_the_reader() {
        crate::init().unwrap();
        let store = Arc::new(Store::new(true));
        let g = store.next_generation();
        let producer = {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..100u64 {
                    if store.push_video(g, frame(i * 10)).is_err() {
                        return i;
                    }
                }
                100
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        // Blocked a few frames ahead of t = 0, not decoded all 100.
        assert!(store.lock().video.len() <= VIDEO_AHEAD_FRAMES + 1);
        let f = store.video(Duration::from_millis(500)).unwrap();
        assert_eq!(f.pts, Duration::from_millis(500));
        store.close();
        let pushed = producer.join().unwrap();
        assert!(pushed < 100, "producer ran ahead: {pushed}");
    }

    #[test]
    fn offline_audio_is_placed_by_timestamp() {
        let store = Store::new(true);
        let g = store.next_generation();
        let ms = |v: u64| Duration::from_micros(v * 1000 / 10); // tenths of a millisecond
        let n = (RATE as usize / 100) * CHANNELS; // 10 ms
        // First buffer at 10 ms: 10 ms of silence before it.
        store.push_audio(g, Some(ms(100)), &vec![0.5; n]).unwrap();
        // Rounded timestamp (20.4 ms for 20 ms): contiguous, no gap, no cut.
        store.push_audio(g, Some(ms(204)), &vec![0.25; n]).unwrap();
        // A real gap (next at 80 ms, not 30 ms): filled with silence.
        store.push_audio(g, Some(ms(800)), &vec![0.125; n]).unwrap();
        store.end_audio(g);
        let mut out = vec![1.0; 9 * n];
        store.audio(Duration::ZERO, &mut out);
        let tenth = |i: usize| &out[i * n..(i + 1) * n];
        let want = [0.0, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.125];
        for (i, w) in want.iter().enumerate() {
            assert!(tenth(i).iter().all(|v| v == w), "10 ms block {i}: want {w}");
        }
        // Past the end: silence, without blocking.
        store.audio(Duration::from_millis(90), &mut out);
        assert!(out.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn live_audio_prebuffers_then_plays_and_drops_the_oldest_on_overrun() {
        let store = Store::new(false);
        let g = store.next_generation();
        let mut out = vec![1.0; 480 * CHANNELS];
        store
            .push_audio(g, None, &vec![0.1; 480 * CHANNELS])
            .unwrap();
        store.audio(Duration::ZERO, &mut out);
        assert!(out.iter().all(|&v| v == 0.0), "played before the target");
        // Flood: far more than the ceiling arrives at once.
        for i in 0..100 {
            store
                .push_audio(g, None, &vec![i as f32; 480 * CHANNELS])
                .unwrap();
        }
        assert!(store.lock().audio.len() <= JITTER_MAX * CHANNELS);
        store.audio(Duration::ZERO, &mut out);
        assert!(out.iter().all(|&v| v > 50.0), "old audio was not dropped");
    }

    #[test]
    fn pushes_from_an_old_generation_are_dropped() {
        crate::init().unwrap();
        let store = Store::new(false);
        let old = store.next_generation();
        let new = store.next_generation();
        store.push_video(old, frame(1)).unwrap();
        assert!(store.video(Duration::ZERO).is_none());
        store.push_video(new, frame(2)).unwrap();
        assert_eq!(
            store.video(Duration::ZERO).unwrap().pts,
            Duration::from_millis(2)
        );
    }
}
