//! Everything one e2e test needs, started together: a namespace, a real S3 server with the
//! app's credentials Secret, a Node of the test's own region run by the kubelet stand-in, and
//! the operator installed with `helm install` of `charts/vcs` (its ServiceAccount, RBAC,
//! ConfigMap, RecorderPools and the Deployment, whose pods the stand-in runs as the
//! ServiceAccount). `None` (after the skip line) without a cluster.
//!
//! Each world has a region of its own (a Node labelled with it, pools and operator of it), so
//! worlds run side by side on one cluster without seeing each other's pods, and nothing is
//! assumed about the cluster beyond what the world creates.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use vcs_operator::api::{Condition, ConditionStatus, LABEL_POOL, RecorderPool, Recording};
use vcs_test_support::S3Server;

use crate::bins;
use crate::cluster::{self, TestNamespace};
use crate::kubelet::{Images, KubeletConfig, LocalKubelet, NodeSpec, Signal};
use crate::objects::{self, S3_SECRET, S3Target};
use crate::tools;

/// The bucket the outputs go to.
pub const BUCKET: &str = "recordings";
/// The Helm release of every world (one per namespace).
pub const RELEASE: &str = "vcs";
/// Label of the operator's pods (the chart's selector).
pub const OPERATOR_SELECTOR: &str = "app.kubernetes.io/name=vcs-operator";

/// A RecorderPool as the chart's `pools` value takes it.
#[derive(Clone, Debug)]
pub struct PoolValues {
    pub name: String,
    pub buffer: i32,
    pub min: i32,
    pub max: i32,
    pub stabilisation_secs: u32,
}

impl PoolValues {
    /// A pool keeping `buffer` idle pods, 0..=10 of them, scaling down without delay.
    pub fn new(name: &str, buffer: i32) -> Self {
        Self {
            name: name.into(),
            buffer,
            min: 0,
            max: 10,
            stabilisation_secs: 0,
        }
    }

    fn to_values(&self) -> Value {
        json!({
            "name": self.name,
            "bufferSize": self.buffer,
            "minReplicas": self.min,
            "maxReplicas": self.max,
            "scaleDownStabilisationSecs": self.stabilisation_secs,
            // Small requests: the scheduler really places them, on a Node with room for many.
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
        })
    }
}

/// How a world is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Operator replicas (behind the Lease).
    pub replicas: u32,
    pub lease_seconds: u32,
    pub pools: Vec<PoolValues>,
    /// Labels of the test's namespace besides the e2e one.
    pub namespace_labels: BTreeMap<String, String>,
    /// Pods the Node has room for.
    pub node_pods: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            replicas: 1,
            lease_seconds: 15,
            pools: vec![PoolValues::new("local", 1)],
            namespace_labels: BTreeMap::new(),
            node_pods: 110,
        }
    }
}

/// A world's files (pods' volumes and logs, S3 objects): removed when the test passed, kept
/// for a look when it failed or `VCS_E2E_KEEP` is set.
pub struct ScratchDir(pub PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("VCS_E2E_KEEP").is_some() {
            eprintln!("e2e files kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Fields drop in order: the stand-in stops every process and removes its pods and Node, then
/// the namespace goes, then the S3 server, then the files.
pub struct World {
    kubelet: LocalKubelet,
    pub namespace: TestNamespace,
    pub s3: S3Server,
    pub client: Client,
    /// The region this world records in: its Node's, its pools' and its operator's.
    pub region: String,
    /// A second region of the placement table, which no operator of this world records.
    pub other_region: String,
    pub dir: PathBuf,
    _scratch: ScratchDir,
}

impl World {
    /// A world with one operator and a pool `local` keeping one idle pod.
    pub async fn start(name: &str) -> Option<World> {
        Self::start_with(name, Options::default()).await
    }

    /// Starts a world for the test `name` (lowercase, dashes), or returns `None` after printing
    /// the skip message when `KUBECONFIG` is not set.
    pub async fn start_with(name: &str, options: Options) -> Option<World> {
        let client = cluster::connect(name).await?;
        cluster::apply_crds(&client).await;
        let namespace =
            TestNamespace::create_with_labels(&client, name, &options.namespace_labels).await;
        let ns = namespace.name.clone();
        let dir = std::env::temp_dir().join("vcs-e2e").join(&ns);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let region: String = ns.trim_start_matches("vcs-e2e-").chars().take(50).collect();
        let other_region = format!("{region}-other");

        let s3 = S3Server::start(&dir.join("s3"));
        s3.create_bucket(BUCKET);
        let creds = objects::secret(
            S3_SECRET,
            &[
                ("accessKeyId", s3.access_key.as_str()),
                ("secretAccessKey", s3.secret_key.as_str()),
            ],
        );
        Api::<Secret>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &creds)
            .await
            .unwrap_or_else(|e| panic!("creating Secret {S3_SECRET}: {e}"));

        let config = cluster::config().await;
        let images = Images::default()
            .with("vcs-operator", bins::operator(), &[])
            // The recorder's spool default, as the image's ENV: under the pod's private /tmp;
            // and its log at info, for the failure messages.
            .with(
                "vcs-recorder",
                bins::recorder(),
                &[("VCS_SPOOL_DIR", "/tmp/vcs-spool"), ("RUST_LOG", "info")],
            );
        let kubelet = LocalKubelet::start(
            client.clone(),
            KubeletConfig {
                node: NodeSpec::new(&ns, &region, options.node_pods),
                images,
                dir: dir.join("pods"),
                api_server: Some(config.cluster_url.to_string()),
                restart_backoff: Duration::from_secs(1),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("the kubelet stand-in did not start: {e}"));
        eprintln!("e2e files (pods and their logs, S3): {}", dir.display());
        let world = World {
            kubelet,
            namespace,
            s3,
            client,
            region,
            other_region,
            _scratch: ScratchDir(dir.clone()),
            dir,
        };
        world.install_operator(&options).await;
        Some(world)
    }

    /// `helm install` of `charts/vcs` for this world's region, watching only its namespace,
    /// with the operator's pods on its Node; waits until the operator is available.
    async fn install_operator(&self, options: &Options) {
        let ns = &self.namespace.name;
        let token = format!(
            "e2e-{}-{}",
            std::process::id(),
            Timestamp::now().as_millisecond()
        );
        let values = json!({
            "region": self.region,
            "replicas": options.replicas,
            "watchNamespace": ns,
            "leaseSeconds": options.lease_seconds,
            // The operator's own debug lines (conflicting status writes, watch errors) are
            // what a failed flow needs; kube's are too many.
            "logLevel": "info,vcs_operator=debug",
            "nodeSelector": {"topology.kubernetes.io/region": self.region},
            "placement": {
                "defaultRegion": self.region,
                "regions": [
                    {"name": self.region, "lat": 0.0, "lon": 0.0},
                    {"name": self.other_region, "lat": 40.0, "lon": -70.0},
                ],
                "places": [],
                "hostRules": [],
            },
            "recorder": {"tokenSecret": {"name": "vcs-recorder-token", "key": "token", "value": token}},
            "pools": options.pools.iter().map(PoolValues::to_values).collect::<Vec<_>>(),
        });
        let path = self.dir.join("values.yaml");
        std::fs::write(
            &path,
            serde_yaml_ng::to_string(&values).expect("values serialise"),
        )
        .expect("writing the chart values");
        let chart = bins::workspace_root().join("charts/vcs");
        let (chart, path) = (chart.display().to_string(), path.display().to_string());
        let out = tools::run(
            bins::helm(),
            [
                "install",
                RELEASE,
                &chart,
                "-n",
                ns,
                "-f",
                &path,
                "--wait",
                "--timeout",
                "180s",
            ]
            .map(String::from)
            .to_vec(),
        )
        .await;
        assert!(
            out.status.success(),
            "helm install failed: {}{}\noperator log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.operator_log()
        );
    }

    pub fn kubelet(&self) -> &LocalKubelet {
        &self.kubelet
    }

    pub fn recordings(&self) -> Api<Recording> {
        Api::namespaced(self.client.clone(), &self.namespace.name)
    }

    pub fn pools(&self) -> Api<RecorderPool> {
        Api::namespaced(self.client.clone(), &self.namespace.name)
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace.name)
    }

    pub fn s3_target(&self) -> S3Target {
        S3Target {
            endpoint: self.s3.endpoint(),
            bucket: BUCKET.into(),
        }
    }

    /// The logs of the operator's pods, every replica and restart.
    pub fn operator_log(&self) -> String {
        self.kubelet.logs(&self.namespace.name, "vcs-operator-")
    }

    /// One line per pod of the namespace (phase, deletion, containers' states), for failure
    /// messages.
    async fn pods_summary(&self) -> String {
        let pods = match self.pods().list(&ListParams::default()).await {
            Ok(list) => list.items,
            Err(e) => return format!("(listing pods: {e})"),
        };
        let line = |p: &Pod| {
            let st = p.status.clone().unwrap_or_default();
            let containers: Vec<String> = st
                .container_statuses
                .iter()
                .flatten()
                .map(|c| format!("{}: {:?}", c.name, c.state))
                .collect();
            format!(
                "  {} phase {:?} deleting {:?} annotations {:?} {}",
                p.name_any(),
                st.phase,
                p.metadata.deletion_timestamp,
                p.metadata.annotations,
                containers.join("; ")
            )
        };
        pods.iter().map(line).collect::<Vec<_>>().join("\n")
    }

    /// The end of the operator's logs, for failure messages.
    fn operator_log_tail(&self) -> String {
        let log = self.operator_log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(80)..].join("\n")
    }

    /// `kubectl -n <namespace> args`; panics with its output unless it succeeds.
    pub async fn kubectl(&self, args: &[&str]) -> String {
        tools::kubectl(&self.namespace.name, args).await
    }

    /// The pods of pool `pool`.
    pub async fn pool_pods(&self, pool: &str) -> Vec<Pod> {
        let lp = ListParams::default().labels(&format!("{LABEL_POOL}={pool}"));
        self.pods().list(&lp).await.expect("listing pods").items
    }

    /// The operator's pods.
    pub async fn operator_pods(&self) -> Vec<Pod> {
        let lp = ListParams::default().labels(OPERATOR_SELECTOR);
        self.pods().list(&lp).await.expect("listing pods").items
    }

    /// Sends `sig` to the processes of pod `name`; panics if it has none.
    pub fn signal_pod(&self, name: &str, sig: Signal) {
        let n = self.kubelet.signal(&self.namespace.name, name, sig);
        assert!(n > 0, "pod {name} has no process to signal");
    }

    /// Posts `events` (a JSON list of control-API events: chat, transcript, emoji, active
    /// speaker) to the recorder on pod `name`, at its address and port, with the recorder token
    /// the chart installed, as an app talking to its recorder does.
    pub async fn post_recorder_events(&self, name: &str, events: &Value) {
        use http_body_util::{BodyExt, Full};
        use hyper_util::client::legacy::Client as HttpClient;
        use hyper_util::rt::TokioExecutor;

        let pod = self.pods().get(name).await.expect("the recorder's pod");
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
        let ip = ip.unwrap_or_else(|| panic!("pod {name} has no address"));
        let port = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first()?.ports.as_ref()?.first())
            .map(|p| p.container_port)
            .unwrap_or_else(|| panic!("pod {name} declares no port"));
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace.name);
        let secret = secrets
            .get("vcs-recorder-token")
            .await
            .expect("the recorder token Secret");
        let token = secret
            .data
            .and_then(|mut d| d.remove("token"))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .expect("the Secret holds `token`");
        let request = http::Request::post(format!("http://{ip}:{port}/v1/job/events"))
            .header("authorization", format!("Bearer {}", token.trim()))
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::from(events.to_string())))
            .expect("a request");
        let client = HttpClient::builder(TokioExecutor::new()).build_http();
        let answer = client
            .request(request)
            .await
            .unwrap_or_else(|e| panic!("posting events to pod {name}: {e}"));
        let status = answer.status();
        let body = answer.into_body().collect().await.expect("the answer");
        assert!(
            status.is_success(),
            "pod {name} answered {status} to the events: {}",
            String::from_utf8_lossy(&body.to_bytes())
        );
    }

    /// Deletes pod `name` at once (`kubectl delete --grace-period=0 --force`).
    pub async fn force_delete_pod(&self, name: &str) {
        let dp = DeleteParams::default().grace_period(0);
        self.pods()
            .delete(name, &dp)
            .await
            .unwrap_or_else(|e| panic!("force-deleting pod {name}: {e}"));
    }

    /// Creates Recording `rec` in this world, as `kubectl apply` would.
    pub async fn create_recording(&self, rec: &Recording) {
        self.recordings()
            .create(&PostParams::default(), rec)
            .await
            .expect("the Recording is accepted by the API server");
    }

    /// Merge-patches the spec of Recording `name` (as `kubectl patch --type=merge` would).
    pub async fn patch_spec(&self, name: &str, spec: Value) {
        let patch = Patch::Merge(json!({ "spec": spec }));
        self.recordings()
            .patch(name, &PatchParams::default(), &patch)
            .await
            .unwrap_or_else(|e| panic!("patching the spec of Recording {name}: {e}"));
    }

    /// The Events whose subject is Recording `name`, oldest first.
    pub async fn events_of(&self, name: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace.name);
        let lp = ListParams::default().fields(&format!(
            "involvedObject.kind=Recording,involvedObject.name={name}"
        ));
        let mut events = api.list(&lp).await.expect("listing events").items;
        events.sort_by_key(|e| e.metadata.creation_timestamp.clone().map(|t| t.0));
        events
    }

    /// Waits until pool `name` reports `n` idle Ready pods.
    pub async fn wait_for_idle_pods(&self, name: &str, n: i32, timeout: Duration) {
        self.wait_for_pool(name, timeout, &format!("{n} idle Ready pods"), |st| {
            st.ready >= n
        })
        .await;
    }

    /// Polls the status of pool `name` until `done` holds.
    pub async fn wait_for_pool(
        &self,
        name: &str,
        timeout: Duration,
        what: &str,
        done: impl Fn(&vcs_operator::api::RecorderPoolStatus) -> bool,
    ) -> vcs_operator::api::RecorderPoolStatus {
        let read = async || {
            let pool = self.pools().get(name).await.expect("reading the pool");
            pool.status.unwrap_or_default()
        };
        let every = Duration::from_millis(250);
        self.poll(timeout, every, read, done, |_| {
            format!("pool {name}: not {what}")
        })
        .await
    }

    /// Polls Recording `name` until `done` holds, and returns it; panics after `timeout` with
    /// its status and the operator's log.
    pub async fn wait_for_recording(
        &self,
        name: &str,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Recording) -> bool,
    ) -> Recording {
        let read = async || {
            let recs = self.recordings();
            let mut rec = recs.get(name).await.expect("reading the Recording");
            // Pages of field ownership say nothing about why a wait failed.
            rec.metadata.managed_fields = None;
            rec
        };
        let every = Duration::from_millis(50);
        self.poll(timeout, every, read, done, |_| {
            format!("Recording {name}: not {what}")
        })
        .await
    }

    /// Waits until the object `key` of [`BUCKET`] is in the S3 server (an object appears
    /// whole: a PUT, or a multipart upload completed) and returns its file; panics after
    /// `timeout` naming `what` it is.
    pub async fn wait_for_object(&self, key: &str, timeout: Duration, what: &str) -> PathBuf {
        let path = self.s3.object_path(BUCKET, key);
        self.poll(
            timeout,
            Duration::from_millis(100),
            async || path.is_file(),
            |done| *done,
            |_| format!("no {what} at {}", path.display()),
        )
        .await;
        path
    }

    /// Reads with `read` every `every` until `done` holds on what it read, and returns that;
    /// after `timeout`, panics with `failure`'s message, the last value and the operator's log.
    pub async fn poll<T: std::fmt::Debug>(
        &self,
        timeout: Duration,
        every: Duration,
        mut read: impl AsyncFnMut() -> T,
        done: impl Fn(&T) -> bool,
        failure: impl Fn(&T) -> String,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let value = read().await;
            if done(&value) {
                return value;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "{} after {timeout:?}: {value:#?}\npods:\n{}\noperator log (end):\n{}",
                    failure(&value),
                    self.pods_summary().await,
                    self.operator_log_tail()
                );
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// Condition `type_` of a Recording, if set.
pub fn condition<'a>(rec: &'a Recording, type_: &str) -> Option<&'a Condition> {
    rec.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// Condition `type_` is `True`.
pub fn is_true(rec: &Recording, type_: &str) -> bool {
    condition(rec, type_).is_some_and(|c| c.status == ConditionStatus::True)
}

/// The recorder's first frame of `rec` (its `status.startedAt`).
pub fn first_frame(rec: &Recording) -> Option<Timestamp> {
    Some(rec.status.as_ref()?.started_at.as_ref()?.0)
}

/// The pod recording `rec`, per its status.
pub fn recorder_pod(rec: &Recording) -> Option<String> {
    rec.status.as_ref()?.recorder_pod.clone()
}

/// Pods by name, for messages.
pub fn names(pods: &[Pod]) -> Vec<String> {
    pods.iter().map(|p| p.name_any()).collect()
}

/// Pod `p` is in this phase.
pub fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}
