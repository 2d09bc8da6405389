//! What the controllers share: the client, configuration, metrics and event reporting.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::controller;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::{Api, Client, Resource};

use crate::placement::PlacementTable;
use crate::recorder_client::RecorderClient;
use crate::telemetry::Metrics;

/// How to reach a pod's control API: base URL from the pod and the pool's port.
pub type Endpoint = Arc<dyn Fn(&Pod, i32) -> Option<String> + Send + Sync>;

/// The default: `http://<podIP>:<port>`.
pub fn pod_ip_endpoint() -> Endpoint {
    Arc::new(|pod: &Pod, port: i32| {
        let ip = pod.status.as_ref()?.pod_ip.as_ref()?;
        Some(if ip.contains(':') {
            format!("http://[{ip}]:{port}")
        } else {
            format!("http://{ip}:{port}")
        })
    })
}

/// Timings; the defaults suit production, tests shorten them.
#[derive(Clone, Debug)]
pub struct Timings {
    /// How often a recording's recorder is polled for progress.
    pub poll: Duration,
    /// Start deadline when `spec.limits.startDeadlineSecs` is unset.
    pub start_deadline: Duration,
    /// How long deletion waits for the outputs to finish before giving up on them.
    pub deletion_grace: Duration,
    /// Requeue while waiting for a pod to become ready or a Secret/pool to appear.
    pub retry: Duration,
    /// A recording's recorder whose control API does not answer for this long is lost (and
    /// replaced, see `recording::restart`).
    pub recorder_lost_after: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(5),
            start_deadline: Duration::from_secs(120),
            deletion_grace: Duration::from_secs(120),
            retry: Duration::from_secs(5),
            recorder_lost_after: Duration::from_secs(20),
        }
    }
}

/// What every reconcile gets: the client, this operator's region and placement table, how to
/// reach recorders, metrics, the event recorder and the timings.
pub struct Context {
    pub client: Client,
    /// The region this operator records in.
    pub region: String,
    pub placement: PlacementTable,
    pub recorders: RecorderClient,
    pub endpoint: Endpoint,
    pub metrics: Arc<Metrics>,
    pub events: Recorder,
    pub timings: Timings,
    /// The pools' pods as last watched (see [`crate::pool::cache`]): claims pick their
    /// candidates here instead of listing and decoding every pod of the pool. `None`: list.
    pub pod_cache: Option<Store<Pod>>,
}

impl Context {
    pub fn new(
        client: Client,
        region: impl Into<String>,
        placement: PlacementTable,
        metrics: Arc<Metrics>,
    ) -> Self {
        let events = Recorder::new(client.clone(), Reporter::from("vcs-operator"));
        Self {
            client,
            region: region.into(),
            placement,
            recorders: RecorderClient::default(),
            endpoint: pod_ip_endpoint(),
            metrics,
            events,
            timings: Timings::default(),
            pod_cache: None,
        }
    }

    /// The API of `K` in namespace `ns`.
    pub fn namespaced<K>(&self, ns: &str) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), ns)
    }

    /// The API of `K` in `namespace`, or across all namespaces when `None` (what a controller
    /// watches).
    pub fn watched<K>(&self, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }

    /// Publishes an event on `obj`; failures are logged, never fatal.
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.events.publish(&ev, &obj.object_ref(&())).await {
            tracing::warn!(cause = %e, reason, "could not publish event");
        }
    }
}

/// Logs what a controller's run stream reports besides reconciles: a failing watch (RBAC, an
/// API server under load) at `warn`, since the controller backs off and its cache lags
/// meanwhile; a failed reconcile is left to the error policy, which logs it.
pub fn log_run_error<R, Q>(e: Option<controller::Error<R, Q>>, controller: &str)
where
    R: std::error::Error,
    Q: std::error::Error,
{
    match e {
        None | Some(controller::Error::ReconcilerFailed(..)) => {}
        Some(e @ controller::Error::ObjectNotFound(_)) => {
            tracing::debug!(cause = %e, controller, "reconcile");
        }
        Some(e) => tracing::warn!(cause = %e, controller, "watching for changes failed; retrying"),
    }
}
