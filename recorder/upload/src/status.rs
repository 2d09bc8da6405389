//! What the uploader has done and still has to do, for the recorder's status API, its metrics
//! and the end-of-recording summary.
//!
//! Counters live behind one std `Mutex`: every update is a few field writes, never held across
//! an `.await`, so a blocking lock is cheaper and simpler than an async one, and the recorder's
//! sync threads can read it directly.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use vcs_job::control::error_chain;

use crate::error::UploadError;

/// One output: everything uploaded under a job's S3 target (bucket + key prefix + endpoint).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutputId {
    pub endpoint: String,
    pub bucket: String,
    /// The target's `key`: the object key for an MP4, the prefix for HLS.
    pub prefix: String,
}

/// A point-in-time view of the whole uploader.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UploadStatus {
    /// Bytes sent in successful requests (re-sent parts count again).
    pub bytes_uploaded: u64,
    /// Objects completed (PutObject or CompleteMultipartUpload succeeded).
    pub objects_written: u64,
    /// Objects or multipart parts waiting to be uploaded.
    pub pending: usize,
    /// Age of the oldest pending item; zero when nothing waits.
    pub upload_lag: Duration,
    /// True while the latest S3 call failed and is being retried (an outage).
    pub retrying: bool,
    /// The most recent failure, retried or not.
    pub last_error: Option<String>,
}

/// Totals for one output, returned at the end of the recording.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputSummary {
    pub endpoint: String,
    pub bucket: String,
    pub prefix: String,
    pub objects_written: u64,
    pub bytes_uploaded: u64,
    /// Items not uploaded (deadline passed or a failure that needs a person).
    pub pending: usize,
    /// Failures that stopped an upload, each naming the object and what to do.
    pub errors: Vec<String>,
}

/// Every output the uploader touched, sorted by endpoint, bucket and prefix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UploadSummary {
    pub outputs: Vec<OutputSummary>,
}

impl UploadSummary {
    /// True when every object was written and nothing failed.
    pub fn is_complete(&self) -> bool {
        self.outputs
            .iter()
            .all(|o| o.pending == 0 && o.errors.is_empty())
    }
}

#[derive(Default)]
struct Tally {
    objects_written: u64,
    bytes_uploaded: u64,
    errors: Vec<String>,
}

#[derive(Default)]
struct Inner {
    outputs: BTreeMap<OutputId, Tally>,
    pending: HashMap<u64, (OutputId, Instant)>,
    bytes_uploaded: u64,
    objects_written: u64,
    retrying: bool,
    last_error: Option<String>,
}

/// Shared counters; cheap to update from any task.
#[derive(Default)]
pub(crate) struct Progress {
    inner: Mutex<Inner>,
}

impl Progress {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain counters behind, still worth reading.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes `output` appear in summaries even before anything is written to it.
    pub(crate) fn register(&self, output: &OutputId) {
        self.lock().outputs.entry(output.clone()).or_default();
    }

    /// Marks item `id` as waiting since `since`; a second call keeps the older time so the lag
    /// of a superseded object counts from its first unsent version.
    pub(crate) fn set_pending(&self, id: u64, output: &OutputId, since: Instant) {
        self.lock()
            .pending
            .entry(id)
            .or_insert_with(|| (output.clone(), since));
    }

    pub(crate) fn clear_pending(&self, id: u64) {
        self.lock().pending.remove(&id);
    }

    pub(crate) fn add_bytes(&self, output: &OutputId, bytes: u64) {
        let mut inner = self.lock();
        inner.bytes_uploaded += bytes;
        inner
            .outputs
            .entry(output.clone())
            .or_default()
            .bytes_uploaded += bytes;
    }

    pub(crate) fn object_written(&self, output: &OutputId) {
        let mut inner = self.lock();
        inner.objects_written += 1;
        inner
            .outputs
            .entry(output.clone())
            .or_default()
            .objects_written += 1;
    }

    pub(crate) fn record_retry(&self, error: &UploadError) {
        let mut inner = self.lock();
        inner.retrying = true;
        inner.last_error = Some(error_chain(error));
    }

    pub(crate) fn end_retrying(&self) {
        self.lock().retrying = false;
    }

    /// Records a failure that ended an upload; it is reported in the summary of `output`.
    pub(crate) fn record_failure(&self, output: &OutputId, error: &UploadError) {
        let mut inner = self.lock();
        let message = error_chain(error);
        inner.last_error = Some(message.clone());
        inner
            .outputs
            .entry(output.clone())
            .or_default()
            .errors
            .push(message);
    }

    pub(crate) fn status(&self) -> UploadStatus {
        let inner = self.lock();
        let now = Instant::now();
        let upload_lag = inner
            .pending
            .values()
            .map(|(_, since)| now.saturating_duration_since(*since))
            .max()
            .unwrap_or_default();
        UploadStatus {
            bytes_uploaded: inner.bytes_uploaded,
            objects_written: inner.objects_written,
            pending: inner.pending.len(),
            upload_lag,
            retrying: inner.retrying,
            last_error: inner.last_error.clone(),
        }
    }

    pub(crate) fn summary(&self) -> UploadSummary {
        let inner = self.lock();
        let outputs = inner
            .outputs
            .iter()
            .map(|(id, tally)| OutputSummary {
                endpoint: id.endpoint.clone(),
                bucket: id.bucket.clone(),
                prefix: id.prefix.clone(),
                objects_written: tally.objects_written,
                bytes_uploaded: tally.bytes_uploaded,
                pending: inner.pending.values().filter(|(o, _)| o == id).count(),
                errors: tally.errors.clone(),
            })
            .collect();
        UploadSummary { outputs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(prefix: &str) -> OutputId {
        OutputId {
            endpoint: "http://s3".into(),
            bucket: "b".into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn lag_counts_from_the_oldest_pending_item_and_superseding_keeps_its_age() {
        let progress = Progress::default();
        let old = Instant::now() - Duration::from_secs(5);
        progress.set_pending(1, &output("hls"), old);
        progress.set_pending(1, &output("hls"), Instant::now());
        progress.set_pending(2, &output("mp4"), Instant::now());
        let status = progress.status();
        assert_eq!(status.pending, 2);
        assert!(status.upload_lag >= Duration::from_secs(5));
        progress.clear_pending(1);
        progress.clear_pending(2);
        assert_eq!(progress.status().upload_lag, Duration::ZERO);
    }

    #[test]
    fn summary_is_per_output_and_complete_only_without_errors_or_pending() {
        let progress = Progress::default();
        progress.add_bytes(&output("hls"), 10);
        progress.object_written(&output("hls"));
        progress.register(&output("mp4"));
        let summary = progress.summary();
        assert_eq!(summary.outputs.len(), 2);
        assert_eq!(summary.outputs[0].prefix, "hls");
        assert_eq!(summary.outputs[0].bytes_uploaded, 10);
        assert!(summary.is_complete());
        progress.set_pending(7, &output("mp4"), Instant::now());
        assert!(!progress.summary().is_complete());
    }
}
