//! The joined object's multipart upload: parts uploaded as they fill, part 0's bytes copied
//! inside S3, completed or aborted.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tracing::warn;
use vcs_job::S3Target;

use super::Joiner;
use crate::error::{Location, UploadError};
use crate::recovery::error;

/// The largest part S3 copies in one UploadPartCopy.
const MAX_COPY: u64 = 5 << 30;

/// The joined object's multipart upload, filled in order: bytes gathered into `chunk`-sized
/// parts; the first part (part 0's head, whose duration is set last) held back until
/// [`Sink::finish`].
pub(super) struct Sink<'a> {
    pub(super) client: &'a Client,
    pub(super) target: &'a S3Target,
    pub(super) at: &'a Location,
    pub(super) upload_id: &'a str,
    pub(super) chunk: usize,
    /// Upload part 1 while it fills, then until the end.
    pub(super) first: Vec<u8>,
    pub(super) first_closed: bool,
    /// Part 0's head and first fragments go into part 1 whatever `chunk` is: the rest of part
    /// 0 is copied, and every part but the last must be [`MIN_PART_SIZE`](crate::MIN_PART_SIZE).
    pub(super) copying: bool,
    pub(super) buffer: Vec<u8>,
    /// Parts 2… sent (number, ETag).
    pub(super) parts: Vec<(i32, String)>,
    /// Bytes written (uploaded or copied) and emitted into the sink; bytes read from S3.
    pub(super) bytes: u64,
    pub(super) emitted: u64,
    pub(super) read: u64,
    pub(super) peak: usize,
}

impl<'a> Sink<'a> {
    pub(super) fn new(
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

    pub(super) fn held(&self) -> usize {
        self.first.len() + self.buffer.len()
    }

    pub(super) fn push(&mut self, b: &[u8]) {
        self.emitted += b.len() as u64;
        if self.first_closed {
            self.buffer.extend_from_slice(b);
        } else {
            self.first.extend_from_slice(b);
        }
        self.peak = self.peak.max(self.held());
    }

    /// Pushes what of `b` comes before `limit` bytes emitted (the rest is copied inside S3).
    pub(super) fn push_until(&mut self, b: &[u8], limit: u64) {
        let n = limit.saturating_sub(self.emitted).min(b.len() as u64) as usize;
        self.push(&b[..n]);
        self.emitted += (b.len() - n) as u64;
    }

    /// Sends the full parts gathered.
    pub(super) async fn flush(&mut self) -> Result<(), UploadError> {
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

    pub(super) async fn send(&mut self, body: Vec<u8>) -> Result<(), UploadError> {
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
    /// smaller than the others: every part but the last must be [`MIN_PART_SIZE`](crate::MIN_PART_SIZE)).
    pub(super) async fn copy(&mut self, range: std::ops::Range<u64>) -> Result<u64, UploadError> {
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
    pub(super) async fn finish(&mut self, joiner: &Joiner) -> Result<(), UploadError> {
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
pub(super) async fn complete(
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
pub(super) async fn abort(client: &Client, target: &S3Target, at: &Location, upload_id: &str) {
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
