//! The composition runs in its own process, so nothing it does can freeze or starve the
//! recording.
//!
//! The engine's own guard (vcs-engine) stops composition code that overruns its frame budget,
//! but it only runs between composition statements: a native call that never returns (a
//! catastrophic regex, a huge `Array.fill`) or an allocation bomb would stop the frame loop, and
//! with it SIGTERM handling and every output. So `vcs-recorder` runs the engine in a child
//! process of itself (`vcs-recorder engine-worker`, [`worker`]) that talks JSON lines over pipes
//! ([`protocol`]) and caps its own memory (RLIMIT_DATA, [`DEFAULT_MEMORY_MB`] unless
//! `VCS_ENGINE_MEMORY_MB` says otherwise). The recording ([`SupervisedEngine`]) waits for each
//! frame no longer than its budget plus a grace, keeps the last good scene when it is late,
//! kills a process busy past a hard limit or restarts one that died (out of memory), from the
//! [`CompositionState`], and gives up on the composition after a few restarts while video
//! goes on. The process dies with its parent (`PR_SET_PDEATHSIG`).
//!
//! # Layout
//! - [`protocol`]: requests, replies, [`CompositionState`].
//! - [`worker`]: the engine process's loop.
//! - `supervisor.rs`: [`SupervisedEngine`], the warm process `serve` prepares, the limits.

pub mod protocol;
mod supervisor;
pub mod worker;

pub use protocol::CompositionState;
pub use supervisor::{DEFAULT_MEMORY_MB, Limits, SupervisedEngine, prespawn_warm, worker_exe};
