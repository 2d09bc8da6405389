//! The VCS Kubernetes operator (architecture.md §6): it records `Recording`s on recorder pods
//! that `RecorderPool`s keep warm, one region per install.
//!
//! A Recording is placed in a region (a pure function of its spec and a table every region
//! shares), claims an idle pod of that region's pool by compare-and-set (or gets a cold one),
//! and the recorder on it is sent the job over its control API. The controller then mirrors the
//! recorder's progress into the status, forwards live edits, stops it on request or at its
//! maximum duration, and on deletion waits for the outputs before the pod goes. The pool
//! controller keeps the buffer of idle pods.
//!
//! # Layout
//! - [`api`]: the CRD types (`Recording`, `RecorderPool`), conditions, and the CRD manifests.
//! - [`recording`]: the Recording controller, one module per group of [`recording::Phase`]s.
//! - [`pool`]: the RecorderPool controller, its pure buffer maths and the pods it makes.
//! - [`claim`]: getting a pod for a Recording (adopt, claim by compare-and-set, cold start).
//! - [`placement`]: which region records a session. Pure.
//! - [`recorder_client`]: the typed client of a recorder's control API.
//! - [`context`]: what every reconcile shares (client, region, timings, metrics, events).
//! - [`leader`]: leader election over a Lease.
//! - [`telemetry`]: Prometheus metrics and the `/metrics` endpoint.
//! - [`tls`]: the TLS crypto provider every process with a kube client installs first.
//! - [`config`], [`run()`]: the binary's settings and the whole process, so `main` only parses
//!   flags and calls [`run()`].

pub mod api;
pub mod claim;
pub mod config;
pub mod context;
pub mod leader;
pub mod placement;
pub mod pool;
pub mod recorder_client;
pub mod recording;
mod run;
pub mod telemetry;
pub mod tls;

pub use config::Config;
pub use run::{RunError, run};
