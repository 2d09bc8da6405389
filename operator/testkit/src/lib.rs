//! A Kubernetes API server and kubelet in the test process, so tests run the operator's real
//! controllers (watches, resourceVersion conflicts, finalizers, status subresources) without a
//! cluster (architecture.md §7, testing tier 3). Nothing here knows the operator or VCS: the
//! store holds any resource as JSON, and what runs "inside" a pod is the test's business
//! ([`kubelet::Containers`]).
//!
//! A real `kube::Client` talks to [`FakeApi`] as a tower service (no socket), so every request
//! goes through kube's own serialisation, error mapping and watch machinery.
//!
//! # Layout
//! - [`apiserver`]: [`FakeApi`], the request router (list, get, create, replace, merge patch,
//!   server-side apply as a merge, delete with preconditions, the status subresource), write
//!   counts and injected write latency.
//! - `watch`: watch streams (initial list or replay from a resourceVersion, then live changes).
//! - [`store`]: the object store: resourceVersions, generations, subresource split,
//!   finalizers and deletion, label and field selectors, the change log.
//! - [`kubelet`]: [`FakeKubelet`], which makes new pods Running and Ready with their own IP and
//!   runs the test's [`kubelet::Containers`] for them.

pub mod apiserver;
pub mod kubelet;
pub mod store;
mod watch;

pub use apiserver::{FakeApi, WriteCounts};
pub use kubelet::{Containers, FakeKubelet, PodRef};
pub use store::{ApiError, Change, Key};
