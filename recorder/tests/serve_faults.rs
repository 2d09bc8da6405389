//! The control API tells the truth about a job that fell short: `GET /v1/job` after the job
//! lists each fault (an RTMP output that never connected, a camera that never delivered), the
//! recorded seconds and what each input delivered, and the state is `failed`; a mistyped URI's
//! credentials never appear in a 422.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use vcs_job::control::{FaultKind, JobState};
use vcs_test_support::{ControlClient, Proc, TempDir, free_port, wait_for};

const TOKEN: &str = "faults-test-token";

#[test]
fn get_job_lists_the_faults_of_a_job_that_fell_short() {
    let dir = TempDir::new("serve-faults");
    let port = free_port();
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).expect("token");
    let _serve = Proc::spawn(
        "vcs-recorder serve",
        Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--token-file")
            .arg(&token)
            .arg("--spool-dir")
            .arg(dir.path().join("spool"))
            .args(["--linger-secs", "30"]),
    );
    let api = ControlClient::new(([127, 0, 0, 1], port).into(), Some(TOKEN));
    api.wait_ready(Duration::from_secs(120));

    let mistyped = json!({
        "composition": {"name": "demo"},
        "participants": [{"id": "a", "camera": "rtsq://admin:hunter2secret@cam.example.com/live"}],
        "outputs": [{"name": "file", "mp4": {"path": dir.path().join("x.mp4")}}],
    });
    let refused = api.call("POST", "/v1/job", Some(&mistyped.to_string()));
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("participants[0].camera"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("hunter2secret"), "{}", refused.body);

    let job = json!({
        "composition": {"name": "demo"},
        "participants": [
            {"id": "a", "camera": "test:", "audio": "test:"},
            {"id": "cam", "camera": format!("rtsp://127.0.0.1:{}/stream", free_port())},
        ],
        "video": {"width": 320, "height": 180, "fps": 15},
        "durationSecs": 3,
        "outputs": [
            {"name": "file", "mp4": {"path": dir.path().join("out.mp4")}},
            {"name": "live", "rtmp": {"url": format!("rtmp://127.0.0.1:{}/live/key", free_port())}},
        ],
    });
    api.ok("POST", "/v1/job", Some(&job.to_string()));
    let done = wait_for("the job to end", Duration::from_secs(120), || {
        let status = api.ok("GET", "/v1/job", None);
        matches!(status.state, JobState::Done | JobState::Failed).then_some(status)
    });
    assert_eq!(done.state, JobState::Failed, "{done:?}");
    assert!((done.recorded_secs - 3.0).abs() < 0.1, "{done:?}");
    let kinds: Vec<(FaultKind, &str)> = done
        .faults
        .iter()
        .map(|f| (f.kind, f.subject.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (FaultKind::OutputIncomplete, "outputs.live"),
            (FaultKind::InputNeverConnected, "participants.cam.camera"),
        ],
        "{done:?}"
    );
    let cam = done
        .input_delivery
        .iter()
        .find(|i| i.participant == "cam")
        .expect("the camera is in the delivery report");
    assert!(!cam.connected && cam.live_secs == 0.0, "{cam:?}");
    let a = done
        .input_delivery
        .iter()
        .find(|i| i.participant == "a")
        .expect("a is in the delivery report");
    assert!(a.connected && a.live_secs > 2.5, "{a:?}");
}
