//! The pool: scale-up on claims, scale-down after the stabilisation window that never deletes
//! a claimed pod, `kubectl get rpool`, and the real garbage collector removing a deleted pool's
//! pods by owner.

use std::time::Duration;

use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;
use vcs_e2e::objects;
use vcs_e2e::world::{Options, PoolValues, is_true, names, recorder_pod};
use vcs_e2e::{World, timed};
use vcs_operator::api::{LABEL_STATE, STATE_CLAIMED};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_scales_up_on_claims_and_down_after_stabilisation_never_deleting_a_claimed_pod() {
    let _t = timed("pool_scaling");
    let options = Options {
        pools: vec![PoolValues {
            stabilisation_secs: 8,
            ..PoolValues::new("local", 2)
        }],
        ..Default::default()
    };
    let Some(world) = World::start_with("scaling", options).await else {
        return;
    };
    world
        .wait_for_idle_pods("local", 2, Duration::from_secs(120))
        .await;
    // Two claims: the pool grows at once to keep two idle beside them.
    for name in ["busy-0", "busy-1"] {
        world
            .create_recording(&objects::small_recording(name, &world.s3_target()))
            .await;
    }
    for name in ["busy-0", "busy-1"] {
        world
            .wait_for_recording(name, Duration::from_secs(120), "recording", |r| {
                is_true(r, "Recording")
            })
            .await;
    }
    world
        .wait_for_pool(
            "local",
            Duration::from_secs(120),
            "4 pods, 2 claimed, 2 ready",
            |st| st.desired == 4 && st.replicas == 4 && st.claimed == 2 && st.ready == 2,
        )
        .await;
    let table = world.kubectl(&["get", "rpool", "local"]).await;
    eprintln!("kubectl get rpool:\n{table}");
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "NAME", "REGION", "DESIRED", "READY", "IDLE", "CLAIMED", "AGE",
    ] {
        assert!(header.contains(column), "no {column} column: {table}");
    }
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        &row[..6],
        ["local", world.region.as_str(), "4", "2", "2", "2"],
        "{table}"
    );

    // No buffer wanted any more: two idle pods are surplus, but only after the window, and the
    // claimed ones stay while they record.
    let claimed: Vec<String> = world
        .pool_pods("local")
        .await
        .into_iter()
        .filter(|p| p.labels().get(LABEL_STATE).map(String::as_str) == Some(STATE_CLAIMED))
        .map(|p| p.name_any())
        .collect();
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    world
        .pools()
        .patch(
            "local",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"bufferSize": 0}})),
        )
        .await
        .expect("patching the pool's buffer");
    let st = world
        .wait_for_pool(
            "local",
            Duration::from_secs(30),
            "in its surplus window",
            |st| st.surplus_since.is_some(),
        )
        .await;
    assert_eq!(
        st.replicas, 4,
        "nothing is deleted inside the window: {st:?}"
    );
    world
        .wait_for_pool(
            "local",
            Duration::from_secs(60),
            "scaled down to its claims",
            |st| st.replicas == 2 && st.claimed == 2 && st.desired == 2,
        )
        .await;
    let left = names(
        &world
            .pool_pods("local")
            .await
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect::<Vec<_>>(),
    );
    assert_eq!(left.len(), 2, "{left:?}");
    for pod in &claimed {
        assert!(
            left.contains(pod),
            "claimed pod {pod} was deleted: {left:?}"
        );
    }
    for name in ["busy-0", "busy-1"] {
        let r = world.recordings().get(name).await.unwrap();
        assert!(is_true(&r, "Recording"), "{name} stopped recording");
        assert!(claimed.contains(&recorder_pod(&r).unwrap()));
        world.patch_spec(name, json!({"stop": true})).await;
    }
    world
        .wait_for_pool("local", Duration::from_secs(120), "empty", |st| {
            st.replicas == 0
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pools_pods_are_garbage_collected_by_owner() {
    let _t = timed("garbage_collection");
    let options = Options {
        pools: vec![PoolValues::new("local", 2)],
        ..Default::default()
    };
    let Some(world) = World::start_with("gc", options).await else {
        return;
    };
    world
        .wait_for_idle_pods("local", 2, Duration::from_secs(120))
        .await;
    let before = world.pool_pods("local").await;
    assert_eq!(before.len(), 2, "{:?}", names(&before));
    for p in &before {
        let owners = p.metadata.owner_references.clone().unwrap_or_default();
        assert!(
            owners
                .iter()
                .any(|o| o.kind == "RecorderPool" && o.controller == Some(true))
        );
    }
    // The pool goes; its controller does nothing more, so it is the controller-manager's
    // garbage collector that deletes the pods (and the stand-in that stops and removes them).
    world
        .pools()
        .delete("local", &DeleteParams::background())
        .await
        .expect("deleting the pool");
    world
        .poll(
            Duration::from_secs(120),
            Duration::from_millis(250),
            async || world.pool_pods("local").await,
            Vec::is_empty,
            |pods| format!("pods left: {:?}", names(pods)),
        )
        .await;
    let ns = world.namespace.name.clone();
    for p in &before {
        assert!(
            world.kubelet().pids(&ns, &p.name_any()).is_empty(),
            "{} still runs",
            p.name_any()
        );
    }
}
