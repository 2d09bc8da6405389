//! What `vcs-recorder render` tells its user is true: `-o` adds a local MP4, exit codes and the
//! summary name every shortfall, signals end a wait for S3, credentials never show, and a failed
//! render leaves no temp folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use vcs_test_support::{S3Server, TempDir, duration_secs, free_port, wait_for};

const BUCKET: &str = "rec";

fn s3_target(s3: &S3Server, key: &str) -> String {
    s3.target_yaml(BUCKET, key)
}

fn write_job(dir: &Path, participants: &str, outputs: &str) -> PathBuf {
    write_job_of(dir, participants, outputs, 3)
}

fn write_job_of(dir: &Path, participants: &str, outputs: &str, secs: u32) -> PathBuf {
    let job = dir.join("job.yaml");
    std::fs::write(
        &job,
        format!(
            "composition: {{name: demo}}\nparticipants:\n{participants}\n\
             video: {{width: 320, height: 180, fps: 15}}\ndurationSecs: {secs}\noutputs:\n{outputs}\n"
        ),
    )
    .expect("write job");
    job
}

const ONE_TEST_PARTICIPANT: &str = "  - {id: a, camera: 'test:', audio: 'test:'}";

/// Runs `vcs-recorder` with `TMPDIR` set to `tmp`.
fn recorder(tmp: &Path, args: &[&str]) -> Output {
    std::fs::create_dir_all(tmp).expect("tmp");
    Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .expect("run vcs-recorder")
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dash_o_adds_a_local_mp4_and_keeps_the_s3_archive() {
    let dir = TempDir::new("dash-o");
    let s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket(BUCKET);
    let outputs = format!(
        "  - {{name: mp4, mp4: {{s3: {}}}}}",
        s3_target(&s3, "a/archive.mp4")
    );
    let job = write_job(dir.path(), ONE_TEST_PARTICIPANT, &outputs);
    let local = dir.path().join("local.mp4");
    let out = recorder(
        &dir.path().join("tmp"),
        &[
            "render",
            job.to_str().expect("utf-8"),
            "-o",
            local.to_str().expect("utf-8"),
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!((duration_secs(&local) - 3.0).abs() < 0.2, "{stdout}");
    let archive = s3.object_path(BUCKET, "a/archive.mp4");
    assert!(
        (duration_secs(&archive) - 3.0).abs() < 0.2,
        "the S3 archive is uploaded too"
    );
}

/// The RTMP output `live` fell short: exit 3, the summary names it and `says` why, and the file
/// output beside it is whole (`secs` long). Returns stdout and stderr.
fn assert_rtmp_fault(out: &Output, says: &str, local: &Path, secs: f64) -> (String, String) {
    let (stdout, stderr) = texts(out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("outputs.live") && stderr.contains(says),
        "{stderr}"
    );
    assert!(
        (duration_secs(local) - secs).abs() < 0.2,
        "the file output is complete"
    );
    (stdout, stderr)
}

#[test]
fn an_rtmp_output_that_never_connects_exits_3_and_says_so() {
    let dir = TempDir::new("rtmp-never");
    let local = dir.path().join("out.mp4");
    let outputs = format!(
        "  - {{name: file, mp4: {{path: '{}'}}}}\n  - {{name: live, rtmp: {{url: 'rtmp://127.0.0.1:{}/live/streamkey'}}}}",
        local.display(),
        free_port()
    );
    let job = write_job(dir.path(), ONE_TEST_PARTICIPANT, &outputs);
    let out = recorder(
        &dir.path().join("tmp"),
        &["render", job.to_str().expect("utf-8")],
    );
    let (stdout, stderr) = assert_rtmp_fault(&out, "never connected", &local, 3.0);
    assert!(
        !stderr.contains("streamkey") && !stdout.contains("streamkey"),
        "{stdout}\n{stderr}"
    );
}

/// An RTMP server that goes away for several seconds mid-recording (SIGKILL, then back on the
/// same port): the output reconnects, but what it missed is a shortfall, so exit 3 like an
/// output that never connected, and the summary says how much is missing.
#[test]
fn an_rtmp_output_with_a_hole_exits_3_and_says_how_much_is_missing() {
    let dir = TempDir::new("rtmp-hole");
    let mut server = vcs_test_support::RtmpServer::start(&dir.path().join("nginx"));
    let local = dir.path().join("out.mp4");
    let outputs = format!(
        "  - {{name: file, mp4: {{path: '{}'}}}}\n  - {{name: live, rtmp: {{url: '{}'}}}}",
        local.display(),
        server.url("hole")
    );
    let job = write_job_of(dir.path(), ONE_TEST_PARTICIPANT, &outputs, 14);
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let render = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .args(["render", "--realtime", job.to_str().expect("utf-8")])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vcs-recorder");
    // The hole starts once the stream is flowing, and lasts 5 s.
    wait_for("the RTMP server records", Duration::from_secs(60), || {
        server
            .recordings()
            .first()
            .and_then(|f| std::fs::metadata(f).ok())
            .is_some_and(|m| m.len() > 20_000)
    });
    server.stop();
    std::thread::sleep(Duration::from_secs(5));
    server.restart();
    let out = render.wait_with_output().expect("vcs-recorder ends");
    assert_rtmp_fault(&out, "missing", &local, 14.0);
}

/// A server that accepts the connection and never answers the RTMP handshake is the same fault
/// as no server at all: exit 3, "never connected", and the file output complete.
#[test]
fn a_black_holed_rtmp_server_exits_3_like_one_that_never_connects() {
    let dir = TempDir::new("rtmp-black-hole");
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = hole.local_addr().expect("address").port();
    // Accepts every connection and keeps it open, saying nothing.
    std::thread::spawn(move || {
        let held: Vec<_> = hole.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    let local = dir.path().join("out.mp4");
    let outputs = format!(
        "  - {{name: file, mp4: {{path: '{}'}}}}\n  - {{name: live, rtmp: {{url: 'rtmp://127.0.0.1:{port}/live/key'}}}}",
        local.display()
    );
    let job = write_job(dir.path(), ONE_TEST_PARTICIPANT, &outputs);
    let out = recorder(
        &dir.path().join("tmp"),
        &["render", job.to_str().expect("utf-8")],
    );
    assert_rtmp_fault(&out, "never connected", &local, 3.0);
}

#[test]
fn a_camera_that_never_connects_exits_4_and_is_in_the_summary() {
    let dir = TempDir::new("camera-never");
    let local = dir.path().join("out.mp4");
    let participants = format!(
        "{ONE_TEST_PARTICIPANT}\n  - {{id: cam, camera: 'rtsp://127.0.0.1:{}/stream'}}",
        free_port()
    );
    let outputs = format!("  - {{name: file, mp4: {{path: '{}'}}}}", local.display());
    let job = write_job(dir.path(), &participants, &outputs);
    let out = recorder(
        &dir.path().join("tmp"),
        &["render", job.to_str().expect("utf-8")],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("input cam.camera: never connected"),
        "{stdout}"
    );
    assert!(stdout.contains("input a.camera: connected"), "{stdout}");
    assert!(stderr.contains("participants.cam.camera"), "{stderr}");
}

#[test]
fn sigterm_while_waiting_for_s3_ends_the_wait_and_keeps_the_recording() {
    let dir = TempDir::new("sigterm-s3");
    let mut s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket(BUCKET);
    let outputs = format!(
        "  - {{name: archive, mp4: {{s3: {}}}}}",
        s3_target(&s3, "a/archive.mp4")
    );
    let job = write_job(dir.path(), ONE_TEST_PARTICIPANT, &outputs);
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
        .args(["render"])
        .arg(&job)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vcs-recorder");
    let spool_file = |name: &str| {
        std::fs::read_dir(&tmp)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join(name))
            .find(|p| p.exists())
    };
    // Once the MP4 is being written the bucket check has passed: S3 goes away.
    wait_for("the MP4 being written", Duration::from_secs(60), || {
        spool_file("archive.mp4.part")
    });
    s3.stop();
    // The recording ends (3 s of test input) and the MP4 is finalised; then it waits for S3.
    let finished = wait_for("the finished MP4", Duration::from_secs(120), || {
        spool_file("archive.mp4")
    });
    std::thread::sleep(Duration::from_millis(500));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let exited = wait_for(
        "the recorder to exit after SIGTERM",
        Duration::from_secs(30),
        || child.try_wait().expect("try_wait"),
    );
    let out = child.wait_with_output().expect("output");
    let (stdout, stderr) = texts(&out);
    assert_eq!(exited.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("the recording is kept at"), "{stdout}");
    assert!(finished.exists(), "the local MP4 S3 did not take is kept");
}

#[test]
fn credentials_never_show_and_a_failed_render_leaves_no_temp_folder() {
    let dir = TempDir::new("redact");
    let tmp = dir.path().join("tmp");
    let out_mp4 = dir.path().join("x.mp4");
    for uri in [
        "rtsq://admin:hunter2secret@cam.example.com/live",
        "rtsp://admin:hunter2secret@[cam.example.com/live",
        "rtsp://admin:hunter2secret@cam.example.com:99999/live",
    ] {
        let out = recorder(
            &tmp,
            &[
                "render",
                "--composition",
                "demo",
                "--participant",
                &format!("a={uri}"),
                "--duration",
                "1",
                "-o",
                out_mp4.to_str().expect("utf-8"),
            ],
        );
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{uri}: {stdout}\n{stderr}");
        assert!(stderr.contains("participants[0].camera"), "{uri}: {stderr}");
        assert!(
            !stderr.contains("hunter2secret") && !stdout.contains("hunter2secret"),
            "{uri}: {stdout}\n{stderr}"
        );
    }
    // A render that fails after its spool folder was made (the composition does not exist).
    let out = recorder(
        &tmp,
        &[
            "render",
            "--composition",
            "no-such-composition",
            "--duration",
            "1",
            "-o",
            out_mp4.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .expect("tmp")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "temp folders left behind: {left:?}");
}

#[test]
fn two_outputs_writing_one_file_are_refused_naming_the_field() {
    let dir = TempDir::new("same-path");
    let path = dir.path().join("same.mp4");
    let outputs = format!(
        "  - {{name: a, mp4: {{path: '{p}'}}}}\n  - {{name: b, mp4: {{path: '{p}'}}}}",
        p = path.display()
    );
    let job = write_job(dir.path(), ONE_TEST_PARTICIPANT, &outputs);
    let out = recorder(
        &dir.path().join("tmp"),
        &["render", job.to_str().expect("utf-8")],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("outputs[1].mp4.path") && stderr.contains("outputs[0].mp4.path"),
        "{stderr}"
    );
}

#[test]
fn missing_s3_credentials_are_named_as_such_briefly() {
    let dir = TempDir::new("no-creds");
    let s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket(BUCKET);
    let outputs = format!(
        "  - {{name: archive, mp4: {{s3: {{bucket: {BUCKET}, key: a.mp4, endpoint: '{}', pathStyle: true, region: us-east-1}}}}}}",
        s3.endpoint()
    );
    let job = write_job(dir.path(), ONE_TEST_PARTICIPANT, &outputs);
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"));
    cmd.arg("render")
        .arg(&job)
        .env("HOME", &home)
        .env("TMPDIR", dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("run vcs-recorder");
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("outputs[0].mp4.s3") && stderr.contains("no S3 credentials"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot be reached"), "{stderr}");
    assert!(
        stderr.len() < 800,
        "a short message, not every provider's reason: {stderr}"
    );
}
