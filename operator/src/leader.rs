//! Leader election over a `coordination.k8s.io/v1` Lease, so two replicas can run and only one
//! reconciles. Takeover uses the Lease's resourceVersion, so two candidates never both win; and
//! even if a deposed leader keeps running for a moment, claims stay safe (they are
//! compare-and-set on the pod).

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use tracing::{info, warn};

/// One candidate for the Lease `name`.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease: Duration,
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
        now: Timestamp,
        acquired: Timestamp,
        transitions: i32,
        rv: Option<String>,
    ) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: rv,
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(
                    i32::try_from(self.lease.as_secs().max(1)).unwrap_or(i32::MAX),
                ),
                acquire_time: Some(MicroTime(acquired)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(transitions),
                ..Default::default()
            }),
        }
    }

    /// Takes or renews the Lease; true while we hold it.
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(current) = self.api.get_opt(&self.name).await? else {
            return match self
                .api
                .create(&PostParams::default(), &self.lease_body(now, now, 0, None))
                .await
            {
                Ok(_) => {
                    info!(lease = %self.name, identity = %self.identity, "became leader");
                    Ok(true)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().unwrap_or("");
        let renewed = spec.renew_time.map(|t| t.0);
        let duration =
            SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(15)));
        let transitions = spec.lease_transitions.unwrap_or(0);
        let mine = holder == self.identity;
        let expired = renewed.is_none_or(|r| now.duration_since(r) > duration);
        if !mine && !expired && !holder.is_empty() {
            return Ok(false);
        }
        let acquired = match spec.acquire_time {
            Some(t) if mine => t.0,
            _ => now,
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
