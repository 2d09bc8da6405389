//! A blocking client for the recorder's control API (`vcs-recorder serve`, `vcs_service`), for
//! tests and benches: one request per call, any method, the bearer token or none, and the answer
//! whatever its status.
//!
//! ```no_run
//! # use std::time::Duration;
//! use vcs_test_support::ControlClient;
//! let api = ControlClient::new("127.0.0.1:8080".parse().unwrap(), Some("token"));
//! api.wait_ready(Duration::from_secs(60));
//! let status = api.call("POST", "/v1/job", Some(r#"{"composition":{"name":"demo"}}"#));
//! assert_eq!(status.status_body().state, vcs_job::control::JobState::Recording);
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use vcs_job::control::{ErrorBody, JobStatus};

/// `POST /v1/job` answers after the first encoded frame; a cold machine can take a while, a
/// stuck server should still fail the test.
const TIMEOUT: Duration = Duration::from_secs(300);

/// Talks to one `serve` at `addr`.
#[derive(Clone)]
pub struct ControlClient {
    pub addr: SocketAddr,
    token: Option<String>,
    agent: ureq::Agent,
}

impl ControlClient {
    /// A client sending `Authorization: Bearer <token>` when `token` is given.
    pub fn new(addr: SocketAddr, token: Option<&str>) -> ControlClient {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .timeout_global(Some(TIMEOUT))
                // Every status is an answer to look at, not an error.
                .http_status_as_error(false)
                .build(),
        );
        ControlClient {
            addr,
            token: token.map(str::to_string),
            agent,
        }
    }

    /// `method path` with `body` as JSON. Status 0 means nothing answered (not listening yet,
    /// or the connection broke); the body then says why.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        self.send(method, path, self.token.as_deref(), body)
    }

    /// [`ControlClient::call`] with another token, or none.
    pub fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Response {
        self.send(method, path, token, body)
    }

    /// [`ControlClient::call`] that must answer 200 with a [`JobStatus`].
    pub fn ok(&self, method: &str, path: &str, body: Option<&str>) -> JobStatus {
        self.call(method, path, body).status_body()
    }

    /// Waits until `GET /readyz` answers 200 (the recorder is warm and idle).
    pub fn wait_ready(&self, timeout: Duration) {
        crate::wait_for("the recorder to be ready", timeout, || {
            self.call("GET", "/readyz", None).status == 200
        });
    }

    fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Response {
        let url = format!("http://{}{path}", self.addr);
        let auth = token.map(|t| format!("Bearer {t}"));
        let started = Instant::now();
        let answer = match method {
            "GET" | "DELETE" | "HEAD" | "OPTIONS" => {
                let request = match method {
                    "GET" => self.agent.get(&url),
                    "DELETE" => self.agent.delete(&url),
                    "HEAD" => self.agent.head(&url),
                    _ => self.agent.options(&url),
                };
                let request = match &auth {
                    Some(auth) => request.header("Authorization", auth),
                    None => request,
                };
                match body {
                    // The API must not care, but a test may send one to check that.
                    Some(body) => request
                        .force_send_body()
                        .content_type("application/json")
                        .send(body),
                    None => request.call(),
                }
            }
            "POST" | "PUT" | "PATCH" => {
                let request = match method {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.patch(&url),
                };
                let request = match &auth {
                    Some(auth) => request.header("Authorization", auth),
                    None => request,
                };
                request
                    .content_type("application/json")
                    .send(body.unwrap_or(""))
            }
            other => panic!("the control API has no {other} requests"),
        };
        match answer {
            Ok(mut response) => {
                let headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                        (k.as_str().to_ascii_lowercase(), v)
                    })
                    .collect();
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(64 << 20)
                    .read_to_string()
                    .unwrap_or_else(|e| format!("(reading the body failed: {e})"));
                Response {
                    status,
                    headers,
                    body,
                }
            }
            Err(e) => Response {
                status: 0,
                headers: HashMap::new(),
                body: format!(
                    "{method} {url} got no answer after {:?}: {e}",
                    started.elapsed()
                ),
            },
        }
    }
}

/// One request on its own, as [`ControlClient::call`] does.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Response {
    ControlClient::new(addr, token).call(method, path, body)
}

/// An answer from the control API.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status; 0 when nothing answered.
    pub status: u16,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Response {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }

    /// The body of a 200 answer as a [`JobStatus`]; panics with the body otherwise.
    pub fn status_body(&self) -> JobStatus {
        assert_eq!(self.status, 200, "{}", self.body);
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not a JobStatus ({e}): {}", self.body))
    }

    /// `(code, at)` of an [`ErrorBody`]; panics when the body is not one or has no message.
    pub fn error(&self) -> (String, Option<String>) {
        let body: ErrorBody = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not an ErrorBody ({e}): {}", self.body));
        assert!(!body.error.message.is_empty(), "{}", self.body);
        (body.error.code, body.error.at)
    }
}
