//! Running one output: its pipeline ([`Live`], `Null` on drop), the [`Muxer`] trait that says
//! what differs between kinds, and the supervisor thread that reads the bus (the single error
//! channel) and does what `reconnect::Link` decides: file outputs fail, RTMP rebuilds with
//! backoff 0.5 s doubling to 10 s.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use vcs_job::control::{OutputKind, OutputState, error_chain};

use super::fanout::{Fanout, LOSSY_QUEUE_BYTES, Slot};
use super::reconnect::{Link, Policy, Seen};
use super::{
    KeyframeRequest, OutputEvent, OutputSummary, OutputTarget, OutputTargetKind, hls, mp4, rtmp,
};
use crate::MediaError;
use crate::gst_util::{format_error, play};

/// File outputs block the encoder when this much is queued (never, unless the disk stalls).
const BLOCKING_QUEUE_BYTES: u64 = 64 << 20;
/// Finalising flushes queued buffers and writes indexes; a muxer taking longer is stuck.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);

/// A built, not yet playing, output pipeline.
pub(crate) struct Built {
    pub(super) pipeline: gst::Pipeline,
    pub(super) video: gst_app::AppSrc,
    pub(super) audio: gst_app::AppSrc,
    /// Bytes through this pad count as written.
    pub(super) counted: Option<gst::Pad>,
    /// An element whose `stats` say how many bytes went out (rtmp2sink's `out-bytes-total`):
    /// what reached the socket, not what was handed to the sink.
    pub(super) sent: Option<gst::Element>,
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

    pub(super) fn emit(&self, event: OutputEvent) {
        // Nobody listening is fine: events are advisory.
        let _ = self.events.try_send(event);
    }

    pub(super) fn add_bytes(&self, n: u64) {
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
    sent: Option<gst::Element>,
}

impl Live {
    /// Bytes this pipeline sent, when its sink reports them.
    fn sent_bytes(&self) -> Option<u64> {
        let stats = self.sent.as_ref()?.property::<gst::Structure>("stats");
        stats.get::<u64>("out-bytes-total").ok()
    }
}

impl Live {
    fn start(built: Built, out: &Reporter, what: &str) -> Result<Live, MediaError> {
        let Built {
            pipeline,
            video,
            audio,
            counted,
            sent,
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
        let live = Live {
            pipeline,
            bus,
            sent,
        };
        play(&live.pipeline, what)?;
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
            OutputTargetKind::Hls {
                dir,
                segment_secs,
                continues,
            } => Box::new(hls::Hls::new(&name, dir, segment_secs, continues)?),
            OutputTargetKind::Rtmp { url } => Box::new(rtmp::Rtmp::new(&name, url)?),
        };
        let slot = Arc::new(Slot::new(
            &name,
            kind,
            kind == OutputKind::Rtmp,
            keyframe.clone(),
            fanout,
        ));
        let out = Reporter {
            slot: slot.clone(),
            events,
        };
        let what = format!("output {name}");
        // In the fan-out before attaching, so no audio falls between the history the slot
        // starts from and what it is sent live.
        fanout.add(slot.clone());
        let live = match muxer.build().and_then(|b| Live::start(b, &out, &what)) {
            Ok(live) => live,
            Err(e) => {
                fanout.remove(&slot);
                return Err(scrub_error(&*muxer, e));
            }
        };
        muxer.started(&out);
        if kind != OutputKind::Rtmp {
            // Files are active from the first buffer; RTMP once bytes reach the server.
            out.set_state(OutputState::Active);
        }

        keyframe();
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("output-{name}"))
            .spawn(move || supervise(muxer, live, out, stopped, keyframe))
            .map_err(|source| MediaError::Thread { what, source })?;
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

/// Runs one output until it is finished or fails: the bus is read here, and only here. Each turn
/// either waits out a reconnect (no pipeline) or looks at the running pipeline once: a stop
/// request, the finish deadline, bytes flowing, and one bus message.
fn supervise(
    muxer: Box<dyn Muxer>,
    live: Live,
    out: Reporter,
    stop: mpsc::Receiver<()>,
    keyframe: KeyframeRequest,
) -> OutputSummary {
    let link = Link::new(Policy::default(), muxer.reconnects(), Instant::now());
    let mut run = Running {
        what: format!("output {}", out.name()),
        muxer,
        live: Some(live),
        out,
        keyframe,
        link,
        finishing: None,
    };
    loop {
        let turn = if run.live.is_some() {
            run.watch(&stop)
        } else {
            run.reconnect(&stop)
        };
        if let Some(summary) = turn {
            return summary;
        }
    }
}

/// The supervisor thread's state.
struct Running {
    what: String,
    muxer: Box<dyn Muxer>,
    /// `None` while waiting to reconnect.
    live: Option<Live>,
    out: Reporter,
    keyframe: KeyframeRequest,
    link: Link,
    /// When finalising must be done by, once it was asked for.
    finishing: Option<Instant>,
}

impl Running {
    /// No pipeline: waits out the backoff unless told to stop, then builds the next one.
    fn reconnect(&mut self, stop: &mpsc::Receiver<()>) -> Option<OutputSummary> {
        let wait = self.link.retry_at().map_or(Duration::ZERO, |at| {
            at.saturating_duration_since(Instant::now())
        });
        match stop.recv_timeout(wait) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                tracing::info!(output = %self.out.name(), "output stopped while reconnecting");
                return Some(self.out.summary(OutputState::Done, self.muxer.files()));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        let bytes = self.out.slot.bytes.load(Ordering::Relaxed);
        match self
            .muxer
            .build()
            .and_then(|b| Live::start(b, &self.out, &self.what))
        {
            Ok(live) => {
                self.out.set_state(OutputState::Starting);
                self.link.rebuilt(Instant::now(), bytes);
                tracing::info!(output = %self.out.name(), "output pipeline rebuilt; waiting for a keyframe");
                self.live = Some(live);
                (self.keyframe)();
            }
            Err(e) => {
                let message = self.muxer.scrub(error_chain(&e));
                let retry_in = self.link.rebuild_failed(Instant::now());
                tracing::warn!(output = %self.out.name(), error = %message, ?retry_in, "output could not restart");
                self.out.slot.update(|p| {
                    p.reconnects += 1;
                    p.last_error = Some(message);
                });
            }
        }
        None
    }

    /// One look at the running pipeline.
    fn watch(&mut self, stop: &mpsc::Receiver<()>) -> Option<OutputSummary> {
        if self.finishing.is_none() && !matches!(stop.try_recv(), Err(TryRecvError::Empty)) {
            self.out.set_state(OutputState::Finalising);
            self.out.slot.end_of_stream();
            self.finishing = Some(Instant::now() + self.muxer.finish_timeout());
        }
        if self
            .finishing
            .is_some_and(|deadline| Instant::now() > deadline)
        {
            drop(self.live.take());
            let message = "timed out waiting for the muxer to finalise".to_string();
            return Some(fail(&self.out, &*self.muxer, message));
        }
        if let Some(sent) = self.live.as_ref()?.sent_bytes() {
            let total = self.link.mark() + sent;
            self.out.slot.bytes.store(total, Ordering::Relaxed);
        }
        let bytes = self.out.slot.bytes.load(Ordering::Relaxed);
        let queued = self.out.slot.queued_bytes();
        let finishing = self.finishing.is_some();
        match self.link.observe(Instant::now(), bytes, queued, finishing) {
            Seen::Nothing => {}
            Seen::Connected => {
                self.out.set_state(OutputState::Active);
                tracing::info!(output = %self.out.name(), "output connected");
            }
            Seen::Stalled => {
                let secs = self.link.stall_after().as_secs();
                let message =
                    format!("nothing reached the server for {secs} s while data was waiting");
                return self.lost(message);
            }
        }
        let msg = self
            .live
            .as_ref()?
            .bus
            .timed_pop(gst::ClockTime::from_mseconds(100))?;
        match msg.view() {
            gst::MessageView::Eos(_) if finishing => Some(self.finalise()),
            gst::MessageView::Eos(_) => self.lost("the pipeline ended unexpectedly".into()),
            gst::MessageView::Error(e) => self.lost(self.muxer.scrub(format_error(e))),
            gst::MessageView::Element(_) => {
                if let Some(s) = msg.structure() {
                    self.muxer.on_element(s, &self.out);
                }
                None
            }
            _ => None,
        }
    }

    /// The pipeline failed: tears it down and either waits to reconnect or fails the output.
    fn lost(&mut self, message: String) -> Option<OutputSummary> {
        self.out.slot.detach();
        drop(self.live.take());
        let finishing = self.finishing.is_some();
        let Some(retry_in) = self.link.lost(Instant::now(), finishing) else {
            return Some(fail(&self.out, &*self.muxer, message));
        };
        tracing::warn!(output = %self.out.name(), error = %message, ?retry_in,
            "output lost its destination; reconnecting");
        self.out.slot.update(|p| {
            p.state = OutputState::Reconnecting;
            p.reconnects += 1;
            p.last_error = Some(message);
        });
        None
    }

    /// EOS got through after a stop: moves the files into place.
    fn finalise(&mut self) -> OutputSummary {
        drop(self.live.take());
        match self.muxer.finalise(&self.out) {
            Ok(files) => {
                self.out.emit(OutputEvent::Finished {
                    output: self.out.name().to_string(),
                    files: files.clone(),
                });
                tracing::info!(output = %self.out.name(), files = files.len(), "output finalised");
                self.out.summary(OutputState::Done, files)
            }
            Err(message) => fail(&self.out, &*self.muxer, message),
        }
    }
}

/// The same error with secrets (stream keys) removed from its text. Only the texts that come
/// from GStreamer's messages can quote the URL; the sources' own texts never see it (it is set
/// as a property, not in a launch line).
fn scrub_error(muxer: &dyn Muxer, e: MediaError) -> MediaError {
    match e {
        MediaError::Build { what, message } => MediaError::Build {
            what,
            message: muxer.scrub(message),
        },
        MediaError::StateChange {
            what,
            detail,
            source,
        } => MediaError::StateChange {
            what,
            detail: detail.map(|d| muxer.scrub(d)),
            source,
        },
        MediaError::Runtime { what, message } => MediaError::Runtime {
            what,
            message: muxer.scrub(message),
        },
        other => other,
    }
}

fn fail(out: &Reporter, muxer: &dyn Muxer, message: String) -> OutputSummary {
    tracing::error!(output = %out.name(), error = %message, "output failed; what it wrote is kept");
    out.slot.update(|p| p.last_error = Some(message));
    out.slot.detach();
    out.summary(OutputState::Failed, muxer.files())
}
