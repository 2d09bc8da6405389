//! The preview's frame loop: one thread that owns the composition's engine process and the
//! painter, applies the page's edits between frames, re-runs the composition when its files
//! change, and publishes each frame as JPEG. The HTTP side ([`super::server`]) only sends
//! [`Edit`]s and reads what this publishes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vcs_media::input::VideoFrame;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use vcs_engine::EngineError;
use vcs_scene::Scene;

use super::export::EventLog;
use super::frames::{Painter, start_engine, watched_roots};
use super::inputs::RealVideo;
use super::participants::{self, Participant, RealSizes};
use super::watch::Fingerprint;
use crate::engine_process::protocol::SourceMessage;
use crate::engine_process::{CompositionState, SupervisedEngine};

/// How often the composition's files are compared for hot reload.
const WATCH_EVERY: Duration = Duration::from_millis(200);
/// Standard-source messages kept for a reload (as a recording keeps for a restart).
const KEPT_MESSAGES: usize = crate::engine_process::protocol::REPLAYED_MESSAGES;

/// How the preview starts.
#[derive(Clone, Debug)]
pub struct Options {
    pub composition: String,
    pub assets: Option<PathBuf>,
    pub params: BTreeMap<String, Value>,
    pub participants: Vec<Participant>,
    /// The participants with real video (`--participant name=URI`), each also in
    /// `participants` under its id.
    pub real: Vec<vcs_job::Participant>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// A change the page makes (`POST /api/edit`, tagged by `type`).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Edit {
    /// Merges params by id.
    Params {
        params: BTreeMap<String, Value>,
    },
    /// Replaces the participants.
    Participants {
        participants: Vec<Participant>,
    },
    /// A standard-source message (`chatMessages`, `transcript`, `emojiReactions`).
    #[serde(rename_all = "camelCase")]
    Message {
        source_id: String,
        data: Value,
    },
    Play {
        playing: bool,
    },
    /// One frame forward (pauses).
    Step,
    /// Jump to a time in seconds.
    Seek {
        time: f64,
    },
}

/// What the page asks for and waits on.
pub enum Query {
    Scene(oneshot::Sender<Option<Scene>>),
    Snapshot(oneshot::Sender<Option<Vec<u8>>>),
    Export(oneshot::Sender<Value>),
}

enum Message {
    Edit(u64, Edit),
    Query(Query),
}

/// One published frame.
#[derive(Debug, Default)]
pub struct Frame {
    pub jpeg: Arc<Vec<u8>>,
    /// Frames published since the preview started.
    pub number: u64,
    /// Composition time, seconds.
    pub time: f64,
    /// The last edit (by its number from [`Handle::edit`]) this frame shows.
    pub applied: u64,
    /// Engine + paint + JPEG time of this frame, ms.
    pub ms: f64,
    /// The engine's, the painting's and the JPEG encoder's parts of [`Frame::ms`] (paint and
    /// JPEG are 0 when the scene did not change and the last picture was sent again).
    pub stages: [f64; 3],
}

/// What the page shows beside the video (`GET /api/state`).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub composition: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub interface: Value,
    pub params: BTreeMap<String, Value>,
    pub participants: Vec<Participant>,
    pub playing: bool,
    pub time: f64,
    /// The composition's error now (syntax error with file:line:col, exception with its stack);
    /// the page keeps the last good frame while there is one.
    pub error: Option<String>,
    /// Times the composition was re-run because its files changed.
    pub reloads: u64,
}

/// The HTTP side's end of the frame loop.
pub struct Handle {
    messages: Mutex<Sender<Message>>,
    edits: AtomicU64,
    pub frames: watch::Receiver<Arc<Frame>>,
    pub status: Arc<Mutex<Status>>,
}

impl Handle {
    /// Sends an edit; returns its number (frames carry the last one they show).
    pub fn edit(&self, edit: Edit) -> u64 {
        let n = self.edits.fetch_add(1, Ordering::SeqCst) + 1;
        let _gone = self.send(Message::Edit(n, edit));
        n
    }

    pub fn query(&self, query: Query) {
        let _gone = self.send(Message::Query(query));
    }

    fn send(&self, m: Message) -> Result<(), std::sync::mpsc::SendError<Message>> {
        self.messages.lock().expect("edit channel lock").send(m)
    }

    pub fn status(&self) -> Status {
        self.status.lock().expect("status lock").clone()
    }
}

/// Checks that the composition resolves and starts the real participants' inputs (a bad URI
/// fails here), then starts the frame loop on its own thread.
pub fn start(opts: Options) -> anyhow::Result<Handle> {
    let painter = Painter::new(
        &opts.composition,
        opts.assets.as_deref(),
        opts.width,
        opts.height,
    )?;
    let video = RealVideo::start(&opts.real)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let (frames_tx, frames_rx) = watch::channel(Arc::new(Frame::default()));
    let status = Arc::new(Mutex::new(Status {
        composition: opts.composition.clone(),
        width: opts.width,
        height: opts.height,
        fps: opts.fps,
        params: opts.params.clone(),
        participants: opts.participants.clone(),
        playing: true,
        ..Status::default()
    }));
    let shared = status.clone();
    std::thread::Builder::new()
        .name("preview-frames".into())
        .spawn(move || FrameLoop::new(opts, painter, video, frames_tx, shared).run(&rx))?;
    Ok(Handle {
        messages: Mutex::new(tx),
        edits: AtomicU64::new(0),
        frames: frames_rx,
        status,
    })
}

struct FrameLoop {
    opts: Options,
    painter: Painter,
    /// The real participants' inputs, and their frames' sizes as the composition last heard.
    video: RealVideo,
    real_sizes: RealSizes,
    /// The real frames (layer id, frame id) in the last published picture.
    shown: Vec<(String, u64)>,
    /// The participants as the page last set them.
    participants: Vec<Participant>,
    state: CompositionState,
    engine: Option<SupervisedEngine>,
    scene: Option<Scene>,
    /// Why the composition could not load (cleared by the next good load).
    load_error: Option<String>,
    /// Why the last frame failed (cleared by the next good frame).
    frame_error: Option<String>,
    /// The last published picture, sent again while the scene does not change.
    jpeg: Option<Arc<Vec<u8>>>,
    /// The next frame is painted even if its scene did not change (after a reload).
    repaint: bool,
    playing: bool,
    frame: u64,
    published: u64,
    applied: u64,
    reloads: u64,
    log: EventLog,
    frames: watch::Sender<Arc<Frame>>,
    status: Arc<Mutex<Status>>,
}

impl FrameLoop {
    fn new(
        opts: Options,
        painter: Painter,
        mut video: RealVideo,
        frames: watch::Sender<Arc<Frame>>,
        status: Arc<Mutex<Status>>,
    ) -> FrameLoop {
        let first = video.frames();
        let real_sizes = video.sizes(&opts.participants, &first);
        let slots = participants::slots(&opts.participants, &real_sizes);
        let state = CompositionState {
            composition: opts.composition.clone(),
            session_assets: opts.assets.clone(),
            width: opts.width,
            height: opts.height,
            fps: opts.fps,
            params: opts.params.clone(),
            video_inputs: Some(slots.clone()),
            room_peers: Some(participants::peers(&opts.participants)),
            ..CompositionState::default()
        };
        let log = EventLog::new(
            &opts.composition,
            (opts.width, opts.height),
            opts.fps,
            slots,
            opts.params.clone(),
        );
        FrameLoop {
            participants: opts.participants.clone(),
            opts,
            painter,
            video,
            real_sizes,
            shown: Vec::new(),
            state,
            engine: None,
            scene: None,
            load_error: None,
            frame_error: None,
            jpeg: None,
            repaint: true,
            playing: true,
            frame: 0,
            published: 0,
            applied: 0,
            reloads: 0,
            log,
            frames,
            status,
        }
    }

    /// Runs until the HTTP side is gone. Frames are paced at the preview's rate; a frame that
    /// takes longer delays the next instead of queueing a burst.
    fn run(mut self, messages: &Receiver<Message>) {
        let roots = watched_roots(&self.opts.composition, self.opts.assets.as_deref());
        let mut files = Fingerprint::of(&roots);
        let mut watched = Instant::now();
        self.load();
        let mut dirty = true;
        let dt = Duration::from_secs_f64(1.0 / f64::from(self.opts.fps));
        let mut next = Instant::now();
        loop {
            loop {
                match messages.try_recv() {
                    Ok(Message::Edit(n, edit)) => {
                        self.applied = n;
                        self.apply(edit);
                        dirty = true;
                    }
                    Ok(Message::Query(q)) => self.answer(q),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            if watched.elapsed() >= WATCH_EVERY {
                watched = Instant::now();
                let now = Fingerprint::of(&roots);
                if now != files {
                    files = now;
                    self.reloads += 1;
                    self.painter.reload_fonts();
                    self.load();
                    dirty = true;
                }
            }
            if self.playing {
                self.frame += 1;
                dirty = true;
            }
            if dirty {
                self.render();
                dirty = false;
            }
            self.publish_status();
            next += dt;
            let now = Instant::now();
            match next.checked_duration_since(now) {
                Some(wait) => std::thread::sleep(wait),
                None if now.duration_since(next) > dt * 4 => next = now,
                None => {}
            }
        }
    }

    fn time(&self) -> f64 {
        self.frame as f64 / f64::from(self.opts.fps)
    }

    /// (Re)starts the composition from the session's state: params, participants and recent
    /// messages carry over a reload.
    fn load(&mut self) {
        self.engine = None;
        self.state.video_time = self.time();
        match start_engine(&self.state) {
            Ok((engine, scene)) => {
                self.engine = Some(engine);
                self.scene = Some(scene);
                self.load_error = None;
                self.frame_error = None;
                self.repaint = true;
            }
            Err(e) => self.load_error = Some(describe(&e)),
        }
    }

    fn apply(&mut self, edit: Edit) {
        let frame = self.frame;
        match edit {
            Edit::Params { params } => {
                self.state.params.extend(params.clone());
                self.log.params(frame, &params);
                if let Some(e) = &mut self.engine {
                    e.set_params(&params);
                }
            }
            Edit::Participants { participants } => {
                let slots = participants::slots(&participants, &self.real_sizes);
                let peers = participants::peers(&participants);
                self.state.video_inputs = Some(slots.clone());
                self.state.room_peers = Some(peers.clone());
                self.log.slots(frame, slots.clone());
                if let Some(e) = &mut self.engine {
                    e.set_video_inputs(&participants::input_slots(&participants, &self.real_sizes));
                    e.set_room_peers(peers);
                }
                self.participants.clone_from(&participants);
                self.status.lock().expect("status lock").participants = participants;
            }
            Edit::Message { source_id, data } => {
                self.log.message(frame, &source_id, data.clone());
                if let Some(e) = &mut self.engine {
                    e.push_standard_source_message(&source_id, data.clone());
                }
                self.state.messages.push(SourceMessage { source_id, data });
                if self.state.messages.len() > KEPT_MESSAGES {
                    self.state.messages.remove(0);
                }
            }
            Edit::Play { playing } => self.playing = playing,
            Edit::Step => {
                self.playing = false;
                self.frame += 1;
            }
            Edit::Seek { time } => {
                self.frame = (time.max(0.0) * f64::from(self.opts.fps)).round() as u64;
            }
        }
    }

    fn answer(&mut self, query: Query) {
        // A receiver that went away (the request was cancelled) needs no answer.
        match query {
            Query::Scene(reply) => {
                let _gone = reply.send(self.scene.clone());
            }
            Query::Snapshot(reply) => {
                let png = self
                    .scene
                    .is_some()
                    .then(|| self.painter.png().ok())
                    .flatten();
                let _gone = reply.send(png);
            }
            Query::Export(reply) => {
                let _gone = reply.send(self.log.to_json());
            }
        }
    }

    /// Renders and publishes the frame at the current time; a failed frame keeps the last good
    /// one on the page and its error beside it.
    fn render(&mut self) {
        let started = Instant::now();
        let time = self.time();
        self.log.reached(self.frame);
        let frames = self.real_frames();
        let Some(engine) = &mut self.engine else {
            return;
        };
        let changed = match engine.render(time) {
            Ok(Some(scene)) => {
                self.scene = Some(scene);
                self.frame_error = None;
                true
            }
            Ok(None) => {
                self.frame_error = None;
                false
            }
            // A frame still being computed on a busy machine is not the composition's fault.
            Err(EngineError::Process { message }) if message.contains("still busy") => return,
            Err(e) => {
                self.frame_error = Some(describe(&e));
                return;
            }
        };
        let engine_ms = ms_since(started);
        let shown: Vec<(String, u64)> = frames.iter().map(|(k, f)| (k.clone(), f.id)).collect();
        let changed = changed || shown != self.shown;
        self.shown = shown;
        // An unchanged scene over unchanged video is the same picture: its JPEG is sent again,
        // not made again.
        let (jpeg, paint_ms, jpeg_ms) = match (&self.scene, &self.jpeg) {
            (Some(_), Some(jpeg)) if !changed && !self.repaint => (jpeg.clone(), 0.0, 0.0),
            (Some(scene), _) => {
                let painted = Instant::now();
                self.painter.paint(scene, &frames);
                let paint_ms = ms_since(painted);
                let encoded = Instant::now();
                match self.painter.jpeg() {
                    Ok(jpeg) => (Arc::new(jpeg), paint_ms, ms_since(encoded)),
                    Err(e) => {
                        self.frame_error = Some(format!("cannot encode the frame: {e}"));
                        return;
                    }
                }
            }
            (None, _) => return,
        };
        self.repaint = false;
        self.jpeg = Some(jpeg.clone());
        self.published += 1;
        self.frames.send_replace(Arc::new(Frame {
            jpeg,
            number: self.published,
            time,
            applied: self.applied,
            ms: ms_since(started),
            stages: [engine_ms, paint_ms, jpeg_ms],
        }));
    }

    /// The real participants' frames now (none for a participant the page paused); the
    /// composition hears when one gets its first frame or changes size.
    fn real_frames(&mut self) -> BTreeMap<String, VideoFrame> {
        let mut frames = self.video.frames();
        let sizes = self.video.sizes(&self.participants, &frames);
        if sizes != self.real_sizes {
            self.real_sizes = sizes;
            let slots = participants::input_slots(&self.participants, &self.real_sizes);
            self.state.video_inputs =
                Some(participants::slots(&self.participants, &self.real_sizes));
            if let Some(e) = &mut self.engine {
                e.set_video_inputs(&slots);
            }
        }
        frames.retain(|id, _| self.participants.iter().any(|p| p.id == *id && !p.paused));
        frames
    }

    fn publish_status(&self) {
        let mut s = self.status.lock().expect("status lock");
        s.playing = self.playing;
        s.time = self.time();
        s.error = self.load_error.clone().or_else(|| self.frame_error.clone());
        s.reloads = self.reloads;
        s.params = self.state.params.clone();
        if let Some(e) = &self.engine {
            s.interface = e.interface().clone();
        }
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// An engine error as the page shows it: syntax errors lead with `file:line:col`, exceptions
/// carry their stack.
fn describe(e: &EngineError) -> String {
    e.to_string()
}
