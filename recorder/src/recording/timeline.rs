//! Where a recorder's frames sit on the recording's timeline: the composition's video time.
//!
//! A first recorder starts the timeline at 0. A continuation (a job with `resume`, replacing a
//! lost recorder) starts it where the lost recorder stopped plus the gap: the seconds earlier
//! recorders recorded (`resume.recordedSecs`) and the time from the lost recorder's last frame
//! (`resume.lastFrameAt`) to now. So a clock or a timed banner in the composition goes on
//! from where it was, as far on as the wall clock went, and the MP4 parts, joined with the gap
//! as a jump in time, show the same video time at the same place of the file. Pure.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vcs_job::ResumeSpec;

/// Seconds of the recording's timeline before this recorder's first frame when it starts at
/// `now`: 0 for a first recorder. A `lastFrameAt` that does not parse, or that lies after
/// `now` (clocks of two machines), counts as no gap.
pub fn time_origin(resume: Option<&ResumeSpec>, now: OffsetDateTime) -> f64 {
    let Some(resume) = resume else {
        return 0.0;
    };
    let gap = resume
        .last_frame_at
        .as_deref()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .map_or(0.0, |last| (now - last).as_seconds_f64().max(0.0));
    resume.recorded_secs.max(0.0) + resume.earlier_gaps_secs.max(0.0) + gap
}

/// The gap measured from the frames, in seconds: this recorder's first frame (`first_frame`,
/// RFC 3339) − (the lost recorder's first frame, `resume.lostSpanFrom`, + the seconds of media
/// in the part it left, `lost_part_secs`). `None` until all three are known or when a time
/// does not parse. Negative when the two machines' clocks disagree by more than the gap.
pub fn measured_gap(
    resume: Option<&ResumeSpec>,
    lost_part_secs: Option<f64>,
    first_frame: Option<&str>,
) -> Option<f64> {
    let from = OffsetDateTime::parse(resume?.lost_span_from.as_deref()?, &Rfc3339).ok()?;
    let first = OffsetDateTime::parse(first_frame?, &Rfc3339).ok()?;
    Some((first - from).as_seconds_f64() - lost_part_secs?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> OffsetDateTime {
        OffsetDateTime::parse(t, &Rfc3339).unwrap()
    }

    fn resume(recorded_secs: f64, last_frame_at: Option<&str>) -> ResumeSpec {
        ResumeSpec {
            restart: 1,
            recorded_secs,
            last_frame_at: last_frame_at.map(String::from),
            ..ResumeSpec::default()
        }
    }

    #[test]
    fn a_first_recorder_starts_at_zero() {
        assert_eq!(time_origin(None, at("2026-12-07T09:00:00Z")), 0.0);
    }

    #[test]
    fn a_continuation_goes_on_from_the_recorded_seconds_plus_the_gap() {
        let now = at("2026-12-07T09:00:01.5Z");
        // As the operator writes it (jiff's Display): 1.5 s before now.
        let r = resume(12.25, Some("2026-12-07T09:00:00Z"));
        assert!((time_origin(Some(&r), now) - 13.75).abs() < 1e-9);
        let fractional = resume(4.0, Some("2026-12-07T09:00:01.25Z"));
        assert!((time_origin(Some(&fractional), now) - 4.25).abs() < 1e-9);
        // After a second loss the first gap is on the timeline too.
        let second = ResumeSpec {
            earlier_gaps_secs: 2.0,
            ..resume(12.25, Some("2026-12-07T09:00:00Z"))
        };
        assert!((time_origin(Some(&second), now) - 15.75).abs() < 1e-9);
    }

    #[test]
    fn an_unknown_or_future_last_frame_adds_no_gap() {
        let now = at("2026-12-07T09:00:00Z");
        assert_eq!(time_origin(Some(&resume(3.0, None)), now), 3.0);
        assert_eq!(time_origin(Some(&resume(3.0, Some("yesterday"))), now), 3.0);
        let ahead = resume(3.0, Some("2026-12-07T09:00:05Z"));
        assert_eq!(time_origin(Some(&ahead), now), 3.0);
    }

    #[test]
    fn the_measured_gap_runs_from_the_lost_frames_end_to_the_first_frame() {
        let mut r = resume(3.0, Some("2026-12-07T09:00:03Z"));
        let first = Some("2026-12-07T09:00:05.5Z");
        assert_eq!(measured_gap(Some(&r), Some(2.75), first), None);
        r.lost_span_from = Some("2026-12-07T09:00:00Z".into());
        let gap = measured_gap(Some(&r), Some(2.75), first).expect("gap");
        assert!((gap - 2.75).abs() < 1e-9, "{gap}");
        assert_eq!(measured_gap(Some(&r), None, first), None);
        assert_eq!(measured_gap(Some(&r), Some(2.75), None), None);
        assert_eq!(measured_gap(None, Some(2.75), first), None);
    }
}
