//! The flows users run, each a test against the real API server (see the `vcs_e2e` crate doc):
//! each test has a world of its own (namespace, region, Node, operator installed with Helm), so
//! they run side by side. Skipped (and passing) without `KUBECONFIG`. Each prints its time as
//! `e2e time: <test> passed in <s> s`.

mod burst;
mod lifecycle;
mod operator;
mod pool;
mod regions;
