//! The real controllers against an in-process API server and kubelet (`vcs-fake-kube`), with
//! the real recorder control API in every pod (testing tier 3): one test binary, so the world
//! they share is built once.
//!
//! - `controllers`: one Recording or pool at a time, from creation to deletion.
//! - `concurrency`: many Recordings, two operators, operators killed mid-claim.
//! - `claims`: giving back claims, against the API server's compare-and-set.
//! - `leader`: the Lease.
//! - `recorder_client`: the control API client against the real server.

#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod claims;
mod concurrency;
mod controllers;
mod leader;
mod recorder_client;
mod support;
