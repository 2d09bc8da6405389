//! Mirrors what the recorder reports into the Recording's status. Pure.

use vcs_job::control::{JobState, JobStatus, OutputState};

use crate::api::{RecordingStatus, set_condition};

pub const ACCEPTED: &str = "Accepted";
pub const PLACED: &str = "Placed";
pub const RECORDER_READY: &str = "RecorderReady";
pub const RECORDING: &str = "Recording";
pub const OUTPUTS_HEALTHY: &str = "OutputsHealthy";
pub const SUCCEEDED: &str = "Succeeded";
pub const RECORDER_LOST: &str = "RecorderLost";

/// Condition reasons.
pub mod reason {
    pub const VALID: &str = "Valid";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const SECRET_MISSING: &str = "SecretMissing";
    pub const INVALID_COMPOSITION: &str = "InvalidComposition";
    pub const REJECTED: &str = "RejectedByRecorder";
    pub const OTHER_REGION: &str = "OtherRegion";
    pub const NO_POOL: &str = "NoPool";
    pub const PLACEMENT_FAILED: &str = "PlacementFailed";
    pub const CLAIMED: &str = "Claimed";
    pub const STARTING: &str = "PodStarting";
    pub const RUNNING: &str = "Running";
    pub const FINALISING: &str = "Finalising";
    pub const DONE: &str = "Done";
    pub const FAILED: &str = "RecorderFailed";
    pub const LOST: &str = "RecorderLost";
    pub const START_DEADLINE: &str = "StartDeadlineExceeded";
    pub const STOPPED: &str = "StopRequested";
    pub const MAX_DURATION: &str = "MaxDurationReached";
    pub const HEALTHY: &str = "Healthy";
    pub const DEGRADED: &str = "Degraded";
}

/// Writes the recorder's report into `st`; `now` is RFC 3339.
pub fn mirror(st: &mut RecordingStatus, job: &JobStatus, generation: Option<i64>, now: &str) {
    st.outputs = job.outputs.clone();
    st.frames = Some(job.frames);
    let failing: Vec<String> = job
        .outputs
        .iter()
        .filter(|o| matches!(o.state, OutputState::Failed | OutputState::Reconnecting))
        .map(|o| {
            format!(
                "{} {:?}{}",
                o.name,
                o.state,
                o.last_error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if failing.is_empty() {
        set_condition(
            &mut st.conditions,
            OUTPUTS_HEALTHY,
            true,
            reason::HEALTHY,
            "",
            generation,
            now,
        );
    } else {
        set_condition(
            &mut st.conditions,
            OUTPUTS_HEALTHY,
            false,
            reason::DEGRADED,
            failing.join("; "),
            generation,
            now,
        );
    }
    match job.state {
        JobState::Idle | JobState::Starting => {}
        JobState::Recording => {
            set_condition(
                &mut st.conditions,
                RECORDING,
                true,
                reason::RUNNING,
                format!("{} frames", job.frames),
                generation,
                now,
            );
        }
        JobState::Finalising => {
            set_condition(
                &mut st.conditions,
                RECORDING,
                false,
                reason::FINALISING,
                "finishing the outputs",
                generation,
                now,
            );
        }
        JobState::Done => {
            set_condition(
                &mut st.conditions,
                RECORDING,
                false,
                reason::DONE,
                "",
                generation,
                now,
            );
            set_condition(
                &mut st.conditions,
                SUCCEEDED,
                true,
                reason::DONE,
                format!("{} frames, {} outputs", job.frames, job.outputs.len()),
                generation,
                now,
            );
            finish(st, true, now);
        }
        JobState::Failed => {
            let why = job
                .last_error
                .clone()
                .unwrap_or_else(|| "the recorder reported a failure without a message".into());
            set_condition(
                &mut st.conditions,
                RECORDING,
                false,
                reason::FAILED,
                why.clone(),
                generation,
                now,
            );
            set_condition(
                &mut st.conditions,
                SUCCEEDED,
                false,
                reason::FAILED,
                why,
                generation,
                now,
            );
            finish(st, false, now);
        }
    }
}

/// Marks the Recording finished.
pub fn finish(st: &mut RecordingStatus, ok: bool, now: &str) {
    if st.result.is_none() {
        st.result = Some(if ok { "Succeeded" } else { "Failed" }.into());
        st.finished_at = Some(now.into());
    }
}

/// Fails the Recording with `reason` on `Succeeded` (and `Recording` when it was running).
pub fn fail(
    st: &mut RecordingStatus,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &str,
) {
    set_condition(
        &mut st.conditions,
        SUCCEEDED,
        false,
        reason,
        message,
        generation,
        now,
    );
    if st.conditions.iter().any(|c| c.type_ == RECORDING) {
        set_condition(
            &mut st.conditions,
            RECORDING,
            false,
            reason,
            message,
            generation,
            now,
        );
    }
    finish(st, false, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::find_condition;
    use vcs_job::control::{OutputKind, OutputStatus};

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

    #[test]
    fn recorder_states_map_to_conditions_and_result() {
        let mut st = RecordingStatus::default();
        let mut job = JobStatus {
            state: JobState::Recording,
            frames: 5,
            outputs: vec![out(OutputState::Active)],
            ..Default::default()
        };
        mirror(&mut st, &job, Some(1), "t1");
        assert_eq!(
            find_condition(&st.conditions, RECORDING).unwrap().status,
            "True"
        );
        assert_eq!(
            find_condition(&st.conditions, OUTPUTS_HEALTHY)
                .unwrap()
                .status,
            "True"
        );
        assert_eq!(st.result, None);
        job.outputs[0].state = OutputState::Reconnecting;
        mirror(&mut st, &job, Some(1), "t2");
        let c = find_condition(&st.conditions, OUTPUTS_HEALTHY).unwrap();
        assert_eq!(
            (c.status.as_str(), c.message.contains("s3 down")),
            ("False", true)
        );
        job.state = JobState::Done;
        mirror(&mut st, &job, Some(1), "t3");
        assert_eq!(st.result.as_deref(), Some("Succeeded"));
        assert_eq!(
            find_condition(&st.conditions, SUCCEEDED).unwrap().status,
            "True"
        );
        // A finished result is never overwritten.
        job.state = JobState::Failed;
        mirror(&mut st, &job, Some(1), "t4");
        assert_eq!(
            (st.result.as_deref(), st.finished_at.as_deref()),
            (Some("Succeeded"), Some("t3"))
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
        mirror(&mut st, &job, Some(2), "t");
        let c = find_condition(&st.conditions, SUCCEEDED).unwrap();
        assert_eq!(
            (c.reason.as_str(), c.message.as_str(), c.observed_generation),
            (reason::FAILED, "encoder died", Some(2))
        );
        assert_eq!(st.result.as_deref(), Some("Failed"));
    }
}
