//! A continuation job (`resume` set, see [`vcs_job::ResumeSpec`]) replaces a recorder that was
//! lost while recording.
//!
//! - HLS ([`hls`]): the continuation writes under the same prefix and continues the same
//!   playlist, after checking that what it records matches what the playlist holds.
//! - MP4: the operator points the continuation's MP4 outputs at keys of their own
//!   ([`vcs_job::part_key`]); this finishes, in the background while the continuation
//!   records, what the lost recorder left under the previous part's key: its multipart upload
//!   is completed into a playable MP4 (the `recover` command's work, done by the next recorder
//!   of the job). Before recording, [`hls::check_mp4_parts`] compares the video with the
//!   first part's object when it is complete.
//!
//! The lost recorder is dead by then: the operator deletes its pod with no grace period
//! before it claims the replacement.

pub mod hls;

use vcs_job::{JobSpec, S3Target, part_key};
use vcs_upload::Recovery;

/// The S3 targets of `job`'s MP4 outputs moved from continuation part `part` back to part
/// `part - 1`: where the lost recorder wrote, with their output names. (HLS continues in
/// place: the continuation itself carries the lost playlist on, see [`hls`].)
pub fn previous_targets(job: &JobSpec) -> Vec<(String, S3Target)> {
    let Some(resume) = &job.resume else {
        return Vec::new();
    };
    let part = resume.restart;
    let back = |t: &S3Target| {
        let mut t = t.clone();
        if let Some(orig) = original_key(&t.key, part) {
            t.key = part_key(&orig, part.saturating_sub(1));
        }
        t
    };
    let mut out = Vec::new();
    for o in &job.outputs {
        if let Some(t) = o.mp4.as_ref().and_then(|m| m.s3.as_ref()) {
            out.push((o.name.clone(), back(t)));
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

/// Finishes what the lost recorder left: one line per output saying what was done, or an
/// error naming the output.
pub fn recover_lost_part(job: &JobSpec) -> Vec<Result<String, String>> {
    let targets = previous_targets(job);
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
            let fail = |e: vcs_upload::UploadError| {
                Err(format!(
                    "{name}: recovering the lost part at {at}: {}",
                    vcs_job::control::error_chain(&e)
                ))
            };
            match recovery.recover_mp4(&t) {
                Ok(Some(done)) => Ok(format!(
                    "{name}: recovered the lost part {} ({} bytes)",
                    done.object, done.bytes
                )),
                Ok(None) => Ok(format!("{name}: nothing to recover at {at}")),
                Err(e) => fail(e),
            }
        })
        .collect()
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
    fn the_previous_part_is_the_one_before_the_continuations_own() {
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
        assert!(previous_targets(&job).is_empty());
        job.resume = Some(ResumeSpec {
            restart: 2,
            ..Default::default()
        });
        let keys: Vec<_> = previous_targets(&job)
            .into_iter()
            .map(|(_, t)| t.key)
            .collect();
        assert_eq!(keys, ["a/rec.part1.mp4"]);
        job.resume = Some(ResumeSpec {
            restart: 1,
            ..Default::default()
        });
        job.outputs[0].mp4.as_mut().unwrap().s3 = target("a/rec.part1.mp4");
        assert_eq!(previous_targets(&job)[0].1.key, "a/rec.mp4");
    }
}
