//! One clock per live input: maps the recording's time `t` (the input's own 0 when it joined) to
//! the input's media time (its buffers' PTS, as pipeline running time), so that the video frame
//! shown and the audio heard at each output tick come from the same instant at the source.
//!
//! ```text
//! media(t) = anchor.media + (t − anchor.t) · rate
//!
//! first media ─► anchor: media(t) = newest − PLAYOUT_DELAY   (one delay for both tracks)
//! every read  ─► lead = newest − media(t)                    (what is buffered ahead, per input:
//!                 │                                            the track that arrives last counts)
//!                 ├─ fresh media still behind by RESYNC_BEHIND, the lowest lead lately below
//!                 │  0 (media arriving after its time was played), or the average lead past
//!                 │  PLAYOUT_DELAY + RESYNC_AHEAD ─► re-anchor (a jump: late start, a source
//!                 │  that restarted its timestamps, a burst after a stall)
//!                 └─ else rate = 1 + GAIN · (lowest lead lately − PLAYOUT_DELAY), within ±MAX_SKEW
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
//! - The rate follows the *lowest* lead of late, not its average: a source that delivers in
//!   bursts has a lead that saws down between them, and every instant it is below 0 is media
//!   played before it arrived (lost). MPEG-TS from ffmpeg (SRT, and OBS, which muxes with it)
//!   packs about 360 ms of AAC per PES packet: anchored just after one arrived, the lead saws
//!   from 150 ms to −210 ms and the audio of each dip was lost (issue 21: beeps missing from
//!   SRT recordings). For a steady source the lowest lead is the average within a chunk.
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
/// How fast the lowest lead may rise toward the current lead, seconds per second: slow enough
/// to hold a dip across bursts (about 18 ms over a 360 ms one), fast enough to let latency go
/// once a burstier stretch is over.
const LOW_RISE: f64 = 0.05;
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
    /// The lowest lead of late (rising by [`LOW_RISE`] per second toward the current one).
    lead_low: f64,
    /// `lead_low` averaged like `lead_avg` (it jumps at each new dip): what the rate follows.
    low_avg: f64,
    last_t: f64,
    /// The newest media time seen, and the recording time it was first seen at.
    newest: Option<(f64, f64)>,
    /// Re-anchors after the first anchor (late bursts, jumps).
    resyncs: u64,
}

impl InputClock {
    /// Forgets the mapping (a new pipeline starts its timestamps again).
    pub fn reset(&mut self) {
        *self = InputClock {
            resyncs: self.resyncs,
            ..InputClock::default()
        };
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
        let fresh = match self.newest {
            Some((n, _)) if newest == n => false,
            _ => {
                self.newest = Some((newest, ts));
                true
            }
        };
        let stalled = self
            .newest
            .is_some_and(|(_, since)| ts - since > STALLED_AFTER);
        let Some(now) = self.media_at(t) else {
            self.anchor_at(ts, newest);
            return self.media_at(t);
        };
        let lead = newest - now;
        if fresh {
            self.lead_avg += (lead - self.lead_avg) * dt / (dt + LEAD_SMOOTHING);
        }
        if !stalled {
            // Every read counts: the dips come between arrivals.
            self.lead_low = lead.min(self.lead_low + LOW_RISE * dt);
            self.low_avg += (self.lead_low - self.low_avg) * dt / (dt + LEAD_SMOOTHING);
        }
        if (fresh && lead < -RESYNC_BEHIND) || self.lead_avg > PLAYOUT_DELAY + RESYNC_AHEAD {
            self.resyncs += 1;
            self.anchor_at(ts, newest);
        } else if fresh && self.lead_low < 0.0 {
            // Media played before it arrived (lost): step back by what was missing, once, as
            // bursts are first met; then the rate keeps the dips at the playout delay.
            self.resyncs += 1;
            let back = PLAYOUT_DELAY - self.lead_low;
            self.anchor = Some(Anchor {
                t: ts,
                media: now - back,
            });
            self.rate = 1.0;
            self.lead_avg += back;
            self.lead_low = PLAYOUT_DELAY;
            self.low_avg = PLAYOUT_DELAY;
        } else if !stalled {
            let rate = 1.0 + (GAIN * (self.low_avg - PLAYOUT_DELAY)).clamp(-MAX_SKEW, MAX_SKEW);
            // Re-based at t, so media_at stays continuous when the rate changes.
            self.anchor = Some(Anchor { t: ts, media: now });
            self.rate = rate;
        }
        self.media_at(t)
    }

    fn anchor_at(&mut self, t: f64, newest: f64) {
        self.anchor = Some(Anchor {
            t,
            media: newest - PLAYOUT_DELAY,
        });
        self.rate = 1.0;
        self.lead_avg = PLAYOUT_DELAY;
        self.lead_low = PLAYOUT_DELAY;
        self.low_avg = PLAYOUT_DELAY;
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
        let m = c.update(secs(2.5), Some(10.5)).unwrap();
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
    fn media_in_bursts_is_never_played_before_it_arrives() {
        // 362 ms of media at a time (17 AAC frames per PES, as ffmpeg muxes MPEG-TS), the first
        // burst met just after it arrived: one re-anchor, then the lead never dips below 0.
        let chunk = 17.0 * 1024.0 / 48000.0;
        let mut c = InputClock::default();
        run(&mut c, 1.0, chunk, 0.0, 5.0);
        let resyncs = c.resyncs();
        assert!(resyncs <= 1, "{resyncs} re-anchors in 5 s");
        let mut t = 5.0;
        let mut lowest = f64::INFINITY;
        while t < 65.0 {
            let newest = (t / chunk).floor() * chunk;
            let m = c.update(secs(t), Some(newest)).unwrap();
            lowest = lowest.min(newest - m);
            t += 1.0 / 30.0;
        }
        assert!(
            lowest >= 0.0,
            "media played {:.0} ms before it came",
            -lowest * 1000.0
        );
        assert_eq!(
            c.resyncs(),
            resyncs,
            "re-anchored again after the first burst"
        );
        assert!((c.rate() - 1.0).abs() < 1e-3, "rate {}", c.rate());
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
    fn reset_forgets_the_anchor() {
        let mut c = InputClock::default();
        c.update(secs(1.0), Some(5.0));
        c.reset();
        assert_eq!(c.media_at(secs(1.0)), None);
        let m = c.update(secs(2.0), Some(0.5)).unwrap();
        assert!((m - (0.5 - PLAYOUT_DELAY)).abs() < 1e-9);
    }
}
