//! The CI-tier invariants (issue 7): many Recordings at once, two operator instances, operators
//! killed mid-claim — every Recording gets exactly one pod, no pod is claimed twice, no claimed
//! pod is orphaned, and a settled world is not written again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kube::ResourceExt;
use kube::api::PostParams;
use vcs_operator::api::ConditionStatus::True;
use vcs_operator::api::{LABEL_RECORDING, LABEL_STATE, LaunchType, RecorderPool, Recording};
use vcs_operator::recording::condition::{self, reason};

use crate::support::{FleetConfig, Harness, condition_of, label};

async fn create_all(h: &Harness, n: usize, prefix: &str) {
    let recs = h.api::<Recording>();
    let creates = (0..n).map(|i| {
        let recs = recs.clone();
        let r = Recording::test(&format!("{prefix}-{i:02}"));
        async move { recs.create(&PostParams::default(), &r).await.unwrap() }
    });
    futures::future::join_all(creates).await;
}

fn is_recording(r: &Recording) -> bool {
    condition_of(r, condition::RECORDING) == Some((True, reason::RUNNING))
}

async fn all_recording(h: &Harness, n: usize) -> bool {
    let recs = h.recordings().await;
    recs.len() == n && recs.iter().all(is_recording)
}

/// Every Recording has one pod, every claimed pod serves exactly the Recording that names it,
/// every recorder got at most one job.
async fn check_invariants(h: &Harness) {
    let recs = h.recordings().await;
    let pods = h.pods().await;
    let mut pod_of: BTreeMap<String, String> = BTreeMap::new();
    for r in &recs {
        let name = r.name_any();
        let pod = r
            .status
            .as_ref()
            .and_then(|s| s.recorder_pod.clone())
            .unwrap_or_else(|| panic!("{name} has no pod: {r:#?}"));
        if let Some(other) = pod_of.insert(pod.clone(), name.clone()) {
            panic!("pod {pod} claimed by both {other} and {name}");
        }
    }
    for p in &pods {
        if label(p, LABEL_STATE) == Some("claimed") {
            let pod = p.name_any();
            let rec = label(p, LABEL_RECORDING).unwrap();
            assert_eq!(
                pod_of.get(&pod).map(String::as_str),
                Some(rec),
                "claimed pod {pod} is orphaned or mislabelled"
            );
        }
    }
    let fleet = h.fleet.recorders();
    let mut jobs = BTreeSet::new();
    for (ip, r) in &fleet {
        assert!(
            r.job_ids.len() <= 1,
            "recorder {ip} was given {} jobs: {:?}",
            r.job_ids.len(),
            r.job_ids
        );
        jobs.extend(r.job_ids.iter().cloned());
    }
    assert_eq!(
        jobs.len(),
        recs.len(),
        "every Recording's job reached exactly one recorder"
    );
}

async fn pool(h: &Harness, buffer: i32) {
    h.api::<RecorderPool>()
        .create(
            &PostParams::default(),
            &RecorderPool::test("eu", "eu-west", buffer, 200),
        )
        .await
        .unwrap();
}

async fn idle_pods(h: &Harness, with_ip: bool) -> usize {
    h.pods()
        .await
        .iter()
        .filter(|p| {
            label(*p, LABEL_STATE) == Some("idle")
                && (!with_ip || p.status.as_ref().is_some_and(|s| s.pod_ip.is_some()))
        })
        .count()
}

/// Waits up to `timeout` for all `n` Recordings to be recording; panics naming those that are
/// not.
async fn wait_all_recording(h: &Harness, n: usize, timeout: Duration, what: &str) {
    if !h
        .wait_for(timeout, async |h| all_recording(h, n).await)
        .await
    {
        panic!("not all recording{what}: {:#?}", not_recording(h).await);
    }
}

/// The Recordings not recording yet, with their status, for a failure message.
async fn not_recording(h: &Harness) -> Vec<(String, Option<vcs_operator::api::RecordingStatus>)> {
    h.recordings()
        .await
        .into_iter()
        .filter(|r| !is_recording(r))
        .map(|r| (r.name_any(), r.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_recordings_two_operators_each_get_exactly_one_pod() {
    let h = Harness::start(Duration::from_millis(30), FleetConfig::default()).await;
    let (_a, _b) = (h.operator(), h.operator());
    pool(&h, 10).await;
    assert!(
        h.wait_for(Duration::from_secs(20), async |h| h.pods().await.len()
            >= 10)
            .await
    );
    let t = std::time::Instant::now();
    create_all(&h, 50, "r").await;
    wait_all_recording(&h, 50, Duration::from_secs(60), "").await;
    eprintln!("50 recordings running after {:?}", t.elapsed());
    check_invariants(&h).await;
    let warm = h
        .recordings()
        .await
        .iter()
        .filter(|r| r.status.as_ref().and_then(|s| s.launch) == Some(LaunchType::Warm))
        .count();
    assert!(
        warm >= 10,
        "at least the initial buffer was used warm: {warm}"
    );
    // The buffer is restored around the claims and claimed pods are never deleted.
    assert!(
        h.wait_for(Duration::from_secs(20), async |h| idle_pods(h, false).await
            >= 10)
            .await
    );
    check_invariants(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_killed_mid_claim_leave_no_double_or_orphaned_claims() {
    let h = Harness::start(Duration::from_millis(30), FleetConfig::default()).await;
    pool(&h, 5).await;
    let mut op = Some(h.operator());
    assert!(
        h.wait_for(Duration::from_secs(20), async |h| h.pods().await.len() >= 5)
            .await
    );
    create_all(&h, 30, "k").await;
    // Kill and restart at pseudo-random points while claims are in flight.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill schedule seed {seed}");
    for _ in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(5 + seed % 120)).await;
        if let Some(o) = op.take() {
            o.kill();
        }
        op = Some(h.operator());
    }
    wait_all_recording(&h, 30, Duration::from_secs(60), " after restarts").await;
    check_invariants(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_world_is_not_written_again() {
    let h = Harness::start(Duration::from_millis(30), FleetConfig::default()).await;
    pool(&h, 3).await;
    let op = h.operator();
    create_all(&h, 5, "s").await;
    wait_all_recording(&h, 5, Duration::from_secs(30), "").await;
    assert!(
        h.wait_for(Duration::from_secs(10), async |h| idle_pods(h, true).await
            == 3)
            .await
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let relevant = |w: BTreeMap<String, u64>| -> BTreeMap<String, u64> {
        w.into_iter()
            .filter(|(k, _)| !k.contains("events"))
            .collect()
    };
    let before = relevant(h.api.writes());
    // A fresh operator reconciles every object from scratch; the old one keeps polling.
    let op2 = h.operator();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = relevant(h.api.writes());
    assert_eq!(before, after, "settled objects were written again");
    drop((op, op2));
}
