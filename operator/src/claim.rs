//! Getting a recorder pod for a Recording: adopt one already claimed for it (a restart after a
//! claim whose status write was lost), else claim an idle one by compare-and-set, else create a
//! cold one.
//!
//! The claim is a merge patch of the pod's labels carrying the `resourceVersion` the candidate
//! was read at: the API server refuses it with 409 when anyone changed the pod since, so two
//! claimers (two Recordings, two operator replicas, an operator and its restarted self) never
//! both win one pod. A loser moves on to the next candidate.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::Store;
use serde_json::json;
use thiserror::Error;
use tracing::debug;

use crate::api::{
    ANNOTATION_RECORDING_UID, LABEL_RECORDING, LABEL_STATE, LaunchType, RecorderPool, Recording,
    STATE_CLAIMED, STATE_IDLE,
};
use crate::pool::cache;
use crate::pool::pods::{is_finished, is_ready, recorder_pod, selector};
use crate::telemetry::{ClaimLabels, Metrics};

/// Why no pod could be got.
#[derive(Debug, Error)]
pub enum ClaimError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// The cold pod's name is taken by a pod that is not this Recording's, or is being deleted.
    #[error(
        "cold pod {pod} exists but is being deleted or serves another Recording; retrying once it is gone"
    )]
    ColdPodUnusable { pod: String },
}

/// The pod a Recording got, and how.
#[derive(Debug)]
pub struct Claimed {
    pub pod: Pod,
    pub launch: LaunchType,
    pub adopted: bool,
}

/// Claimable pods in the order to try them: idle, Ready, not being deleted. The order is
/// rotated by `seed` (the Recording's uid) so concurrent claimers start at different pods
/// instead of all racing for the first one.
pub fn candidates<'a>(pods: &'a [Pod], seed: &str) -> Vec<&'a Pod> {
    let mut c: Vec<&Pod> = pods
        .iter()
        .filter(|p| {
            p.labels().get(LABEL_STATE).map(String::as_str) == Some(STATE_IDLE)
                && p.metadata.deletion_timestamp.is_none()
                && is_ready(p)
        })
        .collect();
    c.sort_by_key(|p| p.name_any());
    if !c.is_empty() {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        let start = (h.finish() % c.len() as u64) as usize;
        c.rotate_left(start);
    }
    c
}

/// The pod already claimed for `rec` (same name label and uid annotation), if any.
pub fn adoptable<'a>(pods: &'a [Pod], rec: &Recording) -> Option<&'a Pod> {
    let uid = rec.uid()?;
    pods.iter().find(|p| {
        p.labels().get(LABEL_RECORDING) == Some(&rec.name_any())
            && p.annotations().get(ANNOTATION_RECORDING_UID) == Some(&uid)
            && p.metadata.deletion_timestamp.is_none()
            && !is_finished(p)
    })
}

fn claim_patch(pod: &Pod, rec: &Recording) -> serde_json::Value {
    json!({
        "metadata": {
            "resourceVersion": pod.resource_version(),
            "labels": { LABEL_STATE: STATE_CLAIMED, LABEL_RECORDING: rec.name_any() },
            "annotations": { ANNOTATION_RECORDING_UID: rec.uid() },
        }
    })
}

/// Gets a pod of `pool` for `rec`, looking for candidates first in `cache` (the watched pool
/// pods, see [`cache`]) when given, then in a fresh list.
pub async fn claim(
    pods_api: &Api<Pod>,
    cache: Option<&Store<Pod>>,
    pool: &RecorderPool,
    rec: &Recording,
    metrics: &Metrics,
) -> Result<Claimed, ClaimError> {
    let started = Instant::now();
    let outcome = |o: &'static str| {
        metrics
            .claim_seconds
            .get_or_create(&ClaimLabels { outcome: o })
            .observe(started.elapsed().as_secs_f64())
    };
    let r = claim_inner(pods_api, cache, pool, rec, metrics).await;
    match &r {
        Ok(c) if c.adopted => outcome("adopted"),
        Ok(c) => outcome(if c.launch == LaunchType::Warm {
            "warm"
        } else {
            "cold"
        }),
        Err(_) => outcome("error"),
    }
    r
}

/// Adopts the pod already claimed for `rec`, or claims an idle one, among the pods of `pool` in
/// `cache` (or listed, without one); `None` when there is none.
async fn claim_warm(
    pods_api: &Api<Pod>,
    cache: Option<&Store<Pod>>,
    pool: &RecorderPool,
    rec: &Recording,
    metrics: &Metrics,
) -> Result<Option<Claimed>, kube::Error> {
    let pods = match cache {
        Some(c) => cache::pods_of(c, &pool.namespace().unwrap_or_default(), &pool.name_any()),
        None => {
            let lp = ListParams::default().labels(&selector(pool));
            pods_api.list(&lp).await?.items
        }
    };
    if let Some(p) = adoptable(&pods, rec) {
        let launch = if p.annotations().contains_key(COLD_ANNOTATION) {
            LaunchType::Cold
        } else {
            LaunchType::Warm
        };
        return Ok(Some(Claimed {
            pod: p.clone(),
            launch,
            adopted: true,
        }));
    }
    let seed = rec.uid().unwrap_or_else(|| rec.name_any());
    for candidate in candidates(&pods, &seed) {
        match pods_api
            .patch(
                &candidate.name_any(),
                &PatchParams::default(),
                &Patch::Merge(claim_patch(candidate, rec)),
            )
            .await
        {
            Ok(pod) => {
                return Ok(Some(Claimed {
                    pod,
                    launch: LaunchType::Warm,
                    adopted: false,
                }));
            }
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                metrics.claim_conflicts.inc();
                // The usual winner against us is the other replica claiming for the same
                // Recording (both start at the same candidate): then it is ours too, and
                // claiming a second pod would only waste a warm one.
                if s.code == 409
                    && let Some(p) = pods_api.get_opt(&candidate.name_any()).await?
                    && adoptable(std::slice::from_ref(&p), rec).is_some()
                {
                    return Ok(Some(Claimed {
                        pod: p,
                        launch: LaunchType::Warm,
                        adopted: true,
                    }));
                }
                debug!(pod = %candidate.name_any(), "lost the claim race; next candidate");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

async fn claim_inner(
    pods_api: &Api<Pod>,
    cache: Option<&Store<Pod>>,
    pool: &RecorderPool,
    rec: &Recording,
    metrics: &Metrics,
) -> Result<Claimed, ClaimError> {
    // Two passes before a cold start: the cache (when there is one, else a list), then a fresh
    // list. Pods keep turning Ready (the pool refills as others claim), the cache may lag, and
    // another replica may have claimed one for this same Recording since the first look. All
    // are better than a cold pod.
    for source in [cache, None] {
        if let Some(c) = claim_warm(pods_api, source, pool, rec, metrics).await? {
            return Ok(c);
        }
    }
    // Cold start: a pod made for this Recording. Its name derives from the Recording's uid, so
    // a retried create (or a second reconciler) finds the first one instead of making another.
    let uid = rec.uid().unwrap_or_default();
    let name = cold_pod_name(pool, &uid);
    let labels = BTreeMap::from([
        (LABEL_STATE.to_string(), STATE_CLAIMED.to_string()),
        (LABEL_RECORDING.to_string(), rec.name_any()),
    ]);
    let annotations = BTreeMap::from([
        (ANNOTATION_RECORDING_UID.to_string(), uid.clone()),
        (COLD_ANNOTATION.to_string(), "true".to_string()),
    ]);
    let pod = recorder_pod(pool, Some(name.clone()), labels, annotations);
    match pods_api.create(&PostParams::default(), &pod).await {
        Ok(pod) => Ok(Claimed {
            pod,
            launch: LaunchType::Cold,
            adopted: false,
        }),
        // Another reconciler made it first: it is this Recording's pod all the same (adopted)
        // unless it is going away or belongs to a former Recording of the same uid-less name.
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let existing = pods_api.get(&name).await?;
            if existing.annotations().get(ANNOTATION_RECORDING_UID) != Some(&uid)
                || existing.metadata.deletion_timestamp.is_some()
            {
                return Err(ClaimError::ColdPodUnusable { pod: name });
            }
            Ok(Claimed {
                pod: existing,
                launch: LaunchType::Cold,
                adopted: true,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The name of `pool`'s cold pod for the Recording with `uid`: unique per Recording, so
/// concurrent creates collide on purpose. Kept within the 253 characters of a pod name.
pub fn cold_pod_name(pool: &RecorderPool, uid: &str) -> String {
    let uid = uid.to_lowercase();
    let budget = 253 - "-cold-".len() - uid.len().min(200);
    let prefix: String = pool.name_any().chars().take(budget).collect();
    format!("{}-cold-{uid}", prefix.trim_end_matches(['-', '.']))
}

/// Gives back a claim that was never recorded in its Recording's status (so no job was ever
/// sent to the pod): a warm pod goes back to idle, by compare-and-set like the claim itself, and
/// a cold pod (made for that one Recording) is deleted. `pod` is the pod as last read; a 409 or
/// 404 means someone else changed or removed it meanwhile, and it is left alone.
pub async fn give_back(pods_api: &Api<Pod>, pod: &Pod) -> Result<(), kube::Error> {
    let name = pod.name_any();
    let r = if pod.annotations().contains_key(COLD_ANNOTATION) {
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: pod.uid(),
                resource_version: pod.resource_version(),
            }),
            ..Default::default()
        };
        pods_api.delete(&name, &dp).await.map(|_| ())
    } else {
        let patch = json!({
            "metadata": {
                "resourceVersion": pod.resource_version(),
                "labels": { LABEL_STATE: STATE_IDLE, LABEL_RECORDING: null },
                "annotations": { ANNOTATION_RECORDING_UID: null },
            }
        });
        pods_api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map(|_| ())
    };
    match r {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Pod annotation on cold-started pods.
pub const COLD_ANNOTATION: &str = "vcs.dev/cold-start";

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod(name: &str, state: &str, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(BTreeMap::from([(
                    LABEL_STATE.to_string(),
                    state.to_string(),
                )])),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                pod_ip: Some("10.0.0.1".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn candidates_are_ready_idle_pods_rotated_per_recording() {
        let pods = vec![
            pod("a", "idle", true),
            pod("b", "claimed", true),
            pod("c", "idle", false),
            pod("d", "idle", true),
            pod("e", "idle", true),
        ];
        let names = |seed: &str| {
            candidates(&pods, seed)
                .iter()
                .map(|p| p.name_any())
                .collect::<Vec<_>>()
        };
        let mut sorted = names("x");
        sorted.sort();
        assert_eq!(sorted, vec!["a", "d", "e"]);
        // Every seed yields a rotation of the same ring; different seeds spread the start.
        let starts: std::collections::BTreeSet<String> = (0..50)
            .map(|i| names(&format!("uid-{i}"))[0].clone())
            .collect();
        assert_eq!(starts.len(), 3, "{starts:?}");
        assert!(candidates(&[pod("z", "claimed", true)], "s").is_empty());
    }

    #[test]
    fn adoption_needs_the_same_recording_uid() {
        let mut rec = Recording::test("r1");
        rec.metadata.uid = Some("uid-1".into());
        let mut p = pod("a", "claimed", true);
        p.labels_mut().insert(LABEL_RECORDING.into(), "r1".into());
        p.annotations_mut()
            .insert(ANNOTATION_RECORDING_UID.into(), "uid-0".into());
        assert!(adoptable(std::slice::from_ref(&p), &rec).is_none());
        p.annotations_mut()
            .insert(ANNOTATION_RECORDING_UID.into(), "uid-1".into());
        assert!(adoptable(std::slice::from_ref(&p), &rec).is_some());
    }
}
