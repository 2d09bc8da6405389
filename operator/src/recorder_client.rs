//! Client of a recorder pod's control API (architecture.md §5), with the bodies of
//! `vcs_job::control`. Responses are read leniently (unknown fields ignored).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use thiserror::Error;
use vcs_job::JobSpec;
use vcs_job::control::{ErrorBody, ErrorDetail, JobPatch, JobStatus};

#[derive(Debug, Error)]
pub enum RecorderError {
    #[error("recorder at {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    #[error("recorder at {url} did not answer within {secs}s")]
    Timeout { url: String, secs: u64 },
    #[error("recorder at {url} answered {status}: {} ({}){}", detail.message, detail.code, detail.at.as_ref().map(|a| format!(" at {a}")).unwrap_or_default())]
    Api {
        url: String,
        status: u16,
        detail: ErrorDetail,
    },
    #[error("recorder at {url} sent a body that is not a JobStatus: {message}")]
    Decode { url: String, message: String },
}

impl RecorderError {
    /// The recorder's error code (`invalidComposition`, `unauthorized`, ...), for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { detail, .. } => Some(&detail.code),
            _ => None,
        }
    }

    /// The recorder refused the job itself; retrying the same spec will not help.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Api { status, .. } if (400..500).contains(status) && *status != 401 && *status != 409 && *status != 408)
    }

    /// Gone or broken, as opposed to a refused request.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout { .. })
            || matches!(self, Self::Api { status, .. } if *status >= 500)
    }
}

/// Talks to one recorder; cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct RecorderClient {
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    start_timeout: Duration,
}

impl Default for RecorderClient {
    fn default() -> Self {
        Self::new(Duration::from_secs(10), Duration::from_secs(60))
    }
}

impl RecorderClient {
    /// `timeout` bounds every call; `start_timeout` bounds `POST /v1/job`, which answers only
    /// once the first frame is encoded.
    pub fn new(timeout: Duration, start_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        Self {
            http: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
            start_timeout,
        }
    }

    pub async fn start(
        &self,
        base: &str,
        token: &str,
        job: &JobSpec,
    ) -> Result<JobStatus, RecorderError> {
        self.call(
            Method::POST,
            base,
            "/v1/job",
            token,
            Some(job),
            self.start_timeout,
        )
        .await
    }

    pub async fn status(&self, base: &str, token: &str) -> Result<JobStatus, RecorderError> {
        self.call::<()>(Method::GET, base, "/v1/job", token, None, self.timeout)
            .await
    }

    pub async fn patch(
        &self,
        base: &str,
        token: &str,
        patch: &JobPatch,
    ) -> Result<JobStatus, RecorderError> {
        self.call(
            Method::PATCH,
            base,
            "/v1/job",
            token,
            Some(patch),
            self.timeout,
        )
        .await
    }

    pub async fn stop(&self, base: &str, token: &str) -> Result<JobStatus, RecorderError> {
        self.call::<()>(
            Method::POST,
            base,
            "/v1/job/stop",
            token,
            None,
            self.timeout,
        )
        .await
    }

    async fn call<B: Serialize>(
        &self,
        method: Method,
        base: &str,
        path: &str,
        token: &str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<JobStatus, RecorderError> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let unreachable = |message: String| RecorderError::Unreachable {
            url: url.clone(),
            message,
        };
        let bytes = match body {
            Some(b) => Bytes::from(
                serde_json::to_vec(b).map_err(|e| unreachable(format!("encoding request: {e}")))?,
            ),
            None => Bytes::new(),
        };
        let req = Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(bytes))
            .map_err(|e| unreachable(format!("bad URL: {e}")))?;
        let exchange = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes();
            Ok::<_, RecorderError>((status, body))
        };
        let (status, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| RecorderError::Timeout {
                url: url.clone(),
                secs: timeout.as_secs(),
            })??;
        if status == StatusCode::OK
            || status == StatusCode::CREATED
            || status == StatusCode::ACCEPTED
        {
            return serde_json::from_slice(&body).map_err(|e| RecorderError::Decode {
                url,
                message: e.to_string(),
            });
        }
        let detail = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.error)
            .unwrap_or_else(|_| ErrorDetail {
                code: "unknown".into(),
                message: String::from_utf8_lossy(&body).chars().take(300).collect(),
                at: None,
            });
        Err(RecorderError::Api {
            url,
            status: status.as_u16(),
            detail,
        })
    }
}
