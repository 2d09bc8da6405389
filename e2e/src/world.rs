//! Everything one e2e test needs, started together: the cluster namespace with the CRDs and
//! Secrets, an S3 server, the kubelet stand-in and the operator process. `None` (after the
//! skip line) without a cluster.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use vcs_operator::api::{Condition, ConditionStatus, RecorderPool, Recording};
use vcs_operator::placement::{Location, PlacementTable};
use vcs_test_support::{S3Server, free_port};

use crate::bins;
use crate::cluster::{self, TestNamespace};
use crate::kubelet::LocalKubelet;
use crate::objects::{self, S3_SECRET, S3Target, TOKEN_SECRET};
use crate::operator::OperatorProcess;

/// The region of every e2e pool: no real node carries it, so no real kubelet runs the pods.
pub const REGION: &str = "e2e-local";
/// The bucket the outputs go to.
pub const BUCKET: &str = "recordings";

/// Fields drop in order: the operator stops first, then the recorder processes, then the
/// namespace goes, then the S3 server.
pub struct World {
    pub operator: OperatorProcess,
    _kubelet: LocalKubelet,
    pub namespace: TestNamespace,
    pub s3: S3Server,
    pub client: Client,
    /// The control API port every recorder of this world listens on (each on its own address).
    pub port: u16,
    pub dir: PathBuf,
}

impl World {
    /// Starts a world for the test `name` (lowercase, dashes), or returns `None` after printing
    /// the skip message when `KUBECONFIG` is not set.
    pub async fn start(name: &str) -> Option<World> {
        let client = cluster::connect(name).await?;
        cluster::apply_crds(&client).await;
        let namespace = TestNamespace::create(&client, name).await;
        let dir = std::env::temp_dir().join(&namespace.name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");

        let s3 = S3Server::start(&dir.join("s3"));
        s3.create_bucket(BUCKET);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace.name);
        let token = format!("e2e-token-{}", std::process::id());
        for s in [
            objects::secret(TOKEN_SECRET.0, &[(TOKEN_SECRET.1, token.as_str())]),
            objects::secret(
                S3_SECRET,
                &[
                    ("accessKeyId", s3.access_key.as_str()),
                    ("secretAccessKey", s3.secret_key.as_str()),
                ],
            ),
        ] {
            secrets
                .create(&PostParams::default(), &s)
                .await
                .unwrap_or_else(|e| panic!("creating Secret {}: {e}", s.name_any()));
        }

        let placement = PlacementTable {
            regions: vec![Location::new(REGION, 0.0, 0.0)],
            default_region: Some(REGION.into()),
            ..Default::default()
        };
        let placement_path = dir.join("placement.yaml");
        std::fs::write(
            &placement_path,
            serde_yaml_ng::to_string(&placement).expect("the placement table serialises"),
        )
        .expect("writing the placement table");

        let kubelet = LocalKubelet::start(
            client.clone(),
            &namespace.name,
            bins::recorder(),
            dir.join("pods"),
        );
        let operator = OperatorProcess::start(
            &bins::operator(),
            &namespace.name,
            REGION,
            &placement_path,
            dir.join("operator.log"),
        );
        eprintln!("e2e files (logs, pods, S3): {}", dir.display());
        Some(World {
            operator,
            _kubelet: kubelet,
            namespace,
            s3,
            client,
            port: free_port(),
            dir,
        })
    }

    pub fn recordings(&self) -> Api<Recording> {
        Api::namespaced(self.client.clone(), &self.namespace.name)
    }

    pub fn pools(&self) -> Api<RecorderPool> {
        Api::namespaced(self.client.clone(), &self.namespace.name)
    }

    pub fn s3_target(&self) -> S3Target {
        S3Target {
            endpoint: self.s3.endpoint(),
            bucket: BUCKET.into(),
        }
    }

    /// Creates a pool of this world keeping `buffer` idle pods.
    pub async fn create_pool(&self, name: &str, buffer: i32) -> RecorderPool {
        self.pools()
            .create(
                &PostParams::default(),
                &objects::pool(name, REGION, buffer, self.port),
            )
            .await
            .unwrap_or_else(|e| panic!("creating RecorderPool {name}: {e}"))
    }

    /// Creates Recording `rec` in this world, as `kubectl apply` would.
    pub async fn create_recording(&self, rec: &Recording) {
        self.recordings()
            .create(&PostParams::default(), rec)
            .await
            .expect("the Recording is accepted by the API server");
    }

    /// Merge-patches the spec of Recording `name` (as `kubectl patch --type=merge` would).
    pub async fn patch_spec(&self, name: &str, spec: serde_json::Value) {
        let patch = Patch::Merge(serde_json::json!({ "spec": spec }));
        self.recordings()
            .patch(name, &PatchParams::default(), &patch)
            .await
            .unwrap_or_else(|e| panic!("patching the spec of Recording {name}: {e}"));
    }

    /// Waits until pool `name` reports `n` idle Ready pods.
    pub async fn wait_for_idle_pods(&self, name: &str, n: i32, timeout: Duration) {
        let read = async || {
            let pool = self.pools().get(name).await.expect("reading the pool");
            pool.status.unwrap_or_default()
        };
        let every = Duration::from_millis(250);
        self.poll(
            timeout,
            every,
            read,
            |st| st.ready >= n,
            |st| format!("pool {name} has {} of {n} idle Ready pods", st.ready),
        )
        .await;
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
            recs.get(name).await.expect("reading the Recording")
        };
        let every = Duration::from_millis(100);
        self.poll(timeout, every, read, done, |_| {
            format!("Recording {name}: not {what}")
        })
        .await
    }

    /// Reads with `read` every `every` until `done` holds on what it read, and returns that;
    /// after `timeout`, panics with `failure`'s message, the last value and the operator's log.
    async fn poll<T: std::fmt::Debug>(
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
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} after {timeout:?}: {value:#?}\noperator log:\n{}",
                failure(&value),
                self.operator.log_text()
            );
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
