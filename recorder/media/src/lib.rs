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
//! - `gst_util`: launch descriptions, element lookup and bus errors with context.

pub mod encode;
mod frame_pool;
mod gst_util;
mod i420;
pub mod input;
pub mod outputs;
pub mod testsrc;

use std::path::PathBuf;

pub use encode::{
    Encoder, EncoderConfig, audio_samples_for_frame, frame_time, frames_duration, test_tones,
};
pub use outputs::{
    OutputEvent, OutputProgress, OutputSummary, OutputTarget, OutputTargetKind, part_path,
};

/// What went wrong in the media pipeline. Messages name the element, input or output involved.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("GStreamer could not start: {0} (run scripts/install-deps)")]
    Init(String),
    #[error("building {what}: {message}")]
    Build { what: String, message: String },
    #[error("starting {what}: {message}")]
    State { what: String, message: String },
    #[error("{what}: {message}")]
    Runtime { what: String, message: String },
    #[error("output {}: {message}", path.display())]
    Output { path: PathBuf, message: String },
}

/// Initialises GStreamer once per process.
pub fn init() -> Result<(), MediaError> {
    gstreamer::init().map_err(|e| MediaError::Init(e.to_string()))
}

/// Loads every plugin and element a recording uses, so the first job pays nothing for it
/// (`serve` warm-up) and a missing plugin is reported before any job is accepted.
pub fn warm_up() -> Result<(), MediaError> {
    init()?;
    for factory in [
        "appsrc",
        "appsink",
        "videoconvert",
        "videoscale",
        "audioconvert",
        "audioresample",
        "x264enc",
        "h264parse",
        "avenc_aac",
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
            .map_err(|e| MediaError::Build {
                what: factory.to_string(),
                message: format!(
                    "{e} (is its GStreamer plugin installed? run scripts/install-deps)"
                ),
            })?;
    }
    Ok(())
}
