//! Test kit: a stand-in engine, and the real `serve` on a loopback port on a runtime of its own,
//! so the tests are plain blocking code that talks to it over HTTP with `vcs-test-support`'s
//! control-API client.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vcs_job::JobSpec;
use vcs_job::control::{JobEvent, JobPatch, JobState, JobStatus};
use vcs_service::{JobRunner, Metrics, Outcome, RunnerError, ServeError, Settings, Token};
use vcs_test_support::{ControlClient, Response};

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
    /// Sends with the test token.
    pub api: ControlClient,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<Outcome, ServeError>>,
    runtime: Runtime,
}

pub fn settings(stop_grace: Duration) -> Settings {
    Settings {
        token: Token::new(TOKEN).unwrap(),
        stop_grace,
        linger: Duration::ZERO,
    }
}

impl Server {
    pub fn start(engine: Arc<FakeEngine>) -> Self {
        Self::start_with(engine, settings(Duration::from_secs(5)))
    }

    pub fn start_with(engine: Arc<FakeEngine>, settings: Settings) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Metrics::new();
        let (tx, rx) = oneshot::channel::<()>();
        let runner: Arc<dyn JobRunner> = engine.clone();
        let task = runtime.spawn(vcs_service::serve(
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
            api: ControlClient::new(addr, Some(TOKEN)),
            shutdown: Some(tx),
            task,
            runtime,
        }
    }

    /// What the binary's SIGTERM future does.
    pub fn shut_down(&mut self) {
        let _ = self.shutdown.take().unwrap().send(());
    }

    /// Whether `serve` has returned.
    pub fn has_returned(&self) -> bool {
        self.task.is_finished()
    }

    /// What `serve` returned (waits up to 10 s for it).
    pub fn outcome(self) -> Outcome {
        let task = self.task;
        self.runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), task).await })
            .expect("serve did not return")
            .unwrap()
            .unwrap()
    }

    /// A request with the test token.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        self.api.call(method, path, body)
    }
}

pub fn job(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","composition":{{"name":"demo"}},
            "participants":[{{"id":"alice","camera":"test:ball"}}],
            "outputs":[{{"name":"main","mp4":{{"path":"/tmp/out.mp4"}}}}]}}"#
    )
}
