//! The VCS recorder: one recording — a composition's scene per frame composited with the
//! participants' video, their audio mixed, encoded once to every output — and the
//! `vcs-recorder` command.
//!
//! The recorder is the top of a stack of crates, each with one concern; arrows point one way:
//!
//! ```text
//!                      vcs-recorder  (the recording loop, serve glue, cli/)
//!          ┌───────────────┬─┴──────────────┬────────────────────────────────┐
//!          ▼               ▼                ▼                                ▼
//!     vcs-engine       vcs-render       vcs-media, vcs-upload, vcs-service   vcs-job
//!   (JSX → scene)   (scene → pixels)   (GStreamer; S3; the HTTP API)        (job spec)
//!          └───────┬───────┘
//!                  ▼
//!              vcs-text   (fonts and shaping: what layout measures is what is drawn)
//!                  ▼
//!              vcs-scene  (the per-frame contract; engine and render use it too)
//! ```
//!
//! # Layout
//! - [`recording`]: one recording, offline (`render`) or live (`serve`): the [`Recorder`] and its
//!   frame stages, audio mix and active speaker, live changes, outputs and their uploads.
//! - [`engine_process`]: the composition in its own supervised process (`engine-worker`).
//! - [`serve`]: `serve` mode, the recording behind the HTTP control API (`vcs-service`).
//! - [`preview`]: `preview`, a composition live in a browser page with hot reload.
//! - [`resume`]: a continuation job finishing in S3 what the recorder it replaces left.
//! - [`job_file`]: a job read from a YAML/JSON file and command-line overrides.
//! - [`cli`]: the subcommands (`render`, `still`, `scene`, `draw`, `serve`); the clap types live
//!   only there and `main.rs` just runs it.
//!
//! [`Recorder`]: recording::Recorder

pub mod cli;
pub mod engine_process;
pub mod job_file;
pub mod preview;
pub mod recording;
pub mod resume;
pub mod serve;
