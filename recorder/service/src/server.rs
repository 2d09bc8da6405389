//! The process around the API: bind, serve until the job is over or a shutdown arrives, stop
//! the job gracefully on shutdown, and report how it ended.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::config::{ServeConfig, Settings};
use crate::lifecycle::{Jobs, Outcome};
use crate::metrics::{self, Metrics};
use crate::routes::{AppState, router};
use crate::runner::JobRunner;

/// In-flight requests get this long to finish once serving ends; a client holding a connection
/// open must not keep a finished recorder alive.
const DRAIN: Duration = Duration::from_secs(5);

/// Why `serve` could not run. The system's reason is the `source()`, not repeated in the
/// message (anyhow's `{:#}` or `vcs_job::control::error_chain` show both).
#[derive(Debug, Error)]
pub enum ServeError {
    #[error(
        "cannot read the token file {path} (create it with the bearer token, or point \
         --token-file / VCS_TOKEN_FILE at it)"
    )]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token file {path} is empty; put the bearer token callers must present in it")]
    EmptyToken { path: PathBuf },
    #[error("cannot listen on {addr} (choose a free address with --listen / VCS_LISTEN)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server stopped")]
    Server(#[source] std::io::Error),
}

/// Runs `vcs-recorder serve`: reads the token, binds `config.listen`, and serves until the job
/// is done or failed, or until `shutdown` resolves (then the job is stopped gracefully and
/// waited for, up to the grace period). The returned [`Outcome`] gives the exit code.
pub async fn run(
    config: ServeConfig,
    runner: Arc<dyn JobRunner>,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<Outcome, ServeError> {
    let settings = config.settings()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    serve(listener, settings, runner, metrics, shutdown).await
}

/// [`run`] on a listener that is already bound (tests bind port 0 and read the address).
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    runner: Arc<dyn JobRunner>,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<Outcome, ServeError> {
    let jobs = Arc::new(Jobs::new(runner, metrics.clone()));
    let state = AppState {
        registry: Arc::new(metrics::registry(&metrics, Arc::clone(&jobs))),
        jobs: Arc::clone(&jobs),
    };
    let app = router(state, settings.token);
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "control API listening");
    }

    let (close, closed) = oneshot::channel::<()>();
    let mut server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = closed.await;
            })
            .into_future(),
    );

    tokio::pin!(shutdown);
    let outcome = tokio::select! {
        outcome = jobs.finished() => {
            info!(?outcome, linger_secs = settings.linger.as_secs_f64(), "job over; answering a little longer");
            tokio::select! {
                () = tokio::time::sleep(settings.linger) => {}
                () = &mut shutdown => {}
            }
            outcome
        }
        () = &mut shutdown => stop_for_shutdown(&jobs, settings.stop_grace).await,
        ended = &mut server => {
            return Err(ServeError::Server(match ended {
                Ok(Ok(())) => std::io::Error::other("the server ended on its own"),
                Ok(Err(err)) => err,
                Err(join) => std::io::Error::other(join.to_string()),
            }));
        }
    };

    let _ = close.send(());
    if tokio::time::timeout(DRAIN, &mut server).await.is_err() {
        warn!(
            drain_secs = DRAIN.as_secs(),
            "requests still open after the drain time; closing"
        );
        server.abort();
    }
    info!(?outcome, exit_code = outcome.exit_code(), "serve finished");
    Ok(outcome)
}

async fn stop_for_shutdown(jobs: &Jobs, grace: Duration) -> Outcome {
    info!(grace_secs = grace.as_secs_f64(), "shutdown requested");
    match jobs.stop().await {
        Ok(false) => return Outcome::NoJob,
        Ok(true) => {}
        Err(err) => warn!(cause = %err.summary(), "could not stop the job"),
    }
    match tokio::time::timeout(grace, jobs.finished()).await {
        Ok(outcome) => outcome,
        Err(_) => {
            warn!(
                grace_secs = grace.as_secs_f64(),
                "the job did not finish within the grace period; outputs may be incomplete"
            );
            Outcome::StopTimedOut
        }
    }
}

/// Resolves on SIGTERM (what Kubernetes sends) or Ctrl-C; the binary passes it to [`run`].
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => info!(signal = "SIGTERM", "shutdown signal"),
                    _ = tokio::signal::ctrl_c() => info!(signal = "SIGINT", "shutdown signal"),
                }
                return;
            }
            Err(err) => warn!(cause = %err, "cannot listen for SIGTERM; only Ctrl-C stops serve"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
