//! The real controllers against the fake API server, kubelet and recorders (testing tier 3).

use std::time::Duration;

use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use vcs_operator::api::{LABEL_STATE, RecorderPool, Recording};
use vcs_operator::testkit::harness::{Harness, condition, label, status_str};
use vcs_operator::testkit::recorder::FleetConfig;

const WAIT: Duration = Duration::from_secs(15);

async fn world() -> Harness {
    Harness::start(Duration::from_millis(50), FleetConfig::default()).await
}

async fn create_pool(h: &Harness, buffer: i32, max: i32) {
    let pools: Api<RecorderPool> = Api::namespaced(h.api.client(), "default");
    pools
        .create(
            &PostParams::default(),
            &RecorderPool::test("eu", "eu-west", buffer, max),
        )
        .await
        .unwrap();
}

async fn create_recording(h: &Harness, rec: &Recording) {
    let recs: Api<Recording> = Api::namespaced(h.api.client(), "default");
    recs.create(&PostParams::default(), rec).await.unwrap();
}

fn rec_named(h: &Harness, name: &str) -> Option<serde_json::Value> {
    h.recordings()
        .into_iter()
        .find(|r| r["metadata"]["name"] == name)
}

fn idle_ready(h: &Harness) -> usize {
    h.pods()
        .iter()
        .filter(|p| label(p, LABEL_STATE) == Some("idle") && p.pointer("/status/podIP").is_some())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_fills_its_buffer_and_replaces_claimed_pods() {
    let h = world().await;
    let _op = h.operator();
    create_pool(&h, 3, 10).await;
    assert!(
        h.wait_for(WAIT, |h| idle_ready(h) == 3).await,
        "pool did not fill: {:#?}",
        h.pods()
    );
    create_recording(&h, &Recording::test("r1")).await;
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "r1").is_some_and(|r| condition(
            &r,
            "Recording"
        ) == Some((
            "True", "Running"
        ))))
        .await,
        "{:#?}",
        rec_named(&h, "r1")
    );
    // One pod claimed, the buffer back at three idle pods.
    assert!(
        h.wait_for(WAIT, |h| idle_ready(h) == 3 && h.pods().len() == 4)
            .await,
        "{:#?}",
        h.pods()
    );
    let pool = h.api.objects("vcs.dev/recorderpools").pop().unwrap();
    assert!(
        h.wait_for(WAIT, |h| {
            let p = h.api.objects("vcs.dev/recorderpools").pop().unwrap();
            p["status"]["claimed"] == 1 && p["status"]["desired"] == 4
        })
        .await,
        "{pool:#}"
    );
    let r = rec_named(&h, "r1").unwrap();
    assert_eq!(status_str(&r, "launch"), Some("Warm"));
    assert_eq!(status_str(&r, "region"), Some("eu-west"));
    assert!(r["status"]["startLatencyMs"].as_f64().is_some());
    assert_eq!(
        r["status"]["observedGeneration"],
        r["metadata"]["generation"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_without_idle_pods_gets_a_cold_pod_then_stops_and_succeeds() {
    let h = world().await;
    let _op = h.operator();
    create_pool(&h, 0, 10).await;
    create_recording(&h, &Recording::test("cold")).await;
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "cold").is_some_and(|r| condition(
            &r,
            "Recording"
        ) == Some((
            "True", "Running"
        ))))
        .await,
        "{:#?}",
        rec_named(&h, "cold")
    );
    let r = rec_named(&h, "cold").unwrap();
    assert_eq!(status_str(&r, "launch"), Some("Cold"));
    let recs: Api<Recording> = Api::namespaced(h.api.client(), "default");
    recs.patch(
        "cold",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"stop": true}})),
    )
    .await
    .unwrap();
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "cold").is_some_and(|r| status_str(
            &r, "result"
        ) == Some(
            "Succeeded"
        )))
        .await,
        "{:#?}",
        rec_named(&h, "cold")
    );
    let r = rec_named(&h, "cold").unwrap();
    assert_eq!(condition(&r, "Succeeded"), Some(("True", "Done")));
    // The recorder pod is released once the recording is done.
    assert!(
        h.wait_for(WAIT, |h| h.pods().is_empty()).await,
        "{:#?}",
        h.pods()
    );
    let fleet = h.recorders.recorders();
    assert_eq!(fleet.values().map(|r| r.stops).sum::<u32>(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_param_and_participant_edits_are_forwarded_once() {
    let h = world().await;
    let _op = h.operator();
    create_pool(&h, 1, 5).await;
    create_recording(&h, &Recording::test("live")).await;
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "live").is_some_and(|r| condition(
            &r,
            "Recording"
        ) == Some((
            "True", "Running"
        ))))
        .await
    );
    let recs: Api<Recording> = Api::namespaced(h.api.client(), "default");
    let patch = json!({"spec": {"composition": {"params": {"title": "Hello"}}, "session": {"participants": [{"id": "p1", "camera": "test:ball"}, {"id": "p2", "camera": "test:smpte"}]}}});
    recs.patch("live", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    assert!(
        h.wait_for(WAIT, |h| h
            .recorders
            .recorders()
            .values()
            .any(|r| !r.patches.is_empty()))
            .await
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fleet = h.recorders.recorders();
    let rec = fleet.values().find(|r| !r.patches.is_empty()).unwrap();
    assert_eq!(rec.patches.len(), 1, "{:?}", rec.patches);
    assert_eq!(rec.patches[0].params["title"], json!("Hello"));
    assert_eq!(rec.patches[0].participants.as_ref().unwrap().len(), 2);
    let job = rec.job.as_ref().unwrap();
    assert_eq!(job.composition.params["title"], json!("Hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_stops_the_recorder_waits_for_outputs_and_releases_the_pod() {
    let h = world().await;
    let _op = h.operator();
    create_pool(&h, 1, 5).await;
    create_recording(&h, &Recording::test("del")).await;
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "del").is_some_and(|r| condition(
            &r,
            "Recording"
        ) == Some((
            "True", "Running"
        ))))
        .await
    );
    let pod = status_str(&rec_named(&h, "del").unwrap(), "recorderPod")
        .unwrap()
        .to_string();
    let recs: Api<Recording> = Api::namespaced(h.api.client(), "default");
    recs.delete("del", &DeleteParams::default()).await.unwrap();
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "del").is_none()).await,
        "{:#?}",
        rec_named(&h, "del")
    );
    assert!(
        h.wait_for(WAIT, |h| h
            .pods()
            .iter()
            .all(|p| p["metadata"]["name"] != pod.as_str()))
            .await
    );
    let fleet = h.recorders.recorders();
    let r = fleet.values().find(|r| r.job.is_some()).unwrap();
    assert_eq!(
        (r.stops, r.status.state),
        (1, vcs_job::control::JobState::Done)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_conditions_and_nothing_crashes() {
    let h = world().await;
    let _op = h.operator();
    create_pool(&h, 1, 5).await;
    // Unknown composition: the recorder refuses it; Accepted=False with its message.
    let mut r = Recording::test("nocomp");
    r.spec.composition.name = "does-not-exist".into();
    create_recording(&h, &r).await;
    // A Secret that does not exist.
    let mut r = Recording::test("nosecret");
    r.spec.outputs[0]
        .mp4
        .as_mut()
        .unwrap()
        .s3
        .credentials_secret_ref = Some("missing-s3".into());
    create_recording(&h, &r).await;
    // A spec the CRD cannot catch: a track URI scheme the recorder does not know.
    let mut r = Recording::test("badspec");
    r.spec.session.participants[0].camera = Some("gopher://x".into());
    create_recording(&h, &r).await;
    // A region nobody here serves.
    let mut r = Recording::test("elsewhere");
    r.spec.placement = Some(vcs_operator::api::recording::PlacementOverride {
        region: "us-east".into(),
    });
    create_recording(&h, &r).await;
    let ok = h
        .wait_for(WAIT, |h| {
            let c = |n: &str, t: &str| {
                rec_named(h, n)
                    .and_then(|r| condition(&r, t).map(|(s, why)| (s.to_string(), why.to_string())))
            };
            c("nocomp", "Accepted") == Some(("False".into(), "InvalidComposition".into()))
                && c("nosecret", "Accepted") == Some(("False".into(), "SecretMissing".into()))
                && c("badspec", "Accepted") == Some(("False".into(), "InvalidSpec".into()))
                && c("elsewhere", "Placed") == Some(("False".into(), "OtherRegion".into()))
        })
        .await;
    assert!(
        ok,
        "{:#?}",
        h.recordings()
            .iter()
            .map(|r| (&r["metadata"]["name"], &r["status"]))
            .collect::<Vec<_>>()
    );
    let nocomp = rec_named(&h, "nocomp").unwrap();
    let msg = nocomp["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Accepted")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("does-not-exist"), "{msg}");
    let badspec = rec_named(&h, "badspec").unwrap();
    assert!(
        badspec["status"]["conditions"]
            .to_string()
            .contains("spec.session.participants[0].camera")
    );
    // The missing Secret appears: the Recording goes on by itself.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(h.api.client(), "default");
    let s = serde_json::from_value(json!({"metadata": {"name": "missing-s3"}, "stringData": {"accessKeyId": "a", "secretAccessKey": "b"}})).unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "nosecret").is_some_and(
            |r| condition(&r, "Recording") == Some(("True", "Running"))
        ))
        .await
    );
    let fleet = h.recorders.recorders();
    let job = fleet
        .values()
        .filter_map(|r| r.job.as_ref())
        .find(|j| {
            j.outputs[0]
                .mp4
                .as_ref()
                .unwrap()
                .s3
                .as_ref()
                .unwrap()
                .credentials
                .is_some()
        })
        .unwrap();
    assert_eq!(
        job.outputs[0]
            .mp4
            .as_ref()
            .unwrap()
            .s3
            .as_ref()
            .unwrap()
            .credentials
            .as_ref()
            .unwrap()
            .access_key_id,
        "a"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_that_disappears_fails_the_recording_with_recorder_lost() {
    let h = world().await;
    let _op = h.operator();
    create_pool(&h, 1, 5).await;
    create_recording(&h, &Recording::test("lost")).await;
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "lost").is_some_and(|r| condition(
            &r,
            "Recording"
        ) == Some((
            "True", "Running"
        ))))
        .await
    );
    let pod = status_str(&rec_named(&h, "lost").unwrap(), "recorderPod")
        .unwrap()
        .to_string();
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(h.api.client(), "default");
    pods.delete(&pod, &DeleteParams::default()).await.unwrap();
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "lost").is_some_and(|r| status_str(
            &r, "result"
        ) == Some(
            "Failed"
        )))
        .await,
        "{:#?}",
        rec_named(&h, "lost")
    );
    let r = rec_named(&h, "lost").unwrap();
    assert_eq!(
        condition(&r, "RecorderLost"),
        Some(("True", "RecorderLost"))
    );
    assert_eq!(condition(&r, "Succeeded"), Some(("False", "RecorderLost")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_duration_stops_the_recording() {
    let h = world().await;
    let _op = h.operator();
    create_pool(&h, 1, 5).await;
    let mut r = Recording::test("short");
    r.spec.limits.max_duration_secs = Some(1);
    create_recording(&h, &r).await;
    assert!(
        h.wait_for(WAIT, |h| rec_named(h, "short").is_some_and(|r| status_str(
            &r, "result"
        ) == Some(
            "Succeeded"
        )))
        .await,
        "{:#?}",
        rec_named(&h, "short")
    );
    assert!(rec_named(&h, "short").unwrap()["status"]["stopRequestedAt"].is_string());
}
