//! Reading a join's parts from S3: as streams, and a part's last bytes.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use vcs_job::S3Target;

use crate::client::{build, location};
use crate::error::{Location, UploadError};
use crate::fmp4::{self, Walker};
use crate::recovery::{error, read_body};

/// The most of an S3 body walked before the full upload parts are sent.
pub(super) const READ: usize = 1 << 20;

/// The last bytes of a part read to find its last fragments (a second of video at up to
/// ~15 Mbit/s, and its audio), rather than all of it.
pub(super) const TAIL: u64 = 4 << 20;

/// The object's length; `None` if there is no such object.
pub(super) async fn length(
    client: &Client,
    target: &S3Target,
    key: &str,
) -> Result<Option<u64>, UploadError> {
    match client
        .head_object()
        .bucket(&target.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(head) => Ok(Some(head.content_length().unwrap_or(0).max(0) as u64)),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
        Err(e) => Err(error(e, &location(target, key))),
    }
}

/// The object at `key`'s body, to read as it comes.
pub(super) async fn open(
    client: &Client,
    target: &S3Target,
    key: &str,
) -> Result<ByteStream, UploadError> {
    let object = client
        .get_object()
        .bucket(&target.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| error(e, &location(target, key)))?;
    Ok(object.body)
}

/// The next bytes of `body` (read from `at`), `None` at its end.
pub(super) async fn next(
    body: &mut ByteStream,
    at: &Location,
) -> Result<Option<bytes::Bytes>, UploadError> {
    body.try_next().await.map_err(|e| UploadError::Request {
        location: at.clone(),
        source: Box::new(e),
    })
}

/// The seconds of media the MP4 at `key` holds (its longest track, see
/// [`fmp4::MediaSpan`]), from its first fragments and its last [`TAIL`] bytes (all of it when
/// its last fragments are not there), never whole in memory. `None` if there is no such
/// object.
pub(crate) async fn media_secs(target: &S3Target, key: &str) -> Result<Option<f64>, UploadError> {
    let client = build(target).await?;
    let Some(len) = length(&client, target, key).await? else {
        return Ok(None);
    };
    // Its first fragment of every track gives where it starts; its last bytes, where it ends.
    let mut span = walk_span(&client, target, key, len, true).await?;
    if !span.started() {
        return Ok(Some(span.secs()));
    }
    let head = span.head().cloned();
    let Some((moofs, _)) = tail_fragments(&client, target, key, len, head).await? else {
        // Not all there: read it all.
        let whole = walk_span(&client, target, key, len, false).await?;
        return Ok(Some(whole.secs()));
    };
    let name = format!("s3://{}/{key}", target.bucket);
    for mut moof in moofs {
        let item = fmp4::Item::Fragment {
            moof: &mut moof,
            mdat_header: &[],
        };
        span.take(item, &name)
            .map_err(|e| UploadError::unexpected(location(target, key), e.to_string()))?;
    }
    Ok(Some(span.secs()))
}

/// The [`fmp4::MediaSpan`] of the MP4 at `key` (`len` bytes), read through, or only until
/// every track has started when `until_started`.
pub(super) async fn walk_span(
    client: &Client,
    target: &S3Target,
    key: &str,
    len: u64,
    until_started: bool,
) -> Result<fmp4::MediaSpan, UploadError> {
    let name = format!("s3://{}/{key}", target.bucket);
    let at = location(target, key);
    let mut span = fmp4::MediaSpan::default();
    let mut walker = Walker::new(&name, len);
    let mut body = open(client, target, key).await?;
    while let Some(bytes) = next(&mut body, &at).await? {
        walker
            .feed(&bytes, &mut |item| span.take(item, &name))
            .map_err(|e| UploadError::unexpected(at.clone(), e.to_string()))?;
        if until_started && span.started() {
            break;
        }
    }
    Ok(span)
}

/// The last fragments of the part at `key` (`len` bytes; `head` its parsed `moov`) found in its
/// last [`TAIL`] bytes, and where they end (see [`fmp4::last_fragments`]); `None` when they
/// are not all there.
pub(super) async fn tail_fragments(
    client: &Client,
    target: &S3Target,
    key: &str,
    len: u64,
    head: Option<fmp4::Part>,
) -> Result<Option<(Vec<Vec<u8>>, u64)>, UploadError> {
    let Some(head) = head else {
        return Ok(None);
    };
    let at = location(target, key);
    let from = len.saturating_sub(TAIL);
    let object = client
        .get_object()
        .bucket(&target.bucket)
        .key(key)
        .range(format!("bytes={from}-"))
        .send()
        .await
        .map_err(|e| error(e, &at))?;
    let tail = read_body(object, &at).await?;
    Ok(fmp4::last_fragments(&head, &tail, len))
}
