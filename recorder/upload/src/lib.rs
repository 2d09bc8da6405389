//! Gets the recorder's outputs into S3 (or any S3-compatible store) while recording, and loses
//! nothing when S3 is down.
//!
//! The recorder writes its outputs to a local folder: a fragmented MP4 that grows for the whole
//! recording, and HLS segments plus a playlist that is rewritten on every segment. This crate
//! uploads the MP4 as a multipart upload while it grows (re-sending the parts the muxer rewrites
//! at the end) and each segment and playlist version as one object, retrying through outages
//! with capped backoff while the pending data waits on local disk.
//!
//! The recorder is a sync program, so the API is blocking-friendly: [`Uploader`] owns a small
//! tokio runtime and hand-offs return at once.
//!
//! ```no_run
//! # fn demo(target: vcs_job::S3Target) -> Result<(), vcs_upload::UploadError> {
//! use std::{path::Path, time::Duration};
//! use vcs_upload::{Uploader, UploaderConfig};
//!
//! let uploader = Uploader::new(UploaderConfig::new("/var/spool/vcs"))?;
//! uploader.check(&target)?; // fail before recording if the bucket or credentials are wrong
//! let mp4 = uploader.growing(&target, &target.key, Path::new("/rec/out.mp4"));
//! uploader.put_file(&target, "hls/seg00001.m4s", Path::new("/rec/hls/seg00001.m4s"))?;
//! uploader.put_file(&target, "hls/index.m3u8", Path::new("/rec/hls/index.m3u8"))?;
//! mp4.finish(); // after the muxer closed the file
//! let summary = uploader.shutdown(Duration::from_secs(600));
//! assert!(summary.is_complete(), "{summary:?}");
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `uploader`: `Uploader` and its config; the runtime, hand-offs and the end-of-run waits.
//! - `object`: whole objects, one pending version per key, newest wins.
//! - `growing`: the multipart upload of a growing file, with re-sending of rewritten parts.
//! - `parts`: pure part layout and change detection.
//! - `fmp4`: pure joining of fragmented MP4 parts into one file (box reading in `parse`,
//!   sample descriptions compared less measured bitrates in `stsd`, patching in place).
//! - `fragments`: pure MP4 box-header reading: where a growing fMP4 may be cut.
//! - `join`: joining a recording's MP4 parts into one object at the original key.
//! - `journal`: the recovery objects kept next to a growing MP4 (parts journal, tail).
//! - `recovery`: completing what a dead recorder left (MP4 upload, unended HLS playlist).
//! - `spool`: local snapshots of whole objects until S3 has them.
//! - `requests`: the S3 calls, each retried and classified the same way.
//! - `retry`: the outer retry loop with capped exponential backoff.
//! - `client`: S3 clients from a job's `S3Target`, and the pre-flight `check`.
//! - `error`: errors, and sorting S3 failures into retry / start over / needs a person.
//! - `status`: counters for the status API and the final summary.

mod client;
mod error;
mod fmp4;
mod fragments;
mod growing;
mod join;
mod journal;
mod object;
mod parts;
mod recovery;
mod requests;
mod retry;
mod spool;
mod status;
mod uploader;

pub use client::{DEFAULT_REGION, check};
pub use error::{Location, UploadError};
pub use fmp4::JoinError;
pub use growing::GrowingObject;
pub use join::JoinOutcome;
pub use journal::{Journal, JournalPart, TailChunk};
pub use parts::MIN_PART_SIZE;
pub use recovery::{Orphan, PlaylistEnd, Recovered, Recovery};
pub use status::{OutputId, OutputSummary, UploadStatus, UploadSummary};
pub use uploader::{Uploader, UploaderConfig};
