//! The operator process: the placement table, the client, the metrics endpoint, and both
//! controllers, behind the Lease unless leader election is off.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tracing::error;

use crate::config::Config;
use crate::context::Context;
use crate::leader::LeaderElector;
use crate::telemetry::{self, Metrics};

/// Why the operator could not start.
#[derive(Debug, Error)]
pub enum RunError {
    #[error("reading --placement-config {}", path.display())]
    ReadPlacement {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing the placement table {}", path.display())]
    ParsePlacement {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error(
        "--region {region} is not in the placement table {} (regions: {known}); add it or fix the flag",
        path.display()
    )]
    UnknownRegion {
        region: String,
        path: PathBuf,
        known: String,
    },
    #[error("connecting to the Kubernetes API (KUBECONFIG or in-cluster config)")]
    Connect(#[source] kube::Error),
}

/// Runs the operator until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let placement = config.placement_table()?;
    // `main` installed it already; a library caller may not have.
    crate::tls::install_crypto_provider();
    let client = kube::Client::try_default()
        .await
        .map_err(RunError::Connect)?;
    let metrics = Arc::new(Metrics::default());
    let mut ctx = Context::new(
        client.clone(),
        config.region.clone(),
        placement,
        metrics.clone(),
    );
    // Watched from the start, leader or not, so a replica that takes over has it warm.
    let (pod_cache, pod_watch) =
        crate::pool::cache::watch(client.clone(), config.namespace.as_deref());
    ctx.pod_cache = Some(pod_cache);
    let ctx = Arc::new(ctx);
    let (stop_metrics, metrics_stopped) = oneshot::channel::<()>();
    let addr = config.metrics_addr;
    // The controllers go on without their metrics: a bad address is logged, not fatal.
    tokio::spawn(async move {
        let served = match TcpListener::bind(addr).await {
            Ok(listener) => {
                telemetry::serve(listener, metrics, async {
                    let _ = metrics_stopped.await;
                })
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = served {
            error!(cause = %e, %addr, "metrics server stopped");
        }
    });
    let ns = config.namespace.clone();
    let work = move || {
        let (ctx, ns) = (ctx.clone(), ns.clone());
        async move {
            tokio::join!(
                crate::pool::controller::run(ctx.clone(), ns.clone()),
                crate::recording::run(ctx, ns)
            );
        }
    };
    if config.no_leader_election {
        tokio::select! {
            _ = work() => {}
            _ = shutdown => {}
        }
    } else {
        let elector = LeaderElector::new(
            client,
            &config.lease_namespace,
            &config.lease_name(),
            &config.identity(),
            config.lease_duration(),
        );
        tokio::select! {
            _ = elector.run(work) => {}
            _ = shutdown => {}
        }
    }
    let _ = stop_metrics.send(());
    pod_watch.abort();
    Ok(())
}
