//! The Recording controller: placement, a recorder pod, the job, live updates, progress,
//! stop, limits and deletion.
//!
//! # Layout
//! - [`controller`]: `reconcile` (apply or cleanup), the phase loop, `error_policy`, `run`.
//! - [`phase`]: the [`Phase`] of a Recording, read from its spec and status. Pure.
//! - `pass`: one reconcile pass: the status being built and the writes every phase shares.
//! - `place`: phases Unplaced, OtherRegion and NeedsPod (placement, claiming a pod).
//! - `start`: phase Starting (start deadline, reaching the recorder, sending the job).
//! - `progress`: phases Recording, Stopping and Done (polling, live edits, stop and limits).
//! - `finalize`: the finalizer, and the cleanup of a deleted Recording.
//! - [`restart`]: a lost recorder replaced by a continuation on another pod; the timeline of
//!   spans and gaps in the status.
//! - [`condition`]: the condition types and the reasons conditions and events give.
//! - [`job`], [`live`], [`status`]: the job spec from a Recording, live-edit diffs, mirroring
//!   the recorder's report into the status. Pure.

pub mod condition;
pub mod controller;
mod finalize;
pub mod job;
pub mod live;
mod pass;
pub mod phase;
mod place;
mod progress;
pub mod restart;
mod start;
pub mod status;

pub use controller::{error_policy, reconcile, run};
pub use phase::Phase;
