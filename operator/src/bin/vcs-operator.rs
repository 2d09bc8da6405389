//! `vcs-operator`: runs the Recording and RecorderPool controllers for one region, behind a
//! Lease, with Prometheus metrics on `/metrics`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use vcs_operator::context::Context;
use vcs_operator::leader::LeaderElector;
use vcs_operator::placement::PlacementTable;
use vcs_operator::telemetry::Metrics;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "VCS Kubernetes operator: Recordings and RecorderPools of one region"
)]
struct Args {
    /// The region this operator records in (a name in the placement table).
    #[arg(long, env = "VCS_REGION")]
    region: String,
    /// Placement table (YAML or JSON): regions with coordinates, places, host rules.
    #[arg(long, env = "VCS_PLACEMENT_CONFIG")]
    placement_config: PathBuf,
    /// Watch only this namespace (default: all).
    #[arg(long, env = "VCS_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Address of the metrics and health endpoint.
    #[arg(long, env = "VCS_METRICS_ADDR", default_value = "0.0.0.0:9090")]
    metrics_addr: SocketAddr,
    /// Disable leader election (only for a single replica).
    #[arg(long, env = "VCS_NO_LEADER_ELECTION")]
    no_leader_election: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// This replica's identity in the Lease.
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Seconds a leader's Lease lasts without renewal.
    #[arg(long, default_value_t = 15)]
    lease_seconds: u64,
}

async fn serve_metrics(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics address {addr}"))?;
    loop {
        let (stream, _) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let metrics = metrics.clone();
                    async move {
                        let (code, ct, body) = match req.uri().path() {
                            "/metrics" => (
                                200,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                metrics.encode(),
                            ),
                            "/healthz" | "/readyz" => (200, "text/plain", "ok\n".to_string()),
                            _ => (404, "text/plain", "not found\n".to_string()),
                        };
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(code)
                                .header("content-type", ct)
                                .body(Full::new(Bytes::from(body)))
                                .expect("valid response"),
                        )
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.placement_config).with_context(|| {
        format!(
            "reading --placement-config {}",
            args.placement_config.display()
        )
    })?;
    let placement: PlacementTable = serde_yaml_ng::from_str(&text).with_context(|| {
        format!(
            "parsing the placement table {}",
            args.placement_config.display()
        )
    })?;
    anyhow::ensure!(
        placement.regions.iter().any(|r| r.name == args.region),
        "--region {} is not in the placement table {} (regions: {}); add it or fix the flag",
        args.region,
        args.placement_config.display(),
        placement
            .regions
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (KUBECONFIG or in-cluster config)")?;
    let metrics = Arc::new(Metrics::default());
    let ctx = Arc::new(Context::new(
        client.clone(),
        args.region.clone(),
        placement,
        metrics.clone(),
    ));
    tokio::spawn(async move {
        if let Err(e) = serve_metrics(args.metrics_addr, metrics).await {
            tracing::error!(cause = %e, "metrics server stopped");
        }
    });
    let ns = args.namespace.clone();
    let work = move || {
        let (ctx, ns) = (ctx.clone(), ns.clone());
        async move {
            tokio::join!(
                vcs_operator::pool::controller::run(ctx.clone(), ns.clone()),
                vcs_operator::recording::run(ctx, ns)
            );
        }
    };
    if args.no_leader_election {
        tokio::select! {
            _ = work() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        return Ok(());
    }
    let identity = args
        .identity
        .clone()
        .unwrap_or_else(|| format!("vcs-operator-{}", std::process::id()));
    let elector = LeaderElector::new(
        client,
        &args.lease_namespace,
        &format!("vcs-operator-{}", args.region),
        &identity,
        Duration::from_secs(args.lease_seconds),
    );
    tokio::select! {
        _ = elector.run(work) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
