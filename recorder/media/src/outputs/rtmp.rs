//! FLV over RTMP(S), rebuilt with backoff whenever the connection fails.
//!
//! ```text
//! appsrc video (H.264 avc) ─┐
//!                           ├─► flvmux streamable=true ─► rtmp2sink location=<url>
//! appsrc audio (AAC raw) ───┘
//! ```
//!
//! A failure (refused, dropped, server gone) is an error on this pipeline's bus only: the
//! supervisor in `outputs` tears the pipeline down, waits 0.5 s doubling to 10 s, builds a new
//! one and restarts it at the next keyframe, timestamps starting near 0 again (a new publish as
//! far as the server is concerned). The appsrcs never block: when the connection cannot keep up
//! the slot drops to the next keyframe instead of holding up the encoder. The URL holds the
//! stream key, so it is set as a property (never in a launch line) and scrubbed from errors.

use std::path::PathBuf;
use std::time::Duration;

use gstreamer::prelude::*;
use vcs_job::uri::{self, UriScheme};

use super::{Built, Muxer, Reporter, appsrc};
use crate::MediaError;
use crate::gst_util::{by_name, launch};

pub(crate) struct Rtmp {
    name: String,
    url: String,
}

impl Rtmp {
    pub(crate) fn new(name: &str, url: String) -> Result<Rtmp, MediaError> {
        if UriScheme::of(&url) != Some(UriScheme::Rtmp) {
            return Err(MediaError::Build {
                what: format!("output {name}"),
                // Not quoted, not even redacted: with the wrong scheme the path is no longer
                // known to hold the stream key, but still does.
                message: "the URL is not an rtmp:// or rtmps:// URL".into(),
            });
        }
        Ok(Rtmp {
            name: name.to_string(),
            url,
        })
    }
}

impl Muxer for Rtmp {
    fn build(&mut self) -> Result<Built, MediaError> {
        let pipeline = launch(
            "appsrc name=video ! mux.video flvmux name=mux streamable=true \
               ! rtmp2sink name=sink async-connect=true \
             appsrc name=audio ! mux.audio",
            &format!("output {}", self.name),
        )?;
        let sink = by_name(&pipeline, "sink")?;
        sink.set_property("location", self.url.as_str());
        Ok(Built {
            video: appsrc(&pipeline, "video")?,
            audio: appsrc(&pipeline, "audio")?,
            counted: None,
            sent: Some(sink),
            pipeline,
        })
    }

    fn finalise(&mut self, _out: &Reporter) -> Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }

    fn files(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    fn reconnects(&self) -> bool {
        true
    }

    fn finish_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn scrub(&self, message: String) -> String {
        uri::scrub(&message, &self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_scrubbed_of_the_stream_key() {
        let r = Rtmp::new("live", "rtmp://h/live/sk_12345".into()).unwrap();
        let m = r.scrub("could not connect to rtmp://h/live/sk_12345 (stream sk_12345)".into());
        assert!(!m.contains("sk_12345"), "{m}");
        assert!(m.contains("rtmp://h/live/…"), "{m}");
    }

    #[test]
    fn only_rtmp_urls_are_taken_and_the_refusal_quotes_no_key() {
        let e = Rtmp::new("live", "http://h/live/sk_12345".into())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("output live") && !e.contains("sk_12345"), "{e}");
        assert!(Rtmp::new("live", "RTMPS://h/app/k".into()).is_ok());
    }
}
