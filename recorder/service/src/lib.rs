//! The HTTP control layer of `vcs-recorder serve` (architecture.md §5, the **contract**).
//!
//! A recorder pod starts warm and idle, takes exactly one job over HTTP, reports on it, and
//! exits when the job is over (0 done, 1 failed). This crate is the API side of that: routes,
//! bearer auth, error bodies, metrics and the job's lifecycle. The recording engine stays
//! behind [`JobRunner`], which `vcs-recorder` implements, so this crate links neither
//! GStreamer nor boa.
//!
//! Wiring in the binary (`vcs-recorder serve`, whose runner is `RecorderService`): the engine
//! gets a clone of the [`Metrics`] handle to observe frame times, and the outcome of [`run`] is
//! the process's exit code.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use vcs_job::{JobSpec, control::{JobEvent, JobPatch, JobStatus}};
//! # use vcs_service::{JobRunner, Metrics, RunnerError};
//! # struct Engine(Metrics);
//! # impl Engine { fn new(metrics: Metrics) -> Arc<Self> { Arc::new(Engine(metrics)) } }
//! # impl JobRunner for Engine {
//! #     fn is_warm(&self) -> bool { true }
//! #     fn start(&self, _: JobSpec) -> Result<(), RunnerError> { Ok(()) }
//! #     fn status(&self) -> JobStatus { JobStatus::default() }
//! #     fn patch(&self, _: JobPatch) -> Result<(), RunnerError> { Ok(()) }
//! #     fn events(&self, _: Vec<JobEvent>) -> Result<(), RunnerError> { Ok(()) }
//! #     fn stop(&self) {}
//! # }
//! # async fn serve(config: vcs_service::ServeConfig) -> Result<(), vcs_service::ServeError> {
//! let metrics = vcs_service::Metrics::new();
//! let runner = Engine::new(metrics.clone()); // warmed up before the API opens
//! let outcome =
//!     vcs_service::run(config, runner, metrics, vcs_service::shutdown_signal()).await?;
//! std::process::exit(outcome.exit_code().into());
//! # }
//! ```
//!
//! | method | path | auth | answer |
//! |---|---|---|---|
//! | GET | `/healthz` | no | 200 while the process runs |
//! | GET | `/readyz` | no | 200 when warm and no job accepted, else 503 `notReady` |
//! | POST | `/v1/job` | yes | `JobStatus` once the first frame is encoded; same id again: the same answer; another job: 409 |
//! | GET | `/v1/job` | yes | `JobStatus` (`state: idle` before a job) |
//! | PATCH | `/v1/job` | yes | `JobStatus`; 409 unless recording |
//! | POST | `/v1/job/events` | yes | `JobStatus`; body one event or an array |
//! | POST | `/v1/job/stop` | yes | `JobStatus` (`finalising`); 404 before a job |
//! | GET | `/metrics` | yes | Prometheus text |
//!
//! Errors are `ErrorBody` JSON: 400 `badRequest` for malformed JSON or unknown fields (with the
//! field path in `at` and line:column in the message), 401 `unauthorized`, 404 `notFound`,
//! 409 `conflict`, 413 `payloadTooLarge` (over 1 MiB), 422 `invalidJob` (field path) or
//! `invalidComposition` (file:line:col), 500 `internal`, 503 `notReady`.
//!
//! # Layout
//! - [`runner`]: the [`JobRunner`] trait the engine implements and its [`RunnerError`].
//! - `lifecycle`: the single job — admission, idempotency, start on a blocking thread,
//!   deferred stop, gating live changes, the [`Outcome`].
//! - `routes`: the router and thin handlers.
//! - `auth`: bearer-token check (constant time).
//! - `body`: JSON bodies with field paths, line:column and a size cap.
//! - `errors`: [`ApiError`] and its mapping to `ErrorBody`.
//! - `metrics`: the [`Metrics`] handle and the Prometheus registry.
//! - `config`: [`ServeConfig`] (clap, env fallbacks) and [`Settings`].
//! - `server`: [`run`] / [`serve`], shutdown handling, [`ServeError`].

mod auth;
mod body;
mod config;
mod errors;
mod lifecycle;
mod metrics;
mod routes;
pub mod runner;
mod server;

pub use auth::Token;
pub use body::MAX_BODY_BYTES;
pub use config::{ServeConfig, Settings};
pub use errors::ApiError;
pub use lifecycle::Outcome;
pub use metrics::Metrics;
pub use runner::{JobRunner, RunnerError};
pub use server::{ServeError, run, serve, shutdown_signal};
