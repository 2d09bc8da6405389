//! Which of a pool's pods go before it is sized: recorders that finished (they exit after
//! their job), claims whose Recording is gone, and claims that lost a race to another pod of
//! the same Recording when their claimer died before giving them back.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use tracing::info;

use super::controller::{PoolError, PoolPass};
use super::pods::{is_finished, selector};
use crate::api::{ANNOTATION_RECORDING_UID, LABEL_RECORDING, Recording};

impl PoolPass<'_> {
    /// Deletes dead recorders (they exit after their job) and orphaned claims, gives back
    /// claims that lost a race; returns the pods left.
    pub(super) async fn collect_garbage(&self) -> Result<Vec<Pod>, PoolError> {
        let pods = self
            .pods
            .list(&ListParams::default().labels(&selector(self.pool)))
            .await
            .map_err(|e| self.err(e))?
            .items;
        let owners = self.owners(&pods).await?;
        let mut live = Vec::with_capacity(pods.len());
        for pod in pods {
            if pod.metadata.deletion_timestamp.is_some() {
                live.push(pod);
                continue;
            }
            if is_finished(&pod) {
                // Its Recording reads how it ended from the pod: it goes once that is written.
                if awaits_result(&pod, &owners) {
                    continue;
                }
                info!(pod = %pod.name_any(), "deleting a finished recorder pod");
                delete_if_unchanged(&self.pods, &pod)
                    .await
                    .map_err(|e| self.err(e))?;
                continue;
            }
            match claim_state(&pod, &owners) {
                ClaimState::OwnerGone => {
                    info!(pod = %pod.name_any(), "deleting a recorder pod whose Recording is gone");
                    delete_if_unchanged(&self.pods, &pod)
                        .await
                        .map_err(|e| self.err(e))?;
                }
                ClaimState::LostRace => {
                    info!(pod = %pod.name_any(), "giving back a claim that lost to another pod");
                    crate::claim::give_back(&self.pods, &pod)
                        .await
                        .map_err(|e| self.err(e))?;
                }
                ClaimState::Unclaimed | ClaimState::Held => live.push(pod),
            }
        }
        Ok(live)
    }

    /// The Recordings by name: one list rather than a read per claimed pod, and only when some
    /// pod is claimed at all. Listed after the pods, so a Recording that names a pod is in it.
    async fn owners(&self, pods: &[Pod]) -> Result<BTreeMap<String, Recording>, PoolError> {
        if !pods.iter().any(|p| claimed_for(p).is_some()) {
            return Ok(BTreeMap::new());
        }
        let recordings: Api<Recording> = self.ctx.namespaced(&self.ns);
        Ok(recordings
            .list(&ListParams::default())
            .await
            .map_err(|e| self.err(e))?
            .items
            .into_iter()
            .map(|r| (r.name_any(), r))
            .collect())
    }
}

/// Whether `pod` is claimed by a Recording that has no result yet.
fn awaits_result(pod: &Pod, owners: &BTreeMap<String, Recording>) -> bool {
    claimed_for(pod).is_some_and(|(name, uid)| {
        owners.get(name).is_some_and(|r| {
            r.uid().as_ref() == Some(uid) && r.status.as_ref().is_none_or(|s| s.result.is_none())
        })
    })
}

/// The Recording (name, uid) a pod is claimed for.
fn claimed_for(pod: &Pod) -> Option<(&String, &String)> {
    Some((
        pod.labels().get(LABEL_RECORDING)?,
        pod.annotations().get(ANNOTATION_RECORDING_UID)?,
    ))
}

/// Where a pod stands with respect to the Recordings.
#[derive(Debug, PartialEq)]
enum ClaimState {
    Unclaimed,
    /// Claimed, and its Recording names it or names no pod yet.
    Held,
    /// Its Recording is gone (or is another object of the same name). It may have recorded.
    OwnerGone,
    /// Its Recording settled on another pod: this claim lost a race and its claimer died
    /// before giving it back. It was never sent a job.
    LostRace,
}

/// `owners` was listed after the pods, so a Recording that names this pod is in it.
fn claim_state(pod: &Pod, owners: &BTreeMap<String, Recording>) -> ClaimState {
    let Some((rec, uid)) = claimed_for(pod) else {
        return ClaimState::Unclaimed;
    };
    match owners.get(rec) {
        None => ClaimState::OwnerGone,
        Some(r) if r.uid().as_deref() != Some(uid.as_str()) => ClaimState::OwnerGone,
        Some(r) => match r.status.as_ref().and_then(|s| s.recorder_pod.as_ref()) {
            Some(p) if *p != pod.name_any() => ClaimState::LostRace,
            _ => ClaimState::Held,
        },
    }
}

/// Deletes `pod` only if nobody changed it since we read it (a claim in between wins).
pub(super) async fn delete_if_unchanged(api: &Api<Pod>, pod: &Pod) -> Result<bool, kube::Error> {
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: pod.resource_version(),
            uid: pod.uid(),
        }),
        ..Default::default()
    };
    match api.delete(&pod.name_any(), &dp).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(pod: &str, rec: &str, uid: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(pod.into());
        p.labels_mut().insert(LABEL_RECORDING.into(), rec.into());
        p.annotations_mut()
            .insert(ANNOTATION_RECORDING_UID.into(), uid.into());
        p
    }

    fn recording(name: &str, uid: &str, pod: Option<&str>) -> (String, Recording) {
        let mut r = Recording::test(name);
        r.metadata.uid = Some(uid.into());
        r.status = Some(crate::api::RecordingStatus {
            recorder_pod: pod.map(String::from),
            ..Default::default()
        });
        (name.to_string(), r)
    }

    #[test]
    fn a_claim_is_held_orphaned_or_lost_by_what_its_recording_says() {
        let owners = BTreeMap::from([
            recording("r1", "u1", Some("p1")),
            recording("r2", "u2", None),
        ]);
        let state = |pod: &Pod| claim_state(pod, &owners);
        assert_eq!(state(&Pod::default()), ClaimState::Unclaimed);
        assert_eq!(state(&claimed("p1", "r1", "u1")), ClaimState::Held);
        // Its Recording names no pod yet: the claim may still be recorded.
        assert_eq!(state(&claimed("p2", "r2", "u2")), ClaimState::Held);
        // Its Recording settled on p1.
        assert_eq!(state(&claimed("p3", "r1", "u1")), ClaimState::LostRace);
        // Gone, or a new Recording of the same name.
        assert_eq!(state(&claimed("p4", "r9", "u9")), ClaimState::OwnerGone);
        assert_eq!(state(&claimed("p5", "r1", "u0")), ClaimState::OwnerGone);
    }
}
