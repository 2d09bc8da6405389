//! The control API client against the real control API server (`vcs_service`), driving a
//! scripted recorder.

use std::time::Duration;

use vcs_job::control::{JobPatch, JobState};
use vcs_job::{CompositionSpec, JobSpec};
use vcs_operator::recorder_client::RecorderClient;

use crate::support::FleetConfig;
use crate::support::recorders::RecorderFleet;

fn job(id: &str, composition: &str) -> JobSpec {
    JobSpec {
        id: Some(id.into()),
        composition: CompositionSpec {
            name: composition.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn start_patch_stop_round_trip_against_a_control_api_server() {
    let fleet = RecorderFleet::new(FleetConfig::default());
    let c = RecorderClient::default();
    let base = fleet.start("10.0.0.1", std::future::pending());
    let st = c
        .start(&base, "test-token", &job("j1", "baseline"))
        .await
        .unwrap();
    assert_eq!(st.state, JobState::Recording);
    // Idempotent by job id; another job is a conflict.
    assert_eq!(
        c.start(&base, "test-token", &job("j1", "baseline"))
            .await
            .unwrap()
            .job_id
            .as_deref(),
        Some("j1")
    );
    let err = c
        .start(&base, "test-token", &job("j2", "baseline"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    let mut p = JobPatch::default();
    p.params.insert("title".into(), serde_json::json!("Hi"));
    c.patch(&base, "test-token", &p).await.unwrap();
    assert_eq!(
        c.stop(&base, "test-token").await.unwrap().state,
        JobState::Finalising
    );
    assert_eq!(fleet.recorders()["10.0.0.1"].patches, vec![p]);
}

#[tokio::test]
async fn errors_name_the_url_and_the_recorders_reason() {
    let fleet = RecorderFleet::new(FleetConfig::default());
    let c = RecorderClient::new(Duration::from_secs(2), Duration::from_secs(2));
    let base = fleet.start("10.0.0.2", std::future::pending());
    let err = c
        .start(&base, "wrong", &job("j", "baseline"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("unauthorized"));
    assert!(!err.is_rejection());
    let err = c
        .start(&base, "test-token", &job("j", "nope"))
        .await
        .unwrap_err();
    assert!(err.is_rejection(), "{err}");
    assert!(
        err.to_string().contains("nope") && err.to_string().contains("/v1/job"),
        "{err}"
    );
    fleet.kill("10.0.0.2").await;
    assert!(
        c.status(&base, "test-token")
            .await
            .unwrap_err()
            .is_unavailable()
    );
    let err = c.status("http://127.0.0.1:1", "t").await.unwrap_err();
    assert!(
        err.is_unavailable() && err.to_string().contains("127.0.0.1:1"),
        "{err}"
    );
}
