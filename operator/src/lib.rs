//! The VCS Kubernetes operator (architecture.md §6): `Recording` and `RecorderPool` controllers,
//! warm-pool claims, region placement, the recorder control client and telemetry.

pub mod api;
pub mod claim;
pub mod context;
pub mod leader;
pub mod placement;
pub mod pool;
pub mod recorder_client;
pub mod recording;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;
