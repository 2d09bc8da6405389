//! The one reconnect backoff of both supervisors (inputs and outputs): capped exponential, no
//! jitter (one recorder retrying its own sources does not need spreading out), built on
//! `backon`, which `vcs-upload` uses for its S3 retries too.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// Waits of `first`, doubling each time, never above `max`, for ever.
pub(crate) fn capped(first: Duration, max: Duration) -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_min_delay(first.min(max))
        .with_max_delay(max)
        .without_max_times()
        .build()
}
