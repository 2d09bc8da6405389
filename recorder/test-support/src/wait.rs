//! Waiting on a condition instead of sleeping: tests run on a loaded two-core machine, so they
//! poll for what they expect with a generous deadline rather than guess how long it takes.

use std::time::{Duration, Instant};

/// What a condition polled by [`wait_for`] returns: `bool` (true when met) or `Option<T>`
/// (`Some` when met, and then the value is returned).
pub trait Ready {
    type Value;
    fn ready(self) -> Option<Self::Value>;
}

impl Ready for bool {
    type Value = ();
    fn ready(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Ready for Option<T> {
    type Value = T;
    fn ready(self) -> Option<T> {
        self
    }
}

/// Polls `condition` every 50 ms until it is met and returns its value; panics naming `what`
/// once `timeout` has passed.
///
/// ```
/// # use std::time::Duration;
/// let mut n = 0;
/// vcs_test_support::wait_for("the counter to reach 3", Duration::from_secs(5), || {
///     n += 1;
///     n >= 3
/// });
/// let found = vcs_test_support::wait_for("a value", Duration::from_secs(5), || Some(42));
/// assert_eq!(found, 42);
/// ```
pub fn wait_for<R: Ready>(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> R,
) -> R::Value {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = condition().ready() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
