//! RTMP into a real nginx-rtmp (started by the tests on a free loopback port), paced at real
//! time so the server can be killed and restarted mid-stream.
#![allow(
    clippy::unwrap_used,
    reason = "the helpers are test code too: an unwrap that fails is a failed test at that line"
)]

mod support;

use std::time::{Duration, Instant};

use support::encode::*;
use vcs_job::control::OutputState;
use vcs_media::{Encoder, OutputProgress};
use vcs_test_support::{RtmpServer, TempDir, probe, stream, wait_for};

/// Pushes frames `range` at real time (never sleeping when behind).
fn push_paced(enc: &mut Encoder, start: Instant, range: std::ops::Range<u64>) {
    for n in range {
        enc.push(n, frame(n, None), &audio(n, false)).unwrap();
        let due = start + Duration::from_secs_f64((n + 1) as f64 / FPS as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

fn progress(enc: &Encoder, name: &str) -> OutputProgress {
    enc.status().into_iter().find(|p| p.name == name).unwrap()
}

fn flv_video_frames(path: &std::path::Path) -> (u64, f64) {
    let streams = probe(path);
    let v = stream(&streams, "video", path);
    (v.frames, v.start)
}

#[test]
fn rtmp_resumes_after_the_server_restarts_and_files_are_unaffected() {
    init_tracing();
    let dir = TempDir::new("rtmp-restart");
    let mut nginx = RtmpServer::start(&dir.path().join("nginx"));
    let mp4_path = dir.path().join("out.mp4");
    let hls_dir = dir.path().join("hls");
    let mut enc = Encoder::start(
        config(),
        vec![
            mp4("file", mp4_path.clone()),
            hls("hls", hls_dir.clone(), 2.0),
            rtmp("live", nginx.url("sk_restart_key")),
        ],
    )
    .unwrap();
    let t0 = Instant::now();
    push_paced(&mut enc, t0, 0..90);
    let live = progress(&enc, "live");
    assert_eq!(live.state, OutputState::Active, "{live:?}");
    assert_eq!(
        nginx.recordings().len(),
        1,
        "nginx records the first publish"
    );

    nginx.stop();
    push_paced(&mut enc, t0, 90..120);
    let live = progress(&enc, "live");
    assert_eq!(live.state, OutputState::Reconnecting, "{live:?}");
    assert!(live.reconnects >= 1, "{live:?}");
    let error = live.last_error.clone().unwrap_or_default();
    assert!(
        !error.contains("sk_restart_key"),
        "stream key leaked into status: {error}"
    );

    nginx.restart();
    push_paced(&mut enc, t0, 120..300);
    let live = progress(&enc, "live");
    assert_eq!(
        live.state,
        OutputState::Active,
        "RTMP did not come back: {live:?}"
    );
    let summaries = enc.finish().unwrap();
    // Let nginx close its recording.
    std::thread::sleep(Duration::from_millis(300));
    nginx.stop();

    let by_name = |n: &str| summaries.iter().find(|s| s.name == n).unwrap();
    assert_eq!(
        by_name("live").state,
        OutputState::Done,
        "{:?}",
        by_name("live")
    );
    assert!(by_name("live").reconnects >= 1);
    let recordings = nginx.recordings();
    assert_eq!(recordings.len(), 2, "one FLV per publish: {recordings:?}");
    let (first, _) = flv_video_frames(&recordings[0]);
    let (second, start) = flv_video_frames(&recordings[1]);
    assert!(first >= 60, "first publish recorded {first} frames");
    // Restarted at about 4.5 s of 10: several seconds more.
    assert!(
        second >= 90,
        "resumed publish recorded only {second} frames"
    );
    assert!(start < 0.5, "resumed publish starts near 0, not at {start}");

    // The files never noticed.
    assert_eq!(by_name("file").state, OutputState::Done);
    assert_eq!(stream(&probe(&mp4_path), "video", &mp4_path).frames, 300);
    let playlist = std::fs::read_to_string(hls_dir.join("playlist.m3u8")).unwrap();
    let hls_frames: u64 = playlist
        .lines()
        .filter(|l| l.ends_with(".ts"))
        .map(|s| stream(&probe(&hls_dir.join(s)), "video", &hls_dir.join(s)).frames)
        .sum();
    assert_eq!(hls_frames, 300);
}

#[test]
fn rtmp_added_mid_recording_starts_near_zero_and_removed_outputs_are_finalised() {
    init_tracing();
    let dir = TempDir::new("rtmp-add");
    let nginx = RtmpServer::start(&dir.path().join("nginx"));
    let first = dir.path().join("first.mp4");
    let mut enc = Encoder::start(config(), vec![mp4("first", first.clone())]).unwrap();
    let t0 = Instant::now();
    push_paced(&mut enc, t0, 0..45);
    enc.add_output(rtmp("live", nginx.url("sk_added"))).unwrap();
    push_paced(&mut enc, t0, 45..120);
    assert_eq!(progress(&enc, "live").state, OutputState::Active);

    let removed = enc.remove_output("first").unwrap();
    assert_eq!(removed.state, OutputState::Done, "{removed:?}");
    assert_eq!(removed.files, vec![first.clone()]);
    let frames = stream(&probe(&first), "video", &first).frames;
    assert!(
        (100..=120).contains(&frames),
        "removed MP4 has {frames} of 120 frames"
    );
    assert!(enc.status().iter().all(|p| p.name != "first"));
    assert!(
        enc.remove_output("first").is_err(),
        "removing twice is an error"
    );

    push_paced(&mut enc, t0, 120..165);
    let summaries = enc.finish().unwrap();
    assert_eq!(summaries.len(), 1);
    let live = &summaries[0];
    assert_eq!(live.state, OutputState::Done, "{live:?}");
    // Started at the keyframe forced around frame 45: about 4 s of media.
    assert!(
        (live.duration.as_secs_f64() - 4.0).abs() < 0.5,
        "RTMP carried {:?}",
        live.duration
    );
    std::thread::sleep(Duration::from_millis(300));
    let recordings = nginx.recordings();
    assert_eq!(recordings.len(), 1, "{recordings:?}");
    let (frames, start) = flv_video_frames(&recordings[0]);
    assert!(frames >= 90, "RTMP recorded {frames} frames");
    assert!(
        start < 0.5,
        "output added mid-recording starts near 0, not at {start}"
    );
}

#[test]
fn rtmp_server_that_accepts_but_never_answers_is_retried() {
    init_tracing();
    // Accepts TCP and then says nothing: the RTMP handshake hangs rather than failing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        conns.len()
    });
    let mut enc = Encoder::start(
        config(),
        vec![rtmp(
            "live",
            format!("rtmp://127.0.0.1:{port}/live/sk_hung"),
        )],
    )
    .unwrap();
    for n in 0..60 {
        enc.push(n, frame(n, None), &audio(n, false)).unwrap();
    }
    assert_eq!(progress(&enc, "live").state, OutputState::Starting);
    wait_for(
        "the hung connection to be given up",
        Duration::from_secs(20),
        || progress(&enc, "live").reconnects >= 1,
    );
    let live = progress(&enc, "live");
    // rtmp2sink's own connect timeout or our stall detection, whichever comes first.
    let error = live.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("timed out") || error.contains("nothing reached the server"),
        "{live:?}"
    );
    assert!(!error.contains("sk_hung"), "stream key leaked: {error}");
    let started = Instant::now();
    let summaries = enc.finish().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "finish waited on a dead server"
    );
    assert_eq!(summaries[0].state, OutputState::Done, "{:?}", summaries[0]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(held.join().unwrap() >= 1, "the encoder never connected");
}
