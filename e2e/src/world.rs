//! Everything one e2e test needs, started together: the cluster namespace with the CRDs and
//! Secrets, an S3 server, the kubelet stand-in and the operator process. `None` (after the
//! skip line) without a cluster.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use vcs_operator::api::{Condition, RecorderPool, Recording};
use vcs_operator::placement::{PlacementTable, Region};
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
            regions: vec![Region {
                name: REGION.into(),
                lat: 0.0,
                lon: 0.0,
            }],
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

    /// Waits until pool `name` reports `n` idle Ready pods.
    pub async fn wait_for_idle_pods(&self, name: &str, n: i32, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pool = self.pools().get(name).await.expect("reading the pool");
            let st = pool.status.unwrap_or_default();
            if st.ready >= n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "pool {name} has {} of {n} idle Ready pods after {timeout:?}: {st:?}\noperator log:\n{}",
                st.ready,
                self.operator.log_text()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
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
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let rec = self
                .recordings()
                .get(name)
                .await
                .expect("reading the Recording");
            if done(&rec) {
                return rec;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Recording {name}: not {what} after {timeout:?}: {:#?}\noperator log:\n{}",
                rec.status,
                self.operator.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
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
    condition(rec, type_).is_some_and(|c| c.status == "True")
}

/// The recorder's first frame of `rec` (its `status.startedAt`).
pub fn first_frame(rec: &Recording) -> Option<chrono::DateTime<chrono::Utc>> {
    let s = rec.status.as_ref()?.started_at.as_deref()?;
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}
