//! Audio mixing and the active speaker, as plain functions over sample buffers.
//!
//! The recorder mixes in Rust rather than with GStreamer's `audiomixer`: each output frame pulls
//! exactly its share of samples from every input, so audio and video timestamps come from the
//! same frame counter (in sync by construction, offline and live alike), and the per-participant
//! levels the active-speaker choice needs fall out of the same pass.

use std::time::Duration;

/// Output sample rate; every input is resampled to it.
pub const SAMPLE_RATE: u64 = 48_000;
/// Interleaved stereo.
pub const CHANNELS: usize = 2;

// Which samples belong to which output frame is the encoder's definition
// (`vcs_media::sample_index`, `vcs_media::audio_samples_for_frame`), so the mix always hands it
// exactly the count it expects.
pub use vcs_media::encode::{
    audio_samples_for_frame as samples_for_frame, sample_index as sample_start,
};

/// Time of sample frame `s`.
pub fn sample_time(s: u64) -> Duration {
    Duration::from_nanos((s as u128 * 1_000_000_000 / SAMPLE_RATE as u128) as u64)
}

/// Adds `input` into `mix`, returning the input's RMS level (linear, 0..=1).
pub fn mix_in(mix: &mut [f32], input: &[f32]) -> f32 {
    debug_assert_eq!(mix.len(), input.len());
    let mut energy = 0.0f64;
    for (m, &s) in mix.iter_mut().zip(input) {
        *m += s;
        energy += (s as f64) * (s as f64);
    }
    if input.is_empty() {
        0.0
    } else {
        (energy / input.len() as f64).sqrt() as f32
    }
}

/// Keeps a summed mix inside [-1, 1]. A hard clip only where the sum overflows: speech from a
/// few people rarely does, and a limiter's pumping would be worse than a rare clipped peak.
pub fn clip(mix: &mut [f32]) {
    for s in mix {
        *s = s.clamp(-1.0, 1.0);
    }
}

/// A linear RMS level in dBFS (−100 for silence).
pub fn dbfs(rms: f32) -> f32 {
    if rms <= 1e-5 {
        -100.0
    } else {
        20.0 * rms.log10()
    }
}

/// Tuning for [`ActiveSpeaker`].
#[derive(Debug, Clone, Copy)]
pub struct SpeakerTuning {
    /// Below this smoothed level nobody is speaking.
    pub speech_dbfs: f32,
    /// A challenger must be this much louder than the current speaker...
    pub margin_db: f32,
    /// ...for this long before the speaker changes (hysteresis against flapping).
    pub hold: Duration,
    /// Level smoothing time constant.
    pub smoothing: Duration,
}

impl Default for SpeakerTuning {
    fn default() -> Self {
        Self {
            speech_dbfs: -45.0,
            margin_db: 6.0,
            hold: Duration::from_millis(800),
            smoothing: Duration::from_millis(300),
        }
    }
}

/// Chooses who is speaking from per-participant levels, with hysteresis: the speaker changes only
/// when someone else has been clearly louder (or the speaker silent while they talk) for
/// `hold`. When everyone falls silent the last speaker stays, as people expect in a call.
#[derive(Debug, Clone)]
pub struct ActiveSpeaker {
    tuning: SpeakerTuning,
    smoothed: Vec<(String, f32)>,
    current: Option<String>,
    challenger: Option<(String, Duration)>,
}

impl ActiveSpeaker {
    pub fn new(tuning: SpeakerTuning) -> Self {
        Self {
            tuning,
            smoothed: Vec::new(),
            current: None,
            challenger: None,
        }
    }

    /// The current speaker's id.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// Feeds one frame's levels (dBFS per participant, `dt` of audio) and returns the speaker.
    /// Participants missing from `levels` have left and are forgotten.
    pub fn update(&mut self, levels: &[(&str, f32)], dt: Duration) -> Option<&str> {
        let alpha = (dt.as_secs_f32() / self.tuning.smoothing.as_secs_f32().max(1e-3)).min(1.0);
        self.smoothed
            .retain(|(id, _)| levels.iter().any(|(l, _)| l == id));
        for &(id, db) in levels {
            match self.smoothed.iter_mut().find(|(s, _)| s == id) {
                Some((_, level)) => *level += (db - *level) * alpha,
                None => self.smoothed.push((id.to_string(), db)),
            }
        }
        if let Some(cur) = &self.current
            && !self.smoothed.iter().any(|(id, _)| id == cur)
        {
            self.current = None;
        }
        let level_of = |id: &str| {
            self.smoothed
                .iter()
                .find(|(s, _)| s == id)
                .map(|(_, l)| *l)
                .unwrap_or(-100.0)
        };
        let loudest = self
            .smoothed
            .iter()
            .filter(|(_, l)| *l >= self.tuning.speech_dbfs)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, l)| (id.clone(), *l));
        let Some((candidate, level)) = loudest else {
            self.challenger = None;
            return self.current();
        };
        let wins = match &self.current {
            None => true,
            Some(cur) if *cur == candidate => {
                self.challenger = None;
                return self.current();
            }
            Some(cur) => {
                let cur_level = level_of(cur);
                cur_level < self.tuning.speech_dbfs || level >= cur_level + self.tuning.margin_db
            }
        };
        if !wins {
            self.challenger = None;
            return self.current();
        }
        let held = match &mut self.challenger {
            Some((id, held)) if *id == candidate => {
                *held += dt;
                *held
            }
            _ => {
                self.challenger = Some((candidate.clone(), dt));
                dt
            }
        };
        // The first speaker of a recording is taken at once; later changes wait out the hold.
        if self.current.is_none() || held >= self.tuning.hold {
            self.current = Some(candidate);
            self.challenger = None;
        }
        self.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(33);

    #[test]
    fn sample_counts_never_drift_from_video_time() {
        for fps in [24, 25, 30, 60] {
            let total: usize = (0..fps as u64 * 60)
                .map(|n| samples_for_frame(n, fps))
                .sum();
            assert_eq!(total as u64, SAMPLE_RATE * 60, "fps {fps}");
        }
        assert_eq!(samples_for_frame(0, 30), 1600);
        assert_eq!(sample_time(48_000), Duration::from_secs(1));
    }

    #[test]
    fn mixing_sums_and_reports_levels() {
        let mut mix = vec![0.0; 4];
        let rms = mix_in(&mut mix, &[0.5, -0.5, 0.5, -0.5]);
        assert!((rms - 0.5).abs() < 1e-6);
        mix_in(&mut mix, &[0.75, 0.0, 0.0, 0.0]);
        clip(&mut mix);
        assert_eq!(mix, vec![1.0, -0.5, 0.5, -0.5]);
        assert!((dbfs(0.5) + 6.02).abs() < 0.01);
        assert_eq!(dbfs(0.0), -100.0);
    }

    fn run(s: &mut ActiveSpeaker, levels: &[(&str, f32)], frames: usize) -> Option<String> {
        for _ in 0..frames {
            s.update(levels, FRAME);
        }
        s.current().map(str::to_string)
    }

    #[test]
    fn first_speaker_is_taken_at_once_and_kept_through_silence() {
        let mut s = ActiveSpeaker::new(SpeakerTuning::default());
        assert_eq!(run(&mut s, &[("a", -100.0), ("b", -100.0)], 5), None);
        assert_eq!(
            run(&mut s, &[("a", -20.0), ("b", -100.0)], 10).as_deref(),
            Some("a")
        );
        assert_eq!(
            run(&mut s, &[("a", -100.0), ("b", -100.0)], 60).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn a_brief_interruption_does_not_switch_but_a_sustained_one_does() {
        let mut s = ActiveSpeaker::new(SpeakerTuning::default());
        run(&mut s, &[("a", -20.0), ("b", -100.0)], 30);
        // b is louder for ~0.3 s only: a keeps the floor.
        assert_eq!(
            run(&mut s, &[("a", -20.0), ("b", -5.0)], 9).as_deref(),
            Some("a")
        );
        assert_eq!(
            run(&mut s, &[("a", -20.0), ("b", -100.0)], 30).as_deref(),
            Some("a")
        );
        // b is clearly louder for well over the hold: b takes over.
        assert_eq!(
            run(&mut s, &[("a", -20.0), ("b", -5.0)], 45).as_deref(),
            Some("b")
        );
    }

    #[test]
    fn similar_levels_do_not_flap() {
        let mut s = ActiveSpeaker::new(SpeakerTuning::default());
        run(&mut s, &[("a", -20.0), ("b", -100.0)], 30);
        for i in 0..300 {
            let (la, lb) = if i % 2 == 0 {
                (-20.0, -18.0)
            } else {
                (-18.0, -20.0)
            };
            assert_eq!(s.update(&[("a", la), ("b", lb)], FRAME), Some("a"));
        }
    }

    #[test]
    fn a_speaker_who_leaves_is_forgotten() {
        let mut s = ActiveSpeaker::new(SpeakerTuning::default());
        run(&mut s, &[("a", -20.0), ("b", -100.0)], 30);
        assert_eq!(run(&mut s, &[("b", -100.0)], 1), None);
        // b's level rises through the smoothing; with nobody holding the floor b takes it at once.
        assert_eq!(run(&mut s, &[("b", -20.0)], 20).as_deref(), Some("b"));
    }
}
