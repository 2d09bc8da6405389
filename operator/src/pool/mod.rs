//! RecorderPool: the controller, its pure buffer maths, the pods it makes and those it removes.
//!
//! # Layout
//! - [`cache`]: the pools' pods, watched into memory for the claims.
//! - [`controller`]: one reconcile: collect garbage, plan, apply the plan, write the status.
//! - `garbage`: which pods go first (finished, orphaned, claims that lost a race).
//! - [`math`]: pool sizing, Agones-style. Pure.
//! - [`pods`]: the recorder pod a pool makes, and reading its readiness.

pub mod cache;
pub mod controller;
mod garbage;
pub mod math;
pub mod pods;
