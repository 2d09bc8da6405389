//! Where a Recording is in its life, read from its spec and status alone. Pure.
//!
//! ```text
//!            ┌─ Invalid (spec fails the job's validation; waits for an edit)
//! created ───┤
//!            └─ Unplaced ─▶ OtherRegion (another region's operator records it)
//!                   │
//!                   ▼
//!               NeedsPod ─▶ Starting ─▶ Recording ─▶ Stopping ─▶ Done
//!                  └───────────┴────────────┴───────────┴──────────▲ (failed, lost, deadline)
//! ```
//!
//! Deletion is not a phase: it is the cleanup the finalizer runs instead (see `finalize`).

use super::job::{self, JobError};
use crate::api::{Recording, RecordingStatus};

/// The phase of a Recording as this operator sees it.
#[derive(Debug, PartialEq)]
pub enum Phase {
    /// `status.result` is set: nothing is left but giving the pod back.
    Done,
    /// The spec fails the recorder's validation; nothing happens until it is edited.
    Invalid(JobError),
    /// Not placed yet: placement runs once and is kept.
    Unplaced,
    /// Placed in a region another operator records.
    OtherRegion,
    /// Placed here, no recorder pod yet.
    NeedsPod,
    /// A recorder pod, no job running on it yet (no `startedAt`, or a continuation pending).
    Starting,
    /// The job runs; live edits are forwarded and the stop and limits are watched.
    Recording,
    /// The stop was sent; the outputs are finishing.
    Stopping,
}

impl Phase {
    /// The phase of `rec` whose status is (being built as) `status`, for the operator of
    /// `region`.
    pub fn of(rec: &Recording, status: &RecordingStatus, region: &str) -> Phase {
        if status.result.is_some() {
            return Phase::Done;
        }
        if let Err(e) = job::validate(rec) {
            return Phase::Invalid(e);
        }
        match &status.placement {
            None => Phase::Unplaced,
            Some(p) if p.region != region => Phase::OtherRegion,
            Some(_) if status.recorder_pod.is_none() => Phase::NeedsPod,
            Some(_) if status.started_at.is_none() || status.continuation.is_some() => {
                Phase::Starting
            }
            Some(_) if status.stop_requested_at.is_none() => Phase::Recording,
            Some(_) => Phase::Stopping,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RecordingResult;
    use crate::api::recording::PlacementStatus;
    use crate::placement::Reason;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn phases_follow_the_status_in_order() {
        let rec = Recording::test("r");
        let t = || Some(MicroTime(Timestamp::UNIX_EPOCH));
        let here = |region: &str| {
            Some(PlacementStatus {
                region: region.into(),
                reason: Reason::Default,
            })
        };
        // Each step sets one more field of the status; the phase follows.
        let mut st = RecordingStatus::default();
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::Unplaced);
        st.placement = here("us-east");
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::OtherRegion);
        st.placement = here("eu-west");
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::NeedsPod);
        st.recorder_pod = Some("p".into());
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::Starting);
        st.started_at = t();
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::Recording);
        st.stop_requested_at = t();
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::Stopping);
        st.result = Some(RecordingResult::Succeeded);
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::Done);
    }

    #[test]
    fn an_invalid_spec_stops_everything_but_a_finished_recording() {
        let mut rec = Recording::test("r");
        rec.spec.session.participants[0].camera = Some("gopher://x".into());
        let mut st = RecordingStatus::default();
        assert!(matches!(
            Phase::of(&rec, &st, "eu-west"),
            Phase::Invalid(JobError::Invalid(_))
        ));
        st.result = Some(RecordingResult::Failed);
        assert_eq!(Phase::of(&rec, &st, "eu-west"), Phase::Done);
    }
}
