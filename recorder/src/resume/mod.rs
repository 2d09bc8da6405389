//! A continuation job (`resume` set, see [`vcs_job::ResumeSpec`]) replaces a recorder that was
//! lost while recording.
//!
//! - HLS ([`hls`]): the continuation writes under the same prefix and continues the same
//!   playlist, after checking that what it records matches what the playlist holds.
//! - MP4: the operator points the continuation's MP4 outputs at keys of their own
//!   ([`vcs_job::part_key`]); in the background while the continuation records,
//!   [`LostParts`] finishes what the lost recorders left under the earlier parts' keys (their
//!   multipart uploads completed into playable MP4s: the `recover` command's work). Once the
//!   continuation's own part is complete in S3, [`join_parts`] joins every part into ONE MP4
//!   at the original key (`vcs_upload::fmp4` patches the fragments onto one timeline) and
//!   deletes the later parts. Before recording, [`hls::check_mp4_parts`] compares the video
//!   with the first part's object when it is complete.
//!
//! The lost recorder is dead by then: the operator deletes its pod with no grace period
//! before it claims the replacement.

pub mod hls;

use std::thread::JoinHandle;

use vcs_job::control::{Fault, FaultKind, OutputKind, error_chain};
use vcs_job::{JobSpec, S3Target, part_key};
use vcs_upload::{JoinOutcome, Recovery};

use crate::recording::SharedStatus;
use crate::recording::outputs::OutputReport;

/// The S3 targets of `job`'s MP4 outputs for every part before the continuation's own (part
/// 0 at the original key first), with their output names. (HLS continues in place: the
/// continuation itself carries the lost playlist on, see [`hls`].)
pub fn earlier_parts(job: &JobSpec) -> Vec<(String, S3Target)> {
    let Some(resume) = &job.resume else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for o in &job.outputs {
        let Some(t) = o.mp4.as_ref().and_then(|m| m.s3.as_ref()) else {
            continue;
        };
        let Some(orig) = original_key(&t.key, resume.restart) else {
            continue;
        };
        for part in 0..resume.restart {
            let mut earlier = t.clone();
            earlier.key = part_key(&orig, part);
            out.push((o.name.clone(), earlier));
        }
    }
    out
}

/// The key of part 0 that `part_key` turned into `key` for `part`, if it did.
pub(crate) fn original_key(key: &str, part: u32) -> Option<String> {
    let tag = format!(".part{part}");
    let at = key.rfind(&tag)?;
    let orig = format!("{}{}", &key[..at], &key[at + tag.len()..]);
    (part_key(&orig, part) == key).then_some(orig)
}

/// Finishes what lost recorders left: one line per output and part saying what was done, or
/// an error naming the output. Every earlier part is looked at (recovering a complete one
/// finds nothing): a continuation lost early may not have finished its predecessor's.
pub fn recover_lost_parts(job: &JobSpec) -> Vec<Result<String, String>> {
    let targets = earlier_parts(job);
    if targets.is_empty() {
        return Vec::new();
    }
    let recovery = match Recovery::new() {
        Ok(r) => r,
        Err(e) => return vec![Err(format!("cannot start the S3 client: {e}"))],
    };
    targets
        .into_iter()
        .map(|(name, t)| {
            let at = format!("s3://{}/{}", t.bucket, t.key);
            match recovery.recover_mp4(&t) {
                Ok(Some(done)) => Ok(format!(
                    "{name}: recovered the lost part {} ({} bytes)",
                    done.object, done.bytes
                )),
                Ok(None) => Ok(format!("{name}: nothing to recover at {at}")),
                Err(e) => Err(format!(
                    "{name}: recovering the lost part at {at}: {}",
                    error_chain(&e)
                )),
            }
        })
        .collect()
}

/// The seconds of media in the part the last lost recorder left (the first MP4 output's part
/// `restart − 1`), once recovered; `None` when there is none or it cannot be read (logged).
fn lost_part_secs(job: &JobSpec) -> Option<f64> {
    let parts = earlier_parts(job);
    let first = parts.first()?.0.clone();
    let (_, target) = parts.into_iter().rfind(|(name, _)| *name == first)?;
    match Recovery::new().and_then(|r| r.mp4_media_secs(&target, &target.key)) {
        Ok(secs) => secs,
        Err(e) => {
            tracing::warn!(object = %format!("s3://{}/{}", target.bucket, target.key),
                error = %error_chain(&e),
                "cannot read how much the lost part holds; the gap stays the operator's estimate");
            None
        }
    }
}

/// The recovery of the earlier parts, run on a thread of its own while the continuation
/// records (S3 calls must not delay its first frame); the join waits for it.
pub struct LostParts(Option<JoinHandle<()>>);

impl LostParts {
    /// Starts recovering `job`'s earlier parts if it is a continuation; then puts the seconds
    /// of media the lost recorder left in `status` (`lostPartSecs`).
    pub fn recover_in_background(job: &JobSpec, status: SharedStatus) -> LostParts {
        if earlier_parts(job).is_empty() {
            return LostParts(None);
        }
        let job = job.clone();
        let spawned = std::thread::Builder::new()
            .name("recover-lost-parts".into())
            .spawn(move || {
                for line in recover_lost_parts(&job) {
                    match line {
                        Ok(done) => tracing::info!("{done}"),
                        Err(e) => {
                            tracing::error!(error = %e, "the lost part stays for `vcs-recorder recover`")
                        }
                    }
                }
                if let Some(secs) = lost_part_secs(&job) {
                    status.lock().expect("status lock").lost_part_secs = Some(secs);
                }
            });
        match spawned {
            Ok(handle) => LostParts(Some(handle)),
            Err(e) => {
                tracing::error!(error = %e, "cannot start recovering the lost parts");
                LostParts(None)
            }
        }
    }

    /// Waits until the recovery is over.
    pub fn wait(self) {
        if let Some(handle) = self.0
            && handle.join().is_err()
        {
            tracing::error!(
                "recovering the lost parts panicked; they stay for `vcs-recorder recover`"
            );
        }
    }
}

/// What joining one output's parts came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Joined {
    /// One object (`s3://…`) holds every part; `summary` says what was joined.
    Into { object: String, summary: String },
    /// Only the original key holds anything.
    Nothing,
    /// Refused or failed: every part is kept, as `message` says.
    Kept { message: String },
}

/// Joins the parts of the MP4 output at `t` (continuation `restart`'s key) into one object at
/// the original key; `t`'s part starts `starts` seconds into it when that is after the earlier
/// parts' end (the continuation's video time: the gap as a jump in time). `None` when `t` is
/// not a continuation's part key.
pub fn join_output(t: &S3Target, restart: u32, starts: Option<f64>) -> Option<Joined> {
    let orig = original_key(&t.key, restart)?;
    let keys: Vec<String> = (0..=restart).map(|k| part_key(&orig, k)).collect();
    let listed = |keys: &[String]| {
        keys.iter()
            .map(|k| format!("s3://{}/{k}", t.bucket))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let joined = Recovery::new().and_then(|r| r.join_mp4_parts(t, &orig, &keys, starts));
    Some(match joined {
        Ok(JoinOutcome::Joined {
            object,
            parts,
            bytes,
            duration_secs,
            copied_bytes,
            held_bytes,
            read_bytes,
        }) => Joined::Into {
            summary: format!(
                "joined {} into {object} ({duration_secs:.3} s, {bytes} bytes, {copied_bytes} \
                 of them copied inside S3; {read_bytes} bytes read, at most {held_bytes} held in memory)",
                listed(&parts)
            ),
            object,
        },
        Ok(JoinOutcome::Nothing) => Joined::Nothing,
        Ok(JoinOutcome::Refused { reason, kept }) => Joined::Kept {
            message: format!(
                "the MP4 parts are not joined into s3://{}/{orig}: {reason}; kept: {}",
                t.bucket,
                listed(&kept)
            ),
        },
        Err(e) => Joined::Kept {
            message: format!(
                "joining the MP4 parts into s3://{}/{orig} failed: {}; the parts are kept \
                 (`vcs-recorder recover` with this job joins them): {}",
                t.bucket,
                error_chain(&e),
                listed(&keys)
            ),
        },
    })
}

/// Joins each MP4 output's parts (the earlier ones and this continuation's own) into one
/// object at the original key, once this part is complete in S3: the output's report then
/// names that object. A join refused or failed keeps every part and is an `mp4InParts` fault
/// of the output, which does not fail the job: nothing recorded is lost (the key holds part
/// 0, the other parts their own keys). This continuation's part starts at `video_time`, its
/// first frame's place on the recording's timeline, when that is after the earlier parts.
pub fn join_parts(job: &JobSpec, reports: &mut [OutputReport], video_time: f64) -> Vec<Fault> {
    let Some(resume) = &job.resume else {
        return Vec::new();
    };
    let mut faults = Vec::new();
    for o in &job.outputs {
        let Some(t) = o.mp4.as_ref().and_then(|m| m.s3.as_ref()) else {
            continue;
        };
        let Some(report) = reports
            .iter_mut()
            .find(|r| r.name == o.name && r.kind == OutputKind::Mp4)
        else {
            continue;
        };
        if report.failed() {
            tracing::warn!(output = %o.name, "this part is not complete in S3; the parts are not joined");
            continue;
        }
        match join_output(t, resume.restart, Some(video_time)) {
            Some(Joined::Into { object, summary }) => {
                tracing::info!(output = %o.name, "{summary}");
                report.s3 = Some(object);
            }
            Some(Joined::Kept { message }) => {
                tracing::error!(output = %o.name, "{message}");
                faults.push(Fault {
                    kind: FaultKind::Mp4InParts,
                    subject: format!("outputs.{}", o.name),
                    message,
                });
            }
            Some(Joined::Nothing) | None => {}
        }
    }
    faults
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcs_job::{CompositionSpec, HlsOutput, Mp4Output, Output, ResumeSpec};

    fn target(key: &str) -> Option<S3Target> {
        Some(S3Target {
            bucket: "b".into(),
            key: key.into(),
            ..Default::default()
        })
    }

    #[test]
    fn the_earlier_parts_are_every_one_before_the_continuations_own() {
        let mut job = JobSpec {
            composition: CompositionSpec {
                name: "baseline".into(),
                ..Default::default()
            },
            outputs: vec![Output {
                name: "main".into(),
                mp4: Some(Mp4Output {
                    path: None,
                    s3: target("a/rec.part2.mp4"),
                }),
                hls: Some(HlsOutput {
                    s3: target("a/hls/"),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(earlier_parts(&job).is_empty());
        job.resume = Some(ResumeSpec {
            restart: 2,
            ..Default::default()
        });
        let keys: Vec<_> = earlier_parts(&job)
            .into_iter()
            .map(|(_, t)| t.key)
            .collect();
        assert_eq!(keys, ["a/rec.mp4", "a/rec.part1.mp4"]);
        job.resume = Some(ResumeSpec {
            restart: 1,
            ..Default::default()
        });
        job.outputs[0].mp4.as_mut().unwrap().s3 = target("a/rec.part1.mp4");
        assert_eq!(earlier_parts(&job)[0].1.key, "a/rec.mp4");
    }
}
