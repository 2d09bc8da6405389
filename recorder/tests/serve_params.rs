//! Live params are checked against what the composition declares (issue 17, failure 7), as a
//! controller sees it: `PATCH /v1/job` on a real `vcs-recorder serve` answers 422 naming the
//! param (or, for an output that cannot be written, the output), and the recording goes on
//! unchanged.

use std::path::Path;

use vcs_test_support::{RecorderServe, TempDir};

const TOKEN: &str = "params-test-token";

#[test]
fn patches_the_composition_cannot_take_are_refused_naming_the_param() {
    let dir = TempDir::new("serve-params");
    let serve = RecorderServe::start(
        Path::new(env!("CARGO_BIN_EXE_vcs-recorder")),
        dir.path(),
        TOKEN,
        0,
        Some("serve.log"),
    );
    let api = &serve.api;
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

    // an output that cannot be written is the patch's fault, not the recorder's
    let unwritable = serde_json::json!({"addOutputs": [
        {"name": "late", "mp4": {"path": "/nonexistent-vcs-dir/late.mp4"}}
    ]});
    let r = api.call("PATCH", "/v1/job", Some(&unwritable.to_string()));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.error().1.as_deref(),
        Some("addOutputs[late]"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("/nonexistent-vcs-dir/late.mp4"),
        "{}",
        r.body
    );

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
