//! One Recording or pool at a time, through the real controllers, from creation to deletion.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use vcs_job::control::JobState;
use vcs_operator::api::ConditionStatus::{False, True};
use vcs_operator::api::{LABEL_STATE, LaunchType, RecorderPool, Recording, RecordingResult};
use vcs_operator::recording::condition::{self, reason};

use crate::support::harness::Operator;
use crate::support::{FleetConfig, Harness, WAIT, condition_of, label};

/// A world with an operator running and pool `eu` keeping `buffer` idle pods of at most `max`.
async fn world_with_pool(buffer: i32, max: i32) -> (Harness, Operator) {
    let h = Harness::start(Duration::from_millis(50), FleetConfig::default()).await;
    let op = h.operator();
    h.api::<RecorderPool>()
        .create(
            &PostParams::default(),
            &RecorderPool::test("eu", "eu-west", buffer, max),
        )
        .await
        .unwrap();
    (h, op)
}

async fn create_recording(h: &Harness, rec: &Recording) {
    h.api::<Recording>()
        .create(&PostParams::default(), rec)
        .await
        .unwrap();
}

async fn idle_ready(h: &Harness) -> usize {
    h.pods()
        .await
        .iter()
        .filter(|p| {
            label(*p, LABEL_STATE) == Some("idle")
                && p.status.as_ref().is_some_and(|s| s.pod_ip.is_some())
        })
        .count()
}

/// A world with an operator and a pool of one idle pod, and `rec` recording in it.
async fn recording_in_a_world(rec: &Recording) -> (Harness, Operator, Recording) {
    let (h, op) = world_with_pool(1, 5).await;
    create_recording(&h, rec).await;
    let r = h
        .wait_condition(&rec.name_any(), condition::RECORDING, True, reason::RUNNING)
        .await;
    (h, op, r)
}

/// Waits until Recording `name` has a result, and returns it.
async fn wait_result(h: &Harness, name: &str, want: RecordingResult) -> Recording {
    let done = async |h: &Harness| {
        h.recording(name)
            .await
            .and_then(|r| r.status?.result)
            .is_some_and(|r| r == want)
    };
    assert!(
        h.wait_for(WAIT, done).await,
        "{:#?}",
        h.recording(name).await
    );
    h.recording(name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_fills_its_buffer_and_replaces_claimed_pods() {
    let (h, _op) = world_with_pool(3, 10).await;
    assert!(
        h.wait_for(WAIT, async |h| idle_ready(h).await == 3).await,
        "pool did not fill: {:#?}",
        h.pods().await
    );
    create_recording(&h, &Recording::test("r1")).await;
    h.wait_condition("r1", condition::RECORDING, True, reason::RUNNING)
        .await;
    // One pod claimed, the buffer back at three idle pods.
    assert!(
        h.wait_for(WAIT, async |h| idle_ready(h).await == 3
            && h.pods().await.len() == 4)
            .await,
        "{:#?}",
        h.pods().await
    );
    let counts = async |h: &Harness| {
        let st = h.pools().await.pop().unwrap().status.unwrap_or_default();
        (st.claimed, st.desired)
    };
    assert!(
        h.wait_for(WAIT, async |h| counts(h).await == (1, 4)).await,
        "{:#?}",
        h.pools().await
    );
    let r = h.recording("r1").await.unwrap();
    let st = r.status.clone().unwrap();
    assert_eq!(st.launch, Some(LaunchType::Warm));
    assert_eq!(st.region.as_deref(), Some("eu-west"));
    assert!(st.start_latency_ms.is_some());
    assert_eq!(st.observed_generation, r.metadata.generation);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_without_idle_pods_gets_a_cold_pod_then_stops_and_succeeds() {
    let (h, _op) = world_with_pool(0, 10).await;
    create_recording(&h, &Recording::test("cold")).await;
    let r = h
        .wait_condition("cold", condition::RECORDING, True, reason::RUNNING)
        .await;
    assert_eq!(r.status.unwrap().launch, Some(LaunchType::Cold));
    h.patch_spec("cold", json!({"stop": true})).await;
    let r = wait_result(&h, "cold", RecordingResult::Succeeded).await;
    assert_eq!(
        condition_of(&r, condition::SUCCEEDED),
        Some((True, reason::DONE))
    );
    // The recorder pod is released once the recording is done.
    assert!(
        h.wait_for(WAIT, async |h| h.pods().await.is_empty()).await,
        "{:#?}",
        h.pods().await
    );
    let fleet = h.fleet.recorders();
    assert_eq!(fleet.values().map(|r| r.stops).sum::<u32>(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_param_and_participant_edits_are_forwarded_once() {
    let (h, _op, _) = recording_in_a_world(&Recording::test("live")).await;
    let edit = json!({"composition": {"params": {"title": "Hello"}}, "session": {"participants": [{"id": "p1", "camera": "test:ball"}, {"id": "p2", "camera": "test:smpte"}]}});
    h.patch_spec("live", edit).await;
    let patched = async |h: &Harness| h.fleet.recorders().values().any(|r| !r.patches.is_empty());
    assert!(h.wait_for(WAIT, patched).await);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fleet = h.fleet.recorders();
    let rec = fleet.values().find(|r| !r.patches.is_empty()).unwrap();
    assert_eq!(rec.patches.len(), 1, "{:?}", rec.patches);
    assert_eq!(rec.patches[0].params["title"], json!("Hello"));
    assert_eq!(rec.patches[0].participants.as_ref().unwrap().len(), 2);
    let job = rec.job.as_ref().unwrap();
    assert_eq!(job.composition.params["title"], json!("Hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_stops_the_recorder_waits_for_outputs_and_releases_the_pod() {
    let (h, _op, r) = recording_in_a_world(&Recording::test("del")).await;
    let pod = r.status.unwrap().recorder_pod.unwrap();
    h.api::<Recording>()
        .delete("del", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        h.wait_for(WAIT, async |h| h.recording("del").await.is_none())
            .await,
        "{:#?}",
        h.recording("del").await
    );
    let gone = async |h: &Harness| h.pods().await.iter().all(|p| p.name_any() != pod);
    assert!(h.wait_for(WAIT, gone).await);
    let fleet = h.fleet.recorders();
    let r = fleet.values().find(|r| r.job.is_some()).unwrap();
    assert_eq!((r.stops, r.status.state), (1, JobState::Done));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_conditions_and_nothing_crashes() {
    let (h, _op) = world_with_pool(1, 5).await;
    // Unknown composition: the recorder refuses it; Accepted=False with its message.
    let mut r = Recording::test("nocomp");
    r.spec.composition.name = "does-not-exist".into();
    create_recording(&h, &r).await;
    // A Secret that does not exist.
    let mut r = Recording::test("nosecret");
    if let Some(mp4) = &mut r.spec.outputs[0].mp4 {
        mp4.s3.credentials_secret_ref = Some("missing-s3".into());
    }
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
    let expected = [
        ("nocomp", condition::ACCEPTED, reason::INVALID_COMPOSITION),
        ("nosecret", condition::ACCEPTED, reason::SECRET_MISSING),
        ("badspec", condition::ACCEPTED, reason::INVALID_SPEC),
        ("elsewhere", condition::PLACED, reason::OTHER_REGION),
    ];
    let all_refused = async |h: &Harness| {
        for (name, type_, why) in expected {
            let r = h.recording(name).await;
            if r.as_ref().and_then(|r| condition_of(r, type_)) != Some((False, why)) {
                return false;
            }
        }
        true
    };
    assert!(
        h.wait_for(WAIT, all_refused).await,
        "{:#?}",
        h.recordings()
            .await
            .iter()
            .map(|r| (r.name_any(), &r.status))
            .collect::<Vec<_>>()
    );
    let message = |r: &Recording, type_: &str| {
        let st = r.status.as_ref().unwrap();
        vcs_operator::api::find_condition(&st.conditions, type_)
            .unwrap()
            .message
            .clone()
    };
    let msg = message(&h.recording("nocomp").await.unwrap(), condition::ACCEPTED);
    assert!(msg.contains("does-not-exist"), "{msg}");
    let msg = message(&h.recording("badspec").await.unwrap(), condition::ACCEPTED);
    assert!(msg.contains("spec.session.participants[0].camera"), "{msg}");
    // The missing Secret appears: the Recording goes on by itself.
    let s: Secret = serde_json::from_value(json!({"metadata": {"name": "missing-s3"}, "stringData": {"accessKeyId": "a", "secretAccessKey": "b"}})).unwrap();
    h.api::<Secret>()
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
    h.wait_condition("nosecret", condition::RECORDING, True, reason::RUNNING)
        .await;
    let credentials = |job: &vcs_job::JobSpec| {
        let s3 = job.outputs[0].mp4.as_ref()?.s3.as_ref()?;
        s3.credentials.clone()
    };
    let fleet = h.fleet.recorders();
    let sent = fleet
        .values()
        .filter_map(|r| r.job.as_ref().and_then(credentials))
        .next()
        .unwrap();
    assert_eq!(sent.access_key_id, "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_that_disappears_is_replaced_by_a_continuation_on_another_pod() {
    let (h, _op, r) = recording_in_a_world(&Recording::test("lost")).await;
    let first = r.status.unwrap().recorder_pod.unwrap();
    h.patch_spec(
        "lost",
        json!({"composition": {"params": {"title": "before the loss"}}}),
    )
    .await;
    assert!(
        h.wait_for(WAIT, async |h| h.fleet.recorders().values().any(|r| r
            .job
            .as_ref()
            .and_then(|j| j.composition.params.get("title"))
            == Some(&json!("before the loss"))))
            .await,
        "the edit was not forwarded"
    );
    h.api::<Pod>()
        .delete(&first, &DeleteParams::default())
        .await
        .unwrap();
    let resumed = async |h: &Harness| {
        h.recording("lost")
            .await
            .and_then(|r| r.status)
            .is_some_and(|s| {
                s.restarts == 1 && s.continuation.is_none() && s.recorder_pod.is_some()
            })
    };
    assert!(
        h.wait_for(WAIT, resumed).await,
        "{:#?}",
        h.recording("lost").await
    );
    let r = h.recording("lost").await.unwrap();
    let st = r.status.clone().unwrap();
    let second = st.recorder_pod.clone().unwrap();
    assert_ne!(second, first);
    assert_eq!(
        st.spans.iter().map(|s| s.pod.as_str()).collect::<Vec<_>>(),
        [first.as_str(), second.as_str()]
    );
    assert!(st.spans[0].to.is_some() && st.spans[1].to.is_none());
    assert_eq!(st.gaps.len(), 1);
    assert!(st.gaps[0].length_secs.is_some_and(|s| s >= 0.0), "{st:#?}");
    assert_eq!(
        condition_of(&r, condition::RECORDER_LOST),
        Some((False, reason::RESUMED))
    );
    // The continuation's job: the params as last edited, and what it continues.
    let jobs: Vec<_> = h
        .fleet
        .recorders()
        .into_values()
        .filter_map(|r| r.job)
        .filter(|j| j.resume.is_some())
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    let resume = jobs[0].resume.as_ref().unwrap();
    assert_eq!(
        (resume.restart, resume.lost_pod.as_deref()),
        (1, Some(first.as_str()))
    );
    assert_eq!(
        jobs[0].composition.params.get("title"),
        Some(&json!("before the loss"))
    );
    // Its MP4 goes to a key of its own: what the lost recorder left is not overwritten.
    let mp4 = jobs[0].outputs[0].mp4.as_ref().and_then(|m| m.s3.as_ref());
    assert_eq!(mp4.map(|t| t.key.as_str()), Some("lost.part1.mp4"));
    // And it finishes normally.
    h.patch_spec("lost", json!({"stop": true})).await;
    let r = wait_result(&h, "lost", RecordingResult::Succeeded).await;
    assert!(r.status.unwrap().spans[1].to.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_lost_past_the_restart_limit_fails_the_recording() {
    let mut r = Recording::test("lost");
    r.spec.limits.max_restarts = Some(0);
    let (h, _op, r) = recording_in_a_world(&r).await;
    let pod = r.status.unwrap().recorder_pod.unwrap();
    h.api::<Pod>()
        .delete(&pod, &DeleteParams::default())
        .await
        .unwrap();
    let r = wait_result(&h, "lost", RecordingResult::Failed).await;
    assert_eq!(
        condition_of(&r, condition::RECORDER_LOST),
        Some((True, reason::RECORDER_LOST))
    );
    assert_eq!(
        condition_of(&r, condition::SUCCEEDED),
        Some((False, reason::RESTART_LIMIT_REACHED))
    );
    assert_eq!(r.status.unwrap().restarts, 0);
}

/// A reconcile handed a stale copy of the Recording (the controller's cache behind the API
/// server, as when its watch backs off under load) does not wait for the watch to catch up: its
/// refused status write is followed at once by a pass over the API server's copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_over_a_stale_copy_goes_on_from_the_api_servers_copy() {
    let mut r = Recording::test("stale");
    r.spec.limits.max_restarts = Some(0);
    let (h, op, _) = recording_in_a_world(&r).await;
    // No watch and no timer from here on: only the reconcile below runs.
    op.kill();
    let copy = h.recording("stale").await.unwrap();
    let touch = json!({"metadata": {"labels": {"touched": "after the copy was read"}}});
    h.api::<Recording>()
        .patch("stale", &PatchParams::default(), &Patch::Merge(touch))
        .await
        .unwrap();
    let pod = copy.status.clone().unwrap().recorder_pod.unwrap();
    h.api::<Pod>()
        .delete(&pod, &DeleteParams::default())
        .await
        .unwrap();
    vcs_operator::recording::reconcile(Arc::new(copy), Arc::new(h.context()))
        .await
        .unwrap();
    let r = h.recording("stale").await.unwrap();
    assert_eq!(
        condition_of(&r, condition::RECORDER_LOST),
        Some((True, reason::RECORDER_LOST)),
        "{:#?}",
        r.status
    );
    assert_eq!(r.status.unwrap().result, Some(RecordingResult::Failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_duration_stops_the_recording() {
    let (h, _op) = world_with_pool(1, 5).await;
    let mut r = Recording::test("short");
    r.spec.limits.max_duration_secs = Some(1);
    create_recording(&h, &r).await;
    let r = wait_result(&h, "short", RecordingResult::Succeeded).await;
    assert!(r.status.unwrap().stop_requested_at.is_some());
}
