//! The seam between the control API and the recording engine.
//!
//! The HTTP layer owns requests, auth, bookkeeping and metrics; everything that touches media
//! sits behind [`JobRunner`], which `vcs-recorder` implements. Keeping the seam a trait means this
//! crate never links GStreamer or boa and its tests drive the API with a small stand-in.

use thiserror::Error;
use vcs_job::JobSpec;
use vcs_job::control::{JobEvent, JobPatch, JobStatus};

/// The recording engine as the control API sees it: one job per process.
///
/// The API calls [`start`](Self::start) at most once per process, and calls
/// [`patch`](Self::patch), [`events`](Self::events) and [`stop`](Self::stop) only after `start`
/// returned `Ok`. `start` runs on a blocking thread; every other method is called from async
/// code and must return quickly (take a lock, send on a channel, read a snapshot).
pub trait JobRunner: Send + Sync + 'static {
    /// True once the engine is warm (GStreamer plugins loaded, the JS realm ready with the
    /// built-in compositions, fonts loaded), so a job would start at once. `/readyz` answers 200
    /// only while this is true and no job was accepted.
    fn is_warm(&self) -> bool;

    /// Starts the job (already checked with [`JobSpec::validate`]) and returns once its first
    /// frame has been encoded, or with the reason it cannot run. Called once, on a blocking
    /// thread; any error makes the job failed (the process takes no second job).
    fn start(&self, spec: JobSpec) -> Result<(), RunnerError>;

    /// A cheap snapshot of the job. The API fills `job_id` and `timestamps.accepted` when the
    /// runner leaves them empty, and reports `starting` while `start` is running. Once the
    /// state is `done` or `failed` it must stay there: that is when `serve` exits.
    fn status(&self) -> JobStatus;

    /// Applies a live change at the next frame. Invalid content (an unknown output kind, a bad
    /// track URI) is [`RunnerError::InvalidJob`] with the patch field path in `at`.
    fn patch(&self, patch: JobPatch) -> Result<(), RunnerError>;

    /// Delivers standard-source events (chat, transcript, emoji, active speaker), in order.
    fn events(&self, events: Vec<JobEvent>) -> Result<(), RunnerError>;

    /// Begins a graceful stop: end the inputs, finalise every muxer, complete every upload. Must
    /// return at once with the status already `finalising`; the status later goes to `done` (or
    /// `failed`). Called at most once, by `POST /v1/job/stop` or by shutdown (SIGTERM).
    fn stop(&self);
}

/// Why the engine refused or failed an operation. Each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RunnerError {
    /// The job or patch cannot be run as given (422 `invalidJob`). `at` is the field path
    /// (`outputs[1].rtmp.url`, `participants[0].camera`).
    #[error("{at}: {message}")]
    InvalidJob { at: String, message: String },
    /// The composition does not load or evaluate (422 `invalidComposition`). `at` is the
    /// source location `file:line:col`.
    #[error("{at}: {message}")]
    InvalidComposition { at: String, message: String },
    /// The request does not fit the job's current state (409 `conflict`), for example removing
    /// an output that does not exist or patching while finalising.
    #[error("{0}")]
    Conflict(String),
    /// The engine broke (500 `internal`); the message says what failed.
    #[error("{0}")]
    Failed(String),
}
