//! End-to-end tests of the operator against a real Kubernetes API server (architecture.md §7,
//! tier 4). They run when `KUBECONFIG` is set and print `skipped: KUBECONFIG not set …` and
//! pass otherwise, so CI without a cluster stays green.
//!
//! With a cluster, a [`World`] applies `crds/`, makes a namespace for the test, starts a real
//! S3-compatible server (s3s-fs) on loopback, runs the operator binary as a process, and stands
//! in for the kubelet: every recorder pod of the namespace is run as a local
//! `vcs-recorder serve` on its own loopback address (127.0.0.N) and reported Running/Ready with
//! that IP. The pools use region [`world::REGION`], which no real node is labelled with, so the
//! real scheduler and kubelets leave these pods alone.
//!
//! Needs: the `vcs-operator` and `vcs-recorder` binaries built (`cargo build --workspace
//! --bins`, or `VCS_OPERATOR_BIN`/`VCS_RECORDER_BIN`), `s3s-fs` and `ffmpeg` on PATH, and
//! Linux (the whole of 127.0.0.0/8 is loopback there). `kubectl`, when on PATH, is used for
//! the `kubectl get rec` and `kubectl wait` checks.
//!
//! # Layout
//! - [`bins`]: the workspace binaries the tests run (found by `vcs_test_support::workspace_bin`).
//! - [`cluster`]: connecting (or skipping), applying the CRDs, per-test namespaces.
//! - [`kubelet`]: the local process runner standing in for kubelets.
//! - [`operator`]: the operator binary as a child process.
//! - [`objects`]: the Secrets, RecorderPools and Recordings the tests create.
//! - [`world`]: all of the above started together for one test.

pub mod bins;
pub mod cluster;
pub mod kubelet;
pub mod objects;
pub mod operator;
pub mod world;

pub use world::World;
