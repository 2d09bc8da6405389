//! A fake kubelet: pods become Running and Ready after a delay, each with its own podIP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;

use super::FakeApi;

/// Runs until dropped.
pub struct FakeKubelet {
    task: JoinHandle<()>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKubelet {
    /// Starts pods created from now on: `ready_after` later each is Running, Ready and has a
    /// fresh IP (`10.0.x.y`, never reused).
    pub fn start(api: &FakeApi, ready_after: Duration) -> Self {
        let api = api.clone();
        let mut rx = api.subscribe();
        let next_ip = Arc::new(AtomicU32::new(1));
        let task = tokio::spawn(async move {
            while let Ok(change) = rx.recv().await {
                if change.key.resource != "pods" || change.deleted || change.old.is_some() {
                    continue;
                }
                let (api, key) = (api.clone(), change.key.clone());
                let n = next_ip.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    tokio::time::sleep(ready_after).await;
                    let ip = format!("10.{}.{}.{}", n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff);
                    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    // Gone already (deleted while starting): nothing to do.
                    let _ = api.modify(&key, true, |pod| {
                        pod["status"] = json!({
                            "phase": "Running",
                            "podIP": ip,
                            "startTime": now,
                            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
                        });
                    });
                });
            }
        });
        Self { task }
    }
}
