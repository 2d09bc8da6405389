//! Outputs: each one its own small pipeline fed with the encoder's H.264 and AAC buffers, so one
//! failing, being added or being removed never disturbs the others.
//!
//! ```text
//!                      ┌─► Slot "mp4" ─► appsrc h264 + appsrc aac ─► mp4mux ─► filesink   (mp4.rs)
//! Encoder appsinks ─► Fanout ─► Slot "hls" ─► appsrc h264 + appsrc aac ─► hlssink2           (hls.rs)
//!   (h264, aac)        └─► Slot "rtmp" ─► appsrc h264 + appsrc aac ─► flvmux ─► rtmp2sink (rtmp.rs)
//! ```
//!
//! - `fanout`: the encoded buffers, retimed, to each output's slot (keyframe gate, offset,
//!   audio history).
//! - `supervise`: one type owning each output pipeline, and a supervisor thread per output
//!   reading its bus, the single error channel: files fail the output, RTMP rebuilds its
//!   pipeline with backoff.
//! - `reconnect`: the pure state machine deciding when an output is connected, lost, and due
//!   to be rebuilt.
//! - `mp4`, `hls`, `rtmp`: what differs per kind (pipeline, messages, finalising).
//!
//! Nothing an output does reaches the encoder or the other outputs, except
//! that file outputs block (back-pressure) rather than lose data.

mod fanout;
mod hls;
pub mod hls_playlist;
mod mp4;
mod reconnect;
mod rtmp;
mod supervise;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use vcs_job::control::{OutputKind, OutputState};

use crate::MediaError;

pub(crate) use fanout::Fanout;
pub use hls::PLAYLIST as HLS_PLAYLIST;
pub use mp4::part_path;
pub(crate) use supervise::{Built, Muxer, OutputHandle, Reporter};

/// One output of a recording.
#[derive(Clone, Debug)]
pub struct OutputTarget {
    /// Unique within a recording; names the output in status, events, errors and logs.
    pub name: String,
    pub kind: OutputTargetKind,
}

/// Where an output goes.
#[derive(Clone)]
pub enum OutputTargetKind {
    /// Fragmented MP4 at `path`, written as `<path>.part` and renamed when finalised.
    Mp4 { path: PathBuf },
    /// MPEG-TS segments `segment00000.ts`, … and `playlist.m3u8` in `dir`. Segments close at
    /// the first keyframe after `segment_secs` (keyframes come every 2 s). The playlist keeps
    /// every segment and ends with `#EXT-X-ENDLIST` once finished. A continuation (issue 18)
    /// numbers its segments from `continues.first_segment` and publishes `playlist.m3u8` as
    /// the earlier playlist, `#EXT-X-DISCONTINUITY`, then its own segments.
    Hls {
        dir: PathBuf,
        segment_secs: f64,
        continues: Option<hls_playlist::HlsContinuation>,
    },
    /// FLV over RTMP(S). The URL holds the stream key: it is never logged or reported.
    Rtmp { url: String },
}

impl std::fmt::Debug for OutputTargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Mp4 { path } => f.debug_struct("Mp4").field("path", path).finish(),
            Self::Hls {
                dir,
                segment_secs,
                continues,
            } => f
                .debug_struct("Hls")
                .field("dir", dir)
                .field("segment_secs", segment_secs)
                .field("continues", continues)
                .finish(),
            Self::Rtmp { url } => f
                .debug_struct("Rtmp")
                .field("url", &vcs_job::uri::redact(url))
                .finish(),
        }
    }
}

impl OutputTargetKind {
    pub fn kind(&self) -> OutputKind {
        match self {
            Self::Mp4 { .. } => OutputKind::Mp4,
            Self::Hls { .. } => OutputKind::Hls,
            Self::Rtmp { .. } => OutputKind::Rtmp,
        }
    }
}

/// Live progress of one output ([`crate::Encoder::status`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputProgress {
    pub name: String,
    pub kind: OutputKind,
    pub state: OutputState,
    /// Bytes the muxer wrote (MP4, HLS) or handed to the RTMP connection.
    pub bytes: u64,
    /// Media written to this output (since it started, for outputs added mid-recording).
    pub duration: Duration,
    /// RTMP: connections lost or refused and retried.
    pub reconnects: u32,
    pub last_error: Option<String>,
}

/// What an output left behind once finalised ([`crate::Encoder::finish`],
/// [`crate::Encoder::remove_output`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSummary {
    pub name: String,
    pub kind: OutputKind,
    /// `Done`, or `Failed` (then `last_error` says why; what was written is kept).
    pub state: OutputState,
    /// MP4: the finished file (or the `.part` if it failed). HLS: segments, then the playlist.
    /// RTMP: none.
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub duration: Duration,
    pub reconnects: u32,
    pub last_error: Option<String>,
}

/// What the outputs tell the uploader. Paths are local files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputEvent {
    /// An MP4 output started writing `path` (the `.part`), which grows until `Finished`.
    FileGrowing { output: String, path: PathBuf },
    /// An HLS segment is complete and will not change again.
    FileClosed { output: String, path: PathBuf },
    /// The HLS playlist was rewritten (after each segment, and with `#EXT-X-ENDLIST` at the end).
    FileRewritten { output: String, path: PathBuf },
    /// The output is finalised; `files` are final (MP4: renamed from `.part`).
    Finished { output: String, files: Vec<PathBuf> },
}

/// Asks the encoder for a keyframe (an output (re)starting waits for one).
pub(crate) type KeyframeRequest = Arc<dyn Fn() + Send + Sync>;

/// Poisoning only means another thread panicked mid-update of plain data; carry on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Looks up an appsrc built by a launch description.
pub(crate) fn appsrc(pipeline: &gst::Pipeline, name: &str) -> Result<gst_app::AppSrc, MediaError> {
    crate::gst_util::by_name(pipeline, name)?
        .downcast::<gst_app::AppSrc>()
        .map_err(|_| MediaError::Build {
            what: name.to_string(),
            message: "is not an appsrc".into(),
        })
}
