//! A kubelet stand-in: runs each recorder pod of a namespace as a local `vcs-recorder` process
//! on its own loopback address and reports it to the API server as a kubelet would.
//!
//! Every [`TICK`] it lists the pods carrying the pool label and reconciles:
//! - a new pod gets an address 127.0.0.N, its Secret volumes written to a local directory, and
//!   its container's arguments run with the `--listen` host replaced by that address and mount
//!   paths replaced by the local directories; the pod becomes `Running` with that `podIP`;
//! - the container's HTTP readiness probe is run at the pod's `periodSeconds`, and the pod's
//!   `Ready` condition follows it (a recorder is Ready only while idle);
//! - a process that exits makes the pod `Succeeded` (exit 0) or `Failed` (`restartPolicy:
//!   Never`);
//! - a pod that is deleted, or being deleted, has its process killed.
//!
//! The pods are never bound to a node: their node selector names a region no node has, so the
//! real scheduler leaves them Pending and only this stand-in writes their status.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{Container, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use vcs_operator::api::LABEL_POOL;

/// How often the pods are listed and the processes checked.
pub const TICK: Duration = Duration::from_millis(250);

/// Runs until dropped; dropping it kills every process it started.
pub struct LocalKubelet {
    task: JoinHandle<()>,
}

impl Drop for LocalKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalKubelet {
    /// Starts running the recorder pods of `namespace` with `recorder` (the `vcs-recorder`
    /// binary); each pod's files and log go under `dir/<pod>/`.
    pub fn start(client: Client, namespace: &str, recorder: PathBuf, dir: PathBuf) -> Self {
        let node = Node {
            pods: Api::namespaced(client.clone(), namespace),
            secrets: Api::namespaced(client, namespace),
            recorder,
            dir,
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
        };
        Self {
            task: tokio::spawn(node.run()),
        }
    }
}

struct Node {
    pods: Api<Pod>,
    secrets: Api<Secret>,
    recorder: PathBuf,
    dir: PathBuf,
    /// Runs the HTTP readiness probes.
    http: HttpClient<HttpConnector, Empty<Bytes>>,
}

/// One pod's process and what was last reported about it.
struct Running {
    name: String,
    child: Child,
    probe: Option<Probe>,
    ready: bool,
    next_probe: Instant,
    exited: bool,
}

/// An HTTP GET readiness probe.
struct Probe {
    addr: SocketAddr,
    path: String,
    period: Duration,
}

fn now() -> Time {
    Time(Timestamp::now())
}

fn ready_conditions(ready: bool) -> Value {
    let s = if ready { "True" } else { "False" };
    json!([
        {"type": "Ready", "status": s, "lastTransitionTime": now()},
        {"type": "ContainersReady", "status": s, "lastTransitionTime": now()},
    ])
}

/// 127.0.0.2, 127.0.0.3, … — skipping any where `port` is taken.
fn next_address(port: u16) -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(2);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < 255, "out of loopback addresses 127.0.0.2-254");
        let ip = Ipv4Addr::new(127, 0, 0, n as u8);
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return ip;
        }
    }
}

impl Probe {
    /// The status code of the probe's `GET`, or `None` when nothing answers in time.
    ///
    /// A kubelet's readiness probe, not a control-API call: any path the pod spec names, async
    /// inside the stand-in's tokio loop, with a kubelet's short timeout. So it is not
    /// `vcs_test_support::ControlClient` (blocking, long timeout for `POST /v1/job`).
    async fn status(&self, http: &HttpClient<HttpConnector, Empty<Bytes>>) -> Option<u16> {
        let uri = format!("http://{}{}", self.addr, self.path).parse().ok()?;
        let answer = tokio::time::timeout(Duration::from_secs(1), http.get(uri)).await;
        Some(answer.ok()?.ok()?.status().as_u16())
    }
}

impl Node {
    async fn run(self) {
        let mut running: BTreeMap<String, Running> = BTreeMap::new();
        loop {
            match self
                .pods
                .list(&ListParams::default().labels(LABEL_POOL))
                .await
            {
                Ok(list) => self.reconcile(&mut running, list.items).await,
                Err(e) => eprintln!("kubelet stand-in: listing pods: {e}"),
            }
            tokio::time::sleep(TICK).await;
        }
    }

    async fn reconcile(&self, running: &mut BTreeMap<String, Running>, pods: Vec<Pod>) {
        let live: BTreeMap<String, &Pod> = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| Some((p.uid()?, p)))
            .collect();
        running.retain(|uid, r| {
            let keep = live.contains_key(uid);
            if !keep {
                // As for a deleted pod: the container is killed.
                let _ = r.child.start_kill();
            }
            keep
        });
        for (uid, pod) in live {
            let finished = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|p| p == "Succeeded" || p == "Failed");
            match running.get_mut(&uid) {
                Some(r) => self.tick(r).await,
                None if !finished => match self.start(pod).await {
                    Ok(r) => {
                        running.insert(uid, r);
                    }
                    Err(msg) => {
                        eprintln!("kubelet stand-in: pod {}: {msg}", pod.name_any());
                        self.report(
                            &pod.name_any(),
                            json!({"phase": "Failed", "message": msg, "conditions": ready_conditions(false)}),
                        )
                        .await;
                    }
                },
                None => {}
            }
        }
    }

    async fn report(&self, pod: &str, status: Value) {
        let patch = Patch::Strategic(json!({ "status": status }));
        if let Err(e) = self
            .pods
            .patch_status(pod, &PatchParams::default(), &patch)
            .await
        {
            eprintln!("kubelet stand-in: reporting the status of pod {pod}: {e}");
        }
    }

    /// Writes the pod's Secret volumes under `dir` and returns each mount path's local path.
    async fn mount_secrets(
        &self,
        pod: &Pod,
        container: &Container,
        dir: &Path,
    ) -> Result<Vec<(String, PathBuf)>, String> {
        let mut mounts = Vec::new();
        let volumes = pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.clone())
            .unwrap_or_default();
        for m in container.volume_mounts.iter().flatten() {
            let Some(v) = volumes.iter().find(|v| v.name == m.name) else {
                return Err(format!("volumeMount {} has no volume", m.name));
            };
            let Some(src) = &v.secret else {
                return Err(format!(
                    "volume {}: only Secret volumes are supported",
                    v.name
                ));
            };
            let secret_name = src.secret_name.clone().unwrap_or_default();
            let secret = self
                .secrets
                .get(&secret_name)
                .await
                .map_err(|e| format!("volume {}: Secret {secret_name}: {e}", v.name))?;
            let mut data: BTreeMap<String, Vec<u8>> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            for (k, v) in secret.string_data.unwrap_or_default() {
                data.insert(k, v.into_bytes());
            }
            let local = dir.join("volumes").join(&v.name);
            std::fs::create_dir_all(&local).map_err(|e| format!("{}: {e}", local.display()))?;
            let files: Vec<(String, String)> = match &src.items {
                Some(items) => items
                    .iter()
                    .map(|i| (i.key.clone(), i.path.clone()))
                    .collect(),
                None => data.keys().map(|k| (k.clone(), k.clone())).collect(),
            };
            for (key, path) in files {
                let bytes = data.get(&key).ok_or_else(|| {
                    format!("volume {}: Secret {secret_name} has no key {key}", v.name)
                })?;
                std::fs::write(local.join(&path), bytes)
                    .map_err(|e| format!("{}: {e}", local.join(&path).display()))?;
            }
            mounts.push((m.mount_path.clone(), local));
        }
        Ok(mounts)
    }

    async fn start(&self, pod: &Pod) -> Result<Running, String> {
        let name = pod.name_any();
        let container = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .ok_or("the pod has no container")?;
        let mut args = container.args.clone().unwrap_or_default();
        let listen = args
            .iter()
            .position(|a| a == "--listen")
            .and_then(|i| args.get(i + 1))
            .ok_or("the container has no --listen argument")?;
        let port = listen
            .parse::<SocketAddr>()
            .map_err(|e| format!("--listen {listen}: {e}"))?
            .port();
        let ip = next_address(port);
        let dir = self.dir.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mounts = self.mount_secrets(pod, container, &dir).await?;
        let mut after_listen = false;
        for a in &mut args {
            if after_listen {
                *a = format!("{ip}:{port}");
            } else if let Some((mount, local)) =
                mounts.iter().find(|(m, _)| a.starts_with(m.as_str()))
            {
                *a = format!("{}{}", local.display(), &a[mount.len()..]);
            }
            after_listen = *a == "--listen";
        }
        args.push("--spool-dir".into());
        args.push(dir.join("spool").display().to_string());
        let log = dir.join("recorder.log");
        let child = Command::new(&self.recorder)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.recorder.display()))?;
        let probe = container
            .readiness_probe
            .as_ref()
            .and_then(|p| Some((p.http_get.as_ref()?, p.period_seconds)))
            .map(|(get, period)| Probe {
                addr: SocketAddr::from((ip, port)),
                path: get.path.clone().unwrap_or_else(|| "/".into()),
                period: Duration::from_secs(period.unwrap_or(10).max(1) as u64),
            });
        let ip = ip.to_string();
        self.report(
            &name,
            json!({
                "phase": "Running",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "hostIP": "127.0.0.1",
                "hostIPs": [{"ip": "127.0.0.1"}],
                "startTime": now(),
                // Without a readiness probe a running container is Ready at once.
                "conditions": ready_conditions(probe.is_none()),
            }),
        )
        .await;
        eprintln!(
            "kubelet stand-in: pod {name} runs at {ip}:{port} (log {})",
            log.display()
        );
        Ok(Running {
            name,
            child,
            ready: probe.is_none(),
            probe,
            next_probe: Instant::now(),
            exited: false,
        })
    }

    async fn tick(&self, r: &mut Running) {
        if r.exited {
            return;
        }
        if let Ok(Some(status)) = r.child.try_wait() {
            r.exited = true;
            let phase = if status.success() {
                "Succeeded"
            } else {
                "Failed"
            };
            self.report(
                &r.name,
                json!({"phase": phase, "conditions": ready_conditions(false)}),
            )
            .await;
            return;
        }
        let Some(probe) = &r.probe else {
            return;
        };
        if Instant::now() < r.next_probe {
            return;
        }
        r.next_probe = Instant::now() + probe.period;
        let ready = probe.status(&self.http).await == Some(200);
        if ready != r.ready {
            r.ready = ready;
            self.report(&r.name, json!({ "conditions": ready_conditions(ready) }))
                .await;
        }
    }
}
