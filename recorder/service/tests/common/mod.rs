//! Test kit: a stand-in engine and a raw HTTP/1.1 client over loopback.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vcs_job::JobSpec;
use vcs_job::control::{JobEvent, JobPatch, JobState, JobStatus};
use vcs_service::{JobRunner, Metrics, Outcome, RunnerError, ServeError, Settings, Token};

pub const TOKEN: &str = "test-token-123";

/// A stand-in for the recording engine: records every call, and lets the test decide when
/// `start` returns, what it returns, and when the job finishes.
#[derive(Default)]
pub struct FakeEngine {
    pub warm: AtomicBool,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Calls>,
    gate: Condvar,
}

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut Calls) -> R) -> R {
        let r = f(&mut self.calls.lock().unwrap());
        self.gate.notify_all();
        r
    }
}

#[derive(Default)]
pub struct Calls {
    pub started: Vec<JobSpec>,
    pub patches: Vec<JobPatch>,
    pub events: Vec<JobEvent>,
    pub stops: usize,
    pub status: JobStatus,
    /// `start` waits while this is true.
    pub hold_start: bool,
    pub start_result: Option<RunnerError>,
    pub patch_result: Option<RunnerError>,
    /// After `stop`, the job goes to done after this long (never when `None`).
    pub finish_after_stop: Option<Duration>,
}

impl FakeEngine {
    pub fn warm() -> Arc<Self> {
        let engine = Arc::new(Self::default());
        engine.warm.store(true, Ordering::SeqCst);
        engine.with(|c| c.finish_after_stop = Some(Duration::from_millis(200)));
        engine
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Calls) -> R) -> R {
        self.shared.with(f)
    }

    pub fn set_state(&self, state: JobState) {
        self.with(|c| c.status.state = state);
    }
}

impl JobRunner for FakeEngine {
    fn is_warm(&self) -> bool {
        self.warm.load(Ordering::SeqCst)
    }

    fn start(&self, spec: JobSpec) -> Result<(), RunnerError> {
        let mut calls = self.shared.calls.lock().unwrap();
        calls.started.push(spec);
        calls.status.state = JobState::Starting;
        while calls.hold_start {
            calls = self.shared.gate.wait(calls).unwrap();
        }
        if let Some(err) = calls.start_result.clone() {
            calls.status.state = JobState::Idle;
            return Err(err);
        }
        calls.status.state = JobState::Recording;
        calls.status.frames = 1;
        Ok(())
    }

    fn status(&self) -> JobStatus {
        self.shared.calls.lock().unwrap().status.clone()
    }

    fn patch(&self, patch: JobPatch) -> Result<(), RunnerError> {
        let mut calls = self.shared.calls.lock().unwrap();
        if let Some(err) = calls.patch_result.clone() {
            return Err(err);
        }
        calls.patches.push(patch);
        Ok(())
    }

    fn events(&self, events: Vec<JobEvent>) -> Result<(), RunnerError> {
        self.shared.calls.lock().unwrap().events.extend(events);
        Ok(())
    }

    fn stop(&self) {
        let mut calls = self.shared.calls.lock().unwrap();
        calls.stops += 1;
        calls.status.state = JobState::Finalising;
        if let Some(after) = calls.finish_after_stop {
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || {
                std::thread::sleep(after);
                shared.with(|c| c.status.state = JobState::Done);
            });
        }
    }
}

/// A running `serve` on a loopback port.
pub struct Server {
    pub addr: SocketAddr,
    pub engine: Arc<FakeEngine>,
    pub metrics: Metrics,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<Outcome, ServeError>>,
}

pub fn settings(stop_grace: Duration) -> Settings {
    Settings {
        token: Token::new(TOKEN).unwrap(),
        stop_grace,
        linger: Duration::ZERO,
    }
}

impl Server {
    pub async fn start(engine: Arc<FakeEngine>) -> Self {
        Self::start_with(engine, settings(Duration::from_secs(5))).await
    }

    pub async fn start_with(engine: Arc<FakeEngine>, settings: Settings) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Metrics::new();
        let (tx, rx) = oneshot::channel::<()>();
        let runner: Arc<dyn JobRunner> = engine.clone();
        let task = tokio::spawn(vcs_service::serve(
            listener,
            settings,
            runner,
            metrics.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        Self {
            addr,
            engine,
            metrics,
            shutdown: Some(tx),
            task,
        }
    }

    /// What the binary's SIGTERM future does.
    pub fn shut_down(&mut self) {
        let _ = self.shutdown.take().unwrap().send(());
    }

    pub async fn outcome(self) -> Outcome {
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("serve did not return")
            .unwrap()
            .unwrap()
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        request(self.addr, method, path, Some(TOKEN), body).await
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn status_body(&self) -> JobStatus {
        assert_eq!(self.status, 200, "{}", self.body);
        serde_json::from_str(&self.body).unwrap()
    }

    /// `(code, at)` of an `ErrorBody`.
    pub fn error(&self) -> (String, Option<String>) {
        let body: vcs_job::control::ErrorBody = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not an ErrorBody ({e}): {}", self.body));
        assert!(!body.error.message.is_empty());
        (body.error.code, body.error.at)
    }
}

/// One HTTP/1.1 request on its own connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Response {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before reading a large body and close; that is fine.
    let _ = stream.write_all(body.as_bytes()).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text.split_once("\r\n\r\n").expect("no header end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        let mut out = String::new();
        let mut rest = rest;
        loop {
            let (size, after) = rest.split_once("\r\n").unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        rest.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

pub fn job(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","composition":{{"name":"demo"}},
            "participants":[{{"id":"alice","camera":"test:ball"}}],
            "outputs":[{{"name":"main","mp4":{{"path":"/tmp/out.mp4"}}}}]}}"#
    )
}

/// Polls `cond` until it holds (5 s at most).
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
