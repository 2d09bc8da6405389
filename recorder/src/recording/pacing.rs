//! When the next output frame is due, for live jobs that run at real time.
//!
//! Frame `n` is due at `start + n / fps`. A recorder that falls behind (a slow frame, a busy
//! machine) renders one fresh frame for the newest due tick and repeats it for the ticks it
//! skipped, so video time stays locked to audio and wall time; the skipped ticks are counted as
//! dropped frames.
//!
//! `start` is when the first frame was made, not when the recording was set up: the first frame
//! takes a few hundred milliseconds more than the others (the composition's first layout, the
//! first rasterisation of the graphics, the encoder's start; 190 ms at 1080p with nine inputs),
//! which counted from set-up made the next ticks late and repeated frame 0 for them. Before the
//! first frame there is no recording to lack frames; that wait is the start latency.
//!
//! The first seconds after it carry more start-up: inputs connecting one by one, each a new
//! layout of the composition and new graphics to rasterise, the decoders' first frames. On a
//! busy machine (three recordings starting at once on 2 cores) those frames took 60-160 ms each,
//! a few in a row, and the 100 ms of slack for jitter repeated 3-4 frames in every recording at
//! about 0.3 s. So for [`STARTUP`] a frame may be up to [`STARTUP_SLACK`] late: the recorder
//! falls behind for a moment and catches up (a warm frame takes a few milliseconds), every frame
//! made for its own tick from the inputs' frames and audio at that tick, which the input stores
//! keep for seconds. After it, the jitter slack holds again, and a machine that cannot keep up
//! still skips ticks.

use std::time::{Duration, Instant};

/// What the frame loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// The next frame is not due yet.
    Wait(Duration),
    /// Render a frame for the next tick; `skipped` earlier ticks get a copy of it and count as
    /// dropped.
    Render { skipped: u64 },
}

/// How late a frame may be before ticks are skipped: scheduling jitter.
const SLACK: Duration = Duration::from_millis(100);

/// How long after the first frame start-up may still make frames late (see the module doc).
const STARTUP: Duration = Duration::from_secs(2);

/// How late a frame due within [`STARTUP`] may be before ticks are skipped.
const STARTUP_SLACK: Duration = Duration::from_millis(500);

/// Real-time frame pacing from a fixed start.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    fps: u32,
}

impl Pacer {
    pub fn new(start: Instant, fps: u32) -> Self {
        Self { start, fps }
    }

    /// When frame `n` is due.
    pub fn due(&self, n: u64) -> Instant {
        self.start + Duration::from_nanos((n as u128 * 1_000_000_000 / self.fps as u128) as u64)
    }

    /// Frame 0 was made at `now`: real time counts from here (see the module doc).
    pub fn first_frame_made(&mut self, now: Instant) {
        self.start = now;
    }

    /// Real time since the start, at `now`.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }

    /// What to do at `now` when `next` is the next frame number to produce.
    pub fn tick(&self, next: u64, now: Instant) -> Tick {
        let due = self.due(next);
        if now < due {
            return Tick::Wait(due - now);
        }
        let late = now - due;
        let slack = if due - self.start < STARTUP {
            STARTUP_SLACK
        } else {
            SLACK
        };
        if late <= slack {
            return Tick::Render { skipped: 0 };
        }
        // The newest tick that is already due; everything before it is skipped.
        let newest = ((now - self.start).as_nanos() * self.fps as u128 / 1_000_000_000) as u64;
        Tick::Render {
            skipped: newest.saturating_sub(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_due_then_renders() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, 30);
        assert_eq!(p.tick(0, t0), Tick::Render { skipped: 0 });
        frame_1_waits_a_tick_then_renders(&p, t0);
    }

    /// With frame 0 made at `t0`, frame 1 waits one 30 fps tick and renders 40 ms on.
    fn frame_1_waits_a_tick_then_renders(p: &Pacer, t0: Instant) {
        match p.tick(1, t0) {
            Tick::Wait(d) => assert!((33..=34).contains(&d.as_millis()), "{d:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p.tick(1, t0 + Duration::from_millis(40)),
            Tick::Render { skipped: 0 }
        );
    }

    #[test]
    fn small_lateness_is_absorbed_large_lateness_skips_to_now() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, 25);
        // Frame 100 is due at 4 s, after start-up; 80 ms late is jitter.
        assert_eq!(
            p.tick(100, t0 + Duration::from_millis(4080)),
            Tick::Render { skipped: 0 }
        );
        // At 4200 ms frame 105 is due: frames 100..105 are skipped.
        assert_eq!(
            p.tick(100, t0 + Duration::from_millis(4200)),
            Tick::Render { skipped: 5 }
        );
    }

    #[test]
    fn start_up_may_fall_further_behind_before_ticks_are_skipped() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, 25);
        // Frame 10 is due at 400 ms, within start-up: 400 ms late, it catches up.
        assert_eq!(
            p.tick(10, t0 + Duration::from_millis(800)),
            Tick::Render { skipped: 0 }
        );
        // 600 ms late is more than start-up may take: at 1000 ms frame 25 is due.
        assert_eq!(
            p.tick(10, t0 + Duration::from_millis(1000)),
            Tick::Render { skipped: 15 }
        );
        // The last tick due within start-up (frame 49, at 1960 ms) still has its slack; the
        // first after it (frame 50, at 2000 ms) has not: 400 ms late, frames 50..60 are skipped.
        let last = (STARTUP.as_millis() as u64 * 25 / 1000) - 1;
        let late = |n: u64, ms: u64| p.due(n) + Duration::from_millis(ms);
        assert_eq!(p.tick(last, late(last, 400)), Tick::Render { skipped: 0 });
        assert_eq!(
            p.tick(last + 1, late(last + 1, 400)),
            Tick::Render { skipped: 10 }
        );
    }

    #[test]
    fn a_slow_first_frame_is_start_up_not_skipped_ticks() {
        let t0 = Instant::now();
        let made = t0 + Duration::from_millis(700);
        let mut p = Pacer::new(t0, 30);
        // Counted from set-up, frame 1 is 667 ms late right after frame 0: ticks skipped.
        assert_eq!(p.tick(1, made), Tick::Render { skipped: 20 });
        p.first_frame_made(made);
        assert_eq!(p.elapsed(made), Duration::ZERO);
        frame_1_waits_a_tick_then_renders(&p, made);
    }

    #[test]
    fn due_times_do_not_drift() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, 30);
        assert_eq!(p.due(30 * 3600) - t0, Duration::from_secs(3600));
    }
}
