//! A continuation job (`resume` set, see [`vcs_job::ResumeSpec`]) replaces a recorder that was
//! lost while recording. The operator points the continuation's S3 outputs at keys of their own
//! ([`vcs_job::part_key`]); this finishes, in the background while the continuation records,
//! what the lost recorder left under the previous part's keys: its MP4's multipart upload is
//! completed into a playable MP4 and its HLS playlist is ended (the `recover` command's work,
//! done by the next recorder of the job).
//!
//! The lost recorder is dead by then: the operator deletes its pod with no grace period
//! before it claims the replacement.

use vcs_job::{JobSpec, S3Target, part_key};
use vcs_upload::{PlaylistEnd, Recovery};

use crate::recording::hls_playlist_key;

/// The S3 targets of `job`'s outputs moved from continuation part `part` back to part
/// `part - 1`: where the lost recorder wrote. MP4 targets first, then HLS, with their output
/// names.
pub fn previous_targets(job: &JobSpec) -> Vec<(String, bool, S3Target)> {
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
            out.push((o.name.clone(), true, back(t)));
        }
        if let Some(t) = o.hls.as_ref().and_then(|h| h.s3.as_ref()) {
            out.push((o.name.clone(), false, back(t)));
        }
    }
    out
}

/// The key of part 0 that `part_key` turned into `key` for `part`, if it did.
fn original_key(key: &str, part: u32) -> Option<String> {
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
        .map(|(name, is_mp4, t)| {
            let at = format!("s3://{}/{}", t.bucket, t.key);
            let fail = |e: vcs_upload::UploadError| {
                Err(format!(
                    "{name}: recovering the lost part at {at}: {}",
                    vcs_job::control::error_chain(&e)
                ))
            };
            if is_mp4 {
                match recovery.recover_mp4(&t) {
                    Ok(Some(done)) => Ok(format!(
                        "{name}: recovered the lost part {} ({} bytes)",
                        done.object, done.bytes
                    )),
                    Ok(None) => Ok(format!("{name}: nothing to recover at {at}")),
                    Err(e) => fail(e),
                }
            } else {
                let key = hls_playlist_key(&t.key);
                match recovery.end_playlist(&t, &key) {
                    Ok(PlaylistEnd::Ended) => Ok(format!("{name}: ended the lost part's {key}")),
                    Ok(_) => Ok(format!("{name}: {key} needed no ending")),
                    Err(e) => fail(e),
                }
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
                    s3: target("a/hls.part2/"),
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
            .map(|(_, mp4, t)| (mp4, t.key))
            .collect();
        assert_eq!(
            keys,
            [
                (true, "a/rec.part1.mp4".to_string()),
                (false, "a/hls.part1/".to_string())
            ]
        );
        job.resume = Some(ResumeSpec {
            restart: 1,
            ..Default::default()
        });
        job.outputs[0].mp4.as_mut().unwrap().s3 = target("a/rec.part1.mp4");
        assert_eq!(previous_targets(&job)[0].2.key, "a/rec.mp4");
    }
}
