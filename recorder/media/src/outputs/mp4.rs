//! Fragmented MP4 to a local file.
//!
//! ```text
//! appsrc video (H.264 avc) ─┐
//!                           ├─► mp4mux fragment-duration=1000 streamable=true ─► filesink <path>.part
//! appsrc audio (AAC raw) ───┘
//! ```
//!
//! Fragmented, so a crash leaves a file that plays up to the last complete fragment (1 s);
//! filesink is unbuffered so what the muxer wrote is in the file, not in a libc buffer, when
//! the process dies.
//! `streamable=true` makes the file append-only (the muxer never seeks back to patch the header),
//! so an uploader can tail `<path>.part` as it grows. It is renamed to `path` only after the muxer
//! has finalised it, so a file at `path` is always complete.

use std::path::{Path, PathBuf};

use gstreamer::prelude::*;

use super::{Built, Muxer, OutputEvent, Reporter, appsrc};
use crate::MediaError;
use crate::gst_util::{by_name, launch};

pub(crate) struct Mp4 {
    name: String,
    path: PathBuf,
    part: PathBuf,
}

impl Mp4 {
    /// Fails fast when `<path>.part` cannot be created.
    pub(crate) fn new(name: &str, path: PathBuf) -> Result<Mp4, MediaError> {
        let part = part_path(&path);
        std::fs::File::create(&part).map_err(|e| MediaError::Output {
            path: path.clone(),
            message: format!(
                "output {name}: cannot write {} (does the directory exist and is it writable?)",
                part.display()
            ),
            source: Some(e),
        })?;
        Ok(Mp4 {
            name: name.to_string(),
            path,
            part,
        })
    }
}

impl Muxer for Mp4 {
    fn build(&mut self) -> Result<Built, MediaError> {
        let pipeline = launch(
            "appsrc name=video ! mux.video_0 mp4mux name=mux fragment-duration=1000 streamable=true \
               ! filesink name=file buffer-mode=unbuffered \
             appsrc name=audio ! mux.audio_0",
            &format!("output {}", self.name),
        )?;
        let file = by_name(&pipeline, "file")?;
        file.set_property("location", self.part.to_string_lossy().as_ref());
        Ok(Built {
            video: appsrc(&pipeline, "video")?,
            audio: appsrc(&pipeline, "audio")?,
            counted: file.static_pad("sink"),
            sent: None,
            pipeline,
        })
    }

    fn started(&mut self, out: &Reporter) {
        out.emit(OutputEvent::FileGrowing {
            output: self.name.clone(),
            path: self.part.clone(),
        });
    }

    fn finalise(&mut self, _out: &Reporter) -> Result<Vec<PathBuf>, String> {
        std::fs::rename(&self.part, &self.path).map_err(|e| {
            format!(
                "cannot move the finished {} to {}: {e}",
                self.part.display(),
                self.path.display()
            )
        })?;
        Ok(vec![self.path.clone()])
    }

    fn files(&self) -> Vec<PathBuf> {
        vec![self.part.clone()]
    }
}

/// The `.part` path an MP4 is written to until it is complete.
pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}
