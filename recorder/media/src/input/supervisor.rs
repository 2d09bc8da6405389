//! The reconnect decision for one live input, as a pure state machine over plain data and
//! instants (no pipeline, no clock of its own), so every rule is unit-tested.
//!
//! ```text
//!            media                      no media for stall_after, error, or EOS
//! Connecting ─────► Live ◄──────────────────────────────────────────────┐   │
//!     │              │ ───────────────────────────────────────────────► Stalled
//!     │ no media for connect_timeout, error, EOS        media (after a  │ ▲ retry_at: Rebuild
//!     └──────────────────────────────────────────────► Stalled ◄────────┘ │ (backoff doubles
//!                                                                          ┘  to max_backoff)
//! finite source (file, http) EOS ─► Ended (the last frame stays; no retry)
//! ```
//!
//! The backoff starts at `first_backoff`, doubles per failed attempt up to `max_backoff`, and goes
//! back to `first_backoff` once the source has been live for `reset_after`.

use std::time::{Duration, Instant};

use backon::ExponentialBackoff;
use vcs_job::control::InputState;

/// Timings of the reconnect policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// A live source with no media for this long is stalled (shown paused) and rebuilt.
    pub stall_after: Duration,
    /// An attempt that has produced no media after this long has failed.
    pub connect_timeout: Duration,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Live this long → the next loss starts again from `first_backoff`.
    pub reset_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            stall_after: Duration::from_secs(2),
            // Generous: a camera's first keyframe over RTSP can take a few seconds.
            connect_timeout: Duration::from_secs(8),
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            reset_after: Duration::from_secs(10),
        }
    }
}

impl Policy {
    fn backoff(&self) -> ExponentialBackoff {
        crate::backoff::capped(self.first_backoff, self.max_backoff)
    }
}

/// Something that happened to the current attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Time passed (the supervisor checks timeouts).
    Tick,
    /// A decoded buffer arrived.
    Media,
    /// The pipeline posted an error, or could not be built.
    Failed(String),
    /// The pipeline reached end of stream.
    Eos,
}

/// What the caller must do with the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do.
    Keep,
    /// Tear the current pipeline down (a retry comes later).
    Teardown,
    /// Build a new pipeline now (tearing down any old one).
    Rebuild,
}

/// Where one live input is and when to try again.
#[derive(Debug)]
pub struct Supervisor {
    policy: Policy,
    finite: bool,
    state: InputState,
    retries: u64,
    last_error: Option<String>,
    /// The waits before the next attempts.
    backoff: ExponentialBackoff,
    /// When the running attempt was built; `None` while torn down.
    attempt_started: Option<Instant>,
    last_media: Option<Instant>,
    live_since: Option<Instant>,
    retry_at: Option<Instant>,
}

impl Supervisor {
    /// A supervisor whose first attempt was built at `now`. `finite` sources (files) end instead
    /// of being retried at EOS.
    pub fn new(policy: Policy, finite: bool, now: Instant) -> Self {
        Self {
            policy,
            finite,
            state: InputState::Connecting,
            retries: 0,
            last_error: None,
            backoff: policy.backoff(),
            attempt_started: Some(now),
            last_media: None,
            live_since: None,
            retry_at: None,
        }
    }

    pub fn state(&self) -> InputState {
        self.state
    }

    /// Rebuilds so far.
    pub fn retries(&self) -> u64 {
        self.retries
    }

    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// When the next rebuild is due, if one is scheduled.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Applies `event` at `now` and says what to do with the pipeline.
    pub fn step(&mut self, now: Instant, event: Event) -> Action {
        if self.state == InputState::Ended {
            return Action::Keep;
        }
        match event {
            Event::Media => {
                if self.attempt_started.is_none() {
                    return Action::Keep; // a late buffer from a torn-down pipeline
                }
                self.last_media = Some(now);
                if self.state != InputState::Live {
                    self.state = InputState::Live;
                    self.live_since = Some(now);
                }
                Action::Keep
            }
            Event::Failed(error) => self.fail(now, error),
            Event::Eos if self.finite => {
                self.state = InputState::Ended;
                self.retry_at = None;
                Action::Keep
            }
            Event::Eos => self.fail(now, "the source ended".into()),
            Event::Tick => self.tick(now),
        }
    }

    fn tick(&mut self, now: Instant) -> Action {
        if let Some(at) = self.retry_at {
            if now < at {
                return Action::Keep;
            }
            self.retry_at = None;
            self.retries += 1;
            self.attempt_started = Some(now);
            self.last_media = None;
            return Action::Rebuild;
        }
        let Some(started) = self.attempt_started else {
            return Action::Keep;
        };
        match (self.state, self.last_media) {
            (InputState::Live, Some(last)) => {
                if now.duration_since(last) >= self.policy.stall_after {
                    let secs = self.policy.stall_after.as_secs_f32();
                    return self.fail(now, format!("no media for {secs} s"));
                }
                if self
                    .live_since
                    .is_some_and(|since| now.duration_since(since) >= self.policy.reset_after)
                {
                    self.backoff = self.policy.backoff();
                }
                Action::Keep
            }
            _ if now.duration_since(started) >= self.policy.connect_timeout => {
                let secs = self.policy.connect_timeout.as_secs_f32();
                self.fail(now, format!("no media within {secs} s of connecting"))
            }
            _ => Action::Keep,
        }
    }

    fn fail(&mut self, now: Instant, error: String) -> Action {
        if self.attempt_started.is_none() {
            // Already torn down and waiting: a late message from the old pipeline.
            return Action::Keep;
        }
        self.state = InputState::Stalled;
        self.last_error = Some(error);
        self.attempt_started = None;
        self.last_media = None;
        self.live_since = None;
        let wait = self.backoff.next().unwrap_or(self.policy.max_backoff);
        self.retry_at = Some(now + wait);
        Action::Teardown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Runs `events` (offset from start, event) and returns the actions taken.
    fn run(sup: &mut Supervisor, t0: Instant, events: &[(u64, Event)]) -> Vec<Action> {
        events
            .iter()
            .map(|(at, e)| sup.step(t0 + ms(*at), e.clone()))
            .collect()
    }

    #[test]
    fn first_media_makes_the_input_live() {
        let t0 = Instant::now();
        let mut s = Supervisor::new(Policy::default(), false, t0);
        assert_eq!(s.state(), InputState::Connecting);
        assert_eq!(s.step(t0 + ms(300), Event::Media), Action::Keep);
        assert_eq!(s.state(), InputState::Live);
        assert_eq!(s.retries(), 0);
    }

    #[test]
    fn silence_for_stall_after_stalls_and_schedules_a_retry_after_the_backoff() {
        let t0 = Instant::now();
        let mut s = Supervisor::new(Policy::default(), false, t0);
        let actions = run(
            &mut s,
            t0,
            &[
                (100, Event::Media),
                (2000, Event::Tick), // 1.9 s of silence: still live
                (2100, Event::Tick), // 2.0 s: stalled
                (2500, Event::Tick), // backoff 0.5 s not over
                (2600, Event::Tick), // rebuild
            ],
        );
        use Action::*;
        assert_eq!(actions, [Keep, Keep, Teardown, Keep, Rebuild]);
        assert_eq!(s.state(), InputState::Stalled);
        assert_eq!(s.retries(), 1);
        assert_eq!(s.last_error(), Some("no media for 2 s"));
        // Media from the new attempt: live again.
        s.step(t0 + ms(3000), Event::Media);
        assert_eq!(s.state(), InputState::Live);
    }

    #[test]
    fn backoff_doubles_per_failed_attempt_up_to_the_cap() {
        let t0 = Instant::now();
        let mut s = Supervisor::new(Policy::default(), false, t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..7 {
            assert_eq!(
                s.step(now, Event::Failed("refused".into())),
                Action::Teardown
            );
            let at = s.retry_at().unwrap();
            waits.push(at.duration_since(now).as_millis());
            now = at;
            assert_eq!(s.step(now, Event::Tick), Action::Rebuild);
        }
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
        assert_eq!(s.retries(), 7);
        assert_eq!(s.state(), InputState::Stalled);
        assert_eq!(s.last_error(), Some("refused"));
    }

    #[test]
    fn backoff_resets_after_being_live_for_a_while() {
        let t0 = Instant::now();
        let p = Policy::default();
        let mut s = Supervisor::new(p, false, t0);
        // Three quick failures push the backoff to 4 s.
        let mut now = t0;
        for _ in 0..3 {
            s.step(now, Event::Failed("x".into()));
            now = s.retry_at().unwrap();
            s.step(now, Event::Tick);
        }
        // Live for reset_after, with media flowing.
        let live = now + ms(100);
        let mut t = live;
        while t <= live + p.reset_after {
            s.step(t, Event::Media);
            s.step(t, Event::Tick);
            t += ms(500);
        }
        s.step(t, Event::Failed("lost".into()));
        assert_eq!(s.retry_at().unwrap().duration_since(t), p.first_backoff);
    }

    #[test]
    fn a_short_live_spell_keeps_the_backoff_growing() {
        let t0 = Instant::now();
        let mut s = Supervisor::new(Policy::default(), false, t0);
        s.step(t0, Event::Failed("x".into()));
        let now = s.retry_at().unwrap();
        s.step(now, Event::Tick);
        s.step(now + ms(100), Event::Media);
        s.step(now + ms(1000), Event::Failed("lost".into()));
        assert_eq!(
            s.retry_at().unwrap().duration_since(now + ms(1000)),
            ms(1000)
        );
    }

    #[test]
    fn an_attempt_without_media_times_out() {
        let t0 = Instant::now();
        let p = Policy::default();
        let mut s = Supervisor::new(p, false, t0);
        assert_eq!(
            s.step(t0 + p.connect_timeout - ms(1), Event::Tick),
            Action::Keep
        );
        assert_eq!(
            s.step(t0 + p.connect_timeout, Event::Tick),
            Action::Teardown
        );
        assert_eq!(s.state(), InputState::Stalled);
        assert!(s.last_error().unwrap().contains("within 8 s"));
    }

    #[test]
    fn eos_ends_a_file_but_is_a_loss_for_a_stream() {
        let t0 = Instant::now();
        let mut file = Supervisor::new(Policy::default(), true, t0);
        file.step(t0, Event::Media);
        assert_eq!(file.step(t0 + ms(10), Event::Eos), Action::Keep);
        assert_eq!(file.state(), InputState::Ended);
        // Ended is final: no stall, no retry.
        assert_eq!(file.step(t0 + ms(60_000), Event::Tick), Action::Keep);
        assert_eq!(file.state(), InputState::Ended);

        let mut stream = Supervisor::new(Policy::default(), false, t0);
        stream.step(t0, Event::Media);
        assert_eq!(stream.step(t0 + ms(10), Event::Eos), Action::Teardown);
        assert_eq!(stream.state(), InputState::Stalled);
        assert_eq!(stream.last_error(), Some("the source ended"));
    }

    #[test]
    fn late_messages_from_a_torn_down_pipeline_are_ignored() {
        let t0 = Instant::now();
        let mut s = Supervisor::new(Policy::default(), false, t0);
        s.step(t0, Event::Failed("first".into()));
        let retry = s.retry_at();
        assert_eq!(
            s.step(t0 + ms(10), Event::Failed("second".into())),
            Action::Keep
        );
        assert_eq!(s.step(t0 + ms(10), Event::Media), Action::Keep);
        assert_eq!(s.retry_at(), retry);
        assert_eq!(s.state(), InputState::Stalled);
        assert_eq!(s.last_error(), Some("first"));
    }
}
