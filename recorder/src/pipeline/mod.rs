//! The media core: participant inputs, strata compositing, one encode, outputs.
//!
//! # Layout
//! - [`testsrc`]: `test:` URIs (synthetic participants).
//! - [`input`]: per-track input pipelines ending in appsinks.
//! - [`compose`]: pure compositing of background, video layers and foreground into one frame.
//! - [`output`]: the encode pipeline (H.264 + AAC → fragmented MP4).

pub mod compose;
pub mod input;
pub mod output;
pub mod testsrc;

use std::path::PathBuf;

/// What went wrong in the media pipeline. Messages name the element or output involved.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
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
pub fn init() -> Result<(), PipelineError> {
    gstreamer::init().map_err(|e| PipelineError::Init(e.to_string()))
}
