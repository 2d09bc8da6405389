//! Faults while recording, through the real binary at real time: the S3 server stopped for 10 s
//! mid-recording and restarted (every object still ends complete and playable), and a live
//! input killed and restarted (its tile shows the paused placeholder, then video again).
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vcs_test_support::{S3Server, TempDir, decode_frame_rgb, ffprobe_streams, free_port};

const W: u32 = 320;
const H: u32 = 180;
const FPS: u32 = 30;

fn spawn_render(job: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .arg("render")
        .arg(job)
        .arg("--realtime")
        .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn wait_ok(mut child: Child, log: &Path) {
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "render failed: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn video_frames(path: &Path) -> u64 {
    ffprobe_streams(path)
        .iter()
        .find(|s| s["codec_type"] == "video")
        .and_then(|s| s["nb_read_frames"].as_str()?.parse().ok())
        .expect("a video stream")
}

#[test]
fn an_s3_outage_of_ten_seconds_loses_nothing() {
    let tmp = TempDir::new("fault-s3");
    let dir = tmp.path();
    let mut s3 = S3Server::start(&dir.join("s3"));
    s3.create_bucket("rec");
    let target = |key: &str| {
        format!(
            "{{bucket: rec, key: '{key}', endpoint: '{}', pathStyle: true, \
              credentials: {{accessKeyId: '{}', secretAccessKey: '{}'}}}}",
            s3.endpoint(),
            s3.access_key,
            s3.secret_key
        )
    };
    let secs = 16;
    let job = dir.join("job.yaml");
    std::fs::write(
        &job,
        format!(
            "composition: {{name: demo}}\n\
             participants: [{{id: a, camera: 'test:', audio: 'test:'}}, {{id: b, camera: 'test:'}}]\n\
             video: {{width: {W}, height: {H}, fps: {FPS}, bitrateKbps: 800}}\n\
             durationSecs: {secs}\n\
             outputs:\n\
             \x20 - {{name: archive, mp4: {{s3: {}}}}}\n\
             \x20 - {{name: web, hls: {{segmentSecs: 2, s3: {}}}}}\n",
            target("out/archive.mp4"),
            target("out/hls"),
        ),
    )
    .unwrap();
    let log = dir.join("render.log");
    let render = spawn_render(&job, &log);
    // Stop S3 once the recording is uploading (its first segment is there).
    let first_segment = s3.object_path("rec", "out/hls/segment00000.ts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !first_segment.is_file() {
        assert!(
            std::time::Instant::now() < deadline,
            "no upload within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    s3.stop();
    std::thread::sleep(Duration::from_secs(10));
    s3.restart();
    wait_ok(render, &log);

    let mp4 = s3.object_path("rec", "out/archive.mp4");
    assert_eq!(
        video_frames(&mp4),
        (secs * FPS) as u64,
        "the MP4 in S3 is whole"
    );
    let playlist_path = s3.object_path("rec", "out/hls/playlist.m3u8");
    let playlist = std::fs::read_to_string(&playlist_path).expect("the playlist is in S3");
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    for seg in playlist.lines().filter(|l| l.ends_with(".ts")) {
        assert!(
            s3.object_path("rec", &format!("out/hls/{seg}")).is_file(),
            "segment {seg} reached S3 after the outage"
        );
    }
    let hls = video_frames(&playlist_path);
    assert!(
        hls.abs_diff((secs * FPS) as u64) <= 2,
        "HLS holds every frame: {hls}"
    );
}

/// An SRT sender process: a solid colour and a tone, listening on `port`.
fn srt_sender(port: u16, colour: u32) -> Child {
    Command::new("gst-launch-1.0")
        .arg("-q")
        .args(
            format!(
                "mpegtsmux name=mux alignment=7 \
                   ! srtsink uri=srt://127.0.0.1:{port}?mode=listener wait-for-connection=false \
                 videotestsrc is-live=true pattern=solid-color foreground-color={colour} \
                   ! video/x-raw,width=320,height=180,framerate=30/1 \
                   ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=400 \
                   ! h264parse config-interval=-1 ! queue ! mux. \
                 audiotestsrc is-live=true freq=440 volume=0.3 ! audioconvert ! audioresample \
                   ! avenc_aac ! aacparse ! queue ! mux."
            )
            .split_whitespace(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gst-launch-1.0 runs (scripts/install-deps)")
}

#[test]
fn a_killed_input_shows_paused_then_comes_back() {
    let tmp = TempDir::new("fault-input");
    let dir = tmp.path();
    let port = free_port();
    let mut sender = srt_sender(port, 0xff20c020);
    std::thread::sleep(Duration::from_secs(1));
    let composition = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fullframe.jsx");
    let out = dir.join("out.mp4");
    let job = dir.join("job.yaml");
    // Long enough for the reconnect backoff after the restart.
    let secs = 24.0;
    std::fs::write(
        &job,
        format!(
            "composition: {{name: '{}'}}\n\
             participants: [{{id: cam, camera: 'srt://127.0.0.1:{port}', audio: 'srt://127.0.0.1:{port}'}}]\n\
             video: {{width: {W}, height: {H}, fps: {FPS}}}\n\
             durationSecs: {secs}\n\
             outputs: [{{name: mp4, mp4: {{path: '{}'}}}}]\n",
            composition.display(),
            out.display()
        ),
    )
    .unwrap();
    let log = dir.join("render.log");
    let render = spawn_render(&job, &log);
    std::thread::sleep(Duration::from_secs(7));
    let _ = sender.kill();
    let _ = sender.wait();
    std::thread::sleep(Duration::from_secs(4));
    let mut sender = srt_sender(port, 0xff2040e0);
    wait_ok(render, &log);
    let _ = sender.kill();
    let _ = sender.wait();

    let centre = |t: f64| {
        let f = decode_frame_rgb(&out, t, W, H);
        let i = (((H / 2) * W + W / 2) * 3) as usize;
        [f[i] as i32, f[i + 1] as i32, f[i + 2] as i32]
    };
    let near = |got: [i32; 3], want: [i32; 3]| (0..3).all(|c| (got[c] - want[c]).abs() <= 40);
    // Sampled every half second, the picture goes: (connecting;) the first sender's green; the paused
    // placeholder (the composition's black background, not a frozen picture) once the loss is
    // noticed; the second sender's blue after the restart — in that order, nothing else.
    let mut runs: Vec<(char, u32)> = Vec::new();
    for i in 1..(secs as u32 * 2) {
        let c = centre(i as f64 / 2.0);
        let class = if near(c, [0x20, 0xc0, 0x20]) {
            'G'
        } else if near(c, [0, 0, 0]) {
            'K'
        } else if near(c, [0x20, 0x40, 0xe0]) {
            'B'
        } else {
            panic!("unexpected colour {c:?} at {} s", i as f64 / 2.0)
        };
        match runs.last_mut() {
            Some((last, n)) if *last == class => *n += 1,
            _ => runs.push((class, 1)),
        }
    }
    // Until the first frame arrives the input is connecting, which also shows as paused.
    if runs.first().is_some_and(|(c, _)| *c == 'K') {
        runs.remove(0);
    }
    let order: String = runs.iter().map(|(c, _)| *c).collect();
    assert_eq!(order, "GKB", "live, then paused, then live again: {runs:?}");
    assert!(runs[0].1 >= 6, "live for a while before the kill: {runs:?}");
    assert!(runs[1].1 >= 2, "paused for at least a second: {runs:?}");
    assert!(
        runs[2].1 >= 4,
        "video back for a while at the end: {runs:?}"
    );
}
