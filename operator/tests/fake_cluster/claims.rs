//! Giving back a claim that was never recorded, against the API server's compare-and-set.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use vcs_fake_kube::{FakeApi, FakeKubelet};
use vcs_operator::api::{
    ANNOTATION_RECORDING_UID, LABEL_RECORDING, LABEL_STATE, LaunchType, RecorderPool, Recording,
    STATE_CLAIMED, STATE_IDLE,
};
use vcs_operator::claim::{self, adoptable, give_back};
use vcs_operator::pool::pods::recorder_pod;
use vcs_operator::telemetry::Metrics;

use crate::support::label;

/// A pool, a Recording with a uid, and a claim for it: of the pool's one Ready pod (`p1`), or
/// of a cold pod when `cold`.
async fn claimed(api: &FakeApi, cold: bool) -> (Api<Pod>, Pod, Recording) {
    let pods: Api<Pod> = Api::namespaced(api.client(), "default");
    let pool = RecorderPool::test("eu", "eu-west", 1, 10);
    let mut rec = Recording::test("r1");
    rec.metadata.uid = Some("uid-r1".into());
    if !cold {
        let _kubelet = FakeKubelet::start(api, Duration::ZERO);
        let p1 = recorder_pod(
            &pool,
            Some("p1".into()),
            Default::default(),
            Default::default(),
        );
        pods.create(&PostParams::default(), &p1).await.unwrap();
        while pods
            .get("p1")
            .await
            .unwrap()
            .status
            .is_none_or(|s| s.pod_ip.is_none())
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let c = claim::claim(&pods, None, &pool, &rec, &Metrics::default())
        .await
        .unwrap();
    let want = if cold {
        LaunchType::Cold
    } else {
        LaunchType::Warm
    };
    assert_eq!((c.launch, c.adopted), (want, false));
    (pods, c.pod, rec)
}

#[tokio::test]
async fn a_warm_claim_given_back_is_idle_again() {
    let api = FakeApi::new();
    let (pods, pod, rec) = claimed(&api, false).await;
    assert!(adoptable(std::slice::from_ref(&pod), &rec).is_some());
    give_back(&pods, &pod).await.unwrap();
    let back = pods.get("p1").await.unwrap();
    assert_eq!(label(&back, LABEL_STATE), Some(STATE_IDLE));
    assert!(!back.labels().contains_key(LABEL_RECORDING));
    assert!(!back.annotations().contains_key(ANNOTATION_RECORDING_UID));
}

#[tokio::test]
async fn a_cold_claim_given_back_is_deleted() {
    let api = FakeApi::new();
    let (pods, pod, _) = claimed(&api, true).await;
    give_back(&pods, &pod).await.unwrap();
    assert!(pods.get_opt(&pod.name_any()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_claim_changed_since_it_was_read_is_not_given_back() {
    let api = FakeApi::new();
    let (pods, stale, rec) = claimed(&api, false).await;
    // Someone (a kubelet, another claimer) wrote the pod after `stale` was read.
    pods.patch(
        "p1",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
    )
    .await
    .unwrap();
    give_back(&pods, &stale).await.unwrap();
    let now = pods.get("p1").await.unwrap();
    assert_eq!(label(&now, LABEL_STATE), Some(STATE_CLAIMED));
    assert!(adoptable(std::slice::from_ref(&now), &rec).is_some());
}
