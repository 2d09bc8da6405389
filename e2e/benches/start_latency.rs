//! `cargo bench -p vcs-e2e --bench start_latency` (part of `make bench`): warm versus cold start
//! latency on a real cluster, from creating the Recording (as `kubectl apply` does) to the
//! recorder's first encoded frame (`status.startedAt`). Skipped without `KUBECONFIG`.
//!
//! Warm: a pool keeping one idle pod; each Recording claims it and the pool makes the next.
//! Cold: a pool keeping none (in its own namespace and operator), so each Recording gets a pod
//! made for it. The pods are local `vcs-recorder serve` processes (see `vcs_e2e::kubelet`), so
//! cold here is process start and warm-up, without image pulls or scheduling.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use vcs_e2e::World;
use vcs_e2e::objects;
use vcs_e2e::world::{first_frame, is_true};
use vcs_operator::api::LaunchType;

const RUNS: usize = 3;

/// Milliseconds from create to first frame of `RUNS` Recordings, one after another, each
/// checked to have started with `launch`.
async fn measure(world: &World, buffer: i32, launch: LaunchType) -> Vec<f64> {
    world.create_pool("bench", buffer).await;
    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bg.jsx");
    let mut out = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        if buffer > 0 {
            world
                .wait_for_idle_pods("bench", buffer, Duration::from_secs(180))
                .await;
        }
        let name = format!("{}-{i}", launch.as_str().to_lowercase());
        let rec = objects::recording(
            &name,
            &composition.display().to_string(),
            json!({"bg": "#000080"}),
            &world.s3_target(),
        );
        let applied = k8s_openapi::jiff::Timestamp::now();
        world.create_recording(&rec).await;
        let running = world
            .wait_for_recording(&name, Duration::from_secs(180), "recording", |r| {
                is_true(r, "Recording")
            })
            .await;
        let st = running.status.clone().unwrap_or_default();
        assert_eq!(st.launch, Some(launch), "{name}: {st:#?}");
        let first = first_frame(&running).expect("a running Recording has startedAt");
        out.push(first.duration_since(applied).as_millis_f64());
        world.patch_spec(&name, json!({"stop": true})).await;
    }
    out
}

fn summary(ms: &mut [f64]) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "median {:.0} ms (min {:.0}, max {:.0}, n={})",
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(warm_world) = World::start("latency-warm").await else {
        return;
    };
    let mut warm = measure(&warm_world, 1, LaunchType::Warm).await;
    drop(warm_world);
    let cold_world = World::start("latency-cold")
        .await
        .expect("the cluster answered a moment ago");
    let mut cold = measure(&cold_world, 0, LaunchType::Cold).await;
    drop(cold_world);
    println!(
        "start latency, Recording created → first frame: warm {}; cold {}",
        summary(&mut warm),
        summary(&mut cold)
    );
}
