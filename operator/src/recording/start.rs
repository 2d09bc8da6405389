//! Phase Starting: the start deadline, reaching the recorder on its pod (health, endpoint,
//! token, readiness) and sending it the job. Reaching the recorder is shared with the later
//! phases.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use vcs_job::JobSpec;
use vcs_job::control::{JobPatch, JobStatus};

use super::condition::{self, reason};
use super::job::{self, JobError};
use super::pass::{Flow, Halt, Pass, Step, end};
use super::status;
use super::{live, progress, restart};
use crate::api::ConditionStatus::{False, True};
use crate::api::{LaunchType, RecorderPool, RecordingResult};
use crate::pool::pods::{is_finished, is_ready};
use crate::recorder_client::{RecorderClient, RecorderError};
use crate::telemetry::LaunchLabels;

/// Not recording `spec.limits.startDeadlineSecs` (or the operator's default) after creation, or
/// after the loss of the recorder a continuation replaces: fails the Recording and gives its
/// pod back.
pub(super) async fn check_start_deadline(pass: &mut Pass<'_>) -> Step<()> {
    let limits = &pass.rec.spec.limits;
    let deadline = limits
        .start_deadline_secs
        .map_or(pass.ctx.timings.start_deadline, |s| {
            Duration::from_secs(u64::from(s))
        });
    let (since, what) = match &pass.status.continuation {
        Some(c) => (c.since.0, "the loss of the recorder"),
        None => match pass.rec.metadata.creation_timestamp.as_ref() {
            Some(created) => (created.0, "creation"),
            None => return Ok(()),
        },
    };
    if pass.now().duration_since(since) <= SignedDuration::try_from(deadline).unwrap_or_default() {
        return Ok(());
    }
    let msg = format!(
        "not recording {}s after {what} (spec.limits.startDeadlineSecs)",
        deadline.as_secs()
    );
    pass.fail(reason::START_DEADLINE_EXCEEDED, &msg);
    pass.event(EventType::Warning, reason::START_DEADLINE_EXCEEDED, msg)
        .await;
    pass.release_pod().await?;
    end(Action::await_change())
}

/// The recorder of a Recording's pod, reachable.
pub(super) struct Recorder {
    pub pod: String,
    /// Base URL of its control API.
    pub base: String,
    pub token: String,
    /// The pod is Ready: the recorder is idle and takes a job.
    pub pod_ready: bool,
    pub client: RecorderClient,
}

/// The control API calls, on this recorder.
impl Recorder {
    async fn start(&self, job: &JobSpec) -> Result<JobStatus, RecorderError> {
        self.client.start(&self.base, &self.token, job).await
    }

    pub async fn status(&self) -> Result<JobStatus, RecorderError> {
        self.client.status(&self.base, &self.token).await
    }

    pub async fn patch(&self, patch: &JobPatch) -> Result<JobStatus, RecorderError> {
        self.client.patch(&self.base, &self.token, patch).await
    }

    pub async fn stop(&self) -> Result<JobStatus, RecorderError> {
        self.client.stop(&self.base, &self.token).await
    }

    /// `RecorderReady=True`: it answers, with the job.
    pub fn report_running(&self, pass: &mut Pass<'_>) {
        let msg = format!("pod {}", self.pod);
        pass.set(condition::RECORDER_READY, True, reason::RUNNING, msg);
    }
}

/// What the pod of a Recording says about its recorder.
#[derive(Debug, PartialEq)]
enum PodHealth<'p> {
    /// Gone, going, or ended without recording: the recording cannot go on.
    Lost(String),
    /// Exited 0 after recording: the recorder finished its job before it was polled.
    ExitedAfterJob,
    Up(&'p Pod),
}

fn pod_health<'p>(name: &str, pod: Option<&'p Pod>, started: bool) -> PodHealth<'p> {
    let Some(pod) = pod else {
        return PodHealth::Lost(format!("recorder pod {name} disappeared"));
    };
    // A pod that ended says how, even while it is being deleted (the pool removes finished
    // recorders).
    if !is_finished(pod) {
        return if pod.metadata.deletion_timestamp.is_some() {
            PodHealth::Lost(format!("recorder pod {name} is being deleted"))
        } else {
            PodHealth::Up(pod)
        };
    }
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if !started {
        PodHealth::Lost(format!("recorder pod {name} exited before recording"))
    } else if phase == Some("Failed") {
        PodHealth::Lost(format!("recorder pod {name} failed"))
    } else {
        PodHealth::ExitedAfterJob
    }
}

/// A lost recorder is replaced by a continuation while the Recording records (or a
/// continuation starts); not before its first frame, nor once it was told to stop.
pub(super) fn replaceable(pass: &Pass<'_>) -> bool {
    pass.status.started_at.is_some() && pass.status.stop_requested_at.is_none()
}

/// Reaches the recorder on the Recording's pod: ends the pass when the pod is lost or has
/// finished, has no address yet, or the pool's token Secret is missing; a recorder lost while
/// recording moves the pass on to claiming its replacement ([`Halt::Next`]).
pub(super) async fn connect(pass: &mut Pass<'_>, pool: &RecorderPool) -> Step<Recorder> {
    let name = pass.status.recorder_pod.clone().unwrap_or_default();
    // A continuation's pod has not recorded yet, whatever the Recording did before.
    let started = pass.status.started_at.is_some() && pass.status.continuation.is_none();
    let pod = pass.pods.get_opt(&name).await.map_err(|e| pass.err(e))?;
    let pod = match pod_health(&name, pod.as_ref(), started) {
        PodHealth::Up(pod) => pod,
        PodHealth::Lost(msg) if replaceable(pass) => {
            return match restart::lost(pass, &name, msg).await? {
                Flow::Next => Err(Halt::Next),
                Flow::End(action) => end(action),
            };
        }
        PodHealth::Lost(msg) => {
            tracing::warn!(pod = name, cause = %msg, "recorder lost");
            pass.set(condition::RECORDER_LOST, True, reason::RECORDER_LOST, &msg);
            pass.set(
                condition::RECORDER_READY,
                False,
                reason::RECORDER_LOST,
                &msg,
            );
            pass.fail(reason::RECORDER_LOST, &msg);
            pass.event(EventType::Warning, reason::RECORDER_LOST, msg)
                .await;
            pass.release_pod().await?;
            return end(Action::await_change());
        }
        PodHealth::ExitedAfterJob => {
            let msg = "recorder exited after its job";
            pass.set(condition::RECORDING, False, reason::DONE, msg);
            pass.set(condition::SUCCEEDED, True, reason::DONE, msg);
            let observed = pass.observed;
            status::finish(&mut pass.status, RecordingResult::Succeeded, &observed);
            // Stored before the pod goes (see `progress::follow`): a lost write retries.
            if !pass.persist_now().await? {
                return end(Action::requeue(pass.ctx.timings.retry));
            }
            pass.release_pod().await?;
            return end(Action::await_change());
        }
    };
    let pod_ready = is_ready(pod);
    let Some(base) = (pass.ctx.endpoint)(pod, pool.spec.template.port()) else {
        pass.set(
            condition::RECORDER_READY,
            False,
            reason::POD_STARTING,
            format!("waiting for pod {name} to get an IP and be Ready"),
        );
        return end(Action::requeue(pass.ctx.timings.retry));
    };
    let Some(token) = pass.token(pool).await? else {
        let token_ref = &pool.spec.template.token_secret_ref;
        let msg = format!(
            "RecorderPool {}: spec.template.tokenSecretRef: Secret {:?} key {:?} not found in namespace {}; create it",
            pool.name_any(),
            token_ref.name,
            token_ref.key,
            pass.ns
        );
        pass.set(
            condition::RECORDER_READY,
            False,
            reason::SECRET_MISSING,
            msg,
        );
        return end(Action::requeue(pass.ctx.timings.retry));
    };
    Ok(Recorder {
        pod: name,
        base,
        token,
        pod_ready,
        client: pass.ctx.recorders.clone(),
    })
}

/// Starting: sends the job once the recorder is ready for it, then follows the recording.
pub(super) async fn start(pass: &mut Pass<'_>) -> Step<Flow> {
    check_start_deadline(pass).await?;
    let pool = pass.pool().await?;
    let recorder = connect(pass, &pool).await?;
    if !recorder.pod_ready {
        wait_unless_ours(pass, &recorder).await?;
    }
    let job = build_job(pass).await?;
    send_job(pass, &recorder, &job).await?;
    progress::follow(pass, &recorder).await
}

/// Only an idle recorder is Ready (its `/readyz` turns 503 once it has a job), so readiness
/// gates the start. A recorder that is not Ready may still hold this Recording's job: an
/// earlier reconcile started it and died before writing that down. Then carry on; the start is
/// idempotent by job id.
async fn wait_unless_ours(pass: &mut Pass<'_>, recorder: &Recorder) -> Step<()> {
    let ours = recorder
        .status()
        .await
        .is_ok_and(|js| js.job_id.is_some() && js.job_id == pass.rec.metadata.uid);
    if ours {
        return Ok(());
    }
    pass.set(
        condition::RECORDER_READY,
        False,
        reason::POD_STARTING,
        format!("waiting for pod {} to be Ready", recorder.pod),
    );
    end(Action::requeue(pass.ctx.timings.retry))
}

/// The job, with the credentials and stream keys from the Secrets the spec names.
async fn build_job(pass: &mut Pass<'_>) -> Step<JobSpec> {
    let retry = Action::requeue(pass.ctx.timings.retry);
    let secrets = match pass.secrets(job::secret_names(pass.rec)).await? {
        Ok(s) => s,
        Err(name) => {
            let msg = format!(
                "Secret {name:?} referenced by spec.outputs is not in namespace {}; create it",
                pass.ns
            );
            pass.set(condition::ACCEPTED, False, reason::SECRET_MISSING, msg);
            return end(retry);
        }
    };
    match job::build_job(pass.rec, &secrets) {
        Ok(mut j) => {
            j.resume = restart::resume_spec(&pass.status);
            if j.resume.is_some() {
                restart::to_part_keys(&mut j, pass.status.restarts);
            }
            Ok(j)
        }
        Err(e @ (JobError::MissingKey { .. } | JobError::MissingSecret { .. })) => {
            pass.set(
                condition::ACCEPTED,
                False,
                reason::SECRET_MISSING,
                e.to_string(),
            );
            end(retry)
        }
        Err(e) => {
            pass.set(
                condition::ACCEPTED,
                False,
                reason::INVALID_SPEC,
                e.to_string(),
            );
            end(Action::await_change())
        }
    }
}

/// `POST /v1/job`, which answers once the first frame is encoded.
async fn send_job(pass: &mut Pass<'_>, recorder: &Recorder, job: &JobSpec) -> Step<()> {
    match recorder.start(job).await {
        Ok(js) => {
            started(pass, recorder, &js).await;
            Ok(())
        }
        Err(e) if e.is_rejection() || e.code() == Some("conflict") => {
            refused(pass, &e).await?;
            end(Action::await_change())
        }
        Err(e) => unreachable(pass, &e),
    }
}

/// The recorder did not answer (or failed): `RecorderReady=False`, and a retry.
pub(super) fn unreachable<T>(pass: &mut Pass<'_>, e: &RecorderError) -> Step<T> {
    let msg = e.to_string();
    pass.set(condition::RECORDER_READY, False, reason::UNREACHABLE, msg);
    end(Action::requeue(pass.ctx.timings.retry))
}

/// The recorder took the job: records its first frame, the start latency and what was sent.
async fn started(pass: &mut Pass<'_>, recorder: &Recorder, js: &JobStatus) {
    let first_frame = js
        .timestamps
        .first_frame
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(pass.now());
    if pass.status.continuation.is_some() {
        return resumed(pass, recorder, js, first_frame).await;
    }
    pass.status.started_at = Some(MicroTime(first_frame));
    restart::span_started(&mut pass.status, &recorder.pod, first_frame);
    if let Some(created) = pass.rec.metadata.creation_timestamp.as_ref() {
        let ms = Timestamp::now()
            .duration_since(created.0)
            .as_millis()
            .max(0) as f64;
        pass.status.start_latency_ms = Some(ms);
        let launch = match pass.status.launch.unwrap_or(LaunchType::Warm) {
            LaunchType::Warm => "warm",
            LaunchType::Cold => "cold",
        };
        pass.ctx
            .metrics
            .start_latency_seconds
            .get_or_create(&LaunchLabels { launch })
            .observe(ms / 1000.0);
    }
    let spec = &pass.rec.spec;
    pass.status.applied = Some(live::applied_at_start(
        &spec.composition.params,
        &spec.session.participants,
    ));
    pass.set(condition::ACCEPTED, True, reason::VALID, "");
    recorder.report_running(pass);
    let observed = pass.observed;
    status::mirror(&mut pass.status, js, &observed);
    let note = format!("recording on pod {}", recorder.pod);
    pass.event(EventType::Normal, reason::STARTED, note).await;
}

/// A continuation took the job: the gap is closed and the recording goes on (its start time and
/// start latency stay those of the first recorder).
async fn resumed(pass: &mut Pass<'_>, recorder: &Recorder, js: &JobStatus, first_frame: Timestamp) {
    restart::span_started(&mut pass.status, &recorder.pod, first_frame);
    let spec = &pass.rec.spec;
    pass.status.applied = Some(live::applied_at_start(
        &spec.composition.params,
        &spec.session.participants,
    ));
    recorder.report_running(pass);
    let observed = pass.observed;
    status::mirror(&mut pass.status, js, &observed);
    let gap = pass.status.gaps.last().and_then(|g| g.length_secs);
    let note = format!(
        "recording continues on pod {} after a gap of {:.1}s (restart {})",
        recorder.pod,
        gap.unwrap_or_default(),
        pass.status.restarts
    );
    pass.set(condition::RECORDER_LOST, False, reason::RESUMED, &note);
    pass.event(EventType::Normal, reason::RESUMED, note).await;
}

/// The recorder refused the job itself (a retry of the same spec will not help): fails the
/// Recording and gives the pod back.
async fn refused(pass: &mut Pass<'_>, e: &RecorderError) -> Step<()> {
    let why = if e.code() == Some("invalidComposition") {
        reason::INVALID_COMPOSITION
    } else {
        reason::REJECTED_BY_RECORDER
    };
    pass.set(condition::ACCEPTED, False, why, e.to_string());
    pass.fail(why, &e.to_string());
    pass.event(EventType::Warning, why, e.to_string()).await;
    pass.release_pod().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(phase: &str) -> Pod {
        Pod {
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn pod_health_tells_lost_from_finished_from_up() {
        let lost = |h: PodHealth| matches!(h, PodHealth::Lost(_));
        assert!(lost(pod_health("p", None, true)));
        let mut going = pod("Running");
        going.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert!(lost(pod_health("p", Some(&going), true)));
        // Ended before its job started, or failed after: lost.
        assert!(lost(pod_health("p", Some(&pod("Succeeded")), false)));
        assert!(lost(pod_health("p", Some(&pod("Failed")), true)));
        // Exited 0 after recording: done.
        assert_eq!(
            pod_health("p", Some(&pod("Succeeded")), true),
            PodHealth::ExitedAfterJob
        );
        // Even while the pool deletes it.
        let mut finished = pod("Succeeded");
        finished.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert_eq!(
            pod_health("p", Some(&finished), true),
            PodHealth::ExitedAfterJob
        );
        let running = pod("Running");
        assert_eq!(
            pod_health("p", Some(&running), false),
            PodHealth::Up(&running)
        );
    }
}
