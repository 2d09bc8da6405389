//! A fake kubelet: pods become Running and Ready after a delay, each with its own podIP, and
//! (with [`Containers`]) run something for as long as the pod lives, as a real node would:
//!
//! ```text
//! pod created ──ready_after──▶ Containers::start ──▶ Running, Ready, podIP
//!                                     │
//!          exits with 0 / non-zero ◀──┤──▶ pod deleted: terminate (SIGTERM), then forgotten
//!                 │
//!     phase Succeeded / Failed (restartPolicy Never)
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::FakeApi;
use crate::store::{Key, now};

/// The pod a container runs for.
#[derive(Clone, Debug)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    /// The pod's IP (`10.x.y.z`, never reused).
    pub ip: String,
}

/// A container's exit code, once it has exited.
pub type Exit = Pin<Box<dyn Future<Output = i32> + Send>>;

/// What runs in the pods. `start` is called when a pod is about to be reported Running, so
/// whatever the pod serves is reachable by the time anyone sees it Ready.
pub trait Containers: Send + Sync + 'static {
    /// Starts the pod's containers. `terminate` resolves when the pod is deleted (the kubelet's
    /// SIGTERM); the returned future resolves with the exit code when they have exited.
    fn start(&self, pod: &PodRef, terminate: oneshot::Receiver<()>) -> Exit;
}

/// Runs until dropped.
pub struct FakeKubelet {
    task: JoinHandle<()>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Pods whose containers run, by key, with the sender that terminates them.
type Running = Arc<Mutex<BTreeMap<Key, oneshot::Sender<()>>>>;

impl FakeKubelet {
    /// Starts pods created from now on: `ready_after` later each is Running, Ready and has a
    /// fresh IP (`10.0.x.y`, never reused). Nothing runs in them.
    pub fn start(api: &FakeApi, ready_after: Duration) -> Self {
        Self::spawn(api, ready_after, None)
    }

    /// As [`start`](Self::start), and each pod runs `containers`; their exit ends the pod.
    pub fn with_containers(
        api: &FakeApi,
        ready_after: Duration,
        containers: Arc<dyn Containers>,
    ) -> Self {
        Self::spawn(api, ready_after, Some(containers))
    }

    fn spawn(
        api: &FakeApi,
        ready_after: Duration,
        containers: Option<Arc<dyn Containers>>,
    ) -> Self {
        let api = api.clone();
        let mut rx = api.subscribe();
        let next_ip = Arc::new(AtomicU32::new(1));
        let running: Running = Arc::default();
        let task = tokio::spawn(async move {
            while let Ok(change) = rx.recv().await {
                if change.key.resource != "pods" {
                    continue;
                }
                let going =
                    change.deleted || change.new.pointer("/metadata/deletionTimestamp").is_some();
                if going {
                    let stop = running
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&change.key);
                    if let Some(stop) = stop {
                        let _ = stop.send(());
                    }
                    continue;
                }
                if change.old.is_some() {
                    continue;
                }
                let n = next_ip.fetch_add(1, Ordering::Relaxed);
                let node = Node {
                    api: api.clone(),
                    key: change.key.clone(),
                    ip: format!("10.{}.{}.{}", n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff),
                    containers: containers.clone(),
                    running: running.clone(),
                };
                tokio::spawn(node.run_pod(ready_after));
            }
        });
        Self { task }
    }
}

/// One pod on this node.
struct Node {
    api: FakeApi,
    key: Key,
    ip: String,
    containers: Option<Arc<dyn Containers>>,
    running: Running,
}

impl Node {
    async fn run_pod(self, ready_after: Duration) {
        tokio::time::sleep(ready_after).await;
        // Deleted while starting: nothing to run.
        if self.api.object(&self.key).is_none() {
            return;
        }
        let exit = self.containers.as_ref().map(|c| {
            let (stop, terminate) = oneshot::channel();
            self.running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(self.key.clone(), stop);
            let pod = PodRef {
                namespace: self.key.namespace.clone(),
                name: self.key.name.clone(),
                ip: self.ip.clone(),
            };
            c.start(&pod, terminate)
        });
        let started = now();
        let reported = self.api.modify(&self.key, true, |pod| {
            pod["status"] = json!({
                "phase": "Running",
                "podIP": self.ip,
                "startTime": started,
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": started}],
            });
        });
        let Some(exit) = exit else { return };
        if reported.is_err() {
            // Gone in between: the containers go too.
            let stop = self
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&self.key);
            if let Some(stop) = stop {
                let _ = stop.send(());
            }
        }
        let code = exit.await;
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
        let phase = if code == 0 { "Succeeded" } else { "Failed" };
        // Gone already (deleted while running): nothing to report.
        let _ = self.api.modify(&self.key, true, |pod| {
            pod["status"]["phase"] = json!(phase);
            pod["status"]["conditions"] =
                json!([{"type": "Ready", "status": "False", "lastTransitionTime": now()}]);
        });
    }
}
