//! The images as a cluster runs them: the recorder renders and serves with a read-only root,
//! as uid 65532, with no capabilities (and no network for the render); the operator image has
//! no shell and runs. See the crate doc for what they need and when they skip.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use vcs_images::container::{Container, LOCKED_DOWN, run};
use vcs_images::podman::{OPERATOR_IMAGE, RECORDER_IMAGE, images};
use vcs_images::{free_port, workspace_root};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A folder the container's uid can write into, removed afterwards.
struct SharedDir(std::path::PathBuf);

impl SharedDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vcs-image-{name}-{}", std::process::id()));
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        SharedDir(dir)
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ffprobe(path: &Path) -> Value {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (scripts/install-deps installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        text(&out)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe prints JSON")
}

#[test]
fn recorder_image_renders_the_demo_locked_down_without_network() {
    if images("recorder_image_renders_the_demo_locked_down_without_network").is_none() {
        return;
    }
    let out_dir = SharedDir::new("render");
    let jobs = workspace_root().join("recorder/jobs");
    let mut options = vec!["--network=none".to_string()];
    options.extend(LOCKED_DOWN.iter().map(|s| s.to_string()));
    options.push(format!("--volume={}:/jobs:ro", jobs.display()));
    options.push(format!("--volume={}:/out", out_dir.0.display()));
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let out = run(
        RECORDER_IMAGE,
        &options,
        &[
            "render",
            "/jobs/demo.yaml",
            "--duration",
            "3",
            "-o",
            "/out/demo.mp4",
        ],
    );
    assert!(
        out.status.success(),
        "render in the image failed:\n{}",
        text(&out)
    );

    let probe = ffprobe(&out_dir.0.join("demo.mp4"));
    let streams = probe["streams"].as_array().expect("streams");
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap_or_else(|| panic!("no video stream: {probe}"));
    assert_eq!(video["codec_name"], "h264", "{video}");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(1280), Some(720))
    );
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .unwrap_or_else(|| panic!("no audio stream: {probe}"));
    assert_eq!(audio["codec_name"], "aac", "{audio}");
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration: {probe}"));
    assert!(
        (duration - 3.0).abs() < 0.1,
        "duration {duration} s, not 3 s"
    );

    // The image has no gst-libav: the demo just made is H.264 + AAC from voaacenc, and taking
    // it back in as a participant's file decodes it with openh264dec and faad.
    let job = out_dir.0.join("from-file.yaml");
    std::fs::write(
        &job,
        "composition: {name: demo, params: {title: from a file}}\n\
         participants:\n  - {id: demo, displayName: Demo, camera: 'file:///out/demo.mp4', \
         audio: 'file:///out/demo.mp4'}\n\
         video: {width: 640, height: 360, fps: 30}\n\
         durationSecs: 2\n",
    )
    .expect("the job file is written");
    let out = run(
        RECORDER_IMAGE,
        &options,
        &["render", "/out/from-file.yaml", "-o", "/out/from-file.mp4"],
    );
    assert!(
        out.status.success(),
        "render of a file input in the image failed:\n{}",
        text(&out)
    );
    let output = out_dir.0.join("from-file.mp4");
    let tone = vcs_test_support::rms(&vcs_test_support::decode_audio(&output, 0.5, 1.0));
    assert!(tone > 0.01, "the file input's audio is silent (rms {tone})");
    let frame = vcs_test_support::decode_frame_rgb(&output, 1.5, 640, 360);
    let tile = vcs_test_support::median_rgb(&frame, 640, (200, 120, 240, 120));
    assert!(
        tile.iter().any(|&c| c > 40),
        "the file input's video is not shown: the tile's median is {tile:?}"
    );
}

/// `GET path` on 127.0.0.1:`port`: the status code, or `None` when nothing answers yet.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn recorder_image_serves_readyz_locked_down_and_stops_cleanly() {
    if images("recorder_image_serves_readyz_locked_down_and_stops_cleanly").is_none() {
        return;
    }
    let secrets = SharedDir::new("token");
    std::fs::write(secrets.0.join("token"), "image-test-token\n").unwrap();
    let port = free_port();
    // Host networking: the test reaches the port without a network plugin.
    let mut options = vec!["--network=host".to_string()];
    options.extend(LOCKED_DOWN.iter().map(|s| s.to_string()));
    options.push(format!(
        "--volume={}:/run/secrets/vcs:ro",
        secrets.0.display()
    ));
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let listen = format!("127.0.0.1:{port}");
    let serve = Container::start(
        RECORDER_IMAGE,
        &options,
        &[
            "serve",
            "--listen",
            &listen,
            "--token-file",
            "/run/secrets/vcs/token",
        ],
    );
    // Warm-up loads every GStreamer element a job uses and the fonts: generous for a loaded
    // 2-core machine.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if http_status(port, "/readyz") == Some(200) {
            break;
        }
        assert!(
            serve.running(),
            "serve exited before it was ready:\n{}",
            serve.logs()
        );
        assert!(
            Instant::now() < deadline,
            "/readyz not 200 within 120 s:\n{}",
            serve.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        http_status(port, "/v1/job"),
        Some(401),
        "the control API must refuse a request without the token"
    );
    assert_eq!(
        serve.stop(30),
        0,
        "serve did not exit 0 on SIGTERM:\n{}",
        serve.logs()
    );
}

#[test]
fn operator_image_runs_and_has_no_shell() {
    if images("operator_image_runs_and_has_no_shell").is_none() {
        return;
    }
    let mut options = vec!["--network=none"];
    options.extend(LOCKED_DOWN);
    let out = run(OPERATOR_IMAGE, &options, &["--help"]);
    assert!(
        out.status.success(),
        "vcs-operator --help in the image:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("Usage: vcs-operator"), "{}", text(&out));

    let mut options = vec!["--entrypoint=/bin/sh"];
    options.extend(LOCKED_DOWN);
    let out = run(OPERATOR_IMAGE, &options, &["-c", "true"]);
    assert!(!out.status.success(), "the operator image has a shell");
}

/// The words of `scripts/install-deps`'s Debian package list.
fn install_deps_packages() -> Vec<String> {
    let script = std::fs::read_to_string(workspace_root().join("scripts/install-deps"))
        .expect("scripts/install-deps is readable");
    let list = script
        .split_once("packages=(")
        .and_then(|(_, rest)| rest.split_once("\n)"))
        .expect("scripts/install-deps has a packages=( … ) list")
        .0;
    list.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect()
}

/// What the renderer and the media pipeline load at run time on a developer's machine is in
/// the image too: every font and GStreamer plugin package install-deps names (except tools and
/// test-only servers) is in images/recorder.packages.
#[test]
fn image_packages_cover_the_runtime_packages_of_install_deps() {
    let image: Vec<String> =
        std::fs::read_to_string(workspace_root().join("images/recorder.packages"))
            .unwrap()
            .lines()
            .map(|l| l.split('#').next().unwrap().trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
    let not_at_run_time = ["gstreamer1.0-tools", "gstreamer1.0-rtsp"];
    let missing: Vec<String> = install_deps_packages()
        .into_iter()
        .filter(|p| {
            p.starts_with("fonts-") || p.starts_with("gstreamer1.0-") || p == "glib-networking"
        })
        .filter(|p| !not_at_run_time.contains(&p.as_str()) && !image.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "scripts/install-deps installs {missing:?} but images/recorder.packages does not: add \
         them there (and the files the recorder loads from them to images/recorder.rootfs)"
    );
}
