//! A recorder lost while recording (its pod deleted or failed, its node gone, its control API
//! unreachable too long) is replaced: another pod of the same pool is claimed (warm, else cold)
//! and given the same job as a **continuation** (`resume` in the job), up to
//! `spec.limits.maxRestarts` times; one more loss fails the Recording.
//!
//! The status keeps the recording's timeline: one span per pod that recorded, one gap per loss.
//! The continuation's job is built from the spec as it is now, so it carries the params and
//! participants as last edited (every edit the operator forwarded came from the spec).
//!
//! The bookkeeping here is pure; [`lost`] is the one step that writes (an event, the old pod's
//! release).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use vcs_job::{JobSpec, ResumeSpec};

use super::condition::{self, reason};
use super::pass::{Flow, Pass, Step};
use crate::api::ConditionStatus::{False, True};
use crate::api::recording::{
    DEFAULT_MAX_RESTARTS, PendingContinuation, RecordedSpan, RecordingGap,
};
use crate::api::{Recording, RecordingStatus};

/// How many continuations `rec` may have.
pub fn max_restarts(rec: &Recording) -> u32 {
    rec.spec.limits.max_restarts.unwrap_or(DEFAULT_MAX_RESTARTS)
}

/// What a loss leads to.
#[derive(Debug, PartialEq)]
pub enum AfterLoss {
    /// A continuation is due: the `n`th restart.
    Continue(u32),
    /// The restarts are used up.
    Exhausted,
}

/// Seconds recorded by the spans that ended.
fn closed_secs(st: &RecordingStatus) -> f64 {
    st.spans
        .iter()
        .filter(|s| s.to.is_some())
        .map(|s| s.recorded_secs)
        .sum()
}

/// The recorder's latest report of seconds recorded, into the open span and the total.
pub fn mirror_recorded(st: &mut RecordingStatus, recorded_secs: f64) {
    if let Some(open) = st.spans.last_mut().filter(|s| s.to.is_none()) {
        open.recorded_secs = recorded_secs;
    }
    st.recorded_secs = Some(closed_secs(st) + recorded_secs);
}

/// The recorder on `pod` encoded its first frame at `first_frame`: opens its span, and when it
/// is a continuation, measures the gap and clears the pending continuation.
pub fn span_started(st: &mut RecordingStatus, pod: &str, first_frame: Timestamp) {
    if let Some(gap) = st.gaps.last_mut().filter(|g| g.length_secs.is_none()) {
        let secs = first_frame.duration_since(gap.start.0).as_secs_f64();
        gap.length_secs = Some(secs.max(0.0));
    }
    st.continuation = None;
    st.spans.push(RecordedSpan {
        pod: pod.into(),
        from: MicroTime(first_frame),
        to: None,
        recorded_secs: 0.0,
    });
}

/// Closes the open span at `at` (when the recording finished).
pub fn close_span(st: &mut RecordingStatus, at: Timestamp) {
    if let Some(open) = st.spans.last_mut().filter(|s| s.to.is_none()) {
        open.to = Some(MicroTime(at));
    }
}

/// Records the loss of the recorder on `pod` at `at` (why: `why`) in the status: the span
/// closes, a gap opens and, within `limit`, a continuation is due and the pod is forgotten so
/// the Recording claims another.
pub fn record_loss(
    st: &mut RecordingStatus,
    pod: &str,
    why: &str,
    at: Timestamp,
    limit: u32,
) -> AfterLoss {
    if st.spans.is_empty()
        && let Some(started) = &st.started_at
    {
        // Started by an operator that kept no spans.
        st.spans.push(RecordedSpan {
            pod: pod.into(),
            from: started.clone(),
            to: None,
            recorded_secs: st.recorded_secs.unwrap_or_default(),
        });
    }
    let after_secs = st.recorded_secs.unwrap_or_else(|| closed_secs(st));
    // The last frame the operator knows of: the span's first frame plus what it reported.
    let last_frame = match st.spans.last().filter(|s| s.to.is_none()) {
        Some(s) => s.from.0 + SignedDuration::from_secs_f64(s.recorded_secs),
        None => at,
    };
    close_span(st, at);
    if st.restarts >= limit {
        return AfterLoss::Exhausted;
    }
    st.restarts += 1;
    st.gaps.push(RecordingGap {
        after_secs,
        start: MicroTime(last_frame.min(at)),
        length_secs: None,
        measured: false,
        pod: pod.into(),
        reason: why.into(),
    });
    st.continuation = Some(PendingContinuation {
        lost_pod: pod.into(),
        since: MicroTime(at),
    });
    st.recorder_pod = None;
    st.launch = None;
    st.claimed_at = None;
    AfterLoss::Continue(st.restarts)
}

/// The `resume` part of a continuation's job, from the status.
pub fn resume_spec(st: &RecordingStatus) -> Option<ResumeSpec> {
    let pending = st.continuation.as_ref()?;
    let gap = st.gaps.last();
    let earlier = st.gaps.len().saturating_sub(1);
    Some(ResumeSpec {
        restart: st.restarts,
        recorded_secs: st.recorded_secs.unwrap_or_else(|| closed_secs(st)),
        earlier_gaps_secs: st.gaps[..earlier]
            .iter()
            .filter_map(|g| g.length_secs)
            .sum(),
        last_frame_at: gap.map(|g| g.start.0.to_string()),
        lost_pod: Some(pending.lost_pod.clone()),
        lost_span_from: st.spans.last().map(|s| s.from.0.to_string()),
        screen: st.screen.clone(),
    })
}

/// The continuation's report of what the lost recorder left (`lost_part_secs` of media) and of
/// the gap measured from the frames (`gap_secs`): they replace the last gap's estimated length
/// (marked `measured`) and the lost span's reported seconds.
pub fn mirror_measured_gap(st: &mut RecordingStatus, lost_part_secs: f64, gap_secs: f64) {
    let Some(gap) = st.gaps.last_mut().filter(|g| g.length_secs.is_some()) else {
        return;
    };
    gap.length_secs = Some(gap_secs.max(0.0));
    gap.measured = true;
    // The lost span is the one before the continuation's (open) span.
    let n = st.spans.len();
    if n >= 2 && st.spans[n - 1].to.is_none() {
        st.spans[n - 2].recorded_secs = lost_part_secs;
    }
}

/// Points the MP4 S3 outputs of continuation `part`'s job at keys of their own (see
/// [`vcs_job::part_key`]): a continuation writing the lost recorder's key would overwrite what
/// it left. When the continuation ends well, the recorder joins every part into ONE MP4 at
/// the original key and deletes the part keys (it finds the original from this key and
/// `resume.restart`). HLS outputs keep their prefix: the continuation numbers its segments
/// after the lost ones and continues the same playlist.
pub fn to_part_keys(job: &mut JobSpec, part: u32) {
    for o in &mut job.outputs {
        if let Some(target) = o.mp4.as_mut().and_then(|m| m.s3.as_mut()) {
            target.key = vcs_job::part_key(&target.key, part);
        }
    }
}

/// The recorder of a Recording that was recording is lost (`msg` says how): the old pod is
/// released, and either a continuation is set up (the pass moves on to claiming a pod) or the
/// Recording fails because its restarts are used up.
pub(super) async fn lost(pass: &mut Pass<'_>, pod: &str, msg: String) -> Step<Flow> {
    tracing::warn!(pod, cause = %msg, "recorder lost");
    pass.kill_pod().await?;
    let limit = max_restarts(pass.rec);
    let at = pass.now();
    pass.set(condition::RECORDER_LOST, True, reason::RECORDER_LOST, &msg);
    pass.set(
        condition::RECORDER_READY,
        False,
        reason::RECORDER_LOST,
        &msg,
    );
    match record_loss(&mut pass.status, pod, &msg, at, limit) {
        AfterLoss::Continue(n) => {
            let note = format!("{msg}; continuing on another pod (restart {n} of {limit})");
            pass.set(condition::RECORDING, False, reason::RESTARTING, &note);
            pass.event(EventType::Warning, reason::RESTARTING, note)
                .await;
            // The loss is written before another pod is claimed: until then the Recording
            // names the lost pod, and the pool's garbage collector takes a claim for a
            // Recording that names another pod for one that lost a race, and gives the pod
            // back while the continuation records on it (seen in the gap bench: the next
            // Recording was then given that pod, which had already served its job).
            if !pass.persist_now().await? {
                return Ok(Flow::End(Action::requeue(pass.ctx.timings.retry)));
            }
            Ok(Flow::Next)
        }
        AfterLoss::Exhausted => {
            let note = format!(
                "{msg}; {} restarts already (spec.limits.maxRestarts {limit}): giving up",
                pass.status.restarts
            );
            pass.fail(reason::RESTART_LIMIT_REACHED, &note);
            pass.event(EventType::Warning, reason::RESTART_LIMIT_REACHED, note)
                .await;
            Ok(Flow::End(Action::await_change()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn recording_on(pod: &str) -> RecordingStatus {
        let mut st = RecordingStatus {
            started_at: Some(MicroTime(t(0))),
            recorder_pod: Some(pod.into()),
            ..Default::default()
        };
        span_started(&mut st, pod, t(0));
        st
    }

    #[test]
    fn a_loss_closes_the_span_opens_a_gap_and_the_continuation_measures_it() {
        let mut st = recording_on("a");
        mirror_recorded(&mut st, 10.0);
        assert_eq!(st.recorded_secs, Some(10.0));
        // Lost at 13 s: the last frame known is at 10 s.
        assert_eq!(
            record_loss(&mut st, "a", "pod a failed", t(13), 3),
            AfterLoss::Continue(1)
        );
        assert_eq!((st.restarts, st.recorder_pod.as_deref()), (1, None));
        assert_eq!(st.spans[0].to, Some(MicroTime(t(13))));
        let gap = &st.gaps[0];
        assert_eq!((gap.after_secs, gap.start.0), (10.0, t(10)));
        let resume = resume_spec(&st).unwrap();
        assert_eq!(
            (
                resume.restart,
                resume.recorded_secs,
                resume.lost_pod.as_deref()
            ),
            (1, 10.0, Some("a"))
        );
        assert_eq!(resume.last_frame_at, Some(t(10).to_string()));
        assert_eq!(resume.lost_span_from, Some(t(0).to_string()));
        // The continuation's first frame at 12 s: a 2 s gap.
        span_started(&mut st, "b", t(12));
        assert_eq!(st.gaps[0].length_secs, Some(2.0));
        assert_eq!(st.continuation, None);
        assert_eq!(resume_spec(&st), None);
        mirror_recorded(&mut st, 5.0);
        assert_eq!(st.recorded_secs, Some(15.0));
        assert_eq!(
            st.spans.iter().map(|s| s.pod.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        // A second loss at 20 s (b's last frame known at 17 s): the first gap's 2 s go with
        // the second continuation, so its timeline starts after both gaps.
        assert_eq!(
            record_loss(&mut st, "b", "pod b failed", t(20), 3),
            AfterLoss::Continue(2)
        );
        let resume = resume_spec(&st).unwrap();
        assert_eq!(
            (
                resume.restart,
                resume.recorded_secs,
                resume.earlier_gaps_secs
            ),
            (2, 15.0, 2.0)
        );
        assert_eq!(resume.last_frame_at, Some(t(17).to_string()));
    }

    #[test]
    fn the_gap_measured_from_the_frames_replaces_the_estimate() {
        let mut st = recording_on("a");
        mirror_recorded(&mut st, 10.0);
        record_loss(&mut st, "a", "pod a failed", t(13), 3);
        // Nothing to replace before the continuation's first frame.
        mirror_measured_gap(&mut st, 11.2, 0.8);
        assert_eq!((st.gaps[0].length_secs, st.gaps[0].measured), (None, false));
        span_started(&mut st, "b", t(12));
        assert_eq!(st.gaps[0].length_secs, Some(2.0));
        // The lost recorder left 11.2 s of media (more than its last report): 0.8 s of gap.
        mirror_measured_gap(&mut st, 11.2, 0.8);
        assert_eq!(
            (st.gaps[0].length_secs, st.gaps[0].measured),
            (Some(0.8), true)
        );
        assert_eq!(st.spans[0].recorded_secs, 11.2);
        mirror_recorded(&mut st, 5.0);
        assert_eq!(st.recorded_secs, Some(16.2));
        // Clocks that disagree never make a negative gap.
        mirror_measured_gap(&mut st, 11.2, -0.1);
        assert_eq!(st.gaps[0].length_secs, Some(0.0));
        let json = serde_json::to_value(&st.gaps[0]).unwrap();
        assert_eq!(json["measured"], true);
    }

    #[test]
    fn restarts_stop_at_the_limit() {
        let mut st = recording_on("a");
        for (i, pod) in ["a", "b"].into_iter().enumerate() {
            let n = u32::try_from(i).unwrap() + 1;
            assert_eq!(
                record_loss(&mut st, pod, "lost", t(10), 2),
                AfterLoss::Continue(n)
            );
            span_started(&mut st, "next", t(11));
        }
        assert_eq!(
            record_loss(&mut st, "c", "lost", t(20), 2),
            AfterLoss::Exhausted
        );
        assert_eq!((st.restarts, st.gaps.len()), (2, 2));
        let mut never = recording_on("a");
        assert_eq!(
            record_loss(&mut never, "a", "lost", t(1), 0),
            AfterLoss::Exhausted
        );
    }

    #[test]
    fn a_recording_started_without_spans_gets_one_on_loss() {
        let mut st = RecordingStatus {
            started_at: Some(MicroTime(t(0))),
            recorded_secs: Some(4.0),
            ..Default::default()
        };
        record_loss(&mut st, "a", "lost", t(6), 3);
        assert_eq!(st.spans.len(), 1);
        assert_eq!(st.spans[0].recorded_secs, 4.0);
        assert_eq!(st.gaps[0].start.0, t(4));
    }
}
