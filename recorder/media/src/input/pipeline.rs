//! Builds one input's GStreamer pipeline per URI kind; every kind ends in the same two branches,
//! whose appsinks push into the input's [`Store`].
//!
//! ```text
//! test:        videotestsrc (pattern on colour) ─► caps (size, 30 fps) ─► textoverlay (name) ─► [video]
//!              audiotestsrc (sine tone) ─────────────────────────────────────────────────────► [audio]
//! file: http(s): rtsp: srt: rtmp(s):
//!              uridecodebin ──pad-added video/*─► [video]   (libav decoders on one thread: decoder)
//!                           └─pad-added audio/*─► [audio]     (source-setup tunes rtspsrc/srtsrc/rtmp2src)
//! whep+http(s): see whep/ (webrtcbin) ─► decodebin ─► [video] / [audio]
//!
//! [video] (queue, live) ─► videoconvert ─► videoscale ─► I420, ≤1920×1920, square pixels ─► appsink
//!         (videoconvert passes I420 through untouched: decoded video is never turned into RGB)
//! [audio] (queue, live) ─► audioconvert ─► audioresample ─► F32LE stereo 48 kHz ─► appsink
//! ```
//!
//! Offline the appsinks never sync to a clock and their callbacks block (see [`Store`]), so the
//! source runs exactly as fast as the recorder reads; they run on the decoder's own thread (no
//! queue): a thread hand-over per frame and per audio buffer cost more CPU than it bought.
//! Live, appsinks of test and file sources sync to the clock (real-time pacing); network streams
//! arrive at their sender's pace and are taken as they come.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::store::{CHANNELS, RATE, Store};
use super::supervisor::Event;
use super::uri::Kind;
use super::{InputConfig, VideoFrame};
use crate::MediaError;
use crate::gst_util::format_error;
use crate::testsrc::TestSource;
use vcs_job::control::error_chain;

/// Messages from a pipeline's bus for whoever supervises it, tagged with the pipeline's
/// generation.
pub type Events = Arc<Mutex<Vec<(u64, Event)>>>;

/// How one pipeline connects to its input.
#[derive(Clone)]
pub struct Wiring {
    pub store: Arc<Store>,
    pub events: Events,
    pub generation: u64,
    pub offline: bool,
    /// Sync appsinks to the clock (live test/file sources play in real time).
    pub sync: bool,
    pub video: bool,
    pub audio: bool,
    /// Names the input in errors and logs (participant, track, redacted URI).
    pub what: String,
    /// The URI as given, only to scrub it out of element messages.
    pub uri: String,
}

/// One running input pipeline. Set to `Null` on drop.
pub struct SourcePipeline {
    pipeline: gst::Pipeline,
    what: String,
    generation: u64,
    events: Events,
    /// A WHEP session to end (HTTP DELETE) after the pipeline stops.
    whep: Option<super::whep::Session>,
}

impl SourcePipeline {
    /// Builds and starts the pipeline for `kind` (and `uri`, for uridecodebin kinds).
    pub fn start(
        cfg: &InputConfig,
        kind: &Kind,
        wiring: Wiring,
    ) -> Result<SourcePipeline, MediaError> {
        let pipeline = gst::Pipeline::with_name(&format!("input-{}", wiring.generation));
        let mut owned = SourcePipeline {
            pipeline: pipeline.clone(),
            what: wiring.what.clone(),
            generation: wiring.generation,
            events: wiring.events.clone(),
            whep: None,
        };
        watch_bus(&pipeline, &wiring);
        match kind {
            Kind::Test(src) => {
                if wiring.video {
                    add_test_video(&pipeline, src, &cfg.display_name, &wiring)?;
                }
                if wiring.audio {
                    add_test_audio(&pipeline, src, &wiring)?;
                }
            }
            Kind::Whep { endpoint } => {
                owned.whep = Some(super::whep::build(&pipeline, endpoint, &wiring)?);
            }
            _ => add_uridecodebin(&pipeline, cfg.uri.trim(), &wiring)?,
        }
        // A live file must start playing at its first frame, so it prerolls first (its branches
        // appear from pad-added) and goes to Playing at AsyncDone (see watch_bus); otherwise the
        // clock runs while it is still typefinding and its first second plays in a burst.
        let target = if wiring.sync && matches!(kind, Kind::File(_) | Kind::Http) {
            gst::State::Paused
        } else {
            gst::State::Playing
        };
        pipeline
            .set_state(target)
            .map_err(|source| MediaError::StateChange {
                what: wiring.what.clone(),
                detail: Some("see the errors logged above for the cause".into()),
                source,
            })?;
        tracing::debug!(input = %wiring.what, generation = wiring.generation, "pipeline started");
        Ok(owned)
    }

    /// Blocks up to `timeout` for the pipeline to preroll (offline: the first frames are decoded),
    /// returning the bus error if it fails first.
    pub fn wait_prerolled(&self, timeout: Duration) -> Result<(), MediaError> {
        let (res, _, _) = self
            .pipeline
            .state(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64));
        match res {
            Ok(_) => Ok(()),
            Err(_) => Err(MediaError::Start {
                what: self.what.clone(),
                message: self
                    .events
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .find_map(|(g, e)| match e {
                        Event::Failed(m) if *g == self.generation => Some(m.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "the source did not start in time".into()),
            }),
        }
    }
}

impl Drop for SourcePipeline {
    fn drop(&mut self) {
        if let Some(bus) = self.pipeline.bus() {
            bus.unset_sync_handler();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(session) = &self.whep {
            super::whep::end_session(session, &self.what);
        }
    }
}

/// test: video: videotestsrc (pattern on colour) ─► caps (size, 30 fps) ─► textoverlay (name) ─►
/// [video].
fn add_test_video(
    pipeline: &gst::Pipeline,
    src: &TestSource,
    name: &str,
    wiring: &Wiring,
) -> Result<(), MediaError> {
    let v = make("videotestsrc", wiring)?;
    v.set_property("is-live", !wiring.offline);
    v.set_property_from_str("pattern", &src.pattern);
    v.set_property("background-color", src.argb());
    v.set_property("foreground-color", 0xffff_ffffu32);
    let caps = capsfilter(
        gst_video::VideoCapsBuilder::new()
            .width(src.width as i32)
            .height(src.height as i32)
            .framerate(gst::Fraction::new(30, 1))
            .build(),
        wiring,
    )?;
    let label = make("textoverlay", wiring)?;
    label.set_property("text", name);
    label.set_property_from_str("valignment", "top");
    label.set_property_from_str("halignment", "center");
    label.set_property("shaded-background", true);
    label.set_property(
        "font-desc",
        format!("Sans Bold {}", (src.height / 14).max(8)),
    );
    pipeline
        .add_many([&v, &caps, &label])
        .map_err(|e| build_err(wiring, e))?;
    gst::Element::link_many([&v, &caps, &label]).map_err(|e| build_err(wiring, e))?;
    let branch = video_branch(pipeline, wiring)?;
    label.link(&branch).map_err(|e| build_err(wiring, e))
}

/// test: audio: audiotestsrc (sine tone) ─► [audio].
fn add_test_audio(
    pipeline: &gst::Pipeline,
    src: &TestSource,
    wiring: &Wiring,
) -> Result<(), MediaError> {
    let a = make("audiotestsrc", wiring)?;
    a.set_property("is-live", !wiring.offline);
    a.set_property_from_str("wave", "sine");
    a.set_property("freq", src.tone_hz);
    a.set_property("volume", 0.3f64);
    // 20 ms buffers: small steps for the live jitter buffer.
    a.set_property("samplesperbuffer", (RATE / 50) as i32);
    pipeline.add(&a).map_err(|e| build_err(wiring, e))?;
    let branch = audio_branch(pipeline, wiring)?;
    a.link(&branch).map_err(|e| build_err(wiring, e))
}

/// file: http(s): rtsp: srt: rtmp(s): uridecodebin, its pads linked to branches as they appear.
fn add_uridecodebin(
    pipeline: &gst::Pipeline,
    uri: &str,
    wiring: &Wiring,
) -> Result<(), MediaError> {
    let dec = make("uridecodebin", wiring)?;
    dec.set_property("uri", uri);
    dec.connect("source-setup", false, |args| {
        if let Ok(src) = args[1].get::<gst::Element>() {
            tune_source(&src);
        }
        None
    });
    // The demuxer for network streams only: an http(s) input is paced like a file (synced
    // sinks) and its MPEG-TS timestamps were exact; with ignore-pcr its audio came 38 ms late
    // (75 ms after a join), lipsync_live's http tests.
    let network_stream = !wiring.offline && !wiring.sync;
    dec.connect("deep-element-added", false, move |args| {
        if let Ok(element) = args[2].get::<gst::Element>() {
            super::decoder::tune(&element);
            if network_stream {
                tune_live_demuxer(&element);
            }
        }
        None
    });
    pipeline.add(&dec).map_err(|e| build_err(wiring, e))?;
    link_decoded_pads(&dec, pipeline, wiring);
    Ok(())
}

/// Live MPEG-TS over a network stream (SRT): tsdemux maps PTS to time through the PCR's
/// arrival times, and on a loaded host that estimate moved audio and video by different
/// amounts (an SRT marker 32 ms off while the stream was 0 ms off). The input's own clock
/// (`store`) already maps the source's timestamps onto the recording and follows its drift, so
/// the demuxer hands them over as sent.
fn tune_live_demuxer(element: &gst::Element) {
    if element.factory().is_some_and(|f| f.name() == "tsdemux") {
        element.set_property("ignore-pcr", true);
    }
}

/// SRT receive latency when the URI sets none: how late a packet may be before SRT gives up on
/// it. SRT's own 120 ms suits an interactive call; a recorder trades a little delay for not
/// losing picture when its process is not scheduled for a moment.
const SRT_LATENCY_MS: i32 = 500;

/// Latency and timeouts for network sources uridecodebin picks.
fn tune_source(src: &gst::Element) {
    let Some(factory) = src.factory() else { return };
    match factory.name().as_str() {
        "rtspsrc" => {
            src.set_property("latency", 200u32);
            // Timestamps from the RTP timestamps (and RTCP for lip sync), not slaved to packet
            // arrival: the default skew estimation moves each stream by its own arrival
            // jitter, which put audio 30-350 ms off video (issue 21).
            src.set_property_from_str("buffer-mode", "none");
            // Interleaved over the RTSP connection: no UDP ports to open, works through NAT.
            src.set_property_from_str("protocols", "tcp");
        }
        "srtsrc" => {
            // A latency written in the URI (`srt://host:port?latency=ms`) is the user's.
            let uri = src.property::<Option<String>>("uri").unwrap_or_default();
            if !uri.contains("latency=") {
                src.set_property("latency", SRT_LATENCY_MS);
            }
        }
        _ => {}
    }
}

/// Links a decoded pad to the head of a branch made by [`video_branch`] or [`audio_branch`].
pub(super) fn link_to_branch(
    pad: &gst::Pad,
    branch: &gst::Element,
    wiring: &Wiring,
) -> Result<(), MediaError> {
    let sink = branch
        .static_pad("sink")
        .expect("a branch starts with a queue or a converter, which have a sink pad");
    pad.link(&sink).map_err(|e| build_err(wiring, e))?;
    Ok(())
}

/// Links uridecodebin's (or decodebin's) pads to new branches, the first video and first audio
/// pad only; tracks the input does not want are left unlinked (uridecodebin then drops them).
pub(super) fn link_decoded_pads(dec: &gst::Element, pipeline: &gst::Pipeline, wiring: &Wiring) {
    let linked = Arc::new(Mutex::new((false, false)));
    {
        let pipeline = pipeline.downgrade();
        let wiring = wiring.clone();
        let linked = linked.clone();
        dec.connect_pad_added(move |_, pad| {
            let Some(pipeline) = pipeline.upgrade() else {
                return;
            };
            let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
            let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
                return;
            };
            let mut l = linked.lock().unwrap_or_else(|e| e.into_inner());
            let branch = if name.starts_with("video/") && wiring.video && !l.0 {
                l.0 = true;
                video_branch(&pipeline, &wiring)
            } else if name.starts_with("audio/") && wiring.audio && !l.1 {
                l.1 = true;
                audio_branch(&pipeline, &wiring)
            } else {
                return;
            };
            if let Err(e) = branch.and_then(|b| link_to_branch(pad, &b, &wiring)) {
                let cause = error_chain(&e);
                tracing::error!(input = %wiring.what, %cause, "cannot link decoded {name}");
            }
        });
    }
    let wiring = wiring.clone();
    dec.connect_no_more_pads(move |_| {
        let l = linked.lock().unwrap_or_else(|e| e.into_inner());
        // A wanted track the source does not have: readers must not wait for it.
        if wiring.video && !l.0 {
            tracing::info!(input = %wiring.what, "the source has no video");
            wiring.store.end_video(wiring.generation);
        }
        if wiring.audio && !l.1 {
            tracing::info!(input = %wiring.what, "the source has no audio");
            wiring.store.end_audio(wiring.generation);
        }
    });
}

/// (queue, live) ─► videoconvert ─► videoscale ─► I420 caps ─► appsink, added to `pipeline` and
/// playing; returns the element to link into.
pub(super) fn video_branch(
    pipeline: &gst::Pipeline,
    wiring: &Wiring,
) -> Result<gst::Element, MediaError> {
    // Live: never leaky: live file sources are paced by the synced appsink pushing back, and
    // the store's callbacks never block live, so network streams cannot build latency here.
    // A thread boundary, not a buffer: decodebin's multiqueue holds the coded stream ahead of
    // the decoder and the store the decoded frames readers need; at the default 10 MB this
    // queue held 7 more decoded 720p frames per input (a third of an input's memory).
    let queue = live_queue(wiring)?;
    if let Some(queue) = &queue {
        queue.set_property("max-size-buffers", 2u32);
        queue.set_property("max-size-bytes", 0u32);
        queue.set_property("max-size-time", 0u64);
    }
    let convert = make("videoconvert", wiring)?;
    let scale = make("videoscale", wiring)?;
    // Keeps the source's size (the compositor scales) but bounds the CPU a 4K input costs.
    let caps = capsfilter(
        gst_video::VideoCapsBuilder::new()
            .format(gst_video::VideoFormat::I420)
            .width_range(16..=1920)
            .height_range(16..=1920)
            .pixel_aspect_ratio(gst::Fraction::new(1, 1))
            .build(),
        wiring,
    )?;
    let sink = gst_app::AppSink::builder()
        .sync(wiring.sync)
        .max_buffers(2)
        .build();
    let store = wiring.store.clone();
    let generation = wiring.generation;
    let what = wiring.what.clone();
    let eos_store = wiring.store.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let frame = match video_frame(&sample) {
                    Ok(f) => f,
                    Err(message) => {
                        tracing::warn!(input = %what, %message, "dropping an unreadable frame");
                        return Ok(gst::FlowSuccess::Ok);
                    }
                };
                store
                    .push_video(generation, frame)
                    .map_err(|_| gst::FlowError::Flushing)?;
                Ok(gst::FlowSuccess::Ok)
            })
            .eos(move |_| eos_store.end_video(generation))
            .build(),
    );
    let sink = sink.upcast::<gst::Element>();
    add_branch(pipeline, queue, &[&convert, &scale, &caps, &sink], wiring)
}

/// Live, a queue to start a branch: its own streaming thread, so that a sink synced to the
/// clock never holds up the decoder. Offline none (see the module doc).
fn live_queue(wiring: &Wiring) -> Result<Option<gst::Element>, MediaError> {
    (!wiring.offline).then(|| make("queue", wiring)).transpose()
}

/// (queue, live) ─► audioconvert ─► audioresample ─► F32LE stereo 48 kHz ─► appsink.
pub(super) fn audio_branch(
    pipeline: &gst::Pipeline,
    wiring: &Wiring,
) -> Result<gst::Element, MediaError> {
    let queue = live_queue(wiring)?;
    let convert = make("audioconvert", wiring)?;
    let resample = make("audioresample", wiring)?;
    let caps = capsfilter(
        gstreamer_audio::AudioCapsBuilder::new_interleaved()
            .format(gstreamer_audio::AUDIO_FORMAT_F32)
            .rate(RATE as i32)
            .channels(CHANNELS as i32)
            .build(),
        wiring,
    )?;
    let sink = gst_app::AppSink::builder()
        .sync(wiring.sync)
        .max_buffers(4)
        .build();
    let store = wiring.store.clone();
    let eos_store = wiring.store.clone();
    let generation = wiring.generation;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(buffer) = sample.buffer() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let pts = running_time(&sample, buffer);
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let samples: Vec<f32> = map
                    .as_slice()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                store
                    .push_audio(generation, pts, &samples)
                    .map_err(|_| gst::FlowError::Flushing)?;
                Ok(gst::FlowSuccess::Ok)
            })
            .eos(move |_| eos_store.end_audio(generation))
            .build(),
    );
    let sink = sink.upcast::<gst::Element>();
    add_branch(
        pipeline,
        queue,
        &[&convert, &resample, &caps, &sink],
        wiring,
    )
}

/// Adds `queue` (if any) and `rest` to `pipeline`, linked in that order and brought to its
/// state; returns the first of them, the one to link into.
fn add_branch(
    pipeline: &gst::Pipeline,
    queue: Option<gst::Element>,
    rest: &[&gst::Element],
    wiring: &Wiring,
) -> Result<gst::Element, MediaError> {
    let elements: Vec<&gst::Element> = queue.iter().chain(rest.iter().copied()).collect();
    pipeline
        .add_many(&elements)
        .map_err(|e| build_err(wiring, e))?;
    gst::Element::link_many(&elements).map_err(|e| build_err(wiring, e))?;
    // Added to a running pipeline from pad-added: bring them to its state.
    for e in elements.iter().rev() {
        e.sync_state_with_parent()
            .map_err(|e| build_err(wiring, e))?;
    }
    let head = elements
        .first()
        .ok_or_else(|| build_err(wiring, gst::glib::bool_error!("a branch without elements")))?;
    Ok((*head).clone())
}

/// The buffer's position on the input's timeline (running time: 0 when the pipeline started).
fn running_time(sample: &gst::Sample, buffer: &gst::BufferRef) -> Option<Duration> {
    let pts = buffer.pts()?;
    let segment = sample.segment()?.downcast_ref::<gst::format::Time>()?;
    let rt = segment.to_running_time(pts)?;
    Some(Duration::from_nanos(rt.nseconds()))
}

fn video_frame(sample: &gst::Sample) -> Result<VideoFrame, String> {
    let buffer = sample.buffer_owned().ok_or("sample without buffer")?;
    let pts = running_time(sample, &buffer).unwrap_or_default();
    VideoFrame::from_sample(sample, pts, buffer)
}

/// Routes bus errors and EOS to the supervisor (live) or straight to the store (offline).
fn watch_bus(pipeline: &gst::Pipeline, wiring: &Wiring) {
    let Some(bus) = pipeline.bus() else { return };
    let wiring = wiring.clone();
    let weak = pipeline.downgrade();
    bus.set_sync_handler(move |_, msg| {
        let event = match msg.view() {
            gst::MessageView::AsyncDone(_) => {
                if let Some(p) = weak.upgrade()
                    && msg.src() == Some(p.upcast_ref())
                    && wiring.sync
                {
                    p.call_async(|p| {
                        let _ = p.set_state(gst::State::Playing);
                    });
                }
                None
            }
            gst::MessageView::Error(e) => {
                let message = super::uri::scrub(&format_error(e), &wiring.uri);
                tracing::warn!(input = %wiring.what, generation = wiring.generation, cause = %message, "input failed");
                Some(Event::Failed(message))
            }
            gst::MessageView::Eos(_) => Some(Event::Eos),
            _ => None,
        };
        if let Some(event) = event {
            if wiring.offline || matches!(event, Event::Failed(_)) {
                // Nothing more will come from this pipeline: readers must not wait for it.
                wiring.store.end_video(wiring.generation);
                wiring.store.end_audio(wiring.generation);
            }
            wiring
                .events
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((wiring.generation, event));
        }
        // Handled here; nobody pops this bus, so nothing may pile up on it.
        gst::BusSyncReply::Drop
    });
}

pub(super) fn make(factory: &str, wiring: &Wiring) -> Result<gst::Element, MediaError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|source| MediaError::MissingElement {
            what: wiring.what.clone(),
            factory: factory.to_string(),
            source,
        })
}

fn capsfilter(caps: gst::Caps, wiring: &Wiring) -> Result<gst::Element, MediaError> {
    let f = make("capsfilter", wiring)?;
    f.set_property("caps", caps);
    Ok(f)
}

/// Adding, linking or describing an element of this input failed.
pub(super) fn build_err(
    wiring: &Wiring,
    e: impl std::error::Error + Send + Sync + 'static,
) -> MediaError {
    MediaError::Wiring {
        what: wiring.what.clone(),
        source: Box::new(e),
    }
}
