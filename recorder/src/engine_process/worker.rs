//! The engine process (`vcs-recorder engine-worker`): one composition in a boa realm, driven by
//! [`Request`]s on stdin, answering [`Reply`]s on stdout. It caps its own memory (so an
//! allocation bomb ends this process, not the recording) and dies with its parent.

use std::io::{BufRead, Write};
use std::path::Path;

use vcs_engine::{Composition, Engine, EngineError, FrameScene};

use super::protocol::{CompositionState, Frame, Reply, Request, SourceMessage, WireError};

/// Runs the worker until stdin closes. `memory_cap` bounds the process's data segment (heap and
/// anonymous mappings, RLIMIT_DATA): past it allocations fail and the process aborts.
pub fn run(memory_cap: u64) -> anyhow::Result<()> {
    use rustix::process::{Resource, Rlimit, Signal, set_parent_process_death_signal, setrlimit};
    // A recorder killed with -9 must not leave a composition spinning.
    set_parent_process_death_signal(Some(Signal::KILL))?;
    setrlimit(
        Resource::Data,
        Rlimit {
            current: Some(memory_cap),
            maximum: Some(memory_cap),
        },
    )?;
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut engine: Option<Engine> = None;
    for line in stdin.lines() {
        let request: Request = serde_json::from_str(&line?)?;
        let reply = match request {
            Request::Warm => Reply::Warm { scenes: warm_up() },
            Request::Open(state) => {
                let (opened, reply) = open(&state);
                engine = opened;
                reply
            }
            Request::Frame { time, changes } => {
                let Some(e) = engine.as_mut() else {
                    anyhow::bail!("a frame was asked for before the composition was opened");
                };
                e.set_params(&changes.params);
                if let Some(slots) = changes.video_inputs {
                    e.set_video_inputs_json(slots);
                }
                if let Some(peers) = changes.room_peers {
                    e.set_room_peers(peers);
                }
                push_messages(e, &changes.messages);
                if changes.stop {
                    e.stop();
                }
                Reply::Frame {
                    frame: frame(e.render(time)),
                }
            }
        };
        serde_json::to_writer(&mut stdout, &reply)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}

/// What `serve` pays for before it is ready: fonts and the built-ins' first frames.
fn warm_up() -> Vec<(String, vcs_scene::Scene)> {
    vcs_text::Fonts::system().warm_up();
    let mut scenes = Vec::new();
    for name in Composition::builtin_names() {
        match Engine::open(name, None, 1280, 720, 30).and_then(|mut e| e.render(0.0)) {
            Ok(frame) => scenes.push((name.to_string(), frame.scene)),
            Err(e) => tracing::warn!(composition = name, error = %e, "warm-up failed"),
        }
    }
    scenes
}

/// Loads the composition, applies `state` and renders its frame.
fn open(state: &CompositionState) -> (Option<Engine>, Reply) {
    let mut engine = match Engine::open(
        &state.composition,
        state.session_assets.as_deref().map(Path::new),
        state.width,
        state.height,
        state.fps,
    ) {
        Ok(e) => e,
        Err(e) => {
            return (
                None,
                Reply::Opened {
                    interface: serde_json::Value::Null,
                    frame: Err(WireError::from(&e)),
                },
            );
        }
    };
    engine.set_params(&state.params);
    if let Some(slots) = &state.video_inputs {
        engine.set_video_inputs_json(slots.clone());
    }
    if let Some(peers) = &state.room_peers {
        engine.set_room_peers(peers.clone());
    }
    push_messages(&mut engine, &state.messages);
    if state.stopping {
        engine.stop();
    }
    let rendered = engine.render(state.video_time);
    let reply = Reply::Opened {
        interface: engine.interface().clone(),
        frame: frame(rendered),
    };
    (Some(engine), reply)
}

fn push_messages(engine: &mut Engine, messages: &[SourceMessage]) {
    for m in messages {
        engine.push_standard_source_message(&m.source_id, m.data.clone());
    }
}

/// The reply for a rendered frame: the scene only when it changed.
fn frame(rendered: Result<FrameScene, EngineError>) -> Result<Frame, WireError> {
    let rendered = rendered.map_err(|e| WireError::from(&e))?;
    let changed =
        rendered.background_changed || rendered.video_layers_changed || rendered.foreground_changed;
    Ok(Frame {
        scene: changed.then_some(rendered.scene),
    })
}
