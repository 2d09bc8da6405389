//! `vcs-recorder recover JOB`: finish in S3 what a recorder of this job left when it died
//! (kill -9, an OOM kill, a lost node): the MP4's multipart upload is completed into a playable
//! fragmented MP4 from the parts and tail checkpoints it uploaded, and HLS playlists are ended.
//!
//! For a continuation's job (`resume` set) the earlier parts are recovered too and every part
//! is joined into one MP4 at the original key, as the continuation does when it ends well.
//!
//! Run it only once the job's recorder is gone: completing a live recorder's upload would end
//! its MP4 early. Running it twice is harmless.

use std::path::PathBuf;

use anyhow::Context;
use vcs_upload::{PlaylistEnd, Recovery};

use crate::job_file::read_job_file;
use crate::recording::hls_playlist_key;
use crate::resume::Joined;

#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The job spec file (YAML or JSON) of the recording that died; its S3 outputs are
    /// recovered.
    job: PathBuf,
}

/// A continuation's job: its parts and the earlier ones become one MP4 at the original key
/// (what the continuation does itself when it ends well). Returns the failures (0 or 1).
fn join(name: &str, target: &vcs_job::S3Target, restart: u32, i: usize) -> usize {
    for line in crate::resume::recover_lost_parts(&resume_job_for(target, restart)) {
        match line {
            Ok(done) => println!("{done}"),
            Err(e) => eprintln!("{e}"),
        }
    }
    match crate::resume::join_output(target, restart, None) {
        Some(Joined::Into { summary, .. }) => println!("{name}: {summary}"),
        Some(Joined::Nothing) => println!("{name}: no parts to join"),
        Some(Joined::Kept { message }) => {
            eprintln!("{name}: outputs[{i}].mp4.s3: {message}");
            return 1;
        }
        None => println!(
            "{name}: s3://{}/{} is not a continuation's part key; nothing to join",
            target.bucket, target.key
        ),
    }
    0
}

/// A job of one MP4 output at `target`, continuation `restart`: what
/// [`crate::resume::recover_lost_parts`] needs to find the earlier parts.
fn resume_job_for(target: &vcs_job::S3Target, restart: u32) -> vcs_job::JobSpec {
    vcs_job::JobSpec {
        outputs: vec![vcs_job::Output {
            name: "mp4".into(),
            mp4: Some(vcs_job::Mp4Output {
                path: None,
                s3: Some(target.clone()),
            }),
            ..Default::default()
        }],
        resume: Some(vcs_job::ResumeSpec {
            restart,
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn run(args: RecoverArgs) -> anyhow::Result<()> {
    let job = read_job_file(&args.job)?;
    let recovery = Recovery::new().context("cannot start the S3 client")?;
    let mut failures = 0;
    let mut any = false;
    for (i, output) in job.outputs.iter().enumerate() {
        if let Some(target) = output.mp4.as_ref().and_then(|m| m.s3.as_ref()) {
            any = true;
            match recovery.recover_mp4(target) {
                Ok(Some(done)) => println!(
                    "{}: recovered {} ({} bytes in {} parts{})",
                    output.name,
                    done.object,
                    done.bytes,
                    done.parts,
                    if done.aborted_uploads > 0 {
                        format!("; aborted {} unusable uploads", done.aborted_uploads)
                    } else {
                        String::new()
                    }
                ),
                Ok(None) => println!(
                    "{}: nothing to recover at s3://{}/{} (complete, or never started)",
                    output.name, target.bucket, target.key
                ),
                Err(e) => {
                    failures += 1;
                    eprintln!(
                        "{}: outputs[{i}].mp4.s3: {}",
                        output.name,
                        vcs_job::control::error_chain(&e)
                    );
                }
            }
            if let Some(resume) = &job.resume {
                failures += join(&output.name, target, resume.restart, i);
            }
        }
        if let Some(target) = output.hls.as_ref().and_then(|h| h.s3.as_ref()) {
            any = true;
            let key = hls_playlist_key(&target.key);
            match recovery.end_playlist(target, &key) {
                Ok(PlaylistEnd::Ended) => {
                    println!("{}: ended s3://{}/{key}", output.name, target.bucket)
                }
                Ok(PlaylistEnd::AlreadyEnded) => println!(
                    "{}: s3://{}/{key} was already ended",
                    output.name, target.bucket
                ),
                Ok(PlaylistEnd::Missing) => println!(
                    "{}: no playlist at s3://{}/{key}",
                    output.name, target.bucket
                ),
                Err(e) => {
                    failures += 1;
                    eprintln!(
                        "{}: outputs[{i}].hls.s3: {}",
                        output.name,
                        vcs_job::control::error_chain(&e)
                    );
                }
            }
        }
    }
    if !any {
        anyhow::bail!(
            "{}: outputs: no MP4 or HLS output goes to S3; local files need no recovery (a local MP4 \
             is fragmented and plays as it is)",
            args.job.display()
        );
    }
    if failures > 0 {
        anyhow::bail!("{failures} outputs could not be recovered (see above)");
    }
    Ok(())
}
