//! Leader election over a `coordination.k8s.io/v1` Lease, so two replicas can run and only one
//! reconciles. Takeover uses the Lease's resourceVersion, so two candidates never both win; and
//! even if a deposed leader keeps running for a moment, claims stay safe (they are
//! compare-and-set on the pod).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use serde_json::json;
use tracing::{info, warn};

/// One candidate for the Lease `name`.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease: Duration,
}

fn rfc3339_micro(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn micro_time(v: Option<&serde_json::Value>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v?.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl LeaderElector {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: &str,
        lease: Duration,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            lease,
        }
    }

    fn lease_body(
        &self,
        now: DateTime<Utc>,
        acquired: DateTime<Utc>,
        transitions: i64,
        rv: Option<String>,
    ) -> Lease {
        serde_json::from_value(json!({
            "metadata": {"name": self.name, "resourceVersion": rv},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.lease.as_secs().max(1),
                "acquireTime": rfc3339_micro(acquired),
                "renewTime": rfc3339_micro(now),
                "leaseTransitions": transitions,
            }
        }))
        .expect("a Lease built from known fields")
    }

    /// Takes or renews the Lease; true while we hold it.
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let now = Utc::now();
        let Some(current) = self.api.get_opt(&self.name).await? else {
            return match self
                .api
                .create(&PostParams::default(), &self.lease_body(now, now, 0, None))
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = serde_json::to_value(&current.spec).unwrap_or_default();
        let holder = spec
            .get("holderIdentity")
            .and_then(|h| h.as_str())
            .unwrap_or("");
        let renewed = micro_time(spec.get("renewTime"));
        let duration = spec
            .get("leaseDurationSeconds")
            .and_then(|d| d.as_i64())
            .unwrap_or(15);
        let transitions = spec
            .get("leaseTransitions")
            .and_then(|d| d.as_i64())
            .unwrap_or(0);
        let mine = holder == self.identity;
        let expired = renewed.is_none_or(|r| now - r > chrono::Duration::seconds(duration));
        if !mine && !expired && !holder.is_empty() {
            return Ok(false);
        }
        let acquired = if mine {
            micro_time(spec.get("acquireTime")).unwrap_or(now)
        } else {
            now
        };
        let body = self.lease_body(
            now,
            acquired,
            if mine { transitions } else { transitions + 1 },
            current.metadata.resource_version.clone(),
        );
        match self
            .api
            .replace(&self.name, &PostParams::default(), &body)
            .await
        {
            Ok(_) => {
                if !mine {
                    info!(lease = %self.name, identity = %self.identity, previous = holder, "became leader");
                }
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Runs `work` (made afresh each time leadership is won) while holding the Lease; stops it
    /// as soon as a renewal fails. Never returns.
    pub async fn run<F, Fut>(&self, mut work: F) -> !
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let retry = self.lease / 3;
        loop {
            match self.try_acquire().await {
                Ok(true) => {
                    let task = tokio::spawn(work());
                    loop {
                        tokio::time::sleep(retry).await;
                        match self.try_acquire().await {
                            Ok(true) => continue,
                            Ok(false) => {
                                warn!(lease = %self.name, "lost the lease; stopping the controllers")
                            }
                            Err(e) => {
                                warn!(lease = %self.name, cause = %e, "could not renew the lease; stopping the controllers")
                            }
                        }
                        break;
                    }
                    task.abort();
                }
                Ok(false) => {}
                Err(e) => warn!(lease = %self.name, cause = %e, "leader election failed; retrying"),
            }
            tokio::time::sleep(retry).await;
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::FakeApi;

    #[tokio::test]
    async fn one_holder_at_a_time_and_takeover_after_expiry() {
        let api = FakeApi::new();
        let a = LeaderElector::new(
            api.client(),
            "default",
            "vcs-operator",
            "a",
            Duration::from_secs(1),
        );
        let b = LeaderElector::new(
            api.client(),
            "default",
            "vcs-operator",
            "b",
            Duration::from_secs(1),
        );
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
}
