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

use super::{Built, Muxer, Reporter, appsrc};
use crate::MediaError;
use crate::gst_util::{by_name, launch};

pub(crate) struct Rtmp {
    name: String,
    url: String,
}

impl Rtmp {
    pub(crate) fn new(name: &str, url: String) -> Result<Rtmp, MediaError> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("rtmp://") || lower.starts_with("rtmps://")) {
            return Err(MediaError::Build {
                what: format!("output {name}"),
                message: format!("{} is not an rtmp:// or rtmps:// URL", redact_url(&url)),
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
            counted: sink.static_pad("sink"),
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
        let mut message = message.replace(&self.url, &redact_url(&self.url));
        if let Some(key) = self.url.rsplit('/').next().filter(|k| k.len() >= 4) {
            message = message.replace(key, "…");
        }
        message
    }
}

/// `scheme://host/app/…`: an RTMP URL without credentials or stream key, safe to log.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".into();
    };
    let mut parts = rest.split('/');
    let host = parts.next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    match parts.next() {
        Some(app) if !app.is_empty() => format!("{scheme}://{host}/{app}/…"),
        _ => format!("{scheme}://{host}/…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_host_and_app_but_not_keys_or_credentials() {
        for (url, want) in [
            (
                "rtmp://a.example:1935/live/secret-key",
                "rtmp://a.example:1935/live/…",
            ),
            (
                "rtmps://user:pw@b.example/app/k?x=1",
                "rtmps://b.example/app/…",
            ),
            ("rtmp://host", "rtmp://host/…"),
            ("nonsense", "(not a URL)"),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn errors_are_scrubbed_of_the_stream_key() {
        let r = Rtmp::new("live", "rtmp://h/live/sk_12345".into()).unwrap();
        let m = r.scrub("could not connect to rtmp://h/live/sk_12345 (stream sk_12345)".into());
        assert!(!m.contains("sk_12345"), "{m}");
        assert!(m.contains("rtmp://h/live/…"), "{m}");
    }
}
