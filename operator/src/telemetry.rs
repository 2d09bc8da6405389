//! Prometheus metrics of the operator (architecture.md §6): reconcile duration, claim duration
//! and outcome, start latency by launch type, pool sizes; and the HTTP endpoint serving them
//! with the health checks.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClaimLabels {
    /// `warm`, `cold`, `adopted` or `error`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaunchLabels {
    pub launch: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub namespace: String,
    pub pool: String,
    /// `desired`, `replicas`, `ready`, `starting`, `claimed`.
    pub count: &'static str,
}

/// All metrics, registered in one registry.
pub struct Metrics {
    pub registry: Registry,
    pub reconcile_seconds: Family<ControllerLabels, Histogram>,
    pub claim_seconds: Family<ClaimLabels, Histogram>,
    /// Claims that lost a compare-and-set race and moved on to the next candidate.
    pub claim_conflicts: prometheus_client::metrics::counter::Counter,
    pub start_latency_seconds: Family<LaunchLabels, Histogram>,
    pub pool_pods: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vcs_operator");
        let reconcile_seconds = Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let claim_seconds = Family::<ClaimLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let start_latency_seconds = Family::<LaunchLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 2.0, 14))
        });
        let claim_conflicts = prometheus_client::metrics::counter::Counter::default();
        let pool_pods = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "reconcile_duration_seconds",
            "Time per reconcile",
            reconcile_seconds.clone(),
        );
        registry.register(
            "claim_duration_seconds",
            "Time to get a recorder pod for a Recording",
            claim_seconds.clone(),
        );
        registry.register(
            "claim_conflicts",
            "Claims that lost a compare-and-set race",
            claim_conflicts.clone(),
        );
        registry.register(
            "start_latency_seconds",
            "Recording creation to first encoded frame, by launch type",
            start_latency_seconds.clone(),
        );
        registry.register(
            "pool_pods",
            "Recorder pods of a pool by count kind",
            pool_pods.clone(),
        );
        Self {
            registry,
            reconcile_seconds,
            claim_seconds,
            claim_conflicts,
            start_latency_seconds,
            pool_pods,
        }
    }
}

impl Metrics {
    /// Runs one reconcile of `controller`, recording how long it took and whether it failed.
    pub async fn time_reconcile<T, E>(
        &self,
        controller: &'static str,
        reconcile: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let r = reconcile.await;
        let outcome = if r.is_ok() { "ok" } else { "error" };
        self.reconcile_seconds
            .get_or_create(&ControllerLabels {
                controller,
                outcome,
            })
            .observe(started.elapsed().as_secs_f64());
        r
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The content type of the OpenMetrics text exposition.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics` (Prometheus text), `GET /healthz` and `GET /readyz` (200 while the process
/// runs).
pub fn router(metrics: Arc<Metrics>) -> Router {
    let ok = || async { ([(header::CONTENT_TYPE, "text/plain")], "ok\n") };
    Router::new()
        .route(
            "/metrics",
            get(move || async move { ([(header::CONTENT_TYPE, OPENMETRICS)], metrics.encode()) }),
        )
        .route("/healthz", get(ok))
        .route("/readyz", get(ok))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain")],
                "not found\n",
            )
                .into_response()
        })
}

/// Serves [`router`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_exposed_with_their_labels() {
        let m = Metrics::default();
        m.claim_seconds
            .get_or_create(&ClaimLabels { outcome: "warm" })
            .observe(0.01);
        m.start_latency_seconds
            .get_or_create(&LaunchLabels { launch: "cold" })
            .observe(2.0);
        let text = m.encode();
        assert!(
            text.contains("vcs_operator_claim_duration_seconds_count{outcome=\"warm\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "vcs_operator_start_latency_seconds_bucket{le=\"3.2\",launch=\"cold\"} 1"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_endpoint_serves_metrics_and_health() {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let metrics = Arc::new(Metrics::default());
        metrics.claim_conflicts.inc();
        let get = |path: &str| {
            let request = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let app = router(metrics.clone());
            async move {
                let resp = app.oneshot(request).await.unwrap();
                let ct = resp.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .to_string();
                let code = resp.status().as_u16();
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                (code, ct, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        let (code, ct, body) = get("/metrics").await;
        assert_eq!((code, ct.as_str()), (200, OPENMETRICS));
        assert!(
            body.contains("vcs_operator_claim_conflicts_total 1"),
            "{body}"
        );
        assert_eq!(
            get("/healthz").await,
            (200, "text/plain".into(), "ok\n".into())
        );
        assert_eq!(get("/readyz").await.0, 200);
        assert_eq!(get("/nope").await.0, 404);
    }
}
