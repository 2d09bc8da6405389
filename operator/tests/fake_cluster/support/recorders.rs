//! The recorder in each fake pod: the real control API (`vcs_service::serve`) on its own
//! loopback port, driving a [`ScriptedRecorder`] instead of the engine. The API is the real
//! one, so it is as strict as a recorder (bearer token, one job per process, no live changes
//! while starting or stopping); the scripted engine knows the compositions `baseline` and
//! `demo`, reaches its first frame and finishes its outputs after set delays, and keeps what it
//! was sent so tests can check it. Like the real process, the API goes away once the job is
//! over (after a short linger) or the pod is deleted, and its exit code ends the pod.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::{oneshot, watch};
use vcs_fake_kube::kubelet::{Containers, Exit, PodRef};
use vcs_job::JobSpec;
use vcs_job::control::{
    JobEvent, JobPatch, JobState, JobStatus, OutputKind, OutputState, OutputStatus,
};
use vcs_service::{JobRunner, Metrics, RunnerError, Settings, Token};

/// Behaviour of every recorder of the fleet.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    pub token: String,
    /// Time from POST /v1/job to the first frame.
    pub start_delay: Duration,
    /// Time from stop to done.
    pub finalise_delay: Duration,
    /// The compositions a job may name.
    pub compositions: BTreeSet<String>,
    /// How long the API keeps answering once the job is over (`serve --linger-secs`).
    pub linger: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            token: "test-token".into(),
            start_delay: Duration::from_millis(20),
            finalise_delay: Duration::from_millis(50),
            compositions: ["baseline", "demo"].into_iter().map(String::from).collect(),
            linger: Duration::from_secs(1),
        }
    }
}

/// What one recorder has been sent and is doing.
#[derive(Clone, Debug, Default)]
pub struct RecorderState {
    /// The job as started, with the live changes applied.
    pub job: Option<JobSpec>,
    /// Distinct job ids ever started (the real recorder takes one per process).
    pub job_ids: Vec<String>,
    pub status: JobStatus,
    pub patches: Vec<JobPatch>,
    pub stops: u32,
}

type Shared = Arc<Mutex<RecorderState>>;

fn lock(state: &Shared) -> MutexGuard<'_, RecorderState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn now() -> Option<String> {
    Some(Timestamp::now().to_string())
}

/// The engine stand-in behind one recorder's control API.
pub struct ScriptedRecorder {
    cfg: Arc<FleetConfig>,
    state: Shared,
}

impl JobRunner for ScriptedRecorder {
    fn is_warm(&self) -> bool {
        true
    }

    fn start(&self, spec: JobSpec) -> Result<(), RunnerError> {
        let name = spec.composition.name.clone();
        if !self.cfg.compositions.contains(&name) {
            return Err(RunnerError::InvalidComposition {
                at: name,
                message: format!(
                    "not a built-in composition (built in: {:?})",
                    self.cfg.compositions
                ),
            });
        }
        {
            let mut st = lock(&self.state);
            st.job_ids.push(spec.id.clone().unwrap_or_default());
            st.job = Some(spec.clone());
            st.status.state = JobState::Starting;
        }
        // `start` runs on a blocking thread and returns once the first frame is encoded.
        std::thread::sleep(self.cfg.start_delay);
        let mut st = lock(&self.state);
        st.status.state = JobState::Recording;
        st.status.frames = 1;
        st.status.timestamps.first_frame = now();
        st.status.outputs = spec.outputs.iter().map(active_output).collect();
        Ok(())
    }

    fn status(&self) -> JobStatus {
        lock(&self.state).status.clone()
    }

    fn patch(&self, patch: JobPatch) -> Result<(), RunnerError> {
        let mut st = lock(&self.state);
        if let Some(job) = st.job.as_mut() {
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
        }
        st.patches.push(patch);
        Ok(())
    }

    fn events(&self, _events: Vec<JobEvent>) -> Result<(), RunnerError> {
        Ok(())
    }

    fn stop(&self) {
        {
            let mut st = lock(&self.state);
            st.stops += 1;
            st.status.state = JobState::Finalising;
        }
        let (state, delay) = (self.state.clone(), self.cfg.finalise_delay);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let mut st = lock(&state);
            st.status.state = JobState::Done;
            st.status.timestamps.done = now();
            for o in &mut st.status.outputs {
                o.state = OutputState::Done;
                o.objects = 1;
            }
        });
    }
}

fn active_output(o: &vcs_job::Output) -> OutputStatus {
    OutputStatus {
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
    }
}

/// One recorder process.
struct Process {
    addr: SocketAddr,
    state: Shared,
    kill: Option<oneshot::Sender<()>>,
    /// The exit code, once it has exited.
    exited: watch::Receiver<Option<i32>>,
}

/// Every recorder started, by pod IP; they keep their state after they exit.
pub struct RecorderFleet {
    cfg: Arc<FleetConfig>,
    processes: Mutex<BTreeMap<String, Process>>,
}

impl RecorderFleet {
    pub fn new(cfg: FleetConfig) -> Arc<Self> {
        Arc::new(Self {
            cfg: Arc::new(cfg),
            processes: Mutex::new(BTreeMap::new()),
        })
    }

    fn processes(&self) -> MutexGuard<'_, BTreeMap<String, Process>> {
        self.processes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the recorder of the pod with `ip` (serving at once) and returns its base URL. It
    /// runs until its job is over, [`kill`](Self::kill), or `terminate` resolves.
    pub fn start(&self, ip: &str, terminate: impl Future<Output = ()> + Send + 'static) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let listener = tokio::net::TcpListener::from_std(listener).expect("in a tokio runtime");
        let addr = listener.local_addr().expect("a bound address");
        let state = Shared::default();
        let runner = Arc::new(ScriptedRecorder {
            cfg: self.cfg.clone(),
            state: state.clone(),
        });
        let settings = Settings {
            token: Token::new(&self.cfg.token).expect("a non-empty token"),
            stop_grace: Duration::from_secs(5),
            linger: self.cfg.linger,
        };
        let (kill, killed) = oneshot::channel::<()>();
        let shutdown = async move {
            tokio::select! {
                _ = killed => {}
                () = terminate => {}
            }
        };
        let serve = vcs_service::serve(listener, settings, runner, Metrics::new(), shutdown);
        let (exit, exited) = watch::channel(None);
        tokio::spawn(async move {
            let code = match serve.await {
                Ok(outcome) => i32::from(outcome.exit_code()),
                Err(_) => 1,
            };
            let _ = exit.send(Some(code));
        });
        self.processes().insert(
            ip.into(),
            Process {
                addr,
                state,
                kill: Some(kill),
                exited,
            },
        );
        format!("http://{addr}")
    }

    /// The base URL of the recorder of the pod with `ip`, once started.
    pub fn url_for(&self, ip: &str) -> Option<String> {
        self.processes()
            .get(ip)
            .map(|p| format!("http://{}", p.addr))
    }

    /// A snapshot of every recorder, by pod IP.
    pub fn recorders(&self) -> BTreeMap<String, RecorderState> {
        self.processes()
            .iter()
            .map(|(ip, p)| (ip.clone(), lock(&p.state).clone()))
            .collect()
    }

    /// Stops the recorder at `ip` as SIGTERM does, and waits until it has exited.
    pub async fn kill(&self, ip: &str) {
        let exited = {
            let mut all = self.processes();
            let p = all.get_mut(ip).expect("a started recorder");
            if let Some(kill) = p.kill.take() {
                let _ = kill.send(());
            }
            p.exited.clone()
        };
        wait_exit(exited).await;
    }
}

async fn wait_exit(mut exited: watch::Receiver<Option<i32>>) -> i32 {
    match exited.wait_for(Option::is_some).await {
        Ok(code) => code.unwrap_or(1),
        Err(_) => 1,
    }
}

/// The fake kubelet runs each pod's recorder through this.
impl Containers for RecorderFleet {
    fn start(&self, pod: &PodRef, terminate: oneshot::Receiver<()>) -> Exit {
        self.start(&pod.ip, async {
            let _ = terminate.await;
        });
        let exited = self.processes()[&pod.ip].exited.clone();
        Box::pin(wait_exit(exited))
    }
}
