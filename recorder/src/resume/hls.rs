//! Before a continuation records: what each HLS output continues (the lost recorder's
//! playlist, and the first free segment number under its prefix), and the check that the
//! video this job would append matches what the bucket holds (codec, size, frame rate).
//! A mismatch fails the job before anything is written: players reject a playlist or file
//! whose video changes size or codec mid-way.

use std::path::Path;

use vcs_job::{JobSpec, S3Target, VideoProfile};
use vcs_media::outputs::hls_playlist::{
    HlsContinuation, next_segment_number, segment_number, segment_uris,
};
use vcs_media::probe::{VideoFormat, video_format};
use vcs_upload::{Recovery, UploadError};

use crate::recording::{RecordError, hls_playlist_key};

/// The codec every recorder writes (the caps' media type of its video).
const CODEC: &str = "video/x-h264";

/// How much of an MP4 part to read for its video format: its `moov` and first fragment.
const MP4_HEAD_BYTES: u64 = 4 << 20;

/// What the continuation's HLS outputs continue, by output name. Empty unless `job` is a
/// continuation. Fails if a playlist's video does not match `job.video`.
pub fn continuations(
    job: &JobSpec,
    scratch: &Path,
) -> Result<Vec<(String, HlsContinuation)>, RecordError> {
    if job.resume.is_none() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, o) in job.outputs.iter().enumerate() {
        let Some(t) = o.hls.as_ref().and_then(|h| h.s3.as_ref()) else {
            continue;
        };
        let field = format!("outputs[{i}].hls.s3");
        let recovery = recovery(&field)?;
        let s3 = |e: UploadError| RecordError::Upload {
            field: field.clone(),
            source: Box::new(e),
        };
        let prefix = format!("{}/", t.key.trim_end_matches('/'));
        let playlist_key = hls_playlist_key(&t.key);
        let previous = recovery
            .fetch(t, &playlist_key, None)
            .map_err(s3)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let keys = recovery.keys(t, &prefix).map_err(s3)?;
        let uris = segment_uris(&previous);
        if let Some(last) = uris.iter().rev().find(|u| segment_number(u).is_some()) {
            let key = format!("{prefix}{last}");
            check_object(&recovery, t, &key, None, &job.video, scratch)
                .map_err(|e| e.at(&field))?;
        }
        let first_segment =
            next_segment_number(keys.iter().map(String::as_str).chain(uris.iter().copied()));
        tracing::info!(output = %o.name, playlist = %playlist_key, segments = uris.len(),
            first_segment, "continuing the lost recorder's playlist");
        out.push((
            o.name.clone(),
            HlsContinuation {
                previous,
                first_segment,
            },
        ));
    }
    Ok(out)
}

/// Checks the first part of each MP4 output (the object at the key before `part_key`) against
/// `job.video`, when it is a complete object. Right after the first loss it is usually still
/// an unfinished upload that the continuation completes in the background: then there is
/// nothing to read yet and the HLS check (if any) is the one that holds.
pub fn check_mp4_parts(job: &JobSpec, scratch: &Path) -> Result<(), RecordError> {
    let Some(resume) = &job.resume else {
        return Ok(());
    };
    for (i, o) in job.outputs.iter().enumerate() {
        let Some(t) = o.mp4.as_ref().and_then(|m| m.s3.as_ref()) else {
            continue;
        };
        let field = format!("outputs[{i}].mp4.s3");
        let Some(first) = super::original_key(&t.key, resume.restart) else {
            continue;
        };
        let recovery = recovery(&field)?;
        check_object(
            &recovery,
            t,
            &first,
            Some(MP4_HEAD_BYTES),
            &job.video,
            scratch,
        )
        .map_err(|e| e.at(&field))?;
    }
    Ok(())
}

fn recovery(field: &str) -> Result<Recovery, RecordError> {
    Recovery::new().map_err(|e| RecordError::Upload {
        field: field.to_string(),
        source: Box::new(e),
    })
}

/// Why a check failed, before the job's field path is known.
enum CheckError {
    S3(UploadError),
    Mismatch(String),
}

impl CheckError {
    fn at(self, field: &str) -> RecordError {
        match self {
            CheckError::S3(e) => RecordError::Upload {
                field: field.to_string(),
                source: Box::new(e),
            },
            CheckError::Mismatch(message) => RecordError::Invalid {
                field: "video".into(),
                message,
            },
        }
    }
}

/// Reads the object at `key` (its first `limit` bytes) and fails if its video is not what
/// `video` records. An object that is missing or that the parsers cannot read is logged and
/// passes: refusing to record on a doubt would lose the rest of the recording.
fn check_object(
    recovery: &Recovery,
    t: &S3Target,
    key: &str,
    limit: Option<u64>,
    video: &VideoProfile,
    scratch: &Path,
) -> Result<(), CheckError> {
    let Some(bytes) = recovery.fetch(t, key, limit).map_err(CheckError::S3)? else {
        return Ok(());
    };
    let at = format!("s3://{}/{key}", t.bucket);
    let file = scratch.join(".resume-probe");
    let found = std::fs::create_dir_all(scratch)
        .and_then(|()| std::fs::write(&file, &bytes))
        .map_err(|e| e.to_string())
        .and_then(|()| video_format(&file).map_err(|e| vcs_job::control::error_chain(&e)));
    let _ = std::fs::remove_file(&file);
    match found {
        Ok(found) => match mismatch(&found, video) {
            Some(what) => Err(CheckError::Mismatch(format!(
                "resume: {at} holds {found} but this job records {what}; a continuation must \
                 record what the recording it continues holds (the same video settings), or \
                 write to other keys"
            ))),
            None => Ok(()),
        },
        Err(e) => {
            tracing::warn!(object = %at, error = %e, "cannot read the video format of what the lost recorder left; not checked");
            Ok(())
        }
    }
}

/// What differs between the video found and the video `video` records, described as the
/// job's side (`None` when they match). A frame rate the stream does not state is not compared.
fn mismatch(found: &VideoFormat, video: &VideoProfile) -> Option<String> {
    let mut diffs = Vec::new();
    if found.codec != CODEC {
        diffs.push(format!("codec {CODEC}"));
    }
    if (found.width, found.height) != (video.width, video.height) {
        diffs.push(format!(
            "size {}x{} (video.width, video.height)",
            video.width, video.height
        ));
    }
    if let Some((n, d)) = found.fps
        && i64::from(n) != i64::from(video.fps) * i64::from(d)
    {
        diffs.push(format!("{} fps (video.fps)", video.fps));
    }
    (!diffs.is_empty()).then(|| diffs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(codec: &str, w: u32, h: u32, fps: Option<(i32, i32)>) -> VideoFormat {
        VideoFormat {
            codec: codec.into(),
            width: w,
            height: h,
            fps,
        }
    }

    #[test]
    fn codec_size_and_rate_must_match_what_was_recorded() {
        let video = VideoProfile {
            width: 640,
            height: 360,
            fps: 30,
            ..Default::default()
        };
        assert_eq!(
            mismatch(&found(CODEC, 640, 360, Some((30, 1))), &video),
            None
        );
        assert_eq!(mismatch(&found(CODEC, 640, 360, None), &video), None);
        assert_eq!(
            mismatch(&found(CODEC, 320, 180, Some((30, 1))), &video).as_deref(),
            Some("size 640x360 (video.width, video.height)")
        );
        assert_eq!(
            mismatch(&found("video/x-h265", 640, 360, Some((25, 1))), &video).as_deref(),
            Some("codec video/x-h264, 30 fps (video.fps)")
        );
        assert_eq!(
            mismatch(&found(CODEC, 640, 360, Some((60, 2))), &video),
            None
        );
    }
}
