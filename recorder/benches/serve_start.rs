//! Start latency (issue 6's bench): milliseconds from `POST /v1/job` to the first encoded frame
//! on a warm `vcs-recorder serve`, against a cold `vcs-recorder render` process for the same job
//! (process start to its first encoded frame), over 20 runs each, side by side.
//!
//! `cargo bench -p vcs-recorder --bench serve_start`; `VCS_BENCH_RUNS` sets the run count (20).
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vcs_test_support::{RecorderServe, workspace_bin};

const TOKEN: &str = "bench-token";

fn recorder() -> PathBuf {
    workspace_bin("vcs-recorder", "VCS_RECORDER_BIN")
}

fn job_json(out: &Path) -> String {
    format!(
        r#"{{"id":"bench","composition":{{"name":"demo"}},
            "participants":[{{"id":"alice","camera":"test:","audio":"test:"}},{{"id":"bob","camera":"test:","audio":"test:"}},
                            {{"id":"carol","camera":"test:","audio":"test:"}},{{"id":"dave","camera":"test:","audio":"test:"}}],
            "video":{{"width":1280,"height":720,"fps":30}},
            "outputs":[{{"name":"mp4","mp4":{{"path":"{}"}}}}]}}"#,
        out.display()
    )
}

/// One warm start: serve warmed up and ready, then the POST timed until it answers.
fn warm_run(dir: &Path) -> f64 {
    let serve = RecorderServe::start(&recorder(), dir, TOKEN, 0, None);
    let body = job_json(&dir.join("warm.mp4"));
    let started = Instant::now();
    let status = serve.api.call("POST", "/v1/job", Some(&body)).status;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(status, 200, "POST /v1/job");
    serve.api.call("POST", "/v1/job/stop", None);
    // It exits once the job is over (no linger); a long recording would be a bug.
    serve.wait_exit(std::time::Duration::from_secs(120));
    ms
}

/// One cold start: a fresh `render` process, timed from spawn to its first encoded frame.
fn cold_run(dir: &Path) -> f64 {
    let job = dir.join("cold.json");
    std::fs::write(
        &job,
        job_json(&dir.join("cold.mp4")).replace(r#""id":"bench","#, r#""durationSecs":1,"#),
    )
    .unwrap();
    let started = Instant::now();
    let out = Command::new(recorder())
        .arg("render")
        .arg(&job)
        .env("RUST_LOG", "vcs_recorder=info")
        .output()
        .unwrap();
    let total = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find(|l| l.contains("first frame encoded"))
        .and_then(|l| l.split("since_process_start_ms=").nth(1))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(total)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let runs: usize = std::env::var("VCS_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("vcs-bench-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    // Interleaved, so machine noise hits both alike.
    for _ in 0..runs {
        warm.push(warm_run(&dir));
        cold.push(cold_run(&dir));
    }
    warm.sort_by(f64::total_cmp);
    cold.sort_by(f64::total_cmp);
    println!("start latency over {runs} runs (4 test participants, demo, 1280x720@30):");
    for (name, v) in [
        ("warm serve: POST /v1/job -> first frame", &warm),
        ("cold render: process start -> first frame", &cold),
    ] {
        println!(
            "  {name}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v[v.len() - 1]
        );
    }
    println!(
        "  warm p99 {:.0} ms (target <= 300); cold/warm at p50 = {:.1}x",
        percentile(&warm, 0.99),
        percentile(&cold, 0.5) / percentile(&warm, 0.5)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
