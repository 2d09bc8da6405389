//! The VCS recorder: turns a composition and live media into recordings.
//!
//! # Layout
//! - [`scene`]: the scene and display-list types every frame is made of (a **contract**),
//!   parsed and validated where they leave JS.
//! - [`engine`]: compositions (JSX transpiled by oxc) evaluated in a boa sandbox with a
//!   React-compatible runtime and the VCS layout functions; emits a [`scene::Scene`] per frame.
//! - [`text`]: the one font resolver and text shaper, used by the engine to measure and by the
//!   renderer to draw, so what layout measured is what gets drawn.
//! - [`render`]: display lists rasterised onto tiny-skia pixmaps.
//! - [`pipeline`]: GStreamer inputs, strata compositing, encoding and outputs.
//! - [`record`]: one offline recording, frame by frame, from job spec to MP4 (`render`).
//! - [`job`]: the job spec (re-exported from `vcs-job`) and how a job is read from files and flags.

pub mod engine;
pub mod job;
pub mod pipeline;
pub mod record;
pub mod render;
pub mod scene;
pub mod text;
