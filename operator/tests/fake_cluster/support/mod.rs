//! What the fake-cluster tests share: the world they run in and the recorders in its pods.

pub mod harness;
pub mod recorders;

pub use harness::{Harness, WAIT, condition_of, label};
pub use recorders::FleetConfig;
