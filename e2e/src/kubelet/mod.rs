//! A kubelet stand-in: a real Node on the real API server whose pods run as local processes.
//!
//! [`LocalKubelet::start`] registers a Node (labels, capacity, Ready) and keeps it alive through
//! its Lease, so the real kube-scheduler binds pods to it when their node selector matches and
//! the real node-lifecycle controller sees a healthy node. It watches the pods bound to it (as
//! a kubelet does, `spec.nodeName=<node>`) and for each:
//! - makes a sandbox: a loopback address of its own (its pod IP), a directory, and its volumes
//!   filled from Secrets, ConfigMaps, the downward API and a bound ServiceAccount token;
//! - runs each container's image as the workspace binary of that name (see
//!   [`container`] for how the container's paths and addresses map onto the host);
//! - reports its status as a kubelet does: phase, conditions, `containerStatuses` with state,
//!   `lastState` and `restartCount`, `started` from the startup probe and readiness from the
//!   readiness probe; restarts exited containers per `restartPolicy` with back-off, and kills
//!   those failing liveness probes or not started within their startup probe's attempts;
//! - on deletion sends SIGTERM, SIGKILL after the grace period, reports the end and deletes the
//!   pod object with grace 0; a pod force-deleted from the API is stopped within
//!   [`pod::FORCED_GRACE`].
//!
//! Tests reach the processes through [`LocalKubelet::pids`] and [`LocalKubelet::signal`] (kill a
//! recorder with SIGKILL, stop an operator replica). Dropping the stand-in kills every process,
//! removes the pods still bound to its Node (nothing else would: their kubelet is gone) and the
//! Node itself, unless `VCS_E2E_KEEP` is set.
//!
//! Differences from a kubelet, on purpose: processes run as the current user with the host's
//! filesystem and environment (so securityContext, resources and image pull policy are accepted
//! but not enforced); the restart back-off starts at [`KubeletConfig::restart_backoff`] (1 s by
//! default, not 10 s) so tests need not wait; no init containers and no exec probes.

pub mod addr;
pub mod container;
pub mod node;
pub mod pod;
pub mod probe;
pub mod status;
pub mod volumes;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::task::JoinHandle;

pub use container::Images;
pub use node::NodeSpec;
use pod::{Ctx, Outcome, PidTable, PodWorker};

/// How often the pods' processes, probes and deadlines are looked at.
pub const TICK: Duration = Duration::from_millis(100);

/// A signal for a pod's processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
}

impl Signal {
    /// Sends the signal to process `pid`; false if there is no such process.
    pub fn send(self, pid: u32) -> bool {
        let sig = match self {
            Signal::Term => rustix::process::Signal::TERM,
            Signal::Kill => rustix::process::Signal::KILL,
        };
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        rustix::process::kill_process(pid, sig).is_ok()
    }
}

/// What a stand-in runs.
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub node: NodeSpec,
    pub images: Images,
    /// Pods' directories (volumes, temporary files, container logs) go under `dir/<ns>/<pod>/`.
    pub dir: PathBuf,
    /// The API server URL given to processes that have a ServiceAccount token.
    pub api_server: Option<String>,
    pub restart_backoff: Duration,
}

/// A running stand-in; dropping it stops everything (see the module doc).
pub struct LocalKubelet {
    node: String,
    dir: PathBuf,
    pids: PidTable,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for LocalKubelet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // At once: the aborted tasks drop their processes only when their runtime polls them.
        for pids in self
            .pids
            .lock()
            .expect("the pid table is never poisoned")
            .values()
        {
            for (_, pid) in pids {
                Signal::Kill.send(*pid);
            }
        }
        if std::env::var_os("VCS_E2E_KEEP").is_some() {
            eprintln!("keeping Node {} and its pods (VCS_E2E_KEEP)", self.node);
            return;
        }
        // Drop may run inside the test's runtime, which must not be blocked on: a thread with
        // its own runtime and client removes the pods and the Node.
        let node = self.node.clone();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            rt.block_on(async move {
                let client = crate::cluster::client().await;
                let pods: Api<Pod> = Api::all(client.clone());
                let bound = ListParams::default().fields(&format!("spec.nodeName={node}"));
                for p in pods.list(&bound).await.map(|l| l.items).unwrap_or_default() {
                    let ns = p.namespace().unwrap_or_default();
                    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                    let _ = api
                        .delete(&p.name_any(), &DeleteParams::default().grace_period(0))
                        .await;
                }
                node::unregister(&client, &node).await;
            });
        });
        let _ = cleanup.join();
    }
}

impl LocalKubelet {
    /// Registers the Node, starts running its pods, and returns once the scheduler may place
    /// pods on it.
    pub async fn start(client: Client, config: KubeletConfig) -> Result<Self, String> {
        let node = node::register(&client, &config.node)
            .await
            .map_err(|e| format!("registering Node {}: {e}", config.node.name))?;
        let name = node.name_any();
        let pods: Api<Pod> = Api::all(client.clone());
        let (reader, writer) = reflector::store();
        let watch = watcher(
            pods,
            watcher::Config::default().fields(&format!("spec.nodeName={name}")),
        );
        let reflect = tokio::spawn(async move {
            reflector::reflector(writer, watch)
                .default_backoff()
                .applied_objects()
                .for_each(|_| futures::future::ready(()))
                .await;
        });
        let heartbeat = tokio::spawn(heartbeat(client.clone(), node));
        let pids = Arc::new(Mutex::new(BTreeMap::new()));
        let ctx = Ctx {
            client: client.clone(),
            images: config.images,
            http: probe::http_client(),
            api_server: config.api_server,
            restart_backoff: config.restart_backoff,
            dir: config.dir.clone(),
            pids: pids.clone(),
        };
        let run = tokio::spawn(run(ctx, reader));
        let kubelet = Self {
            node: name.clone(),
            dir: config.dir,
            pids,
            tasks: vec![reflect, heartbeat, run],
        };
        node::wait_schedulable(&client, &name, Duration::from_secs(90)).await?;
        Ok(kubelet)
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The processes of pod `ns/name` now, by container name.
    pub fn pids(&self, ns: &str, name: &str) -> Vec<(String, u32)> {
        let all = self.pids.lock().expect("the pid table is never poisoned");
        all.get(&(ns.to_string(), name.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// Sends `sig` to every process of pod `ns/name`; returns how many got it.
    pub fn signal(&self, ns: &str, name: &str, sig: Signal) -> usize {
        self.pids(ns, name)
            .into_iter()
            .filter(|(_, pid)| sig.send(*pid))
            .count()
    }

    /// The log file of container `container` of pod `ns/name`.
    pub fn log_path(&self, ns: &str, name: &str, container: &str) -> PathBuf {
        self.dir
            .join(ns)
            .join(name)
            .join(format!("{container}.log"))
    }

    /// The logs of every container of every pod of `ns` whose name starts with `prefix`.
    pub fn logs(&self, ns: &str, prefix: &str) -> String {
        let mut out = String::new();
        let Ok(pods) = std::fs::read_dir(self.dir.join(ns)) else {
            return out;
        };
        let mut pods: Vec<PathBuf> = pods.flatten().map(|e| e.path()).collect();
        pods.sort();
        for pod in pods {
            let name = pod
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !name.starts_with(prefix) {
                continue;
            }
            for log in std::fs::read_dir(&pod).into_iter().flatten().flatten() {
                if log.path().extension().is_some_and(|e| e == "log") {
                    let text = std::fs::read_to_string(log.path()).unwrap_or_default();
                    out.push_str(&format!(
                        "==> {name}/{} <==\n{text}\n",
                        log.file_name().to_string_lossy()
                    ));
                }
            }
        }
        out
    }
}

/// Renews the Lease every [`node::RENEW_EVERY`] and refreshes the Node's conditions every
/// minute.
async fn heartbeat(client: Client, node: k8s_openapi::api::core::v1::Node) {
    let mut beats = 0u32;
    loop {
        tokio::time::sleep(node::RENEW_EVERY).await;
        if let Err(e) = node::renew_lease(&client, &node).await {
            eprintln!(
                "kubelet stand-in: renewing the Lease of Node {}: {e}",
                node.name_any()
            );
        }
        beats += 1;
        if beats.is_multiple_of(6)
            && let Err(e) = node::report_ready(&client, &node.name_any()).await
        {
            eprintln!(
                "kubelet stand-in: reporting Node {} Ready: {e}",
                node.name_any()
            );
        }
    }
}

/// The pods' workers, stepped every [`TICK`] against the watched pods.
async fn run(ctx: Ctx, pods: Store<Pod>) {
    if pods.wait_until_ready().await.is_err() {
        return;
    }
    let mut workers: BTreeMap<String, PodWorker> = BTreeMap::new();
    loop {
        let seen: BTreeMap<String, Arc<Pod>> = pods
            .state()
            .into_iter()
            .filter_map(|p| Some((p.uid()?, p)))
            .collect();
        for (uid, p) in &seen {
            let finished = p
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|ph| ph == "Succeeded" || ph == "Failed");
            // A pod that ended before this stand-in knew it has nothing left to run.
            if !workers.contains_key(uid) && (!finished || p.metadata.deletion_timestamp.is_some())
            {
                workers.insert(uid.clone(), PodWorker::new(p, &ctx));
            }
        }
        let steps = workers.iter_mut().map(|(uid, w)| {
            let pod = seen.get(uid).cloned();
            let ctx = &ctx;
            async move {
                let outcome = w.step(ctx, pod.as_deref()).await;
                if let Outcome::Report(status) = &outcome
                    && w.reported.as_ref() != Some(status)
                {
                    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &w.ns);
                    // A JSON merge patch replaces the lists (conditions, containerStatuses)
                    // whole; a strategic one would merge each entry with what was there.
                    let patch = Patch::Merge(json!({ "status": status }));
                    match api
                        .patch_status(&w.name, &PatchParams::default(), &patch)
                        .await
                    {
                        Ok(_) => w.reported = Some(status.clone()),
                        Err(kube::Error::Api(s)) if s.code == 404 => {}
                        Err(e) => {
                            eprintln!("kubelet stand-in: status of pod {}/{}: {e}", w.ns, w.name)
                        }
                    }
                }
                (uid.clone(), matches!(outcome, Outcome::Gone))
            }
        });
        let gone: Vec<String> = futures::future::join_all(steps)
            .await
            .into_iter()
            .filter_map(|(uid, gone)| gone.then_some(uid))
            .collect();
        for uid in gone {
            if let Some(mut w) = workers.remove(&uid) {
                w.kill_all();
                ctx.pids
                    .lock()
                    .expect("the pid table is never poisoned")
                    .remove(&(w.ns.clone(), w.name.clone()));
            }
        }
        tokio::time::sleep(TICK).await;
    }
}
