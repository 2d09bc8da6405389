//! The recorder's media side, GStreamer only (no composition engine), so it builds and tests on
//! its own: participant inputs in, one encode, outputs out.
//!
//! # Layout
//! - [`testsrc`]: `test:` URIs (synthetic participants).
//! - [`input`]: per-track input pipelines ending in appsinks that hand decoded frames and
//!   samples to the recorder.
//! - [`encode`]: the one encode (RGBA + f32 in, H.264 + AAC out) and [`Encoder`], the API the
//!   recorder drives.
//! - [`outputs`]: one small pipeline per output (fragmented MP4, HLS, RTMP) fed by the encode,
//!   their status and the events the uploader follows.
//! - [`probe`]: the video format of a file already recorded (a continuation's check).
//! - `gst_util`: launch descriptions, element lookup and bus errors with context.
//! - [`aac`]: which AAC encoder is used, and its priming.
//! - `backoff`: the reconnect backoff both supervisors use.

pub mod aac;
mod backoff;
pub mod encode;
mod frame_pool;
mod gst_util;
mod i420;
pub mod input;
pub mod outputs;
pub mod probe;
pub mod testsrc;

use std::path::PathBuf;

pub use encode::{
    Encoder, EncoderConfig, audio_samples_for_frame, frame_time, frames_duration, test_tones,
};
pub use outputs::{
    OutputEvent, OutputProgress, OutputSummary, OutputTarget, OutputTargetKind, part_path,
};

/// What went wrong in the media pipeline. Messages name the element, input or output involved.
///
/// Where GStreamer or the system gave a reason, it is the error's `source()` and not repeated in
/// the message: show errors with [`vcs_job::control::error_chain`] (or anyhow's `{:#}`).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("GStreamer could not start (run scripts/install-deps)")]
    Init(#[source] gstreamer::glib::Error),
    /// No usable AAC encoder (the message says which are known and what to install).
    #[error("{0}")]
    AacEncoder(String),
    /// A GStreamer element is not installed.
    #[error("building {what}: no GStreamer element \"{factory}\" (run scripts/install-deps)")]
    MissingElement {
        what: String,
        factory: String,
        #[source]
        source: gstreamer::glib::BoolError,
    },
    /// A pipeline description does not parse (or names an element that is not installed).
    #[error("building {what} (is the GStreamer plugin installed? run scripts/install-deps)")]
    Launch {
        what: String,
        #[source]
        source: gstreamer::glib::Error,
    },
    /// Adding, linking or describing elements failed.
    #[error("building {what}")]
    Wiring {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The configuration cannot be built (bad size, unknown option, duplicate name, ...).
    #[error("building {what}: {message}")]
    Build { what: String, message: String },
    /// A pipeline refused to start; `detail` is what its bus said, or where to look.
    #[error("starting {what}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    StateChange {
        what: String,
        detail: Option<String>,
        #[source]
        source: gstreamer::StateChangeError,
    },
    /// A source did not get going (its first frames did not arrive).
    #[error("starting {what}: {message}")]
    Start { what: String, message: String },
    #[error("starting {what}: cannot start its supervisor thread")]
    Thread {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// An element refused a buffer.
    #[error("{what} refused {item}")]
    Refused {
        what: String,
        item: String,
        #[source]
        source: gstreamer::FlowError,
    },
    #[error("{what}: {message}")]
    Runtime { what: String, message: String },
    #[error("output {}: {message}", path.display())]
    Output {
        path: PathBuf,
        message: String,
        /// The file system's reason, when there is one (not repeated in `message`).
        #[source]
        source: Option<std::io::Error>,
    },
}

/// Initialises GStreamer once per process.
pub fn init() -> Result<(), MediaError> {
    gstreamer::init().map_err(MediaError::Init)
}

/// Loads every plugin and element a recording uses, so the first job pays nothing for it
/// (`serve` warm-up) and a missing plugin is reported before any job is accepted.
pub fn warm_up() -> Result<(), MediaError> {
    init()?;
    aac::AacEncoder::find()?;
    for factory in [
        "appsrc",
        "appsink",
        "videoconvert",
        "videoscale",
        "audioconvert",
        "audioresample",
        "x264enc",
        "h264parse",
        "aacparse",
        "mp4mux",
        "mpegtsmux",
        "hlssink2",
        "flvmux",
        "rtmp2sink",
        "uridecodebin",
        "videotestsrc",
        "audiotestsrc",
        "textoverlay",
    ] {
        gstreamer::ElementFactory::make(factory)
            .build()
            .map_err(|source| MediaError::MissingElement {
                what: "the recorder's pipelines".into(),
                factory: factory.to_string(),
                source,
            })?;
    }
    Ok(())
}
