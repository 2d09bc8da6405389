//! Leader election over a Lease, against the API server's compare-and-set.

use std::time::Duration;

use vcs_fake_kube::FakeApi;
use vcs_operator::leader::LeaderElector;

#[tokio::test]
async fn one_holder_at_a_time_and_takeover_after_expiry() {
    let api = FakeApi::new();
    let elector = |identity: &str| {
        LeaderElector::new(
            api.client(),
            "default",
            "vcs-operator",
            identity,
            Duration::from_secs(1),
        )
    };
    let (a, b) = (elector("a"), elector("b"));
    let (ra, rb) = tokio::join!(a.try_acquire(), b.try_acquire());
    assert!(ra.unwrap() ^ rb.unwrap(), "exactly one wins the first race");
    let (leader, other) = if a.try_acquire().await.unwrap() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert!(leader.try_acquire().await.unwrap(), "the holder renews");
    assert!(!other.try_acquire().await.unwrap());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(
        other.try_acquire().await.unwrap(),
        "takes over an expired lease"
    );
    assert!(!leader.try_acquire().await.unwrap());
}
