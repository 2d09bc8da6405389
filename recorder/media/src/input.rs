//! Participant video inputs: one small GStreamer pipeline per track, ending in an appsink that
//! hands decoded RGBA frames to the compositor.
//!
//! ```text
//! test:  videotestsrc (pattern on the colour) ─► textoverlay (name) ─► videoconvert ─► RGBA ─► appsink
//! ```
//!
//! Offline (`render`) the compositor pulls exactly one frame per output frame, so output is
//! deterministic and runs as fast as the machine allows.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::MediaError;
use crate::gst_util::{bus_error, by_name, launch};
use crate::testsrc::TestSource;

/// A running video input.
pub struct VideoInput {
    pub id: String,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    last: Option<Frame>,
}

/// One decoded frame, RGBA8.
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub data: gst::buffer::MappedBuffer<gst::buffer::Readable>,
}

impl VideoInput {
    /// Starts a synthetic input for a `test:` URI.
    pub fn test(id: &str, name: &str, source: &TestSource, fps: u32) -> Result<Self, MediaError> {
        let desc = format!(
            "videotestsrc name=src is-live=false pattern={pattern} \
               ! video/x-raw,width={w},height={h},framerate={fps}/1 \
             ! textoverlay name=label valignment=top halignment=center shaded-background=true \
               font-desc=\"Sans Bold {font}\" \
             ! videoconvert ! video/x-raw,format=RGBA \
             ! appsink name=sink sync=false max-buffers=2",
            pattern = source.pattern,
            w = source.width,
            h = source.height,
            font = (source.height / 14).max(8),
        );
        let pipeline = launch(&desc, &format!("input {id}"))?;
        let src = by_name(&pipeline, "src")?;
        src.set_property("background-color", source.argb());
        src.set_property("foreground-color", 0xffff_ffffu32);
        by_name(&pipeline, "label")?.set_property("text", name);
        let sink = by_name(&pipeline, "sink")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| MediaError::Build {
                what: format!("input {id}"),
                message: "sink is not an appsink".into(),
            })?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| MediaError::State {
                what: format!("input {id}"),
                message: e.to_string(),
            })?;
        Ok(Self {
            id: id.to_string(),
            pipeline,
            sink,
            last: None,
        })
    }

    /// Blocks for the next frame and keeps it as the current one. At end of stream the last frame
    /// stays current.
    pub fn advance(&mut self) -> Result<(), MediaError> {
        if let Some(err) = bus_error(&self.pipeline) {
            return Err(MediaError::Runtime {
                what: format!("input {}", self.id),
                message: err,
            });
        }
        let Ok(sample) = self.sink.pull_sample() else {
            return Ok(()); // EOS: keep showing the last frame
        };
        let caps = sample.caps().ok_or_else(|| MediaError::Runtime {
            what: format!("input {}", self.id),
            message: "frame without caps".into(),
        })?;
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| MediaError::Runtime {
            what: format!("input {}", self.id),
            message: e.to_string(),
        })?;
        let buffer = sample.buffer_owned().ok_or_else(|| MediaError::Runtime {
            what: format!("input {}", self.id),
            message: "sample without buffer".into(),
        })?;
        let data = buffer
            .into_mapped_buffer_readable()
            .map_err(|_| MediaError::Runtime {
                what: format!("input {}", self.id),
                message: "cannot map frame".into(),
            })?;
        self.last = Some(Frame {
            width: info.width(),
            height: info.height(),
            stride: info.stride()[0] as usize,
            data,
        });
        Ok(())
    }

    /// The current frame, once one has arrived.
    pub fn frame(&self) -> Option<&Frame> {
        self.last.as_ref()
    }
}

impl Drop for VideoInput {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
