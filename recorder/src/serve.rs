//! `serve` mode: the recording engine behind the control API (`vcs-service`).
//!
//! One job per process. The recording runs on its own thread at real time and is driven through
//! [`LiveCommand`]s; the API reads [`JobStatus`] snapshots the recording keeps current. Warm-up
//! does, before `/readyz` turns true, everything a job would otherwise pay for at start:
//! GStreamer and its plugins, the encoder and muxer elements, the fonts, and a built-in
//! composition evaluated once in a JS realm.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vcs_job::JobSpec;
use vcs_job::control::{JobEvent, JobPatch, JobState, JobStatus, error_chain, rfc3339_now};
use vcs_service::{JobRunner, Metrics, RunnerError};

use vcs_engine::EngineError;

use crate::recording::{
    LiveCommand, RecordError, RecordHooks, RecordOptions, SharedStatus, record,
};

/// The engine `serve` runs: warm, idle, then one job.
pub struct RecorderService {
    spool_dir: PathBuf,
    metrics: Metrics,
    warm: AtomicBool,
    status: SharedStatus,
    commands: Mutex<Option<Sender<LiveCommand>>>,
}

impl RecorderService {
    pub fn new(spool_dir: PathBuf, metrics: Metrics) -> Arc<Self> {
        Arc::new(Self {
            spool_dir,
            metrics,
            warm: AtomicBool::new(false),
            status: SharedStatus::default(),
            commands: Mutex::new(None),
        })
    }

    /// Loads everything a job needs so it starts at once; `/readyz` is true afterwards.
    pub fn warm_up(&self) -> Result<(), RecordError> {
        vcs_media::warm_up()?;
        let fonts = vcs_text::Fonts::system();
        fonts.warm_up();
        let scenes =
            crate::engine_process::prespawn_warm(&crate::engine_process::Limits::default())?;
        // The compositions run in the engine process, but their text is drawn here: draw the
        // built-ins' first scenes once so the glyph caches are warm for a job's first frame.
        for (name, scene) in scenes {
            let assets = vcs_render::Assets::from_dirs(vcs_engine::image_dirs(&name, None));
            let mut r =
                vcs_render::StratumRenderer::new(scene.width, scene.height, fonts.clone(), assets);
            r.render(&scene.background, scene.width, scene.height);
            r.render(&scene.foreground, scene.width, scene.height);
        }
        std::fs::create_dir_all(&self.spool_dir).map_err(|source| RecordError::SpoolDir {
            path: self.spool_dir.clone(),
            source,
        })?;
        self.warm.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn send(&self, cmd: LiveCommand) -> Result<(), RunnerError> {
        let guard = self.commands.lock().expect("commands lock");
        let tx = guard
            .as_ref()
            .ok_or_else(|| RunnerError::Conflict("no job is running".into()))?;
        tx.send(cmd)
            .map_err(|_| RunnerError::Conflict("the job has already ended".into()))
    }
}

/// Tells `start` when the first frame is out, and feeds the render-time histogram.
struct ServiceHooks {
    first: Option<mpsc::SyncSender<Result<(), RecordError>>>,
    metrics: Metrics,
}

impl RecordHooks for ServiceHooks {
    fn first_frame(&mut self) {
        if let Some(tx) = self.first.take() {
            let _ = tx.send(Ok(()));
        }
    }

    fn frame_rendered(&mut self, took: Duration) {
        self.metrics.observe_frame_render(took);
    }
}

impl JobRunner for RecorderService {
    fn is_warm(&self) -> bool {
        self.warm.load(Ordering::SeqCst)
    }

    fn start(&self, spec: JobSpec) -> Result<(), RunnerError> {
        let (tx, rx) = mpsc::channel();
        *self.commands.lock().expect("commands lock") = Some(tx);
        let (first_tx, first_rx) = mpsc::sync_channel(1);
        let status = Arc::clone(&self.status);
        let opts = RecordOptions {
            live: true,
            spool_dir: self.spool_dir.join(spec.id.as_deref().unwrap_or("job")),
            events: None,
        };
        let metrics = self.metrics.clone();
        std::thread::Builder::new()
            .name("recording".into())
            .spawn(move || {
                let mut hooks = ServiceHooks {
                    first: Some(first_tx.clone()),
                    metrics,
                };
                let result = record(&spec, &opts, &rx, &status, &mut hooks);
                let mut s = status.lock().expect("status lock");
                s.timestamps.done = Some(rfc3339_now());
                match result {
                    Ok(summary) => {
                        for o in &summary.outputs {
                            tracing::info!(output = %o, "output finished");
                        }
                        // The faults (also in the status) decide: any shortfall fails the job
                        // (MP4 parts kept apart is reported, but nothing is missing).
                        if crate::recording::exit_code(&summary.faults) == 0 {
                            s.state = JobState::Done;
                        } else {
                            s.state = JobState::Failed;
                            s.last_error = Some(
                                summary
                                    .faults
                                    .iter()
                                    .map(|f| format!("{}: {}", f.subject, f.message))
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            );
                        }
                    }
                    Err(e) => {
                        let message = error_chain(&e);
                        tracing::error!(error = %message, "recording failed");
                        s.state = JobState::Failed;
                        s.last_error = Some(message);
                        drop(s);
                        // Before the first frame this is the answer to `start`.
                        let _ = first_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| RunnerError::Failed(format!("cannot start the recording thread: {e}")))?;
        match first_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(runner_error(e)),
            Err(_) => Err(RunnerError::Failed(
                "the recording ended before its first frame".into(),
            )),
        }
    }

    fn status(&self) -> JobStatus {
        self.status.lock().expect("status lock").clone()
    }

    fn patch(&self, patch: JobPatch) -> Result<(), RunnerError> {
        let (tx, rx) = mpsc::channel();
        self.send(LiveCommand::Patch {
            patch,
            reply: Some(tx),
        })?;
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(result) => result.map_err(runner_error),
            Err(_) => Err(RunnerError::Failed(
                "the recording did not take the change within 10 s".into(),
            )),
        }
    }

    fn events(&self, events: Vec<JobEvent>) -> Result<(), RunnerError> {
        self.send(LiveCommand::Events(events))
    }

    fn stop(&self) {
        {
            let mut s = self.status.lock().expect("status lock");
            if !s.state.is_terminal() {
                s.state = JobState::Finalising;
                s.timestamps.stopped.get_or_insert_with(rfc3339_now);
            }
        }
        let _ = self.send(LiveCommand::Stop);
    }
}

/// Sorts a recording error into the API's kinds: the job's fault (with its field path), the
/// composition's (with file:line:col), or the recorder's.
fn runner_error(e: RecordError) -> RunnerError {
    match e {
        RecordError::Invalid { field, message } => RunnerError::InvalidJob { at: field, message },
        RecordError::Spec(e) => RunnerError::InvalidJob {
            at: e.path,
            message: e.message,
        },
        RecordError::Upload { field, source } => RunnerError::InvalidJob {
            at: field,
            message: source.to_string(),
        },
        RecordError::Input { field, source } => RunnerError::InvalidJob {
            at: field,
            message: source.to_string(),
        },
        RecordError::SpoolDir { path, source } => RunnerError::InvalidJob {
            at: "--spool-dir".into(),
            message: format!("cannot create {}: {source}", path.display()),
        },
        RecordError::Engine(e) => match &*e {
            EngineError::UnknownComposition { .. } | EngineError::NoEntry { .. } => {
                RunnerError::InvalidJob {
                    at: "composition.name".into(),
                    message: e.to_string(),
                }
            }
            EngineError::Syntax {
                file, line, col, ..
            } => RunnerError::InvalidComposition {
                at: format!("{file}:{line}:{col}"),
                message: e.to_string(),
            },
            EngineError::Js { stack, .. } => RunnerError::InvalidComposition {
                at: stack
                    .0
                    .first()
                    .map(|f| format!("{}:{}", f.file, f.line))
                    .unwrap_or_else(|| "composition".into()),
                message: e.to_string(),
            },
            _ => RunnerError::InvalidComposition {
                at: "composition".into(),
                message: e.to_string(),
            },
        },
        RecordError::Media(e) => RunnerError::Failed(e.to_string()),
    }
}
