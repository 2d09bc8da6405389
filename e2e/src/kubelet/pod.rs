//! One pod on the stand-in: its sandbox (address, directory, volumes), its containers'
//! processes through their lives (start, probes, exit, restart with back-off per
//! `restartPolicy`), and its termination: SIGTERM on deletion, SIGKILL when the grace period
//! runs out, the final status, then the pod object deleted with grace 0 as the kubelet does.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::{Client, ResourceExt};
use serde_json::Value;
use tokio::process::Child;
use tokio::time::Instant;

use super::container::{self, Images, Sandbox};
use super::probe::{Http, Prober};
use super::status::{self, Conditions, ContainerView, PodReport, State, Terminated};
use super::{Signal, addr, volumes};

/// Grace given to a pod that vanished from the API (force-deleted) while it ran: the kubelet
/// still sends SIGTERM and waits a moment before SIGKILL.
pub const FORCED_GRACE: Duration = Duration::from_secs(2);
/// Retry of a pod whose volumes or a container could not be set up yet.
const SETUP_RETRY: Duration = Duration::from_secs(2);
/// Restart back-off: doubles from the configured start up to this, and starts over after a
/// container ran this long.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The processes of each pod by namespace and name: (container, pid) of those running.
pub type PidTable = Arc<Mutex<BTreeMap<(String, String), Vec<(String, u32)>>>>;

/// What every pod worker shares.
pub struct Ctx {
    pub client: Client,
    pub images: Images,
    pub http: Http,
    pub api_server: Option<String>,
    pub restart_backoff: Duration,
    pub dir: PathBuf,
    /// The processes of each pod, by namespace and name, for the kill hooks.
    pub pids: PidTable,
}

/// One container and its current process.
struct Run {
    spec: Container,
    child: Option<Child>,
    pid: Option<u32>,
    state: State,
    last: Option<Terminated>,
    restart_count: i32,
    backoff: Duration,
    /// When to start it (again); `None`: never again.
    next_start: Option<Instant>,
    started: Option<(Instant, Timestamp)>,
    /// Until it passes, neither readiness nor liveness is probed; exhausted, it kills.
    startup: Option<Prober>,
    readiness: Option<Prober>,
    liveness: Option<Prober>,
    /// SIGKILL at this instant if it has not exited by then.
    kill_at: Option<Instant>,
}

impl Run {
    fn view(&self) -> ContainerView {
        ContainerView {
            name: self.spec.name.clone(),
            image: self.spec.image.clone().unwrap_or_default(),
            container_id: self.pid.map(|p| format!("vcs-e2e://{p}")),
            state: self.state.clone(),
            last: self.last.clone(),
            restart_count: self.restart_count,
            ready: self.started() && self.readiness.as_ref().is_none_or(|p| p.passing),
            started: self.started(),
        }
    }

    /// Running, and its startup probe (if any) has passed.
    fn started(&self) -> bool {
        matches!(self.state, State::Running { .. })
            && self.startup.as_ref().is_none_or(|p| p.passing)
    }

    fn signal(&self, sig: Signal) {
        if let Some(pid) = self.child.as_ref().and(self.pid) {
            sig.send(pid);
        }
    }
}

/// What a step asks of the loop.
pub enum Outcome {
    /// Report this status (when it differs from the last reported one).
    Report(Value),
    /// Nothing to report now.
    Quiet,
    /// The pod is gone (deleted by this worker or by someone else): drop the worker.
    Gone,
}

pub struct PodWorker {
    pub ns: String,
    pub name: String,
    uid: String,
    dir: PathBuf,
    sandbox: Option<Sandbox>,
    ip: std::net::Ipv4Addr,
    setup_error: Option<String>,
    next_setup: Instant,
    start_time: Timestamp,
    runs: Vec<Run>,
    conditions: Conditions,
    /// SIGTERM was sent for the pod's deletion; SIGKILL at this instant.
    terminating: Option<Instant>,
    /// The status last accepted by the API server.
    pub reported: Option<Value>,
}

fn ports_of(pod: &Pod) -> Vec<u16> {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut ports: Vec<u16> = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| u16::try_from(p.container_port).ok())
        .collect();
    // Listen addresses given as arguments (`0.0.0.0:8080`).
    for c in &spec.containers {
        for a in c.args.iter().flatten().chain(c.command.iter().flatten()) {
            if let Some((_, port)) = a.rsplit_once("0.0.0.0:") {
                ports.extend(port.parse::<u16>().ok());
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

impl PodWorker {
    pub fn new(pod: &Pod, ctx: &Ctx) -> Self {
        let (ns, name) = (pod.namespace().unwrap_or_default(), pod.name_any());
        let runs = pod
            .spec
            .as_ref()
            .map(|s| s.containers.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|spec| Run {
                spec,
                child: None,
                pid: None,
                state: State::waiting("ContainerCreating", None),
                last: None,
                restart_count: 0,
                backoff: ctx.restart_backoff,
                next_start: Some(Instant::now()),
                started: None,
                startup: None,
                readiness: None,
                liveness: None,
                kill_at: None,
            })
            .collect();
        Self {
            dir: ctx.dir.join(&ns).join(&name),
            uid: pod.uid().unwrap_or_default(),
            ip: addr::allocate(&ports_of(pod)),
            ns,
            name,
            sandbox: None,
            setup_error: None,
            next_setup: Instant::now(),
            start_time: Timestamp::now(),
            runs,
            conditions: Conditions::default(),
            terminating: None,
            reported: None,
        }
    }

    pub fn uid(&self) -> &str {
        &self.uid
    }

    fn policy(pod: &Pod) -> String {
        pod.spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    /// One look at the pod (`None`: it is no longer in the API) and its processes.
    pub async fn step(&mut self, ctx: &Ctx, pod: Option<&Pod>) -> Outcome {
        self.reap(ctx, pod.map(Self::policy).as_deref().unwrap_or("Never"));
        let Some(pod) = pod else {
            // Force-deleted: nothing to report to; stop the processes and forget the pod.
            self.terminate(FORCED_GRACE);
            return if self.all_stopped() {
                Outcome::Gone
            } else {
                Outcome::Quiet
            };
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return self.delete(ctx, pod).await;
        }
        if self.sandbox.is_none() {
            self.set_up(ctx, pod).await;
        }
        if self.sandbox.is_some() {
            self.start_due(ctx, pod).await;
            self.probe(ctx, pod);
        }
        self.kill_overdue();
        Outcome::Report(self.status(pod))
    }

    /// Collects exited processes and plans their restarts.
    fn reap(&mut self, ctx: &Ctx, policy: &str) {
        let mut changed = false;
        let terminating = self.terminating.is_some();
        for r in &mut self.runs {
            let Some(child) = &mut r.child else { continue };
            let Ok(Some(exit)) = child.try_wait() else {
                continue;
            };
            changed = true;
            let signal = exit.signal();
            let exit_code = exit.code().unwrap_or(128 + signal.unwrap_or(0));
            let (since, started_at) = r
                .started
                .take()
                .unwrap_or((Instant::now(), Timestamp::now()));
            let t = Terminated {
                exit_code,
                signal,
                started_at,
                finished_at: Timestamp::now(),
            };
            r.child = None;
            r.kill_at = None;
            if !terminating && status::restarts(policy, exit_code) {
                if since.elapsed() > Duration::from_secs(60) {
                    r.backoff = ctx.restart_backoff;
                }
                r.next_start = Some(Instant::now() + r.backoff);
                r.restart_count += 1;
                r.backoff = (r.backoff * 2).min(MAX_BACKOFF);
                let msg = format!(
                    "back-off {:?} restarting failed container {}",
                    r.backoff / 2,
                    r.spec.name
                );
                r.last = Some(t);
                r.state = State::waiting("CrashLoopBackOff", Some(msg));
            } else {
                r.next_start = None;
                r.state = State::Terminated(t);
            }
        }
        if changed {
            self.publish_pids(ctx);
        }
    }

    fn publish_pids(&self, ctx: &Ctx) {
        let pids: Vec<(String, u32)> = self
            .runs
            .iter()
            .filter(|r| r.child.is_some())
            .filter_map(|r| Some((r.spec.name.clone(), r.pid?)))
            .collect();
        let mut all = ctx.pids.lock().expect("the pid table is never poisoned");
        let key = (self.ns.clone(), self.name.clone());
        if pids.is_empty() {
            all.remove(&key);
        } else {
            all.insert(key, pids);
        }
    }

    /// Makes the sandbox: the pod's directory and its volumes.
    async fn set_up(&mut self, ctx: &Ctx, pod: &Pod) {
        if Instant::now() < self.next_setup {
            return;
        }
        match volumes::prepare(&ctx.client, pod, &self.dir).await {
            Ok(vols) => {
                let sandbox = Sandbox {
                    ip: self.ip,
                    dir: self.dir.clone(),
                    volumes: vols,
                    api_server: ctx.api_server.clone(),
                };
                let _ = std::fs::create_dir_all(sandbox.tmp());
                self.sandbox = Some(sandbox);
                self.setup_error = None;
            }
            Err(e) => {
                self.next_setup = Instant::now() + SETUP_RETRY;
                for r in &mut self.runs {
                    r.state = State::waiting("ContainerCreating", Some(e.clone()));
                }
                self.setup_error = Some(e);
            }
        }
    }

    /// Starts the containers whose (re)start is due.
    async fn start_due(&mut self, ctx: &Ctx, pod: &Pod) {
        let sandbox = self.sandbox.as_ref().expect("set up");
        let mut started = false;
        for r in &mut self.runs {
            if r.child.is_some() || r.next_start.is_none_or(|t| Instant::now() < t) {
                continue;
            }
            let env = match container::env_of(&ctx.client, pod, &r.spec).await {
                Ok(env) => env,
                Err(e) => {
                    r.state = State::waiting("CreateContainerConfigError", Some(e));
                    r.next_start = Some(Instant::now() + SETUP_RETRY);
                    continue;
                }
            };
            let launch = match container::plan(pod, &r.spec, &ctx.images, sandbox, env) {
                Ok(l) => l,
                Err((reason, msg)) => {
                    r.state = State::waiting(reason, Some(msg));
                    r.next_start = Some(Instant::now() + SETUP_RETRY);
                    continue;
                }
            };
            let log = self.dir.join(format!("{}.log", r.spec.name));
            match container::spawn(&launch, &log) {
                Ok(child) => {
                    let now = Timestamp::now();
                    r.pid = child.id();
                    r.child = Some(child);
                    r.started = Some((Instant::now(), now));
                    r.state = State::Running { started_at: now };
                    r.next_start = None;
                    r.startup = probe(&r.spec, r.spec.startup_probe.as_ref(), self.ip, false);
                    r.readiness = probe(&r.spec, r.spec.readiness_probe.as_ref(), self.ip, false);
                    r.liveness = probe(&r.spec, r.spec.liveness_probe.as_ref(), self.ip, true);
                    started = true;
                }
                Err(e) => {
                    r.state = State::waiting("RunContainerError", Some(e));
                    r.next_start = Some(Instant::now() + SETUP_RETRY);
                }
            }
        }
        if started {
            self.publish_pids(ctx);
        }
    }

    /// Runs the probes as the kubelet does: the startup probe first, and readiness and
    /// liveness only once it has passed; a failed liveness probe, or a startup probe out of
    /// attempts, kills the container (it restarts per policy).
    fn probe(&mut self, ctx: &Ctx, pod: &Pod) {
        let grace = grace_period(pod);
        for r in &mut self.runs {
            if r.child.is_none() {
                continue;
            }
            let mut dead = None;
            if let Some(p) = r.startup.as_mut().filter(|p| !p.passing) {
                p.poll(&ctx.http);
                if !p.passing && p.exhausted() {
                    dead = Some("startup");
                }
            } else {
                if let Some(p) = &mut r.readiness {
                    p.poll(&ctx.http);
                }
                if r.liveness
                    .as_mut()
                    .is_some_and(|p| p.poll(&ctx.http) && !p.passing)
                {
                    dead = Some("liveness");
                }
            }
            if let Some(which) = dead
                && r.kill_at.is_none()
            {
                eprintln!(
                    "kubelet stand-in: pod {}/{} container {} failed its {which} probe; killing it",
                    self.ns, self.name, r.spec.name
                );
                r.signal(Signal::Term);
                r.kill_at = Some(Instant::now() + grace);
            }
        }
    }

    fn kill_overdue(&mut self) {
        let now = Instant::now();
        for r in &mut self.runs {
            let overdue =
                r.kill_at.is_some_and(|t| now >= t) || self.terminating.is_some_and(|t| now >= t);
            if overdue && r.child.is_some() {
                r.signal(Signal::Kill);
            }
        }
    }

    /// Sends SIGTERM to every process (once) and plans SIGKILL after `grace`.
    fn terminate(&mut self, grace: Duration) {
        if self.terminating.is_none() {
            self.terminating = Some(Instant::now() + grace);
            for r in &mut self.runs {
                r.next_start = None;
                r.signal(Signal::Term);
            }
        }
        self.kill_overdue();
    }

    fn all_stopped(&self) -> bool {
        self.runs.iter().all(|r| r.child.is_none())
    }

    /// The pod is being deleted: stop its processes within its grace period, report their end,
    /// then remove the pod object (grace 0, only this very pod by uid).
    async fn delete(&mut self, ctx: &Ctx, pod: &Pod) -> Outcome {
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or_else(|| grace_period(pod));
        self.terminate(grace);
        if !self.all_stopped() {
            return Outcome::Quiet;
        }
        let final_status = self.status(pod);
        if self.reported.as_ref() != Some(&final_status) {
            return Outcome::Report(final_status);
        }
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &self.ns);
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(&self.name, &dp).await {
            Ok(_) => Outcome::Gone,
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Outcome::Gone,
            Err(e) => {
                eprintln!(
                    "kubelet stand-in: deleting pod {}/{}: {e}",
                    self.ns, self.name
                );
                Outcome::Quiet
            }
        }
    }

    fn status(&mut self, pod: &Pod) -> Value {
        let views: Vec<ContainerView> = self.runs.iter().map(Run::view).collect();
        let policy = Self::policy(pod);
        let report = PodReport {
            containers: &views,
            restart_policy: &policy,
            terminating: self.terminating.is_some(),
            pod_ip: self.sandbox.as_ref().map(|s| s.ip.to_string()),
            host_ip: "127.0.0.1",
            start_time: self.start_time,
        };
        let mut st = status::pod_status(&report, &mut self.conditions, Timestamp::now());
        st["message"] = self.setup_error.clone().map_or(Value::Null, Value::String);
        st
    }

    /// Kills every process now (the stand-in is shutting down).
    pub fn kill_all(&mut self) {
        for r in &mut self.runs {
            r.signal(Signal::Kill);
            r.child = None;
        }
    }
}

fn grace_period(pod: &Pod) -> Duration {
    let s = pod
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    Duration::from_secs(s.max(0) as u64)
}

fn probe(
    c: &Container,
    p: Option<&k8s_openapi::api::core::v1::Probe>,
    ip: std::net::Ipv4Addr,
    initially: bool,
) -> Option<Prober> {
    let p = p?;
    match Prober::new(p, c, ip, initially) {
        Ok(mut prober) => {
            prober.restart();
            Some(prober)
        }
        Err(e) => {
            eprintln!(
                "kubelet stand-in: container {}: {e}; the probe is ignored",
                c.name
            );
            None
        }
    }
}
