//! Outputs: each one its own small pipeline fed with the encoder's H.264 and AAC buffers, so one
//! failing, being added or being removed never disturbs the others.
//!
//! ```text
//!                      ┌─► Slot "mp4" ─► appsrc h264 + appsrc aac ─► mp4mux ─► filesink   (mp4.rs)
//! Encoder appsinks ─► Fanout ─► Slot "hls" ─► appsrc h264 + appsrc aac ─► hlssink2           (hls.rs)
//!   (h264, aac)        └─► Slot "rtmp" ─► appsrc h264 + appsrc aac ─► flvmux ─► rtmp2sink (rtmp.rs)
//! ```
//!
//! A [`Slot`] is where the fan-out meets one output: it holds the output's current appsrcs, the
//! keyframe gate (an output starts, and an RTMP output restarts, at a keyframe) and the timestamp
//! offset that makes an output added mid-recording start near 0. A supervisor thread per output
//! reads that output's bus, the single error channel: files fail the output, RTMP rebuilds its
//! pipeline with backoff. Nothing an output does reaches the encoder or the other outputs, except
//! that file outputs block (back-pressure) rather than lose data.

mod hls;
mod mp4;
mod rtmp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use vcs_job::control::{OutputKind, OutputState};

use crate::MediaError;
use crate::gst_util::{bus_error, format_error};

pub use mp4::part_path;
pub use rtmp::redact_url;

/// One output of a recording.
#[derive(Clone, Debug)]
pub struct OutputTarget {
    /// Unique within a recording; names the output in status, events, errors and logs.
    pub name: String,
    pub kind: OutputTargetKind,
}

/// Where an output goes.
#[derive(Clone)]
pub enum OutputTargetKind {
    /// Fragmented MP4 at `path`, written as `<path>.part` and renamed when finalised.
    Mp4 { path: PathBuf },
    /// MPEG-TS segments `segment00000.ts`, … and `playlist.m3u8` in `dir`. Segments close at
    /// the first keyframe after `segment_secs` (keyframes come every 2 s). The playlist keeps
    /// every segment and ends with `#EXT-X-ENDLIST` once finished.
    Hls { dir: PathBuf, segment_secs: f64 },
    /// FLV over RTMP(S). The URL holds the stream key: it is never logged or reported.
    Rtmp { url: String },
}

impl std::fmt::Debug for OutputTargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Mp4 { path } => f.debug_struct("Mp4").field("path", path).finish(),
            Self::Hls { dir, segment_secs } => f
                .debug_struct("Hls")
                .field("dir", dir)
                .field("segment_secs", segment_secs)
                .finish(),
            Self::Rtmp { url } => f
                .debug_struct("Rtmp")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

impl OutputTargetKind {
    pub fn kind(&self) -> OutputKind {
        match self {
            Self::Mp4 { .. } => OutputKind::Mp4,
            Self::Hls { .. } => OutputKind::Hls,
            Self::Rtmp { .. } => OutputKind::Rtmp,
        }
    }
}

/// Live progress of one output ([`crate::Encoder::status`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputProgress {
    pub name: String,
    pub kind: OutputKind,
    pub state: OutputState,
    /// Bytes the muxer wrote (MP4, HLS) or handed to the RTMP connection.
    pub bytes: u64,
    /// Media written to this output (since it started, for outputs added mid-recording).
    pub duration: Duration,
    /// RTMP: connections lost or refused and retried.
    pub reconnects: u32,
    pub last_error: Option<String>,
}

/// What an output left behind once finalised ([`crate::Encoder::finish`],
/// [`crate::Encoder::remove_output`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSummary {
    pub name: String,
    pub kind: OutputKind,
    /// `Done`, or `Failed` (then `last_error` says why; what was written is kept).
    pub state: OutputState,
    /// MP4: the finished file (or the `.part` if it failed). HLS: segments, then the playlist.
    /// RTMP: none.
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub duration: Duration,
    pub reconnects: u32,
    pub last_error: Option<String>,
}

/// What the outputs tell the uploader. Paths are local files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputEvent {
    /// An MP4 output started writing `path` (the `.part`), which grows until `Finished`.
    FileGrowing { output: String, path: PathBuf },
    /// An HLS segment is complete and will not change again.
    FileClosed { output: String, path: PathBuf },
    /// The HLS playlist was rewritten (after each segment, and with `#EXT-X-ENDLIST` at the end).
    FileRewritten { output: String, path: PathBuf },
    /// The output is finalised; `files` are final (MP4: renamed from `.part`).
    Finished { output: String, files: Vec<PathBuf> },
}

/// Asks the encoder for a keyframe (an output (re)starting waits for one).
pub(crate) type KeyframeRequest = Arc<dyn Fn() + Send + Sync>;

/// How long an RTMP output may queue before it drops to the next keyframe rather than hold up
/// the encoder: about 16 s at 4 Mbit/s.
const LOSSY_QUEUE_BYTES: u64 = 8 << 20;
/// File outputs block the encoder when this much is queued (never, unless the disk stalls).
const BLOCKING_QUEUE_BYTES: u64 = 64 << 20;
/// Audio kept while an output waits for its first keyframe: about 5 s of AAC frames.
const MAX_PENDING_AUDIO: usize = 256;
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Finalising flushes queued buffers and writes indexes; a muxer taking longer is stuck.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);

/// The encoder's side of the outputs: every encoded buffer goes to every slot.
#[derive(Default)]
pub(crate) struct Fanout {
    slots: Mutex<Vec<Arc<Slot>>>,
}

impl Fanout {
    pub(crate) fn video(&self, sample: &gst::Sample) {
        self.push(Stream::Video, sample);
    }

    pub(crate) fn audio(&self, sample: &gst::Sample) {
        self.push(Stream::Audio, sample);
    }

    fn push(&self, stream: Stream, sample: &gst::Sample) {
        let Some(buffer) = running_time(sample) else {
            return;
        };
        let caps = sample.caps_owned();
        for slot in self.snapshot() {
            slot.push(stream, &buffer, caps.as_ref());
        }
    }

    /// Pushing happens outside the lock: a file output blocking on its queue must not stop the
    /// other stream reaching the muxer it waits for.
    fn snapshot(&self) -> Vec<Arc<Slot>> {
        lock(&self.slots).clone()
    }

    fn add(&self, slot: Arc<Slot>) {
        lock(&self.slots).push(slot);
    }

    fn remove(&self, slot: &Arc<Slot>) {
        lock(&self.slots).retain(|s| !Arc::ptr_eq(s, slot));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Video,
    Audio,
}

/// Where the fan-out meets one output.
pub(crate) struct Slot {
    name: String,
    /// Drop to the next keyframe instead of blocking when the output falls behind (RTMP).
    lossy: bool,
    keyframe: KeyframeRequest,
    feed: Mutex<Feed>,
    progress: Mutex<OutputProgress>,
    bytes: AtomicU64,
}

#[derive(Default)]
struct Feed {
    /// The current pipeline's (video, audio) appsrcs; `None` while (re)connecting or closed.
    srcs: Option<(gst_app::AppSrc, gst_app::AppSrc)>,
    /// Waiting for a keyframe before passing anything on.
    gated: bool,
    /// Encoder time that is 0 in this pipeline (set by its first keyframe).
    offset: Option<gst::ClockTime>,
    video_caps: bool,
    audio_caps: bool,
    /// Media carried by earlier pipelines of this output (RTMP reconnects).
    base: Duration,
    /// Audio that arrived before the first keyframe, with its caps.
    pending_audio: Vec<(gst::Buffer, Option<gst::Caps>)>,
}

impl Slot {
    /// `buffer` is timestamped in running time.
    fn push(&self, stream: Stream, buffer: &gst::Buffer, caps: Option<&gst::Caps>) {
        let Some(pts) = buffer.pts() else {
            return;
        };
        let mut feed = lock(&self.feed);
        let Some((video, audio)) = feed.srcs.clone() else {
            return;
        };
        if stream == Stream::Video
            && self.lossy
            && !feed.gated
            && video.current_level_bytes() > LOSSY_QUEUE_BYTES
        {
            tracing::warn!(output = %self.name, queued = video.current_level_bytes(),
                "output is falling behind; dropping to the next keyframe");
            feed.gated = true;
            (self.keyframe)();
        }
        if feed.gated {
            let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
            match stream {
                Stream::Audio => {
                    // Audio encodes faster than video: what arrives before the first keyframe
                    // may still belong after it, so keep it until the offset is known.
                    if feed.offset.is_none() {
                        feed.pending_audio.push((buffer.clone(), caps.cloned()));
                        let excess = feed.pending_audio.len().saturating_sub(MAX_PENDING_AUDIO);
                        feed.pending_audio.drain(..excess);
                    }
                    return;
                }
                Stream::Video if !keyframe => return,
                Stream::Video => {
                    feed.gated = false;
                    let offset = *feed.offset.get_or_insert(pts);
                    // Under the lock, so the audio thread cannot overtake these.
                    for (pending, caps) in std::mem::take(&mut feed.pending_audio) {
                        if pending.pts().is_some_and(|p| p >= offset) {
                            self.send(
                                &mut feed,
                                Stream::Audio,
                                &audio,
                                &pending,
                                caps.as_ref(),
                                offset,
                            );
                        }
                    }
                }
            }
        }
        let Some(offset) = feed.offset else {
            return;
        };
        if pts < offset {
            // Audio from before the keyframe this output starts at.
            return;
        }
        let src = if stream == Stream::Video {
            video
        } else {
            audio
        };
        let out = self.prepare(&mut feed, stream, &src, buffer, caps, offset);
        // Pushing happens outside the lock: a file output blocking on its queue must not stop
        // the other stream reaching the muxer it waits for.
        drop(feed);
        self.push_to(&src, stream, out);
    }

    fn send(
        &self,
        feed: &mut Feed,
        stream: Stream,
        src: &gst_app::AppSrc,
        buffer: &gst::Buffer,
        caps: Option<&gst::Caps>,
        offset: gst::ClockTime,
    ) {
        let out = self.prepare(feed, stream, src, buffer, caps, offset);
        self.push_to(src, stream, out);
    }

    /// Sets caps on first use and moves the buffer to this output's timeline.
    fn prepare(
        &self,
        feed: &mut Feed,
        stream: Stream,
        src: &gst_app::AppSrc,
        buffer: &gst::Buffer,
        caps: Option<&gst::Caps>,
        offset: gst::ClockTime,
    ) -> gst::Buffer {
        let caps_set = match stream {
            Stream::Video => &mut feed.video_caps,
            Stream::Audio => &mut feed.audio_caps,
        };
        if !*caps_set {
            src.set_caps(caps);
            *caps_set = true;
        }
        let pts = buffer.pts().unwrap_or(offset).saturating_sub(offset);
        let mut out = buffer.copy();
        {
            let out = out.get_mut().expect("a fresh copy is writable");
            out.set_pts(pts);
            out.set_dts(buffer.dts().map(|dts| dts.saturating_sub(offset)));
        }
        if stream == Stream::Video {
            let end = pts + buffer.duration().unwrap_or(gst::ClockTime::ZERO);
            let mut progress = lock(&self.progress);
            progress.duration = feed.base + Duration::from_nanos(end.nseconds());
        }
        out
    }

    fn push_to(&self, src: &gst_app::AppSrc, stream: Stream, buffer: gst::Buffer) {
        if let Err(err) = src.push_buffer(buffer) {
            // The pipeline is being torn down (EOS, error, reconnect): its bus says why.
            tracing::debug!(output = %self.name, ?err, ?stream, "output refused a buffer");
        }
    }

    fn attach(&self, video: gst_app::AppSrc, audio: gst_app::AppSrc) {
        let base = lock(&self.progress).duration;
        *lock(&self.feed) = Feed {
            srcs: Some((video, audio)),
            base,
            gated: true,
            ..Feed::default()
        };
    }

    fn detach(&self) -> Option<(gst_app::AppSrc, gst_app::AppSrc)> {
        lock(&self.feed).srcs.take()
    }

    /// Stops feeding and lets the muxer finish what it has.
    fn end_of_stream(&self) {
        if let Some((video, audio)) = self.detach() {
            let _ = video.end_of_stream();
            let _ = audio.end_of_stream();
        }
    }

    fn update(&self, f: impl FnOnce(&mut OutputProgress)) {
        f(&mut lock(&self.progress));
    }

    pub(crate) fn progress(&self) -> OutputProgress {
        let mut progress = lock(&self.progress).clone();
        progress.bytes = self.bytes.load(Ordering::Relaxed);
        progress
    }
}

/// A built, not yet playing, output pipeline.
pub(crate) struct Built {
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    /// Bytes through this pad count as written/sent.
    counted: Option<gst::Pad>,
}

/// What differs between output kinds.
pub(crate) trait Muxer: Send {
    /// A fresh pipeline (called again for each RTMP reconnect).
    fn build(&mut self) -> Result<Built, MediaError>;
    /// Called once the first pipeline plays.
    fn started(&mut self, _out: &Reporter) {}
    /// Element messages from the pipeline (HLS segments).
    fn on_element(&mut self, _s: &gst::StructureRef, _out: &Reporter) {}
    /// After EOS and `Null`: move files into place; returns them.
    fn finalise(&mut self, out: &Reporter) -> Result<Vec<PathBuf>, String>;
    /// What is on disk so far (kept when the output fails).
    fn files(&self) -> Vec<PathBuf>;
    /// Errors are retried with backoff (RTMP) rather than failing the output.
    fn reconnects(&self) -> bool {
        false
    }
    /// How long EOS may take to get through (files: flush and index; RTMP: a live connection
    /// either drains quickly or is gone).
    fn finish_timeout(&self) -> Duration {
        FINISH_TIMEOUT
    }
    /// Removes secrets (stream keys) from error text.
    fn scrub(&self, message: String) -> String {
        message
    }
}

/// How a muxer reports to status and events.
pub(crate) struct Reporter {
    slot: Arc<Slot>,
    events: async_channel::Sender<OutputEvent>,
}

impl Reporter {
    fn name(&self) -> &str {
        &self.slot.name
    }

    fn emit(&self, event: OutputEvent) {
        // Nobody listening is fine: events are advisory.
        let _ = self.events.try_send(event);
    }

    fn add_bytes(&self, n: u64) {
        self.slot.bytes.fetch_add(n, Ordering::Relaxed);
    }

    fn set_state(&self, state: OutputState) {
        self.slot.update(|p| p.state = state);
    }

    fn summary(&self, state: OutputState, files: Vec<PathBuf>) -> OutputSummary {
        self.set_state(state);
        let p = self.slot.progress();
        let file_bytes: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        OutputSummary {
            name: p.name,
            kind: p.kind,
            state,
            bytes: if files.is_empty() {
                p.bytes
            } else {
                file_bytes
            },
            files,
            duration: p.duration,
            reconnects: p.reconnects,
            last_error: p.last_error,
        }
    }
}

/// Owns one output pipeline while it runs; `Null` on drop.
struct Live {
    pipeline: gst::Pipeline,
    bus: gst::Bus,
}

impl Live {
    fn start(built: Built, out: &Reporter, what: &str) -> Result<Live, MediaError> {
        let Built {
            pipeline,
            video,
            audio,
            counted,
        } = built;
        let lossy = out.slot.lossy;
        for src in [&video, &audio] {
            src.set_format(gst::Format::Time);
            src.set_block(!lossy);
            src.set_max_bytes(if lossy {
                2 * LOSSY_QUEUE_BYTES
            } else {
                BLOCKING_QUEUE_BYTES
            });
        }
        if let Some(pad) = counted {
            let slot = Arc::downgrade(&out.slot);
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let (Some(slot), Some(buffer)) = (slot.upgrade(), info.buffer()) {
                    slot.bytes
                        .fetch_add(buffer.size() as u64, Ordering::Relaxed);
                }
                gst::PadProbeReturn::Ok
            });
        }
        let bus = pipeline.bus().expect("pipelines have a bus");
        let live = Live { pipeline, bus };
        live.pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| MediaError::State {
                what: what.to_string(),
                message: format!("{e}: {}", bus_error(&live.pipeline).unwrap_or_default()),
            })?;
        out.slot.attach(video, audio);
        Ok(live)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// A running output: its slot in the fan-out and its supervisor thread.
pub(crate) struct OutputHandle {
    pub(crate) slot: Arc<Slot>,
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<OutputSummary>>,
}

impl OutputHandle {
    /// Builds and starts the output (errors here are the caller's: bad path, missing element),
    /// adds it to the fan-out and asks the encoder for a keyframe to start at.
    pub(crate) fn start(
        target: OutputTarget,
        fanout: &Arc<Fanout>,
        events: async_channel::Sender<OutputEvent>,
        keyframe: KeyframeRequest,
    ) -> Result<OutputHandle, MediaError> {
        let name = target.name.clone();
        let kind = target.kind.kind();
        let mut muxer: Box<dyn Muxer> = match target.kind {
            OutputTargetKind::Mp4 { path } => Box::new(mp4::Mp4::new(&name, path)?),
            OutputTargetKind::Hls { dir, segment_secs } => {
                Box::new(hls::Hls::new(&name, dir, segment_secs)?)
            }
            OutputTargetKind::Rtmp { url } => Box::new(rtmp::Rtmp::new(&name, url)?),
        };
        let slot = Arc::new(Slot {
            name: name.clone(),
            lossy: kind == OutputKind::Rtmp,
            keyframe: keyframe.clone(),
            feed: Mutex::default(),
            progress: Mutex::new(OutputProgress {
                name: name.clone(),
                kind,
                state: OutputState::Starting,
                bytes: 0,
                duration: Duration::ZERO,
                reconnects: 0,
                last_error: None,
            }),
            bytes: AtomicU64::new(0),
        });
        let out = Reporter {
            slot: slot.clone(),
            events,
        };
        let what = format!("output {name}");
        let live = Live::start(muxer.build()?, &out, &what)?;
        muxer.started(&out);
        if kind != OutputKind::Rtmp {
            // Files are active from the first buffer; RTMP once bytes reach the server.
            out.set_state(OutputState::Active);
        }
        fanout.add(slot.clone());
        keyframe();
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("output-{name}"))
            .spawn(move || supervise(muxer, live, out, stopped, keyframe))
            .map_err(|e| MediaError::Build {
                what,
                message: format!("cannot start its supervisor thread: {e}"),
            })?;
        tracing::info!(output = %name, ?kind, "output started");
        Ok(OutputHandle {
            slot,
            stop,
            thread: Some(thread),
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.slot.name
    }

    /// Starts finalising without waiting (so several outputs finalise at once).
    pub(crate) fn request_finish(&self) {
        let _ = self.stop.send(());
    }

    /// Finalises the output and waits for it.
    pub(crate) fn finish(mut self, fanout: &Fanout) -> OutputSummary {
        fanout.remove(&self.slot);
        self.request_finish();
        let thread = self.thread.take().expect("joined once");
        thread.join().unwrap_or_else(|_| {
            let mut p = self.slot.progress();
            p.state = OutputState::Failed;
            OutputSummary {
                name: p.name,
                kind: p.kind,
                state: p.state,
                files: Vec::new(),
                bytes: p.bytes,
                duration: p.duration,
                reconnects: p.reconnects,
                last_error: Some("its supervisor thread panicked".into()),
            }
        })
    }
}

/// Runs one output until it is finished or fails: the bus is read here, and only here.
fn supervise(
    mut muxer: Box<dyn Muxer>,
    live: Live,
    out: Reporter,
    stop: mpsc::Receiver<()>,
    keyframe: KeyframeRequest,
) -> OutputSummary {
    let what = format!("output {}", out.name());
    let mut live = Some(live);
    let mut backoff = BACKOFF_START;
    let mut finishing: Option<Instant> = None;
    // Bytes counted when the current pipeline started; more means it reached its destination.
    let mut bytes_mark = 0;
    loop {
        let Some(pipeline) = live.as_ref() else {
            // Reconnecting: wait out the backoff unless told to stop.
            match stop.recv_timeout(backoff) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                    tracing::info!(output = %out.name(), "output stopped while reconnecting");
                    return out.summary(OutputState::Done, muxer.files());
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            bytes_mark = out.slot.bytes.load(Ordering::Relaxed);
            match muxer.build().and_then(|b| Live::start(b, &out, &what)) {
                Ok(l) => {
                    out.set_state(OutputState::Starting);
                    tracing::info!(output = %out.name(), "output pipeline rebuilt; waiting for a keyframe");
                    live = Some(l);
                    keyframe();
                }
                Err(e) => {
                    let message = muxer.scrub(e.to_string());
                    tracing::warn!(output = %out.name(), error = %message, retry_in = ?backoff, "output could not restart");
                    out.slot.update(|p| {
                        p.reconnects += 1;
                        p.last_error = Some(message);
                    });
                }
            }
            continue;
        };
        if finishing.is_none() && !matches!(stop.try_recv(), Err(TryRecvError::Empty)) {
            out.set_state(OutputState::Finalising);
            out.slot.end_of_stream();
            finishing = Some(Instant::now() + muxer.finish_timeout());
        }
        if finishing.is_some_and(|deadline| Instant::now() > deadline) {
            drop(live.take());
            return fail(
                &out,
                &*muxer,
                "timed out waiting for the muxer to finalise".into(),
            );
        }
        let state = out.slot.progress().state;
        if state == OutputState::Starting && out.slot.bytes.load(Ordering::Relaxed) > bytes_mark {
            out.set_state(OutputState::Active);
            backoff = BACKOFF_START;
            tracing::info!(output = %out.name(), "output connected");
        }
        let Some(msg) = pipeline.bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) if finishing.is_some() => {
                drop(live.take());
                return match muxer.finalise(&out) {
                    Ok(files) => {
                        out.emit(OutputEvent::Finished {
                            output: out.name().to_string(),
                            files: files.clone(),
                        });
                        tracing::info!(output = %out.name(), files = files.len(), "output finalised");
                        out.summary(OutputState::Done, files)
                    }
                    Err(message) => fail(&out, &*muxer, message),
                };
            }
            gst::MessageView::Eos(_) | gst::MessageView::Error(_) => {
                let message = match msg.view() {
                    gst::MessageView::Error(e) => muxer.scrub(format_error(e)),
                    _ => "the pipeline ended unexpectedly".to_string(),
                };
                out.slot.detach();
                drop(live.take());
                if !muxer.reconnects() || finishing.is_some() {
                    return fail(&out, &*muxer, message);
                }
                tracing::warn!(output = %out.name(), error = %message, retry_in = ?backoff, "output lost its destination; reconnecting");
                out.slot.update(|p| {
                    p.state = OutputState::Reconnecting;
                    p.reconnects += 1;
                    p.last_error = Some(message);
                });
            }
            gst::MessageView::Element(_) => {
                if let Some(s) = msg.structure() {
                    muxer.on_element(s, &out);
                }
            }
            _ => {}
        }
    }
}

fn fail(out: &Reporter, muxer: &dyn Muxer, message: String) -> OutputSummary {
    tracing::error!(output = %out.name(), error = %message, "output failed; what it wrote is kept");
    out.slot.update(|p| p.last_error = Some(message));
    out.slot.detach();
    out.summary(OutputState::Failed, muxer.files())
}

/// The sample's buffer with PTS/DTS in running time: x264enc shifts its output 1000 h ahead
/// (room for negative DTS) and says so in the segment, so raw timestamps are not comparable.
fn running_time(sample: &gst::Sample) -> Option<gst::Buffer> {
    let buffer = sample.buffer()?;
    let segment = sample.segment();
    let segment = segment
        .as_ref()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>());
    let to_rt = |t: Option<gst::ClockTime>| {
        t.and_then(|t| match segment {
            Some(seg) => seg.to_running_time(t),
            None => Some(t),
        })
    };
    let mut out = buffer.copy();
    {
        let out = out.get_mut().expect("a fresh copy is writable");
        out.set_pts(to_rt(buffer.pts())?);
        out.set_dts(to_rt(buffer.dts()));
    }
    Some(out)
}

/// Poisoning only means another thread panicked mid-update of plain data; carry on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Looks up an appsrc built by a launch description.
pub(crate) fn appsrc(pipeline: &gst::Pipeline, name: &str) -> Result<gst_app::AppSrc, MediaError> {
    crate::gst_util::by_name(pipeline, name)?
        .downcast::<gst_app::AppSrc>()
        .map_err(|_| MediaError::Build {
            what: name.to_string(),
            message: "is not an appsrc".into(),
        })
}
