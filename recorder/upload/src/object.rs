//! Whole objects (HLS segments, the playlist): one PutObject each, newest version wins.
//!
//! Each S3 key has a slot holding at most one pending snapshot. A put while an older version of
//! the same key is still waiting replaces it (its spooled copy is deleted unsent): only the
//! latest playlist matters, and during an outage the playlist would otherwise pile up one copy
//! per rewrite. At most one task per key uploads, so versions reach S3 in order and an older
//! upload can never land after a newer one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tracing::{debug, error};
use vcs_job::S3Target;

use vcs_job::control::error_chain;

use crate::client::location;
use crate::error::{Location, UploadError};
use crate::requests;
use crate::retry::Outcome;
use crate::spool::Spool;
use crate::status::OutputId;
use crate::uploader::{ActiveTask, Shared};

/// One S3 object, independent of credentials.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ObjectKey {
    endpoint: Option<String>,
    bucket: String,
    key: String,
}

/// A spooled version waiting for upload.
struct Snapshot {
    path: PathBuf,
    since: Instant,
    target: S3Target,
    output: OutputId,
}

struct Slot {
    /// Identifies the slot in the pending-items view.
    id: u64,
    pending: Option<Snapshot>,
    uploading: bool,
}

/// All keys that have been put.
#[derive(Default)]
pub(crate) struct ObjectSlots {
    slots: Mutex<HashMap<ObjectKey, Slot>>,
}

impl ObjectSlots {
    fn lock(&self) -> MutexGuard<'_, HashMap<ObjectKey, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Queues the spooled file at `path` as the newest version of `key`, starting an upload task
/// for the key unless one is running (it will pick the new version up next).
pub(crate) fn enqueue(
    shared: &Arc<Shared>,
    runtime: &tokio::runtime::Handle,
    target: &S3Target,
    key: String,
    path: PathBuf,
    output: OutputId,
) {
    let object = ObjectKey {
        endpoint: target.endpoint.clone(),
        bucket: target.bucket.clone(),
        key,
    };
    let snapshot = Snapshot {
        path,
        since: Instant::now(),
        target: target.clone(),
        output: output.clone(),
    };
    let mut slots = shared.objects.lock();
    let slot = slots.entry(object.clone()).or_insert_with(|| Slot {
        id: shared.next_id(),
        pending: None,
        uploading: false,
    });
    shared
        .progress
        .set_pending(slot.id, &output, snapshot.since);
    if let Some(superseded) = slot.pending.replace(snapshot) {
        debug!(key = %object.key, "newer version supersedes a pending one");
        Spool::remove(&superseded.path);
    }
    if !slot.uploading {
        slot.uploading = true;
        let task = ActiveTask::start(shared);
        runtime.spawn(upload_slot(shared.clone(), object, slot.id, task));
    }
}

/// Uploads the slot's pending versions until none is left.
async fn upload_slot(shared: Arc<Shared>, object: ObjectKey, id: u64, _task: ActiveTask) {
    loop {
        let snapshot = {
            let mut slots = shared.objects.lock();
            let Some(slot) = slots.get_mut(&object) else {
                return;
            };
            match slot.pending.take() {
                Some(snapshot) => snapshot,
                None => {
                    slot.uploading = false;
                    return;
                }
            }
        };
        let location = location(&snapshot.target, &object.key);
        match put(&shared, &snapshot, &location).await {
            Ok(bytes) => {
                Spool::remove(&snapshot.path);
                shared.progress.add_bytes(&snapshot.output, bytes);
                shared.progress.object_written(&snapshot.output);
                debug!(%location, bytes, "object uploaded");
            }
            Err(None) => {
                // Deadline: leave the newest version (this one unless superseded) on disk.
                let error = UploadError::DeadlinePassed {
                    location,
                    path: snapshot.path.clone(),
                };
                shared.progress.record_failure(&snapshot.output, &error);
                let mut slots = shared.objects.lock();
                if let Some(slot) = slots.get_mut(&object) {
                    slot.uploading = false;
                    if slot.pending.is_none() {
                        slot.pending = Some(snapshot);
                    }
                }
                return;
            }
            Err(Some(error)) => {
                error!(%location, spooled = %snapshot.path.display(), cause = %error_chain(&error), "upload stopped");
                shared.progress.record_failure(&snapshot.output, &error);
            }
        }
        let slots = shared.objects.lock();
        shared.progress.clear_pending(id);
        if let Some(next) = slots.get(&object).and_then(|s| s.pending.as_ref()) {
            shared.progress.set_pending(id, &next.output, next.since);
        }
    }
}

/// One PutObject, retried through outages. `Err(None)` means cancelled at the deadline.
async fn put(
    shared: &Shared,
    snapshot: &Snapshot,
    location: &Location,
) -> Result<u64, Option<UploadError>> {
    let bytes = tokio::fs::read(&snapshot.path)
        .await
        .map_err(|source| UploadError::LocalFile {
            path: snapshot.path.clone(),
            location: location.clone(),
            source,
        })?;
    let len = bytes.len() as u64;
    let body = bytes::Bytes::from(bytes);
    let client = shared.clients.get(&snapshot.target).await?;
    let outcome = requests::put_object(shared, &client, location, body).await;
    match outcome {
        Outcome::Done(_) => Ok(len),
        Outcome::Cancelled => Err(None),
        Outcome::Fatal(error) => Err(Some(error)),
        Outcome::UploadVanished => Err(Some(UploadError::unexpected(
            location.clone(),
            "unexpected NoSuchUpload for a single put",
        ))),
    }
}
