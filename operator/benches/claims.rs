//! `cargo bench -p vcs-operator --bench claims`: claims per second and claim latency p50/p99
//! against the fake API server with 5 ms injected write latency, 16 claimers at once.

#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::Api;
use kube::ResourceExt;
use kube::api::PostParams;
use vcs_fake_kube::{FakeApi, FakeKubelet};
use vcs_operator::api::{LABEL_STATE, RecorderPool, Recording};
use vcs_operator::claim;
use vcs_operator::pool::pods::recorder_pod;
use vcs_operator::telemetry::Metrics;

const PODS: usize = 400;
const CLAIMS: usize = 300;
const CONCURRENCY: usize = 16;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let api = FakeApi::new();
    let _kubelet = FakeKubelet::start(&api, Duration::ZERO);
    let client = api.client();
    let pools: Api<RecorderPool> = Api::namespaced(client.clone(), "default");
    let pool = pools
        .create(
            &PostParams::default(),
            &RecorderPool::test("eu", "eu-west", 0, 1000),
        )
        .await
        .unwrap();
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "default");
    for _ in 0..PODS {
        pods.create(
            &PostParams::default(),
            &recorder_pod(&pool, None, Default::default(), Default::default()),
        )
        .await
        .unwrap();
    }
    while api
        .objects("pods")
        .iter()
        .filter(|p| p.pointer("/status/podIP").is_some())
        .count()
        < PODS
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let recs: Api<Recording> = Api::namespaced(client.clone(), "default");
    let mut recordings = Vec::new();
    for i in 0..CLAIMS {
        recordings.push(
            recs.create(&PostParams::default(), &Recording::test(&format!("b-{i}")))
                .await
                .unwrap(),
        );
    }
    api.set_write_latency(Duration::from_millis(5));
    let metrics = Arc::new(Metrics::default());
    let queue = Arc::new(std::sync::Mutex::new(recordings));
    let started = Instant::now();
    // Spawned all at once (collected), not one at a time as a lazy iterator would while the
    // loop below awaits each.
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (queue, pods, pool, metrics) =
                (queue.clone(), pods.clone(), pool.clone(), metrics.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let Some(rec) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let t = Instant::now();
                    let c = claim::claim(&pods, None, &pool, &rec, &metrics)
                        .await
                        .unwrap();
                    lat.push(t.elapsed());
                    assert_eq!(
                        c.pod.labels().get(vcs_operator::api::LABEL_RECORDING),
                        Some(&rec.name_any())
                    );
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<Duration> = Vec::new();
    for w in workers {
        lat.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    lat.sort();
    let claimed = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|p| p.labels().get(LABEL_STATE).map(String::as_str) == Some("claimed"))
        .count();
    assert_eq!(claimed, CLAIMS, "every claim took exactly one pod");
    println!(
        "claims: {CLAIMS} by {CONCURRENCY} claimers over {PODS} idle pods, 5 ms write latency: {:.0} claims/s, latency p50 {:.1} ms, p99 {:.1} ms, CAS conflicts {}",
        CLAIMS as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        metrics.claim_conflicts.get(),
    );
}
