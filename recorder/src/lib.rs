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
//! - [`recording`]: one recording, offline (`render`) or live (`serve`): frame loop, audio mix,
//!   active speaker, live changes, outputs and their uploads.
//! - [`service`]: `serve` mode, the recording behind the HTTP control API (`vcs-service`).
//! - [`job`]: the job spec (re-exported from `vcs-job`) and how a job is read from files and flags.

pub mod engine;
pub mod job;
pub mod pipeline;
pub mod recording;
pub mod render;
pub mod scene;
pub mod service;
pub mod text;
