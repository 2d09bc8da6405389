//! `vcs-recorder serve`: warm up, then take one job over the HTTP control API.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::serve::RecorderService;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    api: vcs_service::ServeConfig,
    /// Where outputs wait for upload (and are kept if S3 never takes them).
    #[arg(long, env = "VCS_SPOOL_DIR", default_value = "/tmp/vcs-spool")]
    spool_dir: PathBuf,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let metrics = vcs_service::Metrics::new();
    let service = RecorderService::new(args.spool_dir, metrics.clone());
    let warm = std::time::Instant::now();
    service.warm_up().context("warm-up failed")?;
    tracing::info!(
        took_ms = warm.elapsed().as_millis() as u64,
        "warm and ready for a job"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(vcs_service::run(
        args.api,
        service,
        metrics,
        vcs_service::shutdown_signal(),
    ))?;
    if !outcome.is_success() {
        std::process::exit(outcome.exit_code().into());
    }
    Ok(())
}
