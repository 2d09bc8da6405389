//! The reconnect decision for one output, as a pure state machine over byte counts and instants
//! (no pipeline, no clock of its own), so every rule is unit-tested. Its input-side sibling is
//! `input::supervisor`.
//!
//! ```text
//!                    bytes beyond the mark
//!  Up (connecting) ───────────────────────► Up (connected: backoff back to the start)
//!        │   ▲                                    │
//!        │   │ rebuilt (mark = bytes so far)      │ error, unexpected EOS, or no bytes for
//!        │   │                                    │ stall_after while data waits
//!        ▼   │                                    ▼
//!        Down { retry_at } ◄──────────────────────┘  (wait 0.5 s doubling to 10 s)
//! ```
//!
//! Only outputs that reconnect (RTMP) go down and come back; a file output that fails has
//! failed, and so has any output that fails while finishing.

use std::time::{Duration, Instant};

use backon::ExponentialBackoff;

/// Timings of the reconnect policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Policy {
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// A connection that takes no data for this long while data waits is lost.
    pub stall_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            stall_after: Duration::from_secs(10),
        }
    }
}

impl Policy {
    fn backoff(&self) -> ExponentialBackoff {
        crate::backoff::capped(self.first_backoff, self.max_backoff)
    }
}

/// What [`Link::observe`] noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    Nothing,
    /// The pipeline's first bytes reached the destination.
    Connected,
    /// Nothing reached the destination for the stall time while data waited.
    Stalled,
}

#[derive(Debug)]
enum Phase {
    Up {
        /// Bytes counted before this pipeline started; more means it reached its destination.
        mark: u64,
        connected: bool,
        last_bytes: u64,
        last_flow: Instant,
    },
    Down {
        retry_at: Instant,
    },
}

/// Whether one output's pipeline is up, and when to try again when it is not.
#[derive(Debug)]
pub(crate) struct Link {
    policy: Policy,
    /// Errors are retried (RTMP) rather than failing the output.
    reconnects: bool,
    backoff: ExponentialBackoff,
    phase: Phase,
}

impl Link {
    /// The first pipeline started at `now`. Outputs that do not reconnect (files) count as
    /// connected from the start.
    pub(crate) fn new(policy: Policy, reconnects: bool, now: Instant) -> Link {
        Link {
            policy,
            reconnects,
            backoff: policy.backoff(),
            phase: Phase::Up {
                mark: 0,
                connected: !reconnects,
                last_bytes: 0,
                last_flow: now,
            },
        }
    }

    /// Bytes counted when the current pipeline started.
    pub(crate) fn mark(&self) -> u64 {
        match self.phase {
            Phase::Up { mark, .. } => mark,
            Phase::Down { .. } => 0,
        }
    }

    /// How long a connection may take nothing while data waits.
    pub(crate) fn stall_after(&self) -> Duration {
        self.policy.stall_after
    }

    /// When the next pipeline is due, while there is none.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Up { .. } => None,
            Phase::Down { retry_at } => Some(retry_at),
        }
    }

    /// Takes the byte count (`bytes`) and what waits to be sent (`queued`) at `now`. While
    /// `finishing` neither stalls nor connections count: a finishing output has its own deadline
    /// and stays finalising.
    pub(crate) fn observe(
        &mut self,
        now: Instant,
        bytes: u64,
        queued: u64,
        finishing: bool,
    ) -> Seen {
        let Phase::Up {
            mark,
            connected,
            last_bytes,
            last_flow,
        } = &mut self.phase
        else {
            return Seen::Nothing;
        };
        if bytes != *last_bytes {
            *last_bytes = bytes;
            *last_flow = now;
        }
        // A connection that neither errors nor takes data (server hung, packets dropped) is as
        // lost as one that failed.
        if self.reconnects
            && !finishing
            && now.duration_since(*last_flow) > self.policy.stall_after
            && queued > 0
        {
            return Seen::Stalled;
        }
        if !*connected && !finishing && bytes > *mark {
            *connected = true;
            self.backoff = self.policy.backoff();
            return Seen::Connected;
        }
        Seen::Nothing
    }

    /// The pipeline was lost at `now` (error, unexpected EOS, stall): the wait before the next
    /// one, or `None` when the output fails instead (it does not reconnect, or was finishing).
    pub(crate) fn lost(&mut self, now: Instant, finishing: bool) -> Option<Duration> {
        if !self.reconnects || finishing {
            return None;
        }
        Some(self.wait(now))
    }

    /// A new pipeline started at `now`, with `bytes` counted so far.
    pub(crate) fn rebuilt(&mut self, now: Instant, bytes: u64) {
        self.phase = Phase::Up {
            mark: bytes,
            connected: false,
            last_bytes: bytes,
            last_flow: now,
        };
    }

    /// Building the next pipeline failed at `now`: the wait before trying again.
    pub(crate) fn rebuild_failed(&mut self, now: Instant) -> Duration {
        self.wait(now)
    }

    fn wait(&mut self, now: Instant) -> Duration {
        let wait = self.backoff.next().unwrap_or(self.policy.max_backoff);
        self.phase = Phase::Down {
            retry_at: now + wait,
        };
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn an_rtmp_link_is_connected_once_bytes_pass_the_mark() {
        let t0 = Instant::now();
        let mut link = Link::new(Policy::default(), true, t0);
        assert_eq!(link.observe(t0 + ms(100), 0, 0, false), Seen::Nothing);
        assert_eq!(link.observe(t0 + ms(200), 4096, 0, false), Seen::Connected);
        assert_eq!(link.observe(t0 + ms(300), 8192, 0, false), Seen::Nothing);
        assert_eq!(link.retry_at(), None);
    }

    #[test]
    fn a_file_output_is_connected_from_the_start_and_fails_instead_of_retrying() {
        let t0 = Instant::now();
        let mut file = Link::new(Policy::default(), false, t0);
        assert_eq!(file.observe(t0 + ms(100), 4096, 0, false), Seen::Nothing);
        // Never stalls, however long the disk takes.
        assert_eq!(file.observe(t0 + ms(60_000), 4096, 1, false), Seen::Nothing);
        assert_eq!(file.lost(t0 + ms(60_000), false), None);
    }

    #[test]
    fn losses_wait_half_a_second_doubling_to_ten_and_rebuild_after_the_wait() {
        let t0 = Instant::now();
        let mut link = Link::new(Policy::default(), true, t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for attempt in 0..7 {
            let wait = if attempt % 2 == 0 {
                link.lost(now, false).unwrap()
            } else {
                link.rebuild_failed(now)
            };
            assert_eq!(link.retry_at(), Some(now + wait));
            waits.push(wait.as_millis());
            now += wait;
            link.rebuilt(now, 1000);
            assert_eq!(link.mark(), 1000);
        }
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
    }

    #[test]
    fn connecting_again_starts_the_backoff_over() {
        let t0 = Instant::now();
        let mut link = Link::new(Policy::default(), true, t0);
        for _ in 0..3 {
            link.lost(t0, false);
        }
        link.rebuilt(t0, 500);
        assert_eq!(link.observe(t0 + ms(10), 500, 0, false), Seen::Nothing);
        assert_eq!(link.observe(t0 + ms(20), 501, 0, false), Seen::Connected);
        assert_eq!(link.lost(t0 + ms(30), false), Some(ms(500)));
    }

    #[test]
    fn a_link_that_takes_nothing_while_data_waits_is_stalled() {
        let p = Policy::default();
        let t0 = Instant::now();
        let mut link = Link::new(p, true, t0);
        link.observe(t0, 100, 0, false);
        // Nothing waiting: idle, not stalled.
        assert_eq!(
            link.observe(t0 + p.stall_after * 2, 100, 0, false),
            Seen::Nothing
        );
        let mut link = Link::new(p, true, t0);
        link.observe(t0, 100, 0, false);
        assert_eq!(
            link.observe(t0 + p.stall_after, 100, 10, false),
            Seen::Nothing
        );
        assert_eq!(
            link.observe(t0 + p.stall_after + ms(1), 100, 10, false),
            Seen::Stalled
        );
        // While finishing, the finish deadline decides instead.
        let mut link = Link::new(p, true, t0);
        assert_eq!(
            link.observe(t0 + p.stall_after * 2, 0, 10, true),
            Seen::Nothing
        );
        assert_eq!(
            link.lost(t0, true),
            None,
            "a loss while finishing fails the output"
        );
    }
}
