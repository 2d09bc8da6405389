//! The HTTP surface (architecture.md §5): routing, auth placement and the mapping of each
//! route to the job lifecycle. Handlers stay thin; decisions live in `lifecycle`.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use prometheus_client::registry::Registry;
use serde_json::json;
use tracing::error;
use vcs_job::JobSpec;
use vcs_job::control::{JobEvent, JobPatch, JobStatus};

use crate::auth::{self, Token};
use crate::body::{JsonBody, JsonBytes, MAX_BODY_BYTES, parse};
use crate::errors::ApiError;
use crate::lifecycle::Jobs;
use crate::metrics;

#[derive(Clone)]
pub(crate) struct AppState {
    pub jobs: Arc<Jobs>,
    pub registry: Arc<Registry>,
}

/// The router: `/healthz` and `/readyz` open, everything else behind the bearer token.
pub(crate) fn router(state: AppState, token: Token) -> Router {
    let protected = Router::new()
        .route("/v1/job", get(get_job).post(post_job).patch(patch_job))
        .route("/v1/job/events", post(post_events))
        .route("/v1/job/stop", post(post_stop))
        .route("/metrics", get(get_metrics))
        .route_layer(middleware::from_fn_with_state(token, auth::require_token));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if !state.jobs.is_idle() {
        return Err(ApiError::not_ready(
            "a job was accepted; this recorder takes one job per process, so send the next job \
             to another recorder",
        ));
    }
    if !state.jobs.runner().is_warm() {
        return Err(ApiError::not_ready(
            "warming up (GStreamer plugins, compositions, fonts); retry in a moment",
        ));
    }
    Ok(Json(json!({ "ready": true })))
}

async fn post_job(
    State(state): State<AppState>,
    JsonBody(spec): JsonBody<JobSpec>,
) -> Result<Json<JobStatus>, ApiError> {
    state.jobs.start(spec).await.map(Json)
}

async fn get_job(State(state): State<AppState>) -> Json<JobStatus> {
    Json(state.jobs.status())
}

async fn patch_job(
    State(state): State<AppState>,
    JsonBody(patch): JsonBody<JobPatch>,
) -> Result<Json<JobStatus>, ApiError> {
    state.jobs.patch(patch).map(Json)
}

/// One event object or an array of them; the first non-blank byte decides, so each form
/// keeps precise field paths in its errors.
fn parse_events(bytes: &[u8]) -> Result<Vec<JobEvent>, ApiError> {
    let is_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let events = if is_array {
        parse::<Vec<JobEvent>>(bytes)?
    } else {
        vec![parse::<JobEvent>(bytes)?]
    };
    if events.is_empty() {
        return Err(ApiError::bad_request(
            "the event array is empty; send at least one event",
            None,
        ));
    }
    Ok(events)
}

async fn post_events(
    State(state): State<AppState>,
    JsonBytes(bytes): JsonBytes,
) -> Result<Json<JobStatus>, ApiError> {
    let events = parse_events(&bytes)?;
    state.jobs.events(events).map(Json)
}

async fn post_stop(State(state): State<AppState>) -> Result<Json<JobStatus>, ApiError> {
    if !state.jobs.stop().await? {
        return Err(ApiError::not_found(
            "no job to stop; this recorder has not been given a job",
        ));
    }
    Ok(Json(state.jobs.status()))
}

async fn get_metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let text = metrics::encode(&state.registry).map_err(|err| {
        error!(cause = %err, "could not encode metrics");
        ApiError::internal("could not encode the metrics; the recorder logs have the details")
    })?;
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text))
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such path; the control API has /healthz, /readyz, /metrics, /v1/job, \
         /v1/job/events and /v1/job/stop",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_one_or_many() {
        let one = parse_events(r#"{"type":"emoji","text":"🎉"}"#.as_bytes()).unwrap();
        assert_eq!(one.len(), 1);
        let many = parse_events(
            br#" [{"type":"chat","senderDisplayName":"A","text":"hi"},
                  {"type":"activeSpeaker","participantId":"a"}]"#,
        )
        .unwrap();
        assert_eq!(many.len(), 2);
        assert!(parse_events(b"[]").is_err());
        let err =
            parse_events(br#"[{"type":"chat","senderDisplayName":"A","txt":"hi"}]"#).unwrap_err();
        assert!(err.detail.message.contains("txt"), "{}", err.detail.message);
    }
}
