//! The one job of this process: admission (single job, idempotent by id), starting it on a
//! blocking thread while `GET /v1/job` shows `starting`, deferred stops, gating live changes,
//! and knowing when the job is over so `serve` can exit.
//!
//! State lives behind a std `Mutex`: every critical section is a few field reads and writes and
//! never awaits or calls the runner, so an async mutex would only add overhead.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{debug, error, info, warn};
use vcs_job::JobSpec;
use vcs_job::control::{JobEvent, JobPatch, JobState, JobStatus, rfc3339_now};

use crate::errors::ApiError;
use crate::metrics::Metrics;
use crate::runner::{JobRunner, RunnerError};

/// How often the end of the job is checked for. The runner offers snapshots, not
/// notifications; a tenth of a second is nothing next to finalising uploads.
const TERMINAL_POLL: Duration = Duration::from_millis(100);

/// How the process's job ended; decides the exit code.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The job finished and every output completed.
    Done,
    /// The job failed to start or failed while running; the message says why.
    Failed(String),
    /// Shut down before any job was accepted (a warm pod scaled away).
    NoJob,
    /// Shut down, and the job was still finalising when the grace period ran out.
    StopTimedOut,
}

impl Outcome {
    /// Exit status for the process: 0 for done or no job, 1 for failed, 2 for a stop that ran
    /// out of time (outputs may be incomplete).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Done | Self::NoJob => 0,
            Self::Failed(_) => 1,
            Self::StopTimedOut => 2,
        }
    }

    pub fn is_success(&self) -> bool {
        self.exit_code() == 0
    }
}

#[derive(Debug, Clone)]
enum Start {
    Running,
    Succeeded { latency: Duration },
    Failed(ApiError),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    NotRequested,
    /// Asked for while `start` was running; sent as soon as it returns.
    Pending,
    Sent,
}

struct Job {
    spec: JobSpec,
    accepted_at: String,
    accepted: Instant,
    start: Start,
    stop: Stop,
    stopped_at: Option<String>,
    failed_at: Option<String>,
    started: watch::Sender<bool>,
}

/// The process's job slot and the runner behind it.
pub(crate) struct Jobs {
    runner: Arc<dyn JobRunner>,
    metrics: Metrics,
    slot: Mutex<Option<Job>>,
}

/// The same job again: same id, or (when neither has an id) the same spec.
fn same_job(current: &JobSpec, requested: &JobSpec) -> bool {
    match (&current.id, &requested.id) {
        (Some(a), Some(b)) => a == b,
        (None, None) => current == requested,
        _ => false,
    }
}

fn describe(spec: &JobSpec) -> String {
    spec.id.as_deref().map_or_else(
        || String::from("a job without id"),
        |id| format!("job {id:?}"),
    )
}

impl Jobs {
    pub(crate) fn new(runner: Arc<dyn JobRunner>, metrics: Metrics) -> Self {
        Self {
            runner,
            metrics,
            slot: Mutex::new(None),
        }
    }

    fn slot(&self) -> MutexGuard<'_, Option<Job>> {
        // A panic while holding this lock leaves plain data behind, still consistent.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn runner(&self) -> &dyn JobRunner {
        self.runner.as_ref()
    }

    /// No job accepted yet.
    pub(crate) fn is_idle(&self) -> bool {
        self.slot().is_none()
    }

    /// `POST /v1/job`: validates, admits and starts the job (or joins the start already under
    /// way for the same job), and answers once `start` has returned.
    pub(crate) async fn start(self: &Arc<Self>, spec: JobSpec) -> Result<JobStatus, ApiError> {
        spec.validate()?;
        let mut started = {
            let mut slot = self.slot();
            match slot.as_ref() {
                Some(job) if same_job(&job.spec, &spec) => job.started.subscribe(),
                Some(job) => {
                    return Err(ApiError::conflict(format!(
                        "this recorder already has {} and takes one job per process; start {} \
                         on another recorder",
                        describe(&job.spec),
                        describe(&spec)
                    )));
                }
                None => {
                    let (started, receiver) = watch::channel(false);
                    *slot = Some(Job {
                        spec: spec.clone(),
                        accepted_at: rfc3339_now(),
                        accepted: Instant::now(),
                        start: Start::Running,
                        stop: Stop::NotRequested,
                        stopped_at: None,
                        failed_at: None,
                        started,
                    });
                    info!(
                        job = spec.id.as_deref().unwrap_or(""),
                        "job accepted, starting"
                    );
                    let jobs = Arc::clone(self);
                    tokio::spawn(async move { jobs.run_start(spec).await });
                    receiver
                }
            }
        };
        // The sender lives in the slot, which is never cleared, so this only ends when the
        // start has finished.
        let _ = started.wait_for(|done| *done).await;
        let start = self.slot().as_ref().map(|job| job.start.clone());
        match start {
            Some(Start::Failed(err)) => Err(err),
            _ => Ok(self.status()),
        }
    }

    /// Runs the runner's `start` on a blocking thread and records the result. Spawned, so a
    /// client that hangs up does not cancel a start half-way.
    async fn run_start(self: Arc<Self>, spec: JobSpec) {
        let runner = Arc::clone(&self.runner);
        let result = tokio::task::spawn_blocking(move || runner.start(spec))
            .await
            .unwrap_or_else(|join| {
                Err(RunnerError::Failed(format!(
                    "the engine panicked while starting the job ({join})"
                )))
            });
        let send_stop = {
            let mut slot = self.slot();
            let Some(job) = slot.as_mut() else {
                return;
            };
            match result {
                Ok(()) => {
                    let latency = job.accepted.elapsed();
                    self.metrics.observe_start_latency(latency);
                    info!(
                        latency_ms = latency.as_secs_f64() * 1000.0,
                        "job started: first frame encoded"
                    );
                    job.start = Start::Succeeded { latency };
                }
                Err(err) => {
                    let err = ApiError::from(err);
                    error!(cause = %err.summary(), code = %err.detail.code, "job failed to start");
                    job.start = Start::Failed(err);
                    job.failed_at = Some(rfc3339_now());
                }
            }
            let send = matches!(job.start, Start::Succeeded { .. }) && job.stop == Stop::Pending;
            if send {
                job.stop = Stop::Sent;
                job.stopped_at = Some(rfc3339_now());
            }
            job.started.send_replace(true);
            send
        };
        if send_stop {
            info!("stop was requested while starting; stopping now");
            self.call_stop().await;
        }
    }

    async fn call_stop(&self) {
        let runner = Arc::clone(&self.runner);
        if let Err(join) = tokio::task::spawn_blocking(move || runner.stop()).await {
            error!(cause = %join, "the engine panicked while beginning to stop");
        }
    }

    /// `POST /v1/job/stop` and shutdown: begins a graceful stop once (deferred until `start`
    /// returns when it is still running). `Ok(false)` when there is no job.
    pub(crate) async fn stop(&self) -> Result<bool, ApiError> {
        let send = {
            let mut slot = self.slot();
            let Some(job) = slot.as_mut() else {
                return Ok(false);
            };
            match (&job.start, job.stop) {
                (Start::Failed(_), _) | (_, Stop::Pending | Stop::Sent) => false,
                (Start::Running, Stop::NotRequested) => {
                    info!("stop requested while starting; it follows the start");
                    job.stop = Stop::Pending;
                    false
                }
                (Start::Succeeded { .. }, Stop::NotRequested) => {
                    job.stop = Stop::Sent;
                    job.stopped_at = Some(rfc3339_now());
                    true
                }
            }
        };
        if send {
            info!("stopping the job: finalising outputs");
            self.call_stop().await;
        }
        Ok(true)
    }

    /// Checks that live changes can go to the runner now.
    fn require_live(&self, what: &str) -> Result<(), ApiError> {
        {
            let slot = self.slot();
            let Some(job) = slot.as_ref() else {
                return Err(ApiError::not_found(format!(
                    "no job is running; start one with POST /v1/job before sending {what}"
                )));
            };
            match &job.start {
                Start::Running => {
                    return Err(ApiError::conflict(format!(
                        "the job is still starting; send {what} again once POST /v1/job has answered"
                    )));
                }
                Start::Failed(err) => {
                    return Err(ApiError::conflict(format!(
                        "the job failed to start ({}); {what} cannot be applied",
                        err.summary()
                    )));
                }
                Start::Succeeded { .. } => {}
            }
            if job.stop != Stop::NotRequested {
                return Err(ApiError::conflict(format!(
                    "the job is stopping; {what} is no longer applied"
                )));
            }
        }
        let state = self.runner.status().state;
        if state != JobState::Recording {
            return Err(ApiError::conflict(format!(
                "the job is {}; {what} is only applied while recording",
                state.as_str()
            )));
        }
        Ok(())
    }

    /// `PATCH /v1/job`.
    pub(crate) fn patch(&self, patch: JobPatch) -> Result<JobStatus, ApiError> {
        self.require_live("live changes")?;
        if !patch.is_empty() {
            info!(
                params = patch.params.len(),
                participants = patch.participants.as_ref().map(Vec::len),
                add_outputs = patch.add_outputs.len(),
                remove_outputs = patch.remove_outputs.len(),
                "live change"
            );
            self.runner.patch(patch).inspect_err(|err| {
                warn!(cause = %err, "patch refused by the engine");
            })?;
        }
        Ok(self.status())
    }

    /// `POST /v1/job/events`.
    pub(crate) fn events(&self, events: Vec<JobEvent>) -> Result<JobStatus, ApiError> {
        self.require_live("events")?;
        let count = events.len();
        debug!(count, "events");
        self.runner.events(events).inspect_err(|err| {
            warn!(cause = %err, count, "events refused by the engine");
        })?;
        Ok(self.status())
    }

    /// `GET /v1/job`: the runner's snapshot with what the API knows better filled in.
    pub(crate) fn status(&self) -> JobStatus {
        let (id, accepted_at, start, stopped_at, failed_at) = {
            let slot = self.slot();
            let Some(job) = slot.as_ref() else {
                return JobStatus::default();
            };
            (
                job.spec.id.clone(),
                job.accepted_at.clone(),
                job.start.clone(),
                job.stopped_at.clone(),
                job.failed_at.clone(),
            )
        };
        let mut status = match start {
            // The runner has not run the job: its snapshot has nothing to say.
            Start::Failed(_) => JobStatus::default(),
            _ => self.runner.status(),
        };
        status.job_id = status.job_id.or(id);
        let ts = &mut status.timestamps;
        ts.accepted = ts.accepted.take().or(Some(accepted_at));
        ts.stopped = ts.stopped.take().or(stopped_at);
        match start {
            Start::Running => {
                if status.state == JobState::Idle {
                    status.state = JobState::Starting;
                }
            }
            Start::Succeeded { latency } => {
                if status.start_latency_ms.is_none() {
                    status.start_latency_ms = Some(latency.as_secs_f64() * 1000.0);
                }
            }
            Start::Failed(err) => {
                status.state = JobState::Failed;
                status.last_error = Some(err.summary());
                status.timestamps.done = failed_at;
            }
        }
        status
    }

    /// How the job ended, once it has.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        if self.slot().is_none() {
            return None;
        }
        let status = self.status();
        match status.state {
            JobState::Done => Some(Outcome::Done),
            JobState::Failed => {
                Some(Outcome::Failed(status.last_error.unwrap_or_else(|| {
                    String::from("the job failed without a reason")
                })))
            }
            _ => None,
        }
    }

    /// Resolves once the job is done or failed.
    pub(crate) async fn finished(&self) -> Outcome {
        loop {
            if let Some(outcome) = self.outcome() {
                return outcome;
            }
            tokio::time::sleep(TERMINAL_POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: Option<&str>, name: &str) -> JobSpec {
        JobSpec {
            id: id.map(String::from),
            composition: vcs_job::CompositionSpec {
                name: name.into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn same_job_is_by_id_or_by_whole_spec_without_ids() {
        let cases = [
            (spec(Some("a"), "demo"), spec(Some("a"), "demo"), true),
            (spec(Some("a"), "demo"), spec(Some("a"), "baseline"), true),
            (spec(Some("a"), "demo"), spec(Some("b"), "demo"), false),
            (spec(None, "demo"), spec(None, "demo"), true),
            (spec(None, "demo"), spec(None, "baseline"), false),
            (spec(None, "demo"), spec(Some("a"), "demo"), false),
        ];
        for (current, requested, same) in cases {
            assert_eq!(
                same_job(&current, &requested),
                same,
                "{current:?} vs {requested:?}"
            );
        }
    }

    #[test]
    fn exit_codes_separate_success_failure_and_timeout() {
        assert_eq!(Outcome::Done.exit_code(), 0);
        assert_eq!(Outcome::NoJob.exit_code(), 0);
        assert_eq!(Outcome::Failed("x".into()).exit_code(), 1);
        assert_eq!(Outcome::StopTimedOut.exit_code(), 2);
    }
}
