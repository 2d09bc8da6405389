//! The operator's own failures: killed in the middle of claiming pods (the stand-in restarts
//! it, as a kubelet restarts a Deployment's container), and two replicas behind the Lease, the
//! leader deleted.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use vcs_e2e::kubelet::Signal;
use vcs_e2e::objects;
use vcs_e2e::world::{Options, PoolValues, is_true, names, recorder_pod};
use vcs_e2e::{World, timed};
use vcs_operator::api::{ANNOTATION_RECORDING_UID, LABEL_RECORDING};

/// Every Recording of `names` is recorded on exactly one pod claimed for it, and every claimed
/// pod belongs to one of them.
async fn one_pod_each(world: &World, recs: &[String]) {
    let pods = world.pool_pods("local").await;
    let mut by_recording: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &pods {
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(r) = p.labels().get(LABEL_RECORDING) {
            by_recording
                .entry(r.clone())
                .or_default()
                .push(p.name_any());
        }
    }
    for name in recs {
        let rec = world.recordings().get(name).await.expect("the Recording");
        let pod = recorder_pod(&rec).expect("a recording Recording names its pod");
        assert_eq!(
            by_recording.get(name),
            Some(&vec![pod.clone()]),
            "{name} must hold exactly its pod {pod}; claims: {by_recording:?}"
        );
        let p = pods
            .iter()
            .find(|p| p.name_any() == pod)
            .expect("the claimed pod is listed");
        assert_eq!(
            p.annotations().get(ANNOTATION_RECORDING_UID),
            rec.uid().as_ref()
        );
    }
    let orphans: Vec<&String> = by_recording.keys().filter(|r| !recs.contains(r)).collect();
    assert!(
        orphans.is_empty(),
        "pods claimed for no Recording: {orphans:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_killed_mid_claim_restarts_without_double_claims_or_orphans() {
    let _t = timed("operator_killed_mid_claim");
    let options = Options {
        pools: vec![PoolValues {
            max: 20,
            ..PoolValues::new("local", 3)
        }],
        ..Default::default()
    };
    let Some(world) = World::start_with("killed", options).await else {
        return;
    };
    world
        .wait_for_idle_pods("local", 3, Duration::from_secs(120))
        .await;
    let operator = world.operator_pods().await;
    assert_eq!(operator.len(), 1, "{:?}", names(&operator));
    let op = operator[0].name_any();
    let recs: Vec<String> = (0..6).map(|i| format!("claim-{i}")).collect();
    for name in &recs {
        world
            .create_recording(&objects::small_recording(name, &world.s3_target()))
            .await;
    }
    // The first claim is written: the others are being claimed right now.
    world
        .poll(
            Duration::from_secs(60),
            Duration::from_millis(20),
            async || {
                world
                    .recordings()
                    .list(&Default::default())
                    .await
                    .unwrap()
                    .items
            },
            |items| items.iter().any(|r| recorder_pod(r).is_some()),
            |_| "no claim".into(),
        )
        .await;
    world.signal_pod(&op, Signal::Kill);
    // Restarted in place (restartPolicy Always), with the kill on record.
    let restarted = world
        .poll(
            Duration::from_secs(60),
            Duration::from_millis(250),
            async || world.pods().get(&op).await.unwrap(),
            |p| {
                let cs = p.status.as_ref().and_then(|s| s.container_statuses.clone());
                cs.unwrap_or_default()
                    .first()
                    .is_some_and(|c| c.restart_count >= 1 && c.ready)
            },
            |_| format!("operator pod {op} not restarted and Ready"),
        )
        .await;
    let cs = restarted.status.unwrap().container_statuses.unwrap();
    let last = cs[0]
        .last_state
        .clone()
        .and_then(|s| s.terminated)
        .expect("the killed run");
    assert_eq!((last.exit_code, last.signal), (137, Some(9)), "{last:?}");
    for name in &recs {
        world
            .wait_for_recording(name, Duration::from_secs(180), "recording", |r| {
                is_true(r, "Recording")
            })
            .await;
    }
    one_pod_each(&world, &recs).await;
    for name in &recs {
        world.patch_spec(name, json!({"stop": true})).await;
    }
    for name in &recs {
        world
            .wait_for_recording(name, Duration::from_secs(120), "Succeeded", |r| {
                is_true(r, "Succeeded")
            })
            .await;
    }
    // Back to the buffer: three idle pods, none claimed.
    world
        .wait_for_pool(
            "local",
            Duration::from_secs(180),
            "back to its buffer",
            |st| st.claimed == 0 && st.ready == 3 && st.replicas == 3,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operator_replicas_elect_one_leader_and_fail_over() {
    let _t = timed("leader_election");
    let options = Options {
        replicas: 2,
        lease_seconds: 6,
        ..Default::default()
    };
    let Some(world) = World::start_with("leader", options).await else {
        return;
    };
    let leases: Api<Lease> = Api::namespaced(world.client.clone(), &world.namespace.name);
    let lease_name = format!("vcs-operator-{}", world.region);
    let holder = async || {
        let l = leases
            .get_opt(&lease_name)
            .await
            .expect("reading the Lease");
        l.and_then(|l| l.spec?.holder_identity)
    };
    let leader = world
        .poll(
            Duration::from_secs(60),
            Duration::from_millis(250),
            holder,
            Option::is_some,
            |_| "no leader".into(),
        )
        .await
        .unwrap();
    let pods = names(&world.operator_pods().await);
    assert_eq!(pods.len(), 2, "{pods:?}");
    assert!(
        pods.contains(&leader),
        "the Lease holder {leader} is one of {pods:?}"
    );
    world
        .wait_for_idle_pods("local", 1, Duration::from_secs(120))
        .await;
    // Only the leader reconciles: only it took the Lease and made the pool's pod.
    let follower = pods.iter().find(|p| **p != leader).unwrap().clone();
    let ns = world.namespace.name.clone();
    let (leader_log, follower_log) = (
        world.kubelet().logs(&ns, &leader),
        world.kubelet().logs(&ns, &follower),
    );
    assert!(
        leader_log.contains("became leader") && leader_log.contains("scaled pool"),
        "{leader_log}"
    );
    assert!(
        !follower_log.contains("became leader") && !follower_log.contains("scaled pool"),
        "{follower_log}"
    );

    // The leader goes (as in a node drain); the other replica takes over once the Lease expires.
    world
        .pods()
        .delete(&leader, &DeleteParams::default())
        .await
        .expect("deleting the leader's pod");
    let new_leader = world
        .poll(
            Duration::from_secs(90),
            Duration::from_millis(250),
            holder,
            |h| h.as_ref().is_some_and(|h| *h != leader),
            |h| format!("the Lease is still held by {h:?}"),
        )
        .await
        .unwrap();
    let lease = leases.get(&lease_name).await.unwrap().spec.unwrap();
    assert!(lease.lease_transitions.unwrap_or(0) >= 1, "{lease:?}");
    eprintln!("leader {leader} → {new_leader}");
    // The new leader records.
    world
        .create_recording(&objects::small_recording("after", &world.s3_target()))
        .await;
    world
        .wait_for_recording("after", Duration::from_secs(120), "recording", |r| {
            is_true(r, "Recording")
        })
        .await;
}
