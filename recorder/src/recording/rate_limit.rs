//! One warning line per interval for something that can happen every frame (a composition that
//! fails 30 times a second would otherwise flood the log), saying how many were not logged.

use std::time::{Duration, Instant};

/// Lets the first event through, then at most one per `interval`.
#[derive(Debug)]
pub(crate) struct RateLimit {
    interval: Duration,
    last: Option<Instant>,
    /// Events since the last one let through.
    suppressed: u64,
}

impl RateLimit {
    pub(crate) fn new(interval: Duration) -> Self {
        RateLimit {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when this event should be logged, `n` being how many were not since the last.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_passes_then_one_per_interval_with_the_count_skipped() {
        let mut r = RateLimit::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(r.allow(t0), Some(0));
        for i in 1..30 {
            assert_eq!(r.allow(t0 + Duration::from_millis(i * 33)), None);
        }
        assert_eq!(r.allow(t0 + Duration::from_secs(5)), Some(29));
        assert_eq!(r.allow(t0 + Duration::from_secs(6)), None);
    }
}
