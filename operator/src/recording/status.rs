//! Mirroring what the recorder reports into the Recording's status, and finishing it. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use vcs_job::control::{InputDelivery, JobState, JobStatus, OutputState};

use crate::api::ConditionStatus::{False, True};
use crate::api::{Observed, RecordingResult, RecordingStatus, set_condition};

use super::condition::{OUTPUTS_HEALTHY, RECORDING, SUCCEEDED, reason};
use super::restart;

/// Writes the recorder's report into `st`.
pub fn mirror(st: &mut RecordingStatus, job: &JobStatus, observed: &Observed) {
    st.outputs = job.outputs.clone();
    st.frames = Some(job.frames);
    st.input_delivery = job.input_delivery.clone();
    st.faults = job.faults.clone();
    if let (Some(lost), Some(gap)) = (job.lost_part_secs, job.measured_gap_secs) {
        restart::mirror_measured_gap(st, lost, gap);
    }
    // Only a recorder that is recording says what is on screen: one still starting (a
    // continuation before it replayed the lost screen) would wipe what the next one needs.
    if job.frames > 0 {
        st.screen = job.screen.clone();
    }
    restart::mirror_recorded(st, job.recorded_secs);
    mirror_outputs(st, job, observed);
    mirror_state(st, job, observed);
}

/// `OutputsHealthy`: false, naming them, while any output is failing or reconnecting.
fn mirror_outputs(st: &mut RecordingStatus, job: &JobStatus, observed: &Observed) {
    let failing: Vec<String> = job
        .outputs
        .iter()
        .filter(|o| matches!(o.state, OutputState::Failed | OutputState::Reconnecting))
        .map(|o| {
            let why = o.last_error.as_ref().map(|e| format!(": {e}"));
            format!("{} {:?}{}", o.name, o.state, why.unwrap_or_default())
        })
        .collect();
    let c = &mut st.conditions;
    if failing.is_empty() {
        set_condition(c, OUTPUTS_HEALTHY, True, reason::HEALTHY, "", observed);
    } else {
        let msg = failing.join("; ");
        set_condition(c, OUTPUTS_HEALTHY, False, reason::DEGRADED, msg, observed);
    }
}

/// `Recording` and `Succeeded` from the job's state, and the result once it is over.
fn mirror_state(st: &mut RecordingStatus, job: &JobStatus, observed: &Observed) {
    let c = &mut st.conditions;
    match job.state {
        JobState::Idle | JobState::Starting => {}
        JobState::Recording => {
            let msg = format!("{} frames", job.frames);
            set_condition(c, RECORDING, True, reason::RUNNING, msg, observed);
        }
        JobState::Finalising => {
            let msg = "finishing the outputs";
            set_condition(c, RECORDING, False, reason::FINALISING, msg, observed);
        }
        JobState::Done => {
            set_condition(c, RECORDING, False, reason::DONE, "", observed);
            let msg = format!("{} frames, {} outputs", job.frames, job.outputs.len());
            set_condition(c, SUCCEEDED, True, reason::DONE, msg, observed);
            finish(st, RecordingResult::Succeeded, observed);
        }
        JobState::Failed => {
            let why = job
                .last_error
                .clone()
                .unwrap_or_else(|| "the recorder reported a failure without a message".into());
            set_condition(c, RECORDING, False, reason::RECORDER_FAILED, &why, observed);
            set_condition(c, SUCCEEDED, False, reason::RECORDER_FAILED, why, observed);
            finish(st, RecordingResult::Failed, observed);
        }
    }
}

/// Marks the Recording finished; a result, once set, is never changed.
pub fn finish(st: &mut RecordingStatus, result: RecordingResult, observed: &Observed) {
    if st.result.is_none() {
        st.result = Some(result);
        st.finished_at = Some(MicroTime(observed.at));
        restart::close_span(st, observed.at);
    }
}

/// Fails the Recording with `reason` on `Succeeded` (and `Recording` when it was running).
pub fn fail(st: &mut RecordingStatus, reason: &str, message: &str, observed: &Observed) {
    set_condition(
        &mut st.conditions,
        SUCCEEDED,
        False,
        reason,
        message,
        observed,
    );
    if st.conditions.iter().any(|c| c.type_ == RECORDING) {
        set_condition(
            &mut st.conditions,
            RECORDING,
            False,
            reason,
            message,
            observed,
        );
    }
    finish(st, RecordingResult::Failed, observed);
}

/// Inputs whose lip-sync offset has just gone past one frame at `fps` (from `before`'s report
/// to `after`'s): one note each, so the Warning event is raised once per crossing, not on
/// every poll.
pub fn lip_sync_crossings(
    before: &[InputDelivery],
    after: &[InputDelivery],
    fps: u32,
) -> Vec<String> {
    let frame_ms = 1000.0 / f64::from(fps.max(1));
    let off = |d: &InputDelivery| d.av_offset_ms.is_some_and(|o| o.abs() > frame_ms);
    after
        .iter()
        .filter(|d| off(d))
        .filter(|d| {
            !before
                .iter()
                .any(|b| b.participant == d.participant && b.track == d.track && off(b))
        })
        .map(|d| {
            format!(
                "participant {} ({:?}): audio {:+.0} ms off its video (more than a frame, {frame_ms:.0} ms)",
                d.participant,
                d.track,
                d.av_offset_ms.unwrap_or_default()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::find_condition;
    use k8s_openapi::jiff::Timestamp;
    use vcs_job::control::{OutputKind, OutputStatus, TrackKind};

    #[test]
    fn a_lip_sync_warning_is_raised_once_per_crossing() {
        let input = |offset: Option<f64>| InputDelivery {
            participant: "alice".into(),
            track: TrackKind::Camera,
            connected: true,
            live_secs: 10.0,
            gaps: 0,
            last_error: None,
            av_offset_ms: offset,
        };
        let (fine, off) = (vec![input(Some(-10.0))], vec![input(Some(-50.0))]);
        assert!(lip_sync_crossings(&[], &fine, 30).is_empty());
        let notes = lip_sync_crossings(&fine, &off, 30);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("alice") && notes[0].contains("-50 ms"),
            "{notes:?}"
        );
        assert!(
            lip_sync_crossings(&off, &off, 30).is_empty(),
            "not again while it stays off"
        );
        assert_eq!(
            lip_sync_crossings(&fine, &off, 30).len(),
            1,
            "again after it came back"
        );
        assert!(lip_sync_crossings(&[], &[input(None)], 30).is_empty());
    }

    fn out(state: OutputState) -> OutputStatus {
        OutputStatus {
            name: "main".into(),
            kind: OutputKind::Mp4,
            state,
            bytes: 10,
            uploaded_bytes: 0,
            objects: 0,
            duration_secs: 1.0,
            upload_lag_secs: 0.0,
            retries: 0,
            last_error: Some("s3 down".into()),
        }
    }

    /// Generation `generation`, `s` seconds after the epoch.
    fn at(generation: i64, s: i64) -> Observed {
        Observed {
            generation: Some(generation),
            at: Timestamp::from_second(s).unwrap(),
        }
    }

    #[test]
    fn recorder_states_map_to_conditions_and_result() {
        let mut st = RecordingStatus::default();
        let mut job = JobStatus {
            state: JobState::Recording,
            frames: 5,
            outputs: vec![out(OutputState::Active)],
            ..Default::default()
        };
        mirror(&mut st, &job, &at(1, 1));
        assert_eq!(
            find_condition(&st.conditions, RECORDING).unwrap().status,
            True
        );
        assert_eq!(
            find_condition(&st.conditions, OUTPUTS_HEALTHY)
                .unwrap()
                .status,
            True
        );
        assert_eq!(st.result, None);
        job.outputs[0].state = OutputState::Reconnecting;
        mirror(&mut st, &job, &at(1, 2));
        let c = find_condition(&st.conditions, OUTPUTS_HEALTHY).unwrap();
        assert_eq!((c.status, c.message.contains("s3 down")), (False, true));
        job.state = JobState::Done;
        mirror(&mut st, &job, &at(1, 3));
        assert_eq!(st.result, Some(RecordingResult::Succeeded));
        assert_eq!(
            find_condition(&st.conditions, SUCCEEDED).unwrap().status,
            True
        );
        // A finished result is never overwritten.
        job.state = JobState::Failed;
        mirror(&mut st, &job, &at(1, 4));
        assert_eq!(
            (st.result, st.finished_at),
            (
                Some(RecordingResult::Succeeded),
                Some(MicroTime(at(1, 3).at))
            )
        );
    }

    #[test]
    fn failures_carry_the_recorders_message() {
        let mut st = RecordingStatus::default();
        let job = JobStatus {
            state: JobState::Failed,
            last_error: Some("encoder died".into()),
            ..Default::default()
        };
        mirror(&mut st, &job, &at(2, 1));
        let c = find_condition(&st.conditions, SUCCEEDED).unwrap();
        assert_eq!(
            (c.reason.as_str(), c.message.as_str(), c.observed_generation),
            (reason::RECORDER_FAILED, "encoder died", Some(2))
        );
        assert_eq!(st.result, Some(RecordingResult::Failed));
    }

    #[test]
    fn the_screen_is_kept_from_a_recording_recorder_and_handed_to_a_continuation() {
        use vcs_job::control::JobEvent;
        let mut st = RecordingStatus::default();
        let mut job = JobStatus {
            state: JobState::Recording,
            frames: 30,
            ..Default::default()
        };
        job.screen.record(&JobEvent::Chat {
            sender_display_name: "Ann".into(),
            text: "hi".into(),
        });
        mirror(&mut st, &job, &at(1, 1));
        assert_eq!(st.screen, job.screen);
        // A continuation still starting says nothing yet: what it needs is kept.
        let starting = JobStatus {
            state: JobState::Starting,
            ..Default::default()
        };
        mirror(&mut st, &starting, &at(1, 2));
        assert_eq!(st.screen, job.screen);
        st.continuation = Some(crate::api::recording::PendingContinuation {
            lost_pod: "a".into(),
            since: MicroTime(at(1, 3).at),
        });
        let resume = super::restart::resume_spec(&st).unwrap();
        assert_eq!(resume.screen, job.screen);
    }
}
