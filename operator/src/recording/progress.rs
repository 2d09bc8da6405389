//! Phases Recording, Stopping and Done: the recorder's progress mirrored into the status, live
//! edits forwarded, the stop and the maximum duration, and the pod given back at the end.

use std::time::Duration;

use k8s_openapi::jiff::SignedDuration;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use tracing::warn;

use super::condition::{self, reason};
use super::live;
use super::pass::{Flow, Pass, Step};
use super::start::{Recorder, connect, replaceable, unreachable};
use super::{restart, status};
use crate::api::{ConditionStatus, RecordingResult, find_condition};
use crate::recorder_client::RecorderError;

/// Done: only the pod is left to give back (it may have outlived an earlier pass).
pub(super) async fn release_finished(pass: &mut Pass<'_>) -> Step<Flow> {
    pass.release_pod().await?;
    Ok(Flow::End(Action::await_change()))
}

/// Recording and Stopping: reads the recorder's report, then follows it.
pub(super) async fn poll(pass: &mut Pass<'_>) -> Step<Flow> {
    let pool = pass.pool().await?;
    let recorder = connect(pass, &pool).await?;
    match recorder.status().await {
        Ok(js) => {
            let observed = pass.observed;
            let before = pass.status.input_delivery.clone();
            status::mirror(&mut pass.status, &js, &observed);
            let fps = pass.rec.spec.video.fps;
            for note in status::lip_sync_crossings(&before, &pass.status.input_delivery, fps) {
                pass.event(EventType::Warning, reason::LIP_SYNC, note).await;
            }
            recorder.report_running(pass);
        }
        Err(e) if e.is_unavailable() && replaceable(pass) => {
            if let Some(msg) = silent_too_long(pass, &recorder, &e) {
                return restart::lost(pass, &recorder.pod, msg).await;
            }
            return unreachable(pass, &e);
        }
        Err(e) => return unreachable(pass, &e),
    }
    follow(pass, &recorder).await
}

/// The recorder has not answered since `RecorderReady` turned `Unreachable`, longer than the
/// operator's `recorder_lost_after`: the message saying so, when it is lost.
fn silent_too_long(pass: &Pass<'_>, recorder: &Recorder, e: &RecorderError) -> Option<String> {
    let c = find_condition(&pass.status.conditions, condition::RECORDER_READY)?;
    if c.status != ConditionStatus::False || c.reason != reason::UNREACHABLE {
        return None;
    }
    let silent = pass.now().duration_since(c.last_transition_time.0);
    let limit = SignedDuration::try_from(pass.ctx.timings.recorder_lost_after).unwrap_or_default();
    (silent >= limit).then(|| {
        format!(
            "recorder on pod {} has not answered for {}s: {e}",
            recorder.pod,
            silent.as_secs()
        )
    })
}

/// After the recorder's latest report: the end of the recording, or live edits and the stop
/// and limits while it runs.
pub(super) async fn follow(pass: &mut Pass<'_>, recorder: &Recorder) -> Step<Flow> {
    if let Some(result) = pass.status.result {
        // The result is stored before the pod is given back: if this pass's write loses a race
        // (another writer changed the Recording), releasing anyway would leave a Recording with
        // no result whose pod is going away, which the next pass can only read as lost. Then
        // the next pass reads the result again from the recorder, or from its finished pod.
        if !pass.persist_now().await? {
            return Ok(Flow::End(Action::requeue(pass.ctx.timings.retry)));
        }
        let (type_, why) = match result {
            RecordingResult::Succeeded => (EventType::Normal, reason::SUCCEEDED),
            RecordingResult::Failed => (EventType::Warning, reason::FAILED),
        };
        let note = format!("recording finished on pod {}", recorder.pod);
        pass.event(type_, why, note).await;
        pass.release_pod().await?;
        return Ok(Flow::End(Action::await_change()));
    }
    if pass.status.stop_requested_at.is_some() {
        return Ok(Flow::End(Action::requeue(pass.ctx.timings.poll)));
    }
    forward_live_edits(pass, recorder).await;
    Ok(Flow::End(stop_or_wait(pass, recorder).await))
}

/// Sends what changed in `spec.composition.params` and the participants since last sent; a
/// failure is retried on the next poll.
async fn forward_live_edits(pass: &mut Pass<'_>, recorder: &Recorder) {
    let spec = &pass.rec.spec;
    let (params, participants) = (&spec.composition.params, &spec.session.participants);
    let applied = pass.status.applied.clone().unwrap_or_default();
    let Some(patch) = live::diff(&applied, params, participants) else {
        return;
    };
    match recorder.patch(&patch).await {
        Ok(_) => {
            pass.status.applied = Some(live::applied_at_start(params, participants));
            let and_participants = if patch.participants.is_some() {
                " and participants"
            } else {
                ""
            };
            let note = format!("forwarded {} params{and_participants}", patch.params.len());
            pass.event(EventType::Normal, reason::LIVE_UPDATE, note)
                .await;
        }
        Err(e) => warn!(cause = %e, "live update not forwarded; will retry"),
    }
}

/// Stops the recorder when `spec.stop` is set or the maximum duration is reached; otherwise
/// says when to look again (the next poll, or the moment the maximum is reached if sooner).
async fn stop_or_wait(pass: &mut Pass<'_>, recorder: &Recorder) -> Action {
    let (rec, timings) = (pass.rec, &pass.ctx.timings);
    let max = rec
        .spec
        .limits
        .max_duration_secs
        .map(|s| SignedDuration::from_secs(i64::from(s)));
    let started = pass.status.started_at.as_ref().map(|t| t.0);
    let over = match (max, started) {
        (Some(max), Some(started)) => pass.now().duration_since(started) >= max,
        _ => false,
    };
    if rec.spec.stop || over {
        let why = if rec.spec.stop {
            reason::STOP_REQUESTED
        } else {
            reason::MAX_DURATION_REACHED
        };
        match recorder.stop().await {
            Ok(js) => {
                pass.status.stop_requested_at = Some(pass.now_micro());
                let observed = pass.observed;
                status::mirror(&mut pass.status, &js, &observed);
                let note = "stopping; finishing the outputs".to_string();
                pass.event(EventType::Normal, why, note).await;
            }
            Err(e) => warn!(cause = %e, "stop not delivered; will retry"),
        }
        return Action::requeue(timings.retry.min(timings.poll));
    }
    if let (Some(max), Some(started)) = (max, started) {
        let left =
            Duration::try_from((started + max).duration_since(pass.now())).unwrap_or_default();
        return Action::requeue(left.min(timings.poll));
    }
    Action::requeue(timings.poll)
}
