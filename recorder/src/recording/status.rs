//! What a recording tells its controller while it runs: the [`JobStatus`] snapshot it keeps
//! current, and the measured frame rate in it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vcs_job::control::{JobState, JobStatus};

/// The status snapshot a recording keeps current for its controller.
pub type SharedStatus = Arc<Mutex<JobStatus>>;

/// Sets the state (and whatever else `f` changes) under the lock.
pub(crate) fn set_state(status: &SharedStatus, state: JobState, f: impl FnOnce(&mut JobStatus)) {
    let mut s = status.lock().expect("status lock");
    s.state = state;
    f(&mut s);
}

/// Encoded frames per second over the last few seconds.
#[derive(Default)]
pub(crate) struct FpsMeter {
    window: VecDeque<(Instant, u64)>,
}

impl FpsMeter {
    pub(crate) fn tick(&mut self, now: Instant, frames: u64) {
        self.window.push_back((now, frames));
        while self
            .window
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(3))
        {
            self.window.pop_front();
        }
    }

    pub(crate) fn fps(&self) -> f64 {
        let (Some((first, _)), Some((last, _))) = (self.window.front(), self.window.back()) else {
            return 0.0;
        };
        let span = last.duration_since(*first).as_secs_f64();
        if span <= 0.0 {
            return 0.0;
        }
        let frames: u64 = self.window.iter().skip(1).map(|(_, f)| f).sum();
        frames as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_meter_counts_frames_per_second() {
        let mut m = FpsMeter::default();
        let t0 = Instant::now();
        for i in 0..=60 {
            m.tick(t0 + Duration::from_millis(i * 1000 / 30), 1);
        }
        assert!((m.fps() - 30.0).abs() < 0.6, "{}", m.fps());
    }
}
