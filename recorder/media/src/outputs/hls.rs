//! HLS to a local directory: MPEG-TS segments and a live playlist.
//!
//! ```text
//! appsrc video (H.264 avc) ─► h264parse config-interval=-1 ─┐
//!                                                            ├─► hlssink2 ─► <dir>/segment%05d.ts
//! appsrc audio (AAC raw) ───► aacparse ──────────────────────┘              <dir>/playlist.m3u8
//! ```
//!
//! `playlist-length=0` keeps every segment in the playlist and `max-files=0` keeps every file, so
//! the playlist is both live and, at the end, a complete VOD list; GStreamer 1.22's hlssink2
//! writes `#EXT-X-ENDLIST` on EOS (checked again in [`Hls::finalise`]). h264parse repeats SPS/PPS
//! at every keyframe so each segment decodes on its own. hlssink2 rewrites the playlist before
//! it forwards splitmuxsink's `fragment-closed`, so when that message arrives both the segment
//! and the playlist are on disk: that is when `FileClosed` and `FileRewritten` are sent.
//!
//! A continuation (see [`super::hls_playlist`]) has hlssink2 write its own playlist to a hidden
//! file and number segments from the continuation's first; each time that playlist changes,
//! `playlist.m3u8` is written as the earlier playlist followed by it.

use std::path::PathBuf;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::hls_playlist::{HlsContinuation, continued_playlist};
use super::{Built, Muxer, OutputEvent, Reporter, appsrc};
use crate::MediaError;
use crate::gst_util::{by_name, launch};

/// The playlist's file name in the output folder (and under an S3 prefix).
pub const PLAYLIST: &str = "playlist.m3u8";

/// Where hlssink2 writes a continuation's own playlist (never uploaded).
const OWN_PLAYLIST: &str = ".continuation-playlist.m3u8";

pub(crate) struct Hls {
    name: String,
    dir: PathBuf,
    segment_secs: f64,
    /// Closed segments, in order.
    segments: Vec<PathBuf>,
    /// Running time at which the last segment closed.
    last_closed: Option<u64>,
    /// Set when this output continues a lost recorder's playlist.
    continues: Option<HlsContinuation>,
}

impl Hls {
    /// Creates `dir` and fails fast when it is not writable.
    pub(crate) fn new(
        name: &str,
        dir: PathBuf,
        segment_secs: f64,
        continues: Option<HlsContinuation>,
    ) -> Result<Hls, MediaError> {
        let err = |message: String, source: Option<std::io::Error>| MediaError::Output {
            path: dir.clone(),
            message: format!("output {name}: {message}"),
            source,
        };
        if !(segment_secs.is_finite() && segment_secs > 0.0) {
            return Err(err(
                format!("segment length {segment_secs} s is not a positive number of seconds"),
                None,
            ));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| err("cannot create the directory".into(), Some(e)))?;
        let probe = dir.join(".vcs-write-test");
        std::fs::write(&probe, b"")
            .map_err(|e| err("the directory is not writable".into(), Some(e)))?;
        let _ = std::fs::remove_file(&probe);
        Ok(Hls {
            name: name.to_string(),
            dir,
            segment_secs,
            segments: Vec::new(),
            last_closed: None,
            continues,
        })
    }

    fn playlist(&self) -> PathBuf {
        self.dir.join(PLAYLIST)
    }

    /// The playlist hlssink2 writes: the published one unless this is a continuation.
    fn own_playlist(&self) -> PathBuf {
        match self.continues {
            Some(_) => self.dir.join(OWN_PLAYLIST),
            None => self.playlist(),
        }
    }

    fn first_segment(&self) -> u32 {
        self.continues.as_ref().map_or(0, |c| c.first_segment)
    }

    /// The `index`th segment this output closed.
    fn segment(&self, index: usize) -> PathBuf {
        let number = u64::from(self.first_segment()) + index as u64;
        self.dir.join(format!("segment{number:05}.ts"))
    }

    /// A continuation's `playlist.m3u8`: the earlier playlist, then hlssink2's (written to a
    /// temporary file and renamed, so an upload never reads half of it).
    fn publish(&self) -> Result<(), String> {
        let Some(c) = &self.continues else {
            return Ok(());
        };
        let own_path = self.own_playlist();
        let own = std::fs::read_to_string(&own_path)
            .map_err(|e| format!("cannot read the playlist {}: {e}", own_path.display()))?;
        let playlist = self.playlist();
        let tmp = self.dir.join(".playlist.m3u8.tmp");
        std::fs::write(&tmp, continued_playlist(&c.previous, &own))
            .and_then(|()| std::fs::rename(&tmp, &playlist))
            .map_err(|e| format!("cannot write the playlist {}: {e}", playlist.display()))
    }
}

impl Muxer for Hls {
    fn build(&mut self) -> Result<Built, MediaError> {
        let pipeline = launch(
            "appsrc name=video ! h264parse config-interval=-1 ! hls.video \
             appsrc name=audio ! aacparse ! hls.audio \
             hlssink2 name=hls message-forward=true playlist-length=0 max-files=0",
            &format!("output {}", self.name),
        )?;
        let hls = by_name(&pipeline, "hls")?;
        hls.set_property(
            "location",
            self.dir.join("segment%05d.ts").to_string_lossy().as_ref(),
        );
        hls.set_property(
            "playlist-location",
            self.own_playlist().to_string_lossy().as_ref(),
        );
        hls.set_property("target-duration", self.segment_secs.ceil() as u32);
        // target-duration is whole seconds (it is also #EXT-X-TARGETDURATION); the split point
        // itself may be finer.
        if let Some(split) = hls.downcast_ref::<gst::Bin>().and_then(|bin| {
            bin.iterate_elements()
                .find(|e| e.factory().is_some_and(|f| f.name() == "splitmuxsink"))
        }) {
            split.set_property("max-size-time", (self.segment_secs * 1e9).round() as u64);
            // hlssink2 names segments by splitmuxsink's fragment id.
            split.set_property(
                "start-index",
                self.first_segment().min(i32::MAX as u32) as i32,
            );
        } else if self.first_segment() > 0 {
            return Err(MediaError::Build {
                what: format!("output {}", self.name),
                message: "hlssink2 has no splitmuxsink to number a continuation's segments".into(),
            });
        }
        Ok(Built {
            video: appsrc(&pipeline, "video")?,
            audio: appsrc(&pipeline, "audio")?,
            counted: None,
            sent: None,
            pipeline,
        })
    }

    fn on_element(&mut self, s: &gst::StructureRef, out: &Reporter) {
        // With message-forward, splitmuxsink's messages reach the bus as they are (1.22) or
        // wrapped in GstBinForwarded; take either, once (the running time tells them apart).
        let inner = s.get::<gst::Message>("message").ok();
        let closed = match &inner {
            Some(m) => m.structure(),
            None => Some(s),
        };
        let Some(closed) = closed.filter(|c| c.name() == "splitmuxsink-fragment-closed") else {
            return;
        };
        let running_time = closed.get::<u64>("running-time").ok();
        if running_time.is_some() && running_time == self.last_closed {
            return;
        }
        self.last_closed = running_time;
        let segment = self.segment(self.segments.len());
        match std::fs::metadata(&segment) {
            Ok(meta) => out.add_bytes(meta.len()),
            Err(e) => {
                tracing::warn!(output = %self.name, segment = %segment.display(), error = %e,
                    "hlssink2 closed a segment that is not where expected");
            }
        }
        tracing::debug!(output = %self.name, segment = %segment.display(), "HLS segment closed");
        self.segments.push(segment.clone());
        if let Err(e) = self.publish() {
            tracing::warn!(output = %self.name, error = %e, "the continued playlist is not updated");
        }
        out.emit(OutputEvent::FileClosed {
            output: self.name.clone(),
            path: segment,
        });
        out.emit(OutputEvent::FileRewritten {
            output: self.name.clone(),
            path: self.playlist(),
        });
    }

    fn finalise(&mut self, out: &Reporter) -> Result<Vec<PathBuf>, String> {
        let playlist = self.own_playlist();
        let text = std::fs::read_to_string(&playlist)
            .map_err(|e| format!("cannot read the playlist {}: {e}", playlist.display()))?;
        if !text.contains("#EXT-X-ENDLIST") {
            // Not expected from hlssink2 1.22, but a playlist without it reads as still live.
            let mut text = text;
            text.push_str("#EXT-X-ENDLIST\n");
            std::fs::write(&playlist, text)
                .map_err(|e| format!("cannot end the playlist {}: {e}", playlist.display()))?;
        }
        self.publish()?;
        out.emit(OutputEvent::FileRewritten {
            output: self.name.clone(),
            path: self.playlist(),
        });
        Ok(self.files())
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files = self.segments.clone();
        files.push(self.playlist());
        files
    }
}
