//! A file that grows while recording (the fragmented MP4), uploaded as one S3 multipart upload.
//!
//! A background task checks the file every `poll_interval` (or when nudged) and uploads a part
//! whenever at least `part_size` new bytes are there, so at the end only the tail is left and the
//! object appears in S3 moments after the recording stops. At finish it re-reads the whole file
//! and re-uploads any part whose bytes changed since it was sent, under the same part number,
//! then completes the upload. A file that never reached one part is sent with a single
//! PutObject instead.
//!
//! A fragmented MP4 ([`Layout::Fragments`]) is cut only at fragment boundaries, and the bytes
//! past the last part are checkpointed to small tail objects as each fragment completes, with a
//! journal of the parts (see `journal`): if the recorder dies, `recovery` completes the upload
//! into a playable MP4 that ends at most one fragment plus one poll before the crash.
//!
//! If the multipart upload disappears (NoSuchUpload: aborted, expired, or a store that lost it
//! in a restart), a new one is started and every part is sent again from the local file, which
//! is the source of truth until the object is complete.
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::Client;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;
use tracing::{debug, error, info};
use vcs_job::S3Target;

use vcs_job::control::error_chain;

use crate::client::location;
use crate::error::{Location, UploadError};
use crate::fragments::{self, Scan};
use crate::journal::{self, Journal, JournalPart};
use crate::parts::{self, PartSpan, UploadedPart};
use crate::requests;
use crate::retry::Outcome;
use crate::status::OutputId;
use crate::uploader::{ActiveTask, Shared};

/// Handle to a growing upload. Dropping it finishes the object, like closing a file.
pub struct GrowingObject {
    signal: watch::Sender<Signal>,
}

#[derive(Clone, Debug, Default)]
struct Signal {
    nudges: u64,
    finished: bool,
    /// Where the finished file now is, when the writer renamed it on close (the MP4's
    /// `.part` moved into place).
    moved_to: Option<PathBuf>,
}

impl GrowingObject {
    /// Checks the file for new full parts now instead of at the next poll.
    pub fn poll(&self) {
        self.signal.send_modify(|s| s.nudges += 1);
    }

    /// The writer has closed the file: upload the tail, re-send changed parts and complete.
    /// Returns at once; `Uploader::finish_all`/`shutdown` wait for the result.
    pub fn finish(self) {}

    /// Like [`finish`](Self::finish) for a file the writer renamed when it closed it: the final
    /// pass reads `path`.
    pub fn finish_at(self, path: &Path) {
        self.signal
            .send_modify(|s| s.moved_to = Some(path.to_path_buf()));
    }
}

impl Drop for GrowingObject {
    fn drop(&mut self) {
        self.signal.send_modify(|s| s.finished = true);
    }
}

pub(crate) fn start(
    shared: &Arc<Shared>,
    runtime: &tokio::runtime::Handle,
    target: &S3Target,
    key: &str,
    path: &Path,
    output: OutputId,
    layout: Layout,
) -> GrowingObject {
    let (signal, signals) = watch::channel(Signal::default());
    let upload = Upload {
        layout,
        key: key.to_string(),
        run: journal::run_id(),
        scan: Scan::default(),
        checkpointed: 0,
        tail_keys: Vec::new(),
        id: shared.next_id(),
        shared: shared.clone(),
        target: target.clone(),
        location: location(target, key),
        path: path.to_path_buf(),
        output,
        upload_id: None,
        parts: Vec::new(),
        proven: false,
        restarts: 0,
        waiting_since: None,
    };
    let task = ActiveTask::start(shared);
    runtime.spawn(upload.run(signals, task));
    GrowingObject { signal }
}

/// Where parts of a growing file may end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Anywhere: fixed `part_size` slices (any growing file).
    Slices,
    /// After whole MP4 fragments only, with the tail checkpointed and a journal for recovery.
    Fragments,
}

/// How often one object may start its multipart upload over.
const MAX_RESTARTS: u32 = 3;

/// Why an upload stopped early.
enum Stop {
    Fatal(UploadError),
    Cancelled,
}

impl Stop {
    /// For calls whose upload cannot vanish (no multipart upload involved, or creating one).
    fn from_outcome<T>(outcome: Outcome<T>, location: &Location) -> Self {
        match outcome {
            Outcome::Cancelled => Stop::Cancelled,
            Outcome::Fatal(error) => Stop::Fatal(error),
            Outcome::Done(_) | Outcome::UploadVanished => Stop::Fatal(UploadError::unexpected(
                location.clone(),
                "the multipart upload kept vanishing (NoSuchUpload)",
            )),
        }
    }
}

struct Upload {
    layout: Layout,
    /// The object key (`location.key`), the base of the recovery objects' keys.
    key: String,
    /// Names this recording's recovery objects apart from those of an earlier run.
    run: String,
    /// How far the file's boxes have been read (fragments layout).
    scan: Scan,
    /// The file is in S3 (parts, then tail objects) up to this offset.
    checkpointed: u64,
    /// Tail objects in S3 not yet covered by a part.
    tail_keys: Vec<String>,
    id: u64,
    shared: Arc<Shared>,
    target: S3Target,
    location: Location,
    path: PathBuf,
    output: OutputId,
    upload_id: Option<String>,
    /// Parts S3 holds for `upload_id`; index i is part number i + 1.
    parts: Vec<UploadedPart>,
    /// A request on `upload_id` has succeeded, so the bucket and credentials are fine.
    proven: bool,
    /// Times a vanished upload was started over; bounded so a store that keeps losing (or
    /// refusing) uploads ends in an error instead of a loop.
    restarts: u32,
    /// When the oldest unsent full part was first seen, for the upload-lag metric.
    waiting_since: Option<Instant>,
}

impl Upload {
    async fn run(mut self, mut signals: watch::Receiver<Signal>, _task: ActiveTask) {
        let mut finish_all = self.shared.finish_growing.subscribe();
        let result = async {
            loop {
                let signal = signals.borrow_and_update().clone();
                if let Some(moved) = signal.moved_to {
                    self.path = moved;
                }
                let finished = signal.finished || *finish_all.borrow();
                if finished {
                    return self.finish().await;
                }
                match self.send_full_parts().await {
                    // Renamed by its writer between two reads: the MP4's `.part` moves into
                    // place on close just before `finish_at` says where. The signal (or, if
                    // it never comes, the final pass's own error) follows.
                    Err(Stop::Fatal(UploadError::LocalFile { source, .. }))
                        if source.kind() == std::io::ErrorKind::NotFound => {}
                    other => other?,
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.shared.config.poll_interval) => {}
                    _ = signals.changed() => {}
                    _ = finish_all.changed() => {}
                }
            }
        }
        .await;
        self.shared.progress.clear_pending(self.id);
        match result {
            Ok(()) => {}
            Err(Stop::Fatal(error)) => {
                error!(location = %self.location, file = %self.path.display(), cause = %error_chain(&error), "growing upload stopped");
                self.shared.progress.record_failure(&self.output, &error);
            }
            Err(Stop::Cancelled) => {
                let error = UploadError::DeadlinePassed {
                    location: self.location.clone(),
                    path: self.path.clone(),
                };
                self.shared.progress.record_failure(&self.output, &error);
            }
        }
    }

    /// Sends every full part the file has beyond those already sent, then (fragments layout)
    /// checkpoints what is left up to the last whole fragment.
    async fn send_full_parts(&mut self) -> Result<(), Stop> {
        let len = match tokio::fs::metadata(&self.path).await {
            Ok(meta) => meta.len(),
            // Not created yet, or briefly unreadable: look again at the next poll.
            Err(_) => return Ok(()),
        };
        let cut = match self.layout {
            Layout::Slices => len,
            Layout::Fragments => self.scan_fragments(len).await?,
        };
        let part_size = self.shared.config.part_size;
        while let Some(span) = parts::next_while_growing(
            self.parts.len(),
            self.covered(),
            part_size,
            cut,
            self.layout == Layout::Fragments,
        ) {
            let since = *self.waiting_since.get_or_insert_with(Instant::now);
            self.shared
                .progress
                .set_pending(self.id, &self.output, since);
            let bytes = self.read(span).await?;
            self.send_part(span, bytes).await?;
            self.after_part().await?;
        }
        if self.layout == Layout::Fragments && cut > self.checkpointed.max(self.covered()) {
            let since = *self.waiting_since.get_or_insert_with(Instant::now);
            self.shared
                .progress
                .set_pending(self.id, &self.output, since);
            self.checkpoint_tail(cut).await?;
        }
        self.waiting_since = None;
        self.shared.progress.clear_pending(self.id);
        Ok(())
    }

    /// Reads the box headers written since the last look; returns where the file may be cut.
    async fn scan_fragments(&mut self, len: u64) -> Result<u64, Stop> {
        let mut file = tokio::fs::File::open(&self.path)
            .await
            .map_err(|source| self.local_error(source))?;
        loop {
            let mut header = [0u8; fragments::HEADER_LEN];
            let available = len.saturating_sub(self.scan.next_box);
            let want = (available as usize).min(header.len());
            if want < 8 {
                break;
            }
            file.seek(SeekFrom::Start(self.scan.next_box))
                .await
                .map_err(|source| self.local_error(source))?;
            file.read_exact(&mut header[..want])
                .await
                .map_err(|source| self.local_error(source))?;
            let Some(parsed) = fragments::parse_header(&header[..want]) else {
                break;
            };
            if !self.scan.advance(parsed, len) {
                break;
            }
        }
        Ok(self.scan.cut)
    }

    /// End of the bytes S3 holds as parts.
    fn covered(&self) -> u64 {
        self.parts.last().map_or(0, |p| p.span.offset + p.span.len)
    }

    /// Uploads bytes `checkpointed..cut` as a tail object, so a crash loses at most the
    /// fragment being written plus one poll.
    async fn checkpoint_tail(&mut self, cut: u64) -> Result<(), Stop> {
        let from = self.checkpointed.max(self.covered());
        let span = PartSpan {
            number: 0,
            offset: from,
            len: cut - from,
        };
        let bytes = self.read(span).await?;
        let key = journal::tail_key(&self.key, &self.run, from);
        self.put_small(&key, bytes).await?;
        debug!(location = %self.location, from, to = cut, "tail checkpointed");
        self.tail_keys.push(key);
        self.checkpointed = cut;
        Ok(())
    }

    /// A part was accepted: record it in the journal, then drop the tail objects it covers.
    async fn after_part(&mut self) -> Result<(), Stop> {
        if self.layout != Layout::Fragments {
            return Ok(());
        }
        let journal = Journal {
            upload_id: self.upload_id.clone().unwrap_or_default(),
            parts: self
                .parts
                .iter()
                .map(|p| JournalPart {
                    number: p.span.number,
                    offset: p.span.offset,
                    len: p.span.len,
                    etag: p.etag.clone(),
                })
                .collect(),
        };
        let body = serde_json::to_vec(&journal).unwrap_or_default();
        let key = journal::journal_key(&self.key, &self.run);
        self.put_small(&key, body.into()).await?;
        self.checkpointed = self.checkpointed.max(self.covered());
        let covered = std::mem::take(&mut self.tail_keys);
        self.delete_all(&covered).await
    }

    /// PutObject of a recovery object next to the upload.
    async fn put_small(&self, key: &str, bytes: bytes::Bytes) -> Result<(), Stop> {
        let client = self.client().await?;
        let at = location(&self.target, key);
        match requests::put_object(&self.shared, &client, &at, bytes).await {
            Outcome::Done(()) => Ok(()),
            other => Err(Stop::from_outcome(other, &at)),
        }
    }

    async fn delete_all(&self, keys: &[String]) -> Result<(), Stop> {
        let client = self.client().await?;
        for key in keys {
            let at = location(&self.target, key);
            match requests::delete_object(&self.shared, &client, &at).await {
                Outcome::Done(()) => {}
                // A leftover recovery object is ignored by recovery once a part covers it.
                Outcome::Fatal(error) => {
                    debug!(location = %at, cause = %error_chain(&error), "cannot delete a recovery object")
                }
                other => return Err(Stop::from_outcome(other, &at)),
            }
        }
        Ok(())
    }

    /// The object is complete: its recovery objects are no longer needed.
    async fn remove_recovery_objects(&mut self) -> Result<(), Stop> {
        if self.layout != Layout::Fragments {
            return Ok(());
        }
        let mut keys = std::mem::take(&mut self.tail_keys);
        keys.push(journal::journal_key(&self.key, &self.run));
        self.delete_all(&keys).await
    }

    /// The final pass: tail, changed parts, completion (or one PutObject for a small file).
    async fn finish(&mut self) -> Result<(), Stop> {
        self.shared
            .progress
            .set_pending(self.id, &self.output, Instant::now());
        let len = tokio::fs::metadata(&self.path)
            .await
            .map_err(|source| self.local_error(source))?
            .len();
        let part_size = self.shared.config.part_size;
        if self.upload_id.is_none() && len < part_size {
            return self.put_whole(len).await;
        }
        let sent: Vec<PartSpan> = self.parts.iter().map(|p| p.span).collect();
        let layout = parts::final_layout(&sent, part_size, len);
        let mut resent = 0;
        for want in &layout {
            let bytes = self.read(*want).await?;
            let index = (want.number - 1) as usize;
            let current = parts::hash(&bytes);
            let unchanged = self
                .parts
                .get(index)
                .is_some_and(|sent| parts::still_matches(sent, want, &current));
            if !unchanged {
                if index < self.parts.len() {
                    resent += 1;
                }
                self.send_part(*want, bytes).await?;
            }
        }
        self.parts.truncate(layout.len());
        if resent > 0 {
            info!(location = %self.location, resent, "re-sent parts the writer changed after upload");
        }
        self.complete().await?;
        info!(location = %self.location, bytes = len, parts = layout.len(), "multipart upload completed");
        self.remove_recovery_objects().await
    }

    async fn read(&self, span: PartSpan) -> Result<bytes::Bytes, Stop> {
        read_span(&self.path, span)
            .await
            .map_err(|source| self.local_error(source))
    }

    fn local_error(&self, source: std::io::Error) -> Stop {
        Stop::Fatal(UploadError::LocalFile {
            path: self.path.clone(),
            location: self.location.clone(),
            source,
        })
    }

    async fn client(&self) -> Result<Client, Stop> {
        self.shared
            .clients
            .get(&self.target)
            .await
            .map_err(Stop::Fatal)
    }

    /// Sends `bytes` as part `span.number`, starting a multipart upload first if needed and
    /// starting over (all earlier parts re-sent) if the upload vanished.
    async fn send_part(&mut self, span: PartSpan, bytes: bytes::Bytes) -> Result<(), Stop> {
        loop {
            let upload_id = self.upload_id().await?;
            let client = self.client().await?;
            let outcome = requests::upload_part(
                &self.shared,
                &client,
                &self.location,
                &upload_id,
                span.number,
                bytes.clone(),
            )
            .await;
            match outcome {
                Outcome::Done(etag) => {
                    let part = UploadedPart {
                        span,
                        sha256: parts::hash(&bytes),
                        etag,
                    };
                    let index = (span.number - 1) as usize;
                    if index < self.parts.len() {
                        self.parts[index] = part;
                    } else {
                        self.parts.push(part);
                    }
                    self.proven = true;
                    self.shared.progress.add_bytes(&self.output, span.len);
                    debug!(location = %self.location, part = span.number, bytes = span.len, "part uploaded");
                    return Ok(());
                }
                other if self.vanished(&other) => self.restart().await?,
                other => return Err(Stop::from_outcome(other, &self.location)),
            }
        }
    }

    /// Whether a failed call on the current upload means the upload itself is gone. Besides
    /// NoSuchUpload, an access error on an upload that already accepted parts counts: some
    /// stores (s3s-fs among them) answer AccessDenied for an upload id they no longer know.
    fn vanished<T>(&self, outcome: &Outcome<T>) -> bool {
        let gone = match outcome {
            Outcome::UploadVanished => true,
            Outcome::Fatal(UploadError::AccessDenied { .. }) => self.proven,
            _ => false,
        };
        gone && self.restarts < MAX_RESTARTS
    }

    /// The multipart upload is gone: start a new one and re-send every part sent so far.
    async fn restart(&mut self) -> Result<(), Stop> {
        let sent: Vec<PartSpan> = self.parts.iter().map(|p| p.span).collect();
        info!(location = %self.location, parts = sent.len(), "multipart upload vanished; starting over");
        self.restarts += 1;
        self.proven = false;
        self.upload_id = None;
        self.parts.clear();
        for span in sent {
            let bytes = self.read(span).await?;
            Box::pin(self.send_part(span, bytes)).await?;
        }
        // The journal must name the new upload before a crash could need it.
        Box::pin(self.after_part()).await
    }

    async fn upload_id(&mut self) -> Result<String, Stop> {
        if let Some(id) = &self.upload_id {
            return Ok(id.clone());
        }
        let client = self.client().await?;
        let outcome =
            requests::create_multipart_upload(&self.shared, &client, &self.location).await;
        let id = match outcome {
            Outcome::Done(id) => id,
            other => return Err(Stop::from_outcome(other, &self.location)),
        };
        debug!(location = %self.location, "multipart upload started");
        self.upload_id = Some(id.clone());
        Ok(id)
    }

    async fn complete(&mut self) -> Result<(), Stop> {
        loop {
            let upload_id = self.upload_id().await?;
            let client = self.client().await?;
            let sent: Vec<(i32, String)> = self
                .parts
                .iter()
                .map(|p| (p.span.number, p.etag.clone()))
                .collect();
            let outcome = requests::complete_multipart_upload(
                &self.shared,
                &client,
                &self.location,
                &upload_id,
                &sent,
            )
            .await;
            match outcome {
                Outcome::Done(_) => {
                    self.shared.progress.object_written(&self.output);
                    return Ok(());
                }
                other if self.vanished(&other) => self.restart().await?,
                other => return Err(Stop::from_outcome(other, &self.location)),
            }
        }
    }

    /// A file smaller than one part: a single PutObject (S3 has no multipart upload yet).
    async fn put_whole(&mut self, len: u64) -> Result<(), Stop> {
        let bytes = self
            .read(PartSpan {
                number: 1,
                offset: 0,
                len,
            })
            .await?;
        let client = self.client().await?;
        let outcome = requests::put_object(&self.shared, &client, &self.location, bytes).await;
        let shared = &self.shared;
        match outcome {
            Outcome::Done(_) => {
                shared.progress.add_bytes(&self.output, len);
                shared.progress.object_written(&self.output);
                info!(location = %self.location, bytes = len, "small file uploaded in one put");
                self.remove_recovery_objects().await
            }
            other => Err(Stop::from_outcome(other, &self.location)),
        }
    }
}

/// Reads exactly `span` from the file.
async fn read_span(path: &Path, span: PartSpan) -> std::io::Result<bytes::Bytes> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(SeekFrom::Start(span.offset)).await?;
    let mut buf = vec![0; span.len as usize];
    file.read_exact(&mut buf).await?;
    Ok(buf.into())
}
