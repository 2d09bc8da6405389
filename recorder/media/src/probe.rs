//! What video a file already recorded holds (codec, size, frame rate), read by GStreamer's
//! parsers without decoding: a continuation (issue 18) checks that what it would append
//! matches what the lost recorder left, before it records anything.

use std::path::Path;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::MediaError;
use crate::gst_util::{by_name, format_error, launch};

/// How long parsing a file's first frames may take (a loaded machine, a big first segment).
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// The video stream of a recorded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoFormat {
    /// The caps' media type, e.g. `video/x-h264`.
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Frames per second as a fraction, when the stream says.
    pub fps: Option<(i32, i32)>,
}

impl std::fmt::Display for VideoFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}x{}", self.codec, self.width, self.height)?;
        match self.fps {
            Some((n, 1)) => write!(f, " @ {n} fps"),
            Some((n, d)) => write!(f, " @ {n}/{d} fps"),
            None => write!(f, " @ unknown fps"),
        }
    }
}

/// The first video stream of the file at `path` (MPEG-TS, MP4, ...).
pub fn video_format(path: &Path) -> Result<VideoFormat, MediaError> {
    crate::init()?;
    let what = format!("reading the video format of {}", path.display());
    let fail = |message: String| MediaError::Start {
        what: what.clone(),
        message,
    };
    let pipeline = launch("filesrc name=src ! parsebin name=parse", &what)?;
    by_name(&pipeline, "src")?.set_property("location", path.to_string_lossy().as_ref());
    let (tx, rx) = mpsc::channel::<gst::Caps>();
    let tx = Mutex::new(tx);
    let bin = pipeline.clone();
    // Every stream parsebin finds goes to a fakesink that neither waits for preroll nor syncs
    // (a demuxer pushing two streams from one thread would block on the first sink's
    // preroll); the video stream's caps when its first buffer passes (parsed: size and rate
    // filled in) are what we want.
    by_name(&pipeline, "parse")?.connect_pad_added(move |_, pad| {
        let is_video = pad
            .query_caps(None)
            .iter()
            .any(|s| s.name().starts_with("video/"));
        if is_video {
            let tx = tx.lock().expect("probe channel").clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
                if let Some(caps) = pad.current_caps() {
                    let _ = tx.send(caps);
                }
                gst::PadProbeReturn::Remove
            });
        }
        let Ok(sink) = gst::ElementFactory::make("fakesink")
            .property("async", false)
            .property("sync", false)
            .build()
        else {
            return;
        };
        if bin.add(&sink).is_ok() {
            let _ = sink.sync_state_with_parent();
            if let Some(sink_pad) = sink.static_pad("sink") {
                let _ = pad.link(&sink_pad);
            }
        }
    });
    let outcome = first_video_caps(&pipeline, &rx);
    let _ = pipeline.set_state(gst::State::Null);
    let caps = outcome.map_err(fail)?;
    let s = caps
        .structure(0)
        .ok_or_else(|| fail("its video caps are empty".into()))?;
    let size = |field: &str| {
        s.get::<i32>(field)
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| fail(format!("its video caps have no {field}: {caps}")))
    };
    Ok(VideoFormat {
        codec: s.name().to_string(),
        width: size("width")?,
        height: size("height")?,
        fps: s
            .get::<gst::Fraction>("framerate")
            .ok()
            .filter(|f| f.numer() > 0)
            .map(|f| (f.numer(), f.denom())),
    })
}

/// Plays `pipeline` until the video pad reports its caps, the file ends or fails, or time
/// runs out.
fn first_video_caps(
    pipeline: &gst::Pipeline,
    caps: &mpsc::Receiver<gst::Caps>,
) -> Result<gst::Caps, String> {
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| "the file cannot be read".to_string())?;
    let bus = pipeline.bus().ok_or("the pipeline has no bus")?;
    let deadline = Instant::now() + PROBE_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(found) = caps.recv_timeout(Duration::from_millis(20)) {
            return Ok(found);
        }
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Eos, gst::MessageType::Error]) {
            // The caps may have come with the last buffer.
            if let Ok(found) = caps.try_recv() {
                return Ok(found);
            }
            return Err(match msg.view() {
                gst::MessageView::Error(e) => format_error(e),
                _ => "it has no video stream".into(),
            });
        }
    }
    Err(format!(
        "no video within {} s of parsing",
        PROBE_TIMEOUT.as_secs()
    ))
}
