//! Reconciles one Recording a phase at a time; every step is safe to repeat (a restart, a second
//! replica or a retry finds the same state and does nothing new), and a settled Recording is
//! not written at all.
//!
//! As kube's `finalizer` helper does, a reconcile is either *apply* (the Recording lives: run
//! its [`Phase`]) or *cleanup* (it is being deleted: [`finalize::cleanup`]), after the
//! finalizer is in place. The helper itself is not used because cleanup has to wait for the
//! outputs (requeue) without calling that an error, and the helper drops the finalizer on any
//! successful cleanup.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use thiserror::Error;
use tracing::{instrument, warn};

use super::condition::{self, reason};
use super::finalize::{self, add_finalizer, has_finalizer};
use super::job::JobError;
use super::pass::{Flow, Halt, Pass, Step};
use super::phase::Phase;
use super::{place, progress, start};
use crate::api::ConditionStatus::False;
use crate::api::{LABEL_RECORDING, Recording};
use crate::claim;
use crate::context::{Context, log_run_error};

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("Recording {recording}: {source}")]
    Kube {
        recording: String,
        source: kube::Error,
    },
    #[error("Recording {recording}: getting a recorder pod: {source}")]
    Claim {
        recording: String,
        source: claim::ClaimError,
    },
}

impl RecordingError {
    /// An API error about Recording `ns`/`name`.
    pub fn kube(ns: &str, name: &str, source: kube::Error) -> Self {
        Self::Kube {
            recording: format!("{ns}/{name}"),
            source,
        }
    }
}

/// A pass over the Recording as the controller's cache has it; when one of its status writes
/// finds the Recording changed since (another writer came first, or the cache lags behind the
/// API server: its own last write not seen yet, or its watch backing off after an error), one
/// more pass at once over the API server's copy. Progress never waits on the watch: a loaded
/// API server whose watches stall for half a minute would otherwise leave every pass working
/// from the same stale copy, each write refused.
#[instrument(skip_all, fields(recording = %rec.name_any(), namespace = rec.namespace().unwrap_or_default()))]
pub async fn reconcile(rec: Arc<Recording>, ctx: Arc<Context>) -> Result<Action, RecordingError> {
    let reconciled = async {
        let (action, stale) = reconcile_once(&rec, &ctx).await?;
        if !stale {
            return Ok(action);
        }
        let ns = rec.namespace().unwrap_or_default();
        let latest = ctx
            .namespaced::<Recording>(&ns)
            .get_opt(&rec.name_any())
            .await
            .map_err(|source| RecordingError::kube(&ns, &rec.name_any(), source))?;
        let Some(latest) = latest else {
            return Ok(Action::await_change());
        };
        let (action, stale) = reconcile_once(&latest, &ctx).await?;
        // Changed again meanwhile: its change wakes a pass; look again soon regardless.
        Ok(if stale {
            Action::requeue(ctx.timings.retry)
        } else {
            action
        })
    };
    ctx.metrics.time_reconcile("recording", reconciled).await
}

/// One pass: what to do next, and whether a status write of it found the Recording changed.
async fn reconcile_once(rec: &Recording, ctx: &Context) -> Result<(Action, bool), RecordingError> {
    let mut pass = Pass::new(rec, ctx);
    let r = if rec.metadata.deletion_timestamp.is_some() {
        finalize::cleanup(&mut pass).await
    } else if !has_finalizer(rec) {
        add_finalizer(&pass).await
    } else {
        pass.status.observed_generation = pass.observed.generation;
        let r = apply(&mut pass).await;
        pass.persist().await?;
        r
    };
    r.map(|action| (action, pass.stale))
}

/// Runs the Recording's phase, and the next one when a phase moves it on within this pass
/// (placing it, then claiming a pod, then starting the job).
async fn apply(pass: &mut Pass<'_>) -> Result<Action, RecordingError> {
    loop {
        let step: Step<Flow> = match Phase::of(pass.rec, &pass.status, &pass.ctx.region) {
            Phase::Done => progress::release_finished(pass).await,
            Phase::Invalid(e) => report_invalid(pass, e).await,
            Phase::Unplaced => place::place(pass),
            Phase::OtherRegion => place::leave_to_other_region(pass),
            Phase::NeedsPod => place::get_pod(pass).await,
            Phase::Starting => start::start(pass).await,
            Phase::Recording | Phase::Stopping => progress::poll(pass).await,
        };
        match step {
            Ok(Flow::Next) => {}
            Ok(Flow::End(action)) | Err(Halt::End(action)) => return Ok(action),
            Err(Halt::Error(e)) => return Err(e),
            Err(Halt::Next) => {}
        }
    }
}

/// Invalid: `Accepted=False` with what is wrong, and one warning event per distinct problem.
async fn report_invalid(pass: &mut Pass<'_>, e: JobError) -> Step<Flow> {
    let msg = e.to_string();
    let new = pass
        .status
        .conditions
        .iter()
        .all(|c| c.type_ != condition::ACCEPTED || c.message != msg);
    if new {
        pass.event(EventType::Warning, reason::INVALID_SPEC, msg.clone())
            .await;
    }
    pass.set(condition::ACCEPTED, False, reason::INVALID_SPEC, msg);
    Ok(Flow::End(Action::await_change()))
}

pub fn error_policy(rec: Arc<Recording>, err: &RecordingError, ctx: Arc<Context>) -> Action {
    warn!(recording = %rec.name_any(), cause = %err, "reconcile failed");
    Action::requeue(ctx.timings.retry)
}

/// Runs the Recording controller over `namespace` (all when `None`) until the stream ends.
pub async fn run(ctx: Arc<Context>, namespace: Option<String>) {
    let ns = namespace.as_deref();
    let (recs, pods) = (ctx.watched::<Recording>(ns), ctx.watched::<Pod>(ns));
    Controller::new(recs, watcher::Config::default())
        .watches(
            pods,
            watcher::Config::default().labels(LABEL_RECORDING),
            |pod: Pod| {
                let name = pod.labels().get(LABEL_RECORDING)?.clone();
                Some(ObjectRef::<Recording>::new(&name).within(&pod.namespace()?))
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move { log_run_error(r.err(), "recording") })
        .await;
}
