//! Test-only parts that let CI run the real controllers: a fake API server, a fake kubelet and
//! a fake recorder fleet speaking the control API. Compiled with the `testkit` feature.

pub mod apiserver;
pub mod harness;
pub mod kubelet;
pub mod recorder;
pub mod store;

pub use apiserver::FakeApi;
pub use kubelet::FakeKubelet;
pub use recorder::FakeRecorders;
