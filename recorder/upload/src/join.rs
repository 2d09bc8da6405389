//! Joining a recording's MP4 parts (part 0 at the original key, each continuation's at
//! `vcs_job::part_key`) into one MP4 at the original key: the S3 side of [`crate::fmp4`].
//!
//! The joined object is written as a new multipart upload to the original key, which keeps
//! holding part 0 until the upload completes: a join that fails (or a recorder that dies while
//! joining) aborts or leaves an upload that never replaces anything, and the parts stay. Only
//! once the joined object is complete are the later parts' objects deleted.
//!
//! Part 0's bytes past its first [`MIN_PART_SIZE`] are copied inside S3 (UploadPartCopy)
//! rather than sent again; the head (with the joined duration) and the later parts' patched
//! fragments are uploaded. Every part is read whole into memory first: a part is the recording
//! of one recorder (about 1 GB per hour at 2.5 Mbit/s).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tracing::{info, warn};
use vcs_job::S3Target;

use crate::client::{build, location};
use crate::error::{Location, UploadError};
use crate::fmp4;
use crate::parts::MIN_PART_SIZE;
use crate::recovery::{error, get};
use crate::requests::content_type;

/// Uploaded parts are this big (the last one smaller).
const CHUNK: usize = 16 << 20;

/// The largest part S3 copies in one UploadPartCopy.
const MAX_COPY: u64 = 5 << 30;

/// What a join did.
#[derive(Clone, Debug, PartialEq)]
pub enum JoinOutcome {
    /// One object at the original key now holds every part; the later parts' objects are gone.
    Joined {
        object: String,
        /// The parts joined (their keys, in order).
        parts: Vec<String>,
        bytes: u64,
        duration_secs: f64,
        /// Part 0's bytes copied inside S3 rather than uploaded again.
        copied_bytes: u64,
    },
    /// The parts cannot be one file (`reason`); nothing was written and they are all kept.
    Refused { reason: String, kept: Vec<String> },
    /// At most the original key holds anything: nothing to join.
    Nothing,
}

/// A piece of the joined object, in order.
enum Piece {
    Bytes(Vec<u8>),
    /// Bytes `range` of the original key's current object (part 0).
    Copy(std::ops::Range<u64>),
}

/// Joins the objects at `keys` (part 0, which is `original`, then each continuation's part;
/// missing ones are skipped) into one MP4 at `original`. `copy_from` is the smallest part 0
/// whose bytes are copied inside S3: S3 needs every part but the last to be at least
/// [`MIN_PART_SIZE`], so twice that.
/// The last key's part starts no earlier than `last_starts` seconds on the joined timeline.
pub(crate) async fn join(
    target: &S3Target,
    original: &str,
    keys: &[String],
    last_starts: Option<f64>,
    copy_from: u64,
) -> Result<JoinOutcome, UploadError> {
    let client = build(target).await?;
    let mut found = Vec::new();
    for key in keys {
        if let Some(bytes) = get(&client, target, key).await? {
            found.push((key.clone(), bytes));
        }
    }
    if found.len() < 2 && found.first().is_none_or(|(k, _)| k == original) {
        return Ok(JoinOutcome::Nothing);
    }
    let kept: Vec<String> = found.iter().map(|(k, _)| k.clone()).collect();
    let last = keys.last().filter(|_| last_starts.is_some());
    let starts = |key: &String| last.filter(|l| *l == key).and(last_starts);
    let (pieces, duration_secs) = match prepare(&target.bucket, original, found, starts, copy_from)
    {
        Ok(prepared) => prepared,
        Err(e) => {
            return Ok(JoinOutcome::Refused {
                reason: e.to_string(),
                kept,
            });
        }
    };
    let at = location(target, original);
    let (bytes, copied_bytes) = write(&client, target, &at, pieces).await?;
    for key in kept.iter().filter(|k| *k != original) {
        if let Err(e) = client
            .delete_object()
            .bucket(&target.bucket)
            .key(key)
            .send()
            .await
        {
            let at = location(target, key);
            warn!(location = %at, cause = %vcs_job::control::error_chain(&error(e, &at)),
                "joined, but cannot delete a part (it is in the joined object too)");
        }
    }
    info!(location = %at, parts = kept.len(), bytes, copied_bytes, duration_secs, "MP4 parts joined");
    Ok(JoinOutcome::Joined {
        object: format!("s3://{}/{original}", target.bucket),
        parts: kept,
        bytes,
        duration_secs,
        copied_bytes,
    })
}

/// The joined object's pieces from the parts' `(key, bytes)` (see [`join`]), each starting no
/// earlier than `starts(key)` seconds, and its duration in seconds. Pure.
fn prepare(
    bucket: &str,
    original: &str,
    found: Vec<(String, Vec<u8>)>,
    starts: impl Fn(&String) -> Option<f64>,
    copy_from: u64,
) -> Result<(Vec<Piece>, f64), fmp4::JoinError> {
    let mut parsed = Vec::new();
    for (key, bytes) in &found {
        let mut part = fmp4::parse(bytes, &format!("s3://{bucket}/{key}"))?;
        if let Some(secs) = starts(key) {
            part.not_before(secs);
        }
        parsed.push(part);
    }
    let (shifts, total) = fmp4::plan(&parsed)?;
    let mut pieces = vec![Piece::Bytes(fmp4::head(&found[0].1, &parsed[0], total))];
    for (i, ((key, mut bytes), (part, shift))) in found
        .into_iter()
        .zip(parsed.iter().zip(&shifts))
        .enumerate()
    {
        fmp4::patch(&mut bytes, part, shift)?;
        let body = part.body();
        // Part 0 unchanged past its head: S3 copies what it already holds.
        if i == 0 && key == original && body.len() as u64 >= copy_from {
            let uploaded = body.start + (MIN_PART_SIZE.min(copy_from / 2)) as usize;
            pieces.push(Piece::Bytes(bytes[body.start..uploaded].to_vec()));
            pieces.push(Piece::Copy(uploaded as u64..body.end as u64));
        } else {
            bytes.truncate(body.end);
            bytes.drain(..body.start);
            pieces.push(Piece::Bytes(bytes));
        }
    }
    Ok((pieces, fmp4::seconds(&parsed[0], total)))
}

/// Writes `pieces` as a new multipart upload to `at`, completed only when every piece is in:
/// on any failure the upload is aborted and `at` keeps what it held. Returns the bytes written
/// and those of them copied inside S3.
async fn write(
    client: &Client,
    target: &S3Target,
    at: &Location,
    pieces: Vec<Piece>,
) -> Result<(u64, u64), UploadError> {
    let upload = client
        .create_multipart_upload()
        .bucket(&target.bucket)
        .key(&at.key)
        .set_content_type(content_type(&at.key).map(str::to_string))
        .send()
        .await
        .map_err(|e| error(e, at))?;
    let upload_id = upload.upload_id().unwrap_or_default().to_string();
    let (parts, bytes, copied) = match send(client, target, at, &upload_id, pieces).await {
        Ok(done) => done,
        Err(e) => {
            abort(client, target, at, &upload_id).await;
            return Err(e);
        }
    };
    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
                .collect(),
        ))
        .build();
    if let Err(e) = client
        .complete_multipart_upload()
        .bucket(&target.bucket)
        .key(&at.key)
        .upload_id(&upload_id)
        .multipart_upload(completed)
        .send()
        .await
    {
        abort(client, target, at, &upload_id).await;
        return Err(error(e, at));
    }
    Ok((bytes, copied))
}

/// `bucket/key` as `x-amz-copy-source` wants it: the key percent-encoded but for its slashes.
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Uploads `pieces` as the parts of `upload_id`: bytes gathered into [`CHUNK`]s (what is
/// gathered before a copy is sent as one part: part 0's head and first [`MIN_PART_SIZE`]),
/// copies split at [`MAX_COPY`]. Returns the parts, the bytes written and the bytes copied.
async fn send(
    client: &Client,
    target: &S3Target,
    at: &Location,
    upload_id: &str,
    pieces: Vec<Piece>,
) -> Result<(Vec<(i32, String)>, u64, u64), UploadError> {
    let mut parts = Vec::new();
    let mut buffer: Vec<u8> = Vec::new();
    let (mut bytes, mut copied) = (0u64, 0u64);
    for piece in pieces {
        match piece {
            Piece::Bytes(b) => {
                buffer.extend_from_slice(&b);
                while buffer.len() >= CHUNK {
                    let rest = buffer.split_off(CHUNK);
                    let chunk = std::mem::replace(&mut buffer, rest);
                    bytes += chunk.len() as u64;
                    parts.push(upload_part(client, target, at, upload_id, &parts, chunk).await?);
                }
            }
            Piece::Copy(range) => {
                if !buffer.is_empty() {
                    let chunk = std::mem::take(&mut buffer);
                    bytes += chunk.len() as u64;
                    parts.push(upload_part(client, target, at, upload_id, &parts, chunk).await?);
                }
                let mut from = range.start;
                while from < range.end {
                    let to = (from + MAX_COPY).min(range.end);
                    let number = parts.len() as i32 + 1;
                    let copy = client
                        .upload_part_copy()
                        .bucket(&target.bucket)
                        .key(&at.key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .copy_source(copy_source(&target.bucket, &at.key))
                        .copy_source_range(format!("bytes={from}-{}", to - 1))
                        .send()
                        .await
                        .map_err(|e| error(e, at))?;
                    let etag = copy
                        .copy_part_result()
                        .and_then(|r| r.e_tag())
                        .unwrap_or_default()
                        .to_string();
                    parts.push((number, etag));
                    copied += to - from;
                    from = to;
                }
            }
        }
    }
    if !buffer.is_empty() || parts.is_empty() {
        bytes += buffer.len() as u64;
        parts.push(upload_part(client, target, at, upload_id, &parts, buffer).await?);
    }
    Ok((parts, bytes + copied, copied))
}

async fn upload_part(
    client: &Client,
    target: &S3Target,
    at: &Location,
    upload_id: &str,
    before: &[(i32, String)],
    body: Vec<u8>,
) -> Result<(i32, String), UploadError> {
    let number = before.len() as i32 + 1;
    let uploaded = client
        .upload_part()
        .bucket(&target.bucket)
        .key(&at.key)
        .upload_id(upload_id)
        .part_number(number)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| error(e, at))?;
    Ok((number, uploaded.e_tag().unwrap_or_default().to_string()))
}

/// Aborts the join's upload; failing to only leaves it to the bucket's lifecycle rules (it
/// never replaces part 0).
async fn abort(client: &Client, target: &S3Target, at: &Location, upload_id: &str) {
    if let Err(e) = client
        .abort_multipart_upload()
        .bucket(&target.bucket)
        .key(&at.key)
        .upload_id(upload_id)
        .send()
        .await
    {
        warn!(location = %at, upload_id, cause = %vcs_job::control::error_chain(&error(e, at)),
            "cannot abort the join's multipart upload");
    }
}

#[cfg(test)]
mod tests {
    use super::copy_source;

    #[test]
    fn copy_sources_encode_the_key_but_its_slashes() {
        assert_eq!(copy_source("b", "rec/a.mp4"), "b/rec/a.mp4");
        assert_eq!(copy_source("b", "a b/é+.mp4"), "b/a%20b/%C3%A9%2B.mp4");
    }
}
