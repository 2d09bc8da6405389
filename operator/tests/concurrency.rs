//! The CI-tier invariants (issue 7): many Recordings at once, two operator instances, operators
//! killed mid-claim — every Recording gets exactly one pod, no pod is claimed twice, no claimed
//! pod is orphaned, and a settled world is not written again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kube::Api;
use kube::api::PostParams;
use vcs_operator::api::{LABEL_RECORDING, LABEL_STATE, RecorderPool, Recording};
use vcs_operator::testkit::harness::{Harness, condition, label, status_str};
use vcs_operator::testkit::recorder::FleetConfig;

async fn create_all(h: &Harness, n: usize, prefix: &str) {
    let recs: Api<Recording> = Api::namespaced(h.api.client(), "default");
    let creates = (0..n).map(|i| {
        let recs = recs.clone();
        let r = Recording::test(&format!("{prefix}-{i:02}"));
        async move { recs.create(&PostParams::default(), &r).await.unwrap() }
    });
    futures::future::join_all(creates).await;
}

fn all_recording(h: &Harness, n: usize) -> bool {
    let recs = h.recordings();
    recs.len() == n
        && recs
            .iter()
            .all(|r| condition(r, "Recording") == Some(("True", "Running")))
}

/// Every Recording has one pod, every claimed pod serves exactly the Recording that names it,
/// every recorder got at most one job.
fn check_invariants(h: &Harness) {
    let recs = h.recordings();
    let pods = h.pods();
    let mut pod_of: BTreeMap<String, String> = BTreeMap::new();
    for r in &recs {
        let name = r["metadata"]["name"].as_str().unwrap().to_string();
        let pod = status_str(r, "recorderPod")
            .unwrap_or_else(|| panic!("{name} has no pod: {r:#}"))
            .to_string();
        if let Some(other) = pod_of.insert(pod.clone(), name.clone()) {
            panic!("pod {pod} claimed by both {other} and {name}");
        }
    }
    for p in &pods {
        if label(p, LABEL_STATE) == Some("claimed") {
            let pod = p["metadata"]["name"].as_str().unwrap();
            let rec = label(p, LABEL_RECORDING).unwrap();
            assert_eq!(
                pod_of.get(pod).map(String::as_str),
                Some(rec),
                "claimed pod {pod} is orphaned or mislabelled"
            );
        }
    }
    let fleet = h.recorders.recorders();
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
    let pools: Api<RecorderPool> = Api::namespaced(h.api.client(), "default");
    pools
        .create(
            &PostParams::default(),
            &RecorderPool::test("eu", "eu-west", buffer, 200),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_recordings_two_operators_each_get_exactly_one_pod() {
    let h = Harness::start(Duration::from_millis(30), FleetConfig::default()).await;
    let (_a, _b) = (h.operator(), h.operator());
    pool(&h, 10).await;
    assert!(
        h.wait_for(Duration::from_secs(20), |h| h.pods().len() >= 10)
            .await
    );
    let t = std::time::Instant::now();
    create_all(&h, 50, "r").await;
    assert!(
        h.wait_for(Duration::from_secs(60), |h| all_recording(h, 50))
            .await,
        "not all recording: {:#?}",
        h.recordings()
            .iter()
            .map(|r| (&r["metadata"]["name"], &r["status"]["conditions"]))
            .collect::<Vec<_>>()
    );
    eprintln!("50 recordings running after {:?}", t.elapsed());
    check_invariants(&h);
    let warm = h
        .recordings()
        .iter()
        .filter(|r| status_str(r, "launch") == Some("Warm"))
        .count();
    assert!(
        warm >= 10,
        "at least the initial buffer was used warm: {warm}"
    );
    // The buffer is restored around the claims and claimed pods are never deleted.
    assert!(
        h.wait_for(Duration::from_secs(20), |h| h
            .pods()
            .iter()
            .filter(|p| label(p, LABEL_STATE) == Some("idle"))
            .count()
            >= 10)
            .await
    );
    check_invariants(&h);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_killed_mid_claim_leave_no_double_or_orphaned_claims() {
    let h = Harness::start(Duration::from_millis(30), FleetConfig::default()).await;
    pool(&h, 5).await;
    let mut op = Some(h.operator());
    assert!(
        h.wait_for(Duration::from_secs(20), |h| h.pods().len() >= 5)
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
    assert!(
        h.wait_for(Duration::from_secs(60), |h| all_recording(h, 30))
            .await,
        "not all recording after restarts: {:#?}",
        h.recordings()
            .iter()
            .filter(|r| condition(r, "Recording") != Some(("True", "Running")))
            .map(|r| (&r["metadata"]["name"], &r["status"]))
            .collect::<Vec<_>>()
    );
    check_invariants(&h);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_world_is_not_written_again() {
    let h = Harness::start(Duration::from_millis(30), FleetConfig::default()).await;
    pool(&h, 3).await;
    let op = h.operator();
    create_all(&h, 5, "s").await;
    assert!(
        h.wait_for(Duration::from_secs(30), |h| all_recording(h, 5))
            .await
    );
    assert!(
        h.wait_for(Duration::from_secs(10), |h| h
            .pods()
            .iter()
            .filter(
                |p| label(p, LABEL_STATE) == Some("idle") && p.pointer("/status/podIP").is_some()
            )
            .count()
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
