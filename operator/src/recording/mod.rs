//! The Recording controller: placement, a recorder pod, the job, live updates, progress,
//! stop, limits and deletion.

pub mod controller;
pub mod job;
pub mod live;
pub mod status;

pub use controller::{error_policy, reconcile, run};
