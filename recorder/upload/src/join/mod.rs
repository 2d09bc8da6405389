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
//! hour at 2.5 Mbit/s) and recorder pods often have 1–2 GB of memory. Reading is in [`read`],
//! the multipart upload in [`upload`].

mod read;
mod upload;

use tracing::info;
use vcs_job::S3Target;

pub(crate) use read::media_secs;
use read::{READ, TAIL, length, next, open, tail_fragments};
use upload::{Sink, abort, complete};

use crate::client::{build, location};
use crate::error::UploadError;
use crate::fmp4::{self, JoinError, Joiner, Walker};
use crate::parts::MIN_PART_SIZE;
use crate::recovery::{delete_quietly, error};
use crate::requests::content_type;

/// Uploaded parts are this big (the last one smaller).
pub(crate) const CHUNK: usize = 16 << 20;

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
        let what = "joined, but cannot delete a part (it is in the joined object too)";
        delete_quietly(&client, target, key, what).await;
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
