//! The job's outputs as encoder targets, and their way into S3.
//!
//! Every output is written locally first — to the path the job gives, or into the spool folder
//! when it names only an S3 target — and uploaded from there while recording: the MP4 as a
//! multipart upload that follows the growing file, HLS segments as they close and the playlist
//! each time it changes. An S3 outage only delays uploads; the local files are the source of
//! truth until S3 has everything, and are kept when it never does.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vcs_job::control::{OutputKind, OutputState, OutputStatus};
use vcs_job::{Output, S3Target};
use vcs_media::outputs::hls_playlist::HlsContinuation;
use vcs_media::outputs::{
    OutputEvent, OutputProgress, OutputSummary, OutputTarget, OutputTargetKind,
};
use vcs_upload::{GrowingObject, Uploader, UploaderConfig};

use super::RecordError;

/// How long the end of a recording waits for S3 before reporting what is still only local.
const UPLOAD_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// SIGTERM/SIGINT received so far (see [`note_signal`]).
static SIGNALS: AtomicU64 = AtomicU64::new(0);

/// Called by the process's signal handler. A signal that arrives while the end of a recording
/// waits for S3 ends the wait: what S3 does not have yet is reported and kept locally (and the
/// MP4 stays recoverable in S3 to its last checkpoint), instead of ignoring the signal for up
/// to [`UPLOAD_DEADLINE`].
pub fn note_signal() {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

/// One output and where its files go.
struct Entry {
    name: String,
    /// Local file (MP4) or folder (HLS) the muxer writes.
    local: Option<PathBuf>,
    /// Written only because S3 needs a local copy: removed once S3 has everything.
    spooled: bool,
    s3: Option<S3Target>,
    growing: Option<GrowingObject>,
    /// Started with the recording (not added by a patch), so it should cover all of it.
    from_start: bool,
}

/// What one output produced, for the summary and the exit status.
#[derive(Debug, Clone)]
pub struct OutputReport {
    pub name: String,
    pub kind: OutputKind,
    pub state: OutputState,
    /// Local files kept (the job's own paths, or spooled files S3 did not take).
    pub files: Vec<PathBuf>,
    /// `s3://bucket/key` when the output goes to S3.
    pub s3: Option<String>,
    pub objects: u64,
    pub bytes: u64,
    pub uploaded_bytes: u64,
    pub duration: Duration,
    pub reconnects: u32,
    pub last_error: Option<String>,
    /// Ran for the whole recording (not added or removed by a patch), so it should have
    /// delivered all of it.
    pub whole_recording: bool,
}

impl OutputReport {
    pub fn failed(&self) -> bool {
        self.state == OutputState::Failed
    }
}

impl fmt::Display for OutputReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            OutputKind::Mp4 => "mp4",
            OutputKind::Hls => "hls",
            OutputKind::Rtmp => "rtmp",
        };
        write!(
            f,
            "{kind} {}: {:?}, {:.3} s, {:.1} MB",
            self.name,
            self.state,
            self.duration.as_secs_f64(),
            self.bytes as f64 / 1e6
        )?;
        if let Some(first) = self.files.first() {
            write!(f, ", {}", first.display())?;
            if self.files.len() > 1 {
                write!(f, " (+{} files)", self.files.len() - 1)?;
            }
        }
        if let Some(s3) = &self.s3 {
            write!(
                f,
                ", {s3}: {} objects, {:.1} MB uploaded",
                self.objects,
                self.uploaded_bytes as f64 / 1e6
            )?;
        }
        if self.reconnects > 0 {
            write!(f, ", {} reconnects", self.reconnects)?;
        }
        if let Some(e) = &self.last_error {
            write!(f, "; {e}")?;
        }
        Ok(())
    }
}

/// The outputs of a running recording.
pub struct Outputs {
    spool: PathBuf,
    uploader: Option<Uploader>,
    entries: Vec<Entry>,
    /// Outputs removed mid-recording, reported at the end with the rest.
    removed: Vec<(Entry, OutputSummary)>,
}

impl Outputs {
    /// Maps the job's outputs to encoder targets, and checks every S3 bucket before anything
    /// is recorded.
    /// `continues` names the HLS outputs that continue a lost recorder's playlist.
    pub fn start(
        outputs: &[Output],
        spool: &Path,
        mut continues: Vec<(String, HlsContinuation)>,
    ) -> Result<(Vec<OutputTarget>, Outputs), RecordError> {
        let mut this = Outputs {
            spool: spool.to_path_buf(),
            uploader: None,
            entries: Vec::new(),
            removed: Vec::new(),
        };
        let mut targets = Vec::new();
        for (i, o) in outputs.iter().enumerate() {
            let at = continues.iter().position(|(name, _)| *name == o.name);
            let continuing = at.map(|at| continues.swap_remove(at).1);
            targets.push(this.add_at(o, &format!("outputs[{i}]"), continuing)?);
        }
        for entry in &mut this.entries {
            entry.from_start = true;
        }
        Ok((targets, this))
    }

    /// Adds an output mid-recording.
    pub fn add(&mut self, output: &Output) -> Result<OutputTarget, RecordError> {
        self.add_at(output, &format!("addOutputs[{}]", output.name), None)
    }

    /// Forgets the output just added (by [`Outputs::add`]) when the encoder could not start it:
    /// nothing was written for it.
    pub fn forget_last(&mut self, name: &str) {
        if self.entries.last().is_some_and(|e| e.name == name) {
            self.entries.pop();
        }
    }

    fn add_at(
        &mut self,
        o: &Output,
        field: &str,
        continues: Option<HlsContinuation>,
    ) -> Result<OutputTarget, RecordError> {
        let (local, s3, target) = match (&o.mp4, &o.hls, &o.rtmp) {
            (Some(mp4), _, _) => {
                let path = mp4.path.as_ref().map(PathBuf::from);
                let written = path
                    .clone()
                    .unwrap_or_else(|| self.spool.join(format!("{}.mp4", o.name)));
                (
                    path,
                    mp4.s3.clone().map(|t| (t, format!("{field}.mp4.s3"))),
                    OutputTargetKind::Mp4 { path: written },
                )
            }
            (_, Some(hls), _) => {
                let dir = hls.path.as_ref().map(PathBuf::from);
                let written = dir.clone().unwrap_or_else(|| self.spool.join(&o.name));
                (
                    dir,
                    hls.s3.clone().map(|t| (t, format!("{field}.hls.s3"))),
                    OutputTargetKind::Hls {
                        dir: written,
                        segment_secs: hls.segment_secs.unwrap_or(4.0),
                        continues,
                    },
                )
            }
            (_, _, Some(rtmp)) => (
                None,
                None,
                OutputTargetKind::Rtmp {
                    url: rtmp.url.clone(),
                },
            ),
            _ => {
                return Err(RecordError::Invalid {
                    field: field.to_string(),
                    message: "must set exactly one output kind: mp4, hls or rtmp".into(),
                });
            }
        };
        if let Some((target, at)) = &s3 {
            self.uploader(at)?
                .check(target)
                .map_err(|source| RecordError::Upload {
                    field: at.clone(),
                    source: Box::new(source),
                })?;
        }
        self.entries.push(Entry {
            name: o.name.clone(),
            spooled: local.is_none() && s3.is_some(),
            local: match &target {
                OutputTargetKind::Mp4 { path } => Some(path.clone()),
                OutputTargetKind::Hls { dir, .. } => Some(dir.clone()),
                OutputTargetKind::Rtmp { .. } => None,
            },
            s3: s3.map(|(t, _)| t),
            growing: None,
            from_start: false,
        });
        Ok(OutputTarget {
            name: o.name.clone(),
            kind: target,
        })
    }

    fn uploader(&mut self, field: &str) -> Result<&Uploader, RecordError> {
        let uploader = match self.uploader.take() {
            Some(u) => u,
            None => Uploader::new(UploaderConfig::new(self.spool.join("uploads"))).map_err(
                |source| RecordError::Upload {
                    field: field.to_string(),
                    source: Box::new(source),
                },
            )?,
        };
        Ok(self.uploader.insert(uploader))
    }

    /// Hands what an output just wrote to the uploader.
    pub fn on_event(&mut self, event: OutputEvent) {
        let name = match &event {
            OutputEvent::FileGrowing { output, .. }
            | OutputEvent::FileClosed { output, .. }
            | OutputEvent::FileRewritten { output, .. }
            | OutputEvent::Finished { output, .. } => output.clone(),
        };
        let Some(entry) = self.entries.iter_mut().find(|e| e.name == name) else {
            return;
        };
        let (Some(target), Some(uploader)) = (&entry.s3, &self.uploader) else {
            return;
        };
        match event {
            OutputEvent::FileGrowing { path, .. } => {
                entry.growing = Some(uploader.growing_mp4(target, &target.key, &path));
            }
            OutputEvent::FileClosed { path, .. } | OutputEvent::FileRewritten { path, .. } => {
                let key = object_key(&target.key, &path);
                if let Err(e) = uploader.put_file(target, &key, &path) {
                    tracing::error!(output = %entry.name, key = %key, error = %e, "cannot hand a file to the uploader; it stays on disk");
                }
            }
            OutputEvent::Finished { files, .. } => {
                if let Some(g) = entry.growing.take() {
                    // The MP4 was renamed from its `.part` when it was finalised.
                    match files.first() {
                        Some(done) => g.finish_at(done),
                        None => g.finish(),
                    }
                }
            }
        }
    }

    /// Status per output, from the encoder's progress and the uploads.
    pub fn status(&self, progress: &[OutputProgress]) -> Vec<OutputStatus> {
        let uploads = self.uploader.as_ref().map(|u| (u.summary(), u.status()));
        progress
            .iter()
            .map(|p| {
                let entry = self.entries.iter().find(|e| e.name == p.name);
                let mut s = OutputStatus {
                    name: p.name.clone(),
                    kind: p.kind,
                    state: p.state,
                    bytes: p.bytes,
                    uploaded_bytes: 0,
                    objects: 0,
                    duration_secs: p.duration.as_secs_f64(),
                    upload_lag_secs: 0.0,
                    retries: p.reconnects as u64,
                    last_error: p.last_error.clone(),
                };
                if let (Some(target), Some((summary, status))) =
                    (entry.and_then(|e| e.s3.as_ref()), &uploads)
                    && let Some(u) = summary
                        .outputs
                        .iter()
                        .find(|o| o.bucket == target.bucket && o.prefix == target.key)
                {
                    s.objects = u.objects_written;
                    s.uploaded_bytes = u.bytes_uploaded;
                    s.upload_lag_secs = status.upload_lag.as_secs_f64();
                    if status.retrying && s.state == OutputState::Active {
                        s.state = OutputState::Reconnecting;
                        s.last_error = status.last_error.clone();
                    }
                    if let Some(e) = u.errors.last() {
                        s.last_error = Some(e.clone());
                    }
                }
                s
            })
            .collect()
    }

    /// Notes an output removed mid-recording (its uploads finish with the rest).
    pub fn removed(&mut self, summary: OutputSummary) {
        if let Some(i) = self.entries.iter().position(|e| e.name == summary.name) {
            let entry = self.entries.remove(i);
            self.removed.push((entry, summary));
        }
    }

    /// Waits for every upload and reports each output. Spooled files S3 took are removed;
    /// anything S3 did not take stays on disk and is named in the report.
    pub fn finish(self, summaries: Vec<OutputSummary>) -> Vec<OutputReport> {
        let mut all: Vec<(Entry, OutputSummary)> = self.removed;
        for (entry, _) in &mut all {
            entry.from_start = false;
        }
        let mut entries = self.entries;
        for s in summaries {
            if let Some(i) = entries.iter().position(|e| e.name == s.name) {
                all.push((entries.remove(i), s));
            }
        }
        let signals_before = SIGNALS.load(Ordering::SeqCst);
        let uploads = self.uploader.map(|u| {
            u.shutdown_unless(UPLOAD_DEADLINE, || {
                SIGNALS.load(Ordering::SeqCst) > signals_before
            })
        });
        all.into_iter()
            .map(|(mut entry, s)| {
                drop(entry.growing.take());
                let mut report = OutputReport {
                    name: s.name.clone(),
                    kind: s.kind,
                    state: s.state,
                    files: if entry.spooled {
                        Vec::new()
                    } else {
                        s.files.clone()
                    },
                    s3: entry
                        .s3
                        .as_ref()
                        .map(|t| format!("s3://{}/{}", t.bucket, t.key)),
                    objects: 0,
                    bytes: s.bytes,
                    uploaded_bytes: 0,
                    duration: s.duration,
                    reconnects: s.reconnects,
                    last_error: s.last_error.clone(),
                    whole_recording: entry.from_start,
                };
                if let (Some(target), Some(summary)) = (&entry.s3, &uploads) {
                    let u = summary
                        .outputs
                        .iter()
                        .find(|o| o.bucket == target.bucket && o.prefix == target.key);
                    let complete = u.is_some_and(|u| u.pending == 0 && u.errors.is_empty());
                    if let Some(u) = u {
                        report.objects = u.objects_written;
                        report.uploaded_bytes = u.bytes_uploaded;
                    }
                    if complete {
                        if entry.spooled
                            && let Some(local) = &entry.local
                        {
                            remove_local(local);
                        }
                    } else {
                        report.state = OutputState::Failed;
                        report.files = s.files.clone();
                        report.last_error = Some(format!(
                            "S3 does not have everything: {}; the recording is kept at {}",
                            u.map(|u| u.errors.join("; "))
                                .filter(|e| !e.is_empty())
                                .unwrap_or_else(|| "uploads did not finish".into()),
                            entry
                                .local
                                .as_ref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default()
                        ));
                    }
                }
                report
            })
            .collect()
    }
}

/// The key of an HLS output's playlist under its prefix.
pub fn hls_playlist_key(prefix: &str) -> String {
    object_key(prefix, Path::new(vcs_media::outputs::HLS_PLAYLIST))
}

/// The object key of a file under an HLS output's prefix.
fn object_key(prefix: &str, path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        file
    } else {
        format!("{prefix}/{file}")
    }
}

fn remove_local(path: &Path) {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove a spooled output after upload");
    }
}

/// An output the encoder could not create because of what the job asks for (a path that cannot
/// be written, say) is the job's fault: reported at `field` (422 from `serve`), not as a failure
/// of the recorder. Other media errors stay what they are.
pub(super) fn output_error(field: &str, e: vcs_media::MediaError) -> RecordError {
    match e {
        vcs_media::MediaError::Output { .. } => RecordError::Invalid {
            field: field.to_string(),
            message: vcs_job::control::error_chain(&e),
        },
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hls_files_go_under_the_prefix() {
        assert_eq!(
            object_key("rec/42/hls/", Path::new("/tmp/x/segment00001.ts")),
            "rec/42/hls/segment00001.ts"
        );
        assert_eq!(object_key("", Path::new("playlist.m3u8")), "playlist.m3u8");
    }
}
