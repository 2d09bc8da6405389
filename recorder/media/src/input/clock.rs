//! One clock per live input: maps the recording's time `t` (the input's own 0 when it joined) to
//! the input's media time (its buffers' PTS, as pipeline running time), so that the video frame
//! shown and the audio heard at each output tick come from the same instant at the source.
//!
//! ```text
//! media(t) = anchor.media + (t − anchor.t) · rate
//!
//! first media ─► anchor: media(t) = newest − delay           (one delay for both tracks,
//!                                                             PLAYOUT_DELAY to begin with)
//! every read  ─► lead = newest − media(t)                    (what is buffered ahead, per input:
//!                 │                                            the track that arrives last counts)
//!                 ├─ newest moved by a burst larger than the delay covers ─► delay = burst +
//!                 │  BURST_MARGIN, media(t) moved back by the increase (once, at the join)
//!                 ├─ fresh media still behind by RESYNC_BEHIND, or the average lead
//!                 │  past delay + RESYNC_AHEAD ─► re-anchor (a jump: late start,
//!                 │  a source that restarted its timestamps, a burst after a stall)
//!                 └─ else rate = 1 + GAIN · (average lead − delay), within ±MAX_SKEW
//! ```
//!
//! Why this shape:
//! - Both tracks are read through the same `media(t)`, so jitter buffers and decoder latency
//!   (video frames usually come out of their decoder later than the audio of the same instant)
//!   are absorbed once, by the one playout delay: what arrives within it is shown and heard at
//!   its own timestamp. Arrival time never decides where a buffer lands.
//! - Clock drift (a source 0.1% fast or slow) shows as a lead that creeps up or down; the rate
//!   follows it. Audio is then **resampled** by `rate` (a 0.1% change of pitch is inaudible, a
//!   dropped or repeated block of samples is a click) while video frames are **dropped or
//!   repeated** (the newest frame at or before `media(t)`: at 30 fps a repeated frame every 33 s
//!   at 0.1% is invisible, and frames have no waveform to break). A/V stay locked either way
//!   because both follow the same `media(t)`.
//! - Some sources deliver a track in bursts: ffmpeg's (and so OBS's) MPEG-TS muxer packs about
//!   a third of a second of AAC into one PES, sent after the video of the same instant. A fixed
//!   150 ms delay then runs out of audio before each burst (silence, a beep cut short: an SRT
//!   marker measured 33 ms late). The delay grows to cover the largest burst seen, so the lead's
//!   trough stays ahead of what is played; it decays back slowly (through the rate, no jump)
//!   when the bursts stop.
//! - A stalled source sends nothing: its lead shrinks but no fresh media arrives, so the clock
//!   neither re-anchors nor slows down; it runs on, and the first media after the stall (same
//!   pipeline) is placed by its timestamp or, if it is far behind, re-anchored.

use std::time::Duration;

/// Media buffered ahead of what is played, for both tracks of an input: covers network jitter
/// that the source element's own buffer let through and the difference between the audio and
/// video decoders' latencies.
pub const PLAYOUT_DELAY: f64 = 0.150;
/// Fresh media this far behind what is being played: re-anchor (the source jumped back or
/// delivered a burst of old media).
const RESYNC_BEHIND: f64 = 0.300;
/// The average lead this far past the playout delay: re-anchor rather than catch up slowly.
const RESYNC_AHEAD: f64 = 0.500;
/// Rate correction per second of lead error (a P controller; 0.1% drift settles 20 ms off the
/// target delay, which costs latency, not sync).
const GAIN: f64 = 0.05;
/// The most the rate may differ from 1 (0.5%: 8.6 cents of pitch, unheard while it corrects).
const MAX_SKEW: f64 = 0.005;
/// Time constant of the lead average (arrival comes in bursts of a frame or a packet).
const LEAD_SMOOTHING: f64 = 2.0;
/// Kept over the largest burst: the lead's trough stays this far ahead of what is played.
const BURST_MARGIN: f64 = 0.050;
/// A move of the newest media larger than this is a stall's end or a restart, not a burst.
const MAX_BURST: f64 = 1.0;
/// Reads further apart than this do not measure bursts (the recorder reads every output frame).
const BURST_READ_GAP: f64 = 0.1;
/// Time constant of the burst estimate's decay, in seconds.
const BURST_DECAY: f64 = 60.0;
/// The delay only moves by more than this (the burst estimate decays between bursts and comes
/// back at each one; following that would move the picture back a little at every burst).
const DELAY_HYSTERESIS: f64 = 0.010;
/// Newest media that has not moved for this long: the source stalled (no rate changes).
const STALLED_AFTER: f64 = 0.300;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Anchor {
    t: f64,
    media: f64,
}

/// The mapping of one live input; pure (plain seconds in, seconds out), unit-tested below.
#[derive(Debug, Clone, Default)]
pub struct InputClock {
    anchor: Option<Anchor>,
    rate: f64,
    lead_avg: f64,
    last_t: f64,
    /// The newest media time seen, and the recording time it was first seen at.
    newest: Option<(f64, f64)>,
    /// Re-anchors after the first anchor (late bursts, jumps).
    resyncs: u64,
    /// The largest move of the newest media at once (decaying), in seconds.
    burst: f64,
    /// The playout delay in use: [`PLAYOUT_DELAY`], or more for a bursty source.
    delay: f64,
}

impl InputClock {
    /// Forgets the mapping (a new pipeline starts its timestamps again).
    /// The source's burstiness is kept: a reconnect is usually the same sender.
    pub fn reset(&mut self) {
        *self = InputClock {
            resyncs: self.resyncs,
            burst: self.burst,
            ..InputClock::default()
        };
    }

    /// The playout delay in use, in seconds: media buffered ahead of what is played.
    pub fn delay(&self) -> f64 {
        self.delay.max(PLAYOUT_DELAY)
    }

    /// The media time played at `t`, once anchored.
    pub fn media_at(&self, t: Duration) -> Option<f64> {
        self.anchor
            .map(|a| a.media + (t.as_secs_f64() - a.t) * self.rate)
    }

    /// How fast media is played against the recording's time (1 ± a little).
    pub fn rate(&self) -> f64 {
        if self.anchor.is_some() {
            self.rate
        } else {
            1.0
        }
    }

    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Observes, at recording time `t`, the newest media time every track of the input has
    /// (`None`: nothing buffered yet), and moves the mapping as the module doc says. Returns
    /// the media time played at `t`.
    pub fn update(&mut self, t: Duration, newest: Option<f64>) -> Option<f64> {
        let ts = t.as_secs_f64();
        let dt = (ts - self.last_t).max(0.0);
        self.last_t = ts;
        let Some(newest) = newest else {
            return self.media_at(t);
        };
        self.burst *= (-dt / BURST_DECAY).exp();
        let fresh = match self.newest {
            Some((n, _)) if newest == n => false,
            previous => {
                // Only a reader that was looking can tell a burst from its own absence: media
                // that moved 0.5 s between reads 0.5 s apart (a paused preview, a test) is not
                // a burst.
                if let Some((n, _)) = previous
                    && newest - n <= MAX_BURST
                    && dt <= BURST_READ_GAP
                {
                    self.burst = self.burst.max(newest - n);
                }
                self.newest = Some((newest, ts));
                true
            }
        };
        // A bursty source's quiet time between bursts is not a stall.
        let stalled = self
            .newest
            .is_some_and(|(_, since)| ts - since > STALLED_AFTER.max(self.burst + BURST_MARGIN));
        let Some(mut now) = self.media_at(t) else {
            self.delay = self.delay().max(self.burst + BURST_MARGIN);
            self.anchor_at(ts, newest);
            return self.media_at(t);
        };
        let wanted = PLAYOUT_DELAY.max(self.burst + BURST_MARGIN);
        if wanted > self.delay() + DELAY_HYSTERESIS {
            // A burst larger than the delay covers: play that much later from now on (a
            // repeated frame and a moment of silence once, rather than one every burst).
            now -= wanted - self.delay();
            self.lead_avg += wanted - self.delay();
            self.anchor = Some(Anchor { t: ts, media: now });
            self.delay = wanted;
        } else if wanted < self.delay() - 2.0 * DELAY_HYSTERESIS {
            // Bursts got smaller: a shorter delay, reached through the rate (no jump).
            self.delay = wanted + DELAY_HYSTERESIS;
        }
        let lead = newest - now;
        // Sampled when media arrives, so at the peaks of a bursty source's sawtooth: the peak is
        // what the delay sets at the anchor, and the trough is a burst below it.
        if fresh {
            self.lead_avg += (lead - self.lead_avg) * dt / (dt + LEAD_SMOOTHING);
        }
        if (fresh && lead < -RESYNC_BEHIND) || self.lead_avg > self.delay() + RESYNC_AHEAD {
            self.resyncs += 1;
            self.anchor_at(ts, newest);
        } else if !stalled {
            let rate = 1.0 + (GAIN * (self.lead_avg - self.delay())).clamp(-MAX_SKEW, MAX_SKEW);
            // Re-based at t, so media_at stays continuous when the rate changes.
            self.anchor = Some(Anchor { t: ts, media: now });
            self.rate = rate;
        }
        self.media_at(t)
    }

    fn anchor_at(&mut self, t: f64, newest: f64) {
        self.anchor = Some(Anchor {
            t,
            media: newest - self.delay(),
        });
        self.rate = 1.0;
        self.lead_avg = self.delay();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Drives a clock with a source whose media time runs at `source_rate` against the
    /// recording, arriving `arrival_delay` s after its time and in `chunk` s bursts, read every
    /// 1/30 s from `start` for `for_secs`. Returns (t, media(t), newest) at the last read.
    fn run(
        clock: &mut InputClock,
        source_rate: f64,
        chunk: f64,
        start: f64,
        for_secs: f64,
    ) -> (f64, f64, f64) {
        let mut out = (0.0, 0.0, 0.0);
        let mut t = start;
        while t < start + for_secs {
            // Media produced up to t (at the source's rate), delivered in whole chunks.
            let newest = ((t * source_rate) / chunk).floor() * chunk;
            let m = clock.update(secs(t), Some(newest)).unwrap();
            out = (t, m, newest);
            t += 1.0 / 30.0;
        }
        out
    }

    #[test]
    fn the_first_media_anchors_one_playout_delay_behind_the_newest() {
        let mut c = InputClock::default();
        assert_eq!(c.update(secs(1.0), None), None);
        let m = c.update(secs(2.0), Some(10.0)).unwrap();
        assert!((m - (10.0 - PLAYOUT_DELAY)).abs() < 1e-9);
        // Then runs at the recording's pace.
        let mut m = 0.0;
        for i in 1..=15 {
            let dt = f64::from(i) / 30.0;
            m = c.update(secs(2.0 + dt), Some(10.0 + dt)).unwrap();
        }
        assert!((m - (10.5 - PLAYOUT_DELAY)).abs() < 1e-3, "{m}");
    }

    #[test]
    fn a_steady_source_keeps_the_playout_delay() {
        let mut c = InputClock::default();
        let (_, m, newest) = run(&mut c, 1.0, 0.02, 0.0, 60.0);
        let lead = newest - m;
        assert!((lead - PLAYOUT_DELAY).abs() < 0.03, "lead {lead}");
        assert!((c.rate() - 1.0).abs() < 1e-3);
        assert_eq!(c.resyncs(), 0);
    }

    #[test]
    fn a_source_0_1_percent_fast_or_slow_is_followed_without_a_jump() {
        for source_rate in [1.001, 0.999] {
            let mut c = InputClock::default();
            // 20 minutes, as the bench does.
            let (_, m, newest) = run(&mut c, source_rate, 0.02, 0.0, 1200.0);
            let lead = newest - m;
            assert!(
                (lead - PLAYOUT_DELAY).abs() < 0.05,
                "rate {source_rate}: lead {lead}"
            );
            assert!(
                (c.rate() - source_rate).abs() < 2e-4,
                "rate {source_rate}: playing at {}",
                c.rate()
            );
            assert_eq!(c.resyncs(), 0, "rate {source_rate}");
        }
    }

    #[test]
    fn a_stall_keeps_the_clock_running_and_a_late_burst_re_anchors() {
        let mut c = InputClock::default();
        let (t, m, _) = run(&mut c, 1.0, 0.02, 0.0, 10.0);
        // Nothing new for 2 s: the clock runs on at the same rate.
        let during = c.update(secs(t + 2.0), Some(9.98)).unwrap();
        assert!((during - (m + 2.0)).abs() < 0.01, "{during} vs {}", m + 2.0);
        // Then old media again (a source that restarted its timestamps): re-anchored to it.
        let after = c.update(secs(t + 2.1), Some(3.0)).unwrap();
        assert!((after - (3.0 - PLAYOUT_DELAY)).abs() < 1e-9);
        assert_eq!(c.resyncs(), 1);
    }

    #[test]
    fn a_burst_far_ahead_re_anchors_instead_of_lagging() {
        let mut c = InputClock::default();
        let (t, _, _) = run(&mut c, 1.0, 0.02, 0.0, 5.0);
        // 3 s of media arrive at once and stay that far ahead.
        let mut tt = t;
        for _ in 0..200 {
            tt += 1.0 / 30.0;
            c.update(secs(tt), Some(tt + 3.0));
        }
        let m = c.media_at(secs(tt)).unwrap();
        assert!(
            (tt + 3.0 - m - PLAYOUT_DELAY).abs() < 0.05,
            "lead {}",
            tt + 3.0 - m
        );
        assert!(c.resyncs() >= 1);
    }

    #[test]
    fn a_track_delivered_in_bursts_never_runs_out_after_the_first_burst() {
        // MPEG-TS from ffmpeg: a third of a second of audio at once, after the video.
        let burst: f64 = 0.34;
        let mut c = InputClock::default();
        let mut t: f64 = 0.0;
        let mut lowest_lead = f64::MAX;
        while t < 60.0 {
            let newest = (t / burst).floor() * burst;
            let m = c.update(secs(t), Some(newest)).unwrap();
            if t > 1.0 {
                lowest_lead = lowest_lead.min(newest - m);
            }
            t += 1.0 / 30.0;
        }
        assert!(
            (c.delay() - (burst + BURST_MARGIN)).abs() < 0.01,
            "delay {}",
            c.delay()
        );
        assert!(lowest_lead > 0.0, "ran out: lead down to {lowest_lead}");
        assert!((c.rate() - 1.0).abs() < 5e-4, "rate {}", c.rate());
        assert_eq!(c.resyncs(), 0);
    }

    #[test]
    fn a_stall_is_not_taken_for_a_burst() {
        let mut c = InputClock::default();
        let (t, _, newest) = run(&mut c, 1.0, 0.02, 0.0, 10.0);
        // 3 s without media, then the source goes on where it is now (a jump of 3 s).
        c.update(secs(t + 3.0), Some(newest + 3.0));
        assert!((c.delay() - PLAYOUT_DELAY).abs() < 1e-9, "{}", c.delay());
    }

    #[test]
    fn reads_far_apart_are_not_taken_for_bursts() {
        let mut c = InputClock::default();
        c.update(secs(1.0), Some(1.0));
        let m = c.update(secs(1.5), Some(1.5)).unwrap();
        assert!((c.delay() - PLAYOUT_DELAY).abs() < 1e-9, "{}", c.delay());
        assert!((m - (1.5 - PLAYOUT_DELAY)).abs() < 1e-3, "{m}");
    }

    #[test]
    fn reset_forgets_the_anchor() {
        let mut c = InputClock::default();
        c.update(secs(1.0), Some(5.0));
        c.reset();
        assert_eq!(c.media_at(secs(1.0)), None);
        let m = c.update(secs(2.0), Some(0.5)).unwrap();
        assert!((m - (0.5 - PLAYOUT_DELAY)).abs() < 1e-9);
    }
}
