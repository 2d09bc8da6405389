//! RTMP after a recorder's loss (issue 18): a recorder streaming to an RTMP server is killed
//! with SIGKILL mid-stream, and its continuation — the same job with `resume` — connects to the
//! same URL again and streams on. The server (nginx-rtmp, recording each publish to a file of
//! its own) receives both publishes, the second one whole and decoding cleanly, and the
//! continuation says its RTMP output delivered (exit 0, the output `Done` in its summary).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use vcs_test_support::{RtmpServer, TempDir, decode_errors, duration_secs, wait_for};

/// Seconds the continuation streams.
const CONTINUATION_SECS: u32 = 3;

/// The job: the demo with one synthetic participant, streamed in real time to `url`.
fn job(dir: &Path, name: &str, url: &str, secs: u32, resume: &str) -> String {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "composition: {{name: demo}}\n\
             participants:\n  - {{id: a, camera: 'test:', audio: 'test:'}}\n\
             video: {{width: 320, height: 180, fps: 15, bitrateKbps: 400}}\n\
             durationSecs: {secs}\n{resume}\
             outputs:\n  - {{name: live, rtmp: {{url: '{url}'}}}}\n"
        ),
    )
    .expect("write the job");
    path.display().to_string()
}

fn render(dir: &Path, job: &str) -> Command {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vcs-recorder"));
    cmd.args(["render", "--realtime", job]).env("TMPDIR", tmp);
    cmd
}

#[test]
fn a_continuation_streams_rtmp_to_the_same_url_after_the_lost_recorder() {
    let tmp = TempDir::new("resume-rtmp");
    let dir = tmp.path();
    let server = RtmpServer::start(&dir.join("nginx"));
    let url = server.url("event");

    // The first recorder streams until it is killed.
    let first = job(dir, "first", &url, 60, "");
    let mut lost = render(dir, &first)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run vcs-recorder");
    wait_for(
        "the server records the first publish",
        Duration::from_secs(60),
        || {
            server
                .recordings()
                .first()
                .and_then(|f| std::fs::metadata(f).ok())
                .is_some_and(|m| m.len() > 20_000)
        },
    );
    lost.kill().expect("SIGKILL the recorder");
    lost.wait().expect("the killed recorder is reaped");

    // Its continuation: the same job, with `resume`, to the same URL.
    let resume = "resume: {restart: 1, recordedSecs: 2}\n";
    let next = job(dir, "next", &url, CONTINUATION_SECS, resume);
    let out = render(dir, &next).output().expect("run the continuation");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the continuation failed:\n{stdout}\n{stderr}"
    );
    let delivered = stdout
        .lines()
        .any(|l| l.contains("rtmp live") && l.contains("Done"));
    assert!(delivered, "the RTMP output is not Done:\n{stdout}");

    // nginx recorded both publishes: the lost one, and the continuation's whole.
    let files = wait_for(
        "nginx closes the second publish",
        Duration::from_secs(30),
        || {
            let files = server.recordings();
            (files.len() == 2).then_some(files)
        },
    );
    let lost_secs = duration_secs(&files[0]);
    let next_secs = duration_secs(&files[1]);
    eprintln!(
        "nginx: the lost publish {lost_secs:.2} s, the continuation's {next_secs:.2} s; its summary:\n{stdout}"
    );
    assert!(lost_secs >= 0.5, "the lost publish holds {lost_secs} s");
    assert!(
        next_secs >= f64::from(CONTINUATION_SECS) - 0.5,
        "the continuation's publish holds {next_secs} s of {CONTINUATION_SECS} s"
    );
    let errors = decode_errors(&files[1]);
    assert!(
        errors.is_empty(),
        "the continuation's stream decodes with errors:\n{errors}"
    );
}
