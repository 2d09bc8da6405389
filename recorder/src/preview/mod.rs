//! `vcs-recorder preview`: a composition playing live in a browser page, from the real engine
//! (in its supervised process) and renderer, with a params panel, simulated participants and
//! standard sources, a timeline, hot reload and export of the session as an events file.
//!
//! # Layout
//! - [`frames`]: the adapter to the engine, renderer and encoders (the only file that uses them).
//! - [`inputs`]: the real participants' inputs (`--participant name=URI`), live.
//! - [`session`]: the frame loop thread: edits, hot reload, pacing, published frames.
//! - [`server`]: the HTTP routes and the page (`page/`, embedded in the binary).
//! - [`participants`], [`export`], [`watch`]: simulated participants, the events-file export,
//!   the composition's files' fingerprint.

pub mod export;
pub mod frames;
pub mod inputs;
pub mod participants;
pub mod server;
pub mod session;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

pub use session::Options;

/// Serves the preview on `listen` until Ctrl-C; `ready` gets the address actually bound (the
/// port may be 0) once the page can be loaded.
pub fn serve(
    opts: Options,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let handle = Arc::new(session::start(opts)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (use --listen ADDR:PORT)"))?;
        ready(listener.local_addr()?);
        // Not a graceful shutdown: the page's frame stream never ends by itself, so waiting for
        // open connections would wait forever. Nothing is lost by dropping them.
        tokio::select! {
            served = axum::serve(listener, server::router(handle)) => {
                served.context("preview server failed")
            }
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}
