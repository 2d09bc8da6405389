//! Where an input's decoded media waits for the recorder: appsink callbacks (GStreamer streaming
//! threads) push into a [`Store`], the recorder's frame loop takes from it.
//!
//! - **Offline** (render): every frame and sample is kept by timestamp and the streaming threads
//!   block while they are far enough ahead of what the recorder asked for, so the source runs
//!   exactly as fast as the recorder consumes it and output is deterministic.
//! - **Live**: frames and samples are kept by timestamp too, for a short playout delay, and read
//!   through the input's one [`InputClock`]: the frame shown and the audio heard at recording
//!   time `t` are those of the same media time `clock.media(t)`, so arrival time (network
//!   jitter, decoder latency) never moves one track against the other. Audio is resampled by the
//!   clock's rate (drift), video frames dropped or repeated; see the clock's doc for why.
//!
//! A generation number ties pushes to the pipeline that made them, so a torn-down pipeline's late
//! buffers never land after its replacement's.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::VideoFrame;
use super::clock::InputClock;

/// Audio sample rate handed to the recorder.
pub const RATE: u64 = 48_000;
/// Interleaved channels handed to the recorder.
pub const CHANNELS: usize = 2;

/// Offline: decoded frames kept ahead of the recorder (bounds memory: a 1080p I420 frame is 3 MB).
const VIDEO_AHEAD_FRAMES: usize = 4;
/// Offline: decoded audio kept ahead of the recorder.
const AUDIO_AHEAD: Duration = Duration::from_millis(500);
/// Offline: a streaming thread that found [`VIDEO_AHEAD_FRAMES`] waiting goes on once the
/// reader has taken them down to this many, so that each wake-up decodes a few frames, not one
/// (a wake-up per frame per input cost more in switching threads than the frames it decoded).
const VIDEO_REFILL_AT: usize = 1;
/// Offline: likewise for audio, once this much or less is left ahead of the reader.
const AUDIO_REFILL_AT: Duration = Duration::from_millis(250);
/// Offline: media this far behind the furthest request is dropped even if a track was not read
/// (a caller reading only video of a file with sound must not grow memory without bound).
const KEEP_BEHIND: Duration = Duration::from_secs(2);
/// Offline: how long a read waits for a source that makes no progress before giving up on it.
const STUCK_AFTER: Duration = Duration::from_secs(20);
/// Offline: audio timestamps within this many sample frames of where the previous buffer ended
/// are taken as contiguous (40 ms, as GStreamer's audio sinks do).
const ALIGN_THRESHOLD: u64 = RATE * 40 / 1000;
/// Live: the same, tighter: live demuxers (MPEG-TS over SRT) slave timestamps to arrival, so
/// the samples' own count drifts from their timestamps, and 40 ms of it is lip sync lost
/// before a snap; 10 ms snaps are inaudible and keep audio within a third of a frame.
const LIVE_ALIGN_THRESHOLD: u64 = RATE * 10 / 1000;
/// Live: frames kept ahead of what is shown (bounds memory if the clock has not caught up yet).
/// The clock waits for the track that arrives last, so the other one's frames wait here: over
/// MPEG-TS from ffmpeg (SRT) video comes up to 0.86 s before its audio, plus the playout delay
/// and a 360 ms audio burst, about 1.4 s (42 frames at 30 fps); 24 dropped frames that were
/// still to be shown (the picture stuttered and flashes came late). 2 s at 30 fps.
const LIVE_VIDEO_MAX: usize = 60;
/// Live: seconds of audio kept ahead of what is played, at most.
const LIVE_AUDIO_MAX: u64 = RATE * 3;
/// Live: a frame is shown from half a 30 fps frame before its timestamp, so that with an output
/// at the source's rate the picture is at most half a frame off the sound, either way.
const HALF_FRAME: f64 = 1.0 / 60.0;
/// Live: weight of each read in the A/V offset average (about a second at 30 fps).
const OFFSET_SMOOTHING: f64 = 1.0 / 30.0;
/// How long past its timestamp a file's last frame is shown once the file has ended: longer
/// than a frame at any rate a file is likely to have (10 fps and up).
const SHOWN_PAST_THE_END: Duration = Duration::from_millis(100);

/// A streaming thread must stop: the input is closing.
#[derive(Debug)]
pub struct Closing;

/// Each kind of waiter has its own condvar, so that a push wakes only a reader of its track;
/// waking a parking_lot condvar nobody waits on costs no system call.
pub struct Store {
    offline: bool,
    state: Mutex<State>,
    /// The reader waits here for video (or its end); video pushes wake it.
    video_came: Condvar,
    /// The reader waits here for audio (or its end); audio pushes wake it.
    audio_came: Condvar,
    /// Offline: the video streaming thread waits here for the reader to take frames.
    video_room: Condvar,
    /// Offline: the audio streaming thread waits here for the reader to take samples.
    audio_room: Condvar,
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
    /// Live: the generation the frames in `video` came from (kept while a rebuild connects).
    video_generation: u64,
    /// Live: the frame the last read returned (shown until the next one is due).
    last_shown: Option<VideoFrame>,
    /// Live: the media time each read plays (see the clock module).
    clock: InputClock,
    /// Live: the typical time between frames (for how late a shown frame is), seconds.
    frame_interval: Option<f64>,
    /// Live: audio minus video of what was played, ms, averaged over about a second.
    av_offset_ms: Option<f64>,
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
            state: Mutex::new(State::default()),
            video_came: Condvar::new(),
            audio_came: Condvar::new(),
            video_room: Condvar::new(),
            audio_room: Condvar::new(),
        }
    }

    /// The state (a panic while holding the lock leaves plain data behind: it is taken as is).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Starts a new pipeline generation (a rebuild): its pushes count, older ones are dropped.
    pub fn next_generation(&self) -> u64 {
        let mut s = self.lock();
        s.generation += 1;
        s.video_eos = false;
        s.audio_eos = false;
        s.audio_started = false;
        if !self.offline {
            // A new pipeline starts its timestamps again: its media gets a new anchor. The old
            // frames stay (the last one shows while the new pipeline connects).
            s.audio.clear();
            s.audio_start = 0;
            s.clock.reset();
            s.av_offset_ms = None;
        }
        let generation = s.generation;
        drop(s);
        // Streaming threads of the old generation waiting for room can return now.
        self.video_room.notify_all();
        self.audio_room.notify_all();
        generation
    }

    /// Wakes and stops every streaming thread waiting here; reads stop waiting.
    pub fn close(&self) {
        self.lock().closing = true;
        for waiters in [
            &self.video_came,
            &self.audio_came,
            &self.video_room,
            &self.audio_room,
        ] {
            waiters.notify_all();
        }
    }

    pub fn last_media(&self) -> Option<Instant> {
        self.lock().last_media
    }

    pub fn frame_size(&self) -> Option<(u32, u32)> {
        self.lock().size
    }

    /// Live: audio minus video time of what was played lately, in milliseconds (positive: audio
    /// late); `None` before media flows (and always offline, where both are exact).
    pub fn av_offset_ms(&self) -> Option<f64> {
        self.lock().av_offset_ms
    }

    /// A decoded frame from pipeline `generation`. Offline this blocks while enough frames wait.
    pub fn push_video(&self, generation: u64, frame: VideoFrame) -> Result<(), Closing> {
        let mut s = self.lock();
        if self.offline {
            while !s.closing && s.generation == generation && video_ahead(&s) >= VIDEO_AHEAD_FRAMES
            {
                self.video_room.wait(&mut s);
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
            if s.video_generation != generation {
                s.video.clear();
                s.video_generation = generation;
            }
            if let Some(prev) = s.video.back() {
                let step = frame.pts.as_secs_f64() - prev.pts.as_secs_f64();
                if (0.005..0.5).contains(&step) {
                    let avg = s.frame_interval.get_or_insert(step);
                    *avg += (step - *avg) * 0.1;
                }
            }
            s.video.push_back(frame);
            while s.video.len() > LIVE_VIDEO_MAX {
                s.video.pop_front();
            }
        }
        drop(s);
        self.video_came.notify_all();
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
                self.audio_room.wait(&mut s);
            }
        }
        if s.closing {
            return Err(Closing);
        }
        if s.generation != generation {
            return Ok(());
        }
        s.last_media = Some(Instant::now());
        {
            if !self.offline && !s.audio_started && s.audio.is_empty() {
                // Live sources start far from 0: begin the buffer at the first sample.
                s.audio_start = pts.map(samples_at).unwrap_or(0);
            }
            let end = audio_end(&s);
            // Timestamps only move audio when they disagree by more than a jitter threshold:
            // containers round them (Matroska to the millisecond), and following every rounding
            // would cut or pad a few samples at each buffer.
            let align = if self.offline {
                ALIGN_THRESHOLD
            } else {
                LIVE_ALIGN_THRESHOLD
            };
            let start = match pts.map(samples_at) {
                Some(at) if s.audio_started && at.abs_diff(end) <= align => end,
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
            let keep_from = if self.offline {
                samples_at(s.wanted.saturating_sub(KEEP_BEHIND))
            } else {
                audio_end(&s).saturating_sub(LIVE_AUDIO_MAX)
            };
            if keep_from > s.audio_start {
                let drop = ((keep_from - s.audio_start) as usize * CHANNELS).min(s.audio.len());
                s.audio.drain(..drop);
                s.audio_start += (drop / CHANNELS) as u64;
            }
        }
        drop(s);
        self.audio_came.notify_all();
        Ok(())
    }

    /// The video track of pipeline `generation` ended (or the pipeline failed).
    pub fn end_video(&self, generation: u64) {
        let mut s = self.lock();
        if s.generation == generation {
            s.video_eos = true;
        }
        drop(s);
        self.video_came.notify_all();
    }

    pub fn end_audio(&self, generation: u64) {
        let mut s = self.lock();
        if s.generation == generation {
            s.audio_eos = true;
        }
        drop(s);
        self.audio_came.notify_all();
    }

    /// Offline: the newest frame with pts <= `t` once a frame at or past `t` (or the end) is
    /// decoded; the first frame if `t` is before it. Live: the newest frame.
    pub fn video(&self, t: Duration) -> Option<VideoFrame> {
        let mut s = self.lock();
        if !self.offline {
            return live_video(&mut s, t);
        }
        if t > s.wanted {
            s.wanted = t;
            self.wake_streaming_threads(&s);
        }
        let deadline = Instant::now() + STUCK_AFTER;
        while !s.closing && !s.video_eos && !s.video.iter().any(|f| f.pts >= t) {
            if Instant::now() >= deadline {
                tracing::warn!(at = ?t, "input made no video progress; using the last frame");
                break;
            }
            self.video_came.wait_until(&mut s, deadline);
        }
        // Time only moves forward: frames before the newest one at or before t are done. (No
        // streaming thread waits for that: they wait for `wanted` to move, woken above.)
        while s.video.len() > 1 && s.video[1].pts <= t {
            s.video.pop_front();
        }
        s.video.front().cloned()
    }

    /// Offline, after the reader asked for later media: wakes a streaming thread waiting for
    /// room once its track is down to the refill mark. Both tracks: reading either moves
    /// `wanted`, and a track left waiting could hold up the demuxer that feeds the other.
    fn wake_streaming_threads(&self, s: &State) {
        if video_ahead(s) <= VIDEO_REFILL_AT {
            self.video_room.notify_all();
        }
        if audio_end(s) <= samples_at(s.wanted + AUDIO_REFILL_AT) {
            self.audio_room.notify_all();
        }
    }

    /// Whether the source's video is over at `t`: its end of stream came and, offline, `t` is
    /// more than [`SHOWN_PAST_THE_END`] past its last frame (so the last frame of a file is
    /// shown for its own duration, then the input shows as paused rather than frozen).
    pub fn video_over(&self, t: Duration) -> bool {
        let s = self.lock();
        if !s.video_eos {
            return false;
        }
        if !self.offline {
            return true;
        }
        s.video.len() <= 1
            && s.video
                .back()
                .is_none_or(|f| t > f.pts + SHOWN_PAST_THE_END)
    }

    /// Fills `out` (interleaved stereo) with the audio for [t, t + len).
    pub fn audio(&self, t: Duration, out: &mut [f32]) {
        let frames = (out.len() / CHANNELS) as u64;
        let mut s = self.lock();
        if !self.offline {
            live_audio(&mut s, t, out);
            return;
        }
        let start = samples_at(t);
        let end_t = t + Duration::from_nanos(frames * 1_000_000_000 / RATE);
        if end_t > s.wanted {
            s.wanted = end_t;
            self.wake_streaming_threads(&s);
        }
        let deadline = Instant::now() + STUCK_AFTER;
        while !s.closing && !s.audio_eos && audio_end(&s) < start + frames {
            if Instant::now() >= deadline {
                tracing::warn!(at = ?t, "input made no audio progress; playing silence");
                break;
            }
            self.audio_came.wait_until(&mut s, deadline);
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
    }
}

/// Offline: decoded frames past the furthest point the reader asked for.
fn video_ahead(s: &State) -> usize {
    s.video.iter().filter(|f| f.pts > s.wanted).count()
}

fn audio_end(s: &State) -> u64 {
    s.audio_start + (s.audio.len() / CHANNELS) as u64
}

/// Live: the newest media time every track of the current pipeline has delivered (the track
/// that arrives last decides, so both are there when played); `None` before any.
fn newest_media(s: &State) -> Option<f64> {
    let video = (!s.video_eos && s.video_generation == s.generation)
        .then(|| s.video.back().map(|f| f.pts.as_secs_f64()))
        .flatten();
    let audio = (!s.audio_eos && s.audio_started).then(|| audio_end(s) as f64 / RATE as f64);
    match (video, audio) {
        (Some(v), Some(a)) => Some(v.min(a)),
        (v, a) => v.or(a),
    }
}

/// Live: the frame at the clock's media time for `t` (frames before it are done), or the
/// newest frame while the clock has no anchor (nothing from the current pipeline yet: the
/// last frame of the previous one stays).
fn live_video(s: &mut State, t: Duration) -> Option<VideoFrame> {
    let newest = newest_media(s);
    let Some(media) = s.clock.update(t, newest) else {
        return s.video.back().cloned();
    };
    while s.video.len() > 1 && s.video[1].pts.as_secs_f64() <= media + HALF_FRAME {
        s.video.pop_front();
    }
    let frame = s.video.front().cloned()?;
    let pts = frame.pts.as_secs_f64();
    if pts > media + HALF_FRAME {
        // Not due yet (the first frames after a (re)connect): what was shown stays, if anything,
        // so the picture does not run ahead of the sound by the playout delay.
        return s.last_shown.clone();
    }
    s.last_shown = Some(frame.clone());
    if s.audio_started && s.video_generation == s.generation {
        // How late the picture is against the sound of this tick: the frame shown should have
        // been replaced by now when media is past its end (the next one has not arrived).
        let end = pts + s.frame_interval.unwrap_or(1.0 / 30.0);
        let video_late_ms = (media - HALF_FRAME - end).max(0.0) * 1000.0;
        let sample = -video_late_ms;
        let avg = s.av_offset_ms.get_or_insert(sample);
        *avg += (sample - *avg) * OFFSET_SMOOTHING;
    }
    Some(frame)
}

/// Live: fills `out` with the audio from the clock's media time for `t` on, resampled by the
/// clock's rate (linear interpolation: the rate is within 0.5% of 1, where it is transparent);
/// silence where nothing was delivered.
fn live_audio(s: &mut State, t: Duration, out: &mut [f32]) {
    let newest = newest_media(s);
    let Some(media) = s.clock.update(t, newest) else {
        out.fill(0.0);
        return;
    };
    let rate = s.clock.rate();
    let start = media * RATE as f64;
    let base = s.audio_start as f64;
    let frames = out.len() / CHANNELS;
    let get = |s: &State, at: i64, c: usize| -> f32 {
        if at < 0 {
            return 0.0;
        }
        s.audio
            .get(at as usize * CHANNELS + c)
            .copied()
            .unwrap_or(0.0)
    };
    for i in 0..frames {
        let pos = start + i as f64 * rate - base;
        let at = pos.floor();
        let frac = (pos - at) as f32;
        let at = at as i64;
        for c in 0..CHANNELS {
            let a = get(s, at, c);
            let b = get(s, at + 1, c);
            out[i * CHANNELS + c] = a + (b - a) * frac;
        }
    }
    // Samples before the next read's start are done.
    let next = (start + frames as f64 * rate).floor() - 1.0;
    if next > base {
        let drop = (((next - base) as usize) * CHANNELS).min(s.audio.len());
        s.audio.drain(..drop);
        s.audio_start += (drop / CHANNELS) as u64;
    }
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

    /// 20 ms of a constant per buffer, `value(k)`, for live pushes.
    fn push_live_audio(store: &Store, g: u64, k: u64, value: f32) {
        let n = (RATE as usize / 50) * CHANNELS;
        let pts = Duration::from_millis(20 * k);
        store.push_audio(g, Some(pts), &vec![value; n]).unwrap();
    }

    #[test]
    fn live_video_and_audio_of_the_same_instant_play_at_the_same_tick() {
        crate::init().unwrap();
        let store = Store::new(false);
        let g = store.next_generation();
        // The source's media starts at 5 s. Audio arrives first; video of the same instants
        // comes out of its decoder 100 ms later (in arrival order: audio up to 5.3 s, video up to
        // 5.2 s). Audio k is the value k; frame pts in ms is its red.
        for k in 0..15 {
            push_live_audio(&store, g, 250 + k, (250 + k) as f32);
        }
        for ms in (5000..=5200).step_by(40) {
            store.push_video(g, frame(ms)).unwrap();
        }
        // The first read anchors one playout delay behind what both tracks have (5.2 s).
        let t = Duration::from_secs(1);
        let f = store.video(t).unwrap();
        let mut out = vec![0.0; 2 * CHANNELS];
        store.audio(t, &mut out);
        let audio_ms = out[0] as u64 * 20;
        let video_ms = f.pts.as_millis() as u64;
        assert_eq!(audio_ms, 5040, "audio plays 5.2 s − 150 ms");
        assert_eq!(video_ms, 5040, "and so does video");
        assert_eq!(store.av_offset_ms(), Some(0.0));
    }

    #[test]
    fn live_audio_is_placed_by_timestamp_with_silence_for_a_gap() {
        let store = Store::new(false);
        let g = store.next_generation();
        for k in 0..10 {
            push_live_audio(&store, g, k, 1.0);
        }
        // 100 ms missing, then more.
        for k in 15..30 {
            push_live_audio(&store, g, k, 2.0);
        }
        // Anchored 150 ms behind 600 ms: plays 450 ms on; read 20 ms blocks.
        let mut got = Vec::new();
        for i in 0..20u64 {
            let mut out = vec![0.0; (RATE as usize / 50) * CHANNELS];
            store.audio(Duration::from_millis(1000 + 20 * i), &mut out);
            got.push(out[out.len() / 2]);
        }
        // 450..600 ms: value 2.0 (k 22..29); the block before the gap was already past.
        assert!(got[..7].iter().all(|&v| v == 2.0), "{got:?}");
        // Past what was delivered: silence.
        assert!(got[8..].iter().all(|&v| v == 0.0), "{got:?}");
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
        // Shown once due: a playout delay after the read that first saw it.
        assert!(store.video(Duration::from_millis(200)).is_none());
        let shown = store.video(Duration::from_millis(400)).unwrap();
        assert_eq!(shown.pts, Duration::from_millis(2));
    }
}
