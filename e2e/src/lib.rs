//! End-to-end tests of the operator against a real Kubernetes API server (architecture.md §7,
//! tier 4). They run when `KUBECONFIG` is set and print `skipped: KUBECONFIG not set …` and
//! pass otherwise; `make e2e` (part of `make test`) starts the shared control plane when it is
//! there and runs them against it.
//!
//! A [`World`] is one test's part of the cluster: a namespace, a region of its own with a Node
//! run by the kubelet stand-in ([`kubelet`]), a real S3 server (s3s-fs) on loopback, and the
//! operator installed with `helm install` of `charts/vcs`, its Deployment's pods run by the
//! stand-in as the chart's ServiceAccount (a bound token, so the chart's RBAC is what the
//! operator may do). The real kube-scheduler binds recorder pods to the Node because the pools'
//! node selectors name its region, and the real controller-manager runs the Deployment,
//! garbage-collects by owner and watches the Node's Lease.
//!
//! Needs: the `vcs-operator` and `vcs-recorder` binaries built (`cargo build --workspace
//! --bins`, or `VCS_OPERATOR_BIN`/`VCS_RECORDER_BIN`), `helm` (scripts/install-deps) and
//! `kubectl`, `s3s-fs` and `ffmpeg`, and Linux (all of 127.0.0.0/8 is loopback there).
//! Nothing is assumed about the cluster beyond what the tests create: any `KUBECONFIG` with
//! admin rights works.
//!
//! # Layout
//! - [`bins`]: finding the workspace binaries and the tools the tests run.
//! - [`cluster`]: connecting (or skipping), applying the CRDs, per-test namespaces.
//! - [`kubelet`]: the kubelet stand-in: a Node whose pods run as local processes.
//! - [`objects`]: the Secrets and Recordings the tests create.
//! - [`tools`]: `kubectl` and `helm` as a user runs them.
//! - [`world`]: all of the above started together for one test.

pub mod bins;
pub mod cluster;
pub mod kubelet;
pub mod objects;
pub mod tools;
pub mod world;

pub use world::World;

/// Prints how long the test `name` took when dropped (to stderr directly, so a passing test's
/// time shows in a plain `cargo test` run too).
pub struct Timed {
    name: &'static str,
    started: std::time::Instant,
}

/// Starts timing test `name`.
pub fn timed(name: &'static str) -> Timed {
    Timed {
        name,
        started: std::time::Instant::now(),
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        use std::io::Write;
        let outcome = if std::thread::panicking() {
            "failed"
        } else {
            "passed"
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "e2e time: {} {outcome} in {:.1} s",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }
}
