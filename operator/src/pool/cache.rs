//! The pools' pods in memory: a reflector over every pod carrying the pool label, so a claim
//! reads its candidates from the watch instead of listing (and decoding) every pod of the pool
//! per Recording. A cache may lag the API server by a moment; claims stay correct regardless,
//! because each is a compare-and-set on the pod's resourceVersion (a stale candidate loses with
//! 409 and the claim moves on), and a claim that finds nothing in the cache lists before it
//! falls back to a cold start.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::task::JoinHandle;

use crate::api::LABEL_POOL;

/// Starts watching the pool pods of `namespace` (all namespaces when `None`); the task runs
/// until aborted.
pub fn watch(client: kube::Client, namespace: Option<&str>) -> (Store<Pod>, JoinHandle<()>) {
    let api: kube::Api<Pod> = match namespace {
        Some(ns) => kube::Api::namespaced(client, ns),
        None => kube::Api::all(client),
    };
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default().labels(LABEL_POOL)),
    );
    let task = tokio::spawn(async move {
        stream
            .default_backoff()
            .touched_objects()
            .for_each(|r| async move {
                if let Err(e) = r {
                    tracing::debug!(cause = %e, "pool pod watch");
                }
            })
            .await;
    });
    (reader, task)
}

/// The cached pods of pool `pool` in namespace `ns`.
pub fn pods_of(cache: &Store<Pod>, ns: &str, pool: &str) -> Vec<Pod> {
    cache
        .state_filter(|p| {
            p.namespace().as_deref() == Some(ns)
                && p.labels().get(LABEL_POOL).map(String::as_str) == Some(pool)
        })
        .into_iter()
        .map(|p| (*p).clone())
        .collect()
}

/// The cached pods of namespace `ns` with label `key=value`.
pub fn pods_labelled(cache: &Store<Pod>, ns: &str, key: &str, value: &str) -> Vec<Pod> {
    cache
        .state_filter(|p| {
            p.namespace().as_deref() == Some(ns)
                && p.labels().get(key).map(String::as_str) == Some(value)
        })
        .into_iter()
        .map(|p| (*p).clone())
        .collect()
}
