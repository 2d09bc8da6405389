//! `cargo bench -p vcs-e2e --bench recorder_loss` (part of `make bench`): against a real
//! cluster (`KUBECONFIG`; skipped without one), with the operator installed by Helm and the
//! recorders run by the kubelet stand-in, [`KILLS`] recorders lost at a random moment while
//! they record — by turns SIGKILL of the recorder process and `--grace-period=0` deletion of
//! its pod — each replaced by a continuation on a warm pod, one Recording after another.
//!
//! Per loss it prints, and over all of them p50 and max of:
//! - **gap**: the lost recorder's last frame that is in the bucket → the continuation's first
//!   frame. The last frame is measured from the media: the lost recorder's first-frame wall
//!   time (`status.spans[0].from`, as it reported it) plus the duration (ffprobe) of the MP4
//!   the continuation recovered from what it uploaded. The first frame after is the
//!   continuation's reported first-frame wall time (`spans[1].from`). Everything runs on one
//!   machine, so the wall clocks agree. This is the hole in the recording: it includes what
//!   the lost recorder encoded but had not uploaded when it died.
//! - **kill → first frame**: from the moment the bench sent the kill to the continuation's
//!   first frame (noticing the loss, claiming a warm pod, starting the job there);
//! - **lost tail**: the recorded media that died with the recorder (kill time − last frame in
//!   the bucket);
//! - the gap the operator reports in `status.gaps[0].lengthSecs` (and how many of those the
//!   continuation measured from the frames: `measured`).
//!
//! The recordings are small (96x64 at 15 fps, MP4 to S3) so that what is measured is the
//! loss path, not encoding. The kubelet stand-in sends a deleted pod's processes SIGTERM before
//! SIGKILL, as a kubelet does: a recorder whose pod is deleted with no grace period finalises
//! its MP4 itself when it is quick enough (a lost tail ≤ 0 — frames after the moment the
//! deletion was sent), while a SIGKILLed one loses what it had not checkpointed (up to a
//! fragment, about a second).

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::json;
use vcs_e2e::World;
use vcs_e2e::kubelet::Signal;
use vcs_e2e::objects;
use vcs_e2e::world::{Options, PoolValues, is_true, recorder_pod};
use vcs_operator::api::{Recording, RecordingResult};
use vcs_test_support::duration_secs;

/// Recorders lost, one Recording each.
const KILLS: usize = 10;
/// Idle pods the pool keeps: one for the next Recording, one for its continuation.
const WARM: i32 = 2;

/// One loss, measured.
struct Loss {
    how: &'static str,
    recorded_before: f64,
    gap: f64,
    kill_to_first_frame: f64,
    lost_tail: f64,
    operator_gap: Option<f64>,
    /// The continuation measured `operator_gap` from the frames.
    operator_measured: bool,
}

/// A small xorshift generator: the kill moments need spreading, not quality.
struct Moments(u64);

impl Moments {
    fn next_secs(&mut self, max: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f64 / 10_000.0 * max
    }
}

fn recorded(r: &Recording) -> f64 {
    r.status
        .as_ref()
        .and_then(|s| s.recorded_secs)
        .unwrap_or_default()
}

fn secs(d: SignedDuration) -> f64 {
    d.as_secs_f64()
}

/// Records, loses the recorder `wait` seconds after 2 s were recorded, and measures the loss.
async fn lose_one(world: &World, i: usize, wait: f64) -> Loss {
    world
        .wait_for_idle_pods("bench", WARM, Duration::from_secs(180))
        .await;
    let name = format!("loss-{i}");
    let mut rec = objects::small_recording(&name, &world.s3_target());
    rec.spec.video.fps = 15;
    world.create_recording(&rec).await;
    let running = world
        .wait_for_recording(&name, Duration::from_secs(180), "recording 2 s", |r| {
            is_true(r, "Recording") && recorded(r) >= 2.0
        })
        .await;
    let pod = recorder_pod(&running).expect("a recording Recording names its pod");
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    let recorded_before = recorded(&world.recordings().get(&name).await.expect("read"));
    let killed_at = Timestamp::now();
    let how = if i.is_multiple_of(2) {
        world.signal_pod(&pod, Signal::Kill);
        "SIGKILL"
    } else {
        world.force_delete_pod(&pod).await;
        "pod deleted --grace-period=0"
    };
    let resumed = world
        .wait_for_recording(&name, Duration::from_secs(180), "continued", |r| {
            r.status.as_ref().is_some_and(|s| s.spans.len() == 2)
        })
        .await;
    let st = resumed.status.clone().unwrap_or_default();
    let (lost_from, next_from) = (st.spans[0].from.0, st.spans[1].from.0);
    // The continuation recovers the lost part in the background while it records.
    let key = format!("{name}/archive.mp4");
    let lost_mp4 = world
        .wait_for_object(&key, Duration::from_secs(120), "recovered lost part")
        .await;
    let in_bucket = duration_secs(&lost_mp4);
    let last_frame = lost_from + SignedDuration::from_secs_f64(in_bucket);
    world.patch_spec(&name, json!({"stop": true})).await;
    let done = world
        .wait_for_recording(&name, Duration::from_secs(180), "finished", |r| {
            r.status.as_ref().is_some_and(|s| s.result.is_some())
        })
        .await;
    let st = done.status.unwrap_or_default();
    assert_eq!(
        st.result,
        Some(RecordingResult::Succeeded),
        "{name}: {st:#?}"
    );
    Loss {
        how,
        recorded_before,
        gap: secs(next_from.duration_since(last_frame)),
        kill_to_first_frame: secs(next_from.duration_since(killed_at)),
        lost_tail: secs(killed_at.duration_since(last_frame)),
        operator_gap: st.gaps.first().and_then(|g| g.length_secs),
        operator_measured: st.gaps.first().is_some_and(|g| g.measured),
    }
}

fn p50_max(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let p50 = v[v.len().div_ceil(2) - 1];
    format!(
        "p50 {p50:5.2} s  max {:5.2} s  (min {:.2}, n={})",
        v[v.len() - 1],
        v[0],
        v.len()
    )
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options {
        pools: vec![PoolValues::new("bench", WARM)],
        ..Default::default()
    };
    let Some(world) = World::start_with("bench-loss", options).await else {
        return;
    };
    let seed = Timestamp::now().as_nanosecond() as u64 | 1;
    let mut moments = Moments(seed);
    let load_before = load();
    let mut losses = Vec::with_capacity(KILLS);
    for i in 0..KILLS {
        let loss = lose_one(&world, i, moments.next_secs(3.0)).await;
        eprintln!(
            "loss {i}: {} after {:.2} s recorded: gap {:.2} s, kill → first frame {:.2} s, \
             lost tail {:.2} s, operator's gap {:?}",
            loss.how,
            loss.recorded_before,
            loss.gap,
            loss.kill_to_first_frame,
            loss.lost_tail,
            loss.operator_gap
        );
        losses.push(loss);
    }
    drop(world);
    let col = |f: fn(&Loss) -> f64| p50_max(losses.iter().map(f).collect());
    println!(
        "recorder loss, {KILLS} kills (SIGKILL and --grace-period=0 by turns, 0–3 s after 2 s were \
         reported recorded; warm pool; seed {seed}; load {load_before} → {}):",
        load()
    );
    println!(
        "  gap (last frame in the bucket → first frame after)  {}",
        col(|l| l.gap)
    );
    println!(
        "  kill → continuation's first frame                  {}",
        col(|l| l.kill_to_first_frame)
    );
    println!(
        "  lost tail (last frame in the bucket → kill)        {}",
        col(|l| l.lost_tail)
    );
    let reported: Vec<f64> = losses.iter().filter_map(|l| l.operator_gap).collect();
    let measured = losses.iter().filter(|l| l.operator_measured).count();
    if !reported.is_empty() {
        println!(
            "  gap the operator reports (status.gaps)             {} ({measured} of {} \
             measured from the frames)",
            p50_max(reported),
            losses.len()
        );
    }
}
