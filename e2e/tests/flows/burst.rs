//! A burst of 30 Recordings at once against a pool keeping two warm pods: each is recorded on
//! exactly one pod of its own (warm or cold), the pool gets back to its buffer afterwards, and
//! no pod is left claimed for nothing. Small recordings (96x64 at 5 fps) keep it to seconds.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::future::join_all;
use kube::ResourceExt;
use serde_json::json;
use vcs_e2e::objects;
use vcs_e2e::world::{Options, PoolValues, is_true, names, recorder_pod};
use vcs_e2e::{World, timed};
use vcs_operator::api::{LABEL_RECORDING, LaunchType};

const BURST: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_30_recordings_gets_one_pod_each_and_the_buffer_back() {
    let _t = timed("burst_of_30");
    let options = Options {
        pools: vec![PoolValues {
            max: 40,
            ..PoolValues::new("local", 2)
        }],
        ..Default::default()
    };
    let Some(world) = World::start_with("burst", options).await else {
        return;
    };
    world
        .wait_for_idle_pods("local", 2, Duration::from_secs(120))
        .await;
    let recs: Vec<String> = (0..BURST).map(|i| format!("burst-{i:02}")).collect();
    let started = Instant::now();
    join_all(recs.iter().map(|name| {
        let rec = objects::small_recording(name, &world.s3_target());
        let world = &world;
        async move { world.create_recording(&rec).await }
    }))
    .await;
    let running = join_all(recs.iter().map(|name| {
        world.wait_for_recording(name, Duration::from_secs(300), "recording", |r| {
            is_true(r, "Recording")
        })
    }))
    .await;
    eprintln!(
        "{BURST} Recordings recording {:.1} s after the burst",
        started.elapsed().as_secs_f64()
    );
    // One pod each: distinct, and each pod labelled for exactly its Recording.
    let pods: Vec<String> = running.iter().map(|r| recorder_pod(r).unwrap()).collect();
    let distinct: BTreeSet<&String> = pods.iter().collect();
    assert_eq!(distinct.len(), BURST, "{pods:?}");
    let warm = running
        .iter()
        .filter(|r| r.status.as_ref().and_then(|s| s.launch) == Some(LaunchType::Warm))
        .count();
    eprintln!("{warm} warm, {} cold", BURST - warm);
    let claimed = world.pool_pods("local").await;
    for r in &running {
        let mine: Vec<String> = claimed
            .iter()
            .filter(|p| p.labels().get(LABEL_RECORDING) == Some(&r.name_any()))
            .map(|p| p.name_any())
            .collect();
        assert_eq!(
            mine,
            vec![recorder_pod(r).unwrap()],
            "{}: {mine:?}",
            r.name_any()
        );
    }
    join_all(
        recs.iter()
            .map(|name| world.patch_spec(name, json!({"stop": true}))),
    )
    .await;
    join_all(recs.iter().map(|name| {
        world.wait_for_recording(name, Duration::from_secs(300), "Succeeded", |r| {
            is_true(r, "Succeeded")
        })
    }))
    .await;
    // The buffer is back and nothing is claimed any more.
    world
        .wait_for_pool(
            "local",
            Duration::from_secs(300),
            "back to its buffer",
            |st| st.claimed == 0 && st.ready == 2 && st.replicas == 2,
        )
        .await;
    let left = world.pool_pods("local").await;
    let stray: Vec<_> = left
        .iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none() && p.labels().contains_key(LABEL_RECORDING)
        })
        .collect();
    assert!(stray.is_empty(), "claimed pods left: {:?}", names(&left));
    eprintln!("burst done in {:.1} s", started.elapsed().as_secs_f64());
}
