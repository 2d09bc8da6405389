//! The recorder's side of the engine process: [`SupervisedEngine`] asks it for each frame, waits
//! no longer than the frame's budget, keeps the last good scene when a frame is late, and kills
//! and restarts the process from the [`CompositionState`] when it is stuck or has died.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use vcs_engine::{DEFAULT_FRAME_BUDGET, EngineError, FAILED_AFTER, STARTUP_BUDGET, VideoInputSlot};
use vcs_scene::Scene;

use super::protocol::{
    Changes, CompositionState, REPLAYED_MESSAGES, Reply, Request, SourceMessage,
};

/// Default cap on the engine process's memory (its data segment: heap and anonymous mappings).
/// A composition that needs more has its process restarted; the recording goes on.
pub const DEFAULT_MEMORY_MB: u64 = 1024;

/// How long the recording waits for a composition and how often it starts it again.
#[derive(Clone, Debug)]
pub struct Limits {
    /// How long past the engine's own frame budget a frame may take before the recording stops
    /// waiting for it (the engine's guard normally answers within its budget; this covers native
    /// calls the guard cannot see into, and a loaded machine).
    pub frame_grace: Duration,
    /// How long loading a composition (and its first frames) may take.
    pub startup: Duration,
    /// How long one frame may keep the engine busy before its process is killed and restarted.
    pub hard_limit: Duration,
    /// Restarts after which the composition is given up on (the recording keeps its last scene).
    pub max_restarts: u32,
    /// The engine process's memory cap, in bytes.
    pub memory_cap: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            frame_grace: Duration::from_millis(100),
            startup: Duration::from_secs(15),
            hard_limit: Duration::from_secs(5),
            max_restarts: 3,
            memory_cap: memory_cap_from_env(),
        }
    }
}

/// `VCS_ENGINE_MEMORY_MB`, else [`DEFAULT_MEMORY_MB`].
fn memory_cap_from_env() -> u64 {
    std::env::var("VCS_ENGINE_MEMORY_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_MEMORY_MB)
        << 20
}

/// The executable that runs the engine process: `VCS_ENGINE_WORKER`, else this `vcs-recorder`,
/// else the `vcs-recorder` beside the test binary that embeds the recorder (`target/*/deps/..`).
pub fn worker_exe() -> Result<PathBuf, EngineError> {
    if let Some(p) = std::env::var_os("VCS_ENGINE_WORKER") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| EngineError::Process {
        message: format!("cannot find this executable to run the composition engine: {e}"),
    })?;
    if exe.file_stem().is_some_and(|s| s == "vcs-recorder") {
        return Ok(exe);
    }
    exe.parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("vcs-recorder"))
        .filter(|p| p.is_file())
        .ok_or_else(|| EngineError::Process {
            message: "cannot find the vcs-recorder executable to run the composition engine in; \
                      set VCS_ENGINE_WORKER to its path"
                .into(),
        })
}

/// One engine process and the thread that reads its replies.
struct Worker {
    child: Child,
    memory_cap: u64,
    stdin: ChildStdin,
    replies: Receiver<Reply>,
}

/// What waiting for a reply came to.
enum Waited {
    Reply(Reply),
    Nothing,
    /// The process is gone (or talks nonsense); the reason is worded for a log line.
    Dead(String),
}

impl Worker {
    fn spawn(exe: &Path, memory_cap: u64) -> Result<Worker, EngineError> {
        let mut child = Command::new(exe)
            .arg("engine-worker")
            .arg("--memory-mb")
            .arg((memory_cap >> 20).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| EngineError::Process {
                message: format!(
                    "cannot start the composition engine process {}: {e}",
                    exe.display()
                ),
            })?;
        let (stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
            (Some(i), Some(o)) => (i, o),
            _ => {
                return Err(EngineError::Process {
                    message: "the composition engine process has no pipes".into(),
                });
            }
        };
        let (tx, replies) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("engine-replies".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    match serde_json::from_str::<Reply>(&line) {
                        Ok(r) => {
                            if tx.send(r).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "unreadable reply from the engine process");
                            break;
                        }
                    }
                }
            })
            .map_err(|e| EngineError::Process {
                message: format!("cannot start the engine reply thread: {e}"),
            })?;
        Ok(Worker {
            child,
            memory_cap,
            stdin,
            replies,
        })
    }

    fn send(&mut self, request: &Request) -> Result<(), String> {
        let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.stdin
            .write_all(&line)
            .and_then(|()| self.stdin.flush())
            .map_err(|_| self.end_reason())
    }

    fn wait(&mut self, timeout: Duration) -> Waited {
        match self.replies.recv_timeout(timeout) {
            Ok(r) => Waited::Reply(r),
            Err(RecvTimeoutError::Timeout) => Waited::Nothing,
            Err(RecvTimeoutError::Disconnected) => Waited::Dead(self.end_reason()),
        }
    }

    /// Why the process ended, once it has (waiting a little for its exit status).
    fn end_reason(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => break None,
            }
        };
        match status {
            Some(s) if s.signal() == Some(6) || s.signal() == Some(9) => format!(
                "the composition's engine process was killed ({s}), most likely by running out \
                 of its memory cap of {} MB",
                self.memory_cap >> 20
            ),
            Some(s) => format!("the composition's engine process ended ({s})"),
            None => "the composition's engine process stopped answering".into(),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The engine process `serve` starts and warms before it is ready, taken by its job.
static WARM: Mutex<Option<Worker>> = Mutex::new(None);

/// Starts an engine process and has it evaluate the built-in compositions (fonts, caches), so
/// that a job's composition starts at once; the next [`SupervisedEngine::start`] takes it.
/// Returns the built-ins' first scenes, by name (for warming the renderer).
pub fn prespawn_warm(limits: &Limits) -> Result<Vec<(String, Scene)>, EngineError> {
    let mut worker = Worker::spawn(&worker_exe()?, limits.memory_cap)?;
    let fail = |message: String| EngineError::Process { message };
    worker.send(&Request::Warm).map_err(fail)?;
    let scenes = match worker.wait(Duration::from_secs(120)) {
        Waited::Reply(Reply::Warm { scenes }) => scenes,
        Waited::Reply(_) => return Err(fail("unexpected reply to the warm-up".into())),
        Waited::Nothing => return Err(fail("the engine warm-up took more than 120 s".into())),
        Waited::Dead(reason) => return Err(fail(reason)),
    };
    *WARM.lock().expect("warm worker lock") = Some(worker);
    Ok(scenes)
}

/// The frame being waited for.
#[derive(Clone, Copy)]
struct Busy {
    since: Instant,
    /// Loading after a restart (the startup limit applies, not the hard limit).
    opening: bool,
}

/// A composition in its own process, asked for one scene per frame.
pub struct SupervisedEngine {
    exe: PathBuf,
    limits: Limits,
    state: CompositionState,
    /// Changes the process has not been sent yet.
    pending: Changes,
    worker: Option<Worker>,
    busy: Option<Busy>,
    interface: Value,
    /// Frames rendered since the process loaded the composition: the first ones get the
    /// startup budget.
    frames_since_open: u32,
    restarts: u32,
    gave_up: bool,
    consecutive_failures: u32,
    /// A scene that came late (after its frame was abandoned) and was not handed out yet.
    undelivered: Option<Scene>,
}

impl SupervisedEngine {
    /// Starts the composition in an engine process (the warm one when `serve` made one) and
    /// renders its first frame. Waits up to [`Limits::startup`]: a composition that does not
    /// load by then is an error, as one that fails to load is.
    pub fn start(
        state: CompositionState,
        limits: Limits,
    ) -> Result<(SupervisedEngine, Scene), EngineError> {
        let exe = worker_exe()?;
        let warm = WARM.lock().expect("warm worker lock").take();
        let mut worker = match warm {
            Some(w) => w,
            None => Worker::spawn(&exe, limits.memory_cap)?,
        };
        let fail = |message: String| EngineError::Process { message };
        worker.send(&Request::Open(state.clone())).map_err(fail)?;
        let deadline = Instant::now() + limits.startup;
        let (interface, frame) = loop {
            match worker.wait(deadline.saturating_duration_since(Instant::now())) {
                Waited::Reply(Reply::Opened { interface, frame }) => break (interface, frame),
                Waited::Reply(_) => {}
                Waited::Nothing => {
                    return Err(fail(format!(
                        "the composition did not load within {:.1} s",
                        limits.startup.as_secs_f64()
                    )));
                }
                Waited::Dead(reason) => return Err(fail(format!("{reason} while loading"))),
            }
        };
        let scene = frame
            .map_err(EngineError::from)?
            .scene
            .unwrap_or_else(|| Scene::empty(state.width, state.height));
        Ok((
            SupervisedEngine {
                exe,
                limits,
                state,
                pending: Changes::default(),
                worker: Some(worker),
                busy: None,
                interface,
                frames_since_open: 1,
                restarts: 0,
                gave_up: false,
                consecutive_failures: 0,
                undelivered: None,
            },
            scene,
        ))
    }

    /// The composition's `compositionInterface` as JSON.
    pub fn interface(&self) -> &Value {
        &self.interface
    }

    /// The composition's state now: what a restart (here or on another pod) starts from.
    pub fn state(&self) -> &CompositionState {
        &self.state
    }

    /// Merges params by id; applied with the next frame.
    pub fn set_params(&mut self, params: &std::collections::BTreeMap<String, Value>) {
        for (k, v) in params {
            self.state.params.insert(k.clone(), v.clone());
            self.pending.params.insert(k.clone(), v.clone());
        }
    }

    /// Replaces the video input slots; applied with the next frame.
    pub fn set_video_inputs(&mut self, slots: &[VideoInputSlot]) {
        let slots = Value::Array(slots.iter().map(VideoInputSlot::to_json).collect());
        self.state.video_inputs = Some(slots.clone());
        self.pending.video_inputs = Some(slots);
    }

    /// Replaces the room peers; applied with the next frame.
    pub fn set_room_peers(&mut self, peers: Value) {
        self.state.room_peers = Some(peers.clone());
        self.pending.room_peers = Some(peers);
    }

    /// Appends a standard-source message.
    pub fn push_standard_source_message(&mut self, source_id: &str, data: Value) {
        let m = SourceMessage {
            source_id: source_id.into(),
            data,
        };
        self.state.messages.push(m.clone());
        if self.state.messages.len() > REPLAYED_MESSAGES {
            self.state.messages.remove(0);
        }
        self.pending.messages.push(m);
    }

    /// Switches playback to `postroll`.
    pub fn stop(&mut self) {
        self.state.stopping = true;
        self.pending.stop = true;
    }

    /// Whether the composition has failed for good: it failed [`FAILED_AFTER`] frames in a row,
    /// or it was restarted [`Limits::max_restarts`] times and given up on.
    pub fn has_failed(&self) -> bool {
        self.gave_up || self.consecutive_failures >= FAILED_AFTER
    }

    /// The scene at `time_secs`: `Ok(Some)` for a new scene, `Ok(None)` when it did not change,
    /// `Err` when the composition did not give one in time (or failed): the caller keeps its
    /// last good scene. Never waits much longer than the frame's budget.
    pub fn render(&mut self, time_secs: f64) -> Result<Option<Scene>, EngineError> {
        self.state.video_time = time_secs;
        let result = self.render_inner(time_secs);
        match &result {
            Ok(_) => self.consecutive_failures = 0,
            Err(_) => self.consecutive_failures = self.consecutive_failures.saturating_add(1),
        }
        result
    }

    fn render_inner(&mut self, time_secs: f64) -> Result<Option<Scene>, EngineError> {
        if self.gave_up {
            return Err(self.given_up());
        }
        let Some(worker) = self.worker.as_mut() else {
            return Err(self.given_up());
        };
        if let Some(busy) = self.busy {
            // Still on an earlier frame: take its answer if it came, else keep waiting for it
            // (without blocking the recording) until the limit, then restart.
            match worker.wait(Duration::ZERO) {
                Waited::Reply(reply) => {
                    self.busy = None;
                    // Its scene is for an earlier time: shown only if the frame asked for below
                    // does not change it (the process diffs against it from now on).
                    if let Ok(Some(scene)) = self.take(reply) {
                        self.undelivered = Some(scene);
                    }
                }
                Waited::Nothing => {
                    let limit = if busy.opening {
                        self.limits.startup
                    } else {
                        self.limits.hard_limit
                    };
                    if busy.since.elapsed() > limit {
                        let reason = format!(
                            "the composition did not finish a frame within {:.1} s",
                            limit.as_secs_f64()
                        );
                        return Err(self.restart(reason));
                    }
                    return Err(EngineError::Process {
                        message: "the composition is still busy with an earlier frame".into(),
                    });
                }
                Waited::Dead(reason) => return Err(self.restart(reason)),
            }
        }
        let Some(worker) = self.worker.as_mut() else {
            return Err(self.given_up());
        };
        let changes = std::mem::take(&mut self.pending);
        let request = Request::Frame {
            time: time_secs,
            changes,
        };
        if let Err(reason) = worker.send(&request) {
            return Err(self.restart(reason));
        }
        let budget = if self.frames_since_open < 2 {
            STARTUP_BUDGET
        } else {
            DEFAULT_FRAME_BUDGET
        };
        let wait = budget + self.limits.frame_grace;
        self.busy = Some(Busy {
            since: Instant::now(),
            opening: false,
        });
        match worker.wait(wait) {
            Waited::Reply(reply) => {
                self.busy = None;
                match self.take(reply) {
                    Ok(None) => Ok(self.undelivered.take()),
                    Ok(Some(scene)) => {
                        self.undelivered = None;
                        Ok(Some(scene))
                    }
                    Err(e) => Err(e),
                }
            }
            Waited::Nothing => Err(EngineError::Process {
                message: format!(
                    "the frame at {time_secs:.3} s took longer than {} ms and was abandoned",
                    wait.as_millis()
                ),
            }),
            Waited::Dead(reason) => Err(self.restart(reason)),
        }
    }

    /// A frame's reply as a scene (or the composition's error).
    fn take(&mut self, reply: Reply) -> Result<Option<Scene>, EngineError> {
        let frame = match reply {
            Reply::Frame { frame } => frame,
            Reply::Opened { interface, frame } => {
                if !interface.is_null() {
                    self.interface = interface;
                }
                frame
            }
            Reply::Warm { .. } => return Ok(None),
        };
        self.frames_since_open += 1;
        frame.map(|f| f.scene).map_err(EngineError::from)
    }

    /// Kills the process and starts a new one from the composition's state (without waiting
    /// for it: its first frame arrives like a late one), or gives up after too many restarts.
    /// Returns the error to report for this frame.
    fn restart(&mut self, reason: String) -> EngineError {
        let e = self.restart_inner(reason);
        // Rare (a few per recording at most) and what an operator needs to see, so logged here
        // whatever the caller's rate limit on per-frame failures lets through.
        tracing::warn!(error = %e, "composition engine process");
        e
    }

    fn restart_inner(&mut self, reason: String) -> EngineError {
        self.worker = None;
        self.busy = None;
        if self.restarts >= self.limits.max_restarts {
            self.gave_up = true;
            return EngineError::Process {
                message: format!(
                    "{reason}; after {} restarts the composition is given up on and the recording \
                     keeps its last good scene",
                    self.restarts
                ),
            };
        }
        self.restarts += 1;
        self.pending = Changes::default();
        let started = Worker::spawn(&self.exe, self.limits.memory_cap).and_then(|mut w| {
            w.send(&Request::Open(self.state.clone()))
                .map_err(|message| EngineError::Process { message })?;
            Ok(w)
        });
        match started {
            Ok(w) => {
                self.worker = Some(w);
                self.frames_since_open = 0;
                self.busy = Some(Busy {
                    since: Instant::now(),
                    opening: true,
                });
                EngineError::Process {
                    message: format!(
                        "{reason}; its engine process was restarted from its state at {:.3} s \
                         (restart {} of {})",
                        self.state.video_time, self.restarts, self.limits.max_restarts
                    ),
                }
            }
            Err(e) => {
                self.gave_up = true;
                EngineError::Process {
                    message: format!("{reason}; and it could not be restarted: {e}"),
                }
            }
        }
    }

    fn given_up(&self) -> EngineError {
        EngineError::Process {
            message: "the composition was given up on; the recording keeps its last good scene"
                .into(),
        }
    }
}
