//! Live params are checked against what the composition declares (issue 17, failure 7), as a
//! controller sees it: `PATCH /v1/job` on a real `vcs-recorder serve` answers 422 naming the
//! param, and the recording goes on unchanged.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vcs_test_support::{ControlClient, TempDir, free_port};

const TOKEN: &str = "params-test-token";

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn patches_the_composition_cannot_take_are_refused_naming_the_param() {
    let dir = TempDir::new("serve-params");
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).expect("write the token");
    let port = free_port();
    let _serve = Serve(
        Command::new(env!("CARGO_BIN_EXE_vcs-recorder"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--token-file")
            .arg(&token)
            .arg("--spool-dir")
            .arg(dir.path().join("spool"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts"),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let api = ControlClient::new(addr, Some(TOKEN));
    api.wait_ready(Duration::from_secs(120));
    let mp4 = dir.path().join("out.mp4");
    let job = serde_json::json!({
        "id": "params",
        "composition": {"name": "demo", "params": {"title": "Before"}},
        "participants": [{"id": "alice", "camera": "test:#e03030"}],
        "video": {"width": 320, "height": 180, "fps": 15},
        "outputs": [{"name": "archive", "mp4": {"path": mp4}}],
    });
    api.ok("POST", "/v1/job", Some(&job.to_string()));

    for (patch, at) in [
        (
            r#"{"params":{"countdownSecs":"abc"}}"#,
            "params.countdownSecs",
        ),
        (
            r#"{"params":{"countdownSecs":true}}"#,
            "params.countdownSecs",
        ),
        (r#"{"params":{"titel":"typo"}}"#, "params.titel"),
    ] {
        let r = api.call("PATCH", "/v1/job", Some(patch));
        assert_eq!(r.status, 422, "{patch}: {}", r.body);
        assert_eq!(r.error().1.as_deref(), Some(at), "{}", r.body);
    }
    // a 900 KB title is refused before it reaches the composition
    let huge = serde_json::json!({"params": {"title": "x".repeat(900 * 1024)}}).to_string();
    let r = api.call("PATCH", "/v1/job", Some(&huge));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error().1.as_deref(), Some("params.title"), "{}", r.body);
    assert!(r.body.contains("at most 16384"), "{}", r.body);

    // good changes still apply, and the recording never noticed the bad ones
    api.ok(
        "PATCH",
        "/v1/job",
        Some(r#"{"params":{"title":"After","countdownSecs":5}}"#),
    );
    let status = api.ok("GET", "/v1/job", None);
    assert_eq!(status.composition_errors, 0, "{status:?}");
    api.ok("POST", "/v1/job/stop", None);
}
