//! Joining a recording's MP4 parts (part 0 at the original key, each continuation's at
//! `vcs_job::part_key`) into one MP4 at the original key: the S3 side of [`crate::fmp4`].
//!
//! The joined object is written as a new multipart upload to the original key, which keeps
//! holding part 0 until the upload completes: a join that fails (or a recorder that dies while
//! joining) aborts or leaves an upload that never replaces anything, and the parts stay. Only
//! once the joined object is complete are the later parts' objects deleted.
//!
//! Part 0's bytes past its head and first [`MIN_PART_SIZE`] are copied inside S3
//! (UploadPartCopy) rather than sent again; the head (with the joined duration) and the later
//! parts' patched fragments are uploaded. Every part is read as a stream and walked box by box
//! ([`fmp4::Walker`]), so the join holds at most two upload parts (the first, which holds part
//! 0's head and is sent last, once the joined duration is known; and the one filling) and one
//! `moof`, whatever the parts' lengths: a part is the recording of one recorder (about 1 GB per
//! hour at 2.5 Mbit/s) and recorder pods often have 1–2 GB of memory.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tracing::{info, warn};
use vcs_job::S3Target;

use crate::client::{build, location};
use crate::error::{Location, UploadError};
use crate::fmp4::{self, JoinError, Joiner, Walker};
use crate::parts::MIN_PART_SIZE;
use crate::recovery::error;
use crate::requests::content_type;

/// Uploaded parts are this big (the last one smaller).
pub(crate) const CHUNK: usize = 16 << 20;

/// The largest part S3 copies in one UploadPartCopy.
const MAX_COPY: u64 = 5 << 30;

/// The most of an S3 body walked before the full upload parts are sent.
const READ: usize = 1 << 20;

/// The last bytes of a part read to find its last fragments (a second of video at up to
/// ~15 Mbit/s, and its audio), rather than all of it.
const TAIL: u64 = 4 << 20;

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
        /// The most bytes the join held in memory at once (upload parts and boxes).
        held_bytes: u64,
        /// The bytes read from S3 (part 0, when copied, only its head and first fragments and
        /// its last bytes).
        read_bytes: u64,
    },
    /// The parts cannot be one file (`reason`); nothing was written and they are all kept.
    Refused { reason: String, kept: Vec<String> },
    /// At most the original key holds anything: nothing to join.
    Nothing,
}

/// How a join's sizes are set: `copy_from` is the smallest part 0 whose bytes are copied
/// inside S3 (S3 needs every part but the last to be at least [`MIN_PART_SIZE`], so twice
/// that); `chunk` the size of the parts uploaded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    pub copy_from: u64,
    pub chunk: usize,
}

/// Why the streaming stopped.
enum Stop {
    Refuse(JoinError),
    Fail(UploadError),
}

impl From<UploadError> for Stop {
    fn from(e: UploadError) -> Self {
        Stop::Fail(e)
    }
}

/// Joins the objects at `keys` (part 0, which is `original`, then each continuation's part;
/// missing ones are skipped) into one MP4 at `original`. The last key's part starts no earlier
/// than `last_starts` seconds on the joined timeline.
pub(crate) async fn join(
    target: &S3Target,
    original: &str,
    keys: &[String],
    last_starts: Option<f64>,
    sizes: Sizes,
) -> Result<JoinOutcome, UploadError> {
    let client = build(target).await?;
    let mut found = Vec::new();
    for key in keys {
        if let Some(len) = length(&client, target, key).await? {
            found.push((key.clone(), len));
        }
    }
    if found.len() < 2 && found.first().is_none_or(|(k, _)| k == original) {
        return Ok(JoinOutcome::Nothing);
    }
    let kept: Vec<String> = found.iter().map(|(k, _)| k.clone()).collect();
    let at = location(target, original);
    let upload_id = client
        .create_multipart_upload()
        .bucket(&target.bucket)
        .key(&at.key)
        .set_content_type(content_type(&at.key).map(str::to_string))
        .send()
        .await
        .map_err(|e| error(e, &at))?
        .upload_id()
        .unwrap_or_default()
        .to_string();
    let mut sink = Sink::new(&client, target, &at, &upload_id, sizes.chunk);
    let last = keys.last().filter(|_| last_starts.is_some());
    let streamed = stream(
        &mut sink,
        original,
        &found,
        |key| last.filter(|l| *l == key).and(last_starts),
        sizes,
    )
    .await;
    let (duration_secs, copied_bytes) = match streamed {
        Ok(done) => done,
        Err(stop) => {
            abort(&client, target, &at, &upload_id).await;
            return match stop {
                Stop::Refuse(e) => Ok(JoinOutcome::Refused {
                    reason: e.to_string(),
                    kept,
                }),
                Stop::Fail(e) => Err(e),
            };
        }
    };
    let (held_bytes, read_bytes) = (sink.peak as u64, sink.read);
    let (parts, bytes) = (std::mem::take(&mut sink.parts), sink.bytes);
    complete(&client, target, &at, &upload_id, parts).await?;
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
    info!(location = %at, parts = kept.len(), bytes, copied_bytes, duration_secs, held_bytes,
        read_bytes,
        "MP4 parts joined");
    Ok(JoinOutcome::Joined {
        object: format!("s3://{}/{original}", target.bucket),
        parts: kept,
        bytes,
        duration_secs,
        copied_bytes,
        held_bytes,
        read_bytes,
    })
}

/// The object's length; `None` if there is no such object.
async fn length(client: &Client, target: &S3Target, key: &str) -> Result<Option<u64>, UploadError> {
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
async fn open(client: &Client, target: &S3Target, key: &str) -> Result<ByteStream, UploadError> {
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
async fn next(body: &mut ByteStream, at: &Location) -> Result<Option<bytes::Bytes>, UploadError> {
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
async fn walk_span(
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

/// Streams the `found` parts (key, length) through a [`Joiner`] into `sink`: part 0 (when at
/// `original` and at least `copy_from` long) only up to its first [`MIN_PART_SIZE`] of
/// fragments, the rest copied inside S3. Returns the joined duration in seconds and the bytes
/// copied.
async fn stream(
    sink: &mut Sink<'_>,
    original: &str,
    found: &[(String, u64)],
    starts: impl Fn(&String) -> Option<f64>,
    sizes: Sizes,
) -> Result<(f64, u64), Stop> {
    let mut joiner = Joiner::default();
    let mut copied = 0;
    for (i, (key, len)) in found.iter().enumerate() {
        let name = format!("s3://{}/{key}", sink.target.bucket);
        joiner.part(&name, starts(key));
        let copy = i == 0 && key == original && *len >= sizes.copy_from;
        // Part 0's bytes uploaded before its copy: its head and this much of its fragments.
        let keep = MIN_PART_SIZE.min(sizes.copy_from / 2);
        sink.copying = copy;
        let mut walker = Walker::new(&name, *len);
        let at = location(sink.target, key);
        let mut body = open(sink.client, sink.target, key).await?;
        let mut head_len = None;
        // Part 0 copied: read no further than its head and first `keep` bytes of fragments.
        let done =
            |emitted: u64, head_len: Option<u64>| head_len.is_some_and(|h| emitted >= h + keep);
        'read: while let Some(bytes) = next(&mut body, &at).await? {
            sink.read += bytes.len() as u64;
            for piece in bytes.chunks(READ) {
                walker
                    .feed(piece, &mut |item| {
                        if copy && matches!(item, fmp4::Item::Fragment { .. }) {
                            head_len.get_or_insert(sink.emitted);
                        }
                        joiner.take(item, &mut |b| match head_len {
                            Some(h) if copy => sink.push_until(b, h + keep),
                            _ => sink.push(b),
                        })
                    })
                    .map_err(Stop::Refuse)?;
                sink.flush().await?;
                if copy && done(sink.emitted, head_len) {
                    break 'read;
                }
            }
        }
        drop(body);
        if copy && let Some(h) = head_len {
            let from = h + keep;
            let end = if done(sink.emitted, head_len) {
                rest_of_part0(sink, &mut joiner, key, *len).await?
            } else {
                walker.end()
            };
            sink.copying = false;
            if end > from {
                copied += sink.copy(from..end).await?;
            }
        }
        sink.peak = sink.peak.max(sink.held() + walker.peak());
    }
    sink.finish(&joiner).await?;
    Ok((joiner.seconds(), copied))
}

/// Takes in part 0's last fragments (where it ends on the timeline, its last sequence number)
/// from its last [`TAIL`] bytes, or when they are not enough, from all of it read again;
/// returns where its fragments end. Its bytes are not kept: S3 copies them.
async fn rest_of_part0(
    sink: &mut Sink<'_>,
    joiner: &mut Joiner,
    key: &str,
    len: u64,
) -> Result<u64, Stop> {
    let name = format!("s3://{}/{key}", sink.target.bucket);
    let head = joiner.head().cloned();
    let tail = tail_fragments(sink.client, sink.target, key, len, head).await?;
    // The tail was held for a moment with the part filling.
    sink.peak = sink.peak.max(sink.held() + TAIL.min(len) as usize);
    sink.read += TAIL.min(len);
    if let Some((moofs, end)) = tail {
        for mut moof in moofs {
            let item = fmp4::Item::Fragment {
                moof: &mut moof,
                mdat_header: &[],
            };
            joiner.take(item, &mut |_| {}).map_err(Stop::Refuse)?;
        }
        return Ok(end);
    }
    let at = location(sink.target, key);
    let mut walker = Walker::new(&name, len);
    let mut body = open(sink.client, sink.target, key).await?;
    while let Some(bytes) = next(&mut body, &at).await? {
        sink.read += bytes.len() as u64;
        walker
            .feed(&bytes, &mut |item| joiner.take(item, &mut |_| {}))
            .map_err(Stop::Refuse)?;
    }
    Ok(walker.end())
}

/// The last fragments of the part at `key` (`len` bytes; `head` its parsed `moov`) found in its
/// last [`TAIL`] bytes, and where they end (see [`fmp4::last_fragments`]); `None` when they
/// are not all there.
async fn tail_fragments(
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
    let tail = object
        .body
        .collect()
        .await
        .map_err(|e| UploadError::Request {
            location: at.clone(),
            source: Box::new(e),
        })?;
    Ok(fmp4::last_fragments(&head, &tail.into_bytes(), len))
}

/// The joined object's multipart upload, filled in order: bytes gathered into `chunk`-sized
/// parts; the first part (part 0's head, whose duration is set last) held back until
/// [`Sink::finish`].
struct Sink<'a> {
    client: &'a Client,
    target: &'a S3Target,
    at: &'a Location,
    upload_id: &'a str,
    chunk: usize,
    /// Upload part 1 while it fills, then until the end.
    first: Vec<u8>,
    first_closed: bool,
    /// Part 0's head and first fragments go into part 1 whatever `chunk` is: the rest of part
    /// 0 is copied, and every part but the last must be [`MIN_PART_SIZE`].
    copying: bool,
    buffer: Vec<u8>,
    /// Parts 2… sent (number, ETag).
    parts: Vec<(i32, String)>,
    /// Bytes written (uploaded or copied) and emitted into the sink; bytes read from S3.
    bytes: u64,
    emitted: u64,
    read: u64,
    peak: usize,
}

impl<'a> Sink<'a> {
    fn new(
        client: &'a Client,
        target: &'a S3Target,
        at: &'a Location,
        upload_id: &'a str,
        chunk: usize,
    ) -> Self {
        Sink {
            client,
            target,
            at,
            upload_id,
            chunk,
            first: Vec::new(),
            first_closed: false,
            copying: false,
            buffer: Vec::new(),
            parts: Vec::new(),
            bytes: 0,
            emitted: 0,
            read: 0,
            peak: 0,
        }
    }

    fn held(&self) -> usize {
        self.first.len() + self.buffer.len()
    }

    fn push(&mut self, b: &[u8]) {
        self.emitted += b.len() as u64;
        if self.first_closed {
            self.buffer.extend_from_slice(b);
        } else {
            self.first.extend_from_slice(b);
        }
        self.peak = self.peak.max(self.held());
    }

    /// Pushes what of `b` comes before `limit` bytes emitted (the rest is copied inside S3).
    fn push_until(&mut self, b: &[u8], limit: u64) {
        let n = limit.saturating_sub(self.emitted).min(b.len() as u64) as usize;
        self.push(&b[..n]);
        self.emitted += (b.len() - n) as u64;
    }

    /// Sends the full parts gathered.
    async fn flush(&mut self) -> Result<(), UploadError> {
        if !self.first_closed && !self.copying && self.first.len() >= self.chunk {
            // Whatever is past a chunk starts the next part.
            self.buffer = self.first.split_off(self.chunk);
            self.first_closed = true;
        }
        while self.buffer.len() >= self.chunk {
            let rest = self.buffer.split_off(self.chunk);
            let chunk = std::mem::replace(&mut self.buffer, rest);
            self.send(chunk).await?;
        }
        Ok(())
    }

    async fn send(&mut self, body: Vec<u8>) -> Result<(), UploadError> {
        let number = self.parts.len() as i32 + 2;
        self.bytes += body.len() as u64;
        let etag = upload_part(
            self.client,
            self.target,
            self.at,
            self.upload_id,
            number,
            body,
        )
        .await?;
        self.parts.push((number, etag));
        Ok(())
    }

    /// Copies `range` of the original key's object (part 0) as the next parts: S3 copies at
    /// most [`MAX_COPY`] at once, so a longer range is cut into equal pieces (none much
    /// smaller than the others: every part but the last must be [`MIN_PART_SIZE`]).
    async fn copy(&mut self, range: std::ops::Range<u64>) -> Result<u64, UploadError> {
        self.first_closed = true;
        if !self.buffer.is_empty() {
            let gathered = std::mem::take(&mut self.buffer);
            self.send(gathered).await?;
        }
        for piece in copy_pieces(range.clone()) {
            let number = self.parts.len() as i32 + 2;
            let copy = self
                .client
                .upload_part_copy()
                .bucket(&self.target.bucket)
                .key(&self.at.key)
                .upload_id(self.upload_id)
                .part_number(number)
                .copy_source(copy_source(&self.target.bucket, &self.at.key))
                .copy_source_range(format!("bytes={}-{}", piece.start, piece.end - 1))
                .send()
                .await
                .map_err(|e| error(e, self.at))?;
            let etag = copy
                .copy_part_result()
                .and_then(|r| r.e_tag())
                .unwrap_or_default()
                .to_string();
            self.parts.push((number, etag));
        }
        let copied = range.end - range.start;
        self.bytes += copied;
        Ok(copied)
    }

    /// Sends what is left, then part 1 with the joined duration set in its head.
    async fn finish(&mut self, joiner: &Joiner) -> Result<(), UploadError> {
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            self.send(rest).await?;
        }
        let mut first = std::mem::take(&mut self.first);
        let head = joiner.head_len().min(first.len());
        joiner.set_duration(&mut first[..head]);
        self.bytes += first.len() as u64;
        let etag = upload_part(self.client, self.target, self.at, self.upload_id, 1, first).await?;
        self.parts.insert(0, (1, etag));
        Ok(())
    }
}

/// `range` cut into the fewest equal pieces of at most [`MAX_COPY`] bytes.
fn copy_pieces(range: std::ops::Range<u64>) -> Vec<std::ops::Range<u64>> {
    let len = range.end.saturating_sub(range.start);
    let n = len.div_ceil(MAX_COPY).max(1);
    let each = len.div_ceil(n);
    (0..n)
        .map(|i| range.start + i * each..(range.start + (i + 1) * each).min(range.end))
        .filter(|r| !r.is_empty())
        .collect()
}

/// Completes the upload with `parts`; on failure it is aborted and the key keeps what it held.
async fn complete(
    client: &Client,
    target: &S3Target,
    at: &Location,
    upload_id: &str,
    parts: Vec<(i32, String)>,
) -> Result<(), UploadError> {
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
        .upload_id(upload_id)
        .multipart_upload(completed)
        .send()
        .await
    {
        abort(client, target, at, upload_id).await;
        return Err(error(e, at));
    }
    Ok(())
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

async fn upload_part(
    client: &Client,
    target: &S3Target,
    at: &Location,
    upload_id: &str,
    number: i32,
    body: Vec<u8>,
) -> Result<String, UploadError> {
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
    Ok(uploaded.e_tag().unwrap_or_default().to_string())
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
    use super::{MAX_COPY, copy_pieces, copy_source};

    #[test]
    fn copies_over_5_gib_are_cut_into_equal_pieces_none_small() {
        assert_eq!(
            copy_pieces(10..20),
            vec![std::ops::Range { start: 10, end: 20 }]
        );
        assert_eq!(copy_pieces(0..MAX_COPY).len(), 1);
        // One byte over: two halves, not 5 GiB and 1 byte (S3 refuses a small part that is
        // not the last).
        let pieces = copy_pieces(7..7 + MAX_COPY + 1);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].start, 7);
        assert_eq!(pieces[1].end, 7 + MAX_COPY + 1);
        assert_eq!(pieces[0].end, pieces[1].start);
        assert!(pieces.iter().all(|p| p.end - p.start >= MAX_COPY / 2));
        let long = copy_pieces(0..3 * MAX_COPY - 5);
        assert_eq!(long.len(), 3);
        assert!(long.iter().all(|p| p.end - p.start <= MAX_COPY));
        assert!(long.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn copy_sources_encode_the_key_but_its_slashes() {
        assert_eq!(copy_source("b", "rec/a.mp4"), "b/rec/a.mp4");
        assert_eq!(copy_source("b", "a b/é+.mp4"), "b/a%20b/%C3%A9%2B.mp4");
    }
}
