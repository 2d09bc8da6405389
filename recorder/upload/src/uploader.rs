//! The blocking-friendly front door: the recorder is a sync program driven by GStreamer
//! threads, so [`Uploader`] owns a small tokio runtime and every public method is an ordinary
//! function. Hand-offs (`put_file`, `growing`) return at once; only `check` and the end-of-run
//! waits block, and those must not be called from inside an async task.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::{Semaphore, SemaphorePermit, watch};
use tracing::warn;
use vcs_job::S3Target;

use crate::client::{Clients, endpoint_name};
use crate::error::UploadError;
use crate::growing::{self, GrowingObject};
use crate::object::{self, ObjectSlots};
use crate::parts::MIN_PART_SIZE;
use crate::retry::RetryContext;
use crate::spool::Spool;
use crate::status::{OutputId, Progress, UploadStatus, UploadSummary};

/// Settings for an [`Uploader`]. [`UploaderConfig::new`] fills in sensible defaults.
#[derive(Clone, Debug)]
pub struct UploaderConfig {
    /// Where snapshots of whole objects wait until S3 has them. Created if missing.
    pub spool_dir: PathBuf,
    /// Multipart part size for growing files; raised to 5 MiB (S3's minimum) if smaller.
    pub part_size: u64,
    /// How often a growing file is checked for new bytes (besides `GrowingObject::poll`).
    pub poll_interval: Duration,
    /// S3 requests in flight at once, across all objects.
    pub max_concurrent_requests: usize,
    /// First wait after a failed request during an outage; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Threads of the internal runtime; uploads are IO-bound, so 1–2 suffice.
    pub worker_threads: usize,
}

impl UploaderConfig {
    pub fn new(spool_dir: impl Into<PathBuf>) -> Self {
        Self {
            spool_dir: spool_dir.into(),
            part_size: 8 * 1024 * 1024,
            // Also the MP4 checkpoint cadence: what a crash can cost beyond the fragment being
            // written.
            poll_interval: Duration::from_millis(250),
            max_concurrent_requests: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            worker_threads: 2,
        }
    }
}

/// State shared by the upload tasks.
pub(crate) struct Shared {
    pub config: UploaderConfig,
    pub clients: Clients,
    pub progress: Progress,
    pub spool: Spool,
    pub objects: ObjectSlots,
    requests: Semaphore,
    /// Set at the shutdown deadline: stop retrying and report what is left.
    cancel: watch::Sender<bool>,
    /// Set at shutdown: every growing file is complete.
    pub finish_growing: watch::Sender<bool>,
    /// Number of running upload tasks.
    active: watch::Sender<usize>,
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn retry_context(&self) -> RetryContext<'_> {
        RetryContext {
            progress: &self.progress,
            cancel: self.cancel.subscribe(),
            initial_backoff: self.config.initial_backoff,
            max_backoff: self.config.max_backoff,
        }
    }

    /// Waits for a request slot; `None` only if the semaphore were closed, which it never is.
    pub(crate) async fn request_permit(&self) -> Option<SemaphorePermit<'_>> {
        self.requests.acquire().await.ok()
    }
}

/// Counts a running upload task from its creation (before it is first polled) to its end, so
/// waiting for "no tasks" cannot slip between a hand-off and the task starting.
pub(crate) struct ActiveTask(Arc<Shared>);

impl ActiveTask {
    pub(crate) fn start(shared: &Arc<Shared>) -> Self {
        shared.active.send_modify(|n| *n += 1);
        Self(shared.clone())
    }
}

impl Drop for ActiveTask {
    fn drop(&mut self) {
        self.0.active.send_modify(|n| *n -= 1);
    }
}

/// Uploads the recorder's outputs to S3 in the background, through outages.
///
/// Dropping it without [`Uploader::shutdown`] stops all uploads at once; spooled copies stay
/// on disk.
pub struct Uploader {
    shared: Arc<Shared>,
    runtime: Option<Runtime>,
}

impl Uploader {
    /// Starts the runtime and opens the spool folder.
    pub fn new(mut config: UploaderConfig) -> Result<Self, UploadError> {
        config.part_size = config.part_size.max(MIN_PART_SIZE);
        config.max_concurrent_requests = config.max_concurrent_requests.max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("vcs-upload")
            .enable_all()
            .build()
            .map_err(UploadError::Runtime)?;
        let shared = Arc::new(Shared {
            spool: Spool::open(&config.spool_dir)?,
            requests: Semaphore::new(config.max_concurrent_requests),
            config,
            clients: Clients::default(),
            progress: Progress::default(),
            objects: ObjectSlots::default(),
            cancel: watch::Sender::new(false),
            finish_growing: watch::Sender::new(false),
            active: watch::Sender::new(0),
            next_id: AtomicU64::new(0),
        });
        Ok(Self {
            shared,
            runtime: Some(runtime),
        })
    }

    fn runtime(&self) -> &Runtime {
        // Only `shutdown` and `drop` take the runtime, and both consume the uploader.
        self.runtime
            .as_ref()
            .expect("runtime present until shutdown")
    }

    /// Checks that the bucket exists and the credentials may use it. Blocks; call before
    /// recording, not from async code.
    pub fn check(&self, target: &S3Target) -> Result<(), UploadError> {
        self.runtime().block_on(crate::client::check(target))
    }

    /// Snapshots `path` into the spool and uploads it as object `key` (a full key, usually
    /// under `target.key`). A later put of the same key supersedes this one if it has not been
    /// sent yet. Returns once the snapshot is taken.
    pub fn put_file(&self, target: &S3Target, key: &str, path: &Path) -> Result<(), UploadError> {
        let spooled = self.shared.spool.copy_in(path)?;
        self.enqueue(target, key, spooled);
        Ok(())
    }

    fn enqueue(&self, target: &S3Target, key: &str, spooled: PathBuf) {
        let output = output_of(target);
        self.shared.progress.register(&output);
        object::enqueue(
            &self.shared,
            self.runtime().handle(),
            target,
            key.to_string(),
            spooled,
            output,
        );
    }

    /// Starts uploading `path`, a file that grows while recording, as object `key` (multipart,
    /// full parts as they fill). The file need not exist yet. Call `finish` on the returned
    /// handle (or drop it) once the writer has closed the file.
    pub fn growing(&self, target: &S3Target, key: &str, path: &Path) -> GrowingObject {
        let output = output_of(target);
        self.shared.progress.register(&output);
        growing::start(
            &self.shared,
            self.runtime().handle(),
            target,
            key,
            path,
            output,
            growing::Layout::Slices,
        )
    }

    /// Like [`growing`](Self::growing) for a fragmented MP4 (fragments appended, never
    /// rewritten): parts end at fragment boundaries and the bytes after the last part are
    /// checkpointed to S3 as each fragment completes, with a journal, so that after a crash
    /// [`crate::Recovery`] can complete the object into an MP4 that plays up to at most one
    /// fragment plus one `poll_interval` before the crash.
    pub fn growing_mp4(&self, target: &S3Target, key: &str, path: &Path) -> GrowingObject {
        let output = output_of(target);
        self.shared.progress.register(&output);
        growing::start(
            &self.shared,
            self.runtime().handle(),
            target,
            key,
            path,
            output,
            growing::Layout::Fragments,
        )
    }

    /// Totals and health right now, for the status API and metrics.
    pub fn status(&self) -> UploadStatus {
        self.shared.progress.status()
    }

    /// Per-output totals and errors so far.
    pub fn summary(&self) -> UploadSummary {
        self.shared.progress.summary()
    }

    /// Waits up to `timeout` until every handed-over upload is done (growing objects included,
    /// once they are finished) and returns the summary. Uploads keep going after a timeout.
    pub fn finish_all(&self, timeout: Duration) -> UploadSummary {
        let mut active = self.shared.active.subscribe();
        let idle = self.runtime().block_on(async {
            tokio::time::timeout(timeout, active.wait_for(|n| *n == 0))
                .await
                .is_ok()
        });
        if !idle {
            warn!(
                ?timeout,
                pending = self.status().pending,
                "uploads still running after the wait"
            );
        }
        self.summary()
    }

    /// Ends the recording's uploads: finishes every growing object still open, waits up to
    /// `deadline` for everything to reach S3, then stops retrying. Whatever did not make it is
    /// reported in the summary with the local path that still holds it.
    pub fn shutdown(self, deadline: Duration) -> UploadSummary {
        self.shutdown_unless(deadline, || false)
    }

    /// Like [`shutdown`](Self::shutdown), but stops waiting as soon as `give_up` returns true
    /// (checked a few times a second): a person or the pod's manager does not want to wait.
    pub fn shutdown_unless(
        mut self,
        deadline: Duration,
        give_up: impl Fn() -> bool,
    ) -> UploadSummary {
        self.shared.finish_growing.send_replace(true);
        let end = std::time::Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if self.wait_idle(left.min(Duration::from_millis(250))) {
                let summary = self.summary();
                if summary.is_complete() {
                    return summary;
                }
                break;
            }
            if left.is_zero() {
                warn!(
                    ?deadline,
                    pending = self.status().pending,
                    "uploads still running at the deadline"
                );
                break;
            }
            if give_up() {
                warn!(
                    pending = self.status().pending,
                    "no longer waiting for uploads"
                );
                break;
            }
        }
        self.shared.cancel.send_replace(true);
        let mut active = self.shared.active.subscribe();
        if let Some(runtime) = self.runtime.take() {
            // Cancelled tasks only record what they leave behind; that takes moments.
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(5), active.wait_for(|n| *n == 0))
                    .await;
            });
            runtime.shutdown_background();
        }
        self.summary()
    }

    /// Whether every upload task ended within `timeout`.
    fn wait_idle(&self, timeout: Duration) -> bool {
        let mut active = self.shared.active.subscribe();
        self.runtime().block_on(async {
            tokio::time::timeout(timeout, active.wait_for(|n| *n == 0))
                .await
                .is_ok()
        })
    }
}

impl Drop for Uploader {
    fn drop(&mut self) {
        self.shared.cancel.send_replace(true);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn output_of(target: &S3Target) -> OutputId {
    OutputId {
        endpoint: endpoint_name(target),
        bucket: target.bucket.clone(),
        prefix: target.key.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_can_be_shared_across_the_recorders_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Uploader>();
        shareable::<GrowingObject>();
    }
}
