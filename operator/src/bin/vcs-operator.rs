//! `vcs-operator`: runs the Recording and RecorderPool controllers for one region, behind a
//! Lease, with Prometheus metrics on `/metrics`.

use clap::Parser;
use vcs_operator::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Before anything can build a TLS client: see `vcs_operator::tls`.
    vcs_operator::tls::install_crypto_provider();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::parse();
    vcs_operator::run(config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
