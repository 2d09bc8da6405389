//! A whole CI-tier world: fake API server, kubelet and recorders, and operator instances that
//! can be started and killed.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::recorder::FleetConfig;
use super::{FakeApi, FakeKubelet, FakeRecorders};
use crate::context::{Context, Endpoint, Timings};
use crate::placement::{PlacementTable, Region};
use crate::telemetry::Metrics;

pub struct Harness {
    pub api: FakeApi,
    pub kubelet: FakeKubelet,
    pub recorders: Arc<FakeRecorders>,
    pub region: String,
    pub placement: PlacementTable,
    pub timings: Timings,
}

/// One running operator (both controllers); killed when dropped.
pub struct Operator {
    pub ctx: Arc<Context>,
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
            Region {
                name: "eu-west".into(),
                lat: 53.3,
                lon: -6.3,
            },
            Region {
                name: "us-east".into(),
                lat: 39.0,
                lon: -77.5,
            },
        ],
        default_region: Some("eu-west".into()),
        ..Default::default()
    }
}

impl Harness {
    pub async fn start(ready_after: Duration, fleet: FleetConfig) -> Self {
        let api = FakeApi::new();
        let kubelet = FakeKubelet::start(&api, ready_after);
        let token = fleet.token.clone();
        let recorders = Arc::new(
            FakeRecorders::start(fleet)
                .await
                .expect("bind a loopback port"),
        );
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
            kubelet,
            recorders,
            region: "eu-west".into(),
            placement: test_placement(),
            timings: Timings {
                poll: Duration::from_millis(200),
                start_deadline: Duration::from_secs(60),
                deletion_grace: Duration::from_secs(5),
                retry: Duration::from_millis(200),
            },
        }
    }

    /// Routes each pod's control API to its fake recorder.
    pub fn endpoint(&self) -> Endpoint {
        let fleet = self.recorders.clone();
        Arc::new(move |pod, _port| Some(fleet.url_for(pod.status.as_ref()?.pod_ip.as_ref()?)))
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
            tokio::spawn(crate::pool::controller::run(ctx.clone(), None)),
            tokio::spawn(crate::recording::run(ctx.clone(), None)),
        ];
        Operator { ctx, tasks }
    }

    pub fn pods(&self) -> Vec<Value> {
        self.api.objects("pods")
    }

    pub fn recordings(&self) -> Vec<Value> {
        self.api.objects("vcs.dev/recordings")
    }

    /// Polls `f` every 20 ms until it returns true or `timeout` passes.
    pub async fn wait_for(&self, timeout: Duration, mut f: impl FnMut(&Self) -> bool) -> bool {
        let end = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < end {
            if f(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        f(self)
    }
}

/// `status.<field>` of a stored object as a string.
pub fn status_str<'a>(o: &'a Value, field: &str) -> Option<&'a str> {
    o.get("status")?.get(field)?.as_str()
}

/// A label of a stored object.
pub fn label<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.pointer("/metadata/labels")?.get(key)?.as_str()
}

/// The status of condition `type_` of a stored object.
pub fn condition<'a>(o: &'a Value, type_: &str) -> Option<(&'a str, &'a str)> {
    o.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or(""),
            )
        })
}
