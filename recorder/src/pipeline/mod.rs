//! The media core: participant inputs, strata compositing, one encode, outputs.
//!
//! # Layout
//! - [`compose`]: pure compositing of background, video layers and foreground into one frame.
//! - The GStreamer side (inputs, `test:` sources, encode and outputs) is the `vcs-media` crate,
//!   re-exported here; it builds without the composition engine.

pub mod compose;

pub use vcs_media::{MediaError as PipelineError, encode, init, input, outputs, testsrc};
