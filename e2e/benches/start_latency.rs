//! `cargo bench -p vcs-e2e --bench start_latency` (part of `make bench`): against a real
//! cluster (`KUBECONFIG`; skipped without one), with the operator installed by Helm and its
//! pods and the recorders run by the kubelet stand-in:
//! - start latency, Recording created (as `kubectl apply` does) → the recorder's first encoded
//!   frame (`status.startedAt`), warm (a pool keeping idle pods) and cold (a pool keeping none,
//!   so each Recording gets a pod made, scheduled and started for it), over [`RUNS`] Recordings
//!   each, one after another: p50, p90, p99;
//! - claims per second with [`CONCURRENT`] Recordings created at once against a pool keeping
//!   that many warm pods: from the first create to the last claim written.
//!
//! The recordings are small (96x64 at 5 fps) so that what is measured is the control path.
//! The stand-in's pods are local processes, so cold here is scheduling, process start and the
//! recorder's warm-up, without an image pull.

use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use vcs_e2e::World;
use vcs_e2e::objects;
use vcs_e2e::world::{Options, PoolValues, first_frame, is_true};
use vcs_operator::api::LaunchType;

/// Recordings per start-latency series.
const RUNS: usize = 30;
/// Recordings created at once for the claim rate.
const CONCURRENT: usize = 16;

fn world_options(buffer: i32, max: i32) -> Options {
    Options {
        pools: vec![PoolValues {
            max,
            ..PoolValues::new("bench", buffer)
        }],
        ..Default::default()
    }
}

/// Milliseconds from create to first frame of [`RUNS`] Recordings, one after another, each
/// checked to have started with `launch`.
async fn start_latency(world: &World, buffer: i32, launch: LaunchType) -> Vec<f64> {
    let mut out = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        if buffer > 0 {
            world
                .wait_for_idle_pods("bench", buffer, Duration::from_secs(180))
                .await;
        }
        let name = format!("{}-{i}", launch.as_str().to_lowercase());
        let rec = objects::small_recording(&name, &world.s3_target());
        let applied = Timestamp::now();
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

/// Claims per second with [`CONCURRENT`] Recordings created at once.
async fn claim_rate(world: &World) -> (f64, f64) {
    let n = CONCURRENT as i32;
    world
        .wait_for_idle_pods("bench", n, Duration::from_secs(300))
        .await;
    let names: Vec<String> = (0..CONCURRENT).map(|i| format!("claim-{i}")).collect();
    let t0 = Timestamp::now();
    let started = Instant::now();
    join_all(names.iter().map(|name| {
        let rec = objects::small_recording(name, &world.s3_target());
        async move { world.create_recording(&rec).await }
    }))
    .await;
    let claimed = join_all(names.iter().map(|name| {
        world.wait_for_recording(name, Duration::from_secs(180), "claimed", |r| {
            r.status
                .as_ref()
                .and_then(|s| s.claimed_at.as_ref())
                .is_some()
        })
    }))
    .await;
    let last_claim = claimed
        .iter()
        .filter_map(|r| r.status.as_ref()?.claimed_at.as_ref().map(|t| t.0))
        .max()
        .expect("claims");
    let claim_secs = last_claim.duration_since(t0).as_secs_f64();
    join_all(names.iter().map(|name| {
        world.wait_for_recording(name, Duration::from_secs(180), "recording", |r| {
            is_true(r, "Recording")
        })
    }))
    .await;
    let all_recording = started.elapsed().as_secs_f64();
    for name in &names {
        world.patch_spec(name, json!({"stop": true})).await;
    }
    (CONCURRENT as f64 / claim_secs, all_recording)
}

fn percentiles(ms: &mut [f64]) -> String {
    ms.sort_by(f64::total_cmp);
    let p = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    format!(
        "p50 {:>6.0} ms  p90 {:>6.0} ms  p99 {:>6.0} ms  (min {:.0}, max {:.0}, n={})",
        p(0.50),
        p(0.90),
        p(0.99),
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(warm_world) = World::start_with("bench-warm", world_options(2, 40)).await else {
        return;
    };
    let mut warm = start_latency(&warm_world, 2, LaunchType::Warm).await;
    drop(warm_world);
    let cold_world = World::start_with("bench-cold", world_options(0, 40))
        .await
        .expect("the cluster answered a moment ago");
    let mut cold = start_latency(&cold_world, 0, LaunchType::Cold).await;
    drop(cold_world);
    let claims_world = World::start_with("bench-claims", world_options(CONCURRENT as i32, 40))
        .await
        .expect("the cluster answered a moment ago");
    let (rate, all_recording) = claim_rate(&claims_world).await;
    drop(claims_world);
    println!("start latency, Recording created → first frame:");
    println!("  warm  {}", percentiles(&mut warm));
    println!("  cold  {}", percentiles(&mut cold));
    println!(
        "claims: {rate:.1}/s with {CONCURRENT} Recordings created at once ({all_recording:.2} s until all were recording)"
    );
}
