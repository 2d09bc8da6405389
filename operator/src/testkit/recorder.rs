//! A fleet of fake recorders speaking the control API (architecture.md §5) on one loopback
//! port: the recorder of pod IP `a.b.c.d` answers under `http://127.0.0.1:PORT/a.b.c.d/`.
//! It is strict where the real one is (bearer token, one job per process, unknown compositions)
//! and records what it was sent so tests can check it.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use vcs_job::JobSpec;
use vcs_job::control::{
    ErrorBody, ErrorDetail, JobPatch, JobState, JobStatus, OutputKind, OutputState, OutputStatus,
};

/// What one fake recorder has seen and is doing.
#[derive(Clone, Debug, Default)]
pub struct FakeRecorder {
    pub job: Option<JobSpec>,
    /// Distinct job ids ever accepted (the real recorder accepts one per process).
    pub job_ids: Vec<String>,
    pub status: JobStatus,
    pub patches: Vec<JobPatch>,
    pub stops: u32,
    /// Answers 503 to everything, as if the process were gone.
    pub dead: bool,
}

/// Behaviour knobs of the whole fleet.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    pub token: String,
    /// Time from POST /v1/job to the first frame.
    pub start_delay: Duration,
    /// Time from stop to done.
    pub finalise_delay: Duration,
    pub compositions: BTreeSet<String>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            token: "test-token".into(),
            start_delay: Duration::from_millis(20),
            finalise_delay: Duration::from_millis(50),
            compositions: ["baseline", "demo"].into_iter().map(String::from).collect(),
        }
    }
}

struct Shared {
    cfg: FleetConfig,
    recorders: Mutex<BTreeMap<String, FakeRecorder>>,
}

/// The fleet; stops serving when dropped.
pub struct FakeRecorders {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for FakeRecorders {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeRecorders {
    pub async fn start(cfg: FleetConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cfg,
            recorders: Mutex::new(BTreeMap::new()),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, Infallible>(handle(s, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Self { shared, addr, task })
    }

    /// Base URL of the recorder of the pod with `ip`.
    pub fn url_for(&self, ip: &str) -> String {
        format!("http://{}/{ip}", self.addr)
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of every recorder that was talked to, by pod IP.
    pub fn recorders(&self) -> BTreeMap<String, FakeRecorder> {
        self.shared.recorders.lock().expect("lock").clone()
    }

    /// Makes the recorder at `ip` answer 503 from now on.
    pub fn kill(&self, ip: &str) {
        self.shared
            .recorders
            .lock()
            .expect("lock")
            .entry(ip.into())
            .or_default()
            .dead = true;
    }
}

fn reply<T: Serialize>(code: StatusCode, body: &T) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(body).expect("serialisable"),
        )))
        .expect("valid response")
}

fn error(code: StatusCode, kind: &str, message: impl Into<String>) -> Response<Full<Bytes>> {
    reply(
        code,
        &ErrorBody {
            error: ErrorDetail {
                code: kind.into(),
                message: message.into(),
                at: None,
            },
        },
    )
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn handle(s: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_start_matches('/').to_string();
    let Some((ip, rest)) = path.split_once('/') else {
        return error(
            StatusCode::NOT_FOUND,
            "notFound",
            "path must be /<pod-ip>/...",
        );
    };
    let (ip, rest) = (ip.to_string(), format!("/{rest}"));
    if s.recorders
        .lock()
        .expect("lock")
        .get(&ip)
        .is_some_and(|r| r.dead)
    {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "recorder is gone",
        );
    }
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {}", s.cfg.token) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token",
        );
    }
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    match (method, rest.as_str()) {
        (Method::POST, "/v1/job") => {
            let spec: JobSpec = match serde_json::from_slice(&body) {
                Ok(j) => j,
                Err(e) => return error(StatusCode::BAD_REQUEST, "invalidJob", e.to_string()),
            };
            if !s.cfg.compositions.contains(&spec.composition.name) {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalidComposition",
                    format!(
                        "composition {:?} is not built in; use one of {:?}",
                        spec.composition.name, s.cfg.compositions
                    ),
                );
            }
            let id = spec.id.clone().unwrap_or_default();
            {
                let mut all = s.recorders.lock().expect("lock");
                let r = all.entry(ip.clone()).or_default();
                if let Some(current) = r.job_ids.last() {
                    return if *current == id {
                        reply(StatusCode::OK, &r.status)
                    } else {
                        error(
                            StatusCode::CONFLICT,
                            "conflict",
                            format!("busy with job {current}"),
                        )
                    };
                }
                r.job_ids.push(id.clone());
                r.status = JobStatus {
                    job_id: Some(id),
                    state: JobState::Starting,
                    ..Default::default()
                };
                r.status.timestamps.accepted = Some(now());
                r.job = Some(spec.clone());
            }
            // The first frame comes on its own task: like a real recorder, the job goes on even
            // when the caller hangs up (an operator killed mid-request).
            let (s2, ip2) = (s.clone(), ip.clone());
            let started = tokio::spawn(async move {
                tokio::time::sleep(s2.cfg.start_delay).await;
                let mut all = s2.recorders.lock().expect("lock");
                let r = all.entry(ip2).or_default();
                r.status.state = JobState::Recording;
                r.status.frames = 1;
                r.status.timestamps.first_frame = Some(now());
                r.status.start_latency_ms = Some(s2.cfg.start_delay.as_secs_f64() * 1000.0);
                r.status.outputs = spec
                    .outputs
                    .iter()
                    .map(|o| OutputStatus {
                        name: o.name.clone(),
                        kind: if o.mp4.is_some() {
                            OutputKind::Mp4
                        } else if o.hls.is_some() {
                            OutputKind::Hls
                        } else {
                            OutputKind::Rtmp
                        },
                        state: OutputState::Active,
                        bytes: 0,
                        uploaded_bytes: 0,
                        objects: 0,
                        duration_secs: 0.0,
                        upload_lag_secs: 0.0,
                        retries: 0,
                        last_error: None,
                    })
                    .collect();
            });
            let _ = started.await;
            let all = s.recorders.lock().expect("lock");
            let r = &all[&ip];
            reply(StatusCode::OK, &r.status)
        }
        (Method::GET, "/v1/job") => {
            let all = s.recorders.lock().expect("lock");
            let st = all.get(&ip).map(|r| r.status.clone()).unwrap_or_default();
            reply(StatusCode::OK, &st)
        }
        (Method::PATCH, "/v1/job") => {
            let patch: JobPatch = match serde_json::from_slice(&body) {
                Ok(p) => p,
                Err(e) => return error(StatusCode::BAD_REQUEST, "badRequest", e.to_string()),
            };
            let mut all = s.recorders.lock().expect("lock");
            let r = all.entry(ip).or_default();
            let Some(job) = r.job.as_mut() else {
                return error(StatusCode::CONFLICT, "conflict", "no job to patch");
            };
            for (k, v) in &patch.params {
                if v.is_null() {
                    job.composition.params.remove(k);
                } else {
                    job.composition.params.insert(k.clone(), v.clone());
                }
            }
            if let Some(p) = &patch.participants {
                job.participants = p.clone();
            }
            r.patches.push(patch);
            reply(StatusCode::OK, &r.status)
        }
        (Method::POST, "/v1/job/stop") => {
            let st = {
                let mut all = s.recorders.lock().expect("lock");
                let r = all.entry(ip.clone()).or_default();
                r.stops += 1;
                if !r.status.state.is_terminal() {
                    r.status.state = JobState::Finalising;
                    r.status.timestamps.stopped = Some(now());
                }
                r.status.clone()
            };
            let (s2, delay) = (s.clone(), s.cfg.finalise_delay);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let mut all = s2.recorders.lock().expect("lock");
                if let Some(r) = all.get_mut(&ip)
                    && r.status.state == JobState::Finalising
                {
                    r.status.state = JobState::Done;
                    r.status.timestamps.done = Some(now());
                    for o in &mut r.status.outputs {
                        o.state = OutputState::Done;
                        o.objects = 1;
                    }
                }
            });
            reply(StatusCode::OK, &st)
        }
        (m, p) => error(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("no route {m} {p}"),
        ),
    }
}
