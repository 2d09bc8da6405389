//! Retrying S3 calls through an outage.
//!
//! The SDK already retries each request a few times with its own backoff; that covers a dropped
//! connection or a throttled request. An outage lasts longer than that, so every call also runs
//! inside this outer loop, which waits with capped exponential backoff (0.5 s doubling to 10 s by
//! default) and tries again until the call succeeds, the failure needs a person, or the uploader
//! is told to give up at its shutdown deadline. Nothing is dropped while waiting: the data stays
//! in the spool or in the recorder's own file.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::watch;
use tracing::{debug, warn};

use vcs_job::control::error_chain;

use crate::error::{Failure, Location, UploadError};
use crate::status::Progress;

/// How a retried call ended.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    Done(T),
    /// The multipart upload the call referred to no longer exists.
    UploadVanished,
    /// A failure that retrying cannot fix.
    Fatal(UploadError),
    /// The uploader gave up waiting (shutdown deadline).
    Cancelled,
}

impl<T> Outcome<T> {
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Done(value) => Outcome::Done(f(value)),
            Outcome::UploadVanished => Outcome::UploadVanished,
            Outcome::Fatal(error) => Outcome::Fatal(error),
            Outcome::Cancelled => Outcome::Cancelled,
        }
    }
}

/// What the retry loop needs from the uploader.
pub(crate) struct RetryContext<'a> {
    pub progress: &'a Progress,
    pub cancel: watch::Receiver<bool>,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

/// Runs `attempt` until it succeeds, needs a person, finds its upload gone, or is cancelled.
/// `what` names the operation in logs ("upload part 3").
pub(crate) async fn until_done<T, F, Fut>(
    ctx: &mut RetryContext<'_>,
    what: &str,
    location: &Location,
    mut attempt: F,
) -> Outcome<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut backoff = capped_backoff(ctx.initial_backoff, ctx.max_backoff);
    let mut failures = 0u32;
    loop {
        if *ctx.cancel.borrow() {
            return Outcome::Cancelled;
        }
        let error = match attempt().await {
            Ok(value) => {
                if failures > 0 {
                    debug!(%location, what, failures, "S3 call succeeded after retries");
                    ctx.progress.end_retrying();
                }
                return Outcome::Done(value);
            }
            Err(Failure::UploadVanished) => return Outcome::UploadVanished,
            Err(Failure::Fatal(error)) => return Outcome::Fatal(error),
            Err(Failure::Retry(error)) => error,
        };
        failures += 1;
        let delay = backoff.next().unwrap_or(ctx.max_backoff);
        // Warn on the first failure and then about every minute at the cap, not on every try.
        if failures == 1 || failures.is_multiple_of(6) {
            warn!(%location, what, failures, retry_in = ?delay, cause = %error_chain(&error), "S3 call failed; will retry");
        } else {
            debug!(%location, what, failures, retry_in = ?delay, cause = %error_chain(&error), "S3 call failed; will retry");
        }
        ctx.progress.record_retry(&error);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ctx.cancel.wait_for(|cancelled| *cancelled) => return Outcome::Cancelled,
        }
    }
}

/// Waits of `initial`, doubling each failure, never above `max`, for ever (no jitter: one
/// recorder retrying one store does not need spreading out).
pub(crate) fn capped_backoff(initial: Duration, max: Duration) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::new()
        .with_min_delay(initial.min(max))
        .with_max_delay(max)
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_the_cap() {
        let backoff = capped_backoff(Duration::from_millis(500), Duration::from_secs(10));
        let delays: Vec<u64> = backoff.take(8).map(|d| d.as_millis() as u64).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
    }
}
