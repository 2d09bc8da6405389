//! Finishing what a recorder that died (kill -9, an OOM kill, a lost node) left in the bucket:
//! the growing MP4's multipart upload, never completed, and an HLS playlist never ended.
//!
//! The MP4: the newest run's journal names the multipart upload and its parts; its tail objects
//! continue the file from the last part to the last fragment checkpointed (see `journal`). The
//! parts, plus the tail uploaded as one last part, complete into a fragmented MP4 that plays up
//! to the last checkpoint. Older runs' uploads and any other unfinished upload of the same key
//! (where the store can list them) are aborted, and every recovery object is deleted.
//!
//! Recovery must run only once the recorder is gone: completing the upload of a live recorder
//! would end its object early. It is idempotent: once done, there is nothing left to find.
//!
//! These calls are not retried through outages like the uploads: a person or an operator runs
//! them and can run them again.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::runtime::Runtime;
use tracing::{info, warn};
use vcs_job::S3Target;

use crate::client::{build, location};
use crate::error::{Failure, Location, UploadError, classify};
use crate::join::JoinOutcome;
use crate::journal::{self, Journal, RecoveryObject, TailChunk};
use crate::parts::MIN_PART_SIZE;
use crate::requests::content_type;

/// An unfinished MP4 upload found in the bucket: what a crashed recorder uploaded.
#[derive(Clone, Debug)]
pub struct Orphan {
    pub target: S3Target,
    /// The object key the recorder was writing.
    pub key: String,
    /// The run that left it (the newest one when several did).
    pub run: String,
    /// The multipart upload and its parts, if the run got as far as one part.
    pub journal: Option<Journal>,
    /// The bytes after the parts, in order, up to the last fragment checkpointed.
    pub tail: Vec<TailChunk>,
    /// Every recovery object under the key (all runs): deleted once recovered.
    leftovers: Vec<String>,
    /// Multipart uploads of older runs: aborted once recovered.
    stale_uploads: Vec<String>,
}

impl Orphan {
    /// Bytes of the file that can be recovered: the parts, then the tail.
    pub fn recoverable_bytes(&self) -> u64 {
        self.journal.as_ref().map_or(0, Journal::covered)
            + self.tail.iter().map(|c| c.len).sum::<u64>()
    }
}

/// What [`Recovery::complete`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// `s3://bucket/key`.
    pub object: String,
    pub bytes: u64,
    /// Multipart parts of the completed object (0 when it was one PutObject).
    pub parts: usize,
    /// Unfinished uploads that could not be used and were aborted.
    pub aborted_uploads: usize,
}

/// What [`Recovery::end_playlist`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaylistEnd {
    /// `#EXT-X-ENDLIST` was missing and has been appended.
    Ended,
    AlreadyEnded,
    /// No playlist at that key.
    Missing,
}

/// Blocking recovery calls, on a small runtime of their own (the CLI and the recorder are sync).
///
/// A continuation recorder (a job resumed on another pod) would call [`Recovery::find`] to
/// learn what the lost recorder uploaded (the journal's upload id and parts, and the tail) and
/// then either [`Recovery::complete`] it, or keep the upload open and append its own fragments
/// as further parts after the tail.
pub struct Recovery {
    runtime: Runtime,
    /// The size of the parts a join uploads.
    join_chunk: usize,
}

impl Recovery {
    pub fn new() -> Result<Self, UploadError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(UploadError::Runtime)?;
        Ok(Self {
            runtime,
            join_chunk: crate::join::CHUNK,
        })
    }

    /// Sets the size of the parts [`Recovery::join_mp4_parts`] uploads (16 MiB by default; S3
    /// needs at least [`MIN_PART_SIZE`]): with part 0's head and the part filling, a join holds
    /// about twice this in memory.
    pub fn join_chunk(mut self, bytes: usize) -> Self {
        self.join_chunk = bytes.max(1);
        self
    }

    /// Looks for what a recorder left of the MP4 at `key`. `None` when there is nothing to
    /// recover (the recording completed, or was already recovered).
    pub fn find(&self, target: &S3Target, key: &str) -> Result<Option<Orphan>, UploadError> {
        self.runtime.block_on(async {
            let client = build(target).await?;
            find(&client, target, key).await
        })
    }

    /// Completes `orphan` into the object at its key: a fragmented MP4 ending at the last
    /// fragment the recorder checkpointed. Returns `None` when nothing was recorded (the unused
    /// upload and recovery objects are removed all the same).
    pub fn complete(&self, orphan: Orphan) -> Result<Option<Recovered>, UploadError> {
        self.runtime.block_on(async {
            let client = build(&orphan.target).await?;
            complete(&client, orphan).await
        })
    }

    /// Finds and completes the MP4 at `target.key`, if a recorder left one.
    pub fn recover_mp4(&self, target: &S3Target) -> Result<Option<Recovered>, UploadError> {
        match self.find(target, &target.key)? {
            Some(orphan) => self.complete(orphan),
            None => Ok(None),
        }
    }

    /// The keys of every object under `prefix` (a continuation numbers its HLS segments after
    /// the highest one there).
    pub fn keys(&self, target: &S3Target, prefix: &str) -> Result<Vec<String>, UploadError> {
        self.runtime.block_on(async {
            let client = build(target).await?;
            let objects = list(&client, target, prefix).await?;
            Ok(objects.into_iter().map(|(key, _)| key).collect())
        })
    }

    /// The object at `key` (its first `limit` bytes when given); `None` if there is none.
    pub fn fetch(
        &self,
        target: &S3Target,
        key: &str,
        limit: Option<u64>,
    ) -> Result<Option<Vec<u8>>, UploadError> {
        self.runtime.block_on(async {
            let client = build(target).await?;
            get_range(&client, target, key, limit).await
        })
    }

    /// Joins a recording's MP4 parts, at `keys` in order (part 0 at `original` first; missing
    /// ones skipped), into one MP4 at `original`, then deletes the later parts (see `join`).
    /// The last part starts `last_starts` seconds into the joined file when that is after the
    /// earlier parts' end (the gap as a jump in time), else right after them.
    pub fn join_mp4_parts(
        &self,
        target: &S3Target,
        original: &str,
        keys: &[String],
        last_starts: Option<f64>,
    ) -> Result<JoinOutcome, UploadError> {
        let sizes = crate::join::Sizes {
            copy_from: 2 * MIN_PART_SIZE,
            chunk: self.join_chunk,
        };
        self.runtime.block_on(crate::join::join(
            target,
            original,
            keys,
            last_starts,
            sizes,
        ))
    }

    /// The seconds of media in the MP4 at `key` (its longest track, from its fragments' decode
    /// times and sample durations; read as a stream, never whole in memory); `None` if there is
    /// no such object. A continuation reports it for the part the lost recorder left.
    pub fn mp4_media_secs(&self, target: &S3Target, key: &str) -> Result<Option<f64>, UploadError> {
        self.runtime.block_on(crate::join::media_secs(target, key))
    }

    /// Appends `#EXT-X-ENDLIST` to the HLS playlist at `key` if it lacks one, so players stop
    /// waiting for segments that will never come.
    pub fn end_playlist(&self, target: &S3Target, key: &str) -> Result<PlaylistEnd, UploadError> {
        self.runtime.block_on(async {
            let client = build(target).await?;
            end_playlist(&client, target, key).await
        })
    }
}

pub(crate) fn error<E>(
    err: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    at: &Location,
) -> UploadError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify(err, at) {
        Failure::Retry(error) | Failure::Fatal(error) => error,
        Failure::UploadVanished => {
            UploadError::unexpected(at.clone(), "the multipart upload is gone (NoSuchUpload)")
        }
    }
}

/// Every object under `prefix`, with its size.
async fn list(
    client: &Client,
    target: &S3Target,
    prefix: &str,
) -> Result<Vec<(String, u64)>, UploadError> {
    let at = location(target, prefix);
    let mut objects = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(&target.bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| error(e, &at))?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                objects.push((key.to_string(), object.size().unwrap_or(0).max(0) as u64));
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(objects);
        }
    }
}

/// The object's bytes; `None` if there is no such object.
pub(crate) async fn get(
    client: &Client,
    target: &S3Target,
    key: &str,
) -> Result<Option<Vec<u8>>, UploadError> {
    get_range(client, target, key, None).await
}

/// The object's first `limit` bytes (all of it when `None`); `None` if there is no such object.
async fn get_range(
    client: &Client,
    target: &S3Target,
    key: &str,
    limit: Option<u64>,
) -> Result<Option<Vec<u8>>, UploadError> {
    let at = location(target, key);
    let object = match client
        .get_object()
        .bucket(&target.bucket)
        .key(key)
        .set_range(limit.map(|n| format!("bytes=0-{}", n.saturating_sub(1))))
        .send()
        .await
    {
        Ok(object) => object,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(error(e, &at)),
    };
    Ok(Some(read_body(object, &at).await?))
}

/// The whole body of a GetObject answer from `at`.
pub(crate) async fn read_body(
    object: aws_sdk_s3::operation::get_object::GetObjectOutput,
    at: &Location,
) -> Result<Vec<u8>, UploadError> {
    let body = object
        .body
        .collect()
        .await
        .map_err(|e| UploadError::Request {
            location: at.clone(),
            source: Box::new(e),
        })?;
    Ok(body.into_bytes().to_vec())
}

/// Deletes `key`; S3 refusing is logged (`what` says what the object is and why it may stay),
/// not an error: what is being cleaned up is held elsewhere too.
pub(crate) async fn delete_quietly(client: &Client, target: &S3Target, key: &str, what: &str) {
    if let Err(e) = client
        .delete_object()
        .bucket(&target.bucket)
        .key(key)
        .send()
        .await
    {
        let at = location(target, key);
        warn!(location = %at, cause = %vcs_job::control::error_chain(&error(e, &at)), "{what}");
    }
}

async fn read_journal(
    client: &Client,
    target: &S3Target,
    key: &str,
    run: &str,
) -> Result<Option<Journal>, UploadError> {
    let journal_key = journal::journal_key(key, run);
    let Some(bytes) = get(client, target, &journal_key).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        UploadError::unexpected(
            location(target, &journal_key),
            format!("the recovery journal is not valid ({e}); delete it to start afresh"),
        )
    })
}

async fn find(
    client: &Client,
    target: &S3Target,
    key: &str,
) -> Result<Option<Orphan>, UploadError> {
    let objects = list(client, target, &journal::prefix(key)).await?;
    let parsed: Vec<(RecoveryObject, String, u64)> = objects
        .iter()
        .filter_map(|(k, size)| journal::parse_key(key, k).map(|o| (o, k.clone(), *size)))
        .collect();
    let run_of = |o: &RecoveryObject| match o {
        RecoveryObject::Journal { run } | RecoveryObject::Tail { run, .. } => run.clone(),
    };
    let Some(newest) = parsed.iter().map(|(o, _, _)| run_of(o)).max() else {
        return Ok(None);
    };
    let mut stale_uploads = Vec::new();
    let mut older: Vec<String> = parsed
        .iter()
        .map(|(o, _, _)| run_of(o))
        .filter(|r| *r != newest)
        .collect();
    older.sort();
    older.dedup();
    for run in older {
        if let Ok(Some(old)) = read_journal(client, target, key, &run).await {
            stale_uploads.push(old.upload_id);
        }
    }
    let mut journal = read_journal(client, target, key, &newest)
        .await?
        .map(Journal::contiguous);
    if let Some(j) = &mut journal {
        check_parts(client, target, key, j).await?;
    }
    let chunks = parsed
        .iter()
        .filter_map(|(o, k, size)| match o {
            RecoveryObject::Tail { run, offset } if *run == newest => Some(TailChunk {
                key: k.clone(),
                offset: *offset,
                len: *size,
            }),
            _ => None,
        })
        .collect();
    let from = journal.as_ref().map_or(0, Journal::covered);
    Ok(Some(Orphan {
        target: target.clone(),
        key: key.to_string(),
        run: newest,
        journal,
        tail: journal::chain_from(from, chunks),
        leftovers: objects.into_iter().map(|(k, _)| k).collect(),
        stale_uploads,
    }))
}

/// Keeps the journal's parts that S3 still holds with the same size, up to the first that it
/// does not. Fails when the upload itself is gone: its parts cannot be recovered.
async fn check_parts(
    client: &Client,
    target: &S3Target,
    key: &str,
    journal: &mut Journal,
) -> Result<(), UploadError> {
    let at = location(target, key);
    let listed = client
        .list_parts()
        .bucket(&target.bucket)
        .key(key)
        .upload_id(&journal.upload_id)
        .send()
        .await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => {
            return Err(match classify(e, &at) {
                Failure::UploadVanished => UploadError::unexpected(
                    at,
                    format!(
                        "the multipart upload {} is gone (aborted or expired), and with it the first {} bytes of the recording",
                        journal.upload_id,
                        journal.covered()
                    ),
                ),
                Failure::Retry(error) | Failure::Fatal(error) => error,
            });
        }
    };
    let sizes: std::collections::HashMap<i32, i64> = listed
        .parts()
        .iter()
        .filter_map(|p| Some((p.part_number()?, p.size()?)))
        .collect();
    let keep = journal
        .parts
        .iter()
        .take_while(|p| sizes.get(&p.number).is_some_and(|s| *s as u64 == p.len))
        .count();
    if keep < journal.parts.len() {
        warn!(location = %at, journal = journal.parts.len(), kept = keep, "S3 holds fewer parts than the journal lists; recovering the first ones");
        journal.parts.truncate(keep);
    }
    Ok(())
}

async fn complete(client: &Client, orphan: Orphan) -> Result<Option<Recovered>, UploadError> {
    let target = &orphan.target;
    let at = location(target, &orphan.key);
    let mut tail = Vec::new();
    for chunk in &orphan.tail {
        let bytes = get(client, target, &chunk.key).await?.ok_or_else(|| {
            UploadError::unexpected(
                location(target, &chunk.key),
                "a tail object vanished during recovery",
            )
        })?;
        tail.extend_from_slice(&bytes);
    }
    let mut aborted = 0;
    let recovered = match &orphan.journal {
        Some(journal) => {
            let mut parts: Vec<(i32, String)> = journal
                .parts
                .iter()
                .map(|p| (p.number, p.etag.clone()))
                .collect();
            if !tail.is_empty() {
                let number = parts.len() as i32 + 1;
                let uploaded = client
                    .upload_part()
                    .bucket(&target.bucket)
                    .key(&orphan.key)
                    .upload_id(&journal.upload_id)
                    .part_number(number)
                    .body(ByteStream::from(tail.clone()))
                    .send()
                    .await
                    .map_err(|e| error(e, &at))?;
                parts.push((number, uploaded.e_tag().unwrap_or_default().to_string()));
            }
            if parts.is_empty() {
                abort(client, target, &orphan.key, &journal.upload_id).await;
                aborted += 1;
                None
            } else {
                let completed = CompletedMultipartUpload::builder()
                    .set_parts(Some(
                        parts
                            .iter()
                            .map(|(number, etag)| {
                                CompletedPart::builder()
                                    .part_number(*number)
                                    .e_tag(etag)
                                    .build()
                            })
                            .collect(),
                    ))
                    .build();
                client
                    .complete_multipart_upload()
                    .bucket(&target.bucket)
                    .key(&orphan.key)
                    .upload_id(&journal.upload_id)
                    .multipart_upload(completed)
                    .send()
                    .await
                    .map_err(|e| error(e, &at))?;
                Some(Recovered {
                    object: format!("s3://{}/{}", target.bucket, orphan.key),
                    bytes: journal.covered() + tail.len() as u64,
                    parts: parts.len(),
                    aborted_uploads: 0,
                })
            }
        }
        None if tail.is_empty() => None,
        None => {
            let bytes = tail.len() as u64;
            client
                .put_object()
                .bucket(&target.bucket)
                .key(&orphan.key)
                .set_content_type(content_type(&orphan.key).map(str::to_string))
                .body(ByteStream::from(tail))
                .send()
                .await
                .map_err(|e| error(e, &at))?;
            Some(Recovered {
                object: format!("s3://{}/{}", target.bucket, orphan.key),
                bytes,
                parts: 0,
                aborted_uploads: 0,
            })
        }
    };
    for upload_id in &orphan.stale_uploads {
        abort(client, target, &orphan.key, upload_id).await;
        aborted += 1;
    }
    aborted += abort_unlisted(client, target, &orphan).await;
    for key in &orphan.leftovers {
        delete_quietly(client, target, key, "cannot delete a recovery object").await;
    }
    info!(location = %at, recovered = ?recovered, aborted, "recovery done");
    Ok(recovered.map(|r| Recovered {
        aborted_uploads: aborted,
        ..r
    }))
}

/// Aborts an upload that cannot be used; failing to only leaves it to the bucket's lifecycle.
async fn abort(client: &Client, target: &S3Target, key: &str, upload_id: &str) {
    let result = client
        .abort_multipart_upload()
        .bucket(&target.bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await;
    if let Err(e) = result {
        warn!(location = %location(target, key), upload_id, cause = %vcs_job::control::error_chain(&error(e, &location(target, key))), "cannot abort an unusable multipart upload");
    }
}

/// Aborts the key's other unfinished uploads that the store lists (not every store can list
/// them; s3s-fs cannot, and then only the journals' uploads are known).
async fn abort_unlisted(client: &Client, target: &S3Target, orphan: &Orphan) -> usize {
    let listed = client
        .list_multipart_uploads()
        .bucket(&target.bucket)
        .prefix(&orphan.key)
        .send()
        .await;
    let Ok(listed) = listed else {
        return 0;
    };
    let used = orphan.journal.as_ref().map(|j| j.upload_id.as_str());
    let mut aborted = 0;
    for upload in listed.uploads() {
        let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else {
            continue;
        };
        if key == orphan.key && Some(id) != used && !orphan.stale_uploads.iter().any(|s| s == id) {
            abort(client, target, key, id).await;
            aborted += 1;
        }
    }
    aborted
}

async fn end_playlist(
    client: &Client,
    target: &S3Target,
    key: &str,
) -> Result<PlaylistEnd, UploadError> {
    let Some(bytes) = get(client, target, key).await? else {
        return Ok(PlaylistEnd::Missing);
    };
    let text = String::from_utf8_lossy(&bytes);
    if text.lines().any(|l| l.trim() == "#EXT-X-ENDLIST") {
        return Ok(PlaylistEnd::AlreadyEnded);
    }
    let ended = ended_playlist(&text);
    client
        .put_object()
        .bucket(&target.bucket)
        .key(key)
        .set_content_type(content_type(key).map(str::to_string))
        .body(ByteStream::from(ended.into_bytes()))
        .send()
        .await
        .map_err(|e| error(e, &location(target, key)))?;
    Ok(PlaylistEnd::Ended)
}

/// The playlist with `#EXT-X-ENDLIST` appended on a line of its own.
pub(crate) fn ended_playlist(text: &str) -> String {
    let mut ended = text.to_string();
    if !ended.ends_with('\n') {
        ended.push('\n');
    }
    ended.push_str("#EXT-X-ENDLIST\n");
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_playlist_has_endlist_on_its_own_line() {
        assert_eq!(
            ended_playlist("#EXTM3U\n#EXTINF:4,\nsegment00000.ts"),
            "#EXTM3U\n#EXTINF:4,\nsegment00000.ts\n#EXT-X-ENDLIST\n"
        );
        assert!(ended_playlist("#EXTM3U\n").ends_with("#EXTM3U\n#EXT-X-ENDLIST\n"));
    }
}
