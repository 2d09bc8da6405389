//! The issue 7 e2e flow on a real cluster: a RecorderPool and a Recording applied → the
//! Recording is recorded on a warm pod, a live `spec.composition.params` patch shows in the
//! recorded frames, `spec.stop` finishes it, and the MP4 and the HLS playlist are in S3.
//! Skipped (and passing) without `KUBECONFIG`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use vcs_e2e::World;
use vcs_e2e::objects::{self, HEIGHT, WIDTH};
use vcs_e2e::world::{BUCKET, REGION, first_frame, is_true};
use vcs_operator::api::{LaunchType, RecordingResult};
use vcs_test_support::{close_to, decode_frame_rgb, duration_secs, median_rgb};

const NAVY: [u8; 3] = [0, 0, 128];
const GREEN: [u8; 3] = [0, 128, 0];

fn kubectl() -> Option<&'static str> {
    let p = "/usr/bin/kubectl";
    Path::new(p)
        .is_file()
        .then_some(p)
        .or_else(|| vcs_test_support::find_program("kubectl").map(|_| "kubectl"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_is_recorded_warm_to_s3_with_a_live_params_patch() {
    let Some(world) = World::start("recording").await else {
        return;
    };
    let ns = world.namespace.name.clone();
    world.create_pool("local", 1).await;
    world
        .wait_for_idle_pods("local", 1, Duration::from_secs(120))
        .await;

    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bg.jsx");
    let rec = objects::recording(
        "first",
        &composition.display().to_string(),
        json!({"bg": "#000080"}),
        &world.s3_target(),
    );
    world.create_recording(&rec).await;
    let running = world
        .wait_for_recording("first", Duration::from_secs(120), "recording", |r| {
            is_true(r, "Recording")
        })
        .await;
    let st = running.status.clone().unwrap_or_default();
    assert_eq!(st.region.as_deref(), Some(REGION), "{st:#?}");
    assert_eq!(st.launch, Some(LaunchType::Warm), "{st:#?}");
    assert!(first_frame(&running).is_some(), "{st:#?}");

    // Navy for a while, then a live edit of the params.
    tokio::time::sleep(Duration::from_secs(3)).await;
    world
        .patch_spec(
            "first",
            json!({"composition": {"params": {"bg": "#008000"}}}),
        )
        .await;
    world
        .wait_for_recording(
            "first",
            Duration::from_secs(30),
            "forwarding the params patch",
            |r| {
                r.status
                    .as_ref()
                    .and_then(|s| s.applied.as_ref())
                    .and_then(|a| a.params.get("bg"))
                    == Some(&json!("#008000"))
            },
        )
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    world.patch_spec("first", json!({"stop": true})).await;

    if let Some(kubectl) = kubectl() {
        let wait = tokio::task::spawn_blocking({
            let ns = ns.clone();
            move || {
                Command::new(kubectl)
                    .args(["wait", "--for=condition=Succeeded", "rec/first", "-n", &ns])
                    .arg("--timeout=180s")
                    .output()
                    .expect("kubectl runs")
            }
        })
        .await
        .expect("kubectl wait finishes");
        assert!(
            wait.status.success(),
            "kubectl wait --for=condition=Succeeded failed: {}{}\noperator log:\n{}",
            String::from_utf8_lossy(&wait.stdout),
            String::from_utf8_lossy(&wait.stderr),
            world.operator.log_text()
        );
    }
    let done = world
        .wait_for_recording("first", Duration::from_secs(180), "Succeeded", |r| {
            is_true(r, "Succeeded")
        })
        .await;
    let st = done.status.clone().unwrap_or_default();
    assert_eq!(st.result, Some(RecordingResult::Succeeded), "{st:#?}");

    if let Some(kubectl) = kubectl() {
        let out = Command::new(kubectl)
            .args(["get", "rec", "first", "-n", &ns])
            .output()
            .expect("kubectl runs");
        let table = String::from_utf8_lossy(&out.stdout);
        eprintln!("kubectl get rec:\n{table}");
        let header = table.lines().next().unwrap_or_default();
        for column in ["REGION", "LAUNCH", "RECORDING", "RESULT", "STARTED", "AGE"] {
            assert!(header.contains(column), "no {column} column: {table}");
        }
        let row = table.lines().nth(1).unwrap_or_default();
        for value in [REGION, "Warm", "Succeeded"] {
            assert!(
                row.contains(value),
                "`kubectl get rec` row lacks {value}: {table}"
            );
        }
    }

    // The outputs are in S3.
    let mp4 = world.s3.object_path(BUCKET, "first/archive.mp4");
    assert!(mp4.is_file(), "no MP4 at {}", mp4.display());
    let playlist = world.s3.object_path(BUCKET, "first/hls/playlist.m3u8");
    let text = std::fs::read_to_string(&playlist)
        .unwrap_or_else(|e| panic!("no HLS playlist at {}: {e}", playlist.display()));
    assert!(text.starts_with("#EXTM3U"), "{text}");
    assert!(text.contains(".ts"), "the playlist names segments: {text}");

    // The live params patch shows in the recording: navy at the start, green at the end.
    let whole = (WIDTH / 4, HEIGHT / 4, WIDTH / 2, HEIGHT / 2);
    let start = median_rgb(&decode_frame_rgb(&mp4, 0.5, WIDTH, HEIGHT), WIDTH, whole);
    assert!(
        close_to(start, NAVY, 28),
        "first frames are {start:?}, not navy"
    );
    let end_t = duration_secs(&mp4) - 1.0;
    let end = median_rgb(&decode_frame_rgb(&mp4, end_t, WIDTH, HEIGHT), WIDTH, whole);
    assert!(
        close_to(end, GREEN, 28),
        "frames at {end_t:.1} s are {end:?}, not green after the params patch"
    );
}
