//! A whole CI-tier world: the fake API server and kubelet, a recorder per pod, and operator
//! instances that can be started and killed; typed reads of what is in the cluster.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use tokio::task::JoinHandle;
use vcs_fake_kube::{FakeApi, FakeKubelet};
use vcs_operator::api::{ConditionStatus, RecorderPool, Recording, find_condition};
use vcs_operator::context::{Context, Endpoint, Timings};
use vcs_operator::placement::{Location, PlacementTable};
use vcs_operator::telemetry::Metrics;

use super::recorders::{FleetConfig, RecorderFleet};

/// How long a test waits for the operators to get somewhere.
pub const WAIT: Duration = Duration::from_secs(15);

pub struct Harness {
    pub api: FakeApi,
    /// Runs the pods while the harness lives.
    _kubelet: FakeKubelet,
    pub fleet: Arc<RecorderFleet>,
    pub region: String,
    pub placement: PlacementTable,
    pub timings: Timings,
}

/// One running operator (both controllers); killed when dropped.
pub struct Operator {
    tasks: Vec<JoinHandle<()>>,
}

impl Operator {
    /// Stops it at once, wherever it is (as a crash would): dropping aborts its tasks.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Two regions; this operator is `eu-west`.
pub fn test_placement() -> PlacementTable {
    PlacementTable {
        regions: vec![
            Location::new("eu-west", 53.3, -6.3),
            Location::new("us-east", 39.0, -77.5),
        ],
        default_region: Some("eu-west".into()),
        ..Default::default()
    }
}

impl Harness {
    pub async fn start(ready_after: Duration, fleet: FleetConfig) -> Self {
        let api = FakeApi::new();
        let token = fleet.token.clone();
        let fleet = RecorderFleet::new(fleet);
        let kubelet = FakeKubelet::with_containers(&api, ready_after, fleet.clone());
        let secrets: Api<Secret> = Api::namespaced(api.client(), "default");
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "recorder-token"},
            "stringData": {"token": token},
        }))
        .expect("valid Secret");
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .expect("fake API accepts the token Secret");
        Self {
            api,
            _kubelet: kubelet,
            fleet,
            region: "eu-west".into(),
            placement: test_placement(),
            timings: Timings {
                poll: Duration::from_millis(200),
                start_deadline: Duration::from_secs(60),
                deletion_grace: Duration::from_secs(5),
                retry: Duration::from_millis(200),
                recorder_lost_after: Duration::from_secs(5),
            },
        }
    }

    /// Routes each pod's control API to its recorder.
    pub fn endpoint(&self) -> Endpoint {
        let fleet = self.fleet.clone();
        Arc::new(move |pod, _port| fleet.url_for(pod.status.as_ref()?.pod_ip.as_ref()?))
    }

    pub fn context(&self) -> Context {
        let mut ctx = Context::new(
            self.api.client(),
            self.region.clone(),
            self.placement.clone(),
            Arc::new(Metrics::default()),
        );
        ctx.endpoint = self.endpoint();
        ctx.timings = self.timings.clone();
        ctx
    }

    /// Starts an operator instance (both controllers).
    pub fn operator(&self) -> Operator {
        let ctx = Arc::new(self.context());
        let tasks = vec![
            tokio::spawn(vcs_operator::pool::controller::run(ctx.clone(), None)),
            tokio::spawn(vcs_operator::recording::run(ctx.clone(), None)),
        ];
        Operator { tasks }
    }

    /// An API of the `default` namespace, where the tests work.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.api.client(), "default")
    }

    async fn list<K>(&self) -> Vec<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .list(&ListParams::default())
            .await
            .expect("the fake API lists")
            .items
    }

    pub async fn recordings(&self) -> Vec<Recording> {
        self.list().await
    }

    pub async fn recording(&self, name: &str) -> Option<Recording> {
        self.api::<Recording>()
            .get_opt(name)
            .await
            .expect("the fake API reads")
    }

    pub async fn pods(&self) -> Vec<Pod> {
        self.list().await
    }

    pub async fn pools(&self) -> Vec<RecorderPool> {
        self.list().await
    }

    /// Merge-patches the spec of Recording `name`, as `kubectl patch --type=merge` does.
    pub async fn patch_spec(&self, name: &str, spec: serde_json::Value) {
        let patch = Patch::Merge(serde_json::json!({ "spec": spec }));
        self.api::<Recording>()
            .patch(name, &PatchParams::default(), &patch)
            .await
            .expect("the fake API patches");
    }

    /// Polls `f` every 50 ms until it returns true or `timeout` passes.
    pub async fn wait_for(&self, timeout: Duration, mut f: impl AsyncFnMut(&Self) -> bool) -> bool {
        let end = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < end {
            if f(self).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        f(self).await
    }

    /// Waits ([`WAIT`]) until Recording `name` has condition `type_` with `status` and `reason`,
    /// and returns it; panics with its status when it does not.
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
    ) -> Recording {
        let holds = async |h: &Self| {
            h.recording(name)
                .await
                .is_some_and(|r| condition_of(&r, type_) == Some((status, reason)))
        };
        if self.wait_for(WAIT, holds).await {
            return self
                .recording(name)
                .await
                .expect("it was there a moment ago");
        }
        panic!(
            "Recording {name}: condition {type_} is not {status:?}/{reason} after {WAIT:?}: {:#?}",
            self.recording(name).await.map(|r| r.status)
        );
    }
}

/// Status and reason of condition `type_` of a Recording.
pub fn condition_of<'a>(rec: &'a Recording, type_: &str) -> Option<(ConditionStatus, &'a str)> {
    let c = find_condition(&rec.status.as_ref()?.conditions, type_)?;
    Some((c.status, c.reason.as_str()))
}

/// A label of an object.
pub fn label<'a>(o: &'a impl ResourceExt, key: &str) -> Option<&'a str> {
    o.labels().get(key).map(String::as_str)
}
