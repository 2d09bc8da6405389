//! A warning when an input's lip sync is off by more than a frame: each input's measured A/V
//! offset ([`InputStatus::av_offset_ms`]) is checked as the status is refreshed, and a warning
//! event is logged when it crosses one frame, once per crossing (again only after it came back
//! within half a frame, so an offset hovering at the limit does not flood the log).

use std::collections::BTreeSet;

use vcs_job::control::{InputStatus, TrackKind};

/// The inputs currently warned about.
#[derive(Debug, Default)]
pub struct SyncWatch {
    /// (participant, track as it reads in logs).
    warned: BTreeSet<(String, String)>,
}

impl SyncWatch {
    /// Returns the inputs whose offset just went past one frame at `fps` (and logs each).
    pub fn observe(&mut self, inputs: &[InputStatus], fps: u32) -> Vec<(String, TrackKind, f64)> {
        let frame_ms = 1000.0 / f64::from(fps.max(1));
        let mut crossed = Vec::new();
        for input in inputs {
            let Some(offset) = input.av_offset_ms else {
                continue;
            };
            let key = (input.participant.clone(), format!("{:?}", input.track));
            if offset.abs() > frame_ms {
                if self.warned.insert(key) {
                    tracing::warn!(
                        participant = %input.participant,
                        track = ?input.track,
                        offset_ms = offset,
                        frame_ms,
                        "lip sync: audio is off its video by more than a frame (positive: audio late)"
                    );
                    crossed.push((input.participant.clone(), input.track, offset));
                }
            } else if offset.abs() <= frame_ms / 2.0 {
                self.warned.remove(&key);
            }
        }
        crossed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcs_job::control::InputState;

    fn input(offset: Option<f64>) -> InputStatus {
        InputStatus {
            participant: "alice".into(),
            track: TrackKind::Camera,
            state: InputState::Live,
            retries: 0,
            last_error: None,
            av_offset_ms: offset,
        }
    }

    #[test]
    fn warns_once_per_crossing_of_a_frame() {
        let mut w = SyncWatch::default();
        assert!(w.observe(&[input(Some(-10.0))], 30).is_empty());
        assert_eq!(w.observe(&[input(Some(-40.0))], 30).len(), 1);
        // Still off, or back just under a frame: no new warning.
        assert!(w.observe(&[input(Some(-50.0))], 30).is_empty());
        assert!(w.observe(&[input(Some(-30.0))], 30).is_empty());
        assert!(w.observe(&[input(Some(-40.0))], 30).is_empty());
        // Back within half a frame, then off again: warned again.
        assert!(w.observe(&[input(Some(0.0))], 30).is_empty());
        assert_eq!(w.observe(&[input(Some(45.0))], 30).len(), 1);
        assert!(w.observe(&[input(None)], 30).is_empty());
    }
}
