//! The control API over real HTTP on loopback, with a stand-in engine.
#![allow(
    clippy::unwrap_used,
    reason = "the helpers are test code too: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{FakeEngine, Server, TOKEN, job};
use vcs_job::control::{JobState, OutputKind, OutputState, OutputStatus};
use vcs_service::{Outcome, RunnerError};
use vcs_test_support::{Response, request, wait_for};

/// How long the API may take to pass something on to the engine.
const SOON: Duration = Duration::from_secs(5);

#[test]
fn health_is_open_and_everything_else_needs_the_bearer_token() {
    let server = Server::start(FakeEngine::warm());
    let health = request(server.addr, "GET", "/healthz", None, None);
    assert_eq!(health.status, 200);

    for (method, path) in [
        ("GET", "/v1/job"),
        ("POST", "/v1/job"),
        ("PATCH", "/v1/job"),
        ("POST", "/v1/job/events"),
        ("POST", "/v1/job/stop"),
        ("GET", "/metrics"),
    ] {
        for token in [None, Some("wrong"), Some("test-token-12")] {
            let res = request(server.addr, method, path, token, Some(&job("j1")));
            assert_eq!(res.status, 401, "{method} {path} {token:?}: {}", res.body);
            assert_eq!(res.error().0, "unauthorized");
            assert_eq!(
                res.headers.get("www-authenticate").map(String::as_str),
                Some("Bearer")
            );
        }
    }
    assert!(
        server.engine.with(|c| c.started.is_empty()),
        "a 401 must not reach the engine"
    );
    let ok = request(server.addr, "GET", "/v1/job", Some(TOKEN), None);
    assert_eq!(ok.status_body().state, JobState::Idle);
}

#[test]
fn readyz_is_true_only_while_warm_and_idle() {
    let engine = FakeEngine::warm();
    engine.warm.store(false, Ordering::SeqCst);
    let server = Server::start(engine.clone());
    let ready = || request(server.addr, "GET", "/readyz", None, None);

    let res = ready();
    assert_eq!(res.status, 503);
    assert_eq!(res.error().0, "notReady");
    assert_eq!(
        request(server.addr, "GET", "/healthz", None, None).status,
        200
    );

    engine.warm.store(true, Ordering::SeqCst);
    assert_eq!(ready().status, 200);

    server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    let res = ready();
    assert_eq!(res.status, 503);
    assert!(res.body.contains("one job per process"), "{}", res.body);
}

#[test]
fn malformed_specs_are_400_with_the_field_path_and_leave_the_recorder_idle() {
    let server = Server::start(FakeEngine::warm());
    let typo = r#"{"id":"j1","composition":{"name":"demo"},
        "participants":[{"id":"alice","camrea":"test:ball"}]}"#;
    let res = server.call("POST", "/v1/job", Some(typo));
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(
        res.error(),
        ("badRequest".into(), Some("participants[0].camrea".into()))
    );
    assert!(res.body.contains("line 2"), "{}", res.body);

    let res = server.call("POST", "/v1/job", Some("{not json"));
    assert_eq!(res.status, 400);
    assert_eq!(res.error().0, "badRequest");

    let res = server.call("POST", "/v1/job", None);
    assert_eq!(res.status, 400);

    let invalid = r#"{"id":"j1","composition":{"name":"demo"},"video":{"fps":0}}"#;
    let res = server.call("POST", "/v1/job", Some(invalid));
    assert_eq!(res.status, 422, "{}", res.body);
    assert_eq!(res.error(), ("invalidJob".into(), Some("video.fps".into())));

    assert!(server.engine.with(|c| c.started.is_empty()));
    assert_eq!(
        request(server.addr, "GET", "/readyz", None, None).status,
        200
    );
    assert_eq!(
        server.call("GET", "/v1/job", None).status_body().state,
        JobState::Idle
    );
}

/// A server whose engine holds its start: job `j1` is posted on another thread (joined for the
/// answer) and `start` has been called.
fn start_held() -> (Arc<FakeEngine>, Server, std::thread::JoinHandle<Response>) {
    let engine = FakeEngine::warm();
    engine.with(|c| c.hold_start = true);
    let server = Server::start(engine.clone());
    let (addr, body) = (server.addr, job("j1"));
    let post =
        std::thread::spawn(move || request(addr, "POST", "/v1/job", Some(TOKEN), Some(&body)));
    wait_for("start called", SOON, || {
        engine.with(|c| !c.started.is_empty())
    });
    (engine, server, post)
}

#[test]
fn start_answers_after_the_first_frame_and_shows_starting_meanwhile() {
    let (engine, server, post) = start_held();
    let status = server.call("GET", "/v1/job", None).status_body();
    assert_eq!(status.state, JobState::Starting);
    assert_eq!(status.job_id.as_deref(), Some("j1"));
    assert!(
        status
            .timestamps
            .accepted
            .as_deref()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(!post.is_finished(), "POST answered before the first frame");

    engine.with(|c| c.hold_start = false);
    let status = post.join().unwrap().status_body();
    assert_eq!(status.state, JobState::Recording);
    assert!(status.start_latency_ms.is_some());
}

#[test]
fn the_same_job_again_is_idempotent_and_another_job_conflicts() {
    let server = Server::start(FakeEngine::warm());
    let first = server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    let again = server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    assert_eq!(first.state, JobState::Recording);
    assert_eq!(again.job_id.as_deref(), Some("j1"));
    assert_eq!(again.state, JobState::Recording);

    let other = server.call("POST", "/v1/job", Some(&job("j2")));
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.error().0, "conflict");
    assert!(
        other.body.contains("j1") && other.body.contains("j2"),
        "{}",
        other.body
    );
    assert_eq!(server.engine.with(|c| c.started.len()), 1);
}

#[test]
fn an_invalid_composition_is_422_at_file_line_col_and_fails_the_job() {
    let engine = FakeEngine::warm();
    engine.with(|c| {
        c.start_result = Some(RunnerError::InvalidComposition {
            at: "index.jsx:12:5".into(),
            message: "ReferenceError: Foo is not defined".into(),
        })
    });
    let server = Server::start(engine);
    let res = server.call("POST", "/v1/job", Some(&job("j1")));
    assert_eq!(res.status, 422, "{}", res.body);
    assert_eq!(
        res.error(),
        ("invalidComposition".into(), Some("index.jsx:12:5".into()))
    );

    let again = server.call("POST", "/v1/job", Some(&job("j1")));
    assert_eq!((again.status, again.error()), (res.status, res.error()));

    let status = server.call("GET", "/v1/job", None).status_body();
    assert_eq!(status.state, JobState::Failed);
    assert!(status.last_error.unwrap().contains("index.jsx:12:5"));
    match server.outcome() {
        Outcome::Failed(message) => assert!(message.contains("Foo is not defined"), "{message}"),
        other => panic!("expected failed, got {other:?}"),
    }
}

#[test]
fn patch_events_and_stop_reach_the_engine() {
    let server = Server::start(FakeEngine::warm());
    let engine = server.engine.clone();

    let res = server.call(
        "PATCH",
        "/v1/job",
        Some(r#"{"params":{"showLabels":false}}"#),
    );
    assert_eq!(res.status, 404, "patch before a job: {}", res.body);
    let res = server.call("POST", "/v1/job/stop", None);
    assert_eq!(res.status, 404, "stop before a job: {}", res.body);

    server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();

    let patch = r#"{"params":{"showLabels":false},"removeOutputs":["rtmp"]}"#;
    server.call("PATCH", "/v1/job", Some(patch)).status_body();
    let res = server.call("PATCH", "/v1/job", Some(r#"{"parms":{}}"#));
    assert_eq!(res.error(), ("badRequest".into(), Some("parms".into())));
    engine.with(|c| {
        assert_eq!(c.patches.len(), 1);
        assert_eq!(c.patches[0].params["showLabels"], serde_json::json!(false));
        assert_eq!(c.patches[0].remove_outputs, ["rtmp"]);
        c.patch_result = Some(RunnerError::InvalidJob {
            at: "addOutputs[0].rtmp.url".into(),
            message: "is not an rtmp:// URL".into(),
        });
    });
    let res = server.call(
        "PATCH",
        "/v1/job",
        Some(r#"{"addOutputs":[{"name":"live","rtmp":{"url":"x"}}]}"#),
    );
    assert_eq!(res.status, 422);
    assert_eq!(res.error().1.as_deref(), Some("addOutputs[0].rtmp.url"));

    let one = r#"{"type":"chat","senderDisplayName":"Ann","text":"hello"}"#;
    let many = r#"[{"type":"emoji","text":"🎉"},{"type":"activeSpeaker","participantId":"alice"}]"#;
    server
        .call("POST", "/v1/job/events", Some(one))
        .status_body();
    server
        .call("POST", "/v1/job/events", Some(many))
        .status_body();
    let res = server.call(
        "POST",
        "/v1/job/events",
        Some(r#"{"type":"shout","text":"x"}"#),
    );
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(engine.with(|c| c.events.len()), 3);

    engine.with(|c| c.finish_after_stop = None);
    let stopped = server.call("POST", "/v1/job/stop", None).status_body();
    assert_eq!(stopped.state, JobState::Finalising);
    assert!(stopped.timestamps.stopped.is_some());
    server.call("POST", "/v1/job/stop", None).status_body();
    assert_eq!(engine.with(|c| c.stops), 1, "stop is sent once");

    let res = server.call("PATCH", "/v1/job", Some(patch));
    assert_eq!(res.status, 409, "{}", res.body);
    let res = server.call("POST", "/v1/job/events", Some(one));
    assert_eq!(res.status, 409, "{}", res.body);
}

#[test]
fn a_stop_during_start_is_sent_once_the_start_returns() {
    let (engine, server, post) = start_held();

    let res = server.call("POST", "/v1/job/stop", None).status_body();
    assert_eq!(res.state, JobState::Starting);
    assert_eq!(engine.with(|c| c.stops), 0, "stop must wait for start");

    engine.with(|c| c.hold_start = false);
    post.join().unwrap().status_body();
    wait_for("stop sent", SOON, || engine.with(|c| c.stops == 1));
    assert_eq!(server.outcome(), Outcome::Done);
}

#[test]
fn metrics_are_prometheus_text_with_every_family() {
    let server = Server::start(FakeEngine::warm());
    server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    server.engine.with(|c| {
        c.status.frames = 300;
        c.status.dropped_frames = 2;
        c.status.fps = 29.97;
        c.status.composition_errors = 1;
        c.status.outputs = vec![OutputStatus {
            name: "main".into(),
            kind: OutputKind::Mp4,
            state: OutputState::Active,
            bytes: 123_456,
            uploaded_bytes: 100_000,
            objects: 0,
            duration_secs: 10.0,
            upload_lag_secs: 1.5,
            retries: 3,
            last_error: None,
        }];
    });
    server
        .metrics
        .observe_frame_render(Duration::from_millis(4));
    server
        .metrics
        .observe_frame_render(Duration::from_millis(40));

    let res = server.call("GET", "/metrics", None);
    assert_eq!(res.status, 200);
    assert!(res.headers["content-type"].starts_with("text/plain; version=0.0.4"));
    let samples = parse_prometheus(&res.body);
    let value = |name: &str| {
        *samples
            .get(name)
            .unwrap_or_else(|| panic!("no sample {name} in\n{}", res.body))
    };
    assert_eq!(value(r#"vcs_job_state{state="recording"}"#), 1.0);
    assert_eq!(value(r#"vcs_job_state{state="idle"}"#), 0.0);
    assert_eq!(value("vcs_job_frames_total"), 300.0);
    assert_eq!(value("vcs_job_dropped_frames_total"), 2.0);
    assert_eq!(value("vcs_job_encode_fps"), 29.97);
    assert_eq!(value("vcs_composition_errors_total"), 1.0);
    assert_eq!(
        value(r#"vcs_output_bytes_total{output="main",kind="mp4"}"#),
        123_456.0
    );
    assert_eq!(
        value(r#"vcs_output_uploaded_bytes_total{output="main",kind="mp4"}"#),
        100_000.0
    );
    assert_eq!(
        value(r#"vcs_output_errors_total{output="main",kind="mp4"}"#),
        3.0
    );
    assert_eq!(
        value(r#"vcs_output_upload_lag_seconds{output="main",kind="mp4"}"#),
        1.5
    );
    assert_eq!(value("vcs_frame_render_seconds_count"), 2.0);
    assert_eq!(value(r#"vcs_frame_render_seconds_bucket{le="0.008"}"#), 1.0);
    assert_eq!(value("vcs_job_start_latency_seconds_count"), 1.0);
}

/// Parses Prometheus text into `name{labels}` → value, checking every line is well formed and
/// every sample belongs to a family declared with `# TYPE`.
fn parse_prometheus(text: &str) -> std::collections::HashMap<String, f64> {
    let mut families = Vec::new();
    let mut samples = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            families.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") || line == "# EOF" {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            families.iter().any(|f| name.starts_with(f.as_str())),
            "sample {name} without a TYPE line"
        );
        samples.insert(series.to_owned(), value);
    }
    samples
}

#[test]
fn serve_returns_done_when_the_job_finishes() {
    let server = Server::start(FakeEngine::warm());
    server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!server.has_returned(), "serve returned while recording");
    server.engine.set_state(JobState::Done);
    assert_eq!(server.outcome(), Outcome::Done);
}

#[test]
fn serve_returns_failed_when_the_job_fails() {
    let server = Server::start(FakeEngine::warm());
    server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    server.engine.with(|c| {
        c.status.state = JobState::Failed;
        c.status.last_error = Some("S3 rejected the upload".into());
    });
    let outcome = server.outcome();
    assert_eq!(outcome, Outcome::Failed("S3 rejected the upload".into()));
    assert_eq!(outcome.exit_code(), 1);
}

#[test]
fn shutdown_stops_the_job_and_waits_until_it_is_done() {
    let mut server = Server::start(FakeEngine::warm());
    server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    server.shut_down();
    let engine = server.engine.clone();
    // Finalising takes 200 ms in the stand-in; serve must still be answering then.
    wait_for("stop sent", SOON, || engine.with(|c| c.stops == 1));
    let during = server.call("GET", "/v1/job", None).status_body();
    assert_eq!(during.state, JobState::Finalising);
    assert_eq!(server.outcome(), Outcome::Done);
    assert_eq!(engine.with(|c| c.status.state), JobState::Done);
}

#[test]
fn shutdown_without_a_job_returns_at_once() {
    let mut server = Server::start(FakeEngine::warm());
    server.shut_down();
    assert_eq!(server.outcome(), Outcome::NoJob);
}

#[test]
fn shutdown_gives_up_after_the_grace_period() {
    let engine = FakeEngine::warm();
    engine.with(|c| c.finish_after_stop = None);
    let mut server = Server::start_with(engine, common::settings(Duration::from_millis(300)));
    server
        .call("POST", "/v1/job", Some(&job("j1")))
        .status_body();
    server.shut_down();
    let outcome = server.outcome();
    assert_eq!(outcome, Outcome::StopTimedOut);
    assert_eq!(outcome.exit_code(), 2);
}

#[test]
fn oversized_bodies_unknown_paths_and_methods_get_json_errors() {
    let server = Server::start(FakeEngine::warm());
    let huge = format!(
        r#"{{"composition":{{"name":"demo","params":{{"x":"{}"}}}}}}"#,
        "a".repeat(vcs_service::MAX_BODY_BYTES)
    );
    let res = server.call("POST", "/v1/job", Some(&huge));
    assert_eq!(res.status, 413);
    assert_eq!(res.error().0, "payloadTooLarge");

    let res = server.call("GET", "/v2/job", None);
    assert_eq!(res.status, 404);
    assert_eq!(res.error().0, "notFound");

    let res = server.call("DELETE", "/v1/job", None);
    assert_eq!(res.status, 405);
    assert_eq!(res.error().0, "methodNotAllowed");
}

#[tokio::test]
async fn run_refuses_to_start_without_a_token() {
    let config = vcs_service::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token_file: "/nonexistent/vcs-token".into(),
        stop_grace_secs: 1,
        linger_secs: 0,
    };
    let runner: std::sync::Arc<dyn vcs_service::JobRunner> = FakeEngine::warm();
    let err = vcs_service::run(
        config,
        runner,
        vcs_service::Metrics::new(),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, vcs_service::ServeError::TokenFile { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("/nonexistent/vcs-token"), "{err}");
}
